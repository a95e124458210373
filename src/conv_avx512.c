/* conv_avx512.c - the AVX-512 kernels of Conv2d's direct path
 * (conv_kernels.h): the padded and wide layouts written, then 16 wide
 * positions a vector, blocks of up to 8 outputs whose sums stay in
 * registers. */
#include "conv_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx512.h"

#define OUT_BLOCK 8

/* The layouts' rows are a few dozen floats each (10 to 32 in LeNet):
 * written as runs of copied floats and of zeros with masked stores, the
 * destination once from end to end, not by a memset and a memcpy a row. */
typedef struct {
    float *d;     /* where the next run goes */
    size_t zeros; /* zeros owed before it */
} run_writer;

NN_AVX512 static inline void flush_zeros(run_writer *rw)
{
    size_t i = 0, n = rw->zeros;
    for (; i + NN_DIRECT_LANES <= n; i += NN_DIRECT_LANES)
        _mm512_storeu_ps(rw->d + i, _mm512_setzero_ps());
    if (i < n)
        _mm512_mask_storeu_ps(rw->d + i, nn_first_lanes(n - i), _mm512_setzero_ps());
    rw->d += n;
    rw->zeros = 0;
}

NN_AVX512 static inline void put_copy(run_writer *rw, const float *s, size_t n)
{
    flush_zeros(rw);
    size_t i = 0;
    for (; i + NN_DIRECT_LANES <= n; i += NN_DIRECT_LANES)
        _mm512_storeu_ps(rw->d + i, _mm512_loadu_ps(s + i));
    if (i < n) {
        __mmask16 m = nn_first_lanes(n - i);
        _mm512_mask_storeu_ps(rw->d + i, m, _mm512_maskz_loadu_ps(m, s + i));
    }
    rw->d += n;
}

NN_AVX512 static void pad_avx512(float *xp, const float *x, const nn_window *g)
{
    size_t w = (size_t)g->w, pad = (size_t)g->pad, wp = w + 2 * pad;
    run_writer rw = {xp, 0};
    for (int ch = 0; ch < g->c; ch++) {
        rw.zeros += pad * wp;
        for (int iy = 0; iy < g->h; iy++) {
            rw.zeros += pad;
            put_copy(&rw, x + ((size_t)ch * g->h + (size_t)iy) * w, w);
            rw.zeros += pad;
        }
        rw.zeros += pad * wp;
    }
    rw.zeros = (size_t)(xp + nn_direct_padded(g) - rw.d); /* the last channel's bottom rows and the tail */
    flush_zeros(&rw);
}

NN_AVX512 static void widen_avx512(float *dyw, const float *dy, const nn_window *g, int out)
{
    size_t wide = nn_direct_wide(g), wp = (size_t)g->w + 2 * (size_t)g->pad, ow = (size_t)g->ow;
    run_writer rw = {dyw, 0};
    for (int o = 0; o < out; o++) {
        for (int oy = 0; oy < g->oh; oy++) {
            put_copy(&rw, dy + ((size_t)o * g->oh + (size_t)oy) * ow, ow);
            rw.zeros += wp - ow;
        }
        rw.zeros += wide - (size_t)g->oh * wp;
    }
    flush_zeros(&rw);
}

/* The rows of the block of lanes from wide position q. */
static void block_rows(const nn_window *g, size_t wp, size_t q, int *ky0, int *ky1)
{
    nn_direct_live_rows(g, (int)(q / wp), (int)((q + NN_DIRECT_LANES - 1) / wp), ky0, ky1);
}

/* The lanes of the block from wide position q that are output positions
 * (a row's first ow of wp, the rows below oh). */
NN_AVX512 static __mmask16 output_lanes(const nn_window *g, size_t wp, size_t q)
{
    unsigned m = 0;
    size_t end = (size_t)g->oh * wp;
    for (int i = 0; i < NN_DIRECT_LANES; i++)
        if (q + (size_t)i < end && (q + (size_t)i) % wp < (size_t)g->ow)
            m |= 1u << i;
    return (__mmask16)m;
}

/* The blocks of lanes run along the wide positions, or start at each
 * output row (a row's outputs in ceil(ow / lanes) blocks): whichever has
 * fewer live taps. A row's block has the padding rows of its one row left
 * out exactly, where a wide block that spans two rows keeps their union:
 * the second layer of LeNet's dx (14 outputs a row of 18) takes 14 blocks
 * and 50 rows of taps by rows against 16 and 60 along. */
