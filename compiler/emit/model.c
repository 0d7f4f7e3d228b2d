/*
 * emit/model.c - writes DIR/<name>.h and DIR/<name>.c for a checked model: the banner with the
 * model's canonical text and hash, the named constants, the parameter table, the workspace
 * layout, the passes of every layer (through each kind's module in layers/), the loss, the
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

#include "layers/layer.h"

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
    /* Each layer's parameter tensors (its `tensors` verb) and their offsets into params. */
    TensorSpec (*tensors)[EMIT_MAX_TENSORS];
    int *ntensors;
    long long (*tensor_off)[EMIT_MAX_TENSORS];
    bool params_in_backward;         /* some backward reads the parameters */
    bool has_dropout;                /* some forward draws dropout masks */
    bool has_training_mode;          /* some forward behaves differently in training (dropout, batchnorm) */
    bool forward_sync, backward_sync; /* which of the two passes sums over the whole batch
                                        * (batchnorm; one with no input gradient sums nothing in
                                        * backward) */
    int batch_sum_floats;            /* the most floats per image such a sum adds; 0: none does */
} Plan;

static bool has_params(const Layer *l)
{
    return l->params > 0;
}

static bool is_softmax_output(const Layer *l)
{
    /* Fusing with the loss needs the softmax to span the whole output of an image. */
    return l->act == ACT_SOFTMAX && shape_size(l->out) == l->out.c;
}

/* The parameter tensors of every layer and their offsets; the workspace is the memory plan's
 * (check/memory_plan.c). */
static void plan_layout(const Model *m, Plan *p)
{
    int nl = m->nlayers;
    p->layers = xcalloc((size_t)nl, sizeof *p->layers);
    p->tensors = xcalloc((size_t)nl, sizeof *p->tensors);
    p->ntensors = xcalloc((size_t)nl, sizeof *p->ntensors);
    p->tensor_off = xcalloc((size_t)nl, sizeof *p->tensor_off);
    to_upper(p->upper, sizeof p->upper, m->name);
    int nt = 0;
    ModelTensor *mt = model_tensors(m, &nt);
    for (int k = 0; k < nt; k++) {
        int i = mt[k].layer, t = p->ntensors[i]++;
        p->tensors[i][t] = mt[k].spec;
        p->tensor_off[i][t] = mt[k].offset;
    }
    free(mt);
    for (int i = 0; i < nl; i++)
        p->has_dropout |= layer_ops(m->layers[i].kind)->identity_at_inference;
}

/* Whether some argument of a pass reads `name` ("ws", or "ws + MODEL_WS_..."). */
static bool pass_reads(const PassParams *ps, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < ps->n; i++)
        if (strncmp(ps->p[i].arg, name, len) == 0 && (ps->p[i].arg[len] == '\0' || ps->p[i].arg[len] == ' '))
            return true;
    return false;
}

/* What the drivers must pass and define, from the passes' parameter lists. */
static void plan_driver_needs(const Model *m, Plan *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const LayerOps *ops = layer_ops(e->layer->kind);
        PassParams fp = {0}, bp = {0};
        if (!ops->is_view)
            ops->forward_params(e, &fp);
        if (emit_runs_backward(e))
            ops->backward_params(e, &bp);
        p->has_training_mode |= pass_reads(&fp, "training");
        p->forward_sync |= pass_reads(&fp, "sync");
        p->backward_sync |= pass_reads(&bp, "sync");
        /* Not "a layer with parameters passes a gradient back": batchnorm without scale has
         * only beta, which its backward never reads. */
        p->params_in_backward |= pass_reads(&bp, "params");
        if ((pass_reads(&fp, "sync") || pass_reads(&bp, "sync")) && 2 * e->layer->in.c > p->batch_sum_floats)
            p->batch_sum_floats = 2 * e->layer->in.c;
    }
}

/* "KERNEL" for the tensor suffix "kernel": the named constants of a tensor's place. */
static void tensor_upper(char *buf, size_t size, const TensorSpec *t)
{
    to_upper(buf, size, t->suffix);
}

/* Whether a layer's output gradient is its input's floats: a view that is its input's only
 * reader (check/memory_plan.c). */
