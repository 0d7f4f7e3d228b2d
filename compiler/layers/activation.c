/*
 * layers/activation.c - relu, sigmoid, tanh and softmax as layers of their own.
 *
 *     relu;   sigmoid(name=gate);   softmax;
 *
 * Each is one kind with the same verbs; the four differ only in the activation they apply
 * (L->act, set by resolve), whose expressions are emit/activation.c's. Softmax normalises each
 * pixel's channels, the last axis, as Keras does.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* ------------------------------------------------------------------ check */

static const ArgSpec activation_args[] = {
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static void relu_resolve(Layer *L, const ArgValue *vals)
{
    (void)vals;
    L->act = ACT_RELU;
}

static void sigmoid_resolve(Layer *L, const ArgValue *vals)
{
    (void)vals;
    L->act = ACT_SIGMOID;
}

static void tanh_resolve(Layer *L, const ArgValue *vals)
{
    (void)vals;
    L->act = ACT_TANH;
}

static void softmax_resolve(Layer *L, const ArgValue *vals)
{
    (void)vals;
    L->act = ACT_SOFTMAX;
}

/* The output is the input's shape. */
static bool activation_infer(Layer *L, Shape in)
{
    (void)L;
    (void)in;
    return true;
}

/* ------------------------------------------------------------------ emit */

/* The rows a softmax normalises: each pixel's channels (Keras applies it on the last axis). */
static void softmax_rows_expr(const Layer *l, char *buf, size_t size)
{
    long long per_image = shape_size(l->out) / l->out.c;
    if (per_image == 1)
        snprintf(buf, size, "n");
    else
        snprintf(buf, size, "n * %lld", per_image);
}

static void activation_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_n(p);
}

static void activation_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    char buf[128];
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    activation_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_line(w, "/* %s: %s */", l->name, activation_name(l->act));
    w_pass_begin(w, fname, &params);
    w_line(w, "/* out, in: [n][%lld] */", size);
    if (l->act == ACT_SOFTMAX) {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    out[i] = in[i];");
        softmax_rows_expr(l, buf, sizeof buf);
        emit_softmax_rows(w, "out", buf, l->out.c);
    } else {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    out[i] = %s;", activation_expr(l->act, "in[i]", buf, sizeof buf));
    }
    w_close(w);
}

/* A softmax whose gradient the loss already took (fused with cross-entropy) passes it on. */
static bool passes_gradient_on(const EmitLayer *e)
{
    return e->layer->act == ACT_SOFTMAX && e->grad_is_logits;
}

static void activation_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    if (!passes_gradient_on(e))
        pass_in(p, "out", e->out);
    pass_n(p);
}

static void activation_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    char buf[128];
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    activation_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: %s */", l->name, activation_name(l->act));
    w_pass_begin(w, fname, &params);
    if (passes_gradient_on(e)) {
        w_line(w, "/* din, dout: [n][%lld] */", size);
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    din[i] = dout[i];");
    } else if (l->act == ACT_SOFTMAX) {
        w_line(w, "/* din, dout, out: [n][%lld] */", size);
        softmax_rows_expr(l, buf, sizeof buf);
        emit_softmax_grad_rows(w, "din", "dout", "out", buf, l->out.c);
    } else {
        w_line(w, "/* din, dout, out: [n][%lld] */", size);
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    din[i] = dout[i] * %s;", activation_grad_expr(l->act, "out[i]", buf, sizeof buf));
    }
    w_close(w);
}

/* Element-wise, in either layout (a softmax is only ever last, over a flat tensor). */
static void activation_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    ow_activation(w, L->name, L->act, io->drop_softmax, io->in, io->out);
}

#define ACTIVATION_OPS(kind_name, class_name, resolve_fn, onnx)                                       \
    {                                                                                                 \
        .name = kind_name, .keras_class = class_name, .args = activation_args, .resolve = resolve_fn, \
        .infer = activation_infer, .emit_forward = activation_forward,                               \
        .emit_backward = activation_backward, .forward_params = activation_forward_params,           \
        .backward_params = activation_backward_params, .is_activation = true, .onnx_op = onnx,       \
        .onnx_export = activation_onnx, .onnx_layout = ONNX_ANY,                                      \
    }

const LayerOps relu_ops = ACTIVATION_OPS("relu", "ReLU", relu_resolve, "Relu");
const LayerOps sigmoid_ops = ACTIVATION_OPS("sigmoid", "Activation", sigmoid_resolve, "Sigmoid");
const LayerOps tanh_ops = ACTIVATION_OPS("tanh", "Activation", tanh_resolve, "Tanh");
const LayerOps softmax_ops = ACTIVATION_OPS("softmax", "Softmax", softmax_resolve, "Softmax");
