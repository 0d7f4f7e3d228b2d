/*
 * dnnl_layers.c - the layers as oneDNN (Debian's libdnnl, its C API) runs them in the layouts it
 * prefers: every convolution, inner product and their gradients is created with
 * dnnl_format_tag_any, so oneDNN picks the blocked layout its JIT kernels want (nChw16c and the
 * like), and pools, activations and dropout work in the layout the layer before them left.
 * This is how PyTorch and TensorFlow run convolutions on CPUs.
 *
 * The benchmark's tensors live in the generated code's plain layout (x[n][h][w][c], kernels
 * [KH][KW][CIN][COUT]); oneDNN's logical dims are {N, C, H, W} and {OC, IC, KH, KW}, which the
 * tags nhwc and hwio map onto those arrays without a copy. A dense layer after a flatten reads
 * its input as the 4-D {N, C, H, W} it was (H, W, C order is nhwc, and the [IN][OUT] kernel is
 * then hwio), so that it can take the pooled blocked tensor as it is.
 *
 * Each pass is a list of steps: reorders from the plain arrays into oneDNN's layouts, the
 * primitives, reorders back. The benchmark times the primitives and the reorders separately.
 * The training step chains the layers as a framework would: a tensor is reordered between two
 * layers only where their layouts differ; the weights are reordered in each step (the optimizer
 * updates the plain ones) and their gradients reordered back, and all of that is timed.
 *
 * A graph's layers read the outputs their rows name: add is a binary add with the second input
 * in the first's layout, concat oneDNN's concat (its gradient two reorders out of a plain copy:
 * oneDNN has no backward concat), global average pooling an average pool over the whole image,
 * batchnorm oneDNN's batch normalization with the batch's statistics (training) and its
 * backward. In the training step, an output read by several layers gets the sum of their
 * gradients (binary adds in the layout of the first that arrives), as frameworks sum them.
 *
 * The primitives are created for a given number of threads (oneDNN sizes its scratch and its
 * work split by omp_get_max_threads at creation), so the benchmark builds one set for the
 * one-thread layer passes and one for the training step's threads.
 */
#include <dnnl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "bench_stats.h"

/* Debian's libdnnl runs on OpenMP: its thread count is OpenMP's. */
#if DNNL_CPU_RUNTIME != DNNL_RUNTIME_OMP
#error "the benchmark sets oneDNN's threads through OpenMP; this libdnnl uses another runtime"
#endif
void omp_set_num_threads(int threads);

#define MAX_STEPS 32
#define MAX_ARGS 10

typedef struct step {
    dnnl_primitive_t prim;
    int reorder;               /* counted as a reorder, not as the layer's work */
    int nargs;
    dnnl_exec_arg_t args[MAX_ARGS];
} step;

typedef struct steps {
    int count;
    step s[MAX_STEPS];
} steps;

/* One layer: its plain arrays (u_*, views of the workspace, parameters and gradients), its
 * tensors in oneDNN's layouts, and the steps of its passes. */
typedef struct dlayer {
    const cnn_layer *l;
    int in_nd, out_nd;                    /* 4 for {N, C, H, W}, 2 for {N, C} */
    int direct;                           /* a conv2d: direct convolution, not oneDNN's choice */
    dnnl_dims_t in_dims, in2_dims, out_dims;
    dnnl_memory_t u_src, u_src2, u_dst, u_wei, u_bia, u_ddst, u_dsrc, u_dsrc2, u_dwei, u_dbia, u_mask;
    dnnl_memory_t src, src2, dst, wei, mask, work, ddst, dz, dz_bd, src_bw, wei_bd, dsrc, dsrc2, dwei;
    dnnl_memory_t mean, var;              /* batchnorm's batch statistics */
    dnnl_memory_t bn_ones, bn_unused;     /* without gamma: a scale of ones and its unused gradient */
    dnnl_memory_t chain_dst, chain_plain; /* its output in the training step, and its plain array */
    dnnl_memory_t grad;                   /* the step's gradient of its output, summed over its readers */
    const_dnnl_primitive_desc_t fwd_pd;   /* the forward's, the backward's hint; owned by its primitive */
    steps fwd_in, fwd, fwd_out, bwd_in, bwd, bwd_out; /* the layer on its own */
    steps chain_fwd, chain_bwd;           /* the layer inside the training step */
} dlayer;

struct bench_dnnl {
    const cnn_model *m;
    int n, threads;
    float *ws, *grads;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dlayer *layers;
    dnnl_memory_t *mems;
    dnnl_primitive_t *prims;
    int nmems, nprims, cap_mems, cap_prims;
    steps chain_out;                      /* the last output into the plain array the loss reads */
};

/* ------------------------------------------------------------------ checked calls */

static void check(dnnl_status_t st, const char *what, const char *layer)
{
    if (st == dnnl_success)
        return;
    fprintf(stderr, "bench: error: oneDNN could not %s for layer '%s' (status %d)\n", what, layer, (int)st);
    exit(1);
}

static void *grow(void *p, int *cap, size_t size)
{
    *cap = *cap > 0 ? 2 * *cap : 64;
    p = realloc(p, (size_t)*cap * size);
    if (p == NULL) {
        fprintf(stderr, "bench: error: out of memory\n");
        exit(1);
    }
    return p;
}

static dnnl_memory_desc_t md_tag(int nd, const dnnl_dim_t *dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t md;
    check(dnnl_memory_desc_init_by_tag(&md, nd, dims, dnnl_f32, tag), "describe a tensor", "-");
    return md;
}

static const dnnl_memory_desc_t *md_of(dnnl_memory_t mem)
{
    const dnnl_memory_desc_t *md;
    check(dnnl_memory_get_memory_desc(mem, &md), "read a tensor's layout", "-");
    return md;
}

/* A tensor of layout md over `handle`, or over a buffer of its own when handle is NULL. */
static dnnl_memory_t mem(bench_dnnl *d, const dnnl_memory_desc_t *md, void *handle)
{
    dnnl_memory_t m;
    if (d->nmems == d->cap_mems)
        d->mems = grow(d->mems, &d->cap_mems, sizeof *d->mems);
    check(dnnl_memory_create(&m, md, d->engine, handle != NULL ? handle : DNNL_MEMORY_ALLOCATE), "allocate a tensor",
          "-");
    d->mems[d->nmems++] = m;
    return m;
}

/* A tensor in layout md for a layer: the same buffer as `like` where the layouts are equal, so
 * that no reorder is needed between them, else a buffer of its own. */
static dnnl_memory_t mem_like(bench_dnnl *d, const dnnl_memory_desc_t *md, dnnl_memory_t like)
{
    if (like != NULL && dnnl_memory_desc_equal(md, md_of(like)))
        return like;
    return mem(d, md, NULL);
}

/* The primitive of a descriptor, which it then owns; NULL pd means the creation failed. */
static dnnl_primitive_t prim(bench_dnnl *d, const_dnnl_primitive_desc_t pd, const char *layer)
{
    dnnl_primitive_t p;
    if (d->nprims == d->cap_prims)
        d->prims = grow(d->prims, &d->cap_prims, sizeof *d->prims);
    check(dnnl_primitive_create(&p, pd), "create a primitive", layer);
    d->prims[d->nprims++] = p;
    return p;
}

static dnnl_primitive_desc_t pd_create(bench_dnnl *d, const void *op, const_dnnl_primitive_attr_t attr,
                                       const_dnnl_primitive_desc_t hint)
{
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, op, attr, d->engine, hint) != dnnl_success)
        return NULL;
    return pd;
}

