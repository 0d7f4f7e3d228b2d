/*
 * emit/writer.h - what the code generators share: an indenting writer for C text, the
 * placement of each layer in the parameters and the workspace, and the per-kind emitters.
 *
 * emit/model.c resolves every placement first (EmitLayer), then asks the emitter of each layer kind
 * to write its passes. Emitters only write text: the Model they read is fully checked.
 */
#ifndef EMIT_WRITER_H
#define EMIT_WRITER_H

#include "cnnc.h"

/* ------------------------------------------------------------------ emit/target.c */

/* A target of the generated code: what the kernels are sized from, and how C spells a vector
 * of it (the prelude's lines: cnn_vf and the VF_ macros, see target.c). */
struct Target {
    const char *name;     /* "avx2", as --target takes it and the banner names it */
    const char *summary;  /* "AVX2 and FMA: 8 lanes, 16 registers" */
    int lanes;            /* floats in one vector */
    int registers;        /* vector registers: the accumulators of a register block, and what
                             they multiply, must fit */
    bool fma;             /* VF_FMA is one instruction; without it a product needs a register */
    const char *cflags;   /* what gives a compiler the target's instructions: "-mavx2 -mfma" */
    const char *check;    /* the preprocessor condition that holds when it has them; NULL: always */
    const char *const *prelude; /* the lines that define cnn_vf and the VF_ macros, NULL-ended */
};


/* ------------------------------------------------------------------ emit/writer.c */

typedef struct Writer {
    FILE *f;
    int indent;           /* in levels of four spaces */
    const Target *target; /* what the code is generated for */
} Writer;

