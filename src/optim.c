#include "optim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

/* ---------------------------------------------------------------- settings */

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

/* What every kind shares: the rate, L2 and the schedule. */
static nn_status init_common(nn_optimizer *o, nn_optim_kind kind, double lr, double l2, int l2_bias,
                             const nn_schedule *schedule, nn_error *err)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    if (!(lr > 0) || !(lr <= FLT_MAX))
        return nn_fail(err, NN_EARG, "lr must be a positive finite number, got %g", lr);
    if (!(l2 >= 0) || !isfinite(l2))
        return nn_fail(err, NN_EARG, "l2 must be a finite number >= 0, got %g", l2);
    if (l2 > FLT_MAX)
        return nn_fail(err, NN_EARG, "l2 must be within float range, got %g", l2);
    if (schedule) {
        nn_status st = check_schedule(schedule, err);
        if (st != NN_OK)
            return st;
        o->schedule = *schedule;
    }
    o->lr = o->cur_lr = lr;
    o->l2 = l2;
    o->l2_bias = l2_bias;
    return NN_OK;
}

/* A rate in [0, 1): momentum, betas, alpha. */
static nn_status check_unit(const char *name, double x, nn_error *err)
{
    if (!(x >= 0 && x < 1))
        return nn_fail(err, NN_EARG, "%s must be in [0, 1), got %g", name, x);
    return NN_OK;
}

/* eps is added in float: one that rounds to 0 there would divide by 0. */
static nn_status check_eps(double eps, nn_error *err)
{
    if (!(eps > 0) || !(eps <= FLT_MAX))
        return nn_fail(err, NN_EARG, "eps must be a positive finite number, got %g", eps);
    if ((float)eps == 0)
        return nn_fail(err, NN_EARG, "eps must be at least %g (the smallest float), got %g", (double)FLT_TRUE_MIN, eps);
    return NN_OK;
}

nn_status nn_sgd_init(nn_optimizer *o, double lr, double momentum, int nesterov, double l2,
                      int l2_bias, const nn_schedule *schedule, nn_error *err)
{
    nn_status st = init_common(o, NN_OPTIM_SGD, lr, l2, l2_bias, schedule, err);
    if (st != NN_OK)
        return st;
    if (check_unit("momentum", momentum, err) != NN_OK)
        return NN_EARG;
    if (nesterov && momentum == 0)
        return nn_fail(err, NN_EARG, "nesterov needs a momentum > 0");
    o->momentum = momentum;
    o->nesterov = nesterov;
    return NN_OK;
}

nn_status nn_adam_init(nn_optimizer *o, double lr, double beta1, double beta2, double eps, double l2,
                       double weight_decay, int l2_bias, const nn_schedule *schedule, nn_error *err)
{
    nn_status st = init_common(o, NN_OPTIM_ADAM, lr, l2, l2_bias, schedule, err);
    if (st != NN_OK)
        return st;
    if (check_unit("betas[1]", beta1, err) != NN_OK || check_unit("betas[2]", beta2, err) != NN_OK ||
        check_eps(eps, err) != NN_OK)
        return NN_EARG;
    if (!(weight_decay >= 0) || !isfinite(weight_decay))
        return nn_fail(err, NN_EARG, "weight_decay must be a finite number >= 0, got %g", weight_decay);
    if (!(lr * weight_decay < 1))
        return nn_fail(err, NN_EARG, "weight_decay * lr must be below 1 (each step scales the weights by "
                                     "1 - lr * weight_decay), got %g", lr * weight_decay);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    return NN_OK;
}

nn_status nn_rmsprop_init(nn_optimizer *o, double lr, double alpha, double eps, double momentum, int centered,
                          double l2, int l2_bias, const nn_schedule *schedule, nn_error *err)
{
    nn_status st = init_common(o, NN_OPTIM_RMSPROP, lr, l2, l2_bias, schedule, err);
    if (st != NN_OK)
        return st;
    if (check_unit("alpha", alpha, err) != NN_OK || check_eps(eps, err) != NN_OK ||
        check_unit("momentum", momentum, err) != NN_OK)
        return NN_EARG;
    o->alpha = alpha;
    o->eps = eps;
    o->momentum = momentum;
    o->centered = centered;
    return NN_OK;
}

