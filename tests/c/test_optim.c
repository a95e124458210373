#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "tensor.h"

/* A Linear(1 -> 1) with w = 2, b = 1, gradients 0.5 and -0.25: the model
 * every test steps. */
static void one_weight(nn_model *m)
{
    nn_layer l = {.kind = NN_LINEAR, .in = 1, .out = 1, .bias = 1, .init = NN_INIT_ZEROS};
    nn_error err;
    assert_ok(nn_model_init(m, &l, 1, NULL, &err), &err);
    m->params[0] = 2;
    m->params[1] = 1;
}

static void set_grads(nn_model *m)
{
    m->grads[0] = 0.5f;
    m->grads[1] = -0.25f;
}

static void adam_moves_by_lr_for_a_constant_gradient(void **state)
{
    (void)state;
    nn_model m;
    nn_optimizer o;
    nn_error err;
    one_weight(&m);
    assert_ok(nn_adam_init(&o, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, NULL, &err), &err);
    assert_string_equal(nn_optim_name(&o), "Adam");
    /* m / (1 - b1^t) = g and v / (1 - b2^t) = g^2 at every step: each moves by lr */
    for (int t = 1; t <= 3; t++) {
        set_grads(&m);
        assert_ok(nn_optim_step(&o, &m, &err), &err);
        assert_close(m.params[0], 2 - 0.1 * t, 1e-6);
        assert_close(m.params[1], 1 + 0.1 * t, 1e-6);
    }
    assert_int_equal(o.steps, 3);
    nn_optim_free(&o);
    nn_optim_free(&o);
    nn_model_free(&m);
}

static void adam_l2_and_decoupled_decay(void **state)
{
    (void)state;
    nn_model m;
    nn_optimizer o;
    nn_error err;
    one_weight(&m);
    /* AdamW: w = 2 * (1 - 0.1 * 0.5) = 1.9, then 1.9 - 0.1; the bias is not decayed */
    assert_ok(nn_adam_init(&o, 0.1, 0.9, 0.999, 1e-8, 0, 0.5, 0, NULL, &err), &err);
    assert_string_equal(nn_optim_name(&o), "AdamW");
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.8, 1e-6);
    assert_close(m.params[1], 1.1, 1e-6);
    assert_close(nn_optim_penalty(&o, &m), 0, 0);
    nn_optim_free(&o);
    /* l2 = 1: g = 0.5 + w; step 1 moves by lr, step 2 by hand below */
    m.params[0] = 2;
    m.params[1] = 1;
    assert_ok(nn_adam_init(&o, 0.1, 0.9, 0.999, 1e-8, 1, 0, 0, NULL, &err), &err);
    assert_close(nn_optim_penalty(&o, &m), 0.5 * 4, 1e-12);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.grads[0], 2.5, 1e-6); /* the gradient used is kept */
    assert_close(m.params[0], 1.9, 1e-6);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    double g1 = 2.5, g2 = 0.5 + 1.9;
    double m2 = 0.9 * 0.1 * g1 + 0.1 * g2, v2 = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2;
    double want = 1.9 - 0.1 * (m2 / 0.19) / (sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
    assert_close(m.params[0], want, 1e-6);
    assert_close(want, 1.800127, 1e-6);
    nn_optim_free(&o);
    nn_model_free(&m);
}

static void rmsprop_by_hand(void **state)
{
    (void)state;
    nn_model m;
    nn_optimizer o;
    nn_error err;
    one_weight(&m);
    /* s = 0.01 * 0.25, sqrt(s) = 0.05: w -= 0.01 * 0.5 / 0.05; then s = 0.004975 */
    assert_ok(nn_rmsprop_init(&o, 0.01, 0.99, 1e-8, 0, 0, 0, 0, NULL, &err), &err);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.9, 1e-6);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.9 - 0.01 * 0.5 / (sqrt(0.004975) + 1e-8), 1e-6);
    nn_optim_free(&o);
    /* momentum 0.9: b = 10, then 9 + 0.5 / sqrt(0.004975) */
    m.params[0] = 2;
    assert_ok(nn_rmsprop_init(&o, 0.01, 0.99, 1e-8, 0.9, 0, 0, 0, NULL, &err), &err);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.9, 1e-6);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.9 - 0.01 * (9 + 0.5 / sqrt(0.004975)), 1e-6);
    nn_optim_free(&o);
    /* centered: s - ga^2 = 0.0025 - 0.005^2 */
    m.params[0] = 2;
    assert_ok(nn_rmsprop_init(&o, 0.01, 0.99, 1e-8, 0, 1, 0, 0, NULL, &err), &err);
    set_grads(&m);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_close(m.params[0], 2 - 0.01 * 0.5 / sqrt(0.002475), 1e-6);
    nn_optim_free(&o);
    nn_model_free(&m);
}

