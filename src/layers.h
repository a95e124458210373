/* layers.h - layer kinds: their settings, the table of operations each kind
 * provides, and their kernels.
 *
 * Each kind lives in one file of src/layers/ (linear.c, conv2d.c, ...) that
 * fills one nn_layer_ops table: its settings (read from Lua, saved in model
 * files), shape inference with the checks of every setting, parameter
 * initialisation, forward and backward on a part of a batch, and a forward
 * in double precision for numerical gradients. nn_layer_ops_of finds the
 * table of a kind; the model, the gradient check, the model file and the
 * binding only iterate over these tables. Adding a kind is its file (in
 * the Makefile's KINDS), its number in nn_layer_kind, one line in
 * layers.c's registry, its constructor in api.lua and its tests (and a
 * field of nn_layer for a setting no kind has yet).
 *
 * Kernels are stateless: outputs first, shapes in the comment, parameter
 * gradients accumulated (+=) so that several backward passes add up.
 * Matrices are row-major with one sample per row (n rows); a sample of a
 * 3-D layer is c x h x w floats in that order (NCHW over the batch). */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "sparse.h"
#include "status.h"
#include "tensor.h"

/* The numbers are those of the model files: never reuse one. */
typedef enum {
    NN_LINEAR = 1,
    NN_RELU = 2,
    NN_SIGMOID = 3,
    NN_TANH = 4,
    NN_DROPOUT = 5,
    NN_BATCHNORM = 6,
    NN_RESHAPE = 7,
    NN_FLATTEN = 8,
    NN_CONV2D = 9,
    NN_MAXPOOL2D = 10,
    NN_AVGPOOL2D = 11,
    NN_NORMALIZE = 12,
    NN_RANDOM_SHIFT = 13
} nn_layer_kind;

typedef enum {
    NN_INIT_DEFAULT = 0, /* uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), Torch's choice */
    NN_INIT_ZEROS,
    NN_INIT_NORMAL,      /* normal(0, std) */
    NN_INIT_UNIFORM,     /* uniform(a, b) */
    NN_INIT_GLOROT,      /* uniform(+-sqrt(6 / (fan_in + fan_out))), Keras's default */
    NN_INIT_HE           /* normal(0, sqrt(2 / fan_in)) */
} nn_init_kind;

typedef struct {
    nn_layer_kind kind;
    int in, out;           /* features per sample in and out; -1 while unknown (activations first) */
    int bias;              /* Linear, Conv2d: 1 if it has a bias */
    nn_init_kind init;     /* Linear, Conv2d: how weights are drawn (biases start at 0) */
    double std, a, b;      /* Linear, Conv2d: init parameters */
    double p;              /* Dropout: probability of dropping a unit */
    double eps, momentum;  /* BatchNorm: variance epsilon, running-average rate */
    int features;          /* BatchNorm: the features (or, on c x h x w inputs, the channels c)
                              normalised; 0: take out's value (version 1 and 2 files);
                              Normalize: the floats of a sample */
    int in_channels, out_channels; /* Conv2d */
    int kernel, stride, padding;   /* Conv2d, pools: square kernel, stride, zero padding */
    int shape[3];          /* Reshape: the c x h x w of a sample */
    int shift;             /* RandomShift: the largest shift in pixels, rows and columns */
    /* Planned by nn_layer_plan: */
    int ishape[3], oshape[3]; /* c x h x w of a sample in and out ({features, 1, 1} when flat);
                                 ishape[0] = -1 while unknown */
    size_t param_offset;   /* first parameter in the model's buffer */
    size_t param_count;    /* Linear: in x out weights (row i: input i's weights to every
                              output) then out biases; Conv2d: out x in x kh x kw weights
                              (PyTorch's layout) then out biases; BatchNorm: gamma, beta */
    size_t weight_count;   /* parameters subject to L2 (Linear and Conv2d weights) */
    size_t buffer_offset;  /* BatchNorm: running mean then running variance;
                              Normalize: mean then std */
    size_t buffer_count;
} nn_layer;

/* ---------------------------------------------------------------- settings */

typedef enum { NN_SET_INT, NN_SET_NUMBER, NN_SET_BOOL, NN_SET_OPTION } nn_setting_type;

/* One setting of a kind: its name in a Lua layer table, where it lives in
 * nn_layer, its default; the binding reads it with the checked field
 * helpers, model files (version 3) store it as an i32 or an f64. */
typedef struct {
    const char *key;
    nn_setting_type type;
    size_t offset;              /* offsetof(nn_layer, ...): an int, a double or an nn_init_kind */
    int required;               /* 1: a Lua table must give it */
    double def;                 /* the default of a number, an int or a boolean (0/1) */
    int lo, hi;                 /* NN_SET_INT: the range a Lua table may give */
    const char *const *options; /* NN_SET_OPTION: names, NULL-terminated; the value is the index */
} nn_setting;

