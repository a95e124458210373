#include "gradcheck.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "train.h"

typedef struct {
    const nn_model *m;
    nn_loss_kind loss;
    int n, in, classes, maxw; /* items, input width, outputs, widest layer */
    int *width;           /* output width of each layer */
    double *x;            /* n x in, the inputs */
    double **act;         /* per layer: n x width outputs */
    double **xhat;        /* BatchNorm: normalised inputs */
    double **stats;       /* BatchNorm: mean then invstd */
    int **nz_start;       /* Linear: per input column, where its non-zero rows start in nz_rows */
    int **nz_rows;        /* Linear: the rows whose input is non-zero, column by column */
    double *p;            /* parameters in double */
    const float *labels;  /* one a row, or NULL with targets */
    const float *targets; /* n x classes real-valued targets, or NULL with labels */
    double *rowexp;       /* cross-entropy: exp(z - max) of each base output, n x classes */
    double *rowsum;       /* cross-entropy: their sum per row */
    double div;
    int crossed;          /* set when a perturbation moved a ReLU input across 0 */
    int generic;          /* 1: every difference through the kinds' forward64 (a kind the
                             column shortcut does not know) */
    int *rows;            /* scratch: affected rows */
    double *col, *a, *b, *full;
} ng_ctx;

static const double *layer_input(const ng_ctx *c, int i)
{
    return i == 0 ? c->x : c->act[i - 1];
}

static int input_width(const ng_ctx *c, int i)
{
    return i == 0 ? c->in : c->width[i - 1];
}

static double act_fn(nn_layer_kind k, double v)
{
    switch (k) {
    case NN_RELU: return v > 0 ? v : 0;
    case NN_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case NN_TANH: return tanh(v);
    default: return v;
    }
}

static int dropping(const ng_ctx *c, const nn_layer *l)
{
    return l->kind == NN_DROPOUT && c->m->training && l->p > 0;
}

static double mask_at(const ng_ctx *c, int i, int row, int col)
{
    return c->m->aux[i].data[(size_t)row * c->width[i] + col];
}

static int bn_batch_mode(const ng_ctx *c, const nn_layer *l)
{
    return l->kind == NN_BATCHNORM && c->m->training;
}

/* Layer i's double-precision pass over every row. */
static nn_pass64 pass64(const ng_ctx *c, int i, int keep)
{
    const nn_model *m = c->m;
    const nn_layer *l = &m->layers[i];
    nn_pass64 p;
    memset(&p, 0, sizeof p);
    p.p = c->p + l->param_offset;
    p.buffers = m->buffers + l->buffer_offset;
    const nn_layer_ops *ops = m->ops[i];
    int drawn = m->training && ops->draw && ops->aux_per_row(l, c->width[i], 1) > 0;
    p.mask = drawn ? m->aux[i].data : NULL;
    p.training = m->training;
    p.in_w = input_width(c, i);
    p.out_w = c->width[i];
    if (keep) {
        p.xhat = c->xhat[i];
        p.stats = c->stats[i];
    }
    return p;
}

/* Layer i on nr rows (their indices in rows, NULL for 0..nr-1) of in. */
static void rows_forward(const ng_ctx *c, int i, const double *in, int nr, const int *rows,
                         double *out, int win)
{
    const nn_layer *l = &c->m->layers[i];
    int w = c->width[i];
    size_t count = (size_t)nr * (size_t)w;
    if (l->kind == NN_LINEAR) {
        const double *W = c->p + l->param_offset;
        for (int r = 0; r < nr; r++)
            for (int o = 0; o < w; o++)
                out[(size_t)r * w + o] = l->bias ? W[l->weight_count + (size_t)o] : 0.0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, w, win, 1.0, in, win, W, w, 1.0,
                    out, w);
    } else if (l->kind == NN_BATCHNORM) {
        const double *gamma = c->p + l->param_offset, *beta = gamma + w;
        const double *st = c->stats[i];
        for (size_t k = 0; k < count; k++) {
            int j = (int)(k % (size_t)w);
            out[k] = gamma[j] * (in[k] - st[j]) * st[w + j] + beta[j];
        }
    } else if (dropping(c, l)) {
        for (size_t k = 0; k < count; k++) {
            int r = (int)(k / (size_t)w);
            out[k] = in[k] * mask_at(c, i, rows ? rows[r] : r, (int)(k % (size_t)w));
        }
    } else {
        for (size_t k = 0; k < count; k++)
            out[k] = act_fn(l->kind, in[k]);
    }
}

