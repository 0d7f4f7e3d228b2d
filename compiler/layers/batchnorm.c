/*
 * layers/batchnorm.c - batchnorm: Keras BatchNormalization over the last axis (the channels, or
 * a flat layer's units).
 *
 *     batchnorm(momentum=0.99, epsilon=0.001, center=true, scale=true);
 *
 * Training normalises with the mean and the biased variance of the whole batch, over every
 * image and pixel, even where threads split the batch: each slice sums its own images, one
 * partial sum per image, and batch_sum (emit/model.c) adds the partials of every image of the
 * batch in image order, so the statistics are the same floats whatever the split. The moving
 * statistics are state, not trained: the model's update_state moves them towards the batch's
 * once a step. Evaluation, prediction and the predictor use the moving statistics.
 *
 * The workspace record (aux) is the batch's statistics, room for five per-channel arrays and
 * the per-image partial sums:
 *     mean[C], var[C], inv[C] = 1 / sqrt(var + epsilon), work[5C], part[batch][2C]
 * so 2C per image and 8C once, which fits in the plan's [batch][10C] for any batch. The
 * per-channel arrays of the passes (forward's centre and scale, backward's centre, inv, the
 * batch's two sums and each channel's factor) are local arrays up to BN_STACK_CHANNELS
 * channels, where gcc can tell them from the partial sums and vectorise those, and live in
 * work beyond it: C has no bound (a flat layer's units), and 800,000 of them would overflow a
 * thread's stack. Backward recomputes the normalised input from the input, which training
 * keeps, rather than storing it. The predictor has no workspace record: it normalises channel
 * by channel, each channel's scale a local.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* Per-channel arrays on the stack up to this many channels: 20 KiB for backward's five. */
#define BN_STACK_CHANNELS 1024

/* ------------------------------------------------------------------ check */

static const ArgSpec batchnorm_args[] = {
    {"momentum", ARG_FRACTION, false},
    {"epsilon", ARG_POSITIVE, false},
    {"center", ARG_BOOL, false},
    {"scale", ARG_BOOL, false},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

static void batchnorm_resolve(Layer *L, const ArgValue *vals)
{
    const ArgValue *v;
    BatchnormAttrs *a = &L->u.batchnorm;
    *a = (BatchnormAttrs){.momentum = 0.99, .epsilon = 0.001, .center = true, .scale = true};
    if ((v = arg_value(batchnorm_args, vals, "momentum")))
        a->momentum = v->r;
    if ((v = arg_value(batchnorm_args, vals, "epsilon")))
        a->epsilon = v->r;
    if ((v = arg_value(batchnorm_args, vals, "center")))
        a->center = v->b;
    if ((v = arg_value(batchnorm_args, vals, "scale")))
        a->scale = v->b;
}

/* The shape stays; gamma and beta are trainable, the two moving statistics state. */
static bool batchnorm_infer(Layer *L, Shape in)
{
    const BatchnormAttrs *a = &L->u.batchnorm;
    long long c = in.c;
    L->out = in;
    L->params = ((a->scale ? 1 : 0) + (a->center ? 1 : 0)) * c;
    L->state_size = 2 * c;
    L->aux_size = 10 * c;
    L->macs = shape_size(in);
    return true;
}

/* ------------------------------------------------------------------ describe */

static int batchnorm_attrs(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS])
{
    const BatchnormAttrs *a = &L->u.batchnorm;
    out[0] = (LayerAttr){.name = "momentum", .type = ATTR_REAL, .r = a->momentum};
    out[1] = (LayerAttr){.name = "epsilon", .type = ATTR_REAL, .r = a->epsilon};
    out[2] = (LayerAttr){.name = "center", .type = ATTR_BOOL, .i = a->center};
    out[3] = (LayerAttr){.name = "scale", .type = ATTR_BOOL, .i = a->scale};
    return 4;
}

/* Where each tensor is among the layer's (gamma and beta only where scale and center are on). */
typedef struct BnTensors {
    int gamma, beta, mean, variance; /* -1: absent */
} BnTensors;

