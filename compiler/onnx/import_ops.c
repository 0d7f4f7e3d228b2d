/*
 * onnx/import_ops.c - one handler per ONNX operation that cnnc can express (contract
 * section 7): each checks its node's attributes and inputs, then appends cnnc layers with
 * their weights in cnnc's layout, or only changes the layout of the tensor it passes on.
 *
 * Layouts: ONNX's Conv and pooling are NCHW. PyTorch feeds them the input directly; Keras
 * (tf2onnx) and cnnc's own export put a Transpose to NCHW after an NHWC input, and one back
 * to NHWC before flattening. The graph's input is NCHW when a Conv or pooling reads it, NHWC
 * when a Transpose [0,3,1,2] does, and otherwise guessed (guess_image). A flatten of an NCHW
 * tensor reads C, H, W; the dense layer after it gets its kernel rows reordered to cnnc's
 * H, W, C.
 *
 * Graphs (contract section 6): a node may read any tensor computed before it; each layer
 * records the layers it reads (ImLayer.src) and import.c writes from=, with= and name= from
 * them. Add of two computed tensors is add, Concat concat (a chain of them for more than two
 * inputs), GlobalAveragePool then Flatten globalavgpool2d, BatchNormalization in inference
 * form batchnorm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/import.h"

/* ------------------------------------------------------------------ helpers */

static const char *layout_name(ValueLayout l)
{
    switch (l) {
    case LAYOUT_IMAGE: return "an image";
    case LAYOUT_NCHW: return "an NCHW image";
    case LAYOUT_NHWC: return "an NHWC image";
    case LAYOUT_FLAT: return "a flat tensor";
    }
    unreachable();
}

/* The input's layout, once a consumer has said it: the dims as written become H, W, C. */
static void resolve_image(ImValue *v, ValueLayout as)
{
    if (v->layout != LAYOUT_IMAGE)
        return;
    v->layout = as;
    if (as == LAYOUT_NHWC)
        v->shape = (Shape){.rank = 3, .h = v->d[0], .w = v->d[1], .c = v->d[2]};
    else
        v->shape = (Shape){.rank = 3, .h = v->d[1], .w = v->d[2], .c = v->d[0]};
}

/* The input read by a node that does not say its layout (a Flatten, an activation): cnnc's
 * own files are NHWC, as the contract says; otherwise the smaller of the outer dims is the
 * channels ([N, 1, 28, 28] is PyTorch's NCHW, [N, 28, 28, 1] Keras's NHWC). */
static void guess_image(const Importer *im, ImValue *v)
{
    if (v->layout == LAYOUT_IMAGE)
        resolve_image(v, im->from_cnnc || v->d[2] < v->d[0] ? LAYOUT_NHWC : LAYOUT_NCHW);
}

/* Input k of the node as data: a tensor that a layer (or the graph's input) computed. */
static ImValue *data_input(Importer *im, const Onnx__NodeProto *n, size_t k)
{
    if (k >= n->n_input || n->input[k] == NULL || n->input[k][0] == '\0') {
        node_error(im, n, "has no input %zu", k + 1);
        return NULL;
    }
    const char *name = n->input[k];
    if (find_const(im, name) != NULL) {
        node_error(im, n, "reads the constant '%.200s' as its data; cnnc's layers read the outputs of layers",
                   name);
        return NULL;
    }
    ImValue *v = find_value(im, name);
    if (v == NULL) {
        node_error(im, n, "reads '%.200s', an output that cnnc does not compute (a mask or indices)", name);
        return NULL;
    }
    if (v->pooled && strcmp(n->op_type, "Flatten") != 0 && strcmp(n->op_type, "Reshape") != 0) {
        node_error(im, n, "reads '%.200s', a GlobalAveragePool's [N, C, 1, 1]; cnnc's globalavgpool2d gives "
                   "[N, C], so only a Flatten may read it", name);
        return NULL;
    }
    return v;
}

/* Input k as a constant (an initializer or a Constant node); NULL after reporting when it is
 * missing or computed. `optional`: absent is no error (NULL without a report). */
static const ImConst *const_input(Importer *im, const Onnx__NodeProto *n, size_t k, const char *what, bool optional,
                                  bool *failed)
{
    if (k >= n->n_input || n->input[k] == NULL || n->input[k][0] == '\0') {
        if (!optional) {
            node_error(im, n, "has no %s (input %zu)", what, k + 1);
            *failed = true;
        }
        return NULL;
    }
    const ImConst *c = find_const(im, n->input[k]);
    if (c == NULL) {
        node_error(im, n, "computes its %s ('%.200s') in the graph; cnnc needs it as an initializer", what,
                   n->input[k]);
        *failed = true;
    }
    return c;
}

static char *node_comment(const Onnx__NodeProto *n)
{
    char buf[320];
    snprintf(buf, sizeof buf, "'%.200s' (%.64s)", node_label(n), n->op_type);
    return xstrdup(buf);
}

static void append_comment(ImLayer *L, const Onnx__NodeProto *n)
{
    char *more = node_comment(n);
    size_t len = strlen(L->onnx_nodes) + strlen(more) + 3;
    char *s = xmalloc(len);
    snprintf(s, len, "%s, %s", L->onnx_nodes, more);
    free(L->onnx_nodes);
    free(more);
    L->onnx_nodes = s;
}

