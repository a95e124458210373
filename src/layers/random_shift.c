/* random_shift.c - RandomShift(k): data augmentation. In training, each
 * sample's c x h x w image moves by a whole number of rows and of columns,
 * each drawn uniformly from -k..k for the sample (all its channels alike),
 * the pixels moved in filled with zeros; in evaluation it passes the input
 * unchanged. The shifts come from the model's random state (as Dropout's
 * masks), so a resumed run draws the same ones. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model.h"

static const nn_setting settings[] = {
    {"shift", NN_SET_INT, offsetof(nn_layer, shift), 1, 0, 0, NN_MAX_FEATURES, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->ishape[0] < 0 || (l->ishape[1] == 1 && l->ishape[2] == 1))
        return nn_fail(err, NN_ESHAPE, "%s: needs c x h x w inputs (put nn.Reshape{c, h, w} before it)", desc);
    int side = l->ishape[1] < l->ishape[2] ? l->ishape[1] : l->ishape[2];
    if (l->shift < 0 || l->shift >= side)
        return nn_fail(err, NN_EARG, "%s: shift must be in 0..%d (below the smaller side of a %dx%d input), got %d",
                       desc, side - 1, l->ishape[1], l->ishape[2], l->shift);
    return nn_layer_plan_same(l, desc, err);
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "RandomShift(%d)", l->shift);
}

static size_t aux_per_row(const nn_layer *l, int width, int training)
{
    (void)width;
    return training && l->shift > 0 ? 2 : 0;
}

/* Each row's shift down then right, in -shift..shift, rows in order. */
static void draw(const nn_layer *l, float *aux, size_t count, nn_rng *rng)
{
    uint64_t choices = 2 * (uint64_t)l->shift + 1;
    for (size_t i = 0; i < count; i++)
        aux[i] = (float)((int)nn_rng_below(rng, choices) - l->shift);
}

/* dst[i][j] = src[i - down][j - right] where that is inside the h x w
 * plane, else 0 (plane); then y = x with each of n samples shifted by sign
 * times its drawn shift, every channel alike (rows). On floats and, for
 * numerical gradients, on doubles. The opposite shift is its adjoint,
 * which backward applies to dy. */
#define DEFINE_SHIFT(plane, rows, T)                                                                    \
    static void plane(T *dst, const T *src, int h, int w, int down, int right)                         \
    {                                                                                                  \
        int j0 = right > 0 ? right : 0, j1 = right < 0 ? w + right : w;                                \
        for (int i = 0; i < h; i++) {                                                                  \
            T *row = dst + (size_t)i * w;                                                              \
            int si = i - down;                                                                         \
            if (si < 0 || si >= h) {                                                                   \
                memset(row, 0, (size_t)w * sizeof *row);                                               \
                continue;                                                                              \
            }                                                                                          \
            memset(row, 0, (size_t)j0 * sizeof *row);                                                  \
            memcpy(row + j0, src + (size_t)si * w + (j0 - right), (size_t)(j1 - j0) * sizeof *row);    \
            memset(row + j1, 0, (size_t)(w - j1) * sizeof *row);                                       \
        }                                                                                              \
    }                                                                                                  \
    static void rows(T *y, const T *x, const nn_layer *l, const float *aux, int n, int sign)           \
    {                                                                                                  \
        int c = l->ishape[0], h = l->ishape[1], w = l->ishape[2];                                      \
        size_t size = (size_t)h * w;                                                                   \
        for (int r = 0; r < n; r++) {                                                                  \
            int down = sign * (int)aux[2 * r], right = sign * (int)aux[2 * r + 1];                     \
            for (int ch = 0; ch < c; ch++) {                                                           \
                size_t at = ((size_t)r * c + ch) * size;                                               \
                plane(y + at, x + at, h, w, down, right);                                              \
            }                                                                                          \
        }                                                                                              \
    }
DEFINE_SHIFT(shift_plane, shift_rows, float)
DEFINE_SHIFT(shift_plane64, shift_rows64, double)

static void forward(const nn_layer_pass *s)
{
    if (s->training && s->l->shift > 0)
        shift_rows(s->y, s->x, s->l, s->aux, s->n, 1);
    else
        memcpy(s->y, s->x, (size_t)s->n * (size_t)s->out_w * sizeof *s->y);
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    if (!s->dx)
        return NN_OK;
    if (s->training && s->l->shift > 0)
        shift_rows(s->dx, s->dy, s->l, s->aux, s->n, -1);
    else
        memcpy(s->dx, s->dy, (size_t)s->n * (size_t)s->out_w * sizeof *s->dx);
    return NN_OK;
}

static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    if (c->mask)
        shift_rows64(y, x, l, c->mask, n, 1);
    else
        memcpy(y, x, (size_t)n * (size_t)c->out_w * sizeof *y);
}

const nn_layer_ops nn_random_shift_ops = {
    .kind = NN_RANDOM_SHIFT, .name = "RandomShift", .settings = settings, .plan = plan, .describe = describe,
    .aux_per_row = aux_per_row, .draw = draw, .forward = forward, .backward = backward, .forward64 = forward64,
};
