/*
 * layers/pool.c - maxpool2d and avgpool2d, forward and backward.
 *
 * Both walk the output pixels with the window unrolled, channels innermost. Max pooling keeps
 * the index of each maximum within the image in the workspace, so its backward is one
 * scatter. The index is an int32_t stored in a float's bytes with memcpy (exact for any image
 * size, unlike a float value, and free of aliasing questions); with same padding only the cells inside the image compete,
 * as Keras pads with -infinity. Average pooling divides by the number of cells inside the
 * image, which the border runs know at generation time.
 */
#include "emit/writer.h"

static Window pool_window(const Layer *l)
{
    const PoolAttrs *a = &l->u.pool;
    return (Window){
        .in_h = l->in.h, .in_w = l->in.w, .in_c = l->in.c, .out_h = l->out.h, .out_w = l->out.w,
        .kh = a->ph, .kw = a->pw, .sh = a->sh, .sw = a->sw,
        .pad_top = a->pad_top, .pad_left = a->pad_left,
    };
}

static void pool_comment(Writer *w, const Layer *l)
{
    const PoolAttrs *a = &l->u.pool;
    char stride[32];
    if (a->sh == a->sw)
        snprintf(stride, sizeof stride, "%d", a->sh);
    else
        snprintf(stride, sizeof stride, "%dx%d", a->sh, a->sw);
    w_line(w, "/* %s: %dx%d, stride %s, %s, %dx%dx%d -> %dx%dx%d */", l->name, a->ph, a->pw, stride,
           padding_name(a->padding), l->in.h, l->in.w, l->in.c, l->out.h, l->out.w, l->out.c);
}

/* ------------------------------------------------------------------ maxpool2d */

static void max_pixel(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    bool first = true;
    (void)ctx;
    w_line(w, "float *restrict py = y + (size_t)o * %d;", g->in_c);
    w_line(w, "float *restrict pa = arg + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++) {
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++) {
            long long off = window_tap_offset(g, kh, kw);
            if (first) {
                w_line(w, "float best = x[at + %lld + c];", off);
                w_line(w, "int32_t where = at + %lld + c;", off);
                first = false;
            } else {
                /* A strict comparison keeps the first maximum, as TensorFlow does. */
                w_line(w, "if (x[at + %lld + c] > best) { best = x[at + %lld + c]; where = at + %lld + c; }", off, off, off);
            }
        }
    }
    if (first) {
        w_line(w, "float best = 0.0f;");
        w_line(w, "int32_t where = -1;");
    }
    w_line(w, "py[c] = best;");
    w_line(w, "memcpy(&pa[c], &where, sizeof where);");
    w_close(w);
}

static void maxpool_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    (void)m;
    pool_comment(w, l);
    w_begin_function(w, "static void %s_forward(float *restrict out, float *restrict argmax, const float *restrict in, int n)", l->name);
    w_line(w, "/* out, argmax: [n][%d][%d][%d], in: [n][%d][%d][%d] */", l->out.h, l->out.w, l->out.c, l->in.h,
           l->in.w, l->in.c);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %lld;", shape_size(l->out));
    w_line(w, "float *restrict arg = argmax + (size_t)b * %lld;", shape_size(l->out));
    emit_window_loops(w, &g, max_pixel, NULL);
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
            long long off = window_tap_offset(g, kh, kw);
            w_line(w, "dx[at + %lld + c] = where == at + %lld + c ? g[c] : 0.0f;", off, off);
        }
    w_close(w);
}

static void maxpool_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    (void)m;
    if (e->din[0] == '\0')
        return;
    pool_comment(w, l);
    w_begin_function(w, "static void %s_backward(float *restrict din, const float *restrict dout, const float *restrict argmax, int n)", l->name);
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

static void maxpool_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    w_line(w, "%s_forward(%s, %s, %s, n);", e->layer->name, e->out, e->aux, e->in);
}

static void maxpool_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->din[0] != '\0')
        w_line(w, "%s_backward(%s, %s, %s, n);", e->layer->name, e->din, e->dout, e->aux);
}

const EmitKind emit_maxpool2d_kind = {
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .forward_call = maxpool_forward_call,
    .backward_call = maxpool_backward_call,
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
    char div[48];
    (void)ctx;
    w_float_literal(div, sizeof div, (double)(count > 0 ? count : 1));
    w_line(w, "float *restrict py = y + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    w_line(w, "float sum = 0.0f;");
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++)
            w_line(w, "sum += x[at + %lld + c];", window_tap_offset(g, kh, kw));
    w_line(w, "py[c] = sum / %s;", div);
    w_close(w);
}

static void avg_pixel_backward(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, void *ctx)
{
    int count = cells(rr, cr);
    char div[48];
    (void)ctx;
    w_float_literal(div, sizeof div, (double)(count > 0 ? count : 1));
    w_line(w, "const float *restrict g = dy + (size_t)o * %d;", g->in_c);
    w_open(w, "for (int c = 0; c < %d; c++)", g->in_c);
    w_line(w, "const float share = g[c] / %s;", div);
    for (int kh = rr->k_lo; kh <= rr->k_hi; kh++)
        for (int kw = cr->k_lo; kw <= cr->k_hi; kw++)
            w_line(w, "dx[at + %lld + c] += share;", window_tap_offset(g, kh, kw));
    if (count == 0)
        w_line(w, "(void)share;");
    w_close(w);
}

static void avgpool_forward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    (void)m;
    pool_comment(w, l);
    w_begin_function(w, "static void %s_forward(float *restrict out, const float *restrict in, int n)", l->name);
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

static void avgpool_backward(Writer *w, const Model *m, const EmitLayer *e)
{
    const Layer *l = e->layer;
    Window g = pool_window(l);
    (void)m;
    if (e->din[0] == '\0')
        return;
    pool_comment(w, l);
    w_begin_function(w, "static void %s_backward(float *restrict din, const float *restrict dout, int n)", l->name);
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

static void avgpool_forward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    w_line(w, "%s_forward(%s, %s, n);", e->layer->name, e->out, e->in);
}

static void avgpool_backward_call(Writer *w, const Model *m, const EmitLayer *e)
{
    (void)m;
    if (e->din[0] != '\0')
        w_line(w, "%s_backward(%s, %s, n);", e->layer->name, e->din, e->dout);
}

const EmitKind emit_avgpool2d_kind = {
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .forward_call = avgpool_forward_call,
    .backward_call = avgpool_backward_call,
};
