/*
 * history.c - the training history as CSV, one row per epoch:
 *
 *   epoch,loss,accuracy,val_loss,val_accuracy,seconds
 *   1,0.145012,0.956500,0.048731,0.984100,6.021
 *
 * A run with a learning-rate schedule has a learning_rate column after val_accuracy, the rate
 * of each epoch's last step (`lr`, as older Keras callbacks name it, is read as it too).
 *
 * Metrics have six decimals (what Keras prints is four) and seconds three. A run without
 * validation has empty val_* cells; a value that is not a number is written `nan` (or `inf`),
 * so that a diverged epoch is told apart from one that was not validated.
 *
 * The reader is strict, since plots and tests rely on it: each problem is reported as
 * `FILE:LINE: error: ...` like a compiler diagnostic. It also reads what Keras'
 * CSVLogger writes (`epoch,accuracy,loss,val_accuracy,val_loss`, epochs from 0): columns are
 * found by their names, `acc` and `val_acc` (older Keras) are accepted, other columns (`lr`)
 * are ignored, and epochs counted from 0 are counted from 1 as cnnc and Keras' progress do.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cnnrt.h"
#include "rt_io.h"

#define HISTORY_HEADER "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
#define HISTORY_HEADER_LR "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds"
#define HISTORY_FIELDS 7
#define HISTORY_MAX_BYTES ((size_t)64 << 20)

static void put_real(rt_buf *b, double x, int decimals)
{
    if (isnan(x))
        rt_buf_printf(b, "nan");
    else if (isinf(x))
        rt_buf_printf(b, "%s", x < 0 ? "-inf" : "inf");
    else
        rt_buf_printf(b, "%.*f", decimals, x);
}

int cnn_history_write(const char *path, const cnn_history_row *rows, int n)
{
    rt_buf b = {0};
    int lr = 0;
    for (int i = 0; i < n; i++)
        lr |= rows[i].has_lr;
    rt_buf_printf(&b, "%s\n", lr ? HISTORY_HEADER_LR : HISTORY_HEADER);
    for (int i = 0; i < n; i++) {
        const cnn_history_row *r = &rows[i];
        rt_buf_printf(&b, "%d,", r->epoch);
        put_real(&b, r->loss, 6);
        rt_buf_append(&b, ",", 1);
        put_real(&b, r->accuracy, 6);
        rt_buf_append(&b, ",", 1);
        if (r->has_val)
            put_real(&b, r->val_loss, 6);
        rt_buf_append(&b, ",", 1);
        if (r->has_val)
            put_real(&b, r->val_accuracy, 6);
        rt_buf_append(&b, ",", 1);
        if (lr && r->has_lr)
            rt_buf_printf(&b, "%.6e", r->learning_rate);
        if (lr)
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

/* A decimal real as %f, %e or Python write it, or inf or nan (in any case); the empty cell
 * is NaN. */
