/* libFuzzer target: the digit-image readers of lua/nnlab/images.lua (text,
 * PGM, and PNG through core.decode_png of src/lnn_image.c). They must
 * return an image or nil and a message; a Lua error escaping them is a bug,
 * reported by abort(). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lnn.h"

#ifndef NNLAB_ROOT
#define NNLAB_ROOT "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

static void call_reader(const char *fn, const uint8_t *data, size_t size)
{
    lua_getglobal(L, "images");
    lua_getfield(L, -1, fn);
    lua_pushliteral(L, "fuzz");
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
        fprintf(stderr, "images.%s raised: %s\n", fn, lua_tostring(L, -1));
        abort();
    }
    if (lua_isnil(L, -2) && !lua_isstring(L, -1)) {
        fprintf(stderr, "images.%s returned nil without a message\n", fn);
        abort();
    }
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L) {
        L = luaL_newstate();
        luaL_openlibs(L);
        /* nnlab.core with decode_png alone, for images.read_png */
        luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_newtable(L);
        lnn_open_image(L);
        lua_setfield(L, -2, "nnlab.core");
        lua_pop(L, 1);
        if (luaL_dofile(L, NNLAB_ROOT "/lua/nnlab/images.lua") != LUA_OK) {
            fprintf(stderr, "%s\n", lua_tostring(L, -1));
            abort();
        }
        lua_setglobal(L, "images");
    }
    call_reader("read_text", data, size);
    call_reader("read_pgm", data, size);
    call_reader("read_png", data, size);
    return 0;
}
