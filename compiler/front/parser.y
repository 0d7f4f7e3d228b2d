/*
 * front/parser.y - the grammar of a .cnn model file (the contract, section 1).
 *
 * Actions are one-liners: block bookkeeping lives in parse.c, AST building in ast.c.
 * Error recovery resynchronises at ';' and '}' so that one run reports every syntax error.
 * Only a statement's recovery (at ';') turns messages back on at once; after a block's
 * (at '}') bison waits for three good tokens, so that a run of stray braces gives one error
 * rather than one each. Syntax errors are worded by yyreport_syntax_error below.
 */

%code requires {
#include <setjmp.h>

#include "cnnc.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* The state that one parse shares between the scanner, the grammar and parse.c. */
typedef struct ParseCtx {
    const char *file;
    Ast *ast;              /* the result */
    Ast *scratch_model;    /* receives a second model block, which is reported, then dropped */
    Ast *scratch_train;    /* likewise for a second train block */
    Ast *model_into;       /* where the current model block's items go: ast or scratch */
    Ast *train_into;       /* likewise for the train block */
    Loc first_model;       /* the first 'model' and 'train' keywords, for notes on duplicates */
    Loc first_train;
    /* Only what parsed cleanly reaches the checker, so that it does not report the
     * consequences of syntax errors: a layer cut short by one is dropped, and so is a
     * statement holding a token the scanner rejected (a malformed number, say). */
    bool layer_open;       /* the model's last layer is still being parsed */
    bool poisoned;         /* the scanner rejected a token of the current statement */

    /* The scanner's position: the next byte is at line:col (1-based). */
    int line, col;
    int ntokens;           /* tokens handed to the parser, to tell an empty file apart */
    int paren_depth;       /* calls nest; beyond MAX_CALL_NESTING tokens are skipped */
    bool nesting_reported;
    int brace_depth;
    Loc open_brace;        /* the outermost unclosed '{', for "expected '}'" */
    int block;             /* the block being read: 0, TOK_MODEL or TOK_TRAIN */
    int pending_block;     /* the keyword seen before the next '{' */
    bool at_stmt_start;
    const char *stmt;      /* what the current statement is: "layer", "setting", "input shape" */

    /* The last token handed to the parser (the lookahead when a syntax error is found). */
    char tok_text[48];
    char prev_text[48];    /* the token before it */
    bool tok_unterminated;  /* it is a string that ran to the end of its line */
    bool prev_unterminated; /* the token before it was */
    int tok_end_line, tok_end_col;
    int prev_end_line, prev_end_col; /* where the token before it ended */

    jmp_buf bail;          /* the scanner's fatal errors jump back to parse_cnn_text */
} ParseCtx;
}

%code provides {
/* Calls nested deeper than this are reported once and skipped, which bounds the parser's
 * stack and the recursion of value_free and ast_dump. */
#define MAX_CALL_NESTING 64

Loc parse_loc(const ParseCtx *ctx, const YYLTYPE *l);
void parse_model_begin(ParseCtx *ctx, char *name, Loc name_loc, Loc kw_loc);
void parse_model_input(ParseCtx *ctx, Value shape, Loc kw_loc);
void parse_layer_begin(ParseCtx *ctx, char *kind, Loc loc);
void parse_layer_arg(ParseCtx *ctx, Arg arg);
void parse_layer_end(ParseCtx *ctx);
void parse_statement_error(ParseCtx *ctx);
void parse_train_begin(ParseCtx *ctx, Loc kw_loc);
void parse_setting(ParseCtx *ctx, char *name, Loc loc, Value value);
int yylex(YYSTYPE *yylval_param, YYLTYPE *yylloc_param, yyscan_t yyscanner);
}

%code {
#include <stdlib.h>
#include <string.h>

/* The grammar never nests deeper than MAX_CALL_NESTING calls, a few states each. */
#define YYMAXDEPTH 2000
#define LOC(l) parse_loc(ctx, &(l))

static void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg);
}

