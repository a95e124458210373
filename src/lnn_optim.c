/* lnn_optim.c - the Loss and SGD types: core.loss, core.sgd and their
 * methods. A loss lends a view of its gradient buffer (backward's result). */
#include <stdlib.h>
#include <string.h>

#include "lnn.h"

/* ---------------------------------------------------------------- losses */

lnn_loss *lnn_check_loss(lua_State *L, int arg)
{
    lnn_loss *u = luaL_checkudata(L, arg, LNN_LOSS);
    luaL_argcheck(L, !u->closed, arg, "attempt to use a closed loss");
    return u;
}

static int l_loss(lua_State *L)
{
    static const char *const kinds[] = {"cross_entropy", "mse_mean", "mse_sum_per_sample", NULL};
    int k = luaL_checkoption(L, 1, NULL, kinds);
    lnn_loss *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    u->kind = (nn_loss_kind)(k + 1);
    u->o.live = 1;
    u->o.what = "loss";
    nn_tensor_empty(&u->grad);
    nn_tensor_empty(&u->input);
    luaL_setmetatable(L, LNN_LOSS);
    return 1;
}

static int loss_close(lua_State *L)
{
    lnn_loss *u = luaL_checkudata(L, 1, LNN_LOSS);
    nn_tensor_free(&u->grad);
    nn_tensor_free(&u->input);
    u->o.live = 0;
    u->closed = 1;
    return 0;
}

static int same_shape(const nn_tensor *a, const nn_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(int)) == 0;
}

/* The target at arg for outputs out: a tensor of the outputs' shape holds
 * values (a distribution for cross-entropy); otherwise one label a row. */
static nn_target target_arg(lua_State *L, int arg, const nn_tensor *out)
{
    nn_tensor *y = lnn_check_tensor(L, arg);
    luaL_argcheck(L, y->shape[0] == out->shape[0], arg,
                  lua_pushfstring(L, "target has %d rows, outputs have %d", y->shape[0], out->shape[0]));
    nn_target t = {NULL, NULL};
    if (!same_shape(y, out) && (y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1)))
        t.labels = y->data;
    else
        t.dist = y;
    return t;
}

static int loss_compute(lua_State *L, int with_grad)
{
    lnn_loss *u = lnn_check_loss(L, 1);
    nn_tensor *out = lnn_check_tensor(L, 2);
    luaL_argcheck(L, out->ndim == 2, 2, lua_pushfstring(L, "outputs must be a 2-D tensor, got %d-D", out->ndim));
    nn_target t = target_arg(L, 3, out);
    nn_error err;
    /* backward writes grad: an output or target that is grad itself (an
     * earlier backward's result) is read from a copy. */
    if (with_grad && (out->data == u->grad.data || (t.dist && t.dist->data == u->grad.data) ||
                      (t.labels && t.labels == u->grad.data))) {
        if (nn_tensor_copy(&u->input, &u->grad, &err) != NN_OK)
            return lnn_error(L, &err);
        if (out->data == u->grad.data)
            out = &u->input;
        if (t.dist && t.dist->data == u->grad.data)
            t.dist = &u->input;
        if (t.labels == u->grad.data)
            t.labels = u->input.data;
    }
    if (nn_target_check(u->kind, &t, out, &err) != NN_OK)
        return luaL_argerror(L, 3, lua_pushfstring(L, "%s: %s", nn_loss_name(u->kind), err.msg));
    double loss;
    if (with_grad && nn_tensor_reshape2(&u->grad, out->shape[0], out->shape[1], &err) != NN_OK)
        return lnn_error(L, &err);
    if (nn_loss_compute(u->kind, out, &t, &loss, with_grad ? u->grad.data : NULL, NULL, &err) != NN_OK)
        return luaL_error(L, "%s: %s", nn_loss_name(u->kind), err.msg);
    if (!with_grad) {
        lua_pushnumber(L, loss);
        return 1;
    }
    lnn_push_view(L, &u->grad, 1, &u->o);
    return 1;
}

static int loss_forward(lua_State *L) { return loss_compute(L, 0); }
static int loss_backward(lua_State *L) { return loss_compute(L, 1); }

static int loss_tostring(lua_State *L)
{
    lnn_loss *u = luaL_checkudata(L, 1, LNN_LOSS);
    lua_pushstring(L, u->closed ? "nnlab.Loss(closed)" : nn_loss_name(u->kind));
    return 1;
}

static const luaL_Reg loss_methods[] = {{"forward", loss_forward}, {"backward", loss_backward}, {NULL, NULL}};
static const luaL_Reg loss_meta[] = {{"__gc", loss_close}, {"__close", loss_close}, {"__tostring", loss_tostring},
                                     {NULL, NULL}};

/* ---------------------------------------------------------------- SGD */

nn_sgd *lnn_check_sgd(lua_State *L, int arg)
{
    lnn_sgd *u = luaL_checkudata(L, arg, LNN_SGD);
    luaL_argcheck(L, !u->closed, arg, "attempt to use a closed optimizer");
    return &u->s;
}

static const char *const sgd_fields[] = {"lr", "momentum", "nesterov", "l2", "l2_bias", "schedule", NULL};
static const char *const schedule_fields[] = {"kind", "step_size", "gamma", "t_max", "min_lr", NULL};
static const char *const schedule_kinds[] = {"step", "exponential", "cosine", NULL};

