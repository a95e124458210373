/* data.h - IDX files (raw or gzip) and datasets: uint8 images or real-valued
 * features, with class labels or real-valued targets.
 *
 * Items stay in a shared, reference-counted store (images as uint8, features
 * as float); a dataset is a list of indices into a store plus a scale, so
 * subsets and splits copy no items. Batches are gathered into float tensors
 * with the scale applied. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "sparse.h"
#include "status.h"
#include "tensor.h"

#define NN_IDX_MAX_DIMS 4

typedef struct {
    uint8_t *data;                /* owned: product of dims bytes */
    int ndims;
    uint32_t dims[NN_IDX_MAX_DIMS];
    size_t size;                  /* bytes of data */
} nn_idx;

/* Reads an IDX file of unsigned bytes, raw or gzip-compressed, checking the
 * magic number, the dimensions and that the data is exactly as long as the
 * header says. Memory grows with the data actually read, never with what a
 * header merely claims. */
nn_status nn_idx_read(nn_idx *out, const char *path, nn_error *err);
void nn_idx_free(nn_idx *x);

typedef struct {
    uint8_t *images;  /* owned: count x dim pixels, or NULL when features */
    float *features;  /* owned: count x dim real values, or NULL when images */
    uint8_t *labels;  /* owned: count labels in [0, classes), or NULL when targets */
    float *targets;   /* owned: count x targets_dim real targets, or NULL when labels */
    int32_t count;
    int32_t dim;      /* values per item */
    int targets_dim;  /* K, the targets of an item; 0 with labels */
    double density;   /* fraction of non-zero values */
    double max_abs;   /* the largest absolute value */
    int classes;      /* with labels; 0 with targets */
    int refs;         /* datasets sharing this store */
} nn_store;

/* Loads an images file (N x rows x cols) and a labels file (N), checking the
 * counts agree and every label is below classes. *out has one reference. */
nn_status nn_store_load(nn_store **out, const char *images_path, const char *labels_path,
                        int classes, nn_error *err);
/* Takes ownership of images/labels (malloc'd) as a store; one reference. */
nn_status nn_store_wrap(nn_store **out, uint8_t *images, uint8_t *labels, int32_t count,
                        int32_t dim, int classes, nn_error *err);
/* Takes ownership of features (count x dim, finite) and of either labels
 * (count, each in [0, classes)) or targets (count x targets_dim, finite),
 * all malloc'd, as a store; one reference. Freed on failure too. */
nn_status nn_store_wrap_features(nn_store **out, float *features, int32_t count, int32_t dim, uint8_t *labels,
                                 int classes, float *targets, int targets_dim, nn_error *err);
void nn_store_retain(nn_store *s);
void nn_store_release(nn_store *s);

typedef struct {
    nn_store *store;  /* one reference held */
    int32_t *idx;     /* owned: n positions in the store */
    int32_t n;
    float scale;      /* pixel multiplier applied when batches are gathered */
    uint64_t id;      /* unique among the datasets of this process */
} nn_dataset;

/* Every image of the store, in order. */
nn_status nn_dataset_all(nn_dataset *d, nn_store *s, float scale, nn_error *err);
void nn_dataset_free(nn_dataset *d);
/* Items [first, first + count) of src (0-based). */
nn_status nn_dataset_subset(nn_dataset *out, const nn_dataset *src, int32_t first, int32_t count,
                            nn_error *err);
/* Shuffles src's indices with rng, then cuts nparts consecutive parts of
 * counts[i] items; the counts may add up to less than src's size. */
nn_status nn_dataset_split(nn_dataset *parts, int nparts, const nn_dataset *src,
                           const int32_t *counts, nn_rng *rng, nn_error *err);

/* Gathers items order[first .. first + count) (positions in d; order NULL
 * means 0, 1, 2 ...) into x (count x dim, scaled) and labels (count labels,
 * 1-D, or count x targets_dim targets). */
nn_status nn_dataset_gather(const nn_dataset *d, const int32_t *order, int32_t first,
                            int32_t count, nn_tensor *x, nn_tensor *labels, nn_error *err);

/* Per feature j of d's items as batches are gathered (scaled), in double:
 * mean[j] and the population standard deviation std[j] =
 * sqrt(sum (x - mean)^2 / n), two passes; a feature of one value throughout
 * has that value as mean and std exactly 0. mean and std hold dim doubles.
 * NN_EARG for an empty dataset. */
nn_status nn_dataset_feature_stats(const nn_dataset *d, double *mean, double *std, nn_error *err);

/* The same into x->by_row: only the non-zero pixels, scaled (no dense copy
 * is made). x->has_cols is cleared. Images only (nn_dataset_sparse_ok). */
/* 1 if d's items are images, which nn_dataset_gather_sparse gathers. */
int nn_dataset_sparse_ok(const nn_dataset *d);

nn_status nn_dataset_gather_sparse(const nn_dataset *d, const int32_t *order, int32_t first,
                                   int32_t count, nn_sparse_batch *x, nn_tensor *labels, nn_error *err);

/* The same into x->blocks (blocks.h), for images of at most
 * NN_BLOCKS_MAX_DIM pixels; sets x->by_blocks, which
 * nn_dataset_gather_sparse clears. */
nn_status nn_dataset_gather_blocks(const nn_dataset *d, const int32_t *order, int32_t first,
                                   int32_t count, nn_sparse_batch *x, nn_tensor *labels, nn_error *err);

#endif
