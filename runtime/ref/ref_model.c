/*
 * ref/ref_model.c - runs a described network with the reference layers (see ref_model.h).
 */
#include "ref_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t out_size(const ref_net_layer *l)
{
    return (size_t)l->out_h * l->out_w * l->out_c;
}

static size_t in_size(const ref_net_layer *l)
{
    return (size_t)l->in_h * l->in_w * l->in_c;
}

static int net_error(const char *what, int layer)
{
    fprintf(stderr, "cnnc: error: reference network: layer %d: %s\n", layer + 1, what);
    return -1;
}

/* Resolves one layer's output shape and parameters from its input shape. */
static int resolve_layer(ref_net_layer *l, int index, size_t *num_params)
{
    const ref_layer_desc *d = &l->d;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->out_c = l->in_c;
    switch (d->kind) {
    case REF_CONV2D: {
        ref_conv2d *p = &l->conv;
        *p = (ref_conv2d){.in_h = l->in_h, .in_w = l->in_w, .in_c = l->in_c, .out_c = d->units,
                          .kh = d->kh, .kw = d->kw, .sh = d->sh ? d->sh : 1,
                          .sw = d->sw ? d->sw : 1, .use_bias = !d->no_bias};
        if (d->same) {
            ref_same_padding(l->in_h, p->kh, p->sh, &p->pad_top, &p->pad_bottom);
            ref_same_padding(l->in_w, p->kw, p->sw, &p->pad_left, &p->pad_right);
        }
        ref_conv2d_set_out(p);
        l->out_h = p->out_h;
        l->out_w = p->out_w;
        l->out_c = d->units;
        l->kernel_count = (size_t)p->kh * p->kw * p->in_c * p->out_c;
        l->bias_count = p->use_bias ? (size_t)p->out_c : 0;
        break;
    }
    case REF_MAXPOOL2D:
    case REF_AVGPOOL2D: {
        ref_pool2d *p = &l->pool;
        *p = (ref_pool2d){.in_h = l->in_h, .in_w = l->in_w, .c = l->in_c, .ph = d->kh,
                          .pw = d->kw, .sh = d->sh ? d->sh : d->kh, .sw = d->sw ? d->sw : d->kw};
        if (d->same) {
            ref_same_padding(l->in_h, p->ph, p->sh, &p->pad_top, &p->pad_bottom);
            ref_same_padding(l->in_w, p->pw, p->sw, &p->pad_left, &p->pad_right);
        }
        ref_pool2d_set_out(p);
        l->out_h = p->out_h;
        l->out_w = p->out_w;
        break;
    }
    case REF_FLATTEN:
        l->out_h = l->out_w = 1;
        l->out_c = (int)in_size(l);
        break;
    case REF_DENSE:
        if (l->in_h != 1 || l->in_w != 1)
            return net_error("dense needs a flat input", index);
        l->out_c = d->units;
        l->kernel_count = (size_t)l->in_c * d->units;
        l->bias_count = d->no_bias ? 0 : (size_t)d->units;
        break;
    case REF_DROPOUT:
    case REF_ACTIVATION:
    case REF_ADD:
        break;
    case REF_CONCAT:
        l->out_c = l->in_c + l->in2_c;
        break;
    case REF_GLOBALAVGPOOL2D:
        l->out_h = l->out_w = 1;
        break;
    case REF_BATCHNORM:
        /* gamma and beta in the kernel's and the bias's places; the state comes later. */
        l->kernel_count = d->no_scale ? 0 : (size_t)l->in_c;
        l->bias_count = d->no_bias ? 0 : (size_t)l->in_c;
        break;
    }
    if (l->out_h <= 0 || l->out_w <= 0 || l->out_c <= 0)
        return net_error("the window does not fit the input", index);
    l->kernel_offset = *num_params;
    l->bias_offset = *num_params + l->kernel_count;
    *num_params += l->kernel_count + l->bias_count;
    return 0;
}

static double bn_epsilon(const ref_layer_desc *d)
{
    return d->epsilon != 0 ? d->epsilon : 0.001;
}