void nn_optim_free(nn_optimizer *o)
{
    free(o->buf);
    o->buf = NULL;
    o->n = 0;
}

const char *nn_optim_name(const nn_optimizer *o)
{
    switch (o->kind) {
    case NN_OPTIM_SGD: return "SGD";
    case NN_OPTIM_ADAM: return o->weight_decay > 0 ? "AdamW" : "Adam";
    case NN_OPTIM_RMSPROP: return "RMSprop";
    }
    return "optimizer";
}

/* The buffers of n floats the kind keeps. */
static unsigned buffers(const nn_optimizer *o)
{
    switch (o->kind) {
    case NN_OPTIM_SGD: return o->momentum != 0;
    case NN_OPTIM_ADAM: return 2;
    case NN_OPTIM_RMSPROP: return 1 + (o->momentum != 0) + (o->centered != 0);
    }
    return 0;
}

void nn_optim_set_epoch(nn_optimizer *o, int epoch)
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

double nn_optim_penalty(const nn_optimizer *o, const nn_model *m)
{
    if (o->l2 == 0)
        return 0;
    return o->l2 * nn_model_half_sq_norm(m, o->l2_bias);
}

/* ---------------------------------------------------------------- updates */

/* The constants of one step over one range, in float as PyTorch applies
 * them to float tensors. */
typedef struct {
    float lr;        /* SGD, RMSprop: the rate; Adam: lr / (1 - b1^t) */
    float c;         /* the L2 strength, 0 outside the decayed parameters */
    float decay;     /* Adam: 1 - lr * weight_decay on the decayed parameters, else 1 */
    float mu;        /* SGD, RMSprop: momentum */
    float b1, omb1;  /* Adam: beta1, 1 - beta1 */
    float b2, omb2;  /* Adam: beta2, 1 - beta2; RMSprop: alpha, 1 - alpha */
    float bc2_sqrt;  /* Adam: sqrt(1 - b2^t) */
    float eps;
    int nesterov;
} step_args;

/* g (+ g2) (+ c * p) into g: the gradient the update uses. */
static inline void sum_gradient(float *restrict p, float *restrict g, const float *restrict g2, size_t n, float c)
{
    if (g2) {
        for (size_t k = 0; k < n; k++)
            g[k] += g2[k];
    }
    if (c != 0) {
        for (size_t k = 0; k < n; k++)
            g[k] += c * p[k];
    }
}

/* SGD over one contiguous range of parameters: the gradient g (+ g2, the
 * second part's, when not NULL) (+ c * p, the L2 term) is kept in g, then
 * the parameters move (with the velocity v when not NULL). One loop per
 * case, so that each is vectorized. */
NN_HOT static void sgd_range(float *restrict p, float *restrict g, const float *restrict g2, float *restrict v,
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
    sum_gradient(p, g, g2, n, c);
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

/* Adam over one range, m and v its moments; each operation in PyTorch's
 * order (param.mul_, exp_avg.mul_().add_(), exp_avg_sq.mul_().addcmul_(),
 * sqrt / bc2_sqrt + eps, param.addcdiv_()). */
NN_HOT static void adam_range(float *restrict p, float *restrict g, const float *restrict g2, float *restrict m,
                              float *restrict v, size_t n, const step_args *a)
{
    sum_gradient(p, g, g2, n, a->c);
    const float b1 = a->b1, omb1 = a->omb1, b2 = a->b2, omb2 = a->omb2, bc2 = a->bc2_sqrt, eps = a->eps;
    const float step = a->lr, decay = a->decay;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k];
        float mk = m[k] * b1 + omb1 * gk;
        float vk = v[k] * b2 + omb2 * gk * gk;
        m[k] = mk;
        v[k] = vk;
        p[k] = p[k] * decay - step * mk / (sqrtf(vk) / bc2 + eps);
    }
}

