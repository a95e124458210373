/* lnn_train.c - training and gradient checks: core.train_epoch,
 * core.evaluate, core.numgrad, core.gradcheck, and the workspaces they
 * keep between calls. */
#include <string.h>

#include "gradcheck.h"
#include "lnn.h"
#include "train.h"

typedef struct {
    nn_workspace w;
    int live;
} lnn_workspace;

#define TRAIN_KEY LNN_WORKSPACE ".train"
#define EVAL_KEY LNN_WORKSPACE ".eval"

static int workspace_close(lua_State *L)
{
    lnn_workspace *u = lnn_checkudata(L, 1, LNN_WORKSPACE, sizeof *u);
    if (u->live)
        nn_workspace_free(&u->w);
    u->live = 0;
    return 0;
}

/* The buffers of train_epoch (TRAIN_KEY) and of evaluate (EVAL_KEY), one
 * each per Lua state: apart, so that a validation pass between epochs
 * leaves a full batch gathered once for all epochs in place. */
static nn_workspace *get_workspace(lua_State *L, const char *key)
{
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    lnn_workspace *u = lnn_checkudata(L, -1, LNN_WORKSPACE, sizeof *u);
    lua_pop(L, 1);
    return &u->w;
}

/* core.train_epoch(model, loss, optimizer, data, batch, shuffle) -> cost, loss, accuracy */
static int l_train_epoch(lua_State *L)
{
    lnn_model *m = lnn_check_model(L, 1);
    lnn_loss *loss = lnn_check_loss(L, 2);
    nn_optimizer *o = lnn_check_optim(L, 3);
    nn_dataset *d = lnn_check_dataset(L, 4);
    int batch = (int)lnn_check_int(L, 5, 1, INT32_MAX, "batch");
    int shuffle = lua_toboolean(L, 6);
    nn_epoch_stats s;
    nn_error err;
    if (nn_train_epoch(&m->m, loss->kind, o, d, batch, shuffle ? &lnn_get_rngs(L)->shuffle : NULL,
                       get_workspace(L, TRAIN_KEY), &s, &err) != NN_OK)
        return lnn_error(L, &err);
    lua_pushnumber(L, s.cost);
    lua_pushnumber(L, s.loss);
    lua_pushnumber(L, s.accuracy);
    return 3;
}

/* core.evaluate(model, loss, data[, batch]) -> loss, accuracy, confusion,
 * mse, mae; without batch, nn_evaluate's choice */
static int l_evaluate(lua_State *L)
{
    lnn_model *m = lnn_check_model(L, 1);
    lnn_loss *loss = lnn_check_loss(L, 2);
    nn_dataset *d = lnn_check_dataset(L, 3);
    int batch = lua_isnoneornil(L, 4) ? 0 : (int)lnn_check_int(L, 4, 1, INT32_MAX, "batch");
    int classes = nn_model_out_features(&m->m);
    if (classes < 1 || classes > 4096)
        classes = d->store->classes;
    nn_eval_result r;
    memset(&r, 0, sizeof r);
    r.classes = classes;
    r.confusion = lua_newuserdatauv(L, (size_t)classes * (size_t)classes * sizeof(long), 0);
    memset(r.confusion, 0, (size_t)classes * (size_t)classes * sizeof(long));
    /* again after allocating: a finalizer may have closed any of them (lnn.h) */
    m = lnn_check_model(L, 1);
    loss = lnn_check_loss(L, 2);
    d = lnn_check_dataset(L, 3);
    nn_error err;
    if (nn_evaluate(&m->m, loss->kind, d, batch, get_workspace(L, EVAL_KEY), &r, &err) != NN_OK)
        return lnn_error(L, &err);
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
    lua_pushnumber(L, r.mse);
    lua_pushnumber(L, r.mae);
    return 5;
}

static double check_step(lua_State *L, int arg)
{
    double h = lnn_check_finite(L, arg, "h");
    luaL_argcheck(L, h > 0, arg, "h must be > 0");
    return h;
}

/* The parameters a check samples (argument arg: nil or 0 for all, else K):
 * K distinct indices drawn from the seed's own stream (Floyd's method),
 * ascending, in a userdata pushed on the stack; NULL (nothing pushed) for all. */
