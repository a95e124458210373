/* sparse_plain.c - the reference kernels of the sparse products: plain C,
 * any CPU (sparse_kernels.h). */
#include <string.h>

#include "sparse_kernels.h"

/* Appends row's non-zeros to col and val, which have room for in + 16
 * more; returns how many. */
size_t nn_csr_append_plain(int32_t *restrict col, float *restrict val, const float *restrict row, int in)
{
    size_t nz = 0;
    for (int i = 0; i < in; i++) {
        if (row[i] != 0.0f) {
            col[nz] = i;
            val[nz++] = row[i];
        }
    }
    return nz;
}

/* Any CPU. */
static void tile_plain(const nn_csr_product *p, const float *bp, int j, int width, int r0, int r1)
{
    const nn_csr *a = p->a;
    for (int r = r0; r < r1; r++) {
        float sums[NN_CSR_TILE];
        const float *init = nn_csr_tile_init(p, r, j);
        for (int q = 0; q < p->tile; q++)
            sums[q] = init && q < width ? init[q] : 0.0f;
        for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
            const float v = a->val[k], *brow = bp + (size_t)a->col[k] * p->tile;
            for (int q = 0; q < p->tile; q++)
                sums[q] += v * brow[q];
        }
        memcpy(p->c + (size_t)r * p->ldc + j, sums, (size_t)width * sizeof *sums);
    }
}

static void scatter_plain(float *part, int ldp, const nn_csr *a, const float *b, int ldb, int n, int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        const float *brow = b + (size_t)r * ldb;
        for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
            float *d = part + (size_t)a->col[k] * ldp;
            const float v = a->val[k];
            for (int q = 0; q < n; q++)
                d[q] += v * brow[q];
        }
    }
}

const nn_csr_kernels nn_csr_plain_kernels = {tile_plain, scatter_plain, nn_csr_append_plain, 32};
