/* pool2d.c - MaxPool2d(k, {stride = k, padding = 0}) and AvgPool2d(k, ...):
 * each channel's k x k windows reduced to their maximum or their mean (the
 * padding counted as zeros, PyTorch's count_include_pad). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"
#include "pool_kernels.h"

static const nn_setting settings[] = {
    {"kernel_size", NN_SET_INT, offsetof(nn_layer, kernel), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"stride", NN_SET_INT, offsetof(nn_layer, stride), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"padding", NN_SET_INT, offsetof(nn_layer, padding), 0, 0, 0, NN_MAX_FEATURES, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->kernel >= 1 && (l->padding < 0 || l->padding > l->kernel / 2))
        return nn_fail(err, NN_EARG, "%s: padding must be in 0..%d (half the kernel), got %d", desc, l->kernel / 2,
                       l->padding);
    return nn_window_plan(l, l->ishape[0], desc, err);
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    int used = snprintf(buf, len, "%s(%dx%d", nn_layer_kind_name(l->kind), l->kernel, l->kernel);
    if (used > 0 && (size_t)used < len && l->stride != l->kernel)
        used += snprintf(buf + used, len - (size_t)used, ", stride %d", l->stride);
    if (used > 0 && (size_t)used < len && l->padding != 0)
        used += snprintf(buf + used, len - (size_t)used, ", padding %d", l->padding);
    if (used > 0 && (size_t)used < len)
        snprintf(buf + used, len - (size_t)used, ")");
}

/* The input positions [*first, *end) of a window starting at start (its
 * padding left out); never empty, since a pool's padding is at most half
 * its kernel. */
static void clip(int start, int k, int size, int *first, int *end)
{
    *first = start < 0 ? 0 : start;
    *end = start + k < size ? start + k : size;
}

/* The in-bounds part of window (oy, ox): rows [y0, y1), columns [x0, x1). */
static void window_span(const nn_window *g, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    clip(oy * g->s - g->pad, g->k, g->h, y0, y1);
    clip(ox * g->s - g->pad, g->k, g->w, x0, x1);
}

/* The first in-bounds position of window (oy, ox) holding its maximum
 * (row by row, the first of equals, a NaN first kept), on floats and, for
 * numerical gradients, on doubles. */
#define DEFINE_ARGMAX(name, T)                                           \
    static size_t name(const T *x, const nn_window *g, int oy, int ox)  \
    {                                                                    \
        int y0, y1, x0, x1;                                              \
        window_span(g, oy, ox, &y0, &y1, &x0, &x1);                      \
        size_t best = (size_t)y0 * g->w + x0;                            \
        T m = x[best];                                                   \
        for (int iy = y0; iy < y1; iy++)                                 \
            for (int ix = x0; ix < x1; ix++) {                           \
                size_t at = (size_t)iy * g->w + ix;                      \
                if (x[at] > m)                                           \
                    m = x[at], best = at;                                \
            }                                                            \
        return best;                                                     \
    }
DEFINE_ARGMAX(argmax, float)
DEFINE_ARGMAX(argmax64, double)

/* The common 2x2 window with stride 2 and no padding, its first maximum
 * taken in argmax's order (row by row, the first of equals, a NaN first
 * kept): the same figures as the general loops, without their window
 * arithmetic; the reference of pool_avx2.c's and pool_avx512.c's kernels
 * (pool_kernels.h). */
static int is_2x2(const nn_window *g)
{
    return g->k == 2 && g->s == 2 && g->pad == 0;
}

static void maxpool_2x2_forward(float *y, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            const float *r0 = x + pc * plane + (size_t)(2 * oy) * g->w, *r1 = r0 + g->w;
            float *yr = y + pc * oplane + (size_t)oy * g->ow;
            for (int ox = 0, at; ox < g->ow; ox++)
                yr[ox] = nn_maxpool_2x2_window(r0 + 2 * ox, r1 + 2 * ox, &at);
        }
}

/* Each window's gradient goes to its first maximum, chosen as argmax
 * does, with selects rather than branches (the maximum's place is as good
 * as random): each of the four places gets dy or 0. */
static void maxpool_2x2_backward(float *dx, const float *dy, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    if (2 * g->oh != g->h || 2 * g->ow != g->w) /* an odd last row or column: no window's */
        memset(dx, 0, (size_t)n * g->c * plane * sizeof *dx);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            size_t r = pc * plane + (size_t)(2 * oy) * g->w;
            const float *dyr = dy + pc * oplane + (size_t)oy * g->ow;
            for (int ox = 0, at; ox < g->ow; ox++) {
                size_t q = r + 2 * (size_t)ox;
                nn_maxpool_2x2_window(x + q, x + q + g->w, &at);
                nn_maxpool_2x2_route(dx + q, dx + q + g->w, at, dyr[ox]);
            }
        }
}

void nn_maxpool2d_forward(float *y, const float *x, int n, const nn_window *g)
{
    if (is_2x2(g)) {
#ifdef NN_HAVE_X86_KERNELS
        if (nn_cpu_kernels() == NN_CPU_AVX512) {
            nn_maxpool_2x2_forward_avx512(y, x, n, g);
            return;
        }
        if (nn_cpu_kernels() == NN_CPU_AVX2) {
            nn_maxpool_2x2_forward_avx2(y, x, n, g);
            return;
        }
#endif
        maxpool_2x2_forward(y, x, n, g);
        return;
    }
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++) {
        const float *xp = x + pc * plane;
        float *yp = y + pc * oplane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                yp[(size_t)oy * g->ow + ox] = xp[argmax(xp, g, oy, ox)];
    }
}

