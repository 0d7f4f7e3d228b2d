/*
 * emit/infer.c - writes DIR/<name>_infer.h and DIR/<name>_infer.c: the forward pass of one
 * image with a checkpoint's weights inlined, for programs that only classify.
 *
 * The generated code allocates nothing and keeps no mutable state of its own. Its scratch is
 * a workspace struct the caller owns (one per thread): buffers of the widest activation, each
 * output in one until its last reader has run (two for a chain, which the layers take turns to
 * read and write), exactly the inference scratch `cnnc summary` reports. Keeping it on the
 * stack instead would need 169 KiB for the seed model, too much for small threads and
 * embedded targets. Weights are hex float literals, so that the compiled arrays hold the
 * checkpoint's floats bit for bit on any host.
 *
 * The layer passes are the kinds' forward passes in inference mode (max pooling then keeps no
 * argmax), called with n = 1. Dropout and flatten are views: the identity at inference.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"
#include "emit/infer.h"
#include "layers/layer.h"

/* ------------------------------------------------------------------ the checkpoint */

/* The model's parameters in checkpoint order, as the kinds' tensors verbs give them: the same
 * names, shapes and offsets as the training program's table, so cnn_checkpoint_load checks them.
 * The trainable ones come first (*trainable of them), then the state. */
static cnn_tensor *tensor_table(const Model *m, int *count, int *trainable)
{
    int n = 0;
    ModelTensor *mt = model_tensors(m, &n);
    cnn_tensor *t = xcalloc((size_t)n + 1, sizeof *t);
    for (int i = 0; i < n; i++) {
        char name[EMIT_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.%s", m->layers[mt[i].layer].name, mt[i].spec.suffix);
        t[i].name = xstrdup(name);
        t[i].ndim = mt[i].spec.ndim;
        for (int d = 0; d < t[i].ndim; d++)
            t[i].shape[d] = mt[i].spec.shape[d];
        t[i].offset = (size_t)mt[i].offset;
        t[i].count = (size_t)mt[i].spec.count;
        t[i].is_bias = mt[i].spec.is_bias;
        t[i].init_ones = mt[i].spec.init_ones;
        if (!mt[i].spec.is_state)
            *trainable = i + 1;
    }
    free(mt);
    *count = n;
    return t;
}

static void tensor_table_free(cnn_tensor *t, int count)
{
    for (int i = 0; i < count; i++)
        free((char *)t[i].name);
    free(t);
}

/* The checkpoint's parameters (malloc'ed), or NULL after an error naming what does not fit. */
static float *load_weights(const Model *m, const char *path, const cnn_tensor *t, int ntensors, int trainable)
{
    cnn_model cm = {
        .name = m->name,
        .num_params = (size_t)m->total_params,
        .num_tensors = trainable,
        .tensors = t,
        .num_state = (size_t)m->total_state,
        .num_state_tensors = ntensors - trainable,
        .state_tensors = t + trainable,
    };
    float *params = xcalloc((size_t)(m->total_params + m->total_state) + 1, sizeof *params);
    if (cnn_checkpoint_load(path, &cm, params, NULL, NULL, NULL) != 0) {
        free(params);
        return NULL;
    }
    /* A literal cannot spell infinity or NaN portably, and such a model predicts nothing. */
    for (int i = 0; i < ntensors; i++) {
        for (size_t j = 0; j < t[i].count; j++) {
            if (!isfinite(params[t[i].offset + j])) {
                error_plain("%s: tensor '%s' holds a non-finite value at index %zu; the model "
                            "diverged, so there is nothing to export", path, t[i].name, j);
                free(params);
                return NULL;
            }
        }
    }
    return params;
}

/* ------------------------------------------------------------------ the plan */

typedef struct InferPlan {
    const Model *m;
    char upper[EMIT_NAME_MAX];
    Layer *layers;      /* copies: the last may lose its softmax */
    EmitLayer *emit;    /* the expressions of each layer's tensors */
    bool *is_view;      /* flatten, dropout and a dropped softmax write nothing */
    char output[EMIT_EXPR_MAX]; /* the last layer's output */
    long long scratch;  /* floats per buffer: the widest of the input and every output */
    bool needs_math;    /* <math.h>, and so -lm, only for what calls it: --logits needs none */
} InferPlan;

static bool uses_math(const Layer *l)
{
    return l->act == ACT_SIGMOID || l->act == ACT_TANH || l->act == ACT_SOFTMAX || l->kind == LAYER_BATCHNORM;
}

static void upper_copy(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 'a' + 'A' : src[i]);
    dst[i] = '\0';
}

