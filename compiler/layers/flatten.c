/*
 * layers/flatten.c - flatten: Keras Flatten, H x W x C read as one vector in H, W, C order.
 *
 *     flatten;
 *
 * The flat index is (h * W + w) * C + c, which is where a channels-last image already keeps
 * that value: flatten changes nothing in memory, so it writes no code. Its output and its
 * gradient are its input's floats (emit/model.c places them so).
 */
#include <limits.h>
#include <stdlib.h>

#include "layers/layer.h"

static const ArgSpec flatten_args[] = {
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static void flatten_resolve(Layer *L, const ArgValue *vals)
{
    (void)vals;
    L->act = ACT_NONE;
}

static bool flatten_infer(Layer *L, Shape in)
{
    long long n = shape_size(in);
    if (n < 0 || n > INT_MAX) {
        char owner[160];
        layer_owner(L, owner, sizeof owner);
        return check_buffer_size(L->loc, owner, "output", n, 0);
    }
    L->out = (Shape){.rank = 1, .h = 1, .w = 1, .c = (int)n};
    return true;
}

/* Flatten of an NHWC image: H, W, C order, as cnnc's dense kernels read it. */
static void flatten_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    OnnxNode *n = ow_node(w, flatten_ops.onnx_op, L->name, (const char *[]){io->in, NULL}, io->out);
    ow_attr_int(n, "axis", 1);
}

const LayerOps flatten_ops = {
    .name = "flatten",
    .keras_class = "Flatten",
    .args = flatten_args,
    .resolve = flatten_resolve,
    .infer = flatten_infer,
    .is_view = true,
    .onnx_op = "Flatten",
    .onnx_export = flatten_onnx,
    .onnx_layout = ONNX_NHWC,
};
