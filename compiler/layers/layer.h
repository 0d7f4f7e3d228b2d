/*
 * layers/layer.h - one module per layer kind, every one with the same verbs, and the table that
 * ties them together.
 *
 * Each file of compiler/layers/ defines one `const LayerOps <kind>_ops`:
 *
 *   check     the arguments the kind takes, and how they become its attributes, with the
 *             contract's defaults (this is the one place the defaults live);
 *   infer     its output shape, its parameter tensors, its multiply-accumulates and the state
 *             its forward pass keeps for backward;
 *   describe  its attributes as the canonical text, `cnnc summary` and the runtime's
 *             cnn_layer row show them;
 *   emit      its forward and backward passes as C, each with its parameter list, written once
 *             for both the function's signature and the call;
 *   onnx      the ONNX operation it is exported as.
 *
 * table.c holds `layer_ops[]`, indexed by LayerKind. The rest of the compiler asks the table and
 * never switches on a kind. Adding a kind is a new file here, a row in table.c (and its
 * LAYER_ value in cnnc.h), its reference in runtime/ref, and its tests: README lists them.
 */
#ifndef CNNC_LAYER_H
#define CNNC_LAYER_H

#include "check/check.h"
#include "emit/writer.h"
#include "onnx/onnx_writer.h"

/* ------------------------------------------------------------------ describe */

/* One attribute as printed: `filters=32`, `kernel=3x3`, `padding=same (top 0, ...)`. */
typedef enum AttrType { ATTR_INT, ATTR_SIZE2, ATTR_PADDING, ATTR_ACTIVATION, ATTR_BOOL, ATTR_REAL } AttrType;

typedef struct LayerAttr {
    const char *name;
    AttrType type;
    long long i;         /* ATTR_INT, ATTR_BOOL, ATTR_ACTIVATION, ATTR_PADDING (a Padding) */
    int h, w;            /* ATTR_SIZE2 */
    int pads[4];         /* ATTR_PADDING: top, bottom, left, right as resolved */
    double r;            /* ATTR_REAL */
} LayerAttr;

#define MAX_LAYER_ATTRS 8

/* What the runtime's cnn_layer row says of a layer (runtime/cnn_model.h): zero where the kind
 * has no such thing. */
typedef struct RuntimeRow {
    int kh, kw, sh, sw, same;
    int pad_top, pad_left, pad_bottom, pad_right;
    int units, use_bias;
    double rate;
} RuntimeRow;

/* One parameter tensor of a layer, in checkpoint order: `<layer>.<suffix>`. */
typedef struct TensorSpec {
    const char *suffix;  /* "kernel", "bias" */
    int ndim;
    int shape[4];
    long long count;
    int fan_in, fan_out; /* for initialisation */
    bool is_bias;        /* starts at zero */
    bool init_ones;      /* starts at one: batchnorm's gamma and moving_variance */
    /* Not trained: batchnorm's moving statistics, which forward updates once a step. State lies
     * after every trainable tensor, so that gradients and optimizer moments cover only those. */
    bool is_state;
} TensorSpec;

#define MAX_LAYER_TENSORS 4

/* ------------------------------------------------------------------ the verbs */

