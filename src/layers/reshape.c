/* reshape.c - Reshape{c, h, w} and Flatten(): views that give each sample
 * another shape without touching its values (NCHW order is row order). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"

static const nn_setting reshape_settings[] = {
    {"channels", NN_SET_INT, offsetof(nn_layer, shape), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"height", NN_SET_INT, offsetof(nn_layer, shape) + sizeof(int), 0, 1, 1, NN_MAX_FEATURES, NULL},
    {"width", NN_SET_INT, offsetof(nn_layer, shape) + 2 * sizeof(int), 0, 1, 1, NN_MAX_FEATURES, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static const nn_setting flatten_settings[] = {{NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status reshape_plan(nn_layer *l, const char *desc, nn_error *err)
{
    double total = 1; /* up to 2^72, which no integer type holds; exact up to 2^53 */
    for (int d = 0; d < 3; d++) {
        if (l->shape[d] < 1 || l->shape[d] > NN_MAX_FEATURES)
            return nn_fail(err, NN_EARG, "%s: sizes must be in 1..%d", desc, NN_MAX_FEATURES);
        total *= l->shape[d];
    }
    if (total > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: %.0f values a sample, more than %d", desc, total, NN_MAX_FEATURES);
    int64_t size = (int64_t)total;
    int width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    if (width >= 0 && width != size)
        return nn_fail(err, NN_ESHAPE, "%s: takes %lld values a sample but the layer before gives %d", desc,
                       (long long)size, width);
    l->in = l->out = (int)size;
    if (width < 0)
        l->ishape[0] = l->in, l->ishape[1] = l->ishape[2] = 1;
    memcpy(l->oshape, l->shape, sizeof l->oshape);
    return NN_OK;
}

static void reshape_describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "Reshape(%dx%dx%d)", l->shape[0], l->shape[1], l->shape[2]);
}

static nn_status flatten_plan(nn_layer *l, const char *desc, nn_error *err)
{
    (void)desc, (void)err;
    int width = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    l->in = l->out = width;
    l->oshape[0] = width, l->oshape[1] = l->oshape[2] = 1;
    return NN_OK;
}

/* Copies, for a model whose output is a view's. */
static void forward(const nn_layer_pass *s)
{
    memcpy(s->y, s->x, (size_t)s->n * (size_t)s->out_w * sizeof *s->y);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    if (s->dx && s->dx != s->dy)
        memcpy(s->dx, s->dy, (size_t)s->n * (size_t)s->out_w * sizeof *s->dx);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    (void)l;
    memcpy(y, x, (size_t)n * (size_t)c->out_w * sizeof *y);
}

const nn_layer_ops nn_reshape_ops = {
    .kind = NN_RESHAPE, .name = "Reshape", .settings = reshape_settings, .plan = reshape_plan,
    .describe = reshape_describe, .forward = forward, .backward = backward, .forward64 = forward64, .is_view = 1,
};

const nn_layer_ops nn_flatten_ops = {
    .kind = NN_FLATTEN, .name = "Flatten", .settings = flatten_settings, .plan = flatten_plan,
    .describe = nn_layer_describe_name, .forward = forward, .backward = backward, .forward64 = forward64,
    .is_view = 1,
};