static BnTensors bn_tensors(const Layer *L)
{
    BnTensors t = {-1, -1, -1, -1};
    int k = 0;
    if (L->u.batchnorm.scale)
        t.gamma = k++;
    if (L->u.batchnorm.center)
        t.beta = k++;
    t.mean = k++;
    t.variance = k;
    return t;
}

/* gamma, beta, moving_mean, moving_variance: Keras' order and names, each [C]. */
static int batchnorm_tensors(const Layer *L, TensorSpec out[MAX_LAYER_TENSORS])
{
    BnTensors t = bn_tensors(L);
    int c = L->in.c;
    TensorSpec one = {.ndim = 1, .shape = {c}, .count = c, .fan_in = c, .fan_out = c};
    if (t.gamma >= 0) {
        out[t.gamma] = one;
        out[t.gamma].suffix = "gamma";
        out[t.gamma].init_ones = true;
    }
    if (t.beta >= 0) {
        out[t.beta] = one;
        out[t.beta].suffix = "beta";
        out[t.beta].is_bias = true;
    }
    out[t.mean] = one;
    out[t.mean].suffix = "moving_mean";
    out[t.mean].is_bias = true;
    out[t.mean].is_state = true;
    out[t.variance] = one;
    out[t.variance].suffix = "moving_variance";
    out[t.variance].init_ones = true;
    out[t.variance].is_state = true;
    return t.variance + 1;
}

/* The row's rate is batchnorm's epsilon: the benchmark's hand-written layers need it. */
static void batchnorm_runtime_row(const Layer *L, RuntimeRow *r)
{
    *r = (RuntimeRow){.units = L->in.c, .use_bias = L->u.batchnorm.center, .rate = L->u.batchnorm.epsilon};
}

static void batchnorm_constants(Writer *w, const Layer *L, const char *prefix)
{
    w_line(w, "#define %s_CHANNELS %d", prefix, L->in.c);
}

/* ------------------------------------------------------------------ emit */

static void batchnorm_forward_params(const EmitLayer *e, PassParams *p)
{
    BnTensors t = bn_tensors(e->layer);
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    if (t.gamma >= 0)
        pass_in(p, "gamma", e->param[t.gamma]);
    if (t.beta >= 0)
        pass_in(p, "beta", e->param[t.beta]);
    pass_in(p, "moving_mean", e->param[t.mean]);
    pass_in(p, "moving_variance", e->param[t.variance]);
    if (!e->inference) {
        pass_out(p, "stats", e->aux);
        pass_add(p, "training", "int training");
        pass_add(p, "sync", "const cnn_sync *sync");
    }
    pass_n(p);
}

/* The loop over the n images and their pixels: the image's pointers (each NAME = BASE + b * the
 * image's floats, `const` where read_only) before the loop over its pixels. The caller writes
 * the loop over the channels and closes both loops. */
typedef struct ImagePtr {
    const char *name, *base;
    bool read_only;
} ImagePtr;

static void open_pixels(Writer *w, const Layer *l, const ImagePtr *ptrs, int nptrs, const char *per_image)
{
    long long image = shape_size(l->in);
    w_open(w, "for (int b = 0; b < n; b++)");
    for (int i = 0; i < nptrs; i++)
        w_line(w, "%sfloat *restrict %s = %s + (size_t)b * %lld;", ptrs[i].read_only ? "const " : "", ptrs[i].name,
               ptrs[i].base, image);
    if (per_image)
        w_line(w, "%s", per_image);
    w_open(w, "for (int px = 0; px < %lld; px++)", image / l->in.c);
}

/* part[b][c] (b over this call's images) = the sum over the image's pixels of `sum`, an
 * expression of the pixel's x[px * C + ch]. */
static void per_image_sums(Writer *w, const Layer *l, const char *sum)
{
    int c = l->in.c;
    static const ImagePtr x = {"x", "in", true};
    char p[64];
    snprintf(p, sizeof p, "float *restrict p = part + (size_t)b * %d;", c);
    w_line(w, "for (int i = 0; i < n * %d; i++)", c);
    w_line(w, "    part[i] = 0.0f;");
    open_pixels(w, l, &x, 1, p);
    w_line(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "    p[ch] += %s;", sum);
    w_close(w);
    w_close(w);
}

