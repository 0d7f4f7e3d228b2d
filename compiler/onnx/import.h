/*
 * onnx/import.h - what the importer's files share (import_graph.c, import_ops.c, import.c).
 *
 * The importer walks the nodes in topological order and keeps, for every tensor the graph
 * computes, what cnnc knows of it (an ImValue): its layout, its shape per image, and the
 * layer that wrote it. Each operation's handler reads its inputs' values, appends layers
 * (ImLayer) or changes only the layout (Transpose, Identity), and records its outputs.
 *
 * A node may read any tensor computed before it (contract section 6): each layer records the
 * layers whose outputs it reads, and the model file says `from=` where that is not the layer
 * written before it, `with=` for add's and concat's second input, and `name=` on every layer
 * another one names.
 */
#ifndef CNNC_ONNX_IMPORT_H
#define CNNC_ONNX_IMPORT_H

#include "onnx/proto.h"

typedef enum ValueLayout {
    LAYOUT_IMAGE,  /* the graph's rank-4 input before a consumer has said how to read it */
    LAYOUT_NCHW,   /* PyTorch's, and every ONNX Conv's and pooling's */
    LAYOUT_NHWC,   /* Keras's and cnnc's */
    LAYOUT_FLAT,   /* [N, units] */
} ValueLayout;

typedef struct ImValue {
    char *name;
    ValueLayout layout;
    int d[3];        /* LAYOUT_IMAGE: the input's dims 1..3 as written */
    Shape shape;     /* cnnc's shape per image (h, w, c; rank 1 for flat) */
    /* A flat value laid out C, H, W (PyTorch's flatten of NCHW): the dense layer that reads
     * it reorders its kernel rows to H, W, C. chw is the shape before the flatten. */
    bool chw_order;
    Shape chw;
    /* The layer that wrote it, -1 for the graph's input; Transpose, Identity and a zero Pad
     * pass it on, since they move values without changing them. */
    int layer;
    int uses;        /* how many node inputs read it (the graph's output not counted) */
    /* A GlobalAveragePool's [N, C, 1, 1] (shape 1x1xC): cnnc's globalavgpool2d gives [N, C],
     * so only a Flatten (or Reshape) may read it, and it becomes flat without a layer. */
    bool pooled;
} ImValue;

/* One cnnc layer as the importer builds it: the arguments to write and the weights in cnnc's
 * layout (conv [KH][KW][CIN][COUT], dense [IN][OUT]). */
typedef struct ImLayer {
    LayerKind kind;
    char *name;         /* name= to write, or NULL for the default name */
    char *onnx_nodes;   /* "'/conv1/Conv' (Conv), '/Relu' (Relu)": the comment */
    const char *main_node; /* the node that made it, for folding activations */
    int filters_or_units;
    int kh, kw, sh, sw;
    Padding padding;
    Activation act;
    bool use_bias;
    double rate;
    bool has_seed;
    long long seed;
    float *kernel;
    long long kernel_count;
    int kernel_ndim, kernel_shape[4];
    float *bias;
    long long bias_count;
    /* batchnorm: its tensors ([channels] each; gamma and beta NULL without scale or center) */
    float *gamma, *beta, *moving_mean, *moving_variance;
    int channels;
    double momentum, epsilon;
    /* The layers whose outputs it reads (-1: the model's input): src[1] for add and concat. */
    int src[2];
    int nsrc;
    bool referenced;    /* another layer names it in from= or with= */
    Shape in, out;
} ImLayer;

/* A tensor whose value is in the file: an initializer or a Constant node's output. */
typedef struct ImConst {
    const char *name;
    const Onnx__TensorProto *t;
} ImConst;

typedef struct Importer {
    const char *path;           /* the .onnx file, for messages */
    Onnx__ModelProto *model;
    const Onnx__GraphProto *g;
    int opset;                  /* of the default domain */
    bool from_cnnc;             /* producer_name "cnnc": keep its layer names */

    /* Tensor names: a hash table from name to its ImValue or ImConst index. */
    char **keys;
    int *slots;                 /* >= 0: value index; <= -2: -(const index) - 2; -1: empty */
    int nslots;
    int *use_count;             /* by slot: how many node inputs read the name */

    ImValue *values;
    int nvalues, values_cap;
    ImConst *consts;
    int nconsts, consts_cap;
    ImLayer *layers;
    int nlayers, layers_cap;

    int errors;
} Importer;

/* ------------------------------------------------------------------ import_graph.c */

/* The graph's tensors: initializers, Constant nodes, the one real input. Every node in
 * topological order into *order (malloc'ed, g->n_node entries). Returns false after
 * reporting (a tensor produced twice, read but never produced, a cycle, ...). */
bool import_graph_prepare(Importer *im, int **order);
void importer_free(Importer *im);

/* `FILE: node 'NAME' (OP): ...`, counted in im->errors. */
void node_error(Importer *im, const Onnx__NodeProto *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A node's name as a message shows it: its name, or "#<index>" when it has none. */
const char *node_label(const Onnx__NodeProto *n);

/* The value of a name, or NULL. */
ImValue *find_value(Importer *im, const char *name);
const ImConst *find_const(Importer *im, const char *name);
/* How many node inputs read `name`. */
int name_uses(Importer *im, const char *name);
/* Adds the value a node computes (its name must be new: checked by import_graph_prepare). */
ImValue *add_value(Importer *im, const char *name, ImValue v);

/* Attribute access: NULL when absent. Each getter checks the type and reports when it is
 * wrong (false then). */
const Onnx__AttributeProto *node_attr(const Onnx__NodeProto *n, const char *name);
bool attr_int(Importer *im, const Onnx__NodeProto *n, const char *name, long long def, long long *out);
bool attr_float(Importer *im, const Onnx__NodeProto *n, const char *name, double def, double *out);
/* INTS: up to `max` values; *count is 0 when absent. */
bool attr_ints(Importer *im, const Onnx__NodeProto *n, const char *name, long long *out, int max, int *count);
bool attr_string(Importer *im, const Onnx__NodeProto *n, const char *name, const char *def, char *out, size_t size);
/* Refuses attributes not in `known` (NULL-terminated): their meaning would be lost. */
bool known_attrs(Importer *im, const Onnx__NodeProto *n, const char *const *known);

/* A constant's floats, converted from raw_data or float_data (malloc'ed, *count of them),
 * after checking it is FLOAT with `rank` dims (-1: any) and the element count its dims say;
 * `what` names it in messages ("the kernel"). NULL after reporting. */
float *const_floats(Importer *im, const Onnx__NodeProto *n, const ImConst *c, const char *what, int rank,
                    long long dims[4], long long *count);
/* The same for INT64 (a Reshape's shape), at most `max` values. */
bool const_int64s(Importer *im, const Onnx__NodeProto *n, const ImConst *c, const char *what, long long *out,
                  int max, int *count);

/* ------------------------------------------------------------------ import_ops.c */

/* Runs one node's handler. Returns false after reporting. */
bool import_node(Importer *im, const Onnx__NodeProto *n);

#endif
