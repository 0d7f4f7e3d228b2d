/*
 * check/check.c - the checker: an AST from either front end -> a resolved, checked Model.
 *
 * The passes, in order: the model's name, the input, each layer (arguments, then shape),
 * the names taken together, the train block (before the model when the file has it first,
 * so that errors come out in the file's order), the classifier's output against the
 * dataset, and the memory plan. Every error is reported
 * where it was written, and checking goes on after it wherever the rest does not depend on
 * it: a layer whose shape is unknown leaves later shapes unknown rather than inventing
 * errors about them.
 *
 * After syntax errors (diag_error_count() > 0 on entry) the AST may lack layers the user
 * wrote, so only the checks local to one layer or setting run. The driver resets the error
 * count before each file.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layers/layer.h"

/* A model name prefixes every identifier of the generated C. */
#define MAX_MODEL_NAME_LEN 64

/* MNIST and Fashion-MNIST: 28x28 grey images of 10 classes. */
#define MNIST_SIDE 28
#define MNIST_CLASSES 10
/* Labels of an IDX file are bytes. */
#define MAX_IDX_CLASSES 256

/* What the checker knows about a layer beyond the IR: where things were written. */
typedef struct LayerSite {
    Loc act_loc, name_loc;
} LayerSite;

static void check_model_name(const Ast *ast, Model *m)
{
    const char *name = ast->model_name ? ast->model_name : "";
    Loc loc = ast->model_loc;
    m->name = xstrdup(name);
    if (!is_identifier(name))
        error_at(loc, "model name '%.*s' is not a valid identifier ([A-Za-z_][A-Za-z0-9_]*)",
                 MAX_MODEL_NAME_LEN, name);
    else if (strlen(name) > MAX_MODEL_NAME_LEN)
        error_at(loc, "model name '%.*s...' is too long (%zu characters; at most %d)",
                 MAX_MODEL_NAME_LEN, name, strlen(name), MAX_MODEL_NAME_LEN);
    else if (is_c_keyword(name))
        error_at(loc, "model name '%s' is a C keyword; the generated code uses the name as a "
                 "prefix of its identifiers", name);
    else if (strncmp(name, "__", 2) == 0)
        error_at(loc, "model name '%s' starts with '__', which C reserves for the "
                 "implementation", name);
    else if (strcmp(name, "cnn") == 0 || strncmp(name, "cnn_", 4) == 0)
        /* The runtime's own identifiers start with cnn_: model 'cnn' would define cnn_model,
         * the runtime's type. */
        error_at(loc, "model name '%s' clashes with the runtime's 'cnn_' identifiers; choose "
                 "another name", name);
}

/* input HxWxC; returns whether m->input can be used for shapes. */
static bool check_input(const Ast *ast, Model *m, bool complete, int batch)
{
    const Value *v = &ast->input;
    if (!ast->has_input) {
        if (complete)
            error_at(ast->model_loc, "model '%s' has no input; begin it with a line like "
                     "'input 28x28x1;'", m->name);
        return false;
    }
    if (v->kind != VAL_SHAPE || v->ndims != 3) {
        /* After a syntax error the value may be what the parser made of a malformed token,
         * already reported. */
        if (!complete && v->kind != VAL_SHAPE)
            return false;
        if (v->kind == VAL_SHAPE && v->ndims == 2)
            error_at(v->loc, "the input must be HxWxC, like 28x28x1, not %lldx%lld; add the "
                     "channels", v->dims[0], v->dims[1]);
        else
            error_at(v->loc, "the input must be a 3-D shape HxWxC, like 28x28x1");
        return false;
    }
    for (int i = 0; i < 3; i++) {
        if (v->dims[i] <= 0) {
            error_at(v->loc, "the input's sizes must be positive, not %lldx%lldx%lld",
                     v->dims[0], v->dims[1], v->dims[2]);
            return false;
        }
        if (v->dims[i] > INT_MAX) {
            error_at(v->loc, "the input %lldx%lldx%lld is too large (at most %d in each "
                     "direction)", v->dims[0], v->dims[1], v->dims[2], INT_MAX);
            return false;
        }
    }
    m->input = (Shape){.rank = 3, .h = (int)v->dims[0], .w = (int)v->dims[1],
                       .c = (int)v->dims[2]};
    char what[96];
    format_shape(what, sizeof what, m->input);
    return check_buffer_size(v->loc, "the input", what, shape_size(m->input), 1) &&
           check_buffer_size(v->loc, "the input", what, shape_size(m->input), batch);
}

