/* pool_kernels.h - MaxPool2d's 2x2, stride-2 windows (no padding), the
 * common case, inside the pool module: the plain-C reference
 * (layers/pool2d.c) and AVX-512 kernels (pool_avx512.c), 8 windows a
 * vector; pool2d.c runs the one cpu.h chooses. Both take each window's
 * first maximum, row by row (the first of equals, a NaN first kept), so
 * their figures are the same to the bit. */
#ifndef NN_POOL_KERNELS_H
#define NN_POOL_KERNELS_H

#include "cpu.h"
#include "layers.h"

#ifdef NN_HAVE_X86_KERNELS
/* y (n c x oh x ow) = each window's maximum of x (n c x h x w) */
void nn_maxpool_2x2_forward_avx512(float *y, const float *x, int n, const nn_window *g);
/* dx (n c x h x w) = dy (n c x oh x ow) at each window's first maximum, 0 elsewhere */
void nn_maxpool_2x2_backward_avx512(float *dx, const float *dy, const float *x, int n, const nn_window *g);
#endif

#endif