/* A per-channel array of the pass: local, or at stats + 3C + slot * C (the record's work). */
static void channel_array(Writer *w, const char *name, int c, int slot)
{
    if (c <= BN_STACK_CHANNELS)
        w_line(w, "float %s[%d];", name, c);
    else
        w_line(w, "float *restrict %s = stats + %d;", name, (3 + slot) * c);
}

/* The predictor's pass: channel by channel with the moving statistics, so that no array of C
 * floats lands on the stack of a small thread. */
static void batchnorm_inference(Writer *w, const Layer *l, const char *gamma, const char *eps, bool beta)
{
    int c = l->in.c;
    long long image = shape_size(l->in);
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "const float center = moving_mean[ch], scale = %s / sqrtf(moving_variance[ch] + %s);", gamma, eps);
    w_line(w, "for (long long i = ch; i < (long long)n * %lld; i += %d)", image, c);
    w_line(w, "    out[i] = (in[i] - center) * scale%s;", beta ? " + beta[ch]" : "");
    w_close(w);
}

static void batchnorm_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const BatchnormAttrs *a = &l->u.batchnorm;
    BnTensors t = bn_tensors(l);
    int c = l->in.c;
    long long pixels = shape_size(l->in) / c;
    char eps[48], fname[EMIT_NAME_MAX + 16];
    w_float_literal(eps, sizeof eps, a->epsilon);
    PassParams params = {0};
    batchnorm_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    if (e->inference)
        w_line(w, "/* %s: %d channels normalised with the moving statistics */", l->name, c);
    else
        w_line(w, "/* %s: %d channels normalised with the batch's statistics in training (summed over every\n"
                  " * image of the batch, across threads), with the moving statistics otherwise */", l->name, c);
    w_pass_begin(w, fname, &params);
    const char *gamma = t.gamma >= 0 ? "gamma[ch]" : "1.0f";
    if (e->inference) {
        batchnorm_inference(w, l, gamma, eps, t.beta >= 0);
        w_close(w);
        w_blank(w);
        return;
    }
    channel_array(w, "center", c, 0);
    channel_array(w, "scale", c, 1);
    w_open(w, "if (training)");
    w_line(w, "float *restrict mean = stats, *restrict var = stats + %d, *restrict inv = stats + %d;", c, 2 * c);
    w_line(w, "float *restrict part = stats + %d;", 8 * c);
    w_line(w, "const float count = (float)(sync ? sync->images : n) * %lld.0f;", pixels);
    char sum[160];
    snprintf(sum, sizeof sum, "x[px * %d + ch]", c);
    per_image_sums(w, l, sum);
    w_line(w, "batch_sum(sync, part, n, %d, mean);", c);
    w_line(w, "/* center: the mean in an array the partial sums cannot alias, so that they vectorise */");
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "mean[ch] /= count;");
    w_line(w, "center[ch] = mean[ch];");
    w_close(w);
    snprintf(sum, sizeof sum, "(x[px * %d + ch] - center[ch]) * (x[px * %d + ch] - center[ch])", c, c);
    per_image_sums(w, l, sum);
    w_line(w, "batch_sum(sync, part, n, %d, var);", c);
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "var[ch] /= count;");
    w_line(w, "inv[ch] = 1.0f / sqrtf(var[ch] + %s);", eps);
    if (t.gamma >= 0)
        w_line(w, "scale[ch] = gamma[ch] * inv[ch];");
    else
        w_line(w, "scale[ch] = inv[ch];");
    w_close(w);
    w_close(w);
    w_open(w, "if (!training)");
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "center[ch] = moving_mean[ch];");
    w_line(w, "scale[ch] = %s / sqrtf(moving_variance[ch] + %s);", gamma, eps);
    w_close(w);
    w_close(w);
    static const ImagePtr xy[] = {{"x", "in", true}, {"y", "out", false}};
    open_pixels(w, l, xy, 2, NULL);
    w_line(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "    y[px * %d + ch] = (x[px * %d + ch] - center[ch]) * scale[ch]%s;", c, c, t.beta >= 0 ? " + beta[ch]" : "");
    w_close(w);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void batchnorm_backward_params(const EmitLayer *e, PassParams *p)
{
    BnTensors t = bn_tensors(e->layer);
    if (e->has_din)
        pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_in(p, "in", e->in);
    if (t.gamma >= 0 && e->has_din)
        pass_in(p, "gamma", e->param[t.gamma]);
    if (t.gamma >= 0)
        pass_out(p, "dgamma", e->dparam[t.gamma]);
    if (t.beta >= 0)
        pass_out(p, "dbeta", e->dparam[t.beta]);
    pass_out(p, "stats", e->aux);
    if (e->has_din)
        pass_add(p, "sync", "const cnn_sync *sync");
    pass_n(p);
}

