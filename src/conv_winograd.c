/* conv_winograd.c - Conv2d's Winograd path F(4x4, 3x3) (conv_winograd.h).
 *
 * The matrices (Lavin and Gray's):
 *   B' = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *         0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G  = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *         1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A' = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * Tile (ty, tx) of a sample covers outputs 4ty..4ty+3 by 4tx..4tx+3 and
 * reads rows and columns 4ty..4ty+5 by 4tx..4tx+5 of the input padded by
 * g->pad (zeros outside it, and past the outputs of a last part tile).
 *
 * Every transform is a pass of one linear map of 4 or 6 runs of floats
 * over all the tiles at once, so that its loop is long and flat: a
 * sample's padded input is kept as six shifted copies, copy j holding
 * column 4tx + j of each tile and row y at [y % 4][y / 4], so that row
 * 4ty + r of every tile is one run at [r % 4][ty + r / 4]; the
 * transforms along rows go first, then those down columns. Position p =
 * 6i + j of tile t of a block lives at v[(ch * 36 + p) * cols + t], m's
 * and dv's alike. A block holds whole samples, or rows of tiles of one
 * sample when a sample has more tiles than a block. */
#include <string.h>

#include "conv_winograd.h"
#include "gemm_kernels.h"
#include "hot.h"
#include "tensor.h"

#define SPAN 6 /* a tile's inputs a side */
#define POSITIONS NN_WINOGRAD_POSITIONS
/* A block, the products' columns, holds at most this many tiles: whole
 * samples where one's tiles fit, else rows of tiles of one sample. */
#define BLOCK_TILES 72

typedef struct {
    int th, tw;      /* a sample's tiles: th rows of tw */
    int samples;     /* samples a block: several when a sample's tiles fit, else 1 */
    int block;       /* rows of tiles a block takes of each sample */
    int piece, cols; /* a sample's tiles in a block, and a block's */
    size_t copy;     /* floats of one shifted copy: 4 x (th + 1) rows of tw */
} plan;

/* The scratch: transformed kernels and their gradients, a block's
 * transforms, a sample's rows transformed along (six copies a channel),
 * the shifted copies of one channel, dx's shifted copies, a padded row,
 * and two passes' worth of a piece. */
typedef struct {
    float *u, *du, *v, *m, *dv, *along, *copies, *dx, *line, *t1, *t2;
} parts;

static void make_plan(plan *p, const nn_window *g)
{
    p->th = (g->oh + 3) / 4, p->tw = (g->ow + 3) / 4;
    int tiles = p->th * p->tw;
    if (tiles <= BLOCK_TILES) {
        p->samples = BLOCK_TILES / tiles, p->block = p->th;
    } else {
        p->samples = 1, p->block = BLOCK_TILES / p->tw > 1 ? BLOCK_TILES / p->tw : 1;
    }
    p->piece = p->block * p->tw, p->cols = p->samples * p->piece;
    p->copy = (size_t)4 * (p->th + 1) * p->tw;
}

static size_t carve(parts *s, const plan *p, const nn_window *g, int out, float *base)
{
    size_t c = (size_t)g->c, o = (size_t)out, cols = (size_t)p->cols, piece = (size_t)p->piece;
    size_t channel = SPAN * p->copy;
    size_t sizes[11] = {POSITIONS * o * c,    POSITIONS * o * c,    POSITIONS * c * cols, POSITIONS * o * cols,
                        POSITIONS * c * cols, c * channel,          channel,              c * channel,
                        4 * (size_t)p->tw + 8, POSITIONS * piece, POSITIONS * piece};
    float **const at[11] = {&s->u,      &s->du,   &s->v,  &s->m,    &s->dv, &s->along,
                            &s->copies, &s->dx,   &s->line, &s->t1, &s->t2};
    return nn_carve_floats(base, at, sizes, 11);
}

int nn_winograd_fits(const nn_window *g)
{
    return g->k == 3 && g->s == 1;
}

size_t nn_winograd_scratch(const nn_window *g, int out)
{
    plan p;
    parts unused;
    make_plan(&p, g);
    return carve(&unused, &p, g, out, NULL);
}

/* The one-dimensional maps, each over n tiles: o_k[t] for the outputs from
 * i_k[t] for the inputs, runs given by their starts. */

