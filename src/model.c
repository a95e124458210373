#include "model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Above this fraction of non-zeros a first layer uses the dense kernels. */
#define SPARSE_DENSITY 0.4
#define SPARSE_MIN_OUT 256

/* The settings of layer l that do not depend on its neighbours. */
static nn_status check_settings(const nn_layer *l, int i, nn_error *err)
{
    char desc[112];
    nn_layer_describe(l, desc + snprintf(desc, 16, "layer %d, ", i + 1), sizeof desc - 16);
    switch (l->kind) {
    case NN_LINEAR:
        if (l->in < 1 || l->in > NN_MAX_FEATURES || l->out < 1 || l->out > NN_MAX_FEATURES)
            return nn_fail(err, NN_EARG, "%s: sizes must be in 1..%d", desc, NN_MAX_FEATURES);
        if (l->bias != 0 && l->bias != 1)
            return nn_fail(err, NN_EARG, "%s: bias must be 0 or 1, got %d", desc, l->bias);
        if ((int)l->init < NN_INIT_DEFAULT || (int)l->init > NN_INIT_HE)
            return nn_fail(err, NN_EARG, "%s: unknown init %d", desc, (int)l->init);
        if (!isfinite(l->std) || l->std < 0 || !isfinite(l->a) || !isfinite(l->b) || l->a > l->b)
            return nn_fail(err, NN_EARG, "%s: init needs a finite std >= 0 and finite a <= b", desc);
        return NN_OK;
    case NN_BATCHNORM:
        if (l->out < 1 || l->out > NN_MAX_FEATURES)
            return nn_fail(err, NN_EARG, "%s: features must be in 1..%d", desc, NN_MAX_FEATURES);
        if (!(isfinite(l->eps) && l->eps > 0))
            return nn_fail(err, NN_EARG, "%s: eps must be a finite number > 0, got %g", desc, l->eps);
        if (!(l->momentum >= 0 && l->momentum <= 1))
            return nn_fail(err, NN_EARG, "%s: momentum must be in [0, 1], got %g", desc, l->momentum);
        return NN_OK;
    case NN_DROPOUT:
        if (!(l->p >= 0 && l->p < 1))
            return nn_fail(err, NN_EARG, "%s: p must be in [0, 1), got %g", desc, l->p);
        return NN_OK;
    case NN_RELU: case NN_SIGMOID: case NN_TANH:
        return NN_OK;
    }
    return nn_fail(err, NN_EARG, "layer %d: unknown kind %d", i + 1, (int)l->kind);
}

nn_status nn_model_plan(nn_layer *layers, int n, nn_error *err)
{
    if (n < 1 || n > NN_MAX_LAYERS)
        return nn_fail(err, NN_EARG, "Sequential needs 1 to %d layers, got %d", NN_MAX_LAYERS, n);
    int width = -1;
    size_t poff = 0, boff = 0;
    for (int i = 0; i < n; i++) {
        nn_layer *l = &layers[i];
        char desc[96];
        nn_layer_describe(l, desc, sizeof desc);
        nn_status st = check_settings(l, i, err);
        if (st != NN_OK)
            return st;
        l->param_offset = poff;
        l->buffer_offset = boff;
        l->param_count = l->weight_count = l->buffer_count = 0;
        switch (l->kind) {
        case NN_LINEAR:
            if (width >= 0 && width != l->in)
                return nn_fail(err, NN_ESHAPE, "layer %d, %s: takes %d inputs but the layer before gives %d",
                               i + 1, desc, l->in, width);
            l->weight_count = (size_t)l->in * (size_t)l->out;
            l->param_count = l->weight_count + (l->bias ? (size_t)l->out : 0);
            break;
        case NN_BATCHNORM:
            if (width >= 0 && width != l->out)
                return nn_fail(err, NN_ESHAPE, "layer %d, %s: takes %d features but the layer before gives %d",
                               i + 1, desc, l->out, width);
            l->in = l->out;
            l->param_count = 2 * (size_t)l->out;
            l->buffer_count = 2 * (size_t)l->out;
            break;
        default: /* element-wise: as wide as its input */
            l->in = l->out = width;
            break;
        }
        width = l->out;
        if (__builtin_add_overflow(poff, l->param_count, &poff) || poff > NN_MAX_PARAMS)
            return nn_fail(err, NN_EARG, "layer %d, %s: the model would have more than %d parameters", i + 1, desc,
                           NN_MAX_PARAMS);
        boff += l->buffer_count; /* <= 2 * NN_MAX_FEATURES a layer */
    }
    return NN_OK;
}

