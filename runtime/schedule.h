/*
 * schedule.h - the learning rate of each step, and early stopping (the model's schedule and
 * early_stopping settings), as Keras computes them.
 *
 * Step schedules count optimizer steps from 0, as Keras' optimizer.iterations does: the first
 * step is taken at schedule(0) = the initial rate. reduce_on_plateau and early stopping watch
 * val_loss once an epoch; their state is small, and a checkpoint keeps it.
 */
#ifndef CNN_SCHEDULE_H
#define CNN_SCHEDULE_H

#include "cnn_model.h"

/* The rate of the step that follows `steps` steps, for exponential_decay, cosine_decay and
 * constant; reduce_on_plateau's is its state's `rate`. */
double cnn_schedule_rate(const cnn_train_config *t, double initial, long steps);

/* reduce_on_plateau (Keras' ReduceLROnPlateau, mode min, no cooldown). */
typedef struct cnn_plateau {
    double rate;   /* the current learning rate */
    double best;   /* the lowest val_loss seen (infinity before the first) */
    int wait;      /* epochs since it improved by more than min_delta */
} cnn_plateau;

void cnn_plateau_start(cnn_plateau *p, double initial);
/* After an epoch: returns 1 when the rate was just reduced. */
int cnn_plateau_epoch(cnn_plateau *p, const cnn_train_config *t, double val_loss);

/* early_stopping (Keras' EarlyStopping on val_loss, mode min). */
typedef struct cnn_early_stop {
    double best;   /* the lowest val_loss seen (infinity before the first) */
    int best_epoch; /* the epoch that had it; 0 before the first */
    int wait;      /* epochs since then */
} cnn_early_stop;

void cnn_early_stop_start(cnn_early_stop *e);
/* After epoch `epoch` (from 1): *improved is set when this epoch is the new best (its weights
 * are the ones to keep); returns 1 when training is to stop. */
int cnn_early_stop_epoch(cnn_early_stop *e, const cnn_train_config *t, int epoch, double val_loss, int *improved);

#endif
