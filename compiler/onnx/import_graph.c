/*
 * onnx/import_graph.c - the graph as the importer sees it: every tensor name in one hash
 * table, the initializers and Constant nodes as constants, the one real input, the nodes in
 * topological order, and checked access to attributes and constant data.
 *
 * Everything read here comes from the file and is checked before use: names are unique,
 * every tensor a node reads is produced by something, the graph has no cycle, dims are
 * non-negative and their product fits, and a tensor's data is exactly as long as its dims say.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/import.h"

/* ------------------------------------------------------------------ names */

static uint64_t hash_name(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* The slot of `name`: where it is, or the empty slot where it would go. */
static int name_slot(const Importer *im, const char *name)
{
    int mask = im->nslots - 1;
    int i = (int)(hash_name(name) & (uint64_t)mask);
    while (im->keys[i] != NULL && strcmp(im->keys[i], name) != 0)
        i = (i + 1) & mask;
    return i;
}

static int lookup(const Importer *im, const char *name)
{
    if (im->nslots == 0 || name == NULL)
        return -1;
    return im->slots[name_slot(im, name)];
}

static void bind(Importer *im, char *name, int slot_value)
{
    int i = name_slot(im, name);
    im->keys[i] = name;
    im->slots[i] = slot_value;
}

ImValue *find_value(Importer *im, const char *name)
{
    int s = lookup(im, name);
    return s >= 0 ? &im->values[s] : NULL;
}

int name_uses(Importer *im, const char *name)
{
    return im->nslots > 0 ? im->use_count[name_slot(im, name)] : 0;
}

const ImConst *find_const(Importer *im, const char *name)
{
    int s = lookup(im, name);
    return s <= -2 ? &im->consts[-s - 2] : NULL;
}

ImValue *add_value(Importer *im, const char *name, ImValue v)
{
    grow_array((void **)&im->values, &im->values_cap, im->nvalues, sizeof *im->values);
    v.name = (char *)name;
    v.uses = im->use_count[name_slot(im, name)];
    im->values[im->nvalues] = v;
    bind(im, (char *)name, im->nvalues);
    return &im->values[im->nvalues++];
}

static void add_const(Importer *im, const char *name, const Onnx__TensorProto *t)
{
    grow_array((void **)&im->consts, &im->consts_cap, im->nconsts, sizeof *im->consts);
    im->consts[im->nconsts] = (ImConst){.name = name, .t = t};
    bind(im, (char *)name, -(im->nconsts + 2));
    im->nconsts++;
}

void importer_free(Importer *im)
{
    free(im->keys);
    free(im->slots);
    free(im->use_count);
    free(im->values);
    free(im->consts);
    for (int i = 0; i < im->nlayers; i++) {
        free(im->layers[i].name);
        free(im->layers[i].onnx_nodes);
        free(im->layers[i].kernel);
        free(im->layers[i].bias);
        free(im->layers[i].gamma);
        free(im->layers[i].beta);
        free(im->layers[i].moving_mean);
        free(im->layers[i].moving_variance);
    }
    free(im->layers);
    onnx_model_free(im->model);
}

/* ------------------------------------------------------------------ messages */

const char *node_label(const Onnx__NodeProto *n)
{
    return n->name != NULL && n->name[0] != '\0' ? n->name : "(unnamed)";
}

void node_error(Importer *im, const Onnx__NodeProto *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Names come from the file: only their first 200 bytes are shown. */
    error_plain("%s: node '%.200s' (%.64s): %s", im->path, node_label(n), n->op_type ? n->op_type : "", msg);
    im->errors++;
}

/* ------------------------------------------------------------------ attributes */

const Onnx__AttributeProto *node_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name != NULL && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static bool attr_type(Importer *im, const Onnx__NodeProto *n, const Onnx__AttributeProto *a,
                      Onnx__AttributeProto__AttributeType want, const char *what)
{
    if (a->has_type && a->type == want)
        return true;
    node_error(im, n, "attribute '%s' should be %s", a->name, what);
    return false;
}

bool attr_int(Importer *im, const Onnx__NodeProto *n, const char *name, long long def, long long *out)
{
    const Onnx__AttributeProto *a = node_attr(n, name);
    *out = def;
    if (a == NULL)
        return true;
    if (!attr_type(im, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an integer"))
        return false;
    *out = a->i;
    return true;
}

bool attr_float(Importer *im, const Onnx__NodeProto *n, const char *name, double def, double *out)
{
    const Onnx__AttributeProto *a = node_attr(n, name);
    *out = def;
    if (a == NULL)
        return true;
    if (!attr_type(im, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float"))
        return false;
    *out = a->f;
    return true;
}

bool attr_ints(Importer *im, const Onnx__NodeProto *n, const char *name, long long *out, int max, int *count)
{
    const Onnx__AttributeProto *a = node_attr(n, name);
    *count = 0;
    if (a == NULL)
        return true;
    if (!attr_type(im, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "a list of integers"))
        return false;
    if (a->n_ints > (size_t)max) {
        node_error(im, n, "attribute '%s' has %zu values; at most %d fit a 2-D image", name, a->n_ints, max);
        return false;
    }
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    *count = (int)a->n_ints;
    return true;
}

bool attr_string(Importer *im, const Onnx__NodeProto *n, const char *name, const char *def, char *out, size_t size)
{
    const Onnx__AttributeProto *a = node_attr(n, name);
    snprintf(out, size, "%s", def);
    if (a == NULL)
        return true;
    if (!attr_type(im, n, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a string"))
        return false;
    size_t len = a->has_s ? a->s.len : 0;
    if (len >= size || (len > 0 && memchr(a->s.data, '\0', len) != NULL)) {
        node_error(im, n, "attribute '%s' is not a value cnnc knows", name);
        return false;
    }
    if (len > 0)
        memcpy(out, a->s.data, len);
    out[len] = '\0';
    return true;
}

bool known_attrs(Importer *im, const Onnx__NodeProto *n, const char *const *known)
{
    bool ok = true;
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *name = n->attribute[i]->name != NULL ? n->attribute[i]->name : "";
        int k = 0;
        while (known[k] != NULL && strcmp(known[k], name) != 0)
            k++;
        if (known[k] == NULL) {
            node_error(im, n, "attribute '%.100s' is not one cnnc can express", name);
            ok = false;
        }
    }
    return ok;
}

/* ------------------------------------------------------------------ constant data */

/* Checks dims (non-negative, the product within ONNX_MAX_TENSOR_ELEMS) and that the data is
 * held in the file: sets *count. */
static bool tensor_elements(Importer *im, const Onnx__NodeProto *n, const Onnx__TensorProto *t, const char *what,
                            long long *count)
{
    long long elems = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0) {
            node_error(im, n, "%s '%.100s' has a negative dimension (%lld)", what, t->name ? t->name : "",
                       (long long)t->dims[d]);
            return false;
        }
        if (t->dims[d] > 0 && elems > ONNX_MAX_TENSOR_ELEMS / t->dims[d]) {
            node_error(im, n, "%s '%.100s' has dimensions whose product overflows (more than %lld elements)",
                       what, t->name ? t->name : "", ONNX_MAX_TENSOR_ELEMS);
            return false;
        }
        elems *= t->dims[d];
    }
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        t->n_external_data > 0) {
        node_error(im, n, "%s '%.100s' is stored in an external file; cnnc reads only data held in the model",
                   what, t->name ? t->name : "");
        return false;
    }
    if (t->segment != NULL) {
        node_error(im, n, "%s '%.100s' is a segment of a tensor; cnnc reads only whole tensors", what,
                   t->name ? t->name : "");
        return false;
    }
    *count = elems;
    return true;
}

float *const_floats(Importer *im, const Onnx__NodeProto *n, const ImConst *c, const char *what, int rank,
                    long long dims[4], long long *count)
{
    const Onnx__TensorProto *t = c->t;
    int32_t type = t->has_data_type ? t->data_type : 0;
    if (type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        node_error(im, n, "%s '%.100s' is %s; cnnc takes FLOAT (float32) weights", what, c->name,
                   onnx_type_name(type));
        return NULL;
    }
    if (rank >= 0 && t->n_dims != (size_t)rank) {
        node_error(im, n, "%s '%.100s' has %zu dimensions, not %d", what, c->name, t->n_dims, rank);
        return NULL;
    }
    long long elems;
    if (!tensor_elements(im, n, t, what, &elems))
        return NULL;
    for (size_t d = 0; d < t->n_dims && d < 4; d++)
        dims[d] = t->dims[d];
    /* The data must be in the file before anything is allocated for it: dims alone could ask
     * for gigabytes. */
    bool raw = t->has_raw_data && t->raw_data.len > 0;
    if (raw && t->raw_data.len != (size_t)elems * 4) {
        node_error(im, n, "%s '%.100s' holds %zu bytes of raw data; its dims need %lld", what, c->name,
                   t->raw_data.len, elems * 4);
        return NULL;
    }
    if (!raw && t->n_float_data != (size_t)elems) {
        node_error(im, n, "%s '%.100s' holds %zu floats; its dims need %lld", what, c->name, t->n_float_data,
                   elems);
        return NULL;
    }
    float *v = xmalloc((size_t)(elems > 0 ? elems : 1) * sizeof *v);
    if (raw) {
        for (long long i = 0; i < elems; i++) {
            const uint8_t *b = t->raw_data.data + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&v[i], &u, 4);
        }
    } else {
        memcpy(v, t->float_data, (size_t)elems * sizeof *v);
    }
    *count = elems;
    return v;
}

bool const_int64s(Importer *im, const Onnx__NodeProto *n, const ImConst *c, const char *what, long long *out,
                  int max, int *count)
{
    const Onnx__TensorProto *t = c->t;
    int32_t type = t->has_data_type ? t->data_type : 0;
    if (type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        node_error(im, n, "%s '%.100s' is %s, not INT64", what, c->name, onnx_type_name(type));
        return false;
    }
    long long elems;
    if (!tensor_elements(im, n, t, what, &elems))
        return false;
    if (elems > max) {
        node_error(im, n, "%s '%.100s' has %lld values; cnnc takes at most %d", what, c->name, elems, max);
        return false;
    }
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != (size_t)elems * 8) {
            node_error(im, n, "%s '%.100s' holds %zu bytes of raw data; its dims need %lld", what, c->name,
                       t->raw_data.len, elems * 8);
            return false;
        }
        for (long long i = 0; i < elems; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = u << 8 | t->raw_data.data[8 * i + b];
            out[i] = (long long)u;
        }
    } else if (t->n_int64_data == (size_t)elems) {
        for (long long i = 0; i < elems; i++)
            out[i] = t->int64_data[i];
    } else {
        node_error(im, n, "%s '%.100s' holds %zu integers; its dims need %lld", what, c->name,
                   t->n_int64_data, elems);
        return false;
    }
    *count = (int)elems;
    return true;
}

