/* lnnlab.c - the module opener of the Lua 5.4 binding ("nnlab.core"); each
 * type and the system functions live in their own lnn_*.c file (lnn.h). */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE */
#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>

#include "lnn.h"
#include "lnn_lock.h"
#include "lnnlab.h"

/* Lua unloads a C module when its state closes, but OpenMP's and OpenBLAS's
 * threads may still be running code of this library then (a plain lua5.4
 * crashed at exit now and then, more often with many threads): it stays
 * loaded until the process ends. */
static void stay_loaded(void)
{
    Dl_info info;
    if (dladdr((void *)stay_loaded, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

int luaopen_nnlab_core(lua_State *L)
{
    luaL_checkversion(L);
    stay_loaded();
    lua_newtable(L);
    lnn_open_sys(L);
    lnn_open_tensor(L);
    lnn_open_model(L);
    lnn_open_data(L);
    lnn_open_optim(L);
    lnn_open_train(L);
    lnn_open_image(L);
    lnn_open_lock(L);
    return 1;
}

/* require "nnlab" through the shared library: the C core plus the Lua part. */
int luaopen_nnlab(lua_State *L)
{
    luaL_requiref(L, "nnlab.core", luaopen_nnlab_core, 0);
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "nnlab.api");
    lua_call(L, 1, 1);
    return 1;
}
