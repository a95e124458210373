/* normalize.c - Normalize(features): y = (x - mean) / std per feature, with a
 * mean and a std fitted on a training set (nn.Normalize in api.lua) and kept
 * in the model file. No trainable parameters; the buffers are the mean (f
 * floats) then the std (f floats). A c x h x w sample is taken as its flat
 * c h w floats, one mean and std each. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"

static const nn_setting settings[] = {
    {"features", NN_SET_INT, offsetof(nn_layer, features), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static const char *const buffer_fields[] = {"mean", "std", NULL};

/* Takes exactly features floats a sample; keeps a c x h x w shape. */
static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    int f = l->features;
    if (f < 1 || f > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: features must be in 1..%d", desc, NN_MAX_FEATURES);
    int width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    if (width >= 0 && width != f)
        return nn_fail(err, NN_ESHAPE, "%s: takes %d features but the layer before gives %d", desc, f, width);
    if (width < 0)
        l->ishape[0] = f, l->ishape[1] = l->ishape[2] = 1;
    l->in = l->out = f;
    memcpy(l->oshape, l->ishape, sizeof l->oshape);
    l->buffer_count = 2 * (size_t)f;
    return NN_OK;
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "Normalize(%d)", l->features);
}

/* mean 0, std 1 (the identity) until the fitted values are set */
static void init(const nn_layer *l, float *p, float *b, nn_rng *rng)
{
    (void)p, (void)rng;
    for (int j = 0; j < l->features; j++) {
        b[j] = 0.0f;
        b[(size_t)l->features + (size_t)j] = 1.0f;
    }
}

/* A mean must be finite, a std a finite positive normal float (its
 * reciprocal is then a float too). */
static nn_status check_buffers(const nn_layer *l, const float *b, const char *desc, nn_error *err)
{
    int f = l->features;
    for (int j = 0; j < f; j++)
        if (!isfinite(b[j]))
            return nn_fail(err, NN_EFORMAT, "%s: mean %d is %g, not a finite number", desc, j + 1, (double)b[j]);
    for (int j = 0; j < f; j++) {
        float s = b[(size_t)f + (size_t)j];
        if (!(isfinite(s) && s >= FLT_MIN))
            return nn_fail(err, NN_EFORMAT, "%s: std %d is %g, not a finite number > 0", desc, j + 1, (double)s);
    }
    return NN_OK;
}

void nn_normalize_forward(float *y, const float *x, const float *mean, const float *std, int n, int f)
{
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * (size_t)f;
        float *yr = y + (size_t)r * (size_t)f;
        for (int j = 0; j < f; j++)
            yr[j] = (xr[j] - mean[j]) / std[j];
    }
}

void nn_normalize_backward(float *dx, const float *dy, const float *std, int n, int f)
{
    for (int r = 0; r < n; r++) {
        const float *dyr = dy + (size_t)r * (size_t)f;
        float *dxr = dx + (size_t)r * (size_t)f;
        for (int j = 0; j < f; j++)
            dxr[j] = dyr[j] / std[j];
    }
}

static void forward(const nn_layer_pass *s)
{
    int f = s->l->features;
    nn_normalize_forward(s->y, s->x, s->buffers, s->buffers + f, s->n, f);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    int f = s->l->features;
    if (s->dx)
        nn_normalize_backward(s->dx, s->dy, s->buffers + f, s->n, f);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    int f = l->features;
    const float *mean = c->buffers, *std = c->buffers + f;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < f; j++) {
            size_t k = (size_t)r * (size_t)f + (size_t)j;
            y[k] = (x[k] - (double)mean[j]) / (double)std[j];
        }
}

const nn_layer_ops nn_normalize_ops = {
    .kind = NN_NORMALIZE, .name = "Normalize", .settings = settings, .plan = plan, .describe = describe,
    .init = init, .forward = forward, .backward = backward, .forward64 = forward64,
    .buffer_fields = buffer_fields, .check_buffers = check_buffers,
};
