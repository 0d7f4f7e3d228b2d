/*
 * onnx/import.c - `cnnc import`: an ONNX file in, DIR/NAME.cnn and DIR/NAME.safetensors out.
 *
 * The graph's nodes run through their handlers (import_ops.c) in topological order; the
 * layers they make are written as a model file, which is then parsed and checked like any
 * other, so an import can never write a model that cnnc would refuse. The weights follow in
 * checkpoint order. Only when everything has succeeded is anything written, and then both
 * files or neither.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "onnx/onnx.h"
#include "rt_io.h"

/* ------------------------------------------------------------------ the model's name */

static bool valid_model_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    /* Names the runtime's identifiers or C would clash with (check/ refuses them too). */
    return strncmp(s, "__", 2) != 0 && strcmp(s, "cnn") != 0 && strncmp(s, "cnn_", 4) != 0 && !is_c_keyword(s);
}

/* The file's base name without .onnx, with every other character than [A-Za-z0-9_] as '_'. */
static char *name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".onnx") == 0)
        len -= 5;
    if (len > 64)
        len = 64;
    char *s = xstrndup(base, len);
    for (char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    return s;
}

/* ------------------------------------------------------------------ the model file */

/* The shortest decimal that reads back as the same float: a dropout ratio of 0.2f is
 * written 0.2, as the model it came from said (and an epsilon of 0.001f 0.001). */
static void shortest_float(char *buf, size_t size, double v)
{
    float want = (float)v;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)want);
        if ((float)strtod(buf, NULL) == want)
            break;
    }
}

/* Node names come from the file: the comment keeps printable ASCII only, and not too much. */
static void put_comment_text(FILE *f, const char *s)
{
    size_t n = 0;
    for (; *s != '\0' && n < 400; s++, n++)
        fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
    if (*s != '\0')
        fputs("...", f);
}

/* The name another layer reads layer i by: its name, or "input" for the model's input. */
static const char *source_name(const Importer *im, int i)
{
    return i < 0 ? "input" : im->layers[i].name;
}

static void put_layer(FILE *f, const Importer *im, int index)
{
    const ImLayer *L = &im->layers[index];
    fprintf(f, "    %s", layer_kind_name(L->kind));
    char args[10][96];
    int na = 0;
    switch (L->kind) {
    case LAYER_CONV2D:
        snprintf(args[na++], sizeof args[0], "filters=%d", L->filters_or_units);
        snprintf(args[na++], sizeof args[0], L->kh == L->kw ? "kernel=%d" : "kernel=%dx%d", L->kh, L->kw);
        if (L->sh != 1 || L->sw != 1)
            snprintf(args[na++], sizeof args[0], L->sh == L->sw ? "stride=%d" : "stride=%dx%d", L->sh, L->sw);
        break;
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D:
        snprintf(args[na++], sizeof args[0], L->kh == L->kw ? "pool=%d" : "pool=%dx%d", L->kh, L->kw);
        if (L->sh != L->kh || L->sw != L->kw) /* Keras: the stride defaults to the pool */
            snprintf(args[na++], sizeof args[0], L->sh == L->sw ? "stride=%d" : "stride=%dx%d", L->sh, L->sw);
        break;
    case LAYER_DENSE:
        snprintf(args[na++], sizeof args[0], "units=%d", L->filters_or_units);
        break;
    case LAYER_BATCHNORM: {
        /* Both written: the file's epsilon is seldom Keras' default (ONNX's is 1e-5). */
        char num[40];
        shortest_float(num, sizeof num, L->momentum);
        snprintf(args[na++], sizeof args[0], "momentum=%s", num);
        shortest_float(num, sizeof num, L->epsilon);
        snprintf(args[na++], sizeof args[0], "epsilon=%s", num);
        if (L->beta == NULL)
            snprintf(args[na++], sizeof args[0], "center=false");
        if (L->gamma == NULL)
            snprintf(args[na++], sizeof args[0], "scale=false");
        break;
    }
    default:
        break;
    }
    if ((L->kind == LAYER_CONV2D || L->kind == LAYER_MAXPOOL2D || L->kind == LAYER_AVGPOOL2D) &&
        L->padding == PAD_SAME)
        snprintf(args[na++], sizeof args[0], "padding=same");
    if ((L->kind == LAYER_CONV2D || L->kind == LAYER_DENSE) && L->act != ACT_NONE)
        snprintf(args[na++], sizeof args[0], "activation=%s", activation_name(L->act));
    if ((L->kind == LAYER_CONV2D || L->kind == LAYER_DENSE) && !L->use_bias)
        snprintf(args[na++], sizeof args[0], "use_bias=false");
    if (L->kind == LAYER_DROPOUT && L->has_seed)
        snprintf(args[na++], sizeof args[0], "seed=%lld", L->seed);
    if (L->nsrc > 1)
        snprintf(args[na++], sizeof args[0], "with=%s", source_name(im, L->src[1]));
    if (L->src[0] != index - 1)
        snprintf(args[na++], sizeof args[0], "from=%s", source_name(im, L->src[0]));
    if (L->name != NULL)
        snprintf(args[na++], sizeof args[0], "name=%s", L->name);
    if (na > 0 || L->kind == LAYER_DROPOUT) {
        fputc('(', f);
        if (L->kind == LAYER_DROPOUT) {
            fputs("rate=", f);
            char num[40];
            shortest_float(num, sizeof num, L->rate);
            fputs(num, f);
            if (na > 0)
                fputs(", ", f);
        }
        for (int i = 0; i < na; i++)
            fprintf(f, "%s%s", i > 0 ? ", " : "", args[i]);
        fputc(')', f);
    }
    fputs(";  # ", f);
    put_comment_text(f, L->onnx_nodes);
    fputc('\n', f);
}

