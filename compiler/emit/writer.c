/*
 * emit/writer.c - a small indenting writer for generated C, and exact float literals.
 */
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#include "emit/writer.h"

static void write_indent(Writer *w)
{
    for (int i = 0; i < w->indent; i++)
        fputs("    ", w->f);
}

void w_line(Writer *w, const char *fmt, ...)
{
    va_list ap;
    write_indent(w);
    va_start(ap, fmt);
    vfprintf(w->f, fmt, ap);
    va_end(ap);
    fputc('\n', w->f);
}

void w_blank(Writer *w)
{
    fputc('\n', w->f);
}

void w_directive(Writer *w, const char *text)
{
    fputs(text, w->f);
    fputc('\n', w->f);
}

void w_open(Writer *w, const char *fmt, ...)
{
    va_list ap;
    write_indent(w);
    va_start(ap, fmt);
    vfprintf(w->f, fmt, ap);
    va_end(ap);
    fputs(" {\n", w->f);
    w->indent++;
}

void w_open_block(Writer *w)
{
    write_indent(w);
    fputs("{\n", w->f);
    w->indent++;
}

void w_begin_function(Writer *w, const char *fmt, ...)
{
    va_list ap;
    write_indent(w);
    va_start(ap, fmt);
    vfprintf(w->f, fmt, ap);
    va_end(ap);
    fputc('\n', w->f);
    write_indent(w);
    fputs("{\n", w->f);
    w->indent++;
}

void w_open_range(Writer *w, const char *var, int lo, int hi)
{
    if (lo == hi) {
        w_open_block(w);
        w_line(w, "const int %s = %d;", var, lo);
    } else {
        w_open(w, "for (int %s = %d; %s <= %d; %s++)", var, lo, var, hi, var);
    }
}

void w_close(Writer *w)
{
    w->indent--;
    write_indent(w);
    fputs("}\n", w->f);
}

/* "%.*g" may print an integer ("2") or an exponent without a point ("1e-07"); C needs a point
 * or an exponent before the f suffix, and a point alone keeps integers readable. */
static void add_point_if_needed(char *buf, size_t size)
{
    if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 2 < size)
        strcat(buf, ".0");
}

void w_float_literal(char *buf, size_t size, double x)
{
    /* Nine significant digits read back as the same float; fewer when they suffice, so that
     * 0.001 is written as 0.001f and not 0.00100000005f. */
    float f = (float)x;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    add_point_if_needed(buf, size);
    if (strlen(buf) + 1 < size)
        strcat(buf, "f");
}

void w_double_literal(char *buf, size_t size, double x)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    add_point_if_needed(buf, size);
}

void emit_dot(Writer *w, const char *a, const char *b, int n)
{
    int lanes = n >= 32 ? 16 : n >= 16 ? 8 : 0;
    if (lanes == 0) {
        w_line(w, "float sum = 0.0f;");
        w_line(w, "for (int j = 0; j < %d; j++)", n);
        w_line(w, "    sum += %s[j] * %s[j];", a, b);
        return;
    }
    int body = n - n % lanes;
    w_line(w, "float part[%d] CNN_STACK_ALIGN = {0.0f};", lanes);
    w_line(w, "for (int j = 0; j < %d; j += %d)", body, lanes);
    w_line(w, "    for (int l = 0; l < %d; l++)", lanes);
    w_line(w, "        part[l] += %s[j + l] * %s[j + l];", a, b);
    for (int half = lanes / 2; half >= 1; half /= 2) {
        w_line(w, "for (int l = 0; l < %d; l++)", half);
        w_line(w, "    part[l] += part[l + %d];", half);
    }
    w_line(w, "float sum = part[0];");
    if (body < n) {
        w_line(w, "for (int j = %d; j < %d; j++)", body, n);
        w_line(w, "    sum += %s[j] * %s[j];", a, b);
    }
}
