/*
 * blas_layers.c - the layers as darknet and Caffe write them: a convolution is im2col (every
 * window of the input copied out as a row) followed by one SGEMM with the kernel, its
 * backward is two SGEMMs and a col2im; dense is one SGEMM each way. Pools, activations and
 * dropout have no matrix product and are plain float loops. OpenBLAS's cblas_sgemm does the
 * work; this file is linked only into benchmark builds (libcnnbench.a).
 *
 * Layouts are the generated code's: x[n][h][w][c], a conv2d kernel [KH][KW][CIN][COUT], which
 * is exactly the [K][COUT] matrix the im2col rows (K = KH * KW * CIN, in that order) multiply.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "bench_layers.h"

void bench_blas_threads(int threads)
{
    openblas_set_num_threads(threads);
}

/* ------------------------------------------------------------------ im2col, col2im */

/* col[n * out_h * out_w][kh * kw * in_c]: row r holds the window of output pixel r, zeros where
 * it hangs over the padding. */
static void im2col(const cnn_layer *l, int n, const float *x, float *col)
{
    const int K = l->kh * l->kw * l->in_c;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                float *row = col + ((size_t)(b * l->out_h + oy) * l->out_w + ox) * K;
                for (int ky = 0; ky < l->kh; ky++) {
                    int iy = oy * l->sh - l->pad_top + ky;
                    for (int kx = 0; kx < l->kw; kx++) {
                        int ix = ox * l->sw - l->pad_left + kx;
                        float *dst = row + (ky * l->kw + kx) * l->in_c;
                        if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w)
                            memset(dst, 0, sizeof(float) * (size_t)l->in_c);
                        else
                            memcpy(dst, x + (((size_t)b * l->in_h + iy) * l->in_w + ix) * l->in_c,
                                   sizeof(float) * (size_t)l->in_c);
                    }
                }
            }
}

/* The adjoint of im2col: adds every row's window back into dx (zeroed first). */
static void col2im(const cnn_layer *l, int n, const float *col, float *dx)
{
    const int K = l->kh * l->kw * l->in_c;
    memset(dx, 0, sizeof(float) * (size_t)n * bench_in_size(l));
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                const float *row = col + ((size_t)(b * l->out_h + oy) * l->out_w + ox) * K;
                for (int ky = 0; ky < l->kh; ky++) {
                    int iy = oy * l->sh - l->pad_top + ky;
                    if (iy < 0 || iy >= l->in_h)
                        continue;
                    for (int kx = 0; kx < l->kw; kx++) {
                        int ix = ox * l->sw - l->pad_left + kx;
                        if (ix < 0 || ix >= l->in_w)
                            continue;
                        const float *src = row + (ky * l->kw + kx) * l->in_c;
                        float *dst = dx + (((size_t)b * l->in_h + iy) * l->in_w + ix) * l->in_c;
                        for (int c = 0; c < l->in_c; c++)
                            dst[c] += src[c];
                    }
                }
            }
}

/* ------------------------------------------------------------------ activations */

static void activate(int act, size_t rows, int cols, float *y, const float *x)
{
    size_t count = rows * (size_t)cols;
    switch (act) {
    case CNN_ACT_RELU:
        for (size_t i = 0; i < count; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case CNN_ACT_TANH:
        for (size_t i = 0; i < count; i++)
            y[i] = tanhf(x[i]);
        break;
    case CNN_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols;
            float *yr = y + r * cols, max = -FLT_MAX, sum = 0.0f;
            for (int j = 0; j < cols; j++)
                max = xr[j] > max ? xr[j] : max;
            for (int j = 0; j < cols; j++)
                sum += yr[j] = expf(xr[j] - max);
            for (int j = 0; j < cols; j++)
                yr[j] /= sum;
        }
        break;
    default:
        if (y != x)
            memcpy(y, x, sizeof(float) * count);
        break;
    }
}

