/*
 * fma_probe.c - the peak the benchmark measures its GFLOP/s against: one core running a tight
 * loop of independent vector FMAs. Plain C with GCC vector extensions; bench.mk compiles this
 * one file with -O3 -march=native -ffp-contract=fast so that `acc * a + b` becomes one fused
 * multiply-add of the widest vectors the machine has. Sixteen accumulators hide the FMA
 * latency (4 cycles on two pipes needs at least 8 in flight).
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "bench_layers.h"

typedef float vfloat __attribute__((vector_size(64)));
#define LANES 16
#define CHAINS 16

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs `rounds` rounds of CHAINS vector FMAs; returns a value that depends on all of them, so
 * that the compiler cannot drop the loop. */
static float run(long rounds, float a0, float b0)
{
    vfloat acc[CHAINS], a, b;
    for (int i = 0; i < LANES; i++) {
        a[i] = a0;
        b[i] = b0;
    }
    for (int c = 0; c < CHAINS; c++)
        for (int i = 0; i < LANES; i++)
            acc[c][i] = (float)(c + i) * 1e-3f;
    for (long r = 0; r < rounds; r++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = acc[c] * a + b;
    float sum = 0.0f;
    for (int c = 0; c < CHAINS; c++)
        for (int i = 0; i < LANES; i++)
            sum += acc[c][i];
    return sum;
}

double bench_fma_peak_gflops(void)
{
    /* Read through volatile so that the constants are unknown at compile time. */
    volatile float a = 0.999f, b = 1e-3f, sink = 0.0f;
    long rounds = 1L << 16;
    double best = 0.0;
    /* Grow the loop to ~10 ms, then keep the best of fifteen runs of that length: on a shared
     * machine the best run is the one least disturbed. */
    while (rounds < (1L << 30)) {
        double t0 = now();
        sink += run(rounds, a, b);
        if (now() - t0 > 0.01)
            break;
        rounds *= 2;
    }
    for (int k = 0; k < 15; k++) {
        double t0 = now();
        sink += run(rounds, a, b);
        double t = now() - t0;
        double gflops = 2.0 * LANES * CHAINS * (double)rounds / t * 1e-9;
        if (gflops > best)
            best = gflops;
    }
    (void)sink;
    return best;
}
