/* lnnlab.c - the Lua 5.4 binding of the engine: module "nnlab.core".
 *
 * Userdata follow liolib.c: one metatable name per type, a check* wrapper
 * around luaL_checkudata, __gc/__close that tolerate a second call, and the
 * object pushed in a safe empty state before anything is allocated. Engine
 * failures become Lua errors here only, after temporaries are freed. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "gradcheck.h"
#include "lnn_lock.h"
#include "lnnlab.h"
#include "loss.h"
#include "model.h"
#include "model_io.h"
#include "optim.h"
#include "train.h"

#define TENSOR_MT "nnlab.Tensor"
#define MODEL_MT "nnlab.Model"
#define DATASET_MT "nnlab.Dataset"
#define SGD_MT "nnlab.SGD"
#define LOSS_MT "nnlab.Loss"
#define ITER_MT "nnlab.BatchIter"
#define RNG_KEY "nnlab.rngs"

/* ---------------------------------------------------------------- helpers */

static int raise_status(lua_State *L, const nn_error *err)
{
    return luaL_error(L, "%s", err->msg);
}

/* An integer argument within [lo, hi], with the function's own message. */
static lua_Integer check_int_range(lua_State *L, int arg, lua_Integer lo, lua_Integer hi, const char *what)
{
    if (!lua_isinteger(L, arg)) {
        lua_Number n = luaL_checknumber(L, arg);
        if (n != floor(n) || n < (lua_Number)lo || n > (lua_Number)hi)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer in %I..%I, got %f", what, lo, hi, n));
    }
    lua_Integer v = (lua_Integer)luaL_checknumber(L, arg);
    if (v < lo || v > hi)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer in %I..%I, got %I", what, lo, hi, v));
    return v;
}

static double check_finite(lua_State *L, int arg, const char *what)
{
    double v = luaL_checknumber(L, arg);
    if (!isfinite(v))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a finite number", what));
    return v;
}

/* ---------------------------------------------------------------- random streams */

typedef struct {
    uint64_t seed;
    nn_rng init, shuffle, split, dropout;
} rng_set;

static rng_set *get_rngs(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, RNG_KEY);
    rng_set *r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
}

static void seed_rngs(rng_set *r, uint64_t seed)
{
    r->seed = seed;
    nn_rng_seed(&r->init, seed, NN_STREAM_INIT);
    nn_rng_seed(&r->shuffle, seed, NN_STREAM_SHUFFLE);
    nn_rng_seed(&r->split, seed, NN_STREAM_SPLIT);
    nn_rng_seed(&r->dropout, seed, NN_STREAM_DROPOUT);
}

static int l_seed(lua_State *L)
{
    lua_Integer s = check_int_range(L, 1, 0, LUA_MAXINTEGER, "seed");
    seed_rngs(get_rngs(L), (uint64_t)s);
    return 0;
}

/* ---------------------------------------------------------------- tensors */

typedef struct {
    nn_tensor own; /* our buffer when we own one */
    nn_tensor *t;  /* &own, or a tensor inside the object in uservalue 1 */
} lt_tensor;

static lt_tensor *check_tensor(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, TENSOR_MT);
}

static nn_tensor *tensor_arg(lua_State *L, int arg)
{
    return check_tensor(L, arg)->t;
}

/* A new owning tensor userdata, empty, on the stack. */
static lt_tensor *push_tensor(lua_State *L)
{
    lt_tensor *u = lua_newuserdatauv(L, sizeof *u, 1);
    nn_tensor_empty(&u->own);
    u->t = &u->own;
    luaL_setmetatable(L, TENSOR_MT);
    return u;
}

/* A tensor userdata that shows t, kept alive with the object at owner_idx. */
static void push_tensor_view(lua_State *L, nn_tensor *t, int owner_idx)
{
    owner_idx = lua_absindex(L, owner_idx);
    lt_tensor *u = lua_newuserdatauv(L, sizeof *u, 1);
    nn_tensor_empty(&u->own);
    u->t = t;
    luaL_setmetatable(L, TENSOR_MT);
    lua_pushvalue(L, owner_idx);
    lua_setiuservalue(L, -2, 1);
}

/* The view of t cached in owner's uservalue slot `slot`, made on first use. */
static void push_cached_view(lua_State *L, nn_tensor *t, int owner_idx, int slot)
{
    owner_idx = lua_absindex(L, owner_idx);
    if (lua_getiuservalue(L, owner_idx, slot) == LUA_TUSERDATA)
        return;
    lua_pop(L, 1);
    push_tensor_view(L, t, owner_idx);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, owner_idx, slot);
}

static int tensor_gc(lua_State *L)
{
    lt_tensor *u = check_tensor(L, 1);
    nn_tensor_free(&u->own);
    u->t = &u->own;
    return 0;
}

static void shape_from_table(lua_State *L, int arg, int *ndim, int *shape, const char *fname)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    int n = (int)luaL_len(L, arg);
    if (n < 1 || n > NN_MAX_DIMS)
        luaL_argerror(L, arg, lua_pushfstring(L, "a shape has 1 to %d dimensions, got %d", NN_MAX_DIMS, n));
    for (int i = 0; i < n; i++) {
        lua_geti(L, arg, i + 1);
        lua_Number v = lua_tonumber(L, -1);
        if (!lua_isnumber(L, -1) || v != floor(v) || v < 0 || v > (1 << 30))
            luaL_error(L, "bad argument #%d to '%s' (dimension %d must be a non-negative integer)", arg, fname,
                       i + 1);
        shape[i] = (int)v;
        lua_pop(L, 1);
    }
    *ndim = n;
}

static int l_zeros(lua_State *L)
{
    int ndim, shape[NN_MAX_DIMS];
    shape_from_table(L, 1, &ndim, shape, "zeros");
    lt_tensor *u = push_tensor(L);
    nn_error err;
    if (nn_tensor_init(&u->own, ndim, shape, &err) != NN_OK)
        return raise_status(L, &err);
    return 1;
}

