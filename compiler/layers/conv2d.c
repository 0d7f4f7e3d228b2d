/*
 * layers/conv2d.c - conv2d: Keras Conv2D, channels last.
 *
 *     conv2d(filters=32, kernel=3, stride=1, padding=valid, activation=relu, use_bias=true);
 *
 * Its passes are specialised to the layer's shapes and the target. The layout is chosen for
 * vectorisation: activations are [H][W][C] and the kernel [KH][KW][CIN][COUT], so the innermost
 * loop of every pass runs over the output channels with unit stride in the kernel and in the
 * output. The passes are emit/simd.c's register blocks: forward and the input gradient (a
 * convolution of the output gradient under the flipped kernel) gather blocks of output
 * pixels, the kernel gradient keeps blocks of its rows in registers; border runs of a padded
 * window get their own blocks with the taps outside the image left out. Only a strided
 * convolution's input gradient scatters one output pixel at a time through small per-layer
 * tap functions. Backward works image by image, so that each image's output gradient is
 * still in cache when the products read it.
 */
#include <stdlib.h>

#include "emit/winograd.h"
#include "layers/layer.h"

/* ------------------------------------------------------------------ check */

static const ArgSpec conv2d_args[] = {
    {"filters", ARG_COUNT, true},        {"kernel", ARG_SIZE2, true},
    {"stride", ARG_SIZE2, false},        {"padding", ARG_PADDING, false},
    {"activation", ARG_ACTIVATION, false}, {"use_bias", ARG_BOOL, false},
    {"name", ARG_NAME, false},           {NULL, 0, false},
};

static void conv_resolve(Layer *L, const ArgValue *vals)
{
    const ArgValue *v;
    ConvAttrs *c = &L->u.conv;
    *c = (ConvAttrs){.sh = 1, .sw = 1, .padding = PAD_VALID, .use_bias = true};
    L->act = ACT_NONE;
    if ((v = arg_value(conv2d_args, vals, "filters")))
        c->filters = v->n;
    if ((v = arg_value(conv2d_args, vals, "kernel")))
        c->kh = v->h, c->kw = v->w;
    if ((v = arg_value(conv2d_args, vals, "stride")))
        c->sh = v->h, c->sw = v->w;
    if ((v = arg_value(conv2d_args, vals, "padding")))
        c->padding = (Padding)v->e;
    if ((v = arg_value(conv2d_args, vals, "activation")))
        L->act = (Activation)v->e;
    if ((v = arg_value(conv2d_args, vals, "use_bias")))
        c->use_bias = v->b;
}

/* MACs: out_h * out_w * filters * kh * kw * cin, padded cells included as Keras-style
 * counters do. */
static bool conv_infer(Layer *L, Shape in)
{
    ConvAttrs *c = &L->u.conv;
    int pads[4];
    if (!need_rank(L, in, 3) || !infer_window(L, in, c->kh, c->kw, c->sh, c->sw, c->padding, &L->out, pads))
        return false;
    c->pad_top = pads[0], c->pad_bottom = pads[1], c->pad_left = pads[2], c->pad_right = pads[3];
    L->out.c = c->filters;

    char what[160];
    snprintf(what, sizeof what, "kernel %dx%dx%dx%d", c->kh, c->kw, in.c, c->filters);
    long long window, kernel;
    if (__builtin_mul_overflow((long long)c->kh, (long long)c->kw, &window) ||
        __builtin_mul_overflow(window, (long long)in.c, &window) ||
        __builtin_mul_overflow(window, (long long)c->filters, &kernel))
        kernel = -1;
    if (!check_kernel_size(L, what, kernel))
        return false;
    L->kernel_size = kernel;
    L->bias_size = c->use_bias ? c->filters : 0;
    L->params = L->kernel_size + L->bias_size;
    long long out_size = shape_size(L->out);
    /* out_size*window can only overflow when the output is already too large to index; the
     * caller reports that, so the cost is then left at 0. */
    if (out_size < 0 || __builtin_mul_overflow(out_size, window, &L->macs))
        L->macs = 0;
    return true;
}

/* ------------------------------------------------------------------ describe */

