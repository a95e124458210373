/* lnn_scale.c - a model's input scale: the pixel multiplier of the data it
 * was trained on, kept in the model file (version 2), so that a prediction
 * scales its inputs as the training did. 0 means unknown. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>

#include "lnnlab.h"

/* m:input_scale([s]) -> the scale (0 if unknown), set first when s is given */
static int m_input_scale(lua_State *L)
{
    nn_model *m = lnn_check_model(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        lua_Number s = luaL_checknumber(L, 2);
        luaL_argcheck(L, isfinite(s) && s >= 0, 2, "input scale must be a finite number >= 0");
        m->input_scale = (double)s;
    }
    lua_pushnumber(L, m->input_scale);
    return 1;
}

void lnn_open_scale(lua_State *L)
{
    luaL_getmetatable(L, "nnlab.Model");
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, m_input_scale);
    lua_setfield(L, -2, "input_scale");
    lua_pop(L, 2);
}
