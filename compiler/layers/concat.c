/*
 * layers/concat.c - concat: Keras Concatenate(axis=-1), the layer's input and another layer's
 * output joined along the channels (or, for flat outputs, along the units).
 *
 *     concat(with=branch_a);
 *
 * Each pixel of the output is the input's channels, then the other's: [H][W][C1 + C2].
 * Backward splits the output's gradient the same way.
 */
#include "layers/layer.h"

static const ArgSpec concat_args[] = {
    {"with", ARG_LAYER, true},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static bool concat_infer(Layer *L, Shape in)
{
    Shape b = L->in2;
    if (in.rank != b.rank || (in.rank == 3 && (in.h != b.h || in.w != b.w))) {
        char sa[96], sb[96];
        format_shape(sa, sizeof sa, in);
        format_shape(sb, sizeof sb, b);
        error_at(L->loc, "concat '%s' joins outputs along their channels, so they need the same %s, but its input is "
                 "%s and with= names one of %s", L->name, in.rank == 3 && b.rank == 3 ? "height and width" : "rank",
                 sa, sb);
        return false;
    }
    long long c = (long long)in.c + b.c;
    if (c > 2147483647LL) {
        error_at(L->loc, "concat '%s' would have %lld channels, more than an int holds", L->name, c);
        return false;
    }
    L->out = in;
    L->out.c = (int)c;
    return true;
}

/* The pixels (or images, for flat outputs) whose channels are joined. */
static long long pixels(const Layer *l)
{
    return (long long)l->out.h * l->out.w;
}

static void concat_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_in(p, "with", e->in2);
    pass_n(p);
}

static void concat_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    int c1 = l->in.c, c2 = l->in2.c, c = l->out.c;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    concat_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_line(w, "/* %s: %d + %d channels -> %d */", l->name, c1, c2, c);
    w_pass_begin(w, fname, &params);
    w_open(w, "for (long p = 0; p < (long)n * %lld; p++)", pixels(l));
    w_line(w, "memcpy(out + p * %d, in + p * %d, sizeof(float) * %d);", c, c1, c1);
    w_line(w, "memcpy(out + p * %d + %d, with + p * %d, sizeof(float) * %d);", c, c1, c2, c2);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void concat_backward_params(const EmitLayer *e, PassParams *p)
{
    if (e->has_din)
        pass_out(p, "din", e->din);
    if (e->has_din2)
        pass_out(p, "dwith", e->din2);
    pass_in(p, "dout", e->dout);
    pass_n(p);
}

static void concat_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    int c1 = l->in.c, c2 = l->in2.c, c = l->out.c;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    concat_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: the output's gradient split back into %d and %d channels */", l->name, c1, c2);
    w_pass_begin(w, fname, &params);
    w_open(w, "for (long p = 0; p < (long)n * %lld; p++)", pixels(l));
    if (e->has_din)
        w_line(w, "memcpy(din + p * %d, dout + p * %d, sizeof(float) * %d);", c1, c, c1);
    if (e->has_din2)
        w_line(w, "memcpy(dwith + p * %d, dout + p * %d + %d, sizeof(float) * %d);", c2, c, c1, c2);
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* ONNX's Concat along the channels: axis 1 of NCHW, 3 of NHWC, and the units (1) of a flat
 * tensor. The exporter gives both inputs in one layout. */
static void concat_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    OnnxNode *n = ow_node(w, concat_ops.onnx_op, L->name, (const char *[]){io->in, io->in2, NULL}, io->out);
    ow_attr_int(n, "axis", L->in.rank == 3 && !io->nchw ? 3 : 1);
}

const LayerOps concat_ops = {
    .name = "concat",
    .keras_class = "Concatenate",
    .args = concat_args,
    .inputs = 2,
    .infer = concat_infer,
    .emit_forward = concat_forward,
    .emit_backward = concat_backward,
    .forward_params = concat_forward_params,
    .backward_params = concat_backward_params,
    .onnx_op = "Concat",
    .onnx_export = concat_onnx,
    .onnx_layout = ONNX_ANY,
};
