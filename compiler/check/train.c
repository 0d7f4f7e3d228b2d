/*
 * check/train.c - the train block, resolved into a TrainConfig.
 *
 *     train {
 *         dataset mnist;                       mnist | fashion_mnist | idx("a", "b", "c", "d")
 *         loss sparse_categorical_crossentropy;
 *         optimizer adam(learning_rate=0.001); sgd(...) | adam(...), or the bare name
 *         epochs 5;  batch_size 32;  validation test;  seed 42;  shuffle true;
 *         init glorot_uniform;
 *         schedule cosine_decay(decay_steps=2000); constant | exponential_decay(...) | ...
 *         early_stopping(patience=3);          calls on their own, as settings
 *         augment(shift=2, rotation=10);
 *     }
 *
 * Every setting is optional; the contract's defaults fill in the rest. Unknown settings,
 * values and hyper-parameters are located errors with a did-you-mean. The paths of idx(...)
 * are relative to the model file (idx_files holds them resolved).
 */
#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"

#define DEFAULT_BATCH_SIZE 32

static const char *const setting_names[] = {"dataset", "loss",       "optimizer", "epochs",
                                            "batch_size", "validation", "seed", "shuffle",
                                            "init",    "schedule", "early_stopping", "augment",
                                            NULL};
enum { S_DATASET, S_LOSS, S_OPTIMIZER, S_EPOCHS, S_BATCH, S_VALIDATION, S_SEED, S_SHUFFLE,
       S_INIT, S_SCHEDULE, S_EARLY_STOPPING, S_AUGMENT, S_COUNT };

const char *const dataset_names[] = {[DATASET_MNIST] = "mnist", [DATASET_FASHION_MNIST] = "fashion_mnist",
                                     [DATASET_IDX] = "idx", NULL};
const char *const loss_names[] = {[LOSS_SPARSE_XENT] = "sparse_categorical_crossentropy",
                                  [LOSS_MSE] = "mean_squared_error", NULL};
const char *const optimizer_names[] = {[OPT_SGD] = "sgd", [OPT_ADAM] = "adam", [OPT_ADAMW] = "adamw",
                                       [OPT_RMSPROP] = "rmsprop", NULL};
const char *const validation_names[] = {[VALID_TEST] = "test", [VALID_SPLIT] = "split", [VALID_NONE] = "none",
                                        NULL};
const char *const init_names[] = {[INIT_GLOROT_UNIFORM] = "glorot_uniform", [INIT_HE_NORMAL] = "he_normal",
                                  [INIT_HE_UNIFORM] = "he_uniform", NULL};
const char *const schedule_names[] = {[SCHED_CONSTANT] = "constant", [SCHED_EXPONENTIAL] = "exponential_decay",
                                      [SCHED_COSINE] = "cosine_decay", [SCHED_PLATEAU] = "reduce_on_plateau",
                                      NULL};

/* The arguments a call of the train block takes: what each may hold, where it goes. */
typedef enum Range {
    R_POSITIVE,    /* > 0 */
    R_NONNEGATIVE, /* >= 0 */
    R_BELOW_ONE,   /* [0, 1) */
    R_UNIT,        /* [0, 1] */
    R_OPEN_UNIT,   /* (0, 1) */
    R_DEGREES,     /* [0, 180] */
    R_COUNT,       /* an integer > 0 */
    R_COUNT0,      /* an integer >= 0 */
    R_BOOL,
} Range;

typedef struct Param {
    const char *name;
    Range range;
    bool required;
    size_t at;     /* offsetof(TrainConfig, ...) */
} Param;

#define P(name, range, required, field) {name, range, required, offsetof(TrainConfig, field)}
#define CLIPNORM P("global_clipnorm", R_POSITIVE, false, global_clipnorm)
static const Param sgd_params[] = {P("learning_rate", R_POSITIVE, false, learning_rate),
                                   P("momentum", R_UNIT, false, momentum),
                                   P("nesterov", R_BOOL, false, nesterov), CLIPNORM, {0}};
static const Param adam_params[] = {P("learning_rate", R_POSITIVE, false, learning_rate),
                                    P("beta_1", R_BELOW_ONE, false, beta_1),
                                    P("beta_2", R_BELOW_ONE, false, beta_2),
                                    P("epsilon", R_POSITIVE, false, epsilon), CLIPNORM, {0}};
