/* loss.h - losses on a batch of model outputs, fused with their gradients.
 *
 * A target is either class labels (one integer-valued float per row) or a
 * matrix of the outputs' shape (a distribution for cross-entropy, values for
 * MSE). Losses are means over the batch; sums are taken in double. */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include "status.h"
#include "tensor.h"

typedef enum {
    NN_LOSS_CROSS_ENTROPY = 1, /* mean_b [logsumexp(z_b) - sum_c t_bc z_bc] on logits z */
    NN_LOSS_MSE_MEAN = 2,      /* sum (z - t)^2 / (n * classes) */
    NN_LOSS_MSE_SUM = 3        /* sum (z - t)^2 / n: summed over outputs, mean over the batch */
} nn_loss_kind;

typedef struct {
    const float *labels;   /* n class labels, or NULL */
    const nn_tensor *dist; /* n x classes targets, or NULL */
} nn_target;

/* Labels are class indices, one-hot against the outputs, except for MSE on
 * a single output column: there a row's label is its real target (a
 * regression). In a regression (real-valued targets with MSE, or one
 * output column) a row counts as right when every output is within 0.5 of
 * its target; otherwise when its largest output is the target's class. */
int nn_labels_are_values(nn_loss_kind kind, int classes);
/* The target of output c of a row whose label is `label`, by that rule. */
double nn_label_target(nn_loss_kind kind, int classes, float label, int c);

/* Checks that target fits outputs (n x classes): n labels, each an integer
 * in [0, classes) (finite values when labels are values), or a matrix of
 * the same shape with finite values. */
nn_status nn_target_check(nn_loss_kind kind, const nn_target *t, const nn_tensor *outputs, nn_error *err);

/* Computes the loss of outputs against target into *loss and, when grad is
 * not NULL, d loss / d outputs into grad (same shape as outputs). When
 * correct is not NULL, adds the number of rows whose argmax is the target's. */
nn_status nn_loss_compute(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target,
                          double *loss, float *grad, long *correct, nn_error *err);

/* The same for some rows of a batch of `batch` rows: *sum is the loss
 * summed over the rows (before the mean is taken), grad is scaled for the
 * whole batch. */
nn_status nn_loss_sum(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target, int batch,
                      double *sum, float *grad, long *correct, nn_error *err);

/* What a loss summed over a batch is divided by: the batch's rows, times
 * the classes for MSELoss(mean). */
double nn_loss_divisor(nn_loss_kind kind, int batch, int classes);

const char *nn_loss_name(nn_loss_kind kind);

/* Index of the largest of v[0..n), the first one on ties; the first NaN's if any. */
int nn_argmax(const float *v, int n);

#endif
