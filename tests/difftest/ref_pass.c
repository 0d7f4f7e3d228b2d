/*
 * difftest/ref_pass.c - one layer of a generated model's table through the reference layers,
 * and the bounds of the rounding errors (see ref_pass.h).
 */
#include "ref_pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_layers.h"

size_t rp_in_size(const cnn_layer *l)
{
    return (size_t)l->in_h * l->in_w * l->in_c;
}

size_t rp_out_size(const cnn_layer *l)
{
    return (size_t)l->out_h * l->out_w * l->out_c;
}

size_t rp_in2_size(const cnn_layer *l)
{
    if (l->kind_id == CNN_LAYER_ADD)
        return rp_out_size(l);
    if (l->kind_id == CNN_LAYER_CONCAT)
        return (size_t)l->out_h * l->out_w * (size_t)(l->out_c - l->in_c);
    return 0;
}

double rp_units(double k)
{
    double walk = 2.0 + 6.0 * sqrt(k);
    return k + 1.0 < walk ? k + 1.0 : walk;
}

static void *alloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    return p;
}

/* Batchnorm's gamma and beta in params (or their gradients in grads), NULL where scale or center
 * is off. */
static const float *bn_gamma(const cnn_layer *l, const float *params)
{
    return l->kernel_offset >= 0 ? params + l->kernel_offset : NULL;
}

static const float *bn_beta(const cnn_layer *l, const float *params)
{
    return l->bias_offset >= 0 ? params + l->bias_offset : NULL;
}

static ref_conv2d conv_of(const cnn_layer *l, int n)
{
    ref_conv2d p = {.n = n, .in_h = l->in_h, .in_w = l->in_w, .in_c = l->in_c, .out_h = l->out_h,
                    .out_w = l->out_w, .out_c = l->out_c, .kh = l->kh, .kw = l->kw, .sh = l->sh,
                    .sw = l->sw, .pad_top = l->pad_top, .pad_left = l->pad_left,
                    .pad_bottom = l->pad_bottom, .pad_right = l->pad_right, .use_bias = l->use_bias};
    return p;
}

static ref_pool2d pool_of(const cnn_layer *l, int n)
{
    ref_pool2d p = {.n = n, .in_h = l->in_h, .in_w = l->in_w, .c = l->in_c, .out_h = l->out_h,
                    .out_w = l->out_w, .ph = l->kh, .pw = l->kw, .sh = l->sh, .sw = l->sw,
                    .pad_top = l->pad_top, .pad_left = l->pad_left, .pad_bottom = l->pad_bottom,
                    .pad_right = l->pad_right};
    return p;
}

size_t rp_kernel_count(const cnn_layer *l)
{
    if (l->kind_id == CNN_LAYER_BATCHNORM)
        return (size_t)l->in_c;
    if (l->kind_id == CNN_LAYER_CONV2D)
        return (size_t)l->kh * l->kw * l->in_c * l->out_c;
    return rp_in_size(l) * (size_t)l->out_c;
}

/* The product of a conv2d or dense layer before its activation. */
static void weighted_sum(const cnn_layer *l, const float *kernel, const float *bias, const float *x,
                         float *z, int n)
{
    if (l->kind_id == CNN_LAYER_CONV2D) {
        ref_conv2d p = conv_of(l, n);
        ref_conv2d_forward(&p, z, x, kernel, bias);
    } else {
        ref_dense_forward(n, (int)rp_in_size(l), l->units, z, x, kernel, bias);
    }
}