static const Param adamw_params[] = {P("learning_rate", R_POSITIVE, false, learning_rate),
                                     P("beta_1", R_BELOW_ONE, false, beta_1),
                                     P("beta_2", R_BELOW_ONE, false, beta_2),
                                     P("epsilon", R_POSITIVE, false, epsilon),
                                     P("weight_decay", R_NONNEGATIVE, false, weight_decay), CLIPNORM, {0}};
static const Param rmsprop_params[] = {P("learning_rate", R_POSITIVE, false, learning_rate),
                                       P("rho", R_BELOW_ONE, false, rho),
                                       P("momentum", R_BELOW_ONE, false, momentum),
                                       P("epsilon", R_POSITIVE, false, epsilon), CLIPNORM, {0}};
static const Param *const optimizer_params[] = {[OPT_SGD] = sgd_params, [OPT_ADAM] = adam_params,
                                                [OPT_ADAMW] = adamw_params, [OPT_RMSPROP] = rmsprop_params};
static const Param no_params[] = {{0}};
static const Param exponential_params[] = {P("decay_steps", R_COUNT, true, decay_steps),
                                           P("decay_rate", R_POSITIVE, true, decay_rate),
                                           P("staircase", R_BOOL, false, staircase), {0}};
static const Param cosine_params[] = {P("decay_steps", R_COUNT, true, decay_steps),
                                      P("alpha", R_UNIT, false, alpha), {0}};
static const Param plateau_params[] = {P("factor", R_OPEN_UNIT, false, factor),
                                       P("patience", R_COUNT0, false, patience),
                                       P("min_delta", R_NONNEGATIVE, false, min_delta),
                                       P("min_lr", R_NONNEGATIVE, false, min_lr), {0}};
static const Param *const schedule_params[] = {[SCHED_CONSTANT] = no_params, [SCHED_EXPONENTIAL] = exponential_params,
                                               [SCHED_COSINE] = cosine_params, [SCHED_PLATEAU] = plateau_params};
static const Param early_stopping_params[] = {P("patience", R_COUNT0, true, stop_patience),
                                              P("min_delta", R_NONNEGATIVE, false, stop_min_delta),
                                              P("restore_best", R_BOOL, false, restore_best), {0}};
static const Param augment_params[] = {P("shift", R_COUNT0, false, shift),
                                       P("rotation", R_DEGREES, false, rotation), {0}};
#undef CLIPNORM
#undef P

/* Hyper-parameters as PyTorch and older Keras spell them, too far from ours for the edit
 * distance of did_you_mean: adam(lr=0.001) gets "did you mean 'learning_rate'?". */
static const char *const hyper_aliases[][2] = {
    {"lr", "learning_rate"}, {"eps", "epsilon"}, {"beta1", "beta_1"}, {"beta2", "beta_2"},
};

/* The names of params, NULL-ended, into names[MAX_PARAMS + 1]. */
#define MAX_PARAMS 8
static void param_names(const Param *params, const char **names)
{
    int n = 0;
    for (; params[n].name; n++)
        names[n] = params[n].name;
    names[n] = NULL;
}

/* The name `name` may stand for among `params`: the nearest by spelling, else its alias. */
static const char *hyper_hint(const char *name, const Param *params)
{
    const char *names[MAX_PARAMS + 1];
    param_names(params, names);
    const char *hint = did_you_mean(name, names);
    for (size_t i = 0; !hint && i < sizeof hyper_aliases / sizeof hyper_aliases[0]; i++)
        if (strcmp(name, hyper_aliases[i][0]) == 0 && name_index(hyper_aliases[i][1], names) >= 0)
            hint = hyper_aliases[i][1];
    return hint;
}

