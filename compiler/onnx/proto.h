/*
 * onnx/proto.h - ONNX files as protobuf-c messages: the one header of compiler/onnx/ that
 * includes the bindings protoc-c generates at build time from Debian's onnx.proto.
 * cmd/ and the layers never see it: they use onnx/onnx.h and onnx/onnx_writer.h.
 */
#ifndef CNNC_ONNX_PROTO_H
#define CNNC_ONNX_PROTO_H

#include "cnnc.h"
#include "onnx.pb-c.h"

/* Files larger than this are refused before they are read (the seed model is 0.5 MB). */
#define ONNX_MAX_FILE_BYTES ((size_t)1 << 30)
/* Messages nest (a graph in an attribute in a node in a graph ...); protobuf-c recurses once
 * per level, so a file nesting deeper than this is refused before it is unpacked. cnnc's
 * models need 6 levels. */
#define ONNX_MAX_NESTING 32
/* Elements of one tensor: more than any model cnnc can build, and small enough that the
 * count of bytes never overflows. */
#define ONNX_MAX_TENSOR_ELEMS ((long long)1 << 31)

/* proto.c: reads and unpacks `path`; NULL after an error naming the file. Free the model with
 * onnx_model_free. */
Onnx__ModelProto *onnx_read_model(const char *path);
/* The same from bytes in memory (`name` is the file named in errors). */
Onnx__ModelProto *onnx_unpack_model(const char *name, const uint8_t *data, size_t len);
void onnx_model_free(Onnx__ModelProto *m);

/* Packs a model whose every pointer was malloc'ed and writes it atomically (a temporary
 * file, fsync, rename). Returns 0, or -1 after reporting. */
int onnx_write_model(const Onnx__ModelProto *m, const char *path);

/* "FLOAT", "INT64", ... for messages. */
const char *onnx_type_name(int32_t data_type);

#endif
