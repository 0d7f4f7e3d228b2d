/*
 * ref_impl.c - the reference layers (runtime/ref/) behind the benchmark's interface:
 * a cnn_layer from the generated table becomes the ref_conv2d / ref_pool2d the reference
 * functions take, and the fused activation runs as a separate pass, as it reads.
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
    return (size_t)batch * bench_out_size(l);
}

static void ref_forward(const cnn_layer *l, const float *params, float *ws, int n, float *scratch)
{
    (void)scratch;
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
    default:
        break;
    }
}

const bench_impl bench_ref_impl = {
    .name = "reference",
    .scratch_floats = ref_scratch,
    .forward = ref_forward,
    .backward = ref_backward,
};
