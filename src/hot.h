/* hot.h - NN_HOT marks the few loops that dominate a training step: GCC
 * compiles them twice, for CPUs with AVX2 and for any x86-64, and
 * the program picks one when it starts (function multiversioning), so the
 * build stays portable. Without GCC on x86-64 it marks nothing. */
#ifndef NN_HOT_H
#define NN_HOT_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NN_NO_CLONES)
#define NN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define NN_HOT
#endif

#endif