%define api.pure full
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {ParseCtx *ctx}

%union {
    char *str;
    Value val;
    Arg arg;
}

%token MODEL "'model'" INPUT "'input'" TRAIN "'train'"
%token LBRACE "'{'" RBRACE "'}'" LPAREN "'('" RPAREN "')'"
%token SEMI "';'" COMMA "','" EQUALS "'='"
/* Never valid, but common habits from YAML and Python (`units: 10`, `input [28, 28, 1]`):
 * as tokens they get one clear syntax error instead of a stray character and a cascade. */
%token COLON "':'" LBRACKET "'['" RBRACKET "']'"
%token <str> IDENT "identifier"
%token <val> INT "integer" REAL "real number" SHAPE "shape" STRING "string" BOOL "boolean"

%type <val> value call call_open call_items
%type <arg> arg item

%destructor { free($$); } <str>
%destructor { value_free(&$$); } <val>
%destructor { free($$.name); value_free(&$$.value); } <arg>

%%

/* file := model_block [train_block] | train_block model_block; duplicates are reported
 * by parse.c, so the grammar accepts any sequence of blocks. */
file: %empty
    | file block
    ;

block: model_block
     | train_block
     | error "'}'"                                   { parse_statement_error(ctx); }
     ;

/* model := 'model' IDENT '{' 'input' SHAPE ';' layer+ '}' */
model_block: model_head "'{'" model_body "'}'"
           | model_head "'{'" model_body error "'}'"  { parse_statement_error(ctx); }
           ;

model_head: "'model'" IDENT                          { parse_model_begin(ctx, $2, LOC(@2), LOC(@1)); }
          | "'model'" error                          { parse_model_begin(ctx, NULL, LOC(@1), LOC(@1)); }
          ;

model_body: %empty
          | model_body model_stmt
          ;

model_stmt: "'input'" value "';'"                    { parse_model_input(ctx, $2, LOC(@1)); }
          | layer_head layer_args "';'"              { parse_layer_end(ctx); }
          | error "';'"                              { yyerrok; parse_statement_error(ctx); }
          ;

/* layer := KIND [ '(' [arg (',' arg)*] ')' ] ';' */
layer_head: IDENT                                    { parse_layer_begin(ctx, $1, LOC(@1)); }
          ;

layer_args: %empty
          | "'('" "')'"
          | "'('" layer_arg_list "')'"
          ;

layer_arg_list: arg                                  { parse_layer_arg(ctx, $1); }
              | layer_arg_list "','" arg             { parse_layer_arg(ctx, $3); }
              ;

/* arg := IDENT '=' value */
arg: IDENT "'='" value                               { $$ = (Arg){.name = $1, .name_loc = LOC(@1), .value = $3}; }
   ;

/* train := 'train' '{' setting* '}' */
train_block: train_head "'{'" settings "'}'"
           | train_head "'{'" settings error "'}'"   { parse_statement_error(ctx); }
           ;

train_head: "'train'"                                { parse_train_begin(ctx, LOC(@1)); }
          ;

settings: %empty
        | settings setting
        ;

/* setting := IDENT value ';' | call ';' (early_stopping(...), augment(...): the call is the
 * setting's name and its value) */
setting: IDENT value "';'"                           { parse_setting(ctx, $1, LOC(@1), $2); }
       | call "';'"                                  { parse_setting(ctx, xstrdup($1.s), $1.loc, $1); }
       | error "';'"                                 { yyerrok; parse_statement_error(ctx); }
       ;

/* value := NUMBER | SHAPE | IDENT | STRING | BOOL | call; `input` names the model's input in
 * from= and with=; `model` and `train` are names like any other after `=` (a layer may be called
 * so, as in YAML, and `cnnc import` may write such a name). */