static bool gradient_is_inputs(const Model *m, int i)
{
    const Layer *l = &m->layers[i];
    return layer_ops(l->kind)->is_view && l->inputs[0] >= 0 && m->layers[l->inputs[0]].ws_dout == l->ws_dout;
}

/* The scratch buffer at ws offset `at` through which a gradient is added to an output that
 * another reader wrote first. */
static void scratch_expr(char *buf, size_t size, const Model *m, const char *U, long long at)
{
    snprintf(buf, size, "ws + %s_WS_GRAD_SCRATCH%d", U, at == m->mem.ws_scratch[1] ? 1 : 0);
}

/* The C expressions of every layer's tensors. */
static void plan_expressions(const Model *m, Plan *p)
{
    const char *U = p->upper;
    char input[EMIT_EXPR_MAX];
    snprintf(input, sizeof input, "ws + %s_WS_INPUT", U);
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        const LayerOps *ops = layer_ops(l->kind);
        EmitLayer *e = &p->layers[i];
        e->model = m;
        e->layer = l;
        e->index = i;
        to_upper(e->upper, sizeof e->upper, l->name);
        const EmitLayer *from = l->inputs[0] >= 0 ? &p->layers[l->inputs[0]] : NULL;
        snprintf(e->in, sizeof e->in, "%s", from ? from->out : input);
        if (l->ninputs > 1)
            snprintf(e->in2, sizeof e->in2, "%s", l->inputs[1] >= 0 ? p->layers[l->inputs[1]].out : input);
        if (ops->is_view)
            snprintf(e->out, sizeof e->out, "%s", e->in);
        else
            snprintf(e->out, sizeof e->out, "ws + %s_WS_%s_ACT", U, e->upper);
        if (l->ws_aux >= 0)
            snprintf(e->aux, sizeof e->aux, "ws + %s_WS_%s_AUX", U, e->upper);
        if (gradient_is_inputs(m, i))
            snprintf(e->dout, sizeof e->dout, "%s", from->dout);
        else
            snprintf(e->dout, sizeof e->dout, "ws + %s_WS_%s_GRAD", U, e->upper);
        /* Where the gradient of each input goes: the producer's gradient, or a scratch buffer. */
        for (int k = 0; k < l->ninputs; k++) {
            char *din = k == 0 ? e->din : e->din2;
            bool *has = k == 0 ? &e->has_din : &e->has_din2;
            *has = l->ws_din[k] >= 0;
            if (!*has)
                continue;
            if (l->din_adds[k])
                scratch_expr(din, EMIT_EXPR_MAX, m, U, l->ws_din[k]);
            else
                snprintf(din, EMIT_EXPR_MAX, "%s", p->layers[l->inputs[k]].dout);
        }
        e->grad_alias = gradient_is_inputs(m, i);
        for (int t = 0; t < p->ntensors[i]; t++) {
            char T[32];
            tensor_upper(T, sizeof T, &p->tensors[i][t]);
            snprintf(e->param[t], sizeof e->param[t], "params + %s_%s_%s_OFFSET", U, e->upper, T);
            snprintf(e->dparam[t], sizeof e->dparam[t], "grads + %s_%s_%s_OFFSET", U, e->upper, T);
        }
    }
    if (m->nlayers > 0) {
        EmitLayer *last = &p->layers[m->nlayers - 1];
        last->grad_is_logits = m->train.loss == LOSS_SPARSE_XENT && is_softmax_output(last->layer);
    }
}

static void plan_free(Plan *p)
{
    free(p->layers);
    free(p->tensors);
    free(p->ntensors);
    free(p->tensor_off);
}

