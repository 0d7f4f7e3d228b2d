/*
 * check/layer_table.c - the layer kinds of the language and the arguments each one takes.
 *
 * This is the contract's table of layers (docs/cnn-language.md, "Layers") as data: the
 * checker validates every argument against it, and "did you mean" draws its candidates
 * from it. The defaults themselves are applied in check/layer_args.c, next to the code that
 * builds each kind's attributes.
 */
#include <string.h>

#include "check/check.h"

static const ArgSpec conv2d_args[] = {
    {"filters", ARG_COUNT, true},        {"kernel", ARG_SIZE2, true},
    {"stride", ARG_SIZE2, false},        {"padding", ARG_PADDING, false},
    {"activation", ARG_ACTIVATION, false}, {"use_bias", ARG_BOOL, false},
    {"name", ARG_NAME, false},
};
static const char *const conv2d_names[] = {"filters", "kernel", "stride", "padding",
                                           "activation", "use_bias", "name", NULL};

static const ArgSpec pool_args[] = {
    {"pool", ARG_SIZE2, false},
    {"stride", ARG_SIZE2, false},
    {"padding", ARG_PADDING, false},
    {"name", ARG_NAME, false},
};
static const char *const pool_names[] = {"pool", "stride", "padding", "name", NULL};

static const ArgSpec dense_args[] = {
    {"units", ARG_COUNT, true},
    {"activation", ARG_ACTIVATION, false},
    {"use_bias", ARG_BOOL, false},
    {"name", ARG_NAME, false},
};
static const char *const dense_names[] = {"units", "activation", "use_bias", "name", NULL};

static const ArgSpec dropout_args[] = {
    {"rate", ARG_RATE, true},
    {"seed", ARG_INTEGER, false},
    {"name", ARG_NAME, false},
};
static const char *const dropout_names[] = {"rate", "seed", "name", NULL};

/* flatten and the standalone activations take only a name. */
static const ArgSpec name_only_args[] = {
    {"name", ARG_NAME, false},
};
static const char *const name_only_names[] = {"name", NULL};

#define SPEC(kind_name, table, names) {kind_name, table, sizeof table / sizeof table[0], names}

static const LayerSpec layer_specs[LAYER_KIND_COUNT] = {
    [LAYER_CONV2D] = SPEC("conv2d", conv2d_args, conv2d_names),
    [LAYER_MAXPOOL2D] = SPEC("maxpool2d", pool_args, pool_names),
    [LAYER_AVGPOOL2D] = SPEC("avgpool2d", pool_args, pool_names),
    [LAYER_FLATTEN] = SPEC("flatten", name_only_args, name_only_names),
    [LAYER_DENSE] = SPEC("dense", dense_args, dense_names),
    [LAYER_DROPOUT] = SPEC("dropout", dropout_args, dropout_names),
    [LAYER_RELU] = SPEC("relu", name_only_args, name_only_names),
    [LAYER_SIGMOID] = SPEC("sigmoid", name_only_args, name_only_names),
    [LAYER_TANH] = SPEC("tanh", name_only_args, name_only_names),
    [LAYER_SOFTMAX] = SPEC("softmax", name_only_args, name_only_names),
};

static const char *const kind_names[LAYER_KIND_COUNT + 1] = {
    [LAYER_CONV2D] = "conv2d",   [LAYER_MAXPOOL2D] = "maxpool2d", [LAYER_AVGPOOL2D] = "avgpool2d",
    [LAYER_FLATTEN] = "flatten", [LAYER_DENSE] = "dense",         [LAYER_DROPOUT] = "dropout",
    [LAYER_RELU] = "relu",       [LAYER_SIGMOID] = "sigmoid",     [LAYER_TANH] = "tanh",
    [LAYER_SOFTMAX] = "softmax", [LAYER_KIND_COUNT] = NULL,
};

const char *const activation_names[] = {
    [ACT_NONE] = "none", [ACT_RELU] = "relu", [ACT_SIGMOID] = "sigmoid",
    [ACT_TANH] = "tanh", [ACT_SOFTMAX] = "softmax", NULL,
};

const char *const padding_names[] = {[PAD_VALID] = "valid", [PAD_SAME] = "same", NULL};

const LayerSpec *layer_spec(LayerKind k)
{
    if ((unsigned)k >= LAYER_KIND_COUNT)
        unreachable();
    return &layer_specs[k];
}

bool layer_kind_from_name(const char *name, LayerKind *out)
{
    int i = name_index(name, kind_names);
    if (i < 0)
        return false;
    *out = (LayerKind)i;
    return true;
}

const char *const *layer_kind_names(void)
{
    return kind_names;
}

const char *layer_kind_name(LayerKind k)
{
    if ((unsigned)k >= LAYER_KIND_COUNT)
        unreachable();
    return kind_names[k];
}

const char *activation_name(Activation a)
{
    if ((unsigned)a > ACT_SOFTMAX)
        unreachable();
    return activation_names[a];
}

const char *padding_name(Padding p)
{
    if ((unsigned)p > PAD_SAME)
        unreachable();
    return padding_names[p];
}

int name_index(const char *word, const char *const *names)
{
    if (!word)
        return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(word, names[i]) == 0)
            return i;
    return -1;
}

void error_unknown(Loc loc, const char *what, const char *word, const char *const *cands)
{
    if (!word)
        word = "";
    const char *hint = did_you_mean(word, cands);
    if (hint) {
        error_at(loc, "unknown %s '%s'; did you mean '%s'?", what, word, hint);
        return;
    }
    /* Nothing is close: list what is accepted, so the user need not open the manual. */
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; cands[i] && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 cands[i]);
    error_at(loc, "unknown %s '%s' (expected one of: %s)", what, word, list);
}

bool is_identifier(const char *s)
{
    if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}
