/*
 * layers/pool.c - maxpool2d and avgpool2d: Keras MaxPooling2D and AveragePooling2D.
 *
 *     maxpool2d(pool=2, stride=2, padding=valid);   avgpool2d(pool=3, stride=1, padding=same);
 *
 * Both walk the output pixels with the window unrolled, channels innermost. Max pooling keeps
 * the index of each maximum within the image in the workspace, so its backward is one
 * scatter. The index is an int32_t stored in a float's bytes with memcpy (exact for any image
 * size, unlike a float value, and free of aliasing questions); with same padding only the cells inside the image compete,
 * as Keras pads with -infinity. Average pooling divides by the number of cells inside the
 * image, which the border runs know at generation time.
 */
#include <stdlib.h>

#include "layers/layer.h"

/* ------------------------------------------------------------------ check */

static const ArgSpec pool_args[] = {
    {"pool", ARG_SIZE2, false},
    {"stride", ARG_SIZE2, false},
    {"padding", ARG_PADDING, false},
    {"name", ARG_NAME, false},
    {NULL, 0, false},
};

/* As in Keras, the stride of a pool defaults to its window. */
static void pool_resolve(Layer *L, const ArgValue *vals)
{
    const ArgValue *v;
    PoolAttrs *p = &L->u.pool;
    *p = (PoolAttrs){.ph = 2, .pw = 2, .padding = PAD_VALID};
    L->act = ACT_NONE;
    if ((v = arg_value(pool_args, vals, "pool")))
        p->ph = v->h, p->pw = v->w;
    p->sh = p->ph;
    p->sw = p->pw;
    if ((v = arg_value(pool_args, vals, "stride")))
        p->sh = v->h, p->sw = v->w;
    if ((v = arg_value(pool_args, vals, "padding")))
        p->padding = (Padding)v->e;
}

static bool pool_infer(Layer *L, Shape in)
{
    PoolAttrs *p = &L->u.pool;
    int pads[4];
    if (!need_rank(L, in, 3) || !infer_window(L, in, p->ph, p->pw, p->sh, p->sw, p->padding, &L->out, pads))
        return false;
    p->pad_top = pads[0], p->pad_bottom = pads[1], p->pad_left = pads[2], p->pad_right = pads[3];
    return true;
}

/* Max pooling keeps the position of each maximum for the backward pass. */
static bool maxpool_infer(Layer *L, Shape in)
{
    if (!pool_infer(L, in))
        return false;
    L->aux_size = shape_size(L->out);
    return true;
}

/* ------------------------------------------------------------------ describe */

static int pool_attrs(const Layer *L, LayerAttr out[MAX_LAYER_ATTRS])
{
    const PoolAttrs *a = &L->u.pool;
    out[0] = (LayerAttr){.name = "pool", .type = ATTR_SIZE2, .h = a->ph, .w = a->pw};
    out[1] = (LayerAttr){.name = "stride", .type = ATTR_SIZE2, .h = a->sh, .w = a->sw};
    out[2] = (LayerAttr){.name = "padding", .type = ATTR_PADDING, .i = a->padding,
                         .pads = {a->pad_top, a->pad_bottom, a->pad_left, a->pad_right}};
    return 3;
}

static void pool_runtime_row(const Layer *L, RuntimeRow *r)
{
    const PoolAttrs *a = &L->u.pool;
    *r = (RuntimeRow){.kh = a->ph, .kw = a->pw, .sh = a->sh, .sw = a->sw, .same = a->padding == PAD_SAME,
                      .pad_top = a->pad_top, .pad_left = a->pad_left, .pad_bottom = a->pad_bottom,
                      .pad_right = a->pad_right};
}

static void pool_constants(Writer *w, const Layer *L, const char *prefix)
{
    const PoolAttrs *a = &L->u.pool;
    w_line(w, "#define %s_POOL_H %d", prefix, a->ph);
    w_line(w, "#define %s_POOL_W %d", prefix, a->pw);
    w_line(w, "#define %s_STRIDE_H %d", prefix, a->sh);
    w_line(w, "#define %s_STRIDE_W %d", prefix, a->sw);
    w_line(w, "#define %s_PAD_TOP %d", prefix, a->pad_top);
    w_line(w, "#define %s_PAD_LEFT %d", prefix, a->pad_left);
}

/* ------------------------------------------------------------------ emit */

static Window pool_window(const Layer *l)
{
    const PoolAttrs *a = &l->u.pool;
    return (Window){
        .in_h = l->in.h, .in_w = l->in.w, .in_c = l->in.c, .out_h = l->out.h, .out_w = l->out.w,
        .kh = a->ph, .kw = a->pw, .sh = a->sh, .sw = a->sw,
        .pad_top = a->pad_top, .pad_left = a->pad_left,
    };
}

/* "at + c" or "at + 12 + c": channel c of tap `off` of the window at `at`. */
static const char *tap_at(char buf[48], long long off)
{
    if (off == 0)
        snprintf(buf, 48, "at + c");
    else
        snprintf(buf, 48, "at + %lld + c", off);
    return buf;
}

