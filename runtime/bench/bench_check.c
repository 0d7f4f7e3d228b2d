/*
 * bench_check.c - the agreement the benchmark insists on before it times anything: for every
 * layer, the generated pass, the im2col+BLAS one and oneDNN's give the reference's outputs and gradients
 * within the numerics suite's tolerance (tests/unit/test_generated.c), and so does a whole
 * training step. A speed-up of code that computes something else would mean nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "ref_layers.h"

#define CHECK_RTOL 1e-4
#define CHECK_ATOL_FRACTION 1e-5 /* of the largest value of the reference tensor */
/* oneDNN's whole step through batchnorm: the gradient of a kernel before a batchnorm is what is
 * left of sums that cancel (the batch's mean is taken out, and a kernel's scale does not
 * count), so the rounding of oneDNN's float sums, in its own order, which its threads change,
 * grows relative to it: 14 times the tolerance above in resnet_mnist's first kernel, where the
 * generated code (its sums in double) stays within it. A hundred times the tolerance still sees
 * a gradient that is missing or added twice, an error of the gradient's own size. */
#define CHECK_BATCHNORM_STEP 100.0

static const char *const impl_names[IMPL_COUNT] = {"generated", "reference", "im2col+BLAS", "oneDNN"};

void bench_layer_forward(bench_state *s, int impl, const cnn_layer *l)
{
    double work, reorders;
    if (impl == IMPL_DNNL)
        bench_dnnl_pass(s->dnnl, s->params, l, 0, &work, &reorders);
    else if (impl == IMPL_GENERATED)
        l->forward(s->params, s->ws[impl], s->n);
    else
        (impl == IMPL_REFERENCE ? &bench_ref_impl : &bench_blas_impl)->forward(l, s->params, s->ws[impl], s->n,
                                                                               s->scratch[impl]);
}

void bench_layer_backward(bench_state *s, int impl, const cnn_layer *l)
{
    double work, reorders;
    if (impl == IMPL_DNNL)
        bench_dnnl_pass(s->dnnl, s->params, l, 1, &work, &reorders);
    else if (impl == IMPL_GENERATED)
        l->backward(s->params, s->grads[impl], s->ws[impl], s->n);
    else
        (impl == IMPL_REFERENCE ? &bench_ref_impl : &bench_blas_impl)->backward(l, s->params, s->grads[impl],
                                                                                s->ws[impl], s->n, s->scratch[impl]);
}

/* Whether got[0..count) matches want; prints the first difference beyond the tolerance. */
static int close_enough_by(double loosen, const char *layer, const char *pass, const char *tensor, int impl,
                           const float *got, const float *want, size_t count)
{
    double max_abs = 0.0;
    for (size_t i = 0; i < count; i++)
        max_abs = fmax(max_abs, fabs(want[i]));
    double atol = loosen * (CHECK_ATOL_FRACTION * max_abs + 1e-7), rtol = loosen * CHECK_RTOL;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= atol + rtol * fabs(want[i]))) {
            fprintf(stderr,
                    "bench: error: %s %s of layer '%s': %s[%zu] is %.9g, the reference says %.9g "
                    "(difference %.3g, tolerance %.3g)\n",
                    impl_names[impl], pass, layer, tensor, i, got[i], want[i], d, atol + rtol * fabs(want[i]));
            return 0;
        }
    }
    return 1;
}

static int close_enough(const char *layer, const char *pass, const char *tensor, int impl, const float *got,
                        const float *want, size_t count)
{
    return close_enough_by(1.0, layer, pass, tensor, impl, got, want, count);
}

/* CNN_BENCH_BREAK names the layer and pass to perturb in `impl`'s result (BLAS, or oneDNN with
 * the prefix "onednn:"). */
static void maybe_break(int impl, const cnn_layer *l, const char *pass, float *values, size_t count)
{
    const char *target = getenv("CNN_BENCH_BREAK");
    char name[256];
    if (target == NULL || count == 0)
        return;
    int for_dnnl = strncmp(target, "onednn:", 7) == 0;
    if (for_dnnl != (impl == IMPL_DNNL))
        return;
    target += for_dnnl ? 7 : 0;
    snprintf(name, sizeof name, "%s%s", l->name, strcmp(pass, "forward") == 0 ? "" : ".backward");
    if (strcmp(target, name) == 0)
        values[count / 2] += 0.01f + 0.01f * fabsf(values[count / 2]);
}

