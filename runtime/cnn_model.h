/*
 * cnn_model.h - the interface between a model that cnnc generated and the runtime.
 *
 * The generated <name>.c defines one `const cnn_model <name>_model`; the runtime's trainer,
 * evaluator, checkpoint code and benchmark take it and know nothing else about the network.
 * Plain C99 (and <math.h> for the losses), so that generated code compiles with -std=c99 -pedantic.
 *
 * Memory layout shared by both sides:
 * - params, grads and each optimizer moment are flat float arrays of num_params, holding the
 *   tensors in model order (each layer's kernel, then its bias), at tensors[i].offset. params
 *   goes on with num_state floats of state that is not trained (batchnorm's moving statistics,
 *   state_tensors), so it holds cnn_param_floats() floats.
 *   A conv2d kernel is [KH][KW][CIN][COUT] and a dense kernel [IN][OUT], as in Keras.
 * - a workspace is workspace_floats floats, private to one thread, that holds one batch's
 *   activations, what backward needs from forward, and the gradients flowing back.
 * - inputs are float [n][H][W][C], pixels already scaled to [0, 1].
 */
#ifndef CNN_MODEL_H
#define CNN_MODEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define CNN_MAX_DIMS 4

typedef struct cnn_tensor {
    const char *name;   /* "conv2d_1.kernel", the checkpoint name */
    int ndim;
    int shape[CNN_MAX_DIMS];
    size_t offset;      /* in floats, into params / grads / moments */
    size_t count;       /* floats */
    int fan_in, fan_out; /* for initialisation: conv KH*KW*CIN and KH*KW*COUT, dense IN and OUT */
    int is_bias;
    int init_ones;      /* starts at one (batchnorm's gamma and moving_variance) */
} cnn_tensor;

/* The threads that split a batch meet where a pass needs a sum over the whole batch (batchnorm's
 * statistics in training). The runtime hands each slice its own; a call that has the whole batch
 * passes NULL. */
typedef struct cnn_sync cnn_sync;
struct cnn_sync {
    /* total[count] = the sum over every image of the batch of part[image][count], part holding
     * this slice's n images. Every slice calls it at the same points with the same count, and the
     * images are added in order, as cnn_sum_images adds them: the same floats whatever the split. */
    void (*batch_sum)(const cnn_sync *s, const float *part, int n, int count, float *total);
    int images;         /* in the whole batch */
    int first;          /* this slice's first image */
    int slice;          /* which slice this is */
    void *runtime;      /* the runtime's */
};

/* total[c] = the sum of part[b][c] over images b in order, in double, then rounded once. */
static inline void cnn_sum_images(const float *part, int images, int count, float *total)
{
    for (int c = 0; c < count; c++) {
        double sum = 0.0;
        for (int b = 0; b < images; b++)
            sum += part[(size_t)b * (size_t)count + (size_t)c];
        total[c] = (float)sum;
    }
}

enum cnn_dataset_kind { CNN_DATASET_MNIST, CNN_DATASET_FASHION_MNIST, CNN_DATASET_IDX };
enum cnn_loss { CNN_LOSS_SPARSE_XENT, CNN_LOSS_MSE };
enum cnn_optimizer { CNN_OPT_SGD, CNN_OPT_ADAM, CNN_OPT_ADAMW, CNN_OPT_RMSPROP };
enum cnn_schedule { CNN_SCHED_CONSTANT, CNN_SCHED_EXPONENTIAL, CNN_SCHED_COSINE, CNN_SCHED_PLATEAU };
enum cnn_validation { CNN_VALID_TEST, CNN_VALID_SPLIT, CNN_VALID_NONE };
enum cnn_init { CNN_INIT_GLOROT_UNIFORM, CNN_INIT_HE_NORMAL, CNN_INIT_HE_UNIFORM };

