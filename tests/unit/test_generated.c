/*
 * test_generated.c - the numerical test of one model that cnnc generated, through the
 * cnn_model interface only. Compiled once per test model with -DMODEL_SYM=<name>_model and
 * linked with the generated <name>.c, the reference layers and the runtime.
 *
 * For each model it checks, printing `ok MODEL CHECK` or `FAIL MODEL CHECK`:
 *   layout    the tensor table (names, shapes, offsets) and the train block against the
 *             description below, which repeats the model file by hand;
 *   forward   the outputs against the reference network (runtime/ref/ref_model.c), for a full
 *             batch and for a partial batch that starts at the second image;
 *   backward  the summed loss and every parameter gradient against the reference, and that
 *             `scale` scales them, for a full and a partial batch;
 *   gradcheck every parameter's gradient against central differences of the loss computed
 *             from the generated outputs, in training mode (dropout with a fixed key);
 *   update    two optimizer steps against the reference optimizer;
 *   dropout   (models with dropout) masks that depend on the key and the image index only,
 *             and the training-mode outputs and gradients against the reference given the
 *             same masks, read off the outputs (dropout last, where the rate is checked too)
 *             or off the next dense layer's gradients (dropout inside).
 *
 * The seed models under models/ run too, on four images and a sample of their parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "cnn_model.h"
#include "ref_model.h"
#include "tensor_check.h"

#ifndef MODEL_SYM
#error "compile with -DMODEL_SYM=<name>_model"
#endif
extern const cnn_model MODEL_SYM;

/* ------------------------------------------------------------------ the test models, by hand */

/* The optimizer the train block of a test model asks for, with Keras' defaults filled in by
 * hand (the loss is in the network's description). */
typedef struct expected_train {
    int optimizer;
    double learning_rate, momentum;
    int nesterov;
    double beta_1, beta_2, epsilon;
} expected_train;

typedef struct model_spec {
    const char *name;
    ref_net_desc net;
    expected_train train;
} model_spec;

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define CONV(f, h, w, s_h, s_w, same_, act_, nobias)                                            \
    {.kind = REF_CONV2D, .units = (f), .kh = (h), .kw = (w), .sh = (s_h), .sw = (s_w),         \
     .same = (same_), .act = (act_), .no_bias = (nobias)}
#define POOL(kind_, h, w, s_h, s_w, same_)                                                      \
    {.kind = (kind_), .kh = (h), .kw = (w), .sh = (s_h), .sw = (s_w), .same = (same_)}
#define DENSE(u, act_, nobias) {.kind = REF_DENSE, .units = (u), .act = (act_), .no_bias = (nobias)}
#define ACT(act_) {.kind = REF_ACTIVATION, .act = (act_)}
#define FLATTEN {.kind = REF_FLATTEN}
#define DROPOUT(r) {.kind = REF_DROPOUT, .rate = (r)}
#define BATCHNORM(mom, eps, noscale, nocenter)                                                    \
    {.kind = REF_BATCHNORM, .momentum = (mom), .epsilon = (eps), .no_scale = (noscale), .no_bias = (nocenter)}

#define SGD(lr, mom, nest) {CNN_OPT_SGD, lr, mom, nest, 0, 0, 0}
#define ADAM(lr, b1, b2, eps) {CNN_OPT_ADAM, lr, 0, 0, b1, b2, eps}
#define ADAM_DEFAULT ADAM(0.001, 0.9, 0.999, 1e-7)

