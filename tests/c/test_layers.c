#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "cpu.h"
#include "gemm_kernels.h"
#include "layers.h"
#include "rng.h"
#include "loss.h"
#include "optim.h"

static void linear_forward_adds_bias(void **state)
{
    (void)state;
    /* x = [1 2], W (2 in x 3 out) = [[1 0 1], [0 1 1]], b = [0.5 -0.5 0] */
    float x[2] = {1, 2}, w[6] = {1, 0, 1, 0, 1, 1}, b[3] = {0.5f, -0.5f, 0}, y[3];
    float want[3] = {1.5f, 1.5f, 3};
    nn_linear_forward(y, x, w, b, 1, 2, 3);
    assert_all_close(y, want, 3, 1e-7);
}

static void linear_backward_accumulates(void **state)
{
    (void)state;
    float x[2] = {1, 2}, w[6] = {1, 0, 1, 0, 1, 1}, dy[3] = {1, 2, 3};
    float dw[6] = {0}, db[3] = {0}, dx[2];
    nn_linear_backward(dx, dw, db, dy, x, w, 1, 2, 3, 1);
    nn_linear_backward(NULL, dw, db, dy, x, w, 1, 2, 3, 1);
    float want_dw[6] = {2, 4, 6, 4, 8, 12}, want_db[3] = {2, 4, 6}, want_dx[2] = {4, 5};
    assert_all_close(dw, want_dw, 6, 1e-7);
    assert_all_close(db, want_db, 3, 1e-7);
    assert_all_close(dx, want_dx, 2, 1e-7);
}

/* Forward (x w + b) and weight gradient (x^T dy, added to dw) through the
 * non-zeros match the dense products, for widths that end in a partial
 * vector (21 = 16 + 5) and span tiles (70 = 64 + 6). */
static void sparse_products_match_dense_at(int n, int in, int out)
{
    float *x = calloc((size_t)n * in, sizeof *x);
    float *w = calloc((size_t)in * out, sizeof *w);
    float *b = calloc((size_t)out, sizeof *b);
    float *dy = calloc((size_t)n * out, sizeof *dy);
    float *y1 = calloc((size_t)n * out, sizeof *y1), *y2 = calloc((size_t)n * out, sizeof *y2);
    float *dw1 = calloc((size_t)in * out, sizeof *dw1), *dw2 = calloc((size_t)in * out, sizeof *dw2);
    assert_non_null(x && w && b && dy && y1 && y2 && dw1 && dw2);
    nn_rng r;
    nn_rng_seed(&r, 3, 1);
    for (int i = 0; i < n * in; i++)
        x[i] = nn_rng_uniform(&r) < 0.7 ? 0.0f : (float)nn_rng_uniform(&r);
    for (int i = 0; i < in * out; i++) {
        w[i] = (float)nn_rng_normal(&r);
        dw1[i] = dw2[i] = (float)(i % 7); /* the gradient is added to what is there */
    }
    for (int i = 0; i < out; i++)
        b[i] = (float)(i % 5);
    for (int i = 0; i < n * out; i++)
        dy[i] = (float)nn_rng_normal(&r);
    nn_sparse_batch s = {0};
    assert_int_equal(nn_csr_from_dense(&s.by_row, x, n, in, 1.0), 1);
    nn_linear_forward(y1, x, w, b, n, in, out);
    float *scratch = malloc(nn_csr_mul_scratch(&s.by_row, out) * sizeof *scratch);
    nn_csr_mul(y2, out, &s.by_row, w, out, out, b, 0, scratch);
    free(scratch);
    assert_all_close(y1, y2, (size_t)n * out, 1e-4);
    /* the same with w packed beforehand, as a first layer's forward does */
    float *packed = malloc(nn_csr_packed_size(in, out) * sizeof *packed);
    assert_non_null(packed);
    nn_csr_pack(packed, w, in, out, out);
    memset(y2, 0, (size_t)n * out * sizeof *y2);
    nn_csr_mul_packed(y2, out, &s.by_row, packed, out, b, 0);
    free(packed);
    assert_all_close(y1, y2, (size_t)n * out, 1e-4);
    nn_linear_backward(NULL, dw1, NULL, dy, x, w, n, in, out, 1);
    /* x^T dy by scattering rows (a batch used once, few columns), then
     * through the transpose (a batch used again); both add to dw. */
    for (int reused = 0; reused <= 1; reused++) {
        s.reused = reused;
        for (int i = 0; i < in * out; i++)
            dw2[i] = (float)(i % 7);
        scratch = malloc(nn_sparse_tmul_scratch(&s, out) * sizeof *scratch);
        assert_int_equal(nn_sparse_tmul(dw2, out, &s, dy, out, out, 1, scratch), 1);
        free(scratch);
        assert_all_close(dw1, dw2, (size_t)in * out, 1e-4);
    }
    assert_int_equal(nn_csr_from_dense(&s.by_row, x, n, in, 0.05), 0); /* too dense for 5% */
    nn_sparse_batch_free(&s);
    free(x), free(w), free(b), free(dy), free(y1), free(y2), free(dw1), free(dw2);
}

static void sparse_kernels_match_dense(void **state)
{
    (void)state;
    const nn_cpu_kind kernels[] = {NN_CPU_PLAIN, NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
        if (!nn_cpu_force(kernels[k]))
            continue; /* this CPU lacks it */
        sparse_products_match_dense_at(5, 9, 4);
        sparse_products_match_dense_at(37, 50, 21);
        sparse_products_match_dense_at(40, 33, 70);
        sparse_products_match_dense_at(200, 784, 512); /* threaded */
        sparse_products_match_dense_at(NN_COL_BLOCK + 100, 60, 12); /* two blocks of the transpose */
    }
    nn_cpu_force(NN_CPU_AUTO);
}

/* One run of the products by blocks: y = x w + b, dw = x^T dy (written
 * over 1e30) and dw3 = 3 + x^T dy. */
typedef struct {
    float *y, *dw, *dw3;
} block_run;

