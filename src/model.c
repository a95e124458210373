#include "model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int width_of(const int *shape)
{
    return shape[0] < 0 ? -1 : shape[0] * shape[1] * shape[2];
}

nn_status nn_model_plan(nn_layer *layers, int n, nn_error *err)
{
    if (n < 1 || n > NN_MAX_LAYERS)
        return nn_fail(err, NN_EARG, "Sequential needs 1 to %d layers, got %d", NN_MAX_LAYERS, n);
    int shape[3] = {-1, 1, 1};
    size_t poff = 0, boff = 0;
    for (int i = 0; i < n; i++) {
        nn_layer *l = &layers[i];
        memcpy(l->ishape, shape, sizeof shape);
        nn_status st = nn_layer_plan(l, i, err);
        if (st != NN_OK)
            return st;
        l->param_offset = poff;
        l->buffer_offset = boff;
        memcpy(shape, l->oshape, sizeof shape);
        if (width_of(shape) < 0)
            shape[0] = -1, shape[1] = shape[2] = 1;
        if (__builtin_add_overflow(poff, l->param_count, &poff) || poff > NN_MAX_PARAMS) {
            char desc[96];
            nn_layer_describe(l, desc, sizeof desc);
            return nn_fail(err, NN_EARG, "layer %d, %s: the model would have more than %d parameters", i + 1, desc,
                           NN_MAX_PARAMS);
        }
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
    free(m->ops);
    free(m->src);
    free(m->width);
    free(m->scratch);
    memset(m, 0, sizeof *m);
}

/* A layer whose output is its input's own memory: a view that is not the
 * last layer (the last one copies, so that the model's output is its own). */
static int aliased(const nn_model *m, int i)
{
    return i < m->nlayers - 1 && m->ops[i]->is_view;
}

/* The per-layer tables: kinds, sources, statistics; the parts' scratch. */
static nn_status init_layers(nn_model *m, nn_error *err)
{
    int n = m->nlayers;
    m->ops = calloc((size_t)n, sizeof *m->ops);
    m->src = calloc((size_t)n, sizeof *m->src);
    m->width = calloc((size_t)n, sizeof *m->width);
    if (!m->ops || !m->src || !m->width)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const nn_layer *l = &m->layers[i];
        m->ops[i] = nn_layer_ops_of(l->kind);
        nn_tensor_empty(&m->out[i]);
        nn_tensor_empty(&m->dout[i]);
        nn_tensor_empty(&m->aux[i]);
        size_t sc = m->ops[i]->scratch_count ? m->ops[i]->scratch_count(l) : 0;
        m->scratch_floats = sc > m->scratch_floats ? sc : m->scratch_floats;
        if (m->ops[i]->stats_count) {
            m->stats[i] = calloc(m->ops[i]->stats_count(l), sizeof(float));
            if (!m->stats[i])
                return nn_fail(err, NN_ENOMEM, "out of memory");
        }
    }
    for (int i = 0; i < n; i++) {
        int j = i - 1;
        while (j >= 0 && aliased(m, j))
            j--;
        m->src[i] = j;
    }
    if (m->scratch_floats && !(m->scratch = nn_alloc_floats(NN_MODEL_PARTS * m->scratch_floats)))
        return nn_fail(err, NN_ENOMEM, "out of memory for %zu floats of scratch", m->scratch_floats);
    return NN_OK;
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
    if ((st = init_layers(m, err)) != NN_OK) {
        nn_model_free(m);
        return st;
    }
    nn_tensor_empty(&m->pack);
    nn_tensor_empty(&m->w0_packed);
    nn_tensor_empty(&m->input_copy);
    nn_tensor_empty(&m->dy_copy);
    for (int i = 0; i < n; i++) {
        const nn_layer *l = &m->layers[i];
        if (m->ops[i]->init)
            m->ops[i]->init(l, m->params + l->param_offset, m->buffers + l->buffer_offset, init_rng);
    }
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

int nn_model_splittable(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->ops[i]->whole_batch)
            return 0;
    return 1;
}

int nn_model_halves_rows(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->ops[i]->halves_rows)
            return 1;
    return 0;
}