/* A layer's output and the state it keeps for backward, at the batch size when known. */
static bool check_layer_buffers(const Layer *L, int batch)
{
    char owner[160], what[128];
    snprintf(owner, sizeof owner, "%s '%s'", layer_kind_name(L->kind), L->name);
    char shape[96];
    format_shape(shape, sizeof shape, L->out);
    snprintf(what, sizeof what, "output %s", shape);
    if (!check_buffer_size(L->loc, owner, what, shape_size(L->out), 1) ||
        !check_buffer_size(L->loc, owner, what, shape_size(L->out), batch))
        return false;
    return check_buffer_size(L->loc, owner, "state kept for backward", L->aux_size, batch);
}

/* Softmax normalises the network's output; anywhere else it would be a bug in the model. */
static void check_softmax_position(const Layer *L, const LayerSite *site, bool is_last)
{
    if (is_last)
        return;
    if (L->act != ACT_SOFTMAX)
        return;
    if (layer_ops(L->kind)->is_activation)
        error_at(L->loc, "%s '%s' is not the last layer; softmax may only end the network",
                 layer_kind_name(L->kind), L->name);
    else
        error_at(site->act_loc, "%s '%s' is not the last layer, so it cannot use softmax; "
                 "softmax may only end the network", layer_kind_name(L->kind), L->name);
}

/* Resolves each layer and infers its shape; returns whether every shape is known, and
 * sets *last_known when at least the network's output shape is. */
static bool check_layers(const Ast *ast, Model *m, LayerSite *sites, bool input_ok,
                         bool complete, int batch, bool *last_known)
{
    int ordinal[LAYER_KIND_COUNT] = {0};
    Shape cur = m->input;
    bool known = input_ok, all_known = input_ok;
    for (int i = 0; i < ast->nlayers; i++) {
        const AstLayer *al = &ast->layers[i];
        LayerKind kind;
        if (!al->kind || !layer_kind_from_name(al->kind, &kind)) {
            if (al->kind && strcmp(al->kind, "input") == 0)
                error_at(al->loc, "a model has one input, given once before its layers");
            else
                error_unknown(al->loc, "layer", al->kind ? al->kind : "", layer_kind_names());
            known = all_known = false;
            continue;
        }
        Layer *L = &m->layers[m->nlayers];
        LayerSite *site = &sites[m->nlayers];
        m->nlayers++;
        bool args_ok = check_layer_args(al, kind, ++ordinal[kind], L, &site->act_loc,
                                        &site->name_loc);
        check_softmax_position(L, site, i == ast->nlayers - 1);
        if (!complete) {
            known = all_known = false;
        } else if (args_ok && known) {
            known = infer_layer_shape(L, cur) && check_layer_buffers(L, batch);
            cur = L->out;
        } else if (args_ok && layer_ops(kind)->shape_without_input &&
                   layer_ops(kind)->shape_without_input(L, &L->out)) {
            /* The output does not depend on the input (dense): later layers can be checked
             * again. */
            cur = L->out;
            known = true;
        } else {
            known = false;
        }
        all_known &= known;
    }
    *last_known = known && m->nlayers > 0;
    return all_known;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211u;
    return h;
}

/* Names must be unique, even ignoring case: the generated code spells them in upper case
 * for its constants (MNIST_CNN_CONV2D_1_OUT_H). A hash set keeps 100,000 layers fast. */
static void check_unique_names(const Model *m, const LayerSite *sites)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)m->nlayers)
        cap *= 2;
    int *slots = xcalloc(cap, sizeof *slots); /* layer index + 1; 0 is empty */
    for (int i = 0; i < m->nlayers; i++) {
        const char *name = m->layers[i].name;
        size_t at = (size_t)hash_name(name) & (cap - 1);
        while (slots[at] && strcasecmp(m->layers[slots[at] - 1].name, name) != 0)
            at = (at + 1) & (cap - 1);
        if (!slots[at]) {
            slots[at] = i + 1;
            continue;
        }
        int first = slots[at] - 1;
        const char *other = m->layers[first].name;
        if (strcmp(other, name) == 0)
            error_at(sites[i].name_loc, "duplicate layer name '%s'", name);
        else
            error_at(sites[i].name_loc, "layer name '%s' differs from '%s' only in case; the "
                     "generated code needs them distinct in upper case", name, other);
        note_at(sites[first].name_loc, "'%s' is the name of layer %d", other, first + 1);
    }
    free(slots);
}

