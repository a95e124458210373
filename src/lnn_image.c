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
#include <stdint.h>
#include <string.h>

#include "lnn.h"

#define MAX_PIXELS (4096 * 4096)

/* The size in a PNG's IHDR chunk (bytes 16..23, big-endian), or 0. */
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(lua_State *L, const char *name, const char *what, const char *why)
{
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s (%s)", name, what, why);
    return 2;
}

static int l_decode_png(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "image");
    static const unsigned char magic[8] = {137, 'P', 'N', 'G', '\r', '\n', 26, '\n'};
    if (len < 24 || memcmp(data, magic, 8) != 0 || memcmp(data + 12, "IHDR", 4) != 0)
        return fail(L, name, "not a readable PNG", "no PNG signature and header");
    uint32_t w = be32((const unsigned char *)data + 16), h = be32((const unsigned char *)data + 20);
    if (w == 0 || h == 0 || (uint64_t)w * h > MAX_PIXELS) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: PNG of %I x %I pixels, not a digit image", name, (lua_Integer)w, (lua_Integer)h);
        return 2;
    }
    /* The pixels live in a userdata, so that a Lua error (out of memory)
     * leaks nothing; libpng holds memory only between begin and finish. */
    size_t n = (size_t)w * h;
    unsigned char *ga = lua_newuserdatauv(L, 2 * n, 0);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len))
        return fail(L, name, "not a readable PNG", img.message);
    if (img.width != w || img.height != h) {
        png_image_free(&img);
        return fail(L, name, "damaged PNG", "sizes disagree");
    }
    img.format = PNG_FORMAT_GA;
    /* finish_read frees libpng's memory, on success and on failure */
    if (!png_image_finish_read(&img, NULL, ga, 0, NULL))
        return fail(L, name, "damaged PNG", img.message);
    /* grey g with alpha a over white: g * a + 255 * (1 - a), in place */
    for (size_t i = 0; i < n; i++) {
        unsigned g = ga[2 * i], a = ga[2 * i + 1];
        ga[i] = (unsigned char)((g * a + 255u * (255u - a) + 127u) / 255u);
    }
    lua_pushinteger(L, (lua_Integer)w);
    lua_pushinteger(L, (lua_Integer)h);
    lua_pushlstring(L, (const char *)ga, n);
    return 3;
}

void lnn_open_image(lua_State *L)
{
    lua_pushcfunction(L, l_decode_png);
    lua_setfield(L, -2, "decode_png");
}
