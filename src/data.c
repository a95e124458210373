#include "data.h"
#include "data_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hot.h"

#define IDX_UBYTE 0x08
#define READ_CHUNK (1u << 20)

void nn_idx_free(nn_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}

static nn_status read_exact(gzFile f, void *buf, unsigned len, const char *path, const char *what,
                            nn_error *err)
{
    int got = gzread(f, buf, len);
    if (got < 0) {
        int code;
        const char *msg = gzerror(f, &code);
        return nn_fail(err, NN_EFORMAT, "%s: damaged file (%s)", path, msg);
    }
    if ((unsigned)got != len)
        return nn_fail(err, NN_EFORMAT, "%s: truncated: the file ends inside the %s", path, what);
    return NN_OK;
}

static nn_status read_header(gzFile f, nn_idx *out, const char *path, nn_error *err)
{
    unsigned char magic[4];
    nn_status st = read_exact(f, magic, 4, path, "header", err);
    if (st != NN_OK)
        return st;
    if (magic[0] != 0 || magic[1] != 0)
        return nn_fail(err, NN_EFORMAT, "%s: not an IDX file (bad magic number %02x%02x%02x%02x)", path,
                       magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != IDX_UBYTE)
        return nn_fail(err, NN_EFORMAT, "%s: IDX element type 0x%02x is not supported (only 0x08, unsigned bytes)",
                       path, magic[2]);
    if (magic[3] < 1 || magic[3] > NN_IDX_MAX_DIMS)
        return nn_fail(err, NN_EFORMAT, "%s: IDX file with %d dimensions (1 to %d supported)", path, magic[3],
                       NN_IDX_MAX_DIMS);
    out->ndims = magic[3];
    unsigned char dims[4 * NN_IDX_MAX_DIMS];
    if ((st = read_exact(f, dims, 4u * (unsigned)out->ndims, path, "header", err)) != NN_OK)
        return st;
    uint64_t total = 1;
    for (int i = 0; i < out->ndims; i++) {
        const unsigned char *d = dims + 4 * i;
        out->dims[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        total *= out->dims[i];
        if (total > ((uint64_t)1 << 48))
            return nn_fail(err, NN_EFORMAT, "%s: header claims an impossible size", path);
    }
    out->size = (size_t)total;
    return NN_OK;
}

static nn_status read_body(gzFile f, nn_idx *out, const char *path, nn_error *err)
{
    size_t have = 0, cap = 0;
    while (have < out->size) {
        size_t want = out->size - have < READ_CHUNK ? out->size - have : READ_CHUNK;
        if (have + want > cap) {
            size_t ncap = cap ? cap * 2 : READ_CHUNK;
            if (ncap > out->size)
                ncap = out->size;
            uint8_t *p = realloc(out->data, ncap);
            if (!p)
                return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
            out->data = p;
            cap = ncap;
        }
        int got = gzread(f, out->data + have, (unsigned)want);
        if (got < 0) {
            int code;
            return nn_fail(err, NN_EFORMAT, "%s: damaged file (%s)", path, gzerror(f, &code));
        }
        if (got == 0)
            return nn_fail(err, NN_EFORMAT, "%s: truncated: the header promises %zu bytes of data, the file holds %zu",
                           path, out->size, have);
        have += (size_t)got;
    }
    unsigned char extra;
    int more = gzread(f, &extra, 1);
    if (more < 0) {
        int code;
        return nn_fail(err, NN_EFORMAT, "%s: damaged file (%s)", path, gzerror(f, &code));
    }
    if (more > 0)
        return nn_fail(err, NN_EFORMAT, "%s: the file is longer than its header says (%zu bytes of data)", path,
                       out->size);
    return NN_OK;
}

nn_status nn_idx_read(nn_idx *out, const char *path, nn_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return nn_fail(err, NN_EIO, "%s: cannot open", path);
    nn_status st = read_header(f, out, path, err);
    if (st == NN_OK)
        st = read_body(f, out, path, err);
    gzclose(f);
    if (st != NN_OK)
        nn_idx_free(out);
    return st;
}

nn_status nn_store_wrap(nn_store **out, uint8_t *images, uint8_t *labels, int32_t count,
                        int32_t dim, int classes, nn_error *err)
{
    nn_store *s = calloc(1, sizeof *s);
    if (!s) {
        free(images);
        free(labels);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    s->images = images;
    s->labels = labels;
    s->count = count;
    s->dim = dim;
    size_t nonzero = 0, total = (size_t)count * (size_t)dim;
    uint8_t top = 0;
    for (size_t i = 0; i < total; i++) {
        nonzero += images[i] != 0;
        top = images[i] > top ? images[i] : top;
    }
    s->max_abs = top;
    s->density = total ? (double)nonzero / (double)total : 0.0;
    s->classes = classes;
    s->refs = 1;
    *out = s;
    return NN_OK;
}

static nn_status check_pair(const nn_idx *im, const nn_idx *lb, const char *ipath, const char *lpath,
                            int classes, nn_error *err)
{
    if (im->ndims < 2)
        return nn_fail(err, NN_EFORMAT, "%s: an images file has at least 2 dimensions, this one has %d", ipath,
                       im->ndims);
    if (lb->ndims != 1)
        return nn_fail(err, NN_EFORMAT, "%s: a labels file has 1 dimension, this one has %d", lpath, lb->ndims);
    if (im->dims[0] != lb->dims[0])
        return nn_fail(err, NN_EFORMAT, "%s holds %u images but %s holds %u labels", ipath, im->dims[0], lpath,
                       lb->dims[0]);
    if (im->dims[0] > INT32_MAX || im->size / (im->dims[0] ? im->dims[0] : 1) > INT32_MAX)
        return nn_fail(err, NN_EFORMAT, "%s: too many images", ipath);
    for (size_t i = 0; i < lb->size; i++)
        if (lb->data[i] >= classes)
            return nn_fail(err, NN_EFORMAT, "%s: label %d (item %zu) is outside 0..%d", lpath, lb->data[i], i + 1,
                           classes - 1);
    return NN_OK;
}

nn_status nn_store_load(nn_store **out, const char *images_path, const char *labels_path,
                        int classes, nn_error *err)
{
    nn_idx im, lb;
    *out = NULL;
    if (classes < 1 || classes > 256)
        return nn_fail(err, NN_EARG, "classes must be in 1..256, got %d", classes);
    nn_status st = nn_idx_read(&im, images_path, err);
    if (st != NN_OK)
        return st;
    if ((st = nn_idx_read(&lb, labels_path, err)) != NN_OK) {
        nn_idx_free(&im);
        return st;
    }
    if ((st = check_pair(&im, &lb, images_path, labels_path, classes, err)) != NN_OK) {
        nn_idx_free(&im);
        nn_idx_free(&lb);
        return st;
    }
    if (im.dims[0] == 0 || im.size == 0) {
        nn_idx_free(&im);
        nn_idx_free(&lb);
        return nn_fail(err, NN_EFORMAT, "%s: no images, or images of no pixels", images_path);
    }
    int32_t count = (int32_t)im.dims[0];
    int32_t dim = count ? (int32_t)(im.size / (size_t)count) : (int32_t)(im.dims[1] * (im.ndims > 2 ? im.dims[2] : 1));
    return nn_store_wrap(out, im.data, lb.data, count, dim, classes, err);
}

nn_status nn_store_wrap_features(nn_store **out, float *features, int32_t count, int32_t dim, uint8_t *labels,
                                 int classes, float *targets, int targets_dim, nn_error *err)
{
    nn_store *s = calloc(1, sizeof *s);
    size_t total = (size_t)count * (size_t)dim, nonzero = 0;
    nn_status st = NN_OK;
    if (!s)
        st = nn_fail(err, NN_ENOMEM, "out of memory");
    else if (count < 1 || dim < 1 || (!labels) == (!targets) || (targets && targets_dim < 1) ||
             (labels && (classes < 1 || classes > 256)))
        st = nn_fail(err, NN_EARG, "a dataset needs items, values, and either labels or targets");
    for (size_t i = 0; st == NN_OK && i < total; i++) {
        if (!isfinite(features[i]))
            st = nn_fail(err, NN_EARG, "value %zu of item %zu is %g: features must be finite", i % (size_t)dim + 1,
                         i / (size_t)dim + 1, (double)features[i]);
        nonzero += features[i] != 0;
        if (s && fabs((double)features[i]) > s->max_abs)
            s->max_abs = fabs((double)features[i]);
    }
    for (int32_t i = 0; st == NN_OK && labels && i < count; i++)
        if (labels[i] >= classes)
            st = nn_fail(err, NN_EARG, "label %d of item %d is outside 0..%d", labels[i], i + 1, classes - 1);
    for (size_t i = 0; st == NN_OK && targets && i < (size_t)count * (size_t)targets_dim; i++)
        if (!isfinite(targets[i]))
            st = nn_fail(err, NN_EARG, "target %zu of item %zu is %g: targets must be finite",
                         i % (size_t)targets_dim + 1, i / (size_t)targets_dim + 1, (double)targets[i]);
    if (st != NN_OK) {
        free(s);
        free(features);
        free(labels);
        free(targets);
        return st;
    }
    s->features = features;
    s->labels = labels;
    s->targets = targets;
    s->targets_dim = targets ? targets_dim : 0;
    s->count = count;
    s->dim = dim;
    s->density = total ? (double)nonzero / (double)total : 0.0;
    s->classes = labels ? classes : 0;
    s->refs = 1;
    *out = s;
    return NN_OK;
}

void nn_store_retain(nn_store *s)
{
    s->refs++;
}

void nn_store_release(nn_store *s)
{
    if (s && --s->refs == 0) {
        free(s->images);
        free(s->features);
        free(s->labels);
        free(s->targets);
        free(s);
    }
}

static nn_status dataset_alloc(nn_dataset *d, nn_store *s, int32_t n, float scale, nn_error *err)
{
    static uint64_t next_id = 0;
    d->id = ++next_id;
    d->idx = malloc(((size_t)n + 1) * sizeof *d->idx);
    if (!d->idx)
        return nn_fail(err, NN_ENOMEM, "out of memory for %d indices", n);
    d->store = s;
    nn_store_retain(s);
    d->n = n;
    d->scale = scale;
    return NN_OK;
}

nn_status nn_dataset_all(nn_dataset *d, nn_store *s, float scale, nn_error *err)
{
    memset(d, 0, sizeof *d);
    nn_status st = dataset_alloc(d, s, s->count, scale, err);
    if (st != NN_OK)
        return st;
    for (int32_t i = 0; i < s->count; i++)
        d->idx[i] = i;
    return NN_OK;
}

void nn_dataset_free(nn_dataset *d)
{
    free(d->idx);
    nn_store_release(d->store);
    memset(d, 0, sizeof *d);
}

/* Item i's feature j (positions in d) as nn_dataset_gather makes it. */
static double feature_at(const nn_dataset *d, int32_t i, int j)
{
    const nn_store *s = d->store;
    size_t at = (size_t)d->idx[i] * (size_t)s->dim + (size_t)j;
    return s->images ? (double)((float)s->images[at] * d->scale) : (double)(s->features[at] * d->scale);
}

nn_status nn_dataset_feature_stats(const nn_dataset *d, double *mean, double *std, nn_error *err)
{
    int dim = d->store->dim;
    if (d->n < 1)
        return nn_fail(err, NN_EARG, "the dataset is empty");
    /* std[j] is -1 while feature j has had one value only. */
    for (int j = 0; j < dim; j++)
        mean[j] = 0, std[j] = -1;
    for (int32_t i = 0; i < d->n; i++)
        for (int j = 0; j < dim; j++) {
            double v = feature_at(d, i, j);
            mean[j] += v;
            if (v != feature_at(d, 0, j))
                std[j] = 0;
        }
    for (int j = 0; j < dim; j++)
        mean[j] = std[j] < 0 ? feature_at(d, 0, j) : mean[j] / (double)d->n;
    for (int32_t i = 0; i < d->n; i++)
        for (int j = 0; j < dim; j++)
            if (std[j] >= 0) {
                double e = feature_at(d, i, j) - mean[j];
                std[j] += e * e;
            }
    for (int j = 0; j < dim; j++)
        std[j] = std[j] < 0 ? 0 : sqrt(std[j] / (double)d->n);
    return NN_OK;
}

nn_status nn_dataset_subset(nn_dataset *out, const nn_dataset *src, int32_t first, int32_t count,
                            nn_error *err)
{
    memset(out, 0, sizeof *out);
    if (first < 0 || count < 0 || first > src->n || count > src->n - first)
        return nn_fail(err, NN_EARG, "items %d..%d are outside the dataset's 1..%d", first + 1, first + count,
                       src->n);
    nn_status st = dataset_alloc(out, src->store, count, src->scale, err);
    if (st != NN_OK)
        return st;
    memcpy(out->idx, src->idx + first, (size_t)count * sizeof *out->idx);
    return NN_OK;
}

nn_status nn_dataset_split(nn_dataset *parts, int nparts, const nn_dataset *src,
                           const int32_t *counts, nn_rng *rng, nn_error *err)
{
    int64_t total = 0;
    for (int i = 0; i < nparts; i++) {
        memset(&parts[i], 0, sizeof parts[i]);
        if (counts[i] < 0)
            return nn_fail(err, NN_EARG, "part %d has a negative size (%d)", i + 1, counts[i]);
        total += counts[i];
    }
    if (total > src->n)
        return nn_fail(err, NN_EARG, "the parts add up to %lld items but the dataset has %d", (long long)total,
                       src->n);
    nn_dataset all;
    nn_status st = nn_dataset_subset(&all, src, 0, src->n, err);
    if (st != NN_OK)
        return st;
    nn_rng_shuffle(rng, all.idx, all.n);
    int32_t first = 0;
    for (int i = 0; i < nparts && st == NN_OK; i++) {
        st = nn_dataset_subset(&parts[i], &all, first, counts[i], err);
        first += counts[i];
    }
    nn_dataset_free(&all);
    if (st != NN_OK)
        for (int i = 0; i < nparts; i++)
            nn_dataset_free(&parts[i]);
    return st;
}

NN_HOT static void scale_row(float *restrict dst, const uint8_t *restrict src, int dim, float scale)
{
    for (int j = 0; j < dim; j++)
        dst[j] = (float)src[j] * scale;
}

/* The store position of row r of the batch that starts at first: order's
 * item when shuffled, else the dataset's first + r. */
static inline int32_t batch_item(const nn_dataset *d, const int32_t *order, int32_t first, int32_t r)
{
    return d->idx[order ? order[first + r] : first + r];
}

static nn_status gather_labels(const nn_dataset *d, const int32_t *order, int32_t first, int32_t count,
                               nn_tensor *labels, nn_error *err)
{
    const nn_store *s = d->store;
    int k = s->targets ? s->targets_dim : 1;
    nn_status st = nn_tensor_reshape2(labels, count, k, err);
    if (st != NN_OK)
        return st;
    if (s->targets) {
        for (int32_t r = 0; r < count; r++)
            memcpy(labels->data + (size_t)r * k, s->targets + (size_t)batch_item(d, order, first, r) * k,
                   (size_t)k * sizeof(float));
        return NN_OK;
    }
    labels->ndim = 1;
    for (int32_t r = 0; r < count; r++)
        labels->data[r] = (float)s->labels[batch_item(d, order, first, r)];
    return NN_OK;
}

NN_HOT static void scale_values(float *restrict dst, const float *restrict src, int dim, float scale)
{
    for (int j = 0; j < dim; j++)
        dst[j] = src[j] * scale;
}

int nn_dataset_sparse_ok(const nn_dataset *d)
{
    return d->store->images != NULL;
}

/* A gather reads its items in a random order when shuffled, each from
 * memory: the item PREFETCH_AHEAD on is fetched while this one is read,
 * far enough ahead for the load to arrive (fetching only the next one left
 * the gather waiting; the README has the figures). The first
 * PREFETCH_BYTES of an item are fetched, an image whole. */
#define PREFETCH_AHEAD 4
#define PREFETCH_BYTES 4096

/* Fetches item r of the batch that starts at first, if r < count. Inlined
 * always: GCC 12 takes a function that only prefetches for one without
 * effects and drops its calls. */
static inline __attribute__((always_inline)) void prefetch_item(const nn_dataset *d, const int32_t *order,
                                                                int32_t first, int32_t r, int32_t count)
{
    if (r >= count)
        return;
    size_t item = (size_t)batch_item(d, order, first, r), dim = (size_t)d->store->dim;
    const char *p = d->store->images ? (const char *)(d->store->images + item * dim)
                                     : (const char *)(d->store->features + item * dim);
    size_t bytes = dim * (d->store->images ? 1 : sizeof(float));
    for (size_t b = 0; b < bytes && b < PREFETCH_BYTES; b += 64)
        __builtin_prefetch(p + b);
}

static inline __attribute__((always_inline)) void prefetch_first(const nn_dataset *d, const int32_t *order,
                                                                 int32_t first, int32_t count)
{
    for (int32_t r = 0; r < PREFETCH_AHEAD; r++)
        prefetch_item(d, order, first, r, count);
}

/* Item r of the batch (its store position), fetching the one
 * PREFETCH_AHEAD on. */
static inline __attribute__((always_inline)) int32_t fetch_item(const nn_dataset *d, const int32_t *order,
                                                                int32_t first, int32_t r, int32_t count)
{
    prefetch_item(d, order, first, r + PREFETCH_AHEAD, count);
    return batch_item(d, order, first, r);
}

/* ... and its image. */
static inline __attribute__((always_inline)) const uint8_t *batch_image(const nn_dataset *d, const int32_t *order,
                                                                        int32_t first, int32_t r, int32_t count)
{
    return d->store->images + (size_t)fetch_item(d, order, first, r, count) * (size_t)d->store->dim;
}

nn_status nn_dataset_gather(const nn_dataset *d, const int32_t *order, int32_t first,
                            int32_t count, nn_tensor *x, nn_tensor *labels, nn_error *err)
{
    int dim = d->store->dim;
    nn_status st = nn_tensor_reshape2(x, count, dim, err);
    if (st == NN_OK && labels)
        st = gather_labels(d, order, first, count, labels, err);
    if (st != NN_OK)
        return st;
    prefetch_first(d, order, first, count);
    for (int32_t r = 0; r < count; r++) {
        int32_t item = fetch_item(d, order, first, r, count);
        float *dst = x->data + (size_t)r * (size_t)dim;
        if (d->store->images)
            scale_row(dst, d->store->images + (size_t)item * (size_t)dim, dim, d->scale);
        else
            scale_values(dst, d->store->features + (size_t)item * (size_t)dim, dim, d->scale);
    }
    return NN_OK;
}

/* Appends the non-zeros of src (dim pixels, the first in column first_col)
 * to col/val, which have room for dim more; returns how many. Every pixel is written and the count advances
 * only past non-zeros (no branch to mispredict); runs of eight zeros, most
 * of an image's border, are skipped whole. */
NN_HOT size_t nn_append_nonzeros(int32_t *restrict col, float *restrict val, const uint8_t *restrict src, int dim,
                                 float scale, int first_col)
{
    size_t nz = 0;
    int j = 0;
    for (; j + 8 <= dim; j += 8) {
        uint64_t word;
        memcpy(&word, src + j, sizeof word);
        if (!word)
            continue;
        for (int q = j; q < j + 8; q++) {
            col[nz] = first_col + q;
            val[nz] = (float)src[q] * scale;
            nz += src[q] != 0;
        }
    }
    for (; j < dim; j++) {
        col[nz] = first_col + j;
        val[nz] = (float)src[j] * scale;
        nz += src[j] != 0;
    }
    return nz;
}

static size_t append_row_plain(int32_t *col, float *val, const uint8_t *src, int dim, float scale)
{
    return nn_append_nonzeros(col, val, src, dim, scale, 0);
}

nn_status nn_dataset_gather_sparse(const nn_dataset *d, const int32_t *order, int32_t first,
                                   int32_t count, nn_sparse_batch *x, nn_tensor *labels, nn_error *err)
{
    int dim = d->store->dim;
    nn_csr *c = &x->by_row;
    x->has_cols = 0;
    x->by_blocks = 0;
    if (!d->store->images)
        return nn_fail(err, NN_ESTATE, "a dataset of features is gathered dense");
    /* Room for the expected count up front, so that batches after the first
     * need no allocation; more is added should a batch hold more. */
    size_t expect = (size_t)((double)count * dim * d->store->density * 1.1) + (size_t)dim + 16;
    if (!nn_csr_reserve(c, count, expect > c->cap_nz ? expect : c->cap_nz))
        return nn_fail(err, NN_ENOMEM, "out of memory gathering a batch of %d items", count);
    if (labels) {
        nn_status st = gather_labels(d, order, first, count, labels, err);
        if (st != NN_OK)
            return st;
    }
    size_t nz = 0, room = (size_t)dim + 16;
    size_t (*append)(int32_t *, float *, const uint8_t *, int, float) = append_row_plain;
#ifdef NN_HAVE_X86_KERNELS
    if (nn_cpu_kernels() == NN_CPU_AVX512)
        append = nn_append_nonzeros_avx512;
    else if (nn_cpu_kernels() == NN_CPU_AVX2)
        append = nn_append_nonzeros_avx2;
#endif
    prefetch_first(d, order, first, count);
    for (int32_t r = 0; r < count; r++) {
        if (c->cap_nz - nz < room && !nn_csr_reserve(c, count, nz + nz / 2 + room))
            return nn_fail(err, NN_ENOMEM, "out of memory gathering a batch of %d items", count);
        if (nz > INT32_MAX - (size_t)dim)
            return nn_fail(err, NN_EARG, "a batch of %d items has too many non-zero values", count);
        c->row_start[r] = (int32_t)nz;
        nz += append(c->col + nz, c->val + nz, batch_image(d, order, first, r, count), dim, d->scale);
    }
    c->row_start[count] = (int32_t)nz;
    c->rows = count;
    c->cols = dim;
    return NN_OK;
}

nn_status nn_dataset_gather_blocks(const nn_dataset *d, const int32_t *order, int32_t first,
                                   int32_t count, nn_sparse_batch *x, nn_tensor *labels, nn_error *err)
{
    int dim = d->store->dim;
    x->has_cols = 0;
    x->by_blocks = 0;
    if (!d->store->images || dim > NN_BLOCKS_MAX_DIM)
        return nn_fail(err, NN_ESTATE, "only images of up to %d pixels are gathered in blocks", NN_BLOCKS_MAX_DIM);
    if (!nn_blocks_begin(&x->blocks, count, dim, d->scale))
        return nn_fail(err, NN_ENOMEM, "out of memory gathering a batch of %d items in blocks (or more than "
                                       "2^31 blocks)", count);
    if (labels) {
        nn_status st = gather_labels(d, order, first, count, labels, err);
        if (st != NN_OK)
            return st;
    }
    prefetch_first(d, order, first, count);
    for (int32_t r = 0; r < count; r++)
        nn_blocks_add_row(&x->blocks, r, batch_image(d, order, first, r, count));
    if (!nn_blocks_finish(&x->blocks))
        return nn_fail(err, NN_ENOMEM, "out of memory gathering a batch of %d items in blocks", count);
    x->by_blocks = 1;
    return NN_OK;
}
