/*
 * check/train.c - the train block, resolved into a TrainConfig.
 *
 *     train {
 *         dataset mnist;                       mnist | fashion_mnist | idx("a", "b", "c", "d")
 *         loss sparse_categorical_crossentropy;
 *         optimizer adam(learning_rate=0.001); sgd(...) | adam(...), or the bare name
 *         epochs 5;  batch_size 32;  validation test;  seed 42;  shuffle true;
 *         init glorot_uniform;
 *     }
 *
 * Every setting is optional; the contract's defaults fill in the rest. Unknown settings,
 * values and hyper-parameters are located errors with a did-you-mean. The paths of idx(...)
 * are relative to the model file (idx_files holds them resolved).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"

#define DEFAULT_BATCH_SIZE 32

static const char *const setting_names[] = {"dataset", "loss",       "optimizer", "epochs",
                                            "batch_size", "validation", "seed", "shuffle",
                                            "init",    NULL};
enum { S_DATASET, S_LOSS, S_OPTIMIZER, S_EPOCHS, S_BATCH, S_VALIDATION, S_SEED, S_SHUFFLE,
       S_INIT, S_COUNT };

const char *const dataset_names[] = {[DATASET_MNIST] = "mnist", [DATASET_FASHION_MNIST] = "fashion_mnist",
                                     [DATASET_IDX] = "idx", NULL};
const char *const loss_names[] = {[LOSS_SPARSE_XENT] = "sparse_categorical_crossentropy",
                                  [LOSS_MSE] = "mean_squared_error", NULL};
const char *const optimizer_names[] = {[OPT_SGD] = "sgd", [OPT_ADAM] = "adam", NULL};
const char *const validation_names[] = {[VALID_TEST] = "test", [VALID_SPLIT] = "split", [VALID_NONE] = "none",
                                        NULL};
const char *const init_names[] = {[INIT_GLOROT_UNIFORM] = "glorot_uniform", [INIT_HE_NORMAL] = "he_normal",
                                  [INIT_HE_UNIFORM] = "he_uniform", NULL};
static const char *const sgd_params[] = {"learning_rate", "momentum", "nesterov", NULL};
static const char *const adam_params[] = {"learning_rate", "beta_1", "beta_2", "epsilon", NULL};
/* Hyper-parameters as PyTorch and older Keras spell them, too far from ours for the edit
 * distance of did_you_mean: adam(lr=0.001) gets "did you mean 'learning_rate'?". */
static const char *const hyper_aliases[][2] = {
    {"lr", "learning_rate"}, {"eps", "epsilon"}, {"beta1", "beta_1"}, {"beta2", "beta_2"},
};

/* The name `name` may stand for among `params`: the nearest by spelling, else its alias. */
static const char *hyper_hint(const char *name, const char *const *params)
{
    const char *hint = did_you_mean(name, params);
    for (size_t i = 0; !hint && i < sizeof hyper_aliases / sizeof hyper_aliases[0]; i++)
        if (strcmp(name, hyper_aliases[i][0]) == 0 && name_index(hyper_aliases[i][1], params) >= 0)
            hint = hyper_aliases[i][1];
    return hint;
}

/* A name among `names` given as a bare identifier; `what` names the setting in messages. */
static bool check_word(const Value *v, const char *what, const char *const *names, int *out)
{
    if (v->kind != VAL_IDENT) {
        error_at(v->loc, "%s must be a name like '%s'", what, names[0]);
        return false;
    }
    int i = name_index(v->s, names);
    if (i < 0) {
        error_unknown(v->loc, what, v->s, names);
        return false;
    }
    *out = i;
    return true;
}

