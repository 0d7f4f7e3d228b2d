/*
 * layers/dropout.c - dropout: Keras Dropout, inverted.
 *
 *     dropout(rate=0.5, seed=7);
 *
 * Training keeps each value with probability 1 - rate and scales it by 1 / (1 - rate), so that
 * evaluation is the identity. The mask is a pure function of (dropout_key, image index,
 * element index, layer): images give the same mask whichever thread runs them. Forward keeps
 * the mask (0 or the scale) in the workspace and backward multiplies by it.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* ------------------------------------------------------------------ check */

static const ArgSpec dropout_args[] = {
    {"rate", ARG_RATE, true},
    {"seed", ARG_INTEGER, false},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static void dropout_resolve(Layer *L, const ArgValue *vals)
{
    const ArgValue *v;
    DropoutAttrs *d = &L->u.dropout;
    *d = (DropoutAttrs){0};
    L->act = ACT_NONE;
    if ((v = arg_value(dropout_args, vals, "rate")))
        d->rate = v->r;
    if ((v = arg_value(dropout_args, vals, "seed")))
        d->has_seed = true, d->seed = v->i;
}

/* The mask, one float per activation, scaled by 1 / (1 - rate) where kept. */
static bool dropout_infer(Layer *L, Shape in)
{
    L->aux_size = shape_size(in);
    return true;
}

/* ------------------------------------------------------------------ describe */

static int dropout_attrs(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS])
{
    out[0] = (LayerAttr){.name = "rate", .type = ATTR_REAL, .r = L->u.dropout.rate};
    if (!L->u.dropout.has_seed)
        return 1;
    out[1] = (LayerAttr){.name = "seed", .type = ATTR_INT, .i = L->u.dropout.seed};
    return 2;
}

static void dropout_runtime_row(const Layer *L, RuntimeRow *r)
{
    *r = (RuntimeRow){.rate = L->u.dropout.rate};
}

/* ------------------------------------------------------------------ emit */

/* The hash every dropout layer of a model shares; emit/model.c writes it once. */
void emit_dropout_hash(Writer *w)
{
    w_line(w, "/* splitmix64's finaliser: a stateless hash, so that a dropout mask depends only on");
    w_line(w, " * (key, image, element, layer) and not on which thread draws it. */");
    w_begin_function(w, "static uint64_t mix64(uint64_t z)");
    w_line(w, "z += UINT64_C(0x9e3779b97f4a7c15);");
    w_line(w, "z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);");
    w_line(w, "z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);");
    w_line(w, "return z ^ (z >> 31);");
    w_close(w);
    w_blank(w);
    w_line(w, "/* A uniform float in [0, 1) from the top 24 bits of the hash. */");
    w_begin_function(w, "static float dropout_uniform(uint64_t image_key, uint64_t element)");
    w_line(w, "return (float)(mix64(image_key ^ mix64(element)) >> 40) * (1.0f / 16777216.0f);");
    w_close(w);
    w_blank(w);
}

static unsigned long long layer_salt(const EmitLayer *e)
{
    const DropoutAttrs *a = &e->layer->u.dropout;
    /* Each dropout layer draws its own mask: its seed when given, else its place in the model. */
    return a->has_seed ? (unsigned long long)a->seed : (unsigned long long)e->index + 1;
}

static void dropout_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_out(p, "mask", e->aux);
    pass_in(p, "in", e->in);
    pass_n(p);
    pass_add(p, "training", "int training");
    p->p[p->n - 1].wrap = true;
    pass_add(p, "dropout_key", "uint64_t dropout_key");
    pass_add(p, "first", "int first");
}

static void dropout_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DropoutAttrs *a = &l->u.dropout;
    long long size = shape_size(l->out);
    char rate[48], scale[48];
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    dropout_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_float_literal(rate, sizeof rate, a->rate);
    w_float_literal(scale, sizeof scale, 1.0 / (1.0 - a->rate));
    w_line(w, "/* %s: rate %g, keep with probability %g and scale by 1 / %g */", l->name, a->rate, 1.0 - a->rate,
           1.0 - a->rate);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* out, mask, in: [n][%lld] */", size);
    w_open(w, "if (!training)");
    w_line(w, "for (int i = 0; i < n * %lld; i++) {", size);
    w_line(w, "    out[i] = in[i];");
    w_line(w, "    mask[i] = 1.0f;");
    w_line(w, "}");
    w_line(w, "return;");
    w_close(w);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const uint64_t image_key = mix64(dropout_key ^ mix64(UINT64_C(%llu))) ^ mix64((uint64_t)(first + b));",
           layer_salt(e));
    w_open(w, "for (int i = 0; i < %lld; i++)", size);
    w_line(w, "const size_t at = (size_t)b * %lld + (size_t)i;", size);
    w_line(w, "mask[at] = dropout_uniform(image_key, (uint64_t)i) >= %s ? %s : 0.0f;", rate, scale);
    w_line(w, "out[at] = in[at] * mask[at];");
    w_close(w);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void dropout_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_in(p, "mask", e->aux);
    pass_n(p);
}

static void dropout_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    dropout_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s */", l->name);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* din, dout, mask: [n][%lld] */", size);
    w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
    w_line(w, "    din[i] = dout[i] * mask[i];");
    w_close(w);
    w_blank(w);
}

/* The identity in inference; the node keeps the rate (an input since opset 12) and the seed,
 * so that `cnnc import` gives the layer back. */
static void dropout_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    char *rname = ow_layer_tensor(L, ".", "ratio");
    float rate = (float)L->u.dropout.rate;
    ow_initializer(w, rname, 0, NULL, &rate);
    OnnxNode *n = ow_node(w, dropout_ops.onnx_op, L->name, (const char *[]){io->in, rname, NULL}, io->out);
    if (L->u.dropout.has_seed)
        ow_attr_int(n, "seed", L->u.dropout.seed);
    free(rname);
}

const LayerOps dropout_ops = {
    .name = "dropout",
    .keras_class = "Dropout",
    .args = dropout_args,
    .resolve = dropout_resolve,
    .infer = dropout_infer,
    .attrs = dropout_attrs,
    .runtime_row = dropout_runtime_row,
    .emit_forward = dropout_forward,
    .emit_backward = dropout_backward,
    .forward_params = dropout_forward_params,
    .backward_params = dropout_backward_params,
    .identity_at_inference = true,
    .onnx_op = "Dropout",
    .onnx_export = dropout_onnx,
    .onnx_layout = ONNX_ANY,
};
