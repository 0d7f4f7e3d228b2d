/*
 * history.c - the training history as CSV, one row per epoch:
 *
 *   epoch,loss,accuracy,val_loss,val_accuracy,seconds
 *   1,0.145012,0.956500,0.048731,0.984100,6.021
 *
 * Metrics have six decimals (what Keras prints is four) and seconds three. A NaN is written as
 * an empty cell, so a run without validation has empty val_* cells, and an empty cell reads
 * back as NaN. The reader is strict, since plots and tests rely on it: each problem is reported
 * as `FILE:LINE: error: ...` like a compiler diagnostic.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "rt_io.h"

#define HISTORY_HEADER "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
#define HISTORY_FIELDS 6
#define HISTORY_MAX_BYTES ((size_t)64 << 20)

static void put_real(rt_buf *b, double x, int decimals)
{
    if (isnan(x))
        return;
    if (isinf(x))
        rt_buf_printf(b, "%s", x < 0 ? "-inf" : "inf");
    else
        rt_buf_printf(b, "%.*f", decimals, x);
}

int cnn_history_write(const char *path, const cnn_history_row *rows, int n)
{
    rt_buf b = {0};
    rt_buf_printf(&b, "%s\n", HISTORY_HEADER);
    for (int i = 0; i < n; i++) {
        const cnn_history_row *r = &rows[i];
        rt_buf_printf(&b, "%d,", r->epoch);
        put_real(&b, r->loss, 6);
        rt_buf_append(&b, ",", 1);
        put_real(&b, r->accuracy, 6);
        rt_buf_append(&b, ",", 1);
        put_real(&b, r->val_loss, 6);
        rt_buf_append(&b, ",", 1);
        put_real(&b, r->val_accuracy, 6);
        rt_buf_append(&b, ",", 1);
        put_real(&b, r->seconds, 3);
        rt_buf_append(&b, "\n", 1);
    }
    int rc = b.failed ? rt_error("%s: out of memory", path) : rt_write_atomic(path, b.data, b.len);
    rt_buf_free(&b);
    return rc;
}

static int line_error(const char *path, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int line_error(const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s:%d: error: ", path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* A decimal real as %f or %e write it, or inf; the empty cell is NaN. */
static int parse_real(const char *s, double *out)
{
    if (*s == '\0') {
        *out = NAN;
        return 0;
    }
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (strcmp(p, "inf") == 0) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    int digits = 0;
    while (*p >= '0' && *p <= '9') { p++; digits++; }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') { p++; digits++; }
    }
    if (digits == 0)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return -1;
    *out = strtod(s, NULL);
    return 0;
}

static int parse_epoch(const char *s, int *out)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1)
        return -1;
    *out = (int)v;
    return 0;
}

static const char *const field_names[HISTORY_FIELDS] = {
    "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds",
};

/* Parses one data line (NUL-terminated, no newline) into *r. */
static int parse_row(const char *path, int lineno, char *line, cnn_history_row *r)
{
    char *field[HISTORY_FIELDS];
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n == HISTORY_FIELDS)
            return line_error(path, lineno, "more than %d fields", HISTORY_FIELDS);
        field[n++] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (n != HISTORY_FIELDS)
        return line_error(path, lineno, "%d fields, expected %d (%s)", n, HISTORY_FIELDS, HISTORY_HEADER);
    if (parse_epoch(field[0], &r->epoch) != 0)
        return line_error(path, lineno, "epoch '%s' is not a positive integer", field[0]);
    double *reals[HISTORY_FIELDS - 1] = {&r->loss, &r->accuracy, &r->val_loss, &r->val_accuracy, &r->seconds};
    for (int i = 1; i < HISTORY_FIELDS; i++)
        if (parse_real(field[i], reals[i - 1]) != 0)
            return line_error(path, lineno, "%s '%s' is not a number", field_names[i], field[i]);
    return 0;
}

int cnn_history_read(const char *path, cnn_history_row **rows, int *n)
{
    char *text;
    size_t len;
    if (rt_read_all(path, HISTORY_MAX_BYTES, &text, &len) != 0)
        return -1;
    if (strlen(text) != len) {
        free(text);
        return rt_error("%s: not a text file (it holds a NUL byte)", path);
    }
    cnn_history_row *out = NULL;
    int count = 0, cap = 0, lineno = 0, rc = -1;
    char *line = text;
    while (line < text + len) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : text + len;
        if (nl)
            *nl = '\0';
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[l - 1] = '\0';
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, HISTORY_HEADER) != 0) {
                line_error(path, lineno, "the header is not '%s'", HISTORY_HEADER);
                goto done;
            }
        } else {
            if (line[0] == '\0') {
                line_error(path, lineno, "empty line");
                goto done;
            }
            if (count == cap) {
                int ncap = cap ? cap * 2 : 16;
                cnn_history_row *nr = realloc(out, (size_t)ncap * sizeof *nr);
                if (!nr) {
                    rt_error("%s: out of memory", path);
                    goto done;
                }
                out = nr;
                cap = ncap;
            }
            if (parse_row(path, lineno, line, &out[count]) != 0)
                goto done;
            if (count > 0 && out[count].epoch <= out[count - 1].epoch) {
                line_error(path, lineno, "epoch %d does not follow epoch %d", out[count].epoch,
                           out[count - 1].epoch);
                goto done;
            }
            count++;
        }
        line = next;
    }
    if (count == 0) {
        rt_error("%s: no epochs", path);
        goto done;
    }
    *rows = out;
    *n = count;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(text);
    return rc;
}