/* e^d - 1 and log(1 + u), exactly to double precision for the tiny d and u
 * a perturbation makes, by their series below SERIES_BELOW (the next term,
 * d^6 / 720, is below 1e-22 there). The series multiply by reciprocals,
 * which cost less than divisions in numgrad's innermost loop. */
#define SERIES_BELOW 1e-4
#define THIRD (1.0 / 3)
#define FIFTH 0.2
static inline double series_expm1(double d)
{
    return d * (1 + d * 0.5 * (1 + d * THIRD * (1 + d * 0.25 * (1 + d * FIFTH))));
}

static double expm1_small(double d)
{
    return fabs(d) >= SERIES_BELOW ? expm1(d) : series_expm1(d);
}

static double log1p_small(double u)
{
    if (fabs(u) >= SERIES_BELOW)
        return log1p(u);
    return u * (1 - u * (0.5 - u * (THIRD - u * (0.25 - u * FIFTH))));
}

/* new row loss - base row loss, for outputs z of a row whose base outputs
 * are act[last][row]. Written as a function of the changes z - base, so a
 * tiny change is not lost to cancellation against the whole loss. */
static double row_delta(const ng_ctx *c, const double *z, int row)
{
    int C = c->classes;
    const double *base = c->act[c->m->nlayers - 1] + (size_t)row * C;
    const float *t = c->targets ? c->targets + (size_t)row * C : NULL;
    if (c->loss == NN_LOSS_CROSS_ENTROPY) {
        /* sum t * log(sum e^z' / sum e^z) - sum t_k (z'_k - z_k), t one-hot for a label */
        const double *e = c->rowexp + (size_t)row * C;
        double u = 0;
        int large = 0;
        /* the series for every class first, with no branch a class */
        for (int k = 0; k < C; k++) {
            double d = z[k] - base[k];
            large |= fabs(d) >= SERIES_BELOW;
            u += e[k] * series_expm1(d);
        }
        if (large) {
            u = 0;
            for (int k = 0; k < C; k++)
                u += e[k] * expm1_small(z[k] - base[k]);
        }
        if (!t) {
            int label = (int)c->labels[row];
            return log1p_small(u / c->rowsum[row]) - (z[label] - base[label]);
        }
        double tsum = 0, dot = 0;
        for (int k = 0; k < C; k++) {
            tsum += t[k];
            dot += t[k] * (z[k] - base[k]);
        }
        return tsum * log1p_small(u / c->rowsum[row]) - dot;
    }
    double s = 0;
    for (int k = 0; k < C; k++) {
        double d = z[k] - base[k];
        double target = t ? t[k] : nn_label_target(c->loss, C, c->labels[row], k);
        s += d * (2 * (base[k] - target) + d);
    }
    return s;
}

/* Column j of layer i's output changed to col at rows: recompute layer i's
 * BatchNorm in batch mode over the whole column. Afterwards every row is
 * affected. */
static int bn_column(ng_ctx *c, int i, int j, int nr, int *rows, double *col, const double *in_col_base,
                     int stride)
{
    const nn_layer *l = &c->m->layers[i];
    int n = c->n;
    double *full = c->full;
    for (int r = 0; r < n; r++)
        full[r] = in_col_base[(size_t)r * stride];
    for (int k = 0; k < nr; k++)
        full[rows[k]] = col[k];
    double s = 0, ss = 0;
    for (int r = 0; r < n; r++)
        s += full[r];
    double mean = s / n;
    for (int r = 0; r < n; r++)
        ss += (full[r] - mean) * (full[r] - mean);
    double invstd = 1.0 / sqrt(ss / n + l->eps);
    const double *gamma = c->p + l->param_offset;
    for (int r = 0; r < n; r++) {
        rows[r] = r;
        col[r] = gamma[j] * (full[r] - mean) * invstd + gamma[l->out + j];
    }
    return n;
}

/* Rows of a dense block (nr x w) replaced into layer i's input, BatchNorm in
 * batch mode over all rows. Returns n, with rows = 0..n-1 and out n x w. */
