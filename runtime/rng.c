/*
 * rng.c - the runtime's random numbers: a seedable xoroshiro128+ generator for initialisation
 * and shuffling. (Dropout masks are drawn by the generated code itself, from a key.)
 *
 * Every stream is a pure function of its seed, so that a run is repeatable from the model's
 * seed alone, on any machine and with any number of threads.
 */
#include <math.h>

#include "cnnrt.h"

/* splitmix64: turns any 64-bit value, even 0 or a small counter, into a well-mixed one. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void cnn_rng_seed(cnn_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    r->s[0] = splitmix64(&x);
    r->s[1] = splitmix64(&x);
    /* xoroshiro's state must not be all zero; splitmix64 never gives two zeros in a row,
     * but the guard costs nothing and keeps the generator safe whatever changes above. */
    if (r->s[0] == 0 && r->s[1] == 0)
        r->s[1] = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoroshiro128+ (Blackman and Vigna): fast, and its high bits, which we use, are good. */
uint64_t cnn_rng_next(cnn_rng *r)
{
    uint64_t s0 = r->s[0], s1 = r->s[1];
    uint64_t result = s0 + s1;
    s1 ^= s0;
    r->s[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    r->s[1] = rotl(s1, 37);
    return result;
}

double cnn_rng_uniform(cnn_rng *r)
{
    /* The top 53 bits make every double in [0, 1) with that spacing equally likely. */
    return (double)(cnn_rng_next(r) >> 11) * 0x1.0p-53;
}

double cnn_rng_normal(cnn_rng *r)
{
    /* Box-Muller, keeping one of the pair: the state has no room for the second, and
     * initialisation is far too cheap for the waste to matter. u1 is in (0, 1] so the log
     * is finite. */
    double u1 = 1.0 - cnn_rng_uniform(r);
    double u2 = cnn_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}
