/*
 * emit/infer.h - `cnnc emit --inference-only`: a self-contained predictor with the weights of
 * a checkpoint inlined (emit/infer.c).
 */
#ifndef EMIT_INFER_H
#define EMIT_INFER_H

#include "cnnc.h"

typedef struct InferOptions {
    const Target *target; /* what the predictor is generated for */
    const char *weights; /* the checkpoint whose values are inlined */
    bool logits;         /* leave out the last layer's softmax: no <math.h> where nothing else needs it */
} InferOptions;

/* Reads the checkpoint, which must fit the model (names and shapes), and writes
 * DIR/<name>_infer.h and DIR/<name>_infer.c. Returns 0, or -1 after reporting an error;
 * on failure nothing is left under the final names. */
int emit_inference(const Model *m, const char *dir, const InferOptions *opt);

#endif
