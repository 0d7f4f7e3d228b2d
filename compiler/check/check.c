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

/* The name every layer of the AST will have (the first name=, as check_layer_args takes, or
 * <kind>_<n>), before any is checked, so that a from= or with= naming a later layer can say so,
 * and one naming a layer of an unknown kind is not reported twice; NULL for an unknown kind
 * without name=. */
static char **planned_names(const Ast *ast)
{
    char **names = xcalloc(ast->nlayers > 0 ? (size_t)ast->nlayers : 1, sizeof *names);
    int ordinal[LAYER_KIND_COUNT] = {0};
    for (int i = 0; i < ast->nlayers; i++) {
        const AstLayer *al = &ast->layers[i];
        for (int k = 0; k < al->nargs && !names[i]; k++)
            if (al->args[k].name && strcmp(al->args[k].name, "name") == 0 && al->args[k].value.s)
                names[i] = xstrdup(al->args[k].value.s);
        LayerKind kind;
        if (!al->kind || !layer_kind_from_name(al->kind, &kind))
            continue;
        ordinal[kind]++;
        if (!names[i])
            names[i] = default_layer_name(kind, ordinal[kind]);
    }
    return names;
}

/* The layers' names seen so far, for from= and with=: a hash, since a model may have 100,000
 * layers. The first of two equal names wins (the second is reported as a duplicate). */
typedef struct NameMap {
    int *slots; /* layer index + 1; 0 is empty */
    size_t cap;
} NameMap;

static uint64_t hash_name(const char *s);

static void names_add(NameMap *map, const Model *m, int i)
{
    size_t at = (size_t)hash_name(m->layers[i].name) & (map->cap - 1);
    while (map->slots[at]) {
        if (strcmp(m->layers[map->slots[at] - 1].name, m->layers[i].name) == 0)
            return;
        at = (at + 1) & (map->cap - 1);
    }
    map->slots[at] = i + 1;
}

static int names_find(const NameMap *map, const Model *m, const char *name)
{
    size_t at = (size_t)hash_name(name) & (map->cap - 1);
    for (; map->slots[at]; at = (at + 1) & (map->cap - 1))
        if (strcmp(m->layers[map->slots[at] - 1].name, name) == 0)
            return map->slots[at] - 1;
    return -2;
}

/* The layer that from= or with= names, -1 for the model's input, or -2 after reporting why
 * there is none: a later layer, the layer itself, or no layer (with a did-you-mean). */
static int resolve_input(const Ast *ast, const Model *m, const NameMap *map, char **planned, int ast_index,
                         const Layer *L, const char *arg, const Value *ref)
{
    const char *name = ref->s;
    if (strcmp(name, "input") == 0)
        return -1;
    int found = names_find(map, m, name);
    if (found >= 0)
        return found;
    /* Past the errors diag prints, the scans below cost time for nothing: 10,000 unknown names
     * against 10,000 layers took minutes. */
    if (diag_error_count() >= DIAG_MAX_ERRORS) {
        error_at(ref->loc, "unknown layer '%s' in %s=", name, arg);
        return -2;
    }
    /* A layer of an unknown kind has been reported already: its readers are not wrong too. */
    for (int j = 0; j < ast_index; j++)
        if (planned[j] && strcmp(planned[j], name) == 0)
            return -2;
    if (strcmp(name, L->name) == 0) {
        error_at(ref->loc, "%s '%s' cannot read its own output; %s= names a layer written before it",
                 layer_kind_name(L->kind), L->name, arg);
        return -2;
    }
    for (int j = ast_index + 1; j < ast->nlayers; j++)
        if (planned[j] && strcmp(planned[j], name) == 0) {
            error_at(ref->loc, "%s '%s' reads '%s', which is written after it (line %d); a layer may only "
                     "read the layers before it", layer_kind_name(L->kind), L->name, name, ast->layers[j].loc.line);
            return -2;
        }
    const char **cands = xcalloc((size_t)m->nlayers + 2, sizeof *cands);
    int n = 0;
    cands[n++] = "input";
    for (int j = 0; j < m->nlayers - 1; j++)
        cands[n++] = m->layers[j].name;
    const char *hint = did_you_mean(name, cands);
    if (hint)
        error_at(ref->loc, "unknown layer '%s' in %s=; did you mean '%s'?", name, arg, hint);
    else
        error_at(ref->loc, "unknown layer '%s' in %s=: no layer before '%s' has that name", name, arg, L->name);
    free(cands);
    return -2;
}

