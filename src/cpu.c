#include "cpu.h"

static nn_cpu_kind forced = NN_CPU_AUTO;

int nn_cpu_supports(nn_cpu_kind kind)
{
#ifdef NN_HAVE_X86_KERNELS
    if (kind == NN_CPU_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (kind == NN_CPU_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return kind == NN_CPU_PLAIN || kind == NN_CPU_AUTO;
}

int nn_cpu_force(nn_cpu_kind kind)
{
    if (!nn_cpu_supports(kind))
        return 0;
    forced = kind;
    return 1;
}

nn_cpu_kind nn_cpu_kernels(void)
{
    if (forced != NN_CPU_AUTO)
        return forced;
    if (nn_cpu_supports(NN_CPU_AVX512))
        return NN_CPU_AVX512;
    return nn_cpu_supports(NN_CPU_AVX2) ? NN_CPU_AVX2 : NN_CPU_PLAIN;
}
