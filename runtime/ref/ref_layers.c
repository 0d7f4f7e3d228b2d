/*
 * ref/ref_layers.c - the reference layers (see ref_layers.h): the obvious loops, nothing clever,
 * so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ shapes and padding */

int ref_window_out(int in, int k, int stride, int before, int after)
{
    int padded = in + before + after;
    if (stride <= 0 || k <= 0 || padded < k)
        return 0;
    return (padded - k) / stride + 1;
}

int ref_same_padding(int in, int k, int stride, int *before, int *after)
{
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + k - in;
    if (total < 0)
        total = 0;
    *before = total / 2;
    *after = total - total / 2;
    return out;
}

/* Index helpers for the [n][h][w][c] layout. */
static size_t at4(int h, int w, int c, int b, int y, int x, int ch)
{
    return (((size_t)b * h + y) * w + x) * c + ch;
}

/* ------------------------------------------------------------------ conv2d */

void ref_conv2d_set_out(ref_conv2d *p)
{
    p->out_h = ref_window_out(p->in_h, p->kh, p->sh, p->pad_top, p->pad_bottom);
    p->out_w = ref_window_out(p->in_w, p->kw, p->sw, p->pad_left, p->pad_right);
}

/* The kernel weight that joins input channel ci to output channel co at window cell (i, j). */
static size_t kernel_at(const ref_conv2d *p, int i, int j, int ci, int co)
{
    return (((size_t)i * p->kw + j) * p->in_c + ci) * p->out_c + co;
}

void ref_conv2d_forward(const ref_conv2d *p, float *y, const float *x, const float *kernel,
                        const float *bias)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int co = 0; co < p->out_c; co++) {
                    double sum = p->use_bias && bias ? bias[co] : 0.0;
                    for (int i = 0; i < p->kh; i++) {
                        int iy = oy * p->sh - p->pad_top + i;
                        if (iy < 0 || iy >= p->in_h)
                            continue;
                        for (int j = 0; j < p->kw; j++) {
                            int ix = ox * p->sw - p->pad_left + j;
                            if (ix < 0 || ix >= p->in_w)
                                continue;
                            for (int ci = 0; ci < p->in_c; ci++)
                                sum += (double)x[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)] *
                                       kernel[kernel_at(p, i, j, ci, co)];
                        }
                    }
                    y[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] = (float)sum;
                }
}

/* Each gradient value is computed as one complete sum in double, so that nothing is
 * accumulated into the outputs: dbias and dkernel sum over every image and output cell, and
 * dx walks, for each input cell, the output cells whose windows cover it. */
void ref_conv2d_backward(const ref_conv2d *p, float *dx, float *dkernel, float *dbias,
                         const float *dy, const float *x, const float *kernel)
{
    if (dbias)
        for (int co = 0; co < p->out_c; co++) {
            double sum = 0.0;
            for (int b = 0; b < p->n; b++)
                for (int oy = 0; oy < p->out_h; oy++)
                    for (int ox = 0; ox < p->out_w; ox++)
                        sum += dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)];
            dbias[co] = (float)sum;
        }

    if (dkernel)
        for (int i = 0; i < p->kh; i++)
            for (int j = 0; j < p->kw; j++)
                for (int ci = 0; ci < p->in_c; ci++)
                    for (int co = 0; co < p->out_c; co++) {
                        double sum = 0.0;
                        for (int b = 0; b < p->n; b++)
                            for (int oy = 0; oy < p->out_h; oy++) {
                                int iy = oy * p->sh - p->pad_top + i;
                                if (iy < 0 || iy >= p->in_h)
                                    continue;
                                for (int ox = 0; ox < p->out_w; ox++) {
                                    int ix = ox * p->sw - p->pad_left + j;
                                    if (ix < 0 || ix >= p->in_w)
                                        continue;
                                    sum += (double)dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] *
                                           x[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)];
                                }
                            }
                        dkernel[kernel_at(p, i, j, ci, co)] = (float)sum;
                    }

    if (dx)
        for (int b = 0; b < p->n; b++)
            for (int iy = 0; iy < p->in_h; iy++)
                for (int ix = 0; ix < p->in_w; ix++)
                    for (int ci = 0; ci < p->in_c; ci++) {
                        double sum = 0.0;
                        /* Output cell (oy, ox) sees this input through window cell
                         * i = iy + pad_top - oy * sh, which must lie in [0, kh). */
                        for (int oy = 0; oy < p->out_h; oy++) {
                            int i = iy + p->pad_top - oy * p->sh;
                            if (i < 0 || i >= p->kh)
                                continue;
                            for (int ox = 0; ox < p->out_w; ox++) {
                                int j = ix + p->pad_left - ox * p->sw;
                                if (j < 0 || j >= p->kw)
                                    continue;
                                for (int co = 0; co < p->out_c; co++)
                                    sum += (double)dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] *
                                           kernel[kernel_at(p, i, j, ci, co)];
                            }
                        }
                        dx[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)] = (float)sum;
                    }
}

