/* lnn_tensor.c - the Tensor type: nnlab.tensor, nnlab.zeros and the
 * tensor methods. A tensor owns its floats, or is a view of a model's,
 * a loss's or a batch iterator's (lnn.h). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "lnn.h"

static int tensor_close(lua_State *L)
{
    lnn_tensor *u = lnn_checkudata(L, 1, LNN_TENSOR, sizeof *u);
    if (!u->owner) {
        nn_tensor_free(&u->own);
    } else {
        nn_tensor_empty(&u->own); /* a view's header only: the owner keeps its memory */
        lnn_owner_release(&u->owner);
    }
    u->t = &u->own;
    u->closed = 1;
    /* The owner may be collected now; owner is never read once closed. */
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);
    return 0;
}

/* The sizes of a shape table at arg, each an integer in 0..INT_MAX. */
static int shape_from_table(lua_State *L, int arg, int *shape)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, arg);
    luaL_argcheck(L, n >= 1 && n <= NN_MAX_DIMS, arg,
                  lua_pushfstring(L, "a shape has 1 to %d dimensions, got %I", NN_MAX_DIMS, (LUAI_UACINT)n));
    for (int i = 0; i < (int)n; i++) {
        lua_rawgeti(L, arg, i + 1);
        lua_Integer v = 0;
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        if (ok && lua_isinteger(L, -1))
            v = lua_tointeger(L, -1);
        else if (ok) {
            lua_Number d = lua_tonumber(L, -1);
            ok = d == floor(d) && d >= 0 && d <= INT_MAX;
            v = ok ? (lua_Integer)d : -1;
        }
        if (!ok || v < 0 || v > INT_MAX)
            luaL_argerror(L, arg, lua_pushfstring(L, "dimension %d must be an integer in 0..%d, got %s", i + 1,
                                                  INT_MAX, luaL_tolstring(L, -1, NULL)));
        shape[i] = (int)v;
        lua_pop(L, 1);
    }
    return (int)n;
}

static int l_zeros(lua_State *L)
{
    int shape[NN_MAX_DIMS];
    int ndim = shape_from_table(L, 1, shape);
    lnn_tensor *u = lnn_push_tensor(L);
    nn_error err;
    if (nn_tensor_init(&u->own, ndim, shape, &err) != NN_OK)
        return luaL_argerror(L, 1, err.msg);
    return 1;
}

/* The shape of nested tables, following the first entry at each depth. */
static int nested_shape(lua_State *L, int idx, int *shape)
{
    int ndim = 0;
    luaL_checkstack(L, NN_MAX_DIMS + 4, "nested tables");
    lua_pushvalue(L, idx);
    for (;;) {
        size_t n = lua_rawlen(L, -1);
        if (ndim == NN_MAX_DIMS)
            luaL_argerror(L, 1, lua_pushfstring(L, "more than %d levels of nesting", NN_MAX_DIMS));
        if (n > INT_MAX)
            luaL_argerror(L, 1, "too many entries");
        shape[ndim++] = (int)n;
        if (n == 0 || lua_rawgeti(L, -1, 1) != LUA_TTABLE)
            break;
    }
    lua_settop(L, idx);
    return ndim;
}

