/* gemm_kernels.h - products of small matrices without sgemm's packing
 * and its pass that zeroes c (beta = 0), for Winograd's per-position
 * products (conv_winograd.c), whose c outgrows L2 beside its factors.
 * The AVX2 kernels (gemm_avx2.c); the reference is nn_gemm (tensor.h),
 * which conv_winograd.c takes with other kernels. All matrices row-major. */
#ifndef NN_GEMM_KERNELS_H
#define NN_GEMM_KERNELS_H

#include "cpu.h"

#ifdef NN_HAVE_X86_KERNELS
/* c (m x n) = op(a) (m x k) b (k x n), op(a) = a (m x k, row stride lda)
 * or a' (a: k x m, row stride lda); 6 rows by 16 columns of sums in
 * registers, each sum over k in order. */
void nn_small_gemm_avx2(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                        int ldc);
#endif

#endif
