/*
 * metrics.c - one image's predicted class and loss.
 */
#include "metrics.h"

int cnn_argmax(const float *out, int classes)
{
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (out[c] > out[best])
            best = c;
    return best;
}

double cnn_image_loss(const cnn_model *m, const float *out, int label)
{
    if (m->train.loss == CNN_LOSS_MSE)
        return cnn_mse(out, m->classes, label);
    return cnn_xent(out[label]);
}
