/*
 * emit/window.c - splits the outputs of a sliding window into runs with the same valid taps.
 *
 * With same padding the first and last few output rows see only part of the kernel. Rather
 * than testing bounds in the inner loop, the generated code has one loop per run, each with
 * the taps it covers unrolled and every bound a literal.
 */
#include <stdlib.h>

#include "emit/writer.h"

int window_runs(int in, int out, int k, int s, int pad, WindowRun *runs)
{
    int n = 0;
    for (int o = 0; o < out; o++) {
        int start = o * s - pad;
        int lo = start < 0 ? -start : 0;
        int hi = start + k > in ? in - start - 1 : k - 1;
        if (n > 0 && runs[n - 1].k_lo == lo && runs[n - 1].k_hi == hi && runs[n - 1].o_hi == o - 1) {
            runs[n - 1].o_hi = o;
        } else {
            runs[n] = (WindowRun){.o_lo = o, .o_hi = o, .k_lo = lo, .k_hi = hi};
            n++;
        }
    }
    return n;
}

long long window_tap_offset(const Window *g, int kh, int kw)
{
    return ((long long)kh * g->in_w + kw) * g->in_c;
}

void format_stride(char *buf, size_t size, int sh, int sw)
{
    if (sh == sw)
        snprintf(buf, size, "%d", sh);
    else
        snprintf(buf, size, "%dx%d", sh, sw);
}

void window_start_expr(char *buf, size_t size, const char *var, int stride, int pad)
{
    if (stride == 1 && pad == 0)
        snprintf(buf, size, "%s", var);
    else if (pad == 0)
        snprintf(buf, size, "%s * %d", var, stride);
    else if (stride == 1)
        snprintf(buf, size, "(%s - %d)", var, pad);
    else
        snprintf(buf, size, "(%s * %d - %d)", var, stride, pad);
}

/* `at`, the input index of the window's top-left tap, and `o`, the output pixel's index, from
 * oh and ow; row and col are window_start_expr's first input row and column. */
static void window_indices(Writer *w, const Window *g, const char *row, const char *col)
{
    if (g->in_c == 1)
        w_line(w, "const int at = %s * %d + %s;", row, g->in_w, col);
    else
        w_line(w, "const int at = (%s * %d + %s) * %d;", row, g->in_w, col, g->in_c);
    w_line(w, "const int o = oh * %d + ow;", g->out_w);
}

void emit_window_loops(Writer *w, const Window *g, WindowBody body, void *ctx)
{
    WindowRun *rows = xcalloc((size_t)g->out_h, sizeof *rows);
    WindowRun *cols = xcalloc((size_t)g->out_w, sizeof *cols);
    int nrows = window_runs(g->in_h, g->out_h, g->kh, g->sh, g->pad_top, rows);
    int ncols = window_runs(g->in_w, g->out_w, g->kw, g->sw, g->pad_left, cols);
    char row[64], col[64];
    window_start_expr(row, sizeof row, "oh", g->sh, g->pad_top);
    window_start_expr(col, sizeof col, "ow", g->sw, g->pad_left);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const WindowRun *rr = &rows[r], *cr = &cols[c];
            w_line(w, "/* rows %d..%d, columns %d..%d: window rows %d..%d, columns %d..%d */",
                   rr->o_lo, rr->o_hi, cr->o_lo, cr->o_hi, rr->k_lo, rr->k_hi, cr->k_lo, cr->k_hi);
            w_open_range(w, "oh", rr->o_lo, rr->o_hi);
            w_open_range(w, "ow", cr->o_lo, cr->o_hi);
            window_indices(w, g, row, col);
            body(w, g, rr, cr, ctx);
            w_close(w);
            w_close(w);
        }
    }
    free(rows);
    free(cols);
}

/* Writes the blocks of one run of rows and columns. Blocks go along the rows unless the run is
 * narrower than it is tall and fewer, fuller blocks fit down the columns: the one or two
 * border columns of a padded convolution would otherwise be blocks of a single pixel. */
static void run_blocks(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, int block,
                       const char *row, const char *col, WindowBlockBody body, void *ctx)
{
    int h = rr->o_hi - rr->o_lo + 1, wd = cr->o_hi - cr->o_lo + 1;
    int along_rows = h * ((wd + block - 1) / block), down_cols = wd * ((h + block - 1) / block);
    bool down = down_cols < along_rows;
    const WindowRun *outer = down ? cr : rr, *inner = down ? rr : cr;
    const char *ov = down ? "ow" : "oh", *iv = down ? "oh" : "ow";
    int len = inner->o_hi - inner->o_lo + 1, full = len / block * block, rest = len - full;
    WindowStep step = down ? (WindowStep){.in = (long long)g->sh * g->in_w * g->in_c, .out = g->out_w}
                           : (WindowStep){.in = (long long)g->sw * g->in_c, .out = 1};

    w_line(w, "/* rows %d..%d, columns %d..%d: window rows %d..%d, columns %d..%d%s */", rr->o_lo, rr->o_hi,
           cr->o_lo, cr->o_hi, rr->k_lo, rr->k_hi, cr->k_lo, cr->k_hi, down ? "; blocks down the columns" : "");
    w_open_range(w, ov, outer->o_lo, outer->o_hi);
    /* Full blocks in a loop (or once), then the shorter block that ends the run. */
    for (int part = 0; part < 2; part++) {
        int npix = part == 0 ? block : rest;
        if (npix == 0 || (part == 0 && full == 0))
            continue;
        if (part == 0 && full > block)
            w_open(w, "for (int %s = %d; %s < %d; %s += %d)", iv, inner->o_lo, iv, inner->o_lo + full, iv, block);
        else {
            w_open_block(w);
            w_line(w, "const int %s = %d;", iv, inner->o_lo + (part == 0 ? 0 : full));
        }
        window_indices(w, g, row, col);
        body(w, g, rr, cr, npix, step, ctx);
        w_close(w);
    }
    w_close(w);
}

void emit_window_blocks(Writer *w, const Window *g, int block, WindowBlockBody body, void *ctx)
{
    WindowRun *rows = xcalloc((size_t)g->out_h, sizeof *rows);
    WindowRun *cols = xcalloc((size_t)g->out_w, sizeof *cols);
    int nrows = window_runs(g->in_h, g->out_h, g->kh, g->sh, g->pad_top, rows);
    int ncols = window_runs(g->in_w, g->out_w, g->kw, g->sw, g->pad_left, cols);
    char row[64], col[64];
    window_start_expr(row, sizeof row, "oh", g->sh, g->pad_top);
    window_start_expr(col, sizeof col, "ow", g->sw, g->pad_left);
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            run_blocks(w, g, &rows[r], &cols[c], block, row, col, body, ctx);
    free(rows);
    free(cols);
}
