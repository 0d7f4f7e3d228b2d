/*
 * cmd/summary.c - `cnnc summary`: a checked model as a table like Keras' model.summary(), or the
 * same facts as YAML or JSON for programs.
 *
 *   Model: "mnist_cnn"
 *   ________________________________________________________________________________________
 *    Layer (type)            Output Shape          Param #        MACs       Memory
 *   ========================================================================================
 *    conv2d_1 (Conv2D)       (None, 26, 26, 32)        320     194,688      2.6 MiB
 *
 * The Memory column is what one layer holds in a training build: its output for a whole batch
 * plus its parameters. The totals below the table repeat the MemoryPlan that check.c computed
 * and that the generated code allocates, to the byte.
 *
 * YAML and JSON are written through one small "structured writer" (Out) with two back ends,
 * libyaml's emitter and a hand-written JSON printer, so the two formats cannot drift apart.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "layers/layer.h"
#include "emit/writer.h"

/* Keras' class names, so the table reads like model.summary(). */

/* The train block's words (check/train.c's tables, indexed by their enums). */
#define NAME_OF(table, i) (table)[i]

/* ------------------------------------------------------------------ numbers as text */

/* 121930 -> "121,930" */
static void format_count(char *buf, size_t size, long long v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v);
    const char *d = digits[0] == '-' ? digits + 1 : digits;
    size_t n = strlen(d), o = 0;
    if (d != digits && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = d[i];
    }
    buf[o] = '\0';
}

/* 88576 -> "86.5 KiB"; under 1 KiB, the exact "512 B". */
static void format_bytes(char *buf, size_t size, long long bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%lld B", bytes);
        return;
    }
    double v = (double)bytes;
    int u = 0;
    /* 1023.96 KiB would print as "1024.0 KiB": move up a unit before rounding gets there. */
    while (v >= 1023.95 && u < 6) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* The shortest text that reads back as the same double, always with a point or an exponent
 * so that a reader sees a real: 0.001, 0.9, 1e-07, 1.0. */
static void format_real(char *buf, size_t size, double r)
{
    if (!isfinite(r)) {
        snprintf(buf, size, "null");
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, r);
        if (strtod(buf, NULL) == r)
            break;
    }
    if (!strpbrk(buf, ".e") && strlen(buf) + 3 <= size)
        strcat(buf, ".0");
}

/* (None, 26, 26, 32) or (None, 64), as Keras shows a batch of outputs. */
static void format_keras_shape(char *buf, size_t size, Shape s)
{
    if (s.rank == 1)
        snprintf(buf, size, "(None, %d)", s.c);
    else
        snprintf(buf, size, "(None, %d, %d, %d)", s.h, s.w, s.c);
}

/* The bytes of a layer's output for a batch; none for a view (flatten), whose output is its
 * input's. */
static long long activation_bytes(const Model *m, const Layer *L)
{
    if (layer_ops(L->kind)->is_view)
        return 0;
    return 4LL * m->train.batch_size * shape_size(L->out);
}

/* ------------------------------------------------------------------ the table */

/* A long layer name wraps inside its column rather than pushing the table past 100 columns. */
#define NAME_COLUMN_MAX 36

typedef struct Row {
    char name[256]; /* "conv2d_1 (Conv2D)", cut at 255 bytes: names are identifiers */
    char shape[64];
    char params[32];
    char macs[32];
    char memory[32];
    char inputs[160]; /* "conv2d_1, stem", cut at 159 bytes */
} Row;

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static void print_rule(FILE *out, char c, int width)
{
    for (int i = 0; i < width; i++)
        fputc(c, out);
    fputc('\n', out);
}

static void print_memory_line(FILE *out, const char *label, long long bytes)
{
    char exact[32], human[32];
    format_count(exact, sizeof exact, bytes);
    format_bytes(human, sizeof human, bytes);
    fprintf(out, "  %-34s %15s bytes  %10s\n", label, exact, human);
}

static const char *optimizer_state_label(const Model *m)
{
    if (m->train.optimizer == OPT_ADAM)
        return "optimizer state (adam: m and v)";
    if (m->train.optimizer == OPT_ADAMW)
        return "optimizer state (adamw: m and v)";
    if (m->train.optimizer == OPT_RMSPROP)
        return m->train.momentum > 0 ? "optimizer state (rmsprop: v, momentum)" : "optimizer state (rmsprop: v)";
    return m->mem.optimizer > 0 ? "optimizer state (sgd: velocity)" : "optimizer state (sgd: none)";
}

