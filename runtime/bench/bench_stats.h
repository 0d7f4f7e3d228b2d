/*
 * bench_stats.h - timing for the benchmark: a monotonic clock and the summary of a run of
 * repetitions (median, quartiles, extremes), so that the spread is reported with the median.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

typedef struct bench_stats {
    double median, q1, q3, min, max; /* seconds */
    int reps;
} bench_stats;

double bench_now(void);
/* Sorts t[0..n) and summarises it. */
bench_stats bench_summarise(double *t, int n);

#endif