static int bn_dense(ng_ctx *c, int i, int nr, int *rows, const double *dense, double *out)
{
    int w = c->width[i], n = c->n;
    memcpy(c->full, layer_input(c, i), (size_t)n * w * sizeof(double));
    for (int k = 0; k < nr; k++)
        memcpy(c->full + (size_t)rows[k] * w, dense + (size_t)k * w, (size_t)w * sizeof(double));
    nn_pass64 p = pass64(c, i, 0);
    c->m->ops[i]->forward64(&c->m->layers[i], &p, c->full, out, n);
    for (int r = 0; r < n; r++)
        rows[r] = r;
    return n;
}

/* Carries "column j of layer L's output is col at rows" to the loss and
 * returns the sum over affected rows of (new row loss - base row loss). */
static double propagate(ng_ctx *c, int L, int j, int nr, int *rows, double *col)
{
    const nn_model *m = c->m;
    int dense = 0, w = c->width[L];
    double *cur = c->a, *nxt = c->b;
    for (int i = L + 1; i < m->nlayers && nr > 0; i++) {
        const nn_layer *l = &m->layers[i];
        const double *base_in = c->act[i - 1];
        int win = w;
        w = c->width[i];
        if (!dense && l->kind == NN_LINEAR) {
            const double *W = c->p + l->param_offset;
            for (int k = 0; k < nr; k++) {
                double d = col[k] - base_in[(size_t)rows[k] * win + j];
                const double *base = c->act[i] + (size_t)rows[k] * w;
                for (int o = 0; o < w; o++)
                    cur[(size_t)k * w + o] = base[o] + d * W[(size_t)j * w + o];
            }
            dense = 1;
        } else if (!dense && bn_batch_mode(c, l)) {
            nr = bn_column(c, i, j, nr, rows, col, base_in + j, win);
        } else if (!dense) {
            int kept = 0;
            for (int k = 0; k < nr; k++) {
                double v = col[k];
                if (l->kind == NN_RELU && (v > 0) != (base_in[(size_t)rows[k] * win + j] > 0))
                    c->crossed = 1;
                if (l->kind == NN_BATCHNORM)
                    v = c->p[l->param_offset + j] * (v - c->stats[i][j]) * c->stats[i][w + j] +
                        c->p[l->param_offset + w + j];
                else if (dropping(c, l))
                    v *= mask_at(c, i, rows[k], j);
                else
                    v = act_fn(l->kind, v);
                if (v != c->act[i][(size_t)rows[k] * w + j]) {
                    rows[kept] = rows[k];
                    col[kept++] = v;
                }
            }
            nr = kept;
        } else if (bn_batch_mode(c, l)) {
            nr = bn_dense(c, i, nr, rows, cur, nxt);
            double *t = cur; cur = nxt; nxt = t;
        } else {
            if (l->kind == NN_RELU)
                for (int k = 0; k < nr && !c->crossed; k++)
                    for (int o = 0; o < w; o++)
                        if ((cur[(size_t)k * w + o] > 0) != (base_in[(size_t)rows[k] * w + o] > 0))
                            c->crossed = 1;
            rows_forward(c, i, cur, nr, rows, nxt, win);
            double *t = cur; cur = nxt; nxt = t;
        }
    }
    int last = m->nlayers - 1, C = c->classes;
    double delta = 0;
    for (int k = 0; k < nr; k++) {
        const double *z = cur + (size_t)k * C;
        if (!dense) {
            memcpy(nxt, c->act[last] + (size_t)rows[k] * C, (size_t)C * sizeof(double));
            nxt[j] = col[k];
            z = nxt;
        }
        delta += row_delta(c, z, rows[k]);
    }
    return delta;
}

typedef enum { PERTURB_WEIGHT, PERTURB_BIAS, PERTURB_GAMMA, PERTURB_BETA } perturb_kind;

/* Fills rows/col with layer L's column j after adding sign * h to a parameter. */
static int perturbed_column(ng_ctx *c, int L, perturb_kind kind, int j, int i, double step)
{
    int w = c->width[L], win = input_width(c, L);
    const double *in = layer_input(c, L), *out = c->act[L];
    int nr = 0;
    if (kind == PERTURB_WEIGHT) {
        /* Only the rows whose input i is non-zero change. */
        for (int k = c->nz_start[L][i]; k < c->nz_start[L][i + 1]; k++) {
            int r = c->nz_rows[L][k];
            c->rows[nr] = r;
            c->col[nr++] = out[(size_t)r * w + j] + step * in[(size_t)r * win + i];
        }
        return nr;
    }
    for (int r = 0; r < c->n; r++) {
        double base = out[(size_t)r * w + j], v;
        switch (kind) {
        case PERTURB_GAMMA: v = base + step * c->xhat[L][(size_t)r * w + j]; break;
        default: v = base + step; break;
        }
        c->rows[nr] = r;
        c->col[nr++] = v;
    }
    return nr;
}

