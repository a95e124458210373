/* sgemm_peak.c - OpenBLAS's single-precision matrix product rate on this
 * machine, the yardstick of workload B3's alternative goal:
 *   sgemm_peak [n] [threads]   prints "gflops=<best of 5 n^3 products>"
 * Run with the OPENBLAS_CORETYPE that nnlab uses (bench/run.sh does). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    if (n < 64 || n > 8192) {
        fprintf(stderr, "sgemm_peak: n must be in 64..8192\n");
        return 2;
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    size_t count = (size_t)n * (size_t)n;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b), *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm_peak: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        a[i] = (float)(i % 7) * 0.125f;
        b[i] = (float)(i % 5) * 0.25f;
    }
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = now() - t0;
        if (rep > 0 && t < best) /* the first run warms up */
            best = t;
    }
    printf("gflops=%.1f\tkernel=%s\tthreads=%d\n", 2.0 * n * n * (double)n / best / 1e9, openblas_get_corename(),
           openblas_get_num_threads());
    free(a);
    free(b);
    free(c);
    return 0;
}
