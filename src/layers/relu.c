/* relu.c - ReLU: max(x, 0), element-wise. */
#include <math.h>
#include <stddef.h>

#include "hot.h"
#include "layers.h"

static const nn_setting settings[] = {{NULL, 0, 0, 0, 0, 0, 0, NULL}};

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

static void forward(const nn_layer_pass *s)
{
    nn_relu_forward(s->y, s->x, (size_t)s->n * (size_t)s->out_w);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    if (s->dx)
        nn_relu_backward(s->dx, s->dy, s->y, (size_t)s->n * (size_t)s->out_w);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    (void)l;
    size_t count = (size_t)n * (size_t)c->out_w;
    for (size_t k = 0; k < count; k++)
        y[k] = x[k] > 0 ? x[k] : 0;
}

static int kinked64(const nn_layer *l, const nn_pass64 *c, const double *x0, const double *x1, int n)
{
    (void)l;
    size_t count = (size_t)n * (size_t)c->out_w;
    for (size_t k = 0; k < count; k++)
        if ((x0[k] > 0) != (x1[k] > 0))
            return 1;
    return 0;
}

const nn_layer_ops nn_relu_ops = {
    .kind = NN_RELU, .name = "ReLU", .settings = settings, .plan = nn_layer_plan_same,
    .describe = nn_layer_describe_name, .forward = forward, .backward = backward, .forward64 = forward64,
    .kinked64 = kinked64,
};