/* The network ends in one output per class: 10 for MNIST, whatever it says for IDX data. */
static void check_classes(Model *m)
{
    const Layer *last = &m->layers[m->nlayers - 1];
    const char *kind = layer_kind_name(last->kind);
    const char *loss = m->train.loss == LOSS_SPARSE_XENT ? "sparse_categorical_crossentropy"
                                                          : "mean_squared_error";
    char shape[96];
    format_shape(shape, sizeof shape, last->out);
    if (last->out.rank != 1) {
        error_at(last->loc, "%s '%s' ends the network with a %s output, but %s needs one value "
                 "per class; add a flatten and a dense layer", kind, last->name, shape, loss);
        return;
    }
    if (m->train.dataset == DATASET_IDX) {
        m->classes = last->out.c;
        if (m->classes < 2 || m->classes > MAX_IDX_CLASSES)
            error_at(last->loc, "%s '%s' ends the network with %d output%s, but a classifier "
                     "needs between 2 and %d classes (IDX labels are bytes)", kind, last->name,
                     m->classes, m->classes == 1 ? "" : "s", MAX_IDX_CLASSES);
        return;
    }
    m->classes = MNIST_CLASSES;
    if (last->out.c != m->classes)
        error_at(last->loc, "%s '%s' ends the network with %d output%s, but %s needs one per "
                 "class: %d for %s", kind, last->name, last->out.c, last->out.c == 1 ? "" : "s",
                 loss, m->classes,
                 m->train.dataset == DATASET_MNIST ? "mnist" : "fashion_mnist");
}

/* The MNIST files hold 28x28 grey images; an IDX dataset's size is only known at run time. */
static void check_input_fits_dataset(const Ast *ast, const Model *m)
{
    if (m->train.dataset == DATASET_IDX)
        return;
    if (m->input.h != MNIST_SIDE || m->input.w != MNIST_SIDE || m->input.c != 1) {
        char shape[96];
        format_shape(shape, sizeof shape, m->input);
        error_at(ast->input.loc, "dataset %s has 28x28x1 images, but the input is %s",
                 m->train.dataset == DATASET_MNIST ? "mnist" : "fashion_mnist", shape);
    }
}

Model *check_model(const Ast *ast)
{
    if (!ast)
        return NULL;
    bool complete = diag_error_count() == 0;
    Model *m = xcalloc(1, sizeof *m);
    m->source_file = ast->file;
    if (!ast->has_model) {
        if (complete)
            error_at((Loc){.file = ast->file}, "the file has no model block");
        model_free(m);
        return NULL;
    }
    /* Errors come out in the order of the file, which may put the train block first. */
    bool train_first = ast->has_train && ast->train_loc.line < ast->model_loc.line;
    bool data_ok = true;
    if (train_first)
        check_train(ast, &m->train, &data_ok);
    check_model_name(ast, m);
    int batch = peek_batch_size(ast);
    bool input_ok = check_input(ast, m, complete, batch);
    if (ast->nlayers == 0 && complete)
        error_at(ast->model_loc, "model '%s' has no layers", m->name);

    m->layers = xcalloc(ast->nlayers > 0 ? (size_t)ast->nlayers : 1, sizeof *m->layers);
    LayerSite *sites = xcalloc(ast->nlayers > 0 ? (size_t)ast->nlayers : 1, sizeof *sites);
    bool last_known;
    bool shapes_known = check_layers(ast, m, sites, input_ok, complete, batch, &last_known);
    check_unique_names(m, sites);
    free(sites);
    if (!train_first)
        check_train(ast, &m->train, &data_ok);

    if (complete && data_ok && input_ok)
        check_input_fits_dataset(ast, m);
    if (complete && data_ok && last_known)
        check_classes(m);
    if (diag_error_count() == 0 && shapes_known)
        plan_memory(m, ast->model_loc);

    if (diag_error_count() > 0) {
        model_free(m);
        return NULL;
    }
    return m;
}

void model_free(Model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nlayers; i++)
        free(m->layers[i].name);
    free(m->layers);
    for (int i = 0; i < 4; i++)
        free(m->train.idx_paths[i]);
    for (int i = 0; i < 4; i++)
        free(m->train.idx_files[i]);
    free(m->name);
    free(m);
}
