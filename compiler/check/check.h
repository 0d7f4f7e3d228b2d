/*
 * check/check.h - what the checker's files share, and nothing the rest of cnnc needs.
 *
 *   names.c         the names of activations and paddings; looking names up, "unknown ..."
 *   layer_args.c    one AstLayer's arguments, checked against its kind's table (layers/)
 *   shapes.c        shapes, parameter counts, multiply-accumulates, buffer-size limits
 *   train.c         the train block -> TrainConfig
 *   memory_plan.c   the MemoryPlan of a checked model
 *   check.c         check_model: the model as a whole, calling the files above
 */
#ifndef CNNC_CHECK_H
#define CNNC_CHECK_H

#include "cnnc.h"

/* What a layer argument's value must be. */
typedef enum ArgType {
    ARG_COUNT,      /* a positive integer: filters=32 */
    ARG_SIZE2,      /* a positive integer N (meaning NxN) or an HxW shape: kernel=3x5 */
    ARG_ACTIVATION, /* none, relu, sigmoid, tanh, softmax */
    ARG_PADDING,    /* valid, same */
    ARG_BOOL,       /* true, false */
    ARG_RATE,       /* a number in [0, 1): dropout's rate */
    ARG_INTEGER,    /* any integer: dropout's seed */
    ARG_NAME,       /* an identifier: the layer's name */
    ARG_LAYER,      /* the name of an earlier layer, or `input`: from=, with= */
    ARG_FRACTION,   /* a number from 0 to 1: batchnorm's momentum */
    ARG_POSITIVE,   /* a finite number above 0: batchnorm's epsilon */
} ArgType;

typedef struct ArgSpec {
    const char *name; /* NULL ends a kind's list */
    ArgType type;
    bool required;
} ArgSpec;

#define MAX_LAYER_ARGS 8

/* An argument after validation. Only the fields of its ArgType are meaningful. */
typedef struct ArgValue {
    const Arg *arg; /* NULL when the argument was not given */
    bool ok;        /* given and valid */
    int n;          /* ARG_COUNT */
    int h, w;       /* ARG_SIZE2 */
    int e;          /* ARG_ACTIVATION, ARG_PADDING */
    bool b;         /* ARG_BOOL */
    double r;       /* ARG_RATE, ARG_FRACTION, ARG_POSITIVE */
    long long i;    /* ARG_INTEGER */
    const char *s;  /* ARG_NAME */
} ArgValue;

/* names.c */
extern const char *const activation_names[]; /* indexed by Activation, NULL-terminated */
extern const char *const padding_names[];    /* indexed by Padding, NULL-terminated */

/* Index of `word` in the NULL-terminated `names`, or -1. */
int name_index(const char *word, const char *const *names);
/* Reports an unknown word at `loc`: "unknown WHAT 'word'" with a did-you-mean from `cands`,
 * or the list of accepted values when nothing is close. */
void error_unknown(Loc loc, const char *what, const char *word, const char *const *cands);
/* True for [A-Za-z_][A-Za-z0-9_]*. */
bool is_identifier(const char *s);

/* Where a layer's arguments were written, beyond what the IR keeps. */
typedef struct LayerSite {
    Loc act_loc, name_loc;   /* activation= and name=, or the layer's own place */
    const Value *from, *with; /* the layers named by from= and with=, or NULL */
} LayerSite;

/* layer_args.c: resolves the arguments of one layer of a known kind into L (kind, name,
 * loc and attributes; inputs and shapes are left to check.c and shapes.c). `ordinal` is the
 * layer's position among the layers of its kind, from 1, for the default name. Returns false
 * after reporting errors. Every kind takes from= besides its own arguments. */
bool check_layer_args(const AstLayer *al, LayerKind kind, int ordinal, Layer *L, LayerSite *site);
/* The name of the ordinal-th layer of a kind without name= (conv2d_1, ...), malloc'ed: the one
 * rule for the checker and for the names it plans before checking. */
char *default_layer_name(LayerKind kind, int ordinal);

/* shapes.c */

/* Fills L->in, L->out, params, kernel_size, bias_size, macs and aux_size from `in` through the
 * kind's infer verb (layers/), with the resolved padding. Reports windows larger than their
 * input and inputs of the wrong rank; returns false then (L->out is meaningless). */
bool infer_layer_shape(Layer *L, Shape in);
/* Reports a per-image or per-batch buffer that the generated code could not index with an int
 * (`batch` 0 when the batch size is unknown). `what` names the buffer ("output 26x26x32").
 * Returns false after reporting. */
bool check_buffer_size(Loc loc, const char *owner, const char *what, long long per_image,
                       int batch);
/* "28x28x1" or "800". */
void format_shape(char *buf, size_t size, Shape s);
/* Keras/TensorFlow padding: the output size and the padding before and after, or false
 * when the sizes do not fit in an int. */
bool same_padding(int in, int k, int s, int *out, int *before, int *after);
bool valid_padding(int in, int k, int s, int *out);

/* train.c: resolves the train block (defaults where it is absent). Returns false
 * after reporting errors; *data_ok says whether the dataset and the loss, which the model's
 * input and output are checked against, were valid. */
bool check_train(const Ast *ast, TrainConfig *tc, bool *data_ok);
/* The batch size the train block sets (or the default), without reporting anything; 0 when
 * the setting is invalid. The layers' buffers are checked against it before check_train
 * runs, so that errors come out in the order of the file. */
int peek_batch_size(const Ast *ast);

/* memory_plan.c: fills m->mem, every layer's place in a thread's workspace (ws_out, ws_aux,
 * ws_dout), total_params and total_macs: the one computation of the workspace that the
 * summary reports and the generated code allocates. Returns false after reporting sizes that
 * overflow or exceed what a build may allocate. */
bool plan_memory(Model *m, Loc where);

#endif
