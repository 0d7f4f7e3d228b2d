/*
 * bench_internal.h - what the files of the `bench` subcommand share: the state one run sets up
 * (random parameters, a batch, the workspace the generated forward filled) and the agreement
 * check that must pass before anything is timed.
 */
#ifndef BENCH_INTERNAL_H
#define BENCH_INTERNAL_H

#include "bench_layers.h"

/* The three implementations, in the order the tables show them. */
enum { IMPL_GENERATED, IMPL_REFERENCE, IMPL_BLAS, IMPL_COUNT };

typedef struct bench_state {
    const cnn_model *m;
    int n;                      /* images per batch: the compiled batch */
    float *params;              /* [num_params] */
    float *x;                   /* [n][in_size] in [0, 1) */
    unsigned char *labels;      /* [n] */
    float *ws0;                 /* the generated forward's workspace, random output gradients */
    float *ws[IMPL_COUNT];      /* one working copy per implementation */
    float *grads[IMPL_COUNT];   /* [num_params] each */
    float *scratch[IMPL_COUNT]; /* for the hand-written ones */
} bench_state;

/* Runs layer l's pass of implementation `impl` on s->ws[impl]. */
void bench_layer_forward(bench_state *s, int impl, const cnn_layer *l);
void bench_layer_backward(bench_state *s, int impl, const cnn_layer *l);

/* Compares every layer's forward output and backward gradients, and a whole training step's
 * gradient, of the generated code and the im2col+BLAS version with the reference. Returns 0,
 * or -1 after printing the first mismatch. CNN_BENCH_BREAK=LAYER (or LAYER.backward) perturbs
 * one value of the BLAS version's result there, for the tests that check the refusal. */
int bench_check(bench_state *s);

/* One whole training step of a hand-written implementation, layer by layer on s->ws[impl]:
 * forward, loss, backward into s->grads[impl] (mean over the batch); returns the mean loss. */
double bench_chain_step(bench_state *s, int impl);

#endif
