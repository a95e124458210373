/* tanh.c - Tanh: tanh(x), element-wise. */
#include <math.h>
#include <stddef.h>

#include "hot.h"
#include "layers.h"

static const nn_setting settings[] = {{NULL, 0, 0, 0, 0, 0, 0, NULL}};

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

static void forward(const nn_layer_pass *s)
{
    nn_tanh_forward(s->y, s->x, (size_t)s->n * (size_t)s->out_w);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    if (s->dx)
        nn_tanh_backward(s->dx, s->dy, s->y, (size_t)s->n * (size_t)s->out_w);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    (void)l;
    size_t count = (size_t)n * (size_t)c->out_w;
    for (size_t k = 0; k < count; k++)
        y[k] = tanh(x[k]);
}

const nn_layer_ops nn_tanh_ops = {
    .kind = NN_TANH, .name = "Tanh", .settings = settings, .plan = nn_layer_plan_same,
    .describe = nn_layer_describe_name, .forward = forward, .backward = backward, .forward64 = forward64,
};
