/* data_avx512.c - the AVX-512 gathering of a batch's non-zeros (data_kernels.h). */
#include "data_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx512.h"

/* The same sixteen pixels at a time: the non-zeros' values and columns are
 * packed to the front of a register (compress) and stored whole, so col and
 * val need room for 16 more. */
NN_AVX512 size_t nn_append_nonzeros_avx512(int32_t *col, float *val, const uint8_t *src, int dim, float scale)
{
    const __m512 s = _mm512_set1_ps(scale);
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    size_t nz = 0;
    int j = 0;
    for (; j + 16 <= dim; j += 16) {
        __m512i px = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src + j)));
        __mmask16 keep = _mm512_test_epi32_mask(px, px);
        if (!keep)
            continue;
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(px), s);
        _mm512_storeu_ps(val + nz, _mm512_maskz_compress_ps(keep, v));
        _mm512_storeu_si512(col + nz, _mm512_maskz_compress_epi32(keep, _mm512_add_epi32(lanes, _mm512_set1_epi32(j))));
        nz += (size_t)__builtin_popcount(keep);
    }
    return nz + nn_append_nonzeros(col + nz, val + nz, src + j, dim - j, scale, j);
}
#endif
