/*
 * check/shapes.c - shape inference: what every kind's infer verb (layers/) shares, and the
 * limits on buffer sizes.
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

#include "layers/layer.h"

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

void layer_owner(const Layer *L, char *buf, size_t size)
{
    snprintf(buf, size, "%s '%s'", layer_kind_name(L->kind), L->name);
}

bool need_rank(const Layer *L, Shape in, int rank)
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

bool infer_window(const Layer *L, Shape in, int kh, int kw, int sh, int sw, Padding p, Shape *out,
                  int pads[4])
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

bool check_kernel_size(const Layer *L, const char *what, long long count)
{
    char owner[160];
    layer_owner(L, owner, sizeof owner);
    return check_buffer_size(L->loc, owner, what, count, 0);
}

bool infer_layer_shape(Layer *L, Shape in)
{
    L->in = in;
    L->out = in;
    L->params = L->kernel_size = L->bias_size = L->macs = L->aux_size = 0;
    return layer_ops(L->kind)->infer(L, in);
}
