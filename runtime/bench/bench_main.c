/*
 * bench_main.c - `PROGRAM bench [--iters N] [--threads N] [--json FILE]`, in programs built
 * with `cnnc build --bench`: for every layer, the median time of its forward and backward
 * pass over one batch in the generated code, the reference layers, im2col+BLAS and oneDNN in
 * its own layouts (with the time of its reorders apart), with the
 * spread, the speed-ups and the GFLOP/s against the peak an FMA probe measured for the
 * instruction set the model was generated for (fma_probe.c); then a whole training step, the
 * cost of batchnorm's sums across the threads of that step (time_sync), and inference.
 * Everything is checked to agree first (bench_check.c).
 *
 * Per-layer passes run on one thread everywhere (OpenBLAS and oneDNN included), so that the
 * table compares the code and not the thread count; --threads applies to the whole training
 * step, where the generated code splits the batch as the trainer does and OpenBLAS and oneDNN
 * thread their primitives.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl_version.h>

#include "bench_internal.h"
#include "bench_stats.h"
#include "cnnrt.h"
#include "ref_layers.h"
#include "team.h"

#define WARMUP 2

typedef struct options {
    int iters, threads;
    const char *json;
} options;

/* Figures of one pass (or step) of the four implementations. */
typedef struct pass_times {
    int timed;                  /* 0 for a pass that does nothing */
    double flop;                /* per batch; 0 where GFLOP/s mean nothing (no multiply-adds) */
    bench_stats t[IMPL_COUNT];  /* oneDNN's: its primitives in its own layouts */
    bench_stats reorders;       /* oneDNN's reorders into those layouts and out (a step: those within it) */
    double dnnl_choice, dnnl_direct; /* oneDNN's medians with its choice of algorithm and direct */
    int direct;                 /* direct convolution was the faster: it is in t[IMPL_DNNL] */
} pass_times;

static const char *const impl_keys[IMPL_COUNT] = {"generated", "reference", "blas", "onednn"};

/* What the probe measured, and the peak the model's figures are shares of. */
typedef struct peaks {
    bench_probe probe[4];
    int count;
    const char *target;         /* the model's, "unknown" for code from before targets */
    const bench_probe *used;    /* the probe of the target's instruction set */
    double one, two;            /* its GFLOP/s on one core and on two */
} peaks;

/* The peak of a training step on `threads` threads: the two-core probe for two, which sees how
 * much of the second core the machine really gives. */
static double step_peak(const peaks *pk, int threads)
{
    return threads == 1 ? pk->one : threads == 2 ? pk->two : pk->one * threads;
}

static void measure_peaks(const cnn_model *m, peaks *pk)
{
    pk->count = bench_fma_probe(pk->probe, 4);
    pk->target = m->target != NULL ? m->target : "unknown";
    pk->used = bench_probe_for_target(pk->probe, pk->count, m->target);
    if (pk->used == NULL && pk->count > 0) {
        fprintf(stderr, "bench: warning: this CPU lacks the instructions of target '%s'; "
                        "figures are shares of its widest probe\n", pk->target);
        pk->used = &pk->probe[pk->count - 1];
    }
    pk->one = pk->used != NULL ? pk->used->gflops_one : 0.0;
    pk->two = pk->used != NULL ? pk->used->gflops_two : 0.0;
}

static void print_peaks(const peaks *pk)
{
    printf("target %s; peak %.1f GFLOP/s per core, %.1f on two cores (the %s probe)\n", pk->target, pk->one,
           pk->two, pk->used != NULL ? pk->used->isa : "no");
    printf("%-8s %-24s %6s %7s %13s %14s %14s\n", "probe", "instructions", "lanes", "chains", "GFLOP/s 1 core",
           "GFLOP/s 2 cores", "FLOP/TSC cycle");
    for (int i = 0; i < pk->count; i++) {
        const bench_probe *p = &pk->probe[i];
        char cyc[32] = "-";
        if (p->flop_per_cycle > 0.0)
            snprintf(cyc, sizeof cyc, "%.1f (%.2f GHz)", p->flop_per_cycle, p->tsc_ghz);
        printf("%-8s %-24s %6d %7d %13.1f %14.1f %14s\n", p->isa, p->insn, p->lanes, p->chains, p->gflops_one,
               p->gflops_two, cyc);
    }
}

