#include "train.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#ifdef _OPENMP
#include <omp.h>
#endif

void nn_workspace_init(nn_workspace *w)
{
    memset(w, 0, sizeof *w);
    nn_tensor_empty(&w->x);
    nn_tensor_empty(&w->labels);
    nn_tensor_empty(&w->grad);
    for (size_t p = 0; p < sizeof w->parts / sizeof *w->parts; p++) {
        nn_tensor_empty(&w->parts[p].x);
        nn_tensor_empty(&w->parts[p].labels);
        nn_tensor_empty(&w->parts[p].pack);
    }
    nn_tensor_empty(&w->part_grads);
}

void nn_workspace_free(nn_workspace *w)
{
    nn_tensor_free(&w->x);
    nn_tensor_free(&w->labels);
    nn_tensor_free(&w->grad);
    nn_sparse_batch_free(&w->xs);
    for (size_t p = 0; p < sizeof w->parts / sizeof *w->parts; p++) {
        nn_tensor_free(&w->parts[p].x);
        nn_tensor_free(&w->parts[p].labels);
        nn_tensor_free(&w->parts[p].pack);
        nn_sparse_batch_free(&w->parts[p].xs);
    }
    nn_tensor_free(&w->part_grads);
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
    int out = nn_model_out_features(m);
    if (data->store->targets && out >= 0 && out != data->store->targets_dim)
        return nn_fail(err, NN_ESHAPE, "the model gives %d outputs but the data's items have %d targets", out,
                       data->store->targets_dim);
    return NN_OK;
}

nn_target nn_batch_target(const nn_dataset *data, const nn_tensor *labels)
{
    nn_target t = {NULL, NULL};
    if (data->store->targets)
        t.dist = labels;
    else
        t.labels = labels->data;
    return t;
}

/* Batches for m go to its first layer by their non-zeros when the data are
 * images and the sparse policy (nn_sparse_policy) says so for their density. */
static int sparse_batches(const nn_model *m, const nn_dataset *data)
{
    return nn_dataset_sparse_ok(data) && data->store->density <= nn_sparse_policy(&m->layers[0], 1);
}

/* How batches of data reach m's first layer (NN_INPUT_*): by their
 * non-zeros as above, or in blocks of pixels when the same batch comes
 * back (reused) and the blocks policy (nn_blocks_policy) takes the layer. */
static int batch_input(const nn_model *m, const nn_dataset *data, int reused)
{
    if (!sparse_batches(m, data))
        return NN_INPUT_DENSE;
    return nn_blocks_policy(&m->layers[0], data->store->dim, reused) ? NN_INPUT_BLOCKS : NN_INPUT_NONZEROS;
}

static nn_status gather(const nn_dataset *data, const int32_t *order, int32_t first, int32_t count,
                        int sparse, nn_tensor *x, nn_sparse_batch *xs, nn_tensor *labels, nn_error *err)
{
    if (sparse == NN_INPUT_BLOCKS)
        return nn_dataset_gather_blocks(data, order, first, count, xs, labels, err);
    if (sparse)
        return nn_dataset_gather_sparse(data, order, first, count, xs, labels, err);
    return nn_dataset_gather(data, order, first, count, x, labels, err);
}

/* Rows a part needs for cutting a batch to pay (measured on two threads:
 * 200 rows in two parts train 1.15x faster than whole, 90 rows 1.12x
 * slower: the parts' fixed costs, such as each part writing a whole
 * first-layer gradient and the small layers' products, outweigh the halved
 * products). */
#define PART_MIN_ROWS 64
/* ... and for a model with convolutions, whose rows each cost hundreds of
 * thousands of multiply-adds: parts of 16 rows already pay, since every
 * layer then runs on both threads and they meet once a batch, where a
 * whole batch's convolutions halve their rows and meet twice a layer
 * (measured on LeNet-5, batch 64: commit 213a102, the README). */
#define CONV_PART_MIN_ROWS 16

/* nn_optim_step_sum adds the second part's gradients */
_Static_assert(NN_TRAIN_PARTS == 2, "one extra part's gradients");
_Static_assert(NN_TRAIN_PARTS <= NN_MODEL_PARTS, "a scratch area per part");
_Static_assert(NN_TRAIN_PARTS <= NN_GATHER_SLOTS, "the parts' batches in the slots");

