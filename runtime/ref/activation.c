/*
 * ref/activation.c - the reference relu, sigmoid, tanh and softmax forward and backward (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

/* Softmax of one row, shifted by its maximum so that exp never overflows. */
static void softmax_row(int cols, float *y, const float *x)
{
    double max = x[0], sum = 0.0;
    for (int j = 1; j < cols; j++)
        if (x[j] > max)
            max = x[j];
    for (int j = 0; j < cols; j++)
        sum += exp((double)x[j] - max);
    for (int j = 0; j < cols; j++)
        y[j] = (float)(exp((double)x[j] - max) / sum);
}

void ref_activation_forward(ref_activation act, int rows, int cols, float *y, const float *x)
{
    size_t count = (size_t)rows * cols;
    switch (act) {
    case REF_ACT_NONE:
        memmove(y, x, sizeof *y * count);
        return;
    case REF_ACT_RELU:
        for (size_t k = 0; k < count; k++)
            y[k] = x[k] > 0.0f ? x[k] : 0.0f;
        return;
    case REF_ACT_SIGMOID:
        for (size_t k = 0; k < count; k++)
            y[k] = (float)(1.0 / (1.0 + exp(-(double)x[k])));
        return;
    case REF_ACT_TANH:
        for (size_t k = 0; k < count; k++)
            y[k] = (float)tanh((double)x[k]);
        return;
    case REF_ACT_SOFTMAX:
        for (int r = 0; r < rows && cols > 0; r++)
            softmax_row(cols, y + (size_t)r * cols, x + (size_t)r * cols);
        return;
    }
}

void ref_activation_backward(ref_activation act, int rows, int cols, float *dx, const float *dy,
                             const float *y)
{
    size_t count = (size_t)rows * cols;
    switch (act) {
    case REF_ACT_NONE:
        memmove(dx, dy, sizeof *dx * count);
        return;
    case REF_ACT_RELU:
        for (size_t k = 0; k < count; k++)
            dx[k] = y[k] > 0.0f ? dy[k] : 0.0f;
        return;
    case REF_ACT_SIGMOID:
        for (size_t k = 0; k < count; k++)
            dx[k] = (float)((double)dy[k] * y[k] * (1.0 - y[k]));
        return;
    case REF_ACT_TANH:
        for (size_t k = 0; k < count; k++)
            dx[k] = (float)((double)dy[k] * (1.0 - (double)y[k] * y[k]));
        return;
    case REF_ACT_SOFTMAX:
        for (int r = 0; r < rows; r++) {
            const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
            float *dxr = dx + (size_t)r * cols;
            double dot = 0.0;
            for (int j = 0; j < cols; j++)
                dot += (double)dyr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                dxr[j] = (float)(yr[j] * ((double)dyr[j] - dot));
        }
        return;
    }
}

void ref_activation_backward_from_input(ref_activation act, int rows, int cols, float *dx,
                                        const float *dy, const float *x)
{
    size_t count = (size_t)rows * cols;
    if (act == REF_ACT_RELU) {
        /* relu'(x) is 0 for x <= 0, the same choice as from the output. */
        for (size_t k = 0; k < count; k++)
            dx[k] = x[k] > 0.0f ? dy[k] : 0.0f;
        return;
    }
    if (act == REF_ACT_NONE) {
        memmove(dx, dy, sizeof *dx * count);
        return;
    }
    if (act == REF_ACT_SIGMOID || act == REF_ACT_TANH) {
        for (size_t k = 0; k < count; k++) {
            float y = act == REF_ACT_SIGMOID ? (float)(1.0 / (1.0 + exp(-(double)x[k])))
                                             : (float)tanh((double)x[k]);
            ref_activation_backward(act, 1, 1, dx + k, dy + k, &y);
        }
        return;
    }
    /* Softmax: recompute each row's probabilities on the fly from its maximum and the sum of
     * exponentials, so that no scratch row is needed. */
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
        float *dxr = dx + (size_t)r * cols;
        double max = cols > 0 ? xr[0] : 0.0, sum = 0.0, dot = 0.0;
        for (int j = 1; j < cols; j++)
            if (xr[j] > max)
                max = xr[j];
        for (int j = 0; j < cols; j++)
            sum += exp((double)xr[j] - max);
        for (int j = 0; j < cols; j++)
            dot += (double)dyr[j] * (exp((double)xr[j] - max) / sum);
        for (int j = 0; j < cols; j++)
            dxr[j] = (float)(exp((double)xr[j] - max) / sum * ((double)dyr[j] - dot));
    }
}
