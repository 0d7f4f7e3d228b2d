/*
 * layers/table.c - the layer kinds of the language: one row per kind, indexed by LayerKind.
 *
 * Everything the compiler knows about a kind is in its own file (layers/<kind>.c); this table
 * is how the rest of the compiler finds it.
 */
#include <string.h>

#include "layers/layer.h"

static const LayerOps *const ops[] = {
    [LAYER_CONV2D] = &conv2d_ops,
    [LAYER_MAXPOOL2D] = &maxpool2d_ops,
    [LAYER_AVGPOOL2D] = &avgpool2d_ops,
    [LAYER_FLATTEN] = &flatten_ops,
    [LAYER_DENSE] = &dense_ops,
    [LAYER_DROPOUT] = &dropout_ops,
    [LAYER_RELU] = &relu_ops,
    [LAYER_SIGMOID] = &sigmoid_ops,
    [LAYER_TANH] = &tanh_ops,
    [LAYER_SOFTMAX] = &softmax_ops,
    [LAYER_ADD] = &add_ops,
    [LAYER_CONCAT] = &concat_ops,
    [LAYER_GLOBALAVGPOOL2D] = &globalavgpool2d_ops,
    [LAYER_BATCHNORM] = &batchnorm_ops,
};
_Static_assert(sizeof ops / sizeof ops[0] == LAYER_KIND_COUNT, "every layer kind has a row in layers/table.c");

/* The kinds' names followed by NULL, for did_you_mean: filled from the rows on first use. */
static const char *kind_names[LAYER_KIND_COUNT + 1];

const LayerOps *layer_ops(LayerKind k)
{
    if ((unsigned)k >= LAYER_KIND_COUNT || ops[k] == NULL)
        unreachable();
    return ops[k];
}

const char *const *layer_kind_names(void)
{
    if (kind_names[0] == NULL)
        for (int k = 0; k < LAYER_KIND_COUNT; k++)
            kind_names[k] = layer_ops((LayerKind)k)->name;
    return kind_names;
}

bool layer_kind_from_name(const char *name, LayerKind *out)
{
    const char *const *names = layer_kind_names();
    for (int k = 0; name && k < LAYER_KIND_COUNT; k++)
        if (strcmp(name, names[k]) == 0) {
            *out = (LayerKind)k;
            return true;
        }
    return false;
}

const char *layer_kind_name(LayerKind k)
{
    return layer_ops(k)->name;
}

ModelTensor *model_tensors(const Model *m, int *count)
{
    ModelTensor *t = xcalloc((size_t)m->nlayers * MAX_LAYER_TENSORS + 1, sizeof *t);
    long long offset = 0;
    int n = 0;
    for (int state = 0; state < 2; state++)
        for (int i = 0; i < m->nlayers; i++) {
            const LayerOps *ops = layer_ops(m->layers[i].kind);
            TensorSpec specs[MAX_LAYER_TENSORS];
            int nt = ops->tensors ? ops->tensors(&m->layers[i], specs) : 0;
            for (int k = 0; k < nt; k++) {
                if (specs[k].is_state != (state == 1))
                    continue;
                t[n] = (ModelTensor){.layer = i, .spec = specs[k], .offset = offset};
                offset += specs[k].count;
                n++;
            }
        }
    *count = n;
    return t;
}