/* ------------------------------------------------------------------ maxpool2d, avgpool2d */

void ref_pool2d_set_out(ref_pool2d *p)
{
    p->out_h = ref_window_out(p->in_h, p->ph, p->sh, p->pad_top, p->pad_bottom);
    p->out_w = ref_window_out(p->in_w, p->pw, p->sw, p->pad_left, p->pad_right);
}

/* The valid (unpadded) rows [*y0, *y1) and columns [*x0, *x1) of output cell (oy, ox)'s window. */
static void pool_window(const ref_pool2d *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    int top = oy * p->sh - p->pad_top, left = ox * p->sw - p->pad_left;
    *y0 = top < 0 ? 0 : top;
    *y1 = top + p->ph > p->in_h ? p->in_h : top + p->ph;
    *x0 = left < 0 ? 0 : left;
    *x1 = left + p->pw > p->in_w ? p->in_w : left + p->pw;
}

/* Index into x of the winning cell of output (b, oy, ox, ch), or -1 for a window with no valid
 * cell (which a well-formed layer never has). The strict > keeps the first maximum. */
static long max_cell(const ref_pool2d *p, const float *x, int b, int oy, int ox, int ch)
{
    int y0, y1, x0, x1;
    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
    long best = -1;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            size_t k = at4(p->in_h, p->in_w, p->c, b, iy, ix, ch);
            if (best < 0 || x[k] > x[best])
                best = (long)k;
        }
    return best;
}

void ref_maxpool2d_forward(const ref_pool2d *p, float *y, const float *x)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    long k = max_cell(p, x, b, oy, ox, ch);
                    y[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] = k < 0 ? 0.0f : x[k];
                }
}

void ref_maxpool2d_backward(const ref_pool2d *p, float *dx, const float *dy, const float *x)
{
    memset(dx, 0, sizeof *dx * (size_t)p->n * p->in_h * p->in_w * p->c);
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    long k = max_cell(p, x, b, oy, ox, ch);
                    if (k >= 0)
                        dx[k] += dy[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)];
                }
}

void ref_avgpool2d_forward(const ref_pool2d *p, float *y, const float *x)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    int y0, y1, x0, x1;
                    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                    double sum = 0.0;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            sum += x[at4(p->in_h, p->in_w, p->c, b, iy, ix, ch)];
                    int cells = (y1 - y0) * (x1 - x0);
                    y[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] =
                        cells > 0 ? (float)(sum / cells) : 0.0f;
                }
}

void ref_avgpool2d_backward(const ref_pool2d *p, float *dx, const float *dy)
{
    memset(dx, 0, sizeof *dx * (size_t)p->n * p->in_h * p->in_w * p->c);
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    int y0, y1, x0, x1;
                    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                    int cells = (y1 - y0) * (x1 - x0);
                    if (cells <= 0)
                        continue;
                    float share = dy[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] / (float)cells;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            dx[at4(p->in_h, p->in_w, p->c, b, iy, ix, ch)] += share;
                }
}

/* ------------------------------------------------------------------ dense */

void ref_dense_forward(int n, int in, int out, float *y, const float *x, const float *kernel,
                       const float *bias)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < out; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int i = 0; i < in; i++)
                sum += (double)x[(size_t)b * in + i] * kernel[(size_t)i * out + o];
            y[(size_t)b * out + o] = (float)sum;
        }
}

