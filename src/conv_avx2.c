/* conv_avx2.c - the AVX2 kernels of Conv2d's direct path (conv_kernels.h):
 * the same layouts as conv_avx512.c's, a block of 16 wide positions in two
 * vectors, blocks of up to 6 outputs (forward) and of 6 outputs by 2 taps
 * (weight gradients) whose sums fill 12 of the 16 registers. The blocks
 * start at each output row (a row's outputs in ceil(ow / 16) blocks), so
 * that a block's output lanes are its first: AVX2 has no compress. The
 * padded and wide layouts are written by the portable loops of
 * conv_direct.c. */
#include "conv_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>
#include <string.h>

#include "avx2.h"

#define OUT_BLOCK 6
#define GRAD_TAPS 2

/* Stores a block's first n (<= 16) sums at y + at of a plane of plane
 * floats: whole vectors where the plane has room for them, as later
 * blocks overwrite what lies past n; else through a copy (no masked
 * stores: they are slow on AMD's cores; nor nn_store_lanes8, whose
 * branches cost this loop more than the copy). */
NN_AVX2_INLINE void store_sums(float *y, size_t at, size_t plane, __m256 lo, __m256 hi, int n)
{
    if (at + 16 <= plane) {
        _mm256_storeu_ps(y + at, lo);
        _mm256_storeu_ps(y + at + 8, hi);
        return;
    }
    float t[16];
    _mm256_storeu_ps(t, lo);
    _mm256_storeu_ps(t + 8, hi);
    memcpy(y + at, t, (size_t)n * sizeof *y);
}

/* Outputs o0..o0+OB-1 of the forward, OB a constant (1..OUT_BLOCK): each
 * sum over the taps of the live rows in order. */
#define DEFINE_FORWARD(OB)                                                                               \
    NN_AVX2 static void forward_##OB(float *y, const float *xp, const float *w, const float *b,          \
                                     const nn_window *g, int o0)                                         \
    {                                                                                                    \
        size_t hp = (size_t)g->h + 2 * (size_t)g->pad, wp = (size_t)g->w + 2 * (size_t)g->pad;          \
        size_t plane = (size_t)g->oh * g->ow;                                                            \
        int k = g->k, K = g->c * k * k, ky0, ky1;                                                        \
        const float *wo = w + (size_t)o0 * K;                                                            \
        for (int oy = 0; oy < g->oh; oy++) {                                                             \
            nn_direct_live_rows(g, oy, oy, &ky0, &ky1);                                                  \
            for (int ox = 0; ox < g->ow; ox += 16) {                                                     \
                size_t q = (size_t)oy * wp + (size_t)ox;                                                 \
                __m256 lo[OB], hi[OB];                                                                   \
                for (int j = 0; j < OB; j++)                                                             \
                    lo[j] = hi[j] = _mm256_set1_ps(b ? b[o0 + j] : 0.0f);                                \
                for (int ch = 0; ch < g->c; ch++)                                                        \
                    for (int ky = ky0; ky < ky1; ky++) {                                                 \
                        const float *row = xp + ((size_t)ch * hp + (size_t)ky) * wp + q;                 \
                        const float *wt = wo + ((size_t)ch * k + ky) * k;                                \
                        for (int kx = 0; kx < k; kx++) {                                                 \
                            __m256 x0 = _mm256_loadu_ps(row + kx), x1 = _mm256_loadu_ps(row + kx + 8);   \
                            for (int j = 0; j < OB; j++) {                                               \
                                __m256 wv = _mm256_broadcast_ss(wt + (size_t)j * K + kx);                \
                                lo[j] = _mm256_fmadd_ps(wv, x0, lo[j]);                                  \
                                hi[j] = _mm256_fmadd_ps(wv, x1, hi[j]);                                  \
                            }                                                                            \
                        }                                                                                \
                    }                                                                                    \
                int n = g->ow - ox < 16 ? g->ow - ox : 16;                                               \
                size_t at = (size_t)oy * g->ow + (size_t)ox;                                             \
                for (int j = 0; j < OB; j++)                                                             \
                    store_sums(y + (size_t)(o0 + j) * plane, at, plane, lo[j], hi[j], n);                \
            }                                                                                            \
        }                                                                                                \
    }

/* Outputs o0..o0+OB-1 of the weight gradient, GRAD_TAPS taps at a time,
 * over every sample of the chunk and every wide position before the
 * lanes are added. */
