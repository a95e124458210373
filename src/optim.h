/* optim.h - stochastic gradient descent with L2, momentum and schedules.
 *
 * With L2 strength c the cost is loss + 0.5 * c * |W|^2 over the weights
 * (biases too when l2_bias), and the step uses grad + c * W. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>

#include "model.h"
#include "status.h"

typedef enum {
    NN_SCHEDULE_NONE = 0,
    NN_SCHEDULE_STEP,   /* lr * gamma^floor(epoch / step_size) */
    NN_SCHEDULE_EXP,    /* lr * gamma^epoch */
    NN_SCHEDULE_COSINE  /* min_lr + (lr - min_lr) * (1 + cos(pi * epoch / t_max)) / 2 */
} nn_schedule_kind;

typedef struct {
    nn_schedule_kind kind;
    int step_size;   /* STEP: epochs between decays */
    double gamma;    /* STEP, EXP: factor */
    int t_max;       /* COSINE: epochs of the half period */
    double min_lr;   /* COSINE: floor */
} nn_schedule;

typedef struct {
    double lr;        /* base learning rate */
    double momentum;  /* 0 for plain SGD */
    int nesterov;     /* 1: Nesterov's momentum */
    double l2;        /* c, the L2 strength */
    int l2_bias;      /* 1: biases and BatchNorm parameters are decayed too */
    nn_schedule schedule;
    double cur_lr;    /* the rate the next step uses */
    float *velocity;  /* owned, n floats; allocated on the first step with momentum */
    size_t n;
} nn_sgd;

/* Validates the settings (finite, lr > 0, momentum in [0, 1), l2 >= 0 ...). */
nn_status nn_sgd_init(nn_sgd *o, double lr, double momentum, int nesterov, double l2,
                      int l2_bias, const nn_schedule *schedule, nn_error *err);
void nn_sgd_free(nn_sgd *o);

/* One update of m's parameters from its accumulated gradients. */
nn_status nn_sgd_step(nn_sgd *o, nn_model *m, nn_error *err);
/* The same when the gradient is m->grads + g2 (nparams floats), the sum
 * of two parts of a batch: the sum is kept in m->grads. */
nn_status nn_sgd_step_sum(nn_sgd *o, nn_model *m, const float *g2, nn_error *err);

/* The L2 term 0.5 * c * |W|^2 that the cost adds to the loss. */
double nn_sgd_penalty(const nn_sgd *o, const nn_model *m);

/* Sets cur_lr to the schedule's rate for a 0-based epoch. */
void nn_sgd_set_epoch(nn_sgd *o, int epoch);

#endif
