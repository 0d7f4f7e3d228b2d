/*
 * difftest/model_io.c - shapes of the difftest models, and their three text forms (.cnn, YAML,
 * the checker's description), written and read back. See model.h.
 */
#include "model.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[DT_KIND_COUNT] = {
    "conv2d", "maxpool2d", "avgpool2d", "flatten", "dense", "dropout", "relu", "sigmoid", "tanh",
    "softmax", "add", "concat", "globalavgpool2d", "batchnorm"};
static const char *const act_names[] = {"none", "relu", "sigmoid", "tanh", "softmax"};

#define BN_MOMENTUM 0.99
#define BN_EPSILON 0.001

void dt_layer_init(dt_layer *l, int kind)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->use_bias = 1;
    l->scale = 1;
    l->sh = l->sw = 1;
    l->momentum = BN_MOMENTUM;
    l->epsilon = BN_EPSILON;
    l->from = DT_PREVIOUS;
    l->with = DT_INPUT;
    if (kind == DT_MAXPOOL2D || kind == DT_AVGPOOL2D)
        l->kh = l->kw = l->sh = l->sw = 2;
}

int dt_source(const dt_model *m, int i)
{
    int from = m->layers[i].from;
    return from == DT_PREVIOUS ? i - 1 : from;
}

static int has_with(const dt_layer *l)
{
    return l->kind == DT_ADD || l->kind == DT_CONCAT;
}

void dt_layer_name(const dt_model *m, int i, char *buf, size_t size)
{
    const dt_layer *l = &m->layers[i];
    if (l->name[0]) {
        snprintf(buf, size, "%s", l->name);
        return;
    }
    int ordinal = 0;
    for (int j = 0; j <= i; j++)
        ordinal += m->layers[j].kind == l->kind;
    snprintf(buf, size, "%s_%d", kind_names[l->kind], ordinal);
}

/* ------------------------------------------------------------------ shapes */

/* Keras: `same` gives ceil(in / stride); `valid` the windows that fit. */
static int window_out(int in, int k, int s, int same)
{
    if (same)
        return (in + s - 1) / s;
    return in >= k ? (in - k) / s + 1 : 0;
}

int dt_layer_shape(const dt_layer *l, dt_shape in, dt_shape in2, dt_shape *out)
{
    *out = in;
    switch (l->kind) {
    case DT_CONV2D:
    case DT_MAXPOOL2D:
    case DT_AVGPOOL2D:
        if (in.flat)
            return 0;
        out->h = window_out(in.h, l->kh, l->sh, l->same);
        out->w = window_out(in.w, l->kw, l->sw, l->same);
        if (l->kind == DT_CONV2D)
            out->c = l->units;
        break;
    case DT_FLATTEN:
        *out = (dt_shape){1, 1, in.h * in.w * in.c, 1};
        break;
    case DT_DENSE:
        if (!in.flat)
            return 0;
        out->c = l->units;
        break;
    case DT_GLOBALAVGPOOL2D:
        if (in.flat)
            return 0;
        *out = (dt_shape){1, 1, in.c, 1};
        break;
    case DT_ADD:
        if (in.h != in2.h || in.w != in2.w || in.c != in2.c || in.flat != in2.flat)
            return 0;
        break;
    case DT_CONCAT:
        if (in.flat != in2.flat || in.h != in2.h || in.w != in2.w)
            return 0;
        out->c = in.c + in2.c;
        break;
    default:
        break;
    }
    return out->h > 0 && out->w > 0 && out->c > 0;
}

int dt_layer_shapes(const dt_model *m, dt_shape *shapes)
{
    dt_shape input = {m->in_h, m->in_w, m->in_c, 0};
    if (m->nlayers < 1 || m->nlayers > DT_MAX_LAYERS || m->in_h < 1 || m->in_w < 1 || m->in_c < 1)
        return 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dt_layer *l = &m->layers[i];
        int a = dt_source(m, i), b = has_with(l) ? l->with : DT_INPUT;
        if (a < DT_INPUT || a >= i || b < DT_INPUT || b >= i)
            return 0;
        if (!dt_layer_shape(l, a < 0 ? input : shapes[a], b < 0 ? input : shapes[b], &shapes[i]))
            return 0;
    }
    return 1;
}

