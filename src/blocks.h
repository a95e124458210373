/* blocks.h - a batch of images by blocks of 16 pixels, and the products of
 * a narrow first Linear layer (at most 16 outputs) with it.
 *
 * By its non-zeros (sparse.h), every non-zero pixel costs three loads: its
 * column, its value and the weights' row. A narrow layer's weights fit in
 * registers' worth of lanes the other way round: a block of 16 pixels
 * (bytes, scaled as they are loaded) times each output's 16 weights is one
 * multiply-add per output, and an MNIST image has 29 of its 49 blocks
 * non-zero. The batch is kept twice, by row for the forward product and by
 * block for the weight gradient, so that both read their bytes in order.
 *
 * The zero pixels of a non-zero block are multiplied as the dense product
 * multiplies them: an infinite or NaN weight there gives NaN, as it does
 * in the dense product; blocks all zero are skipped, as by non-zeros. */
#ifndef NN_BLOCKS_H
#define NN_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define NN_BLOCK 16
/* The widest layer the kernels hold in registers. */
#define NN_BLOCKS_MAX_OUT 16
/* A row's blocks are the bits of one 64-bit mask. */
#define NN_BLOCKS_MAX_DIM (64 * NN_BLOCK)

typedef struct {
    int rows, dim, nblocks;
    float scale;             /* each pixel's byte times scale is its value */
    uint64_t *mask;          /* owned, rows: bit b set when block b has a non-zero pixel */
    int32_t *row_start;      /* owned, rows + 1: each row's first block in pix */
    uint8_t *pix;            /* owned: the rows' non-zero blocks in order, NN_BLOCK bytes each
                                (past dim: 0) */
    int32_t *block_row;      /* owned: the rows that have block b, increasing, block after block */
    uint8_t *block_pix;      /* owned: their bytes of block b */
    size_t cap_rows, cap_pix, cap_entries;
    int32_t block_start[NN_BLOCKS_MAX_DIM / NN_BLOCK + 1]; /* nblocks + 1: each block's first entry
                                                              in block_row and block_pix */
} nn_pixel_blocks;

void nn_blocks_free(nn_pixel_blocks *b);

/* Makes b an empty batch of rows images of dim pixels (1 <= dim <=
 * NN_BLOCKS_MAX_DIM), each byte times scale; room for every block of
 * every row, so that the rows need no more. 0 if memory ran out or the
 * batch has more than INT32_MAX blocks (34 GB of the widest images). */
int nn_blocks_begin(nn_pixel_blocks *b, int rows, int dim, float scale);
/* Row r (0, 1, 2, ... in order) from its dim bytes. */
void nn_blocks_add_row(nn_pixel_blocks *b, int r, const uint8_t *src);
/* Lays the rows out by block too, once every row is added; 0 if memory
 * ran out. */
int nn_blocks_finish(nn_pixel_blocks *b);

/* The layer's weights w (dim x n, row stride n) laid out for the
 * products block after block: block b's weights of output k are the
 * NN_BLOCK floats at (b n + k) NN_BLOCK, 0 past dim. */
size_t nn_blocks_packed_size(int dim, int n);
void nn_blocks_pack(float *wt, const float *w, int dim, int n);

/* y (x->rows x n, row stride ldy; 1 <= n <= NN_BLOCKS_MAX_OUT, or nothing
 * is done) = x w + bias
 * (bias may be NULL), from wt packed by nn_blocks_pack. Each of a row's
 * sums goes lane by lane over its blocks in order, then the 16 lanes are
 * added halves to halves (8 + 8, 4 + 4, 2 + 2, 1 + 1), then the bias: the
 * figures do not depend on the number of threads, nor on the kernels
 * (cpu.h) that run. */
void nn_blocks_mul(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, int n, const float *bias);
/* dw (x->dim x n, row stride n) = x^T dy (+= with accumulate), dy being
 * x->rows x n with row stride ldy: each weight's sum goes over the rows
 * that have its block, in order. */
void nn_blocks_tmul(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int n, int accumulate);

/* 1 where the products by blocks beat those by non-zeros: with the
 * AVX-512 kernels (cpu.h), which hold a block in one register. */
int nn_blocks_fast(void);

#endif
