/* lnn_data.c - the Dataset type and its batch iterator: core.load_idx,
 * core.dataset_from and the dataset methods. A batch's x and y are views
 * of the iterator's buffers, made anew for each batch. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "lnn.h"
#include "train.h"

typedef struct {
    nn_dataset d;
} lnn_dataset;

typedef struct {
    lnn_owner *o;     /* of the batches' views */
    nn_workspace w;
    int32_t pos, size;
    uint64_t dataset_id; /* the dataset it was made for (its uservalue 1) */
} lnn_batches;

nn_dataset *lnn_check_dataset(lua_State *L, int arg)
{
    lnn_dataset *u = lnn_checkudata(L, arg, LNN_DATASET, sizeof *u);
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
    lnn_dataset *u = lnn_checkudata(L, 1, LNN_DATASET, sizeof *u);
    if (u->d.store)
        nn_dataset_free(&u->d);
    return 0;
}

/* ---------------------------------------------------------------- making */

/* core.load_idx(images_path, labels_path, classes, scale) */
static int l_load_idx(lua_State *L)
{
    const char *ip = lnn_check_path(L, 1), *lp = lnn_check_path(L, 2);
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

static const char *const dataset_fields[] = {"x", "y", "classes", "scale", "kind", "targets", NULL};
static const char *const dataset_kinds[] = {"pixels", "features", NULL};

static int all_bytes(const nn_tensor *x)
{
    for (size_t k = 0; k < x->size; k++)
        if (!(x->data[k] >= 0 && x->data[k] <= 255) || x->data[k] != floorf(x->data[k]))
            return 0;
    return 1;
}

/* A malloc'd copy of the n floats at v, or NULL. */
static float *copy_floats(const float *v, size_t n)
{
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (c && n)
        memcpy(c, v, n * sizeof *c);
    return c;
}

/* The store of l_dataset's x (pixels or features) and y (labels or targets). */
static nn_status dataset_store(const nn_tensor *x, const nn_tensor *y, int pixels, int targets,
                               int classes, nn_store **s, nn_error *err)
{
    size_t n = (size_t)x->shape[0], dim = nn_tensor_row_size(x);
    uint8_t *im = NULL, *lb = NULL;
    float *features = NULL, *t = NULL;
    if (pixels) {
        im = malloc(x->size);
        for (size_t k = 0; im && k < x->size; k++)
            im[k] = (uint8_t)x->data[k];
    } else {
        features = copy_floats(x->data, x->size);
    }
    if (targets) {
        t = copy_floats(y->data, y->size);
    } else if ((lb = malloc(n))) {
        for (size_t k = 0; k < n; k++)
            lb[k] = (uint8_t)y->data[k];
    }
    if (!(im || features) || !(lb || t)) {
        free(im);
        free(features);
        free(lb);
        free(t);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    if (pixels && t) {
        /* images with real targets: the features path keeps them as floats */
        features = malloc(x->size * sizeof *features);
        for (size_t k = 0; features && k < x->size; k++)
            features[k] = (float)im[k];
        free(im);
        if (!features) {
            free(t);
            return nn_fail(err, NN_ENOMEM, "out of memory");
        }
        return nn_store_wrap_features(s, features, (int32_t)n, (int32_t)dim, NULL, 0, t,
                                      (int)(y->size / n), err);
    }
    if (pixels)
        return nn_store_wrap(s, im, lb, (int32_t)n, (int32_t)dim, classes, err);
    return nn_store_wrap_features(s, features, (int32_t)n, (int32_t)dim, lb, classes, t,
                                  t ? (int)(y->size / n) : 0, err);
}

/* The values of x: pixels (integers in 0..255) or finite features. */
static void check_values(lua_State *L, const nn_tensor *x, int pixels)
{
    for (size_t k = 0; k < x->size; k++) {
        if (pixels)
            pixel_at(L, x, k);
        else if (!isfinite(x->data[k]))
            luaL_argerror(L, 1, lua_pushfstring(L, "value %I of x is not finite", (LUAI_UACINT)k + 1));
    }
}

static double max_abs(const float *v, size_t n)
{
    double m = 0;
    for (size_t k = 0; k < n; k++)
        m = fabs((double)v[k]) > m ? fabs((double)v[k]) : m;
    return m;
}

/* A scale > 0 under which no value (at most largest in size) leaves the float range. */
static void check_scale(lua_State *L, int arg, double scale, double largest)
{
    luaL_argcheck(L, scale > 0 && scale * (largest > 1 ? largest : 1) <= FLT_MAX, arg,
                  lua_pushfstring(L, "scale must be > 0 and keep every value within float range, got %f", scale));
}

static void check_targets(lua_State *L, const nn_tensor *y, int n)
{
    luaL_argcheck(L, y->shape[0] == n && y->ndim <= 2 && y->size >= (size_t)n && y->size % (size_t)n == 0, 1,
                  lua_pushfstring(L, "y has %d rows for %d items", y->shape[0], n));
    for (size_t k = 0; k < y->size; k++)
        if (!isfinite(y->data[k]))
            luaL_argerror(L, 1, lua_pushfstring(L, "target %I is not finite", (LUAI_UACINT)k + 1));
}

static void check_labels(lua_State *L, const nn_tensor *y, int n, int classes)
{
    luaL_argcheck(L, y->size == (size_t)n, 1, lua_pushfstring(L, "%I labels for %d items", (LUAI_UACINT)y->size, n));
    /* a label a row: N or N x 1 (N x K of N values, as one-hot rows of
     * fewer items look, would be read row by row as labels) */
    luaL_argcheck(L, y->ndim == 1 || (y->ndim == 2 && y->shape[0] == n), 1,
                  lua_pushfstring(L, "y is %d x %d for %d items: labels are one a row, N or N x 1 (targets = "
                                     "true takes rows of real-valued targets)", y->shape[0],
                                  y->ndim >= 2 ? (int)(y->size / (size_t)y->shape[0]) : 1, n));
    for (int k = 0; k < n; k++)
        if (!(y->data[k] >= 0 && y->data[k] < classes) || y->data[k] != floorf(y->data[k])) {
            const char *v = y->data[k] != y->data[k] ? "nan" : lua_pushfstring(L, "%f", (lua_Number)y->data[k]);
            luaL_argerror(L, 1, lua_pushfstring(L, "label %d is %s, expected a class in 0..%d (targets = true "
                                                   "takes real-valued targets)", k + 1, v, classes - 1));
        }
}

/* core.dataset{x = items, y = labels or targets, classes = 10, scale, kind, targets = false}:
 * a dataset from tensors. x (one row per item) is "pixels" when every value
 * is an integer in 0..255 (scaled by scale, 1/255 by default), else
 * "features" (real values, scaled by scale, 1 by default); kind forces one.
 * y holds a class label a row, or with targets = true real-valued targets
 * (N, or N x K). */
static int l_dataset(lua_State *L)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTABLE, 1, "expected {x = tensor, y = tensor}");
    lnn_check_fields(L, 1, 1, dataset_fields);
    lua_settop(L, 1);
    /* The settings first: reading a field may run the table's metamethods. */
    int targets = lnn_field_boolean(L, 1, 1, NULL, "targets", 0);
    int kind = -1; /* -1: from the values */
    if (lua_getfield(L, 1, "kind") != LUA_TNIL)
        kind = lnn_field_option(L, 1, 1, NULL, "kind", NULL, dataset_kinds);
    lua_pop(L, 1);
    int has_scale = lua_getfield(L, 1, "scale") != LUA_TNIL;
    lua_pop(L, 1);
    double scale = lnn_field_number(L, 1, 1, NULL, "scale", 1);
    int classes = targets ? 0 : (int)lnn_field_int(L, 1, 1, NULL, "classes", 10, 1, 256);
    lnn_dataset *u = push_dataset(L); /* 2 */
    lua_getfield(L, 1, "x");          /* 3 */
    lua_getfield(L, 1, "y");          /* 4 */
    for (int i = 3; i <= 4; i++)
        if (!luaL_testudata(L, i, LNN_TENSOR))
            luaL_argerror(L, 1, lua_pushfstring(L, "%s must be a tensor, got %s", i == 3 ? "x" : "y",
                                                luaL_typename(L, i)));
    /* From here on no Lua code runs until the store is made. */
    nn_tensor *x = lnn_check_tensor(L, 3), *y = lnn_check_tensor(L, 4);
    size_t dim = nn_tensor_row_size(x);
    luaL_argcheck(L, x->ndim >= 2 && x->shape[0] >= 1 && dim >= 1 && dim <= INT32_MAX, 1,
                  "x must be a non-empty tensor of rows");
    int n = x->shape[0];
    if (kind < 0)
        kind = all_bytes(x) ? 0 : 1;
    check_values(L, x, kind == 0);
    if (!has_scale)
        scale = kind == 0 ? 1.0 / 255 : 1.0;
    check_scale(L, 1, scale, kind == 0 ? 255 : max_abs(x->data, x->size));
    if (targets)
        check_targets(L, y, n);
    else
        check_labels(L, y, n, classes);
    nn_store *s;
    nn_error err;
    if (dataset_store(x, y, kind == 0, targets, classes, &s, &err) != NN_OK)
        return lnn_error(L, &err);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (st != NN_OK)
        return lnn_error(L, &err);
    lua_settop(L, 2);
    return 1;
}