void rp_forward(const cnn_layer *l, const float *params, const float *x, float *y,
                const float *mask, int n, int training, const rp_ctx *ctx)
{
    size_t count = (size_t)n * rp_out_size(l);
    int rows = n * l->out_h * l->out_w;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
    case CNN_LAYER_DENSE:
        weighted_sum(l, params + l->kernel_offset, l->use_bias ? params + l->bias_offset : NULL, x, y, n);
        ref_activation_forward((ref_activation)l->activation, rows, l->out_c, y, y);
        break;
    case CNN_LAYER_MAXPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        ref_maxpool2d_forward(&p, y, x);
        break;
    }
    case CNN_LAYER_AVGPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        ref_avgpool2d_forward(&p, y, x);
        break;
    }
    case CNN_LAYER_DROPOUT:
        if (training)
            ref_dropout_forward(count, y, x, mask);
        else
            memmove(y, x, sizeof(float) * count);
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        ref_activation_forward((ref_activation)l->activation, rows, l->out_c, y, x);
        break;
    case CNN_LAYER_ADD:
        ref_add_forward(count, y, x, ctx->x2);
        break;
    case CNN_LAYER_CONCAT:
        ref_concat_forward((size_t)rows, l->in_c, l->out_c - l->in_c, y, x, ctx->x2);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        ref_globalavgpool2d_forward(n, l->in_h, l->in_w, l->in_c, y, x);
        break;
    case CNN_LAYER_BATCHNORM: {
        size_t r = (size_t)n * l->in_h * l->in_w;
        const float *mean = ctx->moving_mean, *var = ctx->moving_var;
        if (training) {
            ref_batchnorm_stats(r, l->in_c, x, ctx->mean, ctx->var);
            mean = ctx->mean;
            var = ctx->var;
        }
        ref_batchnorm_forward(r, l->in_c, y, x, bn_gamma(l, params), bn_beta(l, params), mean, var,
                              ctx->epsilon);
        break;
    }
    default: /* flatten */
        memmove(y, x, sizeof(float) * count);
        break;
    }
}

/* The errors of the batch's statistics of one channel that the generated code computes in
 * float (per-image sums, added in double, two passes): the mean's (which both passes' terms
 * carry), the variance's (its sum of squares, and the mean's error squared, the terms being
 * taken from the float mean), and the relative error of 1 / sqrt(var + epsilon). */
typedef struct bn_errors {
    double mean, var, inv_rel;
} bn_errors;

static bn_errors bn_channel_errors(const float *x, size_t rows, size_t terms, int c, int ch, double var,
                                   double epsilon)
{
    double abs_sum = 0;
    for (size_t r = 0; r < rows; r++)
        abs_sum += fabs(x[r * (size_t)c + (size_t)ch]);
    bn_errors e;
    /* Each image's sum is a float sum of its `terms` pixels; the images add in double. The bound
     * is the deterministic one, not rp_units' random walk: the terms of a channel can be equal
     * (a relu's zeros give (0 - mean)^2 over and over), and then every addition rounds the same
     * way (a 308-term sum was seen 114 units off, beyond the walk's 107). */
    double k = (double)terms;
    e.mean = RP_U * (k + 3) * abs_sum / (double)(rows ? rows : 1);
    e.var = RP_U * (k + 5) * (var + e.mean * e.mean) + e.mean * e.mean;
    e.inv_rel = 0.5 * e.var / (var + epsilon) + 3 * RP_U;
    return e;
}

void rp_batchnorm_stats_bound(const cnn_layer *l, const float *x, int n, const float *mean,
                              const float *var, double epsilon, float *mean_tol, float *var_tol,
                              float *inv_tol)
{
    size_t rows = (size_t)n * l->in_h * l->in_w;
    (void)mean;
    for (int ch = 0; ch < l->in_c; ch++) {
        bn_errors e = bn_channel_errors(x, rows, (size_t)l->in_h * l->in_w, l->in_c, ch, var[ch], epsilon);
        double inv = 1.0 / sqrt((double)var[ch] + epsilon);
        /* Each value also rounds once to float. */
        mean_tol[ch] = (float)(e.mean + RP_U * fabs(mean[ch]));
        var_tol[ch] = (float)(e.var + RP_U * var[ch]);
        inv_tol[ch] = (float)((e.inv_rel + RP_U) * inv);
    }
}

/* Batchnorm's output bound: in evaluation an affine map of each channel, a few roundings on
 * top of the input's; in training (exact inputs) the errors of the statistics carried through
 * (x - mean) * gamma / sqrt(var + epsilon) + beta. */
