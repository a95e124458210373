/* blocks_kernels.h - the kernels of the products by blocks, inside the
 * blocks module: the reference in plain C (blocks_plain.c), which every
 * CPU runs and the other is tested against bit for bit, and the AVX-512
 * variant (blocks_avx512.c), each a table of the same functions. blocks.c
 * takes the table of cpu.h's choice (nn_cpu_force forces one, as the
 * tests do). */
#ifndef NN_BLOCKS_KERNELS_H
#define NN_BLOCKS_KERNELS_H

#include <stdint.h>

#include "blocks.h"
#include "cpu.h"

/* Rows [r0, r1) of nn_blocks_mul. */
typedef void (*nn_blocks_rows_fn)(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, int n,
                                  const float *bias, int r0, int r1);
/* The weights of blocks [b0, b1) of nn_blocks_tmul. */
typedef void (*nn_blocks_cols_fn)(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int n,
                                  int accumulate, int b0, int b1);

typedef struct {
    nn_blocks_rows_fn rows;
    nn_blocks_cols_fn cols;
} nn_blocks_kernels;

/* The sum of 16 lanes, halves to halves. */
static inline float nn_blocks_fold(const float *s)
{
    float t8[8], t4[4];
    for (int l = 0; l < 8; l++)
        t8[l] = s[l] + s[l + 8];
    for (int l = 0; l < 4; l++)
        t4[l] = t8[l] + t8[l + 4];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

/* Block b's weight sums (sums[k * NN_BLOCK + l]: output k, pixel l of the
 * block) into dw's rows, those inside the image. */
static inline void nn_blocks_store(float *dw, const float *sums, const nn_pixel_blocks *x, int n, int accumulate,
                                   int b)
{
    for (int l = 0; l < NN_BLOCK && b * NN_BLOCK + l < x->dim; l++) {
        float *row = dw + (size_t)(b * NN_BLOCK + l) * (size_t)n;
        for (int k = 0; k < n; k++)
            row[k] = accumulate ? row[k] + sums[k * NN_BLOCK + l] : sums[k * NN_BLOCK + l];
    }
}

extern const nn_blocks_kernels nn_blocks_plain_kernels;
#ifdef NN_HAVE_X86_KERNELS
extern const nn_blocks_kernels nn_blocks_avx512_kernels;
#endif

#endif
