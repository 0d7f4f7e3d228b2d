/*
 * emit/activation.c - relu, sigmoid, tanh and softmax as expressions and loops: what conv2d and
 * dense fuse into their stores, and what the standalone activation layers are made of.
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

void emit_softmax_grad_rows(Writer *w, const char *dst, const char *dy, const char *y,
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

