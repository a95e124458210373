/* lnn_optim.c - the Loss type and the optimizers: core.loss, core.sgd,
 * core.adam, core.adamw, core.rmsprop and their methods. A loss lends a view
 * of its gradient buffer (backward's result). The optimizers share one
 * userdata (lnn_optim) and one set of methods; each kind has its metatable,
 * so that getmetatable tells them apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnn.h"

/* ---------------------------------------------------------------- losses */

lnn_loss *lnn_check_loss(lua_State *L, int arg)
{
    lnn_loss *u = lnn_checkudata(L, arg, LNN_LOSS, sizeof *u);
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
    u->closed = 1; /* until its liveness is allocated */
    nn_tensor_empty(&u->grad);
    nn_tensor_empty(&u->input);
    luaL_setmetatable(L, LNN_LOSS);
    u->o = lnn_owner_new(L, "loss");
    u->o->live = 1;
    u->closed = 0;
    return 1;
}

static int loss_close(lua_State *L)
{
    lnn_loss *u = lnn_checkudata(L, 1, LNN_LOSS, sizeof *u);
    nn_tensor_free(&u->grad);
    nn_tensor_free(&u->input);
    if (u->o)
        u->o->live = 0;
    lnn_owner_release(&u->o);
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
    luaL_argcheck(L, t.labels || y->ndim == 2, arg,
                  "a target is one label a row (N or N x 1) or a matrix of the outputs' shape (N x C)");
    return t;
}

static int loss_compute(lua_State *L, int with_grad)
{
    lnn_loss *u = lnn_check_loss(L, 1);
    nn_tensor *out = lnn_check_tensor(L, 2);
    luaL_argcheck(L, out->ndim == 2, 2, lua_pushfstring(L, "outputs must be a 2-D tensor, got %d-D", out->ndim));
    luaL_argcheck(L, out->shape[0] >= 1 && out->shape[1] >= 1, 2, "outputs must have at least one row and one column");
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
        return lnn_error(L, &err);
    if (!with_grad) {
        lua_pushnumber(L, loss);
        return 1;
    }
    lnn_push_view(L, &u->grad, 1, u->o);
    return 1;
}

static int loss_forward(lua_State *L) { return loss_compute(L, 0); }
static int loss_backward(lua_State *L) { return loss_compute(L, 1); }

static int loss_tostring(lua_State *L)
{
    lnn_loss *u = lnn_checkudata(L, 1, LNN_LOSS, sizeof *u);
    lua_pushstring(L, u->closed ? "nnlab.Loss(closed)" : nn_loss_name(u->kind));
    return 1;
}

static const luaL_Reg loss_methods[] = {{"forward", loss_forward}, {"backward", loss_backward}, {NULL, NULL}};
static const luaL_Reg loss_meta[] = {{"__gc", loss_close}, {"__close", loss_close}, {"__tostring", loss_tostring},
                                     {NULL, NULL}};

/* ---------------------------------------------------------------- optimizers */

static const char *const optim_types[] = {LNN_SGD, LNN_ADAM, LNN_RMSPROP, NULL};

/* The optimizer userdata at arg, open or closed, or NULL. */
static lnn_optim *test_optim(lua_State *L, int arg)
{
    for (int i = 0; optim_types[i]; i++) {
        lnn_optim *u = luaL_testudata(L, arg, optim_types[i]);
        if (u && lua_rawlen(L, arg) == sizeof *u)
            return u;
    }
    return NULL;
}

nn_optimizer *lnn_check_optim(lua_State *L, int arg)
{
    lnn_optim *u = test_optim(L, arg);
    if (!u)
        luaL_typeerror(L, arg, "optimizer");
    luaL_argcheck(L, !u->closed, arg, "attempt to use a closed optimizer");
    return &u->o;
}

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

/* The options table of a constructor: its fields checked against allowed,
 * and its schedule (none when the field is nil). */
static void read_options(lua_State *L, const char *const allowed[], const char *example, nn_schedule *s)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTABLE, 1,
                  lua_pushfstring(L, "expected a table of options such as %s", example));
    lnn_check_fields(L, 1, 1, allowed);
    memset(s, 0, sizeof *s);
    if (lua_getfield(L, 1, "schedule") != LUA_TNIL)
        read_schedule(L, lua_gettop(L), 1, s);
    lua_pop(L, 1);
}

/* A new optimizer userdata of metatable mt, closed until its init succeeds. */
static lnn_optim *push_optim(lua_State *L, const char *mt)
{
    lnn_optim *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    u->closed = 1;
    luaL_setmetatable(L, mt);
    return u;
}

