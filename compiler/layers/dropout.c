/*
 * layers/dropout.c - inverted dropout, and flatten (which generates no code at all).
 *
 * Training keeps each value with probability 1 - rate and scales it by 1 / (1 - rate), so that
 * evaluation is the identity. The mask is a pure function of (dropout_key, image index,
 * element index, layer): images give the same mask whichever thread runs them. Forward keeps
 * the mask (0 or the scale) in the workspace and backward multiplies by it.
 */
#include "emit/writer.h"

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

static void dropout_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DropoutAttrs *a = &l->u.dropout;
    long long size = shape_size(l->out);
    char rate[48], scale[48];
    (void)m;
    w_float_literal(rate, sizeof rate, a->rate);
    w_float_literal(scale, sizeof scale, 1.0 / (1.0 - a->rate));
    w_line(w, "/* %s: rate %g, keep with probability %g and scale by 1 / %g */", l->name, a->rate, 1.0 - a->rate,
           1.0 - a->rate);
    w_begin_function(w, "static void %s_forward(float *restrict out, float *restrict mask, const float *restrict in, int n,\n"
                        "    int training, uint64_t dropout_key, int first)", l->name);
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

static void dropout_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long size = shape_size(l->out);
    (void)m;
    if (e->din[0] == '\0')
        return;
    w_line(w, "/* %s */", l->name);
    w_begin_function(w, "static void %s_backward(float *restrict din, const float *restrict dout, const float *restrict mask, int n)", l->name);
    w_line(w, "/* din, dout, mask: [n][%lld] */", size);
    w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
    w_line(w, "    din[i] = dout[i] * mask[i];");
    w_close(w);
    w_blank(w);
}

static void dropout_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    w_line(w, "%s_forward(%s, %s, %s, n, training, dropout_key, first);", e->layer->name, e->out, e->aux, e->in);
}

static void dropout_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->din[0] != '\0')
        w_line(w, "%s_backward(%s, %s, %s, n);", e->layer->name, e->din, e->dout, e->aux);
}

const EmitKind emit_dropout_kind = {
    .forward = dropout_forward,
    .backward = dropout_backward,
    .forward_call = dropout_forward_call,
    .backward_call = dropout_backward_call,
};

/* ------------------------------------------------------------------ flatten */

/* Flattening a channels-last [H][W][C] buffer in H, W, C order changes nothing in memory:
 * its output and gradient are the same floats as its input's (emit/model.c places them so). */
static void flatten_nothing(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)w;
    (void)m;
    (void)e;
}

static void flatten_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    (void)m;
    w_line(w, "/* %s: [%d][%d][%d] read as [%lld], in place */", l->name, l->in.h, l->in.w, l->in.c, shape_size(l->out));
}

const EmitKind emit_flatten_kind = {
    .forward = flatten_nothing,
    .backward = flatten_nothing,
    .forward_call = flatten_forward_call,
    .backward_call = flatten_nothing,
};
