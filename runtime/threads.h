/*
 * threads.h - the runtime's private interface between trainer.c, eval.c and threads.c:
 * a persistent pool of worker threads, and the "team" that splits each batch across it.
 *
 * Not part of cnnrt.h: nothing outside the runtime needs to know how batches are split.
 */
#ifndef CNN_THREADS_H
#define CNN_THREADS_H

#include "cnnrt.h"

/* A pool of threads created once: cnn_pool_run runs task(ctx, t) for every t in
 * [0, threads), t = 0 on the calling thread, and returns when all have finished. */
typedef struct cnn_pool cnn_pool;
typedef void (*cnn_pool_task)(void *ctx, int thread);

cnn_pool *cnn_pool_create(int threads); /* NULL after an error message */
void cnn_pool_run(cnn_pool *p, cnn_pool_task task, void *ctx);
void cnn_pool_destroy(cnn_pool *p);

/* One thread's share of a batch: images [first, first + count). */
typedef struct cnn_slice {
    int first, count;
    double loss;    /* sum of the slice's per-image losses */
    int correct;    /* images whose argmax matched the label */
} cnn_slice;

/* Everything the threads of a training or evaluation run own, allocated once. */
typedef struct cnn_team {
    const cnn_model *m;
    int threads;
    cnn_pool *pool;
    float **ws;          /* [threads][workspace_floats] */
    float **grads;       /* [threads][num_params]; NULL for an evaluation-only team */
    float *grad;         /* [num_params]: the reduced gradient of the last training step */
    cnn_slice *slices;   /* [threads] */
    double *image_loss;  /* [batch]: per-image losses of the last evaluation batch */
    int *image_pred;     /* [batch]: predicted classes of the last evaluation batch */

    /* The batch being worked on, set before each cnn_pool_run. */
    const float *params;
    const float *x;
    const unsigned char *labels;
    int n;
    uint64_t dropout_key;
    /* The optimizer step that follows the reduction, when there is one. */
    float *update_params;
    float *opt_m, *opt_v;
    long opt_step;
} cnn_team;

/* Creates the pool and the per-thread buffers; each thread zeroes its own buffers first so
 * that their pages live near the core that uses them. */
int cnn_team_init(cnn_team *t, const cnn_model *m, int threads, int training);
void cnn_team_free(cnn_team *t);

/* Forward and backward of n <= batch images in training mode; leaves the mean gradient in
 * t->grad and returns the sum of the per-image losses. Bit-for-bit repeatable for a given
 * thread count: the per-thread gradients are always added in thread order. */
double cnn_team_train_step(cnn_team *t, const float *params, const float *x,
                           const unsigned char *labels, int n, uint64_t dropout_key, int *correct);
/* The two halves of cnn_team_train_step, so that the trainer can look at the loss before
 * the parameters change: forward and backward on every thread (returns the loss sum), then
 * the reduction, which with _update also applies the optimizer step `step` (counting from
 * 1), each thread on its own range of parameters. */
double cnn_team_forward_backward(cnn_team *t, const float *params, const float *x,
                                 const unsigned char *labels, int n, uint64_t dropout_key, int *correct);
void cnn_team_reduce(cnn_team *t);
void cnn_team_reduce_update(cnn_team *t, float *params, float *opt_m, float *opt_v, long step);
/* Forward of n <= batch images in evaluation mode; fills t->image_loss and t->image_pred. */
void cnn_team_eval_batch(cnn_team *t, const float *params, const float *x,
                         const unsigned char *labels, int n);

/* eval.c: the class with the highest output (the first on a tie). */
int cnn_argmax(const float *out, int classes);
/* eval.c: one image's loss from its outputs, as Keras computes it for evaluation. */
double cnn_image_loss(const cnn_model *m, const float *out, int label);
/* eval.c: loss, accuracy and confusion matrix of a whole set with an existing team, using
 * x (batch * in_size floats) as the scaled-batch buffer. */
void cnn_team_evaluate(cnn_team *t, const float *params, const cnn_dataset *d, float *x,
                       cnn_eval_result *out);

#endif