/* A file cnnc exported carries its model's train block; NULL when there is none to use. */
static const char *exported_train_block(const Importer *im)
{
    if (!im->from_cnnc)
        return NULL;
    for (size_t i = 0; i < im->model->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = im->model->metadata_props[i];
        if (e->key != NULL && strcmp(e->key, "cnnc.train") == 0 && e->value != NULL)
            return train_text_is_plain(e->value) ? e->value : NULL;
    }
    return NULL;
}

/* `want`, or `want`_2, _3, ... where a layer already has that name (malloc'ed). */
static char *unused_name(const Importer *im, const char *want)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%s", want);
    for (int k = 2;; k++) {
        bool taken = false;
        for (int i = 0; !taken && i < im->nlayers; i++)
            taken = im->layers[i].name != NULL && strcmp(im->layers[i].name, buf) == 0;
        if (!taken)
            return xstrdup(buf);
        snprintf(buf, sizeof buf, "%s_%d", want, k);
    }
}

static char *model_text(Importer *im, const char *name, Shape input)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    const Onnx__ModelProto *m = im->model;
    fputs("# Imported by cnnc " CNNC_VERSION " from ", f);
    put_comment_text(f, im->path);
    fputs(" (producer ", f);
    put_comment_text(f, m->producer_name != NULL && m->producer_name[0] != '\0' ? m->producer_name : "unknown");
    if (m->producer_version != NULL && m->producer_version[0] != '\0') {
        fputc(' ', f);
        put_comment_text(f, m->producer_version);
    }
    fprintf(f, ", opset %d).\n# Each layer's comment names the ONNX nodes it came from.\n", im->opset);
    fprintf(f, "model %s {\n    input %dx%dx%d;\n\n", name, input.h, input.w, input.c);
    /* A kept name that is the default one anyway (cnnc's `<kind>_<n>`) is not written, unless
     * another layer names it (from=, with=): a layer so named always has name= written. */
    int ordinal[LAYER_KIND_COUNT] = {0};
    for (int i = 0; i < im->nlayers; i++)
        for (int k = 0; k < im->layers[i].nsrc; k++) {
            int s = im->layers[i].src[k];
            if (s >= 0 && (k == 1 || s != i - 1))
                im->layers[s].referenced = true;
        }
    for (int i = 0; i < im->nlayers; i++) {
        ImLayer *L = &im->layers[i];
        char def[80];
        snprintf(def, sizeof def, "%s_%d", layer_kind_name(L->kind), ++ordinal[L->kind]);
        if (L->name != NULL && strcmp(L->name, def) == 0 && !L->referenced) {
            free(L->name);
            L->name = NULL;
        }
        if (L->name == NULL && L->referenced)
            L->name = unused_name(im, def);
    }
    for (int i = 0; i < im->nlayers; i++)
        put_layer(f, im, i);
    const char *train = exported_train_block(im);
    if (train != NULL) {
        fprintf(f, "}\n\n# The train block of the model cnnc exported (the file's metadata 'cnnc.train').\n"
                   "train {\n%s}\n", train);
        goto done;
    }
    fputs("}\n\n"
          "# The ONNX file has no training settings: these are the defaults. Change the dataset\n"
          "# (and the rest) to fit the data the model is to be trained on.\n"
          "train {\n"
          "    dataset mnist;\n"
          "    loss sparse_categorical_crossentropy;\n"
          "    optimizer adam(learning_rate=0.001);\n"
          "    epochs 5;\n"
          "    batch_size 32;\n"
          "    validation test;\n"
          "    seed 42;\n"
          "}\n",
          f);