static double batchnorm_bound(const cnn_layer *l, const float *params, const float *a_in, double t_in, int n,
                              int training, const rp_ctx *ctx, float *a_out, float *tol)
{
    size_t rows = (size_t)n * l->in_h * l->in_w;
    int c = l->in_c;
    const float *gamma = bn_gamma(l, params), *beta = bn_beta(l, params);
    for (int ch = 0; ch < c; ch++) {
        double g = gamma ? fabs(gamma[ch]) : 1.0, b = beta ? fabs(beta[ch]) : 0.0;
        if (!training) {
            double s = g / sqrt((double)ctx->moving_var[ch] + ctx->epsilon), mm = fabs(ctx->moving_mean[ch]);
            for (size_t r = 0; r < rows; r++) {
                size_t i = r * (size_t)c + (size_t)ch;
                a_out[i] = (float)(s * (a_in[i] + mm) + b);
                tol[i] = (float)((t_in + 6) * RP_U * a_out[i]);
            }
            continue;
        }
        double var = ctx->var[ch], inv = 1.0 / sqrt(var + ctx->epsilon);
        bn_errors e = bn_channel_errors(ctx->x, rows, (size_t)l->in_h * l->in_w, c, ch, var, ctx->epsilon);
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            double centred = fabs((double)ctx->x[i] - ctx->mean[ch]);
            a_out[i] = (float)(g * inv * (centred + e.mean) + b);
            tol[i] = (float)(g * inv * (e.mean + centred * (e.inv_rel + 3 * RP_U)) +
                             2 * RP_U * (g * inv * centred + b) + RP_U * a_out[i]);
        }
    }
    return training ? 1.0 : t_in + 6;
}

/* After an activation of z (bounded by z_abs, off by t_z units of it): the bound of the output
 * and its error. Relu, tanh and the identity never grow a value or an error; the sigmoid
 * shrinks errors fourfold and stays within 1; the softmax p_i moves by at most
 * p_i * 2 max_j |dz_j| and rounds its row's sum. */
static double activation_bound(int act, const float *z_abs, double t_z, const float *y, size_t rows,
                               int cols, float *a_out, float *tol)
{
    size_t count = rows * (size_t)cols;
    if (act == CNN_ACT_SOFTMAX) {
        for (size_t r = 0; r < rows; r++) {
            double zmax = 0;
            for (int c = 0; c < cols; c++)
                zmax = fmax(zmax, z_abs[r * cols + c]);
            for (int c = 0; c < cols; c++) {
                size_t i = r * cols + c;
                tol[i] = (float)(fabs(y[i]) * RP_U * (2.0 * t_z * zmax + 4.0 + rp_units(cols)));
                /* As an input bound for a next layer (there is none: softmax ends the network). */
                a_out[i] = (float)(tol[i] / RP_U);
            }
        }
        return 1.0;
    }
    double t_out = t_z + 4.0;
    for (size_t i = 0; i < count; i++) {
        a_out[i] = act == CNN_ACT_SIGMOID ? 0.25f * z_abs[i] + 1.0f : z_abs[i];
        tol[i] = (float)(t_out * RP_U * a_out[i]);
    }
    return t_out;
}

double rp_forward_bound(const cnn_layer *l, const float *params, const float *a_in, double t_in,
                        const float *y, const float *mask, int n, int training, const rp_ctx *ctx,
                        float *a_out, float *tol, float *scratch)
{
    size_t count = (size_t)n * rp_out_size(l);
    size_t rows = (size_t)n * l->out_h * l->out_w;
    float *z_abs = scratch;
    double t_out = t_in;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
    case CNN_LAYER_DENSE: {
        size_t kc = rp_kernel_count(l);
        float *k_abs = alloc(kc, sizeof *k_abs), *b_abs = alloc((size_t)l->units, sizeof *b_abs);
        for (size_t i = 0; i < kc; i++)
            k_abs[i] = fabsf(params[l->kernel_offset + (long)i]);
        for (int i = 0; l->use_bias && i < l->units; i++)
            b_abs[i] = fabsf(params[l->bias_offset + i]);
        weighted_sum(l, k_abs, l->use_bias ? b_abs : NULL, a_in, z_abs, n);
        free(k_abs);
        free(b_abs);
        double k = l->kind_id == CNN_LAYER_CONV2D ? (double)l->kh * l->kw * l->in_c : (double)rp_in_size(l);
        double t_z = t_in + rp_units(k + l->use_bias);
        if (l->activation == CNN_ACT_NONE) {
            memcpy(a_out, z_abs, sizeof(float) * count);
            for (size_t i = 0; i < count; i++)
                tol[i] = (float)((t_z + 1.0) * RP_U * a_out[i]);
            return t_z + 1.0;
        }
        return activation_bound(l->activation, z_abs, t_z, y, rows, l->out_c, a_out, tol);
    }
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        if (l->kind_id == CNN_LAYER_MAXPOOL2D) {
            ref_maxpool2d_forward(&p, a_out, a_in);
        } else {
            ref_avgpool2d_forward(&p, a_out, a_in);
            t_out = t_in + rp_units((double)l->kh * l->kw) + 1.0;
        }
        break;
    }
    case CNN_LAYER_DROPOUT:
        for (size_t i = 0; i < count; i++)
            a_out[i] = training ? a_in[i] * mask[i] : a_in[i];
        t_out = t_in + 1.0;
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        return activation_bound(l->activation, a_in, t_in, y, rows, l->out_c, a_out, tol);
    case CNN_LAYER_ADD:
        for (size_t i = 0; i < count; i++)
            a_out[i] = a_in[i] + ctx->a_in2[i];
        t_out = t_in + 1.0;
        break;
    case CNN_LAYER_CONCAT:
        ref_concat_forward(rows, l->in_c, l->out_c - l->in_c, a_out, a_in, ctx->a_in2);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        /* A sum, then a product with the float nearest 1 / pixels. */
        ref_globalavgpool2d_forward(n, l->in_h, l->in_w, l->in_c, a_out, a_in);
        t_out = t_in + rp_units((double)l->in_h * l->in_w) + 2.0;
        break;
    case CNN_LAYER_BATCHNORM:
        return batchnorm_bound(l, params, a_in, t_in, n, training, ctx, a_out, tol);
    default:
        memcpy(a_out, a_in, sizeof(float) * count);
        break;
    }
    for (size_t i = 0; i < count; i++)
        tol[i] = (float)(t_out * RP_U * a_out[i]);
    return t_out;
}

