/*
 * layers/conv2d.c - conv2d: Keras Conv2D, channels last.
 *
 *     conv2d(filters=32, kernel=3, stride=1, padding=valid, activation=relu, use_bias=true);
 *
 * Its passes are specialised to the layer's shapes.
 * The layout is chosen for vectorisation: activations are [H][W][C] and the kernel
 * [KH][KW][CIN][COUT], so the innermost loop of every pass runs over the output channels with
 * unit stride in the kernel and in the output. Where the channels fill whole vectors the
 * passes are emit/simd.c's register blocks: forward and the input gradient (a convolution of
 * the output gradient under the flipped kernel) gather blocks of output pixels, the kernel
 * gradient keeps blocks of its rows in registers; border runs of a padded window get their
 * own blocks with the taps outside the image left out. Other shapes (a few filters, strided
 * input gradients) fall back to one output pixel at a time through small per-layer tap
 * functions. Backward works image by image, so that each image's output gradient is still
 * in cache when the products read it.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* Above this many filters the accumulator lives in the output instead of on the stack. */
#define MAX_LOCAL_ACC 1024

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

/* The three small kernels every pass is built from, one tap of the window at a time. */
static void emit_tap_functions(Writer *w, const Layer *l)
{
    int cin = l->in.c, cout = l->u.conv.filters;
    w_line(w, "/* %s, one tap of the window: acc[co] += sum over ci of x[ci] * k[ci][co]. */", l->name);
    w_begin_function(w, "static void %s_tap(float *restrict acc, const float *restrict x, const float *restrict k)", l->name);
    w_open(w, "for (int ci = 0; ci < %d; ci++)", cin);
    w_line(w, "const float xv = x[ci];");
    w_line(w, "for (int co = 0; co < %d; co++)", cout);
    w_line(w, "    acc[co] += xv * k[ci * %d + co];", cout);
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* The input gradient runs fastest over a kernel with its channel axes swapped, CIN innermost
 * as COUT is in forward. backward builds that copy on the stack, up to this many floats
 * (256 KiB); larger kernels take the slower dot products instead. */
#define MAX_TRANSPOSED_KERNEL 65536

static bool transposes_kernel(const Layer *l)
{
    return l->kernel_size <= MAX_TRANSPOSED_KERNEL;
}

static void emit_backward_tap_functions(Writer *w, const Layer *l, bool with_dk, bool with_din)
{
    int cin = l->in.c, cout = l->u.conv.filters;
    if (with_dk) {
        w_line(w, "/* %s, one tap of the kernel gradient: dk[ci][co] += x[ci] * dz[co]. */", l->name);
        w_begin_function(w, "static void %s_wtap(float *restrict dk, const float *restrict x, const float *restrict dz)", l->name);
        w_open(w, "for (int ci = 0; ci < %d; ci++)", cin);
        w_line(w, "const float xv = x[ci];");
        w_line(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "    dk[ci * %d + co] += xv * dz[co];", cout);
        w_close(w);
        w_close(w);
        w_blank(w);
    }
    if (!with_din)
        return;
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

typedef struct ConvCtx {
    const Layer *l;
    bool local_acc;
    bool with_dk;  /* backward_pixel writes the kernel and bias gradients */
    bool with_din; /* backward_pixel writes the input gradient */
} ConvCtx;

static void forward_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *vctx)
{
    const ConvCtx *cx = vctx;
    const ConvAttrs *a = &cx->l->u.conv;
    int cout = a->filters;
    char buf[128];
    const char *acc = cx->local_acc ? "acc" : "py";
    if (cx->local_acc)
        w_line(w, "float acc[%d] CNN_STACK_ALIGN;", cout);
    else
        w_line(w, "float *restrict py = y + (size_t)o * %d;", cout);
    w_line(w, "for (int co = 0; co < %d; co++)", cout);
    w_line(w, "    %s[co] = %s;", acc, a->use_bias ? "bias[co]" : "0.0f");
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++)
            w_line(w, "%s_tap(%s, x + at + %lld, kernel + %lld);", cx->l->name, acc,
                   window_tap_offset(g, kh, kw), ((long long)kh * a->kw + kw) * g->in_c * cout);
    if (cx->local_acc) {
        w_line(w, "float *restrict py = y + (size_t)o * %d;", cout);
        w_line(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "    py[co] = %s;", activation_expr(cx->l->act, "acc[co]", buf, sizeof buf));
    } else if (cx->l->act != ACT_NONE && cx->l->act != ACT_SOFTMAX) {
        w_line(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "    py[co] = %s;", activation_expr(cx->l->act, "py[co]", buf, sizeof buf));
    }
}

