/*
 * emit_gradcheck.c - checks a model that cnnc generated through its cnn_model struct alone:
 *
 * 1. backward against central finite differences of the loss, for parameters of every tensor;
 * 2. a batch split in two (n = 1 at first = 2, and so on) gives the same outputs as the whole,
 *    dropout included, since masks depend on (key, image) only;
 * 3. one optimizer step against the formula the train block names (Keras' SGD and Adam).
 *
 * Built by tests/suite_50_codegen.sh with -DMODEL=<name>_model and the generated <name>.c.
 * Prints the first mismatches and exits 1 on any.
 *
 * In float, a step small enough to miss every ReLU kink and max-pool switch of a real model is
 * lost in rounding. So the suite also builds the generated code and this file in double
 * (-Dfloat=double -Dexpf=exp -Dtanhf=tanh -Dsqrtf=sqrt) with GRADCHECK_STEP=1e-6: the emitted
 * code is plain enough to be retyped that way, and then the check is exact for every model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_model.h"

#ifndef GRADCHECK_STEP
#define GRADCHECK_STEP 1e-3f
#endif

extern const cnn_model MODEL;

static unsigned long long rng_state = 0x2545f4914f6cdd1dULL;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int failures = 0;

static void fail(const char *fmt, double a, double b, long i)
{
    if (failures < 10)
        printf("  mismatch %s at %ld: %.7g vs %.7g\n", fmt, i, a, b);
    failures++;
}

static double loss_at(const cnn_model *m, const float *params, float *grads, float *ws, const float *x,
                      const unsigned char *labels, int n)
{
    m->forward(params, ws, x, n, 1, 12345, 0);
    return m->backward(params, grads, ws, x, labels, n, 1.0f);
}

static void check_gradients(const cnn_model *m, float *params, float *ws, const float *x,
                            const unsigned char *labels, int n)
{
    float *grads = calloc(m->num_params, sizeof *grads);
    float *scratch = calloc(m->num_params, sizeof *scratch);
    loss_at(m, params, grads, ws, x, labels, n);
    /* Checking every parameter would be slow for big models; a spread of each tensor suffices. */
    for (int t = 0; t < m->num_tensors; t++) {
        const cnn_tensor *ts = &m->tensors[t];
        size_t step = ts->count > 40 ? ts->count / 40 : 1;
        for (size_t k = 0; k < ts->count; k += step) {
            size_t i = ts->offset + k;
            const float saved = params[i];
            const float h = GRADCHECK_STEP;
            params[i] = saved + h;
            double up = loss_at(m, params, scratch, ws, x, labels, n);
            params[i] = saved - h;
            double down = loss_at(m, params, scratch, ws, x, labels, n);
            params[i] = saved;
            double numeric = (up - down) / (2.0 * h);
            double analytic = grads[i];
            if (fabs(numeric - analytic) > 2e-3 + 2e-2 * fabs(analytic))
                fail(ts->name, analytic, numeric, (long)k);
        }
    }
    free(grads);
    free(scratch);
}

static void check_batch_split(const cnn_model *m, const float *params, float *ws, const float *x, int n)
{
    size_t classes = (size_t)m->classes;
    float *whole = malloc(sizeof(float) * (size_t)n * classes);
    m->forward(params, ws, x, n, 1, 777, 0);
    memcpy(whole, m->output(ws), sizeof(float) * (size_t)n * classes);
    for (int b = 0; b < n; b++) {
        m->forward(params, ws, x + (size_t)b * m->in_size, 1, 1, 777, b);
        const float *one = m->output(ws);
        for (size_t k = 0; k < classes; k++)
            if (fabs(one[k] - whole[(size_t)b * classes + k]) > 1e-6)
                fail("split batch output", one[k], whole[(size_t)b * classes + k], (long)b);
    }
    free(whole);
}

static void check_update(const cnn_model *m, const float *params0)
{
    size_t np = m->num_params;
    const cnn_train_config *t = &m->train;
    float *p = malloc(sizeof(float) * np), *g = malloc(sizeof(float) * np);
    float *mm = calloc(np, sizeof(float)), *vv = calloc(np, sizeof(float));
    double *ep = malloc(sizeof(double) * np), *em = calloc(np, sizeof(double)), *ev = calloc(np, sizeof(double));
    for (size_t i = 0; i < np; i++) {
        p[i] = params0[i];
        ep[i] = params0[i];
    }
    for (long step = 1; step <= 3; step++) {
        for (size_t i = 0; i < np; i++)
            g[i] = (float)(uniform() - 0.5);
        m->update(p, g, mm, vv, step);
        for (size_t i = 0; i < np; i++) {
            if (t->optimizer == CNN_OPT_ADAM) {
                double alpha = t->learning_rate * sqrt(1 - pow(t->beta_2, (double)step)) / (1 - pow(t->beta_1, (double)step));
                em[i] = t->beta_1 * em[i] + (1 - t->beta_1) * g[i];
                ev[i] = t->beta_2 * ev[i] + (1 - t->beta_2) * g[i] * g[i];
                ep[i] -= alpha * em[i] / (sqrt(ev[i]) + t->epsilon);
            } else if (t->momentum > 0) {
                em[i] = t->momentum * em[i] - t->learning_rate * g[i];
                ep[i] += t->nesterov ? t->momentum * em[i] - t->learning_rate * g[i] : em[i];
            } else {
                ep[i] -= t->learning_rate * g[i];
            }
        }
        for (size_t i = 0; i < np; i++)
            if (fabs(p[i] - ep[i]) > 1e-5 + 1e-5 * fabs(ep[i]))
                fail("optimizer step", p[i], ep[i], (long)i);
    }
    free(p);
    free(g);
    free(mm);
    free(vv);
    free(ep);
    free(em);
    free(ev);
}

int main(void)
{
    const cnn_model *m = &MODEL;
    int n = m->batch > 3 ? 3 : m->batch; /* a partial batch where the model allows one */
    float *params = malloc(sizeof(float) * m->num_params);
    float *ws = malloc(sizeof(float) * m->workspace_floats);
    float *x = malloc(sizeof(float) * (size_t)n * m->in_size);
    unsigned char labels[3];
    /* Glorot-sized weights keep activations moderate, so that few ReLU kinks or max-pool ties
     * fall within a finite-difference step; biases are small but not zero. */
    for (int t = 0; t < m->num_tensors; t++) {
        const cnn_tensor *ts = &m->tensors[t];
        double limit = ts->is_bias ? 0.1 : sqrt(6.0 / (ts->fan_in + ts->fan_out));
        for (size_t k = 0; k < ts->count; k++)
            params[ts->offset + k] = (float)((2 * uniform() - 1) * limit);
    }
    for (size_t i = 0; i < (size_t)n * m->in_size; i++)
        x[i] = (float)uniform();
    for (int b = 0; b < n; b++)
        labels[b] = (unsigned char)(b * 7 % m->classes);

    check_gradients(m, params, ws, x, labels, n);
    check_batch_split(m, params, ws, x, n);
    check_update(m, params);
    printf("%s: %d mismatches\n", m->name, failures);
    free(params);
    free(ws);
    free(x);
    return failures == 0 ? 0 : 1;
}
