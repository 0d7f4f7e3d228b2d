/*
 * onnx/onnx_writer.c - onnx/onnx_writer.h: an ONNX graph held in plain C while the layers'
 * onnx_export functions write it. Part of libcnnc.a with the layers; no protobuf here (the
 * file is written by onnx/writer_proto.c).
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/writer_impl.h"

OnnxWriter *onnx_writer_new(const char *graph_name, int opset)
{
    OnnxWriter *w = xcalloc(1, sizeof *w);
    w->graph_name = xstrdup(graph_name);
    w->opset = opset;
    return w;
}

static void free_node(OnnxNode *n)
{
    free(n->op);
    free(n->name);
    for (int i = 0; i < n->ninputs; i++)
        free(n->inputs[i]);
    free(n->inputs);
    free(n->output);
    for (int i = 0; i < n->nattrs; i++) {
        free(n->attrs[i].name);
        free(n->attrs[i].ints);
        free(n->attrs[i].s);
    }
    free(n->attrs);
    free(n);
}

void onnx_writer_free(OnnxWriter *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < w->nnodes; i++)
        free_node(w->nodes[i]);
    free(w->nodes);
    for (int i = 0; i < w->ninits; i++) {
        free(w->inits[i].name);
        free(w->inits[i].data);
    }
    free(w->inits);
    for (int i = 0; i < w->ninputs; i++)
        free(w->inputs[i].name);
    free(w->inputs);
    for (int i = 0; i < w->noutputs; i++)
        free(w->outputs[i].name);
    free(w->outputs);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->meta);
    free(w->graph_name);
    free(w->doc);
    free(w);
}

int onnx_writer_opset(const OnnxWriter *w)
{
    return w->opset;
}

void ow_doc(OnnxWriter *w, const char *doc)
{
    free(w->doc);
    w->doc = xstrdup(doc);
}

void ow_metadata(OnnxWriter *w, const char *key, const char *value)
{
    grow_array((void **)&w->meta, &w->meta_cap, w->nmeta, sizeof *w->meta);
    w->meta[w->nmeta++] = (OwMeta){xstrdup(key), xstrdup(value)};
}

static OwValue value(const char *name, int rank, const long long *dims)
{
    if (rank < 0 || rank > 4)
        unreachable();
    OwValue v = {.name = xstrdup(name), .rank = rank};
    for (int i = 0; i < rank; i++)
        v.dims[i] = dims[i];
    return v;
}

void ow_graph_input(OnnxWriter *w, const char *name, int rank, const long long *dims)
{
    grow_array((void **)&w->inputs, &w->inputs_cap, w->ninputs, sizeof *w->inputs);
    w->inputs[w->ninputs++] = value(name, rank, dims);
}

void ow_graph_output(OnnxWriter *w, const char *name, int rank, const long long *dims)
{
    grow_array((void **)&w->outputs, &w->outputs_cap, w->noutputs, sizeof *w->outputs);
    w->outputs[w->noutputs++] = value(name, rank, dims);
}

OnnxNode *ow_node(OnnxWriter *w, const char *op, const char *name, const char *const *inputs, const char *output)
{
    OnnxNode *n = xcalloc(1, sizeof *n);
    n->op = xstrdup(op);
    n->name = xstrdup(name);
    while (inputs[n->ninputs] != NULL)
        n->ninputs++;
    n->inputs = xcalloc((size_t)n->ninputs + 1, sizeof *n->inputs);
    for (int i = 0; i < n->ninputs; i++)
        n->inputs[i] = xstrdup(inputs[i]);
    n->output = xstrdup(output);
    grow_array((void **)&w->nodes, &w->nodes_cap, w->nnodes, sizeof *w->nodes);
    w->nodes[w->nnodes++] = n;
    return n;
}

static OwAttr *new_attr(OnnxNode *n, const char *name, OwAttrType type)
{
    grow_array((void **)&n->attrs, &n->attrs_cap, n->nattrs, sizeof *n->attrs);
    OwAttr *a = &n->attrs[n->nattrs++];
    *a = (OwAttr){.name = xstrdup(name), .type = type};
    return a;
}

void ow_attr_int(OnnxNode *n, const char *name, long long v)
{
    new_attr(n, name, OW_INT)->i = v;
}

void ow_attr_ints(OnnxNode *n, const char *name, const long long *v, int count)
{
    OwAttr *a = new_attr(n, name, OW_INTS);
    a->ints = xcalloc((size_t)count + 1, sizeof *a->ints);
    memcpy(a->ints, v, (size_t)count * sizeof *v);
    a->nints = count;
}

void ow_attr_float(OnnxNode *n, const char *name, float v)
{
    new_attr(n, name, OW_FLOAT)->f = v;
}

void ow_attr_string(OnnxNode *n, const char *name, const char *v)
{
    new_attr(n, name, OW_STRING)->s = xstrdup(v);
}

void ow_initializer(OnnxWriter *w, const char *name, int rank, const long long *dims, const float *data)
{
    if (rank < 0 || rank > 4)
        unreachable();
    grow_array((void **)&w->inits, &w->inits_cap, w->ninits, sizeof *w->inits);
    OwInit *t = &w->inits[w->ninits++];
    *t = (OwInit){.name = xstrdup(name), .rank = rank, .count = 1};
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    t->data = xmalloc((t->count > 0 ? t->count : 1) * sizeof *t->data);
    memcpy(t->data, data, t->count * sizeof *t->data);
}

/* ------------------------------------------------------------------ helpers of the layers */

char *ow_layer_tensor(const Layer *L, const char *sep, const char *suffix)
{
    size_t n = strlen(L->name) + strlen(sep) + strlen(suffix) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s%s%s", L->name, sep, suffix);
    return s;
}

void ow_window(OnnxNode *n, int kh, int kw, int sh, int sw, Padding p)
{
    ow_attr_ints(n, "kernel_shape", (long long[]){kh, kw}, 2);
    ow_attr_ints(n, "strides", (long long[]){sh, sw}, 2);
    if (p == PAD_SAME)
        ow_attr_string(n, "auto_pad", "SAME_UPPER");
}

static const char *activation_op(Activation a)
{
    switch (a) {
    case ACT_RELU: return "Relu";
    case ACT_SIGMOID: return "Sigmoid";
    case ACT_TANH: return "Tanh";
    case ACT_SOFTMAX: return "Softmax";
    case ACT_NONE: break;
    }
    unreachable();
}

void ow_activation(OnnxWriter *w, const char *name, Activation a, bool drop_softmax, const char *in,
                   const char *out)
{
    const char *inputs[] = {in, NULL};
    if (a == ACT_SOFTMAX && drop_softmax) {
        ow_node(w, "Identity", name, inputs, out);
        return;
    }
    OnnxNode *n = ow_node(w, activation_op(a), name, inputs, out);
    if (a == ACT_SOFTMAX)
        ow_attr_int(n, "axis", -1);
}

static bool has_fused_activation(const Layer *L, const OnnxLayerIO *io)
{
    return L->act != ACT_NONE && !(L->act == ACT_SOFTMAX && io->drop_softmax);
}

char *ow_activation_before(const Layer *L, const OnnxLayerIO *io)
{
    return has_fused_activation(L, io) ? ow_layer_tensor(L, "/", "linear") : xstrdup(io->out);
}

void ow_activation_after(OnnxWriter *w, const Layer *L, const OnnxLayerIO *io, const char *linear)
{
    if (!has_fused_activation(L, io))
        return;
    char *name = ow_layer_tensor(L, "/", activation_name(L->act));
    ow_activation(w, name, L->act, false, linear, io->out);
    free(name);
}