static int batch_parts(const nn_model *m, int rows)
{
    int min_rows = nn_model_halves_rows(m) ? CONV_PART_MIN_ROWS : PART_MIN_ROWS;
    return nn_model_splittable(m) && rows >= NN_TRAIN_PARTS * min_rows ? NN_TRAIN_PARTS : 1;
}

typedef struct {
    double loss;      /* summed over the part's rows */
    long correct;
    nn_status st;
    nn_error err;
} part_result;

/* Part p of `parts` of the batch order[first .. first + count), in bp:
 * gathered (unless held already), forward, loss, backward into its
 * gradients. */
static nn_status run_part(nn_model *m, nn_loss_kind loss, const nn_dataset *data, const int32_t *order,
                          int32_t first, int32_t count, int p, int parts, int sparse, int held, nn_batch_part *bp,
                          nn_workspace *w, part_result *res)
{
    int r0 = (int)((long)count * p / parts), rows = (int)((long)count * (p + 1) / parts) - r0;
    nn_error *err = &res->err;
    nn_status st = NN_OK;
    if (!held)
        st = gather(data, order, first + r0, rows, sparse, &bp->x, &bp->xs, &bp->labels, err);
    if (st != NN_OK)
        return st;
    bp->part.first = r0;
    bp->part.rows = rows;
    bp->part.x = sparse ? NULL : bp->x.data;
    bp->part.xs = sparse ? &bp->xs : NULL;
    bp->part.grads = p == 0 ? m->grads : w->part_grads.data + (size_t)(p - 1) * m->nparams;
    bp->part.pack = &bp->pack;
    bp->part.index = p;
    nn_model_forward_part(m, &bp->part);
    const nn_tensor *y = &m->out[m->nlayers - 1];
    int classes = (int)nn_tensor_row_size(y);
    nn_tensor part_out = nn_tensor_rows(y, r0, rows);
    float *dy = w->grad.data + (size_t)r0 * (size_t)classes;
    nn_target t = nn_batch_target(data, &bp->labels);
    if ((st = nn_loss_sum(loss, &part_out, &t, count, &res->loss, dy, &res->correct, err)) != NN_OK)
        return st;
    return nn_model_backward_part(m, &bp->part, dy, 0, err);
}

/* One batch in parts w->parts[buf ..]. */
static nn_status train_batch(nn_model *m, nn_loss_kind loss, nn_optimizer *opt, const nn_dataset *data,
                             int32_t first, int32_t count, int parts, int buf, int sparse, int held, nn_workspace *w,
                             nn_epoch_stats *out, long *correct, nn_error *err)
{
    nn_status st = nn_model_begin_batch(m, count, data->store->dim, sparse, err);
    if (st == NN_OK)
        st = nn_tensor_reshape2(&w->grad, count, (int)nn_tensor_row_size(&m->out[m->nlayers - 1]), err);
    if (st == NN_OK && parts > 1)
        st = m->nparams > INT_MAX ? nn_fail(err, NN_ENOMEM, "%zu parameters are too many for a second part's "
                                                            "gradients", m->nparams)
                                  : nn_tensor_reshape2(&w->part_grads, parts - 1, (int)m->nparams, err);
    if (st != NN_OK)
        return st;
    part_result res[NN_TRAIN_PARTS];
    int threads = nn_get_threads() < parts ? nn_get_threads() : parts;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int p = 0; p < parts; p++) {
        res[p].loss = 0;
        res[p].correct = 0;
        res[p].err.msg[0] = '\0';
        res[p].st = run_part(m, loss, data, w->order, first, count, p, parts, sparse, held, &w->parts[buf + p], w,
                             &res[p]);
    }
    double sum = 0;
    for (int p = 0; p < parts; p++) {
        if (res[p].st != NN_OK) {
            *err = res[p].err;
            return res[p].st;
        }
        sum += res[p].loss;
        *correct += res[p].correct;
    }
    double l = sum / nn_loss_divisor(loss, count, (int)nn_tensor_row_size(&w->grad));
    out->loss += l;
    out->cost += l + nn_optim_penalty(opt, m);
    return nn_optim_step_sum(opt, m, parts > 1 ? w->part_grads.data : NULL, err);
}