static int conv_attrs(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS])
{
    const ConvAttrs *a = &L->u.conv;
    out[0] = (LayerAttr){.name = "filters", .type = ATTR_INT, .i = a->filters};
    out[1] = (LayerAttr){.name = "kernel", .type = ATTR_SIZE2, .h = a->kh, .w = a->kw};
    out[2] = (LayerAttr){.name = "stride", .type = ATTR_SIZE2, .h = a->sh, .w = a->sw};
    out[3] = (LayerAttr){.name = "padding", .type = ATTR_PADDING, .i = a->padding,
                         .pads = {a->pad_top, a->pad_bottom, a->pad_left, a->pad_right}};
    out[4] = (LayerAttr){.name = "activation", .type = ATTR_ACTIVATION, .i = L->act};
    out[5] = (LayerAttr){.name = "use_bias", .type = ATTR_BOOL, .i = a->use_bias};
    return 6;
}

/* The kernel [KH][KW][CIN][COUT] as in Keras, then the bias [COUT]. */
enum { CONV_KERNEL, CONV_BIAS };

static int conv_tensors(const Layer *L, TensorSpec out[MAX_LAYER_TENSORS])
{
    const ConvAttrs *a = &L->u.conv;
    int fan_in = a->kh * a->kw * L->in.c, fan_out = a->kh * a->kw * a->filters;
    out[CONV_KERNEL] = (TensorSpec){.suffix = "kernel", .ndim = 4, .shape = {a->kh, a->kw, L->in.c, a->filters},
                                    .count = L->kernel_size, .fan_in = fan_in, .fan_out = fan_out};
    if (!a->use_bias)
        return 1;
    out[CONV_BIAS] = (TensorSpec){.suffix = "bias", .ndim = 1, .shape = {a->filters}, .count = L->bias_size,
                                  .fan_in = fan_in, .fan_out = fan_out, .is_bias = true};
    return 2;
}

static void conv_runtime_row(const Layer *L, RuntimeRow *r)
{
    const ConvAttrs *a = &L->u.conv;
    *r = (RuntimeRow){.kh = a->kh, .kw = a->kw, .sh = a->sh, .sw = a->sw, .same = a->padding == PAD_SAME,
                      .pad_top = a->pad_top, .pad_left = a->pad_left, .pad_bottom = a->pad_bottom,
                      .pad_right = a->pad_right, .units = a->filters, .use_bias = a->use_bias};
}

static void conv_constants(Writer *w, const Layer *L, const char *prefix)
{
    const ConvAttrs *a = &L->u.conv;
    w_line(w, "#define %s_FILTERS %d", prefix, a->filters);
    w_line(w, "#define %s_KERNEL_H %d", prefix, a->kh);
    w_line(w, "#define %s_KERNEL_W %d", prefix, a->kw);
    w_line(w, "#define %s_STRIDE_H %d", prefix, a->sh);
    w_line(w, "#define %s_STRIDE_W %d", prefix, a->sw);
    w_line(w, "#define %s_PAD_TOP %d", prefix, a->pad_top);
    w_line(w, "#define %s_PAD_LEFT %d", prefix, a->pad_left);
}

/* ------------------------------------------------------------------ emit */

static Window conv_window(const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    return (Window){
        .in_h = l->in.h, .in_w = l->in.w, .in_c = l->in.c, .out_h = l->out.h, .out_w = l->out.w,
        .kh = a->kh, .kw = a->kw, .sh = a->sh, .sw = a->sw,
        .pad_top = a->pad_top, .pad_left = a->pad_left,
    };
}

static void conv_comment(Writer *w, const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    char stride[32];
    format_stride(stride, sizeof stride, a->sh, a->sw);
    w_line(w, "/* %s: %dx%d, stride %s, %s, %d -> %d, %s%s */", l->name, a->kh, a->kw, stride,
           padding_name(a->padding), l->in.c, a->filters, activation_name(l->act),
           a->use_bias ? "" : ", no bias");
}

/* The input gradient of a stride-1 convolution is itself one: the output gradient, padded by
 * the kernel size less the forward padding, under the kernel flipped in both axes with its
 * channel axes swapped. That lets it share the forward's register-blocked gather, over a
 * flipped copy of the kernel on the stack of up to this many floats (256 KiB). A strided
 * convolution's input gradient scatters each output pixel's gradient through the taps
 * instead, over the same copy unflipped, or over the kernel itself with dot products where
 * the copy would not fit. */