/* A layer that writes nothing at inference: a view (flatten), the identity outside training
 * (dropout), or an activation layer left without its activation (a dropped softmax). */
static bool writes_nothing(const Layer *l)
{
    const LayerOps *ops = layer_ops(l->kind);
    return ops->is_view || ops->identity_at_inference || (ops->is_activation && l->act == ACT_NONE);
}

static void plan_inference(const Model *m, bool logits, InferPlan *p)
{
    int nl = m->nlayers;
    p->m = m;
    upper_copy(p->upper, sizeof p->upper, m->name);
    p->layers = xcalloc((size_t)nl, sizeof *p->layers);
    p->emit = xcalloc((size_t)nl, sizeof *p->emit);
    p->is_view = xcalloc((size_t)nl, sizeof *p->is_view);
    p->scratch = shape_size(m->input);
    for (int i = 0; i < nl; i++)
        if (shape_size(m->layers[i].out) > p->scratch)
            p->scratch = shape_size(m->layers[i].out);
    /* Each output in the buffer the memory plan gave it (check/memory_plan.c): the model's input
     * is buffer 0, where the u8 entry point scales the pixels, and an output stays until its
     * last reader has run. */
    for (int i = 0; i < nl; i++) {
        Layer *l = &p->layers[i];
        EmitLayer *e = &p->emit[i];
        *l = m->layers[i];
        if (logits && i == nl - 1 && l->act == ACT_SOFTMAX)
            l->act = ACT_NONE;
        p->is_view[i] = writes_nothing(l);
        p->needs_math |= uses_math(l);
        e->model = m;
        e->layer = l;
        e->index = i;
        e->inference = true;
        upper_copy(e->upper, sizeof e->upper, l->name);
        snprintf(e->in, sizeof e->in, "%s", l->inputs[0] >= 0 ? p->emit[l->inputs[0]].out : "x");
        if (l->ninputs > 1)
            snprintf(e->in2, sizeof e->in2, "%s", l->inputs[1] >= 0 ? p->emit[l->inputs[1]].out : "x");
        if (p->is_view[i]) {
            snprintf(e->out, sizeof e->out, "%s", e->in);
        } else {
            snprintf(e->out, sizeof e->out, "ws->buf[%lld]", l->infer_out / p->scratch);
        }
        TensorSpec ts[MAX_LAYER_TENSORS];
        int nt = layer_ops(l->kind)->tensors ? layer_ops(l->kind)->tensors(l, ts) : 0;
        for (int t = 0; t < nt; t++)
            snprintf(e->param[t], sizeof e->param[t], "%s_%s", l->name, ts[t].suffix);
    }
    snprintf(p->output, sizeof p->output, "%s", p->emit[nl - 1].out);
}

static void plan_free(InferPlan *p)
{
    free(p->layers);
    free(p->emit);
    free(p->is_view);
}

/* ------------------------------------------------------------------ the files */