/* Whether `s` can be a cnnc layer name: an identifier of at most 64 characters. */
static bool usable_name(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    size_t i = 0;
    for (; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return i <= 64 && strncmp(s, "__", 2) != 0 && !is_c_keyword(s);
}

/* A layer reading x (its first input) that outputs `out`. */
static ImLayer *new_layer(Importer *im, const Onnx__NodeProto *n, LayerKind kind, const ImValue *x, Shape out)
{
    grow_array((void **)&im->layers, &im->layers_cap, im->nlayers, sizeof *im->layers);
    ImLayer *L = &im->layers[im->nlayers++];
    *L = (ImLayer){.kind = kind, .act = ACT_NONE, .padding = PAD_VALID, .in = x->shape, .out = out,
                   .src = {x->layer, -1}, .nsrc = 1};
    L->onnx_nodes = node_comment(n);
    L->main_node = n->name != NULL ? n->name : "";
    /* cnnc's own files name their nodes after the layers: keep those names. */
    if (im->from_cnnc && usable_name(n->name))
        L->name = xstrdup(n->name);
    return L;
}

/* Records output 0 of the node. */
static bool set_output(Importer *im, const Onnx__NodeProto *n, ImValue v)
{
    if (n->n_output < 1 || n->output[0] == NULL || n->output[0][0] == '\0') {
        node_error(im, n, "has no output");
        return false;
    }
    add_value(im, n->output[0], v);
    return true;
}

/* Outputs after the first must be absent or unread (Dropout's mask, MaxPool's indices). */
static bool only_first_output(Importer *im, const Onnx__NodeProto *n, const char *what)
{
    for (size_t o = 1; o < n->n_output; o++)
        if (n->output[o] != NULL && n->output[o][0] != '\0' && name_uses(im, n->output[o]) > 0) {
            /* Read by nobody is fine: exporters often name outputs that nothing uses. */
            node_error(im, n, "its %s ('%.200s') is read by another node; cnnc does not compute it", what,
                       n->output[o]);
            return false;
        }
    return true;
}

static bool image_input(Importer *im, const Onnx__NodeProto *n, ImValue *x)
{
    resolve_image(x, LAYOUT_NCHW); /* ONNX's Conv and pooling read NCHW, whoever wrote the file */
    if (x->layout == LAYOUT_NCHW)
        return true;
    node_error(im, n, "reads %s; ONNX's %s is channels-first, so an NHWC tensor needs a Transpose [0,3,1,2] "
               "before it", layout_name(x->layout), n->op_type);
    return false;
}

static bool positive_pair(Importer *im, const Onnx__NodeProto *n, const char *attr, const long long *v, int count,
                          int def, int out[2])
{
    if (count == 0) {
        out[0] = out[1] = def;
        return true;
    }
    if (count != 2 || v[0] < 1 || v[1] < 1 || v[0] > 65536 || v[1] > 65536) {
        node_error(im, n, "attribute '%s' must be two sizes from 1 to 65536 for a 2-D image", attr);
        return false;
    }
    out[0] = (int)v[0];
    out[1] = (int)v[1];
    return true;
}

static bool no_dilation(Importer *im, const Onnx__NodeProto *n)
{
    long long d[4];
    int nd;
    if (!attr_ints(im, n, "dilations", d, 4, &nd))
        return false;
    for (int i = 0; i < nd; i++)
        if (d[i] != 1) {
            node_error(im, n, "has a dilation of %lld; cnnc's windows have none", d[i]);
            return false;
        }
    return true;
}

/* Keras same padding on one axis: the total, the smaller half before. */
static void keras_same(int in, int k, int s, int *out, int *before, int *after)
{
    *out = (in + s - 1) / s;
    long long total = (long long)(*out - 1) * s + k - in;
    if (total < 0)
        total = 0;
    *before = (int)(total / 2);
    *after = (int)(total - total / 2);
}

/* The window's padding as cnnc writes it, valid or same, and the output size; false after
 * reporting padding that is neither, or a window larger than a valid input. */
static bool window_padding(Importer *im, const Onnx__NodeProto *n, Shape in, int k[2], int s[2], Padding *pad,
                           int *out_h, int *out_w)
{
    char auto_pad[32];
    long long pads[8];
    int np;
    if (!attr_string(im, n, "auto_pad", "NOTSET", auto_pad, sizeof auto_pad) ||
        !attr_ints(im, n, "pads", pads, 8, &np))
        return false;
    if (np != 0 && np != 4) {
        node_error(im, n, "attribute 'pads' has %d values; a 2-D window has 4", np);
        return false;
    }
    bool any = false;
    for (int i = 0; i < np; i++) {
        if (pads[i] < 0 || pads[i] > 65536) {
            node_error(im, n, "has a padding of %lld", pads[i]);
            return false;
        }
        any |= pads[i] != 0;
    }
    int sh, sb, sl, sr, oh, ow;
    keras_same(in.h, k[0], s[0], &oh, &sh, &sb);
    keras_same(in.w, k[1], s[1], &ow, &sl, &sr);
    if (strcmp(auto_pad, "SAME_UPPER") == 0 ||
        (strcmp(auto_pad, "SAME_LOWER") == 0 && sh == sb && sl == sr)) {
        *pad = PAD_SAME;
    } else if (strcmp(auto_pad, "SAME_LOWER") == 0) {
        node_error(im, n, "pads SAME_LOWER, the larger half before; Keras same puts it after");
        return false;
    } else if (strcmp(auto_pad, "VALID") == 0 || (strcmp(auto_pad, "NOTSET") == 0 && !any)) {
        *pad = PAD_VALID;
    } else if (strcmp(auto_pad, "NOTSET") == 0) {
        /* ONNX pads are [top, left, bottom, right]. */
        if (pads[0] != sh || pads[1] != sl || pads[2] != sb || pads[3] != sr) {
            node_error(im, n, "pads [%lld, %lld, %lld, %lld] (top, left, bottom, right) are neither valid nor Keras "
                       "same, which is [%d, %d, %d, %d] for this %dx%d input", pads[0], pads[1], pads[2], pads[3],
                       sh, sl, sb, sr, in.h, in.w);
            return false;
        }
        *pad = PAD_SAME;
    } else {
        node_error(im, n, "auto_pad '%.31s' is not one ONNX defines", auto_pad);
        return false;
    }
    if (*pad == PAD_VALID) {
        if (k[0] > in.h || k[1] > in.w) {
            node_error(im, n, "needs a %dx%d window but its input is %dx%d", k[0], k[1], in.h, in.w);
            return false;
        }
        oh = (in.h - k[0]) / s[0] + 1;
        ow = (in.w - k[1]) / s[1] + 1;
    }
    *out_h = oh;
    *out_w = ow;
    return true;
}

/* A bias of `units` floats: [units] or [1, units]. */
static float *bias_values(Importer *im, const Onnx__NodeProto *n, const ImConst *c, int units)
{
    long long dims[4], count;
    float *b = const_floats(im, n, c, "the bias", -1, dims, &count);
    if (b == NULL)
        return NULL;
    if (count != units || c->t->n_dims < 1 || c->t->n_dims > 2 || (c->t->n_dims == 2 && dims[0] != 1)) {
        node_error(im, n, "the bias '%.200s' is not [%d] or [1, %d]", c->name, units, units);
        free(b);
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------------ Conv */

static bool op_conv(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
    if (!known_attrs(im, n, known))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !image_input(im, n, x))
        return false;
    bool failed = false;
    const ImConst *wc = const_input(im, n, 1, "kernel", false, &failed);
    const ImConst *bc = const_input(im, n, 2, "bias", true, &failed);
    if (failed)
        return false;
    long long group, ks[4], st[4];
    int nks, nst;
    if (!attr_int(im, n, "group", 1, &group) || !attr_ints(im, n, "kernel_shape", ks, 4, &nks) ||
        !attr_ints(im, n, "strides", st, 4, &nst) || !no_dilation(im, n))
        return false;
    if (group != 1) {
        node_error(im, n, "has %lld groups; cnnc's conv2d has none", group);
        return false;
    }
    long long wd[4], wcount;
    float *w = const_floats(im, n, wc, "the kernel", 4, wd, &wcount);
    if (w == NULL)
        return false;
    /* ONNX: [COUT][CIN][KH][KW]. */
    int k[2], s[2];
    bool ok = positive_pair(im, n, "strides", st, nst, 1, s);
    if (ok && (wd[0] < 1 || wd[1] != x->shape.c || wd[2] < 1 || wd[3] < 1 || wd[2] > 65536 || wd[3] > 65536)) {
        node_error(im, n, "the kernel '%.200s' is [%lld, %lld, %lld, %lld]; for this input it must be [filters, %d, "
                   "KH, KW]", wc->name, wd[0], wd[1], wd[2], wd[3], x->shape.c);
        ok = false;
    }
    if (ok) {
        k[0] = (int)wd[2];
        k[1] = (int)wd[3];
        if (nks != 0 && (nks != 2 || ks[0] != k[0] || ks[1] != k[1])) {
            node_error(im, n, "kernel_shape does not match the kernel's %dx%d", k[0], k[1]);
            ok = false;
        }
    }
    Padding pad = PAD_VALID;
    int oh = 0, ow = 0;
    ok = ok && window_padding(im, n, x->shape, k, s, &pad, &oh, &ow);
    int cout = (int)wd[0], cin = x->shape.c;
    float *b = ok && bc != NULL ? bias_values(im, n, bc, cout) : NULL;
    if (!ok || (bc != NULL && b == NULL)) {
        free(w);
        return false;
    }
    Shape out = {.rank = 3, .h = oh, .w = ow, .c = cout};
    ImLayer *L = new_layer(im, n, LAYER_CONV2D, x, out);
    L->filters_or_units = cout;
    L->kh = k[0];
    L->kw = k[1];
    L->sh = s[0];
    L->sw = s[1];
    L->padding = pad;
    L->use_bias = b != NULL;
    L->bias = b;
    L->bias_count = b != NULL ? cout : 0;
    L->kernel_count = wcount;
    L->kernel_ndim = 4;
    L->kernel_shape[0] = k[0];
    L->kernel_shape[1] = k[1];
    L->kernel_shape[2] = cin;
    L->kernel_shape[3] = cout;
    L->kernel = xmalloc((size_t)wcount * sizeof *L->kernel);
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k[0]; ky++)
                for (int kx = 0; kx < k[1]; kx++)
                    L->kernel[(((size_t)ky * k[1] + kx) * cin + ci) * cout + co] =
                        w[(((size_t)co * cin + ci) * k[0] + ky) * k[1] + kx];
    free(w);
    return set_output(im, n, (ImValue){.layout = LAYOUT_NCHW, .shape = out, .layer = im->nlayers - 1});
}

/* ------------------------------------------------------------------ MaxPool, AveragePool */

static bool op_pool(Importer *im, const Onnx__NodeProto *n)
{
    bool avg = strcmp(n->op_type, "AveragePool") == 0;
    static const char *const known_max[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                            "storage_order", "strides", NULL};
    static const char *const known_avg[] = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads",
                                            "strides", NULL};
    if (!known_attrs(im, n, avg ? known_avg : known_max))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !image_input(im, n, x) || !only_first_output(im, n, "Indices output"))
        return false;
    long long ks[4], st[4], ceil_mode, include_pad;
    int nks, nst;
    if (!attr_ints(im, n, "kernel_shape", ks, 4, &nks) || !attr_ints(im, n, "strides", st, 4, &nst) ||
        !attr_int(im, n, "ceil_mode", 0, &ceil_mode) || !attr_int(im, n, "count_include_pad", 0, &include_pad) ||
        !no_dilation(im, n))
        return false;
    if (nks == 0) {
        node_error(im, n, "has no kernel_shape");
        return false;
    }
    int k[2], s[2];
    if (!positive_pair(im, n, "kernel_shape", ks, nks, 1, k) || !positive_pair(im, n, "strides", st, nst, 1, s))
        return false;
    if (ceil_mode != 0) {
        node_error(im, n, "rounds its output size up (ceil_mode); Keras pooling rounds down");
        return false;
    }
    Padding pad;
    int oh, ow;
    if (!window_padding(im, n, x->shape, k, s, &pad, &oh, &ow))
        return false;
    int t, b, l, r, unused;
    keras_same(x->shape.h, k[0], s[0], &unused, &t, &b);
    keras_same(x->shape.w, k[1], s[1], &unused, &l, &r);
    if (avg && include_pad != 0 && pad == PAD_SAME && t + b + l + r > 0) {
        node_error(im, n, "counts the padding in its averages (count_include_pad); Keras averages over the "
                   "valid cells only");
        return false;
    }
    Shape out = {.rank = 3, .h = oh, .w = ow, .c = x->shape.c};
    ImLayer *L = new_layer(im, n, avg ? LAYER_AVGPOOL2D : LAYER_MAXPOOL2D, x, out);
    L->kh = k[0];
    L->kw = k[1];
    L->sh = s[0];
    L->sw = s[1];
    L->padding = pad;
    return set_output(im, n, (ImValue){.layout = LAYOUT_NCHW, .shape = out, .layer = im->nlayers - 1});
}

