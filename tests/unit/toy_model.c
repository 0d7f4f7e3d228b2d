/*
 * toy_model.c - a hand-written cnn_model for the trainer's tests: softmax regression, one
 * dense layer 784 -> 10 with a softmax, trained with Keras' sparse categorical cross-entropy.
 *
 * It plays the part of a model that cnnc generated, written plainly so that the runtime can be
 * tested on its own. The training settings can be changed at compile time, to make the
 * variants the tests need:
 *   -DTOY_SGD             plain SGD instead of Adam
 *   -DTOY_MOMENTUM=0.9    with -DTOY_SGD: momentum, the velocity kept in m (saved as optimizer.m)
 *   -DTOY_LR=1e38         the learning rate (a huge one makes the loss diverge to NaN)
 *   -DTOY_SPLIT=0.1       validate on that fraction of the training images, not the test set
 *   -DTOY_BAD_GRADIENT    one weight's gradient is infinite while the loss stays finite, as
 *                         when a backward pass overflows
 */
#include <math.h>
#include <string.h>

#include "cnn_model.h"

#define IN 784
#define OUT 10
#define BATCH 32

#ifndef TOY_LR
#ifdef TOY_SGD
#define TOY_LR 0.1
#else
#define TOY_LR 0.001
#endif
#endif

#ifndef TOY_MOMENTUM
#define TOY_MOMENTUM 0
#endif

#define BETA_1 0.9
#define BETA_2 0.999
#define EPSILON 1e-7

/* params: the kernel [IN][OUT], then the bias [OUT]. */
#define KERNEL 0
#define BIAS (IN * OUT)
#define NUM_PARAMS (IN * OUT + OUT)

static const cnn_tensor toy_tensors[] = {
    {"dense_1.kernel", 2, {IN, OUT, 0, 0}, KERNEL, IN * OUT, IN, OUT, 0, 0},
    {"dense_1.bias", 1, {OUT, 0, 0, 0}, BIAS, OUT, IN, OUT, 1, 0},
};

/* The workspace holds the probabilities [n][OUT], all that backward needs besides x. */
static void toy_forward(const float *params, float *ws, const float *x, int n, int training,
                        uint64_t dropout_key, int first, const cnn_sync *sync)
{
    (void)training, (void)dropout_key, (void)first, (void)sync; /* no dropout or batchnorm here */
    const float *w = params + KERNEL, *bias = params + BIAS;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * IN;
        float *z = ws + (size_t)b * OUT;
        for (int o = 0; o < OUT; o++)
            z[o] = bias[o];
        for (int i = 0; i < IN; i++)
            for (int o = 0; o < OUT; o++)
                z[o] += xb[i] * w[i * OUT + o];
        float max = z[0], sum = 0;
        for (int o = 1; o < OUT; o++)
            if (z[o] > max)
                max = z[o];
        for (int o = 0; o < OUT; o++)
            sum += z[o] = expf(z[o] - max);
        for (int o = 0; o < OUT; o++)
            z[o] /= sum;
    }
}

static const float *toy_output(const float *ws)
{
    return ws;
}

/* The gradient of the cross-entropy of a softmax with respect to the logits is p - onehot. */
static double toy_backward(const float *params, float *grads, float *ws, const float *x,
                           const unsigned char *labels, int n, float scale, const cnn_sync *sync)
{
    (void)params, (void)sync;
    float *gw = grads + KERNEL, *gb = grads + BIAS;
    double loss = 0;
    memset(grads, 0, NUM_PARAMS * sizeof *grads);
    for (int b = 0; b < n; b++) {
        const float *p = ws + (size_t)b * OUT;
        const float *xb = x + (size_t)b * IN;
        loss += cnn_xent(p[labels[b]]); /* the loss as cnn_model.h defines it */
        float dz[OUT];
        for (int o = 0; o < OUT; o++)
            dz[o] = scale * (p[o] - (o == labels[b] ? 1.0f : 0.0f));
        for (int i = 0; i < IN; i++)
            for (int o = 0; o < OUT; o++)
                gw[i * OUT + o] += xb[i] * dz[o];
        for (int o = 0; o < OUT; o++)
            gb[o] += dz[o];
    }
#ifdef TOY_BAD_GRADIENT
    gw[0] = INFINITY;
#endif
    return loss;
}

/* The step over [lo, hi) at the rate lr, the gradient scaled by `scale`. */
static void toy_apply(float *params, const float *grads, float *m, float *v, long step, double lr, float scale,
                      size_t lo, size_t hi)
{
#ifdef TOY_SGD
    (void)v, (void)step;
    /* Keras' SGD: v = momentum * v - lr * g, w += v; without momentum, w -= lr * g. */
    for (size_t i = lo; i < hi; i++) {
        float g = grads[i] * scale;
        if (TOY_MOMENTUM != 0) {
            m[i] = (float)TOY_MOMENTUM * m[i] - (float)lr * g;
            params[i] += m[i];
        } else {
            params[i] -= (float)lr * g;
        }
    }
#else
    /* Keras' Adam: the bias corrections folded into the step size. */
    double alpha = lr * sqrt(1 - pow(BETA_2, (double)step)) / (1 - pow(BETA_1, (double)step));
    for (size_t i = lo; i < hi; i++) {
        float g = grads[i] * scale;
        m[i] = (float)(BETA_1 * m[i] + (1 - BETA_1) * g);
        v[i] = (float)(BETA_2 * v[i] + (1 - BETA_2) * g * g);
        params[i] -= (float)(alpha * m[i] / (sqrt(v[i]) + EPSILON));
    }
#endif
}

static void toy_update(float *params, const float *grads, float *m, float *v, long step)
{
    toy_apply(params, grads, m, v, step, TOY_LR, 1.0f, 0, NUM_PARAMS);
}

const cnn_model toy_model = {
    .name = "toy",
    .cnnc_version = "0.1.0",
    .batch = BATCH,
    .in_h = 28, .in_w = 28, .in_c = 1,
    .classes = OUT,
    .in_size = IN,
    .num_params = NUM_PARAMS,
    .num_tensors = 2,
    .tensors = toy_tensors,
    .workspace_floats = BATCH * OUT,
    .train = {
        .dataset = CNN_DATASET_MNIST,
        .loss = CNN_LOSS_SPARSE_XENT,
#ifdef TOY_SGD
        .optimizer = CNN_OPT_SGD,
#else
        .optimizer = CNN_OPT_ADAM,
#endif
        .learning_rate = TOY_LR,
        .momentum = TOY_MOMENTUM,
        .beta_1 = BETA_1, .beta_2 = BETA_2, .epsilon = EPSILON,
        .epochs = 1,
#ifdef TOY_SPLIT
        .validation = CNN_VALID_SPLIT,
        .split = TOY_SPLIT,
#else
        .validation = CNN_VALID_TEST,
#endif
        .seed = 42,
        .shuffle = 1,
        .init = CNN_INIT_GLOROT_UNIFORM,
    },
    .forward = toy_forward,
    .output = toy_output,
    .backward = toy_backward,
    .update = toy_update,
    .update_apply = toy_apply,
};