/* dx = dy * act'(y) from the forward's output y; softmax is its Jacobian product per row. */
static void activate_backward(int act, size_t rows, int cols, float *dx, const float *dy, const float *y)
{
    size_t count = rows * (size_t)cols;
    switch (act) {
    case CNN_ACT_RELU:
        for (size_t i = 0; i < count; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case CNN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++)
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case CNN_ACT_TANH:
        for (size_t i = 0; i < count; i++)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case CNN_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++) {
            const float *dr = dy + r * cols, *yr = y + r * cols;
            float dot = 0.0f;
            for (int j = 0; j < cols; j++)
                dot += dr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                dx[r * cols + j] = yr[j] * (dr[j] - dot);
        }
        break;
    default:
        if (dx != dy)
            memmove(dx, dy, sizeof(float) * count);
        break;
    }
}

/* The gradient before a fused activation, in `dz` unless it is dout itself. */
static const float *pre_activation_grad(const cnn_layer *l, const float *ws, int n, float *dz)
{
    if (l->grad_is_logits || l->activation == CNN_ACT_NONE)
        return ws + l->dout;
    activate_backward(l->activation, (size_t)n * l->out_h * l->out_w, l->out_c, dz, ws + l->dout, ws + l->out);
    return dz;
}

/* ------------------------------------------------------------------ conv2d and dense */

/* y[rows][cols] = bias broadcast (or 0), to which the GEMM then adds (beta = 1). */
static void fill_bias(float *y, size_t rows, int cols, const float *bias)
{
    for (size_t r = 0; r < rows; r++)
        if (bias != NULL)
            memcpy(y + r * cols, bias, sizeof(float) * (size_t)cols);
        else
            memset(y + r * cols, 0, sizeof(float) * (size_t)cols);
}

static void column_sums(float *db, const float *dz, size_t rows, int cols)
{
    memset(db, 0, sizeof(float) * (size_t)cols);
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            db[j] += dz[r * cols + j];
}

/* Forward: y[M][cout] = A[M][K] . W[K][cout] + bias, A the im2col matrix (conv2d) or the
 * input itself (dense). Backward: dW = A^T . dz, db = column sums of dz, dA = dz . W^T, then
 * col2im for a conv2d. */
static void gemm_forward(const cnn_layer *l, const float *params, float *ws, int n, float *scratch)
{
    const int conv = l->kind_id == CNN_LAYER_CONV2D;
    const int K = conv ? l->kh * l->kw * l->in_c : (int)bench_in_size(l);
    const int M = conv ? n * l->out_h * l->out_w : n;
    const int N = l->out_c;
    const float *a = ws + l->in;
    float *y = ws + l->out;
    if (conv) {
        im2col(l, n, ws + l->in, scratch);
        a = scratch;
    }
    fill_bias(y, (size_t)M, N, l->use_bias ? params + l->bias_offset : NULL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, params + l->kernel_offset, N,
                1.0f, y, N);
    activate(l->activation, (size_t)M, N, y, y);
}

static void gemm_backward(const cnn_layer *l, const float *params, float *grads, float *ws, int n, float *scratch)
{
    const int conv = l->kind_id == CNN_LAYER_CONV2D;
    const int K = conv ? l->kh * l->kw * l->in_c : (int)bench_in_size(l);
    const int M = conv ? n * l->out_h * l->out_w : n;
    const int N = l->out_c;
    float *col = scratch, *dzbuf = scratch + (conv ? (size_t)M * K : 0);
    const float *dz = pre_activation_grad(l, ws, n, dzbuf);
    const float *a = ws + l->in;
    if (conv) {
        im2col(l, n, ws + l->in, col);
        a = col;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, a, K, dz, N, 0.0f,
                grads + l->kernel_offset, N);
    if (l->use_bias)
        column_sums(grads + l->bias_offset, dz, (size_t)M, N);
    if (l->din < 0)
        return;
    /* The im2col matrix is no longer needed: its gradient takes its place. */
    float *da = conv ? col : ws + l->din;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dz, N, params + l->kernel_offset, N, 0.0f,
                da, K);
    if (conv)
        col2im(l, n, col, ws + l->din);
}

/* ------------------------------------------------------------------ pools */