/* Walks nested tables to find the shape of nn.tensor's argument. */
static void nested_shape(lua_State *L, int idx, int depth, int *ndim, int *shape)
{
    int n = (int)luaL_len(L, idx);
    if (depth >= NN_MAX_DIMS) {
        luaL_error(L, "bad argument #1 to 'tensor' (more than %d levels of nesting)", NN_MAX_DIMS);
        return;
    }
    shape[depth] = n;
    *ndim = depth + 1;
    if (n > 0 && lua_geti(L, idx, 1) == LUA_TTABLE)
        nested_shape(L, lua_gettop(L), depth + 1, ndim, shape);
    lua_pop(L, 1);
}

static void fill_nested(lua_State *L, int idx, int depth, int ndim, const int *shape, float *dst, size_t *pos)
{
    if (depth >= NN_MAX_DIMS)
        return;
    if ((int)luaL_len(L, idx) != shape[depth])
        luaL_error(L, "bad argument #1 to 'tensor' (ragged table: a row at depth %d has %d entries, expected %d)",
                   depth + 1, (int)luaL_len(L, idx), shape[depth]);
    for (int i = 1; i <= shape[depth]; i++) {
        int ty = lua_geti(L, idx, i);
        if (depth + 1 < ndim) {
            if (ty != LUA_TTABLE)
                luaL_error(L, "bad argument #1 to 'tensor' (ragged table: expected a table at depth %d)", depth + 2);
            fill_nested(L, lua_gettop(L), depth + 1, ndim, shape, dst, pos);
        } else {
            if (!lua_isnumber(L, -1))
                luaL_error(L, "bad argument #1 to 'tensor' (element %d at depth %d is a %s, expected a number)", i,
                           depth + 1, luaL_typename(L, -1));
            dst[(*pos)++] = (float)lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int ndim = 1, shape[NN_MAX_DIMS] = {0};
    nested_shape(L, 1, 0, &ndim, shape);
    lt_tensor *u = push_tensor(L);
    nn_error err;
    if (nn_tensor_init(&u->own, ndim, shape, &err) != NN_OK)
        return raise_status(L, &err);
    size_t pos = 0;
    fill_nested(L, 1, 0, ndim, shape, u->own.data, &pos);
    return 1;
}

static int t_shape(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static size_t element_index(lua_State *L, nn_tensor *t, int first_arg, const char *fname)
{
    size_t off = 0;
    for (int i = 0; i < t->ndim; i++) {
        int arg = first_arg + i;
        lua_Integer v = luaL_checkinteger(L, arg);
        if (v < 1 || v > t->shape[i])
            luaL_error(L, "bad argument #%d to '%s' (index %I is outside 1..%d)", arg, fname, v, t->shape[i]);
        off = off * (size_t)t->shape[i] + (size_t)(v - 1);
    }
    return off;
}

static int t_get(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    lua_pushnumber(L, t->data[element_index(L, t, 2, "get")]);
    return 1;
}

static int t_set(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    size_t off = element_index(L, t, 2, "set");
    t->data[off] = (float)luaL_checknumber(L, 2 + t->ndim);
    lua_settop(L, 1);
    return 1;
}

static void push_nested(lua_State *L, const nn_tensor *t, int depth, size_t *pos)
{
    if (depth >= NN_MAX_DIMS)
        return;
    lua_createtable(L, t->shape[depth], 0);
    for (int i = 1; i <= t->shape[depth]; i++) {
        if (depth + 1 < t->ndim)
            push_nested(L, t, depth + 1, pos);
        else
            lua_pushnumber(L, t->data[(*pos)++]);
        lua_rawseti(L, -2, i);
    }
}

static int t_totable(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    size_t pos = 0;
    luaL_checkstack(L, t->ndim + 4, "tensor too deep");
    push_nested(L, t, 0, &pos);
    return 1;
}

static int t_argmax(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    int rows = t->ndim == 1 ? 1 : t->shape[0];
    int cols = (int)(t->ndim == 1 ? t->size : nn_tensor_row_size(t));
    if (cols < 1)
        return luaL_error(L, "argmax of an empty tensor");
    lua_createtable(L, rows, 0);
    for (int r = 0; r < rows; r++) {
        lua_pushinteger(L, nn_argmax(t->data + (size_t)r * cols, cols) + 1);
        lua_rawseti(L, -2, r + 1);
    }
    if (t->ndim == 1) {
        lua_rawgeti(L, -1, 1);
        return 1;
    }
    return 1;
}

static int t_reshape(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    int ndim, shape[NN_MAX_DIMS];
    shape_from_table(L, 2, &ndim, shape, "reshape");
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (n != t->size)
        return luaL_error(L, "bad argument #1 to 'reshape' (%d elements cannot take a shape of %d)", (int)t->size,
                          (int)n);
    lt_tensor *u = push_tensor(L);
    nn_error err;
    if (nn_tensor_copy(&u->own, t, &err) != NN_OK)
        return raise_status(L, &err);
    u->own.ndim = ndim;
    memset(u->own.shape, 0, sizeof u->own.shape);
    memcpy(u->own.shape, shape, (size_t)ndim * sizeof(int));
    return 1;
}

static int t_clone(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    lt_tensor *u = push_tensor(L);
    nn_error err;
    if (nn_tensor_copy(&u->own, t, &err) != NN_OK)
        return raise_status(L, &err);
    return 1;
}

static int t_len(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    lua_pushinteger(L, t->shape[0]);
    return 1;
}

static int t_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)tensor_arg(L, 1)->size);
    return 1;
}

static int t_sum(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    double s = 0;
    for (size_t k = 0; k < t->size; k++)
        s += t->data[k];
    lua_pushnumber(L, s);
    return 1;
}

static int t_tostring(lua_State *L)
{
    nn_tensor *t = tensor_arg(L, 1);
    char buf[64];
    nn_tensor_shape_str(t, buf, sizeof buf);
    lua_pushfstring(L, "nnlab.Tensor(%s)", buf);
    return 1;
}

static const luaL_Reg tensor_methods[] = {
    {"shape", t_shape}, {"get", t_get}, {"set", t_set}, {"totable", t_totable},
    {"argmax", t_argmax}, {"reshape", t_reshape}, {"clone", t_clone}, {"numel", t_numel},
    {"sum", t_sum}, {NULL, NULL}};

