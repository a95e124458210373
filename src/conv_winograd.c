/* conv_winograd.c - Conv2d's Winograd path F(2x2, 3x3) (conv_winograd.h).
 *
 * The matrices (Lavin and Gray's):
 *   B' = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A' = [1 1 1 0; 0 1 -1 -1]
 * Tile (ty, tx) of a sample covers outputs 2ty..2ty+1 by 2tx..2tx+1 and
 * reads rows and columns 2ty..2ty+3 by 2tx..2tx+3 of the input padded by
 * g->pad (zeros outside it, and where an odd output leaves a half tile).
 * Each padded row is kept as its even and its odd columns, so that the
 * four columns of a row of tiles are four contiguous runs over tx.
 * A sample's tiles go through the sgemms in blocks of whole rows of
 * tiles, a block's transforms channel-major: position p = 4i + j of tile
 * t of a block lives at v[(ch * 16 + p) * cols + t], and m's and dv's
 * alike, so that each channel's transforms are one run of memory. */
#include <string.h>

#include "conv_winograd.h"
#include "gemm_kernels.h"
#include "hot.h"
#include "tensor.h"

#define POSITIONS 16
/* A block holds at most this many tiles (one row of tiles at least):
 * smaller blocks make the sgemms too short, larger ones leave L2. */
#define BLOCK_TILES 144

typedef struct {
    int th, tw;        /* a sample's tiles: th rows of tw */
    int block, cols;   /* rows of tiles a block, and its tiles */
    int hp, half;      /* the padded planes: hp rows of half evens and half odds */
} plan;

/* The scratch: transformed kernels and their gradients, a block's
 * transforms, a sample's padded planes (of x, and of dx as it is summed),
 * a row of tiles' values. */
typedef struct {
    float *u, *du, *v, *m, *dv, *even, *odd, *dx_even, *dx_odd, *rows;
} parts;

static void make_plan(plan *p, const nn_window *g)
{
    p->th = (g->oh + 1) / 2, p->tw = (g->ow + 1) / 2;
    p->block = BLOCK_TILES / p->tw > 1 ? BLOCK_TILES / p->tw : 1;
    if (p->block > p->th)
        p->block = p->th;
    p->cols = p->block * p->tw;
    p->hp = 2 * p->th + 2, p->half = p->tw + 1;
}