static block_run run_blocks(const nn_pixel_blocks *bx, const float *w, const float *b, const float *dy, int n,
                            int dim, int out)
{
    block_run run = {calloc((size_t)n * out, sizeof(float)), calloc((size_t)dim * out, sizeof(float)),
                     calloc((size_t)dim * out, sizeof(float))};
    float *wt = calloc(nn_blocks_packed_size(dim, out), sizeof *wt);
    assert_non_null(run.y && run.dw && run.dw3 && wt);
    nn_blocks_pack(wt, w, dim, out);
    nn_blocks_mul(run.y, out, bx, wt, out, b);
    for (int i = 0; i < dim * out; i++) {
        run.dw[i] = 1e30f;
        run.dw3[i] = 3.0f;
    }
    nn_blocks_tmul(run.dw, bx, dy, out, out, 0);
    nn_blocks_tmul(run.dw3, bx, dy, out, out, 1);
    free(wt);
    return run;
}

/* The products by blocks of pixels against the dense ones, for images whose
 * last block is partial (50 = 3 x 16 + 2), all-zero rows and blocks (the
 * second and the last of every row: their gradient is written all the
 * same), and widths 1 to 16; and the same bits from the reference and the
 * AVX-512 kernels, on one thread and on two. */
static void block_products_at(int n, int dim, int out)
{
    uint8_t *px = calloc((size_t)n * dim, 1);
    float *x = calloc((size_t)n * dim, sizeof *x), *w = calloc((size_t)dim * out, sizeof *w);
    float *b = calloc((size_t)out, sizeof *b), *dy = calloc((size_t)n * out, sizeof *dy);
    float *y1 = calloc((size_t)n * out, sizeof *y1), *dw1 = calloc((size_t)dim * out, sizeof *dw1);
    float *dw3 = calloc((size_t)dim * out, sizeof *dw3);
    assert_non_null(px && x && w && b && dy && y1 && dw1 && dw3);
    nn_rng r;
    nn_rng_seed(&r, 5, 1);
    const float scale = 1.0f / 255;
    for (int i = 0; i < n * dim; i++) {
        int row = i / dim, col = i % dim;
        if (row % 7 != 3 && col / 16 != 1 && col / 16 != (dim - 1) / 16 && nn_rng_uniform(&r) < 0.3)
            px[i] = (uint8_t)(1 + nn_rng_below(&r, 255));
        x[i] = (float)px[i] * scale;
    }
    for (int i = 0; i < dim * out; i++) {
        w[i] = (float)nn_rng_normal(&r);
        dw3[i] = 3.0f;
    }
    for (int i = 0; i < out; i++)
        b[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < n * out; i++)
        dy[i] = (float)nn_rng_normal(&r);
    nn_linear_forward(y1, x, w, b, n, dim, out);
    nn_linear_backward(NULL, dw1, NULL, dy, x, w, n, dim, out, 0);
    nn_linear_backward(NULL, dw3, NULL, dy, x, w, n, dim, out, 1);
    nn_pixel_blocks bx = {0};
    assert_int_equal(nn_blocks_begin(&bx, n, dim, scale), 1);
    for (int i = 0; i < n; i++)
        nn_blocks_add_row(&bx, i, px + (size_t)i * dim);
    assert_int_equal(nn_blocks_finish(&bx), 1);
    assert_int_equal(bx.mask[3], 0); /* an all-zero row */
    block_run want = {NULL, NULL, NULL};
    int threads_before = nn_get_threads();
    const nn_cpu_kind kinds[] = {NN_CPU_PLAIN, NN_CPU_AVX512};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (!nn_cpu_force(kinds[k]))
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            nn_set_threads(threads);
            block_run got = run_blocks(&bx, w, b, dy, n, dim, out);
            assert_all_close(got.y, y1, (size_t)n * out, 1e-4);
            assert_all_close(got.dw, dw1, (size_t)dim * out, 1e-4);
            assert_all_close(got.dw3, dw3, (size_t)dim * out, 1e-4);
            if (!want.y) {
                want = got;
                continue;
            }
            assert_memory_equal(got.y, want.y, (size_t)n * out * sizeof(float));
            assert_memory_equal(got.dw, want.dw, (size_t)dim * out * sizeof(float));
            assert_memory_equal(got.dw3, want.dw3, (size_t)dim * out * sizeof(float));
            free(got.y), free(got.dw), free(got.dw3);
        }
    }
    nn_set_threads(threads_before);
    nn_cpu_force(NN_CPU_AUTO);
    free(want.y), free(want.dw), free(want.dw3);
    nn_blocks_free(&bx);
    free(px), free(x), free(w), free(b), free(dy), free(y1), free(dw1), free(dw3);
}

static void block_products_match_dense(void **state)
{
    (void)state;
    block_products_at(9, 50, 1);
    block_products_at(40, 33, 7);
    block_products_at(23, 1024, 16);
    block_products_at(3000, 784, 10); /* threaded */
    nn_pixel_blocks bx = {0};
    assert_int_equal(nn_blocks_begin(&bx, 1, NN_BLOCKS_MAX_DIM + 1, 1.0f), 0);
    nn_blocks_free(&bx);
}

static void activations_have_known_values(void **state)
{
    (void)state;
    float x[3] = {-2, 0, 3}, y[3];
    nn_relu_forward(y, x, 3);
    float relu[3] = {0, 0, 3};
    assert_all_close(y, relu, 3, 0);
    nn_sigmoid_forward(y, x, 3);
    assert_close(y[0], 1 / (1 + exp(2.0)), 1e-7);
    assert_close(y[1], 0.5, 0);
    nn_tanh_forward(y, x, 3);
    assert_close(y[2], tanh(3.0), 1e-7);
}

static void dropout_keeps_the_expected_sum(void **state)
{
    (void)state;
    enum { N = 100000 };
    static float mask[N];
    nn_rng r;
    nn_rng_seed(&r, 7, NN_STREAM_DROPOUT);
    nn_dropout_mask(mask, N, 0.25, &r);
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        sum += mask[i];
        zeros += mask[i] == 0;
    }
    assert_close(sum / N, 1.0, 0.01);          /* inverted dropout keeps the expectation */
    assert_close((double)zeros / N, 0.25, 0.01);
}

