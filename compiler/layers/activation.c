/*
 * layers/activation.c - relu, sigmoid, tanh and softmax: as expressions that conv2d and dense
 * fuse into their stores, and as standalone layers.
 *
 * Backward passes use the activation's output, which forward keeps anyway: relu' = (y > 0),
 * sigmoid' = y (1 - y), tanh' = 1 - y^2, and softmax's Jacobian-vector product
 * dz = y * (dy - sum(dy * y)) per row.
 */
#include "emit/writer.h"

const char *activation_expr(Activation a, const char *x, char *buf, size_t size)
{
    switch (a) {
    case ACT_NONE:
    case ACT_SOFTMAX:
        snprintf(buf, size, "%s", x);
        break;
    case ACT_RELU:
        snprintf(buf, size, "%s > 0.0f ? %s : 0.0f", x, x);
        break;
    case ACT_SIGMOID:
        snprintf(buf, size, "1.0f / (1.0f + expf(-%s))", x);
        break;
    case ACT_TANH:
        snprintf(buf, size, "tanhf(%s)", x);
        break;
    }
    return buf;
}

const char *activation_grad_expr(Activation a, const char *y, char *buf, size_t size)
{
    switch (a) {
    case ACT_RELU:
        snprintf(buf, size, "(%s > 0.0f ? 1.0f : 0.0f)", y);
        return buf;
    case ACT_SIGMOID:
        snprintf(buf, size, "%s * (1.0f - %s)", y, y);
        return buf;
    case ACT_TANH:
        snprintf(buf, size, "(1.0f - %s * %s)", y, y);
        return buf;
    case ACT_NONE:
    case ACT_SOFTMAX:
        return NULL;
    }
    return NULL;
}

void emit_softmax_rows(Writer *w, const char *p, const char *rows, int cols)
{
    /* Subtracting the row's maximum keeps expf from overflowing (the log-sum-exp trick). */
    w_open(w, "for (int r = 0; r < %s; r++)", rows);
    w_line(w, "float *restrict row = %s + (size_t)r * %d;", p, cols);
    w_line(w, "float max = row[0];");
    w_line(w, "float sum = 0.0f;");
    w_line(w, "for (int k = 1; k < %d; k++)", cols);
    w_line(w, "    max = row[k] > max ? row[k] : max;");
    w_open(w, "for (int k = 0; k < %d; k++)", cols);
    w_line(w, "row[k] = expf(row[k] - max);");
    w_line(w, "sum += row[k];");
    w_close(w);
    w_line(w, "for (int k = 0; k < %d; k++)", cols);
    w_line(w, "    row[k] /= sum;");
    w_close(w);
}

/* The Jacobian-vector product of softmax, row by row, written into `dst` (which may be `dy`). */
static void emit_softmax_grad_rows(Writer *w, const char *dst, const char *dy, const char *y,
                                   const char *rows, int cols)
{
    w_open(w, "for (int r = 0; r < %s; r++)", rows);
    w_line(w, "const float *restrict yr = %s + (size_t)r * %d;", y, cols);
    w_line(w, "const float *dyr = %s + (size_t)r * %d;", dy, cols);
    w_line(w, "float *dxr = %s + (size_t)r * %d;", dst, cols);
    w_line(w, "float dot = 0.0f;");
    w_line(w, "for (int k = 0; k < %d; k++)", cols);
    w_line(w, "    dot += dyr[k] * yr[k];");
    w_line(w, "for (int k = 0; k < %d; k++)", cols);
    w_line(w, "    dxr[k] = yr[k] * (dyr[k] - dot);");
    w_close(w);
}

