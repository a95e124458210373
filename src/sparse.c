#include "sparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sparse_kernels.h"
#include "tensor.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void nn_csr_free(nn_csr *c)
{
    free(c->row_start);
    free(c->col);
    free(c->val);
    memset(c, 0, sizeof *c);
}

int nn_csr_reserve(nn_csr *c, int rows, size_t nz)
{
    if (nz == 0)
        nz = 1;
    if ((size_t)rows + 1 > c->cap_rows) {
        int32_t *p = realloc(c->row_start, ((size_t)rows + 1) * sizeof *p);
        if (!p)
            return 0;
        c->row_start = p;
        c->cap_rows = (size_t)rows + 1;
    }
    if (nz > c->cap_nz) {
        if (nz > SIZE_MAX / sizeof(float))
            return 0;
        int32_t *ci = nn_alloc_large(nz * sizeof *ci);
        float *v = nn_alloc_large(nz * sizeof *v);
        if (!ci || !v) {
            free(ci);
            free(v);
            return 0;
        }
        if (c->cap_nz) {
            memcpy(ci, c->col, c->cap_nz * sizeof *ci);
            memcpy(v, c->val, c->cap_nz * sizeof *v);
        }
        free(c->col);
        free(c->val);
        c->col = ci;
        c->val = v;
        c->cap_nz = nz;
    }
    return 1;
}

/* t = the transpose of rows [r0, r1) of a, by counting sort: each of t's
 * rows lists a column of a, by row number counted from r0, increasing.
 * 0 if memory ran out. */
static int csr_transpose(nn_csr *t, const nn_csr *a, int r0, int r1)
{
    int32_t base = a->row_start[r0];
    size_t nz = (size_t)(a->row_start[r1] - base);
    if (!nn_csr_reserve(t, a->cols, nz))
        return 0;
    int32_t *start = t->row_start;
    memset(start, 0, ((size_t)a->cols + 1) * sizeof *start);
    for (int32_t k = base; k < a->row_start[r1]; k++)
        start[a->col[k] + 1]++;
    for (int j = 0; j < a->cols; j++)
        start[j + 1] += start[j];
    /* start[j] serves as column j's write cursor, ending at column j + 1's
     * start; shifting by one restores the starts. */
    for (int r = r0; r < r1; r++) {
        for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
            int32_t q = start[a->col[k]]++;
            t->col[q] = r - r0;
            t->val[q] = a->val[k];
        }
    }
    memmove(start + 1, start, (size_t)a->cols * sizeof *start);
    start[0] = 0;
    t->rows = a->cols;
    t->cols = r1 - r0;
    return 1;
}

/* The product goes by tiles of 16, 32 or (AVX-512) up to TILE columns. A
 * tile of b is first copied into a contiguous scratch block, zero-padded:
 * b's rows are often 2 KiB apart, a stride at which a tile's rows compete
 * for a few cache sets. Measured on 200 x 784 (146 non-zeros a row) times
 * 784 x 512: 0.85 ms unpacked, 0.40 ms packed, dense sgemm 0.93 ms. Tiles
 * of 64 train the seed 003 network 1.01-1.06x faster than 32 with AVX-512
 * (a non-zero's index and value serve four vectors); AVX2 has too few
 * registers for them. */
#define TILE NN_CSR_TILE
/* Below this many multiply-adds one thread is faster. */
#define CSR_THREADED_MIN (1 << 20)

/* Columns [j, j + width) of b's rows into bp, tile floats a row. Plain
 * loops rather than a memcpy and a memset call per 128 bytes (packing the
 * seed 003 layer's weights took a tenth of its training time with them, a
 * sixth less this way). */
static void pack_tile(float *bp, const float *b, int rows, int ldb, int tile, int j, int width)
{
    for (int r = 0; r < rows; r++) {
        float *dst = bp + (size_t)r * tile;
        const float *src = b + (size_t)r * ldb + j;
        int q = 0;
        for (; q < width; q++)
            dst[q] = src[q];
        for (; q < tile; q++)
            dst[q] = 0.0f;
    }
}

/* The table of cpu.h's choice. */
static const nn_csr_kernels *pick_kernels(void)
{
#ifdef NN_HAVE_X86_KERNELS
    nn_cpu_kind k = nn_cpu_kernels();
    if (k == NN_CPU_AVX512)
        return &nn_csr_avx512_kernels;
    if (k == NN_CPU_AVX2)
        return &nn_csr_avx2_kernels;
#endif
    return &nn_csr_plain_kernels;
}


int nn_csr_from_dense(nn_csr *c, const float *x, int n, int in, double max_density)
{
    size_t total = (size_t)n * (size_t)in, limit = (size_t)(max_density * (double)total);
    if (total == 0 || !nn_csr_reserve(c, n, limit + (size_t)in + 16))
        return 0;
    nn_csr_append_fn append = pick_kernels()->append;
    size_t nz = 0;
    for (int r = 0; r < n; r++) {
        c->row_start[r] = (int32_t)nz;
        nz += append(c->col + nz, c->val + nz, x + (size_t)r * in, in);
        if (nz > limit)
            return 0;
    }
    c->row_start[n] = (int32_t)nz;
    c->rows = n;
    c->cols = in;
    return 1;
}

