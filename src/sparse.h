/* sparse.h - a batch given by its non-zero entries, and the products of a
 * first Linear layer with it.
 *
 * MNIST's images are four-fifths zeros. A first layer that skips them does a
 * fifth of the multiply-adds in its forward pass (x w) and in its weight
 * gradient (x^T dy), the two largest products of a small network. */
#ifndef NN_SPARSE_H
#define NN_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "blocks.h"

/* A matrix's non-zero entries by row (compressed sparse rows). */
typedef struct {
    int32_t *row_start; /* owned: rows + 1 offsets into col and val */
    int32_t *col;       /* owned: column of each non-zero */
    float *val;         /* owned: its value */
    int rows, cols;
    size_t cap_rows, cap_nz;
} nn_csr;

void nn_csr_free(nn_csr *c);

/* Makes room for rows rows and nz non-zeros; 0 if memory ran out. */
int nn_csr_reserve(nn_csr *c, int rows, size_t nz);

/* Fills c with the non-zeros of x (n x in) unless more than max_density of
 * them are non-zero; returns 1 if filled, 0 if x is too dense (or memory
 * ran out: the dense kernels are used then). */
int nn_csr_from_dense(nn_csr *c, const float *x, int n, int in, double max_density);

/* c (a->rows x n, row stride ldc) = init + a b, where b is a->cols x n with
 * row stride ldb, and init is c itself when accumulate, else the n values of
 * bias in every row, else 0. scratch holds nn_csr_mul_scratch(a, n) floats.
 * Uses AVX-512 or AVX2 where the CPU has them; the result does not depend on
 * the number of threads. */
void nn_csr_mul(float *c, int ldc, const nn_csr *a, const float *b, int ldb, int n,
                const float *bias, int accumulate, float *scratch);
size_t nn_csr_mul_scratch(const nn_csr *a, int n);

/* b (rows x n, row stride ldb) laid out as nn_csr_mul packs it, all tiles
 * at once (nn_csr_packed_size floats), for products with several matrices
 * a that share one b: the first layer's weights, packed once a batch and
 * used by every part of it. */
size_t nn_csr_packed_size(int rows, int n);
/* 0 when b of n columns (row stride n) is laid out packed already. */
int nn_csr_pack_needed(int n);
void nn_csr_pack(float *packed, const float *b, int rows, int ldb, int n);
void nn_csr_mul_packed(float *c, int ldc, const nn_csr *a, const float *packed, int n, const float *bias,
                       int accumulate);

/* The kernels the products use are cpu.h's choice (nn_cpu_force). */

/* 1 if a product of this many multiply-adds (non-zeros times columns), or
 * a weight gradient by scattering, runs on several threads. */
int nn_csr_threaded(double macs);

/* Rows per block of a batch's transpose: a block's rows of the other factor
 * (512 x 16 floats, 32 KiB) stay in L1 while its columns are summed. */
#define NN_COL_BLOCK 512

/* A batch's non-zeros by row, and by column once a product needs them. */
typedef struct {
    nn_csr by_row;
    nn_csr *by_col;     /* owned: the transposes of by_row's blocks of NN_COL_BLOCK rows */
    int nblocks, cap_blocks;
    int has_cols;       /* by_col holds the current by_row's blocks; cleared by
                           whoever refills by_row */
    int reused;         /* the same batch goes through many products (a cached
                           full batch): its transpose is worth keeping */
    nn_pixel_blocks blocks;
    int by_blocks;      /* the batch is held in blocks, not by_row and by_col
                           (nn_blocks_policy) */
} nn_sparse_batch;

void nn_sparse_batch_free(nn_sparse_batch *s);

/* Whether the weight gradient of a first layer of n outputs is faster taken
 * through the batch's transpose than by scattering the batch's rows, for a
 * batch used once (measured: 10 and 32 columns scatter faster than a
 * transpose made for one product; 512 do not). */
int nn_sparse_transpose_pays(int n);

/* Fills by_col from by_row (has_cols set); 0 if memory ran out. A batch
 * transposed ahead of time has its weight gradient taken through by_col. */
int nn_sparse_batch_transpose(nn_sparse_batch *s);

/* c (x's width x n, row stride ldc) += x^T b (= with accumulate 0), where b
 * has x's rows and n columns (row stride ldb). scratch holds nn_sparse_tmul_scratch(x, n)
 * floats. 0 if memory ran out. Independent of the number of threads. */
int nn_sparse_tmul(float *c, int ldc, nn_sparse_batch *x, const float *b, int ldb, int n, int accumulate,
                   float *scratch);
size_t nn_sparse_tmul_scratch(const nn_sparse_batch *x, int n);

#endif
