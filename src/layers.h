/* layers.h - layer descriptions and their forward/backward kernels.
 *
 * Kernels are stateless: outputs first, shapes in the comment, parameter
 * gradients accumulated (+=) so that several backward passes add up. Matrices
 * are row-major with one sample per row (n rows). */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "sparse.h"

typedef enum {
    NN_LINEAR = 1,
    NN_RELU = 2,
    NN_SIGMOID = 3,
    NN_TANH = 4,
    NN_DROPOUT = 5,
    NN_BATCHNORM = 6
} nn_layer_kind;

typedef enum {
    NN_INIT_DEFAULT = 0, /* uniform(-1/sqrt(in), 1/sqrt(in)), Torch's choice */
    NN_INIT_ZEROS,
    NN_INIT_NORMAL,      /* normal(0, std) */
    NN_INIT_UNIFORM,     /* uniform(a, b) */
    NN_INIT_GLOROT,      /* uniform(+-sqrt(6 / (in + out))), Keras's default */
    NN_INIT_HE           /* normal(0, sqrt(2 / in)) */
} nn_init_kind;

typedef struct {
    nn_layer_kind kind;
    int in, out;           /* features in and out; -1 while unknown (activations first) */
    int bias;              /* Linear: 1 if it has a bias */
    nn_init_kind init;     /* Linear: how weights are drawn (biases start at 0) */
    double std, a, b;      /* Linear: init parameters */
    double p;              /* Dropout: probability of dropping a unit */
    double eps, momentum;  /* BatchNorm: variance epsilon, running-average rate */
    size_t param_offset;   /* first parameter in the model's buffer */
    size_t param_count;    /* Linear: in x out weights (row i: input i's weights to every
                              output) then out biases; BatchNorm: gamma, beta */
    size_t weight_count;   /* parameters subject to L2 (Linear weights) */
    size_t buffer_offset;  /* BatchNorm: running mean then running variance */
    size_t buffer_count;
} nn_layer;

/* Short name of a kind, e.g. "Linear". */
const char *nn_layer_kind_name(nn_layer_kind kind);

/* Writes a description such as "Linear(784->32)" into buf. */
void nn_layer_describe(const nn_layer *l, char *buf, size_t len);

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
/* dgamma += sum dy*xhat; dbeta += sum dy; dx (if not NULL) from the batch
 * statistics when training, else dy * gamma * invstd. */
void nn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *stats, const float *gamma,
                           int n, int f, int training);

#endif