static size_t *sample_arg(lua_State *L, int arg, size_t nparams, size_t *count)
{
    lua_Integer k = lnn_opt_int(L, arg, 0, 0, (lua_Integer)1 << 40, "sample");
    if (k == 0 || (size_t)k >= nparams)
        return NULL;
    unsigned char *taken = lua_newuserdatauv(L, nparams, 0);
    memset(taken, 0, nparams);
    nn_rng r;
    nn_rng_seed(&r, lnn_get_rngs(L)->seed, NN_STREAM_SAMPLE);
    for (size_t j = nparams - (size_t)k; j < nparams; j++) {
        size_t t = (size_t)nn_rng_below(&r, (uint64_t)j + 1);
        taken[taken[t] ? j : t] = 1;
    }
    size_t *which = lua_newuserdatauv(L, (size_t)k * sizeof *which, 0);
    size_t q = 0;
    for (size_t i = 0; i < nparams; i++)
        if (taken[i])
            which[q++] = i;
    lua_remove(L, -2);
    *count = q;
    return which;
}

/* core.numgrad(model, loss, data, h [, sample]) -> 1-D tensor (0 where not
 * sampled) [, the sampled parameters' 1-based indices] */
static int l_numgrad(lua_State *L)
{
    lnn_model *m = lnn_check_model(L, 1);
    lnn_loss *loss = lnn_check_loss(L, 2);
    nn_dataset *d = lnn_check_dataset(L, 3);
    double h = check_step(L, 4);
    size_t nparams = m->m.nparams;
    size_t count = 0;
    size_t *which = sample_arg(L, 5, nparams, &count);
    lnn_tensor *u = lnn_push_tensor(L);
    double *g = lua_newuserdatauv(L, (nparams + 1) * sizeof(double), 0);
    /* again after allocating: a finalizer may have closed any of them (lnn.h) */
    m = lnn_check_model(L, 1);
    loss = lnn_check_loss(L, 2);
    d = lnn_check_dataset(L, 3);
    luaL_argcheck(L, m->m.nparams == nparams, 1, "the model changed");
    int shape[1] = {(int)nparams};
    nn_error err;
    if (nn_tensor_init(&u->own, 1, shape, &err) != NN_OK)
        return lnn_error(L, &err);
    if (nn_numgrad_some(&m->m, loss->kind, d, h, which, count, g, &err) != NN_OK)
        return lnn_error(L, &err);
    for (size_t k = 0; k < m->m.nparams; k++)
        u->own.data[k] = (float)g[k];
    lua_pop(L, 1);
    if (!which)
        return 1;
    lua_createtable(L, (int)count, 0);
    for (size_t q = 0; q < count; q++) {
        lua_pushinteger(L, (lua_Integer)which[q] + 1);
        lua_rawseti(L, -2, (lua_Integer)q + 1);
    }
    return 2;
}

/* core.gradcheck(model, loss, data, h [, sample]) -> max relative error, max abs error, layer */
static int l_gradcheck(lua_State *L)
{
    lnn_model *m = lnn_check_model(L, 1);
    lnn_loss *loss = lnn_check_loss(L, 2);
    nn_dataset *d = lnn_check_dataset(L, 3);
    double h = check_step(L, 4);
    size_t count = 0;
    size_t *which = sample_arg(L, 5, m->m.nparams, &count);
    nn_gradcheck_result r;
    nn_error err;
    if (nn_gradcheck_some(&m->m, loss->kind, d, h, which, count, &r, &err) != NN_OK)
        return lnn_error(L, &err);
    lua_pushnumber(L, r.max_rel_error);
    lua_pushnumber(L, r.max_abs_error);
    lua_pushinteger(L, r.worst_layer);
    return 3;
}

static const luaL_Reg workspace_meta[] = {{"__gc", workspace_close}, {NULL, NULL}};
static const luaL_Reg workspace_methods[] = {{NULL, NULL}};

static const luaL_Reg train_funcs[] = {{"train_epoch", l_train_epoch}, {"evaluate", l_evaluate},
                                       {"numgrad", l_numgrad}, {"gradcheck", l_gradcheck}, {NULL, NULL}};

void lnn_open_train(lua_State *L)
{
    lnn_new_type(L, LNN_WORKSPACE, workspace_meta, workspace_methods);
    const char *keys[2] = {TRAIN_KEY, EVAL_KEY};
    for (int k = 0; k < 2; k++) {
        if (lua_getfield(L, LUA_REGISTRYINDEX, keys[k]) == LUA_TNIL) {
            lnn_workspace *u = lua_newuserdatauv(L, sizeof *u, 0);
            memset(u, 0, sizeof *u);
            nn_workspace_init(&u->w);
            u->live = 1;
            luaL_setmetatable(L, LNN_WORKSPACE);
            lua_setfield(L, LUA_REGISTRYINDEX, keys[k]);
        }
        lua_pop(L, 1);
    }
    luaL_setfuncs(L, train_funcs, 0);
}
