/* linear.c - Linear(in, out): y = x w + b, with the sparse first-layer path. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "hot.h"
#include "layers.h"
#include "model.h"
#include "tensor.h"

/* The sparse first-layer policy. A batch the training loop gathers from a
 * dataset whose density is at most DATASET_DENSITY goes to a first Linear
 * layer by its non-zeros (four-fifths of an MNIST image are 0); a dense
 * batch given from Lua does when the layer is wide enough for the product
 * to beat BLAS scan included (from 256 outputs; the measurements are in the
 * README's Performance notes) and the scan finds no more
 * than INPUT_DENSITY. sparse.c picks its tiles (nn_csr_pack_needed,
 * nn_sparse_transpose_pays) once a batch is sparse. */
#define DATASET_DENSITY 0.5
#define INPUT_DENSITY 0.4
#define INPUT_MIN_OUT 256

double nn_sparse_policy(const nn_layer *first, int from_dataset)
{
    if (first->kind != NN_LINEAR)
        return -1.0;
    if (from_dataset)
        return DATASET_DENSITY;
    return first->out >= INPUT_MIN_OUT ? INPUT_DENSITY : -1.0;
}

/* In blocks: a layer narrow enough for the kernels, on the kernels that
 * make blocks pay, for a batch that comes back, whose layout by block is
 * made once (seed 000's full batch and its validation set; the
 * measurements are in the README's Performance notes). */
int nn_blocks_policy(const nn_layer *first, int dim, int reused)
{
    return first->kind == NN_LINEAR && first->out <= NN_BLOCKS_MAX_OUT && dim <= NN_BLOCKS_MAX_DIM && reused &&
           nn_blocks_fast();
}

static const nn_setting settings[] = {
    {"in_features", NN_SET_INT, offsetof(nn_layer, in), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"out_features", NN_SET_INT, offsetof(nn_layer, out), 1, 0, 1, NN_MAX_FEATURES, NULL},
    NN_WEIGHT_SETTINGS,
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->in < 1 || l->in > NN_MAX_FEATURES || l->out < 1 || l->out > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: sizes must be in 1..%d", desc, NN_MAX_FEATURES);
    nn_status st = nn_check_init(l, desc, err);
    if (st != NN_OK)
        return st;
    int width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    if (width >= 0 && width != l->in)
        return nn_fail(err, NN_ESHAPE, "%s: takes %d inputs but the layer before gives %d", desc, l->in, width);
    l->ishape[0] = l->in, l->ishape[1] = l->ishape[2] = 1;
    l->oshape[0] = l->out, l->oshape[1] = l->oshape[2] = 1;
    l->weight_count = (size_t)l->in * (size_t)l->out;
    l->param_count = l->weight_count + (l->bias ? (size_t)l->out : 0);
    return NN_OK;
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "Linear(%d->%d%s)", l->in, l->out, l->bias ? "" : ", no bias");
}

/* Weight k in Torch's (out x in) order, the draw order: a seed gives every
 * connection the same weight in either layout. */
static size_t torch_order(size_t k, const nn_layer *l)
{
    size_t o = k / (size_t)l->in, i = k % (size_t)l->in;
    return i * (size_t)l->out + o;
}

void nn_linear_init(const nn_layer *l, float *w, float *b, nn_rng *rng)
{
    nn_init_draw(l, w, (size_t)l->in * (size_t)l->out, l->in, l->out, rng, torch_order);
    if (b)
        memset(b, 0, (size_t)l->out * sizeof *b);
}

static void init(const nn_layer *l, float *p, float *b, nn_rng *rng)
{
    (void)b;
    if (rng)
        nn_linear_init(l, p, l->bias ? p + l->weight_count : NULL, rng);
}

void nn_linear_forward(float *y, const float *x, const float *w, const float *b,
                       int n, int in, int out)
{
    /* The bias is copied into y first so that one sgemm with beta = 1 adds
     * the product to it: no second pass over y. */
    float beta = 0.0f;
    if (b) {
        for (int r = 0; r < n; r++)
            memcpy(y + (size_t)r * out, b, (size_t)out * sizeof *y);
        beta = 1.0f;
    }
    nn_gemm(0, 0, n, out, in, 1.0f, x, in, w, out, beta, y, out);
}

NN_HOT void nn_linear_backward_bias(float *db, const float *dy, int n, int out, int accumulate)
{
    if (!accumulate)
        memset(db, 0, (size_t)out * sizeof *db);
    for (int r = 0; r < n; r++) {
        const float *row = dy + (size_t)r * out;
        for (int j = 0; j < out; j++)
            db[j] += row[j];
    }
}

NN_HOT void nn_linear_backward(float *dx, float *dw, float *db, const float *dy,
                               const float *x, const float *w, int n, int in, int out, int accumulate)
{
    nn_gemm(1, 0, in, out, n, 1.0f, x, in, dy, out, accumulate ? 1.0f : 0.0f, dw, out);
    if (db)
        nn_linear_backward_bias(db, dy, n, out, accumulate);
    if (dx)
        nn_gemm(0, 1, n, in, out, 1.0f, dy, out, w, out, 0.0f, dx, in);
}

static void forward(const nn_layer_pass *s)
{
    const nn_layer *l = s->l;
    const float *b = l->bias ? s->w + l->weight_count : NULL;
    if (s->xs && s->xs->by_blocks)
        nn_blocks_mul(s->y, l->out, &s->xs->blocks, s->w_packed, l->out, b);
    else if (s->xs)
        nn_csr_mul_packed(s->y, l->out, &s->xs->by_row, s->w_packed, l->out, b, 0);
    else
        nn_linear_forward(s->y, s->x, s->w, b, s->n, l->in, l->out);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    const nn_layer *l = s->l;
    if (!s->xs) {
        nn_linear_backward(s->dx, s->g, l->bias ? s->g + l->weight_count : NULL, s->dy, s->x, s->w, s->n, l->in,
                           l->out, s->accumulate);
        return NN_OK;
    }
    if (s->xs->by_blocks) {
        nn_blocks_tmul(s->g, &s->xs->blocks, s->dy, l->out, l->out, s->accumulate);
    } else {
        size_t need = nn_sparse_tmul_scratch(s->xs, l->out);
        if (need > (size_t)INT_MAX)
            return nn_fail(err, NN_ENOMEM, "a first layer of %d inputs is too wide for the sparse products", l->in);
        nn_status st = nn_tensor_reshape2(pack, 1, (int)need, err);
        if (st != NN_OK)
            return st;
        if (!nn_sparse_tmul(s->g, l->out, s->xs, s->dy, l->out, l->out, s->accumulate, pack->data))
            return nn_fail(err, NN_ENOMEM, "out of memory transposing a batch of %d rows", s->n);
    }
    if (l->bias)
        nn_linear_backward_bias(s->g + l->weight_count, s->dy, s->n, l->out, s->accumulate);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    const double *W = c->p;
    int w = l->out;
    for (int r = 0; r < n; r++)
        for (int o = 0; o < w; o++)
            y[(size_t)r * w + o] = l->bias ? W[l->weight_count + (size_t)o] : 0.0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, l->in, 1.0, x, l->in, W, w, 1.0, y, w);
}

const nn_layer_ops nn_linear_ops = {
    .kind = NN_LINEAR, .name = "Linear", .settings = settings, .plan = plan, .describe = describe, .init = init,
    .forward = forward, .backward = backward, .forward64 = forward64,
};
