/* lnnlab.h - entry points of the Lua binding. */
#ifndef NN_LNNLAB_H
#define NN_LNNLAB_H

#include <lua.h>

#define NNLAB_VERSION "0.1.0"

#include "model.h"

int luaopen_nnlab_core(lua_State *L);
int luaopen_nnlab(lua_State *L);

/* For the binding's other files: the live model at arg (raises otherwise). */
nn_model *lnn_check_model(lua_State *L, int arg);
/* Each adds its functions to the table on top of the stack (nnlab.core). */
void lnn_open_image(lua_State *L); /* lnn_image.c: decode_png */
void lnn_open_scale(lua_State *L); /* lnn_scale.c: Model:input_scale */

#endif