/* ------------------------------------------------------------------ the graph */

static bool is_default_domain(const char *d)
{
    return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

static bool is_constant_node(const Onnx__NodeProto *n)
{
    return n->op_type != NULL && strcmp(n->op_type, "Constant") == 0 && is_default_domain(n->domain);
}

static bool graph_error(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `FILE: ...` for the graph as a whole; returns false. */
static bool graph_error(Importer *im, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_plain("%s: %s", im->path, msg);
    im->errors++;
    return false;
}

/* The opset of the default domain. */
static bool read_opset(Importer *im)
{
    const Onnx__ModelProto *m = im->model;
    im->opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (is_default_domain(m->opset_import[i]->domain) && m->opset_import[i]->has_version)
            im->opset = m->opset_import[i]->version > 1000 ? 1000 : (int)m->opset_import[i]->version;
    if (im->opset < 1)
        return graph_error(im, "declares no opset of the default ONNX domain");
    return true;
}

/* The one input that is not an initializer: float32 [N, A, B, C] with A, B, C fixed. */
static bool read_input(Importer *im)
{
    const Onnx__GraphProto *g = im->g;
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name;
        if (name == NULL || name[0] == '\0')
            return graph_error(im, "has an input without a name");
        if (find_const(im, name) != NULL)
            continue; /* older exporters list initializers among the inputs too */
        if (in != NULL) {
            return graph_error(im, "has more than one input ('%.200s' and '%.200s'); a cnnc model reads one image",
                               in->name, name);
        }
        in = g->input[i];
    }
    if (in == NULL)
        return graph_error(im, "has no input; a cnnc model reads one image");
    const Onnx__TypeProto *tp = in->type;
    if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || tp->tensor_type == NULL)
        return graph_error(im, "input '%.200s' is not a tensor", in->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        return graph_error(im, "input '%.200s' is %s; cnnc reads FLOAT (float32) images", in->name,
                           onnx_type_name(tt->has_elem_type ? tt->elem_type : 0));
    }
    if (tt->shape == NULL || tt->shape->n_dim != 4)
        return graph_error(im, "input '%.200s' is not of rank 4; cnnc reads images, [N, C, H, W] or [N, H, W, C]",
                           in->name);
    ImValue v = {.layout = LAYOUT_IMAGE, .layer = -1};
    for (int d = 1; d < 4; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            return graph_error(im, "input '%.200s' has a dynamic dimension other than the batch; cnnc compiles "
                               "every size but the batch in", in->name);
        if (dim->dim_value < 1 || dim->dim_value > 65536)
            return graph_error(im, "input '%.200s' has a dimension outside 1..65536", in->name);
        v.d[d - 1] = (int)dim->dim_value;
    }
    add_value(im, in->name, v);
    return true;
}

