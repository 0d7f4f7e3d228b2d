/*
 * front/parse.c - runs the .cnn scanner and parser over a file, keeps the block bookkeeping
 * that the grammar's actions call (one model block, at most one train block, the input
 * shape first), and picks the front end for a model file by its extension.
 */
#include "cnnc.h"
#include "parser.h"
#include "lexer.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

Loc parse_loc(const ParseCtx *ctx, const YYLTYPE *l)
{
    int len = l->last_line == l->first_line ? l->last_column - l->first_column : 1;
    return (Loc){ctx->file, l->first_line, l->first_column, len > 0 ? len : 1};
}

/* model NAME { ... }: a second model block is reported and parsed into a scratch AST,
 * so that its own errors are still found but it cannot change the first. So is a block
 * whose name is missing or malformed, which the checker would only report again. */
void parse_model_begin(ParseCtx *ctx, char *name, Loc name_loc, Loc kw_loc)
{
    bool bad_name = !name || ctx->poisoned;
    ctx->poisoned = false;
    if (bad_name || ctx->ast->has_model) {
        if (!bad_name) {
            error_at(kw_loc, "a second model block; a model file holds one model");
            note_at(ctx->first_model, "the first model block is here");
        }
        ast_free(ctx->scratch_model);
        ctx->scratch_model = ast_new(ctx->file);
        ctx->model_into = ctx->scratch_model;
    } else {
        ctx->first_model = kw_loc;
        ctx->model_into = ctx->ast;
    }
    ctx->model_into->has_model = true;
    ctx->model_into->model_name = name;
    ctx->model_into->model_loc = name_loc;
}

/* input 28x28x1; what the value must be is the checker's to say, for both front ends;
 * where the line is and how often it appears only the .cnn grammar can tell. */
void parse_model_input(ParseCtx *ctx, Value shape, Loc kw_loc)
{
    Ast *a = ctx->model_into;
    if (ctx->poisoned) {
        ctx->poisoned = false;
        value_free(&shape);
        return;
    }
    if (a->has_input) {
        error_at(kw_loc, "the input shape is given twice");
        note_at(a->input.loc, "first given here");
        value_free(&shape);
        return;
    }
    if (a->nlayers > 0)
        error_at(kw_loc, "the input shape must come before the layers");
    a->has_input = true;
    a->input = shape;
}

void parse_layer_begin(ParseCtx *ctx, char *kind, Loc loc)
{
    ast_add_layer(ctx->model_into, kind, loc);
    ctx->layer_open = true;
}

static void drop_last_layer(Ast *a)
{
    AstLayer *l = &a->layers[--a->nlayers];
    free(l->kind);
    for (int i = 0; i < l->nargs; i++) {
        free(l->args[i].name);
        value_free(&l->args[i].value);
    }
    free(l->args);
}

/* The ';' after a layer. */
void parse_layer_end(ParseCtx *ctx)
{
    if (ctx->poisoned)
        drop_last_layer(ctx->model_into);
    ctx->layer_open = false;
    ctx->poisoned = false;
}

/* Error recovery skipped to the end of a statement or block. */
void parse_statement_error(ParseCtx *ctx)
{
    if (ctx->layer_open)
        drop_last_layer(ctx->model_into);
    ctx->layer_open = false;
    ctx->poisoned = false;
}

void parse_layer_arg(ParseCtx *ctx, Arg arg)
{
    Ast *a = ctx->model_into;
    ast_layer_add_arg(&a->layers[a->nlayers - 1], arg);
}

/* train { ... }: a second train block goes to a scratch AST, like a second model. */
void parse_train_begin(ParseCtx *ctx, Loc kw_loc)
{
    if (ctx->ast->has_train) {
        error_at(kw_loc, "a second train block; a model file holds one");
        note_at(ctx->first_train, "the first train block is here");
        ast_free(ctx->scratch_train);
        ctx->scratch_train = ast_new(ctx->file);
        ctx->train_into = ctx->scratch_train;
    } else {
        ctx->first_train = kw_loc;
        ctx->train_into = ctx->ast;
    }
    ctx->train_into->has_train = true;
    ctx->train_into->train_loc = kw_loc;
}

void parse_setting(ParseCtx *ctx, char *name, Loc loc, Value value)
{
    if (ctx->poisoned) {
        free(name);
        value_free(&value);
    } else {
        ast_add_setting(ctx->train_into, name, loc, value);
    }
    ctx->poisoned = false;
}

/* Reports what the grammar cannot see: an empty file, or a file without a model block. */
static void check_blocks(const ParseCtx *ctx)
{
    if (ctx->ntokens == 0)
        error_at((Loc){ctx->file, 1, 1, 1}, "empty model file; it needs a 'model' block");
    else if (!ctx->ast->has_model && ctx->ast->has_train)
        error_at(ctx->first_train, "a train block without a model block");
}

Ast *parse_cnn_text(const char *file, const char *text, size_t len)
{
    diag_add_source(file, text, len);
    /* On the heap: the scanner's fatal errors longjmp back here, and a local would have
     * an indeterminate value afterwards. */
    ParseCtx *ctx = xcalloc(1, sizeof *ctx);
    *ctx = (ParseCtx){.file = file, .ast = ast_new(file), .line = 1, .col = 1};
    if (len > INT_MAX / 2) {
        error_plain("%s: file too large", file);
        Ast *ast = ctx->ast;
        free(ctx);
        return ast;
    }
    int errors_before = diag_error_count();
    yyscan_t scanner;
    if (yylex_init_extra(ctx, &scanner) != 0)
        cnnc_internal_error(__FILE__, __LINE__);
    if (setjmp(ctx->bail) == 0) {
        yy_scan_bytes(text, (int)len, scanner);
        yyparse(scanner, ctx);
    }
    /* The parse gave up (at the end of the file) inside a layer. */
    if (ctx->layer_open)
        drop_last_layer(ctx->model_into);
    yylex_destroy(scanner);
    if (diag_error_count() == errors_before)
        check_blocks(ctx);
    Ast *ast = ctx->ast;
    ast_free(ctx->scratch_model);
    ast_free(ctx->scratch_train);
    free(ctx);
    return ast;
}

Ast *parse_cnn_file(const char *path)
{
    size_t len;
    /* The text is never freed: diagnostics quote it until the program exits. */
    char *text = read_file(path, &len);
    if (!text) {
        error_plain("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    return parse_cnn_text(path, text, len);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

Ast *parse_model_file(const char *path)
{
    if (has_suffix(path, ".yaml") || has_suffix(path, ".yml"))
        return parse_yaml_file(path);
    return parse_cnn_file(path);
}