/* Whether some layer reads other than the layer before it: then the table shows what each
 * layer is connected to, as Keras does for a functional model. */
static bool is_graph(const Model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].ninputs > 1 || m->layers[i].inputs[0] != i - 1)
            return true;
    return false;
}

/* The names of the layers (or "input") a layer reads. */
static void format_inputs(char *buf, size_t size, const Model *m, const Layer *L)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < L->ninputs && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k > 0 ? ", " : "",
                                 L->inputs[k] < 0 ? "input" : m->layers[L->inputs[k]].name);
}

static int print_table(const Model *m, const Target *t, FILE *out)
{
    bool graph = is_graph(m);
    Row *rows = xcalloc(m->nlayers > 0 ? (size_t)m->nlayers : 1, sizeof *rows);
    int wname = (int)strlen("Layer (type)"), wshape = (int)strlen("Output Shape");
    int wparams = (int)strlen("Param #"), wmacs = (int)strlen("MACs"), wmem = (int)strlen("Memory");
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *L = &m->layers[i];
        Row *row = &rows[i];
        snprintf(row->name, sizeof row->name, "%s (%s)", L->name, layer_ops(L->kind)->keras_class);
        format_keras_shape(row->shape, sizeof row->shape, L->out);
        /* As Keras counts them: the state (moving statistics) with the trainable parameters. */
        format_count(row->params, sizeof row->params, L->params + L->state_size);
        format_count(row->macs, sizeof row->macs, L->macs);
        format_bytes(row->memory, sizeof row->memory, activation_bytes(m, L) + 4 * (L->params + L->state_size));
        wname = max_int(wname, (int)strlen(row->name));
        wshape = max_int(wshape, (int)strlen(row->shape));
        wparams = max_int(wparams, (int)strlen(row->params));
        wmacs = max_int(wmacs, (int)strlen(row->macs));
        wmem = max_int(wmem, (int)strlen(row->memory));
        format_inputs(row->inputs, sizeof row->inputs, m, L);
    }
    if (wname > NAME_COLUMN_MAX)
        wname = NAME_COLUMN_MAX;
    /* One space before the first column, three between columns. */
    int width = 1 + wname + 3 + wshape + 3 + wparams + 3 + wmacs + 3 + wmem;
    if (graph)
        width += 3 + (int)strlen("Connected to");

    char input[64];
    format_keras_shape(input, sizeof input, m->input);
    fprintf(out, "Model: \"%s\"\n", m->name);
    fprintf(out, "Input: %s, compiled batch size %d\n", input, m->train.batch_size);
    fprintf(out, "Target: %s (%s)\n", t->name, t->summary);
    print_rule(out, '_', width);
    fprintf(out, " %-*s   %-*s   %*s   %*s   %*s%s\n", wname, "Layer (type)", wshape, "Output Shape",
            wparams, "Param #", wmacs, "MACs", wmem, "Memory", graph ? "   Connected to" : "");
    print_rule(out, '=', width);
    for (int i = 0; i < m->nlayers; i++) {
        const Row *row = &rows[i];
        int len = (int)strlen(row->name);
        int first = len < wname ? len : wname;
        fprintf(out, " %-*.*s   %-*s   %*s   %*s   %*s%s%s\n", wname, first, row->name, wshape,
                row->shape, wparams, row->params, wmacs, row->macs, wmem, row->memory, graph ? "   " : "",
                graph ? row->inputs : "");
        for (int at = first; at < len; at += wname)
            fprintf(out, " %.*s\n", wname, row->name + at);
    }
    free(rows);
    print_rule(out, '=', width);

    char count[32], exact[32], human[32];
    format_count(count, sizeof count, m->total_params + m->total_state);
    format_count(exact, sizeof exact, m->mem.params);
    format_bytes(human, sizeof human, m->mem.params);
    fprintf(out, "Total params: %s (%s bytes, %s)\n", count, exact, human);
    format_count(count, sizeof count, m->total_params);
    format_bytes(human, sizeof human, 4 * m->total_params);
    fprintf(out, "Trainable params: %s (%s)\n", count, human);
    format_count(count, sizeof count, m->total_state);
    format_bytes(human, sizeof human, 4 * m->total_state);
    fprintf(out, "Non-trainable params: %s (%s)\n", count, human);
    format_count(count, sizeof count, m->total_macs);
    fprintf(out, "Multiply-accumulates per image: %s\n", count);
    print_rule(out, '_', width);

    const MemoryPlan *p = &m->mem;
    char label[64];
    fprintf(out, "Memory of a training build (batch size %d):\n", m->train.batch_size);
    print_memory_line(out, "parameters", p->params);
    snprintf(label, sizeof label, "activations (batch %d)", m->train.batch_size);
    print_memory_line(out, label, p->activations);
    print_memory_line(out, "kept for backward (argmax, masks)", p->aux);
    print_memory_line(out, "activation gradients", p->act_grads);
    print_memory_line(out, "parameter gradients", p->param_grads);
    print_memory_line(out, optimizer_state_label(m), p->optimizer);
    print_memory_line(out, "total", p->training_total);
    fprintf(out, "Memory of the inference-only predictor (one image):\n");
    print_memory_line(out, "parameters", p->params);
    snprintf(label, sizeof label, "scratch (%d activation buffers)", p->infer_buffers);
    print_memory_line(out, label, p->infer_scratch);
    print_memory_line(out, "total", p->infer_total);
    return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------ a structured writer */

