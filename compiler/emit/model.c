/*
 * emit/model.c - writes DIR/<name>.h and DIR/<name>.c for a checked model: the banner with the
 * model's canonical text and hash, the named constants, the parameter table, the workspace
 * layout, the passes of every layer (through the per-kind emitters below), the loss, the
 * optimizer and the `const cnn_model <name>_model` that runtime/cnn_model.h defines.
 *
 * Nothing here depends on the model file's path or spelling: a .cnn file and its YAML twin
 * produce the same bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit/writer.h"

/* The emitters of each layer kind. */
static const EmitKind *const kinds[LAYER_KIND_COUNT] = {
    [LAYER_CONV2D] = &emit_conv2d_kind,
    [LAYER_MAXPOOL2D] = &emit_maxpool2d_kind,
    [LAYER_AVGPOOL2D] = &emit_avgpool2d_kind,
    [LAYER_FLATTEN] = &emit_flatten_kind,
    [LAYER_DENSE] = &emit_dense_kind,
    [LAYER_DROPOUT] = &emit_dropout_kind,
    [LAYER_RELU] = &emit_activation_kind,
    [LAYER_SIGMOID] = &emit_activation_kind,
    [LAYER_TANH] = &emit_activation_kind,
    [LAYER_SOFTMAX] = &emit_activation_kind,
};

