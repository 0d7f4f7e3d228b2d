/*
 * onnx/export.c - `cnnc export`: a checked model and its checkpoint as an ONNX model of the
 * forward pass (contract section 7).
 *
 * The frame around the layers: the graph's input `input` [N, H, W, C] as tf2onnx gives a Keras
 * model, a Transpose wherever the next layer reads its image in the other layout (ONNX's Conv
 * and pooling are NCHW, cnnc's flatten is H, W, C), tensor names, and the output
 * `probabilities` (or `logits`) [N, classes]. Each layer's own nodes come from its kind's
 * onnx_export (compiler/layers/<kind>.c). Nothing is written unless all of it succeeded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "layers/layer.h"
#include "onnx/export.h"
#include "onnx/onnx.h"

/* The checkpoint's parameters, or NULL after an error naming what does not fit. */
static float *load_weights(const Model *m, const char *path)
{
    int ntensors;
    cnn_tensor *t = model_tensor_table(m, &ntensors);
    cnn_model cm = {.name = m->name, .num_params = (size_t)m->total_params, .num_tensors = ntensors, .tensors = t};
    float *params = xcalloc((size_t)m->total_params + 1, sizeof *params);
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

int onnx_export(const Model *m, const ExportOptions *opt)
{
    /* The graph layers of contract section 6 have no export yet (issue 20's residual network). */
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        if (layer_ops(l->kind)->onnx_export == NULL || l->inputs[0] != i - 1) {
            error_at(l->loc, "%s '%s' cannot be exported to ONNX yet: the export of from=, add, concat, "
                     "batchnorm and globalavgpool2d is not written", layer_kind_name(l->kind), l->name);
            return -1;
        }
    }
    float *params = load_weights(m, opt->weights);
    if (params == NULL)
        return -1;
    OnnxWriter *w = onnx_writer_new(m->name, opt->opset);
    describe(w, m, opt);
    const char *out_name = opt->logits ? "logits" : "probabilities";
    ow_graph_input(w, "input", 4, (long long[]){-1, m->input.h, m->input.w, m->input.c});
    ow_graph_output(w, out_name, 2, (long long[]){-1, m->classes});

    char *cur = xstrdup("input");
    bool nchw = false;
    long long offset = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        const LayerOps *ops = layer_ops(l->kind);
        if (ops->onnx_export == NULL)
            unreachable(); /* every kind has one: layers/table.c */
        /* An image in the wrong layout for this layer: a Transpose named after the layer. */
        bool want_nchw = ops->onnx_layout == ONNX_NCHW;
        if (l->in.rank == 3 && ops->onnx_layout != ONNX_ANY && want_nchw != nchw) {
            char *t = tensor_name(l->name, want_nchw ? "nchw" : "nhwc");
            OnnxNode *n = ow_node(w, "Transpose", t, (const char *[]){cur, NULL}, t);
            ow_attr_ints(n, "perm", want_nchw ? (long long[]){0, 3, 1, 2} : (long long[]){0, 2, 3, 1}, 4);
            free(cur);
            cur = t;
            nchw = want_nchw;
        }
        bool last = i == m->nlayers - 1;
        char *out = last ? xstrdup(out_name) : tensor_name(l->name, "out");
        OnnxLayerIO io = {
            .in = cur,
            .out = out,
            .nchw = nchw,
            .kernel = l->kernel_size > 0 ? params + offset : NULL,
            .bias = l->bias_size > 0 ? params + offset + l->kernel_size : NULL,
            .drop_softmax = last && opt->logits,
        };
        ops->onnx_export(w, l, &io);
        offset += l->kernel_size + l->bias_size;
        free(cur);
        cur = out;
    }
    free(cur);
    int rc = onnx_writer_save(w, opt->output);
    onnx_writer_free(w);
    free(params);
    return rc;
}
