/*
 * ref_backed_model.c - the test model t_dense_acts implemented with the reference network
 * instead of generated code: the harness's own test. Linked with test_generated.c it must
 * pass every check; built with -DINJECT_GRADIENT_ERROR its gradients are 0.1% too large and
 * the harness must report the backward check as failed. Together they show that
 * test_generated.c accepts a right model and catches a slightly wrong one, whatever state the
 * code generator is in.
 *
 * The tensor table is written out by hand from tests/models/t_dense_acts.cnn.
 */
#include "cnn_model.h"
#include "ref_model.h"

#ifdef INJECT_GRADIENT_ERROR
#define GRADIENT_SCALE 1.001f
#else
#define GRADIENT_SCALE 1.0f
#endif

#define BATCH 3
#define NUM_PARAMS 234

static const ref_layer_desc layers[] = {
    {.kind = REF_FLATTEN},
    {.kind = REF_DENSE, .units = 6, .act = REF_ACT_RELU},
    {.kind = REF_DENSE, .units = 5, .act = REF_ACT_SIGMOID},
    {.kind = REF_DENSE, .units = 5, .act = REF_ACT_TANH, .no_bias = 1},
    {.kind = REF_DENSE, .units = 4, .act = REF_ACT_NONE},
    {.kind = REF_ACTIVATION, .act = REF_ACT_SOFTMAX},
};
static const ref_net_desc desc = {4, 3, 2, layers, 6, REF_LOSS_XENT};

/* The reference network keeps its activations itself, so the workspace goes unused and the
 * model serves one thread only, which is all the harness needs. */
static ref_net net;
static int net_ready;

static void forward(const float *params, float *ws, const float *x, int n, int training,
                    uint64_t dropout_key, int first, const cnn_sync *sync)
{
    (void)ws, (void)training, (void)dropout_key, (void)first; /* the model has no dropout */
    (void)sync;                                                /* nor batchnorm */
    if (!net_ready && ref_net_init(&net, &desc, BATCH) == 0)
        net_ready = 1;
    if (net_ready)
        ref_net_forward(&net, params, x, n, 0);
}

static const float *output(const float *ws)
{
    (void)ws;
    return ref_net_output(&net);
}

static double backward(const float *params, float *grads, float *ws, const float *x,
                       const unsigned char *labels, int n, float scale, const cnn_sync *sync)
{
    (void)ws, (void)x, (void)sync;
    return ref_net_backward(&net, params, grads, labels, n, scale * GRADIENT_SCALE);
}

static void update(float *params, const float *grads, float *m, float *v, long step)
{
    (void)v, (void)step;
    ref_sgd_step(NUM_PARAMS, params, grads, m, 0.02, 0.5, 0);
}

static const cnn_tensor tensors[] = {
    {"dense_1.kernel", 2, {24, 6}, 0, 144, 24, 6, 0, 0},
    {"dense_1.bias", 1, {6}, 144, 6, 24, 6, 1, 0},
    {"dense_2.kernel", 2, {6, 5}, 150, 30, 6, 5, 0, 0},
    {"dense_2.bias", 1, {5}, 180, 5, 6, 5, 1, 0},
    {"dense_3.kernel", 2, {5, 5}, 185, 25, 5, 5, 0, 0},
    {"dense_4.kernel", 2, {5, 4}, 210, 20, 5, 4, 0, 0},
    {"dense_4.bias", 1, {4}, 230, 4, 5, 4, 1, 0},
};

const cnn_model t_dense_acts_model = {
    .name = "t_dense_acts",
    .cnnc_version = "reference",
    .batch = BATCH,
    .in_h = 4, .in_w = 3, .in_c = 2,
    .classes = 4,
    .in_size = 24,
    .num_params = NUM_PARAMS,
    .num_tensors = 7,
    .tensors = tensors,
    .workspace_floats = 1,
    .train = {.dataset = CNN_DATASET_IDX, .loss = CNN_LOSS_SPARSE_XENT, .optimizer = CNN_OPT_SGD,
              .learning_rate = 0.02, .momentum = 0.5},
    .forward = forward,
    .output = output,
    .backward = backward,
    .update = update,
};