/* A step that moves some ReLU input across 0 averages the slopes of both
 * sides of the kink; the step is then shrunk (to h / 100 at most), which in
 * double precision costs nothing in accuracy. */
static double central_difference(ng_ctx *c, int L, perturb_kind kind, int j, int i, double h)
{
    double step = h, g = 0;
    for (int tries = 0; tries < 3; tries++, step /= 10) {
        c->crossed = 0;
        int nr = perturbed_column(c, L, kind, j, i, step);
        double plus = propagate(c, L, j, nr, c->rows, c->col);
        nr = perturbed_column(c, L, kind, j, i, -step);
        double minus = propagate(c, L, j, nr, c->rows, c->col);
        g = (plus - minus) / (2 * step * c->div);
        if (!c->crossed)
            break;
    }
    return g;
}

/* The loss change when parameter k (of layer L) moves by step, every layer
 * from L on run again in full through its kind's forward64. */
static double generic_delta(ng_ctx *c, int L, size_t k, double step)
{
    const nn_model *m = c->m;
    double saved = c->p[k];
    c->p[k] = saved + step;
    const double *in = layer_input(c, L);
    double *cur = c->a, *nxt = c->b;
    for (int i = L; i < m->nlayers; i++) {
        nn_pass64 p = pass64(c, i, 0);
        if (i > L && m->ops[i]->kinked64 && m->ops[i]->kinked64(&m->layers[i], &p, layer_input(c, i), in, c->n))
            c->crossed = 1;
        m->ops[i]->forward64(&m->layers[i], &p, in, cur, c->n);
        in = cur;
        cur = nxt;
        nxt = (double *)in;
    }
    c->p[k] = saved;
    double delta = 0;
    for (int r = 0; r < c->n; r++)
        delta += row_delta(c, in + (size_t)r * c->classes, r);
    return delta;
}

static double generic_difference(ng_ctx *c, int L, size_t k, double h)
{
    double step = h, g = 0;
    for (int tries = 0; tries < 3; tries++, step /= 10) {
        c->crossed = 0;
        double plus = generic_delta(c, L, k, step), minus = generic_delta(c, L, k, -step);
        g = (plus - minus) / (2 * step * c->div);
        if (!c->crossed)
            break;
    }
    return g;
}

/* The layer that holds parameter k. */
static int layer_of(const nn_model *m, size_t k)
{
    int L = 0;
    while (L < m->nlayers - 1 && k >= m->layers[L].param_offset + m->layers[L].param_count)
        L++;
    return L;
}

/* The difference for parameter k alone. */
static double one_parameter(ng_ctx *c, size_t k, double h)
{
    int L = layer_of(c->m, k);
    const nn_layer *l = &c->m->layers[L];
    size_t at = k - l->param_offset;
    if (c->generic)
        return generic_difference(c, L, k, h);
    if (l->kind == NN_LINEAR && at < l->weight_count) {
        int i = (int)(at / (size_t)l->out), o = (int)(at % (size_t)l->out);
        return c->nz_start[L][i] == c->nz_start[L][i + 1] ? 0.0 : central_difference(c, L, PERTURB_WEIGHT, o, i, h);
    }
    if (l->kind == NN_LINEAR)
        return central_difference(c, L, PERTURB_BIAS, (int)(at - l->weight_count), 0, h);
    if ((int)at < l->out)
        return central_difference(c, L, PERTURB_GAMMA, (int)at, 0, h);
    return central_difference(c, L, PERTURB_BETA, (int)at - l->out, 0, h);
}

/* The kinds the column shortcut (propagate) knows; a model with another
 * kind takes the generic path. */
static int column_kind(const nn_layer *l)
{
    nn_layer_kind k = l->kind;
    return k == NN_LINEAR || k == NN_RELU || k == NN_SIGMOID || k == NN_TANH || k == NN_DROPOUT ||
           (k == NN_BATCHNORM && l->features == l->out);
}

