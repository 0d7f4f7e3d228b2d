/*
 * ref/ref_layers.h - hand-written reference layers: the test oracle for the generated code and the
 * baseline its benchmark is measured against.
 *
 * Written for clarity, not speed: plain loops, every shape a run-time int, sums accumulated in
 * double. Layouts are those of the generated code and of Keras:
 * - activations are batch-first and channels-last, x[b][h][w][c];
 * - a conv2d kernel is [KH][KW][CIN][COUT], a dense kernel [IN][OUT], a bias [COUT] or [OUT].
 *
 * Backward functions overwrite their outputs (they never accumulate into them); an output the
 * caller does not need (dinput of the first layer, dbias without a bias) may be NULL.
 * Depends on libm only. One file per kind, as the sections below: window.c, conv2d.c, pool.c,
 * dense.c, activation.c, dropout.c, graph.c (add, concat, globalavgpool2d), then loss.c and
 * optimizer.c.
 */
#ifndef REF_LAYERS_H
#define REF_LAYERS_H

#include <stddef.h>

/* ------------------------------------------------------------------ shapes and padding */

/* Output size of a sliding window of `k` over `in` cells padded by `before` and `after`:
 * (in + before + after - k) / stride + 1; 0 when the window does not fit. */
int ref_window_out(int in, int k, int stride, int before, int after);

/* Keras/TensorFlow `same` padding: out = ceil(in / stride), total = max((out - 1) * stride + k - in, 0),
 * and the smaller half goes before. Returns out. */
int ref_same_padding(int in, int k, int stride, int *before, int *after);

/* ------------------------------------------------------------------ conv2d */

typedef struct ref_conv2d {
    int n;                      /* images */
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;    /* out_c is the number of filters */
    int kh, kw;                 /* kernel */
    int sh, sw;                 /* strides */
    int pad_top, pad_left, pad_bottom, pad_right;
    int use_bias;
} ref_conv2d;

/* Fills the output size of `p` from its input, kernel, strides and padding. */
void ref_conv2d_set_out(ref_conv2d *p);

/* y[n][out_h][out_w][out_c] = bias + sum over the window of x * kernel; padded cells are zero. */
void ref_conv2d_forward(const ref_conv2d *p, float *y, const float *x, const float *kernel,
                        const float *bias);
/* dx [n][in_h][in_w][in_c], dkernel [kh][kw][in_c][out_c], dbias [out_c] from dy. */
void ref_conv2d_backward(const ref_conv2d *p, float *dx, float *dkernel, float *dbias,
                         const float *dy, const float *x, const float *kernel);

/* ------------------------------------------------------------------ maxpool2d, avgpool2d */

typedef struct ref_pool2d {
    int n;
    int in_h, in_w, c;
    int out_h, out_w;
    int ph, pw;                 /* window */
    int sh, sw;                 /* strides */
    int pad_top, pad_left, pad_bottom, pad_right;
} ref_pool2d;

void ref_pool2d_set_out(ref_pool2d *p);

/* Max over the valid cells of each window: padded cells never win. Ties go to the first maximum
 * in row-major window order (top row first, left to right), and backward routes the whole
 * gradient to that one cell, recomputing it from x. Overlapping windows add up in dx. */
void ref_maxpool2d_forward(const ref_pool2d *p, float *y, const float *x);
void ref_maxpool2d_backward(const ref_pool2d *p, float *dx, const float *dy, const float *x);

/* Mean over the valid cells of each window only, as Keras does with `same` padding. */
void ref_avgpool2d_forward(const ref_pool2d *p, float *y, const float *x);
void ref_avgpool2d_backward(const ref_pool2d *p, float *dx, const float *dy);

/* ------------------------------------------------------------------ dense */

/* y[n][out] = x[n][in] . kernel[in][out] + bias[out] (bias may be NULL). */
void ref_dense_forward(int n, int in, int out, float *y, const float *x, const float *kernel,
                       const float *bias);
void ref_dense_backward(int n, int in, int out, float *dx, float *dkernel, float *dbias,
                        const float *dy, const float *x, const float *kernel);

/* ------------------------------------------------------------------ activations */

/* The same numbering as the model language's activations. */
typedef enum ref_activation {
    REF_ACT_NONE,
    REF_ACT_RELU,
    REF_ACT_SIGMOID,
    REF_ACT_TANH,
    REF_ACT_SOFTMAX
} ref_activation;

/* y = act(x) over rows x cols values; softmax normalises each row of `cols`, the others are
 * elementwise. y may equal x. */
