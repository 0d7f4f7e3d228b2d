/*
 * front/yaml_reader.c - the YAML front end: a model file in YAML, read into the same Ast as a .cnn file.
 *
 *   model: mnist_cnn
 *   input: [28, 28, 1]
 *   layers:
 *     - conv2d: {filters: 32, kernel: 3, activation: relu}
 *     - flatten
 *   train:
 *     optimizer: {adam: {learning_rate: 0.001}}
 *
 * It walks libyaml's event stream and builds the AST as the events arrive, never libyaml's
 * document loader: the loader would expand aliases before we could refuse them, so a small
 * "billion laughs" file could take all the memory. Here an alias is an error the moment it
 * appears, nesting is capped, and every mistake is reported at its YAML line and column.
 *
 * Each read_* function starts with the current event at the first event of a node and leaves
 * it at the first event after that node, whatever it found; that invariant is what lets one
 * run report several errors and still stay in step with the stream.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cnnc.h"

/* Deeper than any model needs (a call inside a train setting is four levels) and shallow
 * enough that the recursion of read_value stays small. */
#define YAML_MAX_DEPTH 64

static const char *const top_keys[] = {"model", "input", "layers", "train", NULL};

typedef struct Reader {
    yaml_parser_t parser;
    yaml_event_t ev; /* the current event; type YAML_NO_EVENT once reading has stopped */
    bool stopped;    /* libyaml failed, or an alias, too deep a nesting, too many errors */
    int depth;       /* collections open around the current event */
    const char *file;
    const char *text;
    size_t len;
    int errors_at_start;
    Ast *ast;
} Reader;

/* ------------------------------------------------------------------ places */

static Loc mark_loc(const Reader *r, yaml_mark_t start, yaml_mark_t end)
{
    Loc loc = {r->file, (int)start.line + 1, (int)start.column + 1, 1};
    if (end.line == start.line && end.column > start.column)
        loc.len = (int)(end.column - start.column);
    return loc;
}

static Loc event_loc(const Reader *r)
{
    return mark_loc(r, r->ev.start_mark, r->ev.end_mark);
}

/* libyaml's reader errors (bad UTF-8, control characters such as NUL) carry a byte offset
 * rather than a line and column. */
static Loc offset_loc(const Reader *r, size_t offset)
{
    Loc loc = {r->file, 1, 1, 1};
    for (size_t i = 0; i < offset && i < r->len; i++) {
        if (r->text[i] == '\n') {
            loc.line++;
            loc.col = 1;
        } else {
            loc.col++;
        }
    }
    return loc;
}

/* The byte of the text at a libyaml mark (whose column counts characters), or -1. */
static int char_at_mark(const Reader *r, yaml_mark_t mark)
{
    size_t i = 0;
    for (size_t line = 0; line < mark.line; i++) {
        if (i >= r->len)
            return -1;
        if (r->text[i] == '\n')
            line++;
    }
    for (size_t col = 0; i < r->len; i++) {
        if (((unsigned char)r->text[i] & 0xC0) == 0x80)
            continue; /* a UTF-8 continuation byte belongs to the previous character */
        if (col++ == mark.column)
            return (unsigned char)r->text[i];
    }
    return -1;
}

/* ------------------------------------------------------------------ events */

static void report_libyaml_error(Reader *r)
{
    const yaml_parser_t *p = &r->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        error_at((Loc){r->file, 0, 0, 0}, "out of memory while reading YAML");
    } else if (p->error == YAML_READER_ERROR) {
        if (p->problem_value >= 0)
            error_at(offset_loc(r, p->problem_offset), "%s (0x%02X)", problem,
                     (unsigned)p->problem_value);
        else
            error_at(offset_loc(r, p->problem_offset), "%s", problem);
    } else {
        bool tab = char_at_mark(r, p->problem_mark) == '\t';
        error_at(mark_loc(r, p->problem_mark, p->problem_mark), "%s%s", problem,
                 tab ? "; YAML does not allow tabs in indentation" : "");
        if (p->context)
            note_at(mark_loc(r, p->context_mark, p->context_mark), "%s", p->context);
    }
}