bool emit_runs_backward(const EmitLayer *e)
{
    return has_params(e->layer) || ((e->has_din || e->has_din2) && !e->grad_alias);
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
    const LayerOps *ops = layer_ops(l->kind);
    const char *U = p->upper, *L = e->upper;
    char shape[64], prefix[2 * EMIT_NAME_MAX];
    shape_comment(shape, sizeof shape, l->out, "");
    snprintf(prefix, sizeof prefix, "%s_%s", U, L);
    w_line(w, "/* %s: %s, output %s */", l->name, ops->name, shape);
    if (ops->constants)
        ops->constants(w, l, prefix);
    w_line(w, "#define %s_OUT_H %d", prefix, l->out.h);
    w_line(w, "#define %s_OUT_W %d", prefix, l->out.w);
    w_line(w, "#define %s_OUT_C %d", prefix, l->out.c);
    w_line(w, "#define %s_OUT_SIZE %lld", prefix, shape_size(l->out));
    for (int t = 0; t < p->ntensors[e->index]; t++) {
        char T[32];
        tensor_upper(T, sizeof T, &p->tensors[e->index][t]);
        w_line(w, "#define %s_%s_OFFSET %lld", prefix, T, p->tensor_off[e->index][t]);
        w_line(w, "#define %s_%s_SIZE %lld", prefix, T, p->tensors[e->index][t].count);
    }
    w_blank(w);
}

/* Whether a layer's output, and its output's gradient, have places of their own in the
 * workspace (check/memory_plan.c): a view's output is its input's, and so is its gradient
 * where it is that input's only reader. */
static bool owns_output(const Model *m, int i)
{
    return !layer_ops(m->layers[i].kind)->is_view;
}

static bool owns_gradient(const Model *m, int i)
{
    return !gradient_is_inputs(m, i);
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
    w_line(w, "#define %s_WS_INPUT %lld /* %s */", U, m->mem.ws_input, shape);
    for (int i = 0; i < m->nlayers; i++) {
        if (!owns_output(m, i))
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_ACT %lld /* %s */", U, p->layers[i].upper, m->layers[i].ws_out, shape);
    }
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].ws_aux < 0)
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_AUX %lld /* %s */", U, p->layers[i].upper, m->layers[i].ws_aux, shape);
    }
    for (int i = 0; i < m->nlayers; i++) {
        if (!owns_gradient(m, i))
            continue;
        shape_comment(shape, sizeof shape, m->layers[i].out, lead);
        w_line(w, "#define %s_WS_%s_GRAD %lld /* %s */", U, p->layers[i].upper, m->layers[i].ws_dout, shape);
    }
    for (int s = 0; s < 2; s++)
        if (m->mem.scratch_size[s] > 0)
            w_line(w, "#define %s_WS_GRAD_SCRATCH%d %lld /* [%lld][%lld], where a gradient is summed */", U, s,
                   m->mem.ws_scratch[s], batch, m->mem.scratch_size[s]);
    w_line(w, "#define %s_WORKSPACE_FLOATS %lld", U, m->mem.ws_floats);
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
    if (m->total_state > 0)
        w_line(w, "#define %s_NUM_STATE %lld /* not trained: after the parameters */", U, m->total_state);
    w_blank(w);
    for (int i = 0; i < m->nlayers; i++)
        header_layer_constants(w, p, &p->layers[i]);
    header_workspace(w, m, p);
    w_line(w, "#endif");
}

/* ------------------------------------------------------------------ the source */

/* One array of tensors: the trainable ones (state false) or the state. */
static void write_tensor_array(Writer *w, const Model *m, const Plan *p, bool state)
{
    const char *U = p->upper;
    if (state) {
        w_line(w, "/* The state that is not trained (moving statistics), after the parameters. */");
        w_line(w, "static const cnn_tensor state_tensors[] = {");
    } else {
        w_line(w, "/* The parameters in model order, each layer's kernel then its bias, as in checkpoints. */");
        w_line(w, "static const cnn_tensor tensors[] = {");
    }
    w->indent++;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        for (int t = 0; t < p->ntensors[i]; t++) {
            const TensorSpec *ts = &p->tensors[i][t];
            if (ts->is_state != state)
                continue;
            char shape[96], T[32];
            size_t len = (size_t)snprintf(shape, sizeof shape, "{");
            for (int d = 0; d < ts->ndim; d++)
                len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%d", d > 0 ? ", " : "", ts->shape[d]);
            snprintf(shape + len, sizeof shape - len, "}");
            tensor_upper(T, sizeof T, ts);
            w_line(w, "{.name = \"%s.%s\", .ndim = %d, .shape = %s, .offset = %s_%s_%s_OFFSET, .count = %lld,", l->name,
                   ts->suffix, ts->ndim, shape, U, p->layers[i].upper, T, ts->count);
            w_line(w, " .fan_in = %d, .fan_out = %d, .is_bias = %d%s},", ts->fan_in, ts->fan_out, ts->is_bias ? 1 : 0,
                   ts->init_ones ? ", .init_ones = 1" : "");
        }
    }
    w->indent--;
    w_line(w, "};");
    w_blank(w);
}