static const luaL_Reg tensor_meta[] = {
    {"__gc", tensor_gc}, {"__close", tensor_gc}, {"__len", t_len},
    {"__tostring", t_tostring}, {"__index", NULL}, {NULL, NULL}};

/* ---------------------------------------------------------------- models */

typedef struct {
    nn_model m;
    int live; /* 0 once freed */
} lt_model;

static lt_model *check_model(lua_State *L, int arg)
{
    lt_model *u = luaL_checkudata(L, arg, MODEL_MT);
    if (!u->live)
        luaL_argerror(L, arg, "model has been freed");
    return u;
}

static lt_model *push_model(lua_State *L)
{
    /* uservalues: 1 output view, 2 parameters view, 3 gradients view */
    lt_model *u = lua_newuserdatauv(L, sizeof *u, 3);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, MODEL_MT);
    return u;
}

static int model_gc(lua_State *L)
{
    lt_model *u = luaL_checkudata(L, 1, MODEL_MT);
    if (u->live)
        nn_model_free(&u->m);
    u->live = 0;
    return 0;
}

static const char *const layer_kinds[] = {"Linear", "ReLU", "Sigmoid", "Tanh", "Dropout", "BatchNorm", NULL};
static const char *const init_kinds[] = {"default", "zeros", "normal", "uniform", "glorot", "he", NULL};

