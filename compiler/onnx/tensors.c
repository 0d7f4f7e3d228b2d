/*
 * onnx/tensors.c - the checkpoint's tensors of a checked model: what `cnnc export` loads and
 * `cnnc import` saves. The same names, shapes and order as the table emit/model.c generates
 * (and emit/infer.c builds), so cnn_checkpoint_load and _save check and write them alike.
 */
#include <stdlib.h>

#include "onnx/export.h"

cnn_tensor *model_tensor_table(const Model *m, int *count)
{
    cnn_tensor *t = xcalloc((size_t)(2 * m->nlayers + 1), sizeof *t);
    size_t offset = 0;
    int n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        char name[160];
        if (l->kernel_size > 0) {
            cnn_tensor *k = &t[n++];
            snprintf(name, sizeof name, "%s.kernel", l->name);
            k->name = xstrdup(name);
            if (l->kind == LAYER_CONV2D) {
                k->ndim = 4;
                k->shape[0] = l->u.conv.kh;
                k->shape[1] = l->u.conv.kw;
                k->shape[2] = l->in.c;
                k->shape[3] = l->u.conv.filters;
            } else {
                k->ndim = 2;
                k->shape[0] = (int)shape_size(l->in);
                k->shape[1] = l->u.dense.units;
            }
            k->offset = offset;
            k->count = (size_t)l->kernel_size;
            offset += k->count;
        }
        if (l->bias_size > 0) {
            cnn_tensor *b = &t[n++];
            snprintf(name, sizeof name, "%s.bias", l->name);
            b->name = xstrdup(name);
            b->ndim = 1;
            b->shape[0] = (int)l->bias_size;
            b->offset = offset;
            b->count = (size_t)l->bias_size;
            b->is_bias = 1;
            offset += b->count;
        }
    }
    *count = n;
    return t;
}

void model_tensor_table_free(cnn_tensor *t, int count)
{
    for (int i = 0; i < count; i++)
        free((char *)t[i].name);
    free(t);
}