static int parse_real(const char *s, double *out)
{
    if (*s == '\0') {
        *out = NAN;
        return 0;
    }
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (strcasecmp(p, "nan") == 0) {
        *out = NAN;
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
        if (*p < '0' || *p > '9' || v > (INT_MAX - 1 - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = (int)v;
    return 0;
}

enum { F_EPOCH, F_LOSS, F_ACCURACY, F_VAL_LOSS, F_VAL_ACCURACY, F_SECONDS, F_LEARNING_RATE };
#define MAX_COLUMNS 64

/* The columns a history is read from, by name; -1 for a column that is not one of them. */
typedef struct columns {
    int n;
    int field[MAX_COLUMNS];
    int where[HISTORY_FIELDS];  /* the column of each field, or -1 */
    int keras;                  /* not cnnc's header: epochs may count from 0 */
} columns;

static const char *const field_names[HISTORY_FIELDS] = {
    "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "learning_rate",
};

/* Splits a line at its commas, in place; returns the number of fields, or -1 when there are
 * more than `max`. */
static int split(char *line, char **field, int max)
{
    int n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (n == max)
            return -1;
        field[n++] = p;
        if (!comma)
            return n;
        *comma = '\0';
        p = comma + 1;
    }
}

static int parse_header(const char *path, char *line, columns *c)
{
    char *name[MAX_COLUMNS];
    int keras = strcmp(line, HISTORY_HEADER) != 0 && strcmp(line, HISTORY_HEADER_LR) != 0;
    c->n = split(line, name, MAX_COLUMNS);
    if (c->n < 0)
        return line_error(path, 1, "more than %d columns", MAX_COLUMNS);
    c->keras = keras;
    for (int f = 0; f < HISTORY_FIELDS; f++)
        c->where[f] = -1;
    for (int i = 0; i < c->n; i++) {
        int f = -1;
        for (int k = 0; k < HISTORY_FIELDS; k++)
            if (strcmp(name[i], field_names[k]) == 0)
                f = k;
        if (strcmp(name[i], "acc") == 0)
            f = F_ACCURACY;
        if (strcmp(name[i], "val_acc") == 0)
            f = F_VAL_ACCURACY;
        if (strcmp(name[i], "lr") == 0)
            f = F_LEARNING_RATE;
        if (f >= 0 && c->where[f] >= 0)
            return line_error(path, 1, "two columns hold %s", field_names[f]);
        c->field[i] = f;
        if (f >= 0)
            c->where[f] = i;
    }
    if (c->where[F_EPOCH] < 0 || c->where[F_LOSS] < 0)
        return line_error(path, 1, "the header names no '%s' column: a cnnc history starts '%s', and "
                          "a Keras CSVLogger file names its columns (epoch,accuracy,loss,...)",
                          c->where[F_EPOCH] < 0 ? "epoch" : "loss", HISTORY_HEADER);
    return 0;
}

/* Parses one data line (NUL-terminated, no newline) into *r. */
static int parse_row(const char *path, int lineno, char *line, const columns *c, cnn_history_row *r)
{
    char *field[MAX_COLUMNS];
    int n = split(line, field, c->n);
    if (n < 0)
        return line_error(path, lineno, "more than %d fields", c->n);
    if (n != c->n)
        return line_error(path, lineno, "%d fields, expected %d", n, c->n);
    double *reals[HISTORY_FIELDS] = {NULL, &r->loss, &r->accuracy, &r->val_loss, &r->val_accuracy, &r->seconds,
                                     &r->learning_rate};
    for (int f = 1; f < HISTORY_FIELDS; f++)
        *reals[f] = NAN;
    r->has_val = 0;
    r->has_lr = 0;
    for (int i = 0; i < n; i++) {
        int f = c->field[i];
        if (f == F_EPOCH) {
            if (parse_epoch(field[i], &r->epoch) != 0 || (r->epoch < 1 && !c->keras))
                return line_error(path, lineno, "epoch '%s' is not a positive integer", field[i]);
        } else if (f > 0) {
            if (parse_real(field[i], reals[f]) != 0)
                return line_error(path, lineno, "%s '%s' is not a number", field_names[f], field[i]);
            if ((f == F_VAL_LOSS || f == F_VAL_ACCURACY) && field[i][0] != '\0')
                r->has_val = 1;
            if (f == F_LEARNING_RATE && field[i][0] != '\0')
                r->has_lr = 1;
        }
    }
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
    columns cols = {0};
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
            if (parse_header(path, line, &cols) != 0)
                goto done;
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
            if (parse_row(path, lineno, line, &cols, &out[count]) != 0)
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
    /* Keras' CSVLogger counts epochs from 0, its progress from 1, as cnnc does. */
    if (out[0].epoch == 0)
        for (int i = 0; i < count; i++)
            out[i].epoch++;
    *rows = out;
    *n = count;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(text);
    return rc;
}