/* The rows of the batch that starts at item first: batch, or what is left;
 * a model with BatchNorm, whose training statistics need two rows, folds
 * a trailing one-row batch into the one before it. */
static int32_t batch_rows(const nn_model *m, int32_t first, int batch, int32_t n)
{
    int32_t count = n - first < batch ? n - first : batch;
    if (n - first - count == 1 && !nn_model_splittable(m))
        count++;
    return count;
}

/* The slots of gathered batches take at most this many bytes, counted as
 * dense inputs. */
#define GATHER_SLOTS_MAX_BYTES ((double)(64 << 20))

/* 1 if a batch of `rows` runs some of its work on several threads: a
 * Linear layer's products, or the optimizer's step (which also covers the
 * sparse first layer's weights packed on two threads: they are as many as
 * its weights). Inside the ring's parallel region they would run on one. */
static int batch_uses_threads(const nn_model *m, const nn_dataset *data, int rows, int sparse)
{
    if (nn_optim_threaded(m->nparams))
        return 1;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->kind != NN_LINEAR)
            continue;
        double macs = (double)rows * l->in * l->out;
        if (i == 0 && sparse ? nn_csr_threaded(macs * data->store->density) : nn_gemm_threaded(macs))
            return 1;
    }
    return 0;
}

/* Batches too small to cut into parts or to thread their products (the
 * seed 001 network's 90 rows) leave the second thread to gather the
 * batches ahead, unless a layer uses it better (a convolution halves the
 * batch's rows itself). */
static int pipelined(const nn_model *m, const nn_dataset *data, int batch, int whole, int sparse)
{
#ifdef _OPENMP
    double bytes = (double)(NN_GATHER_SLOTS + 1) * (batch + 1) * data->store->dim * sizeof(float);
    return !whole && data->n > batch && batch_parts(m, batch) == 1 && nn_get_threads() > 1 &&
           !nn_model_halves_rows(m) && !batch_uses_threads(m, data, batch + 1, sparse) &&
           bytes <= GATHER_SLOTS_MAX_BYTES;
#else
    (void)m, (void)data, (void)batch, (void)whole, (void)sparse;
    return 0;
#endif
}

/* Gathers a batch into bp and, when sparse and the first layer is wide
 * (transpose set), transposes it too, for a weight gradient faster taken
 * through the transpose. Not for narrow layers: on the seed 001 network the
 * transpose (45 us a batch) made the gathering thread the slower of the
 * two, while scattering instead costs the training thread 9 us. */
static nn_status gather_ahead(const nn_dataset *data, const int32_t *order, int32_t first, int32_t count,
                              int sparse, int transpose, nn_batch_part *bp, nn_error *err)
{
    nn_status st = gather(data, order, first, count, sparse, &bp->x, &bp->xs, &bp->labels, err);
    if (st == NN_OK && sparse && transpose && !nn_sparse_batch_transpose(&bp->xs))
        st = nn_fail(err, NN_ENOMEM, "out of memory transposing a batch of %d items", count);
    return st;
}

/* The ring of gathered batches between the training thread and the
 * gathering one. They meet through a lock, not once a batch: the gatherer
 * sleeps when every slot is full and is woken when half of them are free,
 * and the trainer never waits: it gathers a batch itself when nobody has
 * claimed it, or into the spare slot when the gatherer is still at it, so
 * a gatherer that the machine's other work keeps off its core delays
 * nothing. (A meeting a batch, in a parallel region of its own, costs a
 * sleep and a wake under passive waits, more than the gathering saves.) */
#define SPARE_SLOT NN_GATHER_SLOTS

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t space;
    int32_t batches, claimed, consumed; /* batches claimed for gathering and trained, in order */
    int32_t slot_batch[NN_GATHER_SLOTS]; /* the batch a slot holds, gathered; -1: none */
    nn_status slot_st[NN_GATHER_SLOTS];
    nn_error slot_err[NN_GATHER_SLOTS];  /* set when slot_st is not NN_OK */
    int gatherer_waits, stop;
} gather_ring;

typedef struct {
    const nn_model *m;
    const nn_dataset *data;
    const int32_t *order;
    int batch, sparse, transpose;
    nn_workspace *w;
} ring_work;