void emit_activation_grad_inplace(Writer *w, Activation a, bool grad_is_logits, const char *dout,
                                  const char *out, const char *count, int cols)
{
    char buf[512], rows[256];
    if (a == ACT_NONE || grad_is_logits)
        return;
    if (a == ACT_SOFTMAX) {
        snprintf(rows, sizeof rows, "(%s) / %d", count, cols);
        w_line(w, "/* Through the softmax: dz = y * (dy - sum(dy * y)) per row. */");
        emit_softmax_grad_rows(w, dout, dout, out, rows, cols);
        return;
    }
    w_line(w, "/* Through the %s: the gradient of the pre-activation, in place. */", activation_name(a));
    snprintf(rows, sizeof rows, "%s[i]", out);
    w_line(w, "for (int i = 0; i < %s; i++)", count);
    w_line(w, "    %s[i] *= %s;", dout, activation_grad_expr(a, rows, buf, sizeof buf));
}

/* ------------------------------------------------------------------ standalone layers */

static Activation standalone_activation(const Layer *l)
{
    switch (l->kind) {
    case LAYER_RELU: return ACT_RELU;
    case LAYER_SIGMOID: return ACT_SIGMOID;
    case LAYER_TANH: return ACT_TANH;
    case LAYER_SOFTMAX: return ACT_SOFTMAX;
    default: unreachable();
    }
}

/* The rows a softmax normalises: each pixel's channels (Keras applies it on the last axis). */
static void softmax_rows_expr(const Layer *l, char *buf, size_t size)
{
    long long per_image = shape_size(l->out) / l->out.c;
    if (per_image == 1)
        snprintf(buf, size, "n");
    else
        snprintf(buf, size, "n * %lld", per_image);
}

static void activation_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Activation a = standalone_activation(l);
    long long size = shape_size(l->out);
    char buf[128];
    (void)m;
    w_line(w, "/* %s: %s */", l->name, activation_name(a));
    w_begin_function(w, "static void %s_forward(float *restrict out, const float *restrict in, int n)", l->name);
    w_line(w, "/* out, in: [n][%lld] */", size);
    if (a == ACT_SOFTMAX) {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    out[i] = in[i];");
        softmax_rows_expr(l, buf, sizeof buf);
        emit_softmax_rows(w, "out", buf, l->out.c);
    } else {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    out[i] = %s;", activation_expr(a, "in[i]", buf, sizeof buf));
    }
    w_close(w);
}

static void activation_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Activation a = standalone_activation(l);
    long long size = shape_size(l->out);
    char buf[128];
    (void)m;
    if (e->din[0] == '\0')
        return; /* the first layer: no gradient flows further back */
    w_line(w, "/* %s: %s */", l->name, activation_name(a));
    if (a == ACT_SOFTMAX && e->grad_is_logits) {
        /* The loss already differentiated through this softmax. */
        w_begin_function(w, "static void %s_backward(float *restrict din, const float *restrict dout, int n)", l->name);
        w_line(w, "/* din, dout: [n][%lld] */", size);
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    din[i] = dout[i];");
        w_close(w);
        return;
    }
    w_begin_function(w, "static void %s_backward(float *restrict din, const float *restrict dout, const float *restrict out, int n)", l->name);
    w_line(w, "/* din, dout, out: [n][%lld] */", size);
    if (a == ACT_SOFTMAX) {
        softmax_rows_expr(l, buf, sizeof buf);
        emit_softmax_grad_rows(w, "din", "dout", "out", buf, l->out.c);
    } else {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", size);
        w_line(w, "    din[i] = dout[i] * %s;", activation_grad_expr(a, "out[i]", buf, sizeof buf));
    }
    w_close(w);
}

static void activation_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    w_line(w, "%s_forward(%s, %s, n);", e->layer->name, e->out, e->in);
}

static void activation_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->din[0] == '\0')
        return;
    if (e->layer->kind == LAYER_SOFTMAX && e->grad_is_logits)
        w_line(w, "%s_backward(%s, %s, n);", e->layer->name, e->din, e->dout);
    else
        w_line(w, "%s_backward(%s, %s, %s, n);", e->layer->name, e->din, e->dout, e->out);
}

const EmitKind emit_activation_kind = {
    .forward = activation_forward,
    .backward = activation_backward,
    .forward_call = activation_forward_call,
    .backward_call = activation_backward_call,
};
