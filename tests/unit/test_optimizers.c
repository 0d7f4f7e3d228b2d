/*
 * test_optimizers.c - the generated optimizer step of one model (linked in as `opt_model`)
 * against a small reference written here in double, for several steps, at a learning rate
 * that changes from step to step (the schedule's, an argument of update_apply) and with a
 * gradient scale (global_clipnorm's). The reference reads the hyper-parameters from the
 * model's train block and follows Keras:
 *   sgd      v = mom * v - lr * g; w += v (Nesterov: w += mom * v - lr * g); without momentum w -= lr * g
 *   adam     m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)
 *   adamw    w -= lr * wd * w, then adam
 *   rmsprop  v = rho v + (1 - rho) g^2; d = lr g / sqrt(v + eps); momentum: m = mom m + d, w -= m; else w -= d
 * A first check uses numbers worked out by hand for one parameter, so that the reference
 * itself is pinned. Prints `N checks, F failed`; status 1 on a failure.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cnn_model.h"

extern const cnn_model opt_model;

#define STEPS 4
#define MAX_PARAMS 64

static int checks, failed;

static void expect(const char *what, int ok)
{
    checks++;
    if (!ok) {
        failed++;
        printf("FAILED: %s\n", what);
    }
}

/* One Keras step of the model's optimizer over n parameters, in double. */
static void reference_step(const cnn_train_config *t, double *w, const double *grad, double *m, double *v, long step,
                           double lr, double scale, int n)
{
    for (int i = 0; i < n; i++) {
        double g = grad[i] * scale;
        switch (t->optimizer) {
        case CNN_OPT_SGD:
            if (t->momentum == 0) {
                w[i] -= lr * g;
            } else {
                m[i] = t->momentum * m[i] - lr * g;
                w[i] += t->nesterov ? t->momentum * m[i] - lr * g : m[i];
            }
            break;
        case CNN_OPT_ADAMW:
        case CNN_OPT_ADAM: {
            if (t->optimizer == CNN_OPT_ADAMW)
                w[i] -= lr * t->weight_decay * w[i];
            m[i] = t->beta_1 * m[i] + (1 - t->beta_1) * g;
            v[i] = t->beta_2 * v[i] + (1 - t->beta_2) * g * g;
            double alpha = lr * sqrt(1 - pow(t->beta_2, (double)step)) / (1 - pow(t->beta_1, (double)step));
            w[i] -= alpha * m[i] / (sqrt(v[i]) + t->epsilon);
            break;
        }
        case CNN_OPT_RMSPROP: {
            v[i] = t->rho * v[i] + (1 - t->rho) * g * g;
            double d = lr * g / sqrt(v[i] + t->epsilon);
            if (t->momentum > 0) {
                m[i] = t->momentum * m[i] + d;
                w[i] -= m[i];
            } else {
                w[i] -= d;
            }
            break;
        }
        }
    }
}

/* The reference pinned by hand: one parameter, w = 1, g = 0.5 then -0.25, lr = 0.1 then 0.05. */
static void check_by_hand(void)
{
    cnn_train_config t = {.optimizer = CNN_OPT_RMSPROP, .rho = 0.9, .momentum = 0, .epsilon = 1e-7};
    double w = 1, m = 0, v = 0, g1 = 0.5, g2 = -0.25;
    /* v = 0.1 * 0.25 = 0.025; w -= 0.1 * 0.5 / sqrt(0.025 + 1e-7) = 0.31622713... */
    reference_step(&t, &w, &g1, &m, &v, 1, 0.1, 1, 1);
    expect("rmsprop by hand, step 1", fabs(w - 0.683772866437) < 1e-11);
    /* v = 0.9 * 0.025 + 0.1 * 0.0625 = 0.02875; w -= 0.05 * -0.25 / sqrt(0.0287501) */
    reference_step(&t, &w, &g2, &m, &v, 2, 0.05, 1, 1);
    expect("rmsprop by hand, step 2", fabs(w - 0.757493716304) < 1e-11);

    /* AdamW, wd 0.1, lr 0.1: w = 1 - 0.01 = 0.99; then m = 0.05, v = 0.00025, and the step is
     * alpha m / (sqrt(v) + eps) with alpha = 0.1 sqrt(0.001) / 0.1: lr sqrt(v) / (sqrt(v) + eps). */
    cnn_train_config a = {.optimizer = CNN_OPT_ADAMW, .beta_1 = 0.9, .beta_2 = 0.999, .epsilon = 1e-7,
                          .weight_decay = 0.1};
    w = 1, m = 0, v = 0;
    reference_step(&a, &w, &g1, &m, &v, 1, 0.1, 1, 1);
    expect("adamw by hand, step 1", fabs(w - (0.99 - 0.1 * 0.015811388300841896 / (0.015811388300841896 + 1e-7))) < 1e-12);

    /* SGD with momentum 0.9, clipped to half: v = -0.1 * 0.25, w = 0.975; then v = 0.9 v - 0.1 * -0.125. */
    cnn_train_config s = {.optimizer = CNN_OPT_SGD, .momentum = 0.9};
    w = 1, m = 0, v = 0;
    reference_step(&s, &w, &g1, &m, &v, 1, 0.1, 0.5, 1);
    expect("sgd with momentum by hand, step 1", fabs(w - 0.975) < 1e-15);
    reference_step(&s, &w, &g2, &m, &v, 2, 0.1, 0.5, 1);
    expect("sgd with momentum by hand, step 2", fabs(w - (0.975 + (0.9 * -0.025 + 0.0125))) < 1e-15);
}

