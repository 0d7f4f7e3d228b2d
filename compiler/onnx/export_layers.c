/*
 * onnx/export_layers.c - each layer kind's forward pass as ONNX nodes, one function a kind,
 * tied together by a table indexed by LayerKind. Written against onnx/onnx_writer.h only; each
 * function is what the kind's `onnx_export` slot will hold once compiler/layers/layer.h's
 * LayerOps table exists (see onnx/export.h).
 *
 * Names: a layer's main node is named after the layer and its fused activation
 * "<layer>/<activation>", so that `cnnc import` of the file gives the same layers back; its
 * parameters are the initializers "<layer>.kernel" and "<layer>.bias", as in checkpoints.
 * Layouts: ONNX's Conv and pooling read NCHW, so their kernels go from cnnc's
 * [KH][KW][CIN][COUT] to ONNX's [COUT][CIN][KH][KW]; a dense kernel [IN][OUT] is Gemm's B as it
 * is, because flatten reads NHWC, cnnc's own order.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/export.h"

/* The activation a layer applies to its output (none for the kinds without one). The IR is
 * being reworked to hold this in the Layer itself: this is the one place that reads it. */
static Activation layer_act(const Layer *l)
{
    return l->act;
}

static const char *activation_op(Activation a)
{
    switch (a) {
    case ACT_RELU: return "Relu";
    case ACT_SIGMOID: return "Sigmoid";
    case ACT_TANH: return "Tanh";
    case ACT_SOFTMAX: return "Softmax";
    case ACT_NONE: break;
    }
    unreachable();
}

/* `act` from `in` to `out` as a node named `name`; a softmax is over the last axis (its input
 * is flat: only the last layer may have one). Under drop_softmax, an Identity instead. */
static void write_activation(OnnxWriter *w, const char *name, Activation act, bool drop_softmax, const char *in,
                             const char *out)
{
    const char *inputs[] = {in, NULL};
    if (act == ACT_SOFTMAX && drop_softmax) {
        ow_node(w, "Identity", name, inputs, out);
        return;
    }
    OnnxNode *n = ow_node(w, activation_op(act), name, inputs, out);
    if (act == ACT_SOFTMAX)
        ow_attr_int(n, "axis", -1);
}

/* The node that computes the layer, then its fused activation if it has one: the main
 * node's output is then "<layer>/linear". Returns the main node's output name (malloc'ed). */
static char *main_output(const Layer *l, const OnnxLayerIO *io)
{
    if (layer_act(l) == ACT_NONE || (layer_act(l) == ACT_SOFTMAX && io->drop_softmax))
        return xstrdup(io->out);
    char *s = xmalloc(strlen(l->name) + 16);
    sprintf(s, "%s/linear", l->name);
    return s;
}

static void finish_activation(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io, const char *linear)
{
    Activation a = layer_act(l);
    if (a == ACT_NONE || (a == ACT_SOFTMAX && io->drop_softmax))
        return;
    char name[160];
    snprintf(name, sizeof name, "%s/%s", l->name, activation_name(a));
    write_activation(w, name, a, false, linear, io->out);
}

static char *param_name(const Layer *l, const char *suffix)
{
    char *s = xmalloc(strlen(l->name) + strlen(suffix) + 2);
    sprintf(s, "%s.%s", l->name, suffix);
    return s;
}

/* A 2-D window: kernel_shape, strides, and Keras same as ONNX's SAME_UPPER (the larger half of
 * the padding after), which is what cnnc resolved. */
static void window_attrs(OnnxNode *n, int kh, int kw, int sh, int sw, Padding p)
{
    ow_attr_ints(n, "kernel_shape", (long long[]){kh, kw}, 2);
    ow_attr_ints(n, "strides", (long long[]){sh, sw}, 2);
    if (p == PAD_SAME)
        ow_attr_string(n, "auto_pad", "SAME_UPPER");
}

/* ------------------------------------------------------------------ the kinds */