static const char *const csv_fields[] = {"path", "label", "header", "sep", "targets", "scale", NULL};

/* The 0-based column that the value at idx names: a header name or a 1-based index. */
static int csv_label_column(lua_State *L, const nn_csv *c, int idx, const char *path)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *name = lua_tostring(L, idx);
        int col = nn_csv_column(c, name, 0), twice = col < 0 ? -1 : nn_csv_column(c, name, col + 1);
        if (col < 0)
            luaL_argerror(L, 1, lua_pushfstring(L, "%s: no column named '%s'%s", path, name,
                                                c->names ? "" : " (the file has no header)"));
        if (twice >= 0)
            luaL_argerror(L, 1, lua_pushfstring(L, "%s: the header names columns %d and %d '%s' (give the "
                                                   "label's column by its index)", path, col + 1, twice + 1, name));
        return col;
    }
    lua_Number v = lua_tonumber(L, idx);
    lua_Integer i = lua_isinteger(L, idx) ? lua_tointeger(L, idx) : (v == floor(v) && fabs(v) < 1e9 ? (lua_Integer)v : 0);
    if (lua_type(L, idx) != LUA_TNUMBER || i < 1 || i > c->cols)
        luaL_argerror(L, 1, lua_pushfstring(L, "label must name a column or be its index in 1..%d, got %s", c->cols,
                                            luaL_tolstring(L, idx, NULL)));
    return (int)(i - 1);
}