static void to_upper(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

/* ------------------------------------------------------------------ placement */

typedef struct Plan {
    EmitLayer *layers;
    char upper[EMIT_NAME_MAX];                 /* the model name in upper case */
    long long *kernel_off, *bias_off; /* into params, per layer */
    long long *act_off, *aux_off, *grad_off; /* into ws, per layer; -1 where none */
    long long input_off, used_floats, workspace_floats;
    bool params_in_backward;         /* some backward reads the parameters */
    bool has_dropout;
} Plan;

static bool has_params(const Layer *l)
{
    return l->params > 0;
}

static bool is_softmax_output(const Layer *l)
{
    bool softmax = l->kind == LAYER_SOFTMAX || (l->kind == LAYER_CONV2D && l->u.conv.act == ACT_SOFTMAX) ||
                   (l->kind == LAYER_DENSE && l->u.dense.act == ACT_SOFTMAX);
    /* Fusing with the loss needs the softmax to span the whole output of an image. */
    return softmax && shape_size(l->out) == l->out.c;
}

static void plan_layout(const Model *m, Plan *p)
{
    int nl = m->nlayers;
    long long batch = m->train.batch_size;
    p->layers = xcalloc((size_t)nl, sizeof *p->layers);
    p->kernel_off = xcalloc((size_t)nl, sizeof(long long));
    p->bias_off = xcalloc((size_t)nl, sizeof(long long));
    p->act_off = xcalloc((size_t)nl, sizeof(long long));
    p->aux_off = xcalloc((size_t)nl, sizeof(long long));
    p->grad_off = xcalloc((size_t)nl, sizeof(long long));
    to_upper(p->upper, sizeof p->upper, m->name);

    long long param = 0, ws = 0;
    p->input_off = ws;
    ws += batch * shape_size(m->input);
    for (int i = 0; i < nl; i++) {
        const Layer *l = &m->layers[i];
        p->kernel_off[i] = p->bias_off[i] = -1;
        if (l->kernel_size > 0) {
            p->kernel_off[i] = param;
            param += l->kernel_size;
        }
        if (l->bias_size > 0) {
            p->bias_off[i] = param;
            param += l->bias_size;
        }
        if (l->kind == LAYER_FLATTEN) {
            p->act_off[i] = -1; /* a view of its input */
        } else {
            p->act_off[i] = ws;
            ws += batch * shape_size(l->out);
        }
    }
    for (int i = 0; i < nl; i++) {
        const Layer *l = &m->layers[i];
        p->aux_off[i] = -1;
        if (l->kind == LAYER_MAXPOOL2D || l->kind == LAYER_DROPOUT) {
            p->aux_off[i] = ws;
            ws += batch * shape_size(l->out);
        }
        p->has_dropout |= l->kind == LAYER_DROPOUT;
    }
    for (int i = 0; i < nl; i++) {
        const Layer *l = &m->layers[i];
        p->grad_off[i] = -1;
        if (l->kind != LAYER_FLATTEN || i == 0) {
            p->grad_off[i] = ws;
            ws += batch * shape_size(l->out);
        }
    }
    p->used_floats = ws;
    /* The memory plan is what `cnnc summary` promises; flatten's slots are counted there but
     * unused here, as it is a view. Never allocate less than the layout uses. */
    p->workspace_floats = (m->mem.activations + m->mem.aux + m->mem.act_grads) / 4;
    if (p->workspace_floats < ws)
        p->workspace_floats = ws;
}

/* The C expressions of every layer's tensors. */
static void plan_expressions(const Model *m, Plan *p)
{
    bool params_before = false;
    const char *U = p->upper;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        EmitLayer *e = &p->layers[i];
        EmitLayer *prev = i > 0 ? &p->layers[i - 1] : NULL;
        e->layer = l;
        e->index = i;
        to_upper(e->upper, sizeof e->upper, l->name);
        if (prev != NULL)
            snprintf(e->in, sizeof e->in, "%s", prev->out);
        else
            snprintf(e->in, sizeof e->in, "ws + %s_WS_INPUT", U);
        if (l->kind == LAYER_FLATTEN)
            snprintf(e->out, sizeof e->out, "%s", e->in);
        else
            snprintf(e->out, sizeof e->out, "ws + %s_WS_%s_ACT", U, e->upper);
        if (p->aux_off[i] >= 0)
            snprintf(e->aux, sizeof e->aux, "ws + %s_WS_%s_AUX", U, e->upper);
        /* A gradient flows into a layer's input only if some layer before it has parameters. */
        if (params_before)
            snprintf(e->din, sizeof e->din, "%s", prev->dout);
        if (l->kind == LAYER_FLATTEN && i > 0)
            snprintf(e->dout, sizeof e->dout, "%s", prev->dout);
        else
            snprintf(e->dout, sizeof e->dout, "ws + %s_WS_%s_GRAD", U, e->upper);
        if (p->kernel_off[i] >= 0) {
            snprintf(e->kernel, sizeof e->kernel, "params + %s_%s_KERNEL_OFFSET", U, e->upper);
            snprintf(e->dkernel, sizeof e->dkernel, "grads + %s_%s_KERNEL_OFFSET", U, e->upper);
        }
        if (p->bias_off[i] >= 0) {
            snprintf(e->bias, sizeof e->bias, "params + %s_%s_BIAS_OFFSET", U, e->upper);
            snprintf(e->dbias, sizeof e->dbias, "grads + %s_%s_BIAS_OFFSET", U, e->upper);
        }
        if (has_params(l) && e->din[0] != '\0')
            p->params_in_backward = true;
        params_before |= has_params(l);
    }
    if (m->nlayers > 0) {
        EmitLayer *last = &p->layers[m->nlayers - 1];
        last->grad_is_logits = m->train.loss == LOSS_SPARSE_XENT && is_softmax_output(last->layer);
    }
}

static void plan_free(Plan *p)
{
    free(p->layers);
    free(p->kernel_off);
    free(p->bias_off);
    free(p->act_off);
    free(p->aux_off);
    free(p->grad_off);
}

/* Whether a layer's backward pass has anything to do. */
static bool runs_backward(const EmitLayer *e)
{
    return has_params(e->layer) || (e->din[0] != '\0' && e->layer->kind != LAYER_FLATTEN);
}

/* ------------------------------------------------------------------ the header */

static void shape_comment(char *buf, size_t size, Shape s, const char *lead)
{
    if (s.rank == 1)
        snprintf(buf, size, "%s[%d]", lead, s.c);
    else
        snprintf(buf, size, "%s[%d][%d][%d]", lead, s.h, s.w, s.c);
}