static int blocks_by_rows(const nn_window *g, size_t wp)
{
    long along = 0, by_rows = 0;
    int ky0, ky1, per_row = (g->ow + NN_DIRECT_LANES - 1) / NN_DIRECT_LANES;
    for (size_t q = 0; q < nn_direct_wide(g); q += NN_DIRECT_LANES) {
        block_rows(g, wp, q, &ky0, &ky1);
        along += ky1 > ky0 ? ky1 - ky0 : 0;
    }
    for (int oy = 0; oy < g->oh; oy++) {
        nn_direct_live_rows(g, oy, oy, &ky0, &ky1);
        by_rows += per_row * (ky1 > ky0 ? ky1 - ky0 : 0);
    }
    return by_rows < along;
}

/* Outputs o0..o0+OB-1 of the forward, OB a constant (1..OUT_BLOCK), at
 * the block from wide position q: each sum over the taps of rows
 * [ky0, ky1) in order, the block's output lanes packed into y's rows at
 * *done (compressed in a register and stored with a mask: Zen 4 is slow
 * to compress into memory). */
#define DEFINE_FORWARD(OB)                                                                               \
    NN_AVX512_INLINE void forward_block_##OB(                                                            \
        float *y, size_t *done, const float *xp, const float *wo, const float *b, const nn_window *g,    \
        int o0, size_t q, __mmask16 lanes, int ky0, int ky1)                                             \
    {                                                                                                    \
        size_t hp = (size_t)g->h + 2 * (size_t)g->pad, wp = (size_t)g->w + 2 * (size_t)g->pad;          \
        int k = g->k, K = g->c * k * k;                                                                  \
        __m512 acc[OB];                                                                                  \
        for (int j = 0; j < OB; j++)                                                                     \
            acc[j] = _mm512_set1_ps(b ? b[o0 + j] : 0.0f);                                               \
        for (int ch = 0; ch < g->c; ch++)                                                                \
            for (int ky = ky0; ky < ky1; ky++) {                                                         \
                const float *row = xp + ((size_t)ch * hp + (size_t)ky) * wp + q;                         \
                const float *wt = wo + ((size_t)ch * k + ky) * k;                                        \
                for (int kx = 0; kx < k; kx++) {                                                         \
                    __m512 xv = _mm512_loadu_ps(row + kx);                                               \
                    for (int j = 0; j < OB; j++)                                                         \
                        acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(wt[(size_t)j * K + kx]), xv, acc[j]);     \
                }                                                                                        \
            }                                                                                            \
        size_t n = (size_t)__builtin_popcount(lanes), plane = (size_t)g->oh * g->ow;                     \
        for (int j = 0; j < OB; j++)                                                                     \
            _mm512_mask_storeu_ps(y + (size_t)(o0 + j) * plane + *done, nn_first_lanes(n),                    \
                                  _mm512_maskz_compress_ps(lanes, acc[j]));                              \
        *done += n;                                                                                      \
    }                                                                                                    \
    NN_AVX512 static void forward_##OB(float *y, const float *xp, const float *w, const float *b,        \
                                       const nn_window *g, int o0, int by_rows)                          \
    {                                                                                                    \
        size_t wp = (size_t)g->w + 2 * (size_t)g->pad, done = 0;                                        \
        const float *wo = w + (size_t)o0 * g->c * g->k * g->k;                                           \
        int ky0, ky1;                                                                                    \
        if (by_rows) {                                                                                   \
            for (int oy = 0; oy < g->oh; oy++) {                                                         \
                nn_direct_live_rows(g, oy, oy, &ky0, &ky1);                                              \
                for (int ox = 0; ox < g->ow; ox += NN_DIRECT_LANES) {                                    \
                    size_t left = (size_t)(g->ow - ox);                                                  \
                    __mmask16 lanes = nn_first_lanes(left < NN_DIRECT_LANES ? left : NN_DIRECT_LANES);        \
                    forward_block_##OB(y, &done, xp, wo, b, g, o0, (size_t)oy * wp + (size_t)ox, lanes,  \
                                       ky0, ky1);                                                        \
                }                                                                                        \
            }                                                                                            \
            return;                                                                                      \
        }                                                                                                \
        for (size_t q = 0; q < nn_direct_wide(g); q += NN_DIRECT_LANES) {                                \
            block_rows(g, wp, q, &ky0, &ky1);                                                            \
            forward_block_##OB(y, &done, xp, wo, b, g, o0, q, output_lanes(g, wp, q), ky0, ky1);         \
        }                                                                                                \
    }

/* Outputs o0..o0+OB-1 of the weight gradient: GRAD_TAPS taps at a time,
 * so that each load of dy serves as many sums, over every sample of the
 * chunk before the lanes are added. 4 taps by 8 outputs fill the
 * registers; more spill (2 to 8 measured, 4 the fastest). */
