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

static const char *dataset_name(DatasetKind d)
{
    switch (d) {
    case DATASET_MNIST: return "mnist";
    case DATASET_FASHION_MNIST: return "fashion_mnist";
    case DATASET_IDX: return "idx";
    }
    unreachable();
}

static const char *init_name(InitKind k)
{
    switch (k) {
    case INIT_GLOROT_UNIFORM: return "glorot_uniform";
    case INIT_HE_NORMAL: return "he_normal";
    case INIT_HE_UNIFORM: return "he_uniform";
    }
    unreachable();
}

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

static void put_layer(FILE *f, const Layer *l)
{
    const LayerOps *ops = layer_ops(l->kind);
    LayerAttr attrs[MAX_LAYER_ATTRS];
    int n = ops->attrs ? ops->attrs(l, attrs) : 0;
    fprintf(f, "%s = %s(", l->name, ops->name);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            fputs(", ", f);
        put_attr(f, &attrs[i]);
    }
    fputs(") -> ", f);
    put_shape(f, l->out);
    fprintf(f, ", %lld params\n", l->params);
}

static void put_train(FILE *f, const TrainConfig *t)
{
    fprintf(f, "dataset %s", dataset_name(t->dataset));
    if (t->dataset == DATASET_IDX) {
        fputc('(', f);
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                fputs(", ", f);
            put_c_string(f, t->idx_paths[i] != NULL ? t->idx_paths[i] : "");
        }
        fputc(')', f);
    }
    fprintf(f, "\nloss %s\n", t->loss == LOSS_MSE ? "mean_squared_error" : "sparse_categorical_crossentropy");
    if (t->optimizer == OPT_ADAM) {
        fputs("optimizer adam(learning_rate=", f);
        put_double(f, t->learning_rate);
        fputs(", beta_1=", f);
        put_double(f, t->beta_1);
        fputs(", beta_2=", f);
        put_double(f, t->beta_2);
        fputs(", epsilon=", f);
        put_double(f, t->epsilon);
    } else {
        fputs("optimizer sgd(learning_rate=", f);
        put_double(f, t->learning_rate);
        fputs(", momentum=", f);
        put_double(f, t->momentum);
        fprintf(f, ", nesterov=%s", t->nesterov ? "true" : "false");
    }
    fprintf(f, ")\nepochs %d\nbatch_size %d\nvalidation ", t->epochs, t->batch_size);
    if (t->validation == VALID_SPLIT) {
        fputs("split(", f);
        put_double(f, t->split);
        fputs(")", f);
    } else {
        fputs(t->validation == VALID_TEST ? "test" : "none", f);
    }
    fprintf(f, "\nseed %lld\nshuffle %s\ninit %s\n", t->seed, t->shuffle ? "true" : "false", init_name(t->init));
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
        put_layer(f, &m->layers[i]);
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
