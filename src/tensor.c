#define _DEFAULT_SOURCE /* madvise */
#include "tensor.h"

#include <cblas.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef _OPENMP
#include <omp.h>
#endif

void nn_tensor_empty(nn_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->ndim = 1;
    t->owner = 1;
}

#define NN_ALIGN 64

float *nn_alloc_floats(size_t n)
{
    if (n > (SIZE_MAX - NN_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = (n * sizeof(float) + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    return aligned_alloc(NN_ALIGN, bytes ? bytes : NN_ALIGN);
}

size_t nn_carve_floats(float *base, float **const at[], const size_t sizes[], int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (base)
            *at[i] = base + total;
        total += sizes[i];
    }
    return total;
}

#define LARGE_MIN ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

void *nn_alloc_large(size_t bytes)
{
    if (bytes < LARGE_MIN || bytes > SIZE_MAX - HUGE_PAGE)
        return malloc(bytes ? bytes : 1);
    size_t size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, size, MADV_HUGEPAGE); /* a hint: failure leaves small pages */
#endif
    return p;
}

static nn_status tensor_reserve(nn_tensor *t, size_t n, nn_error *err)
{
    if (n <= t->capacity)
        return NN_OK;
    if (!t->owner)
        return nn_fail(err, NN_ESTATE, "cannot grow a tensor view");
    float *p = nn_alloc_floats(n);
    if (!p)
        return nn_fail(err, NN_ENOMEM, "out of memory allocating %zu floats", n);
    if (t->data)
        memcpy(p, t->data, t->capacity * sizeof *p);
    free(t->data);
    t->data = p;
    t->capacity = n;
    return NN_OK;
}

nn_status nn_shape_numel(int ndim, const int *shape, size_t *n, nn_error *err)
{
    if (ndim < 1 || ndim > NN_MAX_DIMS)
        return nn_fail(err, NN_ESHAPE, "a tensor has 1 to %d dimensions, got %d", NN_MAX_DIMS, ndim);
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return nn_fail(err, NN_ESHAPE, "dimension %d is negative (%d)", i + 1, shape[i]);
        if (__builtin_mul_overflow(total, (size_t)shape[i], &total) || total > NN_MAX_ELEMENTS)
            return nn_fail(err, NN_ESHAPE, "a tensor of shape %d%s... has more than 2^40 elements", shape[0],
                           ndim > 1 ? "x" : "");
    }
    *n = total;
    return NN_OK;
}

nn_status nn_tensor_init(nn_tensor *t, int ndim, const int *shape, nn_error *err)
{
    nn_tensor_empty(t);
    size_t n;
    nn_status st = nn_shape_numel(ndim, shape, &n, err);
    if (st != NN_OK)
        return st;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->ndim = ndim;
    st = tensor_reserve(t, n > 0 ? n : 1, err);
    if (st != NN_OK)
        return st;
    memset(t->data, 0, (n > 0 ? n : 1) * sizeof(float));
    t->size = n;
    return NN_OK;
}

void nn_tensor_free(nn_tensor *t)
{
    if (t->owner)
        free(t->data);
    nn_tensor_empty(t);
}

nn_status nn_tensor_reshape2(nn_tensor *t, int rows, int cols, nn_error *err)
{
    if (rows < 0 || cols < 0)
        return nn_fail(err, NN_ESHAPE, "negative shape %dx%d", rows, cols);
    size_t n = (size_t)rows * (size_t)cols;
    nn_status st = tensor_reserve(t, n > 0 ? n : 1, err);
    if (st != NN_OK)
        return st;
    t->ndim = 2;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->shape[2] = t->shape[3] = 0;
    t->size = n;
    return NN_OK;
}

nn_tensor nn_tensor_rows(const nn_tensor *t, int first, int count)
{
    nn_tensor v = *t;
    size_t row = nn_tensor_row_size(t);
    v.data = t->data + (size_t)first * row;
    v.shape[0] = count;
    v.size = (size_t)count * row;
    v.capacity = 0;
    v.owner = 0;
    return v;
}

size_t nn_tensor_row_size(const nn_tensor *t)
{
    size_t n = 1;
    for (int i = 1; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

nn_status nn_tensor_copy(nn_tensor *dst, const nn_tensor *src, nn_error *err)
{
    nn_status st = tensor_reserve(dst, src->size > 0 ? src->size : 1, err);
    if (st != NN_OK)
        return st;
    if (src->size)
        memcpy(dst->data, src->data, src->size * sizeof(float));
    dst->ndim = src->ndim;
    memcpy(dst->shape, src->shape, sizeof dst->shape);
    dst->size = src->size;
    return NN_OK;
}

void nn_tensor_shape_str(const nn_tensor *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && used < len; i++) {
        int w = snprintf(buf + used, len - used, i ? "x%d" : "%d", t->shape[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Below this many multiply-adds one thread is faster (measured on the
 * seeds' networks: batch 90 x 784 x 32 is, 200 x 784 x 512 is not). */
#define GEMM_THREADED_MIN (1 << 22)

int nn_gemm_threaded(double macs)
{
    return macs >= GEMM_THREADED_MIN;
}

/* OpenBLAS runs single-threaded; large products are split into blocks, one
 * per OpenMP thread. OpenBLAS's own idle threads yield in a loop, which on
 * a virtual machine costs a third of a training step's time. */
static int configured_threads = 0; /* 0: not set yet */

void nn_set_threads(int n)
{
    configured_threads = n < 1 ? 1 : n;
    openblas_set_num_threads(1);
}

int nn_get_threads(void)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
#endif
    if (!configured_threads)
        nn_set_threads(openblas_get_num_threads());
    return configured_threads;
}

static void gemm_block(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta,
                       float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
                ldb, beta, c, ldc);
}

void nn_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
             const float *a, int lda, const float *b, int ldb, float beta,
             float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    int nt = nn_gemm_threaded((double)m * n * k) ? nn_get_threads() : 1;
    if (nt == 1) {
        gemm_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int by_rows = m >= n;
    int len = by_rows ? m : n;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int t = 0; t < nt; t++) {
        int first = (int)((long)len * t / nt), count = (int)((long)len * (t + 1) / nt) - first;
        if (count == 0)
            continue;
        if (by_rows)
            gemm_block(trans_a, trans_b, count, n, k, alpha,
                       trans_a ? a + first : a + (size_t)first * lda, lda, b, ldb, beta,
                       c + (size_t)first * ldc, ldc);
        else
            gemm_block(trans_a, trans_b, m, count, k, alpha, a, lda,
                       trans_b ? b + (size_t)first * ldb : b + first, ldb, beta, c + first, ldc);
    }
}
