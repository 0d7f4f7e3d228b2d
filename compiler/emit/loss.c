/*
 * emit/loss.c - the loss of a batch and the gradient that starts the backward pass.
 *
 * The loss of one image is defined once, in runtime/cnn_model.h (cnn_xent, cnn_mse), and the
 * generated code calls it: the runtime's evaluation calls the same functions, so the training
 * loss and val_loss are one function of the outputs (cross-entropy of probabilities clipped
 * below at 1e-7, a NaN kept as a NaN so that a diverged model shows as one).
 *
 * Sparse categorical cross-entropy after a final softmax is fused with it: the gradient of
 * the logits is simply p - onehot. Without a final softmax the outputs are read as
 * probabilities, and the gradient is that of the clipped log. Mean squared error compares the
 * outputs with one-hot labels and averages over the classes, as Keras' mean_squared_error does.
 */
#include "emit/writer.h"

static void xent_fused(Writer *w, int classes)
{
    w_line(w, "/* Sparse categorical cross-entropy fused with the final softmax: dz = p - onehot. */");
    w_begin_function(w, "static double loss_and_gradient(float *restrict dz, const float *restrict p, const unsigned char *restrict labels, int n, float scale)");
    w_line(w, "/* dz, p: [n][%d] */", classes);
    w_line(w, "double loss = 0.0;");
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict pb = p + (size_t)b * %d;", classes);
    w_line(w, "float *restrict db = dz + (size_t)b * %d;", classes);
    w_line(w, "const int t = labels[b];");
    w_line(w, "loss += cnn_xent(pb[t]);");
    w_line(w, "for (int k = 0; k < %d; k++)", classes);
    w_line(w, "    db[k] = scale * pb[k];");
    w_line(w, "db[t] -= scale;");
    w_close(w);
    w_line(w, "return loss;");
    w_close(w);
}

static void xent_probabilities(Writer *w, int classes)
{
    w_line(w, "/* Sparse categorical cross-entropy of outputs read as probabilities. */");
    w_begin_function(w, "static double loss_and_gradient(float *restrict dy, const float *restrict p, const unsigned char *restrict labels, int n, float scale)");
    w_line(w, "/* dy, p: [n][%d] */", classes);
    w_line(w, "double loss = 0.0;");
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict pb = p + (size_t)b * %d;", classes);
    w_line(w, "float *restrict db = dy + (size_t)b * %d;", classes);
    w_line(w, "const int t = labels[b];");
    w_line(w, "loss += cnn_xent(pb[t]);");
    w_line(w, "for (int k = 0; k < %d; k++)", classes);
    w_line(w, "    db[k] = 0.0f;");
    w_line(w, "/* Where the clip holds the probability, the loss is flat and no gradient flows. */");
    w_line(w, "db[t] = (float)(scale * cnn_xent_grad(pb[t]));");
    w_close(w);
    w_line(w, "return loss;");
    w_close(w);
}

static void mse(Writer *w, int classes)
{
    char twice[48];
    w_float_literal(twice, sizeof twice, 2.0 / classes);
    w_line(w, "/* Mean squared error against one-hot labels, averaged over the %d outputs. */", classes);
    w_begin_function(w, "static double loss_and_gradient(float *restrict dy, const float *restrict y, const unsigned char *restrict labels, int n, float scale)");
    w_line(w, "/* dy, y: [n][%d] */", classes);
    w_line(w, "double loss = 0.0;");
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict yb = y + (size_t)b * %d;", classes);
    w_line(w, "float *restrict db = dy + (size_t)b * %d;", classes);
    w_line(w, "const int t = labels[b];");
    w_line(w, "loss += cnn_mse(yb, %d, t);", classes);
    w_line(w, "for (int k = 0; k < %d; k++)", classes);
    w_line(w, "    db[k] = scale * %s * (yb[k] - (k == t ? 1.0f : 0.0f));", twice);
    w_close(w);
    w_line(w, "return loss;");
    w_close(w);
}

void emit_loss(Writer *w, const Model *m, const EmitLayer *last)
{
    int classes = (int)shape_size(last->layer->out);
    if (m->train.loss == LOSS_MSE)
        mse(w, classes);
    else if (last->grad_is_logits)
        xent_fused(w, classes);
    else
        xent_probabilities(w, classes);
    w_blank(w);
}
