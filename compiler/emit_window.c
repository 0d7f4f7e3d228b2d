/*
 * emit_window.c - splits the outputs of a sliding window into runs with the same valid taps.
 *
 * With same padding the first and last few output rows see only part of the kernel. Rather
 * than testing bounds in the inner loop, the generated code has one loop per run, each with
 * the taps it covers unrolled and every bound a literal.
 */
#include <stdlib.h>

#include "emit_writer.h"

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

/* "oh", "oh * 2", "(oh - 1)" or "(oh * 2 - 1)": the first input row or column of a window. */
static void start_expr(char *buf, size_t size, const char *var, int stride, int pad)
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

void emit_window_loops(Writer *w, const Window *g, WindowBody body, void *ctx)
{
    WindowRun *rows = xcalloc((size_t)g->out_h, sizeof *rows);
    WindowRun *cols = xcalloc((size_t)g->out_w, sizeof *cols);
    int nrows = window_runs(g->in_h, g->out_h, g->kh, g->sh, g->pad_top, rows);
    int ncols = window_runs(g->in_w, g->out_w, g->kw, g->sw, g->pad_left, cols);
    char row[64], col[64];
    start_expr(row, sizeof row, "oh", g->sh, g->pad_top);
    start_expr(col, sizeof col, "ow", g->sw, g->pad_left);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const WindowRun *rr = &rows[r], *cr = &cols[c];
            w_line(w, "/* rows %d..%d, columns %d..%d: window rows %d..%d, columns %d..%d */",
                   rr->o_lo, rr->o_hi, cr->o_lo, cr->o_hi, rr->k_lo, rr->k_hi, cr->k_lo, cr->k_hi);
            w_open(w, "for (int oh = %d; oh < %d; oh++)", rr->o_lo, rr->o_hi + 1);
            w_open(w, "for (int ow = %d; ow < %d; ow++)", cr->o_lo, cr->o_hi + 1);
            if (g->in_c == 1)
                w_line(w, "const int at = %s * %d + %s;", row, g->in_w, col);
            else
                w_line(w, "const int at = (%s * %d + %s) * %d;", row, g->in_w, col, g->in_c);
            w_line(w, "const int o = oh * %d + ow;", g->out_w);
            body(w, g, rr, cr, ctx);
            w_close(w);
            w_close(w);
        }
    }
    free(rows);
    free(cols);
}

void emit_window_blocks(Writer *w, const Window *g, int block, WindowBlockBody body, void *ctx)
{
    WindowRun *rows = xcalloc((size_t)g->out_h, sizeof *rows);
    WindowRun *cols = xcalloc((size_t)g->out_w, sizeof *cols);
    int nrows = window_runs(g->in_h, g->out_h, g->kh, g->sh, g->pad_top, rows);
    int ncols = window_runs(g->in_w, g->out_w, g->kw, g->sw, g->pad_left, cols);
    char row[64], col[64];
    start_expr(row, sizeof row, "oh", g->sh, g->pad_top);
    start_expr(col, sizeof col, "ow", g->sw, g->pad_left);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const WindowRun *rr = &rows[r], *cr = &cols[c];
            int len = cr->o_hi - cr->o_lo + 1, full = len / block * block, rest = len - full;
            w_line(w, "/* rows %d..%d, columns %d..%d: window rows %d..%d, columns %d..%d */",
                   rr->o_lo, rr->o_hi, cr->o_lo, cr->o_hi, rr->k_lo, rr->k_hi, cr->k_lo, cr->k_hi);
            w_open(w, "for (int oh = %d; oh < %d; oh++)", rr->o_lo, rr->o_hi + 1);
            /* Full blocks in a loop (or once), then the shorter block that ends the run. */
            for (int part = 0; part < 2; part++) {
                int npix = part == 0 ? block : rest;
                if (npix == 0 || (part == 0 && full == 0))
                    continue;
                if (part == 0 && full > block)
                    w_open(w, "for (int ow = %d; ow < %d; ow += %d)", cr->o_lo, cr->o_lo + full, block);
                else {
                    w_open_block(w);
                    w_line(w, "const int ow = %d;", cr->o_lo + (part == 0 ? 0 : full));
                }
                if (g->in_c == 1)
                    w_line(w, "const int at = %s * %d + %s;", row, g->in_w, col);
                else
                    w_line(w, "const int at = (%s * %d + %s) * %d;", row, g->in_w, col, g->in_c);
                w_line(w, "const int o = oh * %d + ow;", g->out_w);
                body(w, g, rr, cr, npix, ctx);
                w_close(w);
            }
            w_close(w);
        }
    }
    free(rows);
    free(cols);
}