/* Frees a csv when the Lua state unwinds past it. */
static int csv_close(lua_State *L)
{
    nn_csv *c = lua_touserdata(L, 1);
    nn_csv_free(c);
    return 0;
}

/* core.csv{path, label = name or index (or a list of them, with targets),
 * header = true, sep = ",", targets = false, scale = 1} -> dataset, class names or nil */
static int l_csv(lua_State *L)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTABLE, 1, "expected {path = \"file.csv\", label = ...}");
    lnn_check_fields(L, 1, 1, csv_fields);
    lua_settop(L, 1);
    lua_getfield(L, 1, "path");
    luaL_argcheck(L, lua_type(L, 2) == LUA_TSTRING && strlen(lua_tostring(L, 2)) == lua_rawlen(L, 2), 1,
                  "path must be a file name (without NUL bytes)");
    const char *path = lua_tostring(L, 2);
    int header = lnn_field_boolean(L, 1, 1, NULL, "header", 1);
    int targets = lnn_field_boolean(L, 1, 1, NULL, "targets", 0);
    double scale = lnn_field_number(L, 1, 1, NULL, "scale", 1);
    luaL_argcheck(L, scale > 0 && scale <= FLT_MAX, 1, "scale must be a number > 0 within float range");
    lua_getfield(L, 1, "sep"); /* 3 */
    const char *sep = lua_isnil(L, 3) ? "," : lua_tostring(L, 3);
    luaL_argcheck(L, lua_type(L, 3) == LUA_TNIL || (lua_type(L, 3) == LUA_TSTRING && strlen(sep) == 1 &&
                                                      sep[0] != '"' && sep[0] != '\n' && sep[0] != '\r'),
                  1, "sep must be one character other than a quote or a newline");
    /* The file's contents live in a userdata whose __close frees them. */
    nn_csv *c = lua_newuserdatauv(L, sizeof *c, 0); /* 4 */
    memset(c, 0, sizeof *c);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, csv_close);
    lua_setfield(L, -2, "__close");
    lua_setmetatable(L, 4);
    lua_toclose(L, 4);
    nn_error err;
    if (nn_csv_read(c, path, sep[0], header, &err) != NN_OK)
        return lnn_error(L, &err);
    int cols[64], n = 0;
    if (lua_getfield(L, 1, "label") == LUA_TNIL) { /* 5: the last column by default */
        cols[n++] = c->cols - 1;
    } else if (lua_type(L, 5) == LUA_TTABLE) {
        lua_Integer k = (lua_Integer)lua_rawlen(L, 5);
        luaL_argcheck(L, targets && k >= 1 && k <= 64, 1, "a list of label columns needs targets = true (1 to 64)");
        for (int i = 1; i <= (int)k; i++) {
            lua_rawgeti(L, 5, i);
            cols[n++] = csv_label_column(L, c, lua_gettop(L), path);
            lua_pop(L, 1);
            for (int j = 0; j < n - 1; j++)
                if (cols[j] == cols[n - 1])
                    luaL_argerror(L, 1, lua_pushfstring(L, "label names column %d twice", cols[j] + 1));
        }
    } else {
        cols[n++] = csv_label_column(L, c, 5, path);
    }
    nn_store *s;
    char **names;
    int classes;
    if (nn_csv_store(c, path, cols, n, targets, &s, &names, &classes, &err) != NN_OK)
        return lnn_error(L, &err);
    lnn_dataset *u = push_dataset(L);
    nn_status st = nn_dataset_all(&u->d, s, (float)scale, &err);
    nn_store_release(s);
    if (names) {
        lua_createtable(L, classes, 0);
        for (int i = 0; i < classes; i++) {
            lua_pushstring(L, names[i]);
            lua_rawseti(L, -2, i + 1);
            free(names[i]);
        }
        free(names);
    } else {
        lua_pushnil(L);
    }
    if (st != NN_OK)
        return lnn_error(L, &err);
    check_scale(L, 1, scale, u->d.store->max_abs);
    return 2;
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