static int usage(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: error: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: %s bench [--iters N] [--threads N] [--json FILE]\n", prog);
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    const char *prog = argc > 0 ? argv[0] : "bench";
    *o = (options){.iters = 20, .threads = 1};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: %s bench [--iters N] [--threads N] [--json FILE]\n"
                   "  times every layer's forward and backward pass in the generated code, the reference\n"
                   "  layers, im2col+OpenBLAS and oneDNN in its own layouts, its reorders apart (median of\n"
                   "  N repetitions, default 20, after %d warm-ups),\n"
                   "  then a whole training step (on N threads, default 1), what batchnorm's sums across\n"
                   "  those threads cost (with 2 or more), and inference\n",
                   prog, WARMUP);
            return 1;
        }
        if (strcmp(a, "--iters") != 0 && strcmp(a, "--threads") != 0 && strcmp(a, "--json") != 0)
            return usage(prog, "unknown option '%s' for bench", a);
        if (i + 1 >= argc)
            return usage(prog, "%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--json") == 0) {
            if (v[0] == '\0')
                return usage(prog, "%s needs a file name", a);
            o->json = v;
        } else if (parse_int(v, 1, strcmp(a, "--iters") == 0 ? 1000000 : 256,
                             strcmp(a, "--iters") == 0 ? &o->iters : &o->threads) != 0) {
            return usage(prog, "bad number '%s'", v);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ set-up */

static float *alloc_floats(size_t n)
{
    float *p = calloc(n > 0 ? n : 1, sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "bench: error: out of memory\n");
        exit(1);
    }
    return p;
}

static void state_init(bench_state *s, const cnn_model *m)
{
    cnn_rng rng;
    cnn_rng_seed(&rng, 12345);
    *s = (bench_state){.m = m, .n = m->batch};
    s->params = alloc_floats(cnn_param_floats(m));
    cnn_init_params(m, s->params, 42);
    /* Glorot biases start at zero, which would leave the bias paths untested: small random ones. */
    for (int i = 0; i < m->num_tensors; i++)
        if (m->tensors[i].is_bias)
            for (size_t k = 0; k < m->tensors[i].count; k++)
                s->params[m->tensors[i].offset + k] = (float)(0.1 * (cnn_rng_uniform(&rng) - 0.5));
    s->x = alloc_floats((size_t)s->n * m->in_size);
    for (size_t i = 0; i < (size_t)s->n * m->in_size; i++)
        s->x[i] = (float)cnn_rng_uniform(&rng);
    s->labels = malloc((size_t)s->n);
    if (s->labels == NULL) {
        fprintf(stderr, "bench: error: out of memory\n");
        exit(1);
    }
    for (int b = 0; b < s->n; b++)
        s->labels[b] = (unsigned char)(cnn_rng_next(&rng) % (uint64_t)m->classes);
    s->ws0 = alloc_floats(m->workspace_floats);
    m->forward(s->params, s->ws0, s->x, s->n, 1, CNN_BENCH_DROPOUT_KEY, 0, NULL);
    /* Every layer's output gradient, as if the layers after it had run their backward. */
    for (int i = 0; i < m->num_layers; i++) {
        const cnn_layer *l = &m->layers[i];
        if (l->dout >= 0)
            for (size_t k = 0; k < (size_t)s->n * bench_out_size(l); k++)
                s->ws0[l->dout + (long)k] = (float)(cnn_rng_uniform(&rng) - 0.5) * 0.02f;
    }
    size_t scratch[IMPL_COUNT] = {0};
    for (int i = 0; i < m->num_layers; i++) {
        size_t r = bench_ref_impl.scratch_floats(&m->layers[i], s->n);
        size_t b = bench_blas_impl.scratch_floats(&m->layers[i], s->n);
        scratch[IMPL_REFERENCE] = r > scratch[IMPL_REFERENCE] ? r : scratch[IMPL_REFERENCE];
        scratch[IMPL_BLAS] = b > scratch[IMPL_BLAS] ? b : scratch[IMPL_BLAS];
    }
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        s->ws[impl] = alloc_floats(m->workspace_floats);
        s->grads[impl] = alloc_floats(m->num_params);
        s->scratch[impl] = alloc_floats(scratch[impl]);
    }
    int *direct = malloc(sizeof(int) * (size_t)m->num_layers);
    if (direct == NULL)
        exit(1);
    for (int i = 0; i < m->num_layers; i++)
        direct[i] = 1;
    s->dnnl_isa = bench_dnnl_limit_isa(m->target);
    s->dnnl_choice = bench_dnnl_create(m, s->n, s->ws[IMPL_DNNL], s->grads[IMPL_DNNL], 1, NULL);
    s->dnnl_direct = bench_dnnl_create(m, s->n, s->ws[IMPL_DNNL], s->grads[IMPL_DNNL], 1, direct);
    free(direct);
    s->dnnl = s->dnnl_choice;
    s->dnnl_step = s->dnnl_choice;
    s->step_threads = 1;
}

