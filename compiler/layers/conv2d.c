/*
 * layers/conv2d.c - conv2d forward and backward, specialised to the layer's shapes.
 *
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
#include "emit/writer.h"

/* Above this many filters the accumulator lives in the output instead of on the stack. */
#define MAX_LOCAL_ACC 1024

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
    if (a->sh == a->sw)
        snprintf(stride, sizeof stride, "%d", a->sh);
    else
        snprintf(stride, sizeof stride, "%dx%d", a->sh, a->sw);
    w_line(w, "/* %s: %dx%d, stride %s, %s, %d -> %d, %s%s */", l->name, a->kh, a->kw, stride,
           padding_name(a->padding), l->in.c, a->filters, activation_name(a->act),
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
        w_line(w, "    py[co] = %s;", activation_expr(a->act, "acc[co]", buf, sizeof buf));
    } else if (a->act != ACT_NONE && a->act != ACT_SOFTMAX) {
        w_line(w, "for (int co = 0; co < %d; co++)", cout);
        w_line(w, "    py[co] = %s;", activation_expr(a->act, "py[co]", buf, sizeof buf));
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

static void conv_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    ConvCtx cx = {.l = l, .local_acc = a->filters <= MAX_LOCAL_ACC};
    (void)m;
    if (!fast_forward(l))
        emit_tap_functions(w, l);
    conv_comment(w, l);
    w_begin_function(w, "static void %s_forward(float *restrict out, const float *restrict in, const float *restrict kernel%s, int n)",
                     l->name, a->use_bias ? ", const float *restrict bias" : "");
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
                      .bias = a->use_bias ? "bias" : NULL, .act = a->act};
        emit_simd_gather(w, &c);
    } else {
        emit_window_loops(w, &g, forward_pixel, &cx);
    }
    if (a->act == ACT_SOFTMAX) {
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
    Activation act = e->layer->u.conv.act;
    return act != ACT_NONE && !e->grad_is_logits;
}

/* One image's output gradient dz through the activation, given its output y (nothing for
 * none, or where the loss already gave the gradient of the logits). */
static void image_activation_grad(Writer *w, const EmitLayer *e)
{
    char count[32];
    snprintf(count, sizeof count, "%lld", shape_size(e->layer->out));
    emit_activation_grad_inplace(w, e->layer->u.conv.act, e->grad_is_logits, "dz", "y", count,
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
    bool elementwise = uses_out(e) && a->act != ACT_SOFTMAX;
    char buf[256];
    if (!elementwise)
        image_activation_grad(w, e);
    else
        w_line(w, "/* Through the %s, and the bias gradient, in one pass. */", activation_name(a->act));
    w_open_block(w);
    w_line(w, "float sb[%d] CNN_STACK_ALIGN;", cout);
    w_line(w, "for (int co = 0; co < %d; co++)", cout);
    w_line(w, "    sb[co] = 0.0f;");
    w_open(w, "for (int o = 0; o < %d; o++)", pixels);
    w_open(w, "for (int co = 0; co < %d; co++)", cout);
    if (elementwise) {
        w_line(w, "const int i = o * %d + co;", cout);
        w_line(w, "dz[i] *= %s;", activation_grad_expr(a->act, "y[i]", buf, sizeof buf));
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

static void conv_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    const ConvAttrs *a = &l->u.conv;
    Window g = conv_window(l);
    bool with_din = e->din[0] != '\0';
    bool fast_dk = fast_forward(l), fast_din = with_din && fast_input_grad(l);
    ConvCtx cx = {.l = l, .with_dk = !fast_dk, .with_din = with_din && !fast_din};
    bool old_transposed = cx.with_din && transposes_kernel(l);
    int taps = a->kh * a->kw;
    (void)m;
    SimdConv dk = {.g = g, .cout = a->filters, .x = "x", .y = "dz", .k = "dkernel", .act = ACT_NONE};
    if (cx.with_dk || cx.with_din)
        emit_backward_tap_functions(w, l, cx.with_dk, cx.with_din);
    if (fast_dk)
        emit_simd_kernel_grad_functions(w, l->name, &dk);
    conv_comment(w, l);
    w_begin_function(w, "static void %s_backward(%sfloat *restrict dkernel%s, float *restrict dout%s, const float *restrict in%s, int n)",
                     l->name, with_din ? "float *restrict din, " : "", a->use_bias ? ", float *restrict dbias" : "",
                     uses_out(e) ? ", const float *restrict out" : "", with_din ? ", const float *restrict kernel" : "");
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

static void conv_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->layer->u.conv.use_bias)
        w_line(w, "%s_forward(%s, %s, %s, %s, n);", e->layer->name, e->out, e->in, e->kernel, e->bias);
    else
        w_line(w, "%s_forward(%s, %s, %s, n);", e->layer->name, e->out, e->in, e->kernel);
}

static void conv_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    char args[1024];
    int len = 0;
    (void)m;
    if (e->din[0] != '\0')
        len += snprintf(args + len, sizeof args - (size_t)len, "%s, ", e->din);
    len += snprintf(args + len, sizeof args - (size_t)len, "%s", e->dkernel);
    if (e->layer->u.conv.use_bias)
        len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->dbias);
    len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->dout);
    if (uses_out(e))
        len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->out);
    len += snprintf(args + len, sizeof args - (size_t)len, ", %s", e->in);
    if (e->din[0] != '\0')
        snprintf(args + len, sizeof args - (size_t)len, ", %s", e->kernel);
    w_line(w, "%s_backward(%s, n);", e->layer->name, args);
}

const EmitKind emit_conv2d_kind = {
    .forward = conv_forward,
    .backward = conv_backward,
    .forward_call = conv_forward_call,
    .backward_call = conv_backward_call,
};
