/* main.c - build/nnlab: a Lua 5.4 host with the engine linked in.
 *
 * `nnlab script.lua args...` runs a script as lua5.4 does, with
 * require "nnlab" available from any directory; other commands are handled
 * by the Lua module nnlab.cli. */
#define _XOPEN_SOURCE 700
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "lnnlab.h"

/* Debian's OpenBLAS picks its kernel from the CPU, or from OPENBLAS_CORETYPE,
 * which some machines set to "Haswell" for every program; on a CPU with
 * AVX-512 the SkylakeX kernel's sgemm is twice as fast (measured: 170 vs
 * 95 GFLOPS a core on an AVX-512 EPYC). NNLAB_KEEP_BLAS_CORE=1 keeps
 * OpenBLAS's choice. Returns 1 if it set OPENBLAS_CORETYPE. */
static int prefer_avx512_blas(void)
{
    static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    if (getenv("NNLAB_KEEP_BLAS_CORE"))
        return 0;
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
        return 0;
#else
    return 0;
#endif
    const char *core = openblas_get_corename();
    for (size_t i = 0; i < sizeof avx512_cores / sizeof *avx512_cores; i++)
        if (core && strcmp(core, avx512_cores[i]) == 0)
            return 0;
    return setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) == 0;
}

/* OpenMP's threads wait for work by spinning, which on a machine where
 * other processes hold the cores makes every parallel region wait for a
 * descheduled spinner: a validation pass of the seed 000 grid took 170 ms
 * at a load average of 4 instead of 2.7 ms with passive waiting, which
 * costs little on an idle machine (see the README's Performance notes).
 * nnlab waits passively unless OMP_WAIT_POLICY says otherwise. Returns 1
 * if it set OMP_WAIT_POLICY. */
static int prefer_passive_wait(void)
{
    if (getenv("OMP_WAIT_POLICY"))
        return 0;
    return setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
}

/* OpenBLAS and OpenMP read their settings when they are loaded, before
 * main: when nnlab wants others it restarts itself once with them. */
static void restart_with_settings(char **argv)
{
    if (getenv("NNLAB_BLAS_RESTARTED")) {
        unsetenv("NNLAB_BLAS_RESTARTED");
        return;
    }
    int changed = prefer_avx512_blas();
    changed |= prefer_passive_wait();
    if (!changed || setenv("NNLAB_BLAS_RESTARTED", "1", 1) != 0)
        return;
    /* The executable's own path, not /proc/self/exe, which would name the
     * process "exe" in ps and top. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        execv(exe, argv);
    }
    /* Not restarted (no /proc): carry on with the settings loaded. */
}

/* The project root: the folder above the one holding this executable
 * (build/nnlab in a clone, PREFIX/bin/nnlab installed). */
static void find_root(const char *argv0, char *root, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    else if (!realpath(argv0, exe))
        snprintf(exe, sizeof exe, "%s", argv0);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(exe, sizeof exe, ".");
    }
    snprintf(root, len, "%s", exe);
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int run(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    const char *root = lua_tostring(L, 3);
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_nnlab_core);
    lua_setfield(L, -2, "nnlab.core");
    lua_pushcfunction(L, luaopen_nnlab);
    lua_setfield(L, -2, "nnlab");
    lua_pop(L, 1);
    /* The Lua modules: ROOT/lua in a clone, PREFIX/share/lua/5.4 installed
     * (make install, or a luarocks tree), ahead of the default path so that
     * this build's modules win over any other installed copy. */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/lua/nnlab/cli.lua", root);
    const char *luadir = access(probe, R_OK) == 0 ? "lua" : "share/lua/" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR;
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/%s/?.lua;%s/%s/?/init.lua;", root, luadir, root, luadir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_pushstring(L, root);
    lua_setfield(L, LUA_REGISTRYINDEX, "nnlab.root");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "nnlab.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_pushstring(L, root);
    lua_call(L, 2, 1);
    return 1;
}

int main(int argc, char **argv)
{
    restart_with_settings(argv);
    char root[PATH_MAX];
    find_root(argv[0], root, sizeof root);
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "nnlab: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    lua_pushcfunction(L, traceback);
    lua_pushcfunction(L, run);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    lua_pushstring(L, root);
    int status = lua_pcall(L, 3, 1, 1);
    int code;
    if (status != LUA_OK) {
        fprintf(stderr, "nnlab: %s\n", lua_tostring(L, -1));
        code = 1;
    } else {
        code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    }
    fflush(stdout);
    lua_close(L);
    return code;
}
