/*
 * emit/pass.c - the parameter list of a layer pass, written once for its signature and its
 * calls.
 *
 * Every buffer a pass takes is a float pointer, so a call whose arguments were written apart
 * from the signature could swap two of them and still compile. Here each kind lists a pass's
 * parameters once, each with its declaration and the argument the call passes.
 */
#include <stdarg.h>
#include <string.h>

#include "emit/writer.h"

void pass_add(PassParams *ps, const char *arg, const char *decl_fmt, ...)
{
    if (ps->n >= PASS_MAX_PARAMS)
        unreachable();
    PassParam *p = &ps->p[ps->n++];
    va_list ap;
    va_start(ap, decl_fmt);
    vsnprintf(p->decl, sizeof p->decl, decl_fmt, ap);
    va_end(ap);
    snprintf(p->arg, sizeof p->arg, "%s", arg);
    p->wrap = false;
}

void pass_out(PassParams *ps, const char *name, const char *arg)
{
    pass_add(ps, arg, "float *restrict %s", name);
}

void pass_in(PassParams *ps, const char *name, const char *arg)
{
    pass_add(ps, arg, "const float *restrict %s", name);
}

void pass_n(PassParams *ps)
{
    pass_add(ps, "n", "int n");
}

/* The longest line a pass's signature or call is written on before it wraps. */
#define PASS_LINE_MAX 110

/* "HEAD(item, item, ...)" from column `col` on: an item that would pass PASS_LINE_MAX (or that
 * asks to, in a signature) starts a new line, aligned after the parenthesis. */
static void put_list(Writer *w, int col, const char *head, const PassParams *ps, bool decls)
{
    fprintf(w->f, "%s(", head);
    int align = col + (int)strlen(head) + 1, at = align;
    for (int i = 0; i < ps->n; i++) {
        const char *item = decls ? ps->p[i].decl : ps->p[i].arg;
        int len = (int)strlen(item);
        if (i > 0) {
            if ((decls && ps->p[i].wrap) || at + 2 + len + 2 > PASS_LINE_MAX) {
                fprintf(w->f, ",\n%*s", align, "");
                at = align;
            } else {
                fputs(", ", w->f);
                at += 2;
            }
        }
        fputs(item, w->f);
        at += len;
    }
    fputc(')', w->f);
}

void w_pass_begin(Writer *w, const char *name, const PassParams *ps)
{
    char head[EMIT_NAME_MAX + 32];
    snprintf(head, sizeof head, "static CNN_PASS void %s", name);
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    put_list(w, 4 * w->indent, head, ps, true);
    fputs("\n", w->f);
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    fputs("{\n", w->f);
    w->indent++;
}

void w_pass_call(Writer *w, const char *name, const PassParams *ps)
{
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    put_list(w, 4 * w->indent, name, ps, false);
    fputs(";\n", w->f);
}
