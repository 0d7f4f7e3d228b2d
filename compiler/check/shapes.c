/*
 * check/shapes.c - shape inference: each layer's output shape, parameter count and cost.
 *
 * Output sizes follow Keras/TensorFlow:
 *   valid:  out = floor((in - k) / s) + 1, and the window must fit: in >= k
 *   same:   out = ceil(in / s); total padding = max((out - 1) * s + k - in, 0),
 *           the smaller half before (top, left), the rest after (bottom, right)
 *
 * Multiply-accumulates count only true products with weights: conv2d
 * out_h * out_w * filters * kh * kw * cin (padded cells included, as Keras-style counters do)
 * and dense in * units. Pools, flatten, dropout and activations count 0.
 *
 * All size arithmetic is checked: the sizes come from the user and may be anything.
 */
#include <limits.h>

#include "check/check.h"

/* The generated code indexes every buffer with an int. */
#define MAX_BUFFER_FLOATS ((long long)INT_MAX)

long long shape_size(Shape s)
{
    long long r;
    if (__builtin_mul_overflow((long long)s.h, (long long)s.w, &r) ||
        __builtin_mul_overflow(r, (long long)s.c, &r))
        return -1;
    return r;
}

void format_shape(char *buf, size_t size, Shape s)
{
    if (s.rank == 1)
        snprintf(buf, size, "%d", s.c);
    else
        snprintf(buf, size, "%dx%dx%d", s.h, s.w, s.c);
}

bool valid_padding(int in, int k, int s, int *out)
{
    if (in < k || s <= 0)
        return false;
    *out = (in - k) / s + 1;
    return true;
}

bool same_padding(int in, int k, int s, int *out, int *before, int *after)
{
    if (s <= 0)
        return false;
    long long o = ((long long)in + s - 1) / s;
    long long total = (o - 1) * s + k - in;
    if (total < 0)
        total = 0;
    if (total > INT_MAX)
        return false;
    *out = (int)o;
    *before = (int)(total / 2);
    *after = (int)(total - total / 2);
    return true;
}

bool check_buffer_size(Loc loc, const char *owner, const char *what, long long per_image,
                       int batch)
{
    long long n = per_image;
    if (n >= 0 && batch > 1 && __builtin_mul_overflow(n, (long long)batch, &n))
        n = -1;
    if (n < 0) {
        error_at(loc, "%s %s is too large to count in 64-bit arithmetic", owner, what);
        return false;
    }
    if (n <= MAX_BUFFER_FLOATS)
        return true;
    if (batch > 1)
        error_at(loc, "%s %s needs %lld floats for a batch of %d; the generated code indexes "
                 "buffers with int, so a buffer holds at most %lld", owner, what, n, batch,
                 MAX_BUFFER_FLOATS);
    else
        error_at(loc, "%s %s needs %lld floats; the generated code indexes buffers with int, "
                 "so a buffer holds at most %lld", owner, what, n, MAX_BUFFER_FLOATS);
    return false;
}

static void owner_of(const Layer *L, char *buf, size_t size)
{
    snprintf(buf, size, "%s '%s'", layer_kind_name(L->kind), L->name);
}

static bool need_rank(const Layer *L, Shape in, int rank)
{
    if (in.rank == rank)
        return true;
    char shape[96];
    format_shape(shape, sizeof shape, in);
    if (rank == 1)
        error_at(L->loc, "%s '%s' needs a 1-D input but its input is %s; add a flatten before it",
                 layer_kind_name(L->kind), L->name, shape);
    else
        error_at(L->loc, "%s '%s' needs an HxWxC input but its input is 1-D (%s)",
                 layer_kind_name(L->kind), L->name, shape);
    return false;
}

/* Resolves one direction of a window (conv kernel or pool) over an input. */
static bool window_1d(int in, int k, int s, Padding p, int *out, int *before, int *after)
{
    if (p == PAD_SAME)
        return same_padding(in, k, s, out, before, after);
    *before = *after = 0;
    return valid_padding(in, k, s, out);
}

/* Both directions of a window; reports a window that does not fit or padding too large. */
static bool window_2d(const Layer *L, Shape in, int kh, int kw, int sh, int sw, Padding p,
                      Shape *out, int pads[4])
{
    int oh, ow;
    bool ok_h = window_1d(in.h, kh, sh, p, &oh, &pads[0], &pads[1]);
    bool ok_w = window_1d(in.w, kw, sw, p, &ow, &pads[2], &pads[3]);
    if (ok_h && ok_w) {
        *out = (Shape){.rank = 3, .h = oh, .w = ow, .c = in.c};
        return true;
    }
    char shape[96];
    format_shape(shape, sizeof shape, in);
    if (p == PAD_VALID)
        error_at(L->loc, "%s '%s' needs a %dx%d window but its input is %s",
                 layer_kind_name(L->kind), L->name, kh, kw, shape);
    else
        error_at(L->loc, "%s '%s': the same padding of a %dx%d window on %s is too large",
                 layer_kind_name(L->kind), L->name, kh, kw, shape);
    return false;
}

