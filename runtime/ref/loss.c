/*
 * ref/loss.c - the reference sparse categorical cross-entropy and mean squared error (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

#define REF_XENT_EPSILON 1e-7

double ref_xent_loss(int n, int classes, const float *probs, const unsigned char *labels,
                     float *dlogits, float scale)
{
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        const float *p = probs + (size_t)b * classes;
        /* Labels are checked when a data set is loaded; this only keeps a bad one in bounds. */
        int label = labels[b] < classes ? labels[b] : 0;
        double q = p[label] < REF_XENT_EPSILON ? REF_XENT_EPSILON : p[label];
        total += -log(q);
        if (dlogits)
            for (int j = 0; j < classes; j++)
                dlogits[(size_t)b * classes + j] = scale * (p[j] - (j == label ? 1.0f : 0.0f));
    }
    return total;
}

double ref_mse_loss(int n, int classes, const float *y, const unsigned char *labels, float *dy,
                    float scale)
{
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        double sum = 0.0;
        for (int j = 0; j < classes; j++) {
            double diff = (double)y[(size_t)b * classes + j] - (j == labels[b] ? 1.0 : 0.0);
            sum += diff * diff;
            if (dy)
                dy[(size_t)b * classes + j] = (float)(scale * 2.0 * diff / classes);
        }
        total += sum / classes;
    }
    return total;
}