static void write_tensors(Writer *w, const Model *m, const Plan *p)
{
    if (m->total_params > 0)
        write_tensor_array(w, m, p, false);
    if (m->total_state > 0)
        write_tensor_array(w, m, p, true);
}

/* The code each kind writes once per file, whatever number of its layers the model has. */
static void write_shared_code(Writer *w, const Plan *p)
{
    if (p->has_dropout)
        emit_dropout_hash(w);
    if (p->batch_sum_floats == 0)
        return;
    w_line(w, "/* total[count] = the sum over every image of the batch of part[image][count], part holding");
    w_line(w, " * this call's n images: through the runtime where threads split the batch (sync), here");
    w_line(w, " * where this call has all of it. Both add the images in order (cnn_sum_images), so the");
    w_line(w, " * sums are the same floats whatever the split. */");
    w_begin_function(w, "static void batch_sum(const cnn_sync *sync, const float *part, int n, int count, float *total)");
    w_line(w, "if (sync)");
    w_line(w, "    sync->batch_sum(sync, part, n, count, total);");
    w_line(w, "else");
    w_line(w, "    cnn_sum_images(part, n, count, total);");
    w_close(w);
    w_blank(w);
}

static void write_layer_passes(Writer *w, const Model *m, const Plan *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const LayerOps *ops = layer_ops(e->layer->kind);
        if (!ops->is_view)
            ops->emit_forward(w, e);
        if (emit_runs_backward(e))
            ops->emit_backward(w, e);
    }
}

/* The call of a layer's forward pass; a view writes a comment where its pass would be. */
static void write_forward_call(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const LayerOps *ops = layer_ops(l->kind);
    if (ops->is_view) {
        w_line(w, "/* %s: [%d][%d][%d] read as [%lld], in place */", l->name, l->in.h, l->in.w, l->in.c,
               shape_size(l->out));
        return;
    }
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    ops->forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_pass_call(w, fname, &params);
}

/* The call of a layer's backward pass, then, in the model's backward (with_sums), for each
 * input whose gradient it wrote into a scratch buffer (another reader wrote that input's
 * gradient first), the sum into it. */
static void write_backward_call(Writer *w, const Plan *p, const EmitLayer *e, bool with_sums)
{
    const Layer *l = e->layer;
    const LayerOps *ops = layer_ops(l->kind);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    ops->backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_pass_call(w, fname, &params);
    for (int k = 0; k < l->ninputs && with_sums; k++)
        if (l->din_adds[k])
            w_line(w, "add_gradient(%s, %s, n * %lld);", p->layers[l->inputs[k]].dout, k == 0 ? e->din : e->din2,
                   shape_size(e->model->layers[l->inputs[k]].out));
}

/* The sum of a gradient written apart into the output's gradient, where an output has several
 * readers; written once, where the model has such an output. */
static void write_gradient_sum(Writer *w, const Model *m)
{
    if (m->mem.scratch_size[0] == 0)
        return;
    w_line(w, "/* dst += src: the gradients of an output read by several layers add up. */");
    w_begin_function(w, "static void add_gradient(float *restrict dst, const float *restrict src, int count)");
    w_line(w, "for (int i = 0; i < count; i++)");
    w_line(w, "    dst[i] += src[i];");
    w_close(w);
    w_blank(w);
}

/* Once a training step, after forward_pass in training mode: each layer's state (batchnorm's
 * moving statistics) moves towards what that forward found, from any thread's workspace (each
 * holds the whole batch's statistics). */