typedef struct LayerOps {
    const char *name;        /* "conv2d": as written in a model file, and in checkpoints' names */
    const char *keras_class; /* "Conv2D": the summary's type column */
    const ArgSpec *args;     /* the arguments it takes, ending with {NULL} (and from=, which every kind takes) */
    int inputs;              /* the outputs it reads: 1 (0 means 1), or 2 for add and concat */

    /* Fills the attributes (L->u, L->act) from its validated arguments, `vals[i]` being
     * `args[i]` (vals[i].ok false where not given or invalid: the default then). NULL for a
     * kind with neither attributes nor an activation (L->act is ACT_NONE before it runs). */
    void (*resolve)(Layer *L, const ArgValue *vals);
    /* Output shape, parameter tensors, MACs and kept state from the input shape (see
     * infer_layer_shape); false after reporting a located error. */
    bool (*infer)(Layer *L, Shape in);
    /* Where the output shape does not depend on the input (dense), checking can go on past a
     * layer whose input is unknown: the output, or false. May be NULL. */
    bool (*shape_without_input)(const Layer *L, Shape *out);

    /* Its attributes in the order they are printed; returns how many. */
    int (*attrs)(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS]);
    /* Its parameter tensors in checkpoint order; returns how many. */
    int (*tensors)(const Layer *L, TensorSpec out[MAX_LAYER_TENSORS]);
    void (*runtime_row)(const Layer *L, RuntimeRow *row);

    /* The #defines of the generated header beyond the output shape (prefix "MODEL_LAYER"). */
    void (*constants)(Writer *w, const Layer *L, const char *prefix);
    /* The pass functions (and any helpers they need) and their parameter lists. backward is
     * asked only where the layer's backward has something to do (emit_runs_backward). */
    void (*emit_forward)(Writer *w, const EmitLayer *e);
    void (*emit_backward)(Writer *w, const EmitLayer *e);
    void (*forward_params)(const EmitLayer *e, PassParams *p);
    void (*backward_params)(const EmitLayer *e, PassParams *p);
    /* The statements of the model's update_state for this layer's state (is_state tensors),
     * over `params` and a training forward's `ws`; NULL where it has none. */
    void (*emit_state_update)(Writer *w, const EmitLayer *e);
    /* flatten: its output is its input's floats, read in another shape; it writes no code. */
    bool is_view;
    /* dropout: the identity outside training (the inference-only predictor leaves it out); its
     * forward pass takes the training flag and the dropout key. */
    bool identity_at_inference;
    /* relu, sigmoid, tanh, softmax: the kind only applies L->act (a view where that is none). */
    bool is_activation;

    const char *onnx_op;     /* "Conv" */
    /* `cnnc export`: its forward pass as ONNX nodes, named after the layer (onnx/onnx_writer.h),
     * reading a 3-D input in onnx_layout (the exporter transposes between layers). */
    void (*onnx_export)(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io);
    OnnxLayout onnx_layout;
} LayerOps;

/* table.c */
const LayerOps *layer_ops(LayerKind k);
/* The kind written `name` in a model file; false if there is none. */
bool layer_kind_from_name(const char *name, LayerKind *out);
/* All kind names followed by NULL, for did_you_mean. */
const char *const *layer_kind_names(void);

/* Every parameter tensor of a model in checkpoint order (each layer's, in its tensors verb's
 * order), the trainable ones first and then the state, with its offset into the parameters
 * (the state's from total_params on): malloc'ed, *count of them. */
typedef struct ModelTensor {
    int layer;
    TensorSpec spec;
    long long offset;
} ModelTensor;
ModelTensor *model_tensors(const Model *m, int *count);

/* The kinds (each defined in its own file). */
extern const LayerOps conv2d_ops, maxpool2d_ops, avgpool2d_ops, flatten_ops, dense_ops, dropout_ops,
    relu_ops, sigmoid_ops, tanh_ops, softmax_ops, add_ops, concat_ops, globalavgpool2d_ops,
    batchnorm_ops;

/* ------------------------------------------------------------------ helpers the kinds share */

/* check/layer_args.c: the validated argument `name` of a kind, or NULL where it was not given
 * or is invalid. */
const ArgValue *arg_value(const ArgSpec *args, const ArgValue *vals, const char *name);

/* check/shapes.c: the helpers of infer. */
/* "<kind> 'name'" for messages. */
void layer_owner(const Layer *L, char *buf, size_t size);
/* Reports an input of the wrong rank (1: flat, 3: HxWxC); false then. */
bool need_rank(const Layer *L, Shape in, int rank);
/* A kh x kw window with strides and padding over `in`: the output H and W (C from `in`) and
 * the resolved padding, or false after reporting a window that does not fit. */
bool infer_window(const Layer *L, Shape in, int kh, int kw, int sh, int sw, Padding p, Shape *out,
                  int pads[4]);
/* A kernel of `count` floats described as `what`: reported when it cannot be indexed. */
bool check_kernel_size(const Layer *L, const char *what, long long count);

/* layers/dropout.c: the hash dropout masks are drawn from, written once per file. */
void emit_dropout_hash(Writer *w);

#endif
