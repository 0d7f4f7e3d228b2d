/*
 * ref/dropout.c - the reference inverted dropout given its mask (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

void ref_dropout_forward(size_t count, float *y, const float *x, const float *mask)
{
    for (size_t k = 0; k < count; k++)
        y[k] = x[k] * mask[k];
}

void ref_dropout_backward(size_t count, float *dx, const float *dy, const float *mask)
{
    for (size_t k = 0; k < count; k++)
        dx[k] = dy[k] * mask[k];
}