#define MAX_TRANSPOSED_KERNEL 65536

static bool gathers_input_grad(const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    return a->sh == 1 && a->sw == 1 && l->kernel_size <= MAX_TRANSPOSED_KERNEL;
}

static bool transposes_kernel(const Layer *l)
{
    return l->kernel_size <= MAX_TRANSPOSED_KERNEL;
}

/* The scatter of a strided input gradient, one tap of the window at a time. */
static void emit_xtap_function(Writer *w, const Layer *l)
{
    int cin = l->in.c, cout = l->u.conv.filters;
    if (transposes_kernel(l)) {
        w_line(w, "/* %s, one tap of the input gradient: dx[ci] += sum over co of kt[co][ci] * dz[co]. */", l->name);
        w_begin_function(w, "static void %s_xtap(float *restrict dx, const float *restrict kt, const float *restrict dz)", l->name);
        w_open(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "const float g = dz[co];");
        w_line(w, "for (int ci = 0; ci < %d; ci++)", cin);
        w_line(w, "    dx[ci] += g * kt[co * %d + ci];", cin);
        w_close(w);
    } else {
        w_line(w, "/* %s, one tap of the input gradient: dx[ci] += sum over co of k[ci][co] * dz[co]. */", l->name);
        w_begin_function(w, "static void %s_xtap(float *restrict dx, const float *restrict k, const float *restrict dz)", l->name);
        w_open(w, "for (int ci = 0; ci < %d; ci++)", cin);
        w_line(w, "const float *restrict kc = k + ci * %d;", cout);
        emit_dot(w, "kc", "dz", cout);
        w_line(w, "dx[ci] += sum;");
        w_close(w);
    }
    w_close(w);
    w_blank(w);
}

/* Output pixel o's gradient through every tap inside the input. `at` may be negative where
 * the window starts in the padding, so it is added to the tap's offset before the pointer. */
static void scatter_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *vctx)
{
    const Layer *l = vctx;
    const ConvAttrs *a = &l->u.conv;
    int cout = a->filters;
    w_line(w, "const float *restrict g = dz + (size_t)o * %d;", cout);
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++) {
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++) {
            char dx[EMIT_EXPR_MAX], k[EMIT_EXPR_MAX];
            simd_expr(dx, sizeof dx, "at", NULL, window_tap_offset(g, kh, kw));
            simd_expr(k, sizeof k, transposes_kernel(l) ? "kt" : "kernel", NULL,
                      ((long long)kh * a->kw + kw) * g->in_c * cout);
            w_line(w, "%s_xtap(dx + (%s), %s, g);", l->name, dx, k);
        }
    }
}

/* Whether the forward pass in training is Winograd's F(4x4, 3x3) (emit/winograd.c has the rule).
 * Evaluation and prediction keep the direct convolution: it is the exported predictor's
 * arithmetic (whose stack has no room for a transformed kernel), so that a checkpoint gives
 * the same bits in `PROGRAM predict` and `eval` as in the predictor. */
static bool forward_winograd(const EmitLayer *e)
{
    Window g = conv_window(e->layer);
    return !e->inference && winograd_applies(&g, e->layer->u.conv.filters);
}

static void conv_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_in(p, "kernel", e->param[CONV_KERNEL]);
    if (e->layer->u.conv.use_bias)
        pass_in(p, "bias", e->param[CONV_BIAS]);
    pass_n(p);
    if (forward_winograd(e))
        pass_add(p, "training", "int training");
}

/* The softmax of a convolution's output, over each pixel's channels, once the image is whole. */
static void image_softmax(Writer *w, const Layer *l)
{
    char rows[32];
    if (l->act != ACT_SOFTMAX)
        return;
    snprintf(rows, sizeof rows, "%d", l->out.h * l->out.w);
    emit_softmax_rows(w, "y", rows, l->u.conv.filters);
}

