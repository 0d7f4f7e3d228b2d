/*
 * fma_probe.c - the peaks the benchmark measures its GFLOP/s against: for every instruction set
 * the CPU reports, a tight loop of independent multiply-adds in that instruction set's own
 * vectors, on one core and on two cores at once.
 *
 * The loops are written with intrinsics in functions that carry their own
 * __attribute__((target(...))), so that each one runs the instruction set it names whatever
 * the kernels or the rest of the program were compiled for (an earlier probe used the kernels'
 * vector type and, on AVX2, measured their scalar fallback: 7 GFLOP/s on a 100 GFLOP/s core).
 * bench.mk compiles this file without -march=native and with -ffp-contract=off, so the SSE2
 * loop stays a multiply and an add and is never fused into an FMA behind our back. Which loops
 * may run is decided at run time with __builtin_cpu_supports.
 *
 * Each loop keeps more independent accumulators than the FMA latency times the number of FMA
 * pipes (4 cycles x 2 pipes on Zen and on Intel since Skylake: 8 in flight), as many as the
 * registers allow without spilling: 12 of the 16 xmm/ymm registers, 24 of the 32 zmm or NEON
 * ones. Every accumulator runs acc = acc * a + b with a = 0.999, which converges to
 * b / (1 - a) = 1, so no value ever becomes a denormal or overflows.
 *
 * Cycles on x86-64 are counted with the time-stamp counter (rdtsc) around the same runs as the
 * clock. It needs no permission, unlike perf_event, which virtual machines and containers often
 * refuse, and every x86-64 CPU with FMA has an invariant TSC (constant_tsc). It ticks at the
 * nominal frequency, so under turbo the FLOP per core cycle are lower than the FLOP per TSC
 * cycle by the boost ratio (at most about 1.5x): a figure to compare with the 16 (SSE2 mul+add),
 * 32 (AVX2 FMA) or 64 (AVX-512 on full-width units) FLOP per cycle of two pipes, not an exact one.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_layers.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <x86intrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#define PROBE_REPEATS 25      /* runs of ~10 ms; the best is kept, the least disturbed one */