static void batchnorm_normalises_each_feature(void **state)
{
    (void)state;
    float x[6] = {1, 10, 2, 20, 3, 30}; /* 3 rows, 2 features */
    float gamma[2] = {1, 2}, beta[2] = {0, 1}, running[4] = {0, 0, 1, 1};
    float y[6], xhat[6], stats[4];
    nn_batchnorm_forward(y, xhat, stats, x, gamma, beta, running, 3, 2, 0, 0.1, 1);
    assert_close(xhat[0], -sqrt(1.5), 1e-6);
    assert_close(xhat[4], sqrt(1.5), 1e-6);
    assert_close(y[1], 2 * -sqrt(1.5) + 1, 1e-5);
    assert_close(running[0], 0.2, 1e-6);        /* 0.9 * 0 + 0.1 * mean 2 */
    assert_close(running[2], 0.9 + 0.1 * 1, 1e-6); /* unbiased variance of 1, 2, 3 is 1 */
}

static void normalize_scales_each_feature(void **state)
{
    (void)state;
    float x[4] = {3, 10, 1, 0}; /* 2 rows, 2 features */
    float mean[2] = {1, 2}, std[2] = {2, 4}, y[4], dx[4];
    float want_y[4] = {1, 2, 0, -0.5f}, dy[4] = {1, 1, 2, -4}, want_dx[4] = {0.5f, 0.25f, 1, -1};
    nn_normalize_forward(y, x, mean, std, 2, 2);
    assert_all_close(y, want_y, 4, 0);
    nn_normalize_backward(dx, dy, std, 2, 2);
    assert_all_close(dx, want_dx, 4, 0);
    const nn_layer_ops *ops = nn_layer_ops_of(NN_NORMALIZE);
    assert_non_null(ops);
    assert_string_equal(ops->name, "Normalize");
    /* a std of 0 is refused */
    nn_layer l = {.kind = NN_NORMALIZE, .features = 2};
    float b[4] = {0, 0, 1, 0};
    nn_error err;
    assert_int_equal(ops->check_buffers(&l, b, "layer 1, Normalize(2)", &err), NN_EFORMAT);
    assert_string_equal(err.msg, "layer 1, Normalize(2): std 2 is 0, not a finite number > 0");
}

static void cross_entropy_of_equal_logits_is_log_classes(void **state)
{
    (void)state;
    nn_tensor z;
    nn_error err;
    int shape[2] = {2, 10};
    assert_ok(nn_tensor_init(&z, 2, shape, &err), &err);
    float labels[2] = {3, 9}, grad[20];
    nn_target t = {labels, NULL};
    double loss;
    long correct = 0;
    assert_ok(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &t, &loss, grad, &correct, &err), &err);
    assert_close(loss, log(10.0), 1e-12);
    assert_close(grad[3], (0.1 - 1) / 2, 1e-7);
    assert_close(grad[0], 0.1 / 2, 1e-7);
    nn_tensor_free(&z);
}

static void cross_entropy_is_stable_for_huge_logits(void **state)
{
    (void)state;
    float zdata[3] = {1e30f, -1e30f, 0};
    nn_tensor z = {zdata, 2, {1, 3, 0, 0}, 3, 0, 0};
    float labels[1] = {1}, grad[3];
    nn_target t = {labels, NULL};
    double loss;
    nn_error err;
    assert_ok(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &t, &loss, grad, NULL, &err), &err);
    assert_close(loss, 2e30, 1e24);
    assert_true(isfinite(grad[0]) && isfinite(grad[1]) && isfinite(grad[2]));
}

/* Labels take the vector path on AVX2 and AVX-512 CPUs for up to 16
 * classes; the same targets as one-hot distributions take the general
 * one. */
static void cross_entropy_labels_match_distributions(void **state)
{
    (void)state;
    enum { N = 37 };
    const int widths[] = {3, 10, 16, 17};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int classes = widths[w], shape[2] = {N, classes};
        nn_tensor z, dist;
        nn_error err;
        assert_ok(nn_tensor_init(&z, 2, shape, &err), &err);
        assert_ok(nn_tensor_init(&dist, 2, shape, &err), &err);
        float labels[N], g1[N * 17], g2[N * 17];
        nn_rng r;
        nn_rng_seed(&r, 5, 1);
        for (int i = 0; i < N * classes; i++)
            z.data[i] = (float)(8 * nn_rng_normal(&r));
        for (int i = 0; i < N; i++) {
            labels[i] = (float)(i % classes);
            dist.data[i * classes + i % classes] = 1;
        }
        nn_target by_label = {labels, NULL}, by_dist = {NULL, &dist};
        double l1, l2;
        long c1 = 0, c2 = 0;
        assert_ok(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &by_label, &l1, g1, &c1, &err), &err);
        assert_ok(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &by_dist, &l2, g2, &c2, &err), &err);
        assert_close(l1, l2, 1e-6 * l2);
        assert_all_close(g1, g2, (size_t)N * classes, 1e-7);
        assert_int_equal(c1, c2);
        z.data[classes] = NAN; /* not row 2's label: carried into the loss all the same */
        assert_ok(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &by_label, &l1, g1, NULL, &err), &err);
        assert_true(isnan(l1));
        nn_tensor_free(&z);
        nn_tensor_free(&dist);
    }
}

static void mse_reductions(void **state)
{
    (void)state;
    float zdata[4] = {1, 0, 0, 0}; /* 2 rows, 2 outputs */
    nn_tensor z = {zdata, 2, {2, 2, 0, 0}, 4, 0, 0};
    float labels[2] = {1, 1}, grad[4];
    nn_target t = {labels, NULL};
    double loss;
    nn_error err;
    /* errors: row 1 (1, -1), row 2 (0, -1): squared sum 3 */
    assert_ok(nn_loss_compute(NN_LOSS_MSE_MEAN, &z, &t, &loss, grad, NULL, &err), &err);
    assert_close(loss, 3.0 / 4, 1e-12);
    assert_ok(nn_loss_compute(NN_LOSS_MSE_SUM, &z, &t, &loss, grad, NULL, &err), &err);
    assert_close(loss, 3.0 / 2, 1e-12);
    assert_close(grad[1], 2 * -1.0 / 2, 1e-7);
}

