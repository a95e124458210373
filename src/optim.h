/* optim.h - the optimizers: SGD (momentum, Nesterov), Adam and AdamW,
 * RMSprop; L2 and learning-rate schedules for each.
 *
 * One nn_optimizer holds any of them (its kind); the training loop calls
 * nn_optim_step_sum and nn_optim_penalty whatever the kind. The updates are
 * PyTorch's (torch.optim 1.13), element by element in float:
 *   g   = grad (+ c * W, the L2 term, over the decayed parameters)
 *   SGD      v = mu * v + g;  W -= lr * v  (Nesterov: W -= lr * (g + mu * v));
 *            without momentum W -= lr * g
 *   Adam     W *= 1 - lr * wd (decoupled decay, AdamW's; wd = 0 for Adam);
 *            m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g;
 *            W -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
 *            t the 1-based step count
 *   RMSprop  s = a * s + (1 - a) * g * g;  centered: ga = a * ga + (1 - a) * g,
 *            d = sqrt(s - ga * ga) + eps, else d = sqrt(s) + eps;
 *            momentum: b = mu * b + g / d, W -= lr * b; else W -= lr * g / d
 * With L2 strength c the cost is loss + 0.5 * c * |W|^2. The decayed
 * parameters (by c and by wd) are the weights, and the biases and
 * BatchNorm parameters too when l2_bias: PyTorch decays every parameter,
 * so l2_bias = 1 is its equivalent when there is any decay. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

typedef enum {
    NN_SCHEDULE_NONE = 0,
    NN_SCHEDULE_STEP,   /* lr * gamma^floor(epoch / step_size) */
    NN_SCHEDULE_EXP,    /* lr * gamma^epoch */
    NN_SCHEDULE_COSINE  /* min_lr + (lr - min_lr) * (1 + cos(pi * min(epoch, t_max) / t_max)) / 2:
                           from epoch t_max on it stays at min_lr */
} nn_schedule_kind;

typedef struct {
    nn_schedule_kind kind;
    int step_size;   /* STEP: epochs between decays */
    double gamma;    /* STEP, EXP: factor */
    int t_max;       /* COSINE: epochs of the half period */
    double min_lr;   /* COSINE: floor */
} nn_schedule;

typedef enum {
    NN_OPTIM_SGD = 1,
    NN_OPTIM_ADAM,     /* Adam and AdamW (weight_decay > 0) */
    NN_OPTIM_RMSPROP
} nn_optim_kind;

typedef struct {
    nn_optim_kind kind;
    double lr;           /* base learning rate */
    double l2;           /* c, the L2 strength (coupled: in the cost and the gradient) */
    int l2_bias;         /* 1: biases and BatchNorm parameters are decayed too */
    nn_schedule schedule;
    double cur_lr;       /* the rate the next step uses */
    double momentum;     /* SGD, RMSprop: 0 for none */
    int nesterov;        /* SGD: 1 for Nesterov's momentum */
    double beta1, beta2; /* Adam: the moments' decay rates */
    double eps;          /* Adam, RMSprop: added to the denominator */
    double weight_decay; /* Adam: decoupled decay (AdamW's) */
    double alpha;        /* RMSprop: the square average's decay rate */
    int centered;        /* RMSprop: 1 to divide by the variance's root instead */
    int64_t steps;       /* updates made (Adam's t) */
    float *buf;          /* owned, nbuf * n floats, allocated on the first step: SGD: v (with
                            momentum); Adam: m then v; RMSprop: s, then b (momentum), then ga (centered) */
    size_t n;            /* parameters the buffers are for; 0 before the first step */
} nn_optimizer;

/* The SGD type and functions of the time before Adam: the same struct and
 * the generic functions below. */
typedef nn_optimizer nn_sgd;

/* Each validates its settings (finite, lr > 0, momentum in [0, 1), betas in
 * [0, 1), eps > 0, l2 >= 0 ...) and the schedule (NULL for none); the
 * message names the setting. */
nn_status nn_sgd_init(nn_optimizer *o, double lr, double momentum, int nesterov, double l2,
                      int l2_bias, const nn_schedule *schedule, nn_error *err);
nn_status nn_adam_init(nn_optimizer *o, double lr, double beta1, double beta2, double eps, double l2,
                       double weight_decay, int l2_bias, const nn_schedule *schedule, nn_error *err);
nn_status nn_rmsprop_init(nn_optimizer *o, double lr, double alpha, double eps, double momentum, int centered,
                          double l2, int l2_bias, const nn_schedule *schedule, nn_error *err);
/* Frees the buffers; a second call does nothing. */
void nn_optim_free(nn_optimizer *o);

/* The kind's name: "SGD", "Adam", "AdamW" (Adam with weight_decay > 0), "RMSprop". */
const char *nn_optim_name(const nn_optimizer *o);

/* One update of m's parameters from its accumulated gradients. An
 * optimizer serves one model: NN_EARG when its buffers are for another
 * number of parameters. */
nn_status nn_optim_step(nn_optimizer *o, nn_model *m, nn_error *err);
/* The same when the gradient is m->grads + g2 (nparams floats), the sum
 * of two parts of a batch: the sum is kept in m->grads (with the L2 term). */
nn_status nn_optim_step_sum(nn_optimizer *o, nn_model *m, const float *g2, nn_error *err);
/* 1 if the step of a model of nparams parameters runs on several threads. */
int nn_optim_threaded(size_t nparams);

/* The L2 term 0.5 * c * |W|^2 that the cost adds to the loss. */
double nn_optim_penalty(const nn_optimizer *o, const nn_model *m);

/* Sets cur_lr to the schedule's rate for a 0-based epoch. */
void nn_optim_set_epoch(nn_optimizer *o, int epoch);

/* The state (step count, rate, buffers) as bytes: nn_optim_state_size
 * bytes, written by nn_optim_save_state into out; nn_optim_load_state
 * restores them into an optimizer of the same kind and settings (NN_EARG
 * naming what differs when they are not its, NN_ENOMEM). The bytes are in
 * the machine's order, for a checkpoint resumed on the same machine. SGD
 * also takes a bare velocity (n floats), its state before this format. */
size_t nn_optim_state_size(const nn_optimizer *o);
void nn_optim_save_state(const nn_optimizer *o, char *out);
nn_status nn_optim_load_state(nn_optimizer *o, const char *bytes, size_t len, nn_error *err);

/* The former SGD names. */
static inline void nn_sgd_free(nn_optimizer *o) { nn_optim_free(o); }
static inline nn_status nn_sgd_step(nn_optimizer *o, nn_model *m, nn_error *err) { return nn_optim_step(o, m, err); }
static inline double nn_sgd_penalty(const nn_optimizer *o, const nn_model *m) { return nn_optim_penalty(o, m); }
static inline void nn_sgd_set_epoch(nn_optimizer *o, int epoch) { nn_optim_set_epoch(o, epoch); }

#endif
