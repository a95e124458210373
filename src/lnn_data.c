/* lnn_data.c - the Dataset type and its batch iterator: core.load_idx,
 * core.dataset_from and the dataset methods. A batch's x and y are views
 * of the iterator's buffers, made anew for each batch. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnn.h"
#include "train.h"

typedef struct {
    nn_dataset d;
} lnn_dataset;

typedef struct {
    lnn_owner o;      /* of the batches' views */
    nn_workspace w;
    int32_t pos, size;
} lnn_batches;

nn_dataset *lnn_check_dataset(lua_State *L, int arg)
{
    lnn_dataset *u = luaL_checkudata(L, arg, LNN_DATASET);
    luaL_argcheck(L, u->d.store != NULL, arg, "attempt to use a closed dataset");
    return &u->d;
}

static lnn_dataset *push_dataset(lua_State *L)
{
    lnn_dataset *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LNN_DATASET);
    return u;
}

static int dataset_close(lua_State *L)
{
    lnn_dataset *u = luaL_checkudata(L, 1, LNN_DATASET);
    if (u->d.store)
        nn_dataset_free(&u->d);
    return 0;
}

/* ---------------------------------------------------------------- making */

/* core.load_idx(images_path, labels_path, classes, scale) */
static int l_load_idx(lua_State *L)
{
    const char *ip = luaL_checkstring(L, 1), *lp = luaL_checkstring(L, 2);
    int classes = (int)lnn_check_int(L, 3, 1, 256, "classes");
    double scale = lnn_check_finite(L, 4, "scale");
    lnn_dataset *u = push_dataset(L);
    nn_store *s;
    nn_error err;
    if (nn_store_load(&s, ip, lp, classes, &err) != NN_OK)
        return lnn_error(L, &err);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (st != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

/* Raises an error naming pixel k of x unless it is an integer in 0..255. */
static void pixel_at(lua_State *L, const nn_tensor *x, size_t k)
{
    float v = x->data[k];
    if (!(v >= 0 && v <= 255) || v != floorf(v))
        luaL_argerror(L, 1, lua_pushfstring(L, "pixel %I is %s, expected an integer in 0..255", (LUAI_UACINT)k + 1,
                                            v != v ? "nan" : lua_pushfstring(L, "%f", (lua_Number)v)));
}

/* Field key of the table at index 1, a tensor, put at stack slot slot
 * (so that it stays alive while in use, whatever the table's metatable does). */
static nn_tensor *tensor_field(lua_State *L, const char *key, int slot)
{
    lua_getfield(L, 1, key);
    if (!luaL_testudata(L, -1, LNN_TENSOR))
        luaL_argerror(L, 1, lua_pushfstring(L, "%s must be a tensor, got %s", key, luaL_typename(L, -1)));
    lua_replace(L, slot);
    return lnn_check_tensor(L, slot);
}

static const char *const dataset_fields[] = {"x", "y", "classes", "scale", NULL};

/* core.dataset{x = images, y = labels, classes = 10, scale = 1/255}: a
 * dataset from tensors holding pixel values 0..255 (one row per item) and
 * labels. */
static int l_dataset(lua_State *L)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTABLE, 1, "expected {x = tensor, y = tensor}");
    lnn_check_fields(L, 1, 1, dataset_fields);
    lua_settop(L, 3);
    nn_tensor *x = tensor_field(L, "x", 2), *y = tensor_field(L, "y", 3);
    int classes = (int)lnn_field_int(L, 1, 1, NULL, "classes", 10, 1, 256);
    double scale = lnn_field_number(L, 1, 1, NULL, "scale", 1.0 / 255);
    luaL_argcheck(L, scale > 0 && scale <= FLT_MAX, 1, "scale must be a number > 0 within float range");
    size_t dim = nn_tensor_row_size(x);
    luaL_argcheck(L, x->ndim >= 2 && x->shape[0] >= 1 && dim >= 1 && dim <= INT32_MAX, 1,
                  "x must be a non-empty tensor of rows");
    int n = x->shape[0];
    luaL_argcheck(L, y->size == (size_t)n, 1, lua_pushfstring(L, "%I labels for %d images", (LUAI_UACINT)y->size, n));
    for (int k = 0; k < n; k++)
        if (!(y->data[k] >= 0 && y->data[k] < classes) || y->data[k] != floorf(y->data[k]))
            luaL_argerror(L, 1, lua_pushfstring(L, "label %d is %f, expected a class in 0..%d", k + 1,
                                                (lua_Number)y->data[k], classes - 1));
    for (size_t k = 0; k < x->size; k++)
        pixel_at(L, x, k);
    lnn_dataset *u = push_dataset(L);
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
    if (nn_store_wrap(&s, im, lb, n, (int32_t)dim, classes, &err) != NN_OK)
        return lnn_error(L, &err);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (st != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

/* ---------------------------------------------------------------- reading */

static int ds_size(lua_State *L)
{
    lua_pushinteger(L, lnn_check_dataset(L, 1)->n);
    return 1;
}

static int ds_features(lua_State *L)
{
    lua_pushinteger(L, lnn_check_dataset(L, 1)->store->dim);
    return 1;
}

static int ds_classes(lua_State *L)
{
    lua_pushinteger(L, lnn_check_dataset(L, 1)->store->classes);
    return 1;
}

static int ds_scale(lua_State *L)
{
    lua_pushnumber(L, lnn_check_dataset(L, 1)->scale);
    return 1;
}

/* ds:labels(): a 1-D tensor of every item's label */
static int ds_labels(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    lnn_tensor *u = lnn_push_tensor(L);
    int shape[1] = {d->n};
    nn_error err;
    if (nn_tensor_init(&u->own, 1, shape, &err) != NN_OK)
        return lnn_error(L, &err);
    for (int32_t i = 0; i < d->n; i++)
        u->own.data[i] = d->store->labels[d->idx[i]];
    return 1;
}

/* ds:images(first, count): a count x features tensor, scaled */
static int ds_images(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    lua_Integer first = lnn_check_int(L, 2, 1, d->n, "first");
    lua_Integer count = lnn_check_int(L, 3, 1, (lua_Integer)d->n - first + 1, "count");
    lnn_tensor *u = lnn_push_tensor(L);
    nn_error err;
    if (nn_dataset_gather(d, NULL, (int32_t)first - 1, (int32_t)count, &u->own, NULL, &err) != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

/* ---------------------------------------------------------------- parts */

/* ds:subset(first [, count]), 1-based; count defaults to the rest */
static int ds_subset(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    lua_Integer first = lnn_check_int(L, 2, 1, d->n, "first");
    lua_Integer count = lnn_opt_int(L, 3, d->n - first + 1, 1, (lua_Integer)d->n - first + 1, "count");
    lnn_dataset *u = push_dataset(L);
    nn_error err;
    if (nn_dataset_subset(&u->d, d, (int32_t)first - 1, (int32_t)count, &err) != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

#define MAX_PARTS 64

/* The counts of ds:split's parts, the table at arg: all counts (integers
 * >= 1 adding up to at most n) or all fractions in (0, 1) adding up to at
 * most 1, rounded to counts. */
static int split_counts(lua_State *L, int arg, int32_t n, int32_t *counts)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_Integer parts = (lua_Integer)lua_rawlen(L, arg);
    luaL_argcheck(L, parts >= 1 && parts <= MAX_PARTS, arg,
                  "expected a list of 1 to 64 counts such as {50000, 10000} or fractions such as {0.8, 0.2}");
    lua_rawgeti(L, arg, 1);
    int fractions = lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > 0 && lua_tonumber(L, -1) < 1;
    lua_pop(L, 1);
    double fsum = 0;
    lua_Integer sum = 0, used = 0;
    for (int i = 0; i < (int)parts; i++) {
        char key[32];
        snprintf(key, sizeof key, "part %d", i + 1);
        lua_rawgeti(L, arg, i + 1);
        lua_Number v = lua_tonumber(L, -1);
        int is_fraction = lua_type(L, -1) == LUA_TNUMBER && v > 0 && v < 1;
        if (fractions && !is_fraction)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s is %s: give all parts as fractions in (0, 1) or all as "
                                                     "counts", key, luaL_tolstring(L, -1, NULL)));
        lua_pop(L, 1);
        if (fractions) {
            fsum += v;
            counts[i] = (int32_t)floor(v * n + 0.5);
            used += counts[i];
        } else {
            lua_Integer c = 0;
            lua_rawgeti(L, arg, i + 1);
            if (lua_isinteger(L, -1))
                c = lua_tointeger(L, -1);
            else if (lua_type(L, -1) == LUA_TNUMBER && v == floor(v) && fabs(v) < 4611686018427387904.0)
                c = (lua_Integer)v;
            else
                luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer >= 1, got %s", key,
                                                      luaL_tolstring(L, -1, NULL)));
            if (c < 1 || c > INT32_MAX)
                luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer >= 1, got %I", key, (LUAI_UACINT)c));
            lua_pop(L, 1);
            counts[i] = (int32_t)c;
            sum += counts[i];
        }
    }
    if (fractions) {
        luaL_argcheck(L, fsum <= 1 + 1e-9, arg, lua_pushfstring(L, "the fractions add up to %f, more than 1", fsum));
        if (used > n)
            counts[parts - 1] -= (int32_t)(used - n);
    } else {
        luaL_argcheck(L, sum <= n, arg,
                      lua_pushfstring(L, "the parts add up to %I items but the dataset has %d", (LUAI_UACINT)sum,
                                      (int)n));
    }
    return (int)parts;
}

/* ds:split(parts) -> datasets: the items shuffled (the split stream) and
 * cut into consecutive parts. */
static int ds_split(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    int32_t counts[MAX_PARTS];
    int parts = split_counts(L, 2, d->n, counts);
    luaL_checkstack(L, parts + 4, "too many parts");
    lnn_dataset *us[MAX_PARTS];
    for (int i = 0; i < parts; i++)
        us[i] = push_dataset(L);
    nn_dataset tmp[MAX_PARTS];
    nn_error err;
    if (nn_dataset_split(tmp, parts, d, counts, &lnn_get_rngs(L)->split, &err) != NN_OK)
        return lnn_error(L, &err);
    for (int i = 0; i < parts; i++)
        us[i]->d = tmp[i];
    return parts;
}

/* ds:with_scale(s): the same items with another pixel scale */
static int ds_with_scale(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    double s = lnn_check_finite(L, 2, "scale");
    lnn_dataset *u = push_dataset(L);
    nn_error err;
    if (nn_dataset_subset(&u->d, d, 0, d->n, &err) != NN_OK)
        return lnn_error(L, &err);
    u->d.scale = (float)s;
    return 1;
}

/* ---------------------------------------------------------------- batches */

static int batches_close(lua_State *L)
{
    lnn_batches *it = luaL_checkudata(L, 1, LNN_BATCHES);
    if (it->o.live)
        nn_workspace_free(&it->w);
    it->o.live = 0;
    return 0;
}

/* The iterator's step; upvalue 1 is the iterator, whose uservalue 1 is
 * the dataset and 2 the batch table. */
static int batches_next(lua_State *L)
{
    lnn_batches *it = luaL_checkudata(L, lua_upvalueindex(1), LNN_BATCHES);
    if (!it->o.live)
        return luaL_error(L, "attempt to use a closed batch iterator");
    lua_getiuservalue(L, lua_upvalueindex(1), 1);
    nn_dataset *d = lnn_check_dataset(L, -1);
    if (it->pos >= d->n)
        return 0;
    int32_t count = d->n - it->pos < it->size ? d->n - it->pos : it->size;
    nn_error err;
    if (nn_dataset_gather(d, it->w.order, it->pos, count, &it->w.x, &it->w.labels, &err) != NN_OK)
        return lnn_error(L, &err);
    it->pos += count;
    lua_getiuservalue(L, lua_upvalueindex(1), 2);
    lnn_push_view(L, &it->w.x, lua_upvalueindex(1), &it->o);
    lua_setfield(L, -2, "x");
    lnn_push_view(L, &it->w.labels, lua_upvalueindex(1), &it->o);
    lua_setfield(L, -2, "y");
    return 1;
}

static const char *const batches_fields[] = {"size", "shuffle", NULL};

/* for batch in ds:batches{size = 100, shuffle = true} do ... batch.x, batch.y ... end
 * The iterator is the loop's closing value: when the loop ends its buffers
 * are freed, and a batch's x or y kept past it raises an error. */
static int ds_batches(lua_State *L)
{
    nn_dataset *d = lnn_check_dataset(L, 1);
    int size = 32, shuffle = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lnn_check_fields(L, 2, 2, batches_fields);
        size = (int)lnn_field_int(L, 2, 2, NULL, "size", 32, 1, INT32_MAX);
        shuffle = lnn_field_boolean(L, 2, 2, NULL, "shuffle", 0);
    }
    lnn_batches *it = lua_newuserdatauv(L, sizeof *it, 2);
    memset(it, 0, sizeof *it);
    it->o.what = "batch iterator";
    nn_workspace_init(&it->w);
    it->o.live = 1;
    it->size = size;
    luaL_setmetatable(L, LNN_BATCHES);
    int iter = lua_gettop(L);
    it->w.order = malloc(((size_t)d->n + 1) * sizeof(int32_t));
    if (!it->w.order)
        return luaL_error(L, "out of memory");
    it->w.order_cap = d->n;
    for (int32_t i = 0; i < d->n; i++)
        it->w.order[i] = i;
    if (shuffle)
        nn_rng_shuffle(&lnn_get_rngs(L)->shuffle, it->w.order, d->n);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, iter, 1);
    lua_createtable(L, 0, 2);
    lua_setiuservalue(L, iter, 2);
    lua_pushvalue(L, iter);
    lua_pushcclosure(L, batches_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, iter); /* the loop's closing value: the buffers go when the loop ends */
    return 4;
}

