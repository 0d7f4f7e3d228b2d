/*
 * cnnc.h - the one header of the compiler, and its table of contents.
 *
 * The pipeline, one folder a phase:
 *
 *   front/  lexer.l + parser.y (.cnn) ─┐
 *           yaml_reader.c     (.yaml) ─┴─> Ast
 *   check/  Ast ──> Model (the IR): names, arguments, defaults, shapes, the memory plan
 *   layers/ one file per layer kind: its passes as C, and as ONNX nodes
 *   emit/   Model ──> C: the placement of every tensor, the drivers, the loss, the optimizer,
 *           the register-blocked kernels, the inference-only predictor
 *   cmd/    the command line: check, summary, emit, build, plot, import, export
 *   onnx/   ONNX <──> model file + checkpoint (`cnnc import`, `cnnc export`; onnx/onnx.h):
 *           libcnnonnx.a with protobuf-c, in cnnc only
 *   base/   memory helpers, files, "did you mean", diagnostics
 *
 * Everything a user can get wrong is found by check/ at a located position;
 * emitters read a fully resolved Model and never report user errors.
 */
#ifndef CNNC_H
#define CNNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CNNC_VERSION "0.1.0"

/* ------------------------------------------------------------------ base/util.c */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grows a dynamic array *pp of *cap elements of `size` bytes so that index `need` fits. */
void grow_array(void **pp, int *cap, int need, size_t size);
/* Reads a whole file; NULL (and errno set) on failure. Adds a NUL after the data. */
char *read_file(const char *path, size_t *len);
/* Levenshtein distance, capped: used for "did you mean". */
int edit_distance(const char *a, const char *b);
/* Best candidate within a small distance of `word`, or NULL. `cands` ends with NULL. */
const char *did_you_mean(const char *word, const char *const *cands);
bool is_c_keyword(const char *s);

/* Internal compiler bugs, never user errors: names cnnc's own file and line. */
#define unreachable() cnnc_internal_error(__FILE__, __LINE__)
_Noreturn void cnnc_internal_error(const char *file, int line);

/* ------------------------------------------------------------------ base/diag.c */

/* A place in a model file. `len` is the width of the token, for the ~~~ underline. */
typedef struct Loc {
    const char *file;
    int line, col; /* 1-based; line 0 means "the file as a whole" */
    int len;
} Loc;

