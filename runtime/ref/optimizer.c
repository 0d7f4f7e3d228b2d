/*
 * ref/optimizer.c - the reference Keras SGD and Adam steps (see ref_layers.h): the obvious
 * loops, nothing clever, so that a reader can check each one against its formula.
 */
#include "ref_layers.h"

#include <math.h>
#include <string.h>

void ref_sgd_step(size_t count, float *w, const float *g, float *velocity, double lr,
                  double momentum, int nesterov)
{
    for (size_t k = 0; k < count; k++) {
        if (momentum == 0.0 || !velocity) {
            w[k] = (float)(w[k] - lr * g[k]);
            continue;
        }
        double v = momentum * velocity[k] - lr * g[k];
        velocity[k] = (float)v;
        if (nesterov)
            w[k] = (float)(w[k] + momentum * v - lr * g[k]);
        else
            w[k] = (float)(w[k] + v);
    }
}

void ref_adam_step(size_t count, float *w, const float *g, float *m, float *v, long step,
                   double lr, double beta_1, double beta_2, double epsilon)
{
    double alpha = lr * sqrt(1.0 - pow(beta_2, (double)step)) / (1.0 - pow(beta_1, (double)step));
    for (size_t k = 0; k < count; k++) {
        double mk = beta_1 * m[k] + (1.0 - beta_1) * g[k];
        double vk = beta_2 * v[k] + (1.0 - beta_2) * (double)g[k] * g[k];
        m[k] = (float)mk;
        v[k] = (float)vk;
        w[k] = (float)(w[k] - alpha * mk / (sqrt(vk) + epsilon));
    }
}
