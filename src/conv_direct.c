/* conv_direct.c - the layout of Conv2d's direct path (conv_kernels.h):
 * the sizes of the padded copies and wide rows and their portable
 * writers, turned kernels, dx's window. */
#include "conv_kernels.h"

#include <string.h>

static size_t round_up(size_t n)
{
    return (n + NN_DIRECT_LANES - 1) / NN_DIRECT_LANES * NN_DIRECT_LANES;
}

size_t nn_direct_wide(const nn_window *g)
{
    return round_up((size_t)g->oh * (size_t)(g->w + 2 * g->pad));
}

size_t nn_direct_padded(const nn_window *g)
{
    size_t hp = (size_t)g->h + 2 * (size_t)g->pad, wp = (size_t)g->w + 2 * (size_t)g->pad;
    /* the last tap of the last block of lanes reads up to c hp wp + k + lanes - 3 */
    return (size_t)g->c * hp * wp + (size_t)g->k + NN_DIRECT_LANES;
}

void nn_direct_live_rows(const nn_window *g, int first, int last, int *ky0, int *ky1)
{
    int lo = g->pad - last, hi = g->pad + g->h - first; /* ky in [lo, hi) */
    *ky0 = lo > 0 ? lo : 0;
    *ky1 = hi < g->k ? hi : g->k;
}

size_t nn_direct_tap_offset(const nn_window *g, int t)
{
    size_t hp = (size_t)g->h + 2 * (size_t)g->pad, wp = (size_t)g->w + 2 * (size_t)g->pad;
    int k = g->k, ch = t / (k * k), ky = t / k % k, kx = t % k;
    return ((size_t)ch * hp + (size_t)ky) * wp + (size_t)kx;
}

void nn_direct_flip(float *wf, const float *w, int out, int c, int k)
{
    size_t kk = (size_t)k * k;
    for (int o = 0; o < out; o++)
        for (int ch = 0; ch < c; ch++)
            for (size_t t = 0; t < kk; t++)
                wf[((size_t)ch * out + o) * kk + (kk - 1 - t)] = w[((size_t)o * c + ch) * kk + t];
}

void nn_direct_transpose_window(nn_window *gt, const nn_window *g, int out)
{
    gt->c = out, gt->h = g->oh, gt->w = g->ow, gt->k = g->k, gt->s = 1, gt->pad = g->k - 1 - g->pad;
    gt->oh = g->h, gt->ow = g->w;
}

void nn_direct_pad(float *xp, const float *x, const nn_window *g)
{
    size_t w = (size_t)g->w, pad = (size_t)g->pad, wp = w + 2 * pad, hp = (size_t)g->h + 2 * pad;
    memset(xp, 0, nn_direct_padded(g) * sizeof *xp);
    for (int ch = 0; ch < g->c; ch++)
        for (int iy = 0; iy < g->h; iy++)
            memcpy(xp + ((size_t)ch * hp + pad + (size_t)iy) * wp + pad, x + ((size_t)ch * g->h + (size_t)iy) * w,
                   w * sizeof *xp);
}

void nn_direct_widen(float *dyw, const float *dy, const nn_window *g, int out)
{
    size_t wide = nn_direct_wide(g), wp = (size_t)g->w + 2 * (size_t)g->pad, ow = (size_t)g->ow;
    memset(dyw, 0, (size_t)out * wide * sizeof *dyw);
    for (int o = 0; o < out; o++)
        for (int oy = 0; oy < g->oh; oy++)
            memcpy(dyw + (size_t)o * wide + (size_t)oy * wp, dy + ((size_t)o * g->oh + (size_t)oy) * ow,
                   ow * sizeof *dyw);
}