static size_t carve(parts *s, const plan *p, const nn_window *g, int out, float *base)
{
    size_t c = (size_t)g->c, o = (size_t)out, cols = (size_t)p->cols, planes = c * p->hp * p->half;
    size_t sizes[10] = {POSITIONS * o * c, POSITIONS * o * c, POSITIONS * c * cols, POSITIONS * o * cols,
                        POSITIONS * c * cols, planes, planes, planes, planes, POSITIONS * (size_t)p->tw};
    float **const at[10] = {&s->u,   &s->du,  &s->v,       &s->m,      &s->dv,
                            &s->even, &s->odd, &s->dx_even, &s->dx_odd, &s->rows};
    return nn_carve_floats(base, at, sizes, 10);
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

/* u (16 x out x c) = G g G' of each kernel g of w (out x c x 3 x 3) */
static void transform_kernels(float *u, const float *w, int out, int c)
{
    size_t stride = (size_t)out * c;
    for (size_t oc = 0; oc < stride; oc++) {
        const float *k = w + oc * 9;
        float t[4][3], r[4][4];
        for (int b = 0; b < 3; b++) {
            t[0][b] = k[b];
            t[1][b] = 0.5f * (k[b] + k[3 + b] + k[6 + b]);
            t[2][b] = 0.5f * (k[b] - k[3 + b] + k[6 + b]);
            t[3][b] = k[6 + b];
        }
        for (int i = 0; i < 4; i++) {
            r[i][0] = t[i][0];
            r[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            r[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            r[i][3] = t[i][2];
        }
        for (int q = 0; q < POSITIONS; q++)
            u[q * stride + oc] = r[q / 4][q % 4];
    }
}

/* dw (out x c x 3 x 3) += G' dU G of each of du's (16 x out x c) */
static void add_kernel_grads(float *dw, const float *du, int out, int c)
{
    size_t stride = (size_t)out * c;
    for (size_t oc = 0; oc < stride; oc++) {
        float x[4][4], t[3][4];
        for (int q = 0; q < POSITIONS; q++)
            x[q / 4][q % 4] = du[q * stride + oc];
        for (int j = 0; j < 4; j++) {
            t[0][j] = x[0][j] + 0.5f * (x[1][j] + x[2][j]);
            t[1][j] = 0.5f * (x[1][j] - x[2][j]);
            t[2][j] = 0.5f * (x[1][j] + x[2][j]) + x[3][j];
        }
        float *k = dw + oc * 9;
        for (int a = 0; a < 3; a++) {
            k[a * 3 + 0] += t[a][0] + 0.5f * (t[a][1] + t[a][2]);
            k[a * 3 + 1] += 0.5f * (t[a][1] - t[a][2]);
            k[a * 3 + 2] += 0.5f * (t[a][1] + t[a][2]) + t[a][3];
        }
    }
}

/* e, o (n / 2 rounded up) = the even and odd floats of row (n floats;
 * o's last 0 when n is odd) */
NN_HOT static void deinterleave(float *restrict e, float *restrict o, const float *restrict row, int n)
{
    for (int t = 0; t < n / 2; t++)
        e[t] = row[2 * t], o[t] = row[2 * t + 1];
    if (n % 2)
        e[n / 2] = row[n - 1], o[n / 2] = 0.0f;
}

/* even, odd (hp x half) = the even and odd columns of plane x (h x w)
 * padded by g->pad, zeros outside it; line: 2 half floats of scratch */
static void split_plane(float *even, float *odd, const float *x, const nn_window *g, const plan *p, float *line)
{
    size_t half = (size_t)p->half;
    memset(line, 0, 2 * half * sizeof *line); /* its margins stay zero: 2 half >= w + 2 pad */
    for (int y = 0; y < p->hp; y++) {
        int iy = y - g->pad;
        if (iy < 0 || iy >= g->h) {
            memset(even + y * half, 0, half * sizeof *even);
            memset(odd + y * half, 0, half * sizeof *odd);
            continue;
        }
        memcpy(line + g->pad, x + (size_t)iy * g->w, (size_t)g->w * sizeof *line);
        deinterleave(even + y * half, odd + y * half, line, 2 * p->half);
    }
}

/* v[q stride + t] = (B'dB)[q] for the tw tiles of a row, whose input
 * rows' evens and odds start at e and o, half floats apart */
NN_HOT static void tile_row_in(float *restrict v, size_t stride, const float *restrict e,
                               const float *restrict o, int half, int tw)
{
    const float *e0 = e, *e1 = e + half, *e2 = e + 2 * half, *e3 = e + 3 * half;
    const float *o0 = o, *o1 = o + half, *o2 = o + 2 * half, *o3 = o + 3 * half;
#pragma GCC ivdep /* the positions' runs are stride floats apart, stride >= tw */
    for (int t = 0; t < tw; t++) {
        /* d B along each row: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) */
        float a0 = e0[t] - e0[t + 1], a1 = o0[t] + e0[t + 1], a2 = e0[t + 1] - o0[t], a3 = o0[t] - o0[t + 1];
        float b0 = e1[t] - e1[t + 1], b1 = o1[t] + e1[t + 1], b2 = e1[t + 1] - o1[t], b3 = o1[t] - o1[t + 1];
        float c0 = e2[t] - e2[t + 1], c1 = o2[t] + e2[t + 1], c2 = e2[t + 1] - o2[t], c3 = o2[t] - o2[t + 1];
        float d0 = e3[t] - e3[t + 1], d1 = o3[t] + e3[t + 1], d2 = e3[t + 1] - o3[t], d3 = o3[t] - o3[t + 1];
        /* then B' down each column, rows a, b, c, d */
        v[0 * stride + t] = a0 - c0, v[1 * stride + t] = a1 - c1;
        v[2 * stride + t] = a2 - c2, v[3 * stride + t] = a3 - c3;
        v[4 * stride + t] = b0 + c0, v[5 * stride + t] = b1 + c1;
        v[6 * stride + t] = b2 + c2, v[7 * stride + t] = b3 + c3;
        v[8 * stride + t] = c0 - b0, v[9 * stride + t] = c1 - b1;
        v[10 * stride + t] = c2 - b2, v[11 * stride + t] = c3 - b3;
        v[12 * stride + t] = b0 - d0, v[13 * stride + t] = b1 - d1;
        v[14 * stride + t] = b2 - d2, v[15 * stride + t] = b3 - d3;
    }
}

/* A sample's padded planes of x (c x h x w) */
static void split_sample(const parts *s, const float *x, const nn_window *g, const plan *p)
{
    size_t plane = (size_t)g->h * g->w, padded = (size_t)p->hp * p->half;
    for (int ch = 0; ch < g->c; ch++)
        split_plane(s->even + ch * padded, s->odd + ch * padded, x + ch * plane, g, p, s->rows);
}

/* v = the transforms of the rows of tiles ty0 .. ty0 + rows - 1 */
static void input_tiles(const parts *s, const nn_window *g, const plan *p, int ty0, int rows)
{
    size_t padded = (size_t)p->hp * p->half;
    for (int ch = 0; ch < g->c; ch++)
        for (int ty = ty0; ty < ty0 + rows; ty++) {
            size_t at = ch * padded + (size_t)2 * ty * p->half;
            tile_row_in(s->v + (size_t)ch * POSITIONS * p->cols + (size_t)(ty - ty0) * p->tw, p->cols, s->even + at,
                        s->odd + at, p->half, p->tw);
        }
}

/* q (4 x tw: the evens and odds of the tiles' two output rows) = A'MA +
 * bias for the tw tiles of a row, m[pos * stride + t] */
NN_HOT static void tile_row_out(float *restrict q, const float *restrict m, size_t stride, int tw, float bias)
{
#pragma GCC ivdep /* the positions' runs are stride floats apart, stride >= tw */
    for (int t = 0; t < tw; t++) {
        float x[POSITIONS];
        for (int k = 0; k < POSITIONS; k++)
            x[k] = m[k * stride + t];
        /* A' down each column: (m0 + m1 + m2, m1 - m2 - m3) */
        float r0 = x[0] + x[4] + x[8], r1 = x[1] + x[5] + x[9], r2 = x[2] + x[6] + x[10], r3 = x[3] + x[7] + x[11];
        float s0 = x[4] - x[8] - x[12], s1 = x[5] - x[9] - x[13], s2 = x[6] - x[10] - x[14],
              s3 = x[7] - x[11] - x[15];
        q[t] = r0 + r1 + r2 + bias, q[tw + t] = r1 - r2 - r3 + bias;
        q[2 * tw + t] = s0 + s1 + s2 + bias, q[3 * tw + t] = s1 - s2 - s3 + bias;
    }
}

/* y (n floats) = the evens e and odds o in turn */
NN_HOT static void interleave(float *y, const float *e, const float *o, int n)
{
    for (int t = 0; t < n / 2; t++)
        y[2 * t] = e[t], y[2 * t + 1] = o[t];
    if (n % 2)
        y[n - 1] = e[n / 2];
}

/* A sample's output y (out x oh x ow) in the rows of tiles ty0 .. ty0 +
 * rows - 1, from m */
static void output_tiles(float *y, const parts *s, const float *b, const nn_window *g, const plan *p, int out,
                         int ty0, int rows)
{
    size_t plane = (size_t)g->oh * g->ow;
    int tw = p->tw;
    for (int o = 0; o < out; o++)
        for (int ty = ty0; ty < ty0 + rows; ty++) {
            float *yr = y + o * plane + (size_t)2 * ty * g->ow;
            tile_row_out(s->rows, s->m + (size_t)o * POSITIONS * p->cols + (size_t)(ty - ty0) * tw, p->cols, tw,
                         b ? b[o] : 0.0f);
            interleave(yr, s->rows, s->rows + tw, g->ow);
            if (2 * ty + 1 < g->oh)
                interleave(yr + g->ow, s->rows + 2 * tw, s->rows + 3 * tw, g->ow);
        }
}

/* c (m x n, row stride ldc) = op(a) b, beta 0: the AVX2 small products
 * (gemm_kernels.h) where the kernels are AVX2 (measured there, not yet
 * beside AVX-512's sgemm), else sgemm. */
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
    for (int r = 0; r < n; r++) {
        split_sample(&s, x + (size_t)r * in, g, &p);
        for (int ty0 = 0; ty0 < p.th; ty0 += p.block) {
            int rows = p.th - ty0 < p.block ? p.th - ty0 : p.block;
            input_tiles(&s, g, &p, ty0, rows);
            for (int q = 0; q < POSITIONS; q++)
                position_product(0, out, rows * p.tw, g->c, s.u + q * oc, g->c, s.v + q * p.cols, (int)ld,
                                 s.m + q * p.cols, (int)ld);
            output_tiles(y + (size_t)r * ysz, &s, b, g, &p, out, ty0, rows);
        }
    }
}

/* z[pos * stride + t] = (A dy A')[pos] for the tw tiles of a row, whose
 * dy rows' evens and odds are q (4 x tw: row 0 evens, odds, row 1 evens,
 * odds) */
NN_HOT static void tile_row_grad_out(float *restrict z, size_t stride, const float *restrict q, int tw)
{
#pragma GCC ivdep /* the positions' runs are stride floats apart, stride >= tw */
    for (int t = 0; t < tw; t++) {
        float a = q[t], b = q[tw + t], c = q[2 * tw + t], d = q[3 * tw + t];
        /* A down each column: (y0, y0 + y1, y0 - y1, -y1); then along each row */
        float r[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}};
        for (int i = 0; i < 4; i++) {
            z[(4 * i + 0) * stride + t] = r[i][0];
            z[(4 * i + 1) * stride + t] = r[i][0] + r[i][1];
            z[(4 * i + 2) * stride + t] = r[i][0] - r[i][1];
            z[(4 * i + 3) * stride + t] = -r[i][1];
        }
    }
}

/* e, o (tw) = the evens and odds of output row oy of plane dy (zeros past
 * oh) */
static void split_row(float *e, float *o, const float *dy, int oy, const nn_window *g, int tw)
{
    if (oy < g->oh) {
        deinterleave(e, o, dy + (size_t)oy * g->ow, g->ow);
        return;
    }
    memset(e, 0, (size_t)tw * sizeof *e);
    memset(o, 0, (size_t)tw * sizeof *o);
}

/* m = Z of a sample's dy (out x oh x ow) in the rows of tiles ty0 .. ty0
 * + rows - 1 */
static void output_grad_tiles(const parts *s, const float *dy, const nn_window *g, const plan *p, int out,
                              int ty0, int rows)
{
    size_t plane = (size_t)g->oh * g->ow;
    int tw = p->tw;
    for (int o = 0; o < out; o++)
        for (int ty = ty0; ty < ty0 + rows; ty++) {
            const float *d = dy + o * plane;
            split_row(s->rows, s->rows + tw, d, 2 * ty, g, tw);
            split_row(s->rows + 2 * tw, s->rows + 3 * tw, d, 2 * ty + 1, g, tw);
            tile_row_grad_out(s->m + (size_t)o * POSITIONS * p->cols + (size_t)(ty - ty0) * tw, p->cols, s->rows,
                              tw);
        }
}

/* q[(4r + j) tw + t] = (B dV B')[r][j] for the tw tiles of a row,
 * dv[pos * stride + t] */
NN_HOT static void tile_row_grad_in(float *restrict q, const float *restrict dv, size_t stride, int tw)
{
#pragma GCC ivdep /* the positions' runs are stride floats apart, stride >= tw */
    for (int t = 0; t < tw; t++) {
        float x[POSITIONS], y[POSITIONS];
        for (int k = 0; k < POSITIONS; k++)
            x[k] = dv[k * stride + t];
        /* B down each column: (x0, x1 - x2 + x3, -x0 + x1 + x2, -x3) */
        for (int j = 0; j < 4; j++) {
            y[j] = x[j];
            y[4 + j] = x[4 + j] - x[8 + j] + x[12 + j];
            y[8 + j] = x[4 + j] + x[8 + j] - x[j];
            y[12 + j] = -x[12 + j];
        }
        /* then along each row */
        for (int r = 0; r < 4; r++) {
            const float *yr = y + 4 * r;
            q[(4 * r + 0) * tw + t] = yr[0];
            q[(4 * r + 1) * tw + t] = yr[1] - yr[2] + yr[3];
            q[(4 * r + 2) * tw + t] = yr[1] + yr[2] - yr[0];
            q[(4 * r + 3) * tw + t] = -yr[3];
        }
    }
}

/* dst[t] += src[t], t < n */
NN_HOT static void add_run(float *restrict dst, const float *restrict src, int n)
{
    for (int t = 0; t < n; t++)
        dst[t] += src[t];
}

/* The dx planes += the 4x4s of dv's tiles, rows of tiles ty0 .. ty0 +
 * rows - 1 */
static void input_grad_tiles(const parts *s, const nn_window *g, const plan *p, int ty0, int rows)
{
    size_t padded = (size_t)p->hp * p->half;
    int tw = p->tw;
    for (int ch = 0; ch < g->c; ch++)
        for (int ty = ty0; ty < ty0 + rows; ty++) {
            tile_row_grad_in(s->rows, s->dv + (size_t)ch * POSITIONS * p->cols + (size_t)(ty - ty0) * tw, p->cols,
                             tw);
            for (int r = 0; r < 4; r++) {
                size_t row = ch * padded + (size_t)(2 * ty + r) * p->half;
                const float *q = s->rows + (size_t)4 * r * tw;
                add_run(s->dx_even + row, q, tw);
                add_run(s->dx_odd + row, q + tw, tw);
                add_run(s->dx_even + row + 1, q + 2 * tw, tw);
                add_run(s->dx_odd + row + 1, q + 3 * tw, tw);
            }
        }
}

/* dx (c x h x w) = the inner h x w of the dx planes */
static void join_sample(float *dx, const parts *s, const nn_window *g, const plan *p)
{
    size_t plane = (size_t)g->h * g->w, padded = (size_t)p->hp * p->half;
    float *line = s->rows; /* 2 half floats */
    for (int ch = 0; ch < g->c; ch++)
        for (int iy = 0; iy < g->h; iy++) {
            size_t row = ch * padded + (size_t)(iy + g->pad) * p->half;
            interleave(line, s->dx_even + row, s->dx_odd + row, 2 * p->half);
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
    size_t planes = (size_t)g->c * p.hp * p.half;
    nn_conv2d_clear_grads(dw, db, out, g, accumulate);
    if (dx)
        transform_kernels(s.u, w, out, g->c);
    memset(s.du, 0, POSITIONS * oc * sizeof *s.du);
    for (int r = 0; r < n; r++) {
        const float *dyr = dy + (size_t)r * ysz;
        split_sample(&s, x + (size_t)r * in, g, &p);
        if (db)
            nn_conv2d_add_bias_grads(db, dyr, out, g);
        if (dx) {
            memset(s.dx_even, 0, planes * sizeof *s.dx_even);
            memset(s.dx_odd, 0, planes * sizeof *s.dx_odd);
        }
        for (int ty0 = 0; ty0 < p.th; ty0 += p.block) {
            int rows = p.th - ty0 < p.block ? p.th - ty0 : p.block, columns = rows * p.tw;
            input_tiles(&s, g, &p, ty0, rows);
            output_grad_tiles(&s, dyr, g, &p, out, ty0, rows);
            for (int q = 0; q < POSITIONS; q++)
                nn_gemm(0, 1, out, g->c, columns, 1.0f, s.m + q * p.cols, (int)ld, s.v + q * p.cols, (int)ld, 1.0f,
                        s.du + q * oc, g->c);
            if (!dx)
                continue;
            for (int q = 0; q < POSITIONS; q++)
                position_product(1, g->c, columns, out, s.u + q * oc, g->c, s.m + q * p.cols, (int)ld,
                                 s.dv + q * p.cols, (int)ld);
            input_grad_tiles(&s, g, &p, ty0, rows);
        }
        if (dx)
            join_sample(dx + (size_t)r * in, &s, g, &p);
    }
    add_kernel_grads(dw, s.du, out, g->c);
}
