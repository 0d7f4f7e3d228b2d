/*
 * base/diag.c - located diagnostics in the form compilers use:
 *
 *     models/bad.cnn:7:5: error: unknown layer 'dense2d'; did you mean 'dense'?
 *         dense2d(units=10);
 *         ^~~~~~~
 *
 * Source texts are registered once per file; each keeps a lazily built table of where every
 * LINE_MARK_STRIDE-th line starts, so that reporting many errors in a large file stays cheap
 * without an index as large as the file.
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

/* How much of a source line is shown around the column; a minified 5 MB line would
 * otherwise flood the terminal. */
#define SHOWN_COLUMNS 120
#define LINE_MARK_STRIDE 1024

typedef struct Source {
    const char *file;
    const char *text;
    size_t len;
    size_t *marks;       /* marks[k]: offset of line k * LINE_MARK_STRIDE + 1; built on first use */
    int nmarks;
    int nlines;
} Source;

static Source *sources;
static int nsources, sources_cap;
static int error_count;
/* Set when an error was suppressed, so that the notes attached to it are dropped too. */
static bool last_suppressed;

void diag_add_source(const char *file, const char *text, size_t len)
{
    grow_array((void **)&sources, &sources_cap, nsources, sizeof *sources);
    sources[nsources++] = (Source){.file = file, .text = text, .len = len};
}

int diag_error_count(void)
{
    return error_count;
}

void diag_reset(void)
{
    error_count = 0;
    last_suppressed = false;
}

void diag_forget_sources(void)
{
    for (int i = 0; i < nsources; i++)
        free(sources[i].marks);
    free(sources);
    sources = NULL;
    nsources = sources_cap = 0;
}

/* The most recent registration wins, so that checking a file twice in one run shows the
 * text that was actually parsed the second time. */
static Source *find_source(const char *file)
{
    for (int i = nsources - 1; i >= 0; i--)
        if (strcmp(sources[i].file, file) == 0)
            return &sources[i];
    return NULL;
}

static void index_lines(Source *src)
{
    int cap = 0;
    grow_array((void **)&src->marks, &cap, 0, sizeof *src->marks);
    src->marks[src->nmarks++] = 0;
    src->nlines = 1;
    const char *end = src->text + src->len;
    for (const char *p = src->text; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; ) {
        p++;
        if (src->nlines++ % LINE_MARK_STRIDE == 0) {
            grow_array((void **)&src->marks, &cap, src->nmarks, sizeof *src->marks);
            src->marks[src->nmarks++] = (size_t)(p - src->text);
        }
    }
}

/* The offset where a line (1-based, at most nlines) starts. */
static size_t line_start(const Source *src, int line)
{
    int k = (line - 1) / LINE_MARK_STRIDE;
    size_t off = src->marks[k];
    for (int n = k * LINE_MARK_STRIDE + 1; n < line; n++)
        off = (size_t)((const char *)memchr(src->text + off, '\n', src->len - off) - src->text) + 1;
    return off;
}

/* Prints one byte of the shown line: tabs stay tabs so that the caret line, which copies
 * them, lines up; other unprintable bytes become '?' so a binary file cannot garble the
 * terminal. */
static void put_shown(unsigned char c)
{
    fputc(c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', stderr);
}

static void show_line(Loc loc)
{
    Source *src = find_source(loc.file);
    if (!src || loc.line < 1)
        return;
    if (!src->marks)
        index_lines(src);
    if (loc.line > src->nlines)
        return;
    const char *line = src->text + line_start(src, loc.line);
    const char *nl = memchr(line, '\n', (size_t)(src->text + src->len - line));
    size_t line_len = (size_t)((nl ? nl : src->text + src->len) - line);
    if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;

    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > line_len)
        col = line_len;
    size_t from = 0, to = line_len;
    if (line_len > SHOWN_COLUMNS) {
        from = col > SHOWN_COLUMNS / 2 ? col - SHOWN_COLUMNS / 2 : 0;
        to = from + SHOWN_COLUMNS < line_len ? from + SHOWN_COLUMNS : line_len;
    }

    fputs("    ", stderr);
    if (from > 0)
        fputs("...", stderr);
    for (size_t i = from; i < to; i++)
        put_shown((unsigned char)line[i]);
    if (to < line_len)
        fputs("...", stderr);
    fputc('\n', stderr);

    fputs("    ", stderr);
    if (from > 0)
        fputs("   ", stderr);
    for (size_t i = from; i < col; i++)
        fputc(line[i] == '\t' ? '\t' : ' ', stderr);
    fputc('^', stderr);
    /* The underline stops where the shown text stops; a caret past the end of the line
     * (a missing ';') is a single '^'. */
    size_t width = loc.len > 1 ? (size_t)loc.len : 1;
    size_t limit = to > col ? to - col : 1;
    if (width > limit)
        width = limit;
    for (size_t i = 1; i < width; i++)
        fputc('~', stderr);
    fputc('\n', stderr);
}

/* Counts an error and says whether it may still be printed. */
static bool admit_error(void)
{
    error_count++;
    if (error_count <= DIAG_MAX_ERRORS) {
        last_suppressed = false;
        return true;
    }
    if (error_count == DIAG_MAX_ERRORS + 1)
        fputs("cnnc: too many errors; stopping\n", stderr);
    last_suppressed = true;
    return false;
}

static void report(Loc loc, const char *kind, const char *fmt, va_list ap)
{
    const char *file = loc.file ? loc.file : "<input>";
    if (loc.line > 0)
        fprintf(stderr, "%s:%d:%d: %s: ", file, loc.line, loc.col, kind);
    else
        fprintf(stderr, "%s: %s: ", file, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (loc.file)
        show_line(loc);
}

void error_at(Loc loc, const char *fmt, ...)
{
    if (!admit_error())
        return;
    va_list ap;
    va_start(ap, fmt);
    report(loc, "error", fmt, ap);
    va_end(ap);
}

void note_at(Loc loc, const char *fmt, ...)
{
    if (last_suppressed)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(loc, "note", fmt, ap);
    va_end(ap);
}

void error_plain(const char *fmt, ...)
{
    if (!admit_error())
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("cnnc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
