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
        break;
    }
    if (l->out_h <= 0 || l->out_w <= 0 || l->out_c <= 0)
        return net_error("the window does not fit the input", index);
    l->kernel_offset = *num_params;
    l->bias_offset = *num_params + l->kernel_count;
    *num_params += l->kernel_count + l->bias_count;
    return 0;
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
    int h = desc->in_h, w = desc->in_w, c = desc->in_c;
    size_t largest = net->in_size;
    for (int i = 0; i < desc->nlayers; i++) {
        ref_net_layer *l = &net->layers[i];
        l->d = desc->layers[i];
        l->in_h = h;
        l->in_w = w;
        l->in_c = c;
        if (resolve_layer(l, i, &net->num_params) < 0) {
            ref_net_free(net);
            return -1;
        }
        l->conv.n = l->pool.n = batch;
        l->out = alloc_floats((size_t)batch * out_size(l));
        if (l->d.kind == REF_DROPOUT)
            l->mask = alloc_floats((size_t)batch * out_size(l));
        if (!l->out || (l->d.kind == REF_DROPOUT && !l->mask)) {
            ref_net_free(net);
            return net_error("out of memory", i);
        }
        if (out_size(l) > largest)
            largest = out_size(l);
        h = l->out_h;
        w = l->out_w;
        c = l->out_c;
    }
    net->classes = h * w * c;
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
        free(net->layers[i].mask);
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
    const float *in = net->input;
    for (int i = 0; i < net->desc.nlayers; i++) {
        ref_net_layer *l = &net->layers[i];
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
        }
        in = l->out;
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
     * with the same clamp the loss uses. */
    double loss = ref_xent_loss(n, net->classes, y, labels, NULL, scale);
    for (int b = 0; b < n; b++)
        for (int j = 0; j < net->classes; j++) {
            float p = y[(size_t)b * net->classes + j];
            float clamped = p < 1e-7f ? 1e-7f : p;
            dy[(size_t)b * net->classes + j] = j == labels[b] ? -scale / clamped : 0.0f;
        }
    return loss;
}

double ref_net_backward(ref_net *net, const float *params, float *grads,
                        const unsigned char *labels, int n, float scale)
{
    float *dy = net->grad_a, *dx = net->grad_b;
    int fused;
    double loss = loss_gradient(net, labels, n, scale, dy, &fused);
    memset(grads, 0, sizeof *grads * net->num_params);
    for (int i = net->desc.nlayers - 1; i >= 0; i--) {
        ref_net_layer *l = &net->layers[i];
        const float *in = i > 0 ? net->layers[i - 1].out : net->input;
        const float *kernel = params + l->kernel_offset;
        float *dkernel = grads + l->kernel_offset;
        float *dbias = l->bias_count ? grads + l->bias_offset : NULL;
        size_t count = (size_t)n * out_size(l);
        /* The fused softmax's gradient is already that of its input (the loss took it). */
        ref_activation act = fused && i == net->desc.nlayers - 1 ? REF_ACT_NONE : l->d.act;
        float *dfrom = i > 0 ? dx : NULL; /* no gradient is needed for the input images */
        l->conv.n = l->pool.n = n;
        switch (l->d.kind) {
        case REF_CONV2D:
            ref_activation_backward(act, n, (int)out_size(l), dy, dy, l->out);
            ref_conv2d_backward(&l->conv, dfrom, dkernel, dbias, dy, in, kernel);
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
            ref_dense_backward(n, l->in_c, l->out_c, dfrom, dkernel, dbias, dy, in, kernel);
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
        }
        float *t = dy;
        dy = dx;
        dx = t;
    }
    return loss;
}
