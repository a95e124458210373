/* lnn_model.c - the Model type: core.sequential, core.load and the model
 * methods. A model lends views of its parameters, gradients and last
 * output; each checks on every use that the model is still open. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnn.h"
#include "model_io.h"

lnn_model *lnn_check_model(lua_State *L, int arg)
{
    lnn_model *u = lnn_checkudata(L, arg, LNN_MODEL, sizeof *u);
    luaL_argcheck(L, u->o && u->o->live, arg, "attempt to use a closed model");
    return u;
}

static lnn_model *push_model(lua_State *L)
{
    lnn_model *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LNN_MODEL);
    u->o = lnn_owner_new(L, "model");
    return u;
}

static int model_close(lua_State *L)
{
    lnn_model *u = lnn_checkudata(L, 1, LNN_MODEL, sizeof *u);
    if (u->o && u->o->live)
        nn_model_free(&u->m);
    if (u->o)
        u->o->live = 0;
    lnn_owner_release(&u->o);
    return 0;
}

/* ---------------------------------------------------------------- building */

#define MAX_KINDS 32
#define MAX_FIELDS 64

/* The kinds' names and every field a layer table may have (kind, name,
 * then each kind's settings and buffer fields in registration order, then
 * _model), built from the registry once. */
static const char *layer_kinds[MAX_KINDS + 1];
static const char *layer_fields[MAX_FIELDS + 1];

static void add_field(int *n, const char *key)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(layer_fields[i], key) == 0)
            return;
    if (*n < MAX_FIELDS)
        layer_fields[(*n)++] = key;
}

static void build_names(void)
{
    if (layer_kinds[0])
        return;
    int count, nf = 0;
    const nn_layer_ops *const *kinds = nn_layer_kinds(&count);
    add_field(&nf, "kind");
    add_field(&nf, "name");
    for (int k = 0; k < count && k < MAX_KINDS; k++) {
        layer_kinds[k] = kinds[k]->name;
        for (const nn_setting *st = kinds[k]->settings; st->key; st++)
            add_field(&nf, st->key);
        for (int b = 0; kinds[k]->buffer_fields && kinds[k]->buffer_fields[b]; b++)
            add_field(&nf, kinds[k]->buffer_fields[b]);
    }
    add_field(&nf, "_model");
}

/* One setting from the table at t into l. */
static void read_setting(lua_State *L, int t, const char *where, const nn_setting *s, nn_layer *l)
{
    if (s->required) {
        char what[48];
        snprintf(what, sizeof what, "an integer in %d..%d", s->lo, s->hi);
        lnn_field_required(L, t, 1, where, s->key, what);
    }
    switch (s->type) {
    case NN_SET_INT:
        nn_setting_set_int(l, s, (int)lnn_field_int(L, t, 1, where, s->key, (lua_Integer)s->def, s->lo, s->hi));
        break;
    case NN_SET_BOOL:
        nn_setting_set_int(l, s, lnn_field_boolean(L, t, 1, where, s->key, (int)s->def));
        break;
    case NN_SET_OPTION:
        nn_setting_set_int(l, s, lnn_field_option(L, t, 1, where, s->key, s->options[(int)s->def], s->options));
        break;
    case NN_SET_NUMBER:
        nn_setting_set_number(l, s, lnn_field_number(L, t, 1, where, s->key, s->def));
        break;
    }
}

/* Layer i of Sequential's list, the table at t: every field is checked
 * here, whatever the Lua side checked when it built the table. */
static void read_layer_spec(lua_State *L, int t, int i, nn_layer *l)
{
    char where[32];
    snprintf(where, sizeof where, "layer %d", i + 1);
    memset(l, 0, sizeof *l);
    build_names();
    lnn_check_fields(L, t, 1, layer_fields);
    int count;
    const nn_layer_ops *ops = nn_layer_kinds(&count)[lnn_field_option(L, t, 1, where, "kind", NULL, layer_kinds)];
    l->kind = ops->kind;
    l->in = l->out = -1;
    for (const nn_setting *s = ops->settings; s->key; s++)
        read_setting(L, t, where, s, l);
}

/* The buffers that layer i's table at t gives (its kind's buffer_fields,
 * each a list of buffer_count / (their number) numbers) into the planned
 * model m, then checked as the kind checks those of a model file. */