int dt_model_shapes(const dt_model *m, dt_shape *shapes, int *classes)
{
    dt_shape local[DT_MAX_LAYERS];
    if (!shapes)
        shapes = local;
    if (m->batch < 1 || !dt_layer_shapes(m, shapes))
        return 0;
    for (int i = 0; i < m->nlayers - 1; i++) {
        const dt_layer *l = &m->layers[i];
        if (l->kind == DT_SOFTMAX || ((l->kind == DT_CONV2D || l->kind == DT_DENSE) && l->act == DT_ACT_SOFTMAX))
            return 0; /* softmax only ends the network */
    }
    /* Every layer on a path to the last one. */
    int reach[DT_MAX_LAYERS] = {0};
    reach[m->nlayers - 1] = 1;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        if (!reach[i])
            return 0;
        int a = dt_source(m, i);
        if (a >= 0)
            reach[a] = 1;
        if (has_with(&m->layers[i]) && m->layers[i].with >= 0)
            reach[m->layers[i].with] = 1;
    }
    const dt_shape *last = &shapes[m->nlayers - 1];
    *classes = last->c;
    if (!last->flat)
        return 0;
    if (m->mnist)
        return last->c == 10 && m->in_h == 28 && m->in_w == 28 && m->in_c == 1;
    return last->c >= 2 && last->c <= 256;
}

int dt_model_valid(const dt_model *m, int *classes)
{
    return dt_model_shapes(m, NULL, classes);
}

double dt_model_macs(const dt_model *m)
{
    dt_shape shapes[DT_MAX_LAYERS], input = {m->in_h, m->in_w, m->in_c, 0};
    if (!dt_layer_shapes(m, shapes))
        return 0;
    double macs = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const dt_layer *l = &m->layers[i];
        int a = dt_source(m, i);
        dt_shape in = a < 0 ? input : shapes[a];
        const dt_shape *o = &shapes[i];
        if (l->kind == DT_CONV2D)
            macs += (double)o->h * o->w * o->c * l->kh * l->kw * in.c;
        else if (l->kind == DT_DENSE)
            macs += (double)in.c * o->c;
        else /* pools, activations and the rest still cost something */
            macs += (double)in.h * in.w * in.c + (double)o->h * o->w * o->c;
    }
    return macs;
}

/* ------------------------------------------------------------------ rewiring */

void dt_drop_layer(dt_model *m, int i)
{
    int src = dt_source(m, i);
    for (int j = i + 1; j < m->nlayers; j++) {
        dt_layer *l = &m->layers[j];
        /* Its sources as indices, the dropped layer's replaced by what it read. */
        int a = dt_source(m, j), b = l->with;
        if (a == i)
            a = src;
        if (has_with(l) && b == i)
            b = src;
        /* The indices after i move down by one. */
        a = a > i ? a - 1 : a;
        b = b > i ? b - 1 : b;
        int explicit_from = l->from != DT_PREVIOUS;
        l->from = !explicit_from && a == j - 2 ? DT_PREVIOUS : a;
        l->with = b;
    }
    memmove(&m->layers[i], &m->layers[i + 1], sizeof m->layers[0] * (size_t)(m->nlayers - i - 1));
    m->nlayers--;
}

void dt_prune(dt_model *m)
{
    for (int changed = 1; changed;) {
        changed = 0;
        int read[DT_MAX_LAYERS] = {0};
        for (int j = 0; j < m->nlayers; j++) {
            int a = dt_source(m, j);
            if (a >= 0)
                read[a] = 1;
            if (has_with(&m->layers[j]) && m->layers[j].with >= 0)
                read[m->layers[j].with] = 1;
        }
        for (int i = m->nlayers - 2; i >= 0 && !changed; i--)
            if (!read[i]) {
                dt_drop_layer(m, i);
                changed = 1;
            }
    }
}

