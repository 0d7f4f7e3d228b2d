/*
 * progress.h - the runtime's private progress display: Keras-like epoch lines.
 */
#ifndef CNN_PROGRESS_H
#define CNN_PROGRESS_H

#include <stdio.h>

typedef struct cnn_progress {
    FILE *out;
    int quiet;         /* print nothing at all */
    int tty;           /* redraw in place with \r; otherwise one line per epoch */
    int steps;         /* steps in this epoch */
    double start;      /* rt_now() at the epoch's start */
    double last_draw;
    int drawn;         /* characters of the line last drawn, to blank what is left of it */
    double learning_rate; /* shown at the end of the epoch's line when positive (a schedule's) */
} cnn_progress;

/* Prints `Epoch E/N`. */
void cnn_progress_begin(cnn_progress *p, FILE *out, int quiet, int epoch, int epochs, int steps);
/* After a step: the running mean loss and accuracy. Redraws a few times a second on a
 * terminal, and does nothing otherwise. */
void cnn_progress_step(cnn_progress *p, int step, double loss, double accuracy);
/* The epoch's final line; the val_ fields only when has_val. */
void cnn_progress_end(cnn_progress *p, double loss, double accuracy, int has_val,
                      double val_loss, double val_accuracy);

#endif
