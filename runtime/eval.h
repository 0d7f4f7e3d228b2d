/*
 * eval.h - evaluation with a team that already exists: the trainer validates after each
 * epoch with its own threads. Above the team (team.h), below the trainer. Private to the
 * runtime; cnnrt.h has the public cnn_evaluate.
 */
#ifndef CNN_EVAL_H
#define CNN_EVAL_H

#include "team.h"

/* Loss, accuracy and confusion matrix of params on d, using x (batch * in_size floats) as
 * the buffer of a scaled batch; and each image's prediction in preds[d->n] when preds is not
 * NULL. */
void cnn_team_evaluate(cnn_team *t, const float *params, const cnn_dataset *d, float *x,
                       cnn_eval_result *out, cnn_prediction *preds);

#endif