/* B' d: a tile's inputs (6) transformed */
NN_HOT static void pass_bt(float *const o[6], const float *const i[6], int n)
{
    const float *i0 = i[0], *i1 = i[1], *i2 = i[2], *i3 = i[3], *i4 = i[4], *i5 = i[5];
    float *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3], *o4 = o[4], *o5 = o[5];
#pragma GCC ivdep /* the runs do not overlap */
    for (int t = 0; t < n; t++) {
        float d0 = i0[t], d1 = i1[t], d2 = i2[t], d3 = i3[t], d4 = i4[t], d5 = i5[t];
        o0[t] = 4.0f * d0 - 5.0f * d2 + d4;
        o1[t] = d3 + d4 - 4.0f * (d1 + d2);
        o2[t] = d4 - d3 + 4.0f * (d1 - d2);
        o3[t] = d4 - d2 + 2.0f * (d3 - d1);
        o4[t] = d4 - d2 + 2.0f * (d1 - d3);
        o5[t] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* B v: an input gradient's tile (6) from its transform's */
NN_HOT static void pass_b(float *const o[6], const float *const i[6], int n)
{
    const float *i0 = i[0], *i1 = i[1], *i2 = i[2], *i3 = i[3], *i4 = i[4], *i5 = i[5];
    float *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3], *o4 = o[4], *o5 = o[5];
#pragma GCC ivdep /* the runs do not overlap */
    for (int t = 0; t < n; t++) {
        float v0 = i0[t], v1 = i1[t], v2 = i2[t], v3 = i3[t], v4 = i4[t], v5 = i5[t];
        o0[t] = 4.0f * v0;
        o1[t] = 4.0f * (v2 - v1 + v5) + 2.0f * (v4 - v3);
        o2[t] = -5.0f * v0 - 4.0f * (v1 + v2) - v3 - v4;
        o3[t] = v1 - v2 + 2.0f * (v3 - v4) - 5.0f * v5;
        o4[t] = v0 + v1 + v2 + v3 + v4;
        o5[t] = v5;
    }
}

/* A' m + bias: a tile's outputs (4) from its products (6) */
NN_HOT static void pass_at(float *const o[4], const float *const i[6], int n, float bias)
{
    const float *i0 = i[0], *i1 = i[1], *i2 = i[2], *i3 = i[3], *i4 = i[4], *i5 = i[5];
    float *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
#pragma GCC ivdep /* the runs do not overlap */
    for (int t = 0; t < n; t++) {
        float m0 = i0[t], m1 = i1[t], m2 = i2[t], m3 = i3[t], m4 = i4[t], m5 = i5[t];
        float sp = m1 + m2, dp = m1 - m2, sq = m3 + m4, dq = m3 - m4;
        o0[t] = m0 + sp + sq + bias;
        o1[t] = dp + 2.0f * dq + bias;
        o2[t] = sp + 4.0f * sq + bias;
        o3[t] = dp + 8.0f * dq + m5 + bias;
    }
}

/* A y: an output gradient's tile (4) transformed (6) */
NN_HOT static void pass_a(float *const o[6], const float *const i[4], int n)
{
    const float *i0 = i[0], *i1 = i[1], *i2 = i[2], *i3 = i[3];
    float *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3], *o4 = o[4], *o5 = o[5];
#pragma GCC ivdep /* the runs do not overlap */
    for (int t = 0; t < n; t++) {
        float y0 = i0[t], y1 = i1[t], y2 = i2[t], y3 = i3[t];
        float se = y0 + y2, so = y1 + y3, fe = y0 + 4.0f * y2, fo = 2.0f * y1 + 8.0f * y3;
        o0[t] = y0;
        o1[t] = se + so;
        o2[t] = se - so;
        o3[t] = fe + fo;
        o4[t] = fe - fo;
        o5[t] = y3;
    }
}

/* x (6) = G k (3), G's fractions as products by their floats */
static void g_times(float x[6], float k0, float k1, float k2)
{
    const float quarter = 0.25f, sixth = 1.0f / 6.0f, twelfth = 1.0f / 12.0f, twentyfourth = 1.0f / 24.0f;
    x[0] = quarter * k0;
    x[1] = -sixth * (k0 + k1 + k2);
    x[2] = -sixth * (k0 - k1 + k2);
    x[3] = twentyfourth * k0 + twelfth * k1 + sixth * k2;
    x[4] = twentyfourth * k0 - twelfth * k1 + sixth * k2;
    x[5] = k2;
}