static void state_round_trips_and_refuses_others(void **state)
{
    (void)state;
    nn_model m;
    nn_optimizer a, b, r;
    nn_error err;
    one_weight(&m);
    assert_ok(nn_adam_init(&a, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, NULL, &err), &err);
    set_grads(&m);
    assert_ok(nn_optim_step(&a, &m, &err), &err);
    size_t len = nn_optim_state_size(&a);
    assert_int_equal(len, 48 + 2 * 2 * sizeof(float));
    char *bytes = malloc(len), *again = malloc(len);
    assert_non_null(bytes);
    assert_non_null(again);
    nn_optim_save_state(&a, bytes);
    assert_ok(nn_adam_init(&b, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, NULL, &err), &err);
    assert_ok(nn_optim_load_state(&b, bytes, len, &err), &err);
    assert_int_equal(b.steps, 1);
    nn_optim_save_state(&b, again);
    assert_memory_equal(bytes, again, len);
    /* the same next step from either */
    nn_model m2;
    one_weight(&m2);
    memcpy(m2.params, m.params, 2 * sizeof(float));
    set_grads(&m);
    set_grads(&m2);
    assert_ok(nn_optim_step(&a, &m, &err), &err);
    assert_ok(nn_optim_step(&b, &m2, &err), &err);
    assert_memory_equal(m.params, m2.params, 2 * sizeof(float));
    /* refusals leave the state as it was */
    assert_ok(nn_rmsprop_init(&r, 0.1, 0.99, 1e-8, 0, 0, 0, 0, NULL, &err), &err);
    assert_status(nn_optim_load_state(&r, bytes, len, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "the state is an Adam's, not an RMSprop's");
    assert_status(nn_optim_load_state(&b, bytes, len - 1, &err), NN_EARG, &err);
    assert_status(nn_optim_load_state(&b, bytes, 47, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "not an optimizer state");
    assert_int_equal(b.steps, 2);
    nn_optim_free(&r);
    /* SGD takes its former state, the bare velocity */
    nn_optimizer s;
    float v[2] = {1, 2};
    assert_ok(nn_sgd_init(&s, 0.1, 0.5, 0, 0, 0, NULL, &err), &err);
    assert_ok(nn_optim_load_state(&s, (const char *)v, sizeof v, &err), &err);
    assert_int_equal(s.n, 2);
    m.params[0] = 2;
    m.grads[0] = 0;
    m.grads[1] = 0;
    assert_ok(nn_optim_step(&s, &m, &err), &err);
    assert_close(m.params[0], 2 - 0.1 * 0.5 * 1, 1e-6);
    nn_optim_free(&s);
    free(bytes);
    free(again);
    nn_optim_free(&a);
    nn_optim_free(&b);
    nn_model_free(&m);
    nn_model_free(&m2);
}

static void one_model_per_optimizer(void **state)
{
    (void)state;
    nn_model m, big;
    nn_optimizer o;
    nn_error err;
    one_weight(&m);
    nn_layer l = {.kind = NN_LINEAR, .in = 2, .out = 1, .bias = 1, .init = NN_INIT_ZEROS};
    assert_ok(nn_model_init(&big, &l, 1, NULL, &err), &err);
    assert_ok(nn_adam_init(&o, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, NULL, &err), &err);
    assert_ok(nn_optim_step(&o, &m, &err), &err);
    assert_status(nn_optim_step(&o, &big, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "Adam: its state is for 2 parameters, the model has 3 (an optimizer serves "
                                 "one model)");
    assert_int_equal(o.steps, 1);
    nn_optim_free(&o);
    nn_model_free(&m);
    nn_model_free(&big);
}

static void bad_settings_name_themselves(void **state)
{
    (void)state;
    nn_optimizer o;
    nn_error err;
    assert_status(nn_adam_init(&o, 0.1, 1, 0.999, 1e-8, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "betas[1] must be in [0, 1), got 1");
    assert_status(nn_adam_init(&o, 0.1, 0.9, NAN, 1e-8, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "betas[2] must be in [0, 1), got nan");
    assert_status(nn_adam_init(&o, 0.1, 0.9, 0.999, 0, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "eps must be a positive finite number, got 0");
    assert_status(nn_adam_init(&o, 0.1, 0.9, 0.999, 1e-8, 0, -1, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "weight_decay must be a finite number >= 0, got -1");
    assert_status(nn_rmsprop_init(&o, 0.1, 1, 1e-8, 0, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "alpha must be in [0, 1), got 1");
    assert_status(nn_rmsprop_init(&o, 0.1, 0.99, 1e-8, -0.5, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "momentum must be in [0, 1), got -0.5");
    nn_schedule s = {NN_SCHEDULE_COSINE, 0, 0, 0, 0};
    assert_status(nn_rmsprop_init(&o, 0.1, 0.99, 1e-8, 0, 0, 0, 0, &s, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "cosine schedule: t_max must be a positive integer, got 0");
}

static void cosine_holds_min_lr_past_t_max(void **state)
{
    (void)state;
    nn_optimizer o;
    nn_error err;
    nn_schedule s = {NN_SCHEDULE_COSINE, 0, 0, 4, 0.01};
    assert_ok(nn_adam_init(&o, 1, 0.9, 0.999, 1e-8, 0, 0, 0, &s, &err), &err);
    nn_optim_set_epoch(&o, 2);
    assert_close(o.cur_lr, 0.505, 1e-12);
    for (int e = 4; e < 40; e += 7) {
        nn_optim_set_epoch(&o, e);
        assert_close(o.cur_lr, 0.01, 1e-15);
    }
}

/* Two layers of 77056 and 77100 parameters, stepped as AdamW with decay:
 * a step on two threads cuts the parameters in halves (at 77078, inside
 * the second layer's weights), not layer by layer; each value takes its
 * own span's step: weights decayed, biases not, the same bits as one
 * thread gives and as the formula. */
static void two_layers(nn_model *m)
{
    nn_layer l[2] = {{.kind = NN_LINEAR, .in = 300, .out = 256, .bias = 1, .init = NN_INIT_ZEROS},
                     {.kind = NN_LINEAR, .in = 256, .out = 300, .bias = 1, .init = NN_INIT_ZEROS}};
    nn_error err;
    assert_ok(nn_model_init(m, l, 2, NULL, &err), &err);
    for (size_t k = 0; k < m->nparams; k++) {
        m->params[k] = (float)(k % 97) / 50.0f - 1.0f;
        m->grads[k] = (k % 3 == 0 ? -1.0f : 1.0f) * (float)(1 + k % 5);
    }
}

static void a_step_cuts_the_parameters_not_the_layers(void **state)
{
    (void)state;
    nn_model one, two;
    nn_optimizer o1, o2;
    nn_error err;
    two_layers(&one);
    two_layers(&two);
    assert_int_equal(one.nparams, 154156);
    assert_ok(nn_adam_init(&o1, 0.1, 0.9, 0.999, 1e-8, 0, 0.5, 0, NULL, &err), &err);
    assert_ok(nn_adam_init(&o2, 0.1, 0.9, 0.999, 1e-8, 0, 0.5, 0, NULL, &err), &err);
    nn_set_threads(1);
    assert_ok(nn_optim_step(&o1, &one, &err), &err);
    nn_set_threads(2);
    assert_ok(nn_optim_step(&o2, &two, &err), &err);
    assert_memory_equal(one.params, two.params, one.nparams * sizeof(float));
    /* the first step moves by lr against the gradient's sign, after the decay */
    size_t looked[] = {0, 76799, 76800, 77055, 77056, 77077, 77078, 153855, 153856, 154155};
    for (size_t i = 0; i < sizeof looked / sizeof *looked; i++) {
        size_t k = looked[i];
        int weight = k < 76800 || (k >= 77056 && k < 153856);
        double p0 = (double)((float)(k % 97) / 50.0f - 1.0f), sign = k % 3 == 0 ? -1 : 1;
        double want = p0 * (weight ? 1 - 0.1 * 0.5 : 1) - 0.1 * sign;
        assert_close(two.params[k], want, 1e-6);
    }
    nn_optim_free(&o1);
    nn_optim_free(&o2);
    nn_model_free(&one);
    nn_model_free(&two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adam_moves_by_lr_for_a_constant_gradient),
        cmocka_unit_test(adam_l2_and_decoupled_decay),
        cmocka_unit_test(rmsprop_by_hand),
        cmocka_unit_test(state_round_trips_and_refuses_others),
        cmocka_unit_test(one_model_per_optimizer),
        cmocka_unit_test(bad_settings_name_themselves),
        cmocka_unit_test(cosine_holds_min_lr_past_t_max),
        cmocka_unit_test(a_step_cuts_the_parameters_not_the_layers),
    };
    return cmocka_run_group_tests_name("optimizers", tests, NULL, NULL);
}