static void reset(bench_state *s, int impl)
{
    memcpy(s->ws[impl], s->ws0, sizeof(float) * s->m->workspace_floats);
    memset(s->grads[impl], 0, sizeof(float) * s->m->num_params);
}

static int check_layer(bench_state *s, const cnn_layer *l)
{
    const int n = s->n;
    const size_t out = (size_t)n * bench_out_size(l), in = (size_t)n * bench_in_size(l),
                 in2 = (size_t)n * bench_in2_size(l);
    if (l->kind_id == CNN_LAYER_FLATTEN)
        return 1; /* a view; where it copies a gradient on, the training step checks it */
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        reset(s, impl);
        bench_layer_forward(s, impl, l);
    }
    for (int impl = IMPL_BLAS; impl <= IMPL_DNNL; impl++)
        maybe_break(impl, l, "forward", s->ws[impl] + l->out, out);
    for (int impl = 0; impl < IMPL_COUNT; impl++)
        if (impl != IMPL_REFERENCE && !close_enough(l->name, "forward", "output", impl, s->ws[impl] + l->out, s->ws[IMPL_REFERENCE] + l->out,
                          out))
            return 0;
    if (l->backward == NULL)
        return 1;
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        reset(s, impl);
        bench_layer_backward(s, impl, l);
    }
    for (int impl = IMPL_BLAS; impl <= IMPL_DNNL; impl++) {
        if (l->din >= 0)
            maybe_break(impl, l, "backward", s->ws[impl] + l->din, in);
        else if (l->din2 >= 0)
            maybe_break(impl, l, "backward", s->ws[impl] + l->din2, in2);
        else if (l->kernel_offset >= 0)
            maybe_break(impl, l, "backward", s->grads[impl] + l->kernel_offset, bench_kernel_count(l));
    }
    for (int impl = 0; impl < IMPL_COUNT; impl++) {
        if (impl == IMPL_REFERENCE)
            continue;
        const float *want_ws = s->ws[IMPL_REFERENCE], *want_g = s->grads[IMPL_REFERENCE];
        if (l->din >= 0 &&
            !close_enough(l->name, "backward", "input gradient", impl, s->ws[impl] + l->din, want_ws + l->din, in))
            return 0;
        if (l->din2 >= 0 && !close_enough(l->name, "backward", "second input's gradient", impl,
                                          s->ws[impl] + l->din2, want_ws + l->din2, in2))
            return 0;
        if (l->kernel_offset >= 0 && !close_enough(l->name, "backward", "kernel gradient", impl,
                                                   s->grads[impl] + l->kernel_offset, want_g + l->kernel_offset,
                                                   bench_kernel_count(l)))
            return 0;
        if (l->bias_offset >= 0 &&
            !close_enough(l->name, "backward", "bias gradient", impl, s->grads[impl] + l->bias_offset,
                          want_g + l->bias_offset, (size_t)l->units))
            return 0;
    }
    return 1;
}

/* The loss of the outputs in ws and its gradient, written where the last layer's backward
 * reads it; returns the sum over the batch. */
static double loss_gradient(bench_state *s, float *ws)
{
    const cnn_model *m = s->m;
    const int n = s->n;
    const cnn_layer *last = &m->layers[m->num_layers - 1];
    const float *y = ws + last->out;
    float *dy = ws + last->dout, scale = 1.0f / (float)n;
    double loss;
    if (m->train.loss == CNN_LOSS_MSE) {
        loss = ref_mse_loss(n, m->classes, y, s->labels, dy, scale);
    } else if (last->grad_is_logits) {
        loss = ref_xent_loss(n, m->classes, y, s->labels, dy, scale);
    } else {
        /* Cross-entropy on outputs that are not a softmax's: d(-log p)/dp = -1/p, p clamped as Keras does. */
        loss = ref_xent_loss(n, m->classes, y, s->labels, NULL, scale);
        for (int b = 0; b < n; b++)
            for (int c = 0; c < m->classes; c++) {
                size_t i = (size_t)b * m->classes + c;
                dy[i] = c == s->labels[b] ? -scale / fmaxf(y[i], 1e-7f) : 0.0f;
            }
    }
    return loss;
}

