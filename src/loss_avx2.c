/* loss_avx2.c - the AVX2 cross-entropy rows (loss_kernels.h): a row of up
 * to 16 classes in two registers, as loss_avx512.c has it in one. */
#include <math.h>

#include "loss_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>

#include "avx2.h"

/* e^x for x <= 0 (loss_kernels.h's Cephes expf), the scaling by 2^n
 * through the exponent's bits. */
NN_AVX2_INLINE __m256 exp_avx2(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(NN_EXP_LOWEST));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(NN_EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(NN_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(NN_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(NN_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NN_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NN_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NN_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NN_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NN_EXP_P5));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

/* Cross-entropy against labels for up to 16 classes: the softmax, the
 * loss, the gradient and the argmax (the first maximum) without a scalar
 * loop. */
NN_AVX2 nn_row_sums nn_ce_rows_avx2(const nn_tensor *outputs, const nn_target *target, int r0, int r1, float *grad,
                                    float scale)
{
    const float *labels = target->labels;
    int classes = (int)nn_tensor_row_size(outputs);
    const __m256i live[2] = {nn_first_lanes8(classes), nn_first_lanes8(classes - 8)};
    const __m256 lanes[2] = {_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15)};
    const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
    nn_row_sums s = {0, 0};
    nn_log_product lp = {1, 0};
    for (int r = r0; r < r1; r++) {
        const float *z = outputs->data + (size_t)r * classes;
        __m256 zv[2];
        for (int v = 0; v < 2; v++)
            zv[v] = _mm256_maskload_ps(z + 8 * v, live[v]);
        __m256 bad = _mm256_or_ps(_mm256_cmp_ps(_mm256_sub_ps(zv[0], zv[0]), _mm256_setzero_ps(), _CMP_NEQ_UQ),
                                  _mm256_cmp_ps(_mm256_sub_ps(zv[1], zv[1]), _mm256_setzero_ps(), _CMP_NEQ_UQ));
        if (_mm256_movemask_ps(bad)) {
            nn_ce_row_reference(&s, outputs, target, r, grad, scale);
            continue;
        }
        for (int v = 0; v < 2; v++)
            zv[v] = _mm256_blendv_ps(minus_inf, zv[v], _mm256_castsi256_ps(live[v]));
        float mx = nn_max8(_mm256_max_ps(zv[0], zv[1]));
        __m256 m = _mm256_set1_ps(mx), e[2];
        for (int v = 0; v < 2; v++)
            e[v] = _mm256_and_ps(exp_avx2(_mm256_sub_ps(zv[v], m)), _mm256_castsi256_ps(live[v]));
        float sum = nn_sum8(_mm256_add_ps(e[0], e[1]));
        int label = (int)labels[r];
        s.sum += (double)mx - z[label];
        nn_log_product_add(&lp, &s.sum, sum);
        unsigned at_max = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(zv[0], m, _CMP_EQ_OQ)) |
                          (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(zv[1], m, _CMP_EQ_OQ)) << 8;
        s.right += (int)__builtin_ctz(at_max) == label;
        if (grad) {
            __m256 f = _mm256_set1_ps(scale / sum), l = _mm256_set1_ps((float)label);
            for (int v = 0; v < 2; v++) {
                __m256 g = _mm256_mul_ps(e[v], f);
                __m256 hot = _mm256_and_ps(_mm256_cmp_ps(lanes[v], l, _CMP_EQ_OQ), _mm256_set1_ps(scale));
                nn_store_lanes8(grad + (size_t)r * classes + 8 * v, _mm256_sub_ps(g, hot), classes - 8 * v);
            }
        }
    }
    nn_log_product_end(&lp, &s.sum);
    return s;
}
#endif