static bool infer_conv(Layer *L, Shape in)
{
    ConvAttrs *c = &L->u.conv;
    int pads[4];
    if (!need_rank(L, in, 3) || !window_2d(L, in, c->kh, c->kw, c->sh, c->sw, c->padding,
                                           &L->out, pads))
        return false;
    c->pad_top = pads[0], c->pad_bottom = pads[1], c->pad_left = pads[2], c->pad_right = pads[3];
    L->out.c = c->filters;

    char owner[160], what[160];
    owner_of(L, owner, sizeof owner);
    snprintf(what, sizeof what, "kernel %dx%dx%dx%d", c->kh, c->kw, in.c, c->filters);
    long long window, kernel;
    if (__builtin_mul_overflow((long long)c->kh, (long long)c->kw, &window) ||
        __builtin_mul_overflow(window, (long long)in.c, &window) ||
        __builtin_mul_overflow(window, (long long)c->filters, &kernel))
        kernel = -1;
    if (!check_buffer_size(L->loc, owner, what, kernel, 0))
        return false;
    L->kernel_size = kernel;
    L->bias_size = c->use_bias ? c->filters : 0;
    L->params = L->kernel_size + L->bias_size;
    long long out_size = shape_size(L->out);
    /* out_size*window can only overflow when the output is already too large to index; the
     * caller reports that, so the cost is then left at 0. */
    if (out_size < 0 || __builtin_mul_overflow(out_size, window, &L->macs))
        L->macs = 0;
    return true;
}

static bool infer_pool(Layer *L, Shape in)
{
    PoolAttrs *p = &L->u.pool;
    int pads[4];
    if (!need_rank(L, in, 3) || !window_2d(L, in, p->ph, p->pw, p->sh, p->sw, p->padding,
                                           &L->out, pads))
        return false;
    p->pad_top = pads[0], p->pad_bottom = pads[1], p->pad_left = pads[2], p->pad_right = pads[3];
    /* Max pooling keeps the position of each maximum for the backward pass. */
    if (L->kind == LAYER_MAXPOOL2D)
        L->aux_size = shape_size(L->out);
    return true;
}

static bool infer_dense(Layer *L, Shape in)
{
    DenseAttrs *d = &L->u.dense;
    if (!need_rank(L, in, 1))
        return false;
    L->out = (Shape){.rank = 1, .h = 1, .w = 1, .c = d->units};
    char owner[160], what[160];
    owner_of(L, owner, sizeof owner);
    snprintf(what, sizeof what, "kernel %dx%d", in.c, d->units);
    long long kernel;
    if (__builtin_mul_overflow((long long)in.c, (long long)d->units, &kernel))
        kernel = -1;
    if (!check_buffer_size(L->loc, owner, what, kernel, 0))
        return false;
    L->kernel_size = kernel;
    L->bias_size = d->use_bias ? d->units : 0;
    L->params = L->kernel_size + L->bias_size;
    L->macs = kernel;
    return true;
}

/* Flatten reads H, W, C in that order: the flat index is (h * W + w) * C + c. */
static bool infer_flatten(Layer *L, Shape in)
{
    long long n = shape_size(in);
    if (n < 0 || n > INT_MAX) {
        char owner[160];
        owner_of(L, owner, sizeof owner);
        return check_buffer_size(L->loc, owner, "output", n, 0);
    }
    L->out = (Shape){.rank = 1, .h = 1, .w = 1, .c = (int)n};
    return true;
}

bool infer_layer_shape(Layer *L, Shape in)
{
    L->in = in;
    L->out = in;
    L->params = L->kernel_size = L->bias_size = L->macs = L->aux_size = 0;
    switch (L->kind) {
    case LAYER_CONV2D:
        return infer_conv(L, in);
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D:
        return infer_pool(L, in);
    case LAYER_DENSE:
        return infer_dense(L, in);
    case LAYER_FLATTEN:
        return infer_flatten(L, in);
    case LAYER_DROPOUT:
        /* The mask, one float per activation, scaled by 1 / (1 - rate) where kept. */
        L->aux_size = shape_size(in);
        return true;
    case LAYER_RELU:
    case LAYER_SIGMOID:
    case LAYER_TANH:
    case LAYER_SOFTMAX:
        return true;
    case LAYER_KIND_COUNT:
        break;
    }
    unreachable();
}