static void pool_comment(Writer *w, const Layer *l)
{
    const PoolAttrs *a = &l->u.pool;
    char stride[32];
    format_stride(stride, sizeof stride, a->sh, a->sw);
    w_line(w, "/* %s: %dx%d, stride %s, %s, %dx%dx%d -> %dx%dx%d */", l->name, a->ph, a->pw, stride,
           padding_name(a->padding), l->in.h, l->in.w, l->in.c, l->out.h, l->out.w, l->out.c);
}

/* ------------------------------------------------------------------ maxpool2d */

/* The training pass records where each maximum was (`where`, for backward); the predictor's
 * does not. */
static void max_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    const bool keep = *(const bool *)ctx;
    bool first = true;
    w_line(w, "float *restrict py = y + (size_t)o * %d;", g->in_c);
    if (keep)
        w_line(w, "float *restrict pa = arg + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++) {
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++) {
            char at[48];
            tap_at(at, window_tap_offset(g, kh, kw));
            if (first) {
                w_line(w, "float best = x[%s];", at);
                if (keep)
                    w_line(w, "int32_t where = %s;", at);
                first = false;
            } else if (keep) {
                /* A strict comparison keeps the first maximum, as TensorFlow does. */
                w_line(w, "if (x[%s] > best) { best = x[%s]; where = %s; }", at, at, at);
            } else {
                w_line(w, "if (x[%s] > best) best = x[%s];", at, at);
            }
        }
    }
    /* A window wholly in the padding has no maximum: 0, and no gradient flows back. */
    if (first) {
        w_line(w, "float best = 0.0f;");
        if (keep)
            w_line(w, "int32_t where = -1;");
    }
    w_line(w, "py[c] = best;");
    if (keep)
        w_line(w, "memcpy(&pa[c], &where, sizeof where);");
    w_close(w);
}

static void maxpool_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    if (!e->inference)
        pass_out(p, "argmax", e->aux);
    pass_in(p, "in", e->in);
    pass_n(p);
}

static void maxpool_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    bool keep = !e->inference;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    maxpool_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    pool_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* out%s: [n][%d][%d][%d], in: [n][%d][%d][%d] */", keep ? ", argmax" : "", l->out.h, l->out.w,
           l->out.c, l->in.h, l->in.w, l->in.c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    if (keep)
        w_line(w, "float *restrict arg = argmax + (size_t)b * %lld;", shape_size(l->out));
    emit_window_loops(w, &g, max_pixel, &keep);
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* Windows that tile the input without overlap or padding: every input cell belongs to at
 * most one window, so backward can write each cell once (the gradient where it held the
 * maximum, else zero) instead of clearing the image and scattering into it. */
static bool tiles_input(const Layer *l)
{
    const PoolAttrs *a = &l->u.pool;
    return a->sh == a->ph && a->sw == a->pw && a->pad_top == 0 && a->pad_left == 0;
}

static void tile_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    (void)ctx;
    w_line(w, "const float *restrict g = dy + (size_t)o * %d;", g->in_c);
    w_line(w, "const float *restrict pa = arg + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    w_line(w, "int32_t where;");
    w_line(w, "memcpy(&where, &pa[c], sizeof where);");
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++) {
            char at[48];
            tap_at(at, window_tap_offset(g, kh, kw));
            w_line(w, "dx[%s] = where == %s ? g[c] : 0.0f;", at, at);
        }
    w_close(w);
}

static void maxpool_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_in(p, "argmax", e->aux);
    pass_n(p);
}

static void maxpool_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    maxpool_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    pool_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* din: [n][%d][%d][%d], dout, argmax: [n][%d][%d][%d] */", l->in.h, l->in.w, l->in.c, l->out.h,
           l->out.w, l->out.c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "float *restrict dx = din + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "const float *restrict dy = dout + (size_t)b * %lld;", shape_size(l->out));
    w_line(w, "const float *restrict arg = argmax + (size_t)b * %lld;", shape_size(l->out));
    if (tiles_input(l)) {
        Window g = pool_window(l);
        int rows = l->out.h * g.kh, cols = l->out.w * g.kw, c = l->in.c;
        w_line(w, "/* Every cell under a window written once; the cells no window covers cleared. */");
        emit_window_loops(w, &g, tile_pixel, NULL);
        if (cols < l->in.w) {
            w_line(w, "for (int r = 0; r < %d; r++)", rows);
            w_line(w, "    memset(dx + (size_t)(r * %d + %d) * %d, 0, sizeof(float) * %d);", l->in.w, cols, c,
                   (l->in.w - cols) * c);
        }
        if (rows < l->in.h)
            w_line(w, "memset(dx + %lld, 0, sizeof(float) * %lld);", (long long)rows * l->in.w * c,
                   (long long)(l->in.h - rows) * l->in.w * c);
    } else {
        /* Cleared image by image, so that the scatter finds the image still in cache. */
        w_line(w, "memset(dx, 0, sizeof(float) * %lld);", shape_size(l->in));
        w_open(w, "for (int i = 0; i < %lld; i++)", shape_size(l->out));
        w_line(w, "int32_t where;");
        w_line(w, "memcpy(&where, &arg[i], sizeof where);");
        /* A window wholly in the padding has no maximum and passes no gradient back. */
        w_line(w, "if (where >= 0)");
        w_line(w, "    dx[where] += dy[i];");
        w_close(w);
    }
    w_close(w);
    w_close(w);
    w_blank(w);
}