static int ds_tostring(lua_State *L)
{
    lnn_dataset *u = luaL_checkudata(L, 1, LNN_DATASET);
    if (!u->d.store)
        lua_pushliteral(L, "nnlab.Dataset(closed)");
    else
        lua_pushfstring(L, "nnlab.Dataset(%d items of %d values)", (int)u->d.n, (int)u->d.store->dim);
    return 1;
}

static const luaL_Reg dataset_methods[] = {
    {"size", ds_size}, {"features", ds_features}, {"classes", ds_classes}, {"scale", ds_scale},
    {"subset", ds_subset}, {"split", ds_split}, {"with_scale", ds_with_scale},
    {"labels", ds_labels}, {"images", ds_images}, {"batches", ds_batches}, {NULL, NULL}};
static const luaL_Reg dataset_meta[] = {{"__gc", dataset_close}, {"__close", dataset_close}, {"__len", ds_size},
                                        {"__tostring", ds_tostring}, {NULL, NULL}};
static const luaL_Reg batches_methods[] = {{NULL, NULL}};
static const luaL_Reg batches_meta[] = {{"__gc", batches_close}, {"__close", batches_close}, {NULL, NULL}};

static const luaL_Reg data_funcs[] = {{"load_idx", l_load_idx}, {"dataset", l_dataset}, {NULL, NULL}};

void lnn_open_data(lua_State *L)
{
    lnn_new_type(L, LNN_DATASET, dataset_meta, dataset_methods);
    lnn_new_type(L, LNN_BATCHES, batches_meta, batches_methods);
    luaL_setfuncs(L, data_funcs, 0);
}