void ref_dense_backward(int n, int in, int out, float *dx, float *dkernel, float *dbias,
                        const float *dy, const float *x, const float *kernel)
{
    if (dbias)
        for (int o = 0; o < out; o++) {
            double sum = 0.0;
            for (int b = 0; b < n; b++)
                sum += dy[(size_t)b * out + o];
            dbias[o] = (float)sum;
        }
    if (dkernel)
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) {
                double sum = 0.0;
                for (int b = 0; b < n; b++)
                    sum += (double)x[(size_t)b * in + i] * dy[(size_t)b * out + o];
                dkernel[(size_t)i * out + o] = (float)sum;
            }
    if (dx)
        for (int b = 0; b < n; b++)
            for (int i = 0; i < in; i++) {
                double sum = 0.0;
                for (int o = 0; o < out; o++)
                    sum += (double)dy[(size_t)b * out + o] * kernel[(size_t)i * out + o];
                dx[(size_t)b * in + i] = (float)sum;
            }
}

/* ------------------------------------------------------------------ activations */

/* Softmax of one row, shifted by its maximum so that exp never overflows. */
static void softmax_row(int cols, float *y, const float *x)
{
    double max = x[0], sum = 0.0;
    for (int j = 1; j < cols; j++)
        if (x[j] > max)
            max = x[j];
    for (int j = 0; j < cols; j++)
        sum += exp((double)x[j] - max);
    for (int j = 0; j < cols; j++)
        y[j] = (float)(exp((double)x[j] - max) / sum);
}

void ref_activation_forward(ref_activation act, int rows, int cols, float *y, const float *x)
{
    size_t count = (size_t)rows * cols;
    switch (act) {
    case REF_ACT_NONE:
        memmove(y, x, sizeof *y * count);
        return;
    case REF_ACT_RELU:
        for (size_t k = 0; k < count; k++)
            y[k] = x[k] > 0.0f ? x[k] : 0.0f;
        return;
    case REF_ACT_SIGMOID:
        for (size_t k = 0; k < count; k++)
            y[k] = (float)(1.0 / (1.0 + exp(-(double)x[k])));
        return;
    case REF_ACT_TANH:
        for (size_t k = 0; k < count; k++)
            y[k] = (float)tanh((double)x[k]);
        return;
    case REF_ACT_SOFTMAX:
        for (int r = 0; r < rows && cols > 0; r++)
            softmax_row(cols, y + (size_t)r * cols, x + (size_t)r * cols);
        return;
    }
}

void ref_activation_backward(ref_activation act, int rows, int cols, float *dx, const float *dy,
                             const float *y)
{
    size_t count = (size_t)rows * cols;
    switch (act) {
    case REF_ACT_NONE:
        memmove(dx, dy, sizeof *dx * count);
        return;
    case REF_ACT_RELU:
        for (size_t k = 0; k < count; k++)
            dx[k] = y[k] > 0.0f ? dy[k] : 0.0f;
        return;
    case REF_ACT_SIGMOID:
        for (size_t k = 0; k < count; k++)
            dx[k] = (float)((double)dy[k] * y[k] * (1.0 - y[k]));
        return;
    case REF_ACT_TANH:
        for (size_t k = 0; k < count; k++)
            dx[k] = (float)((double)dy[k] * (1.0 - (double)y[k] * y[k]));
        return;
    case REF_ACT_SOFTMAX:
        for (int r = 0; r < rows; r++) {
            const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
            float *dxr = dx + (size_t)r * cols;
            double dot = 0.0;
            for (int j = 0; j < cols; j++)
                dot += (double)dyr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                dxr[j] = (float)(yr[j] * ((double)dyr[j] - dot));
        }
        return;
    }
}

