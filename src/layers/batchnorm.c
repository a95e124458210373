/* batchnorm.c - BatchNorm(features): per-feature normalisation over the batch,
 * y = gamma * (x - mean) / sqrt(var + eps) + beta; running statistics for evaluation. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"

static const nn_setting settings[] = {
    {"features", NN_SET_INT, offsetof(nn_layer, features), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"eps", NN_SET_NUMBER, offsetof(nn_layer, eps), 0, 1e-5, 0, 0, NULL},
    {"momentum", NN_SET_NUMBER, offsetof(nn_layer, momentum), 0, 0.1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

/* Per feature when the input's width is the features, per channel when
 * its channels are (c x h x w inputs). */
static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->features == 0)
        l->features = l->out;
    if (l->features < 1 || l->features > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: features must be in 1..%d", desc, NN_MAX_FEATURES);
    if (!(isfinite(l->eps) && l->eps > 0))
        return nn_fail(err, NN_EARG, "%s: eps must be a finite number > 0, got %g", desc, l->eps);
    if (l->eps < 1e-30)
        return nn_fail(err, NN_EARG, "%s: eps must be at least 1e-30 (1 / sqrt(eps) must be a float), got %g", desc,
                       l->eps);
    if (!(l->momentum >= 0 && l->momentum <= 1))
        return nn_fail(err, NN_EARG, "%s: momentum must be in [0, 1], got %g", desc, l->momentum);
    int f = l->features, width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    int spatial = width >= 0 && width != f && l->ishape[0] == f;
    if (width >= 0 && width != f && !spatial) {
        if (l->ishape[1] * l->ishape[2] == 1)
            return nn_fail(err, NN_ESHAPE, "%s: takes %d features but the layer before gives %d", desc, f, width);
        return nn_fail(err, NN_ESHAPE, "%s: takes %d features or channels but the layer before gives %dx%dx%d",
                       desc, f, l->ishape[0], l->ishape[1], l->ishape[2]);
    }
    if (!spatial)
        l->ishape[0] = f, l->ishape[1] = l->ishape[2] = 1;
    l->in = l->out = spatial ? width : f;
    memcpy(l->oshape, l->ishape, sizeof l->oshape);
    l->param_count = 2 * (size_t)f;
    l->buffer_count = 2 * (size_t)f;
    return NN_OK;
}

/* The values a channel has in a sample: 1 when per feature. */
static int plane_of(const nn_layer *l)
{
    return l->out / l->features;
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "BatchNorm(%d)", l->features ? l->features : l->out);
}

/* gamma = 1, beta = 0; running mean 0, running variance 1 */
static void init(const nn_layer *l, float *p, float *b, nn_rng *rng)
{
    (void)rng;
    for (int j = 0; j < l->features; j++) {
        p[j] = 1.0f;
        b[(size_t)l->features + (size_t)j] = 1.0f;
    }
}

/* x[r][j][q] of n x f x plane values */
#define AT(r, j, q) (((size_t)(r) * (size_t)f + (size_t)(j)) * (size_t)plane + (size_t)(q))

static void batch_stats(float *mean, float *invstd, float *running, const float *x,
                        int n, int f, int plane, double eps, double momentum)
{
    long cnt = (long)n * plane;
    for (int j = 0; j < f; j++) {
        double s = 0, ss = 0;
        for (int r = 0; r < n; r++)
            for (int q = 0; q < plane; q++)
                s += x[AT(r, j, q)];
        double mu = s / (double)cnt;
        for (int r = 0; r < n; r++)
            for (int q = 0; q < plane; q++) {
                double d = x[AT(r, j, q)] - mu;
                ss += d * d;
            }
        double var = ss / (double)cnt;
        mean[j] = (float)mu;
        invstd[j] = (float)(1.0 / sqrt(var + eps));
        if (running) {
            double unbiased = cnt > 1 ? ss / (double)(cnt - 1) : var;
            running[j] = (float)((1 - momentum) * running[j] + momentum * mu);
            running[f + j] = (float)((1 - momentum) * running[f + j] + momentum * unbiased);
        }
    }
}

void nn_batchnorm_forward_planes(float *y, float *xhat, float *stats, const float *x, const float *gamma,
                                 const float *beta, float *running, int n, int f, int plane, double eps,
                                 double momentum, int training)
{
    float *mean = stats, *invstd = stats + f;
    if (training) {
        batch_stats(mean, invstd, running, x, n, f, plane, eps, momentum);
    } else {
        for (int j = 0; j < f; j++) {
            mean[j] = running[j];
            invstd[j] = (float)(1.0 / sqrt((double)running[f + j] + eps));
        }
    }
    for (int r = 0; r < n; r++)
        for (int j = 0; j < f; j++)
            for (int q = 0; q < plane; q++) {
                size_t k = AT(r, j, q);
                xhat[k] = (x[k] - mean[j]) * invstd[j];
                y[k] = gamma[j] * xhat[k] + beta[j];
            }
}