static void state_free(bench_state *s)
{
    if (s->dnnl_step != s->dnnl_choice)
        bench_dnnl_free(s->dnnl_step);
    bench_dnnl_free(s->dnnl_choice);
    bench_dnnl_free(s->dnnl_direct);
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        free(s->ws[impl]);
        free(s->grads[impl]);
        free(s->scratch[impl]);
    }
    free(s->params);
    free(s->x);
    free(s->labels);
    free(s->ws0);
}

/* ------------------------------------------------------------------ timing */

/* Times the pass of implementation `impl` (for oneDNN: of the set `dnnl`, its reorders apart). */
static void time_impl(bench_state *s, int impl, bench_dnnl *dnnl, const cnn_layer *l, int backward, int iters,
                      bench_stats *work, bench_stats *reorders)
{
    double *t = malloc(sizeof(double) * (size_t)iters), *tr = malloc(sizeof(double) * (size_t)iters);
    size_t dout = (size_t)s->n * bench_out_size(l);
    if (t == NULL || tr == NULL)
        exit(1);
    memcpy(s->ws[impl], s->ws0, sizeof(float) * s->m->workspace_floats);
    for (int r = -WARMUP; r < iters; r++) {
        /* The generated backward may scale its output gradient in place: restore it, untimed. */
        if (backward)
            memcpy(s->ws[impl] + l->dout, s->ws0 + l->dout, sizeof(float) * dout);
        double t0 = bench_now(), dt, dr = 0.0;
        if (impl == IMPL_DNNL) {
            bench_dnnl_pass(dnnl, s->params, l, backward, &dt, &dr);
        } else {
            if (backward)
                bench_layer_backward(s, impl, l);
            else
                bench_layer_forward(s, impl, l);
            dt = bench_now() - t0;
        }
        if (r >= 0) {
            t[r] = dt;
            tr[r] = dr;
        }
    }
    *work = bench_summarise(t, iters);
    if (reorders != NULL)
        *reorders = bench_summarise(tr, iters);
    free(t);
    free(tr);
}

/* Every implementation's pass; oneDNN's convolutions both with its own choice of algorithm and
 * direct, the faster of the two kept. */
static void time_layer(bench_state *s, const cnn_layer *l, int backward, int iters, pass_times *p)
{
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        if (impl != IMPL_DNNL) {
            time_impl(s, impl, NULL, l, backward, iters, &p->t[impl], NULL);
            continue;
        }
        time_impl(s, impl, s->dnnl_choice, l, backward, iters, &p->t[impl], &p->reorders);
        p->dnnl_choice = p->dnnl_direct = p->t[impl].median;
        if (l->kind_id == CNN_LAYER_CONV2D) {
            bench_stats work, reorders;
            time_impl(s, impl, s->dnnl_direct, l, backward, iters, &work, &reorders);
            p->dnnl_direct = work.median;
            if (work.median < p->t[impl].median) {
                p->t[impl] = work;
                p->reorders = reorders;
                p->direct = 1;
            }
        }
    }
    p->timed = 1;
}

static double layer_flop(const cnn_layer *l, int n, int backward)
{
    if (l->kind_id != CNN_LAYER_CONV2D && l->kind_id != CNN_LAYER_DENSE)
        return 0.0;
    /* Forward: one multiply-add per MAC. Backward: the kernel gradient costs as much, and the
     * input gradient as much again where one flows back. */
    double forward = 2.0 * (double)l->macs * n;
    return backward ? forward * (l->din >= 0 ? 2.0 : 1.0) : forward;
}

/* FLOP of one training step of n images: each conv2d and dense layer's forward, its kernel
 * gradient, and its input gradient where one flows back (not into the first layer). For the
 * seed model that is (3 * 2,528,000 - 194,688) * 2 = 14.78 MFLOP per image. */
static double training_flop(const cnn_model *m, int n)
{
    double flop = 0.0;
    for (int i = 0; i < m->num_layers; i++)
        flop += layer_flop(&m->layers[i], n, 0) + layer_flop(&m->layers[i], n, 1);
    return flop;
}