/* ------------------------------------------------------------------ writers */

/* Style bits: which defaults a layer writes out, how it spells a square size, and whether
 * from= and with= come before the other arguments. */
enum { ST_STRIDE = 1, ST_PADDING = 2, ST_ACT = 4, ST_BIAS = 8, ST_SQUARE_AS_HXW = 16, ST_REFS_FIRST = 32 };

/* One argument of a layer, in either form: `key=value` or `key: value`. */
typedef struct argbuf {
    char text[512];
    int n;
    int yaml;
} argbuf;

static void arg(argbuf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void arg(argbuf *b, const char *key, const char *fmt, ...)
{
    size_t len = strlen(b->text);
    len += (size_t)snprintf(b->text + len, sizeof b->text - len, "%s%s%s", b->n ? ", " : "", key,
                            b->yaml ? ": " : "=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->text + len, sizeof b->text - len, fmt, ap);
    va_end(ap);
    b->n++;
}

/* kernel=3 or 3x5; YAML: 3 or [3, 5]. */
static void size_arg(argbuf *b, const char *key, int h, int w, unsigned style)
{
    if (h == w && !(style & ST_SQUARE_AS_HXW))
        arg(b, key, "%d", h);
    else if (b->yaml)
        arg(b, key, "[%d, %d]", h, w);
    else
        arg(b, key, "%dx%d", h, w);
}

/* from= and with=, naming the layers they read. */
static void ref_args(argbuf *b, const dt_model *m, int i)
{
    const dt_layer *l = &m->layers[i];
    char name[DT_NAME_LEN + 16];
    if (has_with(l)) {
        if (l->with >= 0)
            dt_layer_name(m, l->with, name, sizeof name);
        else
            snprintf(name, sizeof name, "input");
        arg(b, "with", "%s", name);
    }
    if (l->from != DT_PREVIOUS) {
        if (l->from >= 0)
            dt_layer_name(m, l->from, name, sizeof name);
        else
            snprintf(name, sizeof name, "input");
        arg(b, "from", "%s", name);
    }
}

static void layer_args(argbuf *b, const dt_model *m, int i)
{
    const dt_layer *l = &m->layers[i];
    if (l->style & ST_REFS_FIRST)
        ref_args(b, m, i);
    switch (l->kind) {
    case DT_CONV2D:
        arg(b, "filters", "%d", l->units);
        size_arg(b, "kernel", l->kh, l->kw, l->style);
        if (l->sh != 1 || l->sw != 1 || (l->style & ST_STRIDE))
            size_arg(b, "stride", l->sh, l->sw, l->style);
        if (l->same || (l->style & ST_PADDING))
            arg(b, "padding", "%s", l->same ? "same" : "valid");
        if (l->act != DT_ACT_NONE || (l->style & ST_ACT))
            arg(b, "activation", "%s", act_names[l->act]);
        if (!l->use_bias || (l->style & ST_BIAS))
            arg(b, "use_bias", "%s", l->use_bias ? "true" : "false");
        break;
    case DT_MAXPOOL2D:
    case DT_AVGPOOL2D:
        if (l->kh != 2 || l->kw != 2 || (l->style & ST_ACT))
            size_arg(b, "pool", l->kh, l->kw, l->style);
        if (l->sh != l->kh || l->sw != l->kw || (l->style & ST_STRIDE))
            size_arg(b, "stride", l->sh, l->sw, l->style);
        if (l->same || (l->style & ST_PADDING))
            arg(b, "padding", "%s", l->same ? "same" : "valid");
        break;
    case DT_DENSE:
        arg(b, "units", "%d", l->units);
        if (l->act != DT_ACT_NONE || (l->style & ST_ACT))
            arg(b, "activation", "%s", act_names[l->act]);
        if (!l->use_bias || (l->style & ST_BIAS))
            arg(b, "use_bias", "%s", l->use_bias ? "true" : "false");
        break;
    case DT_DROPOUT:
        arg(b, "rate", "%.9g", l->rate);
        if (l->has_seed)
            arg(b, "seed", "%lld", l->seed);
        break;
    case DT_BATCHNORM:
        if (l->momentum != BN_MOMENTUM || (l->style & ST_STRIDE))
            arg(b, "momentum", "%.9g", l->momentum);
        if (l->epsilon != BN_EPSILON || (l->style & ST_PADDING))
            arg(b, "epsilon", "%.9g", l->epsilon);
        if (!l->use_bias || (l->style & ST_BIAS))
            arg(b, "center", "%s", l->use_bias ? "true" : "false");
        if (!l->scale || (l->style & ST_ACT))
            arg(b, "scale", "%s", l->scale ? "true" : "false");
        break;
    default:
        break;
    }
    if (!(l->style & ST_REFS_FIRST))
        ref_args(b, m, i);
    if (l->name[0])
        arg(b, "name", "%s", l->name);
}

static void write_optimizer_args(argbuf *b, const dt_model *m)
{
    arg(b, "learning_rate", "%.9g", m->lr);
    if (m->opt == DT_SGD) {
        if (m->momentum != 0)
            arg(b, "momentum", "%.9g", m->momentum);
        if (m->nesterov)
            arg(b, "nesterov", "true");
    } else {
        arg(b, "beta_1", "%.9g", m->beta_1);
        arg(b, "beta_2", "%.9g", m->beta_2);
        arg(b, "epsilon", "%.9g", m->epsilon);
    }
}

static const char *loss_name(int loss)
{
    return loss == DT_MSE ? "mean_squared_error" : "sparse_categorical_crossentropy";
}

void dt_write_cnn(FILE *f, const dt_model *m)
{
    fprintf(f, "# A random model of the differential test (tests/difftest).\nmodel %s {\n", m->name);
    fprintf(f, "    input %dx%dx%d;\n\n", m->in_h, m->in_w, m->in_c);
    for (int i = 0; i < m->nlayers; i++) {
        argbuf b = {{0}, 0, 0};
        layer_args(&b, m, i);
        if (b.n)
            fprintf(f, "    %s(%s);\n", kind_names[m->layers[i].kind], b.text);
        else
            fprintf(f, "    %s;\n", kind_names[m->layers[i].kind]);
    }
    fprintf(f, "}\n\ntrain {\n");
    if (m->mnist)
        fprintf(f, "    dataset mnist;\n");
    else
        fprintf(f, "    dataset idx(\"train-images\", \"train-labels\", \"test-images\", \"test-labels\");\n");
    fprintf(f, "    loss %s;\n", loss_name(m->loss));
    argbuf b = {{0}, 0, 0};
    write_optimizer_args(&b, m);
    fprintf(f, "    optimizer %s(%s);\n", m->opt == DT_SGD ? "sgd" : "adam", b.text);
    fprintf(f, "    batch_size %d;\n}\n", m->batch);
}

void dt_write_yaml(FILE *f, const dt_model *m)
{
    fprintf(f, "# A random model of the differential test (tests/difftest).\nmodel: %s\n", m->name);
    fprintf(f, "input: [%d, %d, %d]\nlayers:\n", m->in_h, m->in_w, m->in_c);
    for (int i = 0; i < m->nlayers; i++) {
        argbuf b = {{0}, 0, 1};
        layer_args(&b, m, i);
        if (b.n)
            fprintf(f, "  - %s: {%s}\n", kind_names[m->layers[i].kind], b.text);
        else
            fprintf(f, "  - %s\n", kind_names[m->layers[i].kind]);
    }
    fprintf(f, "train:\n");
    if (m->mnist)
        fprintf(f, "  dataset: mnist\n");
    else
        fprintf(f, "  dataset: {idx: [\"train-images\", \"train-labels\", \"test-images\", \"test-labels\"]}\n");
    fprintf(f, "  loss: %s\n", loss_name(m->loss));
    argbuf b = {{0}, 0, 1};
    write_optimizer_args(&b, m);
    fprintf(f, "  optimizer: {%s: {%s}}\n", m->opt == DT_SGD ? "sgd" : "adam", b.text);
    fprintf(f, "  batch_size: %d\n", m->batch);
}

void dt_write_desc(FILE *f, const dt_model *m)
{
    fprintf(f, "model %s %d %d %d %d %d %d %.17g %.17g %d %.17g %.17g %.17g %d\n", m->name,
            m->in_h, m->in_w, m->in_c, m->mnist, m->loss, m->opt, m->lr, m->momentum, m->nesterov,
            m->beta_1, m->beta_2, m->epsilon, m->batch);
    for (int i = 0; i < m->nlayers; i++) {
        const dt_layer *l = &m->layers[i];
        fprintf(f, "layer %d %d %d %d %d %d %d %d %d %.17g %d %d %d %.17g %.17g %s\n", l->kind, l->units,
                l->kh, l->kw, l->sh, l->sw, l->same, l->act, l->use_bias, l->rate, dt_source(m, i),
                has_with(l) ? l->with : DT_INPUT, l->scale, l->momentum, l->epsilon,
                l->name[0] ? l->name : "-");
    }
}

int dt_read_desc(FILE *f, dt_model *m)
{
    memset(m, 0, sizeof *m);
    char line[512];
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "model %64s %d %d %d %d %d %d %lg %lg %d %lg %lg %lg %d", m->name, &m->in_h,
               &m->in_w, &m->in_c, &m->mnist, &m->loss, &m->opt, &m->lr, &m->momentum,
               &m->nesterov, &m->beta_1, &m->beta_2, &m->epsilon, &m->batch) != 14) {
        fprintf(stderr, "difftest: error: the description does not start with a model line\n");
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        if (m->nlayers == DT_MAX_LAYERS) {
            fprintf(stderr, "difftest: error: more than %d layers\n", DT_MAX_LAYERS);
            return -1;
        }
        dt_layer *l = &m->layers[m->nlayers++];
        if (sscanf(line, "layer %d %d %d %d %d %d %d %d %d %lg %d %d %d %lg %lg %64s", &l->kind,
                   &l->units, &l->kh, &l->kw, &l->sh, &l->sw, &l->same, &l->act, &l->use_bias,
                   &l->rate, &l->from, &l->with, &l->scale, &l->momentum, &l->epsilon, l->name) != 16 ||
            l->kind < 0 || l->kind >= DT_KIND_COUNT) {
            fprintf(stderr, "difftest: error: bad layer line: %s", line);
            return -1;
        }
        if (strcmp(l->name, "-") == 0)
            l->name[0] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------------------ reading the .cnn form back */

static int read_error(const char *path, const char *what, const char *text)
{
    fprintf(stderr, "%s: error: %s: '%.60s' (the difftest reads only the form it writes)\n", path,
            what, text);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int name_of(const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* "3" is 3x3, "3x5" is 3 by 5. */
static int parse_size(const char *v, int *h, int *w)
{
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || a <= 0)
        return -1;
    if (*end == '\0') {
        *h = *w = (int)a;
        return 0;
    }
    if (*end != 'x')
        return -1;
    const char *s = end + 1;
    long b = strtol(s, &end, 10);
    if (end == s || *end != '\0' || b <= 0)
        return -1;
    *h = (int)a, *w = (int)b;
    return 0;
}

/* Splits "k=v, k=v" in place; calls back for each pair. */
typedef int (*pair_fn)(void *ctx, const char *key, const char *value);
static int each_pair(char *args, pair_fn fn, void *ctx)
{
    char *save = NULL;
    for (char *p = strtok_r(args, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        if (fn(ctx, trim(p), trim(eq + 1)) < 0)
            return -1;
    }
    return 0;
}

/* A layer being read, in its model (for the names from= and with= give). */
typedef struct layer_ctx {
    dt_model *m;
    int i;
} layer_ctx;

/* The index of the earlier layer called `name`, DT_INPUT for input, or -3 when none is. */
static int earlier_layer(const dt_model *m, int i, const char *name)
{
    if (strcmp(name, "input") == 0)
        return DT_INPUT;
    for (int j = i - 1; j >= 0; j--) {
        char buf[DT_NAME_LEN + 16];
        dt_layer_name(m, j, buf, sizeof buf);
        if (strcmp(buf, name) == 0)
            return j;
    }
    return -3;
}

static int bool_value(const char *v, int *out)
{
    *out = strcmp(v, "true") == 0;
    return *out || strcmp(v, "false") == 0 ? 0 : -1;
}

static int layer_pair(void *ctx, const char *k, const char *v)
{
    layer_ctx *c = ctx;
    dt_layer *l = &c->m->layers[c->i];
    if (strcmp(k, "from") == 0)
        return (l->from = earlier_layer(c->m, c->i, v)) >= DT_INPUT ? 0 : -1;
    if (strcmp(k, "with") == 0)
        return (l->with = earlier_layer(c->m, c->i, v)) >= DT_INPUT ? 0 : -1;
    if (strcmp(k, "momentum") == 0 || strcmp(k, "epsilon") == 0) {
        *(k[0] == 'm' ? &l->momentum : &l->epsilon) = atof(v);
        return 0;
    }
    if (strcmp(k, "center") == 0)
        return bool_value(v, &l->use_bias);
    if (strcmp(k, "scale") == 0)
        return bool_value(v, &l->scale);
    if (strcmp(k, "filters") == 0 || strcmp(k, "units") == 0)
        return (l->units = atoi(v)) > 0 ? 0 : -1;
    if (strcmp(k, "kernel") == 0 || strcmp(k, "pool") == 0) {
        if (parse_size(v, &l->kh, &l->kw) < 0)
            return -1;
        if (l->kind != DT_CONV2D && !(l->style & ST_STRIDE))
            l->sh = l->kh, l->sw = l->kw; /* a pool's stride defaults to its window */
        return 0;
    }
    if (strcmp(k, "stride") == 0) {
        l->style |= ST_STRIDE;
        return parse_size(v, &l->sh, &l->sw);
    }
    if (strcmp(k, "padding") == 0)
        return (l->same = strcmp(v, "same") == 0) || strcmp(v, "valid") == 0 ? 0 : -1;
    if (strcmp(k, "activation") == 0)
        return (l->act = name_of(v, act_names, 5)) >= 0 ? 0 : -1;
    if (strcmp(k, "use_bias") == 0)
        return (l->use_bias = strcmp(v, "true") == 0) || strcmp(v, "false") == 0 ? 0 : -1;
    if (strcmp(k, "rate") == 0) {
        l->rate = atof(v);
        return 0;
    }
    if (strcmp(k, "seed") == 0) {
        l->has_seed = 1;
        l->seed = atoll(v);
        return 0;
    }
    if (strcmp(k, "name") == 0 && strlen(v) < DT_NAME_LEN) {
        strcpy(l->name, v);
        return 0;
    }
    return -1;
}

static int optimizer_pair(void *ctx, const char *k, const char *v)
{
    dt_model *m = ctx;
    double x = atof(v);
    if (strcmp(k, "learning_rate") == 0)
        m->lr = x;
    else if (strcmp(k, "momentum") == 0)
        m->momentum = x;
    else if (strcmp(k, "nesterov") == 0)
        m->nesterov = strcmp(v, "true") == 0;
    else if (strcmp(k, "beta_1") == 0)
        m->beta_1 = x;
    else if (strcmp(k, "beta_2") == 0)
        m->beta_2 = x;
    else if (strcmp(k, "epsilon") == 0)
        m->epsilon = x;
    else
        return -1;
    return 0;
}

/* `kind;` or `kind(args);` inside the model block. */
static int model_statement(const char *path, char *s, dt_model *m)
{
    if (strncmp(s, "input", 5) == 0 && isspace((unsigned char)s[5])) {
        if (sscanf(s + 5, " %dx%dx%d", &m->in_h, &m->in_w, &m->in_c) != 3)
            return read_error(path, "bad input", s);
        return 0;
    }
    if (m->nlayers == DT_MAX_LAYERS)
        return read_error(path, "too many layers", s);
    dt_layer *l = &m->layers[m->nlayers];
    char *open = strchr(s, '(');
    if (open)
        *open = '\0';
    int kind = name_of(trim(s), kind_names, DT_KIND_COUNT);
    if (kind < 0)
        return read_error(path, "unknown layer", s);
    dt_layer_init(l, kind);
    if (open) {
        char *close = strrchr(open + 1, ')');
        if (!close)
            return read_error(path, "no closing parenthesis", open + 1);
        *close = '\0';
        layer_ctx ctx = {m, m->nlayers};
        if (each_pair(open + 1, layer_pair, &ctx) < 0)
            return read_error(path, "bad arguments", s);
    }
    m->nlayers++;
    return 0;
}

static int train_statement(const char *path, char *s, dt_model *m)
{
    if (strncmp(s, "dataset", 7) == 0) {
        m->mnist = strcmp(trim(s + 7), "mnist") == 0;
    } else if (strncmp(s, "loss", 4) == 0) {
        m->loss = strcmp(trim(s + 4), "mean_squared_error") == 0 ? DT_MSE : DT_XENT;
    } else if (strncmp(s, "batch_size", 10) == 0) {
        m->batch = atoi(s + 10);
    } else if (strncmp(s, "optimizer", 9) == 0) {
        char *v = trim(s + 9), *open = strchr(v, '(');
        if (open)
            *open = '\0';
        m->opt = strcmp(trim(v), "sgd") == 0 ? DT_SGD : DT_ADAM;
        m->lr = m->opt == DT_SGD ? 0.01 : 0.001;
        if (open) {
            char *close = strrchr(open + 1, ')');
            if (!close || (*close = '\0', each_pair(open + 1, optimizer_pair, m) < 0))
                return read_error(path, "bad optimizer", s);
        }
    }
    return 0;
}

int dt_read_cnn(const char *path, dt_model *m)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    memset(m, 0, sizeof *m);
    m->batch = 32;
    m->opt = DT_ADAM;
    m->lr = 0.001, m->beta_1 = 0.9, m->beta_2 = 0.999, m->epsilon = 1e-7;
    /* The statements between ';', '{' and '}', comments dropped. */
    char stmt[1024];
    size_t n = 0;
    int ch, context = 0; /* 0 outside, 1 model, 2 train */
    int rc = 0;
    while (rc == 0 && (ch = fgetc(f)) != EOF) {
        if (ch == '#') {
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (ch != ';' && ch != '{' && ch != '}') {
            if (n + 1 < sizeof stmt)
                stmt[n++] = (char)ch;
            continue;
        }
        stmt[n] = '\0';
        n = 0;
        char *s = trim(stmt);
        if (ch == '{') {
            if (strncmp(s, "model", 5) == 0 && sscanf(s + 5, " %64s", m->name) == 1)
                context = 1;
            else if (strcmp(s, "train") == 0)
                context = 2;
            else
                rc = read_error(path, "unknown block", s);
        } else if (ch == '}') {
            context = 0;
        } else if (context == 1) {
            rc = model_statement(path, s, m);
        } else if (context == 2) {
            rc = train_statement(path, s, m);
        } else {
            rc = read_error(path, "statement outside a block", s);
        }
    }
    fclose(f);
    if (rc == 0 && (!m->name[0] || m->nlayers == 0))
        rc = read_error(path, "no model", "");
    return rc;
}
