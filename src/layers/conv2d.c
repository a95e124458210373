/* conv2d.c - Conv2d(in, out, k, {stride, padding, bias}): a 2-D convolution
 * (cross-correlation, as PyTorch's) of NCHW samples, weights out x in x k x k,
 * through im2col and sgemm, one sample at a time (no allocation: the columns
 * live in the part's scratch), or on a faster path that choose_path picks:
 * direct (conv_kernels.h) or Winograd's (conv_winograd.h). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conv_kernels.h"
#include "conv_winograd.h"
#include "hot.h"
#include "layers.h"
#include "model.h"
#include "tensor.h"

/* The largest im2col block of one sample (in channels x k x k by the output
 * positions): a half's scratch is two of them (columns and their
 * gradients), or the direct or Winograd path's where that is larger. */
#define MAX_COLUMNS (1 << 26)

static const nn_setting settings[] = {
    {"in_channels", NN_SET_INT, offsetof(nn_layer, in_channels), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"out_channels", NN_SET_INT, offsetof(nn_layer, out_channels), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"kernel_size", NN_SET_INT, offsetof(nn_layer, kernel), 1, 0, 1, NN_MAX_FEATURES, NULL},
    {"stride", NN_SET_INT, offsetof(nn_layer, stride), 0, 1, 1, NN_MAX_FEATURES, NULL},
    {"padding", NN_SET_INT, offsetof(nn_layer, padding), 0, 0, 0, NN_MAX_FEATURES, NULL},
    NN_WEIGHT_SETTINGS,
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

void nn_layer_window(const nn_layer *l, nn_window *g)
{
    g->c = l->ishape[0], g->h = l->ishape[1], g->w = l->ishape[2];
    g->k = l->kernel, g->s = l->stride, g->pad = l->padding;
    g->oh = l->oshape[1], g->ow = l->oshape[2];
}

nn_status nn_window_plan(nn_layer *l, int channels, const char *desc, nn_error *err)
{
    if (l->kernel < 1 || l->kernel > NN_MAX_FEATURES || l->stride < 1 || l->stride > NN_MAX_FEATURES ||
        l->padding < 0 || l->padding > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: kernel and stride must be in 1..%d, padding in 0..%d", desc,
                       NN_MAX_FEATURES, NN_MAX_FEATURES);
    if (l->ishape[0] < 0)
        return nn_fail(err, NN_ESHAPE, "%s: needs c x h x w inputs (put nn.Reshape{c, h, w} before it)", desc);
    int64_t c = l->ishape[0], h = l->ishape[1], w = l->ishape[2], k = l->kernel, p = l->padding;
    if (h + 2 * p < k || w + 2 * p < k)
        return nn_fail(err, NN_ESHAPE, "%s: a %dx%d kernel does not fit a %dx%d input with padding %d", desc,
                       l->kernel, l->kernel, (int)h, (int)w, l->padding);
    int64_t oh = (h + 2 * p - k) / l->stride + 1, ow = (w + 2 * p - k) / l->stride + 1;
    int64_t positions = oh * ow; /* each below 2^26 */
    int64_t out = positions > NN_MAX_FEATURES ? positions : channels * positions;
    if (out > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: gives %lld values a sample, more than %d", desc, (long long)out,
                       NN_MAX_FEATURES);
    l->in = (int)(c * h * w);
    l->out = (int)out;
    l->oshape[0] = channels, l->oshape[1] = (int)oh, l->oshape[2] = (int)ow;
    return NN_OK;
}

static nn_status plan(nn_layer *l, const char *desc, nn_error *err)
{
    if (l->in_channels < 1 || l->in_channels > NN_MAX_FEATURES || l->out_channels < 1 ||
        l->out_channels > NN_MAX_FEATURES)
        return nn_fail(err, NN_EARG, "%s: channels must be in 1..%d", desc, NN_MAX_FEATURES);
    nn_status st = nn_check_init(l, desc, err);
    if (st == NN_OK)
        st = nn_window_plan(l, l->out_channels, desc, err);
    if (st != NN_OK)
        return st;
    if (l->ishape[0] != l->in_channels)
        return nn_fail(err, NN_ESHAPE, "%s: takes %d channels but the layer before gives %dx%dx%d", desc,
                       l->in_channels, l->ishape[0], l->ishape[1], l->ishape[2]);
    size_t kk = (size_t)l->kernel * (size_t)l->kernel, wc, cols;
    if (__builtin_mul_overflow(kk, (size_t)l->in_channels * (size_t)l->out_channels, &wc) ||
        wc > NN_MAX_PARAMS || __builtin_mul_overflow(kk * (size_t)l->in_channels,
                                                     (size_t)l->oshape[1] * (size_t)l->oshape[2], &cols) ||
        cols > MAX_COLUMNS)
        return nn_fail(err, NN_EARG, "%s: more than %d weights, or im2col columns of more than %d floats a sample",
                       desc, NN_MAX_PARAMS, MAX_COLUMNS);
    l->weight_count = wc;
    l->param_count = wc + (l->bias ? (size_t)l->out_channels : 0);
    return NN_OK;
}

static void describe(const nn_layer *l, char *buf, size_t len)
{
    int used = snprintf(buf, len, "Conv2d(%d->%d, %dx%d", l->in_channels, l->out_channels, l->kernel, l->kernel);
    if (used > 0 && (size_t)used < len && l->stride != 1)
        used += snprintf(buf + used, len - (size_t)used, ", stride %d", l->stride);
    if (used > 0 && (size_t)used < len && l->padding != 0)
        used += snprintf(buf + used, len - (size_t)used, ", padding %d", l->padding);
    if (used > 0 && (size_t)used < len)
        snprintf(buf + used, len - (size_t)used, "%s)", l->bias ? "" : ", no bias");
}

static void init(const nn_layer *l, float *p, float *b, nn_rng *rng)
{
    (void)b;
    if (!rng)
        return;
    int kk = l->kernel * l->kernel;
    nn_init_draw(l, p, l->weight_count, l->in_channels * kk, l->out_channels * kk, rng, NULL);
    if (l->bias)
        memset(p + l->weight_count, 0, (size_t)l->out_channels * sizeof *p);
}

/* A part's rows are cut into two halves, run on two threads when the part
 * runs alone (a batch too small for parts, or a model with BatchNorm):
 * each half has its columns in the scratch, and the second half's weight
 * gradients are added to the first's afterwards, in the same order on one
 * thread or two, so that the figures do not depend on the thread count. */
#define HALVES 2
/* Below this many multiply-adds a part's convolution stays on one thread. */
#define SPLIT_MIN_MACS (1 << 22)

static size_t columns_count(const nn_layer *l)
{
    return (size_t)l->in_channels * (size_t)l->kernel * (size_t)l->kernel * (size_t)l->oshape[1] *
           (size_t)l->oshape[2];
}

/* The direct path (conv_kernels.h) takes the place of im2col and sgemm
 * when the kernels are AVX2 or AVX-512, for stride 1 with the padding
 * below the kernel (dx is then a convolution of dy) and windows of at most
 * DIRECT_MAX_TAPS values (LeNet's 25 and 150, Keras's first layer's 9;
 * not Keras's second layer, 288, where sgemm, or Winograd's path, does
 * well). */
#define DIRECT_MAX_TAPS 160

/* ... and a chunk's wide gradients of at most this many floats (64 MB). */
#define DIRECT_MAX_WIDE (1 << 24)

static int direct_fits(const nn_window *g, int out)
{
    return g->s == 1 && g->pad < g->k && g->c * g->k * g->k <= DIRECT_MAX_TAPS &&
           NN_DIRECT_CHUNK * (double)out * (double)nn_direct_wide(g) <= DIRECT_MAX_WIDE;
}

/* Winograd's F(4x4, 3x3) (conv_winograd.h) takes 3x3 kernels at stride 1
 * with at least this many input channels and outputs a channel: below
 * them its products are too thin, and its last tiles too empty, to gain
 * on im2col's four times as many multiply-adds.
 * And only where its transformed kernels and their gradients (72 floats
 * a pair of channels) take at most twice im2col's scratch (2 c k k oh ow
 * floats), that is where oh ow >= 2 out: they outgrow it on small images
 * with many output channels. */
#define WINOGRAD_MIN_CHANNELS 16
#define WINOGRAD_MIN_OUTPUTS 64

static int winograd_pays(const nn_window *g, int out)
{
    size_t columns = (size_t)g->c * (size_t)g->k * (size_t)g->k * (size_t)g->oh * (size_t)g->ow;
    return nn_winograd_fits(g) && g->c >= WINOGRAD_MIN_CHANNELS && g->oh * g->ow >= WINOGRAD_MIN_OUTPUTS &&
           2 * NN_WINOGRAD_POSITIONS * (size_t)out * (size_t)g->c <= 2 * (2 * columns);
}

typedef enum { PATH_COLUMNS, PATH_DIRECT, PATH_WINOGRAD } conv_path;

/* The direct kernels of cpu.h's choice, NULL with the plain ones. */
static const nn_direct_kernels *direct_kernels(nn_cpu_kind kernels)
{
#ifdef NN_HAVE_X86_KERNELS
    if (kernels == NN_CPU_AVX512)
        return &nn_direct_avx512_kernels;
    if (kernels == NN_CPU_AVX2)
        return &nn_direct_avx2_kernels;
#endif
    (void)kernels;
    return NULL;
}

/* The one choice of a convolution's path: the reference (im2col and
 * sgemm) with the plain kernels (cpu.h), as the tests force it; else the
 * direct path (on *direct, the CPU's kernels) where it fits, else
 * Winograd's where it pays. (Winograd's, portable C with sgemm or with
 * AVX2's own products, is a fast path beside the reference all the same,
 * so the plain kernels leave it out.) */
static conv_path choose_path(const nn_window *g, int out, const nn_direct_kernels **direct)
{
    nn_cpu_kind kernels = nn_cpu_kernels();
    *direct = direct_kernels(kernels);
    if (kernels == NN_CPU_PLAIN)
        return PATH_COLUMNS;
    if (*direct && direct_fits(g, out))
        return PATH_DIRECT;
    return winograd_pays(g, out) ? PATH_WINOGRAD : PATH_COLUMNS;
}

const char *nn_conv2d_path_name(const nn_layer *l)
{
    static const char *const names[] = {[PATH_COLUMNS] = "columns", [PATH_DIRECT] = "direct",
                                        [PATH_WINOGRAD] = "winograd"};
    nn_window g;
    nn_layer_window(l, &g);
    const nn_direct_kernels *direct;
    return names[choose_path(&g, l->out_channels, &direct)];
}

/* A half's scratch on the direct path: the padded inputs and wide dy of a
 * chunk of samples (forward: the first padded input only), the padded dy
 * and the turned kernels. */
typedef struct {
    float *xp, *yw, *dyp, *wf;
} direct_scratch;

static size_t direct_count(const nn_window *g, int out, direct_scratch *at, float *base)
{
    nn_window gt;
    nn_direct_transpose_window(&gt, g, out);
    size_t sizes[4] = {NN_DIRECT_CHUNK * nn_direct_padded(g), NN_DIRECT_CHUNK * (size_t)out * nn_direct_wide(g),
                       nn_direct_padded(&gt), (size_t)out * g->c * g->k * g->k};
    float **const parts[4] = {&at->xp, &at->yw, &at->dyp, &at->wf};
    return nn_carve_floats(base, parts, sizes, 4);
}

/* Each half's columns and their gradients (or its direct or Winograd
 * scratch, for each path the layer could take whatever the CPU, since a
 * test may force the kernels after the scratch was sized), then the second
 * half's weight and bias gradients. */
static size_t half_count(const nn_layer *l)
{
    nn_window g;
    nn_layer_window(l, &g);
    size_t count = 2 * columns_count(l);
    if (direct_fits(&g, l->out_channels)) {
        direct_scratch unused;
        size_t direct = direct_count(&g, l->out_channels, &unused, NULL);
        count = direct > count ? direct : count;
    }
    if (winograd_pays(&g, l->out_channels)) {
        size_t winograd = nn_winograd_scratch(&g, l->out_channels);
        count = winograd > count ? winograd : count;
    }
    return count;
}

static size_t scratch_count(const nn_layer *l)
{
    return HALVES * half_count(l) + l->param_count;
}

static int split_threads(const nn_layer *l, int n)
{
    double macs = (double)n * (double)columns_count(l) * l->out_channels;
    return macs >= SPLIT_MIN_MACS && nn_get_threads() > 1 ? HALVES : 1;
}

/* The output columns ox of a window row at offset kx that fall inside the
 * input's w columns: [*lo, *hi). */
static void valid_columns(const nn_window *g, int kx, int *lo, int *hi)
{
    int first = g->pad - kx, last = g->w - 1 + g->pad - kx; /* ox * s must lie in [first, last] */
    *lo = first > 0 ? (first + g->s - 1) / g->s : 0;
    *hi = last >= 0 ? last / g->s + 1 : 0;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

void nn_im2col(float *cols, const float *x, const nn_window *g)
{
    int P = g->oh * g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                float *dst = cols + ((size_t)(c * g->k + ky) * g->k + kx) * (size_t)P;
                int lo, hi, shift = kx - g->pad;
                valid_columns(g, kx, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->s - g->pad + ky;
                    float *d = dst + (size_t)oy * g->ow;
                    if (iy < 0 || iy >= g->h) {
                        memset(d, 0, (size_t)g->ow * sizeof *d);
                        continue;
                    }
                    const float *row = x + ((size_t)c * g->h + iy) * g->w;
                    for (int ox = 0; ox < lo; ox++)
                        d[ox] = 0.0f;
                    if (g->s == 1) /* libc's copy beat the loop on rows of 10-28 floats (a micro-benchmark) */
                        memcpy(d + lo, row + lo + shift, (size_t)(hi - lo) * sizeof *d);
                    else
                        for (int ox = lo; ox < hi; ox++)
                            d[ox] = row[ox * g->s + shift];
                    for (int ox = hi; ox < g->ow; ox++)
                        d[ox] = 0.0f;
                }
            }
}

void nn_col2im(float *dx, const float *dcols, const nn_window *g)
{
    int P = g->oh * g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                const float *src = dcols + ((size_t)(c * g->k + ky) * g->k + kx) * (size_t)P;
                int lo, hi, shift = kx - g->pad;
                valid_columns(g, kx, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->s - g->pad + ky;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    float *row = dx + ((size_t)c * g->h + iy) * g->w;
                    const float *s = src + (size_t)oy * g->ow;
                    if (g->s == 1)
                        for (int ox = lo; ox < hi; ox++)
                            row[ox + shift] += s[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            row[ox * g->s + shift] += s[ox];
                }
            }
}

void nn_conv2d_clear_grads(float *dw, float *db, int out, const nn_window *g, int accumulate)
{
    if (accumulate)
        return;
    memset(dw, 0, (size_t)out * g->c * g->k * g->k * sizeof *dw);
    if (db)
        memset(db, 0, (size_t)out * sizeof *db);
}

/* Each channel's sum in 16 running sums, position q into sum q % 16,
 * added pairwise at the end: the same order whatever the CPU, and 16
 * additions in flight instead of one. */
#define BIAS_SUMS 16

NN_HOT void nn_conv2d_add_bias_grads(float *db, const float *dy, int out, const nn_window *g)
{
    size_t P = (size_t)g->oh * g->ow;
    for (int o = 0; o < out; o++) {
        const float *d = dy + (size_t)o * P;
        float s[BIAS_SUMS] = {0};
        size_t q = 0;
        for (; q + BIAS_SUMS <= P; q += BIAS_SUMS)
            for (int l = 0; l < BIAS_SUMS; l++)
                s[l] += d[q + l];
        for (int l = 0; q < P; q++, l++)
            s[l] += d[q];
        for (int half = BIAS_SUMS / 2; half > 0; half /= 2)
            for (int l = 0; l < half; l++)
                s[l] += s[l + half];
        db[o] += s[0];
    }
}

void nn_conv2d_forward(float *y, const float *x, const float *w, const float *b, float *cols,
                       int n, int out, const nn_window *g)
{
    int P = g->oh * g->ow, K = g->c * g->k * g->k;
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * P;
    for (int r = 0; r < n; r++) {
        float *yr = y + (size_t)r * ysz;
        if (b)
            for (int o = 0; o < out; o++)
                for (int q = 0; q < P; q++)
                    yr[(size_t)o * P + q] = b[o];
        nn_im2col(cols, x + (size_t)r * in, g);
        nn_gemm(0, 0, out, P, K, 1.0f, w, K, cols, P, b ? 1.0f : 0.0f, yr, P);
    }
}

void nn_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        float *cols, int n, int out, const nn_window *g, int accumulate)
{
    int P = g->oh * g->ow, K = g->c * g->k * g->k;
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * P;
    float *dcols = cols + (size_t)K * P;
    nn_conv2d_clear_grads(dw, db, out, g, accumulate);
    for (int r = 0; r < n; r++) {
        const float *dyr = dy + (size_t)r * ysz;
        nn_im2col(cols, x + (size_t)r * in, g);
        nn_gemm(0, 1, out, K, P, 1.0f, dyr, P, cols, P, 1.0f, dw, K);
        if (db)
            nn_conv2d_add_bias_grads(db, dyr, out, g);
        if (!dx)
            continue;
        nn_gemm(1, 0, K, P, out, 1.0f, w, K, dyr, P, 0.0f, dcols, P);
        float *dxr = dx + (size_t)r * in;
        memset(dxr, 0, in * sizeof *dxr);
        nn_col2im(dxr, dcols, g);
    }
}

