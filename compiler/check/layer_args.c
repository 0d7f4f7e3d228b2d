/*
 * check/layer_args.c - one layer's arguments, from the AST as written to resolved attributes.
 *
 *     conv2d(filters=32, kernel=3x5, padding=same, activation=relu);
 *
 * Every argument is matched against the kind's table (layer_table.c), checked for its type
 * and range, and the defaults of the contract fill in what was not given. All problems of a
 * layer are reported, not only the first.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "layers/layer.h"

/* Longer names would make unwieldy C identifiers; the same limit applies to model names. */
#define MAX_NAME_LEN 64

static bool check_positive(const Arg *a, long long v, int *out)
{
    if (v <= 0) {
        error_at(a->value.loc, "'%s' must be a positive integer, not %lld", a->name, v);
        return false;
    }
    if (v > INT_MAX) {
        error_at(a->value.loc, "'%s' is too large: %lld (at most %d)", a->name, v, INT_MAX);
        return false;
    }
    *out = (int)v;
    return true;
}

/* kernel=3 means 3x3; kernel=3x5 is 3 rows by 5 columns. */
static bool check_size2(const Arg *a, ArgValue *v)
{
    const Value *val = &a->value;
    if (val->kind == VAL_INT) {
        if (!check_positive(a, val->i, &v->h))
            return false;
        v->w = v->h;
        return true;
    }
    if (val->kind == VAL_SHAPE && val->ndims == 2) {
        if (val->dims[0] <= 0 || val->dims[1] <= 0) {
            error_at(val->loc, "'%s' must have positive sizes, not %lldx%lld", a->name,
                     val->dims[0], val->dims[1]);
            return false;
        }
        if (val->dims[0] > INT_MAX || val->dims[1] > INT_MAX) {
            error_at(val->loc, "'%s' is too large: %lldx%lld (at most %d in each direction)",
                     a->name, val->dims[0], val->dims[1], INT_MAX);
            return false;
        }
        v->h = (int)val->dims[0];
        v->w = (int)val->dims[1];
        return true;
    }
    error_at(val->loc, "'%s' must be a positive integer or an HxW size like 3x3", a->name);
    return false;
}

static bool check_enum(const Arg *a, const char *what, const char *const *names, int *out)
{
    if (a->value.kind != VAL_IDENT) {
        error_at(a->value.loc, "'%s' must be a name like '%s'", a->name, names[1]);
        return false;
    }
    int i = name_index(a->value.s, names);
    if (i < 0) {
        error_unknown(a->value.loc, what, a->value.s, names);
        return false;
    }
    *out = i;
    return true;
}

/* Layer names appear in generated C identifiers (conv2d_1_forward) and in checkpoints. */
static bool check_layer_name(const Arg *a, const char **out)
{
    const Value *val = &a->value;
    if (val->kind != VAL_IDENT && val->kind != VAL_STRING) {
        error_at(val->loc, "'name' must be an identifier like conv_a");
        return false;
    }
    const char *s = val->s ? val->s : "";
    if (!is_identifier(s)) {
        error_at(val->loc, "layer name '%.*s' is not a valid identifier ([A-Za-z_][A-Za-z0-9_]*)",
                 MAX_NAME_LEN, s);
        return false;
    }
    if (strlen(s) > MAX_NAME_LEN) {
        error_at(val->loc, "layer name '%.*s...' is too long (%zu characters; at most %d)",
                 MAX_NAME_LEN, s, strlen(s), MAX_NAME_LEN);
        return false;
    }
    if (strcmp(s, "input") == 0) {
        error_at(val->loc, "layer name 'input' is taken: from=input and with=input name the model's input");
        return false;
    }
    if (is_c_keyword(s) || strncmp(s, "__", 2) == 0) {
        error_at(val->loc, "layer name '%s' is reserved in C; the generated code uses it as an "
                 "identifier", s);
        return false;
    }
    *out = s;
    return true;
}

static bool check_arg_value(const ArgSpec *spec, const Arg *a, ArgValue *v)
{
    const Value *val = &a->value;
    switch (spec->type) {
    case ARG_COUNT:
        if (val->kind != VAL_INT) {
            error_at(val->loc, "'%s' must be a positive integer", a->name);
            return false;
        }
        return check_positive(a, val->i, &v->n);
    case ARG_SIZE2:
        return check_size2(a, v);
    case ARG_ACTIVATION:
        return check_enum(a, "activation", activation_names, &v->e);
    case ARG_PADDING:
        return check_enum(a, "padding", padding_names, &v->e);
    case ARG_BOOL:
        if (val->kind != VAL_BOOL) {
            error_at(val->loc, "'%s' must be true or false", a->name);
            return false;
        }
        v->b = val->i != 0;
        return true;
    case ARG_RATE:
        if (val->kind != VAL_INT && val->kind != VAL_REAL) {
            error_at(val->loc, "'%s' must be a number", a->name);
            return false;
        }
        if (!(val->r >= 0 && val->r < 1)) {
            error_at(val->loc, "'%s' must be at least 0 and less than 1, not %g", a->name,
                     val->r);
            return false;
        }
        v->r = val->r;
        return true;
    case ARG_INTEGER:
        if (val->kind != VAL_INT) {
            error_at(val->loc, "'%s' must be an integer", a->name);
            return false;
        }
        v->i = val->i;
        return true;
    case ARG_NAME:
        return check_layer_name(a, &v->s);
    case ARG_LAYER:
        if ((val->kind != VAL_IDENT && val->kind != VAL_STRING) || !is_identifier(val->s)) {
            error_at(val->loc, "'%s' must name a layer defined before this one, or input, as in %s=stem",
                     a->name, a->name);
            return false;
        }
        v->s = val->s;
        return true;
    case ARG_FRACTION:
    case ARG_POSITIVE:
        if ((val->kind != VAL_INT && val->kind != VAL_REAL) || !isfinite(val->r)) {
            error_at(val->loc, "'%s' must be a number", a->name);
            return false;
        }
        if (spec->type == ARG_FRACTION && !(val->r >= 0 && val->r <= 1)) {
            error_at(val->loc, "'%s' must be from 0 to 1, not %g", a->name, val->r);
            return false;
        }
        if (spec->type == ARG_POSITIVE && !(val->r > 0)) {
            error_at(val->loc, "'%s' must be greater than 0, not %g", a->name, val->r);
            return false;
        }
        v->r = val->r;
        return true;
    }
    unreachable();
}