static double opt_number(lua_State *L, int t, const char *key, double def)
{
    double v = def;
    if (lua_getfield(L, t, key) != LUA_TNIL)
        v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_int(lua_State *L, int t, const char *key, int def)
{
    int v = def;
    if (lua_getfield(L, t, key) != LUA_TNIL)
        v = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Layer i of the spec list at table index t; specs are validated in Lua. */
static void read_layer_spec(lua_State *L, int t, nn_layer *l)
{
    memset(l, 0, sizeof *l);
    lua_getfield(L, t, "kind");
    l->kind = (nn_layer_kind)(luaL_checkoption(L, -1, NULL, layer_kinds) + 1);
    lua_pop(L, 1);
    l->in = opt_int(L, t, "in_features", -1);
    l->out = opt_int(L, t, "out_features", -1);
    if (l->kind == NN_BATCHNORM)
        l->out = opt_int(L, t, "features", -1);
    l->bias = opt_int(L, t, "bias", 1);
    lua_getfield(L, t, "init");
    l->init = (nn_init_kind)luaL_checkoption(L, -1, "default", init_kinds);
    lua_pop(L, 1);
    l->std = opt_number(L, t, "std", 0.01);
    l->a = opt_number(L, t, "a", -0.05);
    l->b = opt_number(L, t, "b", 0.05);
    l->p = opt_number(L, t, "p", 0.5);
    l->eps = opt_number(L, t, "eps", 1e-5);
    l->momentum = opt_number(L, t, "momentum", 0.1);
}

/* core.sequential(specs): a model from a list of layer description tables. */
static int l_sequential(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    if (n < 1 || n > 10000)
        return luaL_argerror(L, 1, "Sequential needs 1 to 10000 layers");
    lt_model *u = push_model(L);
    nn_layer *layers = lua_newuserdatauv(L, (size_t)n * sizeof *layers, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        read_layer_spec(L, lua_gettop(L), &layers[i]);
        lua_pop(L, 1);
    }
    rng_set *r = get_rngs(L);
    nn_error err;
    if (nn_model_init(&u->m, layers, n, &r->init, &err) != NN_OK)
        return raise_status(L, &err);
    u->live = 1;
    nn_rng_seed(&u->m.dropout_rng, nn_rng_next(&r->dropout), NN_STREAM_DROPOUT);
    lua_pop(L, 1);
    return 1;
}

static int m_forward(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    nn_tensor *x = tensor_arg(L, 2);
    const nn_tensor *y;
    nn_error err;
    if (x->ndim != 2)
        return luaL_error(L, "bad argument #1 to 'forward' (a batch is a 2-D tensor, rows x features; got %d-D)",
                          x->ndim);
    if (nn_model_forward(&u->m, x, &y, &err) != NN_OK)
        return raise_status(L, &err);
    push_cached_view(L, &u->m.out[u->m.nlayers - 1], 1, 1);
    return 1;
}

static int m_backward(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    nn_tensor *x = tensor_arg(L, 2);
    nn_tensor *dy = tensor_arg(L, 3);
    nn_error err;
    if (nn_model_backward(&u->m, x, dy, NN_GRAD_ADD, &err) != NN_OK)
        return raise_status(L, &err);
    lua_settop(L, 1);
    return 1;
}

static int m_zero_grad(lua_State *L)
{
    nn_model_zero_grad(&check_model(L, 1)->m);
    lua_settop(L, 1);
    return 1;
}

static int m_training(lua_State *L)
{
    check_model(L, 1)->m.training = 1;
    lua_settop(L, 1);
    return 1;
}

static int m_evaluate_mode(lua_State *L)
{
    check_model(L, 1)->m.training = 0;
    lua_settop(L, 1);
    return 1;
}

static int m_is_training(lua_State *L)
{
    lua_pushboolean(L, check_model(L, 1)->m.training);
    return 1;
}

static int m_save(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    const char *path = luaL_checkstring(L, 2);
    nn_error err;
    if (nn_model_save(&u->m, path, &err) != NN_OK)
        return raise_status(L, &err);
    lua_settop(L, 1);
    return 1;
}

static int m_num_params(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_model(L, 1)->m.nparams);
    return 1;
}

/* A 1-D tensor view of the parameter (slot 2) or gradient (slot 3) buffer. */
static int push_flat_view(lua_State *L, float *data, size_t n, int slot)
{
    if (lua_getiuservalue(L, 1, slot) == LUA_TUSERDATA)
        return 1;
    lua_pop(L, 1);
    /* A non-owning tensor header in the view itself, over the model's buffer. */
    lt_tensor *v = lua_newuserdatauv(L, sizeof *v, 1);
    nn_tensor_empty(&v->own);
    v->own.data = data;
    v->own.ndim = 1;
    v->own.shape[0] = (int)n;
    v->own.size = n;
    v->own.owner = 0;
    v->t = &v->own;
    luaL_setmetatable(L, TENSOR_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, slot);
    return 1;
}

static int m_parameters(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    return push_flat_view(L, u->m.params, u->m.nparams, 2);
}

static int m_gradients(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    return push_flat_view(L, u->m.grads, u->m.nparams, 3);
}

static int m_layers(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    lua_createtable(L, u->m.nlayers, 0);
    for (int i = 0; i < u->m.nlayers; i++) {
        const nn_layer *l = &u->m.layers[i];
        char d[96];
        nn_layer_describe(l, d, sizeof d);
        lua_createtable(L, 0, 8);
        lua_pushstring(L, nn_layer_kind_name(l->kind));
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, d);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, l->in);
        lua_setfield(L, -2, "in_features");
        lua_pushinteger(L, l->out);
        lua_setfield(L, -2, "out_features");
        lua_pushinteger(L, (lua_Integer)l->param_offset + 1);
        lua_setfield(L, -2, "param_first");
        lua_pushinteger(L, (lua_Integer)l->param_count);
        lua_setfield(L, -2, "param_count");
        lua_pushinteger(L, (lua_Integer)l->weight_count);
        lua_setfield(L, -2, "weight_count");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_tostring(lua_State *L)
{
    lt_model *u = luaL_checkudata(L, 1, MODEL_MT);
    char buf[1024];
    if (!u->live)
        lua_pushliteral(L, "nnlab.Model(freed)");
    else {
        nn_model_describe(&u->m, buf, sizeof buf);
        lua_pushstring(L, buf);
    }
    return 1;
}

static int m_in_features(lua_State *L)
{
    lua_pushinteger(L, nn_model_in_features(&check_model(L, 1)->m));
    return 1;
}

static int m_out_features(lua_State *L)
{
    lua_pushinteger(L, nn_model_out_features(&check_model(L, 1)->m));
    return 1;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lt_model *u = push_model(L);
    nn_error err;
    if (nn_model_load(&u->m, path, &err) != NN_OK)
        return raise_status(L, &err);
    u->live = 1;
    nn_rng_seed(&u->m.dropout_rng, nn_rng_next(&get_rngs(L)->dropout), NN_STREAM_DROPOUT);
    u->m.training = 0;
    return 1;
}

/* m:encode() -> the bytes of a model file */
static int m_encode(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    uint8_t *buf;
    size_t len;
    nn_error err;
    if (nn_model_encode(&u->m, &buf, &len, &err) != NN_OK)
        return raise_status(L, &err);
    lua_pushlstring(L, (const char *)buf, len);
    free(buf);
    return 1;
}

/* m:restore(bytes): parameters and running statistics from a model file's
 * bytes; the architecture must be the same. */
static int m_restore(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    size_t len;
    const char *bytes = luaL_checklstring(L, 2, &len);
    const char *name = luaL_optstring(L, 3, "model");
    nn_model tmp;
    nn_error err;
    if (nn_model_decode(&tmp, (const uint8_t *)bytes, len, name, &err) != NN_OK)
        return raise_status(L, &err);
    int same = tmp.nlayers == u->m.nlayers && tmp.nparams == u->m.nparams && tmp.nbuffers == u->m.nbuffers;
    for (int i = 0; same && i < tmp.nlayers; i++)
        same = tmp.layers[i].kind == u->m.layers[i].kind && tmp.layers[i].in == u->m.layers[i].in &&
               tmp.layers[i].out == u->m.layers[i].out;
    if (same) {
        memcpy(u->m.params, tmp.params, tmp.nparams * sizeof(float));
        memcpy(u->m.buffers, tmp.buffers, tmp.nbuffers * sizeof(float));
    }
    nn_model_free(&tmp);
    if (!same)
        return luaL_error(L, "%s: holds a different architecture than the model", name);
    lua_settop(L, 1);
    return 1;
}

static void push_rng(lua_State *L, const nn_rng *r)
{
    lua_pushlstring(L, (const char *)r->s, sizeof r->s);
}

static void read_rng(lua_State *L, int arg, nn_rng *r)
{
    size_t len;
    const char *s = luaL_checklstring(L, arg, &len);
    if (len != sizeof r->s)
        luaL_argerror(L, arg, "not a random-stream state");
    memcpy(r->s, s, sizeof r->s);
}

/* m:rng_state([state]) -> the Dropout stream's state, set when given */
static int m_rng_state(lua_State *L)
{
    lt_model *u = check_model(L, 1);
    if (!lua_isnoneornil(L, 2))
        read_rng(L, 2, &u->m.dropout_rng);
    push_rng(L, &u->m.dropout_rng);
    return 1;
}

static const luaL_Reg model_methods[] = {
    {"encode", m_encode}, {"restore", m_restore}, {"rng_state", m_rng_state},
    {"forward", m_forward}, {"backward", m_backward}, {"zero_grad", m_zero_grad},
    {"training", m_training}, {"evaluate", m_evaluate_mode}, {"is_training", m_is_training},
    {"save", m_save}, {"num_params", m_num_params}, {"parameters", m_parameters},
    {"gradients", m_gradients}, {"layers", m_layers}, {"in_features", m_in_features},
    {"out_features", m_out_features}, {NULL, NULL}};

static const luaL_Reg model_meta[] = {
    {"__gc", model_gc}, {"__close", model_gc}, {"__tostring", m_tostring},
    {"__index", NULL}, {NULL, NULL}};

/* ---------------------------------------------------------------- losses */

typedef struct {
    nn_loss_kind kind;
    nn_tensor grad; /* backward's output, reused */
} lt_loss;

static lt_loss *check_loss(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LOSS_MT);
}

static int l_loss(lua_State *L)
{
    static const char *const kinds[] = {"cross_entropy", "mse_mean", "mse_sum_per_sample", NULL};
    int k = luaL_checkoption(L, 1, NULL, kinds);
    lt_loss *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->kind = (nn_loss_kind)(k + 1);
    nn_tensor_empty(&u->grad);
    luaL_setmetatable(L, LOSS_MT);
    return 1;
}

static int loss_gc(lua_State *L)
{
    nn_tensor_free(&check_loss(L, 1)->grad);
    return 0;
}

