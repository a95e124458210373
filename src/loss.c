#include "loss.h"
#include "loss_kernels.h"

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
    for (int i = 0; i < n; i++) {
        if (v[i] != v[i])
            return i; /* a NaN wins, as in NumPy: a diverged output is never mistaken for a class */
        if (v[i] > v[best])
            best = i;
    }
    return best;
}

int nn_labels_are_values(nn_loss_kind kind, int classes)
{
    return kind != NN_LOSS_CROSS_ENTROPY && classes == 1;
}

double nn_label_target(nn_loss_kind kind, int classes, float label, int c)
{
    if (nn_labels_are_values(kind, classes))
        return label;
    return (int)label == c ? 1.0 : 0.0;
}

/* The target as the loss reads it: labels that are values (one output
 * column, MSE) become an n x 1 matrix over the same floats, in *view. */
static nn_target effective_target(nn_loss_kind kind, const nn_target *t, const nn_tensor *outputs, nn_tensor *view)
{
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    if (!t->labels || !nn_labels_are_values(kind, classes))
        return *t;
    memset(view, 0, sizeof *view);
    view->data = (float *)t->labels;
    view->ndim = 2;
    view->shape[0] = n;
    view->shape[1] = 1;
    view->size = (size_t)n;
    nn_target v = {NULL, view};
    return v;
}

/* Cross-entropy's targets, given as rows, are class distributions: no
 * entry below 0, each row summing to 1 (within float rounding of smoothed
 * labels); real-valued targets (a regression's) belong to MSELoss. */
static nn_status check_distributions(const nn_tensor *dist, int n, int classes, nn_error *err)
{
    for (int r = 0; r < n; r++) {
        const float *row = dist->data + (size_t)r * classes;
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            if (row[c] < 0)
                return nn_fail(err, NN_EARG, "row %d of the batch's targets holds %g (column %d): a class "
                                             "distribution has no entry below 0 (real-valued targets take MSELoss)",
                               r + 1, (double)row[c], c + 1);
            sum += row[c];
        }
        if (fabs(sum - 1) > 1e-3)
            return nn_fail(err, NN_EARG, "row %d of the batch's targets sums to %g: a class distribution sums to "
                                         "1 (real-valued targets take MSELoss)", r + 1, sum);
    }
    return NN_OK;
}

