/*
 * emit/canonical.c - the canonical text of a model and the banner of the generated files.
 *
 * The canonical text lists everything the generated code depends on, one fact per line, with
 * every attribute resolved and nothing about how the model file spelled it; the banner prints
 * it with its FNV-1a hash. So a .cnn file and its YAML twin get the same banner, and any
 * change that matters to the code changes the hash.
 */
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"

/* A string as a C literal. Besides quotes and backslashes, '?' (trigraphs) and '*' (which could
 * close the banner's comment before a '/') are written in octal, as is anything unprintable. */
void put_c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f || c == '?' || c == '*')
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_shape(FILE *f, Shape s)
{
    if (s.rank == 1)
        fprintf(f, "%d", s.c);
    else
        fprintf(f, "%dx%dx%d", s.h, s.w, s.c);
}

static void put_double(FILE *f, double x)
{
    char buf[48];
    w_double_literal(buf, sizeof buf, x);
    fputs(buf, f);
}

static void put_attr(FILE *f, const LayerAttr *a)
{
    fprintf(f, "%s=", a->name);
    switch (a->type) {
    case ATTR_INT: fprintf(f, "%lld", a->i); break;
    case ATTR_SIZE2: fprintf(f, "%dx%d", a->h, a->w); break;
    case ATTR_PADDING:
        fputs(padding_name((Padding)a->i), f);
        if (a->i == PAD_SAME)
            fprintf(f, " (top %d, bottom %d, left %d, right %d)", a->pads[0], a->pads[1], a->pads[2], a->pads[3]);
        break;
    case ATTR_ACTIVATION: fputs(activation_name((Activation)a->i), f); break;
    case ATTR_BOOL: fputs(a->i ? "true" : "false", f); break;
    case ATTR_REAL: put_double(f, a->r); break;
    }
}

/* The name of what input k of layer i reads. */
static const char *input_name(const Model *m, int i, int k)
{
    int from = m->layers[i].inputs[k];
    return from < 0 ? "input" : m->layers[from].name;
}

/* The wiring is part of the model: from= where a layer does not read the one before it, with=
 * for the second input. A chain prints neither, as before graphs existed. */
static void put_layer(FILE *f, const Model *m, int index)
{
    const Layer *l = &m->layers[index];
    const LayerOps *ops = layer_ops(l->kind);
    LayerAttr attrs[MAX_LAYER_ATTRS];
    int n = ops->attrs ? ops->attrs(l, attrs) : 0;
    fprintf(f, "%s = %s(", l->name, ops->name);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            fputs(", ", f);
        put_attr(f, &attrs[i]);
    }
    if (l->inputs[0] != index - 1)
        fprintf(f, "%sfrom=%s", n > 0 ? ", " : "", input_name(m, index, 0));
    if (l->ninputs > 1)
        fprintf(f, "%swith=%s", n > 0 || l->inputs[0] != index - 1 ? ", " : "", input_name(m, index, 1));
    fputs(") -> ", f);
    put_shape(f, l->out);
    fprintf(f, ", %lld params\n", l->params);
}

static void put_train(FILE *f, const TrainConfig *t)
{
    fprintf(f, "dataset %s", dataset_names[t->dataset]);
    if (t->dataset == DATASET_IDX) {
        fputc('(', f);
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                fputs(", ", f);
            put_c_string(f, t->idx_paths[i] != NULL ? t->idx_paths[i] : "");
        }
        fputc(')', f);
    }
    fprintf(f, "\nloss %s\n", loss_names[t->loss]);
    fputs("optimizer ", f);
    put_optimizer_call(f, t, put_double);
    fprintf(f, "\nepochs %d\nbatch_size %d\nvalidation ", t->epochs, t->batch_size);
    if (t->validation == VALID_SPLIT) {
        fputs("split(", f);
        put_double(f, t->split);
        fputs(")", f);
    } else {
        fputs(t->validation == VALID_TEST ? "test" : "none", f);
    }
    fprintf(f, "\nseed %lld\nshuffle %s\ninit %s\n", t->seed, t->shuffle ? "true" : "false", init_names[t->init]);
    put_train_extras(f, t, put_double, "", "");
}

/* Everything the generated code depends on, one fact per line, and nothing about how the
 * model file spelled it. Returns a malloc'ed string. */
char *canonical_text(const Model *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    fprintf(f, "model %s\ninput ", m->name);
    put_shape(f, m->input);
    fputc('\n', f);
    for (int i = 0; i < m->nlayers; i++)
        put_layer(f, m, i);
    put_train(f, &m->train);
    if (fclose(f) != 0) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    return text;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void write_banner(Writer *w, const Model *m, const char *file, const char *canon)
{
    w_line(w, "/*");
    w_line(w, " * %s - generated by cnnc %s from the model below. Do not edit: change the model", file,
           CNNC_VERSION);
    w_line(w, " * file and run `cnnc emit` again.");
    w_line(w, " *");
    w_line(w, " * Target %s: %s.", w->target->name, w->target->summary);
    w_line(w, " *");
    w_line(w, " * Model %s, hash fnv1a64:%016llx of this canonical text:", m->name,
           (unsigned long long)fnv1a64(canon));
    w_line(w, " *");
    for (const char *p = canon; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        int n = nl != NULL ? (int)(nl - p) : (int)strlen(p);
        w_line(w, " *   %.*s", n, p);
        p += n + (nl != NULL);
    }
    w_line(w, " */");
}