/* ------------------------------------------------------------------ activations */

static Activation activation_of(const char *op)
{
    if (strcmp(op, "Relu") == 0)
        return ACT_RELU;
    if (strcmp(op, "Sigmoid") == 0)
        return ACT_SIGMOID;
    if (strcmp(op, "Tanh") == 0)
        return ACT_TANH;
    return ACT_SOFTMAX;
}

static LayerKind standalone_kind(Activation a)
{
    switch (a) {
    case ACT_RELU: return LAYER_RELU;
    case ACT_SIGMOID: return LAYER_SIGMOID;
    case ACT_TANH: return LAYER_TANH;
    case ACT_SOFTMAX: return LAYER_SOFTMAX;
    case ACT_NONE: break;
    }
    unreachable();
}

/* Whether the activation can be the `activation=` of the layer that wrote x (through
 * Transposes too, as tf2onnx places them): conv2d or dense, none yet, x read only here. cnnc's own files name a fused activation's node
 * "<layer>/<activation>"; one named otherwise was a layer of its own and stays one. */
static bool can_fold(const Importer *im, const Onnx__NodeProto *n, const ImValue *x)
{
    if (x->layer < 0 || x->layer != im->nlayers - 1 || x->uses != 1)
        return false;
    const ImLayer *L = &im->layers[x->layer];
    if ((L->kind != LAYER_CONV2D && L->kind != LAYER_DENSE) || L->act != ACT_NONE)
        return false;
    if (!im->from_cnnc)
        return true;
    size_t len = strlen(L->main_node);
    return n->name != NULL && strncmp(n->name, L->main_node, len) == 0 && n->name[len] == '/';
}