int nn_csr_threaded(double macs)
{
    return macs >= CSR_THREADED_MIN;
}

static int product_threads(const nn_csr *a, int n)
{
    return nn_csr_threaded((double)a->row_start[a->rows] * n) ? nn_get_threads() : 1;
}

size_t nn_csr_mul_scratch(const nn_csr *a, int n)
{
    return (size_t)product_threads(a, n) * (size_t)a->cols * TILE;
}

static int tile_width(int n)
{
    return n <= 16 ? 16 : n <= 32 ? 32 : pick_kernels()->wide_tile;
}

/* Unit u of a product cut into tiles, each in `cuts` row ranges; bp is
 * this thread's scratch for packing a tile of b. */
static void product_unit(const nn_csr_product *p, nn_csr_tile_fn kernel, const float *packed, float *bp, int u,
                         int cuts)
{
    const nn_csr *a = p->a;
    int t = u / cuts, cut = u % cuts;
    int j = t * p->tile, width = p->n - j < p->tile ? p->n - j : p->tile;
    int r0 = (int)((long)a->rows * cut / cuts), r1 = (int)((long)a->rows * (cut + 1) / cuts);
    if (packed) {
        kernel(p, packed + (size_t)t * (size_t)a->cols * (size_t)p->tile, j, width, r0, r1);
    } else if (p->n == p->tile && p->ldb == p->tile) {
        kernel(p, p->b, j, width, r0, r1); /* b is one tile already */
    } else {
        pack_tile(bp, p->b, a->cols, p->ldb, p->tile, j, width);
        kernel(p, bp, j, width, r0, r1);
    }
}

/* The product, tile by tile; packed is b already packed (all tiles, as
 * nn_csr_pack lays them out), or NULL to pack each tile into scratch. On
 * one thread no OpenMP construct is entered: a part's weight gradient on
 * B1 makes thirty of these calls a step, each inside a parallel region. */
static void csr_mul(float *c, int ldc, const nn_csr *a, const float *b, int ldb, int n, const float *bias,
                    int accumulate, const float *packed, float *scratch)
{
    nn_csr_product p = {c, ldc, a, b, ldb, n, bias, accumulate, tile_width(n)};
    nn_csr_tile_fn kernel = pick_kernels()->tile;
    int threads = product_threads(a, n);
    int tiles = (n + p.tile - 1) / p.tile;
    /* Units of work: every tile, each cut into row ranges when there are
     * fewer tiles than threads. A row's sums do not depend on the cut. */
    int cuts = tiles >= threads ? 1 : threads;
    int units = tiles * cuts;
#ifdef _OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        {
            float *bp = scratch ? scratch + (size_t)omp_get_thread_num() * (size_t)a->cols * TILE : NULL;
#pragma omp for schedule(static)
            for (int u = 0; u < units; u++)
                product_unit(&p, kernel, packed, bp, u, cuts);
        }
        return;
    }
#endif
    for (int u = 0; u < units; u++)
        product_unit(&p, kernel, packed, scratch, u, cuts);
}

void nn_csr_mul(float *c, int ldc, const nn_csr *a, const float *b, int ldb, int n,
                const float *bias, int accumulate, float *scratch)
{
    csr_mul(c, ldc, a, b, ldb, n, bias, accumulate, NULL, scratch);
}

int nn_csr_pack_needed(int n)
{
    return n != tile_width(n);
}

size_t nn_csr_packed_size(int rows, int n)
{
    int tile = tile_width(n);
    return (size_t)((n + tile - 1) / tile) * (size_t)tile * (size_t)rows;
}

void nn_csr_pack(float *packed, const float *b, int rows, int ldb, int n)
{
    int tile = tile_width(n), tiles = (n + tile - 1) / tile;
    int threads = (double)rows * n >= CSR_THREADED_MIN / 8 ? nn_get_threads() : 1;
    /* Each thread takes a contiguous range of b's rows, as the SGD step
     * does, which has just written them: they are still in its cache. */
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int t = 0; t < threads; t++) {
        int r0 = (int)((long)rows * t / threads), r1 = (int)((long)rows * (t + 1) / threads);
        for (int k = 0; k < tiles; k++) {
            int j = k * tile;
            pack_tile(packed + ((size_t)k * (size_t)rows + (size_t)r0) * (size_t)tile, b + (size_t)r0 * (size_t)ldb,
                      r1 - r0, ldb, tile, j, n - j < tile ? n - j : tile);
        }
    }
}

void nn_csr_mul_packed(float *c, int ldc, const nn_csr *a, const float *packed, int n, const float *bias,
                       int accumulate)
{
    csr_mul(c, ldc, a, NULL, 0, n, bias, accumulate, packed, NULL);
}

/* a^T b by scattering: rows of a are cut into a number of parts that depends
 * only on the size of the product, each part summed into its own block,
 * the blocks then added in order, so the result does not depend on the
 * number of threads. */
