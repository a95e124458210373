/* blocks_avx512.c - the AVX-512 kernels of the products by blocks
 * (blocks_kernels.h): a block's 16 pixels in one register, one register
 * of sums for each output. */
#include "blocks_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx512.h"

/* How far ahead of a block its bytes are fetched: the hardware's own
 * prefetch leaves the kernels waiting on memory once a batch outgrows the
 * cache. */
#define PREFETCH_BYTES 4096

/* A block's 16 bytes as values. */
NN_AVX512_INLINE __m512 block_values(const uint8_t *px, __m512 scale)
{
    __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)px));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(bytes), scale);
}

/* The 16 sums' lanes folded halves to halves, as nn_blocks_fold: lane k of
 * the result is the sum of a[k]'s lanes. */
NN_AVX512_INLINE __m512 fold_sums(const __m512 *a)
{
    __m512 b[8], c[4], d[2];
    for (int k = 0; k < 8; k++)
        b[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a[k], a[k + 8], 0x44), _mm512_shuffle_f32x4(a[k], a[k + 8], 0xEE));
    for (int k = 0; k < 4; k++)
        c[k] = _mm512_add_ps(_mm512_shuffle_f32x4(b[k], b[k + 4], 0x88), _mm512_shuffle_f32x4(b[k], b[k + 4], 0xDD));
    for (int k = 0; k < 2; k++)
        d[k] = _mm512_add_ps(_mm512_shuffle_ps(c[k], c[k + 2], 0x44), _mm512_shuffle_ps(c[k], c[k + 2], 0xEE));
    __m512 e = _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], 0x88), _mm512_shuffle_ps(d[0], d[1], 0xDD));
    /* e holds sums 0 2 1 3 | 8 10 9 11 | 4 6 5 7 | 12 14 13 15 */
    const __m512i order = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
    return _mm512_permutexvar_ps(order, e);
}

NN_AVX512_INLINE void rows_n(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, const float *bias,
                             int r0, int r1, const int n)
{
    const __m512 scale = _mm512_set1_ps(x->scale);
    const __mmask16 outs = nn_first_lanes((size_t)n);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(outs, bias) : _mm512_setzero_ps();
    for (int r = r0; r < r1; r++) {
        __m512 acc[NN_BLOCKS_MAX_OUT];
        for (int k = 0; k < NN_BLOCKS_MAX_OUT; k++)
            acc[k] = _mm512_setzero_ps();
        const uint8_t *px = x->pix + (size_t)x->row_start[r] * NN_BLOCK;
        for (uint64_t m = x->mask[r]; m; m &= m - 1, px += NN_BLOCK) {
            const float *w = wt + (size_t)__builtin_ctzll(m) * (size_t)n * NN_BLOCK;
            _mm_prefetch((const char *)((uintptr_t)px + PREFETCH_BYTES), _MM_HINT_T0);
            __m512 v = block_values(px, scale);
            for (int k = 0; k < n; k++)
                acc[k] = _mm512_fmadd_ps(v, _mm512_loadu_ps(w + k * NN_BLOCK), acc[k]);
        }
        __m512 s = fold_sums(acc);
        if (bias)
            s = _mm512_add_ps(s, b);
        _mm512_mask_storeu_ps(y + (size_t)r * (size_t)ldy, outs, s);
    }
}

NN_AVX512_INLINE void cols_n(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int accumulate, int b0,
                             int b1, const int n)
{
    const __m512 scale = _mm512_set1_ps(x->scale);
    for (int b = b0; b < b1; b++) {
        __m512 acc[NN_BLOCKS_MAX_OUT];
        for (int k = 0; k < n; k++)
            acc[k] = _mm512_setzero_ps();
        for (int32_t q = x->block_start[b]; q < x->block_start[b + 1]; q++) {
            const float *d = dy + (size_t)x->block_row[q] * (size_t)ldy;
            _mm_prefetch((const char *)((uintptr_t)(x->block_pix + (size_t)q * NN_BLOCK) + PREFETCH_BYTES),
                         _MM_HINT_T0);
            __m512 v = block_values(x->block_pix + (size_t)q * NN_BLOCK, scale);
            for (int k = 0; k < n; k++)
                acc[k] = _mm512_fmadd_ps(v, _mm512_set1_ps(d[k]), acc[k]);
        }
        float sums[NN_BLOCKS_MAX_OUT * NN_BLOCK] __attribute__((aligned(64)));
        for (int k = 0; k < n; k++)
            _mm512_store_ps(sums + k * NN_BLOCK, acc[k]);
        nn_blocks_store(dw, sums, x, n, accumulate, b);
    }
}

/* One body for each width, so that an output's loop unrolls into
 * registers. */
#define WIDTHS(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15) F(16)

NN_AVX512 static void rows_avx512(float *y, int ldy, const nn_pixel_blocks *x, const float *wt, int n,
                                  const float *bias, int r0, int r1)
{
    switch (n) {
#define ROWS_CASE(N)                                                                                                   \
    case N:                                                                                                            \
        rows_n(y, ldy, x, wt, bias, r0, r1, N);                                                                        \
        break;
        WIDTHS(ROWS_CASE)
#undef ROWS_CASE
    default:
        break;
    }
}

NN_AVX512 static void cols_avx512(float *dw, const nn_pixel_blocks *x, const float *dy, int ldy, int n,
                                  int accumulate, int b0, int b1)
{
    switch (n) {
#define COLS_CASE(N)                                                                                                   \
    case N:                                                                                                            \
        cols_n(dw, x, dy, ldy, accumulate, b0, b1, N);                                                                 \
        break;
        WIDTHS(COLS_CASE)
#undef COLS_CASE
    default:
        break;
    }
}

const nn_blocks_kernels nn_blocks_avx512_kernels = {rows_avx512, cols_avx512};
#endif