#define DEFINE_WEIGHT_GRAD(OB)                                                                           \
    NN_AVX2 static void weight_grad_##OB(float *dw, const float *dyw, const float *xp, const nn_window *g, \
                                         int out, int count, int o0)                                     \
    {                                                                                                    \
        size_t wide = nn_direct_wide(g), padded = nn_direct_padded(g);                                   \
        int K = g->c * g->k * g->k;                                                                      \
        for (int t = 0; t < K; t += GRAD_TAPS) {                                                         \
            int taps = K - t < GRAD_TAPS ? K - t : GRAD_TAPS;                                            \
            const float *tap[GRAD_TAPS];                                                                 \
            for (int u = 0; u < GRAD_TAPS; u++)                                                          \
                tap[u] = xp + nn_direct_tap_offset(g, t + (u < taps ? u : 0));                           \
            __m256 acc[GRAD_TAPS][OB];                                                                   \
            for (int u = 0; u < GRAD_TAPS; u++)                                                          \
                for (int j = 0; j < OB; j++)                                                             \
                    acc[u][j] = _mm256_setzero_ps();                                                     \
            for (int r = 0; r < count; r++) {                                                            \
                const float *dr = dyw + ((size_t)r * out + o0) * wide;                                   \
                size_t xr = (size_t)r * padded;                                                          \
                for (size_t q = 0; q < wide; q += 8) {                                                   \
                    __m256 xv[GRAD_TAPS];                                                                \
                    for (int u = 0; u < GRAD_TAPS; u++)                                                  \
                        xv[u] = _mm256_loadu_ps(tap[u] + xr + q);                                        \
                    for (int j = 0; j < OB; j++) {                                                       \
                        __m256 d = _mm256_loadu_ps(dr + (size_t)j * wide + q);                           \
                        for (int u = 0; u < GRAD_TAPS; u++)                                              \
                            acc[u][j] = _mm256_fmadd_ps(d, xv[u], acc[u][j]);                            \
                    }                                                                                    \
                }                                                                                        \
            }                                                                                            \
            for (int u = 0; u < taps; u++)                                                               \
                for (int j = 0; j < OB; j++)                                                             \
                    dw[(size_t)(o0 + j) * K + t + u] += nn_sum8(acc[u][j]);                              \
        }                                                                                                \
    }

#define DEFINE_BLOCKS(OB) DEFINE_FORWARD(OB) DEFINE_WEIGHT_GRAD(OB)
DEFINE_BLOCKS(1)
DEFINE_BLOCKS(2)
DEFINE_BLOCKS(3)
DEFINE_BLOCKS(4)
DEFINE_BLOCKS(5)
DEFINE_BLOCKS(6)

typedef void (*forward_block)(float *, const float *, const float *, const float *, const nn_window *, int);
typedef void (*weight_grad_block)(float *, const float *, const float *, const nn_window *, int, int, int);
static const forward_block forward_blocks[OUT_BLOCK + 1] = {NULL,      forward_1, forward_2, forward_3,
                                                            forward_4, forward_5, forward_6};
static const weight_grad_block weight_grad_blocks[OUT_BLOCK + 1] = {
    NULL, weight_grad_1, weight_grad_2, weight_grad_3, weight_grad_4, weight_grad_5, weight_grad_6};

static void forward_avx2(float *y, const float *xp, const float *w, const float *b, const nn_window *g, int out)
{
    for (int o0 = 0; o0 < out; o0 += OUT_BLOCK)
        forward_blocks[out - o0 < OUT_BLOCK ? out - o0 : OUT_BLOCK](y, xp, w, b, g, o0);
}

static void weight_grad_avx2(float *dw, const float *dyw, const float *xp, const nn_window *g, int out, int count)
{
    for (int o0 = 0; o0 < out; o0 += OUT_BLOCK)
        weight_grad_blocks[out - o0 < OUT_BLOCK ? out - o0 : OUT_BLOCK](dw, dyw, xp, g, out, count, o0);
}

NN_AVX2 static void bias_grad_avx2(float *db, const float *dyw, const nn_window *g, int out, int count)
{
    size_t wide = nn_direct_wide(g);
    for (int o = 0; o < out; o++) {
        __m256 acc = _mm256_setzero_ps();
        for (int r = 0; r < count; r++) {
            const float *d = dyw + ((size_t)r * out + o) * wide;
            for (size_t q = 0; q < wide; q += 8)
                acc = _mm256_add_ps(acc, _mm256_loadu_ps(d + q));
        }
        db[o] += nn_sum8(acc);
    }
}

const nn_direct_kernels nn_direct_avx2_kernels = {nn_direct_pad, nn_direct_widen, forward_avx2, weight_grad_avx2,
                                                  bias_grad_avx2};
#endif