static bool op_activation(Importer *im, const Onnx__NodeProto *n)
{
    Activation act = activation_of(n->op_type);
    static const char *const known_none[] = {NULL};
    static const char *const known_softmax[] = {"axis", NULL};
    if (!known_attrs(im, n, act == ACT_SOFTMAX ? known_softmax : known_none))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL)
        return false;
    guess_image(im, x);
    if (act == ACT_SOFTMAX) {
        long long axis;
        if (!attr_int(im, n, "axis", im->opset >= 13 ? -1 : 1, &axis))
            return false;
        if (x->layout != LAYOUT_FLAT || (axis != 1 && axis != -1)) {
            node_error(im, n, "is a softmax over %s (axis %lld); cnnc's softmax ends the network, over the units "
                       "of a flat tensor", layout_name(x->layout), axis);
            return false;
        }
    }
    ImValue out = *x;
    if (can_fold(im, n, x)) {
        ImLayer *L = &im->layers[x->layer];
        L->act = act;
        append_comment(L, n);
    } else {
        new_layer(im, n, standalone_kind(act), x, x->shape);
        out.layer = im->nlayers - 1;
    }
    return set_output(im, n, out);
}

/* ------------------------------------------------------------------ Flatten, Reshape */

/* A flatten of x: a flatten layer, or nothing when x is flat already. */
static bool flatten_value(Importer *im, const Onnx__NodeProto *n, ImValue *x)
{
    guess_image(im, x);
    ImValue out = *x;
    if (x->pooled) {
        /* globalavgpool2d's output is flat already: the Flatten is part of it. */
        append_comment(&im->layers[x->layer], n);
        out = (ImValue){.layout = LAYOUT_FLAT, .shape = {.rank = 1, .h = 1, .w = 1, .c = x->shape.c},
                        .layer = x->layer};
    } else if (x->layout != LAYOUT_FLAT) {
        long long units = shape_size(x->shape);
        if (units > ONNX_MAX_TENSOR_ELEMS) {
            node_error(im, n, "flattens %lld values per image, too many", units);
            return false;
        }
        Shape flat = {.rank = 1, .h = 1, .w = 1, .c = (int)units};
        new_layer(im, n, LAYER_FLATTEN, x, flat);
        out = (ImValue){.layout = LAYOUT_FLAT, .shape = flat, .layer = im->nlayers - 1};
        /* Channels-first values flatten as C, H, W; that differs from H, W, C unless one side is 1. */
        if (x->layout == LAYOUT_NCHW && x->shape.c > 1 && x->shape.h * x->shape.w > 1) {
            out.chw_order = true;
            out.chw = x->shape;
        }
    }
    return set_output(im, n, out);
}