void nn_model_free(nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        if (m->out)
            nn_tensor_free(&m->out[i]);
        if (m->dout)
            nn_tensor_free(&m->dout[i]);
        if (m->aux)
            nn_tensor_free(&m->aux[i]);
        if (m->stats)
            free(m->stats[i]);
    }
    nn_sparse_batch_free(&m->input_nz);
    nn_tensor_free(&m->pack);
    nn_tensor_free(&m->w0_packed);
    nn_tensor_free(&m->input_copy);
    nn_tensor_free(&m->dy_copy);
    free(m->layers);
    free(m->params);
    free(m->grads);
    free(m->buffers);
    free(m->out);
    free(m->dout);
    free(m->aux);
    free(m->stats);
    memset(m, 0, sizeof *m);
}

static void init_parameters(nn_model *m, nn_rng *rng)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        float *p = m->params + l->param_offset;
        if (l->kind == NN_LINEAR && rng)
            nn_linear_init(l, p, l->bias ? p + l->weight_count : NULL, rng);
        if (l->kind == NN_BATCHNORM) {
            for (int j = 0; j < l->out; j++) {
                p[j] = 1.0f;
                m->buffers[l->buffer_offset + (size_t)l->out + (size_t)j] = 1.0f;
            }
        }
    }
}

nn_status nn_model_init(nn_model *m, const nn_layer *layers, int n, nn_rng *init_rng,
                        nn_error *err)
{
    memset(m, 0, sizeof *m);
    if (n < 1)
        return nn_fail(err, NN_EARG, "Sequential needs at least one layer");
    m->layers = malloc((size_t)n * sizeof *m->layers);
    if (!m->layers)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    memcpy(m->layers, layers, (size_t)n * sizeof *layers);
    m->nlayers = n;
    nn_status st = nn_model_plan(m->layers, n, err);
    if (st != NN_OK) {
        nn_model_free(m);
        return st;
    }
    const nn_layer *last = &m->layers[n - 1];
    m->nparams = last->param_offset + last->param_count;
    m->nbuffers = last->buffer_offset + last->buffer_count;
    m->params = nn_alloc_floats(m->nparams + 1);
    m->grads = nn_alloc_floats(m->nparams + 1);
    m->buffers = nn_alloc_floats(m->nbuffers + 1);
    m->out = calloc((size_t)n, sizeof(nn_tensor));
    m->dout = calloc((size_t)n, sizeof(nn_tensor));
    m->aux = calloc((size_t)n, sizeof(nn_tensor));
    m->stats = calloc((size_t)n, sizeof(float *));
    if (!m->params || !m->grads || !m->buffers || !m->out || !m->dout || !m->aux || !m->stats) {
        size_t count = m->nparams;
        nn_model_free(m);
        return nn_fail(err, NN_ENOMEM, "out of memory allocating %zu parameters", count);
    }
    memset(m->params, 0, (m->nparams + 1) * sizeof(float));
    memset(m->grads, 0, (m->nparams + 1) * sizeof(float));
    memset(m->buffers, 0, (m->nbuffers + 1) * sizeof(float));
    for (int i = 0; i < n; i++) {
        nn_tensor_empty(&m->out[i]);
        nn_tensor_empty(&m->dout[i]);
        nn_tensor_empty(&m->aux[i]);
        if (m->layers[i].kind == NN_BATCHNORM) {
            m->stats[i] = calloc(2 * (size_t)m->layers[i].out, sizeof(float));
            if (!m->stats[i]) {
                nn_model_free(m);
                return nn_fail(err, NN_ENOMEM, "out of memory");
            }
        }
    }
    nn_tensor_empty(&m->pack);
    nn_tensor_empty(&m->w0_packed);
    nn_tensor_empty(&m->input_copy);
    nn_tensor_empty(&m->dy_copy);
    init_parameters(m, init_rng);
    m->training = 1;
    m->last_rows = -1;
    nn_rng_seed(&m->dropout_rng, 0, NN_STREAM_DROPOUT);
    return NN_OK;
}

int nn_model_in_features(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].in >= 0)
            return m->layers[i].in;
    return -1;
}

int nn_model_out_features(const nn_model *m)
{
    return m->layers[m->nlayers - 1].out;
}

static nn_status reserve_pack(nn_tensor *pack, size_t need, int width, nn_error *err)
{
    if (need > (size_t)INT_MAX)
        return nn_fail(err, NN_ENOMEM, "a first layer of %d inputs is too wide for the sparse products", width);
    return nn_tensor_reshape2(pack, 1, (int)need, err);
}

int nn_model_splittable(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].kind == NN_BATCHNORM)
            return 0;
    return 1;
}