/* NAME_winograd(out, in, kernel[, bias], n): the forward pass by F(4x4, 3x3). */
static void winograd_forward_function(Writer *w, const EmitLayer *e, const char *fname)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    SimdConv c = {.g = conv_window(l), .cout = a->filters, .x = "x", .y = "y", .k = "kernel",
                  .bias = a->use_bias ? "bias" : NULL, .act = l->act};
    w_line(w, "/* %s in training, by Winograd's F(4x4, 3x3): 4x4 outputs at a time from the 6x6 input patch", l->name);
    w_line(w, " * under them, with 36 products per pair of channels instead of 144 (emit/winograd.c). */");
    w_begin_function(w, "static void %s(float *restrict out, const float *restrict in, const float *restrict kernel,%s int n)",
                     fname, a->use_bias ? " const float *restrict bias," : "");
    emit_winograd_kernel(w, &c, "u");
    emit_winograd_scratch(w, &c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    emit_winograd_image(w, &c, "u");
    image_softmax(w, l);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void conv_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16], wname[EMIT_NAME_MAX + 16];
    bool winograd = forward_winograd(e);
    snprintf(wname, sizeof wname, "%s_winograd", l->name);
    if (winograd)
        winograd_forward_function(w, e, wname);
    conv_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    conv_comment(w, l);
    w_pass_begin(w, fname, &params);
    char bias[32] = "";
    if (a->use_bias)
        snprintf(bias, sizeof bias, ", bias: [%d]", a->filters);
    w_line(w, "/* out: [n][%d][%d][%d], in: [n][%d][%d][%d], kernel: [%d][%d][%d][%d]%s */",
           l->out.h, l->out.w, l->out.c, l->in.h, l->in.w, l->in.c, a->kh, a->kw, l->in.c, a->filters,
           bias);
    if (winograd) {
        w_open(w, "if (training)");
        w_line(w, "%s(out, in, kernel,%s n);", wname, a->use_bias ? " bias," : "");
        w_line(w, "return;");
        w_close(w);
        w_line(w, "/* Evaluation: the direct convolution, as the exported predictor computes it. */");
    }
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    SimdConv c = {.g = conv_window(l), .cout = a->filters, .x = "x", .y = "y", .k = "kernel",
                  .bias = a->use_bias ? "bias" : NULL, .act = l->act};
    emit_simd_gather(w, &c);
    image_softmax(w, l);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static bool uses_out(const EmitLayer *e)
{
    Activation act = e->layer->act;
    return act != ACT_NONE && !e->grad_is_logits;
}

/* One image's output gradient dz through the activation, given its output y (nothing for
 * none, or where the loss already gave the gradient of the logits). */
static void image_activation_grad(Writer *w, const EmitLayer *e)
{
    char count[32];
    snprintf(count, sizeof count, "%lld", shape_size(e->layer->out));
    emit_activation_grad_inplace(w, e->layer->act, e->grad_is_logits, "dz", "y", count,
                                 e->layer->u.conv.filters);
}

/* d{v} *= the activation's gradient from its output y{v}, in the order of the scalar
 * expression's operations (activation_grad_expr), so that the floats are the same. */
static void vector_activation_grad(Writer *w, Activation act, int v)
{
    if (act == ACT_RELU) {
        w_line(w, "VF_RELU_GRAD(d%d, y%d);", v, v);
    } else if (act == ACT_SIGMOID) {
        w_line(w, "cnn_vf u%d; VF_SET1(u%d, 1.0f); VF_SUB(u%d, y%d); VF_MUL(u%d, y%d); VF_MUL(d%d, u%d);",
               v, v, v, v, v, v, v, v);
    } else if (act == ACT_TANH) {
        w_line(w, "cnn_vf u%d, q%d; VF_COPY(q%d, y%d); VF_MUL(q%d, y%d); VF_SET1(u%d, 1.0f); VF_SUB(u%d, q%d); "
                  "VF_MUL(d%d, u%d);", v, v, v, v, v, v, v, v, v, v, v);
    }
}

/* The bias gradient of one image in vectors, through the activation's gradient (act) first: a
 * block of channel vectors holds its sums in registers over every pixel (half the target's
 * registers, the rest for the loads), so each lane adds its channel's pixels in pixel order,
 * as the scalar loop does, and gives the same floats. gcc vectorised that loop for AVX-512
 * but not for AVX2, where it took 85% of the seed model's conv2d_1 backward (perf). */