/* Every kind also takes from=, which names the layer it reads instead of the one before it. */
static const ArgSpec from_arg = {"from", ARG_LAYER, false};

/* The names of a kind's arguments and from=, followed by NULL, for did_you_mean. */
static void arg_names(const ArgSpec *args, const char *names[MAX_LAYER_ARGS + 2])
{
    int n = 0;
    for (; args[n].name && n < MAX_LAYER_ARGS; n++)
        names[n] = args[n].name;
    names[n++] = from_arg.name;
    names[n] = NULL;
}

static int arg_index(const ArgSpec *args, const char *name)
{
    for (int i = 0; name && args[i].name; i++)
        if (strcmp(args[i].name, name) == 0)
            return i;
    return -1;
}

/* The first layer kind that takes an argument of this name, for a hint when another kind
 * was given it (dense(rate=0.5) meant a dropout). */
static const char *kind_taking(const char *arg_name)
{
    for (int k = 0; k < LAYER_KIND_COUNT; k++) {
        const LayerOps *ops = layer_ops((LayerKind)k);
        if (arg_index(ops->args, arg_name) >= 0)
            return ops->name;
    }
    return NULL;
}

/* Matches the given arguments to the kind's list (vals) and from= (*from): unknown names and
 * repeats are errors. */
static bool match_args(const AstLayer *al, const LayerOps *ops, ArgValue *vals, ArgValue *from)
{
    bool ok = true;
    const char *names[MAX_LAYER_ARGS + 2];
    arg_names(ops->args, names);
    for (int i = 0; i < al->nargs; i++) {
        const Arg *a = &al->args[i];
        if (!a->name) {
            error_at(a->value.loc, "arguments of %s are named, like %s=...", ops->name,
                     ops->args[0].name);
            ok = false;
            continue;
        }
        int k = arg_index(ops->args, a->name);
        ArgValue *slot = k >= 0 ? &vals[k] : NULL;
        const ArgSpec *spec = k >= 0 ? &ops->args[k] : NULL;
        if (k < 0 && strcmp(a->name, from_arg.name) == 0)
            slot = from, spec = &from_arg;
        if (slot == NULL) {
            const char *hint = did_you_mean(a->name, names);
            const char *owner = kind_taking(a->name);
            if (hint)
                error_at(a->name_loc, "unknown argument '%s' for %s; did you mean '%s'?",
                         a->name, ops->name, hint);
            else if (owner)
                error_at(a->name_loc, "unknown argument '%s' for %s; it belongs to %s",
                         a->name, ops->name, owner);
            else
                error_at(a->name_loc, "unknown argument '%s' for %s", a->name, ops->name);
            ok = false;
            continue;
        }
        if (slot->arg) {
            error_at(a->name_loc, "argument '%s' is given twice", a->name);
            note_at(slot->arg->name_loc, "'%s' was first given here", a->name);
            ok = false;
            continue;
        }
        slot->arg = a;
        slot->ok = check_arg_value(spec, a, slot);
        ok &= slot->ok;
    }
    for (int k = 0; ops->args[k].name; k++)
        if (ops->args[k].required && !vals[k].arg) {
            error_at(al->loc, "%s needs '%s'", ops->name, ops->args[k].name);
            ok = false;
        }
    return ok;
}

const ArgValue *arg_value(const ArgSpec *args, const ArgValue *vals, const char *name)
{
    int k = arg_index(args, name);
    if (k < 0)
        unreachable();
    return vals[k].ok ? &vals[k] : NULL;
}

char *default_layer_name(LayerKind kind, int ordinal)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s_%d", layer_ops(kind)->name, ordinal);
    return xstrdup(buf);
}

bool check_layer_args(const AstLayer *al, LayerKind kind, int ordinal, Layer *L, LayerSite *site)
{
    const LayerOps *ops = layer_ops(kind);
    ArgValue vals[MAX_LAYER_ARGS] = {{0}}, from = {0};
    bool ok = match_args(al, ops, vals, &from);

    L->kind = kind;
    L->loc = al->loc;
    const ArgValue *name = arg_value(ops->args, vals, "name");
    site->name_loc = name ? name->arg->value.loc : al->loc;
    if (name) {
        L->name = xstrdup(name->s);
    } else {
        L->name = default_layer_name(kind, ordinal);
    }

    site->act_loc = al->loc;
    int act = arg_index(ops->args, "activation");
    if (act >= 0 && vals[act].ok)
        site->act_loc = vals[act].arg->value.loc;
    site->from = from.ok ? &from.arg->value : NULL;
    int with = arg_index(ops->args, "with");
    site->with = with >= 0 && vals[with].ok ? &vals[with].arg->value : NULL;

    L->act = ACT_NONE;
    if (ops->resolve)
        ops->resolve(L, vals);
    return ok;
}