static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* Appends a step: prim with (argument, memory) pairs. */
static void add(steps *st, dnnl_primitive_t p, int reorder, int nargs, ...)
{
    if (st->count == MAX_STEPS || nargs > MAX_ARGS) {
        fprintf(stderr, "bench: internal error: too many oneDNN steps in one pass\n");
        exit(1);
    }
    step *s = &st->s[st->count++];
    *s = (step){.prim = p, .reorder = reorder, .nargs = nargs};
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        s->args[i].arg = va_arg(ap, int);
        s->args[i].memory = va_arg(ap, dnnl_memory_t);
    }
    va_end(ap);
}

/* Appends a reorder from one tensor into another; nothing where they are the same. */
static void add_reorder(bench_dnnl *d, steps *st, dnnl_memory_t from, dnnl_memory_t to, int reorder, const char *layer)
{
    if (from == to)
        return;
    dnnl_primitive_desc_t pd;
    check(dnnl_reorder_primitive_desc_create(&pd, md_of(from), d->engine, md_of(to), d->engine, NULL),
          "create a reorder", layer);
    dnnl_primitive_t p = prim(d, pd, layer);
    dnnl_primitive_desc_destroy(pd);
    add(st, p, reorder, 2, DNNL_ARG_FROM, from, DNNL_ARG_TO, to);
}

static void append(steps *to, const steps *from)
{
    for (int i = 0; i < from->count; i++) {
        if (to->count == MAX_STEPS) {
            fprintf(stderr, "bench: internal error: too many oneDNN steps in one pass\n");
            exit(1);
        }
        to->s[to->count++] = from->s[i];
    }
}

/* Runs the steps in order, adding the seconds of the primitives and of the reorders. */
static void run(bench_dnnl *d, const steps *st, double *work, double *reorders)
{
    for (int i = 0; i < st->count; i++) {
        const step *s = &st->s[i];
        double t0 = bench_now();
        check(dnnl_primitive_execute(s->prim, d->stream, s->nargs, s->args), "run a primitive", "-");
        check(dnnl_stream_wait(d->stream), "wait for a primitive", "-");
        double dt = bench_now() - t0;
        if (s->reorder && reorders != NULL)
            *reorders += dt;
        else if (!s->reorder && work != NULL)
            *work += dt;
    }
}

/* ------------------------------------------------------------------ shapes */

static void dims_of(int nd, int n, int h, int w, int c, dnnl_dim_t *dims)
{
    dims[0] = n;
    if (nd == 4) {
        dims[1] = c;
        dims[2] = h;
        dims[3] = w;
    } else {
        dims[1] = (dnnl_dim_t)h * w * c;
    }
}

static dnnl_format_tag_t plain_tag(int nd)
{
    return nd == 4 ? dnnl_nhwc : dnnl_nc;
}

/* The convolution algorithm of a layer: oneDNN's own choice (auto, which takes Winograd
 * wherever it has it) or direct. Neither is always the faster, so the benchmark times both. */
static dnnl_alg_kind_t conv_alg(const dlayer *L)
{
    return L->direct ? dnnl_convolution_direct : dnnl_convolution_auto;
}

static dnnl_alg_kind_t eltwise_alg(int activation, int for_backward)
{
    switch (activation) {
    case CNN_ACT_RELU:
        return for_backward ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu;
    case CNN_ACT_SIGMOID:
        return for_backward ? dnnl_eltwise_logistic_use_dst_for_bwd : dnnl_eltwise_logistic;
    case CNN_ACT_TANH:
        return for_backward ? dnnl_eltwise_tanh_use_dst_for_bwd : dnnl_eltwise_tanh;
    default:
        return dnnl_alg_kind_undef;
    }
}

/* The plain arrays of layer i, over the workspace (parameters and gradients are set per run). */
static void plain_views(bench_dnnl *d, dlayer *L)
{
    const cnn_layer *l = L->l;
    dnnl_memory_desc_t in = md_tag(L->in_nd, L->in_dims, plain_tag(L->in_nd));
    dnnl_memory_desc_t out = md_tag(L->out_nd, L->out_dims, plain_tag(L->out_nd));
    L->u_src = mem(d, &in, d->ws + l->in);
    L->u_dst = mem(d, &out, d->ws + l->out);
    if (l->ninputs > 1) {
        dnnl_memory_desc_t in2 = md_tag(L->in_nd, L->in2_dims, plain_tag(L->in_nd));
        L->u_src2 = mem(d, &in2, d->ws + l->in2);
        if (l->din2 >= 0)
            L->u_dsrc2 = mem(d, &in2, d->ws + l->din2);
    }
    if (l->dout >= 0)
        L->u_ddst = mem(d, &out, d->ws + l->dout);
    if (l->din >= 0)
        L->u_dsrc = mem(d, &in, d->ws + l->din);
    if (l->aux >= 0 && l->kind_id == CNN_LAYER_DROPOUT)
        L->u_mask = mem(d, &out, d->ws + l->aux);
    if (l->kernel_offset >= 0 && l->kind_id == CNN_LAYER_BATCHNORM) {
        /* gamma: oneDNN's scale, a plain [C] as the parameters hold it */
        dnnl_dims_t cd = {l->units};
        dnnl_memory_desc_t c = md_tag(1, cd, dnnl_x);
        L->u_wei = mem(d, &c, d->grads + l->kernel_offset);
        L->u_dwei = mem(d, &c, d->grads + l->kernel_offset);
    } else if (l->kernel_offset >= 0) {
        dnnl_dims_t wd = {l->units, L->in_dims[1], 1, 1};
        int nd = L->in_nd;
        if (l->kind_id == CNN_LAYER_CONV2D) {
            wd[2] = l->kh;
            wd[3] = l->kw;
            nd = 4;
        } else if (nd == 4) {
            wd[2] = L->in_dims[2];
            wd[3] = L->in_dims[3];
        }
        dnnl_memory_desc_t w = md_tag(nd, wd, nd == 4 ? dnnl_hwio : dnnl_io);
        /* A placeholder handle: the parameters move (bench_dnnl_set_params). */
        L->u_wei = mem(d, &w, d->grads + l->kernel_offset);
        L->u_dwei = mem(d, &w, d->grads + l->kernel_offset);
    }
    if (l->bias_offset >= 0 && l->use_bias) {
        dnnl_dims_t bd = {l->units};
        dnnl_memory_desc_t b = md_tag(1, bd, dnnl_x);
        L->u_bia = mem(d, &b, d->grads + l->bias_offset);
        L->u_dbia = mem(d, &b, d->grads + l->bias_offset);
    }
}

/* ------------------------------------------------------------------ forward */

/* Conv2d and dense: oneDNN picks every layout; the activation is a post-op, softmax a primitive
 * of its own after it. */
