/*
 * layers/dense.c - dense (fully connected) layers, forward and backward.
 *
 * The kernel is [IN][OUT] as in Keras, so every inner loop runs over the outputs with unit
 * stride. Where the units fill whole vectors the three products are emit/dense_simd.c's
 * register blocks over the images of the batch; otherwise forward broadcasts one input and
 * accumulates a row of the kernel into a local array of OUT floats, the kernel gradient is an
 * outer product row by row, and the input gradient a dot product over a row.
 */
#include "emit/writer.h"

/* Above this many units the accumulator lives in the output instead of on the stack. */
#define MAX_LOCAL_ACC 1024

static void dense_comment(Writer *w, const Layer *l)
{
    const DenseAttrs *a = &l->u.dense;
    w_line(w, "/* %s: %lld -> %d, %s%s */", l->name, shape_size(l->in), a->units, activation_name(a->act),
           a->use_bias ? "" : ", no bias");
}

static void dense_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DenseAttrs *a = &l->u.dense;
    long long in = shape_size(l->in);
    int units = a->units;
    bool local = units <= MAX_LOCAL_ACC;
    const char *acc = local ? "acc" : "y";
    char buf[128];
    (void)m;
    dense_comment(w, l);
    w_begin_function(w, "static void %s_forward(float *restrict out, const float *restrict in, const float *restrict kernel%s, int n)",
                     l->name, a->use_bias ? ", const float *restrict bias" : "");
    w_line(w, "/* out: [n][%d], in: [n][%lld], kernel: [%lld][%d] */", units, in, in, units);
    if (simd_fits(units)) {
        emit_dense_simd_forward(w, l);
        if (a->act == ACT_SOFTMAX)
            emit_softmax_rows(w, "out", "n", units);
        w_close(w);
        w_blank(w);
        return;
    }
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", in);
    w_line(w, "float *restrict y = out + (size_t)b * %d;", units);
    if (local)
        w_line(w, "float acc[%d] CNN_STACK_ALIGN;", units);
    w_line(w, "for (int o = 0; o < %d; o++)", units);
    w_line(w, "    %s[o] = %s;", acc, a->use_bias ? "bias[o]" : "0.0f");
    w_open(w, "for (int i = 0; i < %lld; i++)", in);
    w_line(w, "const float xv = x[i];");
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d;", units);
    w_line(w, "for (int o = 0; o < %d; o++)", units);
    w_line(w, "    %s[o] += xv * k[o];", acc);
    w_close(w);
    if (local || (a->act != ACT_NONE && a->act != ACT_SOFTMAX)) {
        char src[16];
        snprintf(src, sizeof src, "%s[o]", acc);
        w_line(w, "for (int o = 0; o < %d; o++)", units);
        w_line(w, "    y[o] = %s;", activation_expr(a->act, src, buf, sizeof buf));
    }
    w_close(w);
    if (a->act == ACT_SOFTMAX)
        emit_softmax_rows(w, "out", "n", units);
    w_close(w);
    w_blank(w);
}

static bool uses_out(const EmitLayer *e)
{
    return e->layer->u.dense.act != ACT_NONE && !e->grad_is_logits;
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

/* The backward statements after the activation for the register-blocked kernels: the input
 * gradient too where its transposed output gradient fits on the stack, else by dot products. */
static void simd_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DenseAttrs *a = &l->u.dense;
    int units = a->units;
    if (a->use_bias) {
        w_line(w, "for (int b = 0; b < n; b++)");
        w_line(w, "    for (int o = 0; o < %d; o++)", units);
        w_line(w, "        dbias[o] += dout[(size_t)b * %d + o];", units);
    }
    emit_dense_simd_kernel_grad(w, l);
    if (e->din[0] != '\0') {
        if (dense_simd_input_grad_fits(l, m->train.batch_size)) {
            emit_dense_simd_input_grad(w, l, m->train.batch_size);
        } else {
            w_open(w, "for (int b = 0; b < n; b++)");
            w_line(w, "const float *restrict dz = dout + (size_t)b * %d;", units);
            dot_input_grad(w, l);
            w_close(w);
        }
    }
    w_close(w);
    w_blank(w);
}

static void dense_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const DenseAttrs *a = &l->u.dense;
    long long in = shape_size(l->in);
    int units = a->units;
    bool with_din = e->din[0] != '\0';
    char count[64];
    (void)m;
    dense_comment(w, l);
    w_begin_function(w, "static void %s_backward(%sfloat *restrict dkernel%s, float *restrict dout%s, const float *restrict in%s, int n)",
                     l->name, with_din ? "float *restrict din, " : "", a->use_bias ? ", float *restrict dbias" : "",
                     uses_out(e) ? ", const float *restrict out" : "", with_din ? ", const float *restrict kernel" : "");
    w_line(w, "/* dout%s: [n][%d], %sin: [n][%lld], dkernel: [%lld][%d] */", uses_out(e) ? ", out" : "", units,
           with_din ? "din, " : "", in, in, units);
    snprintf(count, sizeof count, "n * %d", units);
    emit_activation_grad_inplace(w, a->act, e->grad_is_logits, "dout", "out", count, units);
    if (simd_fits(units)) {
        simd_backward(w, m, e);
        return;
    }
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", in);
    w_line(w, "const float *restrict dz = dout + (size_t)b * %d;", units);
    if (a->use_bias) {
        w_line(w, "for (int o = 0; o < %d; o++)", units);
        w_line(w, "    dbias[o] += dz[o];");
    }
    w_open(w, "for (int i = 0; i < %lld; i++)", in);
    w_line(w, "const float xv = x[i];");
    w_line(w, "float *restrict dk = dkernel + (size_t)i * %d;", units);
    w_line(w, "for (int o = 0; o < %d; o++)", units);
    w_line(w, "    dk[o] += xv * dz[o];");
    w_close(w);
    if (with_din) {
        dot_input_grad(w, l);
    }
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void dense_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->layer->u.dense.use_bias)
        w_line(w, "%s_forward(%s, %s, %s, %s, n);", e->layer->name, e->out, e->in, e->kernel, e->bias);
    else
        w_line(w, "%s_forward(%s, %s, %s, n);", e->layer->name, e->out, e->in, e->kernel);
}

static void dense_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    char args[1024];
    int len = 0;
    (void)m;
    if (e->din[0] != '\0')
        len += snprintf(args + len, sizeof args - (size_t)len, "%s, ", e->din);
    len += snprintf(args + len, sizeof args - (size_t)len, "%s", e->dkernel);
    if (e->layer->u.dense.use_bias)
        len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->dbias);
    len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->dout);
    if (uses_out(e))
        len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->out);
    len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->in);
    if (e->din[0] != '\0')
        snprintf(args + len, sizeof args - (size_t)len, ", %s", e->kernel);
    w_line(w, "%s_backward(%s, n);", e->layer->name, args);
}

const EmitKind emit_dense_kind = {
    .forward = dense_forward,
    .backward = dense_backward,
    .forward_call = dense_forward_call,
    .backward_call = dense_backward_call,
};