static void ctx_free(ng_ctx *c)
{
    for (int i = 0; c->act && i < c->m->nlayers; i++) {
        free(c->act[i]);
        free(c->xhat[i]);
        free(c->stats[i]);
        if (c->nz_start)
            free(c->nz_start[i]);
        if (c->nz_rows)
            free(c->nz_rows[i]);
    }
    free(c->act); free(c->xhat); free(c->stats); free(c->width);
    free(c->nz_start); free(c->nz_rows);
    free(c->x); free(c->p); free(c->rowexp); free(c->rowsum); free(c->rows);
    free(c->col); free(c->a); free(c->b); free(c->full);
}

static nn_status ctx_alloc(ng_ctx *c, int in, nn_error *err)
{
    const nn_model *m = c->m;
    int L = m->nlayers, n = c->n;
    c->width = calloc((size_t)L, sizeof(int));
    c->act = calloc((size_t)L, sizeof(double *));
    c->xhat = calloc((size_t)L, sizeof(double *));
    c->stats = calloc((size_t)L, sizeof(double *));
    c->nz_start = calloc((size_t)L, sizeof(int *));
    c->nz_rows = calloc((size_t)L, sizeof(int *));
    if (!c->width || !c->act || !c->xhat || !c->stats || !c->nz_start || !c->nz_rows)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    int w = in;
    c->maxw = in;
    for (int i = 0; i < L; i++) {
        w = m->width[i]; /* the last forward's */
        c->width[i] = w;
        c->maxw = w > c->maxw ? w : c->maxw;
        c->act[i] = malloc((size_t)n * w * sizeof(double));
        if (!c->act[i])
            return nn_fail(err, NN_ENOMEM, "out of memory");
        if (m->layers[i].kind == NN_BATCHNORM) {
            c->xhat[i] = malloc((size_t)n * w * sizeof(double));
            c->stats[i] = malloc(2 * (size_t)w * sizeof(double));
            if (!c->xhat[i] || !c->stats[i])
                return nn_fail(err, NN_ENOMEM, "out of memory");
        }
    }
    size_t big = (size_t)n * (size_t)c->maxw;
    c->x = malloc((size_t)n * in * sizeof(double));
    c->p = malloc((m->nparams + 1) * sizeof(double));
    c->rowsum = malloc((size_t)n * sizeof(double));
    c->rowexp = malloc((size_t)n * (size_t)c->classes * sizeof(double));
    c->rows = malloc((size_t)n * sizeof(int));
    c->col = malloc((size_t)n * sizeof(double));
    c->a = malloc(big * sizeof(double));
    c->b = malloc(big * sizeof(double));
    c->full = malloc(big * sizeof(double));
    if (!c->x || !c->p || !c->rowsum || !c->rowexp || !c->rows || !c->col || !c->a || !c->b || !c->full)
        return nn_fail(err, NN_ENOMEM, "out of memory for the numerical gradient of %d items", n);
    return NN_OK;
}

static void base_forward(ng_ctx *c)
{
    const nn_model *m = c->m;
    for (int i = 0; i < m->nlayers; i++) {
        nn_pass64 p = pass64(c, i, 1);
        m->ops[i]->forward64(&m->layers[i], &p, layer_input(c, i), c->act[i], c->n);
    }
    for (int r = 0; r < c->n; r++) {
        const double *z = c->act[m->nlayers - 1] + (size_t)r * c->classes;
        double mx = z[0], sum = 0;
        for (int k = 1; k < c->classes; k++)
            mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < c->classes; k++) {
            c->rowexp[(size_t)r * c->classes + k] = exp(z[k] - mx);
            sum += c->rowexp[(size_t)r * c->classes + k];
        }
        c->rowsum[r] = sum;
    }
}

/* The non-zero rows of each Linear layer's input, column by column. */
static nn_status index_nonzeros(ng_ctx *c, nn_error *err)
{
    const nn_model *m = c->m;
    for (int L = 0; L < m->nlayers; L++) {
        if (m->layers[L].kind != NN_LINEAR)
            continue;
        int win = input_width(c, L), n = c->n;
        const double *in = layer_input(c, L);
        c->nz_start[L] = malloc(((size_t)win + 1) * sizeof(int));
        c->nz_rows[L] = malloc(((size_t)n * win + 1) * sizeof(int));
        if (!c->nz_start[L] || !c->nz_rows[L])
            return nn_fail(err, NN_ENOMEM, "out of memory");
        int k = 0;
        for (int i = 0; i < win; i++) {
            c->nz_start[L][i] = k;
            for (int r = 0; r < n; r++)
                if (in[(size_t)r * win + i] != 0)
                    c->nz_rows[L][k++] = r;
        }
        c->nz_start[L][win] = k;
    }
    return NN_OK;
}

