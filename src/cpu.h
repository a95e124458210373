/* cpu.h - which CPU kernels run. Each kernel with intrinsics has a
 * plain-C reference beside it, in files of their own (sparse_plain.c,
 * sparse_avx2.c, sparse_avx512.c, blocks_plain.c, blocks_avx512.c,
 * loss_avx2.c, loss_avx512.c,
 * data_avx2.c, data_avx512.c, conv_avx2.c, conv_avx512.c, gemm_avx2.c,
 * pool_avx2.c, pool_avx512.c); the variant is chosen here once, the
 * widest the CPU has, unless a test forces another to compare it with the
 * reference. (GCC's target clones of NN_HOT loops, hot.h, are chosen by
 * the loader instead.) */
#ifndef NN_CPU_H
#define NN_CPU_H

typedef enum {
    NN_CPU_AUTO = 0,  /* the widest the CPU has */
    NN_CPU_PLAIN,     /* the references, any CPU */
    NN_CPU_AVX2,      /* AVX2 with FMA */
    NN_CPU_AVX512     /* AVX-512 F */
} nn_cpu_kind;

#if defined(__GNUC__) && defined(__x86_64__)
#define NN_HAVE_X86_KERNELS 1
#endif

/* 1 if this CPU runs kind's kernels (AUTO and PLAIN: always). */
int nn_cpu_supports(nn_cpu_kind kind);
/* Makes kind's kernels run from now on (AUTO: the widest again); 0, and
 * nothing changed, if the CPU lacks them. */
int nn_cpu_force(nn_cpu_kind kind);
/* The kernels that run: PLAIN, AVX2 or AVX512. */
nn_cpu_kind nn_cpu_kernels(void);

#endif