#define OUT_MAX_DEPTH 8

typedef struct Out {
    SummaryFormat fmt;
    FILE *file;
    yaml_emitter_t emitter; /* SUMMARY_YAML */
    bool failed;
    /* SUMMARY_JSON: the open containers. */
    int depth;
    bool empty[OUT_MAX_DEPTH]; /* nothing written in it yet */
    bool flow[OUT_MAX_DEPTH];  /* written on one line */
    bool after_key;
} Out;

/* Emits an event that `initialized` says was built; the emitter owns it from then on. After a
 * failure the remaining events are only freed. */
static void yaml_emit(Out *o, yaml_event_t *ev, int initialized)
{
    if (!initialized) {
        o->failed = true;
    } else if (o->failed) {
        yaml_event_delete(ev);
    } else if (!yaml_emitter_emit(&o->emitter, ev)) {
        o->failed = true;
    }
}

/* Where JSON needs a comma, a newline and indentation before the next item. */
static void json_item(Out *o)
{
    if (o->after_key) {
        o->after_key = false;
        return;
    }
    if (o->depth == 0)
        return;
    bool *empty = &o->empty[o->depth - 1];
    if (o->flow[o->depth - 1]) {
        if (!*empty)
            fputs(", ", o->file);
    } else {
        fprintf(o->file, "%s\n%*s", *empty ? "" : ",", 2 * o->depth, "");
    }
    *empty = false;
}

static void out_begin(Out *o, bool mapping, bool flow)
{
    if (o->fmt == SUMMARY_YAML) {
        yaml_event_t ev;
        int ok = mapping ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                               flow ? YAML_FLOW_MAPPING_STYLE
                                                                    : YAML_BLOCK_MAPPING_STYLE)
                         : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                                flow ? YAML_FLOW_SEQUENCE_STYLE
                                                                     : YAML_BLOCK_SEQUENCE_STYLE);
        yaml_emit(o, &ev, ok);
        return;
    }
    json_item(o);
    fputc(mapping ? '{' : '[', o->file);
    if (o->depth == OUT_MAX_DEPTH)
        unreachable();
    o->empty[o->depth] = true;
    o->flow[o->depth] = flow;
    o->depth++;
}