int main(void)
{
    check_by_hand();
    const cnn_model *M = &opt_model;
    const cnn_train_config *t = &M->train;
    int n = (int)M->num_params;
    expect("the model has update_apply", M->update_apply != NULL);
    expect("a model small enough for the test", n > 0 && n <= MAX_PARAMS);
    if (!M->update_apply || n <= 0 || n > MAX_PARAMS)
        goto done;

    float w[MAX_PARAMS], g[MAX_PARAMS], m[MAX_PARAMS] = {0}, v[MAX_PARAMS] = {0};
    double rw[MAX_PARAMS], rg[MAX_PARAMS], rm[MAX_PARAMS] = {0}, rv[MAX_PARAMS] = {0};
    for (int i = 0; i < n; i++)
        rw[i] = w[i] = (float)(0.5 - 0.75 * sin(1.7 * i + 0.3));
    /* A rate for each step as a schedule gives it, and a clip on two of the steps. */
    const double rates[STEPS] = {t->learning_rate, 0.5 * t->learning_rate, 0.8 * t->learning_rate, 0.1 * t->learning_rate};
    const float scales[STEPS] = {1.0f, 0.25f, 1.0f, 0.5f};
    int clips = t->global_clipnorm > 0;
    for (long step = 1; step <= STEPS; step++) {
        for (int i = 0; i < n; i++)
            rg[i] = g[i] = (float)(cos(0.9 * i + step) * (step % 2 ? 1.0 : 0.01));
        float scale = scales[step - 1];
        /* Two ranges, split off the vector width, as two threads would run them. */
        int half = n / 2 + 1;
        M->update_apply(w, g, m, v, step, rates[step - 1], scale, 0, (size_t)half);
        M->update_apply(w, g, m, v, step, rates[step - 1], scale, (size_t)half, (size_t)n);
        /* A model without global_clipnorm ignores the scale. */
        reference_step(t, rw, rg, rm, rv, step, rates[step - 1], clips ? scale : 1.0, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double d = fabs(w[i] - rw[i]) / (0.1 + fabs(rw[i]));
            worst = d > worst ? d : worst;
        }
        char what[96];
        snprintf(what, sizeof what, "the weights after step %ld (worst difference %.2g of 0.1 + |w|)", step, worst);
        expect(what, worst < 1e-5);
    }
    /* The step at the model's own rate is update_apply at that rate, the gradient as it is. */
    float w2[MAX_PARAMS], m2[MAX_PARAMS], v2[MAX_PARAMS];
    memcpy(w2, w, sizeof w);
    memcpy(m2, m, sizeof m);
    memcpy(v2, v, sizeof v);
    M->update(w, g, m, v, STEPS + 1);
    M->update_apply(w2, g, m2, v2, STEPS + 1, t->learning_rate, 1.0f, 0, (size_t)n);
    expect("update is update_apply at the model's rate", memcmp(w, w2, sizeof(float) * (size_t)n) == 0);
done:
    printf("%d checks, %d failed\n", checks, failed);
    return failed > 0;
}
