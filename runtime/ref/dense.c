/*
 * ref/dense.c - the reference dense forward and backward (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

void ref_dense_forward(int n, int in, int out, float *y, const float *x, const float *kernel,
                       const float *bias)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < out; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int i = 0; i < in; i++)
                sum += (double)x[(size_t)b * in + i] * kernel[(size_t)i * out + o];
            y[(size_t)b * out + o] = (float)sum;
        }
}

void ref_dense_backward(int n, int in, int out, float *dx, float *dkernel, float *dbias,
                        const float *dy, const float *x, const float *kernel)
{
    if (dbias)
        for (int o = 0; o < out; o++) {
            double sum = 0.0;
            for (int b = 0; b < n; b++)
                sum += dy[(size_t)b * out + o];
            dbias[o] = (float)sum;
        }
    if (dkernel)
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) {
                double sum = 0.0;
                for (int b = 0; b < n; b++)
                    sum += (double)x[(size_t)b * in + i] * dy[(size_t)b * out + o];
                dkernel[(size_t)i * out + o] = (float)sum;
            }
    if (dx)
        for (int b = 0; b < n; b++)
            for (int i = 0; i < in; i++) {
                double sum = 0.0;
                for (int o = 0; o < out; o++)
                    sum += (double)dy[(size_t)b * out + o] * kernel[(size_t)i * out + o];
                dx[(size_t)b * in + i] = (float)sum;
            }
}