static nn_status gather_batch(const ring_work *rw, int32_t b, int slot, nn_error *err)
{
    int32_t first = b * rw->batch;
    return gather_ahead(rw->data, rw->order, first, batch_rows(rw->m, first, rw->batch, rw->data->n), rw->sparse,
                        rw->transpose, &rw->w->parts[slot], err);
}

/* The gathering thread: claims the batches in order and gathers each into
 * its slot, until all are claimed or the trainer stops. */
static void run_gatherer(gather_ring *g, const ring_work *rw)
{
    for (;;) {
        pthread_mutex_lock(&g->lock);
        while (!g->stop && g->claimed < g->batches && g->claimed - g->consumed >= NN_GATHER_SLOTS) {
            g->gatherer_waits = 1;
            pthread_cond_wait(&g->space, &g->lock);
        }
        g->gatherer_waits = 0;
        if (g->stop || g->claimed >= g->batches) {
            pthread_mutex_unlock(&g->lock);
            return;
        }
        int32_t b = g->claimed++, s = b % NN_GATHER_SLOTS;
        pthread_mutex_unlock(&g->lock);
        nn_error err = {""};
        nn_status st = gather_batch(rw, b, s, &err);
        pthread_mutex_lock(&g->lock);
        g->slot_st[s] = st;
        if (st != NN_OK)
            g->slot_err[s] = err;
        g->slot_batch[s] = b;
        pthread_mutex_unlock(&g->lock);
        if (st != NN_OK)
            return;
    }
}

/* Batch b for the trainer: returns the slot that holds it, gathered there
 * by the gatherer, or by the trainer now (its own slot when nobody has
 * claimed it, the spare when the gatherer is at it); *st is the gather's. */
static int take_batch(gather_ring *g, const ring_work *rw, int32_t b, nn_status *st, nn_error *err)
{
    int s = b % NN_GATHER_SLOTS, gather_into = -1;
    *st = NN_OK;
    pthread_mutex_lock(&g->lock);
    if (g->claimed == b) {
        g->claimed++;
        gather_into = s;
    } else if (g->slot_batch[s] != b) {
        gather_into = SPARE_SLOT;
    } else if (g->slot_st[s] != NN_OK) {
        *st = g->slot_st[s];
        *err = g->slot_err[s];
    }
    pthread_mutex_unlock(&g->lock);
    if (gather_into < 0)
        return s;
    *st = gather_batch(rw, b, gather_into, err);
    return gather_into;
}

static void batch_done(gather_ring *g, int32_t b, int stop)
{
    pthread_mutex_lock(&g->lock);
    g->consumed = b + 1;
    g->stop |= stop;
    if (g->gatherer_waits && (stop || g->claimed - g->consumed <= NN_GATHER_SLOTS / 2))
        pthread_cond_signal(&g->space);
    pthread_mutex_unlock(&g->lock);
}

static nn_status train_pipelined(nn_model *m, nn_loss_kind loss, nn_optimizer *opt, const nn_dataset *data,
                                 int batch, int sparse, nn_workspace *w, nn_epoch_stats *out, long *correct,
                                 nn_error *err)
{
    gather_ring g;
    memset(&g, 0, sizeof g);
    for (int32_t first = 0; first < data->n; first += batch_rows(m, first, batch, data->n))
        g.batches++;
    for (int s = 0; s < NN_GATHER_SLOTS; s++)
        g.slot_batch[s] = -1;
    if (pthread_mutex_init(&g.lock, NULL) != 0)
        return nn_fail(err, NN_ENOMEM, "out of resources for the gathering thread's lock");
    if (pthread_cond_init(&g.space, NULL) != 0) {
        pthread_mutex_destroy(&g.lock);
        return nn_fail(err, NN_ENOMEM, "out of resources for the gathering thread's condition");
    }
    ring_work rw = {m, data, w->order, batch, sparse, nn_sparse_transpose_pays(m->layers[0].out), w};
    nn_status st = NN_OK;
    w->whole = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
#endif
    {
#ifdef _OPENMP
        int me = omp_get_thread_num();
#else
        int me = 0;
#endif
        if (me == 1) {
            run_gatherer(&g, &rw);
        } else {
            for (int32_t b = 0; b < g.batches && st == NN_OK; b++) {
                int32_t first = b * batch, count = batch_rows(m, first, batch, data->n);
                int slot = take_batch(&g, &rw, b, &st, err);
                if (st == NN_OK)
                    st = train_batch(m, loss, opt, data, first, count, 1, slot, sparse, 1, w, out, correct, err);
                out->batches++;
                batch_done(&g, b, st != NN_OK || b + 1 == g.batches);
            }
        }
    }
    pthread_cond_destroy(&g.space);
    pthread_mutex_destroy(&g.lock);
    return st;
}