nn_status nn_model_begin_batch(nn_model *m, int n, int cols, int sparse, nn_error *err)
{
    m->last_rows = -1;
    if (m->training && n < 2 && !nn_model_splittable(m))
        return nn_fail(err, NN_ESHAPE, "BatchNorm in training mode needs batches of 2 or more rows, got %d "
                                       "(call evaluate() first to run single items)", n);
    if (sparse && m->layers[0].kind != NN_LINEAR)
        return nn_fail(err, NN_EARG, "a sparse input needs a first Linear layer, not %s",
                       nn_layer_kind_name(m->layers[0].kind));
    int width = cols;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->in >= 0 && width != l->in) {
            char desc[96];
            nn_layer_describe(l, desc, sizeof desc);
            return nn_fail(err, NN_ESHAPE, "%s: input has %d columns, expected %d", desc, width, l->in);
        }
        int out = l->kind == NN_LINEAR ? l->out : width;
        nn_status st = nn_tensor_reshape2(&m->out[i], n, out, err);
        if (st == NN_OK && i > 0)
            st = nn_tensor_reshape2(&m->dout[i - 1], n, width, err);
        if (st == NN_OK && (l->kind == NN_BATCHNORM || (l->kind == NN_DROPOUT && m->training && l->p > 0)))
            st = nn_tensor_reshape2(&m->aux[i], n, out, err);
        if (st != NN_OK)
            return st;
        /* Masks are drawn for the whole batch, in order, so that they do not
         * depend on how the batch is cut into parts. */
        if (l->kind == NN_DROPOUT && m->training && l->p > 0)
            nn_dropout_mask(m->aux[i].data, (size_t)n * (size_t)out, l->p, &m->dropout_rng);
        width = out;
    }
    if (sparse && nn_csr_pack_needed(m->layers[0].out)) {
        /* Packed once for all the parts of the batch. */
        const nn_layer *l = &m->layers[0];
        nn_status st = reserve_pack(&m->w0_packed, nn_csr_packed_size(l->in, l->out), l->in, err);
        if (st != NN_OK)
            return st;
        nn_csr_pack(m->w0_packed.data, m->params + l->param_offset, l->in, l->out, l->out);
    }
    m->last_rows = n;
    m->last_cols = cols;
    return NN_OK;
}

/* Layer i's forward pass on part p's rows; x is its input (those rows). */
static void layer_forward(nn_model *m, int i, const nn_model_part *p, const float *x, int cols)
{
    const nn_layer *l = &m->layers[i];
    int n = p->rows, out = l->kind == NN_LINEAR ? l->out : cols;
    float *y = m->out[i].data + (size_t)p->first * (size_t)out;
    const float *w = m->params + l->param_offset;
    size_t count = (size_t)n * (size_t)out, skip = (size_t)p->first * (size_t)out;
    switch (l->kind) {
    case NN_LINEAR:
        if (i == 0 && p->xs) {
            nn_csr_mul_packed(y, out, &p->xs->by_row, nn_csr_pack_needed(out) ? m->w0_packed.data : w, out,
                              l->bias ? w + l->weight_count : NULL, 0);
        } else {
            nn_linear_forward(y, x, w, l->bias ? w + l->weight_count : NULL, n, l->in, l->out);
        }
        break;
    case NN_RELU: nn_relu_forward(y, x, count); break;
    case NN_SIGMOID: nn_sigmoid_forward(y, x, count); break;
    case NN_TANH: nn_tanh_forward(y, x, count); break;
    case NN_DROPOUT:
        if (m->training && l->p > 0)
            nn_mul(y, x, m->aux[i].data + skip, count);
        else
            memcpy(y, x, count * sizeof *y);
        break;
    case NN_BATCHNORM: /* whole batches only (nn_model_splittable) */
        nn_batchnorm_forward(y, m->aux[i].data, m->stats[i], x, w, w + l->out, m->buffers + l->buffer_offset, n,
                             out, l->eps, l->momentum, m->training);
        break;
    }
}

void nn_model_forward_part(nn_model *m, const nn_model_part *p)
{
    const float *x = p->x;
    int cols = m->last_cols;
    for (int i = 0; i < m->nlayers; i++) {
        layer_forward(m, i, p, x, cols);
        cols = (int)nn_tensor_row_size(&m->out[i]);
        x = m->out[i].data + (size_t)p->first * (size_t)cols;
    }
}

/* The whole batch as one part, for the single-batch calls below. */
static nn_model_part whole_part(nn_model *m, const float *x, nn_sparse_batch *xs)
{
    nn_model_part p = {0, m->last_rows, x, xs, m->grads, &m->pack};
    return p;
}