done:
    if (fclose(f) != 0) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    return text;
}

/* ------------------------------------------------------------------ the weights */

/* Appends `count` floats of `v` (none when v is NULL) at *at, within `total`. */
static void put_floats(float *p, long long *at, long long total, const float *v, long long count)
{
    if (v == NULL || count <= 0)
        return;
    if (*at + count > total)
        unreachable(); /* the checked model counts the same tensors */
    memcpy(p + *at, v, (size_t)count * sizeof *p);
    *at += count;
}

/* Checkpoint order (layers/table.c, model_tensors): every layer's trainable tensors (kernel,
 * bias; gamma, beta), then every layer's state (moving_mean, moving_variance). */
static float *gather_params(const Importer *im, long long total)
{
    float *p = xmalloc((size_t)(total > 0 ? total : 1) * sizeof *p);
    long long at = 0;
    for (int i = 0; i < im->nlayers; i++) {
        const ImLayer *L = &im->layers[i];
        put_floats(p, &at, total, L->kernel, L->kernel_count);
        put_floats(p, &at, total, L->bias, L->bias_count);
        put_floats(p, &at, total, L->gamma, L->channels);
        put_floats(p, &at, total, L->beta, L->channels);
    }
    for (int i = 0; i < im->nlayers; i++) {
        const ImLayer *L = &im->layers[i];
        put_floats(p, &at, total, L->moving_mean, L->channels);
        put_floats(p, &at, total, L->moving_variance, L->channels);
    }
    if (at != total)
        unreachable();
    return p;
}

/* ------------------------------------------------------------------ reading */

static bool finish_graph(Importer *im)
{
    const Onnx__GraphProto *g = im->g;
    if (im->nlayers == 0) {
        error_plain("%s: the graph has no layers cnnc can build", im->path);
        return false;
    }
    if (g->n_output != 1 || g->output[0]->name == NULL) {
        error_plain("%s: the graph has %zu outputs; a cnnc model has one, the classes' scores", im->path,
                    g->n_output);
        return false;
    }
    const char *out = g->output[0]->name;
    ImValue *v = find_value(im, out);
    if (v == NULL || v->layer != im->nlayers - 1) {
        error_plain("%s: the graph's output '%.200s' is not the output of the last layer cnnc builds%s", im->path,
                    out, find_const(im, out) != NULL ? " (it is a constant)" : "");
        return false;
    }
    if (v->uses > 0) {
        error_plain("%s: the graph's output '%.200s' is also read by a node; cnnc's output ends the network",
                    im->path, out);
        return false;
    }
    if (v->layout != LAYOUT_FLAT) {
        error_plain("%s: the graph's output '%.200s' is an image; cnnc's models end with [N, classes]", im->path, out);
        return false;
    }
    return true;
}

