#include "rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* One step of xoshiro256** on the state s */
static inline uint64_t xoshiro_step(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t nn_rng_next(nn_rng *r)
{
    return xoshiro_step(r->s);
}

double nn_rng_uniform(nn_rng *r)
{
    return (double)(nn_rng_next(r) >> 11) * 0x1.0p-53;
}

void nn_rng_threshold(float *out, size_t n, double p, float hit, nn_rng *r)
{
    /* u = b 2^-53 >= p exactly when b >= ceil(p 2^53), b < 2^53 (both exact
     * in double); p of 1 or more, or NaN, is never reached, as by u */
    double scaled = ceil(p * 0x1.0p53);
    uint64_t at_least = !(scaled < 0x1.0p53) ? UINT64_C(1) << 53 : scaled > 0 ? (uint64_t)scaled : 0;
    uint64_t s[4] = {r->s[0], r->s[1], r->s[2], r->s[3]}; /* in registers */
    for (size_t i = 0; i < n; i++)
        out[i] = (xoshiro_step(s) >> 11) >= at_least ? hit : 0.0f;
    memcpy(r->s, s, sizeof s);
}

double nn_rng_normal(nn_rng *r)
{
    double u1 = 1.0 - nn_rng_uniform(r); /* (0, 1]: log stays finite */
    double u2 = nn_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

uint64_t nn_rng_below(nn_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = nn_rng_next(r);
    while (x >= limit);
    return x % n;
}

void nn_rng_shuffle(nn_rng *r, int32_t *idx, int32_t n)
{
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)nn_rng_below(r, (uint64_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

int nn_rng_valid(const nn_rng *r)
{
    return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0;
}