/* The names of nn_init_kind, in order. */
extern const char *const nn_init_names[];
/* The settings of a kind with weights (Linear, Conv2d): bias, init and
 * the init's std, a and b, with their defaults. */
#define NN_WEIGHT_SETTINGS                                                        \
    {"bias", NN_SET_BOOL, offsetof(nn_layer, bias), 0, 1, 0, 1, NULL},            \
    {"init", NN_SET_OPTION, offsetof(nn_layer, init), 0, 0, 0, 0, nn_init_names}, \
    {"std", NN_SET_NUMBER, offsetof(nn_layer, std), 0, 0.01, 0, 0, NULL},         \
    {"a", NN_SET_NUMBER, offsetof(nn_layer, a), 0, -0.05, 0, 0, NULL},            \
    {"b", NN_SET_NUMBER, offsetof(nn_layer, b), 0, 0.05, 0, 0, NULL}

/* ---------------------------------------------------------------- operations */

/* A forward or backward pass of one layer over a part of a batch. */
typedef struct {
    const nn_layer *l;
    int n;                 /* rows of the part */
    int in_w, out_w;       /* floats a row in and out (l->in and l->out, or the input's width
                              for element-wise kinds of unknown width) */
    int training;
    const float *x;        /* n x l->in, the layer's input (NULL for a sparse first layer) */
    float *y;              /* n x l->out, its output */
    const float *w;        /* the layer's parameters */
    float *g;              /* backward: their gradients (the part's) */
    float *buffers;        /* the layer's buffers (running statistics) */
    float *aux;            /* rows of the per-layer workspace (aux_per_row floats a row), or NULL */
    float *stats;          /* the per-layer statistics (stats_count floats), or NULL */
    float *scratch;        /* the part's scratch, scratch_count floats */
    const float *dy;       /* backward: n x l->out */
    float *dx;             /* backward: n x l->in, or NULL (nothing below) */
    int accumulate;        /* backward: 1 adds to g, 0 sets it */
    nn_sparse_batch *xs;   /* Linear first layer: the input by its non-zeros, or NULL */
    const float *w_packed; /* ... its weights packed for the sparse product, or NULL */
} nn_layer_pass;

/* The double-precision forward of nn_numgrad over n rows. */
typedef struct {
    const double *p;       /* the layer's parameters in double */
    const float *buffers;  /* its running statistics */
    const float *mask;     /* in training, the layer's drawn rows of aux, or NULL: Dropout's
                              mask (n x out), RandomShift's shifts (n x 2) */
    int training;
    int in_w, out_w;       /* floats a row in and out, as nn_layer_pass's */
    double *xhat, *stats;  /* BatchNorm: filled when not NULL (n x f, then mean and invstd) */
} nn_pass64;

typedef struct {
    nn_layer_kind kind;
    const char *name;                /* "Linear", the name in Lua tables and messages */
    const nn_setting *settings;      /* its settings, {NULL}-terminated */
    /* l->in/ishape are set (ishape[0] < 0: unknown flat width): checks the
     * settings against them (sizes 1..NN_MAX_FEATURES, finite numbers,
     * parameter counts without overflow) and sets out, oshape and the
     * parameter, weight and buffer counts. desc starts the messages. */
    nn_status (*plan)(nn_layer *l, const char *desc, nn_error *err);
    void (*describe)(const nn_layer *l, char *buf, size_t len);
    /* Parameters p and buffers b from rng (NULL: leave p zero, as for loading). */
    void (*init)(const nn_layer *l, float *p, float *b, nn_rng *rng);
    size_t (*aux_per_row)(const nn_layer *l, int width, int training); /* NULL: none; width: out_w */
    size_t (*stats_count)(const nn_layer *l);                /* NULL: none */
    size_t (*scratch_count)(const nn_layer *l);              /* NULL: none */
    /* Draws the whole batch's random state (Dropout's masks, count floats
     * of aux) before its parts run, when aux_per_row is not 0. */
    void (*draw)(const nn_layer *l, float *aux, size_t count, nn_rng *rng);
    void (*forward)(const nn_layer_pass *s);
    /* May fail only for lack of memory (the sparse first layer's transpose). */
    nn_status (*backward)(const nn_layer_pass *s, nn_tensor *pack, nn_error *err);
    void (*forward64)(const nn_layer *l, const nn_pass64 *c, const double *x, double *y, int n);
    /* 1 if a step from x0 to x1 (n rows) crossed a kink of the layer (ReLU's 0, a max's switch). */
    int (*kinked64)(const nn_layer *l, const nn_pass64 *c, const double *x0, const double *x1, int n);
    /* The buffers a Lua layer table gives, by name ("mean", "std"), each
     * buffer_count / (their number) floats in this order; NULL-terminated,
     * or NULL: the buffers come from init alone. */
    const char *const *buffer_fields;
    /* Checks the buffers b of a planned layer, whether loaded from a model
     * file or given in a layer table; desc starts the messages. NULL: any. */
    nn_status (*check_buffers)(const nn_layer *l, const float *b, const char *desc, nn_error *err);
    int is_view;      /* the output is the input, unchanged (Reshape, Flatten) */
    int whole_batch;  /* needs the whole batch in one part (BatchNorm's statistics) */
    int halves_rows;  /* its passes cut a part's rows over two threads when the part runs alone */
} nn_layer_ops;