nn_status nn_train_epoch(nn_model *m, nn_loss_kind loss, nn_optimizer *opt, const nn_dataset *data,
                         int batch, nn_rng *shuffle_rng, nn_workspace *w, nn_epoch_stats *out,
                         nn_error *err)
{
    memset(out, 0, sizeof *out);
    nn_status st = check_batch(m, data, batch, err);
    if (st == NN_OK && !nn_model_splittable(m) && (batch < 2 || data->n < 2))
        st = nn_fail(err, NN_EARG, "a model with BatchNorm trains on batches of 2 or more items (batch statistics), "
                                   "got %s", batch < 2 ? "batch = 1" : "a dataset of 1 item");
    if (st == NN_OK)
        st = prepare_order(w, data->n, shuffle_rng, err);
    if (st != NN_OK)
        return st;
    m->training = 1;
    long correct = 0;
    /* Full-batch training in a fixed order sees the same batch every epoch:
     * it is gathered (and scaled, and transposed) once. */
    int whole = !shuffle_rng && batch >= data->n;
    int sparse = batch_input(m, data, whole);
    for (int p = 0; p < NN_TRAIN_PARTS; p++)
        w->parts[p].xs.reused = whole;
    if (pipelined(m, data, batch, whole, sparse)) {
        st = train_pipelined(m, loss, opt, data, batch, sparse, w, out, &correct, err);
    } else {
        for (int32_t first = 0, count = 0; first < data->n && st == NN_OK; first += count) {
            count = batch_rows(m, first, batch, data->n);
            int parts = batch_parts(m, count);
            int held = whole && w->whole == data->id && w->whole_sparse == sparse && w->whole_parts == parts;
            st = train_batch(m, loss, opt, data, first, count, parts, 0, sparse, held, w, out, &correct, err);
            w->whole = whole && st == NN_OK ? data->id : 0;
            w->whole_sparse = sparse;
            w->whole_parts = parts;
            out->batches++;
        }
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

/* Adds the squared and absolute errors of outputs y against real-valued
 * targets (a matrix, or labels that are values) to *sq and *abs_err. */
static void add_errors(const nn_tensor *y, const nn_target *t, int labels_are_values, double *sq, double *abs_err)
{
    if (!t->dist && !labels_are_values)
        return;
    const float *target = t->dist ? t->dist->data : t->labels;
    for (size_t k = 0; k < y->size; k++) {
        double d = (double)y->data[k] - target[k];
        *sq += d * d;
        *abs_err += fabs(d);
    }
}

/* Evaluation keeps a sparse dataset's every item gathered, once, while
 * the same dataset comes back (a validation set, every epoch) and its
 * non-zeros fit in this many. */
#define EVAL_CACHE_MAX_NZ ((size_t)1 << 25)

/* Rows [first, first + count) of a gathered sparse batch, as a batch of
 * their own over the same memory (never freed or grown through it), for
 * forward products only: a batch in blocks keeps its layout by block for
 * the whole. */
static nn_sparse_batch sparse_rows(const nn_sparse_batch *all, int32_t first, int32_t count)
{
    nn_sparse_batch v;
    memset(&v, 0, sizeof v);
    if (all->by_blocks) {
        v.by_blocks = 1;
        v.blocks = all->blocks;
        v.blocks.mask = all->blocks.mask + first;
        v.blocks.row_start = all->blocks.row_start + first;
        v.blocks.rows = count;
        v.blocks.cap_rows = v.blocks.cap_pix = v.blocks.cap_entries = 0;
        return v;
    }
    v.by_row = all->by_row;
    v.by_row.row_start = all->by_row.row_start + first;
    v.by_row.rows = count;
    v.by_row.cap_rows = 0;
    v.by_row.cap_nz = 0;
    return v;
}

/* Gathers batch [first, first + count) of an evaluation into w: *xs is
 * where its sparse inputs are, *labels its labels or targets. */
static nn_status eval_batch(const nn_dataset *data, int32_t first, int32_t count, int sparse, int cached,
                            nn_workspace *w, nn_sparse_batch *view, nn_sparse_batch **xs, nn_tensor *labels,
                            nn_error *err)
{
    if (!cached) {
        *xs = &w->xs;
        nn_status st = gather(data, NULL, first, count, sparse, &w->x, &w->xs, &w->labels, err);
        *labels = w->labels;
        return st;
    }
    *view = sparse_rows(&w->xs, first, count);
    *xs = view;
    *labels = nn_tensor_rows(&w->labels, first, count);
    if (w->labels.ndim == 1)
        labels->ndim = 1;
    return NN_OK;
}

/* As many rows as keep a batch's activations (every layer's output, and a
 * dense input) within EVAL_BATCH_FLOATS, and at least EVAL_BATCH_MIN, so
 * that narrow models, whose passes are short, meet their threads over
 * fewer batches. */
#define EVAL_BATCH_MIN 1000
#define EVAL_BATCH_FLOATS ((double)(1 << 22))

int nn_eval_batch_rows(const nn_model *m, const nn_dataset *data)
{
    int width = data->store->dim;
    double floats = sparse_batches(m, data) ? 0 : width;
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].out > 0) /* unknown: the width it was given */
            width = m->layers[i].out;
        floats += width;
    }
    double rows = EVAL_BATCH_FLOATS / (floats > 1 ? floats : 1);
    return rows <= EVAL_BATCH_MIN ? EVAL_BATCH_MIN : rows < INT_MAX ? (int)rows : INT_MAX;
}