/* The cells of output (oy, ox)'s window that fall inside the input: rows [y0, y1), columns [x0, x1). */
static void pool_window(const cnn_layer *l, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    int ty = oy * l->sh - l->pad_top, tx = ox * l->sw - l->pad_left;
    *y0 = ty < 0 ? 0 : ty;
    *x0 = tx < 0 ? 0 : tx;
    *y1 = ty + l->kh > l->in_h ? l->in_h : ty + l->kh;
    *x1 = tx + l->kw > l->in_w ? l->in_w : tx + l->kw;
}

/* Max pool: the first maximum in row-major window order wins, as in the reference; backward
 * finds it again from the input (Caffe keeps a mask instead; the result is the same). When
 * `dx` is NULL this is the forward. */
static void maxpool(const cnn_layer *l, int n, const float *x, float *y, float *dx, const float *dy)
{
    const int C = l->in_c;
    if (dx != NULL)
        memset(dx, 0, sizeof(float) * (size_t)n * bench_in_size(l));
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                int y0, y1, x0, x1;
                pool_window(l, oy, ox, &y0, &y1, &x0, &x1);
                size_t o = (((size_t)b * l->out_h + oy) * l->out_w + ox) * C;
                for (int c = 0; c < C; c++) {
                    float best = -FLT_MAX;
                    size_t at = 0;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) {
                            size_t i = (((size_t)b * l->in_h + iy) * l->in_w + ix) * C + c;
                            if (x[i] > best || (iy == y0 && ix == x0)) {
                                best = x[i];
                                at = i;
                            }
                        }
                    if (dx != NULL)
                        dx[at] += dy[o + c];
                    else
                        y[o + c] = best;
                }
            }
}

/* Average pool over the valid cells of each window only, as Keras does. */
static void avgpool(const cnn_layer *l, int n, const float *x, float *y, float *dx, const float *dy)
{
    const int C = l->in_c;
    if (dx != NULL)
        memset(dx, 0, sizeof(float) * (size_t)n * bench_in_size(l));
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                int y0, y1, x0, x1;
                pool_window(l, oy, ox, &y0, &y1, &x0, &x1);
                float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
                size_t o = (((size_t)b * l->out_h + oy) * l->out_w + ox) * C;
                for (int c = 0; c < C; c++) {
                    float sum = 0.0f;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) {
                            size_t i = (((size_t)b * l->in_h + iy) * l->in_w + ix) * C + c;
                            if (dx != NULL)
                                dx[i] += dy[o + c] * inv;
                            else
                                sum += x[i];
                        }
                    if (dx == NULL)
                        y[o + c] = sum * inv;
                }
            }
}

/* ------------------------------------------------------------------ graph layers, batchnorm */

static void concat(const cnn_layer *l, int n, float *y, const float *a, const float *b, float *da, float *db,
                   const float *dy)
{
    const size_t ca = (size_t)l->in_c, cb = (size_t)(l->out_c - l->in_c), pixels = (size_t)n * l->out_h * l->out_w;
    for (size_t p = 0; p < pixels; p++) {
        if (y != NULL) {
            memcpy(y + p * (ca + cb), a + p * ca, sizeof(float) * ca);
            memcpy(y + p * (ca + cb) + ca, b + p * cb, sizeof(float) * cb);
        }
        if (da != NULL)
            memcpy(da + p * ca, dy + p * (ca + cb), sizeof(float) * ca);
        if (db != NULL)
            memcpy(db + p * cb, dy + p * (ca + cb) + ca, sizeof(float) * cb);
    }
}

static void global_avgpool(const cnn_layer *l, int n, float *y, const float *x, float *dx, const float *dy)
{
    const int pixels = l->in_h * l->in_w, c = l->in_c;
    const float inv = 1.0f / (float)pixels;
    for (int b = 0; b < n; b++) {
        if (y != NULL) {
            float *yb = y + (size_t)b * c;
            const float *xb = x + (size_t)b * pixels * c;
            for (int ch = 0; ch < c; ch++)
                yb[ch] = 0.0f;
            for (int p = 0; p < pixels; p++)
                for (int ch = 0; ch < c; ch++)
                    yb[ch] += xb[(size_t)p * c + ch];
            for (int ch = 0; ch < c; ch++)
                yb[ch] *= inv;
        } else {
            float *dxb = dx + (size_t)b * pixels * c;
            const float *dyb = dy + (size_t)b * c;
            for (int p = 0; p < pixels; p++)
                for (int ch = 0; ch < c; ch++)
                    dxb[(size_t)p * c + ch] = dyb[ch] * inv;
        }
    }
}