/* Finishes a constructor: the engine's refusal of a setting names it. */
static int init_done(lua_State *L, lnn_optim *u, nn_status st, const nn_error *err)
{
    if (st != NN_OK)
        return luaL_argerror(L, 1, err->msg);
    u->closed = 0;
    return 1;
}

/* The options every optimizer takes, after read_options: lr (required when
 * default_lr is 0), l2 and l2_bias. */
static void read_common(lua_State *L, double default_lr, double *lr, double *l2, int *l2_bias)
{
    if (default_lr == 0)
        lnn_field_required(L, 1, 1, NULL, "lr", "a finite number");
    *lr = lnn_field_number(L, 1, 1, NULL, "lr", default_lr);
    *l2 = lnn_field_number(L, 1, 1, NULL, "l2", 0);
    *l2_bias = lnn_field_boolean(L, 1, 1, NULL, "l2_bias", 0);
}

static const char *const sgd_fields[] = {"lr", "momentum", "nesterov", "l2", "l2_bias", "schedule", NULL};

/* core.sgd{lr =, momentum =, nesterov =, l2 =, l2_bias =, schedule = {kind =, ...}} */
static int l_sgd(lua_State *L)
{
    nn_schedule s;
    read_options(L, sgd_fields, "{lr = 0.1}", &s);
    double lr, l2;
    int l2_bias;
    read_common(L, 0, &lr, &l2, &l2_bias);
    double momentum = lnn_field_number(L, 1, 1, NULL, "momentum", 0);
    int nesterov = lnn_field_boolean(L, 1, 1, NULL, "nesterov", 0);
    lnn_optim *u = push_optim(L, LNN_SGD);
    nn_error err;
    return init_done(L, u, nn_sgd_init(&u->o, lr, momentum, nesterov, l2, l2_bias, &s, &err), &err);
}

