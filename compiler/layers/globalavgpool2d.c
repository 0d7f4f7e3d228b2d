/*
 * layers/globalavgpool2d.c - globalavgpool2d: Keras GlobalAveragePooling2D, each channel's
 * mean over the image: H x W x C becomes C.
 *
 *     globalavgpool2d;
 */
#include <stdlib.h>

#include "layers/layer.h"

static const ArgSpec gap_args[] = {
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static bool gap_infer(Layer *L, Shape in)
{
    if (!need_rank(L, in, 3))
        return false;
    L->out = (Shape){.rank = 1, .h = 1, .w = 1, .c = in.c};
    return true;
}

static void gap_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_n(p);
}

static void gap_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    int pixels = l->in.h * l->in.w, c = l->in.c;
    char inv[48];
    w_float_literal(inv, sizeof inv, 1.0 / pixels);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    gap_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_line(w, "/* %s: the mean of each of %d channels over %dx%d pixels */", l->name, c, l->in.h, l->in.w);
    w_pass_begin(w, fname, &params);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %d;", c);
    w_line(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "    y[ch] = 0.0f;");
    w_line(w, "for (int p = 0; p < %d; p++)", pixels);
    w_line(w, "    for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "        y[ch] += x[p * %d + ch];", c);
    w_line(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "    y[ch] *= %s;", inv);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void gap_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_n(p);
}

static void gap_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    int pixels = l->in.h * l->in.w, c = l->in.c;
    char inv[48];
    w_float_literal(inv, sizeof inv, 1.0 / pixels);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    gap_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: each pixel gets its channel's gradient over %d */", l->name, pixels);
    w_pass_begin(w, fname, &params);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "float *restrict dx = din + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "const float *restrict dy = dout + (size_t)b * %d;", c);
    w_line(w, "for (int p = 0; p < %d; p++)", pixels);
    w_line(w, "    for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "        dx[p * %d + ch] = dy[ch] * %s;", c, inv);
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* GlobalAveragePool keeps the two spatial axes as 1x1; a Flatten makes the output [N, C]. */
static void gap_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    char *pooled = ow_layer_tensor(L, "/", "pooled"), *flat = ow_layer_tensor(L, "/", "flatten");
    ow_node(w, globalavgpool2d_ops.onnx_op, L->name, (const char *[]){io->in, NULL}, pooled);
    OnnxNode *n = ow_node(w, "Flatten", flat, (const char *[]){pooled, NULL}, io->out);
    ow_attr_int(n, "axis", 1);
    free(pooled);
    free(flat);
}

const LayerOps globalavgpool2d_ops = {
    .name = "globalavgpool2d",
    .keras_class = "GlobalAveragePooling2D",
    .args = gap_args,
    .infer = gap_infer,
    .emit_forward = gap_forward,
    .emit_backward = gap_backward,
    .forward_params = gap_forward_params,
    .backward_params = gap_backward_params,
    .onnx_op = "GlobalAveragePool",
    .onnx_export = gap_onnx,
    .onnx_layout = ONNX_NCHW,
};
