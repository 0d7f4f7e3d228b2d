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

void w_pass_begin(Writer *w, const char *name, const PassParams *ps)
{
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    fprintf(w->f, "static void %s(", name);
    for (int i = 0; i < ps->n; i++) {
        if (i > 0)
            fputs(ps->p[i].wrap ? ",\n    " : ", ", w->f);
        fputs(ps->p[i].decl, w->f);
    }
    fputs(")\n", w->f);
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    fputs("{\n", w->f);
    w->indent++;
}

void w_pass_call(Writer *w, const char *name, const PassParams *ps)
{
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
    fprintf(w->f, "%s(", name);
    for (int i = 0; i < ps->n; i++)
        fprintf(w->f, "%s%s", i > 0 ? ", " : "", ps->p[i].arg);
    fputs(");\n", w->f);
}