/* The vector kernels take the layer when its filters fill whole vectors. */
static bool fast_forward(const Layer *l)
{
    return simd_fits(l->u.conv.filters);
}

/* The input gradient of a stride-1 convolution is itself one: the output gradient, padded by
 * the kernel size less the forward padding, under the kernel flipped in both axes with its
 * channel axes swapped. That lets it share the forward's register-blocked gather. */
static bool fast_input_grad(const Layer *l)
{
    const ConvAttrs *a = &l->u.conv;
    return a->sh == 1 && a->sw == 1 && simd_fits(l->in.c) && l->kernel_size <= MAX_TRANSPOSED_KERNEL;
}

static void conv_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_in(p, "kernel", e->param[CONV_KERNEL]);
    if (e->layer->u.conv.use_bias)
        pass_in(p, "bias", e->param[CONV_BIAS]);
    pass_n(p);
}

static void conv_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    ConvCtx cx = {.l = l, .local_acc = a->filters <= MAX_LOCAL_ACC};
    if (!fast_forward(l))
        emit_tap_functions(w, l);
    conv_comment(w, l);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    conv_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    w_pass_begin(w, fname, &params);
    char bias[32] = "";
    if (a->use_bias)
        snprintf(bias, sizeof bias, ", bias: [%d]", a->filters);
    w_line(w, "/* out: [n][%d][%d][%d], in: [n][%d][%d][%d], kernel: [%d][%d][%d][%d]%s */",
           l->out.h, l->out.w, l->out.c, l->in.h, l->in.w, l->in.c, a->kh, a->kw, l->in.c, a->filters,
           bias);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    if (fast_forward(l)) {
        SimdConv c = {.g = g, .cout = a->filters, .x = "x", .y = "y", .k = "kernel",
                      .bias = a->use_bias ? "bias" : NULL, .act = l->act};
        emit_simd_gather(w, &c);
    } else {
        emit_window_loops(w, &g, forward_pixel, &cx);
    }
    if (l->act == ACT_SOFTMAX) {
        char rows[32];
        snprintf(rows, sizeof rows, "%d", l->out.h * l->out.w);
        emit_softmax_rows(w, "y", rows, a->filters);
    }
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void backward_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *vctx)
{
    const ConvCtx *cx = vctx;
    const ConvAttrs *a = &cx->l->u.conv;
    int cout = a->filters;
    w_line(w, "const float *restrict g = dz + (size_t)o * %d;", cout);
    if (a->use_bias && cx->with_dk) {
        w_line(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "    dbias[co] += g[co];");
    }
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++) {
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++) {
            long long xoff = window_tap_offset(g, kh, kw);
            long long koff = ((long long)kh * a->kw + kw) * g->in_c * cout;
            if (cx->with_dk)
                w_line(w, "%s_wtap(dkernel + %lld, x + at + %lld, g);", cx->l->name, koff, xoff);
            if (cx->with_din)
                w_line(w, "%s_xtap(dx + at + %lld, %s + %lld, g);", cx->l->name, xoff,
                       transposes_kernel(cx->l) ? "kt" : "kernel", koff);
        }
    }
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

/* One image's output gradient through an elementwise activation, and its bias gradient, in
 * one pass: the sums of the image's pixels stay in a local array (registers) and reach dbias
 * once. A softmax, needing whole rows, goes first on its own. */