/* One line at the current indentation, with a newline added. An empty format writes a blank line. */
void w_line(Writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line that opens a block: the text, then " {", and one more level of indentation. */
void w_open(Writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bare block: "{" on a line of its own, and one more level of indentation. */
void w_open_block(Writer *w);
/* An empty line. */
void w_blank(Writer *w);
/* A preprocessor line, at the first column whatever the indentation. */
void w_directive(Writer *w, const char *text);
/* A function definition: the signature (continuation lines after a '\n' carry their own
 * indentation), then "{" on a line of its own, and one more level of indentation. */
void w_begin_function(Writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `for (int VAR = LO; VAR <= HI; VAR++) {`, or `{ const int VAR = LO;` when LO == HI: a
 * loop that would run once is written as the block it is. Closed with w_close. */
void w_open_range(Writer *w, const char *var, int lo, int hi);
/* Closes a block opened with w_open: "}" one level out. */
void w_close(Writer *w);
/* Writes the declaration of `float sum`, the dot product of a[0..n) and b[0..n), for two
 * unit-stride float pointer expressions. Strict C may not reassociate one running sum, so a
 * plain loop would stay scalar; the code keeps 16 (or 8) partial sums that vectorise instead,
 * then adds them pairwise. */
void emit_dot(Writer *w, const char *a, const char *b, int n);
/* Writes a float literal that reads back as the same float ("0.5f", "1e-07f", "2.0f"). */
void w_float_literal(char *buf, size_t size, double x);
/* Writes a double literal that reads back as the same double ("0.001", "2.0"). */
void w_double_literal(char *buf, size_t size, double x);

/* ------------------------------------------------------------------ emit/window.c */

/* A run of output rows (or columns) whose kernel window covers the same taps: for every output
 * index o in [o_lo, o_hi], the taps k in [k_lo, k_hi] fall inside the input. Splitting the
 * output like this lets the generated loops test no bounds inside the window. */
typedef struct WindowRun {
    int o_lo, o_hi;
    int k_lo, k_hi;
} WindowRun;

/* Splits outputs 0..out-1 of a window of k taps, stride s and `pad` cells before the input of
 * `in` cells into runs. Returns the number of runs written to `runs` (at most `out`). */
int window_runs(int in, int out, int k, int s, int pad, WindowRun *runs);

/* The geometry of a 2-D window (conv2d kernel or pooling window) over an H x W x C input. */
typedef struct Window {
    int in_h, in_w, in_c, out_h, out_w;
    int kh, kw, sh, sw, pad_top, pad_left;
} Window;

/* Writes code for every output pixel of one image: loops over the runs of rows and columns,
 * each opening with `const int at = ...;`, the index in the input of the window's top-left
 * tap (before the image where padded), and `const int o = ...;`, the output pixel's index.
 * `body` writes the rest, knowing which taps fall inside the image. */
typedef void (*WindowBody)(Writer *w, const Window *g, const WindowRun *rows, const WindowRun *cols, void *ctx);
void emit_window_loops(Writer *w, const Window *g, WindowBody body, void *ctx);
/* The input offset of tap (kh, kw) relative to `at`, in floats. */
long long window_tap_offset(const Window *g, int kh, int kw);
/* "2" or "1x2": a window's strides as its comment shows them. */
void format_stride(char *buf, size_t size, int sh, int sw);
/* "oh", "oh * 2", "(oh - 1)" or "(oh * 2 - 1)": the first input row (or column) of the window
 * of output `var`. */
void window_start_expr(char *buf, size_t size, const char *var, int stride, int pad);

/* Like emit_window_loops, but `body` writes a block of `npix` output pixels (npix <= block)
 * along a row or down a column, the first at `at` and `o`; pixel p's window starts step.in
 * floats and its output step.out pixels after pixel p - 1's. Full blocks run in a loop, the
 * rest of each run is one shorter block. */
typedef struct WindowStep {
    long long in;
    int out;
} WindowStep;
typedef void (*WindowBlockBody)(Writer *w, const Window *g, const WindowRun *rows, const WindowRun *cols,
                                int npix, WindowStep step, void *ctx);
void emit_window_blocks(Writer *w, const Window *g, int block, WindowBlockBody body, void *ctx);

/* ------------------------------------------------------------------ emit/simd.c */

/* The most outputs (pixels, images, kernel rows) one register block holds. */
#define SIMD_MAX_OUTPUTS 32

/* Writes what every generated source starts with after its includes: the rounding rule (no
 * contraction of a * b + c beyond the VF_FMA the kernels write), the check that the compiler
 * was given the target's instructions, and the target's vector type and macros. */
void emit_simd_prelude(Writer *w);

/* How the register blocks of a product cover `channels` channels on a target: nv vectors, the
 * last holding rem floats (0: full); chunks of cb vectors, each in blocks of `outputs`
 * outputs. Chosen for the fewest loads per multiply-add that fit the target's registers. */
typedef struct SimdShape {
    int lanes, channels;
    int nv, rem;
    int cb, chunks;
    int outputs;
} SimdShape;
SimdShape simd_shape(const Target *t, int channels, int max_outputs);
/* The block of exactly `outputs` outputs with the most channel vectors that fit the registers. */
SimdShape simd_shape_fixed(const Target *t, int channels, int outputs);
/* Whether the kernels apply activation a to their accumulators in registers before storing
 * them (relu, and tanh by a rational function), and the statement that does it to VAR; other
 * activations are applied to the stored outputs. */
bool simd_activation_in_registers(Activation a);
void simd_activate(Writer *w, Activation a, const char *var);
/* "base", "base + c0", "base + 16" or "base + c0 + 16": c0 may be NULL, off 0. */
void simd_expr(char *buf, size_t size, const char *base, const char *c0, long long off);
/* Writes body once for each distinct chunk of channels: for a single chunk once, with c0
 * NULL (channel 0); else in a loop over the full chunks, and once more for a last chunk whose
 * last vector holds `rem` floats. */
typedef void (*SimdChunkBody)(Writer *w, const SimdShape *s, const char *c0, int rem, void *ctx);
void simd_chunks(Writer *w, const SimdShape *s, SimdChunkBody body, void *ctx);
/* `VAR = base[c0 + off ...]` as a vector, or the first `rem` floats of it where `partial`;
 * and the store of VAR there. */
void simd_load(Writer *w, const char *var, const char *base, const char *c0, long long off, bool partial, int rem);
void simd_store(Writer *w, const char *base, const char *c0, long long off, const char *var, bool partial, int rem);

/* A convolution-shaped product for the vector kernels. The window g slides over x, an image of
 * [in_h][in_w][in_c]; y is [out_h][out_w][cout]; k is [kh][kw][in_c][cout]; each names a
 * pointer expression of the generated code. */
typedef struct SimdConv {
    Window g;
    int cout;
    const char *x, *y, *k;
    const char *bias; /* NULL: the sums start at zero */
    Activation act;   /* applied to y as it is stored */
} SimdConv;

/* y = act(bias + sum over the window of x * k), for every output pixel: the outputs in
 * register blocks, the valid taps of each border run known at generation time. */
void emit_simd_gather(Writer *w, const SimdConv *c);
/* k += x (*) y: the kernel gradient, x the input and y the output gradient of one image. The
 * rows of k (tap and input channel) are taken in blocks held in registers over all outputs
 * whose window puts the tap inside the input; one static function `NAME_wgradI` per shape of
 * block is written before the pass (the _functions call), then one call per block inside it. */
void emit_simd_kernel_grad_functions(Writer *w, const char *name, const SimdConv *c);
void emit_simd_kernel_grad_calls(Writer *w, const char *name, const SimdConv *c);

/* ------------------------------------------------------------------ emit/dense_simd.c */

/* The statements of a dense layer's passes in register blocks: forward over `in` into `out`
 * (before any softmax) for n <= batch images, the kernel gradient from `in` and `dout` into
 * `dkernel`, and the input gradient from `dout` and `kernel` into `din`, which needs the
 * batch's output gradient transposed on the stack (..._fits). */
void emit_dense_simd_forward(Writer *w, const Layer *l, int batch);
void emit_dense_simd_kernel_grad(Writer *w, const Layer *l);
bool dense_simd_input_grad_fits(const Target *t, const Layer *l, int batch);
void emit_dense_simd_input_grad(Writer *w, const Layer *l, int batch);

/* ------------------------------------------------------------------ emit/activation.c */

/* The C expression of an activation of `x` ("x > 0.0f ? x : 0.0f"); ACT_SOFTMAX is applied by
 * emit_softmax_rows instead and yields `x` here. */
const char *activation_expr(Activation a, const char *x, char *buf, size_t size);
/* The C expression of the activation's derivative given its output `y`; NULL for ACT_NONE. */
const char *activation_grad_expr(Activation a, const char *y, char *buf, size_t size);
/* Writes a loop that applies softmax in place to `rows` rows of `cols` floats at `p`. */
void emit_softmax_rows(Writer *w, const char *p, const char *rows, int cols);
/* The Jacobian-vector product of softmax, row by row, written into `dst` (which may be `dy`). */
void emit_softmax_grad_rows(Writer *w, const char *dst, const char *dy, const char *y, const char *rows, int cols);
/* Writes the in-place backward of a fused activation: dout *= f'(out) over `count` floats,
 * or the softmax Jacobian-vector product per row of `cols`. Writes nothing for ACT_NONE or
 * when the gradient is already that of the logits. */
void emit_activation_grad_inplace(Writer *w, Activation a, bool grad_is_logits, const char *dout,
                                  const char *out, const char *count, int cols);

/* ------------------------------------------------------------------ emit/canonical.c */

/* The model as text, one resolved fact per line (malloc'ed): what the banner shows and hashes. */
char *canonical_text(const Model *m);
/* The comment that opens a generated file: generator, model, hash, canonical text, "do not edit". */
void write_banner(Writer *w, const Model *m, const char *file, const char *canon);
/* A string as a C literal that is also safe inside a comment: '?' and '*' are escaped too. */
void put_c_string(FILE *f, const char *s);

/* ------------------------------------------------------------------ emit/model.c: placement */

/* check/ limits model and layer names to 64 characters; expressions hold two of them. */
#define EMIT_NAME_MAX 72
#define EMIT_EXPR_MAX 256
/* The most parameter tensors a layer has (conv2d: kernel and bias). */
#define EMIT_MAX_TENSORS 4

/* Where one layer's tensors live, as C expressions over `params`, `grads` and `ws` (or the
 * predictor's workspace and arrays). */
typedef struct EmitLayer {
    const Model *model;
    const Layer *layer;
    int index;
    char upper[EMIT_NAME_MAX];      /* the layer name in upper case, for the named constants */
    char in[EMIT_EXPR_MAX], out[EMIT_EXPR_MAX], aux[EMIT_EXPR_MAX]; /* activations; forward's record */
    char in2[EMIT_EXPR_MAX];        /* the second input (add, concat) */
    /* A gradient flows back into the input (the second input): something it depends on trains.
     * din and din2 are where backward writes it (the input's gradient, or a scratch buffer that
     * the caller then adds to it). */
    bool has_din, has_din2;
    char din[EMIT_EXPR_MAX], din2[EMIT_EXPR_MAX], dout[EMIT_EXPR_MAX];
    /* The layer's parameter tensors and their gradients, in the order of its `tensors` verb. */
    char param[EMIT_MAX_TENSORS][EMIT_EXPR_MAX], dparam[EMIT_MAX_TENSORS][EMIT_EXPR_MAX];
    /* The loss already wrote the gradient of the pre-softmax logits into dout (softmax fused
     * with cross-entropy), so this layer's backward must not apply its activation again. */
    bool grad_is_logits;
    /* The inference-only predictor's forward: nothing is kept for a backward pass. */
    bool inference;
    /* A view whose gradient is its input's floats: its backward has nothing to do. */
    bool grad_alias;
} EmitLayer;

/* Whether a layer's backward pass has anything to do: it has parameters, or a gradient flows
 * through it to its input. */
bool emit_runs_backward(const EmitLayer *e);

/* ------------------------------------------------------------------ emit/pass.c */

/* The parameters of one pass, written once: each has its declaration in the pass's signature
 * and its argument at the call, so the two cannot disagree. */
#define PASS_MAX_PARAMS 16
typedef struct PassParam {
    char decl[64];              /* "const float *restrict in", "int n" */
    char arg[EMIT_EXPR_MAX];    /* what the call passes: "ws + MNIST_CNN_WS_CONV2D_1_ACT", "n" */
    bool wrap;                  /* the signature goes on a new line before this one */
} PassParam;

typedef struct PassParams {
    PassParam p[PASS_MAX_PARAMS];
    int n;
} PassParams;

/* Adds a parameter: the argument the call passes, and its declaration (printf-style). */
void pass_add(PassParams *ps, const char *arg, const char *decl_fmt, ...) __attribute__((format(printf, 3, 4)));
/* A buffer the pass writes (`float *restrict NAME`) or reads (`const float *restrict NAME`). */
void pass_out(PassParams *ps, const char *name, const char *arg);
void pass_in(PassParams *ps, const char *name, const char *arg);
/* The number of images every pass ends with: `int n`, passed `n`. */
void pass_n(PassParams *ps);
/* "static void NAME(decl, decl, ...)" and the opening brace. */
void w_pass_begin(Writer *w, const char *name, const PassParams *ps);
/* "NAME(arg, arg, ...);" */
void w_pass_call(Writer *w, const char *name, const PassParams *ps);

/* ------------------------------------------------------------------ emit/loss.c, emit/optimizer.c */

/* Writes `static double loss_and_gradient(...)`: the summed loss of n images and the scaled
 * gradient of the model's output (or of its logits when softmax is fused with cross-entropy). */
void emit_loss(Writer *w, const Model *m, const EmitLayer *last);
/* Writes `static void optimizer_update(...)` over a range of the parameters, and
 * `optimizer_step` over all of them. */
void emit_optimizer(Writer *w, const Model *m);

/* ------------------------------------------------------------------ emit/outfile.c */

/* A generated file being written under a temporary name beside its final one. */
typedef struct OutFile {
    char *final_path, *temp_path;
    FILE *f;
} OutFile;

/* Creates DIR if missing; -1 after an error when it cannot, or is not a directory. */
int emit_ensure_dir(const char *dir);
/* Opens DIR/.FILE.XXXXXX for writing, to become DIR/FILE. */
int out_open(OutFile *o, const char *dir, const char *file);
/* Closes both and renames them into place; on any failure neither is left under its final name. */
int out_commit_pair(OutFile *a, OutFile *b);
/* Closes and removes what is left of a temporary file, and frees the paths. */
void out_discard(OutFile *o);

#endif