/* The direct path over n samples (see nn_conv2d_forward), on k's kernels. */
static void direct_forward(const nn_direct_kernels *k, float *y, const float *x, const float *w, const float *b,
                           float *scratch, int n, int out, const nn_window *g)
{
    direct_scratch d;
    direct_count(g, out, &d, scratch);
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * g->oh * g->ow;
    for (int r = 0; r < n; r++) {
        k->pad(d.xp, x + (size_t)r * in, g);
        k->forward(y + (size_t)r * ysz, d.xp, w, b, g, out);
    }
}

/* The direct path's backward (see nn_conv2d_backward), by chunks of
 * samples for the weight gradients. */
static void direct_backward(const nn_direct_kernels *k, float *dx, float *dw, float *db, const float *dy,
                            const float *x, const float *w, float *scratch, int n, int out, const nn_window *g,
                            int accumulate)
{
    direct_scratch d;
    direct_count(g, out, &d, scratch);
    nn_window gt;
    nn_direct_transpose_window(&gt, g, out);
    size_t in = (size_t)g->c * g->h * g->w, ysz = (size_t)out * g->oh * g->ow;
    size_t padded = nn_direct_padded(g), wide = (size_t)out * nn_direct_wide(g);
    nn_conv2d_clear_grads(dw, db, out, g, accumulate);
    if (dx)
        nn_direct_flip(d.wf, w, out, g->c, g->k);
    for (int r0 = 0; r0 < n; r0 += NN_DIRECT_CHUNK) {
        int count = n - r0 < NN_DIRECT_CHUNK ? n - r0 : NN_DIRECT_CHUNK;
        for (int r = 0; r < count; r++) {
            k->pad(d.xp + (size_t)r * padded, x + (size_t)(r0 + r) * in, g);
            k->widen(d.yw + (size_t)r * wide, dy + (size_t)(r0 + r) * ysz, g, out);
        }
        k->weight_grad(dw, d.yw, d.xp, g, out, count);
        if (db)
            k->bias_grad(db, d.yw, g, out, count);
        for (int r = r0; dx && r < r0 + count; r++) {
            const float *dyr = dy + (size_t)r * ysz;
            k->pad(d.dyp, dyr, &gt);
            k->forward(dx + (size_t)r * in, d.dyp, d.wf, NULL, &gt, g->c);
        }
    }
}