static bool check_count(const Value *v, const char *what, int *out)
{
    if (v->kind != VAL_INT) {
        error_at(v->loc, "'%s' must be a positive integer", what);
        return false;
    }
    if (v->i <= 0) {
        error_at(v->loc, "'%s' must be a positive integer, not %lld", what, v->i);
        return false;
    }
    if (v->i > INT_MAX) {
        error_at(v->loc, "'%s' is too large: %lld (at most %d)", what, v->i, INT_MAX);
        return false;
    }
    *out = (int)v->i;
    return true;
}

static bool check_number(const Value *v, const char *what, double *out)
{
    if ((v->kind != VAL_INT && v->kind != VAL_REAL) || !isfinite(v->r)) {
        error_at(v->loc, "'%s' must be a number", what);
        return false;
    }
    *out = v->r;
    return true;
}

/* A path of idx(...) as the program will open it: relative paths are relative to the model
 * file's folder, not to where cnnc or the program runs, and the generated code records them
 * absolute (the working directory joined to a relative model path). */
static char *resolve_against_model(const char *model_file, const char *path)
{
    if (path[0] == '/' || !model_file)
        return xstrdup(path);
    /* The model file's folder: "" for the root, "." for a bare file name. */
    const char *slash = strrchr(model_file, '/');
    char *dir = slash == NULL ? xstrdup(".") : xstrndup(model_file, (size_t)(slash - model_file));
    char cwd[PATH_MAX] = ".";
    if (model_file[0] != '/' && !getcwd(cwd, sizeof cwd))
        strcpy(cwd, ".");
    size_t n = strlen(cwd) + strlen(dir) + strlen(path) + 3;
    char *out = xmalloc(n);
    if (model_file[0] == '/')
        snprintf(out, n, "%s/%s", dir, path);
    else if (strcmp(dir, ".") == 0)
        snprintf(out, n, "%s/%s", cwd, path);
    else
        snprintf(out, n, "%s/%s/%s", cwd, dir, path);
    free(dir);
    return out;
}

/* dataset idx("train-images.gz", "train-labels.gz", "test-images.gz", "test-labels.gz") */
static bool check_idx(const Value *v, TrainConfig *tc)
{
    if (v->kind != VAL_CALL || v->nitems != 4) {
        error_at(v->loc, "idx needs four paths: idx(\"train-images\", \"train-labels\", "
                 "\"test-images\", \"test-labels\")");
        return false;
    }
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        const Arg *a = &v->items[i];
        if (a->name || a->value.kind != VAL_STRING || !a->value.s || !a->value.s[0]) {
            error_at(a->name ? a->name_loc : a->value.loc,
                     "the paths of idx(...) are non-empty strings in quotes, in the order "
                     "train images, train labels, test images, test labels");
            ok = false;
        }
    }
    if (!ok)
        return false;
    for (int i = 0; i < 4; i++) {
        tc->idx_paths[i] = xstrdup(v->items[i].value.s);
        tc->idx_files[i] = resolve_against_model(v->items[i].value.loc.file, v->items[i].value.s);
    }
    return true;
}

static bool check_dataset(const Value *v, TrainConfig *tc)
{
    if (v->kind != VAL_IDENT && v->kind != VAL_CALL) {
        error_at(v->loc, "dataset must be mnist, fashion_mnist or idx(...)");
        return false;
    }
    int i = name_index(v->s, dataset_names);
    if (i < 0) {
        error_unknown(v->loc, "dataset", v->s ? v->s : "", dataset_names);
        return false;
    }
    if (i == DATASET_IDX) {
        if (!check_idx(v, tc))
            return false;
    } else if (v->kind == VAL_CALL) {
        error_at(v->loc, "dataset %s takes no arguments", v->s);
        return false;
    }
    tc->dataset = (DatasetKind)i;
    return true;
}