nn_status nn_evaluate(nn_model *m, nn_loss_kind loss, const nn_dataset *data, int batch,
                      nn_workspace *w, nn_eval_result *r, nn_error *err)
{
    nn_status st = check_batch(m, data, batch == 0 ? 1 : batch, err);
    if (st != NN_OK)
        return st;
    int was_training = m->training;
    m->training = 0;
    double total = 0, sq = 0, abs_err = 0;
    long correct = 0;
    if (batch == 0)
        batch = nn_eval_batch_rows(m, data);
    int cached = sparse_batches(m, data) &&
                 (double)data->n * data->store->dim * data->store->density * 1.1 < (double)EVAL_CACHE_MAX_NZ;
    /* a dataset kept gathered comes back */
    int sparse = batch_input(m, data, cached);
    if (cached && (w->whole != data->id || w->whole_sparse != sparse)) {
        w->whole = 0;
        st = gather(data, NULL, 0, data->n, sparse, &w->x, &w->xs, &w->labels, err);
        w->whole = st == NN_OK ? data->id : 0;
        w->whole_sparse = sparse;
    } else if (!cached) {
        w->whole = 0;
    }
    for (int32_t first = 0; first < data->n && st == NN_OK; first += batch) {
        int32_t count = data->n - first < batch ? data->n - first : batch;
        const nn_tensor *y;
        nn_sparse_batch view, *xs;
        nn_tensor labels;
        st = eval_batch(data, first, count, sparse, cached, w, &view, &xs, &labels, err);
        if (st == NN_OK)
            st = sparse ? nn_model_forward_sparse(m, xs, &y, err) : nn_model_forward(m, &w->x, &y, err);
        if (st == NN_OK) {
            nn_target t = nn_batch_target(data, &labels);
            double l;
            st = nn_loss_compute(loss, y, &t, &l, NULL, &correct, err);
            total += l * count;
            if (st == NN_OK && r->confusion && t.labels)
                add_confusion(y, t.labels, r);
            if (st == NN_OK)
                add_errors(y, &t, nn_labels_are_values(loss, (int)nn_tensor_row_size(y)), &sq, &abs_err);
        }
        nn_model_forget_input(m);
    }
    m->training = was_training;
    nn_model_forget_input(m);
    if (st != NN_OK)
        return st;
    r->loss = total / data->n;
    r->accuracy = (double)correct / data->n;
    double values = (double)data->n * (double)(data->store->targets ? data->store->targets_dim : 1);
    r->mse = sq / values;
    r->mae = abs_err / values;
    return NN_OK;
}
