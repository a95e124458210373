/* conv_winograd.h - Conv2d's Winograd path, beside its reference (im2col
 * and sgemm, conv2d.c): 3x3 kernels at stride 1 by Winograd's minimal
 * filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015), which computes each 4x4 block
 * of outputs ("tile") from a 6x6 block of the padded input with 36
 * products a pair of channels instead of 144.
 *
 * Forward: V = B'dB for each tile d of each input channel, U = GgG' for
 * each kernel g, M = U V position by position (36 products of out x c by
 * c x tiles), y = A'MA + bias. Backward: Z = A dy A' for each tile of dy,
 * dU = Z V' and dV = U' Z (36 products each), dw = G'dU G, dx = B dV B'
 * added over the overlapping tiles. Blocks of tiles (whole samples, or
 * rows of tiles of one) are the columns of the products: M's and dV's by
 * the AVX2 small products (gemm_kernels.h) where the kernels are AVX2,
 * else by sgemm, as dU's always are. The transforms are plain loops over
 * all of a block's tiles that GCC vectorizes (hot.h). The figures differ
 * from the reference's by float rounding, which the transforms' factors
 * (up to 8 and down to 1/24) enlarge: some 1e-5 of the largest value
 * against a few units in the last place (test_layers.c). */
#ifndef NN_CONV_WINOGRAD_H
#define NN_CONV_WINOGRAD_H

#include <stddef.h>

#include "layers.h"

/* A tile's positions: the products a pair of channels. */
#define NN_WINOGRAD_POSITIONS 36

/* 1 if the window is one the path computes (3x3 kernel, stride 1). */
int nn_winograd_fits(const nn_window *g);
/* Floats of scratch the two functions below take for out channels. */
size_t nn_winograd_scratch(const nn_window *g, int out);
/* y (n x out x oh x ow) = the convolution of x (n x c x h x w) with w
 * (out x c x 3 x 3) + b (NULL: none) */
void nn_winograd_forward(float *y, const float *x, const float *w, const float *b, float *scratch, int n,
                         int out, const nn_window *g);
/* dw (+)= the weight gradient, db (+)= dy's sums (db NULL: none), over n
 * samples (accumulate 0: set, else added); dx (NULL: none) = the input
 * gradient */
void nn_winograd_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          float *scratch, int n, int out, const nn_window *g, int accumulate);

#endif
