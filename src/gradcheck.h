/* gradcheck.h - numerical gradients by central differences, and their check
 * against backpropagation.
 *
 * The numerical gradient is computed in double precision without a full
 * forward pass per parameter: a perturbed parameter changes one output
 * column of its layer, and only in the rows where its input is non-zero, so
 * only those rows and columns are carried forward to the loss. A step that
 * would carry a ReLU input across its kink is shrunk, up to 100 times. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include "data.h"
#include "loss.h"
#include "model.h"

/* grad (nparams doubles, the model's parameter order) = the central
 * difference (L(p + h) - L(p - h)) / 2h of the mean loss over every item of
 * data, for every parameter p. Dropout masks are drawn once and held fixed;
 * BatchNorm's running statistics are left as they were. */
nn_status nn_numgrad(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h,
                     double *grad, nn_error *err);

/* The same for the parameters in which[0..count) alone (ascending indices
 * below nparams); the other entries of grad are 0. A model with a kind the
 * column shortcut does not know (Conv2d, the pools, the views) runs each
 * difference through every layer from the parameter's on, in double. */
nn_status nn_numgrad_some(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h, const size_t *which,
                          size_t count, double *grad, nn_error *err);

typedef struct {
    double max_rel_error;  /* largest over blocks (a layer's weights, its biases) of
                              |a - b| / max(|a| + |b|, 1e-3 of the whole's), 2-norms */
    double max_abs_error;  /* largest element-wise |a - b| */
    int worst_layer;       /* 1-based layer of the largest relative error */
} nn_gradcheck_result;

/* Compares backpropagation on the whole of data (one batch) with nn_numgrad.
 * The model's gradients and running statistics are restored afterwards. */
nn_status nn_gradcheck(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h,
                       nn_gradcheck_result *r, nn_error *err);
/* The same over the parameters in which[0..count) alone (see nn_numgrad_some). */
nn_status nn_gradcheck_some(nn_model *m, nn_loss_kind loss, const nn_dataset *data, double h, const size_t *which,
                            size_t count, nn_gradcheck_result *r, nn_error *err);

#endif