/* The model file's train block, resolved. */
typedef struct cnn_train_config {
    int dataset;                 /* enum cnn_dataset_kind */
    const char *idx_paths[4];    /* CNN_DATASET_IDX: train images, train labels, test images, test labels */
    int loss;                    /* enum cnn_loss */
    int optimizer;               /* enum cnn_optimizer */
    double learning_rate, momentum, beta_1, beta_2, epsilon;
    int nesterov;
    int epochs;
    int validation;              /* enum cnn_validation */
    double split;
    long long seed;
    int shuffle;
    int init;                    /* enum cnn_init */
    /* Contract version 2 (zero where a model does not set them). */
    double weight_decay;         /* adamw */
    double rho;                  /* rmsprop; its momentum is `momentum` */
    double global_clipnorm;      /* 0: no clipping */
    int schedule;                /* enum cnn_schedule */
    int decay_steps;             /* exponential and cosine decay, in optimizer steps */
    double decay_rate;           /* exponential */
    int staircase;               /* exponential */
    double alpha;                /* cosine */
    double factor, min_delta, min_lr; /* reduce_on_plateau */
    int patience;                /* reduce_on_plateau */
    int early_stopping;          /* early_stopping(...) is set */
    int stop_patience;
    double stop_min_delta;
    int restore_best;
    int augment;                 /* augment(...) is set */
    int shift;                   /* pixels */
    double rotation;             /* degrees */
} cnn_train_config;

/* The loss of one image, defined once: the generated loss_and_gradient (the training loss)
 * and the runtime's evaluation (val_loss, eval) both call these, so that the two losses are
 * the same function of the outputs. */
#define CNN_XENT_EPSILON 1e-7
/* Sparse categorical cross-entropy of an image whose label has the probability p, which is
 * clipped below at 1e-7 before the log, as Keras clips it (Keras also clips above at 1 - 1e-7:
 * that changes a loss by at most 1e-7 but would stop the gradient at p = 1, so it is left
 * out, as the reference layers leave it out). A NaN fails the test and stays NaN, so that a
 * diverged model shows as one and training can stop on it. */
static inline double cnn_xent(double p)
{
    return -log(p < CNN_XENT_EPSILON ? CNN_XENT_EPSILON : p);
}
/* d cnn_xent / dp: -1 / p above the clip, 0 where the clip holds p constant. */
static inline double cnn_xent_grad(double p)
{
    return p >= CNN_XENT_EPSILON ? -1.0 / p : 0.0;
}
/* Mean squared error of the outputs y[classes] against the one-hot label, averaged over the
 * classes as Keras' mean_squared_error does. */
static inline double cnn_mse(const float *y, int classes, int label)
{
    double sum = 0.0;
    for (int c = 0; c < classes; c++) {
        double d = (double)y[c] - (c == label ? 1.0 : 0.0);
        sum += d * d;
    }
    return sum / classes;
}

/* The same numbering as the model language's layer kinds and activations. */
enum cnn_layer_kind {
    CNN_LAYER_CONV2D, CNN_LAYER_MAXPOOL2D, CNN_LAYER_AVGPOOL2D, CNN_LAYER_FLATTEN, CNN_LAYER_DENSE,
    CNN_LAYER_DROPOUT, CNN_LAYER_RELU, CNN_LAYER_SIGMOID, CNN_LAYER_TANH, CNN_LAYER_SOFTMAX,
    CNN_LAYER_ADD, CNN_LAYER_CONCAT, CNN_LAYER_GLOBALAVGPOOL2D, CNN_LAYER_BATCHNORM
};
enum cnn_activation { CNN_ACT_NONE, CNN_ACT_RELU, CNN_ACT_SIGMOID, CNN_ACT_TANH, CNN_ACT_SOFTMAX };

/* The dropout key of a layer's forward run on its own: the benchmark draws the same masks. */
#define CNN_BENCH_DROPOUT_KEY 0x9e3779b97f4a7c15u

/* One layer, resolved, with its passes on their own: what the benchmark times layer by layer
 * and compares with hand-written implementations. Offsets are in floats; -1 where none. */