static void header_layer_constants(Writer *w, const Plan *p, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const char *U = p->upper, *L = e->upper;
    char shape[64];
    shape_comment(shape, sizeof shape, l->out, "");
    w_line(w, "/* %s: %s, output %s */", l->name, layer_kind_name(l->kind), shape);
    if (l->kind == LAYER_CONV2D) {
        const ConvAttrs *a = &l->u.conv;
        w_line(w, "#define %s_%s_FILTERS %d", U, L, a->filters);
        w_line(w, "#define %s_%s_KERNEL_H %d", U, L, a->kh);
        w_line(w, "#define %s_%s_KERNEL_W %d", U, L, a->kw);
        w_line(w, "#define %s_%s_STRIDE_H %d", U, L, a->sh);
        w_line(w, "#define %s_%s_STRIDE_W %d", U, L, a->sw);
        w_line(w, "#define %s_%s_PAD_TOP %d", U, L, a->pad_top);
        w_line(w, "#define %s_%s_PAD_LEFT %d", U, L, a->pad_left);
    } else if (l->kind == LAYER_MAXPOOL2D || l->kind == LAYER_AVGPOOL2D) {
        const PoolAttrs *a = &l->u.pool;
        w_line(w, "#define %s_%s_POOL_H %d", U, L, a->ph);
        w_line(w, "#define %s_%s_POOL_W %d", U, L, a->pw);
        w_line(w, "#define %s_%s_STRIDE_H %d", U, L, a->sh);
        w_line(w, "#define %s_%s_STRIDE_W %d", U, L, a->sw);
        w_line(w, "#define %s_%s_PAD_TOP %d", U, L, a->pad_top);
        w_line(w, "#define %s_%s_PAD_LEFT %d", U, L, a->pad_left);
    } else if (l->kind == LAYER_DENSE) {
        w_line(w, "#define %s_%s_UNITS %d", U, L, l->u.dense.units);
    }
    w_line(w, "#define %s_%s_OUT_H %d", U, L, l->out.h);
    w_line(w, "#define %s_%s_OUT_W %d", U, L, l->out.w);
    w_line(w, "#define %s_%s_OUT_C %d", U, L, l->out.c);
    w_line(w, "#define %s_%s_OUT_SIZE %lld", U, L, shape_size(l->out));
    if (p->kernel_off[e->index] >= 0) {
        w_line(w, "#define %s_%s_KERNEL_OFFSET %lld", U, L, p->kernel_off[e->index]);
        w_line(w, "#define %s_%s_KERNEL_SIZE %lld", U, L, l->kernel_size);
    }
    if (p->bias_off[e->index] >= 0) {
        w_line(w, "#define %s_%s_BIAS_OFFSET %lld", U, L, p->bias_off[e->index]);
        w_line(w, "#define %s_%s_BIAS_SIZE %lld", U, L, l->bias_size);
    }
    w_blank(w);
}

static void header_workspace(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    long long batch = m->train.batch_size;
    char shape[64], lead[32];
    snprintf(lead, sizeof lead, "[%lld]", batch);
    w_line(w, "/* The workspace of one thread, in floats: the input and every layer's output, what");
    w_line(w, " * forward keeps for backward (max-pool argmax, dropout masks), then the gradients of");
    w_line(w, " * the outputs. flatten is a view of its input's buffers. */");
    shape_comment(shape, sizeof shape, m->input, lead);
    w_line(w, "#define %s_WS_INPUT %lld /* %s */", U, p->input_off, shape);
    for (int i = 0; i < m->nlayers; i++) {
        if (p->act_off[i] < 0)
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_ACT %lld /* %s */", U, p->layers[i].upper, p->act_off[i], shape);
    }
    for (int i = 0; i < m->nlayers; i++) {
        if (p->aux_off[i] < 0)
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_AUX %lld /* %s */", U, p->layers[i].upper, p->aux_off[i], shape);
    }
    for (int i = 0; i < m->nlayers; i++) {
        if (p->grad_off[i] < 0)
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_GRAD %lld /* %s */", U, p->layers[i].upper, p->grad_off[i], shape);
    }
    w_line(w, "#define %s_WORKSPACE_FLOATS %lld", U, p->workspace_floats);
    w_blank(w);
}