static void forward(const nn_layer_pass *s)
{
    const nn_layer *l = s->l;
    nn_window g;
    nn_layer_window(l, &g);
    int first_rows = (s->n + 1) / 2;
    const nn_direct_kernels *direct;
    conv_path path = choose_path(&g, l->out_channels, &direct);
    size_t half = half_count(l);
#ifdef _OPENMP
#pragma omp parallel for num_threads(HALVES) schedule(static) if (split_threads(l, s->n) > 1)
#endif
    for (int h = 0; h < HALVES; h++) {
        int first = h ? first_rows : 0, rows = h ? s->n - first_rows : first_rows;
        float *y = s->y + (size_t)first * l->out, *scratch = s->scratch + (size_t)h * half;
        const float *x = s->x + (size_t)first * l->in, *b = l->bias ? s->w + l->weight_count : NULL;
        if (path == PATH_DIRECT)
            direct_forward(direct, y, x, s->w, b, scratch, rows, l->out_channels, &g);
        else if (path == PATH_WINOGRAD)
            nn_winograd_forward(y, x, s->w, b, scratch, rows, l->out_channels, &g);
        else
            nn_conv2d_forward(y, x, s->w, b, scratch, rows, l->out_channels, &g);
    }
}

static nn_status backward(const nn_layer_pass *s, nn_tensor *pack, nn_error *err)
{
    (void)pack, (void)err;
    const nn_layer *l = s->l;
    nn_window g;
    nn_layer_window(l, &g);
    int first_rows = (s->n + 1) / 2;
    const nn_direct_kernels *direct;
    conv_path path = choose_path(&g, l->out_channels, &direct);
    size_t half = half_count(l);
    float *second = s->scratch + HALVES * half;
#ifdef _OPENMP
#pragma omp parallel for num_threads(HALVES) schedule(static) if (split_threads(l, s->n) > 1)
#endif
    for (int h = 0; h < HALVES; h++) {
        int first = h ? first_rows : 0, rows = h ? s->n - first_rows : first_rows;
        float *gw = h ? second : s->g, *gb = l->bias ? gw + l->weight_count : NULL;
        float *dx = s->dx ? s->dx + (size_t)first * l->in : NULL, *scratch = s->scratch + (size_t)h * half;
        const float *dy = s->dy + (size_t)first * l->out, *x = s->x + (size_t)first * l->in;
        int acc = h ? 0 : s->accumulate;
        if (path == PATH_DIRECT)
            direct_backward(direct, dx, gw, gb, dy, x, s->w, scratch, rows, l->out_channels, &g, acc);
        else if (path == PATH_WINOGRAD)
            nn_winograd_backward(dx, gw, gb, dy, x, s->w, scratch, rows, l->out_channels, &g, acc);
        else
            nn_conv2d_backward(dx, gw, gb, dy, x, s->w, scratch, rows, l->out_channels, &g, acc);
    }
    if (s->n > first_rows)
        for (size_t k = 0; k < l->param_count; k++)
            s->g[k] += second[k];
    return NN_OK;
}