static bool op_flatten(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"axis", NULL};
    long long axis;
    if (!known_attrs(im, n, known) || !attr_int(im, n, "axis", 1, &axis))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL)
        return false;
    if (axis != 1) {
        node_error(im, n, "flattens from axis %lld; cnnc's flatten keeps the batch, axis 1", axis);
        return false;
    }
    return flatten_value(im, n, x);
}

static bool op_reshape(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"allowzero", NULL};
    long long allowzero, shape[8];
    int count;
    bool failed = false;
    if (!known_attrs(im, n, known) || !attr_int(im, n, "allowzero", 0, &allowzero))
        return false;
    ImValue *x = data_input(im, n, 0);
    const ImConst *sc = x != NULL ? const_input(im, n, 1, "shape", false, &failed) : NULL;
    if (sc == NULL || !const_int64s(im, n, sc, "the shape", shape, 8, &count))
        return false;
    guess_image(im, x);
    long long units = shape_size(x->shape);
    bool batch_kept = count == 2 && (shape[0] == 0 ? allowzero == 0 : shape[0] == -1 ? shape[1] == units : shape[0] > 0);
    if (!batch_kept || (shape[1] != -1 && shape[1] != units)) {
        node_error(im, n, "reshapes to a shape other than [batch, %lld]; cnnc reshapes only to 2-D, as a flatten",
                   units);
        return false;
    }
    return flatten_value(im, n, x);
}

/* ------------------------------------------------------------------ Gemm, MatMul, Add */

/* A dense layer reading x with kernel rows of `in_units`; `w` is ONNX's B, [IN][OUT], or
 * [OUT][IN] when transposed. */
static ImLayer *dense_layer(Importer *im, const Onnx__NodeProto *n, const ImValue *x, const float *w, int units,
                            bool transposed)
{
    int in_units = x->shape.c;
    ImLayer *L = new_layer(im, n, LAYER_DENSE, x, (Shape){.rank = 1, .h = 1, .w = 1, .c = units});
    L->filters_or_units = units;
    L->kernel_count = (long long)in_units * units;
    L->kernel_ndim = 2;
    L->kernel_shape[0] = in_units;
    L->kernel_shape[1] = units;
    L->kernel = xmalloc((size_t)L->kernel_count * sizeof *L->kernel);
    int H = x->chw.h, W = x->chw.w, C = x->chw.c;
    for (int r = 0; r < in_units; r++) {
        /* cnnc's row r reads H, W, C order; the file's row reads C, H, W after a PyTorch flatten. */
        int src = r;
        if (x->chw_order) {
            int ch = r % C, px = (r / C) % W, py = r / (C * W);
            src = (ch * H + py) * W + px;
        }
        for (int o = 0; o < units; o++)
            L->kernel[(size_t)r * units + o] = transposed ? w[(size_t)o * in_units + src] : w[(size_t)src * units + o];
    }
    return L;
}

static bool flat_input(Importer *im, const Onnx__NodeProto *n, ImValue *x)
{
    guess_image(im, x);
    if (x->layout == LAYOUT_FLAT)
        return true;
    node_error(im, n, "reads %s; a dense layer reads a flat tensor (a Flatten must come before it)",
               layout_name(x->layout));
    return false;
}

static bool op_gemm(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    double alpha, beta;
    long long ta, tb;
    if (!known_attrs(im, n, known) || !attr_float(im, n, "alpha", 1, &alpha) || !attr_float(im, n, "beta", 1, &beta) ||
        !attr_int(im, n, "transA", 0, &ta) || !attr_int(im, n, "transB", 0, &tb))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !flat_input(im, n, x))
        return false;
    if (alpha != 1 || beta != 1 || ta != 0) {
        node_error(im, n, "scales or transposes its input (alpha %g, beta %g, transA %lld); cnnc's dense computes "
                   "x W + b", alpha, beta, ta);
        return false;
    }
    bool failed = false;
    const ImConst *wc = const_input(im, n, 1, "kernel", false, &failed);
    const ImConst *bc = const_input(im, n, 2, "bias", true, &failed);
    if (failed)
        return false;
    long long wd[4], count;
    float *w = const_floats(im, n, wc, "the kernel", 2, wd, &count);
    if (w == NULL)
        return false;
    long long in_units = tb ? wd[1] : wd[0], units = tb ? wd[0] : wd[1];
    if (in_units != x->shape.c || units < 1 || units > 1 << 24) {
        node_error(im, n, "the kernel '%.200s' is [%lld, %lld]%s; its input has %d units", wc->name, wd[0], wd[1],
                   tb ? " (transposed)" : "", x->shape.c);
        free(w);
        return false;
    }
    float *b = bc != NULL ? bias_values(im, n, bc, (int)units) : NULL;
    if (bc != NULL && b == NULL) {
        free(w);
        return false;
    }
    ImLayer *L = dense_layer(im, n, x, w, (int)units, tb != 0);
    free(w);
    L->use_bias = b != NULL;
    L->bias = b;
    L->bias_count = b != NULL ? units : 0;
    return set_output(im, n, (ImValue){.layout = LAYOUT_FLAT, .shape = L->out, .layer = im->nlayers - 1});
}

