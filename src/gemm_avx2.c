/* gemm_avx2.c - the AVX2 small products (gemm_kernels.h): blocks of up to
 * 6 rows by 16 columns of c whose sums stay in 12 registers, each step of
 * k two loads of b's row and a broadcast of each row's a; the columns past
 * the last 16 by 8 and then one at a time. */
#include "gemm_kernels.h"

#ifdef NN_HAVE_X86_KERNELS
#include <immintrin.h>
#include <math.h>

#include "avx2.h"

#define ROWS 6

/* op(a)'s element (i, p): a row-major (i at stride ri, p at stride rp). */
#define A_AT(i, p) (a[(size_t)(i) * ri + (size_t)(p) * rp])

/* Rows i0..i0+MR-1 of c, MR a constant. */
#define DEFINE_ROWS(MR)                                                                                  \
    NN_AVX2 static void rows_##MR(int i0, int n, int k, const float *a, size_t ri, size_t rp, const float *b, \
                                  int ldb, float *c, int ldc)                                            \
    {                                                                                                    \
        int j = 0;                                                                                       \
        for (; j + 16 <= n; j += 16) {                                                                   \
            __m256 lo[MR], hi[MR];                                                                       \
            for (int r = 0; r < MR; r++)                                                                 \
                lo[r] = hi[r] = _mm256_setzero_ps();                                                     \
            for (int p = 0; p < k; p++) {                                                                \
                const float *bp = b + (size_t)p * ldb + j;                                               \
                __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);                           \
                for (int r = 0; r < MR; r++) {                                                           \
                    __m256 av = _mm256_broadcast_ss(&A_AT(i0 + r, p));                                   \
                    lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);                                              \
                    hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);                                              \
                }                                                                                        \
            }                                                                                            \
            for (int r = 0; r < MR; r++) {                                                               \
                _mm256_storeu_ps(c + (size_t)(i0 + r) * ldc + j, lo[r]);                                 \
                _mm256_storeu_ps(c + (size_t)(i0 + r) * ldc + j + 8, hi[r]);                             \
            }                                                                                            \
        }                                                                                                \
        for (; j + 8 <= n; j += 8) {                                                                     \
            __m256 acc[MR];                                                                              \
            for (int r = 0; r < MR; r++)                                                                 \
                acc[r] = _mm256_setzero_ps();                                                            \
            for (int p = 0; p < k; p++) {                                                                \
                __m256 b0 = _mm256_loadu_ps(b + (size_t)p * ldb + j);                                    \
                for (int r = 0; r < MR; r++)                                                             \
                    acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&A_AT(i0 + r, p)), b0, acc[r]);         \
            }                                                                                            \
            for (int r = 0; r < MR; r++)                                                                 \
                _mm256_storeu_ps(c + (size_t)(i0 + r) * ldc + j, acc[r]);                                \
        }                                                                                                \
        for (; j < n; j++)                                                                               \
            for (int r = 0; r < MR; r++) {                                                               \
                float s = 0;                                                                             \
                for (int p = 0; p < k; p++)                                                              \
                    s = fmaf(A_AT(i0 + r, p), b[(size_t)p * ldb + j], s);                                \
                c[(size_t)(i0 + r) * ldc + j] = s;                                                       \
            }                                                                                            \
    }

DEFINE_ROWS(1)
DEFINE_ROWS(2)
DEFINE_ROWS(3)
DEFINE_ROWS(4)
DEFINE_ROWS(5)
DEFINE_ROWS(6)

typedef void (*rows_fn)(int, int, int, const float *, size_t, size_t, const float *, int, float *, int);
static const rows_fn row_blocks[ROWS + 1] = {NULL, rows_1, rows_2, rows_3, rows_4, rows_5, rows_6};

void nn_small_gemm_avx2(int trans_a, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                        int ldc)
{
    size_t ri = trans_a ? 1 : (size_t)lda, rp = trans_a ? (size_t)lda : 1;
    for (int i0 = 0; i0 < m; i0 += ROWS)
        row_blocks[m - i0 < ROWS ? m - i0 : ROWS](i0, n, k, a, ri, rp, b, ldb, c, ldc);
}
#endif