value: INT
     | REAL
     | SHAPE
     | STRING
     | BOOL
     | IDENT                                         { $$ = (Value){.kind = VAL_IDENT, .loc = LOC(@1), .s = $1}; }
     | "'input'"                                     { $$ = (Value){.kind = VAL_IDENT, .loc = LOC(@1), .s = xstrdup("input")}; }
     | "'model'"                                     { $$ = (Value){.kind = VAL_IDENT, .loc = LOC(@1), .s = xstrdup("model")}; }
     | "'train'"                                     { $$ = (Value){.kind = VAL_IDENT, .loc = LOC(@1), .s = xstrdup("train")}; }
     | call
     ;

/* call := IDENT '(' [item (',' item)*] ')' */
call: call_open "')'"
    | call_items "')'"
    ;

call_open: IDENT "'('"                               { $$ = (Value){.kind = VAL_CALL, .loc = LOC(@1), .s = $1}; }
         ;

call_items: call_open item                           { $$ = $1; value_call_add_item(&$$, $2); }
          | call_items "','" item                    { $$ = $1; value_call_add_item(&$$, $3); }
          ;

/* item := arg | value */
item: arg
    | value                                          { $$ = (Arg){.value = $1}; }
    ;

%%

/* The lookahead as the user wrote it: "identifier 'foo'", "number '12'", "end of file". */
static void describe_token(const ParseCtx *ctx, yysymbol_kind_t k, char *buf, size_t size)
{
    switch (k) {
    case YYSYMBOL_YYEOF:
        snprintf(buf, size, "end of file");
        return;
    case YYSYMBOL_IDENT:
        snprintf(buf, size, "identifier '%s'", ctx->tok_text);
        return;
    case YYSYMBOL_INT:
    case YYSYMBOL_REAL:
        snprintf(buf, size, "number '%s'", ctx->tok_text);
        return;
    case YYSYMBOL_SHAPE:
        snprintf(buf, size, "shape '%s'", ctx->tok_text);
        return;
    case YYSYMBOL_STRING:
        snprintf(buf, size, "string %s", ctx->tok_text);
        return;
    case YYSYMBOL_BOOL:
        snprintf(buf, size, "'%s'", ctx->tok_text);
        return;
    default:
        snprintf(buf, size, "%s", yysymbol_name(k));
        return;
    }
}

static bool expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t k)
{
    for (int i = 0; i < n; i++)
        if (exp[i] == k)
            return true;
    return false;
}

/* "';'", "';' or ','", "a value, ';' or ','": the tokens that may start a value are
 * collapsed into "a value", which is what the user has to think about. */
static void describe_expected(const yysymbol_kind_t *exp, int n, char *buf, size_t size)
{
    const char *names[YYNTOKENS];
    int count = 0;
    bool value = expects(exp, n, YYSYMBOL_INT);
    if (value)
        names[count++] = "a value";
    for (int i = 0; i < n; i++) {
        bool value_start = exp[i] == YYSYMBOL_INT || exp[i] == YYSYMBOL_REAL
            || exp[i] == YYSYMBOL_SHAPE || exp[i] == YYSYMBOL_STRING || exp[i] == YYSYMBOL_BOOL
            || exp[i] == YYSYMBOL_IDENT || exp[i] == YYSYMBOL_INPUT || exp[i] == YYSYMBOL_MODEL
            || exp[i] == YYSYMBOL_TRAIN;
        if (value && value_start)
            continue;
        names[count++] = exp[i] == YYSYMBOL_YYEOF ? "end of file" : yysymbol_name(exp[i]);
    }
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < count && used < size; i++) {
        const char *sep = i == 0 ? "" : i == count - 1 ? " or " : ", ";
        used += (size_t)snprintf(buf + used, size - used, "%s%s", sep, names[i]);
    }
}

/* Suggests a keyword for a misspelt one: `modle` at the top level, or `inptu 28x28x1`,
 * which reads as a layer `inptu` until the shape comes. */
