#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gradcheck.h"
#include "model.h"
#include "model_io.h"
#include "train.h"

static nn_layer linear(int in, int out, int bias)
{
    nn_layer l = {.kind = NN_LINEAR, .in = in, .out = out, .bias = bias, .init = NN_INIT_DEFAULT};
    return l;
}

static nn_layer simple(nn_layer_kind k)
{
    nn_layer l = {.kind = k, .in = -1, .out = -1, .p = 0.3, .eps = 1e-5, .momentum = 0.1};
    return l;
}

static nn_layer batchnorm(int f)
{
    nn_layer l = simple(NN_BATCHNORM);
    l.out = f;
    return l;
}

/* n random items of dim pixels with labels in 0..classes-1 */
static void make_data(nn_dataset *d, int n, int dim, int classes, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 9);
    uint8_t *im = malloc((size_t)n * dim), *lb = malloc((size_t)n);
    for (int i = 0; i < n * dim; i++)
        im[i] = nn_rng_uniform(&r) < 0.3 ? 0 : (uint8_t)nn_rng_below(&r, 256);
    for (int i = 0; i < n; i++)
        lb[i] = (uint8_t)nn_rng_below(&r, (uint64_t)classes);
    nn_store *s;
    nn_error err;
    assert_ok(nn_store_wrap(&s, im, lb, n, dim, classes, &err), &err);
    assert_ok(nn_dataset_all(d, s, 1.0f / 255, &err), &err);
    nn_store_release(s);
}

static void build(nn_model *m, const nn_layer *layers, int n, uint64_t seed)
{
    nn_rng r;
    nn_error err;
    nn_rng_seed(&r, seed, NN_STREAM_INIT);
    assert_ok(nn_model_init(m, layers, n, &r, &err), &err);
}

static void plan_refuses_mismatched_layers(void **state)
{
    (void)state;
    nn_layer ls[3] = {linear(784, 32, 1), simple(NN_RELU), linear(16, 10, 1)};
    nn_model m;
    nn_error err;
    assert_status(nn_model_init(&m, ls, 3, NULL, &err), NN_ESHAPE, &err);
    assert_string_equal(err.msg, "layer 3, Linear(16->10): takes 16 inputs but the layer before gives 32");
}

static void forward_names_the_layer_on_a_bad_shape(void **state)
{
    (void)state;
    nn_layer ls[2] = {linear(784, 32, 1), simple(NN_RELU)};
    nn_model m;
    nn_error err;
    build(&m, ls, 2, 1);
    nn_tensor x;
    int shape[2] = {5, 100};
    assert_ok(nn_tensor_init(&x, 2, shape, &err), &err);
    const nn_tensor *y;
    assert_status(nn_model_forward(&m, &x, &y, &err), NN_ESHAPE, &err);
    assert_string_equal(err.msg, "Linear(784->32): input has 100 columns, expected 784");
    assert_status(nn_model_backward(&m, &x, &x, NN_GRAD_ADD, &err), NN_ESTATE, &err);
    nn_tensor_free(&x);
    nn_model_free(&m);
}

static char tmpdir[] = "/tmp/nnlab-test-model-XXXXXX";

static void save_load_round_trip_and_damage(void **state)
{
    (void)state;
    nn_layer ls[4] = {linear(6, 5, 1), batchnorm(5), simple(NN_TANH), linear(5, 3, 0)};
    nn_model m, back;
    nn_error err;
    build(&m, ls, 4, 3);
    m.buffers[2] = 0.25f;
    char path[300];
    snprintf(path, sizeof path, "%s/m.nnl", tmpdir);
    assert_ok(nn_model_save(&m, path, &err), &err);
    assert_ok(nn_model_load(&back, path, &err), &err);
    assert_int_equal(back.nlayers, 4);
    assert_int_equal(back.nparams, m.nparams);
    assert_memory_equal(back.params, m.params, m.nparams * sizeof(float));
    assert_memory_equal(back.buffers, m.buffers, m.nbuffers * sizeof(float));
    assert_int_equal(back.layers[3].bias, 0);
    nn_model_free(&back);

    uint8_t *bytes;
    size_t len;
    assert_ok(nn_model_encode(&m, &bytes, &len, &err), &err);
    bytes[len / 2] ^= 0x10;
    assert_status(nn_model_decode(&back, bytes, len, "x.nnl", &err), NN_EFORMAT, &err);
    assert_string_equal(err.msg, "x.nnl: damaged model file (CRC-32 mismatch)");
    bytes[len / 2] ^= 0x10;
    assert_status(nn_model_decode(&back, bytes, len - 3, "x.nnl", &err), NN_EFORMAT, &err);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_status(nn_model_decode(&back, bytes, 0, "x.nnl", &err), NN_EFORMAT, &err);
    assert_string_equal(err.msg, "x.nnl: empty file, not a model");
    assert_status(nn_model_decode(&back, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8, "x.png", &err), NN_EFORMAT, &err);
    assert_string_equal(err.msg, "x.png: not an nnlab model file (wrong magic number)");
    assert_status(nn_model_load(&back, "/nonexistent/m.nnl", &err), NN_EIO, &err);
    /* A failed save leaves the earlier file intact. */
    assert_status(nn_model_save(&m, "/nonexistent/dir/m.nnl", &err), NN_EIO, &err);
    free(bytes);
    nn_model_free(&m);
}