/* Registers the constants, the input, and every node's outputs; fills producer[] by slot. */
static bool read_names(Importer *im, int *producer)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (t->name == NULL || t->name[0] == '\0')
            return graph_error(im, "has an initializer without a name");
        if (lookup(im, t->name) != -1)
            return graph_error(im, "has two initializers named '%.200s'", t->name);
        add_const(im, t->name, t);
    }
    if (!read_input(im))
        return false;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->op_type == NULL || n->op_type[0] == '\0')
            return graph_error(im, "has a node without an operation");
        if (!is_default_domain(n->domain)) {
            node_error(im, n, "operation of domain '%.100s'; cnnc knows only the default ONNX domain",
                       n->domain);
            return false;
        }
        for (size_t o = 0; o < n->n_output; o++) {
            const char *name = n->output[o];
            if (name == NULL || name[0] == '\0')
                continue; /* an optional output left out */
            if (lookup(im, name) != -1 || (producer[name_slot(im, name)] >= 0)) {
                node_error(im, n, "writes '%.200s', which the graph already has", name);
                return false;
            }
            if (is_constant_node(n)) {
                const Onnx__AttributeProto *a = node_attr(n, "value");
                if (a == NULL || a->t == NULL || n->n_attribute != 1 || n->n_output != 1) {
                    node_error(im, n, "a Constant that is not one tensor 'value'; cnnc reads only those");
                    return false;
                }
                add_const(im, name, a->t);
            } else {
                int s = name_slot(im, name);
                im->keys[s] = (char *)name; /* reserved: -1 until its handler adds the value */
                producer[s] = (int)i;
            }
        }
    }
    return true;
}