/* The table of a kind, or NULL for a kind that does not exist. */
const nn_layer_ops *nn_layer_ops_of(nn_layer_kind kind);
/* The sparse first-layer policy: the largest density at which a first
 * layer takes its input by its non-zeros, for batches gathered from a
 * dataset (from_dataset 1) or given dense; -1 if it never does. */
double nn_sparse_policy(const nn_layer *first, int from_dataset);
/* ... and 1 if a batch of images of dim pixels, which the first layer
 * takes by its non-zeros, goes to it in blocks of pixels instead (blocks.h);
 * reused: the same batch comes back every epoch. */
int nn_blocks_policy(const nn_layer *first, int dim, int reused);

/* The kinds in registration order; *count receives their number. */
const nn_layer_ops *const *nn_layer_kinds(int *count);

/* Short name of a kind, e.g. "Linear"; "?" if unknown. */
const char *nn_layer_kind_name(nn_layer_kind kind);

/* Writes a description such as "Linear(784->32)" into buf. */
void nn_layer_describe(const nn_layer *l, char *buf, size_t len);

/* Plans layer l (its in/ishape set by the caller, see nn_layer_ops.plan). */
nn_status nn_layer_plan(nn_layer *l, int index, nn_error *err);

/* Shared by kinds: sets out/oshape to the input's (element-wise kinds). */
nn_status nn_layer_plan_same(nn_layer *l, const char *desc, nn_error *err);
/* A description that is the kind's name alone. */
void nn_layer_describe_name(const nn_layer *l, char *buf, size_t len);
/* An int/double setting of l through its nn_setting. */
int nn_setting_get_int(const nn_layer *l, const nn_setting *s);
double nn_setting_get_number(const nn_layer *l, const nn_setting *s);
void nn_setting_set_int(nn_layer *l, const nn_setting *s, int v);
void nn_setting_set_number(nn_layer *l, const nn_setting *s, double v);
/* The largest |a|, |b| and std of an initialisation: its weights stay floats. */
#define NN_MAX_INIT 1e30
/* Checks init/std/a/b (Linear, Conv2d). */
nn_status nn_check_init(const nn_layer *l, const char *desc, nn_error *err);
/* Draws weights as nn_init's kind for fan_in/fan_out: w[k] for k = 0..count-1, in order. */
void nn_init_draw(const nn_layer *l, float *w, size_t count, int fan_in, int fan_out, nn_rng *rng,
                  size_t (*where)(size_t k, const nn_layer *l));

/* ---------------------------------------------------------------- kernels */

/* Draws a Linear layer's weights w (in x out) from rng; biases b (out) = 0. */
void nn_linear_init(const nn_layer *l, float *w, float *b, nn_rng *rng);

/* y (n x out) = x (n x in) w + b */
void nn_linear_forward(float *y, const float *x, const float *w, const float *b,
                       int n, int in, int out);
/* dw += x^T dy; db += column sums of dy; dx = dy w^T (skipped when dx is NULL).
 * With accumulate 0, dw and db are set (=) instead of added to. */
void nn_linear_backward(float *dx, float *dw, float *db, const float *dy,
                        const float *x, const float *w, int n, int in, int out, int accumulate);
/* db += column sums of dy (n x out); = with accumulate 0 */
void nn_linear_backward_bias(float *db, const float *dy, int n, int out, int accumulate);

/* Element-wise activations over count values; backward uses the output y. */
void nn_relu_forward(float *y, const float *x, size_t count);
void nn_relu_backward(float *dx, const float *dy, const float *y, size_t count);
void nn_sigmoid_forward(float *y, const float *x, size_t count);
void nn_sigmoid_backward(float *dx, const float *dy, const float *y, size_t count);
void nn_tanh_forward(float *y, const float *x, size_t count);
void nn_tanh_backward(float *dx, const float *dy, const float *y, size_t count);

