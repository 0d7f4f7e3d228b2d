/*
 * onnx/tensors.c - the checkpoint's tensors of a checked model: what `cnnc export` loads and
 * `cnnc import` saves. The same names, shapes and order as the table emit/model.c generates
 * (and emit/infer.c builds), both from the kinds' tensors verbs (model_tensors), so
 * cnn_checkpoint_load and _save check and write them alike: the trainable tensors first, then
 * the state (batchnorm's moving statistics).
 */
#include <stdlib.h>

#include "layers/layer.h"
#include "onnx/export.h"

cnn_tensor *model_tensor_table(const Model *m, int *count, int *trainable)
{
    int n = 0;
    ModelTensor *mt = model_tensors(m, &n);
    cnn_tensor *t = xcalloc((size_t)n + 1, sizeof *t);
    *trainable = 0;
    for (int i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.%s", m->layers[mt[i].layer].name, mt[i].spec.suffix);
        t[i].name = xstrdup(name);
        t[i].ndim = mt[i].spec.ndim;
        for (int d = 0; d < t[i].ndim; d++)
            t[i].shape[d] = mt[i].spec.shape[d];
        t[i].offset = (size_t)mt[i].offset;
        t[i].count = (size_t)mt[i].spec.count;
        t[i].is_bias = mt[i].spec.is_bias;
        t[i].init_ones = mt[i].spec.init_ones;
        if (!mt[i].spec.is_state)
            *trainable = i + 1;
    }
    free(mt);
    *count = n;
    return t;
}

cnn_model model_tensor_model(const Model *m, const cnn_tensor *t, int count, int trainable)
{
    return (cnn_model){
        .name = m->name,
        .cnnc_version = CNNC_VERSION,
        .num_params = (size_t)m->total_params,
        .num_tensors = trainable,
        .tensors = t,
        .num_state = (size_t)m->total_state,
        .num_state_tensors = count - trainable,
        .state_tensors = t + trainable,
    };
}

void model_tensor_table_free(cnn_tensor *t, int count)
{
    for (int i = 0; i < count; i++)
        free((char *)t[i].name);
    free(t);
}