bool import_graph_prepare(Importer *im, int **order_out)
{
    *order_out = NULL;
    im->g = im->model->graph;
    if (im->g == NULL)
        return graph_error(im, "has no graph");
    if (!read_opset(im))
        return false;
    const Onnx__GraphProto *g = im->g;
    /* Every name fits at half load: initializers, the inputs and every node output. */
    size_t names = g->n_initializer + g->n_input + 16;
    for (size_t i = 0; i < g->n_node; i++)
        names += g->node[i]->n_output;
    int nslots = 64;
    while ((size_t)nslots < 2 * names)
        nslots *= 2;
    im->nslots = nslots;
    im->keys = xcalloc((size_t)nslots, sizeof *im->keys);
    im->slots = xmalloc((size_t)nslots * sizeof *im->slots);
    im->use_count = xcalloc((size_t)nslots, sizeof *im->use_count);
    int *producer = xmalloc((size_t)nslots * sizeof *producer);
    for (int i = 0; i < nslots; i++)
        im->slots[i] = producer[i] = -1;

    int nn = (int)g->n_node;
    int *indeg = xcalloc((size_t)nn + 1, sizeof *indeg);
    int *first = xcalloc((size_t)nn + 2, sizeof *first); /* edges from node j: first[j]..first[j+1] */
    int *edges = NULL, *order = xmalloc(((size_t)nn + 1) * sizeof *order);
    bool ok = read_names(im, producer);

    /* Every tensor read must come from somewhere; count the edges between nodes. */
    size_t nedges = 0;
    for (int i = 0; ok && i < nn; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++) {
            const char *name = n->input[k];
            if (name == NULL || name[0] == '\0')
                continue;
            int s = name_slot(im, name);
            im->use_count[s]++;
            if (im->slots[s] != -1)
                continue;
            if (producer[s] < 0) {
                node_error(im, n, "reads '%.200s', which no node, initializer or input of the graph gives",
                           name);
                ok = false;
                break;
            }
            first[producer[s] + 1]++;
            indeg[i]++;
            nedges++;
        }
    }
    /* Kahn's algorithm over the edges, in file order where there is a choice. */
    int done = 0;
    if (ok) {
        for (int j = 0; j < nn; j++)
            first[j + 1] += first[j];
        edges = xmalloc((nedges + 1) * sizeof *edges);
        int *fill = xmalloc(((size_t)nn + 1) * sizeof *fill);
        memcpy(fill, first, (size_t)nn * sizeof *fill);
        for (int i = 0; i < nn; i++) {
            const Onnx__NodeProto *n = g->node[i];
            for (size_t k = 0; k < n->n_input; k++) {
                const char *name = n->input[k];
                if (name == NULL || name[0] == '\0')
                    continue;
                int s = name_slot(im, name);
                if (im->slots[s] == -1)
                    edges[fill[producer[s]]++] = i;
            }
        }
        free(fill);
        int tail = 0;
        for (int i = 0; i < nn; i++)
            if (indeg[i] == 0)
                order[tail++] = i;
        while (done < tail) {
            int j = order[done++];
            for (int e = first[j]; e < first[j + 1]; e++)
                if (--indeg[edges[e]] == 0)
                    order[tail++] = edges[e];
        }
        /* ONNX asks for the nodes in topological order, and most files have them so: then the
         * file's order is kept, which is the order of the layers of the model it came from. */
        bool sorted = done == nn;
        for (int i = 0; sorted && i < nn; i++) {
            const Onnx__NodeProto *n = g->node[i];
            for (size_t k = 0; sorted && k < n->n_input; k++)
                if (n->input[k] != NULL && n->input[k][0] != '\0') {
                    int s = name_slot(im, n->input[k]);
                    sorted = im->slots[s] != -1 || producer[s] < i;
                }
        }
        for (int i = 0; sorted && i < nn; i++)
            order[i] = i;
        if (done < nn) {
            for (int i = 0; i < nn; i++)
                if (indeg[i] > 0) {
                    node_error(im, g->node[i], "is part of a cycle: it reads what it computes, through %s",
                               "the nodes after it");
                    break;
                }
            ok = false;
        }
    }
    free(indeg);
    free(first);
    free(edges);
    free(producer);
    if (!ok) {
        free(order);
        return false;
    }
    *order_out = order;
    return true;
}