void ref_activation_forward(ref_activation act, int rows, int cols, float *y, const float *x);
/* dx from dy and the forward's output y (every activation here has a derivative that is a
 * function of its output). For softmax it is the full Jacobian product
 * dx_i = y_i * (dy_i - sum_j dy_j y_j). dx may equal dy. */
void ref_activation_backward(ref_activation act, int rows, int cols, float *dx, const float *dy,
                             const float *y);
/* The same from the forward's input x, for callers that kept the input instead (softmax
 * recomputes its output). */
void ref_activation_backward_from_input(ref_activation act, int rows, int cols, float *dx,
                                        const float *dy, const float *x);

/* ------------------------------------------------------------------ dropout */

/* Inverted dropout given the mask: y = x * mask, where mask holds 0 for a dropped value and
 * 1 / (1 - rate) for a kept one. Backward is dx = dy * mask. */
void ref_dropout_forward(size_t count, float *y, const float *x, const float *mask);
void ref_dropout_backward(size_t count, float *dx, const float *dy, const float *mask);

/* ------------------------------------------------------------------ add, concat, globalavgpool2d */

/* y = a + b over count values; backward gives dy to both (da or db may be NULL). */
void ref_add_forward(size_t count, float *y, const float *a, const float *b);
void ref_add_backward(size_t count, float *da, float *db, const float *dy);
/* Per pixel (or image, for flat values): y's ca + cb channels are a's then b's. */
void ref_concat_forward(size_t pixels, int ca, int cb, float *y, const float *a, const float *b);
void ref_concat_backward(size_t pixels, int ca, int cb, float *da, float *db, const float *dy);
/* y[n][c] = the mean of x[n][h][w][c] over h and w (in double); backward spreads dy evenly. */
void ref_globalavgpool2d_forward(int n, int h, int w, int c, float *y, const float *x);
void ref_globalavgpool2d_backward(int n, int h, int w, int c, float *dx, const float *dy);

/* ------------------------------------------------------------------ batchnorm */

/* Keras BatchNormalization over the last axis of rows x c values (rows: images times pixels).
 * The batch's mean and biased variance of each channel (in double): */
void ref_batchnorm_stats(size_t rows, int c, const float *x, float *mean, float *var);
/* y = gamma (x - mean) / sqrt(var + epsilon) + beta, with the batch's statistics in training and
 * the moving ones otherwise; gamma NULL is 1 (scale=false) and beta NULL 0 (center=false). */
void ref_batchnorm_forward(size_t rows, int c, float *y, const float *x, const float *gamma,
                           const float *beta, const float *mean, const float *var, double epsilon);
/* The gradients of a training forward, whose mean and var were the batch's: with
 * xh = (x - mean) / sqrt(var + epsilon), dgamma = sum dy xh, dbeta = sum dy and
 * dx = gamma / sqrt(var + epsilon) (dy - mean(dy) - xh mean(dy xh)). Any output may be NULL. */
void ref_batchnorm_backward(size_t rows, int c, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *mean, const float *var, double epsilon);
/* moving = momentum moving + (1 - momentum) batch, for the mean and the variance. */
void ref_batchnorm_update(int c, float *moving_mean, float *moving_var, const float *mean,
                          const float *var, double momentum);

/* ------------------------------------------------------------------ losses */

/* Sparse categorical cross-entropy on probabilities (a softmax's output): returns the sum over
 * the n images of -log(probs[b][label]), the probability clamped below at 1e-7 as Keras does.
 * dlogits (may be NULL) gets scale * (probs - onehot): the gradient with respect to the
 * softmax's input, the softmax and the loss fused. */
double ref_xent_loss(int n, int classes, const float *probs, const unsigned char *labels,
                     float *dlogits, float scale);

/* Mean squared error against one-hot labels, as Keras: per image the mean over the classes of
 * (y - t)^2; returns the sum over the n images. dy (may be NULL) gets scale * 2 (y - t) / classes. */
double ref_mse_loss(int n, int classes, const float *y, const unsigned char *labels, float *dy,
                    float scale);

/* ------------------------------------------------------------------ optimizers */

/* Keras SGD over count weights: v = momentum * v - lr * g, then w += v, or with Nesterov
 * w += momentum * v - lr * g (with the new v). Without momentum it is w -= lr * g and
 * velocity may be NULL. */
void ref_sgd_step(size_t count, float *w, const float *g, float *velocity, double lr,
                  double momentum, int nesterov);

/* Keras Adam, `step` counting from 1: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * alpha = lr sqrt(1 - b2^t) / (1 - b1^t); w -= alpha m / (sqrt(v) + epsilon). */
void ref_adam_step(size_t count, float *w, const float *g, float *m, float *v, long step,
                   double lr, double beta_1, double beta_2, double epsilon);

#endif