/* A training step of each implementation; the parameters move as they would in training. */
static void time_steps(bench_state *s, const options *o, pass_times *p)
{
    const cnn_model *m = s->m;
    double *t = malloc(sizeof(double) * (size_t)o->iters), *tr = malloc(sizeof(double) * (size_t)o->iters);
    float *params = alloc_floats(cnn_param_floats(m)), *mom = alloc_floats(m->num_params),
          *vel = alloc_floats(m->num_params), *keep = s->params;
    cnn_team team;
    if (t == NULL || tr == NULL || cnn_team_init(&team, m, o->threads, 1) != 0)
        exit(1);
    s->params = params;
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        memcpy(params, keep, sizeof(float) * cnn_param_floats(m));
        memset(mom, 0, sizeof(float) * m->num_params);
        memset(vel, 0, sizeof(float) * m->num_params);
        memcpy(s->ws[impl], s->ws0, sizeof(float) * m->workspace_floats);
        bench_blas_threads(impl == IMPL_BLAS ? o->threads : 1);
        bench_dnnl_threads(impl == IMPL_DNNL ? o->threads : 1);
        for (int r = -WARMUP; r < o->iters; r++) {
            long step = r + WARMUP + 1;
            int correct;
            double reorders = 0.0, t0 = bench_now();
            if (impl == IMPL_GENERATED) {
                cnn_team_train_step(&team, params, s->x, s->labels, s->n, CNN_BENCH_DROPOUT_KEY, &correct);
                m->update(params, team.grad, mom, vel, step);
            } else {
                bench_chain_step(s, impl, &reorders);
                if (m->train.optimizer == CNN_OPT_ADAM)
                    ref_adam_step(m->num_params, params, s->grads[impl], mom, vel, step, m->train.learning_rate,
                                  m->train.beta_1, m->train.beta_2, m->train.epsilon);
                else
                    ref_sgd_step(m->num_params, params, s->grads[impl], m->train.momentum > 0 ? mom : NULL,
                                 m->train.learning_rate, m->train.momentum, m->train.nesterov);
            }
            double dt = bench_now() - t0;
            if (r >= 0) {
                t[r] = dt;
                tr[r] = reorders;
            }
        }
        p->t[impl] = bench_summarise(t, o->iters);
        if (impl == IMPL_DNNL)
            p->reorders = bench_summarise(tr, o->iters);
    }
    bench_blas_threads(1);
    bench_dnnl_threads(1);
    p->timed = 1;
    s->params = keep;
    cnn_team_free(&team);
    free(params);
    free(mom);
    free(vel);
    free(t);
    free(tr);
}

/* ------------------------------------------------------------------ batchnorm's synchronisation */

/* What batchnorm's sums across the threads that split a batch cost (cnn_sync, runtime/team.c):
 * the generated training step again, once with the team's batch_sum wrapped to time each
 * thread's calls (the copy of its partials, the barrier, the sum of the batch's), once with a
 * batch_sum that adds the thread's own images only: no barrier, the same loops otherwise, and
 * statistics of half a batch, so that run only times (its parameters are thrown away). */
typedef struct sync_times {
    int measured;               /* the model sums through cnn_sync and the step has 2+ threads */
    int calls;                  /* batch_sum calls a step, per thread */
    bench_stats with, without;  /* the step with the team's sums, and with each thread's own */
    double in_sum;              /* seconds a step that a thread spends in batch_sum (mean over threads) */
} sync_times;

#define SYNC_MAX_THREADS 256
static void (*team_sum)(const cnn_sync *s, const float *part, int n, int count, float *total);
static double sum_seconds[SYNC_MAX_THREADS];
static long sum_calls[SYNC_MAX_THREADS];

static void timed_sum(const cnn_sync *s, const float *part, int n, int count, float *total)
{
    double t0 = bench_now();
    team_sum(s, part, n, count, total);
    sum_seconds[s->slice] += bench_now() - t0;
    sum_calls[s->slice]++;
}

static void own_images_sum(const cnn_sync *s, const float *part, int n, int count, float *total)
{
    (void)s;
    cnn_sum_images(part, n, count, total);
}