static void setup_product_forward(bench_dnnl *d, dlayer *L, dnnl_memory_t cur)
{
    const cnn_layer *l = L->l;
    const int conv = l->kind_id == CNN_LAYER_CONV2D;
    dnnl_memory_desc_t src = md_tag(L->in_nd, L->in_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t dst = md_tag(L->out_nd, L->out_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t wei = md_tag(L->in_nd == 4 || conv ? 4 : 2, md_of(L->u_wei)->dims, dnnl_format_tag_any);
    const dnnl_memory_desc_t *bias = L->u_bia != NULL ? md_of(L->u_bia) : NULL;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    check(dnnl_primitive_attr_create(&attr), "create attributes", l->name);
    check(dnnl_post_ops_create(&po), "create post-ops", l->name);
    if (eltwise_alg(l->activation, 0) != dnnl_alg_kind_undef) {
        check(dnnl_post_ops_append_eltwise(po, 1.0f, eltwise_alg(l->activation, 0), 0.0f, 0.0f), "fuse the activation",
              l->name);
        check(dnnl_primitive_attr_set_post_ops(attr, po), "fuse the activation", l->name);
    }
    dnnl_primitive_desc_t pd;
    if (conv) {
        dnnl_convolution_desc_t cd;
        dnnl_dims_t strides = {l->sh, l->sw}, pl = {l->pad_top, l->pad_left}, pr = {l->pad_bottom, l->pad_right};
        check(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, conv_alg(L), &src, &wei, bias,
                                                 &dst, strides, pl, pr),
              "describe the convolution", l->name);
        pd = pd_create(d, &cd, attr, NULL);
    } else {
        dnnl_inner_product_desc_t id;
        check(dnnl_inner_product_forward_desc_init(&id, dnnl_forward_training, &src, &wei, bias, &dst),
              "describe the inner product", l->name);
        pd = pd_create(d, &id, attr, NULL);
    }
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (pd == NULL)
        check(dnnl_unimplemented, "find a forward implementation", l->name);
    L->src = mem_like(d, query(pd, dnnl_query_src_md), cur);
    L->wei = mem(d, query(pd, dnnl_query_weights_md), NULL);
    L->dst = mem(d, query(pd, dnnl_query_dst_md), NULL);
    dnnl_primitive_t p = prim(d, pd, l->name);
    dnnl_primitive_get_primitive_desc(p, &L->fwd_pd);
    dnnl_primitive_desc_destroy(pd);
    if (L->u_bia != NULL)
        add(&L->fwd, p, 0, 4, DNNL_ARG_SRC, L->src, DNNL_ARG_WEIGHTS, L->wei, DNNL_ARG_BIAS, L->u_bia, DNNL_ARG_DST,
            L->dst);
    else
        add(&L->fwd, p, 0, 3, DNNL_ARG_SRC, L->src, DNNL_ARG_WEIGHTS, L->wei, DNNL_ARG_DST, L->dst);
    if (l->activation == CNN_ACT_SOFTMAX) {
        dnnl_softmax_desc_t sd;
        check(dnnl_softmax_forward_desc_init(&sd, dnnl_forward_training, md_of(L->dst), 1), "describe softmax",
              l->name);
        dnnl_primitive_desc_t spd = pd_create(d, &sd, NULL, NULL);
        if (spd == NULL)
            check(dnnl_unimplemented, "find a softmax", l->name);
        add(&L->fwd, prim(d, spd, l->name), 0, 2, DNNL_ARG_SRC, L->dst, DNNL_ARG_DST, L->dst);
        dnnl_primitive_desc_destroy(spd);
    }
    add_reorder(d, &L->fwd_in, L->u_wei, L->wei, 1, l->name);
}

/* Pools, activations, softmax and dropout run in the layout of their input, `in`. */
static void setup_simple_forward(bench_dnnl *d, dlayer *L, dnnl_memory_t cur)
{
    const cnn_layer *l = L->l;
    dnnl_primitive_desc_t pd = NULL;
    /* Across a flatten the input is the plain 2-D view of the workspace. */
    if (md_of(cur)->ndims != L->in_nd)
        cur = L->u_src;
    L->src = cur;
    const dnnl_memory_desc_t *in = md_of(cur);
    switch (l->kind_id) {
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        dnnl_pooling_desc_t pool;
        dnnl_dims_t strides = {l->sh, l->sw}, kernel = {l->kh, l->kw}, pl = {l->pad_top, l->pad_left},
                    pr = {l->pad_bottom, l->pad_right};
        dnnl_memory_desc_t dst = md_tag(4, L->out_dims, dnnl_format_tag_any);
        check(dnnl_pooling_forward_desc_init(&pool, dnnl_forward_training,
                                             l->kind_id == CNN_LAYER_MAXPOOL2D ? dnnl_pooling_max
                                                                              : dnnl_pooling_avg_exclude_padding,
                                             in, &dst, strides, kernel, pl, pr),
              "describe the pool", l->name);
        pd = pd_create(d, &pool, NULL, NULL);
        break;
    }
    case CNN_LAYER_RELU:
    case CNN_LAYER_SIGMOID:
    case CNN_LAYER_TANH: {
        dnnl_eltwise_desc_t e;
        check(dnnl_eltwise_forward_desc_init(&e, dnnl_forward_training, eltwise_alg(l->activation, 1), in, 0.0f, 0.0f),
              "describe the activation", l->name);
        pd = pd_create(d, &e, NULL, NULL);
        break;
    }
    case CNN_LAYER_SOFTMAX: {
        dnnl_softmax_desc_t sd;
        check(dnnl_softmax_forward_desc_init(&sd, dnnl_forward_training, in, 1), "describe softmax", l->name);
        pd = pd_create(d, &sd, NULL, NULL);
        break;
    }
    case CNN_LAYER_DROPOUT: {
        dnnl_binary_desc_t b;
        check(dnnl_binary_desc_init(&b, dnnl_binary_mul, in, in, in), "describe the dropout product", l->name);
        pd = pd_create(d, &b, NULL, NULL);
        break;
    }
    default:
        return;
    }
    if (pd == NULL)
        check(dnnl_unimplemented, "find a forward implementation", l->name);
    L->dst = mem(d, query(pd, dnnl_query_dst_md), NULL);
    const dnnl_memory_desc_t *work = query(pd, dnnl_query_workspace_md);
    if (work != NULL && work->ndims > 0)
        L->work = mem(d, work, NULL);
    dnnl_primitive_t p = prim(d, pd, l->name);
    dnnl_primitive_get_primitive_desc(p, &L->fwd_pd);
    dnnl_primitive_desc_destroy(pd);
    if (l->kind_id == CNN_LAYER_DROPOUT) {
        L->mask = mem(d, in, NULL);
        add_reorder(d, &L->fwd_in, L->u_mask, L->mask, 1, l->name);
        add(&L->fwd, p, 0, 3, DNNL_ARG_SRC_0, L->src, DNNL_ARG_SRC_1, L->mask, DNNL_ARG_DST, L->dst);
    } else if (L->work != NULL) {
        add(&L->fwd, p, 0, 3, DNNL_ARG_SRC, L->src, DNNL_ARG_DST, L->dst, DNNL_ARG_WORKSPACE, L->work);
    } else {
        add(&L->fwd, p, 0, 2, DNNL_ARG_SRC, L->src, DNNL_ARG_DST, L->dst);
    }
}

/* ------------------------------------------------------------------ backward */

/* The activation's gradient: from ddst and the forward's output into dz (NULL: dz is ddst). */
static dnnl_primitive_t activation_backward(bench_dnnl *d, const cnn_layer *l, int activation,
                                            const dnnl_memory_desc_t *diff, const dnnl_memory_desc_t *data)
{
    dnnl_primitive_desc_t pd = NULL;
    if (activation == CNN_ACT_SOFTMAX) {
        dnnl_softmax_desc_t sd, fd;
        check(dnnl_softmax_forward_desc_init(&fd, dnnl_forward_training, data, 1), "describe softmax", l->name);
        dnnl_primitive_desc_t hint = pd_create(d, &fd, NULL, NULL);
        check(dnnl_softmax_backward_desc_init(&sd, diff, data, 1), "describe softmax's gradient", l->name);
        pd = pd_create(d, &sd, NULL, hint);
        dnnl_primitive_desc_destroy(hint);
    } else {
        dnnl_eltwise_desc_t e, f;
        check(dnnl_eltwise_forward_desc_init(&f, dnnl_forward_training, eltwise_alg(activation, 1), data, 0.0f, 0.0f),
              "describe the activation", l->name);
        dnnl_primitive_desc_t hint = pd_create(d, &f, NULL, NULL);
        check(dnnl_eltwise_backward_desc_init(&e, eltwise_alg(activation, 1), diff, data, 0.0f, 0.0f),
              "describe the activation's gradient", l->name);
        pd = pd_create(d, &e, NULL, hint);
        dnnl_primitive_desc_destroy(hint);
    }
    if (pd == NULL)
        check(dnnl_unimplemented, "find the activation's gradient", l->name);
    dnnl_primitive_t p = prim(d, pd, l->name);
    dnnl_primitive_desc_destroy(pd);
    return p;
}