/* Batchnorm's scratch: sums[2C] in double (at the start, where calloc aligned it), then the
 * batch's mean[C] and inv[C] = 1 / sqrt(var + epsilon), var the biased variance. Rows outer,
 * channels inner, so the loops run along memory. */
static void bn_stats(size_t rows, int c, const float *x, double epsilon, double *sums, float *mean, float *inv)
{
    for (int ch = 0; ch < 2 * c; ch++)
        sums[ch] = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++)
            sums[ch] += x[r * c + ch];
    for (int ch = 0; ch < c; ch++)
        mean[ch] = (float)(sums[ch] / (double)rows);
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++) {
            float d = x[r * c + ch] - mean[ch];
            sums[c + ch] += (double)d * d;
        }
    for (int ch = 0; ch < c; ch++)
        inv[ch] = (float)(1.0 / sqrt(sums[c + ch] / (double)rows + epsilon));
}

static void batchnorm_forward(const cnn_layer *l, const float *params, float *ws, int n, float *scratch)
{
    const int c = l->units;
    const size_t rows = (size_t)n * l->in_h * l->in_w;
    double *sums = (double *)(void *)scratch;
    float *mean = scratch + 4 * c, *inv = mean + c, *scale = inv + c;
    const float *x = ws + l->in, *beta = l->bias_offset >= 0 ? params + l->bias_offset : NULL;
    float *y = ws + l->out;
    bn_stats(rows, c, x, l->rate, sums, mean, inv);
    for (int ch = 0; ch < c; ch++)
        scale[ch] = (l->kernel_offset >= 0 ? params[l->kernel_offset + ch] : 1.0f) * inv[ch];
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++)
            y[r * c + ch] = (x[r * c + ch] - mean[ch]) * scale[ch] + (beta != NULL ? beta[ch] : 0.0f);
}

/* dgamma = sum dy * xh, dbeta = sum dy, dx = gamma * inv * (dy - mean(dy) - xh * mean(dy * xh)). */
static void batchnorm_backward(const cnn_layer *l, const float *params, float *grads, float *ws, int n,
                               float *scratch)
{
    const int c = l->units;
    const size_t rows = (size_t)n * l->in_h * l->in_w;
    double *sums = (double *)(void *)scratch;
    float *mean = scratch + 4 * c, *inv = mean + c, *k = inv + c;
    const float *x = ws + l->in, *dy = ws + l->dout;
    float *dx = l->din >= 0 ? ws + l->din : NULL;
    bn_stats(rows, c, x, l->rate, sums, mean, inv);
    for (int ch = 0; ch < 2 * c; ch++)
        sums[ch] = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++) {
            float xh = (x[r * c + ch] - mean[ch]) * inv[ch];
            sums[ch] += dy[r * c + ch];
            sums[c + ch] += (double)dy[r * c + ch] * xh;
        }
    for (int ch = 0; ch < c; ch++) {
        if (l->kernel_offset >= 0)
            grads[l->kernel_offset + ch] = (float)sums[c + ch];
        if (l->bias_offset >= 0)
            grads[l->bias_offset + ch] = (float)sums[ch];
    }
    if (dx == NULL)
        return;
    float *mdy = k + c, *mdyxh = mdy + c;
    for (int ch = 0; ch < c; ch++) {
        k[ch] = (l->kernel_offset >= 0 ? params[l->kernel_offset + ch] : 1.0f) * inv[ch];
        mdy[ch] = (float)(sums[ch] / (double)rows);
        mdyxh[ch] = (float)(sums[c + ch] / (double)rows);
    }
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++) {
            float xh = (x[r * c + ch] - mean[ch]) * inv[ch];
            dx[r * c + ch] = k[ch] * (dy[r * c + ch] - mdy[ch] - xh * mdyxh[ch]);
        }
}

/* ------------------------------------------------------------------ the interface */