void ref_activation_backward_from_input(ref_activation act, int rows, int cols, float *dx,
                                        const float *dy, const float *x)
{
    size_t count = (size_t)rows * cols;
    if (act == REF_ACT_RELU) {
        /* relu'(x) is 0 for x <= 0, the same choice as from the output. */
        for (size_t k = 0; k < count; k++)
            dx[k] = x[k] > 0.0f ? dy[k] : 0.0f;
        return;
    }
    if (act == REF_ACT_NONE) {
        memmove(dx, dy, sizeof *dx * count);
        return;
    }
    if (act == REF_ACT_SIGMOID || act == REF_ACT_TANH) {
        for (size_t k = 0; k < count; k++) {
            float y = act == REF_ACT_SIGMOID ? (float)(1.0 / (1.0 + exp(-(double)x[k])))
                                             : (float)tanh((double)x[k]);
            ref_activation_backward(act, 1, 1, dx + k, dy + k, &y);
        }
        return;
    }
    /* Softmax: recompute each row's probabilities on the fly from its maximum and the sum of
     * exponentials, so that no scratch row is needed. */
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
        float *dxr = dx + (size_t)r * cols;
        double max = cols > 0 ? xr[0] : 0.0, sum = 0.0, dot = 0.0;
        for (int j = 1; j < cols; j++)
            if (xr[j] > max)
                max = xr[j];
        for (int j = 0; j < cols; j++)
            sum += exp((double)xr[j] - max);
        for (int j = 0; j < cols; j++)
            dot += (double)dyr[j] * (exp((double)xr[j] - max) / sum);
        for (int j = 0; j < cols; j++)
            dxr[j] = (float)(exp((double)xr[j] - max) / sum * ((double)dyr[j] - dot));
    }
}

/* ------------------------------------------------------------------ dropout */

void ref_dropout_forward(size_t count, float *y, const float *x, const float *mask)
{
    for (size_t k = 0; k < count; k++)
        y[k] = x[k] * mask[k];
}

void ref_dropout_backward(size_t count, float *dx, const float *dy, const float *mask)
{
    for (size_t k = 0; k < count; k++)
        dx[k] = dy[k] * mask[k];
}

/* ------------------------------------------------------------------ losses */

#define REF_XENT_EPSILON 1e-7

double ref_xent_loss(int n, int classes, const float *probs, const unsigned char *labels,
                     float *dlogits, float scale)
{
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        const float *p = probs + (size_t)b * classes;
        /* Labels are checked when a data set is loaded; this only keeps a bad one in bounds. */
        int label = labels[b] < classes ? labels[b] : 0;
        double q = p[label] < REF_XENT_EPSILON ? REF_XENT_EPSILON : p[label];
        total += -log(q);
        if (dlogits)
            for (int j = 0; j < classes; j++)
                dlogits[(size_t)b * classes + j] = scale * (p[j] - (j == label ? 1.0f : 0.0f));
    }
    return total;
}

double ref_mse_loss(int n, int classes, const float *y, const unsigned char *labels, float *dy,
                    float scale)
{
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        double sum = 0.0;
        for (int j = 0; j < classes; j++) {
            double diff = (double)y[(size_t)b * classes + j] - (j == labels[b] ? 1.0 : 0.0);
            sum += diff * diff;
            if (dy)
                dy[(size_t)b * classes + j] = (float)(scale * 2.0 * diff / classes);
        }
        total += sum / classes;
    }
    return total;
}

/* ------------------------------------------------------------------ optimizers */

void ref_sgd_step(size_t count, float *w, const float *g, float *velocity, double lr,
                  double momentum, int nesterov)
{
    for (size_t k = 0; k < count; k++) {
        if (momentum == 0.0 || !velocity) {
            w[k] = (float)(w[k] - lr * g[k]);
            continue;
        }
        double v = momentum * velocity[k] - lr * g[k];
        velocity[k] = (float)v;
        if (nesterov)
            w[k] = (float)(w[k] + momentum * v - lr * g[k]);
        else
            w[k] = (float)(w[k] + v);
    }
}

void ref_adam_step(size_t count, float *w, const float *g, float *m, float *v, long step,
                   double lr, double beta_1, double beta_2, double epsilon)
{
    double alpha = lr * sqrt(1.0 - pow(beta_2, (double)step)) / (1.0 - pow(beta_1, (double)step));
    for (size_t k = 0; k < count; k++) {
        double mk = beta_1 * m[k] + (1.0 - beta_1) * g[k];
        double vk = beta_2 * v[k] + (1.0 - beta_2) * (double)g[k] * g[k];
        m[k] = (float)mk;
        v[k] = (float)vk;
        w[k] = (float)(w[k] - alpha * mk / (sqrt(vk) + epsilon));
    }
}