static nn_status forward_whole(nn_model *m, const float *x, nn_sparse_batch *xs, int n, int cols,
                               const nn_tensor **y, nn_error *err)
{
    m->sparse_in = xs;
    nn_status st = nn_model_begin_batch(m, n, cols, xs != NULL, err);
    if (st != NN_OK)
        return st;
    nn_model_part p = whole_part(m, x, xs);
    nn_model_forward_part(m, &p);
    *y = &m->out[m->nlayers - 1];
    return NN_OK;
}

/* 1 if the n floats at p overlap one of m's per-layer buffers. */
static int is_own_buffer(const nn_model *m, const float *p, size_t n)
{
    const nn_tensor *sets[3] = {m->out, m->dout, m->aux};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < m->nlayers; i++) {
            const nn_tensor *t = &sets[s][i];
            if (t->data && t->capacity && p < t->data + t->capacity && t->data < p + n)
                return 1;
        }
    return 0;
}

nn_status nn_model_forward(nn_model *m, const nn_tensor *x, const nn_tensor **y,
                           nn_error *err)
{
    m->input_copied = 0;
    if (x->size && is_own_buffer(m, x->data, x->size)) {
        nn_status st = nn_tensor_copy(&m->input_copy, x, err);
        if (st != NN_OK)
            return st;
        x = &m->input_copy;
        m->input_copied = 1;
    }
    int n = x->shape[0], cols = (int)nn_tensor_row_size(x);
    const nn_layer *first = &m->layers[0];
    /* The data's zeros (most of an image) are skipped in a first Linear
     * layer wide enough for that to beat BLAS on a dense input, scan
     * included (measured on 200 MNIST rows, two threads: 1024 outputs
     * 1.40x faster, 512 1.25x, 256 1.10x, 128 0.77x; a batch gathered by
     * the training loop is sparse from the start and always is). */
    nn_sparse_batch *xs = NULL;
    if (first->kind == NN_LINEAR && first->out >= SPARSE_MIN_OUT && cols == first->in &&
        nn_csr_from_dense(&m->input_nz.by_row, x->data, n, cols, SPARSE_DENSITY)) {
        m->input_nz.has_cols = 0;
        xs = &m->input_nz;
    }
    return forward_whole(m, x->data, xs, n, cols, y, err);
}

nn_status nn_model_forward_sparse(nn_model *m, nn_sparse_batch *x, const nn_tensor **y,
                                  nn_error *err)
{
    m->input_copied = 0;
    return forward_whole(m, NULL, x, x->by_row.rows, x->by_row.cols, y, err);
}

static nn_status layer_backward(nn_model *m, int i, nn_model_part *p, const float *x, int cols, const float *dy,
                                float *dx, int accumulate, nn_error *err)
{
    const nn_layer *l = &m->layers[i];
    int n = p->rows;
    size_t count = (size_t)n * (size_t)cols, skip = (size_t)p->first * (size_t)cols;
    const float *y = m->out[i].data + skip;
    const float *w = m->params + l->param_offset;
    float *g = p->grads + l->param_offset;
    switch (l->kind) {
    case NN_LINEAR:
        if (i == 0 && p->xs) {
            nn_status st = reserve_pack(p->pack, nn_sparse_tmul_scratch(p->xs, l->out), l->in, err);
            if (st != NN_OK)
                return st;
            if (!nn_sparse_tmul(g, l->out, p->xs, dy, l->out, l->out, accumulate, p->pack->data))
                return nn_fail(err, NN_ENOMEM, "out of memory transposing a batch of %d rows", n);
            if (l->bias)
                nn_linear_backward_bias(g + l->weight_count, dy, n, l->out, accumulate);
        } else {
            nn_linear_backward(dx, g, l->bias ? g + l->weight_count : NULL, dy, x, w, n, l->in, l->out, accumulate);
        }
        break;
    case NN_RELU: if (dx) nn_relu_backward(dx, dy, y, count); break;
    case NN_SIGMOID: if (dx) nn_sigmoid_backward(dx, dy, y, count); break;
    case NN_TANH: if (dx) nn_tanh_backward(dx, dy, y, count); break;
    case NN_DROPOUT:
        if (!dx)
            break;
        if (m->training && l->p > 0)
            nn_mul(dx, dy, m->aux[i].data + skip, count);
        else
            memcpy(dx, dy, count * sizeof *dx);
        break;
    case NN_BATCHNORM:
        if (!accumulate)
            memset(g, 0, l->param_count * sizeof *g);
        nn_batchnorm_backward(dx, g, g + l->out, dy, m->aux[i].data, m->stats[i], w, n, cols, m->training);
        break;
    }
    return NN_OK;
}