static void loss_refuses_bad_labels(void **state)
{
    (void)state;
    float zdata[4] = {0};
    nn_tensor z = {zdata, 2, {2, 2, 0, 0}, 4, 0, 0};
    float labels[2] = {0, 2};
    nn_target t = {labels, NULL};
    double loss;
    nn_error err;
    assert_status(nn_loss_compute(NN_LOSS_CROSS_ENTROPY, &z, &t, &loss, NULL, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "label 2 (row 2) is not a class in 0..1");
    labels[1] = 0.5f;
    assert_status(nn_loss_compute(NN_LOSS_MSE_MEAN, &z, &t, &loss, NULL, NULL, &err), NN_EARG, &err);
}

static void sgd_step_with_l2_and_momentum(void **state)
{
    (void)state;
    nn_layer l = {.kind = NN_LINEAR, .in = 1, .out = 1, .bias = 1, .init = NN_INIT_ZEROS};
    nn_model m;
    nn_error err;
    assert_ok(nn_model_init(&m, &l, 1, NULL, &err), &err);
    m.params[0] = 2;    /* w */
    m.params[1] = 1;    /* b */
    m.grads[0] = 0.5f;
    m.grads[1] = 0.5f;
    nn_sgd o;
    assert_ok(nn_sgd_init(&o, 0.1, 0.9, 0, 0.5, 0, NULL, &err), &err);
    assert_close(nn_sgd_penalty(&o, &m), 0.5 * 0.5 * 4, 1e-12); /* biases excluded */
    assert_ok(nn_sgd_step(&o, &m, &err), &err);
    assert_close(m.params[0], 2 - 0.1 * (0.5 + 0.5 * 2), 1e-6);
    assert_close(m.params[1], 1 - 0.1 * 0.5, 1e-6);
    m.grads[0] = 0; /* second step: velocity 0.9 * 1.5 + (0 + 0.5 * 1.85) */
    m.grads[1] = 0;
    assert_ok(nn_sgd_step(&o, &m, &err), &err);
    assert_close(m.params[0], 1.85 - 0.1 * (0.9 * 1.5 + 0.5 * 1.85), 1e-6);
    nn_sgd_free(&o);
    nn_model_free(&m);
}

static void sgd_refuses_bad_settings(void **state)
{
    (void)state;
    nn_sgd o;
    nn_error err;
    assert_status(nn_sgd_init(&o, NAN, 0, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "lr must be a positive finite number, got nan");
    assert_status(nn_sgd_init(&o, 0.1, 1.0, 0, 0, 0, NULL, &err), NN_EARG, &err);
    assert_status(nn_sgd_init(&o, 0.1, 0, 0, -1, 0, NULL, &err), NN_EARG, &err);
}

static void schedules(void **state)
{
    (void)state;
    nn_sgd o;
    nn_error err;
    nn_schedule s = {NN_SCHEDULE_STEP, 10, 0.5, 0, 0};
    assert_ok(nn_sgd_init(&o, 1.0, 0, 0, 0, 0, &s, &err), &err);
    nn_sgd_set_epoch(&o, 9);
    assert_close(o.cur_lr, 1.0, 0);
    nn_sgd_set_epoch(&o, 25);
    assert_close(o.cur_lr, 0.25, 1e-15);
    s = (nn_schedule){NN_SCHEDULE_EXP, 0, 0.9, 0, 0};
    assert_ok(nn_sgd_init(&o, 1.0, 0, 0, 0, 0, &s, &err), &err);
    nn_sgd_set_epoch(&o, 2);
    assert_close(o.cur_lr, 0.81, 1e-15);
    s = (nn_schedule){NN_SCHEDULE_COSINE, 0, 0, 10, 0.1};
    assert_ok(nn_sgd_init(&o, 1.0, 0, 0, 0, 0, &s, &err), &err);
    nn_sgd_set_epoch(&o, 5);
    assert_close(o.cur_lr, 0.55, 1e-12);
    nn_sgd_set_epoch(&o, 10);
    assert_close(o.cur_lr, 0.1, 1e-12);
}

/* The definition's sums, for stride 2 and padding 1 over 2 samples of
 * 3 x 5 x 4 (an output size that leaves input columns unused). */
static void conv2d_matches_direct_sums(void **state)
{
    (void)state;
    nn_window g = {3, 5, 4, 3, 2, 1, 0, 0};
    g.oh = (g.h + 2 * g.pad - g.k) / g.s + 1, g.ow = (g.w + 2 * g.pad - g.k) / g.s + 1;
    int n = 2, out = 2, K = g.c * g.k * g.k, P = g.oh * g.ow, in = g.c * g.h * g.w;
    float x[2 * 60], w[2 * 27], b[2] = {0.5f, -1}, y[2 * 2 * 6], want[2 * 2 * 6] = {0}, cols[2 * 27 * 6];
    for (int k = 0; k < n * in; k++)
        x[k] = (float)((k * 7) % 11) - 5;
    for (int k = 0; k < out * K; k++)
        w[k] = (float)((k * 5) % 7) / 4 - 0.75f;
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out; o++)
            for (int oy = 0; oy < g.oh; oy++)
                for (int ox = 0; ox < g.ow; ox++) {
                    double sum = b[o];
                    for (int c = 0; c < g.c; c++)
                        for (int ky = 0; ky < g.k; ky++)
                            for (int kx = 0; kx < g.k; kx++) {
                                int iy = oy * g.s - g.pad + ky, ix = ox * g.s - g.pad + kx;
                                if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
                                    sum += w[((o * g.c + c) * g.k + ky) * g.k + kx] *
                                           x[r * in + (c * g.h + iy) * g.w + ix];
                            }
                    want[(r * out + o) * P + oy * g.ow + ox] = (float)sum;
                }
    nn_conv2d_forward(y, x, w, b, cols, n, out, &g);
    assert_all_close(y, want, n * out * P, 1e-5);
    /* backward against the same sums: dx of dy = 1 at one output is that window's weights */
    float dy[2 * 2 * 6] = {0}, dx[2 * 60], dw[2 * 27], db[2];
    dy[1 * P + 4] = 1; /* sample 0, channel 1, position (2, 0) */
    nn_conv2d_backward(dx, dw, db, dy, x, w, cols, n, out, &g, 0);
    for (int c = 0; c < g.c; c++)
        for (int iy = 0; iy < g.h; iy++)
            for (int ix = 0; ix < g.w; ix++) {
                int ky = iy - (2 * g.s - g.pad), kx = ix - (0 * g.s - g.pad);
                float e = ky >= 0 && ky < g.k && kx >= 0 && kx < g.k ? w[((1 * g.c + c) * g.k + ky) * g.k + kx] : 0;
                assert_close(dx[(c * g.h + iy) * g.w + ix], e, 1e-6);
            }
    assert_close(db[0], 0, 0);
    assert_close(db[1], 1, 0);
    for (int k = 0; k < K; k++) {
        int c = k / 9, ky = k / 3 % 3, kx = k % 3, iy = 2 * g.s - g.pad + ky, ix = kx - g.pad;
        float e = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x[(c * g.h + iy) * g.w + ix] : 0;
        assert_close(dw[K + k], e, 1e-6);
        assert_close(dw[k], 0, 0);
    }
}

/* The largest magnitude of v (n floats) */
static float largest(const float *v, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
    return m;
}

/* A value in -1..1 drawn from i */
static float scattered(size_t i, unsigned salt)
{
    unsigned h = (unsigned)i * 2654435761u ^ salt;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    return (float)(h >> 8) / 8388608.0f - 1.0f;
}

/* Conv2d forward and backward, through its kind's table, on each of the
 * AVX2 and AVX-512 kernels the CPU has, forced in turn (on path, which the
 * layer must take with them: the direct path or Winograd's), and on the reference
 * (im2col and sgemm, forced with NN_CPU_PLAIN): the same figures within
 * float rounding, over chunks, halves and blocks of outputs with tails.
 * Rounding is measured against the largest value: the direct path's sums
 * are im2col's in another order (a few units in the last place), while
 * F(4x4, 3x3)'s transforms scale values by up to 100 and back, so its
 * errors reach some 1e-5 of the largest value. */
static void conv2d_fast_path_on(nn_cpu_kind kind, const char *path, int c, int h, int w, int k, int pad, int out,
                                int n)
{
    nn_layer l;
    memset(&l, 0, sizeof l);
    l.kind = NN_CONV2D, l.in_channels = c, l.out_channels = out, l.kernel = k, l.stride = 1, l.padding = pad;
    l.bias = 1, l.ishape[0] = c, l.ishape[1] = h, l.ishape[2] = w;
    nn_error err;
    assert_int_equal(nn_layer_plan(&l, 0, &err), NN_OK);
    const nn_layer_ops *ops = nn_layer_ops_of(NN_CONV2D);
    size_t in = (size_t)n * l.in, ys = (size_t)n * l.out;
    float *x = malloc(in * sizeof *x), *p = malloc(l.param_count * sizeof *p), *dy = malloc(ys * sizeof *dy);
    for (size_t i = 0; i < in; i++)
        x[i] = scattered(i, 1);
    for (size_t i = 0; i < l.param_count; i++)
        p[i] = scattered(i, 2);
    for (size_t i = 0; i < ys; i++)
        dy[i] = scattered(i, 3);
    float *y[2], *dx[2], *g[2];
    for (int run = 0; run < 2; run++) {
        assert_true(nn_cpu_force(run == 0 ? kind : NN_CPU_PLAIN));
        /* the path meant, else the fast path would be checked against itself */
        assert_string_equal(nn_conv2d_path_name(&l), run == 0 ? path : "columns");
        float *scratch = malloc(ops->scratch_count(&l) * sizeof *scratch);
        y[run] = malloc(ys * sizeof *y[run]), dx[run] = malloc(in * sizeof *dx[run]);
        g[run] = malloc(l.param_count * sizeof *g[run]);
        nn_layer_pass s;
        memset(&s, 0, sizeof s);
        s.l = &l, s.n = n, s.in_w = l.in, s.out_w = l.out, s.training = 1, s.x = x, s.y = y[run], s.w = p;
        s.g = g[run], s.scratch = scratch, s.dy = dy, s.dx = dx[run];
        ops->forward(&s);
        assert_int_equal(ops->backward(&s, NULL, &err), NN_OK);
        free(scratch);
    }
    nn_cpu_force(NN_CPU_AUTO);
    double rel = strcmp(path, "winograd") == 0 ? 2e-5 : 1e-6;
    assert_all_close(y[0], y[1], ys, rel * largest(y[1], ys));
    assert_all_close(dx[0], dx[1], in, rel * largest(dx[1], in));
    assert_all_close(g[0], g[1], l.param_count, rel * largest(g[1], l.param_count));
    for (int run = 0; run < 2; run++)
        free(y[run]), free(dx[run]), free(g[run]);
    free(x), free(p), free(dy);
}

static void conv2d_fast_path_at(const char *path, int c, int h, int w, int k, int pad, int out, int n)
{
    const nn_cpu_kind kinds[] = {NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (nn_cpu_supports(kinds[i]))
            conv2d_fast_path_on(kinds[i], path, c, h, w, k, pad, out, n);
}

static void conv2d_direct_path_matches_the_reference(void **state)
{
    (void)state;
    if (!nn_cpu_supports(NN_CPU_AVX2))
        skip();
    conv2d_fast_path_at("direct", 1, 28, 28, 5, 2, 6, 5);   /* LeNet's first layer */
    conv2d_fast_path_at("direct", 6, 14, 14, 5, 0, 16, 19); /* its second: a chunk and a tail */
    conv2d_fast_path_at("direct", 3, 7, 7, 3, 1, 9, 33);    /* blocks of 8 outputs and 1, of 6 and 3 */
    conv2d_fast_path_at("direct", 2, 5, 6, 3, 2, 10, 3);    /* not square, padding k - 1 */
    conv2d_fast_path_at("direct", 1, 9, 9, 1, 0, 3, 2);     /* a 1x1 kernel */
    conv2d_fast_path_at("direct", 5, 9, 33, 3, 1, 11, 3);   /* blocks of 6 and 5 (and dx's of 5), rows of 33 */
    conv2d_fast_path_at("direct", 2, 16, 16, 1, 0, 4, 2);   /* rows of exactly one block of 16 */
    conv2d_fast_path_at("direct", 1, 8, 36, 5, 0, 5, 2);    /* rows of exactly two */
}

static const char *path_of(nn_cpu_kind kind, int c, int hw, int k, int stride, int pad, int out)
{
    nn_layer l;
    memset(&l, 0, sizeof l);
    l.kind = NN_CONV2D, l.in_channels = c, l.out_channels = out, l.kernel = k, l.stride = stride;
    l.padding = pad, l.bias = 1, l.ishape[0] = c, l.ishape[1] = hw, l.ishape[2] = hw;
    nn_error err;
    assert_int_equal(nn_layer_plan(&l, 0, &err), NN_OK);
    assert_true(nn_cpu_force(kind));
    const char *path = nn_conv2d_path_name(&l);
    nn_cpu_force(NN_CPU_AUTO);
    return path;
}

/* The studies' layers take the paths their speed was measured on (the
 * README's B5 and B6): LeNet's two and Keras's first the direct path,
 * Keras's second (288 taps) Winograd's, on each vector kernel the CPU has;
 * a stride of 2 and the plain kernels the reference. */
static void conv2d_takes_the_measured_path(void **state)
{
    (void)state;
    const nn_cpu_kind kinds[] = {NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (!nn_cpu_supports(kinds[i]))
            continue;
        assert_string_equal(path_of(kinds[i], 1, 28, 5, 1, 2, 6), "direct");
        assert_string_equal(path_of(kinds[i], 6, 14, 5, 1, 0, 16), "direct");
        assert_string_equal(path_of(kinds[i], 1, 28, 3, 1, 0, 32), "direct");
        assert_string_equal(path_of(kinds[i], 32, 26, 3, 1, 0, 64), "winograd");
        assert_string_equal(path_of(kinds[i], 32, 26, 3, 2, 0, 64), "columns");
        assert_string_equal(path_of(kinds[i], 32, 10, 3, 1, 0, 32), "winograd"); /* 8x8 outputs */
        assert_string_equal(path_of(kinds[i], 32, 9, 3, 1, 0, 16), "columns");   /* 7x7: too few */
    }
    assert_string_equal(path_of(NN_CPU_PLAIN, 1, 28, 5, 1, 2, 6), "columns");
    assert_string_equal(path_of(NN_CPU_PLAIN, 32, 26, 3, 1, 0, 64), "columns");
}

/* The AVX2 small products against sgemm (tensor.h), both ways of a, on
 * shapes with every tail: rows past the last 6, columns past the last 16
 * and 8, one column, one row, k of 1. */
static void small_gemm_matches_sgemm(void **state)
{
    (void)state;
#ifdef NN_HAVE_X86_KERNELS
    if (!nn_cpu_supports(NN_CPU_AVX2))
        skip();
    const int shapes[][3] = {{64, 144, 32}, {32, 144, 64}, {13, 29, 7}, {1, 1, 1}, {5, 8, 3},
                             {7, 17, 1},    {6, 40, 9},    {9, 16, 4},  {3, 20, 0}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        int m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2], ldb = n + 3, ldc = n + 5;
        for (int trans = 0; trans < 2; trans++) {
            int lda = (trans ? m : k) + 2;
            size_t asz = (size_t)(trans ? k : m) * lda;
            float *a = malloc(asz * sizeof *a), *b = malloc((size_t)k * ldb * sizeof *b);
            float *c = malloc((size_t)m * ldc * sizeof *c), *want = malloc((size_t)m * ldc * sizeof *want);
            for (size_t i = 0; i < asz; i++)
                a[i] = (float)((i * 7919) % 97) / 48.0f - 1.0f;
            for (size_t i = 0; i < (size_t)k * ldb; i++)
                b[i] = (float)((i * 104729) % 89) / 44.0f - 1.0f;
            for (size_t i = 0; i < (size_t)m * ldc; i++)
                c[i] = want[i] = 99.0f; /* past n in each row: left alone */
            nn_gemm(trans, 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, want, ldc);
            nn_small_gemm_avx2(trans, m, n, k, a, lda, b, ldb, c, ldc);
            assert_all_close(c, want, (size_t)m * ldc, 1e-5 * k);
            free(a), free(b), free(c), free(want);
        }
    }
#else
    skip();
#endif
}

/* Winograd's path (conv_winograd.h), taken for 3x3 kernels at stride 1
 * with 16 channels or more whatever the kernels but the plain ones, against
 * the reference; above 17 channels, so that the direct path (up to 160
 * values a window) does not take them instead. */
static void conv2d_winograd_path_matches_the_reference(void **state)
{
    (void)state;
    if (!nn_cpu_supports(NN_CPU_AVX2))
        skip();
    conv2d_fast_path_at("winograd", 32, 26, 26, 3, 0, 64, 3); /* Keras's second layer */
    conv2d_fast_path_at("winograd", 18, 9, 8, 3, 1, 5, 3);    /* odd output rows, padding 1 */
    conv2d_fast_path_at("winograd", 20, 10, 11, 3, 2, 7, 2);  /* odd output columns, padding 2 */
    conv2d_fast_path_at("winograd", 24, 100, 9, 3, 0, 3, 1);  /* blocks of rows of tiles and a tail */
    conv2d_fast_path_at("winograd", 18, 10, 10, 3, 0, 4, 2);  /* 8x8 outputs, the fewest the path takes */
    conv2d_fast_path_at("winograd", 18, 80, 3, 3, 0, 3, 2);   /* one column of outputs: part tiles */
    conv2d_fast_path_at("winograd", 18, 9, 14, 3, 0, 3, 9);   /* 7x12: part tiles down, and 3 samples a block */
    conv2d_fast_path_at("winograd", 18, 4, 300, 3, 0, 2, 1);  /* 75 tiles a row: a block of one row */
    conv2d_fast_path_at("winograd", 18, 10, 300, 3, 0, 2, 2); /* two such blocks a sample */
    conv2d_fast_path_at("winograd", 18, 4, 4, 3, 5, 3, 2);    /* padding 5: outputs of padding only */
}

/* Dropout's masks (nn_rng_threshold) are n draws of nn_rng_uniform
 * compared with p: the same outcomes and the same state after, at the
 * edges of p too (a draw equal to p is kept). */
static void dropout_masks_are_the_uniform_draws(void **state)
{
    (void)state;
    const double ps[] = {0, 0.25, 0.5, 0.3, 0.999, 1.0 - 0x1.0p-53, 1, 0x1.0p-53, -1, 2, NAN};
    enum { N = 1000 };
    float mask[N];
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        nn_rng a, b;
        nn_rng_seed(&a, 7, NN_STREAM_DROPOUT);
        b = a;
        nn_rng_threshold(mask, N, ps[k], 2.0f, &a);
        for (int i = 0; i < N; i++)
            assert_true(mask[i] == (nn_rng_uniform(&b) >= ps[k] ? 2.0f : 0.0f));
        assert_memory_equal(a.s, b.s, sizeof a.s);
    }
    /* a draw of exactly p: the state whose next uniform is known */
    nn_rng a, b;
    nn_rng_seed(&a, 3, NN_STREAM_DROPOUT);
    b = a;
    double u = nn_rng_uniform(&b);
    nn_rng_threshold(mask, 1, u, 1.0f, &a);
    assert_true(mask[0] == 1.0f);
    nn_rng_seed(&a, 3, NN_STREAM_DROPOUT);
    nn_rng_threshold(mask, 1, nextafter(u, 1.0), 1.0f, &a);
    assert_true(mask[0] == 0.0f);
}