/* ds:labels(): a 1-D tensor of every item's label, or an N x K tensor of
 * its real-valued targets */
static int ds_labels(lua_State *L)
{
    lnn_tensor *u = lnn_push_tensor(L); /* first: see lnn.h */
    nn_dataset *d = lnn_check_dataset(L, 1);
    const nn_store *s = d->store;
    int k = s->targets ? s->targets_dim : 1;
    int shape[2] = {d->n, k};
    nn_error err;
    if (nn_tensor_init(&u->own, s->targets ? 2 : 1, shape, &err) != NN_OK)
        return lnn_error(L, &err);
    for (int32_t i = 0; i < d->n; i++) {
        if (s->targets)
            memcpy(u->own.data + (size_t)i * k, s->targets + (size_t)d->idx[i] * k, (size_t)k * sizeof(float));
        else
            u->own.data[i] = s->labels[d->idx[i]];
    }
    return 1;
}

/* ds:targets() -> K, the real-valued targets of an item (0 with class labels) */
static int ds_targets(lua_State *L)
{
    lua_pushinteger(L, lnn_check_dataset(L, 1)->store->targets_dim);
    return 1;
}

/* ds:kind() -> "pixels" or "features" */
static int ds_kind(lua_State *L)
{
    lua_pushstring(L, lnn_check_dataset(L, 1)->store->images ? "pixels" : "features");
    return 1;
}

/* ds:images(first, count): a count x features tensor, scaled */
static int ds_images(lua_State *L)
{
    lnn_tensor *u = lnn_push_tensor(L); /* first: see lnn.h */
    nn_dataset *d = lnn_check_dataset(L, 1);
    luaL_argcheck(L, d->n >= 1, 1, "the dataset is empty");
    lua_Integer first = lnn_check_int(L, 2, 1, d->n, "first");
    lua_Integer count = lnn_check_int(L, 3, 1, (lua_Integer)d->n - first + 1, "count");
    nn_error err;
    if (nn_dataset_gather(d, NULL, (int32_t)first - 1, (int32_t)count, &u->own, NULL, &err) != NN_OK)
        return lnn_error(L, &err);
    return 1;
}

/* ds:feature_stats() -> mean, std: 1-D tensors of each feature's mean and
 * population standard deviation over every item, scaled as batches are
 * (std exactly 0 for a feature of one value) */
