/*
 * onnx/onnx_writer.h - building an ONNX graph without protobuf: what each layer kind's
 * `onnx_export` (compiler/layers/<kind>.c, a slot of LayerOps) writes its forward pass with,
 * so that adding a layer kind never touches compiler/onnx/.
 *
 * The graph is held in plain C (onnx_writer.c, in libcnnc.a like the layers); only
 * onnx_writer_save turns it into protobuf and a file (onnx/writer_proto.c, in libcnnonnx.a,
 * which only cnnc links). Tensors are named by strings; names, attribute values and
 * initializer data are copied, so the caller's buffers may be temporaries. Out of memory exits,
 * like xmalloc.
 *
 *     OnnxNode *n = ow_node(w, "Conv", L->name, (const char *[]){io->in, kernel, NULL}, io->out);
 *     ow_attr_ints(n, "strides", (long long[]){1, 1}, 2);
 */
#ifndef CNNC_ONNX_WRITER_H
#define CNNC_ONNX_WRITER_H

#include "cnnc.h"

typedef struct OnnxWriter OnnxWriter;
typedef struct OnnxNode OnnxNode;

/* ------------------------------------------------------------------ what a layer gets */

/* How a layer reads a 3-D (image) input; the exporter puts a Transpose before a layer whose
 * input is in the other layout. Flat tensors have one layout. */
typedef enum OnnxLayout {
    ONNX_ANY,  /* element-wise: either */
    ONNX_NCHW, /* ONNX's Conv and pooling */
    ONNX_NHWC, /* flatten: cnnc's H, W, C order */
} OnnxLayout;

#define ONNX_LAYER_TENSORS 4 /* MAX_LAYER_TENSORS of layers/layer.h */

/* One layer's place in the graph being written. */
typedef struct OnnxLayerIO {
    const char *in;        /* the tensor it reads */
    const char *in2;       /* add's and concat's with=, in the layout of `in`; NULL for the rest */
    const char *out;       /* the tensor it must write */
    bool nchw;             /* `in` (and in2) is NCHW (for a 3-D input) */
    const float *kernel;   /* its parameters as in the checkpoint (NULL where it has none) */
    const float *bias;
    /* Every tensor of its tensors verb, in that order, state included (batchnorm's four). */
    const float *tensor[ONNX_LAYER_TENSORS];
    bool drop_softmax;     /* the last layer under --logits: leave its softmax out */
} OnnxLayerIO;

/* ------------------------------------------------------------------ the graph */

/* A graph named `graph_name`, for the default domain's `opset`. */
OnnxWriter *onnx_writer_new(const char *graph_name, int opset);
void onnx_writer_free(OnnxWriter *w);
int onnx_writer_opset(const OnnxWriter *w);

/* The model's documentation string and a metadata entry (metadata_props). */
void ow_doc(OnnxWriter *w, const char *doc);
void ow_metadata(OnnxWriter *w, const char *key, const char *value);

/* A float32 input or output of the graph (rank <= 4); a negative dim is the dynamic batch "N". */
void ow_graph_input(OnnxWriter *w, const char *name, int rank, const long long *dims);
void ow_graph_output(OnnxWriter *w, const char *name, int rank, const long long *dims);

/* A node computing `output` from `inputs` (NULL-terminated). Attributes are added to the
 * node it returns. */
OnnxNode *ow_node(OnnxWriter *w, const char *op, const char *name, const char *const *inputs, const char *output);
void ow_attr_int(OnnxNode *n, const char *name, long long v);
void ow_attr_ints(OnnxNode *n, const char *name, const long long *v, int count);
void ow_attr_float(OnnxNode *n, const char *name, float v);
void ow_attr_string(OnnxNode *n, const char *name, const char *v);

/* A float32 initializer of rank <= 4 (rank 0: a scalar), its dims' product of values. */
void ow_initializer(OnnxWriter *w, const char *name, int rank, const long long *dims, const float *data);

/* ------------------------------------------------------------------ helpers of the layers */

/* "<layer><sep><suffix>" (malloc'ed): "conv2d_1.kernel", "conv2d_1/relu". */
char *ow_layer_tensor(const Layer *L, const char *sep, const char *suffix);
/* A 2-D window's kernel_shape and strides, and Keras same as ONNX's SAME_UPPER (the larger
 * half of the padding after), which is what cnnc resolved. */
void ow_window(OnnxNode *n, int kh, int kw, int sh, int sw, Padding p);
/* A layer with a fused activation (L->act) writes its main node to the name this returns
 * ("<layer>/linear", malloc'ed), then calls ow_activation_after, which applies the activation
 * as the node "<layer>/<activation>" into io->out. Without one (or a softmax left out under
 * --logits) the name is io->out and ow_activation_after does nothing. */
char *ow_activation_before(const Layer *L, const OnnxLayerIO *io);
void ow_activation_after(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io, const char *linear);
/* One activation as its own node (a softmax over the last axis; an Identity when it is a
 * softmax and `drop_softmax`). */
void ow_activation(OnnxWriter *w, const char *name, Activation a, bool drop_softmax, const char *in,
                   const char *out);

/* onnx/writer_proto.c (libcnnonnx.a): writes the model atomically (a temporary file, fsync,
 * rename). Returns 0, or -1 after reporting. */
int onnx_writer_save(const OnnxWriter *w, const char *path);

#endif
