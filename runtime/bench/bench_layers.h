/*
 * bench_layers.h - the two hand-written implementations the benchmark times against the
 * generated code, behind one interface: every pass takes a layer description from the
 * generated table (cnn_model.h) and works in a workspace laid out as the generated code lays
 * it out, so the three implementations read the same inputs and write to the same places.
 *
 * - bench_ref_impl: runtime/ref/ref_layers.c, the plain-loop oracle of the numerics tests;
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
    /* As cnn_layer's passes: forward writes ws + out from ws + in (dropout reads its mask from
     * ws + aux, drawn by the generated code); backward writes ws + din (where >= 0) and the
     * layer's slices of grads from ws + dout and ws + in / ws + out, leaving ws + dout as it is. */
    void (*forward)(const cnn_layer *l, const float *params, float *ws, int n, float *scratch);
    void (*backward)(const cnn_layer *l, const float *params, float *grads, float *ws, int n, float *scratch);
} bench_impl;

extern const bench_impl bench_ref_impl, bench_blas_impl;

/* Floats per image of a layer's input and output. */
size_t bench_in_size(const cnn_layer *l);
size_t bench_out_size(const cnn_layer *l);

/* Sets how many threads OpenBLAS may use (bench_blas.c). */
void bench_blas_threads(int threads);

/* The machine's peak in single-precision GFLOP/s of one core, from a short loop of
 * independent vector FMAs (fma_probe.c, compiled with -O3 -march=native). */
double bench_fma_peak_gflops(void);

/* The `bench` subcommand of a program built with `cnnc build --bench`. */
int cnn_bench_main(const cnn_model *m, int argc, char **argv);

#endif
