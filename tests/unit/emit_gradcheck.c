/*
 * emit_gradcheck.c - checks a model that cnnc generated through its cnn_model struct alone:
 *
 * 1. backward against central finite differences of the loss, for parameters of every tensor;
 * 2. a batch split image by image (n = 1 at first = 2, and so on) gives the same outputs as the
 *    whole, dropout included, since masks depend on (key, image) only; where the model sums over
 *    the batch (batchnorm), the images run on threads of their own that meet through a cnn_sync,
 *    as the runtime's do, and give the same outputs and, summed, the same gradients;
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
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t under -std=c99 */
#include <math.h>
#include <pthread.h>
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
    m->forward(params, ws, x, n, 1, 12345, 0, NULL);
    return m->backward(params, grads, ws, x, labels, n, 1.0f, NULL);
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

/* ------------------------------------------------------------------ a batch split across threads */

/* The runtime's cnn_sync in miniature (runtime/team.c): each image's thread puts its partial sums
 * in place, waits for the others, and adds them all in image order. */
typedef struct split_run {
    const cnn_model *m;
    const float *params, *x;
    const unsigned char *labels;
    int n;
    float *area[2];
    pthread_barrier_t barrier;
    float **ws, **grads, *out;
    long calls[3];
    cnn_sync sync[3];
} split_run;

static void split_sum(const cnn_sync *s, const float *part, int n, int count, float *total)
{
    split_run *r = s->runtime;
    float *area = r->area[r->calls[s->slice]++ & 1];
    memcpy(area + (size_t)s->first * count, part, sizeof(float) * (size_t)n * count);
    pthread_barrier_wait(&r->barrier);
    cnn_sum_images(area, s->images, count, total);
}

static void *split_image(void *arg)
{
    cnn_sync *s = arg;
    split_run *r = s->runtime;
    const cnn_model *m = r->m;
    int b = s->first;
    const float *x = r->x + (size_t)b * m->in_size;
    m->forward(r->params, r->ws[b], x, 1, 1, 777, b, s);
    memcpy(r->out + (size_t)b * m->classes, m->output(r->ws[b]), sizeof(float) * (size_t)m->classes);
    m->backward(r->params, r->grads[b], r->ws[b], x, r->labels + b, 1, 1.0f, s);
    return NULL;
}