static void write_header(Writer *w, const Model *m, const Plan *p, const char *canon)
{
    const char *U = p->upper;
    const Layer *last = &m->layers[m->nlayers - 1];
    char file[300];
    snprintf(file, sizeof file, "%s.h", m->name);
    write_banner(w, m, file, canon);
    w_line(w, "#ifndef %s_GENERATED_H", U);
    w_line(w, "#define %s_GENERATED_H", U);
    w_blank(w);
    w_line(w, "#include \"cnn_model.h\"");
    w_blank(w);
    w_line(w, "/* The model, for the runtime: train, evaluate, predict, benchmark. */");
    w_line(w, "extern const cnn_model %s_model;", m->name);
    w_blank(w);
    w_line(w, "/* Every size is fixed when the model is compiled; forward and backward take n <= BATCH. */");
    w_line(w, "#define %s_BATCH %d", U, m->train.batch_size);
    w_line(w, "#define %s_IN_H %d", U, m->input.h);
    w_line(w, "#define %s_IN_W %d", U, m->input.w);
    w_line(w, "#define %s_IN_C %d", U, m->input.c);
    w_line(w, "#define %s_IN_SIZE %lld", U, shape_size(m->input));
    w_line(w, "#define %s_CLASSES %lld", U, shape_size(last->out));
    w_line(w, "#define %s_NUM_PARAMS %lld", U, m->total_params);
    w_blank(w);
    for (int i = 0; i < m->nlayers; i++)
        header_layer_constants(w, p, &p->layers[i]);
    header_workspace(w, m, p);
    w_line(w, "#endif");
}

/* ------------------------------------------------------------------ the source */

static void write_tensors(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    if (m->total_params == 0)
        return;
    w_line(w, "/* The parameters in model order, each layer's kernel then its bias, as in checkpoints. */");
    w_line(w, "static const cnn_tensor tensors[] = {");
    w->indent++;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        const char *L = p->layers[i].upper;
        int fan_in, fan_out;
        char shape[64];
        if (p->kernel_off[i] < 0)
            continue;
        if (l->kind == LAYER_CONV2D) {
            const ConvAttrs *a = &l->u.conv;
            fan_in = a->kh * a->kw * l->in.c;
            fan_out = a->kh * a->kw * a->filters;
            snprintf(shape, sizeof shape, "4, {%d, %d, %d, %d}", a->kh, a->kw, l->in.c, a->filters);
        } else {
            fan_in = (int)shape_size(l->in);
            fan_out = l->u.dense.units;
            snprintf(shape, sizeof shape, "2, {%d, %d}", fan_in, fan_out);
        }
        w_line(w, "{\"%s.kernel\", %s, %s_%s_KERNEL_OFFSET, %lld, %d, %d, 0},", l->name, shape, U, L, l->kernel_size,
               fan_in, fan_out);
        if (p->bias_off[i] >= 0)
            w_line(w, "{\"%s.bias\", 1, {%lld}, %s_%s_BIAS_OFFSET, %lld, %d, %d, 1},", l->name, l->bias_size, U, L,
                   l->bias_size, fan_in, fan_out);
    }
    w->indent--;
    w_line(w, "};");
    w_blank(w);
}

static void write_layer_passes(Writer *w, const Model *m, const Plan *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const EmitKind *k = kinds[e->layer->kind];
        k->forward(w, m, e);
        if (runs_backward(e))
            k->backward(w, m, e);
    }
}

