/*
 * layers/add.c - add: Keras Add, the element-wise sum of the layer's input and another layer's
 * output of the same shape.
 *
 *     add(with=stem);
 *
 * Backward passes the output's gradient to both inputs unchanged.
 */
#include "layers/layer.h"

static const ArgSpec add_args[] = {
    {"with", ARG_LAYER, true},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static bool same_shape(Shape a, Shape b)
{
    return a.rank == b.rank && a.h == b.h && a.w == b.w && a.c == b.c;
}

static bool add_infer(Layer *L, Shape in)
{
    if (!same_shape(in, L->in2)) {
        char a[96], b[96];
        format_shape(a, sizeof a, in);
        format_shape(b, sizeof b, L->in2);
        error_at(L->loc, "add '%s' needs two outputs of the same shape, but its input is %s and with= names one of %s",
                 L->name, a, b);
        return false;
    }
    return true;
}

static void add_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_in(p, "with", e->in2);
    pass_n(p);
}

static void add_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    add_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_line(w, "/* %s: the sum of its input and another output, [n][%lld] each */", l->name, size);
    w_pass_begin(w, fname, &params);
    w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
    w_line(w, "    out[i] = in[i] + with[i];");
    w_close(w);
    w_blank(w);
}

static void add_backward_params(const EmitLayer *e, PassParams *p)
{
    if (e->has_din)
        pass_out(p, "din", e->din);
    if (e->has_din2)
        pass_out(p, "dwith", e->din2);
    pass_in(p, "dout", e->dout);
    pass_n(p);
}

static void add_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    add_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: both inputs get the output's gradient */", l->name);
    w_pass_begin(w, fname, &params);
    if (e->has_din)
        w_line(w, "memcpy(din, dout, sizeof(float) * (size_t)n * %lld);", size);
    if (e->has_din2)
        w_line(w, "memcpy(dwith, dout, sizeof(float) * (size_t)n * %lld);", size);
    w_close(w);
    w_blank(w);
}

/* ONNX's Add of the two tensors, which the exporter gives in one layout. */
static void add_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    ow_node(w, add_ops.onnx_op, L->name, (const char *[]){io->in, io->in2, NULL}, io->out);
}

const LayerOps add_ops = {
    .name = "add",
    .keras_class = "Add",
    .args = add_args,
    .inputs = 2,
    .infer = add_infer,
    .emit_forward = add_forward,
    .emit_backward = add_backward,
    .forward_params = add_forward_params,
    .backward_params = add_backward_params,
    .onnx_op = "Add",
    .onnx_export = add_onnx,
    .onnx_layout = ONNX_ANY,
};