/* Every layer kind and both losses: backprop agrees with numgrad. */
static void check_model(const nn_layer *ls, int n, int training, nn_loss_kind loss)
{
    nn_model m;
    nn_dataset d;
    nn_error err;
    build(&m, ls, n, 11);
    make_data(&d, 16, 7, 4, 5);
    m.training = training;
    nn_gradcheck_result r;
    assert_ok(nn_gradcheck(&m, loss, &d, 1e-5, &r, &err), &err);
    if (!(r.max_rel_error < 1e-4))
        fail_msg("relative error %.3g in layer %d of %d (training %d, loss %s)", r.max_rel_error, r.worst_layer,
                 n, training, nn_loss_name(loss));
    nn_dataset_free(&d);
    nn_model_free(&m);
}

/* Little-endian u32 at p. */
static void set_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* m as a version 1 or 2 file (the legacy layer records), malloc'd. */
static uint8_t *legacy_file(const nn_model *m, int version, size_t *len)
{
    size_t payload = 4 + (size_t)m->nlayers * 40 + 8 + 4 * m->nparams + 8 + 4 * m->nbuffers + (version >= 2 ? 8 : 0);
    uint8_t *b = calloc(24 + payload, 1), *p = b + 24;
    memcpy(b, NN_MODEL_MAGIC, 8);
    set_u32(b + 8, (uint32_t)version);
    set_u32(b + 16, (uint32_t)payload);
    set_u32(p, (uint32_t)m->nlayers), p += 4;
    for (int i = 0; i < m->nlayers; i++, p += 40) {
        const nn_layer *l = &m->layers[i];
        set_u32(p, (uint32_t)l->kind), set_u32(p + 4, (uint32_t)l->in), set_u32(p + 8, (uint32_t)l->out);
        set_u32(p + 12, (uint32_t)l->bias);
        memcpy(p + 16, &l->p, 8), memcpy(p + 24, &l->eps, 8), memcpy(p + 32, &l->momentum, 8);
    }
    set_u32(p, (uint32_t)m->nparams), p += 8;
    memcpy(p, m->params, 4 * m->nparams), p += 4 * m->nparams;
    set_u32(p, (uint32_t)m->nbuffers), p += 8;
    memcpy(p, m->buffers, 4 * m->nbuffers), p += 4 * m->nbuffers;
    if (version >= 2)
        memcpy(p, &m->input_scale, 8);
    set_u32(b + 12, (uint32_t)crc32(0L, b + 24, (uInt)payload));
    *len = 24 + payload;
    return b;
}

static void input_scale_in_versions_2_and_3_and_not_in_version_1(void **state)
{
    (void)state;
    nn_layer ls[2] = {linear(4, 3, 1), linear(3, 2, 1)};
    nn_model m, back;
    nn_error err;
    build(&m, ls, 2, 5);
    assert_true(m.input_scale == 0);
    m.input_scale = 1.0 / 255;
    uint8_t *bytes;
    size_t len;
    assert_ok(nn_model_encode(&m, &bytes, &len, &err), &err);
    assert_int_equal(bytes[8], 3);
    assert_ok(nn_model_decode(&back, bytes, len, "v3.nnl", &err), &err);
    assert_true(back.input_scale == 1.0 / 255);
    nn_model_free(&back);
    set_u32(bytes + 8, 4);
    assert_status(nn_model_decode(&back, bytes, len, "v4.nnl", &err), NN_EFORMAT, &err);
    assert_string_equal(err.msg, "v4.nnl: model file version 4, this nnlab reads versions 1 to 3");
    free(bytes);

    /* The same model as a version 2 file, then as a version 1 file (no scale, read as 0). */
    bytes = legacy_file(&m, 2, &len);
    assert_ok(nn_model_decode(&back, bytes, len, "v2.nnl", &err), &err);
    assert_true(back.input_scale == 1.0 / 255);
    assert_memory_equal(back.params, m.params, m.nparams * sizeof(float));
    nn_model_free(&back);
    free(bytes);
    bytes = legacy_file(&m, 1, &len);
    assert_ok(nn_model_decode(&back, bytes, len, "v1.nnl", &err), &err);
    assert_true(back.input_scale == 0);
    assert_memory_equal(back.params, m.params, m.nparams * sizeof(float));
    nn_model_free(&back);
    free(bytes);

    /* A version 1 file with 8 bytes more is damaged, not a version 2 one. */
    bytes = legacy_file(&m, 2, &len);
    set_u32(bytes + 8, 1);
    assert_status(nn_model_decode(&back, bytes, len, "v1.nnl", &err), NN_EFORMAT, &err);
    assert_string_equal(err.msg, "v1.nnl: damaged model file (the layers need 23 parameters and 0 statistics, "
                                 "the file holds 116 bytes for them)");
    free(bytes);
    nn_model_free(&m);
}