void nn_batchnorm_forward(float *y, float *xhat, float *stats, const float *x,
                          const float *gamma, const float *beta, float *running,
                          int n, int f, double eps, double momentum, int training)
{
    nn_batchnorm_forward_planes(y, xhat, stats, x, gamma, beta, running, n, f, 1, eps, momentum, training);
}

void nn_batchnorm_backward_planes(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                  const float *stats, const float *gamma, int n, int f, int plane, int training)
{
    const float *invstd = stats + f;
    double cnt = (double)n * plane;
    for (int j = 0; j < f; j++) {
        double sdy = 0, sdyx = 0;
        for (int r = 0; r < n; r++)
            for (int q = 0; q < plane; q++) {
                size_t k = AT(r, j, q);
                sdy += dy[k];
                sdyx += (double)dy[k] * xhat[k];
            }
        dgamma[j] += (float)sdyx;
        dbeta[j] += (float)sdy;
        if (!dx)
            continue;
        double g = gamma[j] * invstd[j];
        for (int r = 0; r < n; r++)
            for (int q = 0; q < plane; q++) {
                size_t k = AT(r, j, q);
                if (training)
                    dx[k] = (float)(g * (dy[k] - sdy / cnt - xhat[k] * sdyx / cnt));
                else
                    dx[k] = (float)(g * dy[k]);
            }
    }
}

void nn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *stats, const float *gamma,
                           int n, int f, int training)
{
    nn_batchnorm_backward_planes(dx, dgamma, dbeta, dy, xhat, stats, gamma, n, f, 1, training);
}

static size_t aux_per_row(const nn_layer *l, int width, int training)
{
    (void)l, (void)training;
    return (size_t)width; /* xhat */
}

static size_t stats_count(const nn_layer *l)
{
    return 2 * (size_t)l->features;
}

static void forward(const nn_layer_pass *s)
{
    const nn_layer *l = s->l;
    nn_batchnorm_forward_planes(s->y, s->aux, s->stats, s->x, s->w, s->w + l->features, s->buffers, s->n,
                                l->features, plane_of(l), l->eps, l->momentum, s->training);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    const nn_layer *l = s->l;
    if (!s->accumulate)
        memset(s->g, 0, l->param_count * sizeof *s->g);
    nn_batchnorm_backward_planes(s->dx, s->g, s->g + l->features, s->dy, s->aux, s->stats, s->w, s->n,
                                 l->features, plane_of(l), s->training);
    return NN_OK;
}

/* The batch's statistics in training, the running ones in evaluation. */
static void forward64(const nn_layer *l, const nn_pass64 *c, const double *in, double *out, int n)
{
    const double *gamma = c->p, *beta = gamma + l->features;
    const float *run = c->buffers;
    int f = l->features, plane = plane_of(l);
    double cnt = (double)n * plane;
    for (int j = 0; j < f; j++) {
        double mean, invstd;
        if (c->training) {
            double s = 0, ss = 0;
            for (int r = 0; r < n; r++)
                for (int q = 0; q < plane; q++)
                    s += in[AT(r, j, q)];
            mean = s / cnt;
            for (int r = 0; r < n; r++)
                for (int q = 0; q < plane; q++)
                    ss += (in[AT(r, j, q)] - mean) * (in[AT(r, j, q)] - mean);
            invstd = 1.0 / sqrt(ss / cnt + l->eps);
        } else {
            mean = run[j];
            invstd = 1.0 / sqrt((double)run[f + j] + l->eps);
        }
        if (c->stats) {
            c->stats[j] = mean;
            c->stats[f + j] = invstd;
        }
        for (int r = 0; r < n; r++)
            for (int q = 0; q < plane; q++) {
                double h = (in[AT(r, j, q)] - mean) * invstd;
                if (c->xhat)
                    c->xhat[AT(r, j, q)] = h;
                out[AT(r, j, q)] = gamma[j] * h + beta[j];
            }
    }
}

/* Running statistics that are not finite, or a negative variance, are refused. */
static nn_status check_buffers(const nn_layer *l, const float *b, const char *desc, nn_error *err)
{
    size_t f = (size_t)l->features;
    for (size_t k = 0; k < 2 * f; k++) {
        int var = k >= f;
        if (!isfinite(b[k]) || (var && b[k] < 0))
            return nn_fail(err, NN_EFORMAT, "%s: running %s %zu is %g", desc, var ? "variance" : "mean", k % f + 1,
                           (double)b[k]);
    }
    return NN_OK;
}

const nn_layer_ops nn_batchnorm_ops = {
    .kind = NN_BATCHNORM, .name = "BatchNorm", .settings = settings, .plan = plan, .describe = describe,
    .init = init, .aux_per_row = aux_per_row, .stats_count = stats_count, .forward = forward,
    .backward = backward, .forward64 = forward64, .check_buffers = check_buffers, .whole_batch = 1,
};