static void out_end(Out *o, bool mapping)
{
    if (o->fmt == SUMMARY_YAML) {
        yaml_event_t ev;
        int ok = mapping ? yaml_mapping_end_event_initialize(&ev)
                         : yaml_sequence_end_event_initialize(&ev);
        yaml_emit(o, &ev, ok);
        return;
    }
    o->depth--;
    if (!o->empty[o->depth] && !o->flow[o->depth])
        fprintf(o->file, "\n%*s", 2 * o->depth, "");
    fputc(mapping ? '}' : ']', o->file);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Plain words that a YAML reader would take for a boolean or null must be quoted. */
static bool yaml_needs_quotes(const char *s)
{
    static const char *const special[] = {"true", "false", "null", "yes", "no",
                                          "on",   "off",   "y",    "n",   NULL};
    if (!*s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return true;
    for (const char *p = s; *p; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return true;
    for (int i = 0; special[i]; i++)
        if (!strcasecmp(s, special[i]))
            return true;
    return false;
}

/* The length of the well-formed UTF-8 sequence at s, or 0. */
static int utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0], cp, min;
    int n;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* the terminating NUL stops here too */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A copy of s that is valid UTF-8, each stray byte replaced by U+FFFD. A path in a model file
 * may hold any bytes, but JSON text and libyaml's emitter take only UTF-8. */
static char *valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *copy = xmalloc(3 * strlen(s) + 1), *w = copy;
    while (*p) {
        int n = utf8_sequence(p);
        if (n == 0) {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            p++;
        } else {
            memcpy(w, p, (size_t)n);
            w += n;
            p += n;
        }
    }
    *w = '\0';
    return copy;
}

/* A scalar: `text` as it is written, `string` when JSON must quote it. */
static void out_scalar(Out *o, const char *text, bool string)
{
    if (string) {
        char *safe = valid_utf8(text);
        if (o->fmt == SUMMARY_YAML) {
            yaml_event_t ev;
            yaml_scalar_style_t style =
                yaml_needs_quotes(safe) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
            yaml_emit(o, &ev,
                      yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)safe,
                                                   (int)strlen(safe), 1, 1, style));
        } else {
            json_item(o);
            json_string(o->file, safe);
        }
        free(safe);
        return;
    }
    if (o->fmt == SUMMARY_YAML) {
        yaml_event_t ev;
        yaml_emit(o, &ev,
                  yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text,
                                               (int)strlen(text), 1, 1, YAML_PLAIN_SCALAR_STYLE));
        return;
    }
    json_item(o);
    fputs(text, o->file);
}

static void out_key(Out *o, const char *key)
{
    out_scalar(o, key, true);
    if (o->fmt == SUMMARY_JSON) {
        fputs(": ", o->file);
        o->after_key = true;
    }
}

static void out_string(Out *o, const char *key, const char *value)
{
    out_key(o, key);
    out_scalar(o, value, true);
}

static void out_int(Out *o, const char *key, long long value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", value);
    out_key(o, key);
    out_scalar(o, buf, false);
}

static void out_real(Out *o, const char *key, double value)
{
    char buf[40];
    format_real(buf, sizeof buf, value);
    out_key(o, key);
    out_scalar(o, buf, false);
}

static void out_bool(Out *o, const char *key, bool value)
{
    out_key(o, key);
    out_scalar(o, value ? "true" : "false", false);
}

/* [26, 26, 32] or [64]: a shape per image, channels last. */
static void out_shape(Out *o, const char *key, Shape s)
{
    char buf[16];
    out_key(o, key);
    out_begin(o, false, true);
    if (s.rank != 1) {
        snprintf(buf, sizeof buf, "%d", s.h);
        out_scalar(o, buf, false);
        snprintf(buf, sizeof buf, "%d", s.w);
        out_scalar(o, buf, false);
    }
    snprintf(buf, sizeof buf, "%d", s.c);
    out_scalar(o, buf, false);
    out_end(o, false);
}

/* ------------------------------------------------------------------ the structured summary */

/* [3, 3]: a window or a stride, height then width. */
static void out_window(Out *o, const char *key, int h, int w)
{
    char buf[16];
    out_key(o, key);
    out_begin(o, false, true);
    snprintf(buf, sizeof buf, "%d", h);
    out_scalar(o, buf, false);
    snprintf(buf, sizeof buf, "%d", w);
    out_scalar(o, buf, false);
    out_end(o, false);
}

