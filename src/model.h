/* model.h - a Sequential stack of layers with one parameter buffer.
 *
 * All parameters live in one contiguous buffer (params) and all gradients in
 * another of the same layout (grads), so zeroing is one memset and an
 * optimizer step one loop. Activations are kept per layer for backward, in
 * buffers that grow to the largest batch seen and are then reused. */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <limits.h>
#include <stddef.h>

#include "layers.h"
#include "rng.h"
#include "status.h"
#include "tensor.h"

typedef struct {
    int nlayers;
    nn_layer *layers;    /* owned, nlayers entries */
    float *params;       /* owned, nparams floats */
    float *grads;        /* owned, nparams floats, same layout as params */
    size_t nparams;
    float *buffers;      /* owned: state that is not trained (BatchNorm running stats, Normalize's mean and std) */
    size_t nbuffers;
    int training;        /* 1: Dropout drops, BatchNorm uses batch statistics */
    int batch_training;  /* training as the last batch began: its forward and its backward use it,
                            whatever training() or evaluate() came in between */
    nn_rng dropout_rng;  /* the stream Dropout masks and RandomShift's shifts are drawn from */
    double input_scale;  /* pixel scale of the data it was trained on; 0 if unknown (model files v2) */
    /* Workspace, per layer: */
    nn_tensor *out;      /* output of each layer */
    nn_tensor *dout;     /* gradient of the loss w.r.t. each layer's output */
    nn_tensor *aux;      /* per row (nn_layer_ops.aux_per_row): Dropout: mask; BatchNorm: xhat;
                            RandomShift: its shifts */
    float **stats;       /* per layer (nn_layer_ops.stats_count): BatchNorm: batch mean and invstd */
    const nn_layer_ops **ops; /* each layer's kind */
    int *src;            /* the layer whose output each layer reads, -1: the model's input (views
                            in between pass it on: their output is their input) */
    int *width;          /* floats a row of each layer's output, for the current batch */
    float *scratch;      /* owned: NN_MODEL_PARTS areas of scratch_floats, one per part */
    size_t scratch_floats;
    nn_sparse_batch input_nz;  /* a dense input's non-zeros, when a first Linear layer used them */
    nn_sparse_batch *sparse_in; /* the last forward's input by its non-zeros, or NULL */
    nn_tensor pack;      /* scratch of the sparse products */
    nn_tensor w0_packed; /* a sparse batch's first-layer weights, packed (nn_csr_pack, or
                            nn_blocks_pack for a batch in blocks) */
    int input_blocks;    /* the batch begun is in blocks (NN_INPUT_BLOCKS) */
    nn_tensor input_copy; /* the last forward's input when it was one of the model's own buffers */
    int input_copied;    /* 1 while input_copy stands for the last forward's input */
    nn_tensor dy_copy;   /* backward's dy when it was the model's own gradients */
    int last_rows;       /* batch size of the last forward, -1 if none */
    int last_cols;       /* input width of the last forward */
} nn_model;

/* Limits every model keeps: the features of one layer, the layers, the
 * parameters (a parameter view is a tensor of int-sized shape). */
#define NN_MAX_FEATURES (1 << 24)
#define NN_MAX_LAYERS 10000
#define NN_MAX_PARAMS INT_MAX
/* The parts a batch may be cut into (each with its own scratch). */
#define NN_MODEL_PARTS 2

/* Checks every layer's settings (its kind's plan: sizes in 1..NN_MAX_FEATURES,
 * finite init, eps > 0, momentum and p in range, ...) and the chain of layers
 * (each input shape equal to the previous output's) and fills in the unknown
 * widths and shapes, offsets and counts. */
nn_status nn_model_plan(nn_layer *layers, int n, nn_error *err);

/* Builds a model from planned layer descriptions (copied); parameters are
 * drawn from init_rng unless init_rng is NULL (then left zero, for loading). */
nn_status nn_model_init(nn_model *m, const nn_layer *layers, int n, nn_rng *init_rng,
                        nn_error *err);