static void write_drivers(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    const EmitLayer *last = &p->layers[m->nlayers - 1];
    bool params_in_forward = m->total_params > 0;

    w_line(w, "/* The forward pass of n <= %d images; `training` turns dropout on. */", m->train.batch_size);
    w_begin_function(w, "static void forward_pass(const float *params, float *ws, const float *x, int n, int training,\n"
                        "                         uint64_t dropout_key, int first)");
    if (!params_in_forward)
        w_line(w, "(void)params;");
    if (!p->has_dropout) {
        w_line(w, "(void)training;");
        w_line(w, "(void)dropout_key;");
        w_line(w, "(void)first;");
    }
    w_line(w, "memcpy(ws + %s_WS_INPUT, x, sizeof(float) * (size_t)n * %lld);", U, shape_size(m->input));
    for (int i = 0; i < m->nlayers; i++)
        kinds[m->layers[i].kind]->forward_call(w, m, &p->layers[i]);
    w_close(w);
    w_blank(w);

    w_line(w, "/* The outputs of the last forward pass: [n][%lld]. */", shape_size(last->layer->out));
    w_begin_function(w, "static const float *output_of(const float *ws)");
    w_line(w, "return %s;", last->out);
    w_close(w);
    w_blank(w);

    w_line(w, "/* After forward_pass on the same ws: grads = scale * d(sum of the n losses)/d(params),");
    w_line(w, " * and the sum of the n losses. */");
    w_begin_function(w, "static double backward_pass(const float *params, float *grads, float *ws, const float *x,\n"
                        "                            const unsigned char *labels, int n, float scale)");
    w_line(w, "/* forward_pass kept its own copy of the input in the workspace. */");
    w_line(w, "(void)x;");
    if (!p->params_in_backward)
        w_line(w, "(void)params;");
    if (m->total_params > 0) {
        w_line(w, "for (long i = 0; i < %lld; i++)", m->total_params);
        w_line(w, "    grads[i] = 0.0f;");
    } else {
        w_line(w, "(void)grads;");
    }
    w_line(w, "const double loss = loss_and_gradient(%s, %s, labels, n, scale);", last->dout, last->out);
    for (int i = m->nlayers - 1; i >= 0; i--)
        if (runs_backward(&p->layers[i]))
            kinds[m->layers[i].kind]->backward_call(w, m, &p->layers[i]);
    w_line(w, "return loss;");
    w_close(w);
    w_blank(w);
}

/* ------------------------------------------------------------------ the layer table */

static const char *const layer_kind_enum[LAYER_KIND_COUNT] = {
    [LAYER_CONV2D] = "CNN_LAYER_CONV2D", [LAYER_MAXPOOL2D] = "CNN_LAYER_MAXPOOL2D",
    [LAYER_AVGPOOL2D] = "CNN_LAYER_AVGPOOL2D", [LAYER_FLATTEN] = "CNN_LAYER_FLATTEN",
    [LAYER_DENSE] = "CNN_LAYER_DENSE", [LAYER_DROPOUT] = "CNN_LAYER_DROPOUT",
    [LAYER_RELU] = "CNN_LAYER_RELU", [LAYER_SIGMOID] = "CNN_LAYER_SIGMOID",
    [LAYER_TANH] = "CNN_LAYER_TANH", [LAYER_SOFTMAX] = "CNN_LAYER_SOFTMAX"};
static const char *const activation_enum[] = {
    [ACT_NONE] = "CNN_ACT_NONE", [ACT_RELU] = "CNN_ACT_RELU", [ACT_SIGMOID] = "CNN_ACT_SIGMOID",
    [ACT_TANH] = "CNN_ACT_TANH", [ACT_SOFTMAX] = "CNN_ACT_SOFTMAX"};

/* Each layer's pass on its own, for the benchmark: the same call the model's drivers make,
 * wrapped so that it runs on whatever activations are in the workspace. The names end in
 * _alone, a suffix no per-layer function uses, so they cannot clash with another layer's. */
