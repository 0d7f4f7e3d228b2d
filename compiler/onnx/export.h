/*
 * onnx/export.h - what the exporter's files share (export.c, export_layers.c), and the
 * checkpoint's tensor table that import.c uses too.
 *
 * Each layer kind's export is one function that writes its forward pass as ONNX nodes with
 * the protobuf-free writer (onnx/onnx_writer.h), and the layout it reads a 3-D input in. The
 * frame (export.c) puts a Transpose between layers whose layouts differ, names the tensors
 * and writes the graph's input and output. When compiler/layers/layer.h's table of LayerOps
 * lands, each row of export_layers.c's table becomes that kind's `onnx_export` slot with this
 * same signature.
 */
#ifndef CNNC_ONNX_EXPORT_H
#define CNNC_ONNX_EXPORT_H

#include "cnn_model.h"
#include "onnx/onnx_writer.h"

/* How a layer reads a 3-D (image) input. Flat tensors have one layout. */
typedef enum OnnxLayout {
    ONNX_ANY,  /* element-wise: either */
    ONNX_NCHW, /* ONNX's Conv and pooling */
    ONNX_NHWC, /* flatten: cnnc's H, W, C order */
} OnnxLayout;

/* One layer's place in the graph being written. */
typedef struct OnnxLayerIO {
    const char *in;        /* the tensor it reads */
    const char *out;       /* the tensor it must write */
    bool nchw;             /* `in` is NCHW (for a 3-D input) */
    const float *kernel;   /* its parameters as in the checkpoint (NULL where it has none) */
    const float *bias;
    bool drop_softmax;     /* the last layer under --logits: leave its softmax out */
} OnnxLayerIO;

typedef struct OnnxLayerExport {
    /* Writes the layer's nodes and initializers; names them after l->name ("conv2d_1",
     * "conv2d_1/relu", "conv2d_1.kernel"), so that an import gives the names back. */
    void (*write)(OnnxWriter *w, const Layer *l, const OnnxLayerIO *io);
    OnnxLayout layout;
} OnnxLayerExport;

/* export_layers.c: the row of a kind. */
const OnnxLayerExport *onnx_layer_export(LayerKind k);

/* train_text.c: the train block's settings as model-file text, every one resolved (the body
 * of `train { ... }`, malloc'ed); and whether a text from a file is plain settings that may
 * go inside a train block. */
char *train_block_text(const TrainConfig *t);
bool train_text_is_plain(const char *s);

/* tensors.c: a checked model's parameters in checkpoint order, each layer's kernel then its
 * bias, as emit/model.c's table has them (names malloc'ed). */
cnn_tensor *model_tensor_table(const Model *m, int *count);
void model_tensor_table_free(cnn_tensor *t, int count);

#endif
