/*
 * bench_stats.c - see bench_stats.h.
 */
#include "bench_stats.h"

#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value at fraction q of the sorted t, interpolated between neighbours. */
static double quantile(const double *t, int n, double q)
{
    double at = q * (n - 1);
    int lo = (int)at;
    if (lo >= n - 1)
        return t[n - 1];
    return t[lo] + (at - lo) * (t[lo + 1] - t[lo]);
}

bench_stats bench_summarise(double *t, int n)
{
    bench_stats s = {0};
    if (n <= 0)
        return s;
    qsort(t, (size_t)n, sizeof *t, by_value);
    s.reps = n;
    s.min = t[0];
    s.max = t[n - 1];
    s.median = quantile(t, n, 0.5);
    s.q1 = quantile(t, n, 0.25);
    s.q3 = quantile(t, n, 0.75);
    return s;
}
