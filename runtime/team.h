/*
 * team.h - the threads of a training or evaluation run and the passes they make over a
 * batch: forward and backward, the reduction of the gradients, the optimizer step, and the
 * forward of evaluation. Above the pool (pool.h) and below evaluation (eval.h) and the
 * trainer; it uses metrics.h for each image's class and loss.
 *
 * Each pass takes its arguments as arguments: the team holds only the buffers it owns and
 * the results of its last pass. Private to the runtime: not part of cnnrt.h.
 */
#ifndef CNN_TEAM_H
#define CNN_TEAM_H

#include <pthread.h>

#include "augment.h"
#include "cnnrt.h"
#include "pool.h"

/* One thread's share of a batch, images [first, first + count), and what it found there. */
typedef struct cnn_slice {
    int first, count;
    double loss;    /* sum of the slice's per-image losses */
    int correct;    /* images whose argmax matched the label */
} cnn_slice;

/* Everything the threads of a run own, allocated once. */
typedef struct cnn_team {
    const cnn_model *m;
    int threads;
    cnn_pool *pool;
    float **ws;          /* [threads][workspace_floats] */
    float **grads;       /* [threads][num_params]; NULL for an evaluation-only team */
    float *grad;         /* [num_params]: the reduced gradient of the last training step */
    double *grad_sq;     /* [threads]: the sum of squares of each thread's range of grad */
    const cnn_augment *augment; /* the training images' moves; NULL: none */
    float *aug_x;        /* [batch][in_size]: the moved images of a step; NULL without augment */
    cnn_slice *slices;   /* [threads]: the last pass's split of the batch */
    /* This process's share of the last pass's batch, images [share_first, share_first +
     * share_count): all of it unless a collective (cnnrt.h) spreads the batch over processes;
     * the slices split the share and hold indices into the whole batch. */
    int share_first, share_count;
    double *image_loss;  /* [batch]: per-image losses of the last evaluation batch */
    int *image_pred;     /* [batch]: predicted classes of the last evaluation batch */
    /* Sums over the whole batch in a training pass (cnn_sync, for batchnorm), where the model
     * has them: each slice's handle, and two [batch][batch_sum_floats] areas that the sums use
     * in turn, so that one barrier a sum is enough (a thread can only come back to an area
     * after every thread has passed the next sum's barrier, so has read it). */
    cnn_sync *syncs;     /* [threads]; NULL without sums */
    long *sum_calls;     /* [threads]: the sums each has made, whose parity picks the area */
    float *sum_area[2];
    pthread_barrier_t barrier;
} cnn_team;

/* `requested` threads, or every online core when 0; never more than the batch. */
int cnn_thread_count(const cnn_model *m, int requested);

/* Creates the pool and the per-thread buffers; each thread zeroes its own buffers first so
 * that their pages live near the core that uses them. */
int cnn_team_init(cnn_team *t, const cnn_model *m, int threads, int training);
void cnn_team_free(cnn_team *t);

/* Under a collective, each pass works on this process's share of the batch, and the sums of
 * the losses, of the counts and of the gradient are over every process's share.
 *
 * A training step in three passes, so that the trainer can look at the loss and at the
 * gradient before the parameters change:
 *   forward and backward of n <= batch images in training mode on every thread: returns the
 *   sum of the per-image losses (NaN when any is) and sets *correct;
 *   the reduction of the threads' gradients into t->grad, in thread order whatever the
 *   split (so a run is bit-for-bit repeatable for a given thread count): returns the
 *   gradient's L2 norm (not finite when any element is not);
 *   the optimizer step `step` (counting from 1), each thread on its own range, at the
 *   learning rate of the step (the schedule's), the gradient multiplied by grad_scale
 *   (global_clipnorm's min(1, clipnorm / norm), from the norm the reduction returned). */
double cnn_team_forward_backward(cnn_team *t, const float *params, const float *x,
                                 const unsigned char *labels, int n, uint64_t dropout_key,
                                 int *correct);
double cnn_team_reduce(cnn_team *t);
/* Returns -1 (after a message) for a model without update_apply asked for a rate other than
 * its own or a gradient scale. */
int cnn_team_update(cnn_team *t, float *params, float *opt_m, float *opt_v, long step, double learning_rate,
                    float grad_scale);
/* Training passes move each image as `a` says (NULL: they do not) before forward, each thread
 * its own slice; a->ids and a->epoch are read at every pass, so the caller updates them in
 * place. Returns -1 when the buffer of the moved images cannot be allocated. */
int cnn_team_set_augment(cnn_team *t, const cnn_augment *a);
/* The first two together: leaves the mean gradient in t->grad, returns the loss sum. */
double cnn_team_train_step(cnn_team *t, const float *params, const float *x,
                           const unsigned char *labels, int n, uint64_t dropout_key, int *correct);

/* Forward of n <= batch images in evaluation mode; fills t->image_loss and t->image_pred. */
void cnn_team_eval_batch(cnn_team *t, const float *params, const float *x,
                         const unsigned char *labels, int n);

#endif