static size_t blas_scratch(const cnn_layer *l, int batch)
{
    size_t out = (size_t)batch * bench_out_size(l);
    if (l->kind_id == CNN_LAYER_CONV2D)
        return (size_t)batch * l->out_h * l->out_w * l->kh * l->kw * l->in_c + out;
    if (l->kind_id == CNN_LAYER_BATCHNORM)
        return 9 * (size_t)l->units; /* sums[2C] in double, mean, inv, and three more [C] */
    return out;
}

static void blas_forward(const cnn_layer *l, const float *params, float *ws, int n, float *scratch)
{
    float *y = ws + l->out;
    const float *x = ws + l->in;
    size_t count = (size_t)n * bench_out_size(l);
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
    case CNN_LAYER_DENSE:
        gemm_forward(l, params, ws, n, scratch);
        break;
    case CNN_LAYER_MAXPOOL2D:
        maxpool(l, n, x, y, NULL, NULL);
        break;
    case CNN_LAYER_AVGPOOL2D:
        avgpool(l, n, x, y, NULL, NULL);
        break;
    case CNN_LAYER_DROPOUT:
        for (size_t i = 0; i < count; i++)
            y[i] = x[i] * ws[l->aux + (long)i];
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        activate(l->activation, (size_t)n * l->out_h * l->out_w, l->out_c, y, x);
        break;
    case CNN_LAYER_ADD: {
        const float *x2 = ws + l->in2;
        for (size_t i = 0; i < count; i++)
            y[i] = x[i] + x2[i];
        break;
    }
    case CNN_LAYER_CONCAT:
        concat(l, n, y, x, ws + l->in2, NULL, NULL, NULL);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        global_avgpool(l, n, y, x, NULL, NULL);
        break;
    case CNN_LAYER_BATCHNORM:
        batchnorm_forward(l, params, ws, n, scratch);
        break;
    default: /* flatten is a view */
        break;
    }
}

static void blas_backward(const cnn_layer *l, const float *params, float *grads, float *ws, int n, float *scratch)
{
    float *dx = l->din >= 0 ? ws + l->din : NULL;
    const float *dy = ws + l->dout;
    size_t count = (size_t)n * bench_out_size(l);
    if (l->kind_id == CNN_LAYER_CONV2D || l->kind_id == CNN_LAYER_DENSE) {
        gemm_backward(l, params, grads, ws, n, scratch);
        return;
    }
    if (l->kind_id == CNN_LAYER_BATCHNORM) {
        batchnorm_backward(l, params, grads, ws, n, scratch);
        return;
    }
    float *dx2 = l->din2 >= 0 ? ws + l->din2 : NULL;
    if (l->kind_id == CNN_LAYER_ADD) {
        if (dx != NULL)
            memcpy(dx, dy, sizeof(float) * count);
        if (dx2 != NULL)
            memcpy(dx2, dy, sizeof(float) * count);
        return;
    }
    if (l->kind_id == CNN_LAYER_CONCAT) {
        concat(l, n, NULL, NULL, NULL, dx, dx2, dy);
        return;
    }
    if (dx == NULL)
        return;
    switch (l->kind_id) {
    case CNN_LAYER_MAXPOOL2D:
        maxpool(l, n, ws + l->in, NULL, dx, dy);
        break;
    case CNN_LAYER_AVGPOOL2D:
        avgpool(l, n, NULL, NULL, dx, dy);
        break;
    case CNN_LAYER_DROPOUT:
        for (size_t i = 0; i < count; i++)
            dx[i] = dy[i] * ws[l->aux + (long)i];
        break;
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH:
    case CNN_LAYER_SOFTMAX:
        activate_backward(l->grad_is_logits ? CNN_ACT_NONE : l->activation, (size_t)n * l->out_h * l->out_w,
                          l->out_c, dx, dy, ws + l->out);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        global_avgpool(l, n, NULL, NULL, dx, dy);
        break;
    default:
        /* flatten with a gradient of its own (its output has other readers): copied on */
        if (dx != dy)
            memmove(dx, dy, sizeof(float) * count);
        break;
    }
}

const bench_impl bench_blas_impl = {
    .name = "im2col+BLAS",
    .scratch_floats = blas_scratch,
    .forward = blas_forward,
    .backward = blas_backward,
};