static bool op_matmul(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {NULL};
    if (!known_attrs(im, n, known))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !flat_input(im, n, x))
        return false;
    bool failed = false;
    const ImConst *wc = const_input(im, n, 1, "kernel", false, &failed);
    if (failed)
        return false;
    long long wd[4], count;
    float *w = const_floats(im, n, wc, "the kernel", 2, wd, &count);
    if (w == NULL)
        return false;
    if (wd[0] != x->shape.c || wd[1] < 1 || wd[1] > 1 << 24) {
        node_error(im, n, "the kernel '%.200s' is [%lld, %lld]; its input has %d units", wc->name, wd[0], wd[1],
                   x->shape.c);
        free(w);
        return false;
    }
    ImLayer *L = dense_layer(im, n, x, w, (int)wd[1], false);
    free(w);
    return set_output(im, n, (ImValue){.layout = LAYOUT_FLAT, .shape = L->out, .layer = im->nlayers - 1});
}

/* ------------------------------------------------------------------ the graph layers */

/* The two data inputs of an Add or a Concat in one layout: an NCHW and an NHWC image cannot
 * be joined without a Transpose, which the file would have to hold. */
static bool same_layout(Importer *im, const Onnx__NodeProto *n, ImValue *a, ImValue *b)
{
    /* The graph's input, not yet resolved, takes the other's layout when that is an image's. */
    ImValue *v[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        ValueLayout other = v[1 - k]->layout;
        if (other == LAYOUT_NCHW || other == LAYOUT_NHWC)
            resolve_image(v[k], other);
        else
            guess_image(im, v[k]);
    }
    if (a->layout == b->layout)
        return true;
    node_error(im, n, "reads %s ('%.200s') and %s ('%.200s'); both must be in one layout", layout_name(a->layout),
               a->name, layout_name(b->layout), b->name);
    return false;
}

/* A layer reading a and b: add(with=) or concat(with=). */
static ImLayer *join_layer(Importer *im, const Onnx__NodeProto *n, LayerKind kind, const ImValue *a,
                           const ImValue *b, Shape out)
{
    ImLayer *L = new_layer(im, n, kind, a, out);
    L->src[1] = b->layer;
    L->nsrc = 2;
    return L;
}

/* Add of two computed tensors of the same shape: add. */
static bool op_graph_add(Importer *im, const Onnx__NodeProto *n)
{
    ImValue *a = data_input(im, n, 0), *b = a != NULL ? data_input(im, n, 1) : NULL;
    if (b == NULL || !same_layout(im, n, a, b))
        return false;
    if (a->shape.rank != b->shape.rank || a->shape.h != b->shape.h || a->shape.w != b->shape.w ||
        a->shape.c != b->shape.c || a->chw_order != b->chw_order) {
        node_error(im, n, "adds '%.200s' and '%.200s', which differ in shape; cnnc's add (like Keras') does not "
                   "broadcast", a->name, b->name);
        return false;
    }
    Shape out = a->shape;
    ImValue v = *a;
    join_layer(im, n, LAYER_ADD, a, b, out);
    v.layer = im->nlayers - 1;
    return set_output(im, n, v);
}

/* Concat along the channels (axis 1 of NCHW, 3 of NHWC, the units of a flat tensor): a
 * concat layer, or a chain of them for more than two inputs (joining is associative). */
static bool op_concat(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"axis", NULL};
    long long axis;
    if (!known_attrs(im, n, known) || !attr_int(im, n, "axis", 1, &axis))
        return false;
    if (node_attr(n, "axis") == NULL) {
        node_error(im, n, "has no axis");
        return false;
    }
    if (n->n_input < 2) {
        node_error(im, n, "joins %zu tensors; cnnc's concat joins two or more", n->n_input);
        return false;
    }
    ImValue *a = data_input(im, n, 0);
    if (a == NULL)
        return false;
    ImValue acc = *a;
    for (size_t k = 1; k < n->n_input; k++) {
        ImValue *b = data_input(im, n, k);
        if (b == NULL || !same_layout(im, n, &acc, b))
            return false;
        if (k == 1)
            *a = acc; /* the input's layout, once resolved, stays */
        int rank = acc.layout == LAYOUT_FLAT ? 2 : 4;
        long long want = acc.layout == LAYOUT_NHWC ? 3 : 1;
        if (axis != want && axis != want - rank) {
            node_error(im, n, "joins %s along axis %lld; cnnc's concat joins the channels, axis %lld",
                       layout_name(acc.layout), axis, want);
            return false;
        }
        if (acc.chw_order || b->chw_order ||
            (acc.layout != LAYOUT_FLAT && (acc.shape.h != b->shape.h || acc.shape.w != b->shape.w))) {
            node_error(im, n, "joins '%.200s' and '%.200s', whose %s differ", acc.name, b->name,
                       acc.layout == LAYOUT_FLAT ? "orders of units" : "heights or widths");
            return false;
        }
        long long c = (long long)acc.shape.c + b->shape.c;
        if (c > 2147483647LL) {
            node_error(im, n, "joins %lld channels, too many", c);
            return false;
        }
        Shape out = acc.shape;
        out.c = (int)c;
        join_layer(im, n, LAYER_CONCAT, &acc, b, out);
        acc.shape = out;
        acc.layer = im->nlayers - 1;
    }
    return set_output(im, n, acc);
}

/* GlobalAveragePool of an NCHW image: globalavgpool2d, whose [N, C, 1, 1] the Flatten after
 * it makes flat. */
static bool op_global_avgpool(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {NULL};
    if (!known_attrs(im, n, known))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !image_input(im, n, x))
        return false;
    Shape flat = {.rank = 1, .h = 1, .w = 1, .c = x->shape.c};
    new_layer(im, n, LAYER_GLOBALAVGPOOL2D, x, flat);
    ImValue v = {.layout = LAYOUT_NCHW, .shape = {.rank = 3, .h = 1, .w = 1, .c = x->shape.c},
                 .layer = im->nlayers - 1, .pooled = true};
    return set_output(im, n, v);
}