/* RMSprop over one range: s the square average, b the momentum buffer
 * (NULL without momentum), ga the gradient average (NULL unless centered). */
NN_HOT static void rmsprop_range(float *restrict p, float *restrict g, const float *restrict g2, float *restrict s,
                                 float *restrict b, float *restrict ga, size_t n, const step_args *a)
{
    sum_gradient(p, g, g2, n, a->c);
    const float al = a->b2, omal = a->omb2, eps = a->eps, lr = a->lr, mu = a->mu;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k];
        float sk = s[k] * al + omal * gk * gk;
        s[k] = sk;
        float d;
        if (ga) {
            float gak = ga[k] * al + omal * gk;
            ga[k] = gak;
            float var = sk - gak * gak; /* >= 0 but for rounding, which would give NaN */
            d = sqrtf(var > 0 ? var : 0) + eps;
        } else {
            d = sqrtf(sk) + eps;
        }
        if (b) {
            float bk = b[k] * mu + gk / d;
            b[k] = bk;
            p[k] -= lr * bk;
        } else {
            p[k] -= lr * gk / d;
        }
    }
}

/* One range [first, first + count) of the parameters. */
static void step_range(nn_optimizer *o, nn_model *m, const float *g2, size_t first, size_t count, const step_args *a)
{
    float *p = m->params + first, *g = m->grads + first;
    const float *h = g2 ? g2 + first : NULL;
    unsigned nbuf = o->buf ? buffers(o) : 0;
    float *b0 = nbuf > 0 ? o->buf + first : NULL, *b1 = nbuf > 1 ? o->buf + o->n + first : NULL,
          *b2 = nbuf > 2 ? o->buf + 2 * o->n + first : NULL;
    switch (o->kind) {
    case NN_OPTIM_SGD:
        sgd_range(p, g, h, o->momentum != 0 ? b0 : NULL, count, a->lr, a->c, a->mu, a->nesterov);
        break;
    case NN_OPTIM_ADAM:
        adam_range(p, g, h, b0, b1, count, a);
        break;
    case NN_OPTIM_RMSPROP:
        rmsprop_range(p, g, h, b0, o->momentum != 0 ? b1 : NULL,
                      o->centered ? (o->momentum != 0 ? b2 : b1) : NULL, count, a);
        break;
    }
}

/* Above this many parameters the step is shared among the threads, each
 * taking a contiguous part of all the parameters: one parallel region a
 * step, not one per large layer, since with passive waits every region
 * costs a sleep and a wake. The updates are element-wise, so the result
 * does not depend on how the parameters are cut. */
#define STEP_THREADED_MIN (1 << 16)

int nn_optim_threaded(size_t nparams)
{
    return nparams >= STEP_THREADED_MIN;
}

/* The arguments of a step: a layer's decayed weights take `decayed`, the
 * rest of its parameters `plain`. */
typedef struct {
    const step_args *decayed, *plain;
    int decays;
} step_plan;

static void step_clipped(nn_optimizer *o, nn_model *m, const float *g2, size_t first, size_t count, size_t lo,
                         size_t hi, const step_args *a)
{
    size_t from = first > lo ? first : lo, to = first + count < hi ? first + count : hi;
    if (from < to)
        step_range(o, m, g2, from, to - from, a);
}

/* Steps the parameters [lo, hi), layer by layer. */
static void step_part(nn_optimizer *o, nn_model *m, const float *g2, const step_plan *plan, size_t lo, size_t hi)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->param_offset >= hi || l->param_offset + l->param_count <= lo)
            continue;
        size_t decayed = plan->decays ? (o->l2_bias ? l->param_count : l->weight_count) : 0;
        step_clipped(o, m, g2, l->param_offset, decayed, lo, hi, plan->decayed);
        step_clipped(o, m, g2, l->param_offset + decayed, l->param_count - decayed, lo, hi, plan->plain);
    }
}