/* The table at index t of argument arg as a schedule. */
static void read_schedule(lua_State *L, int t, int arg, nn_schedule *s)
{
    memset(s, 0, sizeof *s);
    luaL_argcheck(L, lua_type(L, t) == LUA_TTABLE, arg, "schedule must be a table such as {kind = \"step\", ...}");
    lnn_check_fields(L, t, arg, schedule_fields);
    lnn_field_required(L, t, arg, "schedule", "kind", "one of step, exponential, cosine");
    int kind = lnn_field_option(L, t, arg, "schedule", "kind", NULL, schedule_kinds);
    s->kind = (nn_schedule_kind)(kind + 1);
    if (s->kind == NN_SCHEDULE_STEP)
        lnn_field_required(L, t, arg, "schedule", "step_size", "an integer >= 1");
    if (s->kind == NN_SCHEDULE_EXP)
        lnn_field_required(L, t, arg, "schedule", "gamma", "a number in (0, 1]");
    if (s->kind == NN_SCHEDULE_COSINE)
        lnn_field_required(L, t, arg, "schedule", "t_max", "an integer >= 1");
    s->step_size = (int)lnn_field_int(L, t, arg, "schedule", "step_size", 1, 1, 1 << 30);
    s->t_max = (int)lnn_field_int(L, t, arg, "schedule", "t_max", 1, 1, 1 << 30);
    s->gamma = lnn_field_number(L, t, arg, "schedule", "gamma", 0.1);
    s->min_lr = lnn_field_number(L, t, arg, "schedule", "min_lr", 0);
}

/* core.sgd{lr =, momentum =, nesterov =, l2 =, l2_bias =, schedule = {kind =, ...}} */
static int l_sgd(lua_State *L)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTABLE, 1, "expected a table of options such as {lr = 0.1}");
    lnn_check_fields(L, 1, 1, sgd_fields);
    lnn_field_required(L, 1, 1, NULL, "lr", "a finite number");
    double lr = lnn_field_number(L, 1, 1, NULL, "lr", 0);
    double momentum = lnn_field_number(L, 1, 1, NULL, "momentum", 0);
    int nesterov = lnn_field_boolean(L, 1, 1, NULL, "nesterov", 0);
    double l2 = lnn_field_number(L, 1, 1, NULL, "l2", 0);
    int l2_bias = lnn_field_boolean(L, 1, 1, NULL, "l2_bias", 0);
    nn_schedule s;
    memset(&s, 0, sizeof s);
    if (lua_getfield(L, 1, "schedule") != LUA_TNIL)
        read_schedule(L, lua_gettop(L), 1, &s);
    lua_pop(L, 1);
    lnn_sgd *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    u->closed = 1; /* until initialized */
    luaL_setmetatable(L, LNN_SGD);
    nn_error err;
    if (nn_sgd_init(&u->s, lr, momentum, nesterov, l2, l2_bias, &s, &err) != NN_OK)
        return luaL_argerror(L, 1, err.msg);
    u->closed = 0;
    return 1;
}

static int sgd_close(lua_State *L)
{
    lnn_sgd *u = luaL_checkudata(L, 1, LNN_SGD);
    nn_sgd_free(&u->s);
    u->closed = 1;
    return 0;
}

static int sgd_step(lua_State *L)
{
    nn_sgd *o = lnn_check_sgd(L, 1);
    lnn_model *u = lnn_check_model(L, 2);
    nn_error err;
    if (nn_sgd_step(o, &u->m, &err) != NN_OK)
        return lnn_error(L, &err);
    return 0;
}

static int sgd_set_epoch(lua_State *L)
{
    nn_sgd *o = lnn_check_sgd(L, 1);
    nn_sgd_set_epoch(o, (int)lnn_check_int(L, 2, 0, 1 << 30, "epoch"));
    lua_pushnumber(L, o->cur_lr);
    return 1;
}

static int sgd_lr(lua_State *L)
{
    lua_pushnumber(L, lnn_check_sgd(L, 1)->cur_lr);
    return 1;
}

static int sgd_penalty(lua_State *L)
{
    nn_sgd *o = lnn_check_sgd(L, 1);
    lua_pushnumber(L, nn_sgd_penalty(o, &lnn_check_model(L, 2)->m));
    return 1;
}

/* o:state([bytes]) -> the momentum buffer as bytes ("" before the first step) */
static int sgd_state(lua_State *L)
{
    nn_sgd *o = lnn_check_sgd(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        size_t len;
        const char *s = luaL_checklstring(L, 2, &len);
        luaL_argcheck(L, len % sizeof(float) == 0, 2, "not an optimizer state");
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

static const luaL_Reg sgd_methods[] = {{"step", sgd_step}, {"state", sgd_state}, {"set_epoch", sgd_set_epoch},
                                       {"lr", sgd_lr}, {"penalty", sgd_penalty}, {NULL, NULL}};
static const luaL_Reg sgd_meta[] = {{"__gc", sgd_close}, {"__close", sgd_close}, {NULL, NULL}};

static const luaL_Reg optim_funcs[] = {{"loss", l_loss}, {"sgd", l_sgd}, {NULL, NULL}};

void lnn_open_optim(lua_State *L)
{
    lnn_new_type(L, LNN_LOSS, loss_meta, loss_methods);
    lnn_new_type(L, LNN_SGD, sgd_meta, sgd_methods);
    luaL_setfuncs(L, optim_funcs, 0);
}
