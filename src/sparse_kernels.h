/* sparse_kernels.h - the sparse products' kernels, inside the sparse
 * module: a reference in plain C (sparse_plain.c), the one every CPU runs
 * and the others are tested against, and AVX2 and AVX-512 variants
 * (sparse_avx2.c, sparse_avx512.c), each a table of the same functions.
 * sparse.c takes the table of cpu.h's choice (nn_cpu_force forces one,
 * as the tests do). */
#ifndef NN_SPARSE_KERNELS_H
#define NN_SPARSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sparse.h"

#include "cpu.h"

/* The widest tile of columns (AVX-512's). */
#define NN_CSR_TILE 64

typedef struct {
    float *c;
    int ldc;
    const nn_csr *a;
    const float *b;
    int ldb, n;
    const float *bias;
    int accumulate;
    int tile;           /* 16, 32 or 64 columns */
} nn_csr_product;

/* Rows [r0, r1) of c, columns [j, j + width) (width <= p->tile), from the
 * packed tile bp (a->cols x p->tile). */
typedef void (*nn_csr_tile_fn)(const nn_csr_product *p, const float *bp, int j, int width, int r0, int r1);

/* part (a->cols x ldp, ldp = 16 or 32 >= n) += rows [r0, r1) of a, each
 * row's values times b's row. */
typedef void (*nn_csr_scatter_fn)(float *part, int ldp, const nn_csr *a, const float *b, int ldb, int n, int r0,
                                  int r1);
/* Appends row's non-zeros to col and val, which have room for in + 16
 * more; returns how many. */
typedef size_t (*nn_csr_append_fn)(int32_t *col, float *val, const float *row, int in);

typedef struct {
    nn_csr_tile_fn tile;
    nn_csr_scatter_fn scatter;
    nn_csr_append_fn append;
    int wide_tile;      /* the tile for more than 32 columns */
} nn_csr_kernels;

/* Where a row's sums start: c's values when accumulating, else the bias (or 0). */
static inline const float *nn_csr_tile_init(const nn_csr_product *p, int r, int j)
{
    if (p->accumulate)
        return p->c + (size_t)r * p->ldc + j;
    return p->bias ? p->bias + j : NULL;
}

size_t nn_csr_append_plain(int32_t *restrict col, float *restrict val, const float *restrict row, int in);

extern const nn_csr_kernels nn_csr_plain_kernels;
#ifdef NN_HAVE_X86_KERNELS
extern const nn_csr_kernels nn_csr_avx2_kernels, nn_csr_avx512_kernels;
#endif

#endif
