/* avx2.h - what the AVX2 kernel files share (included after
 * <immintrin.h>, inside their NN_HAVE_X86_KERNELS part): the attributes
 * that compile a function, or a helper inlined into it, for AVX2 with FMA,
 * and the mask of a vector's first n lanes for the tails of rows. */
#ifndef NN_AVX2_H
#define NN_AVX2_H

#include <stddef.h>

#define NN_AVX2 __attribute__((target("avx2,fma")))
/* ... and a helper of a kernel, inlined into it. */
#define NN_AVX2_INLINE static inline __attribute__((target("avx2,fma"), always_inline))

/* The first n lanes of 8 (all 8 from n >= 8; none from n <= 0), as the
 * mask of maskload and maskstore. */
NN_AVX2_INLINE __m256i nn_first_lanes8(long n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n < 0 ? 0 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