static bool is_collection_start(yaml_event_type_t t)
{
    return t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT;
}

static bool is_collection_end(yaml_event_type_t t)
{
    return t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT;
}

static const char *event_tag(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.tag;
    case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.tag;
    case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.tag;
    default: return NULL;
    }
}

/* Moves to the next event. Returns false, with the current event emptied, once reading has
 * stopped; an error that stops reading has been reported by then. */
static bool advance(Reader *r)
{
    if (r->stopped)
        return false;
    yaml_event_delete(&r->ev);
    if (!yaml_parser_parse(&r->parser, &r->ev)) {
        report_libyaml_error(r);
        yaml_event_delete(&r->ev);
        r->stopped = true;
        return false;
    }
    yaml_event_type_t t = r->ev.type;
    if (t == YAML_ALIAS_EVENT) {
        error_at(event_loc(r), "YAML aliases are not supported; write the value out in full");
        r->stopped = true;
    } else if (is_collection_start(t) && ++r->depth > YAML_MAX_DEPTH) {
        error_at(event_loc(r), "YAML nested deeper than %d levels", YAML_MAX_DEPTH);
        r->stopped = true;
    } else if (is_collection_end(t)) {
        r->depth--;
    } else if (event_tag(&r->ev)) {
        error_at(event_loc(r), "YAML tags such as '%.40s' are not supported", event_tag(&r->ev));
    }
    /* A binary or generated file could otherwise keep us busy long after diag stops printing. */
    if (diag_error_count() - r->errors_at_start >= DIAG_MAX_ERRORS)
        r->stopped = true;
    if (r->stopped) {
        yaml_event_delete(&r->ev);
        return false;
    }
    return true;
}

/* Skips the node that starts at the current event, with everything nested in it. */
static void skip_node(Reader *r)
{
    int level = 0;
    do {
        yaml_event_type_t t = r->ev.type;
        if (is_collection_start(t))
            level++;
        else if (is_collection_end(t))
            level--;
        if (!advance(r))
            return;
    } while (level > 0);
}

/* Skips the remaining keys and values of a mapping, then its end. */
static void skip_rest_of_mapping(Reader *r)
{
    while (!r->stopped && r->ev.type != YAML_MAPPING_END_EVENT)
        skip_node(r);
    advance(r);
}

/* ------------------------------------------------------------------ scalars */

/* libyaml may leave the value of an empty scalar NULL. */
static const char *scalar_text(const Reader *r)
{
    const char *s = (const char *)r->ev.data.scalar.value;
    return s ? s : "";
}