static const char *keyword_hint(const ParseCtx *ctx, yysymbol_kind_t got,
                                const yysymbol_kind_t *exp, int n)
{
    static const char *const input[] = {"input", NULL};
    if (got == YYSYMBOL_SHAPE && expects(exp, n, YYSYMBOL_LPAREN) && ctx->block == TOK_MODEL)
        return did_you_mean(ctx->prev_text, input);
    if (got != YYSYMBOL_IDENT)
        return NULL;
    const char *cands[4];
    int count = 0;
    if (expects(exp, n, YYSYMBOL_MODEL))
        cands[count++] = "model";
    if (expects(exp, n, YYSYMBOL_TRAIN))
        cands[count++] = "train";
    if (expects(exp, n, YYSYMBOL_INPUT))
        cands[count++] = "input";
    cands[count] = NULL;
    return count ? did_you_mean(ctx->tok_text, cands) : NULL;
}

static int yyreport_syntax_error(const yypcontext_t *yyctx, yyscan_t scanner, ParseCtx *ctx)
{
    (void)scanner;
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(yyctx, exp, YYNTOKENS);
    if (n < 0)
        return n;
    yysymbol_kind_t got = yypcontext_token(yyctx);
    Loc at = LOC(*yypcontext_location(yyctx));
    Loc prev_end = {ctx->file, ctx->prev_end_line, ctx->prev_end_col, 1};
    if (ctx->prev_end_line == 0)
        prev_end = at;

    /* A string that ran to the end of the line took the ')' and ';' with it; the error
     * that follows is a consequence, already reported as the unterminated string. */
    if (ctx->prev_unterminated)
        return 0;

    /* A missing ';' is noticed at the next token, often on the next line; like gcc, point
     * just after the statement that lacks it. */
    if (expects(exp, n, YYSYMBOL_SEMI)
        && (got == YYSYMBOL_YYEOF || got == YYSYMBOL_RBRACE || at.line > ctx->prev_end_line)) {
        /* The statement itself is whole: keep it. */
        ctx->layer_open = false;
        error_at(prev_end, "expected ';' after %s", ctx->stmt ? ctx->stmt : "statement");
        return 0;
    }
    if (got == YYSYMBOL_YYEOF && expects(exp, n, YYSYMBOL_RBRACE)) {
        error_at(prev_end, "expected '}' at end of file");
        if (ctx->open_brace.line > 0)
            note_at(ctx->open_brace, "to close this '{'");
        return 0;
    }

    if ((got == YYSYMBOL_MODEL || got == YYSYMBOL_TRAIN) && expects(exp, n, YYSYMBOL_RBRACE)) {
        error_at(prev_end, "expected '}' before '%s'", ctx->tok_text);
        if (ctx->open_brace.line > 0)
            note_at(ctx->open_brace, "to close this '{'");
        return 0;
    }

    char got_text[96], exp_text[256];
    describe_token(ctx, got, got_text, sizeof got_text);
    describe_expected(exp, n, exp_text, sizeof exp_text);
    char hint[96] = "";
    const char *keyword = keyword_hint(ctx, got, exp, n);
    if (keyword)
        snprintf(hint, sizeof hint, "; did you mean '%s'?", keyword);
    else if (got == YYSYMBOL_LBRACKET)
        snprintf(hint, sizeof hint, "; shapes are written like 28x28x1");
    else if (got == YYSYMBOL_COLON && expects(exp, n, YYSYMBOL_EQUALS))
        snprintf(hint, sizeof hint, "; arguments are written name=value");
    else if (got == YYSYMBOL_COLON || (got == YYSYMBOL_EQUALS && ctx->block == TOK_TRAIN))
        snprintf(hint, sizeof hint, "; settings are written like 'epochs 5;'");
    if (n == 0)
        error_at(at, "unexpected %s%s", got_text, hint);
    else
        error_at(at, "unexpected %s, expected %s%s", got_text, exp_text, hint);
    return 0;
}

/* Bison's own messages: the only one that can happen is a stack overflow, which the
 * nesting limit should prevent; it is worded for the user all the same. */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0)
        error_at(LOC(*loc), "model file nested too deeply");
    else
        error_at(LOC(*loc), "%s", msg);
}