static void time_sync(bench_state *s, const options *o, sync_times *st)
{
    const cnn_model *m = s->m;
    cnn_team team;
    *st = (sync_times){0};
    if (m->batch_sum_floats <= 0 || o->threads < 2 || cnn_team_init(&team, m, o->threads, 1) != 0)
        return;
    if (team.syncs == NULL || team.threads < 2 || team.threads > SYNC_MAX_THREADS) {
        cnn_team_free(&team);
        return;
    }
    double *t = malloc(sizeof(double) * (size_t)o->iters);
    float *params = alloc_floats(cnn_param_floats(m)), *mom = alloc_floats(m->num_params),
          *vel = alloc_floats(m->num_params);
    if (t == NULL)
        exit(1);
    team_sum = team.syncs[0].batch_sum;
    for (int variant = 0; variant < 2; variant++) {
        memcpy(params, s->params, sizeof(float) * cnn_param_floats(m));
        memset(mom, 0, sizeof(float) * m->num_params);
        memset(vel, 0, sizeof(float) * m->num_params);
        for (int i = 0; i < team.threads; i++)
            team.syncs[i].batch_sum = variant == 0 ? timed_sum : own_images_sum;
        for (int r = -WARMUP; r < o->iters; r++) {
            int correct;
            if (r == 0)
                for (int i = 0; i < team.threads; i++)
                    sum_seconds[i] = 0.0, sum_calls[i] = 0;
            double t0 = bench_now();
            cnn_team_train_step(&team, params, s->x, s->labels, s->n, CNN_BENCH_DROPOUT_KEY, &correct);
            m->update(params, team.grad, mom, vel, r + WARMUP + 1);
            if (r >= 0)
                t[r] = bench_now() - t0;
        }
        if (variant == 0) {
            st->with = bench_summarise(t, o->iters);
            double total = 0.0;
            for (int i = 0; i < team.threads; i++)
                total += sum_seconds[i];
            st->in_sum = total / team.threads / o->iters;
            st->calls = (int)(sum_calls[0] / o->iters);
        } else {
            st->without = bench_summarise(t, o->iters);
        }
    }
    for (int i = 0; i < team.threads; i++)
        team.syncs[i].batch_sum = team_sum;
    st->measured = 1;
    cnn_team_free(&team);
    free(params);
    free(mom);
    free(vel);
    free(t);
}

/* Inference with the generated code: one image at a time, then a whole batch. */
static void time_inference(bench_state *s, int iters, bench_stats *one, bench_stats *batch)
{
    int reps = iters * 10 < 100 ? 100 : iters * 10;
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (t == NULL)
        exit(1);
    for (int k = 0; k < 2; k++) {
        int n = k == 0 ? 1 : s->n, count = k == 0 ? reps : iters;
        /* Warm for a tenth of a second, not WARMUP calls: right after the training step, the
         * first few hundred single images ran 10-20% slower (a median of 200: 61.5 us against
         * 54.9 us over 1000; avx2 on a Zen 4), and the figure is of the pass, warm. */
        for (double t0 = bench_now(); bench_now() - t0 < 0.1;)
            s->m->forward(s->params, s->ws[IMPL_GENERATED], s->x, n, 0, 0, 0, NULL);
        for (int r = -WARMUP; r < count; r++) {
            double t0 = bench_now();
            s->m->forward(s->params, s->ws[IMPL_GENERATED], s->x, n, 0, 0, 0, NULL);
            double dt = bench_now() - t0;
            if (r >= 0)
                t[r] = dt;
        }
        *(k == 0 ? one : batch) = bench_summarise(t, count);
    }
    free(t);
}

/* ------------------------------------------------------------------ reports */

static double gflops(double flop, double seconds)
{
    return seconds > 0.0 ? flop / seconds * 1e-9 : 0.0;
}

/* a / b, or 0 when b is 0 (a pass faster than the clock resolves): JSON has no infinity. */
static double ratio(double a, double b)
{
    return b > 0.0 ? a / b : 0.0;
}

/* The fastest hand-written implementation of a pass: BLAS or oneDNN (the reference's loops
 * never are, but they count if they were). */
static int best_hand_written(const pass_times *p)
{
    int best = IMPL_REFERENCE;
    for (int impl = IMPL_BLAS; impl < IMPL_COUNT; impl++)
        if (p->t[impl].median < p->t[best].median)
            best = impl;
    return best;
}

static const char *const impl_short[IMPL_COUNT] = {"generated", "ref", "BLAS", "oneDNN"};

static void print_header(void)
{
    printf("%-14s %-8s %33s %10s %10s %10s %10s %7s %7s %7s %14s  %s\n", "layer", "pass", "generated us [min-max]",
           "ref us", "BLAS us", "oneDNN us", "reorder us", "vs ref", "vs BLAS", "vs 1DNN", "vs best",
           "GFLOP/s gen (peak) BLAS oneDNN");
}

/* One row: medians in microseconds, speed-ups of the generated code (other / generated: above 1
 * it is faster), and the best hand-written figure it is measured against. */