static float *alloc_floats(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

int ref_net_init(ref_net *net, const ref_net_desc *desc, int batch)
{
    memset(net, 0, sizeof *net);
    net->desc = *desc;
    net->batch = batch;
    net->in_size = (size_t)desc->in_h * desc->in_w * desc->in_c;
    net->layers = calloc(desc->nlayers > 0 ? desc->nlayers : 1, sizeof *net->layers);
    net->input = alloc_floats((size_t)batch * net->in_size);
    if (!net->layers || !net->input || desc->nlayers <= 0) {
        ref_net_free(net);
        return net_error(desc->nlayers <= 0 ? "no layers" : "out of memory", 0);
    }
    size_t largest = net->in_size;
    for (int i = 0; i < desc->nlayers; i++) {
        ref_net_layer *l = &net->layers[i];
        l->d = desc->layers[i];
        l->inputs[0] = l->d.from == 0 ? i - 1 : l->d.from < 0 ? -1 : l->d.from - 1;
        l->ninputs = l->d.kind == REF_ADD || l->d.kind == REF_CONCAT ? 2 : 1;
        l->inputs[1] = l->d.with < 0 ? -1 : l->d.with - 1;
        for (int k = 0; k < l->ninputs; k++)
            if (l->inputs[k] >= i)
                return net_error("reads a layer that is not before it", i);
        const ref_net_layer *a = l->inputs[0] >= 0 ? &net->layers[l->inputs[0]] : NULL;
        l->in_h = a ? a->out_h : desc->in_h;
        l->in_w = a ? a->out_w : desc->in_w;
        l->in_c = a ? a->out_c : desc->in_c;
        if (l->ninputs > 1)
            l->in2_c = l->inputs[1] >= 0 ? net->layers[l->inputs[1]].out_c : desc->in_c;
        if (resolve_layer(l, i, &net->num_params) < 0) {
            ref_net_free(net);
            return -1;
        }
        l->conv.n = l->pool.n = batch;
        l->out = alloc_floats((size_t)batch * out_size(l));
        l->dout = alloc_floats((size_t)batch * out_size(l));
        if (l->d.kind == REF_DROPOUT)
            l->mask = alloc_floats((size_t)batch * out_size(l));
        if (l->d.kind == REF_BATCHNORM) {
            l->mean = alloc_floats((size_t)l->in_c);
            l->var = alloc_floats((size_t)l->in_c);
        }
        if (!l->out || !l->dout || (l->d.kind == REF_DROPOUT && !l->mask) ||
            (l->d.kind == REF_BATCHNORM && (!l->mean || !l->var))) {
            ref_net_free(net);
            return net_error("out of memory", i);
        }
        if (out_size(l) > largest)
            largest = out_size(l);
    }
    for (int i = 0; i < desc->nlayers; i++) {
        ref_net_layer *l = &net->layers[i];
        if (l->d.kind != REF_BATCHNORM)
            continue;
        l->state_offset = net->num_params + net->num_state;
        net->num_state += 2 * (size_t)l->in_c;
    }
    net->classes = (int)out_size(&net->layers[desc->nlayers - 1]);
    net->grad_a = alloc_floats((size_t)batch * largest);
    net->grad_b = alloc_floats((size_t)batch * largest);
    if (!net->grad_a || !net->grad_b) {
        ref_net_free(net);
        return net_error("out of memory", 0);
    }
    return 0;
}

void ref_net_free(ref_net *net)
{
    for (int i = 0; net->layers && i < net->desc.nlayers; i++) {
        free(net->layers[i].out);
        free(net->layers[i].dout);
        free(net->layers[i].mask);
        free(net->layers[i].mean);
        free(net->layers[i].var);
    }
    free(net->layers);
    free(net->input);
    free(net->grad_a);
    free(net->grad_b);
    memset(net, 0, sizeof *net);
}

void ref_net_forward(ref_net *net, const float *params, const float *x, int n, int training)
{
    memcpy(net->input, x, sizeof *x * (size_t)n * net->in_size);
    net->training = training;
    for (int i = 0; i < net->desc.nlayers; i++) {
        ref_net_layer *l = &net->layers[i];
        const float *in = l->inputs[0] >= 0 ? net->layers[l->inputs[0]].out : net->input;
        const float *in2 = l->ninputs > 1 && l->inputs[1] >= 0 ? net->layers[l->inputs[1]].out : net->input;
        const float *kernel = params + l->kernel_offset;
        const float *bias = l->bias_count ? params + l->bias_offset : NULL;
        size_t count = (size_t)n * out_size(l);
        l->conv.n = l->pool.n = n;
        switch (l->d.kind) {
        case REF_CONV2D:
            ref_conv2d_forward(&l->conv, l->out, in, kernel, bias);
            ref_activation_forward(l->d.act, n, (int)out_size(l), l->out, l->out);
            break;
        case REF_MAXPOOL2D:
            ref_maxpool2d_forward(&l->pool, l->out, in);
            break;
        case REF_AVGPOOL2D:
            ref_avgpool2d_forward(&l->pool, l->out, in);
            break;
        case REF_FLATTEN:
            memcpy(l->out, in, sizeof *in * count);
            break;
        case REF_DENSE:
            ref_dense_forward(n, l->in_c, l->out_c, l->out, in, kernel, bias);
            ref_activation_forward(l->d.act, n, l->out_c, l->out, l->out);
            break;
        case REF_DROPOUT:
            if (training)
                ref_dropout_forward(count, l->out, in, l->mask);
            else
                memcpy(l->out, in, sizeof *in * count);
            break;
        case REF_ACTIVATION:
            ref_activation_forward(l->d.act, n, (int)out_size(l), l->out, in);
            break;
        case REF_ADD:
            ref_add_forward(count, l->out, in, in2);
            break;
        case REF_CONCAT:
            ref_concat_forward((size_t)n * l->out_h * l->out_w, l->in_c, l->in2_c, l->out, in, in2);
            break;
        case REF_GLOBALAVGPOOL2D:
            ref_globalavgpool2d_forward(n, l->in_h, l->in_w, l->in_c, l->out, in);
            break;
        case REF_BATCHNORM: {
            size_t rows = (size_t)n * l->in_h * l->in_w;
            const float *mean = params + l->state_offset, *var = mean + l->in_c;
            if (training) {
                ref_batchnorm_stats(rows, l->in_c, in, l->mean, l->var);
                mean = l->mean;
                var = l->var;
            }
            ref_batchnorm_forward(rows, l->in_c, l->out, in, l->kernel_count ? kernel : NULL, bias, mean, var,
                                  bn_epsilon(&l->d));
            break;
        }
        }
    }
}

void ref_net_update_state(ref_net *net, float *params)
{
    for (int i = 0; i < net->desc.nlayers; i++) {
        const ref_net_layer *l = &net->layers[i];
        if (l->d.kind == REF_BATCHNORM)
            ref_batchnorm_update(l->in_c, params + l->state_offset, params + l->state_offset + l->in_c, l->mean,
                                 l->var, l->d.momentum != 0 ? l->d.momentum : 0.99);
    }
}

const float *ref_net_output(const ref_net *net)
{
    return net->layers[net->desc.nlayers - 1].out;
}

/* The gradient of the summed loss with respect to the network's output, scaled, in dy; when
 * the output is a softmax's and the loss cross-entropy, the gradient of the softmax's input
 * instead (*fused is then set). Returns the summed loss. */
static double loss_gradient(ref_net *net, const unsigned char *labels, int n, float scale,
                            float *dy, int *fused)
{
    const ref_net_layer *last = &net->layers[net->desc.nlayers - 1];
    const float *y = last->out;
    *fused = 0;
    if (net->desc.loss == REF_LOSS_MSE)
        return ref_mse_loss(n, net->classes, y, labels, dy, scale);
    if (last->d.act == REF_ACT_SOFTMAX) {
        *fused = 1;
        return ref_xent_loss(n, net->classes, y, labels, dy, scale);
    }
    /* Cross-entropy of outputs that are not a softmax's: d(-log y_label)/dy = -1 / y_label,
     * and 0 below the clamp the loss uses. */
    double loss = ref_xent_loss(n, net->classes, y, labels, NULL, scale);
    for (int b = 0; b < n; b++)
        for (int j = 0; j < net->classes; j++) {
            float p = y[(size_t)b * net->classes + j];
            /* Where the clamp holds p at 1e-7 the loss does not move with p. */
            dy[(size_t)b * net->classes + j] = j == labels[b] && p >= 1e-7f ? -scale / p : 0.0f;
        }
    return loss;
}

/* Adds a gradient of count floats into the output gradient of layer p (nothing for the input). */
static void accumulate(ref_net *net, int p, const float *g, size_t count)
{
    if (p < 0)
        return;
    float *d = net->layers[p].dout;
    for (size_t i = 0; i < count; i++)
        d[i] += g[i];
}

double ref_net_backward(ref_net *net, const float *params, float *grads,
                        const unsigned char *labels, int n, float scale)
{
    float *dx = net->grad_a, *dx2 = net->grad_b;
    int fused, last = net->desc.nlayers - 1;
    for (int i = 0; i <= last; i++)
        memset(net->layers[i].dout, 0, sizeof(float) * (size_t)n * out_size(&net->layers[i]));
    double loss = loss_gradient(net, labels, n, scale, net->layers[last].dout, &fused);
    memset(grads, 0, sizeof *grads * net->num_params);
    /* Backward from the last layer: each layer's output gradient is complete once every later
     * layer has added to it what flows back through it. */
    for (int i = last; i >= 0; i--) {
        ref_net_layer *l = &net->layers[i];
        float *dy = l->dout;
        const float *in = l->inputs[0] >= 0 ? net->layers[l->inputs[0]].out : net->input;
        const float *kernel = params + l->kernel_offset;
        float *dkernel = grads + l->kernel_offset;
        float *dbias = l->bias_count ? grads + l->bias_offset : NULL;
        size_t count = (size_t)n * out_size(l), in_count = (size_t)n * in_size(l);
        /* The fused softmax's gradient is already that of its input (the loss took it). */
        ref_activation act = fused && i == last ? REF_ACT_NONE : l->d.act;
        l->conv.n = l->pool.n = n;
        switch (l->d.kind) {
        case REF_CONV2D:
            ref_activation_backward(act, n, (int)out_size(l), dy, dy, l->out);
            ref_conv2d_backward(&l->conv, dx, dkernel, dbias, dy, in, kernel);
            break;
        case REF_MAXPOOL2D:
            ref_maxpool2d_backward(&l->pool, dx, dy, in);
            break;
        case REF_AVGPOOL2D:
            ref_avgpool2d_backward(&l->pool, dx, dy);
            break;
        case REF_FLATTEN:
            memcpy(dx, dy, sizeof *dx * count);
            break;
        case REF_DENSE:
            ref_activation_backward(act, n, l->out_c, dy, dy, l->out);
            ref_dense_backward(n, l->in_c, l->out_c, dx, dkernel, dbias, dy, in, kernel);
            break;
        case REF_DROPOUT:
            if (net->training)
                ref_dropout_backward(count, dx, dy, l->mask);
            else
                memcpy(dx, dy, sizeof *dx * count);
            break;
        case REF_ACTIVATION:
            ref_activation_backward(act, n, (int)out_size(l), dx, dy, l->out);
            break;
        case REF_ADD:
            ref_add_backward(count, dx, dx2, dy);
            break;
        case REF_CONCAT:
            ref_concat_backward((size_t)n * l->out_h * l->out_w, l->in_c, l->in2_c, dx, dx2, dy);
            break;
        case REF_GLOBALAVGPOOL2D:
            ref_globalavgpool2d_backward(n, l->in_h, l->in_w, l->in_c, dx, dy);
            break;
        case REF_BATCHNORM:
            /* Of a training forward: the statistics are the batch's (see ref_net_forward). */
            ref_batchnorm_backward((size_t)n * l->in_h * l->in_w, l->in_c, dx, l->kernel_count ? dkernel : NULL,
                                   dbias, dy, in, l->kernel_count ? kernel : NULL, l->mean, l->var,
                                   bn_epsilon(&l->d));
            break;
        }
        accumulate(net, l->inputs[0], dx, in_count);
        if (l->ninputs > 1) {
            const ref_net_layer *b = l->inputs[1] >= 0 ? &net->layers[l->inputs[1]] : NULL;
            size_t count2 = (size_t)n * (b ? out_size(b) : net->in_size);
            accumulate(net, l->inputs[1], dx2, count2);
        }
    }
    return loss;
}