/* Per-thread copies of the context: shared read-only data, own scratch. */
static ng_ctx *thread_contexts(const ng_ctx *c, int nt)
{
    ng_ctx *tc = calloc((size_t)nt, sizeof *tc);
    size_t big = (size_t)c->n * (size_t)c->maxw;
    for (int t = 0; tc && t < nt; t++) {
        tc[t] = *c;
        tc[t].rows = malloc((size_t)c->n * sizeof(int));
        tc[t].col = malloc((size_t)c->n * sizeof(double));
        tc[t].a = malloc(big * sizeof(double));
        tc[t].b = malloc(big * sizeof(double));
        tc[t].full = malloc(big * sizeof(double));
        tc[t].p = c->generic ? malloc((c->m->nparams + 1) * sizeof(double)) : c->p;
        if (c->generic && tc[t].p)
            memcpy(tc[t].p, c->p, c->m->nparams * sizeof(double));
        if (!tc[t].rows || !tc[t].col || !tc[t].a || !tc[t].b || !tc[t].full || !tc[t].p) {
            for (int k = 0; k <= t; k++) {
                free(tc[k].rows); free(tc[k].col); free(tc[k].a); free(tc[k].b); free(tc[k].full);
                if (c->generic)
                    free(tc[k].p);
            }
            free(tc);
            return NULL;
        }
    }
    return tc;
}

static void free_thread_contexts(ng_ctx *tc, int nt)
{
    for (int t = 0; tc && t < nt; t++) {
        free(tc[t].rows); free(tc[t].col); free(tc[t].a); free(tc[t].b); free(tc[t].full);
        if (tc[t].generic)
            free(tc[t].p);
    }
    free(tc);
}

/* A Linear layer's weights, output units shared out among threads: each
 * parameter's difference is independent of the others'. */
static void linear_weights(ng_ctx *c, ng_ctx *tc, int nt, int L, double h, double *g)
{
    const nn_layer *l = &c->m->layers[L];
    const int *nz = c->nz_start[L];
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (int o = 0; o < l->out; o++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        ng_ctx *ct = tc ? &tc[t] : c;
        for (int i = 0; i < l->in; i++)
            g[(size_t)i * l->out + o] = nz[i] == nz[i + 1] ? 0.0
                                        : central_difference(ct, L, PERTURB_WEIGHT, o, i, h);
    }
    (void)nt;
}

static void all_parameters(ng_ctx *c, double h, double *grad)
{
    const nn_model *m = c->m;
    int nt = nn_get_threads();
    ng_ctx *tc = nt > 1 ? thread_contexts(c, nt) : NULL;
    if (!tc)
        nt = 1;
    for (int L = 0; L < m->nlayers; L++) {
        const nn_layer *l = &m->layers[L];
        double *g = grad + l->param_offset;
        if (l->kind == NN_LINEAR) {
            linear_weights(c, tc, nt, L, h, g);
            for (int o = 0; l->bias && o < l->out; o++)
                g[l->weight_count + (size_t)o] = central_difference(c, L, PERTURB_BIAS, o, 0, h);
        } else if (l->kind == NN_BATCHNORM) {
            for (int j = 0; j < l->out; j++) {
                g[j] = central_difference(c, L, PERTURB_GAMMA, j, 0, h);
                g[l->out + j] = central_difference(c, L, PERTURB_BETA, j, 0, h);
            }
        }
    }
    free_thread_contexts(tc, nt);
}

/* The parameters in which (ascending; NULL: all), the others 0, shared
 * among threads; each difference is independent of the others. */
static void some_parameters(ng_ctx *c, double h, const size_t *which, size_t count, double *grad)
{
    size_t total = which ? count : c->m->nparams;
    int nt = nn_get_threads();
    ng_ctx *tc = nt > 1 && total > 1 ? thread_contexts(c, nt) : NULL;
    if (!tc)
        nt = 1;
    memset(grad, 0, c->m->nparams * sizeof *grad);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (size_t q = 0; q < total; q++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        size_t k = which ? which[q] : q;
        grad[k] = one_parameter(tc ? &tc[t] : c, k, h);
    }
    free_thread_contexts(tc, nt);
}