static void write_state_update(Writer *w, const Model *m, const Plan *p)
{
    if (m->total_state == 0)
        return;
    w_line(w, "/* Once a training step, after forward_pass: the moving statistics move towards the batch's,");
    w_line(w, " * which every thread's workspace holds alike. */");
    w_begin_function(w, "static void update_state(float *params, const float *ws)");
    for (int i = 0; i < m->nlayers; i++) {
        const LayerOps *ops = layer_ops(m->layers[i].kind);
        if (ops->emit_state_update)
            ops->emit_state_update(w, &p->layers[i]);
    }
    w_close(w);
    w_blank(w);
}

static void write_drivers(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    const EmitLayer *last = &p->layers[m->nlayers - 1];
    bool params_in_forward = m->total_params > 0;

    w_line(w, "/* The forward pass of n <= %d images, the images [first, first + n) of a batch; `training`", m->train.batch_size);
    w_line(w, " * turns dropout and the batch's statistics on; sync joins the threads that split the batch. */");
    w_begin_function(w, "static void forward_pass(const float *params, float *ws, const float *x, int n, int training,\n"
                        "                         uint64_t dropout_key, int first, const cnn_sync *sync)");
    if (!params_in_forward)
        w_line(w, "(void)params;");
    if (!p->has_training_mode)
        w_line(w, "(void)training;");
    if (!p->has_dropout) {
        w_line(w, "(void)dropout_key;");
        w_line(w, "(void)first;");
    }
    if (!p->forward_sync)
        w_line(w, "(void)sync;");
    w_line(w, "memcpy(ws + %s_WS_INPUT, x, sizeof(float) * (size_t)n * %lld);", U, shape_size(m->input));
    for (int i = 0; i < m->nlayers; i++)
        write_forward_call(w, &p->layers[i]);
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
                        "                            const unsigned char *labels, int n, float scale, const cnn_sync *sync)");
    w_line(w, "/* forward_pass kept its own copy of the input in the workspace. */");
    w_line(w, "(void)x;");
    if (!p->backward_sync)
        w_line(w, "(void)sync;");
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
        if (emit_runs_backward(&p->layers[i]))
            write_backward_call(w, p, &p->layers[i], true);
    w_line(w, "return loss;");
    w_close(w);
    w_blank(w);
    write_state_update(w, m, p);
}

/* ------------------------------------------------------------------ the layer table */

/* "MNIST_CNN_WS_CONV2D_1_ACT" for "ws + MNIST_CNN_WS_CONV2D_1_ACT": a buffer's place in the
 * workspace as the header names it. */
static const char *ws_place(const char *expr)
{
    return strncmp(expr, "ws + ", 5) == 0 ? expr + 5 : expr;
}

/* The runtime's spelling of a name of the language: "CNN_LAYER_" + "conv2d" -> CNN_LAYER_CONV2D. */
static void runtime_enum(char *buf, size_t size, const char *prefix, const char *name)
{
    size_t n = (size_t)snprintf(buf, size, "%s", prefix);
    to_upper(buf + n, size - n, name);
}

/* `(void)name;` for a wrapper's parameter that its pass does not read. */
static void mark_unused(Writer *w, const PassParams *ps, const char *name)
{
    if (!pass_reads(ps, name))
        w_line(w, "(void)%s;", name);
}

/* Each layer's pass on its own, for the benchmark: the same call the model's drivers make,
 * wrapped so that it runs on whatever activations are in the workspace. The names end in
 * _alone, a suffix no per-layer function uses, so they cannot clash with another layer's. */
