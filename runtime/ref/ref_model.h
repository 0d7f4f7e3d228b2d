/*
 * ref/ref_model.h - a whole network run layer by layer with the reference layers, from a small
 * description written by hand: the end-to-end oracle for a generated model.
 *
 * The description repeats what a model file says, and the network works out the shapes, the
 * Keras `same` padding and the parameter layout on its own, without the compiler, so that a
 * test compares the generated code with an independent computation. The parameter layout is
 * that of cnn_model.h: each layer's kernel then its bias (batchnorm's gamma then beta), in model
 * order, in one flat array, then the state (each batchnorm's moving mean and variance).
 */
#ifndef REF_MODEL_H
#define REF_MODEL_H

#include <stddef.h>

#include "ref_layers.h"

typedef enum ref_layer_kind {
    REF_CONV2D,
    REF_MAXPOOL2D,
    REF_AVGPOOL2D,
    REF_FLATTEN,
    REF_DENSE,
    REF_DROPOUT,
    REF_ACTIVATION, /* relu, sigmoid, tanh or softmax on its own */
    REF_ADD,
    REF_CONCAT,
    REF_GLOBALAVGPOOL2D,
    REF_BATCHNORM,
} ref_layer_kind;

/* One layer as the model file writes it. Unused fields stay zero. */
typedef struct ref_layer_desc {
    ref_layer_kind kind;
    int units;          /* conv2d filters, dense units */
    int kh, kw;         /* conv2d kernel or pool window */
    int sh, sw;         /* strides; 0 means the window size for pools and 1 for conv2d */
    int same;           /* padding=same */
    ref_activation act; /* conv2d's and dense's activation, or the standalone activation */
    int no_bias;        /* use_bias=false; batchnorm's center=false */
    int no_scale;       /* batchnorm's scale=false */
    double momentum, epsilon; /* batchnorm's; 0 means the defaults 0.99 and 0.001 */
    double rate;        /* dropout */
    /* What it reads, as the model file's from= and with= say: 0 is the layer before it (the
     * input for the first), k > 0 the k-th layer (from 1), -1 the model's input. add and
     * concat read `with` as their second input. */
    int from, with;
    const char *name;   /* name=, where the model file gives one (NULL: <kind>_<n>) */
} ref_layer_desc;

enum ref_loss { REF_LOSS_XENT, REF_LOSS_MSE };

typedef struct ref_net_desc {
    int in_h, in_w, in_c;
    const ref_layer_desc *layers;
    int nlayers;
    int loss; /* enum ref_loss */
} ref_net_desc;

/* A layer of a built network: its resolved shapes, its place in the parameters and its buffers. */
typedef struct ref_net_layer {
    ref_layer_desc d;
    int in_h, in_w, in_c, out_h, out_w, out_c;
    ref_conv2d conv;
    ref_pool2d pool;
    size_t kernel_offset, kernel_count, bias_offset, bias_count;
    float *out;    /* [batch][out] after the layer's activation */
    float *mask;   /* dropout: [batch][out], filled by the caller before a training forward */
    int inputs[2]; /* the layers it reads (-1: the input), the second for add and concat */
    int ninputs;
    int in2_c;     /* concat: the second input's channels */
    float *dout;   /* [batch][out]: the gradient of its output, summed over its readers */
    size_t state_offset; /* batchnorm: its moving mean, then its moving variance, in params */
    float *mean, *var;   /* batchnorm: the last training forward's batch statistics [c] */
} ref_net_layer;

typedef struct ref_net {
    ref_net_desc desc;
    int batch;
    ref_net_layer *layers;
    float *input;           /* [batch][in] copy of the last forward's input */
    size_t num_params;      /* trainable */
    size_t num_state;       /* after them: the moving statistics */
    size_t in_size;
    int classes;            /* the last layer's output size */
    int training;           /* whether the last forward applied the dropout masks */
    float *grad_a, *grad_b; /* two [batch][largest activation] buffers for backward */
} ref_net;

/* Resolves shapes and the parameter layout. Returns 0, or -1 with a message on stderr when
 * a window does not fit its input or memory runs out. */
int ref_net_init(ref_net *net, const ref_net_desc *desc, int batch);
void ref_net_free(ref_net *net);

/* Runs n <= batch images. With training set, each dropout layer multiplies by its mask and each
 * batchnorm normalises with the statistics of the n images. params holds num_params +
 * num_state floats. */
void ref_net_forward(ref_net *net, const float *params, const float *x, int n, int training);
/* After a training forward: each batchnorm's moving statistics move towards the batch's. */
void ref_net_update_state(ref_net *net, float *params);
/* The [n][classes] outputs of the last forward. */
const float *ref_net_output(const ref_net *net);
/* After a forward of the same n images: grads = scale * d(sum of the n losses)/d(params);
 * returns the sum of the n losses. Cross-entropy after a final softmax uses the fused
 * gradient probs - onehot, as the generated code does. */
double ref_net_backward(ref_net *net, const float *params, float *grads,
                        const unsigned char *labels, int n, float scale);

#endif