static void write_layer_wrappers(Writer *w, const Model *m, const Plan *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const Layer *l = e->layer;
        w_begin_function(w, "static void %s_fwd_alone(const float *params, float *ws, int n)", l->name);
        w_line(w, "(void)params;");
        w_line(w, "(void)ws;");
        w_line(w, "(void)n;");
        if (l->kind == LAYER_DROPOUT) {
            /* Training mode with a fixed key: the benchmark times the pass that trains. */
            w_line(w, "const int training = 1;");
            w_line(w, "const uint64_t dropout_key = CNN_BENCH_DROPOUT_KEY;");
            w_line(w, "const int first = 0;");
        }
        kinds[l->kind]->forward_call(w, m, e);
        w_close(w);
        w_blank(w);
        if (!runs_backward(e))
            continue;
        w_begin_function(w, "static void %s_bwd_alone(const float *params, float *grads, float *ws, int n)", l->name);
        w_line(w, "(void)params;");
        w_line(w, "(void)grads;");
        w_line(w, "(void)ws;");
        /* The model's backward zeroes every gradient first; the layer's passes may add to theirs. */
        if (p->kernel_off[i] >= 0)
            w_line(w, "memset(grads + %s_%s_KERNEL_OFFSET, 0, sizeof(float) * %lld);", p->upper, e->upper,
                   l->kernel_size);
        if (p->bias_off[i] >= 0)
            w_line(w, "memset(grads + %s_%s_BIAS_OFFSET, 0, sizeof(float) * %lld);", p->upper, e->upper, l->bias_size);
        kinds[l->kind]->backward_call(w, m, e);
        w_close(w);
        w_blank(w);
    }
}

static void write_layer_table(Writer *w, const Model *m, const Plan *p)
{
    long long *out = xcalloc((size_t)m->nlayers, sizeof *out), *dout = xcalloc((size_t)m->nlayers, sizeof *dout);
    write_layer_wrappers(w, m, p);
    w_line(w, "/* Every layer with its shapes, its place in the parameters and the workspace, and its passes. */");
    w_line(w, "static const cnn_layer layers[] = {");
    w->indent++;
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const Layer *l = e->layer;
        long long in = i > 0 ? out[i - 1] : p->input_off;
        long long din = e->din[0] != '\0' ? dout[i - 1] : -1;
        out[i] = l->kind == LAYER_FLATTEN ? in : p->act_off[i];
        dout[i] = l->kind == LAYER_FLATTEN && i > 0 ? dout[i - 1] : p->grad_off[i];
        int kh = 0, kw = 0, sh = 0, sw = 0, pt = 0, pl = 0, pb = 0, pr = 0, units = 0, bias = 0;
        bool same = false;
        Activation act = ACT_NONE;
        char rate[48] = "0.0";
        switch (l->kind) {
        case LAYER_CONV2D: {
            const ConvAttrs *a = &l->u.conv;
            kh = a->kh, kw = a->kw, sh = a->sh, sw = a->sw, same = a->padding == PAD_SAME;
            pt = a->pad_top, pl = a->pad_left, pb = a->pad_bottom, pr = a->pad_right;
            units = a->filters, act = a->act, bias = a->use_bias;
            break;
        }
        case LAYER_MAXPOOL2D:
        case LAYER_AVGPOOL2D: {
            const PoolAttrs *a = &l->u.pool;
            kh = a->ph, kw = a->pw, sh = a->sh, sw = a->sw, same = a->padding == PAD_SAME;
            pt = a->pad_top, pl = a->pad_left, pb = a->pad_bottom, pr = a->pad_right;
            break;
        }
        case LAYER_DENSE:
            units = l->u.dense.units, act = l->u.dense.act, bias = l->u.dense.use_bias;
            break;
        case LAYER_DROPOUT:
            w_double_literal(rate, sizeof rate, l->u.dropout.rate);
            break;
        case LAYER_RELU: act = ACT_RELU; break;
        case LAYER_SIGMOID: act = ACT_SIGMOID; break;
        case LAYER_TANH: act = ACT_TANH; break;
        case LAYER_SOFTMAX: act = ACT_SOFTMAX; break;
        default: break;
        }
        w_line(w, "{");
        w->indent++;
        w_line(w, ".name = \"%s\", .kind = \"%s\", .kind_id = %s,", l->name, layer_kind_name(l->kind),
               layer_kind_enum[l->kind]);
        w_line(w, ".in_h = %d, .in_w = %d, .in_c = %d, .out_h = %d, .out_w = %d, .out_c = %d,", l->in.h, l->in.w,
               l->in.c, l->out.h, l->out.w, l->out.c);
        w_line(w, ".kh = %d, .kw = %d, .sh = %d, .sw = %d, .same = %d,", kh, kw, sh, sw, same ? 1 : 0);
        w_line(w, ".pad_top = %d, .pad_left = %d, .pad_bottom = %d, .pad_right = %d,", pt, pl, pb, pr);
        w_line(w, ".activation = %s, .units = %d, .use_bias = %d, .rate = %s,", activation_enum[act], units,
               bias ? 1 : 0, rate);
        w_line(w, ".kernel_offset = %lld, .bias_offset = %lld, .macs = %lldLL,", p->kernel_off[i], p->bias_off[i],
               l->macs);
        w_line(w, ".in = %lld, .out = %lld, .din = %lld, .dout = %lld, .aux = %lld,", in, out[i], din, dout[i],
               p->aux_off[i]);
        w_line(w, ".grad_is_logits = %d,", e->grad_is_logits ? 1 : 0);
        w_line(w, ".forward = %s_fwd_alone,", l->name);
        if (runs_backward(e))
            w_line(w, ".backward = %s_bwd_alone,", l->name);
        else
            w_line(w, ".backward = NULL,");
        w->indent--;
        w_line(w, "},");
    }
    w->indent--;
    w_line(w, "};");
    w_blank(w);
    free(out);
    free(dout);
}