static void write_layer_wrappers(Writer *w, const Model *m, const Plan *p)
{
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const Layer *l = e->layer;
        const LayerOps *ops = layer_ops(l->kind);
        PassParams fp = {0};
        if (!ops->is_view)
            ops->forward_params(e, &fp);
        w_begin_function(w, "static void %s_fwd_alone(const float *params, float *ws, int n)", l->name);
        mark_unused(w, &fp, "params");
        mark_unused(w, &fp, "ws");
        mark_unused(w, &fp, "n");
        /* Training mode with a fixed key, the whole batch in this call: the benchmark times the
         * pass that trains. */
        if (pass_reads(&fp, "training"))
            w_line(w, "const int training = 1;");
        if (pass_reads(&fp, "dropout_key"))
            w_line(w, "const uint64_t dropout_key = CNN_BENCH_DROPOUT_KEY;");
        if (pass_reads(&fp, "first"))
            w_line(w, "const int first = 0;");
        if (pass_reads(&fp, "sync"))
            w_line(w, "const cnn_sync *sync = NULL;");
        write_forward_call(w, e);
        w_close(w);
        w_blank(w);
        if (!emit_runs_backward(e))
            continue;
        PassParams bp = {0};
        ops->backward_params(e, &bp);
        w_begin_function(w, "static void %s_bwd_alone(const float *params, float *grads, float *ws, int n)", l->name);
        mark_unused(w, &bp, "params");
        if (pass_reads(&bp, "sync"))
            w_line(w, "const cnn_sync *sync = NULL;");
        if (!has_params(l))
            mark_unused(w, &bp, "grads");
        /* The model's backward zeroes every gradient first; the layer's passes may add to theirs.
         * The state has no gradient. */
        for (int t = 0; t < p->ntensors[i]; t++) {
            char T[32];
            if (p->tensors[i][t].is_state)
                continue;
            tensor_upper(T, sizeof T, &p->tensors[i][t]);
            w_line(w, "memset(grads + %s_%s_%s_OFFSET, 0, sizeof(float) * %lld);", p->upper, e->upper, T,
                   p->tensors[i][t].count);
        }
        write_backward_call(w, p, e, false);
        w_close(w);
        w_blank(w);
    }
}

static void write_layer_table(Writer *w, const Model *m, const Plan *p)
{
    write_layer_wrappers(w, m, p);
    w_line(w, "/* Every layer with its shapes, its place in the parameters and the workspace, and its passes. */");
    w_line(w, "static const cnn_layer layers[] = {");
    w->indent++;
    for (int i = 0; i < m->nlayers; i++) {
        const EmitLayer *e = &p->layers[i];
        const Layer *l = e->layer;
        const LayerOps *ops = layer_ops(l->kind);
        RuntimeRow r = {0};
        if (ops->runtime_row)
            ops->runtime_row(l, &r);
        char rate[48], kind[EMIT_NAME_MAX + 16], act[48];
        w_double_literal(rate, sizeof rate, r.rate);
        runtime_enum(kind, sizeof kind, "CNN_LAYER_", ops->name);
        runtime_enum(act, sizeof act, "CNN_ACT_", activation_name(l->act));
        /* The first tensor is the kernel, a bias tensor the bias, as cnn_layer has them. */
        char kernel_off[EMIT_EXPR_MAX] = "-1", bias_off[EMIT_EXPR_MAX] = "-1";
        for (int t = 0; t < p->ntensors[i]; t++) {
            char T[32];
            if (p->tensors[i][t].is_state)
                continue;
            tensor_upper(T, sizeof T, &p->tensors[i][t]);
            if (p->tensors[i][t].is_bias)
                snprintf(bias_off, sizeof bias_off, "%s_%s_%s_OFFSET", p->upper, e->upper, T);
            else if (strcmp(kernel_off, "-1") == 0)
                snprintf(kernel_off, sizeof kernel_off, "%s_%s_%s_OFFSET", p->upper, e->upper, T);
        }
        w_line(w, "{");
        w->indent++;
        w_line(w, ".name = \"%s\", .kind = \"%s\", .kind_id = %s,", l->name, ops->name, kind);
        w_line(w, ".in_h = %d, .in_w = %d, .in_c = %d, .out_h = %d, .out_w = %d, .out_c = %d,", l->in.h, l->in.w,
               l->in.c, l->out.h, l->out.w, l->out.c);
        w_line(w, ".kh = %d, .kw = %d, .sh = %d, .sw = %d, .same = %d,", r.kh, r.kw, r.sh, r.sw, r.same);
        w_line(w, ".pad_top = %d, .pad_left = %d, .pad_bottom = %d, .pad_right = %d,", r.pad_top, r.pad_left,
               r.pad_bottom, r.pad_right);
        w_line(w, ".activation = %s, .units = %d, .use_bias = %d, .rate = %s,", act, r.units, r.use_bias, rate);
        w_line(w, ".kernel_offset = %s, .bias_offset = %s, .macs = %lldLL,", kernel_off, bias_off, l->macs);
        w_line(w, ".in = %s, .out = %s,", ws_place(e->in), ws_place(e->out));

        w_line(w, ".din = %s, .dout = %s, .aux = %s,", e->has_din ? ws_place(e->din) : "-1", ws_place(e->dout),
               l->ws_aux >= 0 ? ws_place(e->aux) : "-1");
        w_line(w, ".grad_is_logits = %d,", e->grad_is_logits ? 1 : 0);
        w_line(w, ".ninputs = %d, .in2 = %s, .din2 = %s,", l->ninputs, l->ninputs > 1 ? ws_place(e->in2) : "-1",
               e->has_din2 ? ws_place(e->din2) : "-1");
        w_line(w, ".forward = %s_fwd_alone,", l->name);
        if (emit_runs_backward(e))
            w_line(w, ".backward = %s_bwd_alone,", l->name);
        else
            w_line(w, ".backward = NULL,");
        w->indent--;
        w_line(w, "},");
    }
    w->indent--;
    w_line(w, "};");
    w_blank(w);
}