static int ds_feature_stats(lua_State *L)
{
    int dim = lnn_check_dataset(L, 1)->store->dim;
    lnn_tensor *mean = lnn_push_tensor(L), *std = lnn_push_tensor(L); /* first: see lnn.h */
    double *acc = lua_newuserdatauv(L, 2 * (size_t)dim * sizeof(double), 0);
    nn_dataset *d = lnn_check_dataset(L, 1);
    luaL_argcheck(L, d->n >= 1, 1, "the dataset is empty");
    int shape[1] = {dim};
    nn_error err;
    if (nn_tensor_init(&mean->own, 1, shape, &err) != NN_OK || nn_tensor_init(&std->own, 1, shape, &err) != NN_OK ||
        nn_dataset_feature_stats(d, acc, acc + dim, &err) != NN_OK)
        return lnn_error(L, &err);
    for (int j = 0; j < dim; j++) {
        mean->own.data[j] = (float)acc[j];
        std->own.data[j] = (float)acc[dim + j];
    }
    lua_pop(L, 1);
    return 2;
}

/* ---------------------------------------------------------------- parts */

/* ds:subset(first [, count]), 1-based; count defaults to the rest */
static int ds_subset(lua_State *L)
{
    lnn_dataset *u = push_dataset(L);
    nn_dataset *d = lnn_check_dataset(L, 1);
    luaL_argcheck(L, d->n >= 1, 1, "the dataset is empty");
    lua_Integer first = lnn_check_int(L, 2, 1, d->n, "first");
    lua_Integer count = lnn_opt_int(L, 3, d->n - first + 1, 1, (lua_Integer)d->n - first + 1, "count");
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
            /* each part ends at the rounded cumulative fraction: never negative, never past n */
            fsum += v;
            lua_Integer end = (lua_Integer)floor((fsum < 1 ? fsum : 1) * n + 0.5);
            counts[i] = (int32_t)(end - used);
            used = end;
            if (counts[i] < 1)
                luaL_argerror(L, arg, lua_pushfstring(L, "%s (%f of %d items) would be empty", key, v, (int)n));
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
    int32_t counts[MAX_PARTS];
    int parts = split_counts(L, 2, lnn_check_dataset(L, 1)->n, counts);
    luaL_checkstack(L, parts + 4, "too many parts");
    lnn_dataset *us[MAX_PARTS];
    for (int i = 0; i < parts; i++)
        us[i] = push_dataset(L);
    nn_dataset *d = lnn_check_dataset(L, 1);
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
    lnn_dataset *u = push_dataset(L);
    double s = lnn_check_finite(L, 2, "scale");
    nn_dataset *d = lnn_check_dataset(L, 1);
    check_scale(L, 2, s, d->store->max_abs);
    nn_error err;
    if (nn_dataset_subset(&u->d, d, 0, d->n, &err) != NN_OK)
        return lnn_error(L, &err);
    u->d.scale = (float)s;
    return 1;
}

/* ---------------------------------------------------------------- batches */

static int batches_close(lua_State *L)
{
    lnn_batches *it = lnn_checkudata(L, 1, LNN_BATCHES, sizeof *it);
    if (it->o && it->o->live)
        nn_workspace_free(&it->w);
    if (it->o)
        it->o->live = 0;
    lnn_owner_release(&it->o);
    return 0;
}

/* The iterator's step; upvalue 1 is the iterator, whose uservalue 1 is
 * the dataset and 2 the batch table. */
static int batches_next(lua_State *L)
{
    lnn_batches *it = lnn_checkudata(L, lua_upvalueindex(1), LNN_BATCHES, sizeof *it);
    /* The batch table and the views first (see lnn.h), then the checks. */
    lua_getiuservalue(L, lua_upvalueindex(1), 2);
    if (!lua_istable(L, -1))
        return luaL_error(L, "batch iterator: its batch table was replaced");
    if (!it->o || !it->o->live)
        return luaL_error(L, "attempt to use a closed batch iterator");
    lnn_owner *o = it->o; /* the views hold references: o outlives a close by a finalizer */
    lnn_push_view(L, &it->w.x, lua_upvalueindex(1), o);
    lnn_push_view(L, &it->w.labels, lua_upvalueindex(1), o);
    lua_getiuservalue(L, lua_upvalueindex(1), 1);
    lnn_dataset *du = luaL_testudata(L, -1, LNN_DATASET);
    if (!du || lua_rawlen(L, -1) != sizeof *du || !du->d.store)
        return luaL_error(L, "batch iterator: its dataset was closed");
    nn_dataset *d = &du->d;
    if (d->id != it->dataset_id)
        return luaL_error(L, "batch iterator: its dataset was replaced");
    if (!o->live)
        return luaL_error(L, "attempt to use a closed batch iterator");
    if (it->pos >= d->n)
        return 0;
    int32_t count = d->n - it->pos < it->size ? d->n - it->pos : it->size;
    nn_error err;
    if (nn_dataset_gather(d, it->w.order, it->pos, count, &it->w.x, &it->w.labels, &err) != NN_OK)
        return lnn_error(L, &err);
    it->pos += count;
    lua_pop(L, 1);                 /* the dataset; views y, x and the table remain */
    lua_setfield(L, -3, "y");
    lua_setfield(L, -2, "x");
    return 1;
}