/* u (36 x out x c) = G g G' of each kernel g of w (out x c x 3 x 3) */
static void transform_kernels(float *u, const float *w, int out, int c)
{
    size_t stride = (size_t)out * c;
    for (size_t oc = 0; oc < stride; oc++) {
        const float *k = w + oc * 9;
        float t[3][SPAN], r[SPAN];
        for (int b = 0; b < 3; b++) /* down each column b */
            g_times(t[b], k[b], k[3 + b], k[6 + b]);
        for (int i = 0; i < SPAN; i++) { /* then along each row i */
            g_times(r, t[0][i], t[1][i], t[2][i]);
            for (int j = 0; j < SPAN; j++)
                u[(size_t)(SPAN * i + j) * stride + oc] = r[j];
        }
    }
}

/* k (3) = G' x (6) */
static void g_transposed(float k[3], const float x[6])
{
    const float quarter = 0.25f, sixth = 1.0f / 6.0f, twelfth = 1.0f / 12.0f, twentyfourth = 1.0f / 24.0f;
    k[0] = quarter * x[0] - sixth * (x[1] + x[2]) + twentyfourth * (x[3] + x[4]);
    k[1] = sixth * (x[2] - x[1]) + twelfth * (x[3] - x[4]);
    k[2] = sixth * (x[3] + x[4] - x[1] - x[2]) + x[5];
}

/* dw (out x c x 3 x 3) += G' dU G of each of du's (36 x out x c) */
static void add_kernel_grads(float *dw, const float *du, int out, int c)
{
    size_t stride = (size_t)out * c;
    for (size_t oc = 0; oc < stride; oc++) {
        float t[SPAN][3], col[SPAN], k[3];
        for (int i = 0; i < SPAN; i++) {
            float row[SPAN];
            for (int j = 0; j < SPAN; j++)
                row[j] = du[(size_t)(SPAN * i + j) * stride + oc];
            g_transposed(t[i], row);
        }
        float *d = dw + oc * 9;
        for (int b = 0; b < 3; b++) {
            for (int i = 0; i < SPAN; i++)
                col[i] = t[i][b];
            g_transposed(k, col);
            for (int a = 0; a < 3; a++)
                d[a * 3 + b] += k[a];
        }
    }
}

/* Where row y (padded) of shifted copy j starts in a channel's copies */
static size_t copy_row(const plan *p, int j, int y)
{
    return (size_t)j * p->copy + ((size_t)(y % 4) * (p->th + 1) + (size_t)(y / 4)) * p->tw;
}

/* along (6 copies) = the transforms along the rows of one channel plane x
 * (h x w), padded by g->pad */
static void transform_plane_rows(float *along, const float *x, const parts *s, const nn_window *g, const plan *p)
{
    int tw = p->tw;
    size_t width = 4 * (size_t)tw + 2; /* >= w + 2 pad */
    for (int y = 0; y < 4 * (p->th + 1); y++) {
        int iy = y - g->pad;
        memset(s->line, 0, width * sizeof *s->line);
        if (iy >= 0 && iy < g->h)
            memcpy(s->line + g->pad, x + (size_t)iy * g->w, (size_t)g->w * sizeof *s->line);
        for (int j = 0; j < SPAN; j++) {
            float *c = s->copies + copy_row(p, j, y);
            const float *l = s->line + j;
            for (int t = 0; t < tw; t++)
                c[t] = l[4 * t];
        }
    }
    const float *in[SPAN];
    float *o[SPAN];
    for (int j = 0; j < SPAN; j++)
        in[j] = s->copies + (size_t)j * p->copy, o[j] = along + (size_t)j * p->copy;
    pass_bt(o, in, (int)p->copy);
}

/* A sample's rows transformed, channel by channel */
static void transform_sample_rows(const parts *s, const float *x, const nn_window *g, const plan *p)
{
    size_t plane = (size_t)g->h * g->w, channel = SPAN * p->copy;
    for (int ch = 0; ch < g->c; ch++)
        transform_plane_rows(s->along + ch * channel, x + ch * plane, s, g, p);
}

/* v's columns at col0 = the transforms of rows of tiles ty0 .. ty0 + rows
 * - 1 of the sample whose rows are transformed */