void nn_maxpool2d_backward(float *dx, const float *dy, const float *x, int n, const nn_window *g)
{
    if (is_2x2(g)) {
#ifdef NN_HAVE_X86_KERNELS
        if (nn_cpu_kernels() == NN_CPU_AVX512) {
            nn_maxpool_2x2_backward_avx512(dx, dy, x, n, g);
            return;
        }
        if (nn_cpu_kernels() == NN_CPU_AVX2) {
            nn_maxpool_2x2_backward_avx2(dx, dy, x, n, g);
            return;
        }
#endif
        maxpool_2x2_backward(dx, dy, x, n, g);
        return;
    }
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    memset(dx, 0, (size_t)n * g->c * plane * sizeof *dx);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++) {
        const float *xp = x + pc * plane, *dyp = dy + pc * oplane;
        float *dxp = dx + pc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                dxp[argmax(xp, g, oy, ox)] += dyp[(size_t)oy * g->ow + ox];
    }
}

/* y = the mean of each window (its padding counted as zeros) */
void nn_avgpool2d_forward(float *y, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    float scale = 1.0f / (float)(g->k * g->k);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++) {
        const float *xp = x + pc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float s = 0;
                int y0, y1, x0, x1;
                window_span(g, oy, ox, &y0, &y1, &x0, &x1);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += xp[(size_t)iy * g->w + ix];
                y[pc * oplane + (size_t)oy * g->ow + ox] = s * scale;
            }
    }
}

void nn_avgpool2d_backward(float *dx, const float *dy, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    float scale = 1.0f / (float)(g->k * g->k);
    memset(dx, 0, (size_t)n * g->c * plane * sizeof *dx);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++) {
        float *dxp = dx + pc * plane;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float d = dy[pc * oplane + (size_t)oy * g->ow + ox] * scale;
                int y0, y1, x0, x1;
                window_span(g, oy, ox, &y0, &y1, &x0, &x1);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dxp[(size_t)iy * g->w + ix] += d;
            }
    }
}

static void max_forward(const nn_layer_pass *s)
{
    nn_window g;
    nn_layer_window(s->l, &g);
    nn_maxpool2d_forward(s->y, s->x, s->n, &g);
}

static nn_status max_backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    nn_window g;
    nn_layer_window(s->l, &g);
    if (s->dx)
        nn_maxpool2d_backward(s->dx, s->dy, s->x, s->n, &g);
    return NN_OK;
}

static void max_forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    (void)c;
    nn_window g;
    nn_layer_window(l, &g);
    size_t plane = (size_t)g.h * g.w, oplane = (size_t)g.oh * g.ow;
    for (size_t pc = 0; pc < (size_t)n * g.c; pc++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++)
                y[pc * oplane + (size_t)oy * g.ow + ox] = x[pc * plane + argmax64(x + pc * plane, &g, oy, ox)];
}

/* A window whose maximum moved to another input. */
static int max_kinked64(const nn_layer *l, const nn_pass64 *c, const double *x0, const double *x1, int n)
{
    (void)c;
    nn_window g;
    nn_layer_window(l, &g);
    size_t plane = (size_t)g.h * g.w;
    for (size_t pc = 0; pc < (size_t)n * g.c; pc++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++)
                if (argmax64(x0 + pc * plane, &g, oy, ox) != argmax64(x1 + pc * plane, &g, oy, ox))
                    return 1;
    return 0;
}

static void avg_forward(const nn_layer_pass *s)
{
    nn_window g;
    nn_layer_window(s->l, &g);
    nn_avgpool2d_forward(s->y, s->x, s->n, &g);
}

static nn_status avg_backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    nn_window g;
    nn_layer_window(s->l, &g);
    if (s->dx)
        nn_avgpool2d_backward(s->dx, s->dy, s->n, &g);
    return NN_OK;
}

static void avg_forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    (void)c;
    nn_window g;
    nn_layer_window(l, &g);
    size_t plane = (size_t)g.h * g.w, oplane = (size_t)g.oh * g.ow;
    for (size_t pc = 0; pc < (size_t)n * g.c; pc++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++) {
                double s = 0;
                int y0, y1, x0, x1;
                window_span(&g, oy, ox, &y0, &y1, &x0, &x1);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += x[pc * plane + (size_t)iy * g.w + ix];
                y[pc * oplane + (size_t)oy * g.ow + ox] = s / (g.k * g.k);
            }
}

const nn_layer_ops nn_maxpool2d_ops = {
    .kind = NN_MAXPOOL2D, .name = "MaxPool2d", .settings = settings, .plan = plan, .describe = describe,
    .forward = max_forward, .backward = max_backward, .forward64 = max_forward64, .kinked64 = max_kinked64,
};

const nn_layer_ops nn_avgpool2d_ops = {
    .kind = NN_AVGPOOL2D, .name = "AvgPool2d", .settings = settings, .plan = plan, .describe = describe,
    .forward = avg_forward, .backward = avg_backward, .forward64 = avg_forward64,
};
