/* sparse_avx512.c - the AVX-512 kernels of the sparse products
 * (sparse_kernels.h): tiles of up to 64 columns. */
#include "sparse_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx512.h"

/* One row: nv vectors of sums, in 4 / nv sets taking turns over the
 * non-zeros, so that consecutive multiply-adds do not wait for each other;
 * wider tiles keep fewer sets, which would not fit the registers. */
NN_AVX512_INLINE void row_avx512(float *c, const float *init, const int32_t *col, const float *val, int32_t nz,
                              const float *bp, int width, const int nv)
{
    const int sets = 4 / nv;
    __m512 acc[4][4];
    __mmask16 mask[4];
    for (int v = 0; v < nv; v++) {
        int left = width - 16 * v;
        mask[v] = left <= 0 ? 0 : nn_first_lanes((size_t)left);
        for (int s = 0; s < sets; s++)
            acc[s][v] = _mm512_setzero_ps();
        if (init)
            acc[0][v] = _mm512_maskz_loadu_ps(mask[v], init + 16 * v);
    }
    int32_t k = 0;
    for (; k + sets <= nz; k += sets) {
        for (int s = 0; s < sets; s++) {
            const float *b = bp + (size_t)col[k + s] * 16 * nv;
            __m512 x = _mm512_set1_ps(val[k + s]);
            for (int v = 0; v < nv; v++)
                acc[s][v] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 16 * v), acc[s][v]);
        }
    }
    for (int s = 0; k < nz; k++, s++) {
        const float *b = bp + (size_t)col[k] * 16 * nv;
        __m512 x = _mm512_set1_ps(val[k]);
        for (int v = 0; v < nv; v++)
            acc[s][v] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 16 * v), acc[s][v]);
    }
    for (int v = 0; v < nv; v++) {
        __m512 sum = acc[0][v];
        for (int s = 1; s < sets; s++)
            sum = _mm512_add_ps(sum, acc[s][v]);
        _mm512_mask_storeu_ps(c + 16 * v, mask[v], sum);
    }
}

NN_AVX512 static void tile_avx512(const nn_csr_product *p, const float *bp, int j, int width, int r0, int r1)
{
    const nn_csr *a = p->a;
    for (int r = r0; r < r1; r++) {
        int32_t first = a->row_start[r], nz = a->row_start[r + 1] - first;
        if (nz == 0 && p->accumulate)
            continue; /* a transpose's row of an all-zero pixel */
        float *c = p->c + (size_t)r * p->ldc + j;
        if (p->tile == 16)
            row_avx512(c, nn_csr_tile_init(p, r, j), a->col + first, a->val + first, nz, bp, width, 1);
        else if (p->tile == 32)
            row_avx512(c, nn_csr_tile_init(p, r, j), a->col + first, a->val + first, nz, bp, width, 2);
        else
            row_avx512(c, nn_csr_tile_init(p, r, j), a->col + first, a->val + first, nz, bp, width, 4);
    }
}


/* part (a->cols x ldp, ldp = 16 or 32 >= n) += rows [r0, r1) of a, each
 * row's values times b's row. */
NN_AVX512 static void scatter_avx512(float *part, int ldp, const nn_csr *a, const float *b, int ldb, int n, int r0,
                                     int r1)
{
    __mmask16 m0 = nn_first_lanes((size_t)n), m1 = n <= 16 ? 0 : nn_first_lanes((size_t)(n - 16));
    for (int r = r0; r < r1; r++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b + (size_t)r * ldb);
        if (ldp == 16) {
            for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
                float *d = part + (size_t)a->col[k] * 16;
                _mm512_storeu_ps(d, _mm512_fmadd_ps(_mm512_set1_ps(a->val[k]), b0, _mm512_loadu_ps(d)));
            }
        } else {
            __m512 b1 = _mm512_maskz_loadu_ps(m1, b + (size_t)r * ldb + 16);
            for (int32_t k = a->row_start[r]; k < a->row_start[r + 1]; k++) {
                float *d = part + (size_t)a->col[k] * 32;
                __m512 x = _mm512_set1_ps(a->val[k]);
                _mm512_storeu_ps(d, _mm512_fmadd_ps(x, b0, _mm512_loadu_ps(d)));
                _mm512_storeu_ps(d + 16, _mm512_fmadd_ps(x, b1, _mm512_loadu_ps(d + 16)));
            }
        }
    }
}

/* Sixteen values at a time, the non-zeros packed to the front of a
 * register (compress) and stored whole; all-zero runs (an image's border)
 * cost one compare. Measured on 200 MNIST rows through 64 outputs: the
 * forward took 230 us with a branch per value, 104 us this way. */
NN_AVX512 static size_t append_row_avx512(int32_t *col, float *val, const float *row, int in)
{
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    size_t nz = 0;
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        __m512 v = _mm512_loadu_ps(row + i);
        __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        if (!keep)
            continue;
        _mm512_storeu_ps(val + nz, _mm512_maskz_compress_ps(keep, v));
        _mm512_storeu_si512(col + nz, _mm512_maskz_compress_epi32(keep, _mm512_add_epi32(lanes, _mm512_set1_epi32(i))));
        nz += (size_t)__builtin_popcount(keep);
    }
    size_t tail = nn_csr_append_plain(col + nz, val + nz, row + i, in - i);
    for (size_t k = nz; k < nz + tail; k++)
        col[k] += i;
    return nz + tail;
}

const nn_csr_kernels nn_csr_avx512_kernels = {tile_avx512, scatter_avx512, append_row_avx512, 64};
#endif