static void write_infer_header(Writer *w, const InferPlan *p, const char *canon, bool logits)
{
    const Model *m = p->m;
    const char *U = p->upper, *n = m->name;
    long long classes = shape_size(m->layers[m->nlayers - 1].out);
    char file[EMIT_NAME_MAX + 16];
    snprintf(file, sizeof file, "%s_infer.h", n);
    write_banner(w, m, file, canon);
    w_line(w, "#ifndef %s_INFER_H", U);
    w_line(w, "#define %s_INFER_H", U);
    w_blank(w);
    w_line(w, "/* One image is [%d][%d][%d] floats (rows, columns, channels), pixels scaled to [0, 1]. */",
           m->input.h, m->input.w, m->input.c);
    w_line(w, "#define %s_INFER_IN_H %d", U, m->input.h);
    w_line(w, "#define %s_INFER_IN_W %d", U, m->input.w);
    w_line(w, "#define %s_INFER_IN_C %d", U, m->input.c);
    w_line(w, "#define %s_INFER_IN_SIZE %lld", U, shape_size(m->input));
    w_line(w, "#define %s_INFER_CLASSES %lld", U, classes);
    w_line(w, "/* The outputs are %s. */", logits ? "logits: the last softmax is left out"
                                                  : "the last layer's (probabilities after a softmax)");
    w_line(w, "#define %s_INFER_LOGITS %d", U, logits ? 1 : 0);
    w_blank(w);
    w_line(w, "/* The scratch of one prediction; give each thread its own. Nothing else is written. */");
    w_line(w, "typedef struct %s_workspace {", n);
    w_line(w, "    float buf[%d][%lld];", m->mem.infer_buffers, p->scratch);
    w_line(w, "} %s_workspace;", n);
    w_line(w, "#define %s_INFER_WORKSPACE_BYTES %lld", U, 4LL * m->mem.infer_buffers * p->scratch);
    w_blank(w);
    w_line(w, "/* Classifies one image: returns its class and, unless `out` is NULL, writes the %lld", classes);
    w_line(w, " * outputs. `input` must not lie in `ws`. */");
    w_line(w, "int %s_predict(%s_workspace *ws, const float input[%lld], float out[%lld]);", n, n,
           shape_size(m->input), classes);
    w_line(w, "/* The same from 8-bit pixels, scaled by 1/255 as in training. */");
    w_line(w, "int %s_predict_u8(%s_workspace *ws, const unsigned char pixels[%lld], float out[%lld]);", n, n,
           shape_size(m->input), classes);
    w_blank(w);
    w_line(w, "#endif");
}

/* The values as hex float literals, eight to a line: exact whatever the host's float text.
 * The array is named as the passes name it: "conv2d_1.kernel" is conv2d_1_kernel. */
static void write_array(Writer *w, const cnn_tensor *t, const float *params)
{
    char name[EMIT_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s", t->name);
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = '_';
    char dims[64] = "";
    size_t len = 0;
    for (int d = 0; d < t->ndim; d++)
        len += (size_t)snprintf(dims + len, sizeof dims - len, "[%d]", t->shape[d]);
    w_line(w, "/* %s: %s */", t->name, dims);
    w_line(w, "static const float %s[%zu] = {", name, t->count);
    for (size_t i = 0; i < t->count; i++) {
        fprintf(w->f, "%s%af,", i % 8 == 0 ? "    " : " ", (double)params[t->offset + i]);
        if (i % 8 == 7 || i + 1 == t->count)
            fputc('\n', w->f);
    }
    w_line(w, "};");
    w_blank(w);
}

static void write_driver(Writer *w, const InferPlan *p)
{
    const Model *m = p->m;
    const char *n = m->name;
    long long classes = shape_size(m->layers[m->nlayers - 1].out), in = shape_size(m->input);
    w_line(w, "/* The layers in order on one image, from x to the last output; its arg max. */");
    w_begin_function(w, "static int run_layers(%s_workspace *ws, const float *x, float *out)", n);
    bool any_pass = false;
    for (int i = 0; i < m->nlayers; i++)
        any_pass |= !p->is_view[i];
    if (any_pass)
        w_line(w, "const int n = 1; /* the layer passes take a batch: this is one image */");
    else
        w_line(w, "(void)ws; /* every layer is a view of the input */");
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &p->layers[i];
        const EmitLayer *e = &p->emit[i];
        if (p->is_view[i]) {
            w_line(w, "/* %s: %s, a view of its input */", l->name, layer_kind_name(l->kind));
            continue;
        }
        PassParams params = {0};
        char fname[EMIT_NAME_MAX + 16];
        layer_ops(l->kind)->forward_params(e, &params);
        snprintf(fname, sizeof fname, "%s_forward", l->name);
        w_pass_call(w, fname, &params);
    }
    w_line(w, "const float *y = %s;", p->output);
    w_line(w, "int best = 0;");
    w_line(w, "for (int k = 1; k < %lld; k++)", classes);
    w_line(w, "    if (y[k] > y[best])");
    w_line(w, "        best = k;");
    w_line(w, "if (out)");
    w_line(w, "    for (int k = 0; k < %lld; k++)", classes);
    w_line(w, "        out[k] = y[k];");
    w_line(w, "return best;");
    w_close(w);
    w_blank(w);
    w_begin_function(w, "int %s_predict(%s_workspace *ws, const float input[%lld], float out[%lld])", n, n, in,
                     classes);
    w_line(w, "return run_layers(ws, input, out);");
    w_close(w);
    w_blank(w);
    w_begin_function(w, "int %s_predict_u8(%s_workspace *ws, const unsigned char pixels[%lld], float out[%lld])", n,
                     n, in, classes);
    w_line(w, "for (int i = 0; i < %lld; i++)", in);
    w_line(w, "    ws->buf[0][i] = (float)pixels[i] / 255.0f;");
    w_line(w, "return run_layers(ws, ws->buf[0], out);");
    w_close(w);
}

