/*
 * ref/batchnorm.c - the reference batchnorm (see ref_layers.h): the textbook formulas in double,
 * over all rows at once, so that a reader can check each one against Keras' documentation.
 */
#include "ref_layers.h"

#include <math.h>

void ref_batchnorm_stats(size_t rows, int c, const float *x, float *mean, float *var)
{
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++)
            sum += x[r * (size_t)c + (size_t)ch];
        double mu = sum / (double)rows, sq = 0.0;
        for (size_t r = 0; r < rows; r++) {
            double d = x[r * (size_t)c + (size_t)ch] - mu;
            sq += d * d;
        }
        mean[ch] = (float)mu;
        var[ch] = (float)(sq / (double)rows);
    }
}

void ref_batchnorm_forward(size_t rows, int c, float *y, const float *x, const float *gamma,
                           const float *beta, const float *mean, const float *var, double epsilon)
{
    for (int ch = 0; ch < c; ch++) {
        double inv = 1.0 / sqrt((double)var[ch] + epsilon);
        double g = gamma ? gamma[ch] : 1.0, b = beta ? beta[ch] : 0.0;
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            y[i] = (float)(g * ((double)x[i] - mean[ch]) * inv + b);
        }
    }
}

void ref_batchnorm_backward(size_t rows, int c, float *dx, float *dgamma, float *dbeta,
                            const float *dy, const float *x, const float *gamma,
                            const float *mean, const float *var, double epsilon)
{
    for (int ch = 0; ch < c; ch++) {
        double inv = 1.0 / sqrt((double)var[ch] + epsilon), g = gamma ? gamma[ch] : 1.0;
        double sum_dy = 0.0, sum_dy_xh = 0.0;
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            double xh = ((double)x[i] - mean[ch]) * inv;
            sum_dy += dy[i];
            sum_dy_xh += dy[i] * xh;
        }
        if (dgamma)
            dgamma[ch] = (float)sum_dy_xh;
        if (dbeta)
            dbeta[ch] = (float)sum_dy;
        for (size_t r = 0; dx && r < rows; r++) {
            size_t i = r * (size_t)c + (size_t)ch;
            double xh = ((double)x[i] - mean[ch]) * inv;
            dx[i] = (float)(g * inv * (dy[i] - sum_dy / (double)rows - xh * sum_dy_xh / (double)rows));
        }
    }
}

void ref_batchnorm_update(int c, float *moving_mean, float *moving_var, const float *mean,
                          const float *var, double momentum)
{
    for (int ch = 0; ch < c; ch++) {
        moving_mean[ch] = (float)(momentum * moving_mean[ch] + (1.0 - momentum) * mean[ch]);
        moving_var[ch] = (float)(momentum * moving_var[ch] + (1.0 - momentum) * var[ch]);
    }
}
