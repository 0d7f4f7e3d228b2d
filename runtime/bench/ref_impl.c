/*
 * ref_impl.c - the reference layers (runtime/ref/) behind the benchmark's interface:
 * a cnn_layer from the generated table becomes the ref_conv2d / ref_pool2d the reference
 * functions take, and the fused activation runs as a separate pass, as it reads. A graph's
 * layers read the outputs their row names (in, and in2 for add and concat) and write the
 * gradient of each (din, din2); batchnorm normalises with the batch's own statistics, which
 * its backward computes again from the input.
 */
#include <string.h>

#include "bench_layers.h"
#include "ref_layers.h"

size_t bench_in_size(const cnn_layer *l)
{
    return (size_t)l->in_h * l->in_w * l->in_c;
}

size_t bench_out_size(const cnn_layer *l)
{
    return (size_t)l->out_h * l->out_w * l->out_c;
}

static ref_conv2d conv_of(const cnn_layer *l, int n)
{
    ref_conv2d p = {.n = n, .in_h = l->in_h, .in_w = l->in_w, .in_c = l->in_c, .out_h = l->out_h,
                    .out_w = l->out_w, .out_c = l->out_c, .kh = l->kh, .kw = l->kw, .sh = l->sh,
                    .sw = l->sw, .pad_top = l->pad_top, .pad_left = l->pad_left,
                    .pad_bottom = l->pad_bottom, .pad_right = l->pad_right, .use_bias = l->use_bias};
    return p;
}

size_t bench_kernel_count(const cnn_layer *l)
{
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
        return (size_t)l->kh * l->kw * l->in_c * l->units;
    case CNN_LAYER_DENSE:
        return bench_in_size(l) * l->units;
    case CNN_LAYER_BATCHNORM:
        return (size_t)l->units;
    default:
        return 0;
    }
}

size_t bench_in2_size(const cnn_layer *l)
{
    if (l->ninputs < 2)
        return 0;
    if (l->kind_id == CNN_LAYER_CONCAT)
        return (size_t)l->in_h * l->in_w * (l->out_c - l->in_c);
    return bench_in_size(l);
}

static ref_pool2d pool_of(const cnn_layer *l, int n)
{
    ref_pool2d p = {.n = n, .in_h = l->in_h, .in_w = l->in_w, .c = l->in_c, .out_h = l->out_h,
                    .out_w = l->out_w, .ph = l->kh, .pw = l->kw, .sh = l->sh, .sw = l->sw,
                    .pad_top = l->pad_top, .pad_left = l->pad_left, .pad_bottom = l->pad_bottom,
                    .pad_right = l->pad_right};
    return p;
}

/* The gradient before the activation: dout itself when the loss already gave that of the
 * logits or there is no activation, else act'(out) * dout in scratch. */
static const float *pre_activation_grad(const cnn_layer *l, const float *ws, int n, float *scratch)
{
    const float *dout = ws + l->dout;
    if (l->grad_is_logits || l->activation == CNN_ACT_NONE)
        return dout;
    int rows = n * l->out_h * l->out_w;
    ref_activation_backward((ref_activation)l->activation, rows, l->out_c, scratch, dout, ws + l->out);
    return scratch;
}

static size_t ref_scratch(const cnn_layer *l, int batch)
{
    size_t out = (size_t)batch * bench_out_size(l);
    return l->kind_id == CNN_LAYER_BATCHNORM && out < 2 * (size_t)l->units ? 2 * (size_t)l->units : out;
}

/* Batchnorm's gamma and beta, NULL where scale or center is off. */
static const float *bn_gamma(const cnn_layer *l, const float *params)
{
    return l->kernel_offset >= 0 ? params + l->kernel_offset : NULL;
}

static const float *bn_beta(const cnn_layer *l, const float *params)
{
    return l->bias_offset >= 0 ? params + l->bias_offset : NULL;
}