void nn_model_free(nn_model *m);

/* Input width the model expects, or -1 if any width works. */
int nn_model_in_features(const nn_model *m);
/* Output width, or -1 if it follows the input (no Linear/BatchNorm layer). */
int nn_model_out_features(const nn_model *m);

/* Runs x (n x in) through every layer; *y points at the last layer's output,
 * which stays valid until the next forward. x may be one of the model's
 * own buffers (an earlier output): it is copied first, so the result is
 * that of a separate copy. */
nn_status nn_model_forward(nn_model *m, const nn_tensor *x, const nn_tensor **y,
                           nn_error *err);

/* How backward treats grads: adds to them, or sets them (as if zeroed first,
 * without the pass over memory that zeroing costs). */
typedef enum { NN_GRAD_ADD = 0, NN_GRAD_SET = 1 } nn_grad_mode;

/* Backpropagates dy (gradient w.r.t. the last forward's output) through the
 * layers into grads. x must be the last forward's input. */
nn_status nn_model_backward(nn_model *m, const nn_tensor *x, const nn_tensor *dy, nn_grad_mode mode,
                            nn_error *err);

/* The same with the input given by its non-zeros (the first layer must be
 * Linear): the first layer's products skip the zeros. x must stay alive and
 * unchanged from the forward to the backward; by_col is filled on demand. */
nn_status nn_model_forward_sparse(nn_model *m, nn_sparse_batch *x, const nn_tensor **y,
                                  nn_error *err);
nn_status nn_model_backward_sparse(nn_model *m, nn_sparse_batch *x, const nn_tensor *dy,
                                   nn_grad_mode mode, nn_error *err);

/* Forgets the last forward (a later backward fails until the next forward). */
void nn_model_forget_input(nn_model *m);

/* Data-parallel training: a batch cut into parts of consecutive rows, each
 * run forward and backward on its own thread into its own gradients.
 * nn_model_begin_batch sizes the buffers for n rows of cols inputs (and
 * draws the dropout masks of the whole batch); then, for each part, in any
 * order or at once: forward (its outputs are rows [first, first + rows) of
 * the last layer's output), then backward with dy, the gradient of those
 * rows. A model with BatchNorm, whose statistics span the batch, takes the
 * whole batch as one part. */
typedef struct {
    int first, rows;        /* the part's rows within the batch */
    const float *x;         /* its dense inputs, rows x cols, or NULL when xs */
    nn_sparse_batch *xs;    /* its inputs by their non-zeros (row 0 = row first) */
    float *grads;           /* where its parameter gradients go (nparams floats) */
    nn_tensor *pack;        /* scratch of the sparse products (the caller's) */
    int index;              /* 0..NN_MODEL_PARTS-1: the part's number, its scratch in the model */
} nn_model_part;

int nn_model_splittable(const nn_model *m);
/* 1 if a layer cuts a part's rows over two threads itself (Conv2d). */
int nn_model_halves_rows(const nn_model *m);
/* How a batch reaches the first layer: dense, by its non-zeros (sparse.h)
 * or in blocks of pixels (blocks.h). */
enum { NN_INPUT_DENSE, NN_INPUT_NONZEROS, NN_INPUT_BLOCKS };
/* input: one of the above. */
nn_status nn_model_begin_batch(nn_model *m, int n, int cols, int input, nn_error *err);
void nn_model_forward_part(nn_model *m, const nn_model_part *p);
nn_status nn_model_backward_part(nn_model *m, nn_model_part *p, const float *dy, int accumulate, nn_error *err);

void nn_model_zero_grad(nn_model *m);

/* 0.5 * sum of squared weights (biases and BatchNorm too if with_bias). */
double nn_model_half_sq_norm(const nn_model *m, int with_bias);

/* Writes "Sequential(Linear(784->32), ReLU, ...)" into buf. */
void nn_model_describe(const nn_model *m, char *buf, size_t len);

#endif
