/* lnn_image.c - PNG images for the digit readers (lua/nnlab/images.lua),
 * decoded by libpng's simplified API (libpng 1.6).
 *
 * core.decode_png(bytes [, name]) -> width, height, pixels
 *   pixels: a string of width * height bytes, row by row, 8-bit grey, any
 *   transparency composited onto white (paper) as a paint program shows it.
 *   A file that is not a readable PNG, or larger than MAX_PIXELS, gives
 *   nil and a message. */
#include <lauxlib.h>
#include <lua.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "lnnlab.h"

#define MAX_PIXELS (4096 * 4096)

static int l_decode_png(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "image");
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len)) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: not a readable PNG (%s)", name, img.message);
        return 2;
    }
    if (img.width == 0 || img.height == 0 || (size_t)img.width * img.height > MAX_PIXELS) {
        png_image_free(&img);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: PNG of %dx%d pixels, too large for a digit", name, (int)img.width,
                        (int)img.height);
        return 2;
    }
    img.format = PNG_FORMAT_GA;
    size_t n = (size_t)img.width * img.height;
    unsigned char *ga = malloc(2 * n);
    if (!ga) {
        png_image_free(&img);
        return luaL_error(L, "decode_png: out of memory");
    }
    if (!png_image_finish_read(&img, NULL, ga, 0, NULL)) {
        /* finish_read frees the image's memory on failure */
        free(ga);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: damaged PNG (%s)", name, img.message);
        return 2;
    }
    /* grey g with alpha a over white: g * a + 255 * (1 - a), in place */
    for (size_t i = 0; i < n; i++) {
        unsigned g = ga[2 * i], a = ga[2 * i + 1];
        ga[i] = (unsigned char)((g * a + 255u * (255u - a) + 127u) / 255u);
    }
    lua_pushinteger(L, (lua_Integer)img.width);
    lua_pushinteger(L, (lua_Integer)img.height);
    lua_pushlstring(L, (const char *)ga, n);
    free(ga);
    return 3;
}

void lnn_open_image(lua_State *L)
{
    lua_pushcfunction(L, l_decode_png);
    lua_setfield(L, -2, "decode_png");
}