#define GRAD_TAPS 4
#define DEFINE_WEIGHT_GRAD(OB)                                                                           \
    NN_AVX512 static void weight_grad_##OB(float *dw, const float *dyw, const float *xp,                 \
                                           const nn_window *g, int out, int count, int o0)               \
    {                                                                                                    \
        size_t wide = nn_direct_wide(g), padded = nn_direct_padded(g);                                   \
        int K = g->c * g->k * g->k;                                                                      \
        for (int t = 0; t < K; t += GRAD_TAPS) {                                                         \
            int taps = K - t < GRAD_TAPS ? K - t : GRAD_TAPS;                                            \
            const float *tap[GRAD_TAPS];                                                                 \
            for (int u = 0; u < GRAD_TAPS; u++)                                                          \
                tap[u] = xp + nn_direct_tap_offset(g, t + (u < taps ? u : 0));                           \
            __m512 acc[GRAD_TAPS][OB];                                                                   \
            for (int u = 0; u < GRAD_TAPS; u++)                                                          \
                for (int j = 0; j < OB; j++)                                                             \
                    acc[u][j] = _mm512_setzero_ps();                                                     \
            for (int r = 0; r < count; r++) {                                                            \
                const float *dr = dyw + ((size_t)r * out + o0) * wide;                                   \
                size_t xr = (size_t)r * padded;                                                          \
                for (size_t q = 0; q < wide; q += NN_DIRECT_LANES) {                                     \
                    __m512 xv[GRAD_TAPS];                                                                \
                    for (int u = 0; u < GRAD_TAPS; u++)                                                  \
                        xv[u] = _mm512_loadu_ps(tap[u] + xr + q);                                        \
                    for (int j = 0; j < OB; j++) {                                                       \
                        __m512 d = _mm512_loadu_ps(dr + (size_t)j * wide + q);                           \
                        for (int u = 0; u < GRAD_TAPS; u++)                                              \
                            acc[u][j] = _mm512_fmadd_ps(d, xv[u], acc[u][j]);                            \
                    }                                                                                    \
                }                                                                                        \
            }                                                                                            \
            for (int u = 0; u < taps; u++)                                                               \
                for (int j = 0; j < OB; j++)                                                             \
                    dw[(size_t)(o0 + j) * K + t + u] += _mm512_reduce_add_ps(acc[u][j]);                 \
        }                                                                                                \
    }

#define DEFINE_BLOCKS(OB) DEFINE_FORWARD(OB) DEFINE_WEIGHT_GRAD(OB)
DEFINE_BLOCKS(1)
DEFINE_BLOCKS(2)
DEFINE_BLOCKS(3)
DEFINE_BLOCKS(4)
DEFINE_BLOCKS(5)
DEFINE_BLOCKS(6)
DEFINE_BLOCKS(7)
DEFINE_BLOCKS(8)

typedef void (*forward_block)(float *, const float *, const float *, const float *, const nn_window *, int, int);
typedef void (*weight_grad_block)(float *, const float *, const float *, const nn_window *, int, int, int);
static const forward_block forward_blocks[OUT_BLOCK + 1] = {
    NULL, forward_1, forward_2, forward_3, forward_4, forward_5, forward_6, forward_7, forward_8};
static const weight_grad_block weight_grad_blocks[OUT_BLOCK + 1] = {
    NULL, weight_grad_1, weight_grad_2, weight_grad_3, weight_grad_4, weight_grad_5, weight_grad_6,
    weight_grad_7, weight_grad_8};

static void forward_avx512(float *y, const float *xp, const float *w, const float *b, const nn_window *g, int out)
{
    int by_rows = blocks_by_rows(g, (size_t)g->w + 2 * (size_t)g->pad);
    for (int o0 = 0; o0 < out; o0 += OUT_BLOCK)
        forward_blocks[out - o0 < OUT_BLOCK ? out - o0 : OUT_BLOCK](y, xp, w, b, g, o0, by_rows);
}

static void weight_grad_avx512(float *dw, const float *dyw, const float *xp, const nn_window *g, int out,
                               int count)
{
    for (int o0 = 0; o0 < out; o0 += OUT_BLOCK)
        weight_grad_blocks[out - o0 < OUT_BLOCK ? out - o0 : OUT_BLOCK](dw, dyw, xp, g, out, count, o0);
}

NN_AVX512 static void bias_grad_avx512(float *db, const float *dyw, const nn_window *g, int out, int count)
{
    size_t wide = nn_direct_wide(g);
    for (int o = 0; o < out; o++) {
        __m512 acc = _mm512_setzero_ps();
        for (int r = 0; r < count; r++) {
            const float *d = dyw + ((size_t)r * out + o) * wide;
            for (size_t q = 0; q < wide; q += NN_DIRECT_LANES)
                acc = _mm512_add_ps(acc, _mm512_loadu_ps(d + q));
        }
        db[o] += _mm512_reduce_add_ps(acc);
    }
}

const nn_direct_kernels nn_direct_avx512_kernels = {pad_avx512, widen_avx512, forward_avx512, weight_grad_avx512,
                                                    bias_grad_avx512};
#endif