nn_status nn_target_check(nn_loss_kind kind, const nn_target *target, const nn_tensor *outputs, nn_error *err)
{
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    nn_tensor view;
    nn_target e = effective_target(kind, target, outputs, &view);
    const nn_target *t = &e;
    if (t->labels) {
        for (int r = 0; r < n; r++) {
            float y = t->labels[r];
            if (isnan(y))
                return nn_fail(err, NN_EARG, "label nan (row %d) is not a class in 0..%d", r + 1, classes - 1);
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
    return kind == NN_LOSS_CROSS_ENTROPY ? check_distributions(t->dist, n, classes, err) : NN_OK;
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

/* The gradient row g first holds the exponentials, each computed once. */
static double cross_entropy_row(const float *z, const nn_target *t, int r, int classes,
                                float *g, float scale)
{
    float mx = z[0];
    for (int c = 1; c < classes; c++)
        mx = z[c] > mx ? z[c] : mx;
    float e0 = expf(z[0] - mx);
    double sum = e0;
    if (g)
        g[0] = e0;
    for (int c = 1; c < classes; c++) {
        float e = expf(z[c] - mx);
        sum += e;
        if (g)
            g[c] = e;
    }
    double lse = mx + log(sum), dot = 0, tsum = 0;
    for (int c = 0; c < classes; c++) {
        float tc = target_at(t, r, c, classes);
        dot += (double)tc * z[c];
        tsum += tc;
    }
    if (g) {
        for (int c = 0; c < classes; c++)
            g[c] = scale * (float)(tsum * g[c] / sum - target_at(t, r, c, classes));
    }
    return tsum * lse - dot;
}

static double squared_error_row(const float *z, const nn_target *t, int r, int classes, float *g, float scale)
{
    double total = 0;
    for (int c = 0; c < classes; c++) {
        double d = (double)z[c] - target_at(t, r, c, classes);
        total += d * d;
        if (g)
            g[c] = (float)(2.0 * d) * scale;
    }
    return total;
}

/* 1 if every output is within 0.5 of its target: a regression's "right". */
static int within_half(const float *z, const float *t, int n)
{
    for (int c = 0; c < n; c++)
        if (!(fabs((double)z[c] - t[c]) < 0.5))
            return 0;
    return 1;
}

/* Rows [r0, r1) of the loss, one row at a time. */
nn_row_sums nn_loss_rows_plain(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target, int r0, int r1,
                               float *grad, float scale)
{
    int classes = (int)nn_tensor_row_size(outputs);
    nn_row_sums s = {0, 0};
    for (int r = r0; r < r1; r++) {
        const float *z = outputs->data + (size_t)r * classes;
        float *g = grad ? grad + (size_t)r * classes : NULL;
        s.sum += kind == NN_LOSS_CROSS_ENTROPY ? cross_entropy_row(z, target, r, classes, g, scale)
                                               : squared_error_row(z, target, r, classes, g, scale);
        if (target->dist && (classes == 1 || kind != NN_LOSS_CROSS_ENTROPY)) /* a regression */
            s.right += within_half(z, target->dist->data + (size_t)r * classes, classes);
        else
            s.right += nn_argmax(z, classes) == target_class(target, r, classes);
    }
    return s;
}


static nn_row_sums loss_rows(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target, int r0, int r1,
                          float *grad, float scale)
{
#ifdef NN_HAVE_X86_KERNELS
    int classes = (int)nn_tensor_row_size(outputs);
    if (kind == NN_LOSS_CROSS_ENTROPY && target->labels && classes <= 16) {
        if (nn_cpu_kernels() == NN_CPU_AVX512)
            return nn_ce_rows_avx512(outputs, target, r0, r1, grad, scale);
        if (nn_cpu_kernels() == NN_CPU_AVX2)
            return nn_ce_rows_avx2(outputs, target, r0, r1, grad, scale);
    }
#endif
    return nn_loss_rows_plain(kind, outputs, target, r0, r1, grad, scale);
}

/* Rows are summed in at most MAX_PARTS parts of consecutive rows, each
 * part's sum then added in order: the same sums whatever the number of
 * threads. */
#define MAX_PARTS 64
#define MIN_PART_ROWS 256
#define LOSS_THREADED_MIN (1 << 15)

double nn_loss_divisor(nn_loss_kind kind, int batch, int classes)
{
    return kind == NN_LOSS_MSE_MEAN ? (double)batch * classes : (double)batch;
}

nn_status nn_loss_compute(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *target,
                          double *loss, float *grad, long *correct, nn_error *err)
{
    double sum;
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    nn_status st = nn_loss_sum(kind, outputs, target, n, &sum, grad, correct, err);
    if (st == NN_OK)
        *loss = sum / nn_loss_divisor(kind, n, classes);
    return st;
}

nn_status nn_loss_sum(nn_loss_kind kind, const nn_tensor *outputs, const nn_target *given, int batch,
                      double *sum, float *grad, long *correct, nn_error *err)
{
    nn_status st = nn_target_check(kind, given, outputs, err);
    if (st != NN_OK)
        return st;
    nn_tensor view;
    nn_target e = effective_target(kind, given, outputs, &view);
    const nn_target *target = &e;
    int n = outputs->shape[0], classes = (int)nn_tensor_row_size(outputs);
    if (n == 0)
        return nn_fail(err, NN_ESHAPE, "%s: empty batch", nn_loss_name(kind));
    float scale = (float)(1.0 / nn_loss_divisor(kind, batch, classes));
    int part_rows = (n + MAX_PARTS - 1) / MAX_PARTS;
    part_rows = part_rows < MIN_PART_ROWS ? MIN_PART_ROWS : part_rows;
    int parts = (n + part_rows - 1) / part_rows;
    double sums[MAX_PARTS];
    long right = 0;
    int threads = (double)n * classes >= LOSS_THREADED_MIN ? nn_get_threads() : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : right) if (threads > 1)
#endif
    for (int p = 0; p < parts; p++) {
        int last = (p + 1) * part_rows < n ? (p + 1) * part_rows : n;
        nn_row_sums rs = loss_rows(kind, outputs, target, p * part_rows, last, grad, scale);
        sums[p] = rs.sum;
        right += rs.right;
    }
    double total = 0;
    for (int p = 0; p < parts; p++)
        total += sums[p];
    *sum = total;
    if (correct)
        *correct += right;
    return NN_OK;
}