static void ref_forward(const cnn_layer *l, const float *params, float *ws, int n, float *scratch)
{
    float *y = ws + l->out;
    const float *x = ws + l->in;
    size_t count = (size_t)n * bench_out_size(l);
    int rows = n * l->out_h * l->out_w;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D: {
        ref_conv2d p = conv_of(l, n);
        ref_conv2d_forward(&p, y, x, params + l->kernel_offset, l->use_bias ? params + l->bias_offset : NULL);
        ref_activation_forward((ref_activation)l->activation, rows, l->out_c, y, y);
        break;
    }
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        if (l->kind_id == CNN_LAYER_MAXPOOL2D)
            ref_maxpool2d_forward(&p, y, x);
        else
            ref_avgpool2d_forward(&p, y, x);
        break;
    }
    case CNN_LAYER_DENSE:
        ref_dense_forward(n, (int)bench_in_size(l), l->units, y, x, params + l->kernel_offset,
                          l->use_bias ? params + l->bias_offset : NULL);
        ref_activation_forward((ref_activation)l->activation, n, l->units, y, y);
        break;
    case CNN_LAYER_DROPOUT:
        ref_dropout_forward(count, y, x, ws + l->aux);
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        ref_activation_forward((ref_activation)l->activation, rows, l->out_c, y, x);
        break;
    case CNN_LAYER_ADD:
        ref_add_forward(count, y, x, ws + l->in2);
        break;
    case CNN_LAYER_CONCAT:
        ref_concat_forward((size_t)rows, l->in_c, l->out_c - l->in_c, y, x, ws + l->in2);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        ref_globalavgpool2d_forward(n, l->in_h, l->in_w, l->in_c, y, x);
        break;
    case CNN_LAYER_BATCHNORM: {
        /* Training: the batch's statistics (scratch holds mean[C], var[C]). */
        float *mean = scratch, *var = scratch + l->units;
        ref_batchnorm_stats((size_t)rows, l->units, x, mean, var);
        ref_batchnorm_forward((size_t)rows, l->units, y, x, bn_gamma(l, params), bn_beta(l, params), mean, var,
                              l->rate);
        break;
    }
    default: /* flatten is a view of its input */
        break;
    }
}

static void ref_backward(const cnn_layer *l, const float *params, float *grads, float *ws, int n, float *scratch)
{
    float *dx = l->din >= 0 ? ws + l->din : NULL;
    const float *dy = ws + l->dout;
    size_t count = (size_t)n * bench_out_size(l);
    int rows = n * l->out_h * l->out_w;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D: {
        ref_conv2d p = conv_of(l, n);
        ref_conv2d_backward(&p, dx, grads + l->kernel_offset, l->use_bias ? grads + l->bias_offset : NULL,
                            pre_activation_grad(l, ws, n, scratch), ws + l->in, params + l->kernel_offset);
        break;
    }
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        if (dx == NULL)
            break;
        if (l->kind_id == CNN_LAYER_MAXPOOL2D)
            ref_maxpool2d_backward(&p, dx, dy, ws + l->in);
        else
            ref_avgpool2d_backward(&p, dx, dy);
        break;
    }
    case CNN_LAYER_DENSE:
        ref_dense_backward(n, (int)bench_in_size(l), l->units, dx, grads + l->kernel_offset,
                           l->use_bias ? grads + l->bias_offset : NULL, pre_activation_grad(l, ws, n, scratch),
                           ws + l->in, params + l->kernel_offset);
        break;
    case CNN_LAYER_DROPOUT:
        if (dx != NULL)
            ref_dropout_backward(count, dx, dy, ws + l->aux);
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        if (dx == NULL)
            break;
        if (l->grad_is_logits)
            memmove(dx, dy, sizeof(float) * count);
        else
            ref_activation_backward((ref_activation)l->activation, rows, l->out_c, dx, dy, ws + l->out);
        break;
    case CNN_LAYER_ADD:
        ref_add_backward(count, dx, l->din2 >= 0 ? ws + l->din2 : NULL, dy);
        break;
    case CNN_LAYER_CONCAT:
        ref_concat_backward((size_t)rows, l->in_c, l->out_c - l->in_c, dx, l->din2 >= 0 ? ws + l->din2 : NULL, dy);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        if (dx != NULL)
            ref_globalavgpool2d_backward(n, l->in_h, l->in_w, l->in_c, dx, dy);
        break;
    case CNN_LAYER_BATCHNORM: {
        float *mean = scratch, *var = scratch + l->units;
        ref_batchnorm_stats((size_t)rows, l->units, ws + l->in, mean, var);
        ref_batchnorm_backward((size_t)rows, l->units, dx, l->kernel_offset >= 0 ? grads + l->kernel_offset : NULL,
                               l->bias_offset >= 0 ? grads + l->bias_offset : NULL, dy, ws + l->in,
                               bn_gamma(l, params), mean, var, l->rate);
        break;
    }
    default:
        /* flatten: its gradient is its input's where it is that output's only reader; where
         * it has one of its own, backward copies it on, as the generated one does. */
        if (dx != NULL && dx != dy)
            memmove(dx, dy, sizeof(float) * count);
        break;
    }
}

const bench_impl bench_ref_impl = {
    .name = "reference",
    .scratch_floats = ref_scratch,
    .forward = ref_forward,
    .backward = ref_backward,
};