static bool check_hyper(const Arg *a, TrainConfig *tc)
{
    const Value *v = &a->value;
    const char *n = a->name;
    if (strcmp(n, "nesterov") == 0) {
        if (v->kind != VAL_BOOL) {
            error_at(v->loc, "'nesterov' must be true or false");
            return false;
        }
        tc->nesterov = v->i != 0;
        return true;
    }
    double x;
    if (!check_number(v, n, &x))
        return false;
    if (strcmp(n, "learning_rate") == 0) {
        if (!(x > 0)) {
            error_at(v->loc, "'learning_rate' must be positive, not %g", x);
            return false;
        }
        tc->learning_rate = x;
    } else if (strcmp(n, "momentum") == 0) {
        if (!(x >= 0 && x <= 1)) {
            error_at(v->loc, "'momentum' must be between 0 and 1, not %g", x);
            return false;
        }
        tc->momentum = x;
    } else if (strcmp(n, "epsilon") == 0) {
        if (!(x > 0)) {
            error_at(v->loc, "'epsilon' must be positive, not %g", x);
            return false;
        }
        tc->epsilon = x;
    } else {
        if (!(x >= 0 && x < 1)) {
            error_at(v->loc, "'%s' must be at least 0 and less than 1, not %g", n, x);
            return false;
        }
        *(strcmp(n, "beta_1") == 0 ? &tc->beta_1 : &tc->beta_2) = x;
    }
    return true;
}

/* optimizer adam | adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
 *           sgd  | sgd(learning_rate=0.01, momentum=0, nesterov=false) */
static bool check_optimizer(const Value *v, TrainConfig *tc)
{
    int i;
    if (v->kind == VAL_CALL) {
        i = name_index(v->s, optimizer_names);
        if (i < 0) {
            error_unknown(v->loc, "optimizer", v->s ? v->s : "", optimizer_names);
            return false;
        }
    } else if (!check_word(v, "optimizer", optimizer_names, &i)) {
        return false;
    }
    tc->optimizer = (OptimizerKind)i;
    tc->learning_rate = i == OPT_SGD ? 0.01 : 0.001;
    if (v->kind != VAL_CALL)
        return true;

    const char *const *params = i == OPT_SGD ? sgd_params : adam_params;
    const Arg *seen[4] = {NULL};
    bool ok = true;
    for (int k = 0; k < v->nitems; k++) {
        const Arg *a = &v->items[k];
        if (!a->name) {
            error_at(a->value.loc, "the arguments of %s are named, like learning_rate=...",
                     v->s);
            ok = false;
            continue;
        }
        int p = name_index(a->name, params);
        if (p < 0) {
            const char *hint = hyper_hint(a->name, params);
            const char *const *other = i == OPT_SGD ? adam_params : sgd_params;
            if (hint)
                error_at(a->name_loc, "unknown argument '%s' for %s; did you mean '%s'?",
                         a->name, v->s, hint);
            else if (name_index(a->name, other) >= 0)
                error_at(a->name_loc, "unknown argument '%s' for %s; it belongs to %s",
                         a->name, v->s, optimizer_names[i == OPT_SGD ? OPT_ADAM : OPT_SGD]);
            else
                error_at(a->name_loc, "unknown argument '%s' for %s", a->name, v->s);
            ok = false;
            continue;
        }
        if (seen[p]) {
            error_at(a->name_loc, "argument '%s' is given twice", a->name);
            note_at(seen[p]->name_loc, "'%s' was first given here", a->name);
            ok = false;
            continue;
        }
        seen[p] = a;
        ok &= check_hyper(a, tc);
    }
    return ok;
}