/* The 2x2, stride-2 loops keep the general rule: the first maximum of
 * equals, row by row, takes the gradient. */
static void maxpool_2x2_takes_the_first_of_equals(void **state)
{
    (void)state;
    nn_window g = {1, 4, 4, 2, 2, 0, 2, 2};
    float x[16] = {1, 1, 0, 2, 1, 1, 2, 0, 3, 0, 0, 0, 0, 3, 0, 0}, y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    nn_maxpool2d_forward(y, x, 1, &g);
    float want[4] = {1, 2, 3, 0};
    assert_all_close(y, want, 4, 0);
    nn_maxpool2d_backward(dx, dy, x, 1, &g);
    float want_dx[16] = {1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    assert_all_close(dx, want_dx, 16, 0);
}

/* The AVX2 and AVX-512 2x2 kernels, forced in turn, against the
 * reference, to the bit: ties, NaNs, signed zeros, rows of 1 to 40
 * columns (vector tails), odd last rows and columns. */
static void maxpool_2x2_at(int c, int h, int w, int n)
{
    nn_window g = {c, h, w, 2, 2, 0, h / 2, w / 2};
    size_t in = (size_t)n * c * h * w, out = (size_t)n * c * g.oh * g.ow;
    float *x = malloc(in * sizeof *x), *dy = malloc(out * sizeof *dy), *y[2], *dx[2];
    for (size_t i = 0; i < in; i++) {
        unsigned v = (unsigned)(i * 2654435761u) >> 27; /* 0..31: many ties */
        x[i] = v == 0 ? NAN : v == 1 ? -0.0f : v == 2 ? 0.0f : (float)(v % 7) - 3.0f;
    }
    for (size_t i = 0; i < out; i++)
        dy[i] = (float)i + 1.0f;
    for (int run = 0; run < 2; run++)
        y[run] = malloc(out * sizeof *y[run]), dx[run] = malloc(in * sizeof *dx[run]);
    const nn_cpu_kind kinds[] = {NN_CPU_PLAIN, NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int run = k > 0;
        if (!nn_cpu_force(kinds[k]))
            continue;
        for (size_t i = 0; i < in; i++)
            dx[run][i] = 99.0f; /* every place written, zeros included */
        nn_maxpool2d_forward(y[run], x, n, &g);
        nn_maxpool2d_backward(dx[run], dy, x, n, &g);
        if (run) {
            assert_memory_equal(y[0], y[1], out * sizeof *y[0]);
            assert_memory_equal(dx[0], dx[1], in * sizeof *dx[0]);
        }
    }
    nn_cpu_force(NN_CPU_AUTO);
    for (int run = 0; run < 2; run++)
        free(y[run]), free(dx[run]);
    free(x), free(dy);
}

static void maxpool_2x2_kernels_match_the_reference(void **state)
{
    (void)state;
    maxpool_2x2_at(6, 28, 28, 3); /* LeNet's first pool: rows of 16 + 12 columns */
    maxpool_2x2_at(16, 10, 10, 2);
    for (int w = 2; w <= 40; w++)
        maxpool_2x2_at(2, 4, w, 1);
    maxpool_2x2_at(3, 7, 9, 2); /* odd: the last row and column take no gradient */
    maxpool_2x2_at(1, 1, 5, 1); /* no whole window */
}

/* Max routes the gradient to the first maximum, average spreads it. */
static void pools_route_gradients(void **state)
{
    (void)state;
    nn_window g = {1, 3, 3, 2, 1, 0, 2, 2};
    float x[9] = {1, 3, 3, 0, 2, 1, 5, 4, 4}, y[4], dy[4] = {1, 2, 3, 4}, dx[9];
    nn_maxpool2d_forward(y, x, 1, &g);
    float want[4] = {3, 3, 5, 4};
    assert_all_close(y, want, 4, 0);
    nn_maxpool2d_backward(dx, dy, x, 1, &g);
    float want_dx[9] = {0, 3, 0, 0, 0, 0, 3, 4, 0};
    assert_all_close(dx, want_dx, 9, 0);
    nn_avgpool2d_forward(y, x, 1, &g);
    float want_avg[4] = {1.5f, 2.25f, 2.75f, 2.75f};
    assert_all_close(y, want_avg, 4, 1e-7);
    nn_avgpool2d_backward(dx, dy, 1, &g);
    float want_adx[9] = {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1};
    assert_all_close(dx, want_adx, 9, 1e-7);
}

/* The AVX2 and AVX-512 cross-entropies against the reference, forced in
 * turn: 1 to 16 classes (one register's tails, one full, two), ties for
 * the largest output (a whole row equal, two first places, two last), and
 * rows with an infinite or NaN logit. */
static void cross_entropy_case(int classes)
{
    enum { N = 70, MAX_C = 16 };
    nn_tensor z;
    nn_error err;
    int shape[2] = {N, classes};
    assert_ok(nn_tensor_init(&z, 2, shape, &err), &err);
    float labels[N], g_ref[N * MAX_C], g[N * MAX_C + 16];
    for (int k = 0; k < N * classes; k++)
        z.data[k] = (float)((k * 13) % 17) / 3 - 2;
    for (int c = 0; c < classes; c++) {
        z.data[3 * classes + c] = 1.5f;                               /* all equal */
        z.data[7 * classes + c] = c < 2 ? 4.0f : -1.0f;               /* the first two */
        z.data[11 * classes + c] = c >= classes - 2 ? 4.0f : -1.0f;   /* the last two */
    }
    z.data[5 * classes + 1 % classes] = INFINITY;
    z.data[9 * classes + classes - 1] = NAN;
    for (int r = 0; r < N; r++)
        labels[r] = (float)(r % classes);
    nn_target t = {labels, NULL};
    double l_ref, l;
    long c_ref = 0, c = 0;
    assert_true(nn_cpu_force(NN_CPU_PLAIN));
    assert_ok(nn_loss_sum(NN_LOSS_CROSS_ENTROPY, &z, &t, N, &l_ref, g_ref, &c_ref, &err), &err);
    const nn_cpu_kind kinds[] = {NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (!nn_cpu_force(kinds[k]))
            continue;
        c = 0;
        for (int i = 0; i < N * MAX_C + 16; i++)
            g[i] = 99.0f;
        assert_ok(nn_loss_sum(NN_LOSS_CROSS_ENTROPY, &z, &t, N, &l, g, &c, &err), &err);
        assert_true(l != l && l_ref != l_ref); /* the NaN row carried into the sum */
        assert_int_equal(c, c_ref);
        for (int i = N * classes; i < N * classes + 16; i++)
            assert_true(g[i] == 99.0f); /* past the last row: left alone */
        for (int i = 0; i < N * classes; i++)
            if (g_ref[i] == g_ref[i])
                assert_true(fabsf(g[i] - g_ref[i]) <= 1e-7f);
            else
                assert_true(g[i] != g[i]);
    }
    /* without the two rows, the sums agree to rounding */
    z.data[5 * classes + 1 % classes] = 0;
    z.data[9 * classes + classes - 1] = 0;
    assert_true(nn_cpu_force(NN_CPU_PLAIN));
    c_ref = 0;
    assert_ok(nn_loss_sum(NN_LOSS_CROSS_ENTROPY, &z, &t, N, &l_ref, g_ref, &c_ref, &err), &err);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (!nn_cpu_force(kinds[k]))
            continue;
        c = 0;
        assert_ok(nn_loss_sum(NN_LOSS_CROSS_ENTROPY, &z, &t, N, &l, g, &c, &err), &err);
        assert_close(l, l_ref, 1e-6 * N);
        assert_all_close(g, g_ref, N * classes, 1e-7);
        assert_int_equal(c, c_ref);
    }
    nn_cpu_force(NN_CPU_AUTO);
    nn_tensor_free(&z);
}