#define TMUL_PARTS 4

static int tmul_parts(const nn_csr *a, int n)
{
    return nn_csr_threaded((double)a->row_start[a->rows] * n) ? TMUL_PARTS : 1;
}

static size_t csr_tmul_scratch(const nn_csr *a, int n)
{
    return (size_t)tmul_parts(a, n) * (size_t)a->cols * (size_t)tile_width(n);
}

/* c (a->cols x n, row stride ldc) += a^T b (= with accumulate 0), where b
 * is a->rows x n with row stride ldb, n <= 32: each row of a adds its
 * values times b's row into c. scratch holds csr_tmul_scratch(a, n) floats. */
static void csr_tmul(float *c, int ldc, const nn_csr *a, const float *b, int ldb, int n, int accumulate,
                     float *scratch)
{
    nn_csr_scatter_fn scatter = pick_kernels()->scatter;
    int parts = tmul_parts(a, n), ldp = tile_width(n);
    if (parts == 1 && ldc == ldp && n == ldp) {
        /* One part laid out as c: scattered straight into it. */
        if (!accumulate)
            memset(c, 0, (size_t)a->cols * (size_t)ldc * sizeof *c);
        scatter(c, ldp, a, b, ldb, n, 0, a->rows);
        return;
    }
    int threads = parts > 1 ? nn_get_threads() : 1;
    size_t block = (size_t)a->cols * (size_t)ldp;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
    {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int q = 0; q < parts; q++) {
            float *part = scratch + (size_t)q * block;
            memset(part, 0, block * sizeof *part);
            scatter(part, ldp, a, b, ldb, n, (int)((long)a->rows * q / parts),
                    (int)((long)a->rows * (q + 1) / parts));
        }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int j = 0; j < a->cols; j++) {
            float *cj = c + (size_t)j * ldc;
            if (!accumulate)
                memset(cj, 0, (size_t)n * sizeof *cj);
            for (int q = 0; q < parts; q++) {
                const float *src = scratch + (size_t)q * block + (size_t)j * ldp;
                for (int i = 0; i < n; i++)
                    cj[i] += src[i];
            }
        }
    }
}

void nn_sparse_batch_free(nn_sparse_batch *s)
{
    nn_csr_free(&s->by_row);
    for (int q = 0; q < s->cap_blocks; q++)
        nn_csr_free(&s->by_col[q]);
    free(s->by_col);
    nn_blocks_free(&s->blocks);
    memset(s, 0, sizeof *s);
}

int nn_sparse_batch_transpose(nn_sparse_batch *s)
{
    int nblocks = (s->by_row.rows + NN_COL_BLOCK - 1) / NN_COL_BLOCK;
    if (nblocks > s->cap_blocks) {
        nn_csr *p = realloc(s->by_col, (size_t)nblocks * sizeof *p);
        if (!p)
            return 0;
        memset(p + s->cap_blocks, 0, (size_t)(nblocks - s->cap_blocks) * sizeof *p);
        s->by_col = p;
        s->cap_blocks = nblocks;
    }
    for (int q = 0; q < nblocks; q++) {
        int r0 = q * NN_COL_BLOCK, r1 = r0 + NN_COL_BLOCK < s->by_row.rows ? r0 + NN_COL_BLOCK : s->by_row.rows;
        if (!csr_transpose(&s->by_col[q], &s->by_row, r0, r1))
            return 0;
    }
    s->nblocks = nblocks;
    s->has_cols = 1;
    return 1;
}

int nn_sparse_transpose_pays(int n)
{
    return n > 32;
}

/* Scattering x's rows, unless a transpose pays, or x is transposed already
 * or will be used again. */
static int scatters(const nn_sparse_batch *x, int n)
{
    return !nn_sparse_transpose_pays(n) && !x->has_cols && !x->reused;
}

size_t nn_sparse_tmul_scratch(const nn_sparse_batch *x, int n)
{
    if (scatters(x, n))
        return csr_tmul_scratch(&x->by_row, n);
    /* nn_csr_mul packs b's rows of one block of x's transpose */
    int rows = x->by_row.rows < NN_COL_BLOCK ? x->by_row.rows : NN_COL_BLOCK;
    return (size_t)nn_get_threads() * (size_t)rows * TILE;
}

int nn_sparse_tmul(float *c, int ldc, nn_sparse_batch *x, const float *b, int ldb, int n, int accumulate,
                   float *scratch)
{
    if (scatters(x, n)) {
        csr_tmul(c, ldc, &x->by_row, b, ldb, n, accumulate, scratch);
        return 1;
    }
    if (!x->has_cols && !nn_sparse_batch_transpose(x))
        return 0;
    for (int q = 0; q < x->nblocks; q++)
        nn_csr_mul(c, ldc, &x->by_col[q], b + (size_t)q * NN_COL_BLOCK * (size_t)ldb, ldb, n, NULL,
                   accumulate || q > 0, scratch);
    return 1;
}
