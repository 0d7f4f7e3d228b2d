/*
 * metrics.h - what one image's outputs say: its predicted class and its loss. A leaf of the
 * runtime: the team's passes, evaluation and the trainer use it, and it uses nothing of them.
 * Private to the runtime: not part of cnnrt.h.
 */
#ifndef CNN_METRICS_H
#define CNN_METRICS_H

#include "cnn_model.h"

/* The class with the highest output (the first on a tie). */
int cnn_argmax(const float *out, int classes);
/* One image's loss from its outputs: the model's loss as cnn_model.h defines it, the same
 * function that the generated training code uses. */
double cnn_image_loss(const cnn_model *m, const float *out, int label);

#endif