static const ref_layer_desc conv_same[] = {
    CONV(3, 4, 4, 2, 2, 1, REF_ACT_RELU, 0),
    CONV(2, 3, 5, 1, 1, 1, REF_ACT_TANH, 1),
    FLATTEN,
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc conv_stride[] = {
    CONV(3, 3, 2, 2, 3, 0, REF_ACT_SIGMOID, 0),
    CONV(4, 2, 2, 1, 1, 1, REF_ACT_NONE, 0),
    FLATTEN,
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc maxpool[] = {
    CONV(3, 2, 2, 1, 1, 0, REF_ACT_TANH, 0),
    POOL(REF_MAXPOOL2D, 3, 3, 2, 2, 1),
    POOL(REF_MAXPOOL2D, 2, 2, 1, 1, 0),
    FLATTEN,
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc avgpool[] = {
    CONV(3, 3, 3, 1, 1, 1, REF_ACT_SIGMOID, 0),
    POOL(REF_AVGPOOL2D, 2, 2, 2, 2, 1),
    POOL(REF_AVGPOOL2D, 3, 3, 2, 2, 0),
    FLATTEN,
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc dense_acts[] = {
    FLATTEN,
    DENSE(6, REF_ACT_RELU, 0),
    DENSE(5, REF_ACT_SIGMOID, 0),
    DENSE(5, REF_ACT_TANH, 1),
    DENSE(4, REF_ACT_NONE, 0),
    ACT(REF_ACT_SOFTMAX),
};
static const ref_layer_desc standalone[] = {
    CONV(3, 3, 3, 1, 1, 0, REF_ACT_NONE, 0),
    ACT(REF_ACT_RELU),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 1),
    ACT(REF_ACT_SIGMOID),
    FLATTEN,
    ACT(REF_ACT_TANH),
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc mse_linear[] = {
    FLATTEN,
    DENSE(8, REF_ACT_TANH, 0),
    DENSE(4, REF_ACT_NONE, 0),
};
static const ref_layer_desc dropout[] = {
    FLATTEN,
    DENSE(12, REF_ACT_RELU, 0),
    DROPOUT(0.5),
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc dropout_last[] = {
    FLATTEN,
    DENSE(4, REF_ACT_TANH, 0),
    DROPOUT(0.25),
};

/* Graphs: from= and with= name layers by their place, from 1 (ref_model.h). */
static const ref_layer_desc residual[] = {
    CONV(3, 3, 3, 1, 1, 1, REF_ACT_RELU, 0),
    CONV(3, 3, 3, 1, 1, 1, REF_ACT_TANH, 0),
    {.kind = REF_ADD, .with = 1},
    {.kind = REF_CONV2D, .units = 5, .kh = 1, .kw = 1, .act = REF_ACT_NONE, .from = 1},
    {.kind = REF_CONCAT, .with = 3},
    {.kind = REF_GLOBALAVGPOOL2D},
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc batchnorm[] = {
    BATCHNORM(0, 0, 1, 0),
    CONV(4, 3, 3, 1, 1, 1, REF_ACT_NONE, 1),
    BATCHNORM(0, 0, 0, 0),
    ACT(REF_ACT_TANH),
    CONV(4, 3, 3, 1, 1, 1, REF_ACT_NONE, 1),
    BATCHNORM(0.9, 0.01, 0, 0),
    {.kind = REF_ADD, .with = 4},
    ACT(REF_ACT_SIGMOID),
    {.kind = REF_GLOBALAVGPOOL2D},
    DENSE(5, REF_ACT_NONE, 1),
    BATCHNORM(0, 0, 0, 1),
    ACT(REF_ACT_TANH),
    DENSE(3, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc inception[] = {
    {.kind = REF_CONV2D, .units = 4, .kh = 3, .kw = 3, .same = 1, .act = REF_ACT_RELU, .name = "stem"},
    {.kind = REF_CONV2D, .units = 3, .kh = 1, .kw = 1, .act = REF_ACT_TANH, .no_bias = 1, .name = "b1"},
    {.kind = REF_CONV2D, .units = 2, .kh = 1, .kw = 1, .act = REF_ACT_TANH, .from = 1},
    {.kind = REF_CONV2D, .units = 3, .kh = 3, .kw = 3, .same = 1, .act = REF_ACT_TANH, .no_bias = 1, .name = "b3"},
    {.kind = REF_MAXPOOL2D, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .same = 1, .from = 1},
    {.kind = REF_CONV2D, .units = 2, .kh = 1, .kw = 1, .act = REF_ACT_TANH, .no_bias = 1, .name = "bp"},
    {.kind = REF_CONCAT, .from = 2, .with = 4},
    {.kind = REF_CONCAT, .with = 6},
    BATCHNORM(0, 0, 0, 0),
    ACT(REF_ACT_TANH),
    {.kind = REF_GLOBALAVGPOOL2D},
    DENSE(4, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc resnet_mnist[] = {
    CONV(32, 3, 3, 1, 1, 1, REF_ACT_NONE, 1),
    BATCHNORM(0, 0, 0, 0),
    {.kind = REF_ACTIVATION, .act = REF_ACT_RELU, .name = "stem"},
    CONV(32, 3, 3, 1, 1, 1, REF_ACT_NONE, 1),
    BATCHNORM(0, 0, 0, 0),
    ACT(REF_ACT_RELU),
    CONV(32, 3, 3, 1, 1, 1, REF_ACT_NONE, 1),
    BATCHNORM(0, 0, 0, 0),
    {.kind = REF_ADD, .with = 3},
    ACT(REF_ACT_RELU),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    {.kind = REF_GLOBALAVGPOOL2D},
    DENSE(10, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc concat[] = {
    CONV(2, 2, 2, 1, 1, 0, REF_ACT_TANH, 0),
    FLATTEN,
    DENSE(5, REF_ACT_RELU, 0),
    {.kind = REF_GLOBALAVGPOOL2D, .from = 1},
    {.kind = REF_CONCAT, .with = 3},
    {.kind = REF_ADD, .with = 5},
    DENSE(4, REF_ACT_SOFTMAX, 0),
};

/* The seed models under models/, as their files say. */
static const ref_layer_desc dense_simd[] = {
    FLATTEN,
    DENSE(16, REF_ACT_RELU, 0),
    DENSE(32, REF_ACT_TANH, 1),
    DENSE(48, REF_ACT_SIGMOID, 0),
    DENSE(10, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc conv_simd[] = {
    CONV(16, 3, 3, 1, 1, 1, REF_ACT_RELU, 0),
    CONV(32, 3, 3, 1, 1, 1, REF_ACT_NONE, 0),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    CONV(16, 2, 2, 1, 1, 0, REF_ACT_RELU, 0),
    FLATTEN,
    DENSE(16, REF_ACT_RELU, 0),
    DENSE(3, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc winograd[] = {
    CONV(36, 3, 3, 1, 1, 1, REF_ACT_RELU, 0),
    CONV(33, 3, 3, 1, 1, 1, REF_ACT_TANH, 0),
    CONV(16, 3, 3, 1, 1, 0, REF_ACT_RELU, 1),
    FLATTEN,
    DENSE(3, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc mnist_cnn[] = {
    CONV(32, 3, 3, 1, 1, 0, REF_ACT_RELU, 0),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    CONV(64, 3, 3, 1, 1, 0, REF_ACT_RELU, 0),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    FLATTEN,
    DENSE(64, REF_ACT_RELU, 0),
    DENSE(10, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc lenet5[] = {
    CONV(6, 5, 5, 1, 1, 1, REF_ACT_TANH, 0),
    POOL(REF_AVGPOOL2D, 2, 2, 2, 2, 0),
    CONV(16, 5, 5, 1, 1, 0, REF_ACT_TANH, 0),
    POOL(REF_AVGPOOL2D, 2, 2, 2, 2, 0),
    FLATTEN,
    DENSE(120, REF_ACT_TANH, 0),
    DENSE(84, REF_ACT_TANH, 0),
    DENSE(10, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc mlp[] = {
    FLATTEN,
    DENSE(256, REF_ACT_RELU, 0),
    DROPOUT(0.2),
    DENSE(128, REF_ACT_RELU, 0),
    DROPOUT(0.2),
    DENSE(10, REF_ACT_SOFTMAX, 0),
};
static const ref_layer_desc fashion_cnn[] = {
    CONV(32, 3, 3, 1, 1, 1, REF_ACT_RELU, 0),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    CONV(64, 3, 3, 1, 1, 0, REF_ACT_RELU, 0),
    POOL(REF_MAXPOOL2D, 2, 2, 2, 2, 0),
    FLATTEN,
    DROPOUT(0.25),
    DENSE(128, REF_ACT_RELU, 0),
    DENSE(10, REF_ACT_SOFTMAX, 0),
};

#define NET(h, w, c, layers, loss) {h, w, c, layers, COUNT(layers), loss}

static const model_spec specs[] = {
    {"t_conv_same", NET(9, 9, 2, conv_same, REF_LOSS_XENT), SGD(0.05, 0.9, 1)},
    {"t_conv_stride", NET(9, 8, 2, conv_stride, REF_LOSS_XENT), ADAM(0.01, 0.8, 0.99, 1e-6)},
    {"t_maxpool", NET(9, 9, 2, maxpool, REF_LOSS_XENT), ADAM_DEFAULT},
    {"t_avgpool", NET(9, 9, 2, avgpool, REF_LOSS_XENT), SGD(0.1, 0, 0)},
    {"t_dense_acts", NET(4, 3, 2, dense_acts, REF_LOSS_XENT), SGD(0.02, 0.5, 0)},
    {"t_standalone", NET(7, 7, 2, standalone, REF_LOSS_MSE), ADAM_DEFAULT},
    {"t_mse_linear", NET(5, 5, 1, mse_linear, REF_LOSS_MSE), SGD(0.1, 0.9, 1)},
    {"t_dropout", NET(4, 4, 1, dropout, REF_LOSS_XENT), ADAM_DEFAULT},
    {"t_dropout_last", NET(4, 4, 1, dropout_last, REF_LOSS_MSE), SGD(0.1, 0, 0)},
    {"t_dense_simd", NET(3, 3, 2, dense_simd, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"t_conv_simd", NET(7, 9, 1, conv_simd, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"t_winograd", NET(13, 14, 2, winograd, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"t_residual", NET(6, 6, 2, residual, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"t_concat", NET(5, 5, 2, concat, REF_LOSS_XENT), SGD(0.05, 0.9, 0)},
    {"t_batchnorm", NET(6, 5, 2, batchnorm, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"t_inception", NET(8, 8, 3, inception, REF_LOSS_XENT), ADAM(0.01, 0.9, 0.999, 1e-7)},
    {"mnist_cnn", NET(28, 28, 1, mnist_cnn, REF_LOSS_XENT), ADAM_DEFAULT},
    {"lenet5", NET(28, 28, 1, lenet5, REF_LOSS_XENT), SGD(0.05, 0.9, 0)},
    {"mlp", NET(28, 28, 1, mlp, REF_LOSS_XENT), ADAM_DEFAULT},
    {"fashion_cnn", NET(28, 28, 1, fashion_cnn, REF_LOSS_XENT), ADAM_DEFAULT},
    {"resnet_mnist", NET(28, 28, 1, resnet_mnist, REF_LOSS_XENT), ADAM_DEFAULT},
};

/* ------------------------------------------------------------------ helpers */

static const cnn_model *M = &MODEL_SYM;
static tc_rng rng = {2024};

/* Tolerances of the comparison with the reference: float sums in another order. */
#define REF_RTOL 1e-4
#define REF_ATOL_FRACTION 1e-5 /* of the largest value of the tensor */

static void report(const char *check, int failures_before)
{
    printf("%s %s %s\n", tc_failures == failures_before ? "ok" : "FAIL", M->name, check);
    fflush(stdout);
}

static void *alloc_or_die(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *floats(size_t n)
{
    return alloc_or_die(n, sizeof(float));
}

static double max_abs(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t k = 0; k < n; k++)
        if (fabs(x[k]) > m)
            m = fabs(x[k]);
    return m;
}

/* Compares a generated tensor with the reference's, relative to the reference's scale. */
static int close_to_ref(const char *what, const float *got, const float *want, size_t n)
{
    return tc_close(what, got, want, n, REF_RTOL, REF_ATOL_FRACTION * max_abs(want, n) + 1e-7);
}

static double loss_of_outputs(const float *out, const unsigned char *labels, int n)
{
    if (M->train.loss == CNN_LOSS_MSE)
        return ref_mse_loss(n, M->classes, out, labels, NULL, 1.0f);
    return ref_xent_loss(n, M->classes, out, labels, NULL, 1.0f);
}

static int has_dropout(const model_spec *s)
{
    for (int i = 0; i < s->net.nlayers; i++)
        if (s->net.layers[i].kind == REF_DROPOUT)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ layout */

static void check_layout(const model_spec *s, const ref_net *net)
{
    int before = tc_failures;
    TC_EXPECT(M->in_h == s->net.in_h && M->in_w == s->net.in_w && M->in_c == s->net.in_c);
    TC_EXPECT(M->in_size == net->in_size);
    TC_EXPECT(M->classes == net->classes);
    TC_EXPECT(M->batch >= 2);
    TC_EXPECT(M->num_params == net->num_params);
    TC_EXPECT(M->num_state == net->num_state);

    /* Layers are named <kind>_<n>, counting each kind from 1. */
    int conv_n = 0, dense_n = 0, bn_n = 0, t = 0;
    for (int i = 0; i < s->net.nlayers; i++) {
        const ref_net_layer *l = &net->layers[i];
        int bn = l->d.kind == REF_BATCHNORM;
        char layer[64], name[80];
        if (l->d.kind == REF_CONV2D)
            snprintf(layer, sizeof layer, "conv2d_%d", ++conv_n);
        else if (l->d.kind == REF_DENSE)
            snprintf(layer, sizeof layer, "dense_%d", ++dense_n);
        else if (bn)
            snprintf(layer, sizeof layer, "batchnorm_%d", ++bn_n);
        else
            continue;
        if (l->d.name)
            snprintf(layer, sizeof layer, "%s", l->d.name);
        for (int bias = l->kernel_count == 0; bias <= (l->bias_count > 0); bias++, t++) {
            snprintf(name, sizeof name, "%s.%s", layer, bn ? (bias ? "beta" : "gamma") : bias ? "bias" : "kernel");
            if (t >= M->num_tensors) {
                fprintf(stderr, "tensor %s is missing (the model has %d)\n", name, M->num_tensors);
                tc_failures++;
                break;
            }
            const cnn_tensor *ct = &M->tensors[t];
            int shape[4] = {0}, ndim;
            if (bias || bn) {
                ndim = 1;
                shape[0] = l->out_c;
            } else if (l->d.kind == REF_CONV2D) {
                ndim = 4;
                shape[0] = l->conv.kh, shape[1] = l->conv.kw;
                shape[2] = l->in_c, shape[3] = l->out_c;
            } else {
                ndim = 2;
                shape[0] = l->in_c, shape[1] = l->out_c;
            }
            int same_shape = ct->ndim == ndim;
            for (int d = 0; d < ndim && same_shape; d++)
                same_shape = ct->shape[d] == shape[d];
            size_t offset = bias ? l->bias_offset : l->kernel_offset;
            size_t count = bias ? l->bias_count : l->kernel_count;
            if (!ct->name || strcmp(ct->name, name) != 0 || !same_shape || ct->offset != offset ||
                ct->count != count || !ct->is_bias != !bias || !ct->init_ones != !(bn && !bias)) {
                fprintf(stderr, "tensor %d: got %s (ndim %d, offset %zu, count %zu, is_bias %d), "
                        "want %s (ndim %d, offset %zu, count %zu)\n",
                        t, ct->name ? ct->name : "(null)", ct->ndim, ct->offset, ct->count,
                        ct->is_bias, name, ndim, offset, count);
                tc_failures++;
            }
        }
    }
    TC_EXPECT(M->num_tensors == t);
    /* The state: each batchnorm's moving mean and variance, in model order after the parameters. */
    int st = 0;
    bn_n = 0;
    for (int i = 0; i < s->net.nlayers; i++) {
        const ref_net_layer *l = &net->layers[i];
        if (l->d.kind != REF_BATCHNORM)
            continue;
        bn_n++;
        for (int k = 0; k < 2; k++, st++) {
            char name[80];
            snprintf(name, sizeof name, "batchnorm_%d.%s", bn_n, k ? "moving_variance" : "moving_mean");
            const cnn_tensor *ct = st < M->num_state_tensors ? &M->state_tensors[st] : NULL;
            if (!ct || strcmp(ct->name, name) != 0 || ct->ndim != 1 || ct->shape[0] != l->in_c ||
                ct->offset != l->state_offset + (size_t)k * l->in_c || ct->count != (size_t)l->in_c ||
                !ct->init_ones != !k || !ct->is_bias != !!k) {
                fprintf(stderr, "state tensor %d: got %s, want %s at %zu\n", st, ct ? ct->name : "(none)", name,
                        l->state_offset + (size_t)k * l->in_c);
                tc_failures++;
            }
        }
    }
    TC_EXPECT(M->num_state_tensors == st);
    TC_EXPECT((M->update_state != NULL) == (st > 0));

    const expected_train *e = &s->train;
    int loss = s->net.loss == REF_LOSS_MSE ? CNN_LOSS_MSE : CNN_LOSS_SPARSE_XENT;
    TC_EXPECT(M->train.loss == loss);
    TC_EXPECT(M->train.optimizer == e->optimizer);
    tc_close1("learning_rate", M->train.learning_rate, e->learning_rate, 1e-12, 0);
    if (e->optimizer == CNN_OPT_SGD) {
        tc_close1("momentum", M->train.momentum, e->momentum, 1e-12, 0);
        TC_EXPECT(!M->train.nesterov == !e->nesterov);
    } else {
        tc_close1("beta_1", M->train.beta_1, e->beta_1, 1e-12, 0);
        tc_close1("beta_2", M->train.beta_2, e->beta_2, 1e-12, 0);
        tc_close1("epsilon", M->train.epsilon, e->epsilon, 1e-12, 0);
    }
    report("layout", before);
}

/* ------------------------------------------------------------------ forward and backward */

typedef struct fixture {
    ref_net net;
    float *params, *x, *ws, *grads, *ref_grads;
    unsigned char *labels;
    int n;
} fixture;

/* Always on a full batch, so that every buffer of the workspace is used to its end. */
static void check_forward(fixture *f)
{
    int before = tc_failures;
    int n = M->batch;
    size_t out_count = (size_t)n * M->classes;
    M->forward(f->params, f->ws, f->x, n, 0, 0, 0, NULL);
    ref_net_forward(&f->net, f->params, f->x, n, 0);
    close_to_ref("outputs", M->output(f->ws), ref_net_output(&f->net), out_count);

    /* A partial batch from the second image on gives those images' rows again. */
    float *full = floats(out_count);
    memcpy(full, M->output(f->ws), sizeof *full * out_count);
    M->forward(f->params, f->ws, f->x + M->in_size, n - 1, 0, 0, 1, NULL);
    close_to_ref("outputs of a partial batch", M->output(f->ws), full + M->classes,
                 out_count - M->classes);
    free(full);
    report("forward", before);
}

/* Without dropout or batchnorm, training computes the same function as evaluation, through
 * the passes that train: a conv2d may take Winograd's F(4x4, 3x3) there
 * (compiler/emit/winograd.c) where evaluation keeps the direct convolution. Against the
 * reference, a full batch and a partial one. */
static void check_training_forward(fixture *f)
{
    int before = tc_failures;
    int n = M->batch;
    size_t out_count = (size_t)n * M->classes;
    M->forward(f->params, f->ws, f->x, n, 1, 0, 0, NULL);
    ref_net_forward(&f->net, f->params, f->x, n, 0);
    close_to_ref("outputs in training mode", M->output(f->ws), ref_net_output(&f->net), out_count);
    M->forward(f->params, f->ws, f->x + M->in_size, n - 1, 1, 0, 1, NULL);
    close_to_ref("outputs of a partial batch in training mode", M->output(f->ws),
                 ref_net_output(&f->net) + M->classes, out_count - M->classes);
    report("forward in training mode", before);
}

/* Backward of the n images from `first` on, against the reference: the summed loss, every
 * tensor's gradient, and that `scale` scales them. In evaluation mode, but for batchnorm,
 * whose backward is that of training (the batch's statistics). */
static void compare_backward(fixture *f, int first, int n)
{
    const float *x = f->x + (size_t)first * M->in_size;
    const unsigned char *labels = f->labels + first;
    int training = M->num_state > 0;
    M->forward(f->params, f->ws, x, n, training, 7, first, NULL);
    ref_net_forward(&f->net, f->params, x, n, training);
    double loss = M->backward(f->params, f->grads, f->ws, x, labels, n, 1.0f, NULL);
    double ref_loss = ref_net_backward(&f->net, f->params, f->ref_grads, labels, n, 1.0f);
    tc_close1("summed loss", loss, ref_loss, 1e-5, 1e-7);
    for (int t = 0; t < M->num_tensors; t++) {
        const cnn_tensor *ct = &M->tensors[t];
        if (ct->offset + ct->count <= M->num_params)
            close_to_ref(ct->name, f->grads + ct->offset, f->ref_grads + ct->offset, ct->count);
    }

    /* Backward overwrites the gradients, so a second call with scale 0.25 gives a quarter of
     * the first. */
    float *quarter = floats(M->num_params);
    for (size_t k = 0; k < M->num_params; k++)
        quarter[k] = 0.25f * f->grads[k];
    M->forward(f->params, f->ws, x, n, training, 7, first, NULL);
    double loss2 = M->backward(f->params, f->grads, f->ws, x, labels, n, 0.25f, NULL);
    tc_close("gradients with scale 0.25", f->grads, quarter, M->num_params, 1e-5,
             1e-7 * (1 + max_abs(quarter, M->num_params)));
    tc_close1("loss does not depend on scale", loss2, loss, 1e-6, 0);
    free(quarter);
}

/* In evaluation mode, so only for models without dropout (see check_dropout_last). */
static void check_backward(fixture *f)
{
    int before = tc_failures;
    compare_backward(f, 0, f->n);
    report("backward", before);
    before = tc_failures;
    compare_backward(f, 1, f->n - 1);
    report("backward of a partial batch", before);
}

/* ------------------------------------------------------------------ finite differences */

#define FD_EPS 1e-3
#define FD_RTOL 2e-2
#define FD_ATOL 2e-3
/* A model bigger than this is checked on four images (two for finite differences) and a
 * sample of its parameters, to keep the suite fast; the comparison with the reference still
 * covers every gradient. */
#define FD_SMALL_MODEL 5000

static double loss_at(fixture *f, int n)
{
    M->forward(f->params, f->ws, f->x, n, 1, 99, 0, NULL);
    return loss_of_outputs(M->output(f->ws), f->labels, n);
}

/* Every parameter's gradient (an even sample of 60 in a big model) against central
 * differences. Where the two one-sided differences disagree, the step crossed a kink of relu
 * or a change of max-pool winner and the central difference means nothing: such parameters
 * are skipped, and more than a fifth of them skipped (a half with batchnorm) is a failure. */
static void check_gradients_fd(fixture *f)
{
    int before = tc_failures;
    int big = M->num_params > FD_SMALL_MODEL;
    int n = big ? 2 : f->n;
    M->forward(f->params, f->ws, f->x, n, 1, 99, 0, NULL);
    M->backward(f->params, f->grads, f->ws, f->x, f->labels, n, 1.0f, NULL);
    double base = loss_at(f, n);
    size_t stride = big ? M->num_params / 60 + 1 : 1;
    size_t checked = 0, skipped = 0, bad = 0;
    double worst = 0.0;
    /* Start the sample inside the first tensor and let the stride walk through all of them. */
    for (size_t k = big ? 7 : 0; k < M->num_params; k += stride) {
        float saved = f->params[k];
        float up = (float)(saved + FD_EPS), down = (float)(saved - FD_EPS);
        f->params[k] = up;
        double lu = loss_at(f, n);
        f->params[k] = down;
        double ld = loss_at(f, n);
        f->params[k] = saved;
        double right = (lu - base) / ((double)up - saved), left = (base - ld) / ((double)saved - down);
        double central = (lu - ld) / ((double)up - down);
        checked++;
        if (fabs(right - left) > 0.02 * fabs(central) + 1e-3) {
            skipped++;
            continue;
        }
        double diff = fabs(f->grads[k] - central);
        if (diff > worst)
            worst = diff;
        if (diff > FD_ATOL + FD_RTOL * fabs(central)) {
            if (bad < 5)
                fprintf(stderr, "  param %zu: backward %.6g, finite difference %.6g\n", k,
                        (double)f->grads[k], central);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "gradcheck: %zu of %zu parameters differ; max |diff| %.3g\n", bad,
                checked, worst);
        tc_failures++;
    }
    /* After a batchnorm, activations are centred on relu's kink, and every step moves all of
     * them through the batch's statistics: up to half may sit on one there. */
    if (skipped * (M->num_state > 0 ? 2 : 5) > checked) {
        fprintf(stderr, "gradcheck: %zu of %zu parameters sit on a kink\n", skipped, checked);
        tc_failures++;
    }
    report("gradcheck", before);
}

/* ------------------------------------------------------------------ the optimizer */

static void check_update(const model_spec *s)
{
    int before = tc_failures;
    size_t np = M->num_params;
    float *w = floats(np), *g = floats(np), *m = floats(np), *v = floats(np);
    float *rw = floats(np), *rm = floats(np), *rv = floats(np);
    tc_fill(&rng, w, np, -1, 1);
    tc_fill(&rng, m, np, -0.1, 0.1);
    tc_fill(&rng, v, np, 0, 0.01);
    memcpy(rw, w, sizeof *w * np);
    memcpy(rm, m, sizeof *m * np);
    memcpy(rv, v, sizeof *v * np);
    const expected_train *e = &s->train;
    int uses_m = e->optimizer == CNN_OPT_ADAM || e->momentum != 0.0;
    int uses_v = e->optimizer == CNN_OPT_ADAM;
    for (long step = 1; step <= 2; step++) {
        tc_fill(&rng, g, np, -1, 1);
        M->update(w, g, uses_m ? m : NULL, uses_v ? v : NULL, step);
        if (e->optimizer == CNN_OPT_ADAM)
            ref_adam_step(np, rw, g, rm, rv, step, e->learning_rate, e->beta_1, e->beta_2,
                          e->epsilon);
        else
            ref_sgd_step(np, rw, g, uses_m ? rm : NULL, e->learning_rate, e->momentum,
                         e->nesterov);
    }
    tc_close("params after two steps", w, rw, np, 1e-5, 1e-6);
    if (uses_m)
        tc_close(e->optimizer == CNN_OPT_ADAM ? "m" : "velocity", m, rm, np, 1e-5, 1e-7);
    if (uses_v)
        tc_close("v", v, rv, np, 1e-5, 1e-9);
    report("update", before);
    free(w); free(g); free(m); free(v); free(rw); free(rm); free(rv);
}

/* ------------------------------------------------------------------ dropout */

/* The mask of image b depends on (key, first + b) only, and training differs from evaluation. */
static void check_dropout_keys(fixture *f)
{
    int before = tc_failures;
    size_t out_count = (size_t)f->n * M->classes, row = M->classes;
    float *a = floats(out_count), *b = floats(out_count);
    M->forward(f->params, f->ws, f->x, f->n, 1, 5, 0, NULL);
    memcpy(a, M->output(f->ws), sizeof *a * out_count);
    M->forward(f->params, f->ws, f->x, f->n, 1, 5, 0, NULL);
    tc_close("same key, same outputs", M->output(f->ws), a, out_count, 0, 0);
    M->forward(f->params, f->ws, f->x + M->in_size, f->n - 1, 1, 5, 1, NULL);
    tc_close("image index, not batch position, picks the mask", M->output(f->ws), a + row,
             out_count - row, 1e-6, 1e-7);
    M->forward(f->params, f->ws, f->x, f->n, 1, 6, 0, NULL);
    memcpy(b, M->output(f->ws), sizeof *b * out_count);
    TC_EXPECT(memcmp(a, b, sizeof *a * out_count) != 0); /* another key, another mask */
    M->forward(f->params, f->ws, f->x, f->n, 0, 5, 0, NULL);
    TC_EXPECT(memcmp(a, M->output(f->ws), sizeof *a * out_count) != 0);
    report("dropout keys", before);
    free(a);
    free(b);
}

/* With dropout last, outputs in training are the evaluation outputs times the mask, so the
 * mask can be read off; it must hold 0 or 1 / (1 - rate), drop about `rate` of the values, and
 * give the reference's gradients when the reference is handed the same mask. */
static void check_dropout_last(fixture *f)
{
    int before = tc_failures;
    const ref_net_layer *last = &f->net.layers[f->net.desc.nlayers - 1];
    double keep_scale = 1.0 / (1.0 - last->d.rate);
    size_t out_count = (size_t)f->n * M->classes;
    float *eval = floats(out_count);
    size_t dropped = 0, seen = 0, strange = 0;
    for (uint64_t key = 1; key <= 40; key++) {
        M->forward(f->params, f->ws, f->x, f->n, 0, key, 0, NULL);
        memcpy(eval, M->output(f->ws), sizeof *eval * out_count);
        M->forward(f->params, f->ws, f->x, f->n, 1, key, 0, NULL);
        const float *train = M->output(f->ws);
        for (size_t k = 0; k < out_count; k++) {
            if (fabs(eval[k]) < 1e-3)
                continue;
            double ratio = train[k] / eval[k];
            seen++;
            if (fabs(ratio) < 1e-5)
                dropped++;
            else if (fabs(ratio - keep_scale) > 1e-5)
                strange++;
        }
    }
    if (strange) {
        fprintf(stderr, "%zu of %zu outputs are neither dropped nor scaled by %g\n", strange, seen,
                keep_scale);
        tc_failures++;
    }
    /* Binomial(seen, rate): mean rate * seen, and 0.5 either side is far outside chance. */
    if (seen < 100 || dropped < 0.5 * last->d.rate * seen || dropped > 1.5 * last->d.rate * seen) {
        fprintf(stderr, "%zu of %zu outputs dropped at rate %g\n", dropped, seen, last->d.rate);
        tc_failures++;
    }

    /* Training-mode gradients: hand the reference the mask read off key 3. An output that is
     * zero in evaluation hides its mask; the fixture's inputs avoid that (see main). */
    M->forward(f->params, f->ws, f->x, f->n, 0, 3, 0, NULL);
    memcpy(eval, M->output(f->ws), sizeof *eval * out_count);
    M->forward(f->params, f->ws, f->x, f->n, 1, 3, 0, NULL);
    for (size_t k = 0; k < out_count; k++)
        last->mask[k] = fabs(M->output(f->ws)[k]) < 1e-6 * fabs(eval[k]) ? 0.0f : (float)keep_scale;
    ref_net_forward(&f->net, f->params, f->x, f->n, 1);
    close_to_ref("training outputs", M->output(f->ws), ref_net_output(&f->net), out_count);
    double loss = M->backward(f->params, f->grads, f->ws, f->x, f->labels, f->n, 1.0f, NULL);
    double ref_loss = ref_net_backward(&f->net, f->params, f->ref_grads, f->labels, f->n, 1.0f);
    tc_close1("training loss", loss, ref_loss, 1e-5, 1e-7);
    close_to_ref("training gradients", f->grads, f->ref_grads, M->num_params);
    report("dropout rate and gradients", before);
    free(eval);
}

/* Dropout inside the network: its mask cannot be seen in the outputs, but with one image the
 * gradient of the dense layer that follows is the outer product of its input (the dropout's
 * output) and the gradient of its pre-activation, which is that layer's bias gradient. Reading
 * each image's masks from there, the reference can run the same training step and must give
 * the same loss and gradients for the whole batch. Needs every dropout to be followed by a
 * dense layer with a bias; models where that is not so skip the check. */
static void check_dropout_inside(fixture *f)
{
    const ref_net *net = &f->net;
    int nl = net->desc.nlayers;
    for (int d = 0; d < nl; d++)
        if (net->layers[d].d.kind == REF_DROPOUT &&
            (d + 1 >= nl || net->layers[d + 1].d.kind != REF_DENSE || !net->layers[d + 1].bias_count))
            return;
    int before = tc_failures;
    const uint64_t key = 11;
    float **masks = alloc_or_die((size_t)nl, sizeof *masks);
    for (int d = 0; d < nl; d++)
        if (net->layers[d].mask)
            masks[d] = floats((size_t)f->n * net->layers[d].out_c * net->layers[d].out_h * net->layers[d].out_w);
    size_t strange = 0;
    for (int b = 0; b < f->n; b++) {
        const float *x = f->x + (size_t)b * M->in_size;
        M->forward(f->params, f->ws, x, 1, 1, key, b, NULL);
        M->backward(f->params, f->grads, f->ws, x, f->labels + b, 1, 1.0f, NULL);
        for (int d = 0; d < nl; d++) {
            ref_net_layer *l = &net->layers[d];
            if (!l->mask)
                continue;
            /* The dropout's input, from the reference run with the masks read so far. */
            ref_net_forward(&f->net, f->params, x, 1, 1);
            const float *h = d > 0 ? net->layers[d - 1].out : net->input;
            const ref_net_layer *next = &net->layers[d + 1];
            const float *dkernel = f->grads + next->kernel_offset, *dbias = f->grads + next->bias_offset;
            int units = next->out_c, best = 0;
            for (int o = 1; o < units; o++)
                if (fabs(dbias[o]) > fabs(dbias[best]))
                    best = o;
            size_t size = (size_t)l->out_h * l->out_w * l->out_c;
            double keep_scale = 1.0 / (1.0 - l->d.rate), h_scale = max_abs(h, size);
            for (size_t i = 0; i < size; i++) {
                double seen = dkernel[i * units + best] / (double)dbias[best];
                /* A dropped value is exactly zero, and so is its weight gradient. An input of
                 * zero hides its mask, and makes it irrelevant to the step. */
                float mask = seen == 0.0 ? 0.0f : (float)keep_scale;
                /* A kept value is the input times the scale, to float precision where the input
                 * is not a near-cancellation (small against the layer's largest). */
                if (mask != 0.0f && fabs(h[i]) > 1e-2 * h_scale &&
                    fabs(seen / h[i] - keep_scale) > 1e-3 * keep_scale)
                    strange++;
                l->mask[i] = mask;
                masks[d][(size_t)b * size + i] = mask;
            }
        }
    }
    if (strange) {
        fprintf(stderr, "%zu dropout outputs are neither dropped nor scaled by 1 / (1 - rate)\n",
                strange);
        tc_failures++;
    }
    for (int d = 0; d < nl; d++)
        if (masks[d])
            memcpy(net->layers[d].mask, masks[d], sizeof(float) * (size_t)f->n * net->layers[d].out_h *
                                                       net->layers[d].out_w * net->layers[d].out_c);
    M->forward(f->params, f->ws, f->x, f->n, 1, key, 0, NULL);
    ref_net_forward(&f->net, f->params, f->x, f->n, 1);
    close_to_ref("training outputs", M->output(f->ws), ref_net_output(&f->net),
                 (size_t)f->n * M->classes);
    double loss = M->backward(f->params, f->grads, f->ws, f->x, f->labels, f->n, 1.0f, NULL);
    double ref_loss = ref_net_backward(&f->net, f->params, f->ref_grads, f->labels, f->n, 1.0f);
    tc_close1("training loss", loss, ref_loss, 1e-5, 1e-7);
    close_to_ref("training gradients", f->grads, f->ref_grads, M->num_params);
    report("backward (training, masks read from gradients)", before);
    for (int d = 0; d < nl; d++)
        free(masks[d]);
    free(masks);
}

/* ------------------------------------------------------------------ batchnorm's state */

/* After a training forward, update_state moves the moving statistics as the reference does,
 * and evaluation then uses them. */
static void check_state(fixture *f)
{
    int before = tc_failures;
    size_t all = cnn_param_floats(M);
    float *ref = floats(all);
    memcpy(ref, f->params, sizeof *ref * all);
    M->forward(f->params, f->ws, f->x, f->n, 1, 1, 0, NULL);
    ref_net_forward(&f->net, ref, f->x, f->n, 1);
    close_to_ref("training outputs", M->output(f->ws), ref_net_output(&f->net), (size_t)f->n * M->classes);
    M->update_state(f->params, f->ws);
    ref_net_update_state(&f->net, ref);
    for (int t = 0; t < M->num_state_tensors; t++) {
        const cnn_tensor *ct = &M->state_tensors[t];
        close_to_ref(ct->name, f->params + ct->offset, ref + ct->offset, ct->count);
    }
    TC_EXPECT(memcmp(f->params, ref, sizeof *ref * M->num_params) == 0); /* the parameters stay */
    M->forward(f->params, f->ws, f->x, f->n, 0, 1, 0, NULL);
    ref_net_forward(&f->net, ref, f->x, f->n, 0);
    close_to_ref("outputs with the new moving statistics", M->output(f->ws), ref_net_output(&f->net),
                 (size_t)f->n * M->classes);
    report("batchnorm state", before);
    free(ref);
}

/* ------------------------------------------------------------------ main */

static const model_spec *find_spec(const char *name)
{
    for (int i = 0; i < COUNT(specs); i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

int main(void)
{
    const model_spec *s = find_spec(M->name);
    if (!s) {
        printf("FAIL %s spec (no description of this model in %s)\n", M->name, __FILE__);
        return 1;
    }
    /* Big models are compared on a few images, which exercise the same code as a full batch. */
    fixture f = {.n = M->num_params > FD_SMALL_MODEL && M->batch > 4 ? 4 : M->batch};
    if (ref_net_init(&f.net, &s->net, M->batch) < 0) {
        printf("FAIL %s reference network\n", M->name);
        return 1;
    }
    check_layout(s, &f.net);
    if (tc_failures) {
        /* Buffers sized from a wrong layout would only add noise, or overrun. */
        ref_net_free(&f.net);
        return 1;
    }
    f.params = floats(cnn_param_floats(M));
    f.grads = floats(M->num_params);
    f.ref_grads = floats(M->num_params);
    f.x = floats((size_t)M->batch * M->in_size);
    f.ws = floats(M->workspace_floats);
    f.labels = alloc_or_die((size_t)M->batch, 1);
    /* Glorot-uniform kernels and small biases keep the activations of the big models in the
     * range training sees, away from saturated softmaxes. */
    for (int t = 0; t < M->num_tensors; t++) {
        const cnn_tensor *ct = &M->tensors[t];
        double limit = ct->is_bias ? 0.1 : sqrt(6.0 / (ct->fan_in + ct->fan_out));
        if (ct->init_ones)
            tc_fill(&rng, f.params + ct->offset, ct->count, 0.5, 1.5);
        else
            tc_fill(&rng, f.params + ct->offset, ct->count, -limit, limit);
    }
    /* Moving statistics away from their start, so that evaluation tests their use. */
    for (int t = 0; t < M->num_state_tensors; t++) {
        const cnn_tensor *ct = &M->state_tensors[t];
        if (ct->init_ones)
            tc_fill(&rng, f.params + ct->offset, ct->count, 0.5, 2.0);
        else
            tc_fill(&rng, f.params + ct->offset, ct->count, -0.3, 0.3);
    }
    for (int b = 0; b < M->batch; b++)
        f.labels[b] = (unsigned char)(tc_next(&rng) % (uint64_t)M->classes);
    /* Inputs like pixels, in [0, 1]. With dropout last, they are redrawn until no evaluation
     * output is near zero, where the mask could not be read. */
    int dropout_last = s->net.layers[s->net.nlayers - 1].kind == REF_DROPOUT;
    for (int tries = 0; tries < 50; tries++) {
        tc_fill(&rng, f.x, (size_t)M->batch * M->in_size, 0, 1);
        if (!dropout_last)
            break;
        ref_net_forward(&f.net, f.params, f.x, f.n, 0);
        const float *out = ref_net_output(&f.net);
        size_t k, count = (size_t)f.n * M->classes;
        for (k = 0; k < count && fabs(out[k]) > 1e-2; k++)
            ;
        if (k == count)
            break;
    }

    check_forward(&f);
    if (!has_dropout(s) && M->num_state == 0)
        check_training_forward(&f);
    if (!has_dropout(s))
        check_backward(&f);
    check_gradients_fd(&f);
    check_update(s);
    if (M->num_state > 0)
        check_state(&f);
    if (has_dropout(s))
        check_dropout_keys(&f);
    if (dropout_last)
        check_dropout_last(&f);
    else if (has_dropout(s))
        check_dropout_inside(&f);

    ref_net_free(&f.net);
    free(f.params); free(f.grads); free(f.ref_grads); free(f.x); free(f.ws); free(f.labels);
    return tc_failures ? 1 : 0;
}