/* Conv2d and dense: the weights gradient (with the bias's) and, where one flows back, the input
 * gradient, each in the layouts oneDNN picks, preferring the forward's where it takes them. */
static void setup_product_backward(bench_dnnl *d, dlayer *L, dnnl_memory_t incoming)
{
    const cnn_layer *l = L->l;
    const int conv = l->kind_id == CNN_LAYER_CONV2D;
    dnnl_dims_t strides = {l->sh, l->sw}, pl = {l->pad_top, l->pad_left}, pr = {l->pad_bottom, l->pad_right};
    const dnnl_memory_desc_t *dst_md = md_of(L->dst), *wei_md = md_of(L->wei);
    dnnl_memory_desc_t any_src = md_tag(L->in_nd, L->in_dims, dnnl_format_tag_any),
                       any_dst = md_tag(L->out_nd, L->out_dims, dnnl_format_tag_any),
                       any_wei = md_tag(wei_md->ndims, wei_md->dims, dnnl_format_tag_any);
    const dnnl_memory_desc_t *dbias = L->u_dbia != NULL ? md_of(L->u_dbia) : NULL;
    dnnl_primitive_desc_t bw = NULL, bd = NULL;
    /* Every layout `any`: asking for the forward's instead can land on oneDNN's reference
     * loops (ref:any), which accept every layout. */
    if (conv) {
        dnnl_convolution_desc_t cd;
        check(dnnl_convolution_backward_weights_desc_init(&cd, conv_alg(L), &any_src, &any_wei, dbias, &any_dst,
                                                          strides, pl, pr),
              "describe the kernel gradient", l->name);
        bw = pd_create(d, &cd, NULL, L->fwd_pd);
    } else {
        dnnl_inner_product_desc_t id;
        check(dnnl_inner_product_backward_weights_desc_init(&id, &any_src, &any_wei, dbias, &any_dst),
              "describe the kernel gradient", l->name);
        bw = pd_create(d, &id, NULL, L->fwd_pd);
    }
    if (bw == NULL)
        check(dnnl_unimplemented, "find a kernel-gradient implementation", l->name);
    const dnnl_memory_desc_t *dz_md = query(bw, dnnl_query_diff_dst_md);
    L->src_bw = mem_like(d, query(bw, dnnl_query_src_md), L->src);
    L->dwei = mem(d, query(bw, dnnl_query_diff_weights_md), NULL);
    int act = l->grad_is_logits ? CNN_ACT_NONE : l->activation;
    if (act != CNN_ACT_NONE) {
        /* The activation's gradient in the forward output's layout, where oneDNN has its JIT
         * kernels (with two layouts it takes its reference loops), then into the layout the
         * kernel gradient reads. */
        L->ddst = mem_like(d, dst_md, incoming);
        dnnl_memory_t dz_act = mem(d, dst_md, NULL);
        dnnl_primitive_t a = activation_backward(d, l, act, dst_md, dst_md);
        add(&L->bwd, a, 0, 3, DNNL_ARG_DST, L->dst, DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_DIFF_SRC, dz_act);
        add_reorder(d, &L->bwd_in, L->u_dst, L->dst, 1, l->name);
        L->dz = mem_like(d, dz_md, dz_act);
        add_reorder(d, &L->bwd, dz_act, L->dz, 1, l->name);
    } else {
        /* The gradient arrives in the layout the kernel gradient reads, as the layer above
         * leaves it if that is the same. */
        L->ddst = mem_like(d, dz_md, incoming);
        L->dz = L->ddst;
    }
    dnnl_primitive_t pw = prim(d, bw, l->name);
    if (L->u_dbia != NULL)
        add(&L->bwd, pw, 0, 4, DNNL_ARG_SRC, L->src_bw, DNNL_ARG_DIFF_DST, L->dz, DNNL_ARG_DIFF_WEIGHTS, L->dwei,
            DNNL_ARG_DIFF_BIAS, L->u_dbia);
    else
        add(&L->bwd, pw, 0, 3, DNNL_ARG_SRC, L->src_bw, DNNL_ARG_DIFF_DST, L->dz, DNNL_ARG_DIFF_WEIGHTS, L->dwei);
    if (l->din >= 0) {
        if (conv) {
            dnnl_convolution_desc_t cd;
            check(dnnl_convolution_backward_data_desc_init(&cd, conv_alg(L), &any_src, &any_wei, &any_dst, strides, pl,
                                                           pr),
                  "describe the input gradient", l->name);
            bd = pd_create(d, &cd, NULL, L->fwd_pd);
        } else {
            dnnl_inner_product_desc_t id;
            check(dnnl_inner_product_backward_data_desc_init(&id, &any_src, &any_wei, &any_dst),
                  "describe the input gradient", l->name);
            bd = pd_create(d, &id, NULL, L->fwd_pd);
        }
        if (bd == NULL)
            check(dnnl_unimplemented, "find an input-gradient implementation", l->name);
        L->wei_bd = mem_like(d, query(bd, dnnl_query_weights_md), L->wei);
        L->dz_bd = mem_like(d, query(bd, dnnl_query_diff_dst_md), L->dz);
        L->dsrc = mem(d, query(bd, dnnl_query_diff_src_md), NULL);
        add_reorder(d, &L->bwd, L->dz, L->dz_bd, 1, l->name);
        add(&L->bwd, prim(d, bd, l->name), 0, 3, DNNL_ARG_DIFF_DST, L->dz_bd, DNNL_ARG_WEIGHTS, L->wei_bd,
            DNNL_ARG_DIFF_SRC, L->dsrc);
        dnnl_primitive_desc_destroy(bd);
        add_reorder(d, &L->bwd_in, L->u_wei, L->wei_bd, 1, l->name);
        add_reorder(d, &L->bwd_out, L->dsrc, L->u_dsrc, 1, l->name);
        add_reorder(d, &L->chain_bwd, L->wei, L->wei_bd, 1, l->name);
    }
    dnnl_primitive_desc_destroy(bw);
    add_reorder(d, &L->bwd_in, L->u_src, L->src_bw, 1, l->name);
    add_reorder(d, &L->bwd_out, L->dwei, L->u_dwei, 1, l->name);
    add_reorder(d, &L->chain_bwd, L->src, L->src_bw, 1, l->name);
}

