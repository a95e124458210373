/* loss_kernels.h - the losses' row kernels, inside the loss module: the
 * plain-C reference (loss.c) and AVX2 and AVX-512 cross-entropies against
 * labels for up to 16 classes (loss_avx2.c, loss_avx512.c); loss.c runs
 * the one cpu.h chooses. */
#ifndef NN_LOSS_KERNELS_H
#define NN_LOSS_KERNELS_H

#include <math.h>

#include "cpu.h"
#include "loss.h"

/* e^x for x <= 0 as the vector kernels compute it, Cephes's expf:
 * x = n ln 2 + r (x at least NN_EXP_LOWEST, n = round(x log2 e), ln 2 in a
 * high and a low part), e^r = 1 + r + r^2 (P5 + r (P4 + ... r P0)), then
 * scaled by 2^n; within 2 ulp. */
#define NN_EXP_LOWEST (-87.0f)
#define NN_EXP_LOG2E 1.44269504088896341f
#define NN_EXP_LN2_HI 0.693359375f
#define NN_EXP_LN2_LO (-2.12194440e-4f)
#define NN_EXP_P0 1.9875691500e-4f
#define NN_EXP_P1 1.3981999507e-3f
#define NN_EXP_P2 8.3334519073e-3f
#define NN_EXP_P3 4.1665795894e-2f
#define NN_EXP_P4 1.6666665459e-1f
#define NN_EXP_P5 5.0000001201e-1f

typedef struct {
    double sum;   /* the rows' losses */
    long right;   /* rows whose largest output is the label's */
} nn_row_sums;

/* Rows [r0, r1) of the loss, one row at a time; grad (if not NULL) = scale
 * times each row's gradient. */
nn_row_sums nn_loss_rows_plain(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target, int r0, int r1,
                               float *grad, float scale);
/* What the vector cross-entropies share. A row with an infinite or NaN
 * logit goes through the reference, which carries it into the loss, where
 * divergence is noticed. */
static inline void nn_ce_row_reference(nn_row_sums *s, const nn_tensor *outputs, const nn_target *target, int r,
                                       float *grad, float scale)
{
    nn_row_sums one = nn_loss_rows_plain(NN_LOSS_CROSS_ENTROPY, outputs, target, r, r + 1, grad, scale);
    s->sum += one.sum;
    s->right += one.right;
}

/* The rows' log-sums are added as the log of their product, one log a
 * NN_LOG_ROWS rows (each sum lies in [1, 16], so the product stays far
 * below double's range): the log took half the time of the kernels'
 * loops. */
#define NN_LOG_ROWS 64
typedef struct {
    double prod;
    int rows;
} nn_log_product;

static inline void nn_log_product_add(nn_log_product *lp, double *sum, float v)
{
    lp->prod *= v;
    if (++lp->rows == NN_LOG_ROWS) {
        *sum += log(lp->prod);
        lp->prod = 1;
        lp->rows = 0;
    }
}

static inline void nn_log_product_end(const nn_log_product *lp, double *sum)
{
    *sum += log(lp->prod);
}

#ifdef NN_HAVE_X86_KERNELS
/* The same for cross-entropy against labels, classes <= 16. */
nn_row_sums nn_ce_rows_avx2(const nn_tensor *outputs, const nn_target *target, int r0, int r1, float *grad,
                            float scale);
nn_row_sums nn_ce_rows_avx512(const nn_tensor *outputs, const nn_target *target, int r0, int r1, float *grad,
                              float scale);
#endif

#endif