static nn_status setup(ng_ctx *c, nn_model *m, nn_loss_kind loss, const nn_dataset *data,
                       nn_workspace *w, nn_error *err)
{
    const nn_tensor *y;
    nn_status st = nn_dataset_gather(data, NULL, 0, data->n, &w->x, &w->labels, err);
    if (st == NN_OK)
        st = nn_model_forward(m, &w->x, &y, err); /* draws the Dropout masks */
    if (st != NN_OK)
        return st;
    nn_target t = nn_batch_target(data, &w->labels);
    if ((st = nn_target_check(loss, &t, y, err)) != NN_OK)
        return st;
    int in = data->store->dim;
    c->m = m;
    c->loss = loss;
    c->n = data->n;
    c->in = in;
    c->classes = (int)nn_tensor_row_size(y);
    c->labels = t.labels;
    c->targets = t.dist ? t.dist->data : NULL;
    c->div = loss == NN_LOSS_MSE_MEAN ? (double)c->n * c->classes : c->n;
    if ((st = ctx_alloc(c, in, err)) != NN_OK)
        return st;
    for (size_t k = 0; k < (size_t)c->n * in; k++)
        c->x[k] = w->x.data[k];
    for (size_t k = 0; k < m->nparams; k++)
        c->p[k] = m->params[k];
    base_forward(c);
    return index_nonzeros(c, err);
}

static nn_status check_args(const nn_dataset *data, double h, nn_error *err)
{
    if (!(h > 0) || !isfinite(h))
        return nn_fail(err, NN_EARG, "h must be a positive finite number, got %g", h);
    if (data->n < 1)
        return nn_fail(err, NN_EARG, "the dataset is empty");
    return NN_OK;
}

static nn_status numgrad_ws(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h,
                            const size_t *which, size_t count, double *grad, nn_workspace *w, nn_error *err)
{
    nn_status st = check_args(data, h, err);
    if (st != NN_OK)
        return st;
    float *saved = malloc((m->nbuffers + 1) * sizeof(float));
    if (!saved)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    memcpy(saved, m->buffers, m->nbuffers * sizeof(float));
    ng_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    st = setup(&c, m, loss, data, w, err);
    /* The forward pass moved the running statistics; the check starts from
     * the ones the model had, as the gradient being checked does. */
    memcpy(m->buffers, saved, m->nbuffers * sizeof(float));
    for (int i = 0; i < m->nlayers; i++)
        c.generic |= !column_kind(&m->layers[i]);
    if (st == NN_OK && !which && !c.generic)
        all_parameters(&c, h, grad);
    else if (st == NN_OK)
        some_parameters(&c, h, which, count, grad);
    ctx_free(&c);
    free(saved);
    return st;
}

nn_status nn_numgrad(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h,
                     double *grad, nn_error *err)
{
    return nn_numgrad_some(m, loss, data, h, NULL, 0, grad, err);
}

nn_status nn_numgrad_some(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h, const size_t *which,
                          size_t count, double *grad, nn_error *err)
{
    nn_workspace w;
    nn_workspace_init(&w);
    nn_status st = numgrad_ws(m, loss, data, h, which, count, grad, &w, err);
    nn_workspace_free(&w);
    return st;
}

static double norm2(const double *a, const float *b, size_t n, int which, const unsigned char *chosen)
{
    double s = 0;
    for (size_t k = 0; k < n; k++) {
        if (chosen && !chosen[k])
            continue;
        double v = which == 0 ? a[k] : which == 1 ? (double)b[k] : a[k] - b[k];
        s += v * v;
    }
    return sqrt(s);
}

/* 1 if error e is worse than the worst so far: a NaN is worse than any
 * number and stays the worst, so that a gradient with NaN or inf in it is
 * never reported as agreement. */
static int worse(double e, double worst)
{
    return isnan(e) ? !isnan(worst) : e > worst;
}

/* Relative error per block (a layer's weights, its biases), each measured
 * against at least a thousandth of the whole gradient's size: a block whose
 * true gradient is zero (a bias feeding BatchNorm) has only rounding noise.
 * Only the chosen parameters count when chosen is not NULL. */
