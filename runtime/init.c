/*
 * init.c - the initial weights, as Keras draws them: Glorot uniform, He normal or He uniform
 * kernels, zero biases, all from one generator seeded with the run's seed.
 */
#include <math.h>
#include <string.h>

#include "cnnrt.h"

/* Keras' he_normal is a VarianceScaling truncated normal: it draws from a normal cut at two
 * standard deviations, and widens the normal by this factor (the standard deviation of a
 * unit normal truncated at +-2) so that the cut distribution still has the wanted spread. */
#define TRUNCATED_NORMAL_SD 0.87962566103423978

static double truncated_normal(cnn_rng *r)
{
    double z;
    do
        z = cnn_rng_normal(r);
    while (z < -2.0 || z > 2.0);
    return z;
}

static void fill_kernel(const cnn_tensor *t, int init, float *w, cnn_rng *r)
{
    double fan_in = t->fan_in > 0 ? t->fan_in : 1;
    double fan_out = t->fan_out > 0 ? t->fan_out : 1;
    double limit;

    switch (init) {
    case CNN_INIT_HE_NORMAL: {
        double sd = sqrt(2.0 / fan_in) / TRUNCATED_NORMAL_SD;
        for (size_t i = 0; i < t->count; i++)
            w[i] = (float)(sd * truncated_normal(r));
        return;
    }
    case CNN_INIT_HE_UNIFORM:
        limit = sqrt(6.0 / fan_in);
        break;
    default: /* CNN_INIT_GLOROT_UNIFORM, Keras' default */
        limit = sqrt(6.0 / (fan_in + fan_out));
        break;
    }
    for (size_t i = 0; i < t->count; i++)
        w[i] = (float)(limit * (2.0 * cnn_rng_uniform(r) - 1.0));
}

static void fill_ones(float *w, size_t count)
{
    for (size_t i = 0; i < count; i++)
        w[i] = 1.0f;
}

void cnn_init_params(const cnn_model *m, float *params, uint64_t seed)
{
    cnn_rng r;
    cnn_rng_seed(&r, seed);
    for (int i = 0; i < m->num_tensors; i++) {
        const cnn_tensor *t = &m->tensors[i];
        float *w = params + t->offset;
        if (t->is_bias)
            memset(w, 0, t->count * sizeof *w);
        else if (t->init_ones)
            fill_ones(w, t->count);
        else
            fill_kernel(t, m->train.init, w, &r);
    }
    /* The state (moving mean and variance) starts at 0 and 1, as in Keras. */
    for (int i = 0; i < m->num_state_tensors; i++) {
        const cnn_tensor *t = &m->state_tensors[i];
        float *w = params + t->offset;
        if (t->init_ones)
            fill_ones(w, t->count);
        else
            memset(w, 0, t->count * sizeof *w);
    }
}