/* Registers a file's text so that diagnostics can show its lines. The text is not copied. */
void diag_add_source(const char *file, const char *text, size_t len);
/* `FILE:LINE:COL: error: ...`, the source line and a caret. Counts the error. */
void error_at(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void note_at(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error not tied to a model file (bad option, unreadable file): `cnnc: error: ...`. */
void error_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int diag_error_count(void);
void diag_reset(void);
/* Drops every registered text (they may be freed afterwards): for a process, like a fuzzer,
 * that parses many texts in turn. */
void diag_forget_sources(void);
/* Stop reporting after this many errors (a binary file would otherwise print thousands). */
#define DIAG_MAX_ERRORS 50

/* ------------------------------------------------------------------ front/ast.c */

/* The AST is what the two front ends share: values as written, nothing resolved. */
typedef enum ValueKind {
    VAL_INT,    /* 32 */
    VAL_REAL,   /* 0.001, 1e-3 */
    VAL_SHAPE,  /* 28x28x1, 3x3 (YAML: [28, 28, 1]) */
    VAL_IDENT,  /* relu, same, mnist */
    VAL_STRING, /* "path" */
    VAL_BOOL,   /* true, false */
    VAL_CALL,   /* adam(learning_rate=0.001), split(0.1), idx("a", "b", "c", "d") */
} ValueKind;

#define MAX_SHAPE_DIMS 4

typedef struct Arg Arg;

typedef struct Value {
    ValueKind kind;
    Loc loc;
    long long i;               /* VAL_INT, VAL_BOOL */
    double r;                  /* VAL_REAL (and VAL_INT, converted) */
    int ndims;                 /* VAL_SHAPE */
    long long dims[MAX_SHAPE_DIMS];
    char *s;                   /* VAL_IDENT, VAL_STRING, VAL_CALL (the callee) */
    Arg *items;                /* VAL_CALL */
    int nitems;
} Value;

/* `name=value`, or a bare value inside a call (name == NULL). */
struct Arg {
    char *name;
    Loc name_loc;
    Value value;
};

typedef struct AstLayer {
    char *kind;
    Loc loc; /* of the kind token */
    Arg *args;
    int nargs;
} AstLayer;

typedef struct AstSetting {
    char *name;
    Loc loc;
    Value value;
} AstSetting;

typedef struct Ast {
    const char *file;
    bool has_model;
    char *model_name;
    Loc model_loc; /* of the name */
    bool has_input;
    Value input;   /* VAL_SHAPE */
    AstLayer *layers;
    int nlayers, layers_cap;
    bool has_train;
    Loc train_loc;
    AstSetting *settings;
    int nsettings, settings_cap;
} Ast;

Ast *ast_new(const char *file);
void ast_free(Ast *ast);
AstLayer *ast_add_layer(Ast *ast, char *kind, Loc loc);
void ast_layer_add_arg(AstLayer *layer, Arg arg);
void ast_add_setting(Ast *ast, char *name, Loc loc, Value value);
void value_call_add_item(Value *call, Arg item);
void value_free(Value *v);
/* Prints an AST as S-expressions; used by tests to compare the two front ends. */
void ast_dump(const Ast *ast, FILE *out);

/* ------------------------------------------------------------------ front/number.c */

/* Numbers and shapes as the contract spells them, for both front ends (see number.c). */
typedef enum NumberStatus {
    NUMBER_OK,        /* *v is a VAL_INT, VAL_REAL or VAL_SHAPE */
    NUMBER_NOT,       /* the text does not start like a number */
    NUMBER_MALFORMED, /* it does, but is none (why says so; *v is a placeholder of the kind meant) */
    NUMBER_RANGE,     /* a number or shape out of range (why says so) */
} NumberStatus;
/* Whether text starts like a number: [-+]? then a digit, or a point and a digit. */
bool number_like(const char *text, size_t len);
NumberStatus number_read(const char *text, size_t len, Value *v, char *why, size_t why_size);

/* ------------------------------------------------------------------ front/parse.c (front/lexer.l, front/parser.y) */

/* Parses a .cnn file. Returns NULL only when the file cannot be read; syntax errors are
 * reported through diag and leave a partial AST (check diag_error_count()). */
Ast *parse_cnn_file(const char *path);
Ast *parse_cnn_text(const char *file, const char *text, size_t len);

/* ------------------------------------------------------------------ front/yaml_reader.c */

Ast *parse_yaml_file(const char *path);
Ast *parse_yaml_text(const char *file, const char *text, size_t len);

/* Chooses the front end from the extension (.yaml/.yml, else .cnn). */
Ast *parse_model_file(const char *path);

/* ------------------------------------------------------------------ check/: the IR */

typedef enum LayerKind {
    LAYER_CONV2D,
    LAYER_MAXPOOL2D,
    LAYER_AVGPOOL2D,
    LAYER_FLATTEN,
    LAYER_DENSE,
    LAYER_DROPOUT,
    LAYER_RELU,
    LAYER_SIGMOID,
    LAYER_TANH,
    LAYER_SOFTMAX,
    LAYER_ADD,
    LAYER_CONCAT,
    LAYER_GLOBALAVGPOOL2D,
    LAYER_BATCHNORM,
    LAYER_KIND_COUNT
} LayerKind;

typedef enum Activation { ACT_NONE, ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX } Activation;
typedef enum Padding { PAD_VALID, PAD_SAME } Padding;

/* An activation shape per image: rank 3 is H x W x C (channels last), rank 1 is N (h = w = 1). */
typedef struct Shape {
    int rank;
    int h, w, c;
} Shape;

long long shape_size(Shape s);

typedef struct ConvAttrs {
    int filters, kh, kw, sh, sw;
    Padding padding;
    int pad_top, pad_bottom, pad_left, pad_right; /* resolved, zero for valid */
    bool use_bias;
} ConvAttrs;

typedef struct PoolAttrs { /* maxpool2d and avgpool2d */
    int ph, pw, sh, sw;
    Padding padding;
    int pad_top, pad_bottom, pad_left, pad_right;
} PoolAttrs;

typedef struct DenseAttrs {
    int units;
    bool use_bias;
} DenseAttrs;

typedef struct BatchnormAttrs {
    double momentum, epsilon;
    bool center, scale; /* beta and gamma exist */
} BatchnormAttrs;

typedef struct DropoutAttrs {
    double rate;
    bool has_seed;
    long long seed;
} DropoutAttrs;

typedef struct Layer {
    LayerKind kind;
    char *name;     /* given with name=, or <kind>_<n> */
    Loc loc;        /* of the kind token in the model file */
    /* The layers whose outputs it reads, -1 being the model's input: the layer before it (or the
     * input), or the one from= names; add and concat read a second, the one with= names. */
    int inputs[2];
    int ninputs;
    Shape in, out;  /* per image; `in` is the first input's shape */
    Shape in2;      /* the second input's (add, concat) */
    /* The activation applied to the output: conv2d's and dense's `activation=`, or the
     * standalone activation layers' own (ACT_NONE for the rest). */
    Activation act;
    union {
        ConvAttrs conv;
        PoolAttrs pool;
        DenseAttrs dense;
        DropoutAttrs dropout;
        BatchnormAttrs batchnorm;
    } u;
    long long params;     /* trainable floats: kernel + bias (batchnorm: gamma + beta) */
    long long state_size; /* floats of state that is not trained: batchnorm's moving statistics */
    long long kernel_size, bias_size; /* floats of each tensor (bias_size 0 without bias) */
    long long macs;       /* multiply-accumulates of the forward pass, per image */
    long long aux_size;   /* floats per image the forward keeps for backward (max-pool argmax, dropout mask) */
    /* Where the layer's buffers lie in a training thread's workspace, in floats (the memory
     * plan): its output, what forward keeps for backward, and the gradient of its output; each
     * [batch][...]. A view (flatten) has its input's; -1 where there is none. */
    long long ws_out, ws_aux, ws_dout;
    /* Where backward writes the gradient of each input: its producer's ws_dout, or, where
     * another reader of that output wrote there first, a scratch buffer that is then added to
     * it (din_adds). -1 where no gradient flows back: nothing that input depends on trains. */
    long long ws_din[2];
    bool din_adds[2];
    bool trains;          /* it, or a layer it depends on, has parameters */
    int readers;          /* the inputs of later layers that read its output */
    /* The inference-only predictor's buffer of its output, in floats into its scratch: reused
     * once the last reader of what was there has run. */
    long long infer_out;
} Layer;

typedef enum DatasetKind { DATASET_MNIST, DATASET_FASHION_MNIST, DATASET_IDX } DatasetKind;
typedef enum LossKind { LOSS_SPARSE_XENT, LOSS_MSE } LossKind;
typedef enum OptimizerKind { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP } OptimizerKind;
typedef enum ValidationKind { VALID_TEST, VALID_SPLIT, VALID_NONE } ValidationKind;
typedef enum InitKind { INIT_GLOROT_UNIFORM, INIT_HE_NORMAL, INIT_HE_UNIFORM } InitKind;
typedef enum ScheduleKind { SCHED_CONSTANT, SCHED_EXPONENTIAL, SCHED_COSINE, SCHED_PLATEAU } ScheduleKind;

/* check/train.c: the model language's words for each choice of the train block, indexed by its
 * enum and NULL-ended: the one table the checker reads them with and every writer prints from. */
extern const char *const dataset_names[], *const loss_names[], *const optimizer_names[],
    *const validation_names[], *const init_names[], *const schedule_names[];

typedef struct TrainConfig {
    DatasetKind dataset;
    char *idx_paths[4]; /* DATASET_IDX: train images, train labels, test images, test labels */
    char *idx_files[4]; /* idx_paths resolved against the model file's folder: what the program opens */
    LossKind loss;
    OptimizerKind optimizer;
    double learning_rate;
    double momentum;    /* sgd */
    bool nesterov;      /* sgd */
    double beta_1, beta_2, epsilon; /* adam, adamw; epsilon also rmsprop */
    double weight_decay;  /* adamw */
    double rho;           /* rmsprop (which shares momentum with sgd) */
    double global_clipnorm; /* 0: no clipping */
    ScheduleKind schedule;
    int decay_steps;      /* exponential_decay, cosine_decay */
    double decay_rate;    /* exponential_decay */
    bool staircase;       /* exponential_decay */
    double alpha;         /* cosine_decay */
    double factor, min_delta, min_lr; /* reduce_on_plateau */
    int patience;         /* reduce_on_plateau */
    bool early_stopping;  /* early_stopping(...) was given */
    int stop_patience;
    double stop_min_delta;
    bool restore_best;
    bool augment;         /* augment(...) was given */
    int shift;            /* pixels */
    double rotation;      /* degrees */
    int epochs;
    int batch_size;
    ValidationKind validation;
    double split;       /* VALID_SPLIT */
    long long seed;
    bool shuffle;
    InitKind init;
} TrainConfig;

/* emit/train_words.c: `adam(learning_rate=..., ...)`, every hyper-parameter resolved; and the
 * lines of schedule, early_stopping and augment where the model sets them, each as
 * indent + setting + end. `num` writes a real. */
void put_optimizer_call(FILE *f, const TrainConfig *t, void (*num)(FILE *, double));
void put_train_extras(FILE *f, const TrainConfig *t, void (*num)(FILE *, double), const char *indent,
                      const char *end);

/* Memory of a build, in bytes, as `cnnc summary` reports and the generated code allocates. */
typedef struct MemoryPlan {
    long long params;        /* 4 * total params */
    long long activations;   /* 4 * batch * (input + every output a layer writes; views write none) */
    long long aux;           /* 4 * batch * every layer's aux_size */
    long long act_grads;     /* 4 * batch * every output gradient (the gradient flowing back) */
    long long ws_input;      /* the batch's input in a thread's workspace: at 0 */
    long long ws_floats;     /* a training thread's workspace: (activations + aux + act_grads) / 4 */
    /* The scratch buffers gradients are summed through where an output has several readers
     * (offsets into the workspace, and floats per image: 0 where unused). */
    long long ws_scratch[2], scratch_size[2];
    long long param_grads;   /* 4 * total params */
    long long optimizer;     /* adam: 8 * params; sgd with momentum: 4 * params; plain sgd: 0 */
    long long training_total;
    int infer_buffers;       /* the predictor's buffers of the widest output: 2 for a chain */
    long long infer_scratch; /* 4 * infer_buffers * max(input, every output) */
    long long infer_total;   /* params + infer_scratch */
} MemoryPlan;

typedef struct Model {
    char *name;
    const char *source_file;
    Shape input;
    Layer *layers;
    int nlayers;
    TrainConfig train;
    int classes;           /* 10 for MNIST and Fashion-MNIST */
    long long total_params;  /* trainable */
    long long total_state;   /* not trainable (moving statistics), after the trainable ones */
    long long total_macs;  /* forward, per image */
    MemoryPlan mem;
} Model;

/* Resolves and checks an AST. Reports every user error through diag; returns NULL if any. */
Model *check_model(const Ast *ast);
void model_free(Model *m);

const char *layer_kind_name(LayerKind k);     /* "conv2d" (layers/table.c) */
const char *activation_name(Activation a);    /* "relu" */
const char *padding_name(Padding p);          /* "valid" */

/* ------------------------------------------------------------------ emit/target.c */

/* A target of the generated code (emit/target.c). */
typedef struct Target Target;
const Target *target_named(const char *name);  /* NULL if there is none */
const char *const *target_names(void);         /* every name, then NULL */
const Target *target_host(void);               /* the machine cnnc runs on */
const Target *target_generic(void);            /* plain C99 */
const char *target_name(const Target *t);
const char *target_cflags(const Target *t);    /* what gives a C compiler its instructions */

/* ------------------------------------------------------------------ cmd/summary.c */

typedef enum SummaryFormat { SUMMARY_TABLE, SUMMARY_YAML, SUMMARY_JSON } SummaryFormat;
/* The model's table (or YAML, JSON) as built for target t. */
int print_summary(const Model *m, const Target *t, SummaryFormat fmt, FILE *out);

/* ------------------------------------------------------------------ emit/ */

/* Writes DIR/<name>.h and DIR/<name>.c for target t. Returns 0, or -1 after reporting an I/O
 * error; on failure nothing is left under the final names. */
int emit_model(const Model *m, const Target *t, const char *dir);

/* ------------------------------------------------------------------ cmd/driver.c */

int cnnc_main(int argc, char **argv);

#endif