/* With xh = (x - mean) * inv and the batch's means of dy and dy * xh (over every image and
 * pixel): dgamma = sum dy * xh, dbeta = sum dy, and
 *     dx = gamma * inv * (dy - mean(dy) - xh * mean(dy * xh)),
 * the means taken over the whole batch, so the sums go through batch_sum as forward's did. */
static void batchnorm_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    BnTensors t = bn_tensors(l);
    int c = l->in.c;
    long long pixels = shape_size(l->in) / c;
    char fname[EMIT_NAME_MAX + 16];
    PassParams params = {0};
    batchnorm_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_line(w, "/* %s: the gradients of gamma and beta over this call's images; the input's needs the", l->name);
    w_line(w, " * whole batch's sums of dy and dy * xh, xh being the normalised input */");
    w_pass_begin(w, fname, &params);
    w_line(w, "float *restrict part = stats + %d;", 8 * c);
    w_line(w, "/* center, inv: the statistics in arrays the partial sums cannot alias, so that they vectorise */");
    channel_array(w, "center", c, 0);
    channel_array(w, "inv", c, 1);
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "center[ch] = stats[ch];");
    w_line(w, "inv[ch] = stats[%d + ch];", 2 * c);
    w_close(w);
    w_line(w, "for (int i = 0; i < n * %d; i++)", 2 * c);
    w_line(w, "    part[i] = 0.0f;");
    static const ImagePtr xdy[] = {{"x", "in", true}, {"dy", "dout", true}};
    char p[64];
    snprintf(p, sizeof p, "float *restrict p = part + (size_t)b * %d;", 2 * c);
    open_pixels(w, l, xdy, 2, p);
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "const float xh = (x[px * %d + ch] - center[ch]) * inv[ch];", c);
    w_line(w, "p[ch] += dy[px * %d + ch];", c);
    w_line(w, "p[%d + ch] += dy[px * %d + ch] * xh;", c, c);
    w_close(w);
    w_close(w);
    w_close(w);
    if (t.gamma >= 0 || t.beta >= 0) {
        w_open(w, "for (int b = 0; b < n; b++)");
        w_line(w, "const float *restrict p = part + (size_t)b * %d;", 2 * c);
        w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
        if (t.gamma >= 0)
            w_line(w, "dgamma[ch] += p[%d + ch];", c);
        if (t.beta >= 0)
            w_line(w, "dbeta[ch] += p[ch];");
        w_close(w);
        w_close(w);
    }
    if (e->has_din) {
        if (c <= BN_STACK_CHANNELS) {
            w_line(w, "float sums[%d], k[%d];", 2 * c, c);
        } else {
            w_line(w, "float *restrict sums = stats + %d, *restrict k = stats + %d;", 5 * c, 7 * c);
        }
        w_line(w, "batch_sum(sync, part, n, %d, sums);", 2 * c);
        w_line(w, "const float count = (float)(sync ? sync->images : n) * %lld.0f;", pixels);
        w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
        w_line(w, "k[ch] = %s * inv[ch];", t.gamma >= 0 ? "gamma[ch]" : "1.0f");
        w_line(w, "sums[ch] /= count;");
        w_line(w, "sums[%d + ch] /= count;", c);
        w_close(w);
        static const ImagePtr xdydx[] = {{"x", "in", true}, {"dy", "dout", true}, {"dx", "din", false}};
        open_pixels(w, l, xdydx, 3, NULL);
        w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
        w_line(w, "const float xh = (x[px * %d + ch] - center[ch]) * inv[ch];", c);
        w_line(w, "dx[px * %d + ch] = k[ch] * (dy[px * %d + ch] - sums[ch] - xh * sums[%d + ch]);", c, c, c);
        w_close(w);
        w_close(w);
        w_close(w);
    }
    w_close(w);
    w_blank(w);
}