static void target_arg(lua_State *L, int arg, nn_target *t)
{
    nn_tensor *y = tensor_arg(L, arg);
    t->labels = NULL;
    t->dist = NULL;
    if (y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1))
        t->labels = y->data;
    else
        t->dist = y;
}

static void check_target_rows(lua_State *L, const nn_tensor *out, int arg, const char *fname)
{
    nn_tensor *y = tensor_arg(L, arg);
    if (out->ndim != 2)
        luaL_error(L, "bad argument #1 to '%s' (outputs must be a 2-D tensor, got %d-D)", fname, out->ndim);
    if (y->shape[0] != out->shape[0])
        luaL_error(L, "bad argument #2 to '%s' (target has %d rows, outputs have %d)", fname, y->shape[0],
                   out->shape[0]);
}

static int loss_compute(lua_State *L, int with_grad)
{
    lt_loss *u = check_loss(L, 1);
    nn_tensor *out = tensor_arg(L, 2);
    const char *fname = with_grad ? "backward" : "forward";
    check_target_rows(L, out, 3, fname);
    nn_target t;
    target_arg(L, 3, &t);
    nn_error err;
    double loss;
    if (with_grad && nn_tensor_reshape2(&u->grad, out->shape[0], out->shape[1], &err) != NN_OK)
        return raise_status(L, &err);
    if (nn_loss_compute(u->kind, out, &t, &loss, with_grad ? u->grad.data : NULL, NULL, &err) != NN_OK)
        return luaL_error(L, "%s: %s", nn_loss_name(u->kind), err.msg);
    if (!with_grad) {
        lua_pushnumber(L, loss);
        return 1;
    }
    push_cached_view(L, &u->grad, 1, 1);
    return 1;
}

static int loss_forward(lua_State *L) { return loss_compute(L, 0); }
static int loss_backward(lua_State *L) { return loss_compute(L, 1); }

static int loss_tostring(lua_State *L)
{
    lua_pushstring(L, nn_loss_name(check_loss(L, 1)->kind));
    return 1;
}

static const luaL_Reg loss_methods[] = {{"forward", loss_forward}, {"backward", loss_backward}, {NULL, NULL}};
static const luaL_Reg loss_meta[] = {{"__gc", loss_gc}, {"__close", loss_gc}, {"__tostring", loss_tostring},
                                     {"__index", NULL}, {NULL, NULL}};

/* ---------------------------------------------------------------- SGD */

static nn_sgd *check_sgd(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, SGD_MT);
}

/* core.sgd(lr, momentum, nesterov, l2, l2_bias, schedule_kind, a, b, c) */
static int l_sgd(lua_State *L)
{
    static const char *const kinds[] = {"none", "step", "exponential", "cosine", NULL};
    double lr = luaL_checknumber(L, 1), mom = luaL_checknumber(L, 2);
    int nesterov = lua_toboolean(L, 3);
    double l2 = luaL_checknumber(L, 4);
    int l2_bias = lua_toboolean(L, 5);
    nn_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = (nn_schedule_kind)luaL_checkoption(L, 6, "none", kinds);
    s.step_size = (int)luaL_optinteger(L, 7, 1);
    s.t_max = (int)luaL_optinteger(L, 7, 1);
    s.gamma = luaL_optnumber(L, 8, 0.1);
    s.min_lr = luaL_optnumber(L, 9, 0);
    nn_sgd *o = lua_newuserdatauv(L, sizeof *o, 0);
    memset(o, 0, sizeof *o);
    luaL_setmetatable(L, SGD_MT);
    nn_error err;
    if (nn_sgd_init(o, lr, mom, nesterov, l2, l2_bias, &s, &err) != NN_OK)
        return luaL_error(L, "SGD: %s", err.msg);
    return 1;
}

static int sgd_gc(lua_State *L)
{
    nn_sgd_free(check_sgd(L, 1));
    return 0;
}

static int sgd_step(lua_State *L)
{
    nn_sgd *o = check_sgd(L, 1);
    lt_model *u = check_model(L, 2);
    nn_error err;
    if (nn_sgd_step(o, &u->m, &err) != NN_OK)
        return raise_status(L, &err);
    return 0;
}

static int sgd_set_epoch(lua_State *L)
{
    nn_sgd *o = check_sgd(L, 1);
    nn_sgd_set_epoch(o, (int)check_int_range(L, 2, 0, 1 << 30, "epoch"));
    lua_pushnumber(L, o->cur_lr);
    return 1;
}

static int sgd_lr(lua_State *L)
{
    lua_pushnumber(L, check_sgd(L, 1)->cur_lr);
    return 1;
}

static int sgd_penalty(lua_State *L)
{
    nn_sgd *o = check_sgd(L, 1);
    lua_pushnumber(L, nn_sgd_penalty(o, &check_model(L, 2)->m));
    return 1;
}

/* o:state([bytes]) -> the momentum buffer as bytes ("" before the first step) */
static int sgd_state(lua_State *L)
{
    nn_sgd *o = check_sgd(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        size_t len;
        const char *s = luaL_checklstring(L, 2, &len);
        if (len % sizeof(float) != 0)
            return luaL_argerror(L, 2, "not an optimizer state");
        float *v = NULL;
        if (len > 0 && !(v = malloc(len)))
            return luaL_error(L, "out of memory");
        if (len > 0)
            memcpy(v, s, len);
        free(o->velocity);
        o->velocity = v;
        o->n = len / sizeof(float);
    }
    lua_pushlstring(L, (const char *)o->velocity, o->n * sizeof(float));
    return 1;
}

static const luaL_Reg sgd_methods[] = {{"step", sgd_step}, {"state", sgd_state}, {"set_epoch", sgd_set_epoch}, {"lr", sgd_lr},
                                       {"penalty", sgd_penalty}, {NULL, NULL}};
static const luaL_Reg sgd_meta[] = {{"__gc", sgd_gc}, {"__close", sgd_gc}, {"__index", NULL}, {NULL, NULL}};

/* ---------------------------------------------------------------- datasets */

typedef struct {
    nn_dataset d;
} lt_dataset;