double bench_chain_step(bench_state *s, int impl, double *reorders)
{
    const cnn_model *m = s->m;
    const bench_impl *hand = impl == IMPL_REFERENCE ? &bench_ref_impl : &bench_blas_impl;
    const int n = s->n;
    float *ws = s->ws[impl];
    const cnn_layer *first = &m->layers[0];
    memcpy(ws + first->in, s->x, sizeof(float) * (size_t)n * m->in_size);
    if (impl == IMPL_DNNL) {
        bench_dnnl_step_forward(s->dnnl_step, s->params, reorders);
        double loss = loss_gradient(s, ws);
        bench_dnnl_step_backward(s->dnnl_step, reorders);
        return loss / n;
    }
    for (int i = 0; i < m->num_layers; i++)
        hand->forward(&m->layers[i], s->params, ws, n, s->scratch[impl]);
    double loss = loss_gradient(s, ws);
    for (int i = m->num_layers - 1; i >= 0; i--) {
        const cnn_layer *l = &m->layers[i];
        if (l->backward == NULL)
            continue;
        hand->backward(l, s->params, s->grads[impl], ws, n, s->scratch[impl]);
        /* An output with several readers: the first reader backward meets wrote its gradient,
         * the others wrote theirs apart, to be added to it, as the generated backward does. */
        for (int k = 0; k < l->ninputs; k++) {
            long d = k == 0 ? l->din : l->din2;
            int p = bench_producer(m, i, k);
            if (d < 0 || p < 0 || m->layers[p].dout == d)
                continue;
            float *to = ws + m->layers[p].dout;
            const float *from = ws + d;
            for (size_t j = 0; j < (size_t)n * bench_out_size(&m->layers[p]); j++)
                to[j] += from[j];
        }
    }
    return loss / n;
}

int bench_producer(const cnn_model *m, int i, int k)
{
    const cnn_layer *l = &m->layers[i];
    long at = k == 0 ? l->in : l->in2;
    int h = l->in_h, w = l->in_w, c = k == 0 || l->kind_id != CNN_LAYER_CONCAT ? l->in_c : l->out_c - l->in_c;
    /* A flatten's output is its input's floats: the shape tells which of the two is read. */
    for (int j = i - 1; j >= 0; j--) {
        const cnn_layer *p = &m->layers[j];
        if (p->out == at && p->out_h == h && p->out_w == w && p->out_c == c)
            return j;
    }
    return -1;
}

/* The whole step: the generated forward and backward against the two chains of hand-written
 * layers, on the same batch and the same dropout masks. */
static int check_step(bench_state *s, int only_dnnl)
{
    const cnn_model *m = s->m;
    float *g = s->grads[IMPL_GENERATED];
    reset(s, IMPL_GENERATED);
    m->forward(s->params, s->ws[IMPL_GENERATED], s->x, s->n, 1, CNN_BENCH_DROPOUT_KEY, 0, NULL);
    m->backward(s->params, g, s->ws[IMPL_GENERATED], s->x, s->labels, s->n, 1.0f / (float)s->n, NULL);
    bench_dnnl_threads(s->step_threads);
    for (int impl = 1; impl < IMPL_COUNT; impl++) {
        reset(s, impl);
        bench_chain_step(s, impl, NULL);
    }
    bench_dnnl_threads(1);
    double loosen = 1.0;
    for (int i = 0; i < m->num_layers; i++)
        if (m->layers[i].kind_id == CNN_LAYER_BATCHNORM)
            loosen = CHECK_BATCHNORM_STEP;
    for (int impl = only_dnnl ? IMPL_DNNL : 0; impl < IMPL_COUNT; impl++)
        if (impl != IMPL_REFERENCE &&
            !close_enough_by(impl == IMPL_DNNL ? loosen : 1.0, "(all)", "training step", "parameter gradient", impl,
                             s->grads[impl], s->grads[IMPL_REFERENCE], m->num_params))
            return 0;
    return 1;
}

int bench_check(bench_state *s)
{
    /* oneDNN with its choice of convolution algorithm, then with direct convolutions. */
    bench_dnnl *keep = s->dnnl;
    for (int pass = 0; pass < 2; pass++) {
        s->dnnl = pass == 0 ? s->dnnl_choice : s->dnnl_direct;
        for (int i = 0; i < s->m->num_layers; i++)
            if (!check_layer(s, &s->m->layers[i])) {
                s->dnnl = keep;
                goto refuse;
            }
    }
    s->dnnl = keep;
    if (!check_step(s, 0))
        goto refuse;
    return 0;
refuse:
    fprintf(stderr, "bench: the implementations disagree, so their times would not compare the same work; "
                    "nothing timed\n");
    return -1;
}

int bench_check_dnnl_step(bench_state *s)
{
    if (check_step(s, 1))
        return 0;
    fprintf(stderr, "bench: oneDNN's training step disagrees with the reference; nothing more timed\n");
    return -1;
}