/* One of BatchNormalization's [C] tensors; `fill` (1 or 0) names the value a cnnc export
 * writes as "<layer>/ones" or "<layer>/zeros" for a gamma or beta the layer does not have:
 * *absent is then set. */
static float *bn_tensor(Importer *im, const Onnx__NodeProto *n, size_t k, const char *what, int c, int fill,
                        bool *absent)
{
    bool failed = false;
    const ImConst *t = const_input(im, n, k, what, false, &failed);
    if (t == NULL)
        return NULL;
    long long dims[4], count;
    float *v = const_floats(im, n, t, what, 1, dims, &count);
    if (v == NULL)
        return NULL;
    if (count != c) {
        node_error(im, n, "%s '%.200s' has %lld values; its input has %d channels", what, t->name, count, c);
        free(v);
        return NULL;
    }
    if (fill >= 0 && im->from_cnnc && n->name != NULL) {
        size_t len = strlen(n->name);
        const char *suffix = fill == 1 ? "/ones" : "/zeros";
        bool all = strncmp(t->name, n->name, len) == 0 && strcmp(t->name + len, suffix) == 0;
        for (int i = 0; all && i < c; i++)
            all = v[i] == (float)fill;
        if (all) {
            *absent = true;
            free(v);
            return NULL;
        }
    }
    return v;
}

/* BatchNormalization in inference form: batchnorm over the channels (NCHW's axis 1) or a flat
 * tensor's units, with the file's epsilon (ONNX's default 1e-5, not Keras' 1e-3) and momentum
 * (the same meaning as Keras'; Keras' 0.99 when the file has none). */
static bool op_batchnorm(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"epsilon", "momentum", "training_mode", "spatial", "is_test", NULL};
    double epsilon, momentum;
    long long training, spatial, is_test;
    /* Before opset 7, is_test said the form, and its default was training. */
    if (!known_attrs(im, n, known) || !attr_float(im, n, "epsilon", 1e-5, &epsilon) ||
        !attr_float(im, n, "momentum", 0.99, &momentum) || !attr_int(im, n, "training_mode", 0, &training) ||
        !attr_int(im, n, "spatial", 1, &spatial) || !attr_int(im, n, "is_test", im->opset < 7 ? 0 : 1, &is_test))
        return false;
    if (training != 0 || is_test == 0) {
        node_error(im, n, "is in training form (%s); cnnc imports the inference form, which normalises with the "
                   "moving statistics", training != 0 ? "training_mode=1" : "is_test=0");
        return false;
    }
    if (spatial != 1) {
        node_error(im, n, "normalises every pixel apart (spatial=0); cnnc's batchnorm shares its statistics "
                   "over the image");
        return false;
    }
    if (!(epsilon > 0 && epsilon < 1e30) || !(momentum >= 0 && momentum <= 1)) {
        node_error(im, n, "has epsilon %g and momentum %g; cnnc's batchnorm takes epsilon > 0 and a momentum from "
                   "0 to 1", epsilon, momentum);
        return false;
    }
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !only_first_output(im, n, "running statistics"))
        return false;
    if (x->layout != LAYOUT_FLAT && !image_input(im, n, x))
        return false;
    int c = x->shape.c;
    bool no_scale = false, no_center = false;
    float *t[4] = {NULL, NULL, NULL, NULL};
    t[0] = bn_tensor(im, n, 1, "the scale", c, 1, &no_scale);
    t[1] = t[0] != NULL || no_scale ? bn_tensor(im, n, 2, "the bias", c, 0, &no_center) : NULL;
    t[2] = t[1] != NULL || no_center ? bn_tensor(im, n, 3, "the mean", c, -1, NULL) : NULL;
    t[3] = t[2] != NULL ? bn_tensor(im, n, 4, "the variance", c, -1, NULL) : NULL;
    if (t[3] == NULL) {
        for (int k = 0; k < 4; k++)
            free(t[k]);
        return false;
    }
    ImLayer *L = new_layer(im, n, LAYER_BATCHNORM, x, x->shape);
    L->gamma = t[0];
    L->beta = t[1];
    L->moving_mean = t[2];
    L->moving_variance = t[3];
    L->channels = c;
    L->epsilon = epsilon;
    L->momentum = momentum;
    ImValue v = *x;
    v.layer = im->nlayers - 1;
    return set_output(im, n, v);
}

/* MatMul then Add of a constant: the dense layer's bias. Two computed tensors: a graph add. */
static bool op_add(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {NULL};
    if (!known_attrs(im, n, known))
        return false;
    if (n->n_input != 2) {
        node_error(im, n, "has %zu inputs, not 2", n->n_input);
        return false;
    }
    int ci = find_const(im, n->input[0]) != NULL ? 0 : find_const(im, n->input[1]) != NULL ? 1 : -1;
    if (ci < 0)
        return op_graph_add(im, n);
    ImValue *x = data_input(im, n, (size_t)(1 - ci));
    if (x == NULL)
        return false;
    ImLayer *L = x->layer >= 0 && x->layer == im->nlayers - 1 ? &im->layers[x->layer] : NULL;
    if (L == NULL || L->kind != LAYER_DENSE || L->use_bias || L->act != ACT_NONE || x->uses != 1) {
        node_error(im, n, "adds a constant to a tensor that is not a MatMul's product; cnnc adds biases only in "
                   "its layers");
        return false;
    }
    float *b = bias_values(im, n, find_const(im, n->input[ci]), L->filters_or_units);
    if (b == NULL)
        return false;
    L->use_bias = true;
    L->bias = b;
    L->bias_count = L->filters_or_units;
    append_comment(L, n);
    ImValue out = *x;
    return set_output(im, n, out);
}

/* ------------------------------------------------------------------ Dropout, Identity, Transpose */

