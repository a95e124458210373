/* data_kernels.h - gathering an image's non-zeros, inside the data
 * module: the plain-C reference (data.c) and AVX2 and AVX-512 variants
 * (data_avx2.c, data_avx512.c); data.c runs the one cpu.h chooses. */
#ifndef NN_DATA_KERNELS_H
#define NN_DATA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* Appends the non-zeros of src (dim pixels, the first in column first_col),
 * times scale, to col/val, which have room for dim more; returns how many. */
size_t nn_append_nonzeros(int32_t *restrict col, float *restrict val, const uint8_t *restrict src, int dim,
                          float scale, int first_col);
#ifdef NN_HAVE_X86_KERNELS
/* The same from column 0, eight or sixteen pixels at a time (room for 8
 * or 16 more). */
size_t nn_append_nonzeros_avx2(int32_t *col, float *val, const uint8_t *src, int dim, float scale);
size_t nn_append_nonzeros_avx512(int32_t *col, float *val, const uint8_t *src, int dim, float scale);
#endif

#endif
