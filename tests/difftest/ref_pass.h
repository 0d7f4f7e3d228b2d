/*
 * difftest/ref_pass.h - the reference layers (runtime/ref/) run on one layer of a generated
 * model's table (cnn_layer, runtime/cnn_model.h), with explicit buffers, and the error bounds
 * the checker compares with.
 *
 * The benchmark's adapter (runtime/bench/ref_impl.c) works in place in the generated
 * workspace; the checker also needs each pass run on absolute values, with the max-pool
 * winners still chosen from the real input, to bound the rounding error of every output:
 * a sum of K products whose absolute values add up to S is off by at most about
 * u * sqrt(K) * S in float (u = 2^-24), whatever the order of the additions.
 */
#ifndef DIFFTEST_REF_PASS_H
#define DIFFTEST_REF_PASS_H

#include <stddef.h>

#include "cnn_model.h"

/* Floats per image of a layer's input, its second input (add, concat) and its output. */
size_t rp_in_size(const cnn_layer *l);
size_t rp_in2_size(const cnn_layer *l);
size_t rp_out_size(const cnn_layer *l);
/* Floats of a conv2d's or dense layer's kernel, or of batchnorm's gamma. */
size_t rp_kernel_count(const cnn_layer *l);

/* The relative error allowed to a float reduction of k terms, in units of u = 2^-24:
 * exact for short sums (the worst case k u), six standard deviations of a random walk for
 * long ones. */
double rp_units(double k);
#define RP_U (1.0 / 16777216.0)

/* What a pass reads beyond its row of the table. */
typedef struct rp_ctx {
    const float *x;        /* the real input (forward bounds and absolute backward need it) */
    const float *x2;       /* add, concat: the second input, [n][rp_in2_size] */
    const float *a_in2;    /* add, concat: the second input's absolute bound (forward bounds) */
    double epsilon;        /* batchnorm's */
    const float *moving_mean, *moving_var; /* batchnorm in evaluation: the moving statistics [c] */
    /* batchnorm in training: the batch's mean and biased variance [c], which rp_forward writes
     * (the reference's, from the input in double) and rp_backward reads (those the generated
     * forward used, so that only the backward pass's own rounding differs). */
    float *mean, *var;
} rp_ctx;

/* Forward of n images: y from x (dropout multiplies by mask when training). */
void rp_forward(const cnn_layer *l, const float *params, const float *x, float *y,
                const float *mask, int n, int training, const rp_ctx *ctx);

/* The bound of the rounding error of rp_forward's y, per value, given that each input value
 * x may already be off by up to t_in * u * a_in (a_in the absolute bound of the input, t_in a
 * number of units; the second input's as much, of ctx->a_in2): fills a_out (the absolute bound
 * of the output, the magnitudes the next layer's rounding scales with) and tol (the allowed
 * error), and returns t_out for the next layer. y is rp_forward's output, params the real
 * parameters. A batchnorm in training takes t_in as 0 (its inputs are those the generated code
 * had) and also bounds the errors of the batch's statistics: mean_tol, var_tol and inv_tol
 * ([c] each, may be NULL) for the mean, the variance and 1 / sqrt(var + epsilon).
 * scratch: 2 * n * out floats. */
double rp_forward_bound(const cnn_layer *l, const float *params, const float *a_in, double t_in,
                        const float *y, const float *mask, int n, int training, const rp_ctx *ctx,
                        float *a_out, float *tol, float *scratch);
void rp_batchnorm_stats_bound(const cnn_layer *l, const float *x, int n, const float *mean,
                              const float *var, double epsilon, float *mean_tol, float *var_tol,
                              float *inv_tol);

/* Backward of n images: dx and dx2 (the second input's, for add and concat; either may be
 * NULL), the layer's gradients in grads (overwritten), from dy, the forward's input x and
 * output y. `argmax_x` is the real input (x itself, except in absolute mode), from which the
 * max-pool winners are chosen and batchnorm normalises. With `absolute` set, every input must be
 * an absolute value and the result bounds the magnitudes of the terms of each sum: the
 * softmax's Jacobian and batchnorm's are then applied with their absolute values.
 * scratch: n * out floats. */
void rp_backward(const cnn_layer *l, const float *params, float *grads, const float *x,
                 const float *argmax_x, const float *y, const float *dy, float *dx, float *dx2,
                 const float *mask, int n, int training, int absolute, float *scratch,
                 const rp_ctx *ctx);

/* The lengths of the reductions behind the backward outputs of n images, and the units of
 * roundings outside them that every output carries. */
typedef struct rp_lengths {
    double dx, kernel, bias, extra;
} rp_lengths;
rp_lengths rp_backward_lengths(const cnn_layer *l, int n);

#endif
