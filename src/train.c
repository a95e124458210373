#include "train.h"

#include <stdlib.h>
#include <string.h>

void nn_workspace_init(nn_workspace *w)
{
    memset(w, 0, sizeof *w);
    nn_tensor_empty(&w->x);
    nn_tensor_empty(&w->labels);
    nn_tensor_empty(&w->grad);
}

void nn_workspace_free(nn_workspace *w)
{
    nn_tensor_free(&w->x);
    nn_tensor_free(&w->labels);
    nn_tensor_free(&w->grad);
    nn_sparse_batch_free(&w->xs);
    free(w->order);
    nn_workspace_init(w);
}

static nn_status prepare_order(nn_workspace *w, int32_t n, nn_rng *rng, nn_error *err)
{
    if (n > w->order_cap) {
        int32_t *p = realloc(w->order, (size_t)n * sizeof *p);
        if (!p)
            return nn_fail(err, NN_ENOMEM, "out of memory");
        w->order = p;
        w->order_cap = n;
    }
    for (int32_t i = 0; i < n; i++)
        w->order[i] = i;
    if (rng)
        nn_rng_shuffle(rng, w->order, n);
    return NN_OK;
}

static nn_status check_batch(const nn_model *m, const nn_dataset *data, int batch, nn_error *err)
{
    if (batch < 1)
        return nn_fail(err, NN_EARG, "batch size must be at least 1, got %d", batch);
    if (data->n < 1)
        return nn_fail(err, NN_EARG, "the dataset is empty");
    int in = nn_model_in_features(m);
    if (in >= 0 && in != data->store->dim)
        return nn_fail(err, NN_ESHAPE, "the model takes %d inputs but the data's items have %d values", in,
                       data->store->dim);
    return NN_OK;
}

/* Above this fraction of non-zero pixels batches are gathered dense. */
#define SPARSE_MAX_DENSITY 0.5

/* Batches for m go to its first layer by their non-zeros: a Linear layer
 * then skips the data's zeros (four-fifths of an MNIST image). */
static int sparse_batches(const nn_model *m, const nn_dataset *data)
{
    return m->layers[0].kind == NN_LINEAR && data->store->density <= SPARSE_MAX_DENSITY;
}

static nn_status gather(const nn_dataset *data, const int32_t *order, int32_t first, int32_t count,
                        int sparse, nn_workspace *w, nn_error *err)
{
    if (sparse)
        return nn_dataset_gather_sparse(data, order, first, count, &w->xs, &w->labels, err);
    return nn_dataset_gather(data, order, first, count, &w->x, &w->labels, err);
}

static nn_status forward(nn_model *m, nn_workspace *w, int sparse, const nn_tensor **y, nn_error *err)
{
    return sparse ? nn_model_forward_sparse(m, &w->xs, y, err) : nn_model_forward(m, &w->x, y, err);
}

static nn_status train_batch(nn_model *m, nn_loss_kind loss, nn_sgd *opt, nn_workspace *w, int sparse,
                             nn_epoch_stats *out, long *correct, nn_error *err)
{
    const nn_tensor *y;
    nn_status st = forward(m, w, sparse, &y, err);
    if (st != NN_OK)
        return st;
    if ((st = nn_tensor_reshape2(&w->grad, y->shape[0], (int)nn_tensor_row_size(y), err)) != NN_OK)
        return st;
    nn_target t = {w->labels.data, NULL};
    double l;
    if ((st = nn_loss_compute(loss, y, &t, &l, w->grad.data, correct, err)) != NN_OK)
        return st;
    out->loss += l;
    out->cost += l + nn_sgd_penalty(opt, m);
    st = sparse ? nn_model_backward_sparse(m, &w->xs, &w->grad, NN_GRAD_SET, err)
                : nn_model_backward(m, &w->x, &w->grad, NN_GRAD_SET, err);
    if (st != NN_OK)
        return st;
    return nn_sgd_step(opt, m, err);
}

nn_status nn_train_epoch(nn_model *m, nn_loss_kind loss, nn_sgd *opt, const nn_dataset *data,
                         int batch, nn_rng *shuffle_rng, nn_workspace *w, nn_epoch_stats *out,
                         nn_error *err)
{
    memset(out, 0, sizeof *out);
    nn_status st = check_batch(m, data, batch, err);
    if (st == NN_OK)
        st = prepare_order(w, data->n, shuffle_rng, err);
    if (st != NN_OK)
        return st;
    m->training = 1;
    long correct = 0;
    int sparse = sparse_batches(m, data);
    /* Full-batch training in a fixed order sees the same batch every epoch:
     * it is gathered (and scaled, and transposed) once. */
    int whole = !shuffle_rng && batch >= data->n;
    for (int32_t first = 0; first < data->n && st == NN_OK; first += batch) {
        int32_t count = data->n - first < batch ? data->n - first : batch;
        if (!(whole && w->whole == data->id && w->whole_sparse == sparse))
            st = gather(data, w->order, first, count, sparse, w, err);
        w->xs.reused = whole;
        w->whole = whole && st == NN_OK ? data->id : 0;
        w->whole_sparse = sparse;
        if (st == NN_OK)
            st = train_batch(m, loss, opt, w, sparse, out, &correct, err);
        out->batches++;
    }
    /* The model's last input lives in w, which it must not keep using. */
    nn_model_forget_input(m);
    if (st != NN_OK)
        return st;
    out->cost /= out->batches;
    out->loss /= out->batches;
    out->accuracy = (double)correct / data->n;
    return NN_OK;
}

static void add_confusion(const nn_tensor *y, const float *labels, nn_eval_result *r)
{
    int classes = (int)nn_tensor_row_size(y);
    for (int i = 0; i < y->shape[0]; i++) {
        int truth = (int)labels[i];
        int pred = nn_argmax(y->data + (size_t)i * classes, classes);
        if (truth < r->classes && pred < r->classes)
            r->confusion[truth * r->classes + pred]++;
    }
}

nn_status nn_evaluate(nn_model *m, nn_loss_kind loss, const nn_dataset *data, int batch,
                      nn_workspace *w, nn_eval_result *r, nn_error *err)
{
    nn_status st = check_batch(m, data, batch, err);
    if (st != NN_OK)
        return st;
    int was_training = m->training;
    m->training = 0;
    double total = 0;
    long correct = 0;
    int sparse = sparse_batches(m, data);
    w->whole = 0;
    for (int32_t first = 0; first < data->n && st == NN_OK; first += batch) {
        int32_t count = data->n - first < batch ? data->n - first : batch;
        const nn_tensor *y;
        st = gather(data, NULL, first, count, sparse, w, err);
        if (st == NN_OK)
            st = forward(m, w, sparse, &y, err);
        if (st == NN_OK) {
            nn_target t = {w->labels.data, NULL};
            double l;
            st = nn_loss_compute(loss, y, &t, &l, NULL, &correct, err);
            total += l * count;
            if (st == NN_OK && r->confusion)
                add_confusion(y, w->labels.data, r);
        }
    }
    m->training = was_training;
    nn_model_forget_input(m);
    if (st != NN_OK)
        return st;
    r->loss = total / data->n;
    r->accuracy = (double)correct / data->n;
    return NN_OK;
}
