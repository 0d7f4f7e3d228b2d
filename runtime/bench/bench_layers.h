/*
 * bench_layers.h - the two hand-written implementations the benchmark times against the
 * generated code, behind one interface: every pass takes a layer description from the
 * generated table (cnn_model.h) and works in a workspace laid out as the generated code lays
 * it out, so the three implementations read the same inputs and write to the same places.
 *
 * - bench_ref_impl: runtime/ref/, the plain-loop oracle of the numerics tests;
 * - bench_blas_impl: im2col + GEMM on OpenBLAS for conv2d and dense, as darknet and Caffe do,
 *   and plain float loops for the layers without a matrix product.
 * Shapes are read at run time from the cnn_layer. Part of libcnnbench.a, never of libcnnrt.a.
 */
#ifndef BENCH_LAYERS_H
#define BENCH_LAYERS_H

#include <stddef.h>

#include "cnn_model.h"

typedef struct bench_impl {
    const char *name;
    /* Floats of scratch the passes of `l` need for n <= batch images. */
    size_t (*scratch_floats)(const cnn_layer *l, int batch);
    /* As cnn_layer's passes: forward writes ws + out from ws + in and ws + in2 (dropout reads
     * its mask from ws + aux, drawn by the generated code; batchnorm uses the batch's
     * statistics, as in training); backward writes ws + din and ws + din2 (where >= 0) and the
     * layer's slices of grads from ws + dout and ws + in / ws + out, leaving ws + dout as it is. */
    void (*forward)(const cnn_layer *l, const float *params, float *ws, int n, float *scratch);
    void (*backward)(const cnn_layer *l, const float *params, float *grads, float *ws, int n, float *scratch);
} bench_impl;

extern const bench_impl bench_ref_impl, bench_blas_impl;

/* Floats per image of a layer's input, its second input (add, concat; 0 elsewhere) and its
 * output; floats of its kernel (a batchnorm's gamma), 0 where it has none. */
size_t bench_in_size(const cnn_layer *l);
size_t bench_in2_size(const cnn_layer *l);
size_t bench_out_size(const cnn_layer *l);
size_t bench_kernel_count(const cnn_layer *l);

/* Sets how many threads OpenBLAS may use (bench_blas.c). */
void bench_blas_threads(int threads);

/* The peak of one instruction set, measured by fma_probe.c: single-precision GFLOP/s of a loop
 * of independent vector multiply-adds on one core and on two at once, and FLOP per TSC cycle
 * of one core (0 where there is no cycle counter). */
typedef struct bench_probe {
    const char *isa;      /* "sse2", "avx2", "avx512", "neon" */
    const char *insn;     /* what the loop runs, for the table */
    int lanes, chains;    /* floats a vector, independent accumulators */
    double gflops_one, gflops_two, flop_per_cycle, tsc_ghz;
} bench_probe;

/* Measures every instruction set the CPU has, narrowest first; returns how many (<= max). */
int bench_fma_probe(bench_probe *out, int max);
/* The probe of the instruction set `target` was generated for; the widest for NULL or
 * "generic"; NULL when the CPU lacks the target's instructions. */
const bench_probe *bench_probe_for_target(const bench_probe *probes, int count, const char *target);

/* The `bench` subcommand of a program built with `cnnc build --bench`. */
int cnn_bench_main(const cnn_model *m, int argc, char **argv);

#endif