static void setup_simple_backward(bench_dnnl *d, dlayer *L, dnnl_memory_t incoming)
{
    const cnn_layer *l = L->l;
    const dnnl_memory_desc_t *dst_md = md_of(L->dst), *src_md = md_of(L->src);
    L->ddst = mem_like(d, dst_md, incoming);
    L->dsrc = mem(d, src_md, NULL);
    switch (l->kind_id) {
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D: {
        dnnl_pooling_desc_t pool;
        dnnl_dims_t strides = {l->sh, l->sw}, kernel = {l->kh, l->kw}, pl = {l->pad_top, l->pad_left},
                    pr = {l->pad_bottom, l->pad_right};
        check(dnnl_pooling_backward_desc_init(&pool,
                                              l->kind_id == CNN_LAYER_MAXPOOL2D ? dnnl_pooling_max
                                                                               : dnnl_pooling_avg_exclude_padding,
                                              src_md, dst_md, strides, kernel, pl, pr),
              "describe the pool's gradient", l->name);
        dnnl_primitive_desc_t pd = pd_create(d, &pool, NULL, L->fwd_pd);
        if (pd == NULL)
            check(dnnl_unimplemented, "find the pool's gradient", l->name);
        dnnl_primitive_t p = prim(d, pd, l->name);
        dnnl_primitive_desc_destroy(pd);
        if (L->work != NULL)
            add(&L->bwd, p, 0, 3, DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_WORKSPACE, L->work, DNNL_ARG_DIFF_SRC, L->dsrc);
        else
            add(&L->bwd, p, 0, 2, DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_DIFF_SRC, L->dsrc);
        break;
    }
    case CNN_LAYER_DROPOUT:
        add(&L->bwd, L->fwd.s[L->fwd.count - 1].prim, 0, 3, DNNL_ARG_SRC_0, L->ddst, DNNL_ARG_SRC_1, L->mask,
            DNNL_ARG_DST, L->dsrc);
        add_reorder(d, &L->bwd_in, L->u_mask, L->mask, 1, l->name);
        break;
    default:
        if (l->grad_is_logits) {
            /* The loss gave the logits' gradient: the layer passes it on as it is. */
            add_reorder(d, &L->bwd, L->ddst, L->dsrc, 0, l->name);
        } else {
            add(&L->bwd, activation_backward(d, l, l->activation, dst_md, dst_md), 0, 3, DNNL_ARG_DST, L->dst,
                DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_DIFF_SRC, L->dsrc);
            add_reorder(d, &L->bwd_in, L->u_dst, L->dst, 1, l->name);
        }
        break;
    }
    add_reorder(d, &L->bwd_out, L->dsrc, L->u_dsrc, 1, l->name);
}

/* ------------------------------------------------------------------ graph layers, batchnorm */

/* Always a scale: oneDNN 2.6's backward without one refuses its arguments (status 2), so a
 * batchnorm without gamma gets a scale of ones, which is the same function. */
static unsigned bn_flags(const cnn_layer *l)
{
    return dnnl_use_scale | (l->bias_offset >= 0 ? dnnl_use_shift : 0u);
}

static int same_dims(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    int same = a->ndims == b->ndims;
    for (int i = 0; same && i < a->ndims; i++)
        same = a->dims[i] == b->dims[i];
    return same;
}

/* The plain layout of a tensor's dims: nhwc or nc. */
static dnnl_memory_desc_t plain_md(const dnnl_memory_desc_t *md)
{
    return md_tag(md->ndims, md->dims, plain_tag(md->ndims));
}

/* Add, concat, global average pooling and batchnorm, from `cur` (and `cur2`, the second input),
 * in their layouts; an input of another rank comes from its plain array. */
static void setup_graph_forward(bench_dnnl *d, dlayer *L, dnnl_memory_t cur, dnnl_memory_t cur2)
{
    const cnn_layer *l = L->l;
    dnnl_primitive_desc_t pd = NULL;
    L->src = md_of(cur)->ndims == L->in_nd ? cur : L->u_src;
    if (cur2 != NULL)
        cur2 = md_of(cur2)->ndims == L->in_nd ? cur2 : L->u_src2;
    switch (l->kind_id) {
    case CNN_LAYER_ADD: {
        dnnl_binary_desc_t b;
        L->src2 = mem_like(d, md_of(L->src), cur2);
        check(dnnl_binary_desc_init(&b, dnnl_binary_add, md_of(L->src), md_of(L->src2), md_of(L->src)),
              "describe the add", l->name);
        pd = pd_create(d, &b, NULL, NULL);
        break;
    }
    case CNN_LAYER_CONCAT: {
        L->src2 = cur2;
        dnnl_memory_desc_t srcs[2] = {*md_of(L->src), *md_of(L->src2)};
        dnnl_memory_desc_t dst = md_tag(L->out_nd, L->out_dims, dnnl_format_tag_any);
        if (dnnl_concat_primitive_desc_create(&pd, &dst, 2, 1, srcs, NULL, d->engine) != dnnl_success)
            pd = NULL;
        break;
    }
    case CNN_LAYER_GLOBALAVGPOOL2D: {
        dnnl_pooling_desc_t pool;
        dnnl_dims_t strides = {1, 1}, kernel = {l->in_h, l->in_w}, pad = {0, 0};
        dnnl_memory_desc_t dst = md_tag(4, L->out_dims, dnnl_format_tag_any);
        check(dnnl_pooling_forward_desc_init(&pool, dnnl_forward_training, dnnl_pooling_avg_exclude_padding,
                                             md_of(L->src), &dst, strides, kernel, pad, pad),
              "describe the global pool", l->name);
        pd = pd_create(d, &pool, NULL, NULL);
        break;
    }
    case CNN_LAYER_BATCHNORM: {
        dnnl_batch_normalization_desc_t bd;
        check(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, md_of(L->src), (float)l->rate,
                                                         bn_flags(l)),
              "describe the batchnorm", l->name);
        pd = pd_create(d, &bd, NULL, NULL);
        break;
    }
    default:
        return;
    }
    if (pd == NULL)
        check(dnnl_unimplemented, "find a forward implementation", l->name);
    L->dst = mem(d, query(pd, dnnl_query_dst_md), NULL);
    const dnnl_memory_desc_t *work = query(pd, dnnl_query_workspace_md);
    if (work != NULL && work->ndims > 0)
        L->work = mem(d, work, NULL);
    dnnl_primitive_t p = prim(d, pd, l->name);
    dnnl_primitive_get_primitive_desc(p, &L->fwd_pd);
    dnnl_primitive_desc_destroy(pd);
    switch (l->kind_id) {
    case CNN_LAYER_ADD:
        add(&L->fwd, p, 0, 3, DNNL_ARG_SRC_0, L->src, DNNL_ARG_SRC_1, L->src2, DNNL_ARG_DST, L->dst);
        break;
    case CNN_LAYER_CONCAT:
        add(&L->fwd, p, 0, 3, DNNL_ARG_MULTIPLE_SRC, L->src, DNNL_ARG_MULTIPLE_SRC + 1, L->src2, DNNL_ARG_DST,
            L->dst);
        break;
    case CNN_LAYER_GLOBALAVGPOOL2D:
        if (L->work != NULL)
            add(&L->fwd, p, 0, 3, DNNL_ARG_SRC, L->src, DNNL_ARG_DST, L->dst, DNNL_ARG_WORKSPACE, L->work);
        else
            add(&L->fwd, p, 0, 2, DNNL_ARG_SRC, L->src, DNNL_ARG_DST, L->dst);
        break;
    default: { /* batchnorm: the statistics are outputs in training */
        dnnl_dims_t cd = {l->units};
        dnnl_memory_desc_t c = md_tag(1, cd, dnnl_x);
        L->mean = mem(d, &c, NULL);
        L->var = mem(d, &c, NULL);
        step *s = &L->fwd.s[L->fwd.count];
        add(&L->fwd, p, 0, 4, DNNL_ARG_SRC, L->src, DNNL_ARG_DST, L->dst, DNNL_ARG_MEAN, L->mean,
            DNNL_ARG_VARIANCE, L->var);
        if (L->u_wei == NULL) {
            float *ones;
            L->bn_ones = mem(d, &c, NULL);
            L->bn_unused = mem(d, &c, NULL);
            check(dnnl_memory_get_data_handle(L->bn_ones, (void **)&ones), "read a tensor's buffer", l->name);
            for (int ch = 0; ch < l->units; ch++)
                ones[ch] = 1.0f;
        }
        s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, L->u_wei != NULL ? L->u_wei : L->bn_ones};
        if (L->work != NULL)
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, L->work};
        if (L->u_bia != NULL)
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, L->u_bia};
        break;
    }
    }
}

