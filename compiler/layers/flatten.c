/*
 * layers/flatten.c - flatten: Keras Flatten, H x W x C read as one vector in H, W, C order.
 *
 *     flatten;
 *
 * The flat index is (h * W + w) * C + c, which is where a channels-last image already keeps
 * that value: flatten changes nothing in memory, so its forward writes no code: its output is
 * its input's floats, and so is its gradient where it is the only reader of its input
 * (check/memory_plan.c). Where its input has other readers, its backward copies its gradient
 * on.
 */
#include <limits.h>
#include <stdlib.h>

#include "layers/layer.h"

static const ArgSpec flatten_args[] = {
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

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

static void flatten_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_n(p);
}

static void flatten_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    flatten_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: its gradient is its input's, read as [%d][%d][%d] */", l->name, l->in.h, l->in.w, l->in.c);
    w_pass_begin(w, fname, &params);
    w_line(w, "memcpy(din, dout, sizeof(float) * (size_t)n * %lld);", shape_size(l->out));
    w_close(w);
    w_blank(w);
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
    .infer = flatten_infer,
    .emit_backward = flatten_backward,
    .backward_params = flatten_backward_params,
    .is_view = true,
    .onnx_op = "Flatten",
    .onnx_export = flatten_onnx,
    .onnx_layout = ONNX_NHWC,
};