static int param_index(const char *name, const Param *params)
{
    for (int i = 0; params[i].name; i++)
        if (strcmp(name, params[i].name) == 0)
            return i;
    return -1;
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

/* One argument's value into its field of tc, checked against its range. */
static bool check_param(const Param *p, const Value *v, TrainConfig *tc)
{
    void *field = (char *)tc + p->at;
    const char *n = p->name;
    if (p->range == R_BOOL) {
        if (v->kind != VAL_BOOL) {
            error_at(v->loc, "'%s' must be true or false", n);
            return false;
        }
        *(bool *)field = v->i != 0;
        return true;
    }
    if (p->range == R_COUNT || p->range == R_COUNT0) {
        const char *what = p->range == R_COUNT ? "a positive integer" : "an integer, 0 or more";
        if (v->kind != VAL_INT) {
            error_at(v->loc, "'%s' must be %s", n, what);
            return false;
        }
        if (v->i < (p->range == R_COUNT ? 1 : 0)) {
            error_at(v->loc, "'%s' must be %s, not %lld", n, what, v->i);
            return false;
        }
        if (v->i > INT_MAX) {
            error_at(v->loc, "'%s' is too large: %lld (at most %d)", n, v->i, INT_MAX);
            return false;
        }
        *(int *)field = (int)v->i;
        return true;
    }
    double x;
    if (!check_number(v, n, &x))
        return false;
    static const struct {
        const char *text;
        double lo, hi;
        bool lo_open, hi_open;
    } ranges[] = {
        [R_POSITIVE] = {"positive", 0, INFINITY, true, true},
        [R_NONNEGATIVE] = {"at least 0", 0, INFINITY, false, true},
        [R_BELOW_ONE] = {"at least 0 and less than 1", 0, 1, false, true},
        [R_UNIT] = {"between 0 and 1", 0, 1, false, false},
        [R_OPEN_UNIT] = {"between 0 and 1 (exclusive)", 0, 1, true, true},
        [R_DEGREES] = {"between 0 and 180 degrees", 0, 180, false, false},
    };
    bool in = (ranges[p->range].lo_open ? x > ranges[p->range].lo : x >= ranges[p->range].lo) &&
              (ranges[p->range].hi_open ? x < ranges[p->range].hi : x <= ranges[p->range].hi);
    if (!in) {
        error_at(v->loc, "'%s' must be %s, not %g", n, ranges[p->range].text, x);
        return false;
    }
    *(double *)field = x;
    return true;
}

/* The named arguments of a call into tc: unknown ones with a did-you-mean (or the other
 * table of `others` that takes them), ones given twice, required ones missing. */
static bool check_call_args(const Value *v, const Param *params, const Param *const *others,
                            const char *const *other_names, int nothers, TrainConfig *tc)
{
    const Arg *seen[MAX_PARAMS] = {NULL};
    bool ok = true;
    for (int k = 0; k < v->nitems; k++) {
        const Arg *a = &v->items[k];
        if (!a->name) {
            const char *example = params[0].name ? params[0].name : "name";
            error_at(a->value.loc, "the arguments of %s are named, like %s=...", v->s, example);
            ok = false;
            continue;
        }
        int p = param_index(a->name, params);
        if (p < 0) {
            const char *hint = hyper_hint(a->name, params);
            int owner = -1;
            for (int o = 0; o < nothers && owner < 0; o++)
                if (others[o] != params && param_index(a->name, others[o]) >= 0)
                    owner = o;
            if (hint)
                error_at(a->name_loc, "unknown argument '%s' for %s; did you mean '%s'?", a->name, v->s, hint);
            else if (owner >= 0)
                error_at(a->name_loc, "unknown argument '%s' for %s; it belongs to %s", a->name, v->s,
                         other_names[owner]);
            else if (!params[0].name)
                error_at(a->name_loc, "%s takes no arguments", v->s);
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
        ok &= check_param(&params[p], &a->value, tc);
    }
    for (int p = 0; params[p].name; p++)
        if (params[p].required && !seen[p]) {
            char needs[160] = "";
            for (int q = 0; params[q].name; q++)
                if (params[q].required)
                    snprintf(needs + strlen(needs), sizeof needs - strlen(needs), "%s%s=...",
                             needs[0] ? ", " : "", params[q].name);
            error_at(v->loc, "%s needs '%s': %s(%s)", v->s, params[p].name, v->s, needs);
            ok = false;
            break;
        }
    return ok;
}

/* A choice among `names`, bare or called with arguments: optimizer adam | adam(...),
 * schedule constant | cosine_decay(...). Returns the index, or -1 after an error. */
static int check_choice(const Value *v, const char *what, const char *const *names)
{
    int i;
    if (v->kind == VAL_CALL) {
        i = name_index(v->s, names);
        if (i < 0)
            error_unknown(v->loc, what, v->s ? v->s : "", names);
        return i;
    }
    return check_word(v, what, names, &i) ? i : -1;
}

/* optimizer adam | adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
 *           sgd  | sgd(learning_rate=0.01, momentum=0, nesterov=false)
 *           adamw(..., weight_decay=0.004) | rmsprop(learning_rate=0.001, rho=0.9, ...)
 * and every one global_clipnorm=X. */
static bool check_optimizer(const Value *v, TrainConfig *tc)
{
    int i = check_choice(v, "optimizer", optimizer_names);
    if (i < 0)
        return false;
    tc->optimizer = (OptimizerKind)i;
    tc->learning_rate = i == OPT_SGD ? 0.01 : 0.001;
    if (v->kind != VAL_CALL)
        return true;
    return check_call_args(v, optimizer_params[i], optimizer_params, optimizer_names, OPT_RMSPROP + 1, tc);
}

/* schedule constant | exponential_decay(decay_steps, decay_rate, staircase=false)
 *        | cosine_decay(decay_steps, alpha=0)
 *        | reduce_on_plateau(factor=0.1, patience=10, min_delta=0.0001, min_lr=0) */
static bool check_schedule(const Value *v, TrainConfig *tc)
{
    int i = check_choice(v, "schedule", schedule_names);
    if (i < 0)
        return false;
    tc->schedule = (ScheduleKind)i;
    if (v->kind != VAL_CALL) {
        if (schedule_params[i][0].name && schedule_params[i][0].required) {
            error_at(v->loc, "%s needs its arguments, like %s", v->s,
                     i == SCHED_EXPONENTIAL ? "exponential_decay(decay_steps=1000, decay_rate=0.9)"
                                            : "cosine_decay(decay_steps=1000)");
            return false;
        }
        return true;
    }
    return check_call_args(v, schedule_params[i], schedule_params, schedule_names, SCHED_PLATEAU + 1, tc);
}

/* Whether a setting was written as a call on its own, `augment(shift=2);`: the parser (and the
 * YAML reader) make the call both the setting's name and its value, at one place. */
static bool is_call_form(const AstSetting *s)
{
    const Value *v = &s->value;
    return v->kind == VAL_CALL && v->s && strcmp(v->s, s->name) == 0 && v->loc.line == s->loc.line &&
           v->loc.col == s->loc.col;
}

/* early_stopping(patience=3) and augment(shift=2, rotation=10): calls written on their own. */
static bool check_call_setting(const AstSetting *s, const Param *params, const char *example,
                               const char *yaml_example, TrainConfig *tc)
{
    const Value *v = &s->value;
    bool call_form = is_call_form(s);
    if (!call_form) {
        const char *ext = s->loc.file ? strrchr(s->loc.file, '.') : NULL;
        if (ext && (strcmp(ext, ".yaml") == 0 || strcmp(ext, ".yml") == 0))
            error_at(s->loc, "'%s' is a map of its arguments, like '%s'", s->name, yaml_example);
        else
            error_at(s->loc, "'%s' is written as a call on its own, like '%s;'", s->name, example);
        return false;
    }
    return check_call_args(v, params, NULL, NULL, 0, tc);
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
    case S_SCHEDULE:
        return check_schedule(v, tc);
    case S_EARLY_STOPPING:
        tc->early_stopping = true;
        return check_call_setting(s, early_stopping_params, "early_stopping(patience=3)",
                                  "early_stopping: {patience: 3}", tc);
    case S_AUGMENT:
        tc->augment = true;
        return check_call_setting(s, augment_params, "augment(shift=2, rotation=10)",
                                  "augment: {shift: 2, rotation: 10}", tc);
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
        .weight_decay = 0.004,
        .rho = 0.9,
        .global_clipnorm = 0,
        .schedule = SCHED_CONSTANT,
        .factor = 0.1,
        .patience = 10,
        .min_delta = 1e-4,
        .min_lr = 0,
        .restore_best = true,
        .shift = 2,
        .rotation = 10,
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
        if (which != S_EARLY_STOPPING && which != S_AUGMENT && is_call_form(s)) {
            error_at(s->loc, "'%s' takes a value, written like '%s VALUE;', not a call", s->name, s->name);
            ok = false;
            continue;
        }
        if (!check_setting(which, s, tc)) {
            ok = false;
            if (which == S_DATASET || which == S_LOSS)
                *data_ok = false;
        }
    }
    /* What watches val_loss needs a validation set. */
    if (tc->validation == VALID_NONE) {
        if (tc->early_stopping && seen[S_EARLY_STOPPING]) {
            error_at(seen[S_EARLY_STOPPING]->loc, "early_stopping watches val_loss, but validation is none");
            if (seen[S_VALIDATION])
                note_at(seen[S_VALIDATION]->loc, "validation is set here; use test or split(0.1)");
            ok = false;
        }
        if (tc->schedule == SCHED_PLATEAU && seen[S_SCHEDULE]) {
            error_at(seen[S_SCHEDULE]->value.loc, "reduce_on_plateau watches val_loss, but validation is none");
            if (seen[S_VALIDATION])
                note_at(seen[S_VALIDATION]->loc, "validation is set here; use test or split(0.1)");
            ok = false;
        }
    }
    return ok;
}
