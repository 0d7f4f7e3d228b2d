/*
 * schedule.c - learning-rate schedules and early stopping (schedule.h).
 */
#include <math.h>

#include "schedule.h"

double cnn_schedule_rate(const cnn_train_config *t, double initial, long steps)
{
    double s = (double)steps;
    switch (t->schedule) {
    case CNN_SCHED_EXPONENTIAL: {
        /* Keras' ExponentialDecay: initial * decay_rate ^ (step / decay_steps), the exponent
         * floored with staircase. */
        double p = s / t->decay_steps;
        if (t->staircase)
            p = floor(p);
        return initial * pow(t->decay_rate, p);
    }
    case CNN_SCHED_COSINE: {
        /* Keras' CosineDecay without warmup: from initial down to initial * alpha over
         * decay_steps, then held there. */
        double done = (s < t->decay_steps ? s : t->decay_steps) / t->decay_steps;
        double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * done));
        return initial * ((1.0 - t->alpha) * cosine + t->alpha);
    }
    default:
        return initial;
    }
}

void cnn_plateau_start(cnn_plateau *p, double initial)
{
    p->rate = initial;
    p->best = INFINITY;
    p->wait = 0;
}

int cnn_plateau_epoch(cnn_plateau *p, const cnn_train_config *t, double val_loss)
{
    /* An improvement is a drop of more than min_delta; NaN never is one. */
    if (val_loss < p->best - t->min_delta) {
        p->best = val_loss;
        p->wait = 0;
        return 0;
    }
    /* As Keras, the wait restarts only when the rate is reduced: at min_lr it keeps counting. */
    if (++p->wait < t->patience || !(p->rate > t->min_lr))
        return 0;
    p->wait = 0;
    double reduced = p->rate * t->factor;
    p->rate = reduced > t->min_lr ? reduced : t->min_lr;
    return 1;
}

void cnn_early_stop_start(cnn_early_stop *e)
{
    e->best = INFINITY;
    e->best_epoch = 0;
    e->wait = 0;
}

int cnn_early_stop_epoch(cnn_early_stop *e, const cnn_train_config *t, int epoch, double val_loss, int *improved)
{
    *improved = val_loss < e->best - t->stop_min_delta;
    if (*improved) {
        e->best = val_loss;
        e->best_epoch = epoch;
        e->wait = 0;
        return 0;
    }
    /* As Keras, never on the first epoch, whatever the patience. */
    e->wait++;
    return e->wait >= t->stop_patience && epoch > 1;
}