static void check_batch_split(const cnn_model *m, const float *params, float *ws, const float *x,
                              const unsigned char *labels, int n)
{
    size_t classes = (size_t)m->classes, np = m->num_params;
    float *whole = malloc(sizeof(float) * (size_t)n * classes), *grads = calloc(np + 1, sizeof(float));
    m->forward(params, ws, x, n, 1, 777, 0, NULL);
    memcpy(whole, m->output(ws), sizeof(float) * (size_t)n * classes);
    m->backward(params, grads, ws, x, labels, n, 1.0f, NULL);
    if (m->batch_sum_floats == 0) {
        for (int b = 0; b < n; b++) {
            m->forward(params, ws, x + (size_t)b * m->in_size, 1, 1, 777, b, NULL);
            const float *one = m->output(ws);
            for (size_t k = 0; k < classes; k++)
                if (fabs(one[k] - whole[(size_t)b * classes + k]) > 1e-6)
                    fail("split batch output", one[k], whole[(size_t)b * classes + k], (long)b);
        }
    } else {
        split_run r = {.m = m, .params = params, .x = x, .labels = labels, .n = n};
        pthread_t th[3];
        r.area[0] = malloc(sizeof(float) * (size_t)n * m->batch_sum_floats);
        r.area[1] = malloc(sizeof(float) * (size_t)n * m->batch_sum_floats);
        r.ws = malloc(sizeof(float *) * (size_t)n);
        r.grads = malloc(sizeof(float *) * (size_t)n);
        r.out = malloc(sizeof(float) * (size_t)n * classes);
        pthread_barrier_init(&r.barrier, NULL, (unsigned)n);
        for (int b = 0; b < n; b++) {
            r.ws[b] = calloc(m->workspace_floats + 1, sizeof(float));
            r.grads[b] = calloc(np + 1, sizeof(float));
            r.sync[b] = (cnn_sync){.batch_sum = split_sum, .images = n, .first = b, .slice = b, .runtime = &r};
        }
        for (int b = 0; b < n; b++)
            pthread_create(&th[b], NULL, split_image, &r.sync[b]);
        for (int b = 0; b < n; b++)
            pthread_join(th[b], NULL);
        for (size_t k = 0; k < (size_t)n * classes; k++)
            if (fabs(r.out[k] - whole[k]) > 1e-6)
                fail("output of a batch split across threads", r.out[k], whole[k], (long)k);
        for (size_t i = 0; i < np; i++) {
            double sum = 0;
            for (int b = 0; b < n; b++)
                sum += r.grads[b][i];
            if (fabs(sum - grads[i]) > 1e-5 + 1e-4 * fabs(grads[i]))
                fail("gradient of a batch split across threads", sum, grads[i], (long)i);
        }
        /* The moving statistics from any thread's workspace are the whole batch's. */
        size_t all = np + m->num_state;
        float *p1 = malloc(sizeof(float) * all), *p2 = malloc(sizeof(float) * all);
        memcpy(p1, params, sizeof(float) * all);
        memcpy(p2, params, sizeof(float) * all);
        m->update_state(p1, ws);
        m->update_state(p2, r.ws[n - 1]);
        if (memcmp(p1, p2, sizeof(float) * all) != 0)
            fail("moving statistics of a batch split across threads", 0, 1, 0);
        for (int b = 0; b < n; b++) {
            free(r.ws[b]);
            free(r.grads[b]);
        }
        pthread_barrier_destroy(&r.barrier);
        free(r.area[0]); free(r.area[1]); free(r.ws); free(r.grads); free(r.out); free(p1); free(p2);
    }
    free(whole);
    free(grads);
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
            if (t->optimizer == CNN_OPT_ADAM || t->optimizer == CNN_OPT_ADAMW) {
                /* AdamW decays the weight first, then takes Adam's step. */
                if (t->optimizer == CNN_OPT_ADAMW)
                    ep[i] -= t->learning_rate * t->weight_decay * ep[i];
                double alpha = t->learning_rate * sqrt(1 - pow(t->beta_2, (double)step)) / (1 - pow(t->beta_1, (double)step));
                em[i] = t->beta_1 * em[i] + (1 - t->beta_1) * g[i];
                ev[i] = t->beta_2 * ev[i] + (1 - t->beta_2) * g[i] * g[i];
                ep[i] -= alpha * em[i] / (sqrt(ev[i]) + t->epsilon);
            } else if (t->optimizer == CNN_OPT_RMSPROP) {
                ev[i] = t->rho * ev[i] + (1 - t->rho) * g[i] * g[i];
                double d = t->learning_rate * g[i] / sqrt(ev[i] + t->epsilon);
                em[i] = t->momentum * em[i] + d;
                ep[i] -= t->momentum > 0 ? em[i] : d;
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
    float *params = malloc(sizeof(float) * (cnn_param_floats(m) + 1));
    float *ws = malloc(sizeof(float) * m->workspace_floats);
    float *x = malloc(sizeof(float) * (size_t)n * m->in_size);
    unsigned char labels[3];
    /* Glorot-sized weights keep activations moderate, so that few ReLU kinks or max-pool ties
     * fall within a finite-difference step; biases are small but not zero. */
    for (int t = 0; t < m->num_tensors; t++) {
        const cnn_tensor *ts = &m->tensors[t];
        double limit = ts->is_bias ? 0.1 : sqrt(6.0 / (ts->fan_in + ts->fan_out));
        for (size_t k = 0; k < ts->count; k++)
            params[ts->offset + k] = (float)(ts->init_ones ? 0.5 + uniform() : (2 * uniform() - 1) * limit);
    }
    /* Moving statistics away from their start (a variance must stay positive). */
    for (int t = 0; t < m->num_state_tensors; t++) {
        const cnn_tensor *ts = &m->state_tensors[t];
        for (size_t k = 0; k < ts->count; k++)
            params[ts->offset + k] = (float)(ts->init_ones ? 0.5 + uniform() : 0.4 * (uniform() - 0.5));
    }
    for (size_t i = 0; i < (size_t)n * m->in_size; i++)
        x[i] = (float)uniform();
    for (int b = 0; b < n; b++)
        labels[b] = (unsigned char)(b * 7 % m->classes);

    check_gradients(m, params, ws, x, labels, n);
    check_batch_split(m, params, ws, x, labels, n);
    check_update(m, params);
    printf("%s: %d mismatches\n", m->name, failures);
    free(params);
    free(ws);
    free(x);
    return failures == 0 ? 0 : 1;
}
