/* tensor.h - contiguous row-major float32 tensors of up to 4 dimensions.
 *
 * A tensor either owns its buffer (owner = 1, freed by nn_tensor_free) or is a
 * view into another tensor's buffer (owner = 0), e.g. a range of rows used as a
 * mini-batch. A view never outlives the tensor it looks into. */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>

#include "status.h"

#define NN_MAX_DIMS 4

typedef struct {
    float *data;            /* size floats, row-major; owned iff owner */
    int ndim;               /* 1..NN_MAX_DIMS */
    int shape[NN_MAX_DIMS]; /* shape[0] is the row (batch) dimension */
    size_t size;            /* product of the shape */
    size_t capacity;        /* floats allocated; 0 for a view */
    int owner;              /* 1 if data is ours to free */
} nn_tensor;

/* n floats (at least one) starting on a 64-byte boundary, uninitialized,
 * for free(); NULL if memory ran out. The sparse kernels load 64-byte rows
 * of tensors and parameters, which malloc's 16-byte alignment left
 * straddling two cache lines, or not, by the luck of the heap. */
float *nn_alloc_floats(size_t n);

/* Cuts n consecutive parts of sizes[i] floats out of base: *at[i] = base +
 * the sizes before it (base NULL: only counted). Returns their total. */
size_t nn_carve_floats(float *base, float **const at[], const size_t sizes[], int n);

/* bytes for free(), NULL if memory ran out; from 4 MiB up, on 2 MiB pages
 * where the system gives them (a cached full batch's non-zeros are streamed
 * every step: with 4 KiB pages that is a TLB miss every 4 KiB). */
void *nn_alloc_large(size_t bytes);

/* An empty owning tensor: no buffer, shape {0}. Safe to free. */
void nn_tensor_empty(nn_tensor *t);

/* The largest number of elements a tensor may have. */
#define NN_MAX_ELEMENTS ((size_t)1 << 40)

/* *n = the product of the shape's ndim (1..NN_MAX_DIMS) sizes, each >= 0;
 * NN_ESHAPE if the product overflows or exceeds NN_MAX_ELEMENTS. */
nn_status nn_shape_numel(int ndim, const int *shape, size_t *n, nn_error *err);

/* Allocates a zero-filled tensor of the given shape. Every dimension >= 0. */
nn_status nn_tensor_init(nn_tensor *t, int ndim, const int *shape, nn_error *err);

/* Frees an owning tensor's buffer and leaves it empty. A view is only reset. */
void nn_tensor_free(nn_tensor *t);

/* Makes t a rows x cols matrix, growing the buffer only when it is too small,
 * so a buffer sized for the largest batch is reused for every smaller one. */
nn_status nn_tensor_reshape2(nn_tensor *t, int rows, int cols, nn_error *err);

/* A view of rows [first, first + count) of t. */
nn_tensor nn_tensor_rows(const nn_tensor *t, int first, int count);

/* Number of floats in one row: size / shape[0] (1 for a 1-D tensor). */
size_t nn_tensor_row_size(const nn_tensor *t);

/* Copies src into dst, growing dst as needed; dst takes src's shape. */
nn_status nn_tensor_copy(nn_tensor *dst, const nn_tensor *src, nn_error *err);

/* Writes the shape as "AxBxC" into buf. */
void nn_tensor_shape_str(const nn_tensor *t, char *buf, size_t len);

/* C = alpha * op(A) * op(B) + beta * C on row-major matrices (CBLAS sgemm).
 * op(A) is m x k, op(B) is k x n, C is m x n. Small products run on one
 * thread, where waking the others costs more than it saves. */
void nn_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
             const float *a, int lda, const float *b, int ldb, float beta,
             float *c, int ldc);
/* 1 if nn_gemm cuts a product of this many multiply-adds over the threads. */
int nn_gemm_threaded(double macs);

/* The number of threads large products use; >= 1, and 1 when called from
 * a parallel region (its threads are taken already). */
void nn_set_threads(int n);
int nn_get_threads(void);

#endif