static bool op_dropout(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"ratio", "seed", "is_test", NULL};
    double ratio;
    long long seed;
    if (!known_attrs(im, n, known) || !attr_float(im, n, "ratio", 0.5, &ratio) || !attr_int(im, n, "seed", 0, &seed))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL || !only_first_output(im, n, "mask"))
        return false;
    bool failed = false;
    const ImConst *rc = const_input(im, n, 1, "ratio", true, &failed);
    const ImConst *tc = const_input(im, n, 2, "training_mode", true, &failed);
    if (failed)
        return false;
    if (rc != NULL) {
        long long dims[4], count;
        float *r = const_floats(im, n, rc, "the ratio", -1, dims, &count);
        if (r == NULL)
            return false;
        if (count != 1) {
            free(r);
            node_error(im, n, "the ratio '%.200s' is not one number", rc->name);
            return false;
        }
        ratio = r[0];
        free(r);
    }
    if (tc != NULL) {
        const Onnx__TensorProto *t = tc->t;
        bool off = t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL &&
                   ((t->n_int32_data == 1 && t->int32_data[0] == 0) ||
                    (t->has_raw_data && t->raw_data.len == 1 && t->raw_data.data[0] == 0));
        if (!off) {
            node_error(im, n, "its training_mode is not the constant false; cnnc's exported graph is for inference");
            return false;
        }
    }
    if (!(ratio >= 0 && ratio < 1)) {
        node_error(im, n, "drops a fraction %g; cnnc's dropout takes 0 <= rate < 1", ratio);
        return false;
    }
    guess_image(im, x);
    ImLayer *L = new_layer(im, n, LAYER_DROPOUT, x, x->shape);
    L->rate = (float)ratio;
    L->has_seed = node_attr(n, "seed") != NULL;
    L->seed = seed;
    ImValue out = *x;
    out.layer = im->nlayers - 1;
    return set_output(im, n, out);
}

static bool op_identity(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {NULL};
    if (!known_attrs(im, n, known))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL)
        return false;
    return set_output(im, n, *x);
}

static bool op_transpose(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"perm", NULL};
    long long p[8];
    int np;
    if (!known_attrs(im, n, known) || !attr_ints(im, n, "perm", p, 8, &np))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL)
        return false;
    bool to_nchw = np == 4 && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2;
    bool to_nhwc = np == 4 && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1;
    if (x->layout == LAYOUT_IMAGE)
        resolve_image(x, to_nchw ? LAYOUT_NHWC : LAYOUT_NCHW);
    ImValue out = *x;
    if (x->layout == LAYOUT_NHWC && to_nchw)
        out.layout = LAYOUT_NCHW;
    else if (x->layout == LAYOUT_NCHW && to_nhwc)
        out.layout = LAYOUT_NHWC;
    else {
        node_error(im, n, "transposes %s in a way cnnc cannot follow; it reads only NHWC -> NCHW [0,3,1,2] and "
                   "NCHW -> NHWC [0,2,3,1]", layout_name(x->layout));
        return false;
    }
    return set_output(im, n, out);
}

/* PyTorch puts a Pad of zeros before AveragePool: nothing to do. Any other padding belongs
 * to a window and would need to be merged into it. */
static bool op_pad(Importer *im, const Onnx__NodeProto *n)
{
    static const char *const known[] = {"mode", "pads", "value", NULL};
    char mode[32];
    long long pads[16];
    int np = 0;
    bool failed = false;
    if (!known_attrs(im, n, known) || !attr_string(im, n, "mode", "constant", mode, sizeof mode))
        return false;
    ImValue *x = data_input(im, n, 0);
    if (x == NULL)
        return false;
    if (im->opset >= 11) {
        const ImConst *pc = const_input(im, n, 1, "pads", false, &failed);
        if (pc == NULL || !const_int64s(im, n, pc, "the pads", pads, 16, &np))
            return false;
    } else if (!attr_ints(im, n, "pads", pads, 16, &np)) {
        return false;
    }
    for (int i = 0; i < np; i++)
        if (pads[i] != 0) {
            node_error(im, n, "pads the tensor by itself (%s mode); cnnc pads only inside conv2d and pooling "
                       "windows, as Keras same", mode);
            return false;
        }
    return set_output(im, n, *x);
}

static bool op_constant(Importer *im, const Onnx__NodeProto *n)
{
    (void)im, (void)n; /* registered as a constant by import_graph_prepare */
    return true;
}

/* ------------------------------------------------------------------ the table */

typedef struct OpHandler {
    const char *op;
    bool (*run)(Importer *im, const Onnx__NodeProto *n);
} OpHandler;

static const OpHandler handlers[] = {
    {"Conv", op_conv},
    {"Relu", op_activation},
    {"Sigmoid", op_activation},
    {"Tanh", op_activation},
    {"Softmax", op_activation},
    {"MaxPool", op_pool},
    {"AveragePool", op_pool},
    {"Flatten", op_flatten},
    {"Reshape", op_reshape},
    {"Gemm", op_gemm},
    {"MatMul", op_matmul},
    {"Add", op_add},
    {"Dropout", op_dropout},
    {"Identity", op_identity},
    {"Transpose", op_transpose},
    {"Pad", op_pad},
    {"Constant", op_constant},
    /* Contract section 6: the graph layers (Add of two computed tensors is op_add's). */
    {"GlobalAveragePool", op_global_avgpool},
    {"BatchNormalization", op_batchnorm},
    {"Concat", op_concat},
};

bool import_node(Importer *im, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (strcmp(handlers[i].op, n->op_type) == 0)
            return handlers[i].run(im, n);
    node_error(im, n, "is an operation cnnc does not have");
    return false;
}