static const char *const dataset_enum[] = {
    [DATASET_MNIST] = "CNN_DATASET_MNIST", [DATASET_FASHION_MNIST] = "CNN_DATASET_FASHION_MNIST",
    [DATASET_IDX] = "CNN_DATASET_IDX"};
static const char *const validation_enum[] = {
    [VALID_TEST] = "CNN_VALID_TEST", [VALID_SPLIT] = "CNN_VALID_SPLIT", [VALID_NONE] = "CNN_VALID_NONE"};
static const char *const init_enum[] = {
    [INIT_GLOROT_UNIFORM] = "CNN_INIT_GLOROT_UNIFORM", [INIT_HE_NORMAL] = "CNN_INIT_HE_NORMAL",
    [INIT_HE_UNIFORM] = "CNN_INIT_HE_UNIFORM"};

static void write_train_config(Writer *w, const TrainConfig *t)
{
    char lr[48], mom[48], b1[48], b2[48], eps[48], split[48];
    w_double_literal(lr, sizeof lr, t->learning_rate);
    w_double_literal(mom, sizeof mom, t->momentum);
    w_double_literal(b1, sizeof b1, t->beta_1);
    w_double_literal(b2, sizeof b2, t->beta_2);
    w_double_literal(eps, sizeof eps, t->epsilon);
    w_double_literal(split, sizeof split, t->split);
    w_line(w, ".train = {");
    w->indent++;
    w_line(w, ".dataset = %s,", dataset_enum[t->dataset]);
    if (t->dataset == DATASET_IDX) {
        fprintf(w->f, "%*s.idx_paths = {", 4 * w->indent, "");
        for (int i = 0; i < 4; i++) {
            fputs(i > 0 ? ", " : "", w->f);
            put_c_string(w->f, t->idx_paths[i] != NULL ? t->idx_paths[i] : "");
        }
        fputs("},\n", w->f);
    } else {
        w_line(w, ".idx_paths = {NULL, NULL, NULL, NULL},");
    }
    w_line(w, ".loss = %s,", t->loss == LOSS_MSE ? "CNN_LOSS_MSE" : "CNN_LOSS_SPARSE_XENT");
    w_line(w, ".optimizer = %s,", t->optimizer == OPT_ADAM ? "CNN_OPT_ADAM" : "CNN_OPT_SGD");
    w_line(w, ".learning_rate = %s,", lr);
    w_line(w, ".momentum = %s,", mom);
    w_line(w, ".beta_1 = %s,", b1);
    w_line(w, ".beta_2 = %s,", b2);
    w_line(w, ".epsilon = %s,", eps);
    w_line(w, ".nesterov = %d,", t->nesterov ? 1 : 0);
    w_line(w, ".epochs = %d,", t->epochs);
    w_line(w, ".validation = %s,", validation_enum[t->validation]);
    w_line(w, ".split = %s,", split);
    if (t->seed == LLONG_MIN)
        w_line(w, ".seed = -9223372036854775807LL - 1,");
    else
        w_line(w, ".seed = %lldLL,", t->seed);
    w_line(w, ".shuffle = %d,", t->shuffle ? 1 : 0);
    w_line(w, ".init = %s,", init_enum[t->init]);
    w->indent--;
    w_line(w, "},");
}