#define PROBE_RUN_SECONDS 0.01

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long ticks(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

/* One probe loop: `rounds` rounds of CHAINS multiply-adds of LANES floats; returns a value that
 * depends on every accumulator, so that the compiler cannot drop the loop. */
typedef float (*probe_loop)(long rounds, float a, float b);

/* ------------------------------------------------------------------ the loops */

#if defined(__x86_64__)
#define SSE2_CHAINS 12
#define AVX2_CHAINS 12
#define AVX512_CHAINS 24

/* SSE2 has no FMA: a multiply then a dependent add, 2 FLOP a lane, on the separate multiply and
 * add pipes where the CPU has them. */
__attribute__((target("sse2"))) static float loop_sse2(long rounds, float a0, float b0)
{
    __m128 acc[SSE2_CHAINS], a = _mm_set1_ps(a0), b = _mm_set1_ps(b0);
#pragma GCC unroll 32
    for (int c = 0; c < SSE2_CHAINS; c++)
        acc[c] = _mm_set1_ps((float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 32
        for (int c = 0; c < SSE2_CHAINS; c++)
            acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], a), b);
    }
    __m128 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < SSE2_CHAINS; c++)
        sum = _mm_add_ps(sum, acc[c]);
    return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma"))) static float loop_avx2(long rounds, float a0, float b0)
{
    __m256 acc[AVX2_CHAINS], a = _mm256_set1_ps(a0), b = _mm256_set1_ps(b0);
#pragma GCC unroll 32
    for (int c = 0; c < AVX2_CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 32
        for (int c = 0; c < AVX2_CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
    __m256 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < AVX2_CHAINS; c++)
        sum = _mm256_add_ps(sum, acc[c]);
    return _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"))) static float loop_avx512(long rounds, float a0, float b0)
{
    __m512 acc[AVX512_CHAINS], a = _mm512_set1_ps(a0), b = _mm512_set1_ps(b0);
#pragma GCC unroll 32
    for (int c = 0; c < AVX512_CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 32
        for (int c = 0; c < AVX512_CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    __m512 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < AVX512_CHAINS; c++)
        sum = _mm512_add_ps(sum, acc[c]);
    return _mm512_reduce_add_ps(sum);
}
#endif

#if defined(__aarch64__)
#define NEON_CHAINS 24

/* NEON is part of every AArch64 CPU: fmla on 4 floats. */
static float loop_neon(long rounds, float a0, float b0)
{
    float32x4_t acc[NEON_CHAINS], a = vdupq_n_f32(a0), b = vdupq_n_f32(b0);
#pragma GCC unroll 32
    for (int c = 0; c < NEON_CHAINS; c++)
        acc[c] = vdupq_n_f32((float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 32
        for (int c = 0; c < NEON_CHAINS; c++)
            acc[c] = vfmaq_f32(b, acc[c], a);
    }
    float32x4_t sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < NEON_CHAINS; c++)
        sum = vaddq_f32(sum, acc[c]);
    return vaddvq_f32(sum);
}
#endif

/* ------------------------------------------------------------------ running them */

typedef struct probe_kind {
    const char *isa, *insn;
    probe_loop loop;
    int lanes, chains;
} probe_kind;

/* One thread's share of a timed run. */
typedef struct probe_run {
    probe_loop loop;
    long rounds;
    pthread_barrier_t *start;
    double seconds;
    unsigned long long ticks;
    float sink;
} probe_run;

static void *run_one(void *arg)
{
    probe_run *r = arg;
    /* Read through volatile so that the constants are unknown at compile time. */
    volatile float a = 0.999f, b = 1e-3f;
    if (r->start != NULL)
        pthread_barrier_wait(r->start);
    double t0 = now();
    unsigned long long k0 = ticks();
    r->sink = r->loop(r->rounds, a, b);
    r->ticks = ticks() - k0;
    r->seconds = now() - t0;
    return NULL;
}

/* Runs the loop on `threads` threads at once, started together; the slowest thread's time
 * counts, as the work is only done when all of them are. 0 after a failure to start a thread. */
static int run_together(probe_loop loop, long rounds, int threads, probe_run *runs)
{
    pthread_t tid[2];
    pthread_barrier_t start;
    int started = 0;
    if (threads > 1 && pthread_barrier_init(&start, NULL, (unsigned)threads) != 0)
        return 0;
    for (int t = 0; t < threads; t++)
        runs[t] = (probe_run){.loop = loop, .rounds = rounds, .start = threads > 1 ? &start : NULL};
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, run_one, &runs[t]) != 0)
            break;
        started++;
    }
    if (started == threads - 1)
        run_one(&runs[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    if (threads > 1)
        pthread_barrier_destroy(&start);
    return started == threads - 1;
}

/* Grows the loop to PROBE_RUN_SECONDS on one thread, then keeps the best of PROBE_REPEATS runs
 * on one core and on two. */
static void measure(const probe_kind *k, bench_probe *p)
{
    const double flop_per_round = 2.0 * k->lanes * k->chains;
    probe_run runs[2];
    long rounds = 1L << 12;
    while (rounds < (1L << 32)) {
        run_together(k->loop, rounds, 1, runs);
        if (runs[0].seconds > PROBE_RUN_SECONDS)
            break;
        rounds *= 2;
    }
    *p = (bench_probe){.isa = k->isa, .insn = k->insn, .lanes = k->lanes, .chains = k->chains};
    for (int threads = 1; threads <= 2; threads++)
        for (int rep = 0; rep < PROBE_REPEATS; rep++) {
            if (!run_together(k->loop, rounds, threads, runs))
                continue;
            double slowest = runs[0].seconds;
            for (int t = 1; t < threads; t++)
                slowest = runs[t].seconds > slowest ? runs[t].seconds : slowest;
            double gflops = threads * flop_per_round * (double)rounds / slowest * 1e-9;
            if (threads == 1 && gflops > p->gflops_one) {
                p->gflops_one = gflops;
                p->flop_per_cycle = runs[0].ticks > 0 ? flop_per_round * (double)rounds / (double)runs[0].ticks : 0.0;
                p->tsc_ghz = runs[0].ticks > 0 ? (double)runs[0].ticks / runs[0].seconds * 1e-9 : 0.0;
            }
            if (threads == 2 && gflops > p->gflops_two)
                p->gflops_two = gflops;
        }
}

int bench_fma_probe(bench_probe *out, int max)
{
    probe_kind kinds[4];
    int count = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* SSE2 is part of x86-64 itself. */
    kinds[count++] = (probe_kind){"sse2", "mulps + addps (no FMA)", loop_sse2, 4, SSE2_CHAINS};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        kinds[count++] = (probe_kind){"avx2", "vfmadd ymm", loop_avx2, 8, AVX2_CHAINS};
    if (__builtin_cpu_supports("avx512f"))
        kinds[count++] = (probe_kind){"avx512", "vfmadd zmm", loop_avx512, 16, AVX512_CHAINS};
#elif defined(__aarch64__)
    kinds[count++] = (probe_kind){"neon", "fmla v.4s", loop_neon, 4, NEON_CHAINS};
#endif
    int n = 0;
    for (int i = 0; i < count && n < max; i++)
        measure(&kinds[i], &out[n++]);
    return n;
}

/* The probe a target's kernels are measured against: its own instruction set. Code from before
 * targets existed (NULL) and `generic` C are compiled with -march=native and may use whatever
 * the machine has, so they are held to the widest probe. */
const bench_probe *bench_probe_for_target(const bench_probe *probes, int count, const char *target)
{
    static const char *const isa_of[][2] = {
        {"x86-64", "sse2"}, {"avx2", "avx2"}, {"avx512", "avx512"}, {"neon", "neon"},
    };
    if (count <= 0)
        return NULL;
    if (target != NULL)
        for (size_t i = 0; i < sizeof isa_of / sizeof isa_of[0]; i++)
            if (strcmp(target, isa_of[i][0]) == 0) {
                for (int k = 0; k < count; k++)
                    if (strcmp(probes[k].isa, isa_of[i][1]) == 0)
                        return &probes[k];
                return NULL; /* code for an instruction set this CPU lacks */
            }
    return &probes[count - 1];
}