static void vector_bias_grad(Writer *w, const EmitLayer *e, Activation act)
{
    const Layer *l = e->layer;
    int cout = l->u.conv.filters, pixels = l->out.h * l->out.w;
    int lanes = w->target->lanes, vectors = (cout + lanes - 1) / lanes;
    int block = w->target->registers / 2;
    for (int v0 = 0; v0 < vectors; v0 += block) {
        int nv = vectors - v0 < block ? vectors - v0 : block;
        w_open_block(w);
        for (int v = 0; v < nv; v++)
            w_line(w, "cnn_vf s%d; VF_ZERO(s%d);", v, v);
        w_open(w, "for (int o = 0; o < %d; o++)", pixels);
        w_line(w, "float *restrict g = dz + o * %d;", cout);
        bool through = act != ACT_NONE;
        if (through)
            w_line(w, "const float *restrict a = y + o * %d;", cout);
        for (int v = 0; v < nv; v++) {
            int c = (v0 + v) * lanes, part = cout - c < lanes ? cout - c : 0;
            char d[16], ya[16];
            snprintf(d, sizeof d, "d%d", v);
            snprintf(ya, sizeof ya, "y%d", v);
            w_line(w, "cnn_vf %s;", d);
            simd_load(w, d, "g", NULL, c, part, part);
            if (through) {
                w_line(w, "cnn_vf %s;", ya);
                simd_load(w, ya, "a", NULL, c, part, part);
                vector_activation_grad(w, act, v);
                simd_store(w, "g", NULL, c, d, part, part);
            }
            w_line(w, "VF_ADD(s%d, d%d);", v, v);
        }
        w_close(w);
        for (int v = 0; v < nv; v++) {
            int c = (v0 + v) * lanes, part = cout - c < lanes ? cout - c : 0;
            char t[16];
            snprintf(t, sizeof t, "t%d", v);
            w_line(w, "cnn_vf %s;", t);
            simd_load(w, t, "dbias", NULL, c, part, part);
            w_line(w, "VF_ADD(%s, s%d);", t, v);
            simd_store(w, "dbias", NULL, c, t, part, part);
        }
        w_close(w);
    }
}

/* One image's output gradient through an elementwise activation, and its bias gradient, in
 * one pass of the target's vectors. A softmax, needing whole rows, goes first on its own. */
static void activation_and_bias_grad(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    bool elementwise = uses_out(e) && l->act != ACT_SOFTMAX;
    if (!elementwise) {
        image_activation_grad(w, e);
        w_line(w, "/* The bias gradient. */");
        vector_bias_grad(w, e, ACT_NONE);
    } else {
        w_line(w, "/* Through the %s, and the bias gradient, in one pass. */", activation_name(l->act));
        vector_bias_grad(w, e, l->act);
    }
}

/* Gradients first (the input's where one flows back, the kernel's, the bias's), then what they
 * are computed from. */
static void conv_backward_params(const EmitLayer *e, PassParams *p)
{
    if (e->has_din)
        pass_out(p, "din", e->din);
    pass_out(p, "dkernel", e->dparam[CONV_KERNEL]);
    if (e->layer->u.conv.use_bias)
        pass_out(p, "dbias", e->dparam[CONV_BIAS]);
    pass_out(p, "dout", e->dout);
    if (uses_out(e))
        pass_in(p, "out", e->out);
    pass_in(p, "in", e->in);
    if (e->has_din)
        pass_in(p, "kernel", e->param[CONV_KERNEL]);
    pass_n(p);
}

/* The kernel with its channel axes swapped, [KH][KW][COUT][CIN], on the stack as `name`;
 * flipped in both window axes too where `flip`. */
