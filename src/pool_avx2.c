/* pool_avx2.c - the AVX2 kernels of 2x2, stride-2 max-pooling
 * (pool_kernels.h), as pool_avx512.c's with 4 windows a vector: the even
 * lanes the left columns, masks as vectors. _mm256_max_ps(b, m) is
 * (b > m ? b : m), the reference's select, NaNs and signed zeros
 * included. A row's last windows, short of a vector, go one at a time
 * through the reference's window helpers (pool_kernels.h), not through
 * masked stores, which are slow on AMD's cores. */
#include "pool_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>
#include <string.h>

#include "avx2.h"

#define LANES 8

/* Each lane's pair neighbour: lanes 2i and 2i + 1 swapped. */
NN_AVX2_INLINE __m256 swap_pairs(__m256 v)
{
    return _mm256_permute_ps(v, 0xB1);
}

NN_AVX2 void nn_maxpool_2x2_forward_avx2(float *y, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    int whole = g->ow / (LANES / 2) * LANES; /* the columns of whole vectors */
    const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            const float *r0 = x + pc * plane + (size_t)(2 * oy) * g->w, *r1 = r0 + g->w;
            float *yr = y + pc * oplane + (size_t)oy * g->ow;
            for (int i = 0; i < whole; i += LANES) {
                __m256 top = _mm256_loadu_ps(r0 + i), bottom = _mm256_loadu_ps(r1 + i);
                __m256 m = _mm256_max_ps(swap_pairs(top), top); /* even lanes: a, then b */
                m = _mm256_max_ps(bottom, m);
                m = _mm256_max_ps(swap_pairs(bottom), m);
                _mm_storeu_ps(yr + i / 2, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(m, evens)));
            }
            for (int ox = whole / 2, at; ox < g->ow; ox++)
                yr[ox] = nn_maxpool_2x2_window(r0 + 2 * ox, r1 + 2 * ox, &at);
        }
}

NN_AVX2 void nn_maxpool_2x2_backward_avx2(float *dx, const float *dy, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    if (2 * g->oh != g->h || 2 * g->ow != g->w) /* an odd last row or column: no window's */
        memset(dx, 0, (size_t)n * g->c * plane * sizeof *dx);
    int whole = g->ow / (LANES / 2) * LANES;
    const __m256i twice = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 even = _mm256_castsi256_ps(_mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0));
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            size_t r = pc * plane + (size_t)(2 * oy) * g->w;
            const float *dyr = dy + pc * oplane + (size_t)oy * g->ow;
            for (int i = 0; i < whole; i += LANES) {
                __m256 a = _mm256_loadu_ps(x + r + i), c = _mm256_loadu_ps(x + r + g->w + i);
                __m256 b = swap_pairs(a), d = swap_pairs(c);
                __m256 at_b = _mm256_cmp_ps(b, a, _CMP_GT_OQ);
                __m256 m = _mm256_max_ps(b, a);
                __m256 at_c = _mm256_cmp_ps(c, m, _CMP_GT_OQ);
                m = _mm256_max_ps(c, m);
                __m256 at_d = _mm256_cmp_ps(d, m, _CMP_GT_OQ);
                /* the window's place, in its even lane: a, b, c or d */
                __m256 pick_d = _mm256_and_ps(at_d, even);
                __m256 pick_c = _mm256_andnot_ps(at_d, _mm256_and_ps(at_c, even));
                __m256 pick_b = _mm256_andnot_ps(_mm256_or_ps(at_c, at_d), _mm256_and_ps(at_b, even));
                __m256 pick_a = _mm256_andnot_ps(_mm256_or_ps(pick_b, _mm256_or_ps(pick_c, pick_d)), even);
                __m256 v = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(dyr + i / 2)), twice);
                _mm256_storeu_ps(dx + r + i, _mm256_and_ps(v, _mm256_or_ps(pick_a, swap_pairs(pick_b))));
                _mm256_storeu_ps(dx + r + g->w + i, _mm256_and_ps(v, _mm256_or_ps(pick_c, swap_pairs(pick_d))));
            }
            for (int ox = whole / 2, at; ox < g->ow; ox++) {
                size_t q = r + 2 * (size_t)ox;
                nn_maxpool_2x2_window(x + q, x + q + g->w, &at);
                nn_maxpool_2x2_route(dx + q, dx + q + g->w, at, dyr[ox]);
            }
        }
}
#endif
