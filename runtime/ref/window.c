/*
 * ref/window.c - the reference the sizes of sliding windows and Keras `same` padding (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

int ref_window_out(int in, int k, int stride, int before, int after)
{
    int padded = in + before + after;
    if (stride <= 0 || k <= 0 || padded < k)
        return 0;
    return (padded - k) / stride + 1;
}

int ref_same_padding(int in, int k, int stride, int *before, int *after)
{
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + k - in;
    if (total < 0)
        total = 0;
    *before = total / 2;
    *after = total - total / 2;
    return out;
}