static void cross_entropy_kernels_match_the_reference(void **state)
{
    (void)state;
    const int classes[] = {1, 3, 8, 9, 10, 16};
    for (size_t k = 0; k < sizeof classes / sizeof *classes; k++)
        cross_entropy_case(classes[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_forward_adds_bias),
        cmocka_unit_test(linear_backward_accumulates),
        cmocka_unit_test(sparse_kernels_match_dense),
        cmocka_unit_test(block_products_match_dense),
        cmocka_unit_test(activations_have_known_values),
        cmocka_unit_test(dropout_keeps_the_expected_sum),
        cmocka_unit_test(batchnorm_normalises_each_feature),
        cmocka_unit_test(normalize_scales_each_feature),
        cmocka_unit_test(cross_entropy_of_equal_logits_is_log_classes),
        cmocka_unit_test(cross_entropy_is_stable_for_huge_logits),
        cmocka_unit_test(cross_entropy_labels_match_distributions),
        cmocka_unit_test(mse_reductions),
        cmocka_unit_test(loss_refuses_bad_labels),
        cmocka_unit_test(sgd_step_with_l2_and_momentum),
        cmocka_unit_test(sgd_refuses_bad_settings),
        cmocka_unit_test(schedules),
        cmocka_unit_test(conv2d_matches_direct_sums),
        cmocka_unit_test(conv2d_direct_path_matches_the_reference),
        cmocka_unit_test(conv2d_takes_the_measured_path),
        cmocka_unit_test(small_gemm_matches_sgemm),
        cmocka_unit_test(conv2d_winograd_path_matches_the_reference),
        cmocka_unit_test(pools_route_gradients),
        cmocka_unit_test(maxpool_2x2_takes_the_first_of_equals),
        cmocka_unit_test(dropout_masks_are_the_uniform_draws),
        cmocka_unit_test(maxpool_2x2_kernels_match_the_reference),
        cmocka_unit_test(cross_entropy_kernels_match_the_reference),
    };
    return cmocka_run_group_tests_name("layers, losses, SGD", tests, NULL, NULL);
}