static void step_all(nn_optimizer *o, nn_model *m, const float *g2, const step_plan *plan)
{
    size_t n = m->nparams;
    int threads = nn_optim_threaded(n) ? nn_get_threads() : 1;
    if (threads == 1) {
        step_part(o, m, g2, plan, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int t = 0; t < threads; t++)
        step_part(o, m, g2, plan, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads);
}

/* Sizes the buffers for m on the first step (zeros, as PyTorch's state
 * starts); refuses a model of another size later. */
static nn_status prepare_buffers(nn_optimizer *o, const nn_model *m, nn_error *err)
{
    size_t n = m->nparams, nbuf = buffers(o);
    if (nbuf == 0 || o->n == n)
        return NN_OK;
    if (o->n != 0)
        return nn_fail(err, NN_EARG, "%s: its state is for %zu parameters, the model has %zu (an optimizer "
                                     "serves one model)", nn_optim_name(o), o->n, n);
    if (n > (SIZE_MAX / sizeof(float) - 1) / nbuf)
        return nn_fail(err, NN_ENOMEM, "%zu parameters are too many for the optimizer's state", n);
    float *v = calloc(nbuf * n + 1, sizeof *v);
    if (!v)
        return nn_fail(err, NN_ENOMEM, "out of memory for the optimizer's state (%zu floats)", nbuf * n);
    free(o->buf);
    o->buf = v;
    o->n = n;
    return NN_OK;
}

nn_status nn_optim_step_sum(nn_optimizer *o, nn_model *m, const float *g2, nn_error *err)
{
    nn_status st = prepare_buffers(o, m, err);
    if (st != NN_OK)
        return st;
    o->steps++;
    step_args a = {.lr = (float)o->cur_lr, .decay = 1, .mu = (float)o->momentum, .nesterov = o->nesterov,
                   .eps = (float)o->eps};
    if (o->kind == NN_OPTIM_ADAM) {
        double t = (double)o->steps;
        a.lr = (float)(o->cur_lr / (1 - pow(o->beta1, t)));
        a.bc2_sqrt = (float)sqrt(1 - pow(o->beta2, t));
        a.b1 = (float)o->beta1;
        a.omb1 = (float)(1 - o->beta1);
        a.b2 = (float)o->beta2;
        a.omb2 = (float)(1 - o->beta2);
    } else if (o->kind == NN_OPTIM_RMSPROP) {
        a.b2 = (float)o->alpha;
        a.omb2 = (float)(1 - o->alpha);
    }
    int decays = o->l2 > 0 || o->weight_decay > 0;
    step_args decayed_args = a;
    decayed_args.c = (float)o->l2;
    decayed_args.decay = (float)(1 - o->cur_lr * o->weight_decay);
    step_plan plan = {&decayed_args, &a, decays};
    step_all(o, m, g2, &plan);
    return NN_OK;
}

nn_status nn_optim_step(nn_optimizer *o, nn_model *m, nn_error *err)
{
    return nn_optim_step_sum(o, m, NULL, err);
}

/* ---------------------------------------------------------------- state */

/* The state's header, then nbuf * n floats. */
#define STATE_MAGIC "nnlabopt"
#define STATE_VERSION 1u
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t kind;
    uint32_t nbuf;
    uint32_t reserved;  /* 0 */
    int64_t steps;
    double cur_lr;
    uint64_t n;
} state_header;
_Static_assert(sizeof(state_header) == 48, "a packed header");

size_t nn_optim_state_size(const nn_optimizer *o)
{
    return sizeof(state_header) + (o->buf ? buffers(o) * o->n * sizeof(float) : 0);
}

void nn_optim_save_state(const nn_optimizer *o, char *out)
{
    state_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, STATE_MAGIC, sizeof h.magic);
    h.version = STATE_VERSION;
    h.kind = (uint32_t)o->kind;
    h.nbuf = buffers(o);
    h.steps = o->steps;
    h.cur_lr = o->cur_lr;
    h.n = o->buf ? o->n : 0;
    memcpy(out, &h, sizeof h);
    if (o->buf)
        memcpy(out + sizeof h, o->buf, h.nbuf * o->n * sizeof(float));
}