static bool scalar_is_plain(const Reader *r)
{
    return r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* `key:` with nothing after it, `~` or `null`: YAML's null. */
static bool at_null(const Reader *r)
{
    if (r->ev.type != YAML_SCALAR_EVENT || !scalar_is_plain(r))
        return false;
    const char *s = scalar_text(r);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *node_kind(const Reader *r)
{
    switch (r->ev.type) {
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SEQUENCE_START_EVENT: return "a sequence";
    default: return at_null(r) ? "an empty value" : "a scalar";
    }
}

static bool is_identifier(const char *s)
{
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* Reads the current scalar (not null) as a value, following the .cnn form's lexical rules:
 * quoted text is a string; plain text is a boolean, a number, a shape or a name.
 * Does not advance. Returns false after reporting why it is none of these. */
static bool scalar_value(Reader *r, Value *v)
{
    const char *s = scalar_text(r);
    size_t n = r->ev.data.scalar.length;
    memset(v, 0, sizeof *v);
    v->loc = event_loc(r);
    if (!scalar_is_plain(r)) {
        if (memchr(s, '\0', n)) {
            error_at(v->loc, "a string may not contain a NUL character");
            return false;
        }
        v->kind = VAL_STRING;
        v->s = xstrndup(s, n);
        return true;
    }
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        v->kind = VAL_BOOL;
        v->i = 1;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        v->kind = VAL_BOOL;
        return true;
    }
    char why[256];
    switch (number_read(s, n, v, why, sizeof why)) {
    case NUMBER_OK:
        return true;
    case NUMBER_MALFORMED:
    case NUMBER_RANGE:
        error_at(v->loc, "%s", why);
        return false;
    case NUMBER_NOT:
        break;
    }
    if (is_identifier(s)) {
        v->kind = VAL_IDENT;
        v->s = xstrdup(s);
        return true;
    }
    error_at(v->loc,
             "'%.40s' is not a number, a name, a shape or a boolean; quote it if it is a string",
             s);
    return false;
}

/* Reads a scalar that names something (a key, a layer kind, the model), quoted or not.
 * Advances past the node either way; returns false after reporting a node that is no name. */
static bool read_name(Reader *r, const char *what, char **name, Loc *loc)
{
    if (r->stopped)
        return false;
    *loc = event_loc(r);
    if (r->ev.type != YAML_SCALAR_EVENT || !is_identifier(scalar_text(r))) {
        if (r->ev.type == YAML_SCALAR_EVENT && !at_null(r))
            error_at(*loc, "expected %s, but found '%.40s'", what, scalar_text(r));
        else
            error_at(*loc, "expected %s, but found %s", what, node_kind(r));
        skip_node(r);
        return false;
    }
    *name = xstrdup(scalar_text(r));
    advance(r);
    return true;
}

/* ------------------------------------------------------------------ mapping keys */

/* The keys met so far in one mapping: an open-addressing hash set, so that a mapping with very
 * many keys costs linear time. */
typedef struct KeySet {
    char **names;
    Loc *locs;
    size_t cap, count;
} KeySet;

static size_t hash_name(const char *s)
{
    size_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static size_t keyset_slot(const KeySet *ks, const char *name)
{
    size_t i = hash_name(name) & (ks->cap - 1);
    while (ks->names[i] && strcmp(ks->names[i], name))
        i = (i + 1) & (ks->cap - 1);
    return i;
}

static void keyset_grow(KeySet *ks)
{
    KeySet bigger = {xcalloc(ks->cap ? ks->cap * 2 : 16, sizeof(char *)), NULL,
                     ks->cap ? ks->cap * 2 : 16, ks->count};
    bigger.locs = xcalloc(bigger.cap, sizeof(Loc));
    for (size_t i = 0; i < ks->cap; i++) {
        if (ks->names[i]) {
            size_t j = keyset_slot(&bigger, ks->names[i]);
            bigger.names[j] = ks->names[i];
            bigger.locs[j] = ks->locs[i];
        }
    }
    free(ks->names);
    free(ks->locs);
    *ks = bigger;
}

/* Adds a key. Returns NULL when it is new, else where it was first given. */
static const Loc *keyset_add(KeySet *ks, const char *name, Loc loc)
{
    if (ks->cap) {
        size_t i = keyset_slot(ks, name);
        if (ks->names[i])
            return &ks->locs[i];
    }
    if (2 * (ks->count + 1) > ks->cap)
        keyset_grow(ks);
    size_t i = keyset_slot(ks, name);
    ks->names[i] = xstrdup(name);
    ks->locs[i] = loc;
    ks->count++;
    return NULL;
}

static void keyset_free(KeySet *ks)
{
    for (size_t i = 0; i < ks->cap; i++)
        free(ks->names[i]);
    free(ks->names);
    free(ks->locs);
}

/* Reads the next key of a mapping whose start has been consumed. Returns true with the key
 * (owned by the caller) when its value is the current event; false once the mapping's end has
 * been consumed or reading has stopped. Keys that are not names, and keys given twice, are
 * reported and skipped with their values. */
static bool next_key(Reader *r, KeySet *seen, char **name, Loc *loc)
{
    for (;;) {
        if (r->stopped)
            return false;
        if (r->ev.type == YAML_MAPPING_END_EVENT) {
            advance(r);
            return false;
        }
        if (!read_name(r, "a key (a name like 'filters')", name, loc)) {
            skip_node(r);
            continue;
        }
        const Loc *first = keyset_add(seen, *name, *loc);
        if (!first)
            return true;
        error_at(*loc, "duplicate key '%s'", *name);
        note_at(*first, "'%s' was first given here", *name);
        free(*name);
        skip_node(r);
    }
}

/* ------------------------------------------------------------------ values */

static bool read_value(Reader *r, const char *owner, Loc owner_loc, Value *v);

/* A sequence of integers as a value is a shape: `kernel: [3, 5]`, `input: [28, 28, 1]`. */
static bool read_shape(Reader *r, Value *v)
{
    yaml_mark_t start = r->ev.start_mark;
    bool ok = true;
    memset(v, 0, sizeof *v);
    v->kind = VAL_SHAPE;
    v->loc = event_loc(r);
    advance(r);
    while (!r->stopped && r->ev.type != YAML_SEQUENCE_END_EVENT) {
        Value d;
        Loc loc = event_loc(r);
        if (r->ev.type != YAML_SCALAR_EVENT || at_null(r)) {
            error_at(loc, "a shape is a sequence of integers like [28, 28, 1], but this item is %s",
                     node_kind(r));
            ok = false;
            skip_node(r);
            continue;
        }
        if (!scalar_value(r, &d)) {
            ok = false;
        } else if (d.kind != VAL_INT) {
            error_at(loc,
                     "a shape is a sequence of integers like [28, 28, 1], but this item is '%.40s'",
                     scalar_text(r));
            value_free(&d);
            ok = false;
        } else if (v->ndims == MAX_SHAPE_DIMS) {
            error_at(loc, "a shape has at most %d dimensions", MAX_SHAPE_DIMS);
            ok = false;
        } else {
            v->dims[v->ndims++] = d.i;
        }
        advance(r);
    }
    if (r->stopped)
        return false;
    v->loc = mark_loc(r, start, r->ev.end_mark);
    advance(r);
    if (ok && v->ndims == 0) {
        error_at(v->loc, "a shape needs at least one dimension");
        ok = false;
    }
    return ok;
}

/* Adds the named arguments of a mapping, `{learning_rate: 0.001, momentum: 0.9}`, to a call or
 * (through add) a layer. The mapping's start is the current event. */
static bool read_args(Reader *r, void (*add)(void *, Arg), void *target)
{
    KeySet seen = {0};
    char *name;
    Loc loc;
    bool ok = true;
    advance(r);
    while (next_key(r, &seen, &name, &loc)) {
        Arg arg = {name, loc, {0}};
        if (read_value(r, name, loc, &arg.value)) {
            add(target, arg);
        } else {
            ok = false;
            free(name);
            value_free(&arg.value);
        }
    }
    keyset_free(&seen);
    return ok && !r->stopped;
}

static void add_call_item(void *call, Arg item)
{
    value_call_add_item(call, item);
}

static void add_layer_arg(void *layer, Arg arg)
{
    ast_layer_add_arg(layer, arg);
}

/* A call is a mapping with one key, the callee:
 *   {adam: {learning_rate: 0.001}}   adam(learning_rate=0.001)
 *   {adam: null}, {sgd: {}}          adam(), sgd()
 *   {split: 0.1}                     split(0.1)
 *   {idx: ["a", "b", "c", "d"]}      idx("a", "b", "c", "d")                                  */
static bool read_call(Reader *r, Value *v)
{
    Loc map_loc = event_loc(r);
    bool ok = true;
    memset(v, 0, sizeof *v);
    advance(r);
    if (r->ev.type == YAML_MAPPING_END_EVENT) {
        error_at(map_loc,
                 "an empty mapping is not a value; write a call as {name: {argument: value}}");
        advance(r);
        return false;
    }
    if (!read_name(r, "the name of a call (like 'adam')", &v->s, &v->loc)) {
        skip_rest_of_mapping(r);
        return false;
    }
    v->kind = VAL_CALL;
    if (r->ev.type == YAML_MAPPING_START_EVENT) {
        ok = read_args(r, add_call_item, v);
    } else if (r->ev.type == YAML_SEQUENCE_START_EVENT) {
        advance(r);
        while (!r->stopped && r->ev.type != YAML_SEQUENCE_END_EVENT) {
            Arg item = {NULL, event_loc(r), {0}};
            if (read_value(r, v->s, v->loc, &item.value)) {
                value_call_add_item(v, item);
            } else {
                ok = false;
                value_free(&item.value);
            }
        }
        advance(r);
    } else if (at_null(r)) {
        advance(r);
    } else {
        Arg item = {NULL, event_loc(r), {0}};
        if (scalar_value(r, &item.value)) {
            value_call_add_item(v, item);
        } else {
            ok = false;
            value_free(&item.value);
        }
        advance(r);
    }
    if (!r->stopped && r->ev.type != YAML_MAPPING_END_EVENT) {
        Loc extra = event_loc(r);
        if (r->ev.type == YAML_SCALAR_EVENT)
            error_at(extra,
                     "a call is a mapping with one key, its name; '%.40s' is a second key (write "
                     "{%s: {%.40s: ...}})",
                     scalar_text(r), v->s, scalar_text(r));
        else
            error_at(extra, "a call is a mapping with one key, its name");
        ok = false;
    }
    skip_rest_of_mapping(r);
    return ok && !r->stopped;
}

/* value := scalar | shape | call. `owner` names what the value is for, in messages. */
static bool read_value(Reader *r, const char *owner, Loc owner_loc, Value *v)
{
    memset(v, 0, sizeof *v);
    if (r->stopped)
        return false;
    switch (r->ev.type) {
    case YAML_SEQUENCE_START_EVENT: return read_shape(r, v);
    case YAML_MAPPING_START_EVENT: return read_call(r, v);
    case YAML_SCALAR_EVENT:
        if (at_null(r)) {
            error_at(owner_loc, "'%s' has no value", owner);
            advance(r);
            return false;
        } else {
            bool ok = scalar_value(r, v);
            return advance(r) && ok;
        }
    default: unreachable();
    }
}

/* ------------------------------------------------------------------ the model */

/* model: mnist_cnn */
static void read_model_name(Reader *r)
{
    char *name;
    Loc loc;
    if (!read_name(r, "the model's name (a name like 'mnist_cnn')", &name, &loc))
        return;
    free(r->ast->model_name);
    r->ast->model_name = name;
    r->ast->model_loc = loc;
    r->ast->has_model = true;
}

/* input: [28, 28, 1] */
static void read_input(Reader *r, Loc key_loc)
{
    Value v;
    if (r->ev.type == YAML_MAPPING_START_EVENT) {
        error_at(event_loc(r),
                 "'input' is a shape like [28, 28, 1] (height, width, channels), not a mapping");
        skip_node(r);
        return;
    }
    if (!read_value(r, "input", key_loc, &v)) {
        value_free(&v);
        return;
    }
    if (v.kind != VAL_SHAPE) {
        error_at(v.loc, "'input' is a shape like [28, 28, 1] (height, width, channels)");
        value_free(&v);
        return;
    }
    r->ast->input = v;
    r->ast->has_input = true;
}

/* The value under a layer's kind: `{filters: 32, kernel: 3}`, or nothing. Returns false after
 * reporting a mistake in it. */
static bool read_layer_args(Reader *r, AstLayer *layer)
{
    if (r->stopped)
        return false;
    if (r->ev.type == YAML_MAPPING_START_EVENT)
        return read_args(r, add_layer_arg, layer);
    if (at_null(r))
        return advance(r);
    error_at(event_loc(r),
             "the arguments of '%s' are a mapping like {filters: 32, kernel: 3}, not %s",
             layer->kind, node_kind(r));
    skip_node(r);
    return false;
}

static void free_layer(AstLayer *layer)
{
    free(layer->kind);
    for (int i = 0; i < layer->nargs; i++) {
        free(layer->args[i].name);
        value_free(&layer->args[i].value);
    }
    free(layer->args);
}

/* One item of `layers`:
 *   - flatten
 *   - conv2d: {filters: 32, kernel: 3, activation: relu}
 * A layer with a mistake in it is reported here and left out of the AST, as the .cnn parser
 * leaves out a layer with a syntax error: the checker would otherwise add that a required
 * argument is missing when it was only misspelt. */
static void read_layer(Reader *r)
{
    AstLayer layer = {0};
    if (r->stopped)
        return;
    if (r->ev.type == YAML_SCALAR_EVENT) {
        if (read_name(r, "a layer (a name like 'flatten')", &layer.kind, &layer.loc) && !r->stopped)
            ast_add_layer(r->ast, layer.kind, layer.loc);
        else
            free_layer(&layer);
        return;
    }
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        error_at(
            event_loc(r),
            "a layer is a name like 'flatten' or a mapping like 'conv2d: {filters: 32}', not %s",
            node_kind(r));
        skip_node(r);
        return;
    }
    Loc map_loc = event_loc(r);
    advance(r);
    if (r->ev.type == YAML_MAPPING_END_EVENT) {
        error_at(map_loc, "an empty mapping is not a layer");
        advance(r);
        return;
    }
    if (!read_name(r, "a layer kind (a name like 'conv2d')", &layer.kind, &layer.loc)) {
        skip_rest_of_mapping(r);
        return;
    }
    bool ok = read_layer_args(r, &layer);
    if (!r->stopped && r->ev.type != YAML_MAPPING_END_EVENT) {
        const char *k = layer.kind;
        if (r->ev.type == YAML_SCALAR_EVENT)
            error_at(
                event_loc(r),
                "a layer is a mapping with one key, its kind; if '%.40s' is an argument of '%s', "
                "indent it under '%s:' or write '%s: {%.40s: ...}'",
                scalar_text(r), k, k, k, scalar_text(r));
        else
            error_at(event_loc(r), "a layer is a mapping with one key, its kind");
        ok = false;
    }
    skip_rest_of_mapping(r);
    if (ok && !r->stopped) {
        AstLayer *added = ast_add_layer(r->ast, layer.kind, layer.loc);
        added->args = layer.args;
        added->nargs = layer.nargs;
    } else {
        free_layer(&layer);
    }
}

/* layers: a sequence of layers. */
static void read_layers(Reader *r, Loc key_loc)
{
    if (r->stopped)
        return;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT) {
        error_at(
            at_null(r) ? key_loc : event_loc(r),
            "'layers' is a sequence of layers like '- conv2d: {filters: 32, kernel: 3}', not %s",
            node_kind(r));
        skip_node(r);
        return;
    }
    int items = 0;
    advance(r);
    for (; !r->stopped && r->ev.type != YAML_SEQUENCE_END_EVENT; items++)
        read_layer(r);
    advance(r);
    if (!r->stopped && items == 0)
        error_at(key_loc, "the model has no layers");
}

/* train: a mapping of settings, `epochs: 5`, `optimizer: {adam: {learning_rate: 0.001}}`. */
static void read_train(Reader *r, Loc key_loc)
{
    r->ast->has_train = true;
    r->ast->train_loc = key_loc;
    if (r->stopped)
        return;
    if (at_null(r)) {
        advance(r);
        return;
    }
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        error_at(event_loc(r), "'train' is a mapping of settings like 'epochs: 5', not %s",
                 node_kind(r));
        skip_node(r);
        return;
    }
    KeySet seen = {0};
    char *name;
    Loc loc;
    advance(r);
    while (next_key(r, &seen, &name, &loc)) {
        Value v;
        bool read;
        /* early_stopping and augment are calls on their own in a .cnn file; their YAML map
         * holds the call's arguments: `augment: {shift: 2}` is `augment(shift=2);`. */
        if ((strcmp(name, "early_stopping") == 0 || strcmp(name, "augment") == 0) &&
            r->ev.type == YAML_MAPPING_START_EVENT) {
            v = (Value){.kind = VAL_CALL, .loc = loc, .s = xstrdup(name)};
            read = read_args(r, add_call_item, &v);
        } else {
            read = read_value(r, name, loc, &v);
        }
        if (read) {
            ast_add_setting(r->ast, name, loc, v);
        } else {
            value_free(&v);
            free(name);
        }
    }
    keyset_free(&seen);
}

