/* blocks.c - a batch of images by blocks of 16 pixels, and the products of
 * a narrow first layer with it (blocks.h). */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

#include "blocks_kernels.h"
#include "sparse.h"
#include "tensor.h"

void nn_blocks_free(nn_pixel_blocks *b)
{
    free(b->mask);
    free(b->row_start);
    free(b->pix);
    free(b->block_row);
    free(b->block_pix);
    memset(b, 0, sizeof *b);
}

/* *p holds at least n things of size bytes (cap of them now); what it held
 * is not kept. 0 if memory ran out. */
static int room(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap && *p)
        return 1;
    free(*p);
    *p = nn_alloc_large(n * size);
    *cap = *p ? n : 0;
    return *p != NULL;
}

int nn_blocks_begin(nn_pixel_blocks *b, int rows, int dim, float scale)
{
    if (rows < 0 || dim < 1 || dim > NN_BLOCKS_MAX_DIM)
        return 0;
    int nblocks = (dim + NN_BLOCK - 1) / NN_BLOCK;
    size_t most = (size_t)rows * (size_t)nblocks;
    if (most > INT32_MAX)
        return 0;
    /* mask and row_start share cap_rows */
    size_t cap_mask = b->cap_rows, cap_start = b->cap_rows;
    int ok = room((void **)&b->mask, &cap_mask, (size_t)rows + 1, sizeof *b->mask) &&
             room((void **)&b->row_start, &cap_start, (size_t)rows + 1, sizeof *b->row_start);
    b->cap_rows = cap_mask < cap_start ? cap_mask : cap_start;
    if (!ok || !room((void **)&b->pix, &b->cap_pix, most + 1, NN_BLOCK))
        return 0;
    b->rows = rows;
    b->dim = dim;
    b->nblocks = nblocks;
    b->scale = scale;
    b->row_start[0] = 0;
    return 1;
}

void nn_blocks_add_row(nn_pixel_blocks *b, int r, const uint8_t *src)
{
    uint8_t *dst = b->pix + (size_t)b->row_start[r] * NN_BLOCK;
    uint64_t mask = 0;
    for (int c = 0; c < b->nblocks; c++) {
        int len = b->dim - c * NN_BLOCK < NN_BLOCK ? b->dim - c * NN_BLOCK : NN_BLOCK;
        uint8_t block[NN_BLOCK] = {0};
        memcpy(block, src + (size_t)c * NN_BLOCK, (size_t)len);
        uint64_t half[2];
        memcpy(half, block, sizeof half);
        if (half[0] | half[1]) {
            mask |= (uint64_t)1 << c;
            memcpy(dst, block, NN_BLOCK);
            dst += NN_BLOCK;
        }
    }
    b->mask[r] = mask;
    b->row_start[r + 1] = b->row_start[r] + __builtin_popcountll(mask);
}

int nn_blocks_finish(nn_pixel_blocks *b)
{
    size_t entries = (size_t)b->row_start[b->rows];
    /* block_row and block_pix share cap_entries */
    size_t cap_row = b->cap_entries, cap_pix = b->cap_entries;
    int ok = room((void **)&b->block_row, &cap_row, entries + 1, sizeof *b->block_row) &&
             room((void **)&b->block_pix, &cap_pix, entries + 1, NN_BLOCK);
    b->cap_entries = cap_row < cap_pix ? cap_row : cap_pix;
    if (!ok)
        return 0;
    /* Counting sort by block: cursor[c] is block c's next entry. */
    int32_t cursor[NN_BLOCKS_MAX_DIM / NN_BLOCK] = {0};
    for (int r = 0; r < b->rows; r++)
        for (uint64_t m = b->mask[r]; m; m &= m - 1)
            cursor[__builtin_ctzll(m)]++;
    int32_t at = 0;
    for (int c = 0; c < b->nblocks; c++) {
        b->block_start[c] = at;
        at += cursor[c];
        cursor[c] = b->block_start[c];
    }
    b->block_start[b->nblocks] = at;
    for (int r = 0; r < b->rows; r++) {
        const uint8_t *px = b->pix + (size_t)b->row_start[r] * NN_BLOCK;
        for (uint64_t m = b->mask[r]; m; m &= m - 1, px += NN_BLOCK) {
            int32_t q = cursor[__builtin_ctzll(m)]++;
            b->block_row[q] = r;
            memcpy(b->block_pix + (size_t)q * NN_BLOCK, px, NN_BLOCK);
        }
    }
    return 1;
}

size_t nn_blocks_packed_size(int dim, int n)
{
    return (size_t)n * (size_t)((dim + NN_BLOCK - 1) / NN_BLOCK) * NN_BLOCK;
}

void nn_blocks_pack(float *wt, const float *w, int dim, int n)
{
    int nblocks = (dim + NN_BLOCK - 1) / NN_BLOCK;
    for (int b = 0; b < nblocks; b++)
        for (int k = 0; k < n; k++) {
            float *dst = wt + ((size_t)b * (size_t)n + (size_t)k) * NN_BLOCK;
            for (int l = 0; l < NN_BLOCK; l++) {
                int j = b * NN_BLOCK + l;
                dst[l] = j < dim ? w[(size_t)j * (size_t)n + (size_t)k] : 0.0f;
            }
        }
}

/* The table of cpu.h's choice. */
static const nn_blocks_kernels *pick_kernels(void)
{
#ifdef NN_HAVE_X86_KERNELS
    if (nn_cpu_kernels() == NN_CPU_AVX512)
        return &nn_blocks_avx512_kernels;
#endif
    return &nn_blocks_plain_kernels;
}

int nn_blocks_fast(void)
{
    return pick_kernels() != &nn_blocks_plain_kernels;
}

/* The threads of a product of the batch's blocks through n outputs: the
 * sparse products' rule (sparse.h), by multiply-adds. */
static int product_threads(const nn_pixel_blocks *x, int n)
{
    double macs = (double)x->row_start[x->rows] * NN_BLOCK * n;
    return nn_csr_threaded(macs) ? nn_get_threads() : 1;
}

void nn_blocks_mul(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, int n, const float *bias)
{
    if (n < 1 || n > NN_BLOCKS_MAX_OUT)
        return; /* nn_model_begin_batch refuses such a layer */
    nn_blocks_rows_fn rows = pick_kernels()->rows;
    int threads = product_threads(x, n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int t = 0; t < threads; t++)
        rows(y, ldy, x, wt, n, bias, (int)((long)x->rows * t / threads), (int)((long)x->rows * (t + 1) / threads));
}

/* The first block of thread t's share of the entries; the last share ends
 * at the last block, so that blocks no row has get their zero sums too. */
static int share_start(const nn_pixel_blocks *x, int t, int threads)
{
    if (t >= threads)
        return x->nblocks;
    double goal = (double)x->block_start[x->nblocks] * t / threads;
    int c = 0;
    while (c < x->nblocks && x->block_start[c] < goal)
        c++;
    return c;
}

void nn_blocks_tmul(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int n, int accumulate)
{
    if (n < 1 || n > NN_BLOCKS_MAX_OUT)
        return;
    nn_blocks_cols_fn cols = pick_kernels()->cols;
    int threads = product_threads(x, n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int t = 0; t < threads; t++)
        cols(dw, x, dy, ldy, n, accumulate, share_start(x, t, threads), share_start(x, t + 1, threads));
}