static void transposed_kernel(Writer *w, const Layer *l, const char *name, bool flip)
{
    const ConvAttrs *a = &l->u.conv;
    int taps = a->kh * a->kw, cin = l->in.c, cout = a->filters;
    if (flip)
        w_line(w, "/* The kernel flipped in both axes, as [%d][%d][%d][%d]: output channels before input channels. */",
               a->kh, a->kw, cout, cin);
    else
        w_line(w, "/* The kernel as [%d][%d][%d][%d], output channels before input channels. */", a->kh, a->kw, cout,
               cin);
    w_line(w, "float %s[%lld] CNN_STACK_ALIGN;", name, l->kernel_size);
    w_open(w, "for (int t = 0; t < %d; t++)", taps);
    if (flip)
        w_line(w, "const float *restrict tap = kernel + (%d - t) * %d;", taps - 1, cin * cout);
    else
        w_line(w, "const float *restrict tap = kernel + t * %d;", cin * cout);
    w_line(w, "for (int ci = 0; ci < %d; ci++)", cin);
    w_line(w, "    for (int co = 0; co < %d; co++)", cout);
    w_line(w, "        %s[(t * %d + co) * %d + ci] = tap[ci * %d + co];", name, cout, cin, cout);
    w_close(w);
}

/* With padding, each tap of the window falls inside the input for its own range of outputs,
 * so the kernel gradient's rows cannot share register blocks: LeNet-5's first convolution (5x5,
 * same, one input channel) had 25 blocks of one accumulator each, one chain of dependent
 * multiply-adds, reloading the output gradient 25 times. Over a copy of the image with its
 * padding written as zeros every tap sees all outputs. The copy is one image, on the stack: at
 * most this many floats (256 KiB). */
#define MAX_PADDED_INPUT 65536

static bool pads_input_for_kernel_grad(const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    long long size = (long long)(l->in.h + a->pad_top + a->pad_bottom) * (l->in.w + a->pad_left + a->pad_right) * l->in.c;
    return (a->pad_top | a->pad_bottom | a->pad_left | a->pad_right) != 0 && size <= MAX_PADDED_INPUT;
}

/* The window of the convolution over the padded copy of its input. */
static Window padded_window(const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    g.in_h += a->pad_top + a->pad_bottom;
    g.in_w += a->pad_left + a->pad_right;
    g.pad_top = g.pad_left = 0;
    return g;
}

/* `float NAME[...]`: the image `x` with the layer's padding as zeros around it. */
static void padded_input(Writer *w, const Layer *l, const char *name, const char *x)
{
    const ConvAttrs *a = &l->u.conv;
    Window p = padded_window(l);
    int row = l->in.w * l->in.c;
    w_line(w, "/* The image with its padding as zeros: [%d][%d][%d]. */", p.in_h, p.in_w, p.in_c);
    w_line(w, "float %s[%lld] CNN_STACK_ALIGN;", name, (long long)p.in_h * p.in_w * p.in_c);
    w_line(w, "memset(%s, 0, sizeof %s);", name, name);
    w_line(w, "for (int r = 0; r < %d; r++)", l->in.h);
    w_line(w, "    memcpy(%s + (r + %d) * %d + %d, %s + r * %d, sizeof(float) * %d);", name, a->pad_top,
           p.in_w * p.in_c, a->pad_left * p.in_c, x, row, row);
}

