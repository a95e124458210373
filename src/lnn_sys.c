/* lnn_sys.c - the system functions of the binding: random streams,
 * threads, the clock, signals, atomic writes and CRC-32. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lnn.h"
#include "lnnlab.h"
#include "model_io.h"

/* ---------------------------------------------------------------- random streams */

static void seed_rngs(lnn_rngs *r, uint64_t seed)
{
    r->seed = seed;
    nn_rng_seed(&r->init, seed, NN_STREAM_INIT);
    nn_rng_seed(&r->shuffle, seed, NN_STREAM_SHUFFLE);
    nn_rng_seed(&r->split, seed, NN_STREAM_SPLIT);
    nn_rng_seed(&r->dropout, seed, NN_STREAM_DROPOUT);
}

static int l_seed(lua_State *L)
{
    lua_Integer s = lnn_check_int(L, 1, 0, LUA_MAXINTEGER, "seed");
    seed_rngs(lnn_get_rngs(L), (uint64_t)s);
    return 0;
}

/* core.rng_state([state]) -> the four global streams' state, set when given */
static int l_rng_state(lua_State *L)
{
    lnn_rngs *r = lnn_get_rngs(L);
    nn_rng *streams[4] = {&r->init, &r->shuffle, &r->split, &r->dropout};
    if (!lua_isnoneornil(L, 1)) {
        size_t len;
        const char *s = luaL_checklstring(L, 1, &len);
        luaL_argcheck(L, len == 4 * sizeof r->init.s, 1, "not a random-stream state");
        for (int i = 0; i < 4; i++)
            memcpy(streams[i]->s, s + i * sizeof r->init.s, sizeof r->init.s);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < 4; i++)
        luaL_addlstring(&b, (const char *)streams[i]->s, sizeof r->init.s);
    luaL_pushresult(&b);
    return 1;
}

/* ---------------------------------------------------------------- threads, clock, info */

static int l_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        nn_set_threads((int)lnn_check_int(L, 1, 1, 1024, "threads"));
    lua_pushinteger(L, nn_get_threads());
    return 1;
}

static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
    return 1;
}

static int l_info(lua_State *L)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, NNLAB_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, LUA_RELEASE);
    lua_setfield(L, -2, "lua");
    lua_pushstring(L, zlibVersion());
    lua_setfield(L, -2, "zlib");
    lua_pushstring(L, openblas_get_config());
    lua_setfield(L, -2, "blas");
    lua_pushstring(L, openblas_get_corename());
    lua_setfield(L, -2, "blas_kernel");
    lua_pushinteger(L, nn_get_threads());
    lua_setfield(L, -2, "threads");
    lua_pushinteger(L, (lua_Integer)lnn_get_rngs(L)->seed);
    lua_setfield(L, -2, "seed");
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)lnn_check_int(L, 1, 0, 1 << 20, "fd")));
    return 1;
}

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t caught_signal = 0;

static void on_signal(int sig)
{
    caught_signal = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C stops at once */
}

/* core.catch_signals(): SIGINT and SIGTERM set a flag instead of killing, so
 * that a run can stop after writing its checkpoint. */
static int l_catch_signals(lua_State *L)
{
    (void)L;
    caught_signal = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    return 0;
}

/* core.interrupted() -> "SIGINT", "SIGTERM" or false */
static int l_interrupted(lua_State *L)
{
    if (caught_signal == SIGINT)
        lua_pushliteral(L, "SIGINT");
    else if (caught_signal == SIGTERM)
        lua_pushliteral(L, "SIGTERM");
    else
        lua_pushboolean(L, 0);
    return 1;
}

/* ---------------------------------------------------------------- files */

/* core.write_file(path, bytes) -> true, or fail and a message */
static int l_write_file(lua_State *L)
{
    size_t len;
    const char *path = lnn_check_path(L, 1);
    const char *data = luaL_checklstring(L, 2, &len);
    nn_error err;
    if (nn_write_file_atomic(path, data, len, &err) != NN_OK) {
        luaL_pushfail(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_crc32(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < len;) { /* crc32 takes at most UINT_MAX bytes a call */
        uInt chunk = len - done > (1u << 30) ? 1u << 30 : (uInt)(len - done);
        crc = crc32(crc, (const Bytef *)s + done, chunk);
        done += chunk;
    }
    lua_pushinteger(L, (lua_Integer)crc);
    return 1;
}

static const luaL_Reg sys_funcs[] = {
    {"seed", l_seed}, {"rng_state", l_rng_state}, {"threads", l_threads}, {"clock", l_clock},
    {"info", l_info}, {"isatty", l_isatty}, {"catch_signals", l_catch_signals},
    {"interrupted", l_interrupted}, {"write_file", l_write_file}, {"crc32", l_crc32}, {NULL, NULL}};

/* The thread count a Lua state starts with: NNLAB_THREADS, else a Slurm
 * task's CPUs, else OpenMP's default. */
static void set_default_threads(void)
{
    const char *t = getenv("NNLAB_THREADS");
    if (!t || atoi(t) < 1)
        t = getenv("SLURM_CPUS_PER_TASK");
    if (t && atoi(t) > 0)
        nn_set_threads(atoi(t));
    else
        nn_set_threads(nn_get_threads());
}

void lnn_open_sys(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LNN_RNGS) == LUA_TNIL) {
        lnn_rngs *r = lua_newuserdatauv(L, sizeof *r, 0);
        seed_rngs(r, 0);
        lua_setfield(L, LUA_REGISTRYINDEX, LNN_RNGS);
        set_default_threads();
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, sys_funcs, 0);
}
