/*
 * ref/conv2d.c - the reference conv2d forward and backward (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"
#include "ref_index.h"

#include <math.h>
#include <string.h>

void ref_conv2d_set_out(ref_conv2d *p)
{
    p->out_h = ref_window_out(p->in_h, p->kh, p->sh, p->pad_top, p->pad_bottom);
    p->out_w = ref_window_out(p->in_w, p->kw, p->sw, p->pad_left, p->pad_right);
}

/* The kernel weight that joins input channel ci to output channel co at window cell (i, j). */
static size_t kernel_at(const ref_conv2d *p, int i, int j, int ci, int co)
{
    return (((size_t)i * p->kw + j) * p->in_c + ci) * p->out_c + co;
}

void ref_conv2d_forward(const ref_conv2d *p, float *y, const float *x, const float *kernel,
                        const float *bias)
{
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++)
                for (int co = 0; co < p->out_c; co++) {
                    double sum = p->use_bias && bias ? bias[co] : 0.0;
                    for (int i = 0; i < p->kh; i++) {
                        int iy = oy * p->sh - p->pad_top + i;
                        if (iy < 0 || iy >= p->in_h)
                            continue;
                        for (int j = 0; j < p->kw; j++) {
                            int ix = ox * p->sw - p->pad_left + j;
                            if (ix < 0 || ix >= p->in_w)
                                continue;
                            for (int ci = 0; ci < p->in_c; ci++)
                                sum += (double)x[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)] *
                                       kernel[kernel_at(p, i, j, ci, co)];
                        }
                    }
                    y[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] = (float)sum;
                }
}

/* Each gradient value is computed as one complete sum in double, so that nothing is
 * accumulated into the outputs: dbias and dkernel sum over every image and output cell, and
 * dx walks, for each input cell, the output cells whose windows cover it. */
void ref_conv2d_backward(const ref_conv2d *p, float *dx, float *dkernel, float *dbias,
                         const float *dy, const float *x, const float *kernel)
{
    if (dbias)
        for (int co = 0; co < p->out_c; co++) {
            double sum = 0.0;
            for (int b = 0; b < p->n; b++)
                for (int oy = 0; oy < p->out_h; oy++)
                    for (int ox = 0; ox < p->out_w; ox++)
                        sum += dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)];
            dbias[co] = (float)sum;
        }

    if (dkernel)
        for (int i = 0; i < p->kh; i++)
            for (int j = 0; j < p->kw; j++)
                for (int ci = 0; ci < p->in_c; ci++)
                    for (int co = 0; co < p->out_c; co++) {
                        double sum = 0.0;
                        for (int b = 0; b < p->n; b++)
                            for (int oy = 0; oy < p->out_h; oy++) {
                                int iy = oy * p->sh - p->pad_top + i;
                                if (iy < 0 || iy >= p->in_h)
                                    continue;
                                for (int ox = 0; ox < p->out_w; ox++) {
                                    int ix = ox * p->sw - p->pad_left + j;
                                    if (ix < 0 || ix >= p->in_w)
                                        continue;
                                    sum += (double)dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] *
                                           x[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)];
                                }
                            }
                        dkernel[kernel_at(p, i, j, ci, co)] = (float)sum;
                    }

    if (dx)
        for (int b = 0; b < p->n; b++)
            for (int iy = 0; iy < p->in_h; iy++)
                for (int ix = 0; ix < p->in_w; ix++)
                    for (int ci = 0; ci < p->in_c; ci++) {
                        double sum = 0.0;
                        /* Output cell (oy, ox) sees this input through window cell
                         * i = iy + pad_top - oy * sh, which must lie in [0, kh). */
                        for (int oy = 0; oy < p->out_h; oy++) {
                            int i = iy + p->pad_top - oy * p->sh;
                            if (i < 0 || i >= p->kh)
                                continue;
                            for (int ox = 0; ox < p->out_w; ox++) {
                                int j = ix + p->pad_left - ox * p->sw;
                                if (j < 0 || j >= p->kw)
                                    continue;
                                for (int co = 0; co < p->out_c; co++)
                                    sum += (double)dy[at4(p->out_h, p->out_w, p->out_c, b, oy, ox, co)] *
                                           kernel[kernel_at(p, i, j, ci, co)];
                            }
                        }
                        dx[at4(p->in_h, p->in_w, p->in_c, b, iy, ix, ci)] = (float)sum;
                    }
}
