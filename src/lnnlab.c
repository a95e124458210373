/* lnnlab.c - the module opener of the Lua 5.4 binding ("nnlab.core"); each
 * type and the system functions live in their own lnn_*.c file (lnn.h). */
#include <lauxlib.h>
#include <lua.h>

#include "lnn.h"
#include "lnn_lock.h"
#include "lnnlab.h"

int luaopen_nnlab_core(lua_State *L)
{
    luaL_checkversion(L);
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
