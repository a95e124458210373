/* avx512.h - what the AVX-512 kernel files share (included after
 * <immintrin.h>, inside their NN_HAVE_X86_KERNELS part): the attributes
 * that compile a function, or a helper inlined into it, for AVX-512 F, and
 * the mask of a vector's first n lanes for the tails of rows. */
#ifndef NN_AVX512_H
#define NN_AVX512_H

#include <stddef.h>

#define NN_AVX512 __attribute__((target("avx512f")))
/* ... and a helper of a kernel, inlined into it. */
#define NN_AVX512_INLINE static inline __attribute__((target("avx512f"), always_inline))

/* The first n lanes of 16 (all 16 from n >= 16). */
NN_AVX512_INLINE __mmask16 nn_first_lanes(size_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

#endif
