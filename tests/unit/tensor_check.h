/*
 * tensor_check.h - helpers for the numerical tests: compare two tensors with a tolerance
 * (printing the first few differing values and the largest difference, as llm.c's
 * test_gpt2.c does), fill tensors with reproducible random numbers, and an assertion macro
 * that prints the expression it checked.
 *
 * Header-only so that every test program stays one .c file; all functions are static.
 */
#ifndef TENSOR_CHECK_H
#define TENSOR_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How many failures the current program has seen; main returns non-zero when it is not 0. */
static int tc_failures;

/* Records a failed expectation with the test's own file and line. */
#define TC_EXPECT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);           \
            tc_failures++;                                                                \
        }                                                                                 \
    } while (0)

/* |got - want| <= atol + rtol * |want| for every value. On failure prints up to five
 * offending values and, always on failure, the largest absolute difference and where it is.
 * Returns 1 when the tensors agree. */
static int tc_close(const char *what, const float *got, const float *want, size_t n, double rtol,
                    double atol)
{
    size_t bad = 0, worst = 0;
    double max_diff = 0.0;
    for (size_t k = 0; k < n; k++) {
        double diff = fabs((double)got[k] - want[k]);
        int ok = diff <= atol + rtol * fabs((double)want[k]);
        if (!(diff <= max_diff) || isnan(diff)) {
            max_diff = diff;
            worst = k;
        }
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s[%zu]: got %.9g, want %.9g (diff %.3g)\n", what, k,
                        (double)got[k], (double)want[k], diff);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "%s: %zu of %zu values differ; max |diff| %.3g at [%zu] (rtol %g, atol %g)\n",
                what, bad, n, max_diff, worst, rtol, atol);
        tc_failures++;
        return 0;
    }
    return 1;
}

/* One scalar, with the same rule. */
static int tc_close1(const char *what, double got, double want, double rtol, double atol)
{
    double diff = fabs(got - want);
    if (diff <= atol + rtol * fabs(want))
        return 1;
    fprintf(stderr, "%s: got %.9g, want %.9g (diff %.3g, rtol %g, atol %g)\n", what, got, want,
            diff, rtol, atol);
    tc_failures++;
    return 0;
}

/* A splitmix64 stream: tests own their random numbers so that they depend on no library. */
typedef struct tc_rng { uint64_t state; } tc_rng;

static uint64_t tc_next(tc_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static double tc_uniform(tc_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tc_next(r) >> 11) / 9007199254740992.0;
}

static void tc_fill(tc_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t k = 0; k < n; k++)
        x[k] = (float)tc_uniform(r, lo, hi);
}

#endif
