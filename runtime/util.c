/*
 * util.c - the runtime's error reporting, checked allocation and clock.
 *
 * Every failure in the runtime ends in rt_error, so that messages share one form
 * (`PROGRAM: error: FILE: what is wrong`) and callers can write `return rt_error(...)`.
 * PROGRAM is cnnc inside the compiler, and a built program's own name inside it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnnrt.h"

static const char *program_name = "cnnc";

void rt_set_program_name(const char *name)
{
    program_name = name && *name ? name : "cnnc";
}

const char *rt_program_name(void)
{
    return program_name;
}

static void report(const char *kind, const char *fmt, va_list ap)
{
    /* Output to stdout (progress lines) must come before the message, not after it. */
    fflush(stdout);
    fprintf(stderr, "%s: %s: ", program_name, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int rt_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("error", fmt, ap);
    va_end(ap);
    return -1;
}

void rt_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning", fmt, ap);
    va_end(ap);
}

void rt_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("note", fmt, ap);
    va_end(ap);
}

void *rt_malloc(size_t n)
{
    /* malloc(0) may return NULL, which would look like a failure. */
    void *p = malloc(n ? n : 1);
    if (!p)
        rt_error("out of memory (%zu bytes)", n);
    return p;
}

void *rt_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        rt_error("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
