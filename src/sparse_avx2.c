/* sparse_avx2.c - the AVX2 (with FMA) kernels of the sparse products
 * (sparse_kernels.h); rows are appended by the reference. */
#include "sparse_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx2.h"

NN_AVX2_INLINE void row_avx2(float *c, const float *init, const int32_t *col, const float *val, int32_t nz,
                             const float *bp, int width, const int nv)
{
    __m256 acc[4], odd[4];
    __m256i mask[4];
    for (int v = 0; v < nv; v++) {
        mask[v] = nn_first_lanes8(width - 8 * v);
        acc[v] = init ? _mm256_maskload_ps(init + 8 * v, mask[v]) : _mm256_setzero_ps();
        odd[v] = _mm256_setzero_ps();
    }
    int32_t k = 0;
    /* Four values in one load, spread by in-lane shuffles: the loads, not
     * the multiply-adds, bound this loop (each non-zero needs nv of b's
     * vectors), and a broadcast from memory is a load. The sums are the
     * same as two at a time: even non-zeros into acc, odd into odd. */
    for (; k + 4 <= nz; k += 4) {
        const float *b0 = bp + (size_t)col[k] * 8 * nv, *b1 = bp + (size_t)col[k + 1] * 8 * nv;
        const float *b2 = bp + (size_t)col[k + 2] * 8 * nv, *b3 = bp + (size_t)col[k + 3] * 8 * nv;
        __m256 x = _mm256_broadcast_ps((const __m128 *)(val + k));
        __m256 x0 = _mm256_permute_ps(x, 0x00), x1 = _mm256_permute_ps(x, 0x55);
        __m256 x2 = _mm256_permute_ps(x, 0xaa), x3 = _mm256_permute_ps(x, 0xff);
        for (int v = 0; v < nv; v++) {
            acc[v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + 8 * v), acc[v]);
            odd[v] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b1 + 8 * v), odd[v]);
        }
        for (int v = 0; v < nv; v++) {
            acc[v] = _mm256_fmadd_ps(x2, _mm256_loadu_ps(b2 + 8 * v), acc[v]);
            odd[v] = _mm256_fmadd_ps(x3, _mm256_loadu_ps(b3 + 8 * v), odd[v]);
        }
    }
    if (k + 2 <= nz) {
        const float *b0 = bp + (size_t)col[k] * 8 * nv, *b1 = bp + (size_t)col[k + 1] * 8 * nv;
        __m256 x0 = _mm256_set1_ps(val[k]), x1 = _mm256_set1_ps(val[k + 1]);
        for (int v = 0; v < nv; v++) {
            acc[v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + 8 * v), acc[v]);
            odd[v] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b1 + 8 * v), odd[v]);
        }
        k += 2;
    }
    if (k < nz) {
        const float *b0 = bp + (size_t)col[k] * 8 * nv;
        __m256 x0 = _mm256_set1_ps(val[k]);
        for (int v = 0; v < nv; v++)
            acc[v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + 8 * v), acc[v]);
    }
    for (int v = 0; v < nv; v++)
        nn_store_lanes8(c + 8 * v, _mm256_add_ps(acc[v], odd[v]), width - 8 * v);
}

NN_AVX2 static void tile_avx2(const nn_csr_product *p, const float *bp, int j, int width, int r0, int r1)
{
    const nn_csr *a = p->a;
    for (int r = r0; r < r1; r++) {
        int32_t first = a->row_start[r], nz = a->row_start[r + 1] - first;
        if (nz == 0 && p->accumulate)
            continue;
        float *c = p->c + (size_t)r * p->ldc + j;
        if (p->tile == 16)
            row_avx2(c, nn_csr_tile_init(p, r, j), a->col + first, a->val + first, nz, bp, width, 2);
        else
            row_avx2(c, nn_csr_tile_init(p, r, j), a->col + first, a->val + first, nz, bp, width, 4);
    }
}

NN_AVX2 static void scatter_avx2(float *part, int ldp, const nn_csr *a, const float *b, int ldb, int n, int r0,
                                 int r1)
{
    int nv = ldp / 8;
    __m256i mask[4];
    for (int v = 0; v < nv; v++)
        mask[v] = nn_first_lanes8(n - 8 * v);
    for (int r = r0; r < r1; r++) {
        __m256 row[4];
        for (int v = 0; v < nv; v++)
            row[v] = _mm256_maskload_ps(b + (size_t)r * ldb + 8 * v, mask[v]);
        for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
            float *d = part + (size_t)a->col[k] * ldp;
            __m256 x = _mm256_set1_ps(a->val[k]);
            for (int v = 0; v < nv; v++)
                _mm256_storeu_ps(d + 8 * v, _mm256_fmadd_ps(x, row[v], _mm256_loadu_ps(d + 8 * v)));
        }
    }
}


const nn_csr_kernels nn_csr_avx2_kernels = {tile_avx2, scatter_avx2, nn_csr_append_plain, 32};
#endif
