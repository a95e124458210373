/* pool_kernels.h - MaxPool2d's 2x2, stride-2 windows (no padding), the
 * common case, inside the pool module: the plain-C reference
 * (layers/pool2d.c), AVX2 kernels (pool_avx2.c), 4 windows a vector, and
 * AVX-512 kernels (pool_avx512.c), 8 windows a vector; pool2d.c runs the
 * one cpu.h chooses. All three take each window's first maximum, row by
 * row (the first of equals, a NaN first kept), so their figures are the
 * same to the bit. */
#ifndef NN_POOL_KERNELS_H
#define NN_POOL_KERNELS_H

#include "cpu.h"
#include "layers.h"

/* The maximum of the window (a b over c d, a at r0[0], c at r1[0]) and,
 * in *at, its place: 0..3 for a..d, the first of equals, a NaN first
 * kept (each select is (v > m ? v : m)). */
static inline float nn_maxpool_2x2_window(const float *r0, const float *r1, int *at)
{
    float a = r0[0], b = r0[1], c = r1[0], d = r1[1];
    int place = b > a;
    float m = place ? b : a;
    place = c > m ? 2 : place;
    m = c > m ? c : m;
    place = d > m ? 3 : place;
    *at = place;
    return d > m ? d : m;
}

/* dx's window (a b over c d) gets v at its place, 0 elsewhere. */
static inline void nn_maxpool_2x2_route(float *d0, float *d1, int at, float v)
{
    d0[0] = at == 0 ? v : 0.0f;
    d0[1] = at == 1 ? v : 0.0f;
    d1[0] = at == 2 ? v : 0.0f;
    d1[1] = at == 3 ? v : 0.0f;
}

#ifdef NN_HAVE_X86_KERNELS
/* y (n c x oh x ow) = each window's maximum of x (n c x h x w) */
void nn_maxpool_2x2_forward_avx2(float *y, const float *x, int n, const nn_window *g);
void nn_maxpool_2x2_forward_avx512(float *y, const float *x, int n, const nn_window *g);
/* dx (n c x h x w) = dy (n c x oh x ow) at each window's first maximum, 0 elsewhere */
void nn_maxpool_2x2_backward_avx2(float *dx, const float *dy, const float *x, int n, const nn_window *g);
void nn_maxpool_2x2_backward_avx512(float *dx, const float *dy, const float *x, int n, const nn_window *g);
#endif

#endif