/* The resolved attributes of a layer: what the model file said, with the defaults filled in. */
static void out_layer_config(Out *o, const Layer *L)
{
    const LayerOps *ops = layer_ops(L->kind);
    LayerAttr attrs[MAX_LAYER_ATTRS];
    int n = ops->attrs ? ops->attrs(L, attrs) : 0;
    out_key(o, "config");
    out_begin(o, true, false);
    for (int i = 0; i < n; i++) {
        const LayerAttr *a = &attrs[i];
        switch (a->type) {
        case ATTR_INT: out_int(o, a->name, a->i); break;
        case ATTR_SIZE2: out_window(o, a->name, a->h, a->w); break;
        case ATTR_PADDING: out_string(o, a->name, padding_name((Padding)a->i)); break;
        case ATTR_ACTIVATION: out_string(o, a->name, activation_name((Activation)a->i)); break;
        case ATTR_BOOL: out_bool(o, a->name, a->i != 0); break;
        case ATTR_REAL: out_real(o, a->name, a->r); break;
        }
    }
    out_end(o, true);
}

static void out_layer(Out *o, const Model *m, const Layer *L)
{
    out_begin(o, true, false);
    out_string(o, "name", L->name);
    out_string(o, "type", layer_kind_name(L->kind));
    out_key(o, "inputs");
    out_begin(o, false, true);
    for (int k = 0; k < L->ninputs; k++)
        out_scalar(o, L->inputs[k] < 0 ? "input" : m->layers[L->inputs[k]].name, true);
    out_end(o, false);
    out_shape(o, "input_shape", L->in);
    out_shape(o, "output_shape", L->out);
    out_layer_config(o, L);
    out_int(o, "params", L->params + L->state_size);
    if (L->state_size > 0)
        out_int(o, "non_trainable_params", L->state_size);
    out_int(o, "macs", L->macs);
    out_int(o, "activation_bytes", activation_bytes(m, L));
    out_int(o, "param_bytes", 4 * (L->params + L->state_size));
    out_end(o, true);
}

static void out_memory(Out *o, const Model *m)
{
    const MemoryPlan *p = &m->mem;
    out_key(o, "memory");
    out_begin(o, true, false);
    out_key(o, "training");
    out_begin(o, true, false);
    out_int(o, "batch_size", m->train.batch_size);
    out_int(o, "params", p->params);
    out_int(o, "activations", p->activations);
    out_int(o, "aux", p->aux);
    out_int(o, "activation_gradients", p->act_grads);
    out_int(o, "param_gradients", p->param_grads);
    out_int(o, "optimizer_state", p->optimizer);
    out_int(o, "total", p->training_total);
    out_end(o, true);
    out_key(o, "inference");
    out_begin(o, true, false);
    out_int(o, "params", p->params);
    out_int(o, "scratch", p->infer_scratch);
    out_int(o, "total", p->infer_total);
    out_end(o, true);
    out_end(o, true);
}

