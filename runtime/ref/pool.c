/*
 * ref/pool.c - the reference maxpool2d and avgpool2d forward and backward (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"
#include "ref_index.h"

#include <math.h>
#include <string.h>

void ref_pool2d_set_out(ref_pool2d *p)
{
    p->out_h = ref_window_out(p->in_h, p->ph, p->sh, p->pad_top, p->pad_bottom);
    p->out_w = ref_window_out(p->in_w, p->pw, p->sw, p->pad_left, p->pad_right);
}

/* The valid (unpadded) rows [*y0, *y1) and columns [*x0, *x1) of output cell (oy, ox)'s window. */
static void pool_window(const ref_pool2d *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    int top = oy * p->sh - p->pad_top, left = ox * p->sw - p->pad_left;
    *y0 = top < 0 ? 0 : top;
    *y1 = top + p->ph > p->in_h ? p->in_h : top + p->ph;
    *x0 = left < 0 ? 0 : left;
    *x1 = left + p->pw > p->in_w ? p->in_w : left + p->pw;
}

/* Index into x of the winning cell of output (b, oy, ox, ch), or -1 for a window with no valid
 * cell (which a well-formed layer never has). The strict > keeps the first maximum. */
static long max_cell(const ref_pool2d *p, const float *x, int b, int oy, int ox, int ch)
{
    int y0, y1, x0, x1;
    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
    long best = -1;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            size_t k = at4(p->in_h, p->in_w, p->c, b, iy, ix, ch);
            if (best < 0 || x[k] > x[best])
                best = (long)k;
        }
    return best;
}

void ref_maxpool2d_forward(const ref_pool2d *p, float *y, const float *x)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    long k = max_cell(p, x, b, oy, ox, ch);
                    y[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] = k < 0 ? 0.0f : x[k];
                }
}

void ref_maxpool2d_backward(const ref_pool2d *p, float *dx, const float *dy, const float *x)
{
    memset(dx, 0, sizeof *dx * (size_t)p->n * p->in_h * p->in_w * p->c);
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    long k = max_cell(p, x, b, oy, ox, ch);
                    if (k >= 0)
                        dx[k] += dy[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)];
                }
}

void ref_avgpool2d_forward(const ref_pool2d *p, float *y, const float *x)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    int y0, y1, x0, x1;
                    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                    double sum = 0.0;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            sum += x[at4(p->in_h, p->in_w, p->c, b, iy, ix, ch)];
                    int cells = (y1 - y0) * (x1 - x0);
                    y[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] =
                        cells > 0 ? (float)(sum / cells) : 0.0f;
                }
}

void ref_avgpool2d_backward(const ref_pool2d *p, float *dx, const float *dy)
{
    memset(dx, 0, sizeof *dx * (size_t)p->n * p->in_h * p->in_w * p->c);
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int ch = 0; ch < p->c; ch++) {
                    int y0, y1, x0, x1;
                    pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                    int cells = (y1 - y0) * (x1 - x0);
                    if (cells <= 0)
                        continue;
                    float share = dy[at4(p->out_h, p->out_w, p->c, b, oy, ox, ch)] / (float)cells;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            dx[at4(p->in_h, p->in_w, p->c, b, iy, ix, ch)] += share;
                }
}
