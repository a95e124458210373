/* data_avx2.c - the AVX2 gathering of a batch's non-zeros (data_kernels.h). */
#include "data_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx2.h"

/* AVX2 has no compress: entry m of the table holds, a byte each, the
 * lanes of the set bits of m in order, the lanes that pack a register's
 * kept values to its front through a permutation. */
#define LANE_AT(m, l) ((m) >> (l) & 1 ? (uint64_t)(l) << (8 * __builtin_popcount((m) & ((1u << (l)) - 1))) : 0)
#define ENTRY(m)                                                                                         \
    (LANE_AT(m, 0) | LANE_AT(m, 1) | LANE_AT(m, 2) | LANE_AT(m, 3) | LANE_AT(m, 4) | LANE_AT(m, 5) |    \
     LANE_AT(m, 6) | LANE_AT(m, 7))
#define ENTRIES_2(m) ENTRY(m), ENTRY((m) + 1)
#define ENTRIES_4(m) ENTRIES_2(m), ENTRIES_2((m) + 2)
#define ENTRIES_8(m) ENTRIES_4(m), ENTRIES_4((m) + 4)
#define ENTRIES_16(m) ENTRIES_8(m), ENTRIES_8((m) + 8)
#define ENTRIES_32(m) ENTRIES_16(m), ENTRIES_16((m) + 16)
#define ENTRIES_64(m) ENTRIES_32(m), ENTRIES_32((m) + 32)
#define ENTRIES_128(m) ENTRIES_64(m), ENTRIES_64((m) + 64)
static const uint64_t pack_lanes[256] = {ENTRIES_128(0u), ENTRIES_128(128u)};

/* Eight pixels at a time: the non-zeros' values and columns packed to the
 * front of a register and stored whole, every group, only its non-zeros
 * counted (a branch on a group of zeros is hard to predict on images). A
 * group's store starts at most at its first pixel, so it stays within
 * dim entries. */
NN_AVX2 size_t nn_append_nonzeros_avx2(int32_t *col, float *val, const uint8_t *src, int dim, float scale)
{
    const __m256 s = _mm256_set1_ps(scale);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    size_t nz = 0;
    int j = 0;
    for (; j + 8 <= dim; j += 8) {
        __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(src + j)));
        __m256i nonzero = _mm256_cmpgt_epi32(px, _mm256_setzero_si256());
        unsigned keep = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(nonzero));
        __m256i order = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)pack_lanes[keep]));
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(px), s);
        _mm256_storeu_ps(val + nz, _mm256_permutevar8x32_ps(v, order));
        _mm256_storeu_si256((__m256i *)(col + nz),
                            _mm256_permutevar8x32_epi32(_mm256_add_epi32(lanes, _mm256_set1_epi32(j)), order));
        nz += (size_t)__builtin_popcount(keep);
    }
    return nz + nn_append_nonzeros(col + nz, val + nz, src + j, dim - j, scale, j);
}
#endif
