/* train.h - the mini-batch training loop and evaluation, all in C so that an
 * epoch does no Lua work and no allocation once its buffers are sized. */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <stdint.h>

#include "data.h"
#include "loss.h"
#include "model.h"
#include "optim.h"

/* A training batch is cut into this many parts of consecutive rows, run at
 * once on as many threads, when the model allows it (nn_model_splittable)
 * and the batch has enough rows: the cut depends on the batch alone, never
 * on the number of threads, so neither do the results. */
#define NN_TRAIN_PARTS 2
/* Batches too small to cut into parts are gathered ahead by the second
 * thread into a ring of this many slots, and a spare. */
#define NN_GATHER_SLOTS 8

typedef struct {
    nn_tensor x;          /* the part's inputs, dense */
    nn_sparse_batch xs;   /* or by their non-zeros, for a first Linear layer */
    nn_tensor labels;
    nn_tensor pack;       /* the part's scratch of the sparse products */
    nn_model_part part;
} nn_batch_part;

typedef struct {
    nn_tensor x;       /* batch inputs, dense (evaluation, gradient checks) */
    nn_sparse_batch xs; /* batch inputs by their non-zeros (evaluation) */
    nn_tensor labels;  /* batch labels */
    nn_tensor grad;    /* d loss / d outputs */
    /* training batches: the parts of one, or small batches gathered ahead
     * into the ring's slots and its spare (the last) */
    nn_batch_part parts[NN_GATHER_SLOTS + 1];
    nn_tensor part_grads; /* the gradients of parts 2.. (a row of nparams each) */
    int32_t *order;    /* owned: item order of the current epoch */
    int32_t order_cap;
    uint64_t whole;    /* id of the dataset whose every item the parts (training)
                          or xs (evaluation) hold in order, or 0; a dataset's
                          scale is fixed, so its id says how they were scaled */
    int whole_sparse, whole_parts; /* how they hold them: NN_INPUT_*, and the parts */
} nn_workspace;

/* The loss target of labels gathered from data: one class label a row, or
 * a row of real-valued targets. */
nn_target nn_batch_target(const nn_dataset *data, const nn_tensor *labels);

void nn_workspace_init(nn_workspace *w);
void nn_workspace_free(nn_workspace *w);

typedef struct {
    double cost;      /* mean over batches of loss + L2 term, each before its update */
    double loss;      /* mean over batches of the data loss */
    double accuracy;  /* fraction of items classified right, before each update */
    int batches;
} nn_epoch_stats;

/* One pass over data in batches of `batch` items (the last may be smaller),
 * in a fresh shuffled order when shuffle_rng is not NULL. */
nn_status nn_train_epoch(nn_model *m, nn_loss_kind loss, nn_optimizer *opt, const nn_dataset *data,
                         int batch, nn_rng *shuffle_rng, nn_workspace *w, nn_epoch_stats *out,
                         nn_error *err);

typedef struct {
    double loss;      /* mean loss over the items */
    double accuracy;
    int classes;      /* confusion is classes x classes */
    long *confusion;  /* owned by the caller, classes^2 counts: [true][predicted] */
    double mse, mae;  /* mean squared and absolute error over real-valued targets (0 with class labels) */
} nn_eval_result;

/* Runs data through m in eval mode (restored afterwards) in batches of
 * batch rows, or with batch 0 of 1000 rows or more, as many as keep a
 * batch's activations within 16 MiB. The caller sets r->classes and
 * r->confusion (or NULL). */
nn_status nn_evaluate(nn_model *m, nn_loss_kind loss, const nn_dataset *data, int batch,
                      nn_workspace *w, nn_eval_result *r, nn_error *err);
/* The rows of nn_evaluate's batches with batch 0 (m planned for data). */
int nn_eval_batch_rows(const nn_model *m, const nn_dataset *data);

#endif
