/*
 * json.h - a small strict JSON reader (RFC 8259) for safetensors headers.
 *
 * Strict: valid UTF-8 only (no overlongs, surrogates or code points above U+10FFFF), no
 * trailing commas, no comments, no leading zeros, nesting at most JSON_MAX_DEPTH deep.
 * Whitespace may follow the value (safetensors pads its header with spaces).
 */
#ifndef CNN_JSON_H
#define CNN_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_member json_member;
typedef struct json_value json_value;

struct json_value {
    enum json_type type;
    char *text;            /* STRING: the decoded UTF-8, NUL-terminated; NUMBER: the literal */
    size_t len;            /* bytes of text (a string may hold \u0000) */
    size_t count;          /* ARRAY items or OBJECT members */
    json_value *items;     /* ARRAY */
    json_member *members;  /* OBJECT, in file order; duplicate keys are kept */
};

struct json_member {
    char *key;             /* decoded, NUL-terminated */
    size_t key_len;
    json_value value;
};

/* Parses text[0..len). On failure returns -1 with a message (and the byte offset) in err. */
int cnn_json_parse(const char *text, size_t len, json_value *out, char *err, size_t errsize);
void cnn_json_free(json_value *v);

/* The value of `key` in an object, or NULL. */
const json_value *cnn_json_get(const json_value *obj, const char *key);
/* A NUMBER that is a non-negative integer without fraction or exponent, fitting 64 bits. */
int cnn_json_to_u64(const json_value *v, uint64_t *out);

#endif
