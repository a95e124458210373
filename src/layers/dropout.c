/* dropout.c - Dropout(p): inverted dropout, y = x * mask, mask = (u >= p) / (1 - p). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hot.h"
#include "layers.h"

static const nn_setting settings[] = {
    {"p", NN_SET_NUMBER, offsetof(nn_layer, p), 0, 0.5, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (!(l->p >= 0 && l->p < 1))
        return nn_fail(err, NN_EARG, "%s: p must be in [0, 1), got %g", desc, l->p);
    return nn_layer_plan_same(l, desc, err);
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "Dropout(%g)", l->p);
}

void nn_dropout_mask(float *mask, size_t count, double p, nn_rng *rng)
{
    nn_rng_threshold(mask, count, p, (float)(1.0 / (1.0 - p)), rng);
}

NN_HOT void nn_mul(float *y, const float *x, const float *m, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * m[i];
}

static size_t aux_per_row(const nn_layer *l, int width, int training)
{
    return training && l->p > 0 ? (size_t)width : 0;
}

static void draw(const nn_layer *l, float *aux, size_t count, nn_rng *rng)
{
    nn_dropout_mask(aux, count, l->p, rng);
}

static void forward(const nn_layer_pass *s)
{
    size_t count = (size_t)s->n * (size_t)s->out_w;
    if (s->training && s->l->p > 0)
        nn_mul(s->y, s->x, s->aux, count);
    else
        memcpy(s->y, s->x, count * sizeof *s->y);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    size_t count = (size_t)s->n * (size_t)s->out_w;
    if (!s->dx)
        return NN_OK;
    if (s->training && s->l->p > 0)
        nn_mul(s->dx, s->dy, s->aux, count);
    else
        memcpy(s->dx, s->dy, count * sizeof *s->dx);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    size_t count = (size_t)n * (size_t)c->out_w;
    for (size_t k = 0; k < count; k++)
        y[k] = c->training && l->p > 0 ? x[k] * c->mask[k] : x[k];
}

const nn_layer_ops nn_dropout_ops = {
    .kind = NN_DROPOUT, .name = "Dropout", .settings = settings, .plan = plan, .describe = describe,
    .aux_per_row = aux_per_row, .draw = draw, .forward = forward, .backward = backward, .forward64 = forward64,
};
