/* layers.c - the registry of layer kinds and what the kinds share. */
#include "layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

extern const nn_layer_ops nn_linear_ops, nn_relu_ops, nn_sigmoid_ops, nn_tanh_ops, nn_dropout_ops,
    nn_batchnorm_ops, nn_reshape_ops, nn_flatten_ops, nn_conv2d_ops, nn_maxpool2d_ops, nn_avgpool2d_ops,
    nn_normalize_ops, nn_random_shift_ops;

/* The registry: one line per kind. */
static const nn_layer_ops *const registry[] = {
    &nn_linear_ops, &nn_relu_ops, &nn_sigmoid_ops, &nn_tanh_ops, &nn_dropout_ops, &nn_batchnorm_ops,
    &nn_reshape_ops, &nn_flatten_ops, &nn_conv2d_ops, &nn_maxpool2d_ops, &nn_avgpool2d_ops, &nn_normalize_ops,
    &nn_random_shift_ops,
};

#define NKINDS ((int)(sizeof registry / sizeof registry[0]))

const char *const nn_init_names[] = {"default", "zeros", "normal", "uniform", "glorot", "he", NULL};

const nn_layer_ops *const *nn_layer_kinds(int *count)
{
    *count = NKINDS;
    return registry;
}

const nn_layer_ops *nn_layer_ops_of(nn_layer_kind kind)
{
    for (int i = 0; i < NKINDS; i++)
        if (registry[i]->kind == kind)
            return registry[i];
    return NULL;
}

const char *nn_layer_kind_name(nn_layer_kind kind)
{
    const nn_layer_ops *ops = nn_layer_ops_of(kind);
    return ops ? ops->name : "?";
}

void nn_layer_describe(const nn_layer *l, char *buf, size_t len)
{
    const nn_layer_ops *ops = nn_layer_ops_of(l->kind);
    if (ops)
        ops->describe(l, buf, len);
    else
        snprintf(buf, len, "?");
}

void nn_layer_describe_name(const nn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "%s", nn_layer_kind_name(l->kind));
}

nn_status nn_layer_plan(nn_layer *l, int index, nn_error *err)
{
    const nn_layer_ops *ops = nn_layer_ops_of(l->kind);
    if (!ops)
        return nn_fail(err, NN_EARG, "layer %d: unknown kind %d", index + 1, (int)l->kind);
    char desc[112];
    nn_layer_describe(l, desc + snprintf(desc, 16, "layer %d, ", index + 1), sizeof desc - 16);
    l->param_count = l->weight_count = l->buffer_count = 0;
    return ops->plan(l, desc, err);
}

nn_status nn_layer_plan_same(nn_layer *l, const char *desc, nn_error *err)
{
    (void)desc, (void)err;
    l->in = l->out = l->ishape[0] < 0 ? -1 : l->ishape[0] * l->ishape[1] * l->ishape[2];
    memcpy(l->oshape, l->ishape, sizeof l->oshape);
    return NN_OK;
}

int nn_setting_get_int(const nn_layer *l, const nn_setting *s)
{
    int v;
    memcpy(&v, (const char *)l + s->offset, sizeof v);
    return v;
}

double nn_setting_get_number(const nn_layer *l, const nn_setting *s)
{
    double v;
    memcpy(&v, (const char *)l + s->offset, sizeof v);
    return v;
}

void nn_setting_set_int(nn_layer *l, const nn_setting *s, int v)
{
    memcpy((char *)l + s->offset, &v, sizeof v);
}

void nn_setting_set_number(nn_layer *l, const nn_setting *s, double v)
{
    memcpy((char *)l + s->offset, &v, sizeof v);
}

nn_status nn_check_init(const nn_layer *l, const char *desc, nn_error *err)
{
    if (l->bias != 0 && l->bias != 1)
        return nn_fail(err, NN_EARG, "%s: bias must be 0 or 1, got %d", desc, l->bias);
    if ((int)l->init < NN_INIT_DEFAULT || (int)l->init > NN_INIT_HE)
        return nn_fail(err, NN_EARG, "%s: unknown init %d", desc, (int)l->init);
    /* Bounded so that every weight drawn is a float. */
    if (!(l->std >= 0 && l->std <= NN_MAX_INIT) || !(fabs(l->a) <= NN_MAX_INIT) || !(fabs(l->b) <= NN_MAX_INIT) ||
        l->a > l->b)
        return nn_fail(err, NN_EARG, "%s: init needs 0 <= std <= 1e30 and -1e30 <= a <= b <= 1e30", desc);
    return NN_OK;
}

void nn_init_draw(const nn_layer *l, float *w, size_t count, int fan_in, int fan_out, nn_rng *rng,
                  size_t (*where)(size_t k, const nn_layer *l))
{
    double lo = 0, hi = 0, std = 0;
    int normal = 0;
    switch (l->init) {
    case NN_INIT_ZEROS: break;
    case NN_INIT_NORMAL: normal = 1; std = l->std; break;
    case NN_INIT_HE: normal = 1; std = sqrt(2.0 / fan_in); break;
    case NN_INIT_UNIFORM: lo = l->a; hi = l->b; break;
    case NN_INIT_GLOROT: hi = sqrt(6.0 / (fan_in + fan_out)); lo = -hi; break;
    case NN_INIT_DEFAULT: hi = 1.0 / sqrt((double)fan_in); lo = -hi; break;
    }
    for (size_t k = 0; k < count; k++) {
        float *dst = &w[where ? where(k, l) : k];
        if (normal)
            *dst = (float)(std * nn_rng_normal(rng));
        else if (hi != lo)
            *dst = (float)(lo + (hi - lo) * nn_rng_uniform(rng));
        else
            *dst = (float)lo;
    }
}