static nn_status reserve_pack(nn_tensor *pack, size_t need, int width, nn_error *err)
{
    if (need > (size_t)INT_MAX)
        return nn_fail(err, NN_ENOMEM, "a first layer of %d inputs is too wide for the sparse products", width);
    return nn_tensor_reshape2(pack, 1, (int)need, err);
}

/* Layer i's buffers for n rows of width inputs (its masks drawn). */
static nn_status size_layer(nn_model *m, int i, int n, int width, nn_error *err)
{
    const nn_layer *l = &m->layers[i];
    const nn_layer_ops *ops = m->ops[i];
    if (l->in >= 0 && width != l->in) {
        char desc[96];
        nn_layer_describe(l, desc, sizeof desc);
        return nn_fail(err, NN_ESHAPE, "%s: input has %d columns, expected %d", desc, width, l->in);
    }
    int out = l->out >= 0 ? l->out : width;
    m->width[i] = out;
    nn_status st = NN_OK;
    if (!aliased(m, i))
        st = nn_tensor_reshape2(&m->out[i], n, out, err);
    if (st == NN_OK && i < m->nlayers - 1 && !aliased(m, i))
        st = nn_tensor_reshape2(&m->dout[i], n, out, err);
    size_t per_row = ops->aux_per_row ? ops->aux_per_row(l, out, m->batch_training) : 0;
    if (st == NN_OK && per_row)
        st = per_row > INT_MAX ? nn_fail(err, NN_ENOMEM, "out of memory")
                               : nn_tensor_reshape2(&m->aux[i], n, (int)per_row, err);
    if (st != NN_OK)
        return st;
    /* Drawn for the whole batch, in order, so that they do not depend on
     * how the batch is cut into parts. */
    if (per_row && ops->draw)
        ops->draw(l, m->aux[i].data, (size_t)n * per_row, &m->dropout_rng);
    return NN_OK;
}

nn_status nn_model_begin_batch(nn_model *m, int n, int cols, int input, nn_error *err)
{
    int sparse = input != NN_INPUT_DENSE;
    m->last_rows = -1;
    if (m->training && n < 2 && !nn_model_splittable(m))
        return nn_fail(err, NN_ESHAPE, "BatchNorm in training mode needs batches of 2 or more rows, got %d "
                                       "(call evaluate() first to run single items)", n);
    if (sparse && m->layers[0].kind != NN_LINEAR)
        return nn_fail(err, NN_EARG, "a sparse input needs a first Linear layer, not %s",
                       nn_layer_kind_name(m->layers[0].kind));
    if (input == NN_INPUT_BLOCKS && m->layers[0].out > NN_BLOCKS_MAX_OUT)
        return nn_fail(err, NN_ESTATE, "a batch in blocks of pixels needs a first layer of at most %d outputs, "
                                       "not %d", NN_BLOCKS_MAX_OUT, m->layers[0].out);
    int width = cols;
    m->batch_training = m->training;
    for (int i = 0; i < m->nlayers; i++) {
        nn_status st = size_layer(m, i, n, width, err);
        if (st != NN_OK)
            return st;
        width = m->width[i];
    }
    /* The first layer's weights packed once for all the parts of the batch. */
    const nn_layer *l = sparse ? &m->layers[0] : NULL;
    m->input_blocks = input == NN_INPUT_BLOCKS;
    if (m->input_blocks) {
        nn_status st = reserve_pack(&m->w0_packed, nn_blocks_packed_size(l->in, l->out), l->in, err);
        if (st != NN_OK)
            return st;
        nn_blocks_pack(m->w0_packed.data, m->params + l->param_offset, l->in, l->out);
    } else if (sparse && nn_csr_pack_needed(l->out)) {
        nn_status st = reserve_pack(&m->w0_packed, nn_csr_packed_size(l->in, l->out), l->in, err);
        if (st != NN_OK)
            return st;
        nn_csr_pack(m->w0_packed.data, m->params + l->param_offset, l->in, l->out, l->out);
    }
    m->last_rows = n;
    m->last_cols = cols;
    return NN_OK;
}