static void write_model_struct(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    int ntensors = 0;
    for (int i = 0; i < m->nlayers; i++)
        ntensors += (p->kernel_off[i] >= 0) + (p->bias_off[i] >= 0);
    w_line(w, "const cnn_model %s_model = {", m->name);
    w->indent++;
    w_line(w, ".name = \"%s\",", m->name);
    w_line(w, ".cnnc_version = \"%s\",", CNNC_VERSION);
    w_line(w, ".batch = %s_BATCH,", U);
    w_line(w, ".in_h = %s_IN_H,", U);
    w_line(w, ".in_w = %s_IN_W,", U);
    w_line(w, ".in_c = %s_IN_C,", U);
    w_line(w, ".classes = %s_CLASSES,", U);
    w_line(w, ".in_size = %s_IN_SIZE,", U);
    w_line(w, ".num_params = %s_NUM_PARAMS,", U);
    w_line(w, ".num_tensors = %d,", ntensors);
    w_line(w, ".tensors = %s,", ntensors > 0 ? "tensors" : "NULL");
    w_line(w, ".workspace_floats = %s_WORKSPACE_FLOATS,", U);
    write_train_config(w, &m->train);
    w_line(w, ".forward = forward_pass,");
    w_line(w, ".output = output_of,");
    w_line(w, ".backward = backward_pass,");
    w_line(w, ".update = optimizer_step,");
    w_line(w, ".num_layers = %d,", m->nlayers);
    w_line(w, ".layers = layers,");
    w_line(w, ".update_range = optimizer_update,");
    w->indent--;
    w_line(w, "};");
}

static void write_source(Writer *w, const Model *m, const Plan *p, const char *canon)
{
    char file[300];
    snprintf(file, sizeof file, "%s.c", m->name);
    write_banner(w, m, file, canon);
    w_line(w, "#include <float.h>");
    w_line(w, "#include <math.h>");
    w_line(w, "#include <stdint.h>");
    w_line(w, "#include <string.h>");
    w_blank(w);
    w_line(w, "#include \"%s.h\"", m->name);
    w_blank(w);
    emit_simd_prelude(w);
    write_tensors(w, m, p);
    if (p->has_dropout)
        emit_dropout_hash(w);
    write_layer_passes(w, m, p);
    emit_loss(w, m, &p->layers[m->nlayers - 1]);
    emit_optimizer(w, m);
    write_drivers(w, m, p);
    write_layer_table(w, m, p);
    write_model_struct(w, m, p);
}

int emit_model(const Model *m, const char *dir)
{
    if (m->nlayers == 0)
        unreachable(); /* check_model refuses a model without layers */
    if (emit_ensure_dir(dir) != 0)
        return -1;
    Plan plan = {0};
    plan_layout(m, &plan);
    plan_expressions(m, &plan);
    char *canon = canonical_text(m);
    char hname[EMIT_NAME_MAX + 8], cname[EMIT_NAME_MAX + 8];
    snprintf(hname, sizeof hname, "%s.h", m->name);
    snprintf(cname, sizeof cname, "%s.c", m->name);
    OutFile h = {0}, c = {0};
    int rc = -1;
    if (out_open(&h, dir, hname) == 0 && out_open(&c, dir, cname) == 0) {
        Writer wh = {.f = h.f}, wc = {.f = c.f};
        write_header(&wh, m, &plan, canon);
        write_source(&wc, m, &plan, canon);
        rc = out_commit_pair(&h, &c);
    }
    out_discard(&h);
    out_discard(&c);
    free(canon);
    plan_free(&plan);
    return rc;
}
