/*
 * onnx/writer_impl.h - the graph onnx_writer.c builds, as onnx/writer_proto.c reads it to
 * write the file. Nothing else looks inside.
 */
#ifndef CNNC_ONNX_WRITER_IMPL_H
#define CNNC_ONNX_WRITER_IMPL_H

#include "onnx/onnx_writer.h"

typedef enum OwAttrType { OW_INT, OW_INTS, OW_FLOAT, OW_STRING } OwAttrType;

typedef struct OwAttr {
    char *name;
    OwAttrType type;
    long long i;
    long long *ints;
    int nints;
    float f;
    char *s;
} OwAttr;

struct OnnxNode {
    char *op, *name;
    char **inputs;
    int ninputs;
    char *output;
    OwAttr *attrs;
    int nattrs, attrs_cap;
};

typedef struct OwValue { /* a graph input or output */
    char *name;
    int rank;
    long long dims[4];
} OwValue;

typedef struct OwInit {
    char *name;
    int rank;
    long long dims[4];
    float *data;
    size_t count;
} OwInit;

typedef struct OwMeta {
    char *key, *value;
} OwMeta;

struct OnnxWriter {
    char *graph_name;
    int opset;
    char *doc;
    OnnxNode **nodes;
    int nnodes, nodes_cap;
    OwInit *inits;
    int ninits, inits_cap;
    OwValue *inputs, *outputs;
    int ninputs, inputs_cap, noutputs, outputs_cap;
    OwMeta *meta;
    int nmeta, meta_cap;
};

#endif