/* Their gradients, from `incoming` (the output's). Add passes it on to both inputs as it is;
 * concat copies it out in two parts of a plain copy. */
static void setup_graph_backward(bench_dnnl *d, dlayer *L, dnnl_memory_t incoming)
{
    const cnn_layer *l = L->l;
    const dnnl_memory_desc_t *dst_md = md_of(L->dst), *src_md = md_of(L->src);
    switch (l->kind_id) {
    case CNN_LAYER_ADD:
        /* In the step both inputs get the output's gradient tensor itself. On its own, the pass
         * is the copies into the two gradient arrays, as the generated one's: its work. */
        L->ddst = mem_like(d, dst_md, incoming);
        L->dsrc = l->din >= 0 ? L->ddst : NULL;
        L->dsrc2 = l->din2 >= 0 ? L->ddst : NULL;
        if (L->dsrc != NULL)
            add_reorder(d, &L->bwd_out, L->ddst, L->u_dsrc, 0, l->name);
        if (L->dsrc2 != NULL)
            add_reorder(d, &L->bwd_out, L->ddst, L->u_dsrc2, 0, l->name);
        return;
    case CNN_LAYER_CONCAT: {
        dnnl_memory_desc_t whole = plain_md(dst_md);
        L->ddst = mem_like(d, dst_md, incoming);
        dnnl_memory_t plain = mem_like(d, &whole, L->ddst);
        void *handle;
        check(dnnl_memory_get_data_handle(plain, &handle), "read a tensor's buffer", l->name);
        add_reorder(d, &L->bwd, L->ddst, plain, 0, l->name);
        for (int k = 0; k < 2; k++) {
            if ((k == 0 ? l->din : l->din2) < 0)
                continue;
            dnnl_dims_t dims, offsets = {0, 0, 0, 0};
            memcpy(dims, k == 0 ? L->in_dims : L->in2_dims, sizeof dims);
            offsets[1] = k == 0 ? 0 : L->in_dims[1];
            dnnl_memory_desc_t part, own = md_tag(L->in_nd, dims, plain_tag(L->in_nd));
            check(dnnl_memory_desc_init_submemory(&part, &whole, dims, offsets), "describe a part of a tensor",
                  l->name);
            dnnl_memory_t view = mem(d, &part, handle), out = mem(d, &own, NULL);
            add_reorder(d, &L->bwd, view, out, 0, l->name);
            *(k == 0 ? &L->dsrc : &L->dsrc2) = out;
        }
        break;
    }
    case CNN_LAYER_GLOBALAVGPOOL2D: {
        dnnl_pooling_desc_t pool;
        dnnl_dims_t strides = {1, 1}, kernel = {l->in_h, l->in_w}, pad = {0, 0};
        L->ddst = mem_like(d, dst_md, incoming);
        L->dsrc = mem(d, src_md, NULL);
        check(dnnl_pooling_backward_desc_init(&pool, dnnl_pooling_avg_exclude_padding, src_md, dst_md, strides,
                                              kernel, pad, pad),
              "describe the global pool's gradient", l->name);
        dnnl_primitive_desc_t pd = pd_create(d, &pool, NULL, L->fwd_pd);
        if (pd == NULL)
            check(dnnl_unimplemented, "find the global pool's gradient", l->name);
        dnnl_primitive_t p = prim(d, pd, l->name);
        dnnl_primitive_desc_destroy(pd);
        if (L->work != NULL)
            add(&L->bwd, p, 0, 3, DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_WORKSPACE, L->work, DNNL_ARG_DIFF_SRC, L->dsrc);
        else
            add(&L->bwd, p, 0, 2, DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_DIFF_SRC, L->dsrc);
        break;
    }
    case CNN_LAYER_BATCHNORM: {
        /* dnnl_backward: the input's gradient too (computed even where none flows back, as the
         * scale's and shift's need the same sums). */
        dnnl_batch_normalization_desc_t bd;
        check(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, src_md, src_md, (float)l->rate,
                                                          bn_flags(l)),
              "describe the batchnorm's gradient", l->name);
        dnnl_primitive_desc_t pd = pd_create(d, &bd, NULL, L->fwd_pd);
        if (pd == NULL)
            check(dnnl_unimplemented, "find the batchnorm's gradient", l->name);
        L->ddst = mem_like(d, query(pd, dnnl_query_diff_dst_md), incoming);
        L->dsrc = mem(d, query(pd, dnnl_query_diff_src_md), NULL);
        dnnl_primitive_t p = prim(d, pd, l->name);
        dnnl_primitive_desc_destroy(pd);
        add(&L->bwd, p, 0, 5, DNNL_ARG_SRC, L->src, DNNL_ARG_MEAN, L->mean, DNNL_ARG_VARIANCE, L->var,
            DNNL_ARG_DIFF_DST, L->ddst, DNNL_ARG_DIFF_SRC, L->dsrc);
        step *s = &L->bwd.s[L->bwd.count - 1];
        if (L->u_wei != NULL) {
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, L->u_wei};
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, L->u_dwei};
        } else {
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, L->bn_ones};
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, L->bn_unused};
        }
        if (L->u_dbia != NULL) {
            /* oneDNN 2.6 checks that the shift is there, although its gradient does not read it */
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, L->u_bia};
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SHIFT, L->u_dbia};
        }
        if (L->work != NULL)
            s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, L->work};
        break;
    }
    default:
        return;
    }
    if (L->dsrc != NULL && L->u_dsrc != NULL)
        add_reorder(d, &L->bwd_out, L->dsrc, L->u_dsrc, 1, l->name);
    if (L->dsrc2 != NULL && L->u_dsrc2 != NULL)
        add_reorder(d, &L->bwd_out, L->dsrc2, L->u_dsrc2, 1, l->name);
}

/* ------------------------------------------------------------------ the chain */

/* Steps that bring the tensor `from` (logical dims of `from_dl`) into `to`: nothing when they are
 * one, a reorder when only the layouts differ, and through the plain arrays when the dims do
 * (a flatten between them), where the workspace holds the same floats for both views. */
static void link(bench_dnnl *d, steps *st, dnnl_memory_t from, dnnl_memory_t from_plain, dnnl_memory_t to,
                 dnnl_memory_t to_plain, const char *layer)
{
    if (same_dims(md_of(from), md_of(to))) {
        add_reorder(d, st, from, to, 1, layer);
        return;
    }
    add_reorder(d, st, from, from_plain, 1, layer);
    add_reorder(d, st, to_plain, to, 1, layer);
}

/* Steps that bring `from` into `to` where no workspace array holds both: across different dims
 * (a flatten's, or a [N][C] read as [N][C][1][1]) through a plain copy of its own, whose
 * floats are in the same order for both. */
