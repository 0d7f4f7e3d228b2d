/*
 * onnx/writer_proto.c - onnx_writer_save: the graph onnx_writer.c holds, as a protobuf-c
 * ModelProto, packed and written atomically. Every piece is malloc'ed, so protobuf-c's own
 * free_unpacked releases the whole message afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/proto.h"
#include "onnx/writer_impl.h"

/* ONNX's IR version for each opset of the default domain: 7 up to opset 14, 8 from 15 on. */
static int64_t ir_version_for(int opset)
{
    return opset <= 14 ? 7 : 8;
}

static Onnx__ValueInfoProto *value_info(const OwValue *v)
{
    Onnx__TensorShapeProto *shape = xmalloc(sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = (size_t)v->rank;
    shape->dim = xcalloc((size_t)v->rank + 1, sizeof *shape->dim);
    for (int i = 0; i < v->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = xmalloc(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->dims[i] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = xstrdup("N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v->dims[i];
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
    Onnx__ValueInfoProto *vi = xmalloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = xstrdup(v->name);
    vi->type = tp;
    return vi;
}

static Onnx__AttributeProto *attribute(const OwAttr *src)
{
    Onnx__AttributeProto *a = xmalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstrdup(src->name);
    a->has_type = 1;
    switch (src->type) {
    case OW_INT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = src->i;
        break;
    case OW_INTS:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        a->n_ints = (size_t)src->nints;
        a->ints = xcalloc((size_t)src->nints + 1, sizeof *a->ints);
        for (int i = 0; i < src->nints; i++)
            a->ints[i] = src->ints[i];
        break;
    case OW_FLOAT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = src->f;
        break;
    case OW_STRING:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        a->has_s = 1;
        a->s.len = strlen(src->s);
        a->s.data = (uint8_t *)xstrdup(src->s);
        break;
    }
    return a;
}

static Onnx__NodeProto *node(const OnnxNode *src)
{
    Onnx__NodeProto *n = xmalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstrdup(src->op);
    n->name = xstrdup(src->name);
    n->n_input = (size_t)src->ninputs;
    n->input = xcalloc((size_t)src->ninputs + 1, sizeof *n->input);
    for (int i = 0; i < src->ninputs; i++)
        n->input[i] = xstrdup(src->inputs[i]);
    n->n_output = 1;
    n->output = xmalloc(sizeof *n->output);
    n->output[0] = xstrdup(src->output);
    n->n_attribute = (size_t)src->nattrs;
    n->attribute = xcalloc((size_t)src->nattrs + 1, sizeof *n->attribute);
    for (int i = 0; i < src->nattrs; i++)
        n->attribute[i] = attribute(&src->attrs[i]);
    return n;
}

/* raw_data is little-endian whatever the host is. */
static Onnx__TensorProto *initializer(const OwInit *src)
{
    Onnx__TensorProto *t = xmalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = xstrdup(src->name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = (size_t)src->rank;
    t->dims = xcalloc((size_t)src->rank + 1, sizeof *t->dims);
    for (int i = 0; i < src->rank; i++)
        t->dims[i] = src->dims[i];
    uint8_t *raw = xmalloc(src->count * 4 + 1);
    for (size_t i = 0; i < src->count; i++) {
        uint32_t u;
        memcpy(&u, &src->data[i], 4);
        for (int b = 0; b < 4; b++)
            raw[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    t->has_raw_data = 1;
    t->raw_data.len = src->count * 4;
    t->raw_data.data = raw;
    return t;
}

int onnx_writer_save(const OnnxWriter *w, const char *path)
{
    Onnx__ModelProto *m = xmalloc(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = ir_version_for(w->opset);
    m->producer_name = xstrdup("cnnc");
    m->producer_version = xstrdup(CNNC_VERSION);
    if (w->doc != NULL)
        m->doc_string = xstrdup(w->doc);
    Onnx__OperatorSetIdProto *ops = xmalloc(sizeof *ops);
    onnx__operator_set_id_proto__init(ops);
    ops->domain = xstrdup("");
    ops->has_version = 1;
    ops->version = w->opset;
    m->n_opset_import = 1;
    m->opset_import = xmalloc(sizeof *m->opset_import);
    m->opset_import[0] = ops;
    m->n_metadata_props = (size_t)w->nmeta;
    m->metadata_props = xcalloc((size_t)w->nmeta + 1, sizeof *m->metadata_props);
    for (int i = 0; i < w->nmeta; i++) {
        Onnx__StringStringEntryProto *e = xmalloc(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = xstrdup(w->meta[i].key);
        e->value = xstrdup(w->meta[i].value);
        m->metadata_props[i] = e;
    }

    Onnx__GraphProto *g = xmalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = xstrdup(w->graph_name);
    g->n_node = (size_t)w->nnodes;
    g->node = xcalloc((size_t)w->nnodes + 1, sizeof *g->node);
    for (int i = 0; i < w->nnodes; i++)
        g->node[i] = node(w->nodes[i]);
    g->n_initializer = (size_t)w->ninits;
    g->initializer = xcalloc((size_t)w->ninits + 1, sizeof *g->initializer);
    for (int i = 0; i < w->ninits; i++)
        g->initializer[i] = initializer(&w->inits[i]);
    g->n_input = (size_t)w->ninputs;
    g->input = xcalloc((size_t)w->ninputs + 1, sizeof *g->input);
    for (int i = 0; i < w->ninputs; i++)
        g->input[i] = value_info(&w->inputs[i]);
    g->n_output = (size_t)w->noutputs;
    g->output = xcalloc((size_t)w->noutputs + 1, sizeof *g->output);
    for (int i = 0; i < w->noutputs; i++)
        g->output[i] = value_info(&w->outputs[i]);
    m->graph = g;

    int rc = onnx_write_model(m, path);
    onnx__model_proto__free_unpacked(m, NULL);
    return rc;
}