/* The reference: the definition's sums, in double. */
static void forward64(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n)
{
    nn_window g;
    nn_layer_window(l, &g);
    int K = g.c * g.k * g.k;
    for (int r = 0; r < n; r++)
        for (int o = 0; o < l->out_channels; o++)
            for (int oy = 0; oy < g.oh; oy++)
                for (int ox = 0; ox < g.ow; ox++) {
                    double s = l->bias ? c->p[l->weight_count + (size_t)o] : 0.0;
                    const double *wo = c->p + (size_t)o * K;
                    for (int ch = 0; ch < g.c; ch++)
                        for (int ky = 0; ky < g.k; ky++) {
                            int iy = oy * g.s - g.pad + ky;
                            if (iy < 0 || iy >= g.h)
                                continue;
                            const double *row = x + (size_t)r * l->in + ((size_t)ch * g.h + iy) * g.w;
                            const double *wk = wo + (ch * g.k + ky) * g.k;
                            for (int kx = 0; kx < g.k; kx++) {
                                int ix = ox * g.s - g.pad + kx;
                                if (ix >= 0 && ix < g.w)
                                    s += wk[kx] * row[ix];
                            }
                        }
                    y[(size_t)r * l->out + ((size_t)o * g.oh + oy) * g.ow + ox] = s;
                }
}

const nn_layer_ops nn_conv2d_ops = {
    .kind = NN_CONV2D, .name = "Conv2d", .settings = settings, .plan = plan, .describe = describe,
    .init = init, .scratch_count = scratch_count, .forward = forward, .backward = backward,
    .forward64 = forward64, .halves_rows = 1,
};