static void export_conv2d(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    const ConvAttrs *a = &l->u.conv;
    int cin = l->in.c, cout = a->filters;
    float *k = xmalloc((size_t)l->kernel_size * sizeof *k);
    for (int ky = 0; ky < a->kh; ky++)
        for (int kx = 0; kx < a->kw; kx++)
            for (int ci = 0; ci < cin; ci++)
                for (int co = 0; co < cout; co++)
                    k[(((size_t)co * cin + ci) * a->kh + ky) * a->kw + kx] =
                        io->kernel[(((size_t)ky * a->kw + kx) * cin + ci) * cout + co];
    char *kname = param_name(l, "kernel"), *bname = param_name(l, "bias");
    ow_initializer(w, kname, 4, (long long[]){cout, cin, a->kh, a->kw}, k);
    if (a->use_bias)
        ow_initializer(w, bname, 1, (long long[]){cout}, io->bias);
    char *linear = main_output(l, io);
    OnnxNode *n = ow_node(w, "Conv", l->name, (const char *[]){io->in, kname, a->use_bias ? bname : NULL, NULL},
                          linear);
    window_attrs(n, a->kh, a->kw, a->sh, a->sw, a->padding);
    finish_activation(w, l, io, linear);
    free(k);
    free(kname);
    free(bname);
    free(linear);
}

static void export_pool(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    const PoolAttrs *a = &l->u.pool;
    bool avg = l->kind == LAYER_AVGPOOL2D;
    OnnxNode *n = ow_node(w, avg ? "AveragePool" : "MaxPool", l->name, (const char *[]){io->in, NULL}, io->out);
    window_attrs(n, a->ph, a->pw, a->sh, a->sw, a->padding);
    if (avg) /* Keras averages over the cells inside the image only */
        ow_attr_int(n, "count_include_pad", 0);
}

static void export_flatten(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    OnnxNode *n = ow_node(w, "Flatten", l->name, (const char *[]){io->in, NULL}, io->out);
    ow_attr_int(n, "axis", 1);
}

static void export_dense(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    const DenseAttrs *a = &l->u.dense;
    char *kname = param_name(l, "kernel"), *bname = param_name(l, "bias");
    ow_initializer(w, kname, 2, (long long[]){shape_size(l->in), a->units}, io->kernel);
    if (a->use_bias)
        ow_initializer(w, bname, 1, (long long[]){a->units}, io->bias);
    char *linear = main_output(l, io);
    ow_node(w, "Gemm", l->name, (const char *[]){io->in, kname, a->use_bias ? bname : NULL, NULL}, linear);
    finish_activation(w, l, io, linear);
    free(kname);
    free(bname);
    free(linear);
}

/* Dropout is the identity in inference; the node keeps the rate (and the seed) so that an
 * import gives the layer back. Since opset 12 the ratio is an input. */
static void export_dropout(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    char *rname = param_name(l, "ratio");
    float rate = (float)l->u.dropout.rate;
    ow_initializer(w, rname, 0, NULL, &rate);
    OnnxNode *n = ow_node(w, "Dropout", l->name, (const char *[]){io->in, rname, NULL}, io->out);
    if (l->u.dropout.has_seed)
        ow_attr_int(n, "seed", l->u.dropout.seed);
    free(rname);
}

static void export_activation(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io)
{
    write_activation(w, l->name, layer_act(l), io->drop_softmax, io->in, io->out);
}

static const OnnxLayerExport exports[] = {
    [LAYER_CONV2D] = {export_conv2d, ONNX_NCHW},
    [LAYER_MAXPOOL2D] = {export_pool, ONNX_NCHW},
    [LAYER_AVGPOOL2D] = {export_pool, ONNX_NCHW},
    [LAYER_FLATTEN] = {export_flatten, ONNX_NHWC},
    [LAYER_DENSE] = {export_dense, ONNX_ANY},
    [LAYER_DROPOUT] = {export_dropout, ONNX_ANY},
    [LAYER_RELU] = {export_activation, ONNX_ANY},
    [LAYER_SIGMOID] = {export_activation, ONNX_ANY},
    [LAYER_TANH] = {export_activation, ONNX_ANY},
    [LAYER_SOFTMAX] = {export_activation, ONNX_ANY},
};
_Static_assert(sizeof exports / sizeof exports[0] == LAYER_KIND_COUNT, "every layer kind exports to ONNX");

const OnnxLayerExport *onnx_layer_export(LayerKind k)
{
    if ((unsigned)k >= LAYER_KIND_COUNT || exports[k].write == NULL)
        unreachable();
    return &exports[k];
}