static const char *const batches_fields[] = {"size", "shuffle", NULL};

/* for batch in ds:batches{size = 100, shuffle = true} do ... batch.x, batch.y ... end
 * The iterator is the loop's closing value: when the loop ends its buffers
 * are freed, and a batch's x or y kept past it raises an error. */
static int ds_batches(lua_State *L)
{
    lnn_check_dataset(L, 1);
    int size = 32, shuffle = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lnn_check_fields(L, 2, 2, batches_fields);
        size = (int)lnn_field_int(L, 2, 2, NULL, "size", 32, 1, INT32_MAX);
        shuffle = lnn_field_boolean(L, 2, 2, NULL, "shuffle", 0);
    }
    lnn_batches *it = lua_newuserdatauv(L, sizeof *it, 2);
    memset(it, 0, sizeof *it);
    nn_workspace_init(&it->w);
    it->size = size;
    luaL_setmetatable(L, LNN_BATCHES);
    int iter = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_setiuservalue(L, iter, 2);
    it->o = lnn_owner_new(L, "batch iterator");
    nn_dataset *d = lnn_check_dataset(L, 1); /* after the allocations: see lnn.h */
    it->dataset_id = d->id;
    it->w.order = malloc(((size_t)d->n + 1) * sizeof(int32_t));
    if (!it->w.order)
        return luaL_error(L, "out of memory");
    it->w.order_cap = d->n;
    for (int32_t i = 0; i < d->n; i++)
        it->w.order[i] = i;
    if (shuffle)
        nn_rng_shuffle(&lnn_get_rngs(L)->shuffle, it->w.order, d->n);
    it->o->live = 1;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, iter, 1);
    lua_pushvalue(L, iter);
    lua_pushcclosure(L, batches_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, iter); /* the loop's closing value: the buffers go when the loop ends */
    return 4;
}

static int ds_tostring(lua_State *L)
{
    lnn_dataset *u = lnn_checkudata(L, 1, LNN_DATASET, sizeof *u);
    if (!u->d.store) {
        lua_pushliteral(L, "nnlab.Dataset(closed)");
        return 1;
    }
    int n = u->d.n, dim = u->d.store->dim, pixels = u->d.store->images != NULL;
    int targets = u->d.store->targets_dim, classes = u->d.store->classes;
    lua_pushfstring(L, "nnlab.Dataset(%d items of %d %s, %d %s)", n, dim, pixels ? "pixels" : "features",
                    targets ? targets : classes, targets ? "targets" : "classes");
    return 1;
}

static const luaL_Reg dataset_methods[] = {
    {"size", ds_size}, {"features", ds_features}, {"classes", ds_classes}, {"scale", ds_scale},
    {"subset", ds_subset}, {"split", ds_split}, {"with_scale", ds_with_scale},
    {"labels", ds_labels}, {"targets", ds_targets}, {"kind", ds_kind}, {"images", ds_images}, {"batches", ds_batches},
    {"feature_stats", ds_feature_stats}, {NULL, NULL}};
static const luaL_Reg dataset_meta[] = {{"__gc", dataset_close}, {"__close", dataset_close}, {"__len", ds_size},
                                        {"__tostring", ds_tostring}, {NULL, NULL}};
static const luaL_Reg batches_methods[] = {{NULL, NULL}};
static const luaL_Reg batches_meta[] = {{"__gc", batches_close}, {"__close", batches_close}, {NULL, NULL}};

static const luaL_Reg data_funcs[] = {{"load_idx", l_load_idx}, {"dataset", l_dataset}, {"csv", l_csv},
                                      {NULL, NULL}};

void lnn_open_data(lua_State *L)
{
    lnn_new_type(L, LNN_DATASET, dataset_meta, dataset_methods);
    lnn_new_type(L, LNN_BATCHES, batches_meta, batches_methods);
    luaL_setfuncs(L, data_funcs, 0);
}