nn_status nn_model_backward_part(nn_model *m, nn_model_part *p, const float *dy, int accumulate, nn_error *err)
{
    for (int i = m->nlayers - 1; i >= 0; i--) {
        int cols = i == 0 ? m->last_cols : (int)nn_tensor_row_size(&m->out[i - 1]);
        const float *x = i == 0 ? p->x : m->out[i - 1].data + (size_t)p->first * (size_t)cols;
        float *dx = i == 0 ? NULL : m->dout[i - 1].data + (size_t)p->first * (size_t)cols;
        nn_status st = layer_backward(m, i, p, x, cols, dy, dx, accumulate, err);
        if (st != NN_OK)
            return st;
        dy = dx;
    }
    return NN_OK;
}

static nn_status backward_whole(nn_model *m, const float *x, const nn_tensor *dy, nn_grad_mode mode,
                                nn_error *err)
{
    const nn_tensor *y = &m->out[m->nlayers - 1];
    if (dy->shape[0] != y->shape[0] || nn_tensor_row_size(dy) != nn_tensor_row_size(y)) {
        char a[64], b[64];
        nn_tensor_shape_str(dy, a, sizeof a);
        nn_tensor_shape_str(y, b, sizeof b);
        return nn_fail(err, NN_ESHAPE, "backward: gradient is %s, expected %s (the output's shape)", a, b);
    }
    nn_model_part p = whole_part(m, x, m->sparse_in);
    return nn_model_backward_part(m, &p, dy->data, mode == NN_GRAD_ADD, err);
}

nn_status nn_model_backward(nn_model *m, const nn_tensor *x, const nn_tensor *dy, nn_grad_mode mode,
                            nn_error *err)
{
    if (m->last_rows < 0)
        return nn_fail(err, NN_ESTATE, "backward called before forward");
    if (m->sparse_in && m->sparse_in != &m->input_nz)
        return nn_fail(err, NN_ESTATE, "backward: the last forward had a sparse input");
    if (x->shape[0] != m->last_rows || (int)nn_tensor_row_size(x) != m->last_cols)
        return nn_fail(err, NN_ESHAPE, "backward: input has %d rows and %d columns, but the last forward had %d and %d",
                       x->shape[0], (int)nn_tensor_row_size(x), m->last_rows, m->last_cols);
    if (m->input_copied && x->size && is_own_buffer(m, x->data, x->size))
        x = &m->input_copy; /* the forward's input was the model's own output: its copy */
    if (m->sparse_in == &m->input_nz) {
        /* The forward took its input's non-zeros; the weight gradient takes those of the x given now. */
        m->input_nz.has_cols = 0;
        if (!nn_csr_from_dense(&m->input_nz.by_row, x->data, x->shape[0], m->last_cols, SPARSE_DENSITY))
            m->sparse_in = NULL;
    }
    if (dy->size && dy->data < m->grads + m->nparams && m->grads < dy->data + dy->size) {
        /* backward writes the gradients: a dy that is (part of) them is read from a copy */
        nn_status st = nn_tensor_copy(&m->dy_copy, dy, err);
        if (st != NN_OK)
            return st;
        dy = &m->dy_copy;
    }
    return backward_whole(m, x->data, dy, mode, err);
}

nn_status nn_model_backward_sparse(nn_model *m, nn_sparse_batch *x, const nn_tensor *dy,
                                   nn_grad_mode mode, nn_error *err)
{
    if (m->last_rows < 0)
        return nn_fail(err, NN_ESTATE, "backward called before forward");
    if (m->sparse_in != x)
        return nn_fail(err, NN_ESTATE, "backward: not the last forward's input");
    return backward_whole(m, NULL, dy, mode, err);
}

void nn_model_forget_input(nn_model *m)
{
    m->last_rows = -1;
    m->input_copied = 0;
    m->sparse_in = NULL;
}

void nn_model_zero_grad(nn_model *m)
{
    memset(m->grads, 0, m->nparams * sizeof *m->grads);
}

double nn_model_half_sq_norm(const nn_model *m, int with_bias)
{
    double s = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t count = with_bias ? l->param_count : l->weight_count;
        const float *p = m->params + l->param_offset;
        for (size_t k = 0; k < count; k++)
            s += (double)p[k] * p[k];
    }
    return 0.5 * s;
}

void nn_model_describe(const nn_model *m, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "Sequential(");
    for (int i = 0; i < m->nlayers && used < len; i++) {
        char d[96];
        nn_layer_describe(&m->layers[i], d, sizeof d);
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", d);
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}