static void print_pass(const char *name, const char *pass, const pass_times *p, double peak)
{
    const bench_stats *g = &p->t[IMPL_GENERATED], *r = &p->t[IMPL_REFERENCE], *b = &p->t[IMPL_BLAS],
                      *d = &p->t[IMPL_DNNL];
    int best = best_hand_written(p);
    char flops[64] = "-", vs_best[32];
    if (p->flop > 0.0)
        snprintf(flops, sizeof flops, "%6.1f %5.1f%% %6.1f %6.1f", gflops(p->flop, g->median),
                 100.0 * ratio(gflops(p->flop, g->median), peak), gflops(p->flop, b->median),
                 gflops(p->flop, d->median));
    snprintf(vs_best, sizeof vs_best, "%.2fx %s", ratio(p->t[best].median, g->median), impl_short[best]);
    printf("%-14s %-8s %10.1f [%9.1f-%9.1f] %10.1f %10.1f %10.1f %10.1f %6.2fx %6.2fx %6.2fx %14s  %s\n", name, pass,
           1e6 * g->median, 1e6 * g->min, 1e6 * g->max, 1e6 * r->median, 1e6 * b->median, 1e6 * d->median,
           1e6 * p->reorders.median, ratio(r->median, g->median), ratio(b->median, g->median),
           ratio(d->median, g->median), vs_best, flops);
}

static void json_stats(FILE *f, const bench_stats *t, double flop, double peak, int images)
{
    fprintf(f, "{\"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, \"q1_ms\": %.6f, \"q3_ms\": %.6f, "
               "\"reps\": %d",
            1e3 * t->median, 1e3 * t->min, 1e3 * t->max, 1e3 * t->q1, 1e3 * t->q3, t->reps);
    if (flop > 0.0)
        fprintf(f, ", \"gflops\": %.3f, \"peak_share\": %.5f", gflops(flop, t->median),
                ratio(gflops(flop, t->median), peak));
    if (images > 0)
        fprintf(f, ", \"images_per_s\": %.1f", ratio(images, t->median));
    fputc('}', f);
}

static void json_pass(FILE *f, const pass_times *p, double peak, int images, const char *dnnl_impl)
{
    if (!p->timed) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"flop\": %.0f", p->flop);
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        fprintf(f, ", \"%s\": ", impl_keys[impl]);
        json_stats(f, &p->t[impl], p->flop, peak, images);
    }
    fputs(", \"onednn_reorders\": ", f);
    json_stats(f, &p->reorders, 0.0, peak, 0);
    int best = best_hand_written(p);
    fprintf(f, ",\n       \"speedup_vs_reference\": %.4f, \"speedup_vs_blas\": %.4f, \"speedup_vs_onednn\": %.4f, "
               "\"best_hand_written\": \"%s\", \"speedup_vs_best\": %.4f",
            ratio(p->t[IMPL_REFERENCE].median, p->t[IMPL_GENERATED].median),
            ratio(p->t[IMPL_BLAS].median, p->t[IMPL_GENERATED].median),
            ratio(p->t[IMPL_DNNL].median, p->t[IMPL_GENERATED].median), impl_keys[best],
            ratio(p->t[best].median, p->t[IMPL_GENERATED].median));
    if (dnnl_impl != NULL)
        fprintf(f, ", \"onednn_implementation\": \"%s\", \"onednn_convolution\": \"%s\", "
                   "\"onednn_choice_ms\": %.6f, \"onednn_direct_ms\": %.6f",
                dnnl_impl, p->direct ? "direct" : "choice", 1e3 * p->dnnl_choice, 1e3 * p->dnnl_direct);
    fputc('}', f);
}

static void json_peaks(FILE *f, const peaks *pk)
{
    fprintf(f, "  \"target\": \"%s\", \"peak_isa\": \"%s\", \"peak_gflops_per_core\": %.3f, "
               "\"peak_gflops_two_cores\": %.3f,\n  \"probes\": [",
            pk->target, pk->used != NULL ? pk->used->isa : "none", pk->one, pk->two);
    for (int i = 0; i < pk->count; i++) {
        const bench_probe *p = &pk->probe[i];
        fprintf(f, "%s\n    {\"isa\": \"%s\", \"instructions\": \"%s\", \"lanes\": %d, \"chains\": %d, "
                   "\"gflops_one_core\": %.3f, \"gflops_two_cores\": %.3f, ",
                i > 0 ? "," : "", p->isa, p->insn, p->lanes, p->chains, p->gflops_one, p->gflops_two);
        if (p->flop_per_cycle > 0.0)
            fprintf(f, "\"flop_per_tsc_cycle\": %.3f, \"tsc_ghz\": %.4f}", p->flop_per_cycle, p->tsc_ghz);
        else
            fputs("\"flop_per_tsc_cycle\": null, \"tsc_ghz\": null}", f);
    }
    fputs("],\n", f);
}