static void write_infer_source(Writer *w, const InferPlan *p, const char *canon, const cnn_tensor *t,
                               int ntensors, const float *params)
{
    const Model *m = p->m;
    char file[EMIT_NAME_MAX + 16];
    snprintf(file, sizeof file, "%s_infer.c", m->name);
    write_banner(w, m, file, canon);
    if (p->needs_math)
        w_line(w, "#include <math.h>");
    w_line(w, "#include <stddef.h>");
    w_line(w, "#include <string.h>");
    w_blank(w);
    w_line(w, "#include \"%s_infer.h\"", m->name);
    w_blank(w);
    /* The vector macros the conv2d and dense passes are written with (emit/target.c). The
     * plain-C target copies with memcpy: <string.h> is header-only use, no library. */
    emit_simd_prelude(w);
    for (int i = 0; i < ntensors; i++)
        write_array(w, &t[i], params);
    for (int i = 0; i < m->nlayers; i++)
        if (!p->is_view[i])
            layer_ops(p->layers[i].kind)->emit_forward(w, &p->emit[i]);
    write_driver(w, p);
}

int emit_inference(const Model *m, const char *dir, const InferOptions *opt)
{
    if (m->nlayers == 0)
        unreachable(); /* check_model refuses a model without layers */
    int ntensors = 0, trainable = 0;
    cnn_tensor *t = tensor_table(m, &ntensors, &trainable);
    /* The checkpoint is read before anything is created: a misfit writes nothing. */
    float *params = load_weights(m, opt->weights, t, ntensors, trainable);
    if (params == NULL || emit_ensure_dir(dir) != 0) {
        free(params);
        tensor_table_free(t, ntensors);
        return -1;
    }
    InferPlan plan = {0};
    plan_inference(m, opt->logits, &plan);
    char *canon = canonical_text(m);
    char hname[EMIT_NAME_MAX + 16], cname[EMIT_NAME_MAX + 16];
    snprintf(hname, sizeof hname, "%s_infer.h", m->name);
    snprintf(cname, sizeof cname, "%s_infer.c", m->name);
    OutFile h = {0}, c = {0};
    int rc = -1;
    if (out_open(&h, dir, hname) == 0 && out_open(&c, dir, cname) == 0) {
        Writer wh = {.f = h.f, .target = opt->target}, wc = {.f = c.f, .target = opt->target};
        write_infer_header(&wh, &plan, canon, opt->logits);
        write_infer_source(&wc, &plan, canon, t, ntensors, params);
        rc = out_commit_pair(&h, &c);
    }
    out_discard(&h);
    out_discard(&c);
    free(canon);
    plan_free(&plan);
    free(params);
    tensor_table_free(t, ntensors);
    return rc;
}