/* Layer i's pass over part p's rows. */
static nn_layer_pass layer_pass(nn_model *m, int i, const nn_model_part *p)
{
    const nn_layer *l = &m->layers[i];
    int j = m->src[i];
    int in_w = j < 0 ? m->last_cols : m->width[j], out_w = m->width[i];
    nn_layer_pass s;
    memset(&s, 0, sizeof s);
    s.l = l;
    s.n = p->rows;
    s.in_w = in_w;
    s.out_w = out_w;
    s.training = m->batch_training;
    s.x = j < 0 ? p->x : m->out[j].data + (size_t)p->first * (size_t)in_w;
    s.y = aliased(m, i) ? NULL : m->out[i].data + (size_t)p->first * (size_t)out_w;
    s.w = m->params + l->param_offset;
    s.g = p->grads + l->param_offset;
    s.buffers = m->buffers + l->buffer_offset;
    if (m->aux[i].data && m->aux[i].size)
        s.aux = m->aux[i].data + (size_t)p->first * nn_tensor_row_size(&m->aux[i]);
    s.stats = m->stats[i];
    s.scratch = m->scratch ? m->scratch + (size_t)p->index * m->scratch_floats : NULL;
    if (i == 0 && p->xs) {
        s.xs = p->xs;
        s.w_packed = m->input_blocks || nn_csr_pack_needed(l->out) ? m->w0_packed.data : s.w;
    }
    return s;
}

void nn_model_forward_part(nn_model *m, const nn_model_part *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        if (aliased(m, i))
            continue;
        nn_layer_pass s = layer_pass(m, i, p);
        m->ops[i]->forward(&s);
    }
}

/* The whole batch as one part, for the single-batch calls below. */
static nn_model_part whole_part(nn_model *m, const float *x, nn_sparse_batch *xs)
{
    nn_model_part p = {0, m->last_rows, x, xs, m->grads, &m->pack, 0};
    return p;
}

static nn_status forward_whole(nn_model *m, const float *x, nn_sparse_batch *xs, int n, int cols,
                               const nn_tensor **y, nn_error *err)
{
    m->sparse_in = xs;
    int input = !xs ? NN_INPUT_DENSE : xs->by_blocks ? NN_INPUT_BLOCKS : NN_INPUT_NONZEROS;
    nn_status st = nn_model_begin_batch(m, n, cols, input, err);
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
    double density = nn_sparse_policy(first, 0);
    nn_sparse_batch *xs = NULL;
    if (density >= 0 && cols == first->in && nn_csr_from_dense(&m->input_nz.by_row, x->data, n, cols, density)) {
        m->input_nz.has_cols = 0;
        xs = &m->input_nz;
    }
    return forward_whole(m, x->data, xs, n, cols, y, err);
}

nn_status nn_model_forward_sparse(nn_model *m, nn_sparse_batch *x, const nn_tensor **y,
                                  nn_error *err)
{
    m->input_copied = 0;
    if (x->by_blocks)
        return forward_whole(m, NULL, x, x->blocks.rows, x->blocks.dim, y, err);
    return forward_whole(m, NULL, x, x->by_row.rows, x->by_row.cols, y, err);
}

nn_status nn_model_backward_part(nn_model *m, nn_model_part *p, const float *dy, int accumulate, nn_error *err)
{
    for (int i = m->nlayers - 1; i >= 0; i--) {
        if (aliased(m, i))
            continue; /* its gradient is its input's */
        nn_layer_pass s = layer_pass(m, i, p);
        int j = m->src[i];
        s.dy = dy;
        s.dx = j < 0 ? NULL : m->dout[j].data + (size_t)p->first * (size_t)s.in_w;
        s.accumulate = accumulate;
        nn_status st = m->ops[i]->backward(&s, p->pack, err);
        if (st != NN_OK)
            return st;
        dy = s.dx;
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
        double density = nn_sparse_policy(&m->layers[0], 0);
        if (!(density >= 0 && nn_csr_from_dense(&m->input_nz.by_row, x->data, x->shape[0], m->last_cols, density)))
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
