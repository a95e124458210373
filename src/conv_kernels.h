/* conv_kernels.h - Conv2d's direct path, beside its reference (im2col and
 * sgemm, conv2d.c): stride-1 convolutions straight from a padded copy of
 * the input, with AVX2 and AVX-512 kernels (conv_avx2.c, conv_avx512.c),
 * each a table of the same functions; conv2d.c takes this path with
 * either (nn_cpu_force(NN_CPU_PLAIN) gives the reference, as the tests
 * do).
 *
 * A sample's input is copied into zero-padded planes of hp x wp (hp = h +
 * 2 pad, wp = w + 2 pad), and the output is computed "wide": oh rows of
 * wp positions, q = oy wp + ox, the first ow of each row the output's.
 * Window tap (ch, ky, kx) then reads the padded input at ch hp wp + ky wp
 * + kx + q: a contiguous run for every tap. The columns ox >= ow read
 * across rows and are dropped as the output is stored; the wide
 * positions are rounded up to NN_DIRECT_LANES and the padded copy ends
 * with zeros enough for them. The taps of rows that fall in the padding
 * are left out (they add zeros).
 * dx is the forward convolution of dy, padded by k - 1 - pad, with the
 * kernels turned half a turn and in and out swapped. */
#ifndef NN_CONV_KERNELS_H
#define NN_CONV_KERNELS_H

#include <stddef.h>

#include "cpu.h"
#include "layers.h"

#define NN_DIRECT_LANES 16

/* Floats of a sample's padded copy, and of one channel's wide rows. */
size_t nn_direct_padded(const nn_window *g);
size_t nn_direct_wide(const nn_window *g);
/* The window rows [*ky0, *ky1) that reach the input's rows, not its
 * padding, for some of the outputs in rows first..last: the other rows'
 * taps only add zeros. */
void nn_direct_live_rows(const nn_window *g, int first, int last, int *ky0, int *ky1);
/* Where tap t (ch k k + ky k + kx) of the window at wide position 0 reads
 * a sample's padded copy. */
size_t nn_direct_tap_offset(const nn_window *g, int t);
/* wf (c x out x k x k) = w (out x c x k x k), each kernel turned half a turn */
void nn_direct_flip(float *wf, const float *w, int out, int c, int k);
/* The window over dy (out x oh x ow, padded by k - 1 - pad) whose
 * convolution with the turned kernels is dx (c x h x w). */
void nn_direct_transpose_window(nn_window *gt, const nn_window *g, int out);

/* The padded and wide layouts, written by portable loops. */
void nn_direct_pad(float *xp, const float *x, const nn_window *g);
void nn_direct_widen(float *dyw, const float *dy, const nn_window *g, int out);

/* The samples whose weight gradients the direct path sums at once. */
#define NN_DIRECT_CHUNK 16

/* A CPU's kernels of the path. */
typedef struct {
    /* xp (padded floats) = x (c x h x w) in its padded planes, zeros around and after */
    void (*pad)(float *xp, const float *x, const nn_window *g);
    /* dyw (out x wide) = dy (out x oh x ow) in wide rows, zeros elsewhere */
    void (*widen)(float *dyw, const float *dy, const nn_window *g, int out);
    /* y (out x oh x ow) = w (out x c k k) * the windows of xp + b (b NULL:
     * none), each sum over the taps in order */
    void (*forward)(float *y, const float *xp, const float *w, const float *b, const nn_window *g, int out);
    /* dw (out x c k k) += dyw (out x wide) times the windows of xp, summed
     * over count samples (sample r's padded input at xp + r padded, its
     * wide dy at dyw + r out wide), each sum lane by lane over the samples
     * and positions in order, the lanes then added */
    void (*weight_grad)(float *dw, const float *dyw, const float *xp, const nn_window *g, int out, int count);
    /* db (out) += the sums of the same count samples' dyw, in the same order */
    void (*bias_grad)(float *db, const float *dyw, const nn_window *g, int out, int count);
} nn_direct_kernels;

#ifdef NN_HAVE_X86_KERNELS
extern const nn_direct_kernels nn_direct_avx2_kernels, nn_direct_avx512_kernels;
#endif

#endif
