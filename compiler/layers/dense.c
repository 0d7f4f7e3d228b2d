/*
 * layers/dense.c - dense: Keras Dense, a fully connected layer over a 1-D input.
 *
 *     dense(units=64, activation=relu, use_bias=true);
 *
 * The kernel is [IN][OUT] as in Keras, so every inner loop runs over the outputs with unit
 * stride. The three products are emit/dense_simd.c's register blocks over the images of the
 * batch; only an input gradient too large for its transposed block on the stack takes dot
 * products over the kernel's rows.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* ------------------------------------------------------------------ check */

static const ArgSpec dense_args[] = {
    {"units", ARG_COUNT, true},
    {"activation", ARG_ACTIVATION, false},
    {"use_bias", ARG_BOOL, false},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static void dense_resolve(Layer *L, const ArgValue *vals)
{
    const ArgValue *v;
    DenseAttrs *d = &L->u.dense;
    *d = (DenseAttrs){.use_bias = true};
    L->act = ACT_NONE;
    if ((v = arg_value(dense_args, vals, "units")))
        d->units = v->n;
    if ((v = arg_value(dense_args, vals, "activation")))
        L->act = (Activation)v->e;
    if ((v = arg_value(dense_args, vals, "use_bias")))
        d->use_bias = v->b;
}

/* MACs: in * units. */
static bool dense_infer(Layer *L, Shape in)
{
    DenseAttrs *d = &L->u.dense;
    if (!need_rank(L, in, 1))
        return false;
    L->out = (Shape){.rank = 1, .h = 1, .w = 1, .c = d->units};
    char what[160];
    snprintf(what, sizeof what, "kernel %dx%d", in.c, d->units);
    long long kernel;
    if (__builtin_mul_overflow((long long)in.c, (long long)d->units, &kernel))
        kernel = -1;
    if (!check_kernel_size(L, what, kernel))
        return false;
    L->kernel_size = kernel;
    L->bias_size = d->use_bias ? d->units : 0;
    L->params = L->kernel_size + L->bias_size;
    L->macs = kernel;
    return true;
}

/* A dense layer's output does not depend on its input: later layers can be checked even when
 * the input is unknown. */
static bool dense_shape_without_input(const Layer *L, Shape *out)
{
    *out = (Shape){.rank = 1, .h = 1, .w = 1, .c = L->u.dense.units};
    return true;
}

/* ------------------------------------------------------------------ describe */

static int dense_attrs(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS])
{
    out[0] = (LayerAttr){.name = "units", .type = ATTR_INT, .i = L->u.dense.units};
    out[1] = (LayerAttr){.name = "activation", .type = ATTR_ACTIVATION, .i = L->act};
    out[2] = (LayerAttr){.name = "use_bias", .type = ATTR_BOOL, .i = L->u.dense.use_bias};
    return 3;
}

/* The kernel [IN][OUT] as in Keras, then the bias [OUT]. */
enum { DENSE_KERNEL, DENSE_BIAS };

static int dense_tensors(const Layer *L, TensorSpec out[MAX_LAYER_TENSORS])
{
    int in = (int)shape_size(L->in), units = L->u.dense.units;
    out[DENSE_KERNEL] = (TensorSpec){.suffix = "kernel", .ndim = 2, .shape = {in, units}, .count = L->kernel_size,
                                     .fan_in = in, .fan_out = units};
    if (!L->u.dense.use_bias)
        return 1;
    out[DENSE_BIAS] = (TensorSpec){.suffix = "bias", .ndim = 1, .shape = {units}, .count = L->bias_size,
                                   .fan_in = in, .fan_out = units, .is_bias = true};
    return 2;
}

static void dense_runtime_row(const Layer *L, RuntimeRow *r)
{
    *r = (RuntimeRow){.units = L->u.dense.units, .use_bias = L->u.dense.use_bias};
}

static void dense_constants(Writer *w, const Layer *L, const char *prefix)
{
    w_line(w, "#define %s_UNITS %d", prefix, L->u.dense.units);
}

/* ------------------------------------------------------------------ emit */

static void dense_comment(Writer *w, const Layer *l)
{
    const DenseAttrs *a = &l->u.dense;
    w_line(w, "/* %s: %lld -> %d, %s%s */", l->name, shape_size(l->in), a->units, activation_name(l->act),
           a->use_bias ? "" : ", no bias");
}

static void dense_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_in(p, "kernel", e->param[DENSE_KERNEL]);
    if (e->layer->u.dense.use_bias)
        pass_in(p, "bias", e->param[DENSE_BIAS]);
    pass_n(p);
}

