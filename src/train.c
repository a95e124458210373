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

static nn_status train_batch(nn_model *m, nn_loss_kind loss, nn_sgd *opt, nn_workspace *w,
                             nn_epoch_stats *out, long *correct, nn_error *err)
{
    const nn_tensor *y;
    nn_status st = nn_model_forward(m, &w->x, &y, err);
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
    nn_model_zero_grad(m);
    if ((st = nn_model_backward(m, &w->x, &w->grad, err)) != NN_OK)
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
    /* Full-batch training in a fixed order sees the same batch every epoch:
     * it is gathered (and scaled) once. */
    int whole = !shuffle_rng && batch >= data->n;
    for (int32_t first = 0; first < data->n; first += batch) {
        int32_t count = data->n - first < batch ? data->n - first : batch;
        if (!(whole && w->whole == data->id))
            st = nn_dataset_gather(data, w->order, first, count, &w->x, &w->labels, err);
        w->whole = whole && st == NN_OK ? data->id : 0;
        if (st == NN_OK)
            st = train_batch(m, loss, opt, w, out, &correct, err);
        if (st != NN_OK)
            return st;
        out->batches++;
    }
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
    w->whole = 0;
    for (int32_t first = 0; first < data->n && st == NN_OK; first += batch) {
        int32_t count = data->n - first < batch ? data->n - first : batch;
        const nn_tensor *y;
        st = nn_dataset_gather(data, NULL, first, count, &w->x, &w->labels, err);
        if (st == NN_OK)
            st = nn_model_forward(m, &w->x, &y, err);
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
    if (st != NN_OK)
        return st;
    r->loss = total / data->n;
    r->accuracy = (double)correct / data->n;
    return NN_OK;
}