/* The document: a mapping with the keys model, input, layers and train. */
static void read_document(Reader *r)
{
    if (r->stopped)
        return;
    if (r->ev.type != YAML_MAPPING_START_EVENT) {
        error_at(
            event_loc(r),
            "a model in YAML is a mapping with the keys 'model', 'input', 'layers' and 'train', "
            "not %s",
            node_kind(r));
        skip_node(r);
        return;
    }
    Loc top = event_loc(r);
    KeySet seen = {0};
    char *key;
    Loc loc;
    advance(r);
    while (next_key(r, &seen, &key, &loc)) {
        if (!strcmp(key, "model")) {
            read_model_name(r);
        } else if (!strcmp(key, "input")) {
            read_input(r, loc);
        } else if (!strcmp(key, "layers")) {
            read_layers(r, loc);
        } else if (!strcmp(key, "train")) {
            read_train(r, loc);
        } else {
            const char *guess = did_you_mean(key, top_keys);
            if (guess) {
                error_at(loc, "unknown key '%s'; did you mean '%s'?", key, guess);
                /* The misspelt key stands for the right one: no second error says it is missing. */
                keyset_add(&seen, guess, loc);
            } else {
                error_at(
                    loc,
                    "unknown key '%s'; a model has the keys 'model', 'input', 'layers' and 'train'",
                    key);
            }
            skip_node(r);
        }
        free(key);
    }
    if (!r->stopped) {
        /* A key that was given but held a mistake has been reported already. */
        for (int i = 0; i < 3; i++)
            if (!keyset_add(&seen, top_keys[i], top))
                error_at(top, "the model has no '%s' key", top_keys[i]);
    }
    keyset_free(&seen);
}

