/*
 * json.c - a strict recursive-descent JSON reader; see json.h for what "strict" means.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    char *err;
    size_t errsize;
    int failed;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errsize, "%s at byte %zu", msg, p->pos);
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* A growable byte string for decoded text. */
typedef struct sbuf {
    char *d;
    size_t n, cap;
} sbuf;

static int sbuf_put(parser *p, sbuf *b, const void *src, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *nd = realloc(b->d, cap);
        if (!nd)
            return fail(p, "out of memory");
        b->d = nd;
        b->cap = cap;
    }
    memcpy(b->d + b->n, src, n);
    b->n += n;
    b->d[b->n] = '\0';
    return 0;
}

static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p->pos, or 0 when it is not valid. */
static size_t utf8_valid_len(const parser *p)
{
    const unsigned char *s = p->s + p->pos;
    size_t left = p->len - p->pos;
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
    else
        return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int hex4(parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4)
        return fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else
            return fail(p, "bad hex digit in \\u escape");
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* Parses a string starting at the opening quote. */
static int parse_string(parser *p, char **out, size_t *out_len)
{
    sbuf b = {0};
    p->pos++;
    if (sbuf_put(p, &b, "", 0) != 0)
        return -1;
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            goto bad;
        }
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            fail(p, "control character in string");
            goto bad;
        }
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len) {
                fail(p, "unterminated string");
                goto bad;
            }
            char e = (char)p->s[p->pos++];
            char one;
            switch (e) {
            case '"': one = '"'; break;
            case '\\': one = '\\'; break;
            case '/': one = '/'; break;
            case 'b': one = '\b'; break;
            case 'f': one = '\f'; break;
            case 'n': one = '\n'; break;
            case 'r': one = '\r'; break;
            case 't': one = '\t'; break;
            case 'u': {
                uint32_t cp, lo;
                if (hex4(p, &cp) != 0)
                    goto bad;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    fail(p, "lone low surrogate in \\u escape");
                    goto bad;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                        fail(p, "high surrogate without a low one");
                        goto bad;
                    }
                    p->pos += 2;
                    if (hex4(p, &lo) != 0)
                        goto bad;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        fail(p, "high surrogate without a low one");
                        goto bad;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                unsigned char enc[4];
                if (sbuf_put(p, &b, enc, utf8_encode(cp, enc)) != 0)
                    goto bad;
                continue;
            }
            default:
                p->pos--;
                fail(p, "unknown escape '\\%c'", e);
                goto bad;
            }
            if (sbuf_put(p, &b, &one, 1) != 0)
                goto bad;
            continue;
        }
        size_t n = utf8_valid_len(p);
        if (n == 0) {
            fail(p, "invalid UTF-8");
            goto bad;
        }
        if (sbuf_put(p, &b, p->s + p->pos, n) != 0)
            goto bad;
        p->pos += n;
    }
    *out = b.d;
    *out_len = b.n;
    return 0;
bad:
    free(b.d);
    return -1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, json_value *v)
{
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(p->s[p->pos]))
        return fail(p, "bad number");
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->len && is_digit(p->s[p->pos]))
            return fail(p, "number with a leading zero");
    } else {
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad number: no digit after '.'");
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad number: no digit in the exponent");
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    size_t n = p->pos - start;
    v->text = malloc(n + 1);
    if (!v->text)
        return fail(p, "out of memory");
    memcpy(v->text, p->s + start, n);
    v->text[n] = '\0';
    v->len = n;
    v->type = JSON_NUMBER;
    return 0;
}

static int parse_literal(parser *p, const char *word, enum json_type type, json_value *v)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    v->type = type;
    return 0;
}

static int parse_value(parser *p, json_value *v, int depth);

/* Grows an array of `size`-byte elements so that `count + 1` fit. */
static int grow(parser *p, void **arr, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    if (ncap > ((size_t)-1) / size)
        return fail(p, "out of memory");
    void *na = realloc(*arr, ncap * size);
    if (!na)
        return fail(p, "out of memory");
    memset((char *)na + *cap * size, 0, (ncap - *cap) * size);
    *arr = na;
    *cap = ncap;
    return 0;
}

static int parse_array(parser *p, json_value *v, int depth)
{
    size_t cap = 0;
    v->type = JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (grow(p, (void **)&v->items, v->count, &cap, sizeof *v->items) != 0)
            return -1;
        skip_ws(p);
        /* Counted first so that cnn_json_free releases a partly parsed item. */
        v->count++;
        if (parse_value(p, &v->items[v->count - 1], depth + 1) != 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated array");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return fail(p, "expected ',' or ']'");
    }
}

static int parse_object(parser *p, json_value *v, int depth)
{
    size_t cap = 0;
    v->type = JSON_OBJECT;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (grow(p, (void **)&v->members, v->count, &cap, sizeof *v->members) != 0)
            return -1;
        json_member *m = &v->members[v->count];
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return fail(p, "expected a string key");
        if (parse_string(p, &m->key, &m->key_len) != 0)
            return -1;
        /* Counted now so that cnn_json_free releases the key even if the value fails. */
        v->count++;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return fail(p, "expected ':'");
        p->pos++;
        skip_ws(p);
        if (parse_value(p, &m->value, depth + 1) != 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated object");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        return fail(p, "expected ',' or '}'");
    }
}

static int parse_value(parser *p, json_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(p, "nested deeper than %d levels", JSON_MAX_DEPTH);
    if (p->pos >= p->len)
        return fail(p, "unexpected end of text");
    switch (p->s[p->pos]) {
    case '{': return parse_object(p, v, depth);
    case '[': return parse_array(p, v, depth);
    case '"':
        v->type = JSON_STRING;
        return parse_string(p, &v->text, &v->len);
    case 't': return parse_literal(p, "true", JSON_TRUE, v);
    case 'f': return parse_literal(p, "false", JSON_FALSE, v);
    case 'n': return parse_literal(p, "null", JSON_NULL, v);
    default: return parse_number(p, v);
    }
}

int cnn_json_parse(const char *text, size_t len, json_value *out, char *err, size_t errsize)
{
    parser p = {(const unsigned char *)text, len, 0, err, errsize, 0};
    memset(out, 0, sizeof *out);
    skip_ws(&p);
    if (parse_value(&p, out, 1) == 0) {
        skip_ws(&p);
        if (p.pos == p.len)
            return 0;
        fail(&p, "unexpected text after the value");
    }
    cnn_json_free(out);
    return -1;
}

void cnn_json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        if (v->type == JSON_ARRAY) {
            cnn_json_free(&v->items[i]);
        } else if (v->type == JSON_OBJECT) {
            free(v->members[i].key);
            cnn_json_free(&v->members[i].value);
        }
    }
    free(v->items);
    free(v->members);
    free(v->text);
    memset(v, 0, sizeof *v);
}

const json_value *cnn_json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->count; i++)
        if (obj->members[i].key_len == n && memcmp(obj->members[i].key, key, n) == 0)
            return &obj->members[i].value;
    return NULL;
}

int cnn_json_to_u64(const json_value *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->len == 0)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->text[i];
        if (!is_digit(c))
            return -1;
        if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(c - '0');
    }
    *out = x;
    return 0;
}