static void out_train(Out *o, const TrainConfig *t)
{
    out_key(o, "train");
    out_begin(o, true, false);
    out_string(o, "dataset", NAME_OF(dataset_names, t->dataset));
    if (t->dataset == DATASET_IDX) {
        out_key(o, "idx_paths");
        out_begin(o, false, false);
        for (int i = 0; i < 4; i++)
            out_scalar(o, t->idx_paths[i] ? t->idx_paths[i] : "", true);
        out_end(o, false);
    }
    out_string(o, "loss", NAME_OF(loss_names, t->loss));
    out_key(o, "optimizer");
    out_begin(o, true, false);
    out_string(o, "name", NAME_OF(optimizer_names, t->optimizer));
    out_real(o, "learning_rate", t->learning_rate);
    if (t->optimizer == OPT_SGD) {
        out_real(o, "momentum", t->momentum);
        out_bool(o, "nesterov", t->nesterov);
    } else if (t->optimizer == OPT_RMSPROP) {
        out_real(o, "rho", t->rho);
        out_real(o, "momentum", t->momentum);
        out_real(o, "epsilon", t->epsilon);
    } else {
        out_real(o, "beta_1", t->beta_1);
        out_real(o, "beta_2", t->beta_2);
        out_real(o, "epsilon", t->epsilon);
        if (t->optimizer == OPT_ADAMW)
            out_real(o, "weight_decay", t->weight_decay);
    }
    if (t->global_clipnorm > 0)
        out_real(o, "global_clipnorm", t->global_clipnorm);
    out_end(o, true);
    out_int(o, "epochs", t->epochs);
    out_int(o, "batch_size", t->batch_size);
    out_string(o, "validation", NAME_OF(validation_names, t->validation));
    if (t->validation == VALID_SPLIT)
        out_real(o, "validation_split", t->split);
    out_int(o, "seed", t->seed);
    out_bool(o, "shuffle", t->shuffle);
    out_string(o, "init", NAME_OF(init_names, t->init));
    /* The settings of contract version 2, where the model sets them. */
    if (t->schedule != SCHED_CONSTANT) {
        out_key(o, "schedule");
        out_begin(o, true, false);
        out_string(o, "name", NAME_OF(schedule_names, t->schedule));
        if (t->schedule == SCHED_PLATEAU) {
            out_real(o, "factor", t->factor);
            out_int(o, "patience", t->patience);
            out_real(o, "min_delta", t->min_delta);
            out_real(o, "min_lr", t->min_lr);
        } else {
            out_int(o, "decay_steps", t->decay_steps);
            if (t->schedule == SCHED_EXPONENTIAL) {
                out_real(o, "decay_rate", t->decay_rate);
                out_bool(o, "staircase", t->staircase);
            } else {
                out_real(o, "alpha", t->alpha);
            }
        }
        out_end(o, true);
    }
    if (t->early_stopping) {
        out_key(o, "early_stopping");
        out_begin(o, true, false);
        out_int(o, "patience", t->stop_patience);
        out_real(o, "min_delta", t->stop_min_delta);
        out_bool(o, "restore_best", t->restore_best);
        out_end(o, true);
    }
    if (t->augment) {
        out_key(o, "augment");
        out_begin(o, true, false);
        out_int(o, "shift", t->shift);
        out_real(o, "rotation", t->rotation);
        out_end(o, true);
    }
    out_end(o, true);
}

static void out_model(Out *o, const Model *m, const Target *t)
{
    out_begin(o, true, false);
    out_string(o, "model", m->name);
    out_string(o, "target", t->name);
    out_shape(o, "input", m->input);
    out_int(o, "classes", m->classes);
    out_key(o, "layers");
    out_begin(o, false, false);
    for (int i = 0; i < m->nlayers; i++)
        out_layer(o, m, &m->layers[i]);
    out_end(o, false);
    out_key(o, "totals");
    out_begin(o, true, false);
    out_int(o, "params", m->total_params + m->total_state);
    out_int(o, "trainable_params", m->total_params);
    out_int(o, "non_trainable_params", m->total_state);
    out_int(o, "param_bytes", m->mem.params);
    out_int(o, "macs_per_image", m->total_macs);
    out_end(o, true);
    out_memory(o, m);
    out_train(o, &m->train);
    out_end(o, true);
}

static int print_yaml(const Model *m, const Target *t, FILE *file)
{
    Out o = {.fmt = SUMMARY_YAML, .file = file};
    if (!yaml_emitter_initialize(&o.emitter))
        return -1;
    yaml_emitter_set_output_file(&o.emitter, file);
    yaml_emitter_set_unicode(&o.emitter, 1);
    yaml_emitter_set_width(&o.emitter, -1); /* never fold a long path */
    yaml_event_t ev;
    yaml_emit(&o, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    yaml_emit(&o, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    out_model(&o, m, t);
    yaml_emit(&o, &ev, yaml_document_end_event_initialize(&ev, 1));
    yaml_emit(&o, &ev, yaml_stream_end_event_initialize(&ev));
    if (!o.failed && !yaml_emitter_flush(&o.emitter))
        o.failed = true;
    yaml_emitter_delete(&o.emitter);
    return o.failed || ferror(file) ? -1 : 0;
}

static int print_json(const Model *m, const Target *t, FILE *file)
{
    Out o = {.fmt = SUMMARY_JSON, .file = file};
    out_model(&o, m, t);
    fputc('\n', file);
    return ferror(file) ? -1 : 0;
}

int print_summary(const Model *m, const Target *t, SummaryFormat fmt, FILE *out)
{
    switch (fmt) {
    case SUMMARY_TABLE: return print_table(m, t, out);
    case SUMMARY_YAML: return print_yaml(m, t, out);
    case SUMMARY_JSON: return print_json(m, t, out);
    }
    unreachable();
}