/* dz_i = y_i (dy_i + sum_j dy_j y_j): the softmax's Jacobian with its absolute values. */
static void softmax_backward_abs(size_t rows, int cols, float *dz, const float *dy, const float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        double dot = 0;
        for (int c = 0; c < cols; c++)
            dot += (double)dyr[c] * yr[c];
        for (int c = 0; c < cols; c++)
            dz[r * cols + c] = (float)(yr[c] * (dyr[c] + dot));
    }
}

/* The gradient before a conv2d's or dense layer's activation, or of a standalone activation's
 * input; dy itself where the loss already gave that of the logits. */
static void activation_backward(const cnn_layer *l, size_t rows, const float *y, const float *dy,
                                float *dz, int absolute)
{
    size_t count = rows * (size_t)l->out_c;
    if (l->grad_is_logits || l->activation == CNN_ACT_NONE)
        memmove(dz, dy, sizeof(float) * count);
    else if (absolute && l->activation == CNN_ACT_TANH)
        /* 1 - y^2 in float is off by a rounding of y^2 (not of the difference) where |y| is
         * near 1: the bound of the derivative's terms is (1 - y^2) + y^2 = 1. */
        memmove(dz, dy, sizeof(float) * count);
    else if (absolute && l->activation == CNN_ACT_SOFTMAX)
        softmax_backward_abs(rows, l->out_c, dz, dy, y);
    else
        ref_activation_backward((ref_activation)l->activation, (int)rows, l->out_c, dz, dy, y);
}

/* Batchnorm's gradients from the statistics its forward used; with `absolute`, the bounds of
 * the terms: dgamma = sum |dy| |xh|, dbeta = sum |dy| and
 * dx = |gamma| inv (|dy| + mean(|dy|) + |xh| mean(|dy| |xh|)). */
static void batchnorm_backward(const cnn_layer *l, const float *params, float *grads, const float *x,
                               const float *dy, float *dx, int n, int absolute, const rp_ctx *ctx)
{
    size_t rows = (size_t)n * l->in_h * l->in_w;
    int c = l->in_c;
    const float *gamma = bn_gamma(l, params);
    float *dgamma = l->kernel_offset >= 0 ? grads + l->kernel_offset : NULL;
    float *dbeta = l->bias_offset >= 0 ? grads + l->bias_offset : NULL;
    if (!absolute) {
        ref_batchnorm_backward(rows, c, dx, dgamma, dbeta, dy, x, gamma, ctx->mean, ctx->var, ctx->epsilon);
        return;
    }
    for (int ch = 0; ch < c; ch++) {
        double inv = 1.0 / sqrt((double)ctx->var[ch] + ctx->epsilon), g = gamma ? fabs(gamma[ch]) : 1.0;
        double sum_dy = 0, sum_dy_xh = 0;
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            sum_dy += dy[i];
            sum_dy_xh += dy[i] * fabs((double)x[i] - ctx->mean[ch]) * inv;
        }
        if (dgamma)
            dgamma[ch] = (float)sum_dy_xh;
        if (dbeta)
            dbeta[ch] = (float)sum_dy;
        for (size_t r = 0; dx && r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            double xh = fabs((double)x[i] - ctx->mean[ch]) * inv;
            dx[i] = (float)(g * inv * (dy[i] + (sum_dy + xh * sum_dy_xh) / (double)rows));
        }
    }
}

