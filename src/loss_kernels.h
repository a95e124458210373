/* loss_kernels.h - the losses' row kernels, inside the loss module: the
 * plain-C reference (loss.c) and AVX2 and AVX-512 cross-entropies against
 * labels for up to 16 classes (loss_avx2.c, loss_avx512.c); loss.c runs
 * the one cpu.h chooses. */
#ifndef NN_LOSS_KERNELS_H
#define NN_LOSS_KERNELS_H

#include "cpu.h"
#include "loss.h"

typedef struct {
    double sum;   /* the rows' losses */
    long right;   /* rows whose largest output is the label's */
} nn_row_sums;

/* Rows [r0, r1) of the loss, one row at a time; grad (if not NULL) = scale
 * times each row's gradient. */
nn_row_sums nn_loss_rows_plain(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target, int r0, int r1,
                               float *grad, float scale);
#ifdef NN_HAVE_X86_KERNELS
/* The same for cross-entropy against labels, classes <= 16. */
nn_row_sums nn_ce_rows_avx2(const nn_tensor *outputs, const nn_target *target, int r0, int r1, float *grad,
                            float scale);
nn_row_sums nn_ce_rows_avx512(const nn_tensor *outputs, const nn_target *target, int r0, int r1, float *grad,
                              float scale);
#endif

#endif