static void activation_and_bias_grad(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    int cout = a->filters, pixels = l->out.h * l->out.w;
    bool elementwise = uses_out(e) && l->act != ACT_SOFTMAX;
    char buf[256];
    if (!elementwise)
        image_activation_grad(w, e);
    else
        w_line(w, "/* Through the %s, and the bias gradient, in one pass. */", activation_name(l->act));
    w_open_block(w);
    w_line(w, "float sb[%d] CNN_STACK_ALIGN;", cout);
    w_line(w, "for (int co = 0; co < %d; co++)", cout);
    w_line(w, "    sb[co] = 0.0f;");
    w_open(w, "for (int o = 0; o < %d; o++)", pixels);
    w_open(w, "for (int co = 0; co < %d; co++)", cout);
    if (elementwise) {
        w_line(w, "const int i = o * %d + co;", cout);
        w_line(w, "dz[i] *= %s;", activation_grad_expr(l->act, "y[i]", buf, sizeof buf));
        w_line(w, "sb[co] += dz[i];");
    } else {
        w_line(w, "sb[co] += dz[o * %d + co];", cout);
    }
    w_close(w);
    w_close(w);
    w_line(w, "for (int co = 0; co < %d; co++)", cout);
    w_line(w, "    dbias[co] += sb[co];");
    w_close(w);
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

static void conv_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    bool with_din = e->has_din;
    bool fast_dk = fast_forward(l), fast_din = with_din && fast_input_grad(l);
    ConvCtx cx = {.l = l, .with_dk = !fast_dk, .with_din = with_din && !fast_din};
    bool old_transposed = cx.with_din && transposes_kernel(l);
    int taps = a->kh * a->kw;
    SimdConv dk = {.g = g, .cout = a->filters, .x = "x", .y = "dz", .k = "dkernel", .act = ACT_NONE};
    if (cx.with_dk || cx.with_din)
        emit_backward_tap_functions(w, l, cx.with_dk, cx.with_din);
    if (fast_dk)
        emit_simd_kernel_grad_functions(w, l->name, &dk);
    conv_comment(w, l);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    conv_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* dout%s: [n][%d][%d][%d], %sin: [n][%d][%d][%d] */", uses_out(e) ? ", out" : "",
           l->out.h, l->out.w, l->out.c, with_din ? "din, " : "", l->in.h, l->in.w, l->in.c);
    if (cx.with_din) {
        w_line(w, "for (int i = 0; i < n * %lld; i++)", shape_size(l->in));
        w_line(w, "    din[i] = 0.0f;");
    }
    if (old_transposed) {
        w_line(w, "/* The kernel as [%d][%d][%d][%d], output channels before input channels. */", a->kh, a->kw,
               a->filters, l->in.c);
        w_line(w, "float kt[%lld] CNN_STACK_ALIGN;", l->kernel_size);
        w_line(w, "for (int t = 0; t < %d; t++)", taps);
        w_line(w, "    for (int ci = 0; ci < %d; ci++)", l->in.c);
        w_line(w, "        for (int co = 0; co < %d; co++)", a->filters);
        w_line(w, "            kt[(t * %d + co) * %d + ci] = kernel[(t * %d + ci) * %d + co];", a->filters, l->in.c,
               l->in.c, a->filters);
    }
    if (fast_din) {
        w_line(w, "/* The kernel flipped in both axes, as [%d][%d][%d][%d]: output channels before input channels. */",
               a->kh, a->kw, a->filters, l->in.c);
        w_line(w, "float kf[%lld] CNN_STACK_ALIGN;", l->kernel_size);
        w_line(w, "for (int t = 0; t < %d; t++)", taps);
        w_line(w, "    for (int ci = 0; ci < %d; ci++)", l->in.c);
        w_line(w, "        for (int co = 0; co < %d; co++)", a->filters);
        w_line(w, "            kf[(t * %d + co) * %d + ci] = kernel[(%d - t) * %d + ci * %d + co];", a->filters, l->in.c,
               taps - 1, l->in.c * a->filters, a->filters);
    }
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    if (with_din)
        w_line(w, "float *restrict dx = din + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict dz = dout + (size_t)b * %lld;", shape_size(l->out));
    /* Image by image, so that its output gradient is still in cache for the products. */
    if (uses_out(e))
        w_line(w, "const float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    if (fast_dk && a->use_bias)
        activation_and_bias_grad(w, e);
    else
        image_activation_grad(w, e);
    if (cx.with_dk || cx.with_din)
        emit_window_loops(w, &g, backward_pixel, &cx);
    if (fast_dk)
        emit_simd_kernel_grad_calls(w, l->name, &dk);
    if (fast_din) {
        /* Input pixel i gathers output pixel i + pad - k under tap k: a window with padding
         * k - 1 - pad over the output gradient. */
        Window gd = {.in_h = l->out.h, .in_w = l->out.w, .in_c = a->filters, .out_h = l->in.h, .out_w = l->in.w,
                     .kh = a->kh, .kw = a->kw, .sh = 1, .sw = 1,
                     .pad_top = a->kh - 1 - a->pad_top, .pad_left = a->kw - 1 - a->pad_left};
        SimdConv c = {.g = gd, .cout = l->in.c, .x = "dz", .y = "dx", .k = "kf", .act = ACT_NONE};
        w_line(w, "/* The input gradient, every pixel written once. */");
        emit_simd_gather(w, &c);
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
