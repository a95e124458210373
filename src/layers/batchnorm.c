/* batchnorm.c - BatchNorm(features): per-feature normalisation over the batch,
 * y = gamma * (x - mean) / sqrt(var + eps) + beta; running statistics for evaluation. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"

static const nn_setting settings[] = {
    {"features", NN_SET_INT, offsetof(nn_layer, out), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"eps", NN_SET_NUMBER, offsetof(nn_layer, eps), 0, 1e-5, 0, 0, NULL},
    {"momentum", NN_SET_NUMBER, offsetof(nn_layer, momentum), 0, 0.1, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->out < 1 || l->out > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: features must be in 1..%d", desc, NN_MAX_FEATURES);
    if (!(isfinite(l->eps) && l->eps > 0))
        return nn_fail(err, NN_EARG, "%s: eps must be a finite number > 0, got %g", desc, l->eps);
    if (!(l->momentum >= 0 && l->momentum <= 1))
        return nn_fail(err, NN_EARG, "%s: momentum must be in [0, 1], got %g", desc, l->momentum);
    int width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    if (width >= 0 && width != l->out)
        return nn_fail(err, NN_ESHAPE, "%s: takes %d features but the layer before gives %d", desc, l->out, width);
    l->in = l->out;
    l->ishape[0] = l->oshape[0] = l->out;
    l->ishape[1] = l->ishape[2] = l->oshape[1] = l->oshape[2] = 1;
    l->param_count = 2 * (size_t)l->out;
    l->buffer_count = 2 * (size_t)l->out;
    return NN_OK;
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "BatchNorm(%d)", l->out);
}

/* gamma = 1, beta = 0; running mean 0, running variance 1 */
static void init(const nn_layer *l, float *p, float *b, nn_rng *rng)
{
    (void)rng;
    for (int j = 0; j < l->out; j++) {
        p[j] = 1.0f;
        b[(size_t)l->out + (size_t)j] = 1.0f;
    }
}

static void batch_stats(float *mean, float *invstd, float *running, const float *x,
                        int n, int f, double eps, double momentum)
{
    for (int j = 0; j < f; j++) {
        double s = 0, ss = 0;
        for (int r = 0; r < n; r++)
            s += x[(size_t)r * f + j];
        double mu = s / n;
        for (int r = 0; r < n; r++) {
            double d = x[(size_t)r * f + j] - mu;
            ss += d * d;
        }
        double var = ss / n;
        mean[j] = (float)mu;
        invstd[j] = (float)(1.0 / sqrt(var + eps));
        if (running) {
            double unbiased = n > 1 ? ss / (n - 1) : var;
            running[j] = (float)((1 - momentum) * running[j] + momentum * mu);
            running[f + j] = (float)((1 - momentum) * running[f + j] + momentum * unbiased);
        }
    }
}

void nn_batchnorm_forward(float *y, float *xhat, float *stats, const float *x,
                          const float *gamma, const float *beta, float *running,
                          int n, int f, double eps, double momentum, int training)
{
    float *mean = stats, *invstd = stats + f;
    if (training) {
        batch_stats(mean, invstd, running, x, n, f, eps, momentum);
    } else {
        for (int j = 0; j < f; j++) {
            mean[j] = running[j];
            invstd[j] = (float)(1.0 / sqrt((double)running[f + j] + eps));
        }
    }
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * f;
        float *hr = xhat + (size_t)r * f, *yr = y + (size_t)r * f;
        for (int j = 0; j < f; j++) {
            hr[j] = (xr[j] - mean[j]) * invstd[j];
            yr[j] = gamma[j] * hr[j] + beta[j];
        }
    }
}

void nn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *stats, const float *gamma,
                           int n, int f, int training)
{
    const float *invstd = stats + f;
    for (int j = 0; j < f; j++) {
        double sdy = 0, sdyx = 0;
        for (int r = 0; r < n; r++) {
            size_t k = (size_t)r * f + j;
            sdy += dy[k];
            sdyx += (double)dy[k] * xhat[k];
        }
        dgamma[j] += (float)sdyx;
        dbeta[j] += (float)sdy;
        if (!dx)
            continue;
        double g = gamma[j] * invstd[j];
        for (int r = 0; r < n; r++) {
            size_t k = (size_t)r * f + j;
            if (training)
                dx[k] = (float)(g * (dy[k] - sdy / n - xhat[k] * sdyx / n));
            else
                dx[k] = (float)(g * dy[k]);
        }
    }
}

static size_t aux_per_row(const nn_layer *l, int width, int training)
{
    (void)l, (void)training;
    return (size_t)width; /* xhat */
}

static size_t stats_count(const nn_layer *l)
{
    return 2 * (size_t)l->out;
}

static void forward(const nn_layer_pass *s)
{
    const nn_layer *l = s->l;
    nn_batchnorm_forward(s->y, s->aux, s->stats, s->x, s->w, s->w + l->out, s->buffers, s->n, l->out, l->eps,
                         l->momentum, s->training);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    const nn_layer *l = s->l;
    if (!s->accumulate)
        memset(s->g, 0, l->param_count * sizeof *s->g);
    nn_batchnorm_backward(s->dx, s->g, s->g + l->out, s->dy, s->aux, s->stats, s->w, s->n, l->out, s->training);
    return NN_OK;
}

/* The batch's statistics in training, the running ones in evaluation. */
static void forward64(const nn_layer *l, const nn_pass64 *c, const double *in, double *out, int n)
{
    const double *gamma = c->p, *beta = gamma + l->out;
    const float *run = c->buffers;
    int f = l->out;
    for (int j = 0; j < f; j++) {
        double mean, invstd;
        if (c->training) {
            double s = 0, ss = 0;
            for (int r = 0; r < n; r++)
                s += in[(size_t)r * f + j];
            mean = s / n;
            for (int r = 0; r < n; r++)
                ss += (in[(size_t)r * f + j] - mean) * (in[(size_t)r * f + j] - mean);
            invstd = 1.0 / sqrt(ss / n + l->eps);
        } else {
            mean = run[j];
            invstd = 1.0 / sqrt((double)run[f + j] + l->eps);
        }
        if (c->stats) {
            c->stats[j] = mean;
            c->stats[f + j] = invstd;
        }
        for (int r = 0; r < n; r++) {
            double h = (in[(size_t)r * f + j] - mean) * invstd;
            if (c->xhat)
                c->xhat[(size_t)r * f + j] = h;
            out[(size_t)r * f + j] = gamma[j] * h + beta[j];
        }
    }
}

const nn_layer_ops nn_batchnorm_ops = {
    .kind = NN_BATCHNORM, .name = "BatchNorm", .settings = settings, .plan = plan, .describe = describe,
    .init = init, .aux_per_row = aux_per_row, .stats_count = stats_count, .forward = forward,
    .backward = backward, .forward64 = forward64, .whole_batch = 1,
};