/* Every layer must lead to the output, the last layer: one that nothing reads is a mistake. */
static void check_reaches_output(const Model *m)
{
    if (m->nlayers == 0)
        return;
    bool *reach = xcalloc((size_t)m->nlayers, sizeof *reach);
    reach[m->nlayers - 1] = true;
    for (int j = m->nlayers - 1; j >= 0; j--)
        for (int k = 0; reach[j] && k < m->layers[j].ninputs; k++)
            if (m->layers[j].inputs[k] >= 0)
                reach[m->layers[j].inputs[k]] = true;
    const Layer *last = &m->layers[m->nlayers - 1];
    for (int i = 0; i < m->nlayers - 1; i++)
        if (!reach[i])
            error_at(m->layers[i].loc, "%s '%s' does not lead to the output: nothing reads it on the way to "
                     "'%s', the last layer", layer_kind_name(m->layers[i].kind), m->layers[i].name, last->name);
    free(reach);
}

/* Resolves each layer, its inputs and its shape; returns whether every shape is known, and
 * sets *last_known when at least the network's output shape is. */
static bool check_layers(const Ast *ast, Model *m, LayerSite *sites, bool input_ok,
                         bool complete, int batch, bool *last_known, bool *inputs_ok)
{
    int ordinal[LAYER_KIND_COUNT] = {0};
    bool *known = xcalloc(ast->nlayers > 0 ? (size_t)ast->nlayers : 1, sizeof *known);
    bool all_known = input_ok;
    char **planned = planned_names(ast);
    NameMap map = {.cap = 16};
    while (map.cap < 2 * (size_t)ast->nlayers)
        map.cap *= 2;
    map.slots = xcalloc(map.cap, sizeof *map.slots);
    *inputs_ok = true;
    bool after_unknown = false, last_kind_ok = false;
    for (int i = 0; i < ast->nlayers; i++) {
        const AstLayer *al = &ast->layers[i];
        LayerKind kind;
        if (!al->kind || !layer_kind_from_name(al->kind, &kind)) {
            if (al->kind && strcmp(al->kind, "input") == 0)
                error_at(al->loc, "a model has one input, given once before its layers");
            else
                error_unknown(al->loc, "layer", al->kind ? al->kind : "", layer_kind_names());
            all_known = false;
            *inputs_ok = false;
            after_unknown = true;
            last_kind_ok = false;
            continue;
        }
        last_kind_ok = true;
        int index = m->nlayers;
        Layer *L = &m->layers[index];
        LayerSite *site = &sites[index];
        m->nlayers++;
        bool args_ok = check_layer_args(al, kind, ++ordinal[kind], L, site);
        check_softmax_position(L, site, i == ast->nlayers - 1);

        /* Its inputs: the layer before it unless from= says otherwise, and with='s. */
        L->ninputs = layer_ops(kind)->inputs == 2 ? 2 : 1;
        L->inputs[0] = index - 1;
        L->inputs[1] = -2;
        bool resolved = args_ok;
        if (site->from) {
            L->inputs[0] = resolve_input(ast, m, &map, planned, i, L, "from", site->from);
            resolved &= L->inputs[0] > -2;
        }
        if (site->with) {
            L->inputs[1] = resolve_input(ast, m, &map, planned, i, L, "with", site->with);
            resolved &= L->inputs[1] > -2;
        }
        *inputs_ok &= resolved;
        names_add(&map, m, index);

        /* After a layer of an unknown kind, the one before this is not the one written before it. */
        bool ins_known = resolved && complete && !(after_unknown && !site->from);
        after_unknown = false;
        for (int k = 0; k < L->ninputs && ins_known; k++)
            ins_known = L->inputs[k] < 0 ? input_ok : known[L->inputs[k]];
        if (ins_known) {
            L->in2 = L->ninputs > 1 ? (L->inputs[1] < 0 ? m->input : m->layers[L->inputs[1]].out) : (Shape){0};
            Shape in = L->inputs[0] < 0 ? m->input : m->layers[L->inputs[0]].out;
            known[index] = infer_layer_shape(L, in) && check_layer_buffers(L, batch);
        } else if (args_ok && layer_ops(kind)->shape_without_input &&
                   layer_ops(kind)->shape_without_input(L, &L->out)) {
            /* The output does not depend on the input (dense): later layers can be checked
             * again. */
            known[index] = true;
        }
        all_known &= known[index] && ins_known;
    }
    *last_known = m->nlayers > 0 && last_kind_ok && known[m->nlayers - 1];
    for (int i = 0; i < ast->nlayers; i++)
        free(planned[i]);
    free(planned);
    free(map.slots);
    free(known);
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
    bool last_known, inputs_ok;
    bool shapes_known = check_layers(ast, m, sites, input_ok, complete, batch, &last_known, &inputs_ok);
    if (complete && inputs_ok)
        check_reaches_output(m);
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
