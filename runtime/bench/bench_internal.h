/*
 * bench_internal.h - what the files of the `bench` subcommand share: the state one run sets up
 * (random parameters, a batch, the workspace the generated forward filled) and the agreement
 * check that must pass before anything is timed.
 */
#ifndef BENCH_INTERNAL_H
#define BENCH_INTERNAL_H

#include "bench_layers.h"

/* The four implementations, in the order the tables show them. */
enum { IMPL_GENERATED, IMPL_REFERENCE, IMPL_BLAS, IMPL_DNNL, IMPL_COUNT };

/* oneDNN's layers in its own layouts (dnnl_layers.c): a set of primitives built for a number
 * of threads over one workspace and one gradient array. Convolutions use oneDNN's own choice
 * of algorithm (Winograd wherever it has it), or direct convolution for the layers i where
 * direct[i] is set (direct may be NULL). */
typedef struct bench_dnnl bench_dnnl;
/* Holds oneDNN to the instruction set of the target the code was generated for, before its first
 * primitive, and returns what it may use ("AVX2", "all"), for the tables. */
const char *bench_dnnl_limit_isa(const char *target);
bench_dnnl *bench_dnnl_create(const cnn_model *m, int n, float *ws, float *grads, int threads, const int *direct);
void bench_dnnl_free(bench_dnnl *d);
void bench_dnnl_threads(int threads);
/* Layer l's pass on its own, from the plain arrays of the workspace and back: the seconds of
 * oneDNN's primitives and, apart, of the reorders into its layouts and out of them. */
void bench_dnnl_pass(bench_dnnl *d, const float *params, const cnn_layer *l, int backward, double *work,
                     double *reorders);
/* The names of the oneDNN implementations a pass runs ("jit_wino_4x3:avx512_core + ..."). */
void bench_dnnl_impl(const bench_dnnl *d, const cnn_layer *l, int backward, char *buf, size_t size);
/* The training step's two halves, layer after layer in oneDNN's layouts: the forward leaves
 * the last output in the workspace's plain array for the loss; the backward starts from the
 * loss gradient there and leaves the parameter gradients in the plain gradient array. Both add
 * the seconds of their reorders to *reorders. */
void bench_dnnl_step_forward(bench_dnnl *d, const float *params, double *reorders);
void bench_dnnl_step_backward(bench_dnnl *d, double *reorders);

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
    const char *dnnl_isa;       /* the widest instructions oneDNN may use (bench_dnnl_limit_isa) */
    bench_dnnl *dnnl;           /* oneDNN on one thread, for the layer passes: the one checked and timed */
    bench_dnnl *dnnl_choice;    /* ... with oneDNN's choice of convolution algorithm */
    bench_dnnl *dnnl_direct;    /* ... with direct convolutions */
    bench_dnnl *dnnl_step;      /* oneDNN on the training step's threads, each conv2d with its faster algorithm */
    int step_threads;
} bench_state;

/* Runs layer l's pass of implementation `impl` on s->ws[impl]. */
void bench_layer_forward(bench_state *s, int impl, const cnn_layer *l);
void bench_layer_backward(bench_state *s, int impl, const cnn_layer *l);

/* Compares every layer's forward output and backward gradients, and a whole training step's
 * gradient, of the generated code, the im2col+BLAS version and oneDNN with the reference.
 * Returns 0, or -1 after printing the first mismatch. CNN_BENCH_BREAK=LAYER (or LAYER.backward)
 * perturbs one value of the BLAS version's result there, and CNN_BENCH_BREAK=onednn:LAYER one of
 * oneDNN's, for the tests that check the refusal. */
int bench_check(bench_state *s);
/* The same for oneDNN's training step alone (on s->dnnl_step). */
int bench_check_dnnl_step(bench_state *s);

/* The layer whose output is input k (0, or 1 for in2) of layer i, or -1 for the model's input. */
int bench_producer(const cnn_model *m, int i, int k);

/* One whole training step of a hand-written implementation, layer by layer on s->ws[impl]:
 * forward, loss, backward into s->grads[impl] (mean over the batch), the gradients of an output
 * with several readers added up; returns the mean loss.
 * oneDNN's runs on s->dnnl_step and adds the seconds of its reorders to *reorders (may be NULL). */
double bench_chain_step(bench_state *s, int impl, double *reorders);

#endif