static const char *const dataset_enum[] = {
    [DATASET_MNIST] = "CNN_DATASET_MNIST", [DATASET_FASHION_MNIST] = "CNN_DATASET_FASHION_MNIST",
    [DATASET_IDX] = "CNN_DATASET_IDX"};
static const char *const validation_enum[] = {
    [VALID_TEST] = "CNN_VALID_TEST", [VALID_SPLIT] = "CNN_VALID_SPLIT", [VALID_NONE] = "CNN_VALID_NONE"};
static const char *const init_enum[] = {
    [INIT_GLOROT_UNIFORM] = "CNN_INIT_GLOROT_UNIFORM", [INIT_HE_NORMAL] = "CNN_INIT_HE_NORMAL",
    [INIT_HE_UNIFORM] = "CNN_INIT_HE_UNIFORM"};

static const char *const optimizer_enum[] = {[OPT_SGD] = "CNN_OPT_SGD", [OPT_ADAM] = "CNN_OPT_ADAM",
                                             [OPT_ADAMW] = "CNN_OPT_ADAMW", [OPT_RMSPROP] = "CNN_OPT_RMSPROP"};
static const char *const schedule_enum[] = {
    [SCHED_CONSTANT] = "CNN_SCHED_CONSTANT", [SCHED_EXPONENTIAL] = "CNN_SCHED_EXPONENTIAL",
    [SCHED_COSINE] = "CNN_SCHED_COSINE", [SCHED_PLATEAU] = "CNN_SCHED_PLATEAU"};

static void write_real(Writer *w, const char *field, double x)
{
    char buf[48];
    w_double_literal(buf, sizeof buf, x);
    w_line(w, ".%s = %s,", field, buf);
}