/* MaxPool and AveragePool read NCHW; Keras averages over the cells inside the image only. */
static void pool_onnx(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io)
{
    const PoolAttrs *a = &L->u.pool;
    bool avg = L->kind == LAYER_AVGPOOL2D;
    OnnxNode *n = ow_node(w, avg ? avgpool2d_ops.onnx_op : maxpool2d_ops.onnx_op, L->name,
                          (const char *[]){io->in, NULL}, io->out);
    ow_window(n, a->ph, a->pw, a->sh, a->sw, a->padding);
    if (avg)
        ow_attr_int(n, "count_include_pad", 0);
}

const LayerOps maxpool2d_ops = {
    .name = "maxpool2d",
    .keras_class = "MaxPooling2D",
    .args = pool_args,
    .resolve = pool_resolve,
    .infer = maxpool_infer,
    .attrs = pool_attrs,
    .runtime_row = pool_runtime_row,
    .constants = pool_constants,
    .emit_forward = maxpool_forward,
    .emit_backward = maxpool_backward,
    .forward_params = maxpool_forward_params,
    .backward_params = maxpool_backward_params,
    .onnx_op = "MaxPool",
    .onnx_export = pool_onnx,
    .onnx_layout = ONNX_NCHW,
};

/* ------------------------------------------------------------------ avgpool2d */

static int cells(const WindowRun *rr, const WindowRun *cr)
{
    int n = (rr->k_hi - rr->k_lo + 1) * (cr->k_hi - cr->k_lo + 1);
    return n > 0 ? n : 0;
}

static void avg_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    int count = cells(rr, cr);
    char div[48], at[48];
    (void)ctx;
    w_float_literal(div, sizeof div, (double)(count > 0 ? count : 1));
    w_line(w, "float *restrict py = y + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    w_line(w, "float sum = 0.0f;");
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++)
            w_line(w, "sum += x[%s];", tap_at(at, window_tap_offset(g, kh, kw)));
    w_line(w, "py[c] = sum / %s;", div);
    w_close(w);
}

static void avg_pixel_backward(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    int count = cells(rr, cr);
    char div[48], at[48];
    (void)ctx;
    w_float_literal(div, sizeof div, (double)(count > 0 ? count : 1));
    w_line(w, "const float *restrict g = dy + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    w_line(w, "const float share = g[c] / %s;", div);
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++)
            w_line(w, "dx[%s] += share;", tap_at(at, window_tap_offset(g, kh, kw)));
    if (count == 0)
        w_line(w, "(void)share;");
    w_close(w);
}

static void avgpool_forward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "out", e->out);
    pass_in(p, "in", e->in);
    pass_n(p);
}

static void avgpool_forward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    avgpool_forward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_forward", l->name);
    pool_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* out: [n][%d][%d][%d], in: [n][%d][%d][%d] */", l->out.h, l->out.w, l->out.c, l->in.h, l->in.w,
           l->in.c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    emit_window_loops(w, &g, avg_pixel, NULL);
    w_close(w);
    w_close(w);
    w_blank(w);
}

static void avgpool_backward_params(const EmitLayer *e, PassParams *p)
{
    pass_out(p, "din", e->din);
    pass_in(p, "dout", e->dout);
    pass_n(p);
}

static void avgpool_backward(Writer *w, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    PassParams params = {0};
    char fname[EMIT_NAME_MAX + 16];
    avgpool_backward_params(e, &params);
    snprintf(fname, sizeof fname, "%s_backward", l->name);
    pool_comment(w, l);
    w_pass_begin(w, fname, &params);
    w_line(w, "/* din: [n][%d][%d][%d], dout: [n][%d][%d][%d] */", l->in.h, l->in.w, l->in.c, l->out.h, l->out.w,
           l->out.c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "float *restrict dx = din + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "const float *restrict dy = dout + (size_t)b * %lld;", shape_size(l->out));
    /* Cleared image by image, so that the scatter finds the image still in cache. */
    w_line(w, "memset(dx, 0, sizeof(float) * %lld);", shape_size(l->in));
    emit_window_loops(w, &g, avg_pixel_backward, NULL);
    w_close(w);
    w_close(w);
    w_blank(w);
}

const LayerOps avgpool2d_ops = {
    .name = "avgpool2d",
    .keras_class = "AveragePooling2D",
    .args = pool_args,
    .resolve = pool_resolve,
    .infer = pool_infer,
    .attrs = pool_attrs,
    .runtime_row = pool_runtime_row,
    .constants = pool_constants,
    .emit_forward = avgpool_forward,
    .emit_backward = avgpool_backward,
    .forward_params = avgpool_forward_params,
    .backward_params = avgpool_backward_params,
    .onnx_op = "AveragePool",
    .onnx_export = pool_onnx,
    .onnx_layout = ONNX_NCHW,
};