typedef struct cnn_layer {
    const char *name;            /* "conv2d_1" */
    const char *kind;            /* "conv2d" */
    int kind_id;                 /* enum cnn_layer_kind */
    int in_h, in_w, in_c, out_h, out_w, out_c; /* per image; a flat shape is 1 x 1 x N */
    int kh, kw, sh, sw;          /* conv2d kernel or pool window, and strides */
    int same;                    /* padding=same */
    int pad_top, pad_left, pad_bottom, pad_right;
    int activation;              /* enum cnn_activation: conv2d's, dense's, or the layer itself */
    int units;                   /* conv2d filters, dense units */
    int use_bias;
    double rate;                 /* dropout's rate; batchnorm's epsilon */
    long kernel_offset, bias_offset; /* into params and grads */
    long long macs;              /* multiply-accumulates of the forward pass, per image */
    long in, out, din, dout, aux; /* into the workspace: [batch][...] each */
    /* The loss writes the gradient of the pre-softmax logits into dout (softmax fused with
     * cross-entropy), so backward does not apply the activation again. */
    int grad_is_logits;
    /* The layer's forward over n <= batch images, from ws + in to ws + out (and aux). Dropout
     * runs in training mode with CNN_BENCH_DROPOUT_KEY, image b of the batch being image b. */
    void (*forward)(const float *params, float *ws, int n);
    /* From ws + dout (which it may overwrite) and what forward kept: overwrites ws + din and
     * the layer's own slices of grads. NULL where backward has nothing to do. */
    void (*backward)(const float *params, float *grads, float *ws, int n);
    /* The outputs it reads: 1, or 2 for add and concat, whose second input and its gradient are
     * in2 and din2 (-1 elsewhere, and din2 -1 where no gradient flows back). */
    int ninputs;
    long in2, din2;
} cnn_layer;

typedef struct cnn_model {
    const char *name;            /* "mnist_cnn" */
    const char *cnnc_version;
    int batch;                   /* compiled batch size: forward/backward take n <= batch */
    int in_h, in_w, in_c;
    int classes;                 /* outputs per image */
    size_t in_size;              /* in_h * in_w * in_c */
    size_t num_params;
    int num_tensors;
    const cnn_tensor *tensors;
    size_t workspace_floats;     /* per thread */
    cnn_train_config train;

    /* Forward pass over n <= batch images, the images [first, first + n) of a batch. `training`
     * enables dropout and batchnorm's batch statistics; the dropout mask of image b is a pure
     * function of (dropout_key, first + b), and batch statistics are summed through sync, so
     * that results do not depend on how a batch is split across threads. sync is NULL when this
     * call has the whole batch (or outside training). */
    void (*forward)(const float *params, float *ws, const float *x, int n, int training,
                    uint64_t dropout_key, int first, const cnn_sync *sync);
    /* The [n][classes] outputs of the last forward (probabilities after a softmax). */
    const float *(*output)(const float *ws);
    /* After forward on the same ws: overwrites grads with scale * d(sum of the n losses)/d(params)
     * and returns the sum of the n per-image losses (the caller divides by the batch). */
    double (*backward)(const float *params, float *grads, float *ws, const float *x,
                       const unsigned char *labels, int n, float scale, const cnn_sync *sync);
    /* One optimizer step; `step` counts from 1. m and v are unused (may be NULL) where the
     * optimizer has no such state. */
    void (*update)(float *params, const float *grads, float *m, float *v, long step);

    /* Every layer in model order, for the benchmark. Last, so that initializers written
     * before it existed stay valid. */
    int num_layers;
    const cnn_layer *layers;
    /* update restricted to the parameters [lo, hi), so that each training thread updates the
     * range of the gradient it reduced; NULL where only update exists. */
    void (*update_range)(float *params, const float *grads, float *m, float *v, long step,
                         size_t lo, size_t hi);
    /* The target the code was generated for ("avx512", "avx2", "x86-64", "neon", "generic");
     * NULL in code generated before targets existed. */
    const char *target;
    /* State that is not trained, after the num_params parameters in params: batchnorm's moving
     * statistics. update_state moves it, once a training step, from a training forward's
     * workspace (any thread's). 0 and NULL where the model has none. */
    size_t num_state;
    int num_state_tensors;
    const cnn_tensor *state_tensors;
    void (*update_state)(float *params, const float *ws);
    /* The most floats per image that a pass sums through cnn_sync (0: none does). */
    int batch_sum_floats;
    /* update_range at a learning rate given at run time (the schedule's value of the step),
     * with the gradient multiplied by grad_scale (global_clipnorm's min(1, clipnorm / norm);
     * ignored by a model without it). update and update_range step at the model's rate. */
    void (*update_apply)(float *params, const float *grads, float *m, float *v, long step,
                         double learning_rate, float grad_scale, size_t lo, size_t hi);
} cnn_model;

/* The floats of params: the parameters and the state after them. */
static inline size_t cnn_param_floats(const cnn_model *m)
{
    return m->num_params + m->num_state;
}

#endif
