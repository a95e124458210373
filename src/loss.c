#include "loss.h"

#include <math.h>
#include <string.h>

const char *nn_loss_name(nn_loss_kind kind)
{
    switch (kind) {
    case NN_LOSS_CROSS_ENTROPY: return "CrossEntropyLoss";
    case NN_LOSS_MSE_MEAN: return "MSELoss(mean)";
    case NN_LOSS_MSE_SUM: return "MSELoss(sum_per_sample)";
    }
    return "?";
}

int nn_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

nn_status nn_target_check(const nn_target *t, const nn_tensor *outputs, nn_error *err)
{
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    if (t->labels) {
        for (int r = 0; r < n; r++) {
            float y = t->labels[r];
            if (!(y >= 0 && y < classes) || y != floorf(y))
                return nn_fail(err, NN_EARG, "label %g (row %d) is not a class in 0..%d", y, r + 1,
                               classes - 1);
        }
        return NN_OK;
    }
    if (!t->dist)
        return nn_fail(err, NN_EARG, "no target given");
    if (t->dist->shape[0] != n || (int)nn_tensor_row_size(t->dist) != classes) {
        char a[64], b[64];
        nn_tensor_shape_str(t->dist, a, sizeof a);
        nn_tensor_shape_str(outputs, b, sizeof b);
        return nn_fail(err, NN_ESHAPE, "target is %s, expected %s (the output's shape) or %d labels", a, b, n);
    }
    for (size_t k = 0; k < t->dist->size; k++)
        if (!isfinite(t->dist->data[k]))
            return nn_fail(err, NN_EARG, "target holds a non-finite value at element %zu", k + 1);
    return NN_OK;
}

static float target_at(const nn_target *t, int r, int c, int classes)
{
    if (t->labels)
        return (int)t->labels[r] == c ? 1.0f : 0.0f;
    return t->dist->data[(size_t)r * classes + c];
}

static int target_class(const nn_target *t, int r, int classes)
{
    if (t->labels)
        return (int)t->labels[r];
    return nn_argmax(t->dist->data + (size_t)r * classes, classes);
}

static double cross_entropy_row(const float *z, const nn_target *t, int r, int classes,
                                float *g, float scale)
{
    float mx = z[0];
    for (int c = 1; c < classes; c++)
        mx = z[c] > mx ? z[c] : mx;
    double sum = exp((double)z[0] - mx);
    for (int c = 1; c < classes; c++)
        sum += exp((double)z[c] - mx);
    double lse = mx + log(sum), dot = 0, tsum = 0;
    for (int c = 0; c < classes; c++) {
        float tc = target_at(t, r, c, classes);
        dot += (double)tc * z[c];
        tsum += tc;
    }
    if (g) {
        for (int c = 0; c < classes; c++)
            g[c] = scale * (float)(tsum * exp((double)z[c] - lse) - target_at(t, r, c, classes));
    }
    return tsum * lse - dot;
}

nn_status nn_loss_compute(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target,
                          double *loss, float *grad, long *correct, nn_error *err)
{
    nn_status st = nn_target_check(target, outputs, err);
    if (st != NN_OK)
        return st;
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    if (n == 0)
        return nn_fail(err, NN_ESHAPE, "%s: empty batch", nn_loss_name(kind));
    double total = 0;
    long right = 0;
    double div = kind == NN_LOSS_MSE_MEAN ? (double)n * classes : (double)n;
    float scale = (float)(1.0 / div);
    for (int r = 0; r < n; r++) {
        const float *z = outputs->data + (size_t)r * classes;
        float *g = grad ? grad + (size_t)r * classes : NULL;
        if (kind == NN_LOSS_CROSS_ENTROPY) {
            total += cross_entropy_row(z, target, r, classes, g, scale);
        } else {
            for (int c = 0; c < classes; c++) {
                double d = (double)z[c] - target_at(target, r, c, classes);
                total += d * d;
                if (g)
                    g[c] = (float)(2.0 * d) * scale;
            }
        }
        if (nn_argmax(z, classes) == target_class(target, r, classes))
            right++;
    }
    *loss = total / div;
    if (correct)
        *correct += right;
    return NN_OK;
}
