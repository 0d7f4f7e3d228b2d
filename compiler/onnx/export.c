/*
 * onnx/export.c - `cnnc export`: a checked model and its checkpoint as an ONNX model of the
 * forward pass (contract section 7).
 *
 * The frame around the layers: the graph's input `input` [N, H, W, C] as tf2onnx gives a Keras
 * model, a Transpose wherever a layer reads an image in the other layout (ONNX's Conv, pooling
 * and BatchNormalization are NCHW, cnnc's flatten is H, W, C), tensor names, and the output
 * `probabilities` (or `logits`) [N, classes]. Every output stays named with its layout, since
 * any later layer may read it (from=, and add's and concat's with=); an output read in both
 * layouts is transposed once. Each layer's own nodes come from its kind's onnx_export
 * (compiler/layers/<kind>.c). Nothing is written unless all of it succeeded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "layers/layer.h"
#include "onnx/export.h"
#include "onnx/onnx.h"

/* The checkpoint's parameters and state, or NULL after an error naming what does not fit. */
static float *load_weights(const Model *m, const char *path)
{
    int ntensors, trainable;
    cnn_tensor *t = model_tensor_table(m, &ntensors, &trainable);
    cnn_model cm = model_tensor_model(m, t, ntensors, trainable);
    float *params = xcalloc((size_t)(m->total_params + m->total_state) + 1, sizeof *params);
    int rc = cnn_checkpoint_load(path, &cm, params, NULL, NULL, NULL);
    for (int i = 0; rc == 0 && i < ntensors; i++)
        for (size_t j = 0; j < t[i].count; j++)
            if (!isfinite(params[t[i].offset + j])) {
                error_plain("%s: tensor '%s' holds a non-finite value at index %zu; the model diverged, so "
                            "there is nothing to export", path, t[i].name, j);
                rc = -1;
                break;
            }
    model_tensor_table_free(t, ntensors);
    if (rc != 0) {
        free(params);
        return NULL;
    }
    return params;
}

/* Where each layer's tensors lie in the parameters, in its tensors verb's order. */
static void layer_tensors(const Model *m, const float *params, const float *(*out)[ONNX_LAYER_TENSORS])
{
    int n;
    ModelTensor *mt = model_tensors(m, &n);
    for (int i = 0; i < m->nlayers; i++) {
        TensorSpec specs[MAX_LAYER_TENSORS];
        const LayerOps *ops = layer_ops(m->layers[i].kind);
        int nt = ops->tensors ? ops->tensors(&m->layers[i], specs) : 0;
        for (int k = 0; k < nt; k++)
            for (int j = 0; j < n; j++)
                if (mt[j].layer == i && strcmp(mt[j].spec.suffix, specs[k].suffix) == 0)
                    out[i][k] = params + mt[j].offset;
    }
    free(mt);
}

static char *tensor_name(const char *layer, const char *suffix)
{
    char *s = xmalloc(strlen(layer) + strlen(suffix) + 2);
    sprintf(s, "%s/%s", layer, suffix);
    return s;
}

/* The documentation string, and the metadata: the model's name and its train block, which
 * ONNX has no place for (`cnnc import` of the file gives it back). */
static void describe(OnnxWriter *w, const Model *m, const ExportOptions *opt)
{
    char doc[512];
    snprintf(doc, sizeof doc,
             "The forward pass of cnnc model '%s' with the weights of %s. Input: [N, %d, %d, %d] float32, "
             "pixels scaled to [0, 1] as in training. Output: %s [N, %d].",
             m->name, opt->weights, m->input.h, m->input.w, m->input.c, opt->logits ? "logits" : "probabilities",
             m->classes);
    ow_doc(w, doc);
    ow_metadata(w, "cnnc.model", m->name);
    char *train = train_block_text(&m->train);
    ow_metadata(w, "cnnc.train", train);
    free(train);
}

/* A tensor the graph holds for later readers (the input, or a layer's output): its name, its
 * layout when it is an image, and the same values in the other layout once a reader needed
 * them (one Transpose, however many read it). */
typedef struct Output {
    char *name;
    int rank;
    bool nchw;
    char *other;
} Output;

/* `o` as a reader needs it: in NCHW or not (an image; flat tensors have one layout). */
static const char *in_layout(OnnxWriter *w, Output *o, const Layer *reader, bool nchw)
{
    if (o->rank != 3 || o->nchw == nchw)
        return o->name;
    if (o->other == NULL) {
        o->other = tensor_name(reader->name, nchw ? "nchw" : "nhwc");
        OnnxNode *n = ow_node(w, "Transpose", o->other, (const char *[]){o->name, NULL}, o->other);
        ow_attr_ints(n, "perm", nchw ? (long long[]){0, 3, 1, 2} : (long long[]){0, 2, 3, 1}, 4);
    }
    return o->other;
}

int onnx_export(const Model *m, const ExportOptions *opt)
{
    float *params = load_weights(m, opt->weights);
    if (params == NULL)
        return -1;
    const float *(*tensors)[ONNX_LAYER_TENSORS] = xcalloc((size_t)m->nlayers, sizeof *tensors);
    layer_tensors(m, params, tensors);
    OnnxWriter *w = onnx_writer_new(m->name, opt->opset);
    describe(w, m, opt);
    const char *out_name = opt->logits ? "logits" : "probabilities";
    ow_graph_input(w, "input", 4, (long long[]){-1, m->input.h, m->input.w, m->input.c});
    ow_graph_output(w, out_name, 2, (long long[]){-1, m->classes});

    /* outputs[0] is the graph's input, outputs[i + 1] layer i's: a layer reads any of them. */
    Output *outputs = xcalloc((size_t)m->nlayers + 1, sizeof *outputs);
    outputs[0] = (Output){.name = xstrdup("input"), .rank = 3};
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        const LayerOps *ops = layer_ops(l->kind);
        if (ops->onnx_export == NULL)
            unreachable(); /* every kind has one: layers/table.c */
        Output *src = &outputs[l->inputs[0] + 1];
        /* An image in the wrong layout for this layer gets a Transpose; an element-wise layer
         * takes its first input as it is, and its second in the same layout. */
        bool nchw = ops->onnx_layout == ONNX_ANY ? src->nchw : ops->onnx_layout == ONNX_NCHW;
        bool last = i == m->nlayers - 1;
        char *out = last ? xstrdup(out_name) : tensor_name(l->name, "out");
        OnnxLayerIO io = {
            .in = in_layout(w, src, l, nchw),
            .in2 = l->ninputs > 1 ? in_layout(w, &outputs[l->inputs[1] + 1], l, nchw) : NULL,
            .out = out,
            .nchw = nchw && l->in.rank == 3,
            .kernel = l->kernel_size > 0 ? tensors[i][0] : NULL,
            .bias = l->bias_size > 0 ? tensors[i][1] : NULL,
            .drop_softmax = last && opt->logits,
        };
        memcpy(io.tensor, tensors[i], sizeof io.tensor);
        ops->onnx_export(w, l, &io);
        /* The layouts of the outputs: images keep the layout the layer read, except that a
         * globalavgpool2d (GlobalAveragePool then Flatten) or a flatten gives a flat tensor. */
        outputs[i + 1] = (Output){.name = out, .rank = l->out.rank, .nchw = l->out.rank == 3 && nchw};
    }
    for (int i = 0; i <= m->nlayers; i++) {
        free(outputs[i].name);
        free(outputs[i].other);
    }
    free(outputs);
    int rc = onnx_writer_save(w, opt->output);
    onnx_writer_free(w);
    free(tensors);
    free(params);
    return rc;
}