static nn_dataset *check_dataset(lua_State *L, int arg)
{
    lt_dataset *u = luaL_checkudata(L, arg, DATASET_MT);
    if (!u->d.store)
        luaL_argerror(L, arg, "dataset has been freed");
    return &u->d;
}

static lt_dataset *push_dataset(lua_State *L)
{
    lt_dataset *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, DATASET_MT);
    return u;
}

static int dataset_gc(lua_State *L)
{
    lt_dataset *u = luaL_checkudata(L, 1, DATASET_MT);
    if (u->d.store)
        nn_dataset_free(&u->d);
    return 0;
}

/* core.load_idx(images_path, labels_path, classes, scale) */
static int l_load_idx(lua_State *L)
{
    const char *ip = luaL_checkstring(L, 1), *lp = luaL_checkstring(L, 2);
    int classes = (int)check_int_range(L, 3, 1, 256, "classes");
    double scale = check_finite(L, 4, "scale");
    lt_dataset *u = push_dataset(L);
    nn_store *s;
    nn_error err;
    if (nn_store_load(&s, ip, lp, classes, &err) != NN_OK)
        return raise_status(L, &err);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (st != NN_OK)
        return raise_status(L, &err);
    return 1;
}

/* core.dataset_from(images_tensor_uint8_values, labels_tensor, classes, scale):
 * a dataset from Lua tensors holding values 0..255 and labels. */
static int l_dataset_from(lua_State *L)
{
    nn_tensor *x = tensor_arg(L, 1), *y = tensor_arg(L, 2);
    int classes = (int)check_int_range(L, 3, 1, 256, "classes");
    double scale = check_finite(L, 4, "scale");
    int n = x->shape[0], dim = (int)nn_tensor_row_size(x);
    if (x->ndim < 2 || n < 1 || dim < 1)
        return luaL_argerror(L, 1, "images must be a non-empty tensor of rows");
    if ((int)y->size != n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "%d labels for %d images", (int)y->size, n));
    for (size_t k = 0; k < x->size; k++)
        if (!(x->data[k] >= 0 && x->data[k] <= 255) || x->data[k] != floorf(x->data[k]))
            return luaL_argerror(L, 1, lua_pushfstring(L, "pixel %d is %f, expected an integer in 0..255",
                                                       (int)k + 1, (double)x->data[k]));
    for (int k = 0; k < n; k++)
        if (!(y->data[k] >= 0 && y->data[k] < classes) || y->data[k] != floorf(y->data[k]))
            return luaL_argerror(L, 2, lua_pushfstring(L, "label %d is %f, expected a class in 0..%d", k + 1,
                                                       (double)y->data[k], classes - 1));
    lt_dataset *u = push_dataset(L);
    uint8_t *im = malloc(x->size), *lb = malloc((size_t)n);
    if (!im || !lb) {
        free(im);
        free(lb);
        return luaL_error(L, "out of memory");
    }
    for (size_t k = 0; k < x->size; k++)
        im[k] = (uint8_t)x->data[k];
    for (int k = 0; k < n; k++)
        lb[k] = (uint8_t)y->data[k];
    nn_store *s;
    nn_error err;
    if (nn_store_wrap(&s, im, lb, n, dim, classes, &err) != NN_OK)
        return raise_status(L, &err);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (st != NN_OK)
        return raise_status(L, &err);
    return 1;
}

static int ds_size(lua_State *L)
{
    lua_pushinteger(L, check_dataset(L, 1)->n);
    return 1;
}

static int ds_features(lua_State *L)
{
    lua_pushinteger(L, check_dataset(L, 1)->store->dim);
    return 1;
}

static int ds_classes(lua_State *L)
{
    lua_pushinteger(L, check_dataset(L, 1)->store->classes);
    return 1;
}

static int ds_scale(lua_State *L)
{
    lua_pushnumber(L, check_dataset(L, 1)->scale);
    return 1;
}

/* ds:subset(first, count), 1-based */
static int ds_subset(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    lua_Integer first = check_int_range(L, 2, 1, (lua_Integer)d->n + 1, "first");
    lua_Integer count = check_int_range(L, 3, 0, (lua_Integer)d->n - first + 1, "count");
    lt_dataset *u = push_dataset(L);
    nn_error err;
    if (nn_dataset_subset(&u->d, d, (int32_t)first - 1, (int32_t)count, &err) != NN_OK)
        return raise_status(L, &err);
    return 1;
}

/* ds:split_counts(c1, c2, ...) -> datasets; counts validated in Lua */
static int ds_split_counts(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    int parts = lua_gettop(L) - 1;
    if (parts < 1 || parts > 64)
        return luaL_error(L, "split takes 1 to 64 parts");
    int32_t counts[64];
    for (int i = 0; i < parts; i++)
        counts[i] = (int32_t)check_int_range(L, i + 2, 0, d->n, "part size");
    luaL_checkstack(L, parts + 4, "too many parts");
    lt_dataset *us[64];
    for (int i = 0; i < parts; i++)
        us[i] = push_dataset(L);
    nn_dataset tmp[64];
    nn_error err;
    if (nn_dataset_split(tmp, parts, d, counts, &get_rngs(L)->split, &err) != NN_OK)
        return raise_status(L, &err);
    for (int i = 0; i < parts; i++)
        us[i]->d = tmp[i];
    return parts;
}

/* ds:with_scale(s): the same items with another pixel scale */
static int ds_with_scale(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    double s = check_finite(L, 2, "scale");
    lt_dataset *u = push_dataset(L);
    nn_error err;
    if (nn_dataset_subset(&u->d, d, 0, d->n, &err) != NN_OK)
        return raise_status(L, &err);
    u->d.scale = (float)s;
    return 1;
}

/* ds:labels(): a 1-D tensor of every item's label */
static int ds_labels(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    lt_tensor *u = push_tensor(L);
    int shape[1] = {d->n};
    nn_error err;
    if (nn_tensor_init(&u->own, 1, shape, &err) != NN_OK)
        return raise_status(L, &err);
    for (int32_t i = 0; i < d->n; i++)
        u->own.data[i] = d->store->labels[d->idx[i]];
    return 1;
}