/* Inverted dropout: mask = (u >= p) / (1 - p); y = x * mask. */
void nn_dropout_mask(float *mask, size_t count, double p, nn_rng *rng);
void nn_mul(float *y, const float *x, const float *m, size_t count);

/* BatchNorm over the batch, per feature (n x f).
 * Training: mean/var from the batch, xhat = (x - mean) / sqrt(var + eps),
 * running stats updated; stats receives mean then invstd (2f) for backward.
 * Eval: running statistics are used. y = gamma * xhat + beta. */
void nn_batchnorm_forward(float *y, float *xhat, float *stats, const float *x,
                          const float *gamma, const float *beta, float *running,
                          int n, int f, double eps, double momentum, int training);
/* The same per channel of n x f x plane inputs (NCHW, plane = h w): the
 * statistics of channel j span its n * plane values. plane 1 is the above. */
void nn_batchnorm_forward_planes(float *y, float *xhat, float *stats, const float *x, const float *gamma,
                                 const float *beta, float *running, int n, int f, int plane, double eps,
                                 double momentum, int training);
/* dgamma += sum dy*xhat; dbeta += sum dy; dx (if not NULL) from the batch
 * statistics when training, else dy * gamma * invstd. */
void nn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *stats, const float *gamma,
                           int n, int f, int training);
void nn_batchnorm_backward_planes(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                  const float *stats, const float *gamma, int n, int f, int plane, int training);

/* Normalize over n x f rows, per feature j: y = (x - mean[j]) / std[j]. */
void nn_normalize_forward(float *y, const float *x, const float *mean, const float *std, int n, int f);
/* dx = dy / std[j] (set, not added: Normalize has no parameters) */
void nn_normalize_backward(float *dx, const float *dy, const float *std, int n, int f);

/* The geometry of a 2-D window over a c x h x w sample: kernel k, stride s,
 * padding pad; output oh x ow = (h + 2 pad - k) / s + 1. */
typedef struct {
    int c, h, w, k, s, pad, oh, ow;
} nn_window;

/* Checks kernel, stride and padding against l->ishape (which must be
 * known) and plans the output, channels x oh x ow (Conv2d and the pools). */
nn_status nn_window_plan(nn_layer *l, int channels, const char *desc, nn_error *err);
/* The window of a planned Conv2d or pool layer. */
void nn_layer_window(const nn_layer *l, nn_window *g);

/* cols (c k k x oh ow) = the windows of one sample x (c x h x w), zeros in the padding */
void nn_im2col(float *cols, const float *x, const nn_window *g);
/* dx (c x h x w) += the windows' gradients dcols (c k k x oh ow) put back */
void nn_col2im(float *dx, const float *dcols, const nn_window *g);
/* y (n x out x oh x ow) = w (out x c k k) * windows of x (n x c x h x w) + b;
 * cols is one sample's scratch (c k k x oh ow) */
void nn_conv2d_forward(float *y, const float *x, const float *w, const float *b, float *cols,
                       int n, int out, const nn_window *g);
/* A convolution's backward starts here: dw (out x c k k) and db (out; NULL:
 * none) set to 0 unless accumulating */
void nn_conv2d_clear_grads(float *dw, float *db, int out, const nn_window *g, int accumulate);
/* db (out) += the sums of one sample's dy (out x oh x ow), position by
 * position */
void nn_conv2d_add_bias_grads(float *db, const float *dy, int out, const nn_window *g);
/* The path a planned Conv2d layer takes on the kernels cpu.h has chosen
 * (or a test forced): "columns" (im2col and sgemm, the reference),
 * "direct" or "winograd". */
const char *nn_conv2d_path_name(const nn_layer *l);
/* dw (+)= dy * cols^T, db (+)= sums of dy over positions, dx = col2im(w^T dy)
 * (dx NULL: skipped); cols is one sample's scratch, twice */
void nn_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        float *cols, int n, int out, const nn_window *g, int accumulate);
/* Pooling of each channel of x (n x c x h x w) into y (n x c x oh x ow);
 * windows reaching into the padding see -inf (max) or 0 counted (avg, as
 * PyTorch's count_include_pad). */
void nn_maxpool2d_forward(float *y, const float *x, int n, const nn_window *g);
/* dx = dy routed to each window's first maximum (dx is set, not added) */
void nn_maxpool2d_backward(float *dx, const float *dy, const float *x, int n, const nn_window *g);
void nn_avgpool2d_forward(float *y, const float *x, int n, const nn_window *g);
void nn_avgpool2d_backward(float *dx, const float *dy, int n, const nn_window *g);

#endif