/* The settings of contract version 2, each only where the model sets it (the rest are zero). */
static void write_train_extras(Writer *w, const TrainConfig *t)
{
    if (t->optimizer == OPT_ADAMW)
        write_real(w, "weight_decay", t->weight_decay);
    if (t->optimizer == OPT_RMSPROP)
        write_real(w, "rho", t->rho);
    if (t->global_clipnorm > 0)
        write_real(w, "global_clipnorm", t->global_clipnorm);
    if (t->schedule != SCHED_CONSTANT)
        w_line(w, ".schedule = %s,", schedule_enum[t->schedule]);
    if (t->schedule == SCHED_EXPONENTIAL || t->schedule == SCHED_COSINE)
        w_line(w, ".decay_steps = %d,", t->decay_steps);
    if (t->schedule == SCHED_EXPONENTIAL) {
        write_real(w, "decay_rate", t->decay_rate);
        w_line(w, ".staircase = %d,", t->staircase ? 1 : 0);
    }
    if (t->schedule == SCHED_COSINE)
        write_real(w, "alpha", t->alpha);
    if (t->schedule == SCHED_PLATEAU) {
        write_real(w, "factor", t->factor);
        write_real(w, "min_delta", t->min_delta);
        write_real(w, "min_lr", t->min_lr);
        w_line(w, ".patience = %d,", t->patience);
    }
    if (t->early_stopping) {
        w_line(w, ".early_stopping = 1,");
        w_line(w, ".stop_patience = %d,", t->stop_patience);
        write_real(w, "stop_min_delta", t->stop_min_delta);
        w_line(w, ".restore_best = %d,", t->restore_best ? 1 : 0);
    }
    if (t->augment) {
        w_line(w, ".augment = 1,");
        w_line(w, ".shift = %d,", t->shift);
        write_real(w, "rotation", t->rotation);
    }
}

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
            put_c_string(w->f, t->idx_files[i] != NULL ? t->idx_files[i] : "");
        }
        fputs("},\n", w->f);
    } else {
        w_line(w, ".idx_paths = {NULL, NULL, NULL, NULL},");
    }
    w_line(w, ".loss = %s,", t->loss == LOSS_MSE ? "CNN_LOSS_MSE" : "CNN_LOSS_SPARSE_XENT");
    w_line(w, ".optimizer = %s,", optimizer_enum[t->optimizer]);
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
    write_train_extras(w, t);
    w->indent--;
    w_line(w, "},");
}

static void write_model_struct(Writer *w, const Model *m, const Plan *p)
{
    const char *U = p->upper;
    int ntensors = 0, nstate_all = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int t = 0; t < p->ntensors[i]; t++) {
            ntensors++;
            nstate_all += p->tensors[i][t].is_state;
        }
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
    w_line(w, ".num_tensors = %d,", ntensors - nstate_all);
    w_line(w, ".tensors = %s,", m->total_params > 0 ? "tensors" : "NULL");
    w_line(w, ".workspace_floats = %s_WORKSPACE_FLOATS,", U);
    write_train_config(w, &m->train);
    w_line(w, ".forward = forward_pass,");
    w_line(w, ".output = output_of,");
    w_line(w, ".backward = backward_pass,");
    w_line(w, ".update = optimizer_step,");
    w_line(w, ".num_layers = %d,", m->nlayers);
    w_line(w, ".layers = layers,");
    w_line(w, ".update_range = optimizer_update,");
    w_line(w, ".target = \"%s\",", w->target->name);
    if (m->total_state > 0) {
        w_line(w, ".num_state = %s_NUM_STATE,", U);
        w_line(w, ".num_state_tensors = %d,", nstate_all);
        w_line(w, ".state_tensors = state_tensors,");
        w_line(w, ".update_state = update_state,");
    }
    if (p->batch_sum_floats > 0)
        w_line(w, ".batch_sum_floats = %d,", p->batch_sum_floats);
    w_line(w, ".update_apply = optimizer_apply,");
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
    write_shared_code(w, p);
    write_gradient_sum(w, m);
    write_layer_passes(w, m, p);
    emit_loss(w, m, &p->layers[m->nlayers - 1]);
    emit_optimizer(w, m);
    write_drivers(w, m, p);
    write_layer_table(w, m, p);
    write_model_struct(w, m, p);
}

int emit_model(const Model *m, const Target *t, const char *dir)
{
    if (m->nlayers == 0)
        unreachable(); /* check_model refuses a model without layers */
    if (emit_ensure_dir(dir) != 0)
        return -1;
    Plan plan = {0};
    plan_layout(m, &plan);
    plan_expressions(m, &plan);
    plan_driver_needs(m, &plan);
    char *canon = canonical_text(m);
    char hname[EMIT_NAME_MAX + 8], cname[EMIT_NAME_MAX + 8];
    snprintf(hname, sizeof hname, "%s.h", m->name);
    snprintf(cname, sizeof cname, "%s.c", m->name);
    OutFile h = {0}, c = {0};
    int rc = -1;
    if (out_open(&h, dir, hname) == 0 && out_open(&c, dir, cname) == 0) {
        Writer wh = {.f = h.f, .target = t}, wc = {.f = c.f, .target = t};
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