static void convert(bench_dnnl *d, steps *st, dnnl_memory_t from, dnnl_memory_t to, const char *layer)
{
    if (same_dims(md_of(from), md_of(to))) {
        add_reorder(d, st, from, to, 1, layer);
        return;
    }
    dnnl_memory_desc_t a = plain_md(md_of(from)), b = plain_md(md_of(to));
    dnnl_memory_t plain = mem_like(d, &a, from);
    void *handle;
    add_reorder(d, st, from, plain, 1, layer);
    check(dnnl_memory_get_data_handle(plain, &handle), "read a tensor's buffer", layer);
    add_reorder(d, st, mem(d, &b, handle), to, 1, layer);
}

/* The layer whose output is input k of layer i in the training step, through flattens (views);
 * -1 for the model's input. */
static int source(const cnn_model *m, int i, int k)
{
    int p = bench_producer(m, i, k);
    while (p >= 0 && m->layers[p].kind_id == CNN_LAYER_FLATTEN)
        p = bench_producer(m, p, 0);
    return p;
}

/* Adds the gradient g that a reader of layer P's output computed to P's, in the steps st: the
 * first that arrives is P's (brought to P's dims), the others are added to it by a binary add
 * into a tensor of its own (never in place: add gives both its inputs the same tensor). */
static void deliver(bench_dnnl *d, steps *st, dlayer *P, dnnl_memory_t g, const char *layer)
{
    dnnl_memory_desc_t own = md_tag(P->out_nd, P->out_dims, plain_tag(P->out_nd));
    if (P->grad == NULL) {
        if (same_dims(md_of(g), &own)) {
            P->grad = g;
        } else {
            P->grad = mem(d, &own, NULL);
            convert(d, st, g, P->grad, layer);
        }
        return;
    }
    const dnnl_memory_desc_t *sum_md = md_of(P->grad);
    dnnl_memory_t other = same_dims(md_of(g), sum_md) ? mem_like(d, sum_md, g) : mem(d, sum_md, NULL);
    convert(d, st, g, other, layer);
    dnnl_binary_desc_t b;
    check(dnnl_binary_desc_init(&b, dnnl_binary_add, sum_md, md_of(other), sum_md), "describe a gradient sum", layer);
    dnnl_primitive_desc_t pd = pd_create(d, &b, NULL, NULL);
    if (pd == NULL)
        check(dnnl_unimplemented, "find a gradient sum", layer);
    dnnl_memory_t sum = mem(d, sum_md, NULL);
    add(st, prim(d, pd, layer), 0, 3, DNNL_ARG_SRC_0, P->grad, DNNL_ARG_SRC_1, other, DNNL_ARG_DST, sum);
    dnnl_primitive_desc_destroy(pd);
    P->grad = sum;
}

static int is_graph_kind(int kind)
{
    return kind == CNN_LAYER_ADD || kind == CNN_LAYER_CONCAT || kind == CNN_LAYER_GLOBALAVGPOOL2D ||
           kind == CNN_LAYER_BATCHNORM;
}

/* Ranks and dims: dense layers and flatten give 2-D {N, C}, convolutions and pools 4-D, the
 * others keep their input's rank (concat 2-D unless both inputs are 4-D); a dense layer after
 * a flatten reads the 4-D tensor the flatten viewed. */
static void shapes(bench_dnnl *d, int i, const int *direct)
{
    const cnn_model *m = d->m;
    dlayer *L = &d->layers[i];
    const cnn_layer *l = &m->layers[i];
    int p = bench_producer(m, i, 0), n = d->n;
    L->l = l;
    L->direct = direct != NULL && direct[i];
    L->in_nd = p < 0 ? 4 : d->layers[p].out_nd;
    if (l->kind_id == CNN_LAYER_CONCAT) {
        int p2 = bench_producer(m, i, 1);
        L->in_nd = L->in_nd == 4 && (p2 < 0 || d->layers[p2].out_nd == 4) ? 4 : 2;
    }
    if (l->kind_id == CNN_LAYER_DENSE && p >= 0 && m->layers[p].kind_id == CNN_LAYER_FLATTEN) {
        const cnn_layer *f = &m->layers[p];
        L->in_nd = 4;
        dims_of(4, n, f->in_h, f->in_w, f->in_c, L->in_dims);
    } else {
        dims_of(L->in_nd, n, l->in_h, l->in_w, l->in_c, L->in_dims);
    }
    if (l->ninputs > 1)
        dims_of(L->in_nd, n, l->in_h, l->in_w, (int)(bench_in2_size(l) / ((size_t)l->in_h * l->in_w)), L->in2_dims);
    switch (l->kind_id) {
    case CNN_LAYER_CONV2D:
    case CNN_LAYER_MAXPOOL2D:
    case CNN_LAYER_AVGPOOL2D:
    case CNN_LAYER_GLOBALAVGPOOL2D:
        L->out_nd = 4;
        break;
    case CNN_LAYER_DENSE:
    case CNN_LAYER_FLATTEN:
        L->out_nd = 2;
        break;
    default:
        L->out_nd = L->in_nd;
        break;
    }
    dims_of(L->out_nd, n, l->out_h, l->out_w, l->out_c, L->out_dims);
    plain_views(d, L);
}

/* The training step's input k of layer i: the tensor its producer left, and its plain array. */
static void chain_input(bench_dnnl *d, int i, int k, dnnl_memory_t *cur, dnnl_memory_t *plain)
{
    dlayer *L = &d->layers[i];
    int p = bench_producer(d->m, i, k);
    *cur = p >= 0 ? d->layers[p].chain_dst : k == 0 ? L->u_src : L->u_src2;
    *plain = p >= 0 ? d->layers[p].chain_plain : k == 0 ? L->u_src : L->u_src2;
}

/* oneDNN dispatches to the widest instructions the CPU has, whatever the target; a column that
 * ran AVX-512 against code written for AVX2 would measure the instruction set, not the code. So
 * it is held to what a CPU with only the target's instructions would give it: AVX2 for avx2,
 * SSE4.1 (its lowest) for x86-64 and generic (SSE2). A DNNL_MAX_CPU_ISA of the user's wins. */
const char *bench_dnnl_limit_isa(const char *target)
{
    static const struct { const char *target, *name; dnnl_cpu_isa_t isa; } limits[] = {
        {"avx2", "AVX2", dnnl_cpu_isa_avx2},
        {"x86-64", "SSE41", dnnl_cpu_isa_sse41},
        {"generic", "SSE41", dnnl_cpu_isa_sse41},
    };
    const char *user = getenv("DNNL_MAX_CPU_ISA");
    if (user != NULL && user[0] != '\0')
        return user;
    for (size_t i = 0; target != NULL && i < sizeof limits / sizeof limits[0]; i++)
        if (strcmp(target, limits[i].target) == 0)
            return dnnl_set_max_cpu_isa(limits[i].isa) == dnnl_success ? limits[i].name : "all (not limited)";
    return "all";
}