static void input_tiles(const parts *s, const nn_window *g, const plan *p, int col0, int ty0, int rows)
{
    size_t channel = SPAN * p->copy;
    for (int ch = 0; ch < g->c; ch++)
        for (int j = 0; j < SPAN; j++) {
            const float *base = s->along + ch * channel;
            const float *in[SPAN];
            float *o[SPAN];
            for (int r = 0; r < SPAN; r++) {
                in[r] = base + copy_row(p, j, 4 * ty0 + r);
                o[r] = s->v + ((size_t)ch * POSITIONS + (size_t)(SPAN * r + j)) * p->cols + col0;
            }
            pass_bt(o, in, rows * p->tw);
        }
}

/* y (w floats) = the runs q, q + n, q + 2n and q + 3n in turn */
static void interleave4(float *restrict y, const float *restrict q, size_t n, int w)
{
    const float *q1 = q + n, *q2 = q + 2 * n, *q3 = q + 3 * n;
    int t = 0;
    for (; 4 * t + 4 <= w; t++)
        y[4 * t] = q[t], y[4 * t + 1] = q1[t], y[4 * t + 2] = q2[t], y[4 * t + 3] = q3[t];
    const float *const part[3] = {q, q1, q2};
    for (int c = 0; 4 * t + c < w; c++)
        y[4 * t + c] = part[c][t];
}

/* The runs q, q + n, q + 2n and q + 3n (tw floats) = every fourth float of
 * row d (w floats; NULL: none), zeros past it */
static void deinterleave4(float *restrict q, size_t n, const float *restrict d, int w, int tw)
{
    float *q1 = q + n, *q2 = q + 2 * n, *q3 = q + 3 * n;
    int t = 0;
    if (d)
        for (; 4 * t + 4 <= w; t++)
            q[t] = d[4 * t], q1[t] = d[4 * t + 1], q2[t] = d[4 * t + 2], q3[t] = d[4 * t + 3];
    float *const part[4] = {q, q1, q2, q3};
    for (; t < tw; t++)
        for (int c = 0; c < 4; c++)
            part[c][t] = d && 4 * t + c < w ? d[4 * t + c] : 0.0f;
}

/* A sample's output y (out x oh x ow) in the rows of tiles ty0 .. ty0 +
 * rows - 1, from m's columns at col0 */
static void output_tiles(float *y, const parts *s, const float *b, const nn_window *g, const plan *p, int out,
                         int col0, int ty0, int rows)
{
    size_t plane = (size_t)g->oh * g->ow;
    int tw = p->tw, n = rows * tw;
    for (int o = 0; o < out; o++) {
        const float *m = s->m + (size_t)o * POSITIONS * p->cols + col0;
        const float *in[SPAN];
        float *q[4];
        for (int i = 0; i < SPAN; i++) { /* along each row i: t1[i * 4 + column] */
            for (int j = 0; j < SPAN; j++)
                in[j] = m + (size_t)(SPAN * i + j) * p->cols;
            for (int c = 0; c < 4; c++)
                q[c] = s->t1 + (size_t)(4 * i + c) * n;
            pass_at(q, in, n, 0.0f);
        }
        for (int c = 0; c < 4; c++) { /* then down each column: t2[row * 4 + column] */
            for (int i = 0; i < SPAN; i++)
                in[i] = s->t1 + (size_t)(4 * i + c) * n;
            for (int a = 0; a < 4; a++)
                q[a] = s->t2 + (size_t)(4 * a + c) * n;
            pass_at(q, in, n, b ? b[o] : 0.0f);
        }
        for (int ty = 0; ty < rows; ty++)
            for (int a = 0; a < 4 && 4 * (ty0 + ty) + a < g->oh; a++) {
                const float *q0 = s->t2 + (size_t)(4 * a) * n + (size_t)ty * tw;
                interleave4(y + o * plane + (size_t)(4 * (ty0 + ty) + a) * g->ow, q0, (size_t)n, g->ow);
            }
    }
}

/* c (m x n, row stride ldc) = op(a) b, beta 0: the AVX2 small products
 * (gemm_kernels.h) where the kernels are AVX2, else sgemm. */