static void fill_nested(lua_State *L, int idx, int depth, int ndim, const int *shape, float *dst, size_t *pos)
{
    if (depth >= NN_MAX_DIMS)
        return;
    if ((int)lua_rawlen(L, idx) != shape[depth] || lua_rawlen(L, idx) > INT_MAX)
        luaL_argerror(L, 1, lua_pushfstring(L, "ragged table: a row at depth %d has %d entries, expected %d",
                                            depth + 1, (int)lua_rawlen(L, idx), shape[depth]));
    for (int i = 1; i <= shape[depth]; i++) {
        int ty = lua_rawgeti(L, idx, i);
        if (depth + 1 < ndim) {
            if (ty != LUA_TTABLE)
                luaL_argerror(L, 1, lua_pushfstring(L, "ragged table: expected a table at depth %d", depth + 2));
            fill_nested(L, lua_gettop(L), depth + 1, ndim, shape, dst, pos);
        } else {
            if (ty != LUA_TNUMBER)
                luaL_argerror(L, 1, lua_pushfstring(L, "element %d at depth %d is a %s, expected a number", i,
                                                    depth + 1, luaL_typename(L, -1)));
            dst[(*pos)++] = (float)lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int shape[NN_MAX_DIMS] = {0};
    int ndim = nested_shape(L, 1, shape);
    lnn_tensor *u = lnn_push_tensor(L);
    nn_error err;
    if (nn_tensor_init(&u->own, ndim, shape, &err) != NN_OK)
        return luaL_argerror(L, 1, err.msg);
    size_t pos = 0;
    fill_nested(L, 1, 0, ndim, shape, u->own.data, &pos);
    return 1;
}

static int t_shape(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    int ndim = t->ndim, shape[NN_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape); /* before allocating: see lnn.h */
    lua_createtable(L, ndim, 0);
    for (int i = 0; i < ndim; i++) {
        lua_pushinteger(L, shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* The offset of the element whose indices are arguments first.. */
static size_t element_index(lua_State *L, const nn_tensor *t, int first)
{
    size_t off = 0;
    for (int i = 0; i < t->ndim; i++) {
        lua_Integer v = luaL_checkinteger(L, first + i);
        luaL_argcheck(L, v >= 1 && v <= t->shape[i], first + i,
                      lua_pushfstring(L, "index %I is outside 1..%d", (LUAI_UACINT)v, t->shape[i]));
        off = off * (size_t)t->shape[i] + (size_t)(v - 1);
    }
    return off;
}

static int t_get(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    lua_pushnumber(L, t->data[element_index(L, t, 2)]);
    return 1;
}

static int t_set(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    size_t off = element_index(L, t, 2);
    t->data[off] = (float)luaL_checknumber(L, 2 + t->ndim);
    lua_settop(L, 1);
    return 1;
}

/* Nested tables of the values at data, of the given shape. */
static void push_nested(lua_State *L, const float *data, int ndim, const int *shape, int depth, size_t *pos)
{
    if (depth >= NN_MAX_DIMS)
        return;
    lua_createtable(L, shape[depth], 0);
    for (int i = 1; i <= shape[depth]; i++) {
        if (depth + 1 < ndim)
            push_nested(L, data, ndim, shape, depth + 1, pos);
        else
            lua_pushnumber(L, data[(*pos)++]);
        lua_rawseti(L, -2, i);
    }
}

/* t:totable(): the values are copied into a userdata first, since building
 * the tables may run finalizers that close the tensor's owner (lnn.h). */
static int t_totable(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    size_t n = t->size;
    float *copy = lua_newuserdatauv(L, (n ? n : 1) * sizeof(float), 0);
    t = lnn_check_tensor(L, 1);
    luaL_argcheck(L, t->size == n, 1, "the tensor changed size");
    int ndim = t->ndim, shape[NN_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    if (n)
        memcpy(copy, t->data, n * sizeof(float));
    size_t pos = 0;
    luaL_checkstack(L, NN_MAX_DIMS + 4, "tensor too deep");
    push_nested(L, copy, ndim, shape, 0, &pos);
    return 1;
}

/* The 1-based index of each row's largest value (of the value for 1-D). */
static int t_argmax(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    size_t cols = t->ndim == 1 ? t->size : nn_tensor_row_size(t);
    luaL_argcheck(L, cols >= 1 && cols <= INT_MAX, 1, "argmax of an empty tensor");
    int rows = t->ndim == 1 ? 1 : t->shape[0];
    if (t->ndim == 1) {
        lua_pushinteger(L, nn_argmax(t->data, (int)cols) + 1);
        return 1;
    }
    lua_createtable(L, rows, 0); /* sized: the stores below allocate nothing */
    t = lnn_check_tensor(L, 1);
    luaL_argcheck(L, (t->ndim == 1 ? 1 : t->shape[0]) == rows && nn_tensor_row_size(t) == cols, 1,
                  "the tensor changed shape");
    for (int r = 0; r < rows; r++) {
        lua_pushinteger(L, nn_argmax(t->data + (size_t)r * cols, (int)cols) + 1);
        lua_rawseti(L, -2, r + 1);
    }
    return 1;
}

/* t:reshape(shape): a copy with another shape of the same element count. */
static int t_reshape(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    int shape[NN_MAX_DIMS];
    int ndim = shape_from_table(L, 2, shape);
    size_t n;
    nn_error err;
    if (nn_shape_numel(ndim, shape, &n, &err) != NN_OK)
        return luaL_argerror(L, 2, err.msg);
    luaL_argcheck(L, n == t->size, 2,
                  lua_pushfstring(L, "a shape of %I elements for a tensor of %I", (LUAI_UACINT)n,
                                  (LUAI_UACINT)t->size));
    lnn_tensor *u = lnn_push_tensor(L);
    t = lnn_check_tensor(L, 1); /* again after allocating: see lnn.h */
    luaL_argcheck(L, n == t->size, 1, "the tensor changed size");
    if (nn_tensor_copy(&u->own, t, &err) != NN_OK)
        return lnn_error(L, &err);
    u->own.ndim = ndim;
    memset(u->own.shape, 0, sizeof u->own.shape);
    memcpy(u->own.shape, shape, (size_t)ndim * sizeof(int));
    return 1;
}

static int t_clone(lua_State *L)
{
    lnn_check_tensor(L, 1);
    lnn_tensor *u = lnn_push_tensor(L);
    nn_tensor *t = lnn_check_tensor(L, 1); /* after allocating: see lnn.h */
    nn_error err;
    if (nn_tensor_copy(&u->own, t, &err) != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

static int t_len(lua_State *L)
{
    lua_pushinteger(L, lnn_check_tensor(L, 1)->shape[0]);
    return 1;
}

static int t_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lnn_check_tensor(L, 1)->size);
    return 1;
}

static int t_sum(lua_State *L)
{
    nn_tensor *t = lnn_check_tensor(L, 1);
    double s = 0;
    for (size_t k = 0; k < t->size; k++)
        s += t->data[k];
    lua_pushnumber(L, s);
    return 1;
}

static int t_tostring(lua_State *L)
{
    lnn_tensor *u = lnn_checkudata(L, 1, LNN_TENSOR, sizeof *u);
    if (u->closed) {
        lua_pushliteral(L, "nnlab.Tensor(closed)");
        return 1;
    }
    if (u->owner && !u->owner->live) {
        lua_pushfstring(L, "nnlab.Tensor(of a closed %s)", u->owner->what);
        return 1;
    }
    char buf[64];
    nn_tensor_shape_str(u->t, buf, sizeof buf);
    lua_pushfstring(L, "nnlab.Tensor(%s)", buf);
    return 1;
}

static const luaL_Reg tensor_methods[] = {
    {"shape", t_shape}, {"get", t_get}, {"set", t_set}, {"totable", t_totable},
    {"argmax", t_argmax}, {"reshape", t_reshape}, {"clone", t_clone}, {"numel", t_numel},
    {"sum", t_sum}, {NULL, NULL}};

static const luaL_Reg tensor_meta[] = {
    {"__gc", tensor_close}, {"__close", tensor_close}, {"__len", t_len},
    {"__tostring", t_tostring}, {NULL, NULL}};

static const luaL_Reg tensor_funcs[] = {{"tensor", l_tensor}, {"zeros", l_zeros}, {NULL, NULL}};

void lnn_open_tensor(lua_State *L)
{
    lnn_new_type(L, LNN_TENSOR, tensor_meta, tensor_methods);
    luaL_setfuncs(L, tensor_funcs, 0);
}