/* ds:images(first, count): a count x features tensor, scaled */
static int ds_images(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    lua_Integer first = check_int_range(L, 2, 1, (lua_Integer)d->n, "first");
    lua_Integer count = check_int_range(L, 3, 1, (lua_Integer)d->n - first + 1, "count");
    lt_tensor *u = push_tensor(L);
    nn_error err;
    if (nn_dataset_gather(d, NULL, (int32_t)first - 1, (int32_t)count, &u->own, NULL, &err) != NN_OK)
        return raise_status(L, &err);
    return 1;
}

typedef struct {
    nn_workspace w;
    int32_t pos, size;
    int live;
} lt_iter;

static int iter_gc(lua_State *L)
{
    lt_iter *it = luaL_checkudata(L, 1, ITER_MT);
    if (it->live)
        nn_workspace_free(&it->w);
    it->live = 0;
    return 0;
}

/* Iterator step; upvalue 1 the iterator userdata, whose uservalue 1 is the
 * dataset, 2 the batch table. */
static int iter_next(lua_State *L)
{
    lt_iter *it = luaL_checkudata(L, lua_upvalueindex(1), ITER_MT);
    lua_getiuservalue(L, lua_upvalueindex(1), 1);
    nn_dataset *d = check_dataset(L, -1);
    if (!it->live || it->pos >= d->n)
        return 0;
    int32_t count = d->n - it->pos < it->size ? d->n - it->pos : it->size;
    nn_error err;
    if (nn_dataset_gather(d, it->w.order, it->pos, count, &it->w.x, &it->w.labels, &err) != NN_OK)
        return raise_status(L, &err);
    it->pos += count;
    lua_getiuservalue(L, lua_upvalueindex(1), 2);
    return 1;
}

/* ds:batch_iter(size, shuffle) */
static int ds_batch_iter(lua_State *L)
{
    nn_dataset *d = check_dataset(L, 1);
    int size = (int)check_int_range(L, 2, 1, INT32_MAX, "size");
    int shuffle = lua_toboolean(L, 3);
    lt_iter *it = lua_newuserdatauv(L, sizeof *it, 2);
    memset(it, 0, sizeof *it);
    nn_workspace_init(&it->w);
    it->live = 1;
    it->size = size;
    luaL_setmetatable(L, ITER_MT);
    int iter = lua_gettop(L);
    it->w.order = malloc(((size_t)d->n + 1) * sizeof(int32_t));
    if (!it->w.order)
        return luaL_error(L, "out of memory");
    it->w.order_cap = d->n;
    for (int32_t i = 0; i < d->n; i++)
        it->w.order[i] = i;
    if (shuffle)
        nn_rng_shuffle(&get_rngs(L)->shuffle, it->w.order, d->n);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, iter, 1);
    lua_createtable(L, 0, 2);
    push_tensor_view(L, &it->w.x, iter);
    lua_setfield(L, -2, "x");
    push_tensor_view(L, &it->w.labels, iter);
    lua_setfield(L, -2, "y");
    lua_setiuservalue(L, iter, 2);
    lua_pushcclosure(L, iter_next, 1);
    return 1;
}

static int ds_tostring(lua_State *L)
{
    lt_dataset *u = luaL_checkudata(L, 1, DATASET_MT);
    if (!u->d.store)
        lua_pushliteral(L, "nnlab.Dataset(freed)");
    else
        lua_pushfstring(L, "nnlab.Dataset(%d items of %d values)", (int)u->d.n, (int)u->d.store->dim);
    return 1;
}

static const luaL_Reg dataset_methods[] = {
    {"size", ds_size}, {"features", ds_features}, {"classes", ds_classes}, {"scale", ds_scale},
    {"subset", ds_subset}, {"split_counts", ds_split_counts}, {"with_scale", ds_with_scale},
    {"labels", ds_labels}, {"images", ds_images}, {"batch_iter", ds_batch_iter}, {NULL, NULL}};
static const luaL_Reg dataset_meta[] = {{"__gc", dataset_gc}, {"__close", dataset_gc}, {"__len", ds_size},
                                        {"__tostring", ds_tostring}, {"__index", NULL}, {NULL, NULL}};

/* ---------------------------------------------------------------- training */

/* The buffers of train_epoch (key ".train") and of evaluate (".eval"), one
 * each per Lua state: apart, so that a validation pass between epochs
 * leaves a full batch gathered once for all epochs in place. */
static nn_workspace *get_workspace(lua_State *L, const char *key)
{
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    lt_iter *it = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return &it->w;
}

/* core.train_epoch(model, loss, sgd, data, batch, shuffle) -> cost, loss, accuracy */
static int l_train_epoch(lua_State *L)
{
    lt_model *m = check_model(L, 1);
    lt_loss *loss = check_loss(L, 2);
    nn_sgd *o = check_sgd(L, 3);
    nn_dataset *d = check_dataset(L, 4);
    int batch = (int)check_int_range(L, 5, 1, INT32_MAX, "batch");
    int shuffle = lua_toboolean(L, 6);
    nn_epoch_stats s;
    nn_error err;
    if (nn_train_epoch(&m->m, loss->kind, o, d, batch, shuffle ? &get_rngs(L)->shuffle : NULL,
                       get_workspace(L, ITER_MT ".train"), &s, &err) != NN_OK)
        return raise_status(L, &err);
    lua_pushnumber(L, s.cost);
    lua_pushnumber(L, s.loss);
    lua_pushnumber(L, s.accuracy);
    return 3;
}