static void position_product(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                             float *c, int ldc)
{
#ifdef NN_HAVE_X86_KERNELS
    if (nn_cpu_kernels() == NN_CPU_AVX2) {
        nn_small_gemm_avx2(trans_a, m, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
#endif
    nn_gemm(trans_a, 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* The rows of tiles a block takes from row ty0 on */
static int block_rows(const plan *p, int ty0)
{
    return p->th - ty0 < p->block ? p->th - ty0 : p->block;
}

void nn_winograd_forward(float *y, const float *x, const float *w, const float *b, float *scratch, int n,
                         int out, const nn_window *g)
{
    plan p;
    parts s;
    make_plan(&p, g);
    carve(&s, &p, g, out, scratch);
    transform_kernels(s.u, w, out, g->c);
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * g->oh * g->ow;
    size_t oc = (size_t)out * g->c, ld = (size_t)POSITIONS * p.cols;
    for (int r0 = 0; r0 < n; r0 += p.samples) {
        int ns = n - r0 < p.samples ? n - r0 : p.samples;
        for (int ty0 = 0; ty0 < p.th; ty0 += p.block) {
            int rows = block_rows(&p, ty0), piece = rows * p.tw;
            for (int k = 0; k < ns; k++) {
                if (ty0 == 0) /* a block of several samples takes all their rows */
                    transform_sample_rows(&s, x + (size_t)(r0 + k) * in, g, &p);
                input_tiles(&s, g, &p, k * piece, ty0, rows);
            }
            for (int q = 0; q < POSITIONS; q++)
                position_product(0, out, ns * piece, g->c, s.u + q * oc, g->c, s.v + q * p.cols, (int)ld,
                                 s.m + q * p.cols, (int)ld);
            for (int k = 0; k < ns; k++)
                output_tiles(y + (size_t)(r0 + k) * ysz, &s, b, g, &p, out, k * piece, ty0, rows);
        }
    }
}

/* m's columns at col0 = A dy A' of a sample's dy (out x oh x ow) in the
 * rows of tiles ty0 .. ty0 + rows - 1 */
static void output_grad_tiles(const parts *s, const float *dy, const nn_window *g, const plan *p, int out,
                              int col0, int ty0, int rows)
{
    size_t plane = (size_t)g->oh * g->ow;
    int tw = p->tw, n = rows * tw;
    for (int o = 0; o < out; o++) {
        /* t2[a * 4 + c] = column 4t + c of row 4ty + a of each tile, zeros past dy */
        for (int ty = 0; ty < rows; ty++)
            for (int a = 0; a < 4; a++) {
                int oy = 4 * (ty0 + ty) + a;
                const float *d = oy < g->oh ? dy + o * plane + (size_t)oy * g->ow : NULL;
                deinterleave4(s->t2 + (size_t)(4 * a) * n + (size_t)ty * tw, (size_t)n, d, g->ow, tw);
            }
        const float *in[4];
        float *z[SPAN];
        for (int a = 0; a < 4; a++) { /* along each row a: t1[a * 6 + j] */
            for (int c = 0; c < 4; c++)
                in[c] = s->t2 + (size_t)(4 * a + c) * n;
            for (int j = 0; j < SPAN; j++)
                z[j] = s->t1 + (size_t)(SPAN * a + j) * n;
            pass_a(z, in, n);
        }
        float *m = s->m + (size_t)o * POSITIONS * p->cols + col0;
        for (int j = 0; j < SPAN; j++) { /* then down each column */
            for (int a = 0; a < 4; a++)
                in[a] = s->t1 + (size_t)(SPAN * a + j) * n;
            for (int i = 0; i < SPAN; i++)
                z[i] = m + (size_t)(SPAN * i + j) * p->cols;
            pass_a(z, in, n);
        }
    }
}

/* dst[t] += src[t], t < n */
NN_HOT static void add_run(float *restrict dst, const float *restrict src, int n)
{
    for (int t = 0; t < n; t++)
        dst[t] += src[t];
}

/* dx's shifted copies += B dV B' of dv's columns at col0, the rows of
 * tiles ty0 .. ty0 + rows - 1 */
static void input_grad_tiles(const parts *s, const nn_window *g, const plan *p, int col0, int ty0, int rows)
{
    size_t channel = SPAN * p->copy;
    int n = rows * p->tw;
    for (int ch = 0; ch < g->c; ch++) {
        const float *dv = s->dv + (size_t)ch * POSITIONS * p->cols + col0;
        const float *in[SPAN];
        float *o[SPAN];
        for (int i = 0; i < SPAN; i++) { /* along each row i: t1[i * 6 + column] */
            for (int j = 0; j < SPAN; j++)
                in[j] = dv + (size_t)(SPAN * i + j) * p->cols, o[j] = s->t1 + (size_t)(SPAN * i + j) * n;
            pass_b(o, in, n);
        }
        for (int c = 0; c < SPAN; c++) { /* then down each column: t2[row * 6 + column] */
            for (int i = 0; i < SPAN; i++)
                in[i] = s->t1 + (size_t)(SPAN * i + c) * n, o[i] = s->t2 + (size_t)(SPAN * i + c) * n;
            pass_b(o, in, n);
        }
        /* rows of tiles overlap by two rows: each row of the tile added on its own */
        float *dx = s->dx + ch * channel;
        for (int r = 0; r < SPAN; r++)
            for (int c = 0; c < SPAN; c++)
                add_run(dx + copy_row(p, c, 4 * ty0 + r), s->t2 + (size_t)(SPAN * r + c) * n, n);
    }
}

/* dx (c x h x w) = the inner h x w of the sample's dx copies: a padded
 * row is its copies 0 to 3 interleaved, copies 4 and 5 added four and
 * five columns on */
static void join_sample(float *dx, const parts *s, const nn_window *g, const plan *p)
{
    size_t plane = (size_t)g->h * g->w, channel = SPAN * p->copy;
    int tw = p->tw;
    float *line = s->line; /* 4 tw + 2 floats */
    for (int ch = 0; ch < g->c; ch++)
        for (int iy = 0; iy < g->h; iy++) {
            const float *copies = s->dx + ch * channel;
            int y = iy + g->pad;
            const float *c0 = copies + copy_row(p, 0, y);
            interleave4(line, c0, p->copy, 4 * tw);
            line[4 * tw] = line[4 * tw + 1] = 0.0f;
            const float *c4 = c0 + 4 * p->copy, *c5 = c0 + 5 * p->copy;
            for (int t = 0; t < tw; t++)
                line[4 * t + 4] += c4[t], line[4 * t + 5] += c5[t];
            memcpy(dx + ch * plane + (size_t)iy * g->w, line + g->pad, (size_t)g->w * sizeof *dx);
        }
}

void nn_winograd_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          float *scratch, int n, int out, const nn_window *g, int accumulate)
{
    plan p;
    parts s;
    make_plan(&p, g);
    carve(&s, &p, g, out, scratch);
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * g->oh * g->ow;
    size_t oc = (size_t)out * g->c, ld = (size_t)POSITIONS * p.cols;
    size_t copies = (size_t)g->c * SPAN * p.copy;
    nn_conv2d_clear_grads(dw, db, out, g, accumulate);
    if (dx)
        transform_kernels(s.u, w, out, g->c);
    memset(s.du, 0, POSITIONS * oc * sizeof *s.du);
    for (int r0 = 0; r0 < n; r0 += p.samples) {
        int ns = n - r0 < p.samples ? n - r0 : p.samples;
        for (int ty0 = 0; ty0 < p.th; ty0 += p.block) {
            int rows = block_rows(&p, ty0), piece = rows * p.tw, columns = ns * piece;
            for (int k = 0; k < ns; k++) {
                const float *dyr = dy + (size_t)(r0 + k) * ysz;
                if (ty0 == 0) {
                    transform_sample_rows(&s, x + (size_t)(r0 + k) * in, g, &p);
                    if (db)
                        nn_conv2d_add_bias_grads(db, dyr, out, g);
                }
                input_tiles(&s, g, &p, k * piece, ty0, rows);
                output_grad_tiles(&s, dyr, g, &p, out, k * piece, ty0, rows);
            }
            for (int q = 0; q < POSITIONS; q++)
                nn_gemm(0, 1, out, g->c, columns, 1.0f, s.m + q * p.cols, (int)ld, s.v + q * p.cols, (int)ld, 1.0f,
                        s.du + q * oc, g->c);
            if (!dx)
                continue;
            for (int q = 0; q < POSITIONS; q++)
                position_product(1, g->c, columns, out, s.u + q * oc, g->c, s.m + q * p.cols, (int)ld,
                                 s.dv + q * p.cols, (int)ld);
            for (int k = 0; k < ns; k++) {
                if (ty0 == 0)
                    memset(s.dx, 0, copies * sizeof *s.dx);
                input_grad_tiles(&s, g, &p, k * piece, ty0, rows);
                if (ty0 + rows == p.th)
                    join_sample(dx + (size_t)(r0 + k) * in, &s, g, &p);
            }
        }
    }
    add_kernel_grads(dw, s.du, out, g->c);
}
