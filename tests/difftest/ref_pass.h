/*
 * difftest/ref_pass.h - the reference layers (runtime/ref/ref_layers.c) run on one layer of a
 * generated model's table (cnn_layer, runtime/cnn_model.h), with explicit buffers, and the
 * error bounds the checker compares with.
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

/* Floats per image of a layer's input and output. */
size_t rp_in_size(const cnn_layer *l);
size_t rp_out_size(const cnn_layer *l);
/* Floats of a conv2d's or dense layer's kernel. */
size_t rp_kernel_count(const cnn_layer *l);

/* The relative error allowed to a float reduction of k terms, in units of u = 2^-24:
 * exact for short sums (the worst case k u), six standard deviations of a random walk for
 * long ones. */
double rp_units(double k);
#define RP_U (1.0 / 16777216.0)

/* Forward of n images: y from x (dropout multiplies by mask when training). */
void rp_forward(const cnn_layer *l, const float *params, const float *x, float *y,
                const float *mask, int n, int training);

/* The bound of the rounding error of rp_forward's y, per value, given that each input value
 * x may already be off by up to t_in * u * a_in (a_in the absolute bound of the input, t_in a
 * number of units): fills a_out (the absolute bound of the output, the magnitudes the next
 * layer's rounding scales with) and tol (the allowed error), and returns t_out for the next
 * layer. y is rp_forward's output, params the real parameters. scratch: 2 * n * out floats. */
double rp_forward_bound(const cnn_layer *l, const float *params, const float *a_in, double t_in,
                        const float *y, const float *mask, int n, int training, float *a_out,
                        float *tol, float *scratch);

/* Backward of n images: dx (may be NULL), the layer's gradients in grads (overwritten), from
 * dy, the forward's input x and output y. `argmax_x` is the input the max-pool winners are
 * chosen from (x itself, except in absolute mode). With `absolute` set, every input must be
 * an absolute value and the result bounds the magnitudes of the terms of each sum: the
 * softmax's Jacobian is then applied with its absolute values. scratch: n * out floats. */
void rp_backward(const cnn_layer *l, const float *params, float *grads, const float *x,
                 const float *argmax_x, const float *y, const float *dy, float *dx,
                 const float *mask, int n, int training, int absolute, float *scratch);

/* The lengths of the reductions behind the backward outputs of n images. */
typedef struct rp_lengths {
    double dx, kernel, bias;
} rp_lengths;
rp_lengths rp_backward_lengths(const cnn_layer *l, int n);

#endif
