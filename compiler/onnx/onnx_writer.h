/*
 * onnx/onnx_writer.h - building an ONNX graph without protobuf: what each layer kind's
 * export function writes with (onnx/export_layers.c), so that adding a layer kind never needs
 * the protobuf bindings or compiler/onnx/'s internals.
 *
 * Tensors are named by strings. Names, attribute values and initializer data are copied, so
 * the caller's buffers may be temporaries. Every function succeeds or exits on out-of-memory,
 * like xmalloc; onnx_writer_save reports I/O errors.
 *
 *     OnnxWriter *w = onnx_writer_new("mnist_cnn", 13);
 *     ow_graph_input(w, "input", 4, (long long[]){-1, 28, 28, 1});
 *     OnnxNode *n = ow_node(w, "Conv", "conv2d_1", (const char *[]){"x", "conv2d_1.kernel", NULL}, "y");
 *     ow_attr_ints(n, "strides", (long long[]){1, 1}, 2);
 */
#ifndef CNNC_ONNX_WRITER_H
#define CNNC_ONNX_WRITER_H

#include "cnnc.h"

typedef struct OnnxWriter OnnxWriter;
/* A node of the graph being written (a protobuf-c NodeProto, opaque here). */
typedef struct Onnx__NodeProto OnnxNode;

/* A graph named `graph_name`, for the default domain's `opset`. */
OnnxWriter *onnx_writer_new(const char *graph_name, int opset);
void onnx_writer_free(OnnxWriter *w);
int onnx_writer_opset(const OnnxWriter *w);

/* The model's documentation string and a metadata entry (metadata_props). */
void ow_doc(OnnxWriter *w, const char *doc);
void ow_metadata(OnnxWriter *w, const char *key, const char *value);

/* A float32 input or output of the graph; a negative dim is the dynamic batch "N". */
void ow_graph_input(OnnxWriter *w, const char *name, int rank, const long long *dims);
void ow_graph_output(OnnxWriter *w, const char *name, int rank, const long long *dims);

/* A node computing `output` from `inputs` (NULL-terminated; "" for an optional input left
 * out). Attributes are added to the node it returns. */
OnnxNode *ow_node(OnnxWriter *w, const char *op, const char *name, const char *const *inputs, const char *output);
void ow_attr_int(OnnxNode *n, const char *name, long long v);
void ow_attr_ints(OnnxNode *n, const char *name, const long long *v, int count);
void ow_attr_float(OnnxNode *n, const char *name, float v);
void ow_attr_string(OnnxNode *n, const char *name, const char *v);

/* A float32 initializer (raw_data, little-endian) of `count` = product of dims values;
 * rank 0 is a scalar. */
void ow_initializer(OnnxWriter *w, const char *name, int rank, const long long *dims, const float *data);

/* Writes the model atomically (a temporary file, fsync, rename). Returns 0, or -1 after
 * reporting. */
int onnx_writer_save(OnnxWriter *w, const char *path);

#endif
