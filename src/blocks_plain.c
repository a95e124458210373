/* blocks_plain.c - the reference kernels of the products by blocks: plain
 * C, any CPU (blocks_kernels.h). fmaf rounds each multiply-add once, as
 * the vector kernels' fused multiply-adds do. */
#include <math.h>
#include <string.h>

#include "blocks_kernels.h"

static void rows_plain(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, int n, const float *bias,
                       int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        float sums[NN_BLOCKS_MAX_OUT][NN_BLOCK];
        memset(sums, 0, sizeof sums);
        const uint8_t *px = x->pix + (size_t)x->row_start[r] * NN_BLOCK;
        for (uint64_t m = x->mask[r]; m; m &= m - 1, px += NN_BLOCK) {
            const float *w = wt + (size_t)__builtin_ctzll(m) * (size_t)n * NN_BLOCK;
            for (int l = 0; l < NN_BLOCK; l++) {
                float v = (float)px[l] * x->scale;
                for (int k = 0; k < n; k++)
                    sums[k][l] = fmaf(v, w[k * NN_BLOCK + l], sums[k][l]);
            }
        }
        for (int k = 0; k < n; k++) {
            float s = nn_blocks_fold(sums[k]);
            y[(size_t)r * (size_t)ldy + (size_t)k] = bias ? s + bias[k] : s;
        }
    }
}

static void cols_plain(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int n, int accumulate, int b0,
                       int b1)
{
    for (int b = b0; b < b1; b++) {
        float sums[NN_BLOCKS_MAX_OUT * NN_BLOCK];
        memset(sums, 0, sizeof sums);
        for (int32_t q = x->block_start[b]; q < x->block_start[b + 1]; q++) {
            const float *d = dy + (size_t)x->block_row[q] * (size_t)ldy;
            const uint8_t *px = x->block_pix + (size_t)q * NN_BLOCK;
            for (int l = 0; l < NN_BLOCK; l++) {
                float v = (float)px[l] * x->scale;
                for (int k = 0; k < n; k++)
                    sums[k * NN_BLOCK + l] = fmaf(v, d[k], sums[k * NN_BLOCK + l]);
            }
        }
        nn_blocks_store(dw, sums, x, n, accumulate, b);
    }
}

const nn_blocks_kernels nn_blocks_plain_kernels = {rows_plain, cols_plain};