Ast *parse_yaml_text(const char *file, const char *text, size_t len)
{
    Reader r = {.file = file, .text = text, .len = len, .errors_at_start = diag_error_count()};
    diag_add_source(file, text, len);
    r.ast = ast_new(file);
    if (!yaml_parser_initialize(&r.parser)) {
        error_at((Loc){file, 0, 0, 0}, "out of memory while reading YAML");
        return r.ast;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    if (advance(&r) && r.ev.type == YAML_STREAM_START_EVENT)
        advance(&r);
    if (r.ev.type == YAML_STREAM_END_EVENT) {
        error_at((Loc){file, 0, 0, 0},
                 "the file is empty; a model has the keys 'model', 'input', 'layers' and 'train'");
    } else if (r.ev.type == YAML_DOCUMENT_START_EVENT) {
        advance(&r);
        read_document(&r);
        if (r.ev.type == YAML_DOCUMENT_END_EVENT)
            advance(&r);
        if (r.ev.type == YAML_DOCUMENT_START_EVENT)
            error_at(event_loc(&r), "a model file holds one YAML document; this is a second one");
    }
    yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.parser);
    return r.ast;
}

Ast *parse_yaml_file(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        error_plain("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    /* The text stays alive to the end: diagnostics show its lines. */
    return parse_yaml_text(path, text, len);
}