static void dense_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    long long in = shape_size(l->in);
    int units = l->u.dense.units;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    dense_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    dense_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* out: [n][%d], in: [n][%lld], kernel: [%lld][%d] */", units, in, in, units);
    emit_dense_simd_forward(w, l, e->model->train.batch_size);
    if (l->act == ACT_SOFTMAX)
        emit_softmax_rows(w, "out", "n", units);
    w_close(w);
    w_blank(w);
}

static bool uses_out(const EmitLayer *e)
{
    return e->layer->act != ACT_NONE && !e->grad_is_logits;
}

/* Image b's input gradient, one dot product of a kernel row with dz per input. */
static void dot_input_grad(Writer *w, const Layer *l)
{
    long long in = shape_size(l->in);
    w_line(w, "float *restrict dx = din + (size_t)b * %lld;", in);
    w_open(w, "for (int i = 0; i < %lld; i++)", in);
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d;", l->u.dense.units);
    emit_dot(w, "k", "dz", l->u.dense.units);
    w_line(w, "dx[i] = sum;");
    w_close(w);
}

/* Gradients first (the input's where one flows back, the kernel's, the bias's), then what they
 * are computed from. */
static void dense_backward_params(const EmitLayer *e, PassParams *p)
{
    if (e->has_din)
        pass_out(p, "din", e->din);
    pass_out(p, "dkernel", e->dparam[DENSE_KERNEL]);
    if (e->layer->u.dense.use_bias)
        pass_out(p, "dbias", e->dparam[DENSE_BIAS]);
    pass_out(p, "dout", e->dout);
    if (uses_out(e))
        pass_in(p, "out", e->out);
    pass_in(p, "in", e->in);
    if (e->has_din)
        pass_in(p, "kernel", e->param[DENSE_KERNEL]);
    pass_n(p);
}

static void dense_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DenseAttrs *a = &l->u.dense;
    long long in = shape_size(l->in);
    int units = a->units;
    bool with_din = e->has_din;
    char count[64];
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    dense_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    dense_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* dout%s: [n][%d], %sin: [n][%lld], dkernel: [%lld][%d] */", uses_out(e) ? ", out" : "", units,
           with_din ? "din, " : "", in, in, units);
    snprintf(count, sizeof count, "n * %d", units);
    emit_activation_grad_inplace(w, l->act, e->grad_is_logits, "dout", "out", count, units);
    if (l->u.dense.use_bias) {
        w_line(w, "for (int b = 0; b < n; b++)");
        w_line(w, "    for (int o = 0; o < %d; o++)", units);
        w_line(w, "        dbias[o] += dout[(size_t)b * %d + o];", units);
    }
    emit_dense_simd_kernel_grad(w, l);
    /* The input gradient in register blocks where the transposed output gradient fits on the
     * stack, else by dot products. */
    int batch = e->model->train.batch_size;
    if (with_din && dense_simd_input_grad_fits(w->target, l, batch)) {
        emit_dense_simd_input_grad(w, l, batch);
    } else if (with_din) {
        w_open(w, "for (int b = 0; b < n; b++)");
        w_line(w, "const float *restrict dz = dout + (size_t)b * %d;", units);
        dot_input_grad(w, l);
        w_close(w);
    }
    w_close(w);
    w_blank(w);
}

/* Gemm with B = cnnc's [IN][OUT] kernel as it is (its input is flattened H, W, C). */
static void dense_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    const DenseAttrs *a = &L->u.dense;
    char *kname = ow_layer_tensor(L, ".", "kernel"), *bname = ow_layer_tensor(L, ".", "bias");
    ow_initializer(w, kname, 2, (long long[]){shape_size(L->in), a->units}, io->kernel);
    if (a->use_bias)
        ow_initializer(w, bname, 1, (long long[]){a->units}, io->bias);
    char *linear = ow_activation_before(L, io);
    ow_node(w, dense_ops.onnx_op, L->name, (const char *[]){io->in, kname, a->use_bias ? bname : NULL, NULL},
            linear);
    ow_activation_after(w, L, io, linear);
    free(kname);
    free(bname);
    free(linear);
}

const LayerOps dense_ops = {
    .name = "dense",
    .keras_class = "Dense",
    .args = dense_args,
    .resolve = dense_resolve,
    .infer = dense_infer,
    .shape_without_input = dense_shape_without_input,
    .attrs = dense_attrs,
    .tensors = dense_tensors,
    .runtime_row = dense_runtime_row,
    .constants = dense_constants,
    .emit_forward = dense_forward,
    .emit_backward = dense_backward,
    .forward_params = dense_forward_params,
    .backward_params = dense_backward_params,
    .onnx_op = "Gemm",
    .onnx_export = dense_onnx,
    .onnx_layout = ONNX_ANY,
};
