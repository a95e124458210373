/* rng.h - reproducible random streams (xoshiro256** seeded by splitmix64).
 *
 * One root seed gives independent streams, one per purpose, so that e.g. a
 * change in how many numbers initialisation draws never shifts the shuffles. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} nn_rng;

enum {
    NN_STREAM_INIT = 1,    /* parameter initialisation */
    NN_STREAM_SHUFFLE = 2, /* per-epoch mini-batch order */
    NN_STREAM_SPLIT = 3,   /* dataset splits */
    NN_STREAM_DROPOUT = 4, /* dropout masks */
    NN_STREAM_SAMPLE = 5   /* the parameters a gradient check samples */
};

/* Seeds stream number `stream` of root seed `seed`. */
void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);

uint64_t nn_rng_next(nn_rng *r);

/* 1 unless the state is all zero, where xoshiro256** only gives zeros. */
int nn_rng_valid(const nn_rng *r);

/* Uniform double in [0, 1) with 53 random bits. */
double nn_rng_uniform(nn_rng *r);

/* out[i] = hit where the i-th of n uniform draws (nn_rng_uniform's) is at
 * least p, else 0: the same draws and outcomes as n calls, in a loop that
 * keeps the state in registers and compares the draws' 53 bits. */
void nn_rng_threshold(float *out, size_t n, double p, float hit, nn_rng *r);

/* Standard normal deviate (Box-Muller). */
double nn_rng_normal(nn_rng *r);

/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t nn_rng_below(nn_rng *r, uint64_t n);

/* Fisher-Yates shuffle of idx[0..n). */
void nn_rng_shuffle(nn_rng *r, int32_t *idx, int32_t n);

#endif
