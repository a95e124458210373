/* pool_avx512.c - the AVX-512 kernels of 2x2, stride-2 max-pooling
 * (pool_kernels.h): a vector holds 8 windows' pairs of a row, the even
 * lanes the left columns. _mm512_max_ps(b, m) is (b > m ? b : m), the
 * reference's select, NaNs and signed zeros included. */
#include "pool_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>
#include <string.h>

#include "avx512.h"

#define LANES 16
#define EVEN 0x5555u

/* The windows of a vector whose columns start used - i before the row's end. */
NN_AVX512 static inline __mmask16 window_lanes(int left)
{
    return nn_first_lanes((size_t)(left / 2 < LANES / 2 ? left / 2 : LANES / 2));
}

/* Each lane's pair neighbour: lanes 2i and 2i + 1 swapped. */
NN_AVX512 static inline __m512 swap_pairs(__m512 v)
{
    return _mm512_permute_ps(v, 0xB1);
}

NN_AVX512 void nn_maxpool_2x2_forward_avx512(float *y, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    int used = 2 * g->ow; /* the columns the windows cover */
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            const float *r0 = x + pc * plane + (size_t)(2 * oy) * g->w, *r1 = r0 + g->w;
            float *yr = y + pc * oplane + (size_t)oy * g->ow;
            for (int i = 0; i < used; i += LANES) {
                __mmask16 in = nn_first_lanes((size_t)(used - i));
                __m512 top = _mm512_maskz_loadu_ps(in, r0 + i), bottom = _mm512_maskz_loadu_ps(in, r1 + i);
                __m512 m = _mm512_max_ps(swap_pairs(top), top); /* even lanes: a, then b */
                m = _mm512_max_ps(bottom, m);
                m = _mm512_max_ps(swap_pairs(bottom), m);
                _mm512_mask_storeu_ps(yr + i / 2, window_lanes(used - i), _mm512_maskz_compress_ps(EVEN, m));
            }
        }
}

NN_AVX512 void nn_maxpool_2x2_backward_avx512(float *dx, const float *dy, const float *x, int n, const nn_window *g)
{
    size_t plane = (size_t)g->h * g->w, oplane = (size_t)g->oh * g->ow;
    if (2 * g->oh != g->h || 2 * g->ow != g->w) /* an odd last row or column: no window's */
        memset(dx, 0, (size_t)n * g->c * plane * sizeof *dx);
    int used = 2 * g->ow;
    const __m512i twice = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    for (size_t pc = 0; pc < (size_t)n * g->c; pc++)
        for (int oy = 0; oy < g->oh; oy++) {
            size_t r = pc * plane + (size_t)(2 * oy) * g->w;
            const float *dyr = dy + pc * oplane + (size_t)oy * g->ow;
            for (int i = 0; i < used; i += LANES) {
                __mmask16 in = nn_first_lanes((size_t)(used - i));
                __m512 a = _mm512_maskz_loadu_ps(in, x + r + i), c = _mm512_maskz_loadu_ps(in, x + r + g->w + i);
                __m512 b = swap_pairs(a), d = swap_pairs(c);
                __mmask16 at_b = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
                __m512 m = _mm512_max_ps(b, a);
                __mmask16 at_c = _mm512_cmp_ps_mask(c, m, _CMP_GT_OQ);
                m = _mm512_max_ps(c, m);
                __mmask16 at_d = _mm512_cmp_ps_mask(d, m, _CMP_GT_OQ);
                /* the window's place, in its even lane: a, b, c or d */
                unsigned pick_d = at_d & EVEN, pick_c = at_c & ~at_d & EVEN;
                unsigned pick_b = at_b & ~at_c & ~at_d & EVEN, pick_a = EVEN & ~pick_b & ~pick_c & ~pick_d;
                __m512 v = _mm512_permutexvar_ps(twice, _mm512_maskz_loadu_ps(window_lanes(used - i), dyr + i / 2));
                _mm512_mask_storeu_ps(dx + r + i, in, _mm512_maskz_mov_ps((__mmask16)(pick_a | pick_b << 1), v));
                _mm512_mask_storeu_ps(dx + r + g->w + i, in,
                                      _mm512_maskz_mov_ps((__mmask16)(pick_c | pick_d << 1), v));
            }
        }
}
#endif