/* Field "betas" of the options: a list of two finite numbers, or {0.9, 0.999}. */
static void read_betas(lua_State *L, double *b1, double *b2)
{
    *b1 = 0.9;
    *b2 = 0.999;
    int ty = lua_getfield(L, 1, "betas");
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    int t = lua_gettop(L), ok = ty == LUA_TTABLE && lua_rawlen(L, t) == 2;
    if (ok) {
        int keys = 0;
        lua_pushnil(L);
        while (lua_next(L, t)) {
            keys++;
            lua_pop(L, 1);
        }
        ok = keys == 2;
    }
    for (int i = 1; ok && i <= 2; i++) {
        int number = lua_rawgeti(L, t, i) == LUA_TNUMBER;
        if (!number || !isfinite(lua_tonumber(L, -1)))
            luaL_argerror(L, 1, lua_pushfstring(L, "betas[%d] must be a finite number, got %s", i,
                                                number ? luaL_tolstring(L, -1, NULL) : luaL_typename(L, -1)));
        *(i == 1 ? b1 : b2) = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    if (!ok)
        luaL_argerror(L, 1, lua_pushfstring(L, "betas must be a list of two finite numbers such as {0.9, 0.999}, "
                                               "got %s", ty == LUA_TTABLE ? "another table" : luaL_typename(L, t)));
    lua_pop(L, 1);
}

static const char *const adam_fields[] = {"lr", "betas", "eps", "l2", "weight_decay", "l2_bias", "schedule", NULL};

/* core.adam{lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, l2 = 0, weight_decay = 0, l2_bias = false,
 * schedule =}; core.adamw{...} is the same with weight_decay = 0.01 by default. */
static int adam(lua_State *L, double weight_decay)
{
    nn_schedule s;
    read_options(L, adam_fields, "{lr = 1e-3}", &s);
    double lr, l2, b1, b2;
    int l2_bias;
    read_common(L, 1e-3, &lr, &l2, &l2_bias);
    read_betas(L, &b1, &b2);
    double eps = lnn_field_number(L, 1, 1, NULL, "eps", 1e-8);
    double wd = lnn_field_number(L, 1, 1, NULL, "weight_decay", weight_decay);
    lnn_optim *u = push_optim(L, LNN_ADAM);
    nn_error err;
    return init_done(L, u, nn_adam_init(&u->o, lr, b1, b2, eps, l2, wd, l2_bias, &s, &err), &err);
}

static int l_adam(lua_State *L) { return adam(L, 0); }
static int l_adamw(lua_State *L) { return adam(L, 0.01); }

static const char *const rmsprop_fields[] = {"lr", "alpha", "eps", "momentum", "centered", "l2", "l2_bias",
                                             "schedule", NULL};

/* core.rmsprop{lr =, alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, l2 = 0, l2_bias = false,
 * schedule =} */
static int l_rmsprop(lua_State *L)
{
    nn_schedule s;
    read_options(L, rmsprop_fields, "{lr = 0.01}", &s);
    double lr, l2;
    int l2_bias;
    read_common(L, 0, &lr, &l2, &l2_bias);
    double alpha = lnn_field_number(L, 1, 1, NULL, "alpha", 0.99);
    double eps = lnn_field_number(L, 1, 1, NULL, "eps", 1e-8);
    double momentum = lnn_field_number(L, 1, 1, NULL, "momentum", 0);
    int centered = lnn_field_boolean(L, 1, 1, NULL, "centered", 0);
    lnn_optim *u = push_optim(L, LNN_RMSPROP);
    nn_error err;
    return init_done(L, u, nn_rmsprop_init(&u->o, lr, alpha, eps, momentum, centered, l2, l2_bias, &s, &err),
                     &err);
}

static int optim_close(lua_State *L)
{
    lnn_optim *u = test_optim(L, 1);
    if (!u)
        return luaL_typeerror(L, 1, "optimizer");
    nn_optim_free(&u->o);
    u->closed = 1;
    return 0;
}

static int optim_step(lua_State *L)
{
    nn_optimizer *o = lnn_check_optim(L, 1);
    lnn_model *u = lnn_check_model(L, 2);
    nn_error err;
    if (nn_optim_step(o, &u->m, &err) != NN_OK)
        return lnn_error(L, &err);
    return 0;
}

static int optim_set_epoch(lua_State *L)
{
    nn_optimizer *o = lnn_check_optim(L, 1);
    nn_optim_set_epoch(o, (int)lnn_check_int(L, 2, 0, 1 << 30, "epoch"));
    lua_pushnumber(L, o->cur_lr);
    return 1;
}

static int optim_lr(lua_State *L)
{
    lua_pushnumber(L, lnn_check_optim(L, 1)->cur_lr);
    return 1;
}

static int optim_penalty(lua_State *L)
{
    nn_optimizer *o = lnn_check_optim(L, 1);
    lua_pushnumber(L, nn_optim_penalty(o, &lnn_check_model(L, 2)->m));
    return 1;
}

/* o:state([bytes]) -> the state (step count, rate, moments) as bytes; with
 * bytes, first restores them (another kind's state is refused). */
static int optim_state(lua_State *L)
{
    nn_optimizer *o = lnn_check_optim(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        size_t len;
        const char *s = luaL_checklstring(L, 2, &len);
        nn_error err;
        nn_status st = nn_optim_load_state(o, s, len, &err);
        if (st == NN_EARG)
            return luaL_argerror(L, 2, err.msg);
        if (st != NN_OK)
            return lnn_error(L, &err);
    }
    luaL_Buffer b;
    size_t size = nn_optim_state_size(o);
    nn_optim_save_state(o, luaL_buffinitsize(L, &b, size));
    luaL_pushresultsize(&b, size);
    return 1;
}

static int optim_tostring(lua_State *L)
{
    lnn_optim *u = test_optim(L, 1);
    if (!u)
        return luaL_typeerror(L, 1, "optimizer");
    if (u->closed)
        lua_pushfstring(L, "nnlab.%s(closed)", nn_optim_name(&u->o));
    else
        lua_pushfstring(L, "nnlab.%s(lr=%f)", nn_optim_name(&u->o), u->o.cur_lr);
    return 1;
}

static const luaL_Reg optim_methods[] = {{"step", optim_step}, {"state", optim_state}, {"set_epoch", optim_set_epoch},
                                         {"lr", optim_lr}, {"penalty", optim_penalty}, {NULL, NULL}};
static const luaL_Reg optim_meta[] = {{"__gc", optim_close}, {"__close", optim_close}, {"__tostring", optim_tostring},
                                      {NULL, NULL}};

static const luaL_Reg optim_funcs[] = {{"loss", l_loss}, {"sgd", l_sgd}, {"adam", l_adam}, {"adamw", l_adamw},
                                       {"rmsprop", l_rmsprop}, {NULL, NULL}};

void lnn_open_optim(lua_State *L)
{
    lnn_new_type(L, LNN_LOSS, loss_meta, loss_methods);
    for (int i = 0; optim_types[i]; i++)
        lnn_new_type(L, optim_types[i], optim_meta, optim_methods);
    luaL_setfuncs(L, optim_funcs, 0);
}