static void gradcheck_every_layer_and_loss(void **state)
{
    (void)state;
    nn_layer a[6] = {linear(7, 6, 1), simple(NN_RELU), linear(6, 5, 1), simple(NN_SIGMOID), linear(5, 4, 0),
                     simple(NN_TANH)};
    nn_layer b[5] = {linear(7, 6, 1), batchnorm(6), simple(NN_TANH), simple(NN_DROPOUT), linear(6, 4, 1)};
    nn_layer c[3] = {batchnorm(7), linear(7, 4, 1), batchnorm(4)};
    nn_loss_kind losses[3] = {NN_LOSS_CROSS_ENTROPY, NN_LOSS_MSE_MEAN, NN_LOSS_MSE_SUM};
    for (int k = 0; k < 3; k++)
        for (int training = 0; training < 2; training++) {
            check_model(a, 6, training, losses[k]);
            check_model(b, 5, training, losses[k]);
            check_model(c, 3, training, losses[k]);
        }
}

static void numgrad_catches_a_wrong_gradient(void **state)
{
    (void)state;
    nn_layer ls[2] = {linear(7, 3, 1), simple(NN_SIGMOID)};
    nn_model m;
    nn_dataset d;
    nn_error err;
    build(&m, ls, 2, 2);
    make_data(&d, 8, 7, 3, 1);
    double *g = malloc(m.nparams * sizeof *g);
    assert_ok(nn_numgrad(&m, NN_LOSS_MSE_MEAN, &d, 1e-5, g, &err), &err);
    /* brute force: a full forward per parameter, in float, with a larger h */
    nn_workspace w;
    nn_workspace_init(&w);
    for (size_t k = 0; k < m.nparams; k += 5) {
        double l[2];
        float keep = m.params[k];
        for (int s = 0; s < 2; s++) {
            m.params[k] = keep + (s ? -1e-2f : 1e-2f);
            nn_eval_result r = {0, 0, 0, NULL, 0, 0};
            assert_ok(nn_evaluate(&m, NN_LOSS_MSE_MEAN, &d, 8, &w, &r, &err), &err);
            l[s] = r.loss;
        }
        m.params[k] = keep;
        double brute = (l[0] - l[1]) / ((double)(keep + 1e-2f) - (double)(keep - 1e-2f));
        assert_close(g[k], brute, 1e-3 * (fabs(brute) + 1e-3));
    }
    nn_workspace_free(&w);
    free(g);
    nn_dataset_free(&d);
    nn_model_free(&m);
}

/* Evaluation's own batches (batch 0): 1000 rows, or as many as keep a
 * batch's activations within 4 Mi floats; the figures those of batches
 * of that many rows. */
static void evaluation_batches_grow_for_narrow_models(void **state)
{
    (void)state;
    nn_layer narrow[1] = {linear(784, 10, 1)};
    nn_layer wide[2] = {linear(784, 4096, 1), simple(NN_RELU)};
    nn_model a, b;
    nn_dataset d;
    nn_error err;
    build(&a, narrow, 1, 1);
    build(&b, wide, 2, 1);
    make_data(&d, 6000, 784, 10, 1); /* 70% non-zero: dense batches */
    assert_int_equal(nn_eval_batch_rows(&a, &d), (1 << 22) / (784 + 10));
    assert_int_equal(nn_eval_batch_rows(&b, &d), 1000);
    nn_workspace w;
    nn_workspace_init(&w);
    nn_eval_result r0 = {0, 0, 0, NULL, 0, 0}, r1 = r0, r2 = r0;
    assert_ok(nn_evaluate(&a, NN_LOSS_CROSS_ENTROPY, &d, 0, &w, &r0, &err), &err);
    assert_ok(nn_evaluate(&a, NN_LOSS_CROSS_ENTROPY, &d, (1 << 22) / 794, &w, &r1, &err), &err);
    assert_ok(nn_evaluate(&a, NN_LOSS_CROSS_ENTROPY, &d, 1000, &w, &r2, &err), &err);
    assert_memory_equal(&r0.loss, &r1.loss, sizeof r0.loss);
    assert_true(r0.loss != r2.loss); /* the batches do show in the sum's bits */
    nn_workspace_free(&w);
    nn_dataset_free(&d);
    nn_model_free(&a);
    nn_model_free(&b);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_refuses_mismatched_layers),
        cmocka_unit_test(forward_names_the_layer_on_a_bad_shape),
        cmocka_unit_test(save_load_round_trip_and_damage),
        cmocka_unit_test(input_scale_in_versions_2_and_3_and_not_in_version_1),
        cmocka_unit_test(gradcheck_every_layer_and_loss),
        cmocka_unit_test(numgrad_catches_a_wrong_gradient),
        cmocka_unit_test(evaluation_batches_grow_for_narrow_models),
    };
    return cmocka_run_group_tests_name("model, model files, gradients", tests, setup, teardown);
}
