/*
 * front/number.c - numbers and shapes as the contract spells them, for both front ends.
 *
 *     integer   -?[0-9]+                               at most 2^53 in magnitude
 *     real      -?([0-9]+.[0-9]+ | [0-9]+ | .[0-9]+)([eE][+-]?[0-9]+)?, with a point or an exponent
 *     shape     [0-9]+(x[0-9]+)+                       at most 4 sizes, each at most 2^53
 *
 * The .cnn scanner hands every token that starts like a number to number_read, and the YAML
 * reader every plain scalar, so that a model reads the same in both forms: `+5`, `1.` and
 * 2^53 + 1 are refused by both.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnc.h"

/* Integers are read into a double as well, so they must be exact there. */
#define MAX_INTEGER 9007199254740992LL /* 2^53 */

static const char *skip_digits(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* Digits after an optional '-', at most 2^53 in magnitude. */
static bool read_integer(const char *p, const char *end, long long *out)
{
    bool neg = p < end && *p == '-';
    p += neg;
    long long v = 0;
    for (; p < end; p++) {
        v = v * 10 + (*p - '0');
        if (v > MAX_INTEGER)
            return false;
    }
    *out = neg ? -v : v;
    return true;
}

/* -?(D+.D+ | D+ | .D+)(EXP)? with a point or an exponent: the whole of [p, end). */
static bool is_real(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    const char *q = skip_digits(p, end);
    bool lead = q > p, point = false, exponent = false;
    if (q < end && *q == '.') {
        const char *r = skip_digits(q + 1, end);
        if (r == q + 1)
            return false; /* "1." and "." */
        point = true;
        q = r;
    } else if (!lead) {
        return false;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        const char *r = skip_digits(q, end);
        if (r == q)
            return false;
        exponent = true;
        q = r;
    }
    return q == end && (point || exponent);
}

bool number_like(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    if (p < end && (*p == '-' || *p == '+'))
        p++;
    if (!(p < end && (isdigit((unsigned char)*p) || (*p == '.' && p + 1 < end && isdigit((unsigned char)p[1])))))
        return false;
    /* The rest is what a .cnn token of a number may hold: letters, digits, '_', '.', and a sign
     * after an exponent's e; "32 filters" is text, not a malformed number. */
    for (const char *q = p; q < end; q++) {
        bool sign_after_e = (*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E');
        if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '.' || sign_after_e))
            return false;
    }
    return true;
}

NumberStatus number_read(const char *text, size_t len, Value *v, char *why, size_t why_size)
{
    const char *end = text + len;
    why[0] = '\0';
    *v = (Value){.kind = VAL_INT, .loc = v->loc};
    if (!number_like(text, len))
        return NUMBER_NOT;
    const char *digits = text + (*text == '-');
    if (*text != '+' && skip_digits(digits, end) == end) {
        if (!read_integer(text, end, &v->i)) {
            snprintf(why, why_size, "integer '%.*s' is out of range (at most 2^53 in magnitude)", (int)(len < 40 ? len : 40),
                     text);
            return NUMBER_RANGE;
        }
        v->r = (double)v->i;
        return NUMBER_OK;
    }
    if (*text != '+' && is_real(text, end)) {
        char buf[512];
        if (len >= sizeof buf) {
            snprintf(why, why_size, "number '%.40s...' is too long", text);
            return NUMBER_RANGE;
        }
        memcpy(buf, text, len);
        buf[len] = '\0';
        v->kind = VAL_REAL;
        v->r = strtod(buf, NULL);
        if (!isfinite(v->r)) {
            snprintf(why, why_size, "number '%.40s' is out of range", buf);
            v->r = 0;
            return NUMBER_RANGE;
        }
        return NUMBER_OK;
    }
    /* Digits joined by 'x': a shape, or a malformed one (28x, 28xx1, 28X28, 28x28x1x1x1). */
    if (strspn(text, "0123456789xX") >= len) {
        v->kind = VAL_SHAPE;
        if (memchr(text, 'X', len) != NULL) {
            snprintf(why, why_size, "malformed shape '%.*s'; write shapes as integers joined by 'x', like 28x28x1",
                     (int)(len < 40 ? len : 40), text);
            v->ndims = 1;
            v->dims[0] = 1;
            return NUMBER_MALFORMED;
        }
        int ndims = 0;
        for (const char *p = text;;) {
            const char *q = skip_digits(p, end);
            if (q == p) {
                snprintf(why, why_size, "malformed shape '%.*s'; write shapes as integers joined by 'x', like 28x28x1",
                         (int)(len < 40 ? len : 40), text);
                v->ndims = 1;
                v->dims[0] = 1;
                return NUMBER_MALFORMED;
            }
            long long dim = 0;
            if (!read_integer(p, q, &dim)) {
                snprintf(why, why_size, "dimension '%.*s' of shape '%.*s' is out of range", (int)(q - p < 24 ? q - p : 24), p,
                         (int)(len < 40 ? len : 40), text);
                return NUMBER_RANGE;
            }
            if (ndims < MAX_SHAPE_DIMS)
                v->dims[ndims] = dim;
            ndims++;
            if (q == end)
                break;
            p = q + 1;
        }
        if (ndims > MAX_SHAPE_DIMS) {
            snprintf(why, why_size, "shape '%.*s' has %d dimensions; at most %d are allowed", (int)(len < 40 ? len : 40), text,
                     ndims, MAX_SHAPE_DIMS);
            v->ndims = MAX_SHAPE_DIMS;
            return NUMBER_RANGE;
        }
        v->ndims = ndims;
        if (ndims >= 2)
            return NUMBER_OK;
    }
    snprintf(why, why_size, "malformed number '%.*s'", (int)(len < 40 ? len : 40), text);
    v->kind = VAL_INT;
    return NUMBER_MALFORMED;
}