static const char *kind_name(uint32_t kind)
{
    switch (kind) {
    case NN_OPTIM_SGD: return "an SGD's";
    case NN_OPTIM_ADAM: return "an Adam's";
    case NN_OPTIM_RMSPROP: return "an RMSprop's";
    }
    return "of an unknown kind";
}

/* The buffer of squared gradients' averages, which is never negative (its
 * root divides the step): Adam's v, RMSprop's s; -1 for SGD. */
static int squares_buffer(const nn_optimizer *o)
{
    return o->kind == NN_OPTIM_ADAM ? 1 : o->kind == NN_OPTIM_RMSPROP ? 0 : -1;
}

/* Replaces the buffers with n * nbuf floats from data (none when n is 0). */
static nn_status take_buffers(nn_optimizer *o, const char *data, size_t n, size_t nbuf, nn_error *err)
{
    float *v = NULL;
    if (n > 0) {
        if (!(v = malloc(n * nbuf * sizeof *v)))
            return nn_fail(err, NN_ENOMEM, "out of memory for the optimizer's state (%zu floats)", n * nbuf);
        memcpy(v, data, n * nbuf * sizeof *v);
        int sq = squares_buffer(o);
        for (size_t k = 0; k < n * nbuf; k++) {
            if (!isfinite(v[k])) {
                free(v);
                return nn_fail(err, NN_EARG, "the optimizer state holds a value that is not finite (%zu)", k + 1);
            }
            if (sq >= 0 && k / n == (size_t)sq && v[k] < 0) {
                double bad = v[k];
                free(v);
                return nn_fail(err, NN_EARG, "the optimizer state holds a negative average of squared gradients "
                                             "(%g, value %zu)", bad, k + 1);
            }
        }
    }
    free(o->buf);
    o->buf = v;
    o->n = n;
    return NN_OK;
}

nn_status nn_optim_load_state(nn_optimizer *o, const char *bytes, size_t len, nn_error *err)
{
    size_t nbuf = buffers(o);
    if (len < sizeof(state_header) || memcmp(bytes, STATE_MAGIC, 8) != 0) {
        /* SGD's state before this format: the bare velocity. */
        if (o->kind == NN_OPTIM_SGD && len % sizeof(float) == 0 && (nbuf == 1 || len == 0)) {
            nn_status st = take_buffers(o, bytes, len / sizeof(float), 1, err);
            if (st == NN_OK)
                o->steps = 0;
            return st;
        }
        return nn_fail(err, NN_EARG, "not an optimizer state");
    }
    state_header h;
    memcpy(&h, bytes, sizeof h);
    if (h.version != STATE_VERSION)
        return nn_fail(err, NN_EARG, "optimizer state version %u, expected %u", h.version, STATE_VERSION);
    if (h.kind != (uint32_t)o->kind)
        return nn_fail(err, NN_EARG, "the state is %s, not %s", kind_name(h.kind), kind_name((uint32_t)o->kind));
    if (h.nbuf != nbuf)
        return nn_fail(err, NN_EARG, "the state holds %u buffers, this %s keeps %zu (another momentum or "
                                     "centered setting)", h.nbuf, nn_optim_name(o), nbuf);
    if (h.steps < 0 || !(h.cur_lr >= 0) || !(h.cur_lr <= FLT_MAX) || h.reserved != 0)
        return nn_fail(err, NN_EARG, "damaged optimizer state");
    size_t body = len - sizeof h;
    if ((nbuf == 0 && (h.n != 0 || body != 0)) ||
        (nbuf > 0 && (h.n > body / sizeof(float) / nbuf || body != h.n * nbuf * sizeof(float))))
        return nn_fail(err, NN_EARG, "the optimizer state has %zu bytes of buffers, its header says %llu "
                                     "parameters", body, (unsigned long long)h.n);
    nn_status st = take_buffers(o, bytes + sizeof h, (size_t)h.n, nbuf, err);
    if (st != NN_OK)
        return st;
    o->steps = h.steps;
    o->cur_lr = h.cur_lr;
    return NN_OK;
}