static void compare(const nn_model *m, const double *num, const float *bp, const unsigned char *chosen,
                    nn_gradcheck_result *r)
{
    memset(r, 0, sizeof *r);
    double floor = 1e-3 * (norm2(num, bp, m->nparams, 0, chosen) + norm2(num, bp, m->nparams, 1, chosen));
    for (size_t k = 0; k < m->nparams; k++)
        if ((!chosen || chosen[k]) && worse(fabs(num[k] - bp[k]), r->max_abs_error))
            r->max_abs_error = fabs(num[k] - bp[k]);
    for (int L = 0; L < m->nlayers; L++) {
        const nn_layer *l = &m->layers[L];
        size_t first = l->weight_count ? l->weight_count : l->param_count / 2;
        size_t blocks[2][2] = {{l->param_offset, first}, {l->param_offset + first, l->param_count - first}};
        for (int b = 0; b < 2; b++) {
            const double *a = num + blocks[b][0];
            const float *g = bp + blocks[b][0];
            const unsigned char *ch = chosen ? chosen + blocks[b][0] : NULL;
            size_t n = blocks[b][1];
            double denom = norm2(a, g, n, 0, ch) + norm2(a, g, n, 1, ch);
            if (denom < floor)
                denom = floor;
            /* a NaN or infinite size (denom) gives NaN: no agreement */
            double rel = denom == 0 ? 0 : isfinite(denom) ? norm2(a, g, n, 2, ch) / denom : NAN;
            if (worse(rel, r->max_rel_error)) {
                r->max_rel_error = rel;
                r->worst_layer = L + 1;
            }
        }
    }
}

static nn_status backprop(nn_model *m, nn_loss_kind loss, const nn_dataset *data, nn_workspace *w,
                          nn_error *err)
{
    const nn_tensor *y;
    nn_status st = nn_dataset_gather(data, NULL, 0, data->n, &w->x, &w->labels, err);
    if (st == NN_OK)
        st = nn_model_forward(m, &w->x, &y, err);
    if (st == NN_OK)
        st = nn_tensor_reshape2(&w->grad, y->shape[0], (int)nn_tensor_row_size(y), err);
    if (st != NN_OK)
        return st;
    nn_target t = nn_batch_target(data, &w->labels);
    double l;
    if ((st = nn_loss_compute(loss, y, &t, &l, w->grad.data, NULL, err)) != NN_OK)
        return st;
    return nn_model_backward(m, &w->x, &w->grad, NN_GRAD_SET, err);
}

nn_status nn_gradcheck(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h,
                       nn_gradcheck_result *r, nn_error *err)
{
    return nn_gradcheck_some(m, loss, data, h, NULL, 0, r, err);
}

nn_status nn_gradcheck_some(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h, const size_t *which,
                            size_t count, nn_gradcheck_result *r, nn_error *err)
{
    nn_status st = check_args(data, h, err);
    if (st != NN_OK)
        return st;
    size_t np = m->nparams + 1, nb = m->nbuffers + 1;
    unsigned char *chosen = which ? calloc(np, 1) : NULL;
    for (size_t q = 0; chosen && q < count; q++)
        chosen[which[q]] = 1;
    double *num = malloc(np * sizeof *num);
    float *saved_grads = malloc(np * sizeof *saved_grads);
    float *saved_buffers = malloc(nb * sizeof *saved_buffers);
    nn_rng saved_rng = m->dropout_rng;
    nn_workspace w;
    nn_workspace_init(&w);
    if (!num || !saved_grads || !saved_buffers || (which && !chosen)) {
        st = nn_fail(err, NN_ENOMEM, "out of memory");
    } else {
        memcpy(saved_grads, m->grads, m->nparams * sizeof(float));
        memcpy(saved_buffers, m->buffers, m->nbuffers * sizeof(float));
        /* The same Dropout masks on both sides: numgrad redraws from the same state. */
        st = backprop(m, loss, data, &w, err);
        memcpy(m->buffers, saved_buffers, m->nbuffers * sizeof(float));
        m->dropout_rng = saved_rng;
        if (st == NN_OK)
            st = numgrad_ws(m, loss, data, h, which, count, num, &w, err);
        if (st == NN_OK)
            compare(m, num, m->grads, chosen, r);
        memcpy(m->grads, saved_grads, m->nparams * sizeof(float));
        memcpy(m->buffers, saved_buffers, m->nbuffers * sizeof(float));
    }
    nn_workspace_free(&w);
    free(chosen);
    free(num);
    free(saved_grads);
    free(saved_buffers);
    return st;
}
