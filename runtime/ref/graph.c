/*
 * ref/graph.c - the reference add, concat and globalavgpool2d (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <string.h>

void ref_add_forward(size_t count, float *y, const float *a, const float *b)
{
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

void ref_add_backward(size_t count, float *da, float *db, const float *dy)
{
    for (size_t i = 0; i < count; i++) {
        if (da)
            da[i] = dy[i];
        if (db)
            db[i] = dy[i];
    }
}

void ref_concat_forward(size_t pixels, int ca, int cb, float *y, const float *a, const float *b)
{
    for (size_t p = 0; p < pixels; p++) {
        for (int c = 0; c < ca; c++)
            y[p * (size_t)(ca + cb) + (size_t)c] = a[p * (size_t)ca + (size_t)c];
        for (int c = 0; c < cb; c++)
            y[p * (size_t)(ca + cb) + (size_t)(ca + c)] = b[p * (size_t)cb + (size_t)c];
    }
}

void ref_concat_backward(size_t pixels, int ca, int cb, float *da, float *db, const float *dy)
{
    for (size_t p = 0; p < pixels; p++) {
        for (int c = 0; c < ca && da; c++)
            da[p * (size_t)ca + (size_t)c] = dy[p * (size_t)(ca + cb) + (size_t)c];
        for (int c = 0; c < cb && db; c++)
            db[p * (size_t)cb + (size_t)c] = dy[p * (size_t)(ca + cb) + (size_t)(ca + c)];
    }
}

void ref_globalavgpool2d_forward(int n, int h, int w, int c, float *y, const float *x)
{
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int p = 0; p < h * w; p++)
                sum += x[((size_t)b * h * w + (size_t)p) * c + (size_t)ch];
            y[(size_t)b * c + (size_t)ch] = (float)(sum / (h * w));
        }
}

void ref_globalavgpool2d_backward(int n, int h, int w, int c, float *dx, const float *dy)
{
    for (int b = 0; b < n; b++)
        for (int p = 0; p < h * w; p++)
            for (int ch = 0; ch < c; ch++)
                dx[((size_t)b * h * w + (size_t)p) * c + (size_t)ch] =
                    (float)((double)dy[(size_t)b * c + (size_t)ch] / (h * w));
}
