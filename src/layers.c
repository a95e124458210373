#include "layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"
#include "tensor.h"

const char *nn_layer_kind_name(nn_layer_kind kind)
{
    switch (kind) {
    case NN_LINEAR: return "Linear";
    case NN_RELU: return "ReLU";
    case NN_SIGMOID: return "Sigmoid";
    case NN_TANH: return "Tanh";
    case NN_DROPOUT: return "Dropout";
    case NN_BATCHNORM: return "BatchNorm";
    }
    return "?";
}

void nn_layer_describe(const nn_layer *l, char *buf, size_t len)
{
    switch (l->kind) {
    case NN_LINEAR:
        snprintf(buf, len, "Linear(%d->%d%s)", l->in, l->out, l->bias ? "" : ", no bias");
        break;
    case NN_DROPOUT:
        snprintf(buf, len, "Dropout(%g)", l->p);
        break;
    case NN_BATCHNORM:
        snprintf(buf, len, "BatchNorm(%d)", l->out);
        break;
    default:
        snprintf(buf, len, "%s", nn_layer_kind_name(l->kind));
    }
}

void nn_linear_init(const nn_layer *l, float *w, float *b, nn_rng *rng)
{
    size_t n = (size_t)l->in * (size_t)l->out;
    double lo = 0, hi = 0, std = 0;
    int normal = 0;
    switch (l->init) {
    case NN_INIT_ZEROS: break;
    case NN_INIT_NORMAL: normal = 1; std = l->std; break;
    case NN_INIT_HE: normal = 1; std = sqrt(2.0 / l->in); break;
    case NN_INIT_UNIFORM: lo = l->a; hi = l->b; break;
    case NN_INIT_GLOROT: hi = sqrt(6.0 / (l->in + l->out)); lo = -hi; break;
    case NN_INIT_DEFAULT: hi = 1.0 / sqrt((double)l->in); lo = -hi; break;
    }
    /* Drawn output by output, the order of Torch's (out x in) layout, so a
     * seed gives every connection the same weight in either layout. */
    for (size_t k = 0; k < n; k++) {
        size_t o = k / (size_t)l->in, i = k % (size_t)l->in;
        float *dst = &w[i * (size_t)l->out + o];
        if (normal)
            *dst = (float)(std * nn_rng_normal(rng));
        else if (hi != lo)
            *dst = (float)(lo + (hi - lo) * nn_rng_uniform(rng));
        else
            *dst = (float)lo;
    }
    if (b)
        memset(b, 0, (size_t)l->out * sizeof *b);
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

NN_HOT void nn_relu_forward(float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

NN_HOT void nn_relu_backward(float *dx, const float *dy, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_sigmoid_forward(float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void nn_sigmoid_backward(float *dx, const float *dy, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void nn_tanh_forward(float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = tanhf(x[i]);
}

void nn_tanh_backward(float *dx, const float *dy, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void nn_dropout_mask(float *mask, size_t count, double p, nn_rng *rng)
{
    float keep = (float)(1.0 / (1.0 - p));
    for (size_t i = 0; i < count; i++)
        mask[i] = nn_rng_uniform(rng) >= p ? keep : 0.0f;
}

NN_HOT void nn_mul(float *y, const float *x, const float *m, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * m[i];
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
