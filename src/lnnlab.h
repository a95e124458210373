/* lnnlab.h - entry points of the Lua binding. */
#ifndef NN_LNNLAB_H
#define NN_LNNLAB_H

#include <lua.h>

#define NNLAB_VERSION "0.1.0"

int luaopen_nnlab_core(lua_State *L);
int luaopen_nnlab(lua_State *L);

#endif