/* validation test | none | split(0.1) */
static bool check_validation(const Value *v, TrainConfig *tc)
{
    int i;
    if (v->kind == VAL_CALL) {
        i = name_index(v->s, validation_names);
        if (i != VALID_SPLIT) {
            if (i < 0)
                error_unknown(v->loc, "validation", v->s ? v->s : "", validation_names);
            else
                error_at(v->loc, "validation %s takes no arguments", v->s);
            return false;
        }
        if (v->nitems != 1 || v->items[0].name) {
            error_at(v->loc, "split takes one fraction: split(0.1)");
            return false;
        }
        double x;
        if (!check_number(&v->items[0].value, "split", &x))
            return false;
        if (!(x > 0 && x < 1)) {
            error_at(v->items[0].value.loc, "split must be between 0 and 1 (exclusive), not %g",
                     x);
            return false;
        }
        tc->validation = VALID_SPLIT;
        tc->split = x;
        return true;
    }
    if (!check_word(v, "validation", validation_names, &i))
        return false;
    if (i == VALID_SPLIT) {
        error_at(v->loc, "split needs the fraction held out: split(0.1)");
        return false;
    }
    tc->validation = (ValidationKind)i;
    return true;
}

static bool check_setting(int which, const AstSetting *s, TrainConfig *tc)
{
    const Value *v = &s->value;
    int e;
    switch (which) {
    case S_DATASET:
        return check_dataset(v, tc);
    case S_LOSS:
        if (!check_word(v, "loss", loss_names, &e))
            return false;
        tc->loss = (LossKind)e;
        return true;
    case S_OPTIMIZER:
        return check_optimizer(v, tc);
    case S_EPOCHS:
        return check_count(v, "epochs", &tc->epochs);
    case S_BATCH:
        return check_count(v, "batch_size", &tc->batch_size);
    case S_VALIDATION:
        return check_validation(v, tc);
    case S_SEED:
        if (v->kind != VAL_INT) {
            error_at(v->loc, "'seed' must be an integer");
            return false;
        }
        tc->seed = v->i;
        return true;
    case S_SHUFFLE:
        if (v->kind != VAL_BOOL) {
            error_at(v->loc, "'shuffle' must be true or false");
            return false;
        }
        tc->shuffle = v->i != 0;
        return true;
    case S_INIT:
        if (!check_word(v, "init", init_names, &e))
            return false;
        tc->init = (InitKind)e;
        return true;
    }
    unreachable();
}

int peek_batch_size(const Ast *ast)
{
    for (int i = 0; i < ast->nsettings; i++) {
        const AstSetting *s = &ast->settings[i];
        if (s->name && strcmp(s->name, "batch_size") == 0) {
            const Value *v = &s->value;
            return v->kind == VAL_INT && v->i > 0 && v->i <= INT_MAX ? (int)v->i : 0;
        }
    }
    return DEFAULT_BATCH_SIZE;
}

bool check_train(const Ast *ast, TrainConfig *tc, bool *data_ok)
{
    *tc = (TrainConfig){
        .dataset = DATASET_MNIST,
        .loss = LOSS_SPARSE_XENT,
        .optimizer = OPT_ADAM,
        .learning_rate = 0.001,
        .momentum = 0,
        .nesterov = false,
        .beta_1 = 0.9,
        .beta_2 = 0.999,
        .epsilon = 1e-7,
        .epochs = 5,
        .batch_size = DEFAULT_BATCH_SIZE,
        .validation = VALID_TEST,
        .split = 0,
        .seed = 42,
        .shuffle = true,
        .init = INIT_GLOROT_UNIFORM,
    };
    bool ok = true;
    *data_ok = true;
    const AstSetting *seen[S_COUNT] = {NULL};
    for (int i = 0; i < ast->nsettings; i++) {
        const AstSetting *s = &ast->settings[i];
        int which = name_index(s->name, setting_names);
        if (which < 0) {
            error_unknown(s->loc, "setting", s->name ? s->name : "", setting_names);
            ok = false;
            continue;
        }
        if (seen[which]) {
            error_at(s->loc, "setting '%s' is given twice", s->name);
            note_at(seen[which]->loc, "'%s' was first given here", s->name);
            ok = false;
            continue;
        }
        seen[which] = s;
        if (!check_setting(which, s, tc)) {
            ok = false;
            if (which == S_DATASET || which == S_LOSS)
                *data_ok = false;
        }
    }
    return ok;
}