static void conv_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    bool with_din = e->has_din;
    bool gather_din = with_din && gathers_input_grad(l), scatter_din = with_din && !gather_din;
    /* Input pixel i gathers output pixel i + pad - k under tap k: a window with padding
     * k - 1 - pad over the output gradient. */
    Window gd = {.in_h = l->out.h, .in_w = l->out.w, .in_c = a->filters, .out_h = l->in.h, .out_w = l->in.w,
                 .kh = a->kh, .kw = a->kw, .sh = 1, .sw = 1,
                 .pad_top = a->kh - 1 - a->pad_top, .pad_left = a->kw - 1 - a->pad_left};
    SimdConv cd = {.g = gd, .cout = l->in.c, .x = "dz", .y = "dx", .k = "kf", .act = ACT_NONE};
    bool winograd_din = gather_din && winograd_applies(&gd, l->in.c);
    /* The kernel gradient over the image padded with zeros where the layer pads (see
     * padded_input): every tap then sees every output, and the taps share register blocks. */
    bool pad_x = pads_input_for_kernel_grad(l);
    SimdConv dk = {.g = pad_x ? padded_window(l) : g, .cout = a->filters, .x = pad_x ? "xp" : "x", .y = "dz",
                   .k = "dkernel", .act = ACT_NONE};
    if (scatter_din)
        emit_xtap_function(w, l);
    emit_simd_kernel_grad_functions(w, l->name, &dk);
    conv_comment(w, l);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    conv_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* dout%s: [n][%d][%d][%d], %sin: [n][%d][%d][%d] */", uses_out(e) ? ", out" : "",
           l->out.h, l->out.w, l->out.c, with_din ? "din, " : "", l->in.h, l->in.w, l->in.c);
    if (scatter_din) {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", shape_size(l->in));
        w_line(w, "    din[i] = 0.0f;");
        if (transposes_kernel(l))
            transposed_kernel(w, l, "kt", false);
    }
    if (gather_din)
        transposed_kernel(w, l, "kf", true);
    if (winograd_din) {
        w_line(w, "/* The input gradient by Winograd's F(4x4, 3x3) (emit/winograd.c). */");
        emit_winograd_kernel(w, &cd, "u");
        emit_winograd_scratch(w, &cd);
    }
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    if (with_din)
        w_line(w, "float *restrict dx = din + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict dz = dout + (size_t)b * %lld;", shape_size(l->out));
    /* Image by image, so that its output gradient is still in cache for the products. */
    if (uses_out(e))
        w_line(w, "const float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    if (a->use_bias)
        activation_and_bias_grad(w, e);
    else
        image_activation_grad(w, e);
    if (pad_x)
        padded_input(w, l, "xp", "x");
    emit_simd_kernel_grad_calls(w, l->name, &dk);
    if (scatter_din)
        emit_window_loops(w, &g, scatter_pixel, (void *)l);
    if (winograd_din) {
        w_line(w, "/* The input gradient, every pixel written once. */");
        emit_winograd_image(w, &cd, "u");
    } else if (gather_din) {
        w_line(w, "/* The input gradient, every pixel written once. */");
        emit_simd_gather(w, &cd);
    }
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* ONNX's Conv reads NCHW, with the kernel [COUT][CIN][KH][KW] where cnnc's is [KH][KW][CIN][COUT]. */
static void conv_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    const ConvAttrs *a = &L->u.conv;
    int cin = L->in.c, cout = a->filters;
    float *k = xmalloc((size_t)L->kernel_size * sizeof *k);
    for (int ky = 0; ky < a->kh; ky++)
        for (int kx = 0; kx < a->kw; kx++)
            for (int ci = 0; ci < cin; ci++)
                for (int co = 0; co < cout; co++)
                    k[(((size_t)co * cin + ci) * a->kh + ky) * a->kw + kx] =
                        io->kernel[(((size_t)ky * a->kw + kx) * cin + ci) * cout + co];
    char *kname = ow_layer_tensor(L, ".", "kernel"), *bname = ow_layer_tensor(L, ".", "bias");
    ow_initializer(w, kname, 4, (long long[]){cout, cin, a->kh, a->kw}, k);
    if (a->use_bias)
        ow_initializer(w, bname, 1, (long long[]){cout}, io->bias);
    char *linear = ow_activation_before(L, io);
    OnnxNode *n = ow_node(w, conv2d_ops.onnx_op, L->name,
                          (const char *[]){io->in, kname, a->use_bias ? bname : NULL, NULL}, linear);
    ow_window(n, a->kh, a->kw, a->sh, a->sw, a->padding);
    ow_activation_after(w, L, io, linear);
    free(k);
    free(kname);
    free(bname);
    free(linear);
}

const LayerOps conv2d_ops = {
    .name = "conv2d",
    .keras_class = "Conv2D",
    .args = conv2d_args,
    .resolve = conv_resolve,
    .infer = conv_infer,
    .attrs = conv_attrs,
    .tensors = conv_tensors,
    .runtime_row = conv_runtime_row,
    .constants = conv_constants,
    .emit_forward = conv_forward,
    .emit_backward = conv_backward,
    .forward_params = conv_forward_params,
    .backward_params = conv_backward_params,
    .onnx_op = "Conv",
    .onnx_export = conv_onnx,
    .onnx_layout = ONNX_NCHW,
};