ImportResult *onnx_import_read(const char *path, const char *name)
{
    Importer im = {.path = path};
    char *model_name = name != NULL ? xstrdup(name) : name_from_path(path);
    if (!valid_model_name(model_name)) {
        if (name != NULL)
            error_plain("'%s' cannot be a model's name: it must be an identifier of at most 64 characters, not a C "
                        "keyword, not 'cnn' or 'cnn_*'", model_name);
        else
            error_plain("%s: the file's name gives the model name '%s', which cannot be one; give a name with "
                        "--name NAME", path, model_name);
        free(model_name);
        return NULL;
    }
    im.model = onnx_read_model(path);
    int *order = NULL;
    bool ok = im.model != NULL;
    if (ok) {
        im.from_cnnc = im.model->producer_name != NULL && strcmp(im.model->producer_name, "cnnc") == 0;
        ok = import_graph_prepare(&im, &order);
    }
    /* Every node is tried, so that one run names every operation cnnc cannot express; after
     * the first failure the chain is broken, so later nodes report only their own faults. */
    for (size_t i = 0; ok && i < im.g->n_node; i++)
        if (!import_node(&im, im.g->node[order[i]]))
            ok = false;
    free(order);
    ok = ok && finish_graph(&im);

    ImportResult *r = NULL;
    if (ok) {
        char *text = model_text(&im, model_name, im.values[0].shape);
        /* The model file is checked as it will be read: errors point into it, at the path
         * it would have had. */
        char *shown = xmalloc(strlen(model_name) + 16);
        sprintf(shown, "%s.cnn", model_name);
        diag_reset();
        Ast *ast = parse_cnn_text(shown, text, strlen(text));
        Model *m = ast != NULL && diag_error_count() == 0 ? check_model(ast) : NULL;
        if (m == NULL) {
            error_plain("%s: the imported model is not one cnnc can build (above); nothing was written", path);
            free(text);
            model_free(m);
        } else {
            r = xcalloc(1, sizeof *r);
            r->name = model_name;
            model_name = NULL;
            r->cnn_text = text;
            r->model = m;
            r->ast = ast;
            ast = NULL;
            r->shown_name = shown;
            shown = NULL;
            r->params = gather_params(&im, m->total_params + m->total_state);
        }
        ast_free(ast);
        free(shown);
    }
    free(model_name);
    importer_free(&im);
    return r;
}

void import_result_free(ImportResult *r)
{
    if (r == NULL)
        return;
    model_free(r->model);
    ast_free(r->ast);
    free(r->name);
    free(r->cnn_text);
    free(r->shown_name);
    free(r->params);
    free(r);
}

/* ------------------------------------------------------------------ writing */

static char *join_path(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

int onnx_import_write(const ImportResult *r, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0 ? mkdir(dir, 0777) != 0 : !S_ISDIR(st.st_mode)) {
        error_plain("cannot use '%s' as the output directory: %s", dir,
                    errno != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    char *cnn_path = join_path(dir, r->name, ".cnn");
    char *ckpt_path = join_path(dir, r->name, ".safetensors");
    char *tmp_path = join_path(dir, r->name, ".cnn.import-tmp");
    int ntensors, trainable;
    cnn_tensor *t = model_tensor_table(r->model, &ntensors, &trainable);
    cnn_model cm = model_tensor_model(r->model, t, ntensors, trainable);
    /* The model file goes to a temporary name first and is renamed only once the checkpoint
     * is complete: an error leaves neither file. */
    int rc = rt_write_atomic(tmp_path, r->cnn_text, strlen(r->cnn_text));
    if (rc == 0) {
        rc = cnn_checkpoint_save(ckpt_path, &cm, r->params, NULL, NULL, 0);
        if (rc == 0 && rename(tmp_path, cnn_path) != 0) {
            error_plain("cannot rename '%s' to '%s': %s", tmp_path, cnn_path, strerror(errno));
            remove(ckpt_path);
            rc = -1;
        }
        if (rc != 0)
            remove(tmp_path);
    }
    model_tensor_table_free(t, ntensors);
    free(cnn_path);
    free(ckpt_path);
    free(tmp_path);
    return rc;
}