static void read_buffers(lua_State *L, int t, int i, nn_model *m)
{
    const nn_layer *l = &m->layers[i];
    const char *const *fields = m->ops[i]->buffer_fields;
    if (!fields)
        return;
    size_t nf = 0;
    while (fields[nf])
        nf++;
    size_t each = l->buffer_count / nf;
    float *b = m->buffers + l->buffer_offset;
    for (size_t k = 0; k < nf; k++) {
        int ty = lua_getfield(L, t, fields[k]);
        if (ty != LUA_TTABLE || lua_rawlen(L, -1) != each) {
            const char *got = ty == LUA_TTABLE ? lua_pushfstring(L, "%I values", (LUAI_UACINT)lua_rawlen(L, -1))
                                               : luaL_typename(L, -1);
            luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: %s must be a list of %I numbers, got %s", i + 1,
                                                fields[k], (LUAI_UACINT)each, got));
        }
        for (size_t q = 0; q < each; q++) {
            lua_rawgeti(L, -1, (lua_Integer)q + 1);
            double v = lua_tonumber(L, -1);
            if (lua_type(L, -1) != LUA_TNUMBER || !(fabs(v) <= FLT_MAX))
                luaL_argerror(L, 1, lua_pushfstring(L, "layer %d: %s[%I] must be a finite number (a float), got %s",
                                                    i + 1, fields[k], (LUAI_UACINT)q + 1,
                                                    v != v                          ? "nan"
                                                    : lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1)
                                                                                     : luaL_typename(L, -1)));
            b[k * each + q] = (float)v;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    char desc[112];
    nn_layer_describe(l, desc + snprintf(desc, 16, "layer %d, ", i + 1), sizeof desc - 16);
    nn_error err;
    if (m->ops[i]->check_buffers && m->ops[i]->check_buffers(l, b, desc, &err) != NN_OK)
        luaL_argerror(L, 1, err.msg);
}

/* core.sequential(layers): a model from a list of layer description tables. */
static int l_sequential(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    luaL_argcheck(L, n >= 1 && n <= NN_MAX_LAYERS, 1,
                  lua_pushfstring(L, "Sequential needs 1 to %d layers, got %I", NN_MAX_LAYERS, (LUAI_UACINT)n));
    lnn_model *u = push_model(L);
    nn_layer *layers = lua_newuserdatauv(L, (size_t)n * sizeof *layers, 0);
    for (int i = 0; i < (int)n; i++) {
        if (lua_rawgeti(L, 1, i + 1) != LUA_TTABLE)
            luaL_argerror(L, 1, lua_pushfstring(L, "layer %d is a %s, expected a layer table", i + 1,
                                                luaL_typename(L, -1)));
        read_layer_spec(L, lua_gettop(L), i, &layers[i]);
        lua_pop(L, 1);
    }
    lnn_rngs *r = lnn_get_rngs(L);
    nn_error err;
    if (nn_model_init(&u->m, layers, (int)n, &r->init, &err) != NN_OK)
        return luaL_argerror(L, 1, err.msg);
    u->o->live = 1; /* from here on, an error leaves the model to its __gc */
    nn_rng_seed(&u->m.dropout_rng, nn_rng_next(&r->dropout), NN_STREAM_DROPOUT);
    for (int i = 0; i < (int)n; i++) {
        lua_rawgeti(L, 1, i + 1);
        read_buffers(L, lua_gettop(L), i, &u->m);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 1;
}

static int l_load(lua_State *L)
{
    const char *path = lnn_check_path(L, 1);
    lnn_model *u = push_model(L);
    nn_error err;
    if (nn_model_load(&u->m, path, &err) != NN_OK)
        return lnn_error(L, &err);
    u->o->live = 1;
    nn_rng_seed(&u->m.dropout_rng, nn_rng_next(&lnn_get_rngs(L)->dropout), NN_STREAM_DROPOUT);
    u->m.training = 0;
    return 1;
}

/* ---------------------------------------------------------------- running */

static nn_tensor *batch_arg(lua_State *L, int arg)
{
    nn_tensor *x = lnn_check_tensor(L, arg);
    luaL_argcheck(L, x->ndim == 2, arg,
                  lua_pushfstring(L, "a batch is a 2-D tensor, rows x features; got %d-D", x->ndim));
    return x;
}

static int m_forward(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    nn_tensor *x = batch_arg(L, 2);
    const nn_tensor *y;
    nn_error err;
    if (nn_model_forward(&u->m, x, &y, &err) != NN_OK)
        return luaL_argerror(L, 2, err.msg);
    lnn_push_view(L, &u->m.out[u->m.nlayers - 1], 1, u->o);
    return 1;
}

/* m:predict(x): each row's class (1-based), in eval mode; the mode is restored. */
static int m_predict(lua_State *L)
{
    lnn_check_model(L, 1);
    lua_createtable(L, batch_arg(L, 2)->shape[0], 0); /* first, sized: see lnn.h */
    lnn_model *u = lnn_check_model(L, 1);
    nn_tensor *x = batch_arg(L, 2);
    const nn_tensor *y;
    nn_error err;
    int was = u->m.training;
    u->m.training = 0;
    nn_status st = nn_model_forward(&u->m, x, &y, &err);
    u->m.training = was;
    if (st != NN_OK)
        return luaL_argerror(L, 2, err.msg);
    size_t cols = nn_tensor_row_size(y);
    for (int r = 0; r < y->shape[0]; r++) {
        lua_pushinteger(L, nn_argmax(y->data + (size_t)r * cols, (int)cols) + 1);
        lua_rawseti(L, -2, r + 1);
    }
    return 1;
}

static int m_backward(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    nn_tensor *x = batch_arg(L, 2);
    nn_tensor *dy = lnn_check_tensor(L, 3);
    nn_error err;
    if (nn_model_backward(&u->m, x, dy, NN_GRAD_ADD, &err) != NN_OK)
        return lnn_error(L, &err);
    lua_settop(L, 1);
    return 1;
}

static int m_zero_grad(lua_State *L)
{
    nn_model_zero_grad(&lnn_check_model(L, 1)->m);
    lua_settop(L, 1);
    return 1;
}

static int m_training(lua_State *L)
{
    lnn_check_model(L, 1)->m.training = 1;
    lua_settop(L, 1);
    return 1;
}

static int m_evaluate_mode(lua_State *L)
{
    lnn_check_model(L, 1)->m.training = 0;
    lua_settop(L, 1);
    return 1;
}

static int m_is_training(lua_State *L)
{
    lua_pushboolean(L, lnn_check_model(L, 1)->m.training);
    return 1;
}

/* ---------------------------------------------------------------- contents */

static int m_num_params(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lnn_check_model(L, 1)->m.nparams);
    return 1;
}

