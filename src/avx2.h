/* avx2.h - what the AVX2 kernel files share (included after
 * <immintrin.h>, inside their NN_HAVE_X86_KERNELS part): the attributes
 * that compile a function, or a helper inlined into it, for AVX2 with FMA,
 * the mask of a vector's first n lanes for the tails of rows and a store
 * of those lanes, and the sum and maximum of a vector's lanes. */
#ifndef NN_AVX2_H
#define NN_AVX2_H

#include <stddef.h>

#define NN_AVX2 __attribute__((target("avx2,fma")))
/* ... and a helper of a kernel, inlined into it. */
#define NN_AVX2_INLINE static inline __attribute__((target("avx2,fma"), always_inline))

/* The first n lanes of 8 (all 8 from n >= 8; none from n <= 0), as the
 * mask of a maskload. */
NN_AVX2_INLINE __m256i nn_first_lanes8(long n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n < 0 ? 0 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The first n lanes of v to p (all 8 from n >= 8; none from n <= 0):
 * a whole store, or a row's tail by plain stores of 4, 2 and 1 lanes,
 * not a masked store (vmaskmovps), which AMD's cores run slowly. */
NN_AVX2_INLINE void nn_store_lanes8(float *p, __m256 v, long n)
{
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    if (n <= 0)
        return;
    __m128 part = _mm256_castps256_ps128(v);
    long at = 0;
    if (n & 4) {
        _mm_storeu_ps(p, part);
        part = _mm256_extractf128_ps(v, 1);
        at = 4;
    }
    if (n & 2) {
        _mm_storeu_si64(p + at, _mm_castps_si128(part));
        part = _mm_movehl_ps(part, part);
        at += 2;
    }
    if (n & 1)
        _mm_store_ss(p + at, part);
}

/* The sum and the largest of a vector's lanes. */
NN_AVX2_INLINE float nn_sum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

NN_AVX2_INLINE float nn_max8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

#endif