bench_dnnl *bench_dnnl_create(const cnn_model *m, int n, float *ws, float *grads, int threads, const int *direct)
{
    bench_dnnl *d = calloc(1, sizeof *d);
    if (d == NULL) {
        fprintf(stderr, "bench: error: out of memory\n");
        exit(1);
    }
    *d = (bench_dnnl){.m = m, .n = n, .threads = threads, .ws = ws, .grads = grads};
    bench_dnnl_threads(threads);
    check(dnnl_engine_create(&d->engine, dnnl_cpu, 0), "create a CPU engine", m->name);
    check(dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags), "create a stream", m->name);
    d->layers = calloc((size_t)m->num_layers, sizeof *d->layers);
    if (d->layers == NULL) {
        fprintf(stderr, "bench: error: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < m->num_layers; i++)
        shapes(d, i, direct);
    /* Forward, in order: each layer's inputs come from the tensors their producers left. */
    for (int i = 0; i < m->num_layers; i++) {
        dlayer *L = &d->layers[i];
        const cnn_layer *l = L->l;
        dnnl_memory_t cur, cur_plain, cur2 = NULL, cur2_plain = NULL;
        chain_input(d, i, 0, &cur, &cur_plain);
        if (l->kind_id == CNN_LAYER_FLATTEN) {
            /* a view: the tensor goes on as it is */
            L->chain_dst = cur;
            L->chain_plain = cur_plain;
            continue;
        }
        if (l->ninputs > 1)
            chain_input(d, i, 1, &cur2, &cur2_plain);
        if (l->kind_id == CNN_LAYER_CONV2D || l->kind_id == CNN_LAYER_DENSE)
            setup_product_forward(d, L, cur);
        else if (is_graph_kind(l->kind_id))
            setup_graph_forward(d, L, cur, cur2);
        else
            setup_simple_forward(d, L, cur);
        add_reorder(d, &L->fwd_in, L->u_src, L->src, 1, l->name);
        add_reorder(d, &L->fwd_out, L->dst, L->u_dst, 1, l->name);
        link(d, &L->chain_fwd, cur, cur_plain, L->src, L->u_src, l->name);
        if (L->src2 != NULL) {
            add_reorder(d, &L->fwd_in, L->u_src2, L->src2, 1, l->name);
            link(d, &L->chain_fwd, cur2, cur2_plain, L->src2, L->u_src2, l->name);
        }
        if (L->wei != NULL)
            add_reorder(d, &L->chain_fwd, L->u_wei, L->wei, 1, l->name);
        if (L->mask != NULL)
            add_reorder(d, &L->chain_fwd, L->u_mask, L->mask, 1, l->name);
        append(&L->chain_fwd, &L->fwd);
        L->chain_dst = L->dst;
        L->chain_plain = L->u_dst;
    }
    dlayer *last = &d->layers[m->num_layers - 1];
    add_reorder(d, &d->chain_out, last->chain_dst, last->u_dst, 1, last->l->name);
    /* Backward, from the loss: each layer's output gradient is the sum of what its readers,
     * which run before it, delivered. */
    last->grad = last->u_ddst;
    for (int i = m->num_layers - 1; i >= 0; i--) {
        dlayer *L = &d->layers[i];
        const cnn_layer *l = L->l;
        int product = l->kind_id == CNN_LAYER_CONV2D || l->kind_id == CNN_LAYER_DENSE;
        if (l->backward == NULL || l->kind_id == CNN_LAYER_FLATTEN)
            continue;
        if (!product && l->kind_id != CNN_LAYER_BATCHNORM && l->din < 0 && l->din2 < 0)
            continue; /* nothing flows back from here */
        if (L->grad == NULL)
            check(dnnl_runtime_error, "find the gradient of the output", l->name);
        if (product)
            setup_product_backward(d, L, L->grad);
        else if (is_graph_kind(l->kind_id))
            setup_graph_backward(d, L, L->grad);
        else
            setup_simple_backward(d, L, L->grad);
        /* setup_product_backward put the weights' reorders into chain_bwd: after the link. */
        steps own = L->chain_bwd;
        L->chain_bwd.count = 0;
        convert(d, &L->chain_bwd, L->grad, L->ddst, l->name);
        append(&L->chain_bwd, &own);
        append(&L->chain_bwd, &L->bwd);
        if (L->dwei != NULL)
            add_reorder(d, &L->chain_bwd, L->dwei, L->u_dwei, 1, l->name);
        add_reorder(d, &L->bwd_in, L->u_ddst, L->ddst, 1, l->name);
        for (int k = 0; k < l->ninputs; k++) {
            dnnl_memory_t g = k == 0 ? L->dsrc : L->dsrc2;
            int p = source(m, i, k);
            if ((k == 0 ? l->din : l->din2) >= 0 && g != NULL && p >= 0)
                deliver(d, &L->chain_bwd, &d->layers[p], g, l->name);
        }
    }
    return d;
}

void bench_dnnl_free(bench_dnnl *d)
{
    if (d == NULL)
        return;
    for (int i = 0; i < d->nprims; i++)
        dnnl_primitive_destroy(d->prims[i]);
    for (int i = 0; i < d->nmems; i++)
        dnnl_memory_destroy(d->mems[i]);
    dnnl_stream_destroy(d->stream);
    dnnl_engine_destroy(d->engine);
    free(d->prims);
    free(d->mems);
    free(d->layers);
    free(d);
}

void bench_dnnl_threads(int threads)
{
    omp_set_num_threads(threads);
}

/* The plain parameter arrays are wherever the caller's parameters are this time. */
static void set_params(bench_dnnl *d, const float *params)
{
    for (int i = 0; i < d->m->num_layers; i++) {
        dlayer *L = &d->layers[i];
        if (L->u_wei != NULL)
            check(dnnl_memory_set_data_handle(L->u_wei, (void *)(params + L->l->kernel_offset)), "set the kernel",
                  L->l->name);
        if (L->u_bia != NULL)
            check(dnnl_memory_set_data_handle(L->u_bia, (void *)(params + L->l->bias_offset)), "set the bias",
                  L->l->name);
    }
}

void bench_dnnl_pass(bench_dnnl *d, const float *params, const cnn_layer *l, int backward, double *work,
                     double *reorders)
{
    dlayer *L = &d->layers[l - d->m->layers];
    *work = *reorders = 0.0;
    set_params(d, params);
    if (!backward) {
        run(d, &L->fwd_in, work, reorders);
        run(d, &L->fwd, work, reorders);
        run(d, &L->fwd_out, work, reorders);
        return;
    }
    /* A max pool's gradient reads the forward's workspace, batchnorm's the batch's statistics:
     * run the forward first, untimed. */
    if (L->work != NULL || L->mean != NULL) {
        run(d, &L->fwd_in, NULL, NULL);
        run(d, &L->fwd, NULL, NULL);
    }
    run(d, &L->bwd_in, work, reorders);
    run(d, &L->bwd, work, reorders);
    run(d, &L->bwd_out, work, reorders);
}

void bench_dnnl_impl(const bench_dnnl *d, const cnn_layer *l, int backward, char *buf, size_t size)
{
    const dlayer *L = &d->layers[l - d->m->layers];
    const steps *st = backward ? &L->bwd : &L->fwd;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < st->count && used < size; i++) {
        const_dnnl_primitive_desc_t pd;
        const char *impl = NULL;
        if (st->s[i].reorder || dnnl_primitive_get_primitive_desc(st->s[i].prim, &pd) != dnnl_success ||
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || impl == NULL)
            continue;
        int k = snprintf(buf + used, size - used, "%s%s", used > 0 ? " + " : "", impl);
        used += k > 0 ? (size_t)k : 0;
    }
}

void bench_dnnl_step_forward(bench_dnnl *d, const float *params, double *reorders)
{
    set_params(d, params);
    for (int i = 0; i < d->m->num_layers; i++)
        run(d, &d->layers[i].chain_fwd, NULL, reorders);
    run(d, &d->chain_out, NULL, reorders);
}

void bench_dnnl_step_backward(bench_dnnl *d, double *reorders)
{
    for (int i = d->m->num_layers - 1; i >= 0; i--)
        run(d, &d->layers[i].chain_bwd, NULL, reorders);
}