static int m_parameters(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    lnn_push_flat_view(L, u->m.params, u->m.nparams, 1, u->o);
    return 1;
}

/* m:buffers(): a view of the state that is not trained (BatchNorm's
 * running statistics, Normalize's mean and std), layer by layer */
static int m_buffers(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    lnn_push_flat_view(L, u->m.buffers, u->m.nbuffers, 1, u->o);
    return 1;
}

static int m_gradients(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    lnn_push_flat_view(L, u->m.grads, u->m.nparams, 1, u->o);
    return 1;
}

static void set_int_field(lua_State *L, const char *key, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, key);
}

static int m_layers(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    lua_createtable(L, u->m.nlayers, 0);
    for (int i = 0; i < lnn_check_model(L, 1)->m.nlayers; i++) { /* checked again after each allocation */
        nn_layer copy = u->m.layers[i];
        const nn_layer *l = &copy;
        char d[96];
        nn_layer_describe(l, d, sizeof d);
        lua_createtable(L, 0, 8);
        lua_pushstring(L, nn_layer_kind_name(l->kind));
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, d);
        lua_setfield(L, -2, "name");
        set_int_field(L, "in_features", l->in);
        set_int_field(L, "out_features", l->out);
        set_int_field(L, "param_first", (lua_Integer)l->param_offset + 1);
        set_int_field(L, "param_count", (lua_Integer)l->param_count);
        set_int_field(L, "weight_count", (lua_Integer)l->weight_count);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_tostring(lua_State *L)
{
    lnn_model *u = lnn_checkudata(L, 1, LNN_MODEL, sizeof *u);
    if (!u->o || !u->o->live) {
        lua_pushliteral(L, "nnlab.Model(closed)");
        return 1;
    }
    char buf[1024];
    nn_model_describe(&u->m, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int m_in_features(lua_State *L)
{
    lua_pushinteger(L, nn_model_in_features(&lnn_check_model(L, 1)->m));
    return 1;
}

static int m_out_features(lua_State *L)
{
    lua_pushinteger(L, nn_model_out_features(&lnn_check_model(L, 1)->m));
    return 1;
}

/* ---------------------------------------------------------------- files and state */

static int m_save(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    const char *path = lnn_check_path(L, 2);
    nn_error err;
    if (nn_model_save(&u->m, path, &err) != NN_OK)
        return lnn_error(L, &err);
    lua_settop(L, 1);
    return 1;
}

/* m:nonfinite() -> nil, or what saving would refuse: which parameter is
 * not finite and its layer, or a buffer its layer's check refuses */
static int m_nonfinite(lua_State *L)
{
    const nn_model *m = &lnn_check_model(L, 1)->m;
    char msg[NN_ERRMSG_MAX];
    nn_error err;
    if (nn_model_nonfinite(m, msg, sizeof msg))
        lua_pushstring(L, msg);
    else if (nn_model_check_buffers(m, NULL, &err) != NN_OK)
        lua_pushstring(L, err.msg);
    else
        lua_pushnil(L);
    return 1;
}

/* m:encode() -> the bytes of a model file */
static int m_encode(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    uint8_t *buf;
    size_t len;
    nn_error err;
    if (nn_model_encode(&u->m, &buf, &len, &err) != NN_OK)
        return lnn_error(L, &err);
    lua_pushlstring(L, (const char *)buf, len);
    free(buf);
    return 1;
}

static int same_architecture(const nn_model *a, const nn_model *b)
{
    if (a->nlayers != b->nlayers || a->nparams != b->nparams || a->nbuffers != b->nbuffers)
        return 0;
    for (int i = 0; i < a->nlayers; i++) {
        const nn_layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->kind != y->kind || x->in != y->in || x->out != y->out || x->param_count != y->param_count ||
            x->buffer_count != y->buffer_count)
            return 0;
        for (const nn_setting *s = nn_layer_ops_of(x->kind)->settings; s->key; s++)
            if (s->type != NN_SET_NUMBER && nn_setting_get_int(x, s) != nn_setting_get_int(y, s))
                return 0;
    }
    return 1;
}

/* m:restore(bytes [, name]): parameters and running statistics from a
 * model file's bytes; the architecture must be the same. */
static int m_restore(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    size_t len;
    const char *bytes = luaL_checklstring(L, 2, &len);
    const char *name = luaL_optstring(L, 3, "model");
    nn_model tmp;
    nn_error err;
    if (nn_model_decode(&tmp, (const uint8_t *)bytes, len, name, &err) != NN_OK)
        return luaL_argerror(L, 2, err.msg);
    int same = same_architecture(&tmp, &u->m);
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

/* m:rng_state([state]) -> the Dropout stream's state, set when given */
static int m_rng_state(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        size_t len;
        const char *s = luaL_checklstring(L, 2, &len);
        luaL_argcheck(L, len == sizeof u->m.dropout_rng.s, 2, "not a random-stream state");
        nn_rng r;
        memcpy(r.s, s, len);
        luaL_argcheck(L, nn_rng_valid(&r), 2, "not a random-stream state (all zero)");
        u->m.dropout_rng = r;
    }
    lua_pushlstring(L, (const char *)u->m.dropout_rng.s, sizeof u->m.dropout_rng.s);
    return 1;
}

/* m:input_scale([s]) -> the pixel scale of the data the model was trained
 * on (0 if unknown, kept in the model file), set first when s is given */
static int m_input_scale(lua_State *L)
{
    lnn_model *u = lnn_check_model(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        lua_Number s = luaL_checknumber(L, 2);
        luaL_argcheck(L, isfinite(s) && s >= 0, 2, "input scale must be a finite number >= 0");
        u->m.input_scale = (double)s;
    }
    lua_pushnumber(L, u->m.input_scale);
    return 1;
}

static const luaL_Reg model_methods[] = {
    {"input_scale", m_input_scale},
    {"encode", m_encode}, {"restore", m_restore}, {"rng_state", m_rng_state},
    {"forward", m_forward}, {"predict", m_predict}, {"backward", m_backward}, {"zero_grad", m_zero_grad},
    {"training", m_training}, {"evaluate", m_evaluate_mode}, {"is_training", m_is_training},
    {"save", m_save}, {"nonfinite", m_nonfinite}, {"num_params", m_num_params}, {"parameters", m_parameters},
    {"gradients", m_gradients}, {"buffers", m_buffers}, {"layers", m_layers}, {"in_features", m_in_features},
    {"out_features", m_out_features}, {NULL, NULL}};

static const luaL_Reg model_meta[] = {
    {"__gc", model_close}, {"__close", model_close}, {"__tostring", m_tostring},
    {NULL, NULL}};

static const luaL_Reg model_funcs[] = {{"sequential", l_sequential}, {"load", l_load}, {NULL, NULL}};

void lnn_open_model(lua_State *L)
{
    lnn_new_type(L, LNN_MODEL, model_meta, model_methods);
    luaL_setfuncs(L, model_funcs, 0);
}
