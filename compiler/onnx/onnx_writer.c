/*
 * onnx/onnx_writer.c - onnx/onnx_writer.h over protobuf-c: the ModelProto is built in place,
 * every piece malloc'ed, so that protobuf-c's own free_unpacked releases it whole.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_writer.h"
#include "onnx/proto.h"

struct OnnxWriter {
    Onnx__ModelProto *model;
    Onnx__GraphProto *graph;
    int opset;
    int node_cap, init_cap, input_cap, output_cap, meta_cap;
};

/* Appends one pointer to a protobuf-c repeated field (*n of them in *arr, *cap allocated). */
static void push(void ***arr, size_t *n, int *cap, void *item)
{
    grow_array((void **)arr, cap, (int)*n, sizeof(void *));
    (*arr)[(*n)++] = item;
}

/* ONNX's IR version for each opset of the default domain: 7 up to opset 14, 8 from 15 on. */
static int64_t ir_version_for(int opset)
{
    return opset <= 14 ? 7 : 8;
}

OnnxWriter *onnx_writer_new(const char *graph_name, int opset)
{
    OnnxWriter *w = xcalloc(1, sizeof *w);
    w->opset = opset;
    w->model = xmalloc(sizeof *w->model);
    onnx__model_proto__init(w->model);
    w->model->has_ir_version = 1;
    w->model->ir_version = ir_version_for(opset);
    w->model->producer_name = xstrdup("cnnc");
    w->model->producer_version = xstrdup(CNNC_VERSION);
    Onnx__OperatorSetIdProto *ops = xmalloc(sizeof *ops);
    onnx__operator_set_id_proto__init(ops);
    ops->domain = xstrdup("");
    ops->has_version = 1;
    ops->version = opset;
    w->model->opset_import = xmalloc(sizeof *w->model->opset_import);
    w->model->opset_import[0] = ops;
    w->model->n_opset_import = 1;
    w->graph = xmalloc(sizeof *w->graph);
    onnx__graph_proto__init(w->graph);
    w->graph->name = xstrdup(graph_name);
    w->model->graph = w->graph;
    return w;
}

void onnx_writer_free(OnnxWriter *w)
{
    if (w == NULL)
        return;
    onnx__model_proto__free_unpacked(w->model, NULL);
    free(w);
}

int onnx_writer_opset(const OnnxWriter *w)
{
    return w->opset;
}

void ow_doc(OnnxWriter *w, const char *doc)
{
    free(w->model->doc_string == protobuf_c_empty_string ? NULL : w->model->doc_string);
    w->model->doc_string = xstrdup(doc);
}

void ow_metadata(OnnxWriter *w, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = xmalloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    push((void ***)&w->model->metadata_props, &w->model->n_metadata_props, &w->meta_cap, e);
}

static Onnx__ValueInfoProto *value_info(const char *name, int rank, const long long *dims)
{
    Onnx__TensorShapeProto *shape = xmalloc(sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = (size_t)rank;
    shape->dim = xcalloc((size_t)rank + 1, sizeof *shape->dim);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = xmalloc(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = xstrdup("N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        shape->dim[i] = d;
    }
    Onnx__TypeProto__Tensor *tt = xmalloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = shape;
    Onnx__TypeProto *tp = xmalloc(sizeof *tp);
    onnx__type_proto__init(tp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    Onnx__ValueInfoProto *v = xmalloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = xstrdup(name);
    v->type = tp;
    return v;
}

void ow_graph_input(OnnxWriter *w, const char *name, int rank, const long long *dims)
{
    push((void ***)&w->graph->input, &w->graph->n_input, &w->input_cap, value_info(name, rank, dims));
}

void ow_graph_output(OnnxWriter *w, const char *name, int rank, const long long *dims)
{
    push((void ***)&w->graph->output, &w->graph->n_output, &w->output_cap, value_info(name, rank, dims));
}

OnnxNode *ow_node(OnnxWriter *w, const char *op, const char *name, const char *const *inputs, const char *output)
{
    Onnx__NodeProto *n = xmalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstrdup(op);
    n->name = xstrdup(name);
    size_t nin = 0;
    while (inputs[nin] != NULL)
        nin++;
    n->n_input = nin;
    n->input = xcalloc(nin + 1, sizeof *n->input);
    for (size_t i = 0; i < nin; i++)
        n->input[i] = xstrdup(inputs[i]);
    n->n_output = 1;
    n->output = xmalloc(sizeof *n->output);
    n->output[0] = xstrdup(output);
    push((void ***)&w->graph->node, &w->graph->n_node, &w->node_cap, n);
    return n;
}

static Onnx__AttributeProto *new_attr(OnnxNode *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = xmalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstrdup(name);
    a->has_type = 1;
    a->type = type;
    n->attribute = xrealloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
    return a;
}

void ow_attr_int(OnnxNode *n, const char *name, long long v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void ow_attr_ints(OnnxNode *n, const char *name, const long long *v, int count)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = xcalloc((size_t)count + 1, sizeof *a->ints);
    for (int i = 0; i < count; i++)
        a->ints[i] = v[i];
}

void ow_attr_float(OnnxNode *n, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void ow_attr_string(OnnxNode *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)xstrdup(v);
}

void ow_initializer(OnnxWriter *w, const char *name, int rank, const long long *dims, const float *data)
{
    Onnx__TensorProto *t = xmalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = xstrdup(name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = (size_t)rank;
    t->dims = xcalloc((size_t)rank + 1, sizeof *t->dims);
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        count *= (size_t)dims[i];
    }
    /* raw_data is little-endian whatever the host is. */
    uint8_t *raw = xmalloc(count * 4 + 1);
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        for (int b = 0; b < 4; b++)
            raw[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    t->has_raw_data = 1;
    t->raw_data.len = count * 4;
    t->raw_data.data = raw;
    push((void ***)&w->graph->initializer, &w->graph->n_initializer, &w->init_cap, t);
}

int onnx_writer_save(OnnxWriter *w, const char *path)
{
    return onnx_write_model(w->model, path);
}