/* moving = momentum * moving + (1 - momentum) * batch, as the contract words Keras' update. */
static void batchnorm_state_update(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    BnTensors t = bn_tensors(l);
    int c = l->in.c;
    char keep[48], take[48];
    w_float_literal(keep, sizeof keep, l->u.batchnorm.momentum);
    w_float_literal(take, sizeof take, 1.0 - l->u.batchnorm.momentum);
    w_line(w, "/* %s */", l->name);
    w_open_block(w);
    w_line(w, "const float *restrict stats = %s;", e->aux);
    w_line(w, "float *restrict mean = %s, *restrict var = %s;", e->param[t.mean], e->param[t.variance]);
    w_open(w, "for (int ch = 0; ch < %d; ch++)", c);
    w_line(w, "mean[ch] = %s * mean[ch] + %s * stats[ch];", keep, take);
    w_line(w, "var[ch] = %s * var[ch] + %s * stats[%d + ch];", keep, take, c);
    w_close(w);
    w_close(w);
}

/* ------------------------------------------------------------------ ONNX */

/* BatchNormalization in inference form (over axis 1: NCHW's channels, or a flat tensor's
 * units) with the moving statistics. epsilon is written although ONNX has a default (1e-5,
 * where Keras' is 1e-3), and momentum too (the same meaning as Keras': the weight of the old
 * statistics), so that `cnnc import` gives the layer back. Without scale or center the
 * tensors are ones and zeros named "<layer>/ones" and "<layer>/zeros", which is how the
 * importer knows them. */
static void batchnorm_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    const BatchnormAttrs *a = &L->u.batchnorm;
    BnTensors t = bn_tensors(L);
    int c = L->in.c;
    float *fill = xmalloc((size_t)c * sizeof *fill);
    char *names[4] = {
        t.gamma >= 0 ? ow_layer_tensor(L, ".", "gamma") : ow_layer_tensor(L, "/", "ones"),
        t.beta >= 0 ? ow_layer_tensor(L, ".", "beta") : ow_layer_tensor(L, "/", "zeros"),
        ow_layer_tensor(L, ".", "moving_mean"),
        ow_layer_tensor(L, ".", "moving_variance"),
    };
    int index[4] = {t.gamma, t.beta, t.mean, t.variance};
    for (int k = 0; k < 4; k++) {
        const float *data = index[k] >= 0 ? io->tensor[index[k]] : fill;
        for (int ch = 0; index[k] < 0 && ch < c; ch++)
            fill[ch] = k == 0 ? 1.0f : 0.0f;
        ow_initializer(w, names[k], 1, (long long[]){c}, data);
    }
    OnnxNode *n = ow_node(w, batchnorm_ops.onnx_op, L->name,
                          (const char *[]){io->in, names[0], names[1], names[2], names[3], NULL}, io->out);
    ow_attr_float(n, "epsilon", (float)a->epsilon);
    ow_attr_float(n, "momentum", (float)a->momentum);
    free(fill);
    for (int k = 0; k < 4; k++)
        free(names[k]);
}

const LayerOps batchnorm_ops = {
    .name = "batchnorm",
    .keras_class = "BatchNormalization",
    .args = batchnorm_args,
    .resolve = batchnorm_resolve,
    .infer = batchnorm_infer,
    .attrs = batchnorm_attrs,
    .tensors = batchnorm_tensors,
    .runtime_row = batchnorm_runtime_row,
    .constants = batchnorm_constants,
    .emit_forward = batchnorm_forward,
    .emit_backward = batchnorm_backward,
    .forward_params = batchnorm_forward_params,
    .backward_params = batchnorm_backward_params,
    .emit_state_update = batchnorm_state_update,
    .onnx_op = "BatchNormalization",
    .onnx_export = batchnorm_onnx,
    .onnx_layout = ONNX_NCHW,
};