void rp_backward(const cnn_layer *l, const float *params, float *grads, const float *x,
                 const float *argmax_x, const float *y, const float *dy, float *dx, float *dx2,
                 const float *mask, int n, int training, int absolute, float *scratch,
                 const rp_ctx *ctx)
{
    size_t count = (size_t)n * rp_out_size(l);
    size_t rows = (size_t)n * l->out_h * l->out_w;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
    case CNN_LAYER_DENSE: {
        activation_backward(l, rows, y, dy, scratch, absolute);
        const float *kernel = params + l->kernel_offset;
        float *k_abs = NULL;
        if (absolute) {
            size_t kc = rp_kernel_count(l);
            k_abs = alloc(kc, sizeof *k_abs);
            for (size_t i = 0; i < kc; i++)
                k_abs[i] = fabsf(kernel[i]);
            kernel = k_abs;
        }
        float *dkernel = grads + l->kernel_offset, *dbias = l->use_bias ? grads + l->bias_offset : NULL;
        if (l->kind_id == CNN_LAYER_CONV2D) {
            ref_conv2d p = conv_of(l, n);
            ref_conv2d_backward(&p, dx, dkernel, dbias, scratch, x, kernel);
        } else {
            ref_dense_backward(n, (int)rp_in_size(l), l->units, dx, dkernel, dbias, scratch, x, kernel);
        }
        free(k_abs);
        break;
    }
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        ref_pool2d p = pool_of(l, n);
        if (!dx)
            break;
        if (l->kind_id == CNN_LAYER_MAXPOOL2D)
            ref_maxpool2d_backward(&p, dx, dy, argmax_x);
        else
            ref_avgpool2d_backward(&p, dx, dy);
        break;
    }
    case CNN_LAYER_DROPOUT:
        if (dx && training)
            ref_dropout_backward(count, dx, dy, mask);
        else if (dx)
            memmove(dx, dy, sizeof(float) * count);
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        if (dx)
            activation_backward(l, rows, y, dy, dx, absolute);
        break;
    case CNN_LAYER_ADD:
        ref_add_backward(count, dx, dx2, dy);
        break;
    case CNN_LAYER_CONCAT:
        ref_concat_backward(rows, l->in_c, l->out_c - l->in_c, dx, dx2, dy);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        if (dx)
            ref_globalavgpool2d_backward(n, l->in_h, l->in_w, l->in_c, dx, dy);
        break;
    case CNN_LAYER_BATCHNORM:
        batchnorm_backward(l, params, grads, argmax_x, dy, dx, n, absolute, ctx);
        break;
    default:
        if (dx)
            memmove(dx, dy, sizeof(float) * count);
        break;
    }
}

rp_lengths rp_backward_lengths(const cnn_layer *l, int n)
{
    rp_lengths k = {1, 0, 0, 0};
    double pixels = (double)n * l->out_h * l->out_w;
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
        k.dx = (double)l->kh * l->kw * l->out_c;
        k.kernel = k.bias = pixels;
        break;
    case CNN_LAYER_DENSE:
        k.dx = l->units;
        k.kernel = k.bias = n;
        break;
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D:
        k.dx = (double)((l->kh + l->sh - 1) / l->sh) * ((l->kw + l->sw - 1) / l->sw);
        break;
    case CNN_LAYER_SOFTMAX:
        k.dx = l->grad_is_logits ? 1 : l->out_c;
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        k.extra = 2; /* the product with the float nearest 1 / pixels */
        break;
    case CNN_LAYER_BATCHNORM:
        /* Sums over every image and pixel of the batch; around them, the normalised input
         * recomputed (from the float statistics), the means, two differences and the scale. */
        k.dx = k.kernel = k.bias = pixels;
        k.extra = 10;
        break;
    default:
        break;
    }
    if ((l->kind_id == CNN_LAYER_CONV2D || l->kind_id == CNN_LAYER_DENSE) &&
        l->activation == CNN_ACT_SOFTMAX && !l->grad_is_logits) {
        /* The Jacobian's sum over the row comes first. */
        k.dx += l->out_c;
        k.kernel += l->out_c;
        k.bias += l->out_c;
    }
    return k;
}