static int write_json(const char *path, const bench_state *s, const options *o, const peaks *pk,
                      const pass_times *layer_times, const pass_times *step, const sync_times *sync,
                      const bench_stats *one, const bench_stats *batch)
{
    const cnn_model *m = s->m;
    const double peak = pk->one;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: error: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    long long macs = 0;
    for (int i = 0; i < m->num_layers; i++)
        macs += m->layers[i].macs;
    fprintf(f, "{\n  \"model\": \"%s\", \"batch\": %d, \"iters\": %d, \"warmup\": %d, \"threads\": %d,\n", m->name,
            s->n, o->iters, WARMUP, o->threads);
    json_peaks(f, pk);
    fprintf(f, "  \"onednn_max_isa\": \"%s\",\n", s->dnnl_isa);
    fprintf(f, "  \"forward_macs_per_image\": %lld, \"training_flop_per_image\": %.0f, \"agreement\": \"checked\",\n",
            macs, training_flop(m, 1));
    fputs("  \"layers\": [\n", f);
    for (int i = 0; i < m->num_layers; i++) {
        const cnn_layer *l = &m->layers[i];
        fprintf(f, "    {\"name\": \"%s\", \"kind\": \"%s\", \"input\": [%d, %d, %d], \"output\": [%d, %d, %d], "
                   "\"macs_per_image\": %lld,\n     \"forward\": ",
                l->name, l->kind, l->in_h, l->in_w, l->in_c, l->out_h, l->out_w, l->out_c, l->macs);
        char impl[512];
        bench_dnnl_impl(layer_times[2 * i].direct ? s->dnnl_direct : s->dnnl_choice, l, 0, impl, sizeof impl);
        json_pass(f, &layer_times[2 * i], peak, 0, impl);
        fputs(",\n     \"backward\": ", f);
        bench_dnnl_impl(layer_times[2 * i + 1].direct ? s->dnnl_direct : s->dnnl_choice, l, 1, impl, sizeof impl);
        json_pass(f, &layer_times[2 * i + 1], peak, 0, impl);
        fprintf(f, "}%s\n", i + 1 < m->num_layers ? "," : "");
    }
    fputs("  ],\n  \"training_step\": ", f);
    json_pass(f, step, step_peak(pk, o->threads), s->n, NULL);
    fputs(",\n  \"batchnorm_sync\": ", f);
    if (sync->measured) {
        fprintf(f, "{\"calls_per_step\": %d, \"in_batch_sum_ms_per_thread\": %.6f, \"with_barrier\": ", sync->calls,
                1e3 * sync->in_sum);
        json_stats(f, &sync->with, 0.0, 0.0, s->n);
        fputs(", \"own_images_only\": ", f);
        json_stats(f, &sync->without, 0.0, 0.0, s->n);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs(",\n  \"inference\": {\"one_image\": ", f);
    json_stats(f, one, 0.0, peak, 1);
    fputs(", \"batch\": ", f);
    json_stats(f, batch, 0.0, peak, s->n);
    fputs("}\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench: error: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

int cnn_bench_main(const cnn_model *m, int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (m->layers == NULL || m->num_layers <= 0) {
        fprintf(stderr, "bench: error: this model has no layer table; rebuild it with a newer cnnc\n");
        return 1;
    }
    /* The probe first, while nothing else of ours is warm or running. */
    peaks pk;
    measure_peaks(m, &pk);
    const double peak = pk.one;
    bench_state s;
    state_init(&s, m);
    bench_blas_threads(1);
    bench_dnnl_threads(1);
    if (bench_check(&s) != 0) {
        state_free(&s);
        return 1;
    }
    printf("%s: batch %d, median of %d repetitions after %d warm-ups; layers on 1 thread, training step on %d\n",
           m->name, s.n, o.iters, WARMUP, o.threads);
    print_peaks(&pk);
    int has_batchnorm = 0;
    for (int i = 0; i < m->num_layers; i++)
        has_batchnorm |= m->layers[i].kind_id == CNN_LAYER_BATCHNORM;
    printf("outputs and gradients of all four agree (rtol 1e-4%s); oneDNN %d.%d.%d in its own layouts, its reorders "
           "timed apart, its instructions up to %s (DNNL_MAX_CPU_ISA)\n\n",
           has_batchnorm ? "; oneDNN's training step through batchnorm 1e-2" : "", DNNL_VERSION_MAJOR,
           DNNL_VERSION_MINOR, DNNL_VERSION_PATCH, s.dnnl_isa);
    print_header();
    pass_times *lt = calloc((size_t)m->num_layers * 2, sizeof *lt);
    if (lt == NULL)
        exit(1);
    for (int i = 0; i < m->num_layers; i++) {
        const cnn_layer *l = &m->layers[i];
        if (l->kind_id == CNN_LAYER_FLATTEN)
            continue; /* a view: nothing runs */
        for (int backward = 0; backward < 2; backward++) {
            pass_times *p = &lt[2 * i + backward];
            if (backward && l->backward == NULL)
                continue;
            p->flop = layer_flop(l, s.n, backward);
            time_layer(&s, l, backward, o.iters, p);
            print_pass(l->name, backward ? "backward" : "forward", p, peak);
        }
    }
    /* oneDNN's training step: each conv2d with the algorithm that was the faster over its two
     * passes, the primitives built for the step's threads; checked like the others first. */
    int *direct = calloc((size_t)m->num_layers, sizeof(int));
    if (direct == NULL)
        exit(1);
    for (int i = 0; i < m->num_layers; i++)
        direct[i] = lt[2 * i].dnnl_direct + lt[2 * i + 1].dnnl_direct < lt[2 * i].dnnl_choice + lt[2 * i + 1].dnnl_choice;
    s.dnnl_step = bench_dnnl_create(m, s.n, s.ws[IMPL_DNNL], s.grads[IMPL_DNNL], o.threads, direct);
    s.step_threads = o.threads;
    bench_dnnl_threads(1);
    if (bench_check_dnnl_step(&s) != 0) {
        free(direct);
        free(lt);
        state_free(&s);
        return 1;
    }
    pass_times step = {0};
    time_steps(&s, &o, &step);
    step.flop = training_flop(m, s.n);
    print_pass("training step", "", &step, step_peak(&pk, o.threads));
    printf("%-14s %-8s %10.0f %33.0f %10.0f %10.0f  images/s (generated, reference, BLAS, oneDNN; its reorders "
           "are within its step)\n",
           "", "", ratio(s.n, step.t[IMPL_GENERATED].median), ratio(s.n, step.t[IMPL_REFERENCE].median),
           ratio(s.n, step.t[IMPL_BLAS].median), ratio(s.n, step.t[IMPL_DNNL].median));
    printf("\noneDNN's implementations (a conv2d: its own choice of algorithm and direct; the faster is in the "
           "table and, over both passes, in the step):\n");
    for (int i = 0; i < m->num_layers; i++)
        for (int backward = 0; backward < 2; backward++) {
            const pass_times *p = &lt[2 * i + backward];
            char impl[512];
            if (!p->timed)
                continue;
            bench_dnnl_impl(p->direct ? s.dnnl_direct : s.dnnl_choice, &m->layers[i], backward, impl, sizeof impl);
            printf("  %-14s %-8s %s", m->layers[i].name, backward ? "backward" : "forward", impl);
            if (m->layers[i].kind_id == CNN_LAYER_CONV2D)
                printf("  (choice %.1f us, direct %.1f us%s)", 1e6 * p->dnnl_choice, 1e6 * p->dnnl_direct,
                       direct[i] ? "; step: direct" : "; step: choice");
            putchar('\n');
        }
    free(direct);
    sync_times sync;
    time_sync(&s, &o, &sync);
    if (sync.measured)
        printf("\nbatchnorm's sums across %d threads (cnn_sync, %d a step): the step %.1f us [%.1f-%.1f] with them, "
               "%.1f us [%.1f-%.1f] with each thread summing its own images (no barrier: timing only); a thread "
               "spends %.1f us a step in them (copy, barrier, sum: %.1f%% of the step)\n",
               o.threads, sync.calls, 1e6 * sync.with.median, 1e6 * sync.with.min, 1e6 * sync.with.max,
               1e6 * sync.without.median, 1e6 * sync.without.min, 1e6 * sync.without.max, 1e6 * sync.in_sum,
               100.0 * ratio(sync.in_sum, sync.with.median));
    bench_stats one, batch;
    time_inference(&s, o.iters, &one, &batch);
    printf("\ninference (generated, 1 thread): one image %.1f us [%.1f-%.1f]; a batch of %d %.1f us, %.0f images/s\n",
           1e6 * one.median, 1e6 * one.min, 1e6 * one.max, s.n, 1e6 * batch.median, ratio(s.n, batch.median));
    rc = 0;
    if (o.json != NULL && write_json(o.json, &s, &o, &pk, lt, &step, &sync, &one, &batch) != 0)
        rc = 1;
    free(lt);
    state_free(&s);
    return rc;
}
