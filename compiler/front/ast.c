/*
 * front/ast.c - building, freeing and printing the AST that both front ends produce.
 *
 * The printed form carries no file names or locations, so that a .cnn file and its YAML
 * twin print identically:
 *
 *     (model mnist_cnn
 *       (input 28x28x1)
 *       (layer conv2d (filters 32) (kernel 3) (activation relu))
 *       (layer flatten))
 *     (train
 *       (optimizer (call adam (learning_rate 0.001))))
 */
#include "cnnc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

Ast *ast_new(const char *file)
{
    Ast *ast = xcalloc(1, sizeof *ast);
    ast->file = file;
    return ast;
}

void value_free(Value *v)
{
    free(v->s);
    v->s = NULL;
    for (int i = 0; i < v->nitems; i++) {
        free(v->items[i].name);
        value_free(&v->items[i].value);
    }
    free(v->items);
    v->items = NULL;
    v->nitems = 0;
}

void ast_free(Ast *ast)
{
    if (!ast)
        return;
    free(ast->model_name);
    value_free(&ast->input);
    for (int i = 0; i < ast->nlayers; i++) {
        AstLayer *l = &ast->layers[i];
        free(l->kind);
        for (int j = 0; j < l->nargs; j++) {
            free(l->args[j].name);
            value_free(&l->args[j].value);
        }
        free(l->args);
    }
    free(ast->layers);
    for (int i = 0; i < ast->nsettings; i++) {
        free(ast->settings[i].name);
        value_free(&ast->settings[i].value);
    }
    free(ast->settings);
    free(ast);
}

AstLayer *ast_add_layer(Ast *ast, char *kind, Loc loc)
{
    grow_array((void **)&ast->layers, &ast->layers_cap, ast->nlayers, sizeof *ast->layers);
    AstLayer *l = &ast->layers[ast->nlayers++];
    *l = (AstLayer){.kind = kind, .loc = loc};
    return l;
}

/* Argument lists keep no capacity field: they grow to the next power of two whenever
 * their length reaches one. */
static void append_arg(Arg **args, int *n, Arg arg)
{
    if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
        int cap = *n == 0 ? 4 : *n * 2;
        *args = xrealloc(*args, (size_t)cap * sizeof **args);
    }
    (*args)[(*n)++] = arg;
}

void ast_layer_add_arg(AstLayer *layer, Arg arg)
{
    append_arg(&layer->args, &layer->nargs, arg);
}

void value_call_add_item(Value *call, Arg item)
{
    append_arg(&call->items, &call->nitems, item);
}

void ast_add_setting(Ast *ast, char *name, Loc loc, Value value)
{
    grow_array((void **)&ast->settings, &ast->settings_cap, ast->nsettings, sizeof *ast->settings);
    ast->settings[ast->nsettings++] = (AstSetting){.name = name, .loc = loc, .value = value};
}

static void dump_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A real always prints with a '.' or an exponent, so that 1.0 and 1 stay different. */
static void dump_real(double r, FILE *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", r);
    fputs(buf, out);
    if (isfinite(r) && !strpbrk(buf, ".e"))
        fputs(".0", out);
}

static void dump_value(const Value *v, FILE *out);

static void dump_arg(const Arg *a, FILE *out)
{
    if (a->name) {
        fprintf(out, "(%s ", a->name);
        dump_value(&a->value, out);
        fputc(')', out);
    } else {
        dump_value(&a->value, out);
    }
}

static void dump_value(const Value *v, FILE *out)
{
    switch (v->kind) {
    case VAL_INT:
        fprintf(out, "%lld", v->i);
        return;
    case VAL_REAL:
        dump_real(v->r, out);
        return;
    case VAL_SHAPE:
        for (int i = 0; i < v->ndims; i++)
            fprintf(out, i ? "x%lld" : "%lld", v->dims[i]);
        if (v->ndims == 0)
            fputs("(shape)", out);
        return;
    case VAL_IDENT:
        fputs(v->s ? v->s : "?", out);
        return;
    case VAL_STRING:
        dump_string(v->s ? v->s : "", out);
        return;
    case VAL_BOOL:
        fputs(v->i ? "true" : "false", out);
        return;
    case VAL_CALL:
        fprintf(out, "(call %s", v->s ? v->s : "?");
        for (int i = 0; i < v->nitems; i++) {
            fputc(' ', out);
            dump_arg(&v->items[i], out);
        }
        fputc(')', out);
        return;
    }
    unreachable();
}

void ast_dump(const Ast *ast, FILE *out)
{
    if (ast->has_model) {
        fprintf(out, "(model %s", ast->model_name ? ast->model_name : "?");
        if (ast->has_input) {
            fputs("\n  (input ", out);
            dump_value(&ast->input, out);
            fputc(')', out);
        }
        for (int i = 0; i < ast->nlayers; i++) {
            const AstLayer *l = &ast->layers[i];
            fprintf(out, "\n  (layer %s", l->kind);
            for (int j = 0; j < l->nargs; j++) {
                fputc(' ', out);
                dump_arg(&l->args[j], out);
            }
            fputc(')', out);
        }
        fputs(")\n", out);
    }
    if (ast->has_train) {
        fputs("(train", out);
        for (int i = 0; i < ast->nsettings; i++) {
            fprintf(out, "\n  (%s ", ast->settings[i].name);
            dump_value(&ast->settings[i].value, out);
            fputc(')', out);
        }
        fputs(")\n", out);
    }
}
