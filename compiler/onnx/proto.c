/*
 * onnx/proto.c - reading and writing ONNX files with protobuf-c.
 *
 * protobuf-c unpacks whatever the wire format says, recursing once per nested message. A
 * hostile file can nest thousands of levels in a few kilobytes, so the bytes are walked first,
 * with the generated descriptors, and refused when they nest deeper than ONNX_MAX_NESTING or
 * are not well-formed; only then are they unpacked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/proto.h"
#include "rt_io.h"

/* ------------------------------------------------------------------ the wire format, walked */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Set when a walk failed for its depth rather than its bytes. */
static bool walk_too_deep;

/* Whether [p, end) is a well-formed message of `desc` nesting at most `depth` more levels. */
static bool walk_message(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth)
{
    if (depth <= 0) {
        walk_too_deep = true;
        return false;
    }
    while (p < end) {
        uint64_t key;
        if (!read_varint(&p, end, &key))
            return false;
        uint64_t tag = key >> 3;
        if (tag == 0 || tag > UINT32_MAX)
            return false;
        switch (key & 7) {
        case 0: { /* varint */
            uint64_t v;
            if (!read_varint(&p, end, &v))
                return false;
            break;
        }
        case 1: /* 64-bit */
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return false;
            p += 4;
            break;
        case 2: { /* length-delimited: bytes, a string, a packed array or a message */
            uint64_t n;
            if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
                return false;
            const ProtobufCFieldDescriptor *f =
                desc != NULL ? protobuf_c_message_descriptor_get_field(desc, (unsigned)tag) : NULL;
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !walk_message(f->descriptor, p, p + n, depth - 1))
                return false;
            p += n;
            break;
        }
        default: /* groups (3, 4) are not in onnx.proto, and 6, 7 do not exist */
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ reading */

Onnx__ModelProto *onnx_unpack_model(const char *name, const uint8_t *data, size_t len)
{
    if (len == 0) {
        error_plain("%s: the file is empty; an ONNX model is a protobuf ModelProto", name);
        return NULL;
    }
    walk_too_deep = false;
    if (!walk_message(&onnx__model_proto__descriptor, data, data + len, ONNX_MAX_NESTING)) {
        if (walk_too_deep)
            error_plain("%s: its messages nest deeper than %d levels; no model cnnc can build needs that many",
                        name, ONNX_MAX_NESTING);
        else
            error_plain("%s: not an ONNX model: the protobuf data is malformed or truncated", name);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, data);
    if (m == NULL)
        error_plain("%s: not an ONNX model: protobuf-c cannot unpack it as a ModelProto", name);
    return m;
}

Onnx__ModelProto *onnx_read_model(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (rt_read_all(path, ONNX_MAX_FILE_BYTES, &data, &len) != 0)
        return NULL;
    Onnx__ModelProto *m = onnx_unpack_model(path, (const uint8_t *)data, len);
    free(data);
    return m;
}

void onnx_model_free(Onnx__ModelProto *m)
{
    if (m != NULL)
        onnx__model_proto__free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------ writing */

int onnx_write_model(const Onnx__ModelProto *m, const char *path)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        error_plain("%s: out of memory packing %zu bytes", path, len);
        return -1;
    }
    size_t packed = onnx__model_proto__pack(m, buf);
    int rc = packed == len ? rt_write_atomic(path, buf, len) : -1;
    if (packed != len)
        unreachable();
    free(buf);
    return rc;
}

const char *onnx_type_name(int32_t t)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8",  "INT8",   "UINT16",    "INT16",      "INT32",   "INT64",   "STRING",
        "BOOL",      "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
    };
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0]))
        return names[t];
    return "an unknown type";
}