/* core.evaluate(model, loss, data, batch) -> loss, accuracy, confusion */
static int l_evaluate(lua_State *L)
{
    lt_model *m = check_model(L, 1);
    lt_loss *loss = check_loss(L, 2);
    nn_dataset *d = check_dataset(L, 3);
    int batch = (int)check_int_range(L, 4, 1, INT32_MAX, "batch");
    int classes = nn_model_out_features(&m->m);
    if (classes < 1 || classes > 4096)
        classes = d->store->classes;
    nn_eval_result r;
    memset(&r, 0, sizeof r);
    r.classes = classes;
    r.confusion = lua_newuserdatauv(L, (size_t)classes * (size_t)classes * sizeof(long), 0);
    memset(r.confusion, 0, (size_t)classes * (size_t)classes * sizeof(long));
    nn_error err;
    if (nn_evaluate(&m->m, loss->kind, d, batch, get_workspace(L, ITER_MT ".eval"), &r, &err) != NN_OK)
        return raise_status(L, &err);
    lua_pushnumber(L, r.loss);
    lua_pushnumber(L, r.accuracy);
    lua_createtable(L, classes, 0);
    for (int i = 0; i < classes; i++) {
        lua_createtable(L, classes, 0);
        for (int j = 0; j < classes; j++) {
            lua_pushinteger(L, r.confusion[i * classes + j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 3;
}

/* core.numgrad(model, loss, data, h) -> 1-D tensor */
static int l_numgrad(lua_State *L)
{
    lt_model *m = check_model(L, 1);
    lt_loss *loss = check_loss(L, 2);
    nn_dataset *d = check_dataset(L, 3);
    double h = luaL_checknumber(L, 4);
    lt_tensor *u = push_tensor(L);
    int shape[1] = {(int)m->m.nparams};
    nn_error err;
    if (nn_tensor_init(&u->own, 1, shape, &err) != NN_OK)
        return raise_status(L, &err);
    double *g = lua_newuserdatauv(L, (m->m.nparams + 1) * sizeof(double), 0);
    if (nn_numgrad(&m->m, loss->kind, d, h, g, &err) != NN_OK)
        return raise_status(L, &err);
    for (size_t k = 0; k < m->m.nparams; k++)
        u->own.data[k] = (float)g[k];
    lua_pop(L, 1);
    return 1;
}

/* core.gradcheck(model, loss, data, h) -> max relative error, max abs error, layer */
static int l_gradcheck(lua_State *L)
{
    lt_model *m = check_model(L, 1);
    lt_loss *loss = check_loss(L, 2);
    nn_dataset *d = check_dataset(L, 3);
    double h = luaL_checknumber(L, 4);
    nn_gradcheck_result r;
    nn_error err;
    if (nn_gradcheck(&m->m, loss->kind, d, h, &r, &err) != NN_OK)
        return raise_status(L, &err);
    lua_pushnumber(L, r.max_rel_error);
    lua_pushnumber(L, r.max_abs_error);
    lua_pushinteger(L, r.worst_layer);
    return 3;
}

/* ---------------------------------------------------------------- system */

static int l_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        nn_set_threads((int)check_int_range(L, 1, 1, 1024, "threads"));
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
    lua_pushinteger(L, (lua_Integer)get_rngs(L)->seed);
    lua_setfield(L, -2, "seed");
    return 1;
}

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

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

static int l_write_file(lua_State *L)
{
    size_t len;
    const char *path = luaL_checkstring(L, 1);
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

/* core.rng_state([state]) -> the four global streams' state, set when given */
static int l_rng_state(lua_State *L)
{
    rng_set *r = get_rngs(L);
    nn_rng *streams[4] = {&r->init, &r->shuffle, &r->split, &r->dropout};
    if (!lua_isnoneornil(L, 1)) {
        size_t len;
        const char *s = luaL_checklstring(L, 1, &len);
        if (len != 4 * sizeof r->init.s)
            return luaL_argerror(L, 1, "not a random-stream state");
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

static int l_crc32(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, (lua_Integer)crc32(0L, (const Bytef *)s, (uInt)len));
    return 1;
}

static const luaL_Reg core_funcs[] = {
    {"rng_state", l_rng_state}, {"crc32", l_crc32}, {"catch_signals", l_catch_signals},
    {"interrupted", l_interrupted},
    {"seed", l_seed}, {"tensor", l_tensor}, {"zeros", l_zeros}, {"sequential", l_sequential},
    {"load", l_load}, {"loss", l_loss}, {"sgd", l_sgd}, {"load_idx", l_load_idx},
    {"dataset_from", l_dataset_from}, {"train_epoch", l_train_epoch}, {"evaluate", l_evaluate},
    {"numgrad", l_numgrad}, {"gradcheck", l_gradcheck}, {"threads", l_threads}, {"clock", l_clock},
    {"info", l_info}, {"isatty", l_isatty}, {"write_file", l_write_file}, {NULL, NULL}};

static void new_type_n(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods,
                       int nmethods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_createtable(L, 0, nmethods);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int luaopen_nnlab_core(lua_State *L)
{
    luaL_checkversion(L);
    new_type_n(L, TENSOR_MT, tensor_meta, tensor_methods, 12);
    new_type_n(L, MODEL_MT, model_meta, model_methods, 20);
    new_type_n(L, LOSS_MT, loss_meta, loss_methods, 2);
    new_type_n(L, SGD_MT, sgd_meta, sgd_methods, 5);
    new_type_n(L, DATASET_MT, dataset_meta, dataset_methods, 12);
    luaL_newmetatable(L, ITER_MT);
    lua_pushcfunction(L, iter_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    if (lua_getfield(L, LUA_REGISTRYINDEX, RNG_KEY) == LUA_TNIL) {
        rng_set *r = lua_newuserdatauv(L, sizeof *r, 0);
        seed_rngs(r, 0);
        lua_setfield(L, LUA_REGISTRYINDEX, RNG_KEY);
        const char *keys[2] = {ITER_MT ".train", ITER_MT ".eval"};
        for (int k = 0; k < 2; k++) {
            lt_iter *it = lua_newuserdatauv(L, sizeof *it, 0);
            memset(it, 0, sizeof *it);
            nn_workspace_init(&it->w);
            it->live = 1;
            luaL_setmetatable(L, ITER_MT);
            lua_setfield(L, LUA_REGISTRYINDEX, keys[k]);
        }
        /* A Slurm task uses the CPUs it was given unless told otherwise. */
        const char *t = getenv("NNLAB_THREADS");
        if (!t || atoi(t) < 1)
            t = getenv("SLURM_CPUS_PER_TASK");
        if (t && atoi(t) > 0)
            nn_set_threads(atoi(t));
        else
            nn_set_threads(nn_get_threads());
    }
    lua_pop(L, 1);
    luaL_newlib(L, core_funcs);
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
