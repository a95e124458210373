#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

static nn_status check_schedule(const nn_schedule *s, nn_error *err)
{
    switch (s->kind) {
    case NN_SCHEDULE_NONE:
        return NN_OK;
    case NN_SCHEDULE_STEP:
        if (s->step_size < 1)
            return nn_fail(err, NN_EARG, "step schedule: step_size must be a positive integer, got %d", s->step_size);
        /* fall through */
    case NN_SCHEDULE_EXP:
        if (!(s->gamma > 0 && s->gamma <= 1))
            return nn_fail(err, NN_EARG, "schedule: gamma must be in (0, 1], got %g", s->gamma);
        return NN_OK;
    case NN_SCHEDULE_COSINE:
        if (s->t_max < 1)
            return nn_fail(err, NN_EARG, "cosine schedule: t_max must be a positive integer, got %d", s->t_max);
        if (!(s->min_lr >= 0) || !isfinite(s->min_lr))
            return nn_fail(err, NN_EARG, "cosine schedule: min_lr must be >= 0, got %g", s->min_lr);
        return NN_OK;
    }
    return nn_fail(err, NN_EARG, "unknown schedule");
}

nn_status nn_sgd_init(nn_sgd *o, double lr, double momentum, int nesterov, double l2,
                      int l2_bias, const nn_schedule *schedule, nn_error *err)
{
    memset(o, 0, sizeof *o);
    if (!(lr > 0) || !isfinite(lr))
        return nn_fail(err, NN_EARG, "lr must be a positive finite number, got %g", lr);
    if (!(momentum >= 0 && momentum < 1))
        return nn_fail(err, NN_EARG, "momentum must be in [0, 1), got %g", momentum);
    if (!(l2 >= 0) || !isfinite(l2))
        return nn_fail(err, NN_EARG, "l2 must be a finite number >= 0, got %g", l2);
    if (nesterov && momentum == 0)
        return nn_fail(err, NN_EARG, "nesterov needs a momentum > 0");
    if (schedule) {
        nn_status st = check_schedule(schedule, err);
        if (st != NN_OK)
            return st;
        o->schedule = *schedule;
    }
    o->lr = o->cur_lr = lr;
    o->momentum = momentum;
    o->nesterov = nesterov;
    o->l2 = l2;
    o->l2_bias = l2_bias;
    return NN_OK;
}

void nn_sgd_free(nn_sgd *o)
{
    free(o->velocity);
    o->velocity = NULL;
    o->n = 0;
}

void nn_sgd_set_epoch(nn_sgd *o, int epoch)
{
    const nn_schedule *s = &o->schedule;
    switch (s->kind) {
    case NN_SCHEDULE_NONE: o->cur_lr = o->lr; break;
    case NN_SCHEDULE_STEP: o->cur_lr = o->lr * pow(s->gamma, epoch / s->step_size); break;
    case NN_SCHEDULE_EXP: o->cur_lr = o->lr * pow(s->gamma, epoch); break;
    case NN_SCHEDULE_COSINE: {
        int e = epoch < s->t_max ? epoch : s->t_max;
        o->cur_lr = s->min_lr + (o->lr - s->min_lr) * (1 + cos(3.14159265358979323846 * e / s->t_max)) / 2;
        break;
    }
    }
}

double nn_sgd_penalty(const nn_sgd *o, const nn_model *m)
{
    if (o->l2 == 0)
        return 0;
    return o->l2 * nn_model_half_sq_norm(m, o->l2_bias);
}

/* One contiguous range of parameters: the gradient g (+ g2, the second
 * part's, when not NULL) (+ c * p, the L2 term) is kept in g, then the
 * parameters move (with the velocity v when not NULL). One loop per case,
 * so that each is vectorized. */
NN_HOT static void step_range(float *restrict p, float *restrict g, const float *restrict g2, float *restrict v,
                              size_t n, float lr, float c, float mu, int nesterov)
{
    if (g2 && c == 0 && !v) {
        /* The common case in one pass over memory, which bounds it. */
        for (size_t k = 0; k < n; k++) {
            g[k] += g2[k];
            p[k] -= lr * g[k];
        }
        return;
    }
    if (g2) {
        for (size_t k = 0; k < n; k++)
            g[k] += g2[k];
    }
    if (c != 0) {
        for (size_t k = 0; k < n; k++)
            g[k] += c * p[k];
    }
    if (!v) {
        for (size_t k = 0; k < n; k++)
            p[k] -= lr * g[k];
    } else if (nesterov) {
        for (size_t k = 0; k < n; k++) {
            v[k] = mu * v[k] + g[k];
            p[k] -= lr * (g[k] + mu * v[k]);
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            v[k] = mu * v[k] + g[k];
            p[k] -= lr * v[k];
        }
    }
}

/* Above this many parameters a range is shared among the threads, each
 * taking a contiguous part (the result does not depend on how many). */
#define STEP_THREADED_MIN (1 << 16)

static void step_span(nn_sgd *o, nn_model *m, const float *g2, size_t first, size_t count, float c)
{
    int threads = count >= STEP_THREADED_MIN ? nn_get_threads() : 1;
    float *v = o->momentum != 0 ? o->velocity : NULL;
    float lr = (float)o->cur_lr, mu = (float)o->momentum;
    if (threads == 1) {
        step_range(m->params + first, m->grads + first, g2 ? g2 + first : NULL, v ? v + first : NULL, count, lr, c,
                   mu, o->nesterov);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int t = 0; t < threads; t++) {
        size_t lo = first + count * (size_t)t / (size_t)threads, hi = first + count * (size_t)(t + 1) / (size_t)threads;
        step_range(m->params + lo, m->grads + lo, g2 ? g2 + lo : NULL, v ? v + lo : NULL, hi - lo, lr, c, mu,
                   o->nesterov);
    }
}

nn_status nn_sgd_step_sum(nn_sgd *o, nn_model *m, const float *g2, nn_error *err)
{
    size_t n = m->nparams;
    if (o->momentum != 0 && o->n != n) {
        float *v = calloc(n + 1, sizeof *v);
        if (!v)
            return nn_fail(err, NN_ENOMEM, "out of memory for the momentum buffer");
        free(o->velocity);
        o->velocity = v;
        o->n = n;
    }
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t decayed = o->l2 > 0 ? (o->l2_bias ? l->param_count : l->weight_count) : 0;
        step_span(o, m, g2, l->param_offset, decayed, (float)o->l2);
        step_span(o, m, g2, l->param_offset + decayed, l->param_count - decayed, 0.0f);
    }
    return NN_OK;
}

nn_status nn_sgd_step(nn_sgd *o, nn_model *m, nn_error *err)
{
    return nn_sgd_step_sum(o, m, NULL, err);
}
