/*
 * difftest/check.c - the differential check of one generated model against the reference
 * layers, through the cnn_model interface and its per-layer table only (runtime/cnn_model.h).
 * Linked with the generated <name>.c, whose `<name>_model` the link names difftest_model.
 *
 *   dt_check MODEL.desc [--ckpt FILE --infer FILE]
 *
 * MODEL.desc is the model as the generator wrote it (tests/difftest/model.h): the table is
 * first checked against it, with shapes, padding and parameter offsets worked out on their own
 * by the reference network (runtime/ref/ref_model.c). Then, on random inputs and weights:
 *   layer      every layer's forward output, input gradient, kernel and bias gradients, for a
 *              full and a partial batch, against the reference layer given the same input
 *              (and dropout mask), each value within the bound of its float rounding error;
 *   model      the whole forward pass in training and evaluation mode, layer by layer against
 *              the reference given the generated input of that layer; the loss; every
 *              parameter gradient against the reference backward chain run on the generated
 *              activations (so that no relu kink or max-pool near-tie can differ); `scale`;
 *              a partial batch starting at another image, and dropout masks that depend on
 *              the image index only;
 *   update     two steps of the model's optimizer (SGD or Adam) against the reference, and
 *              update_range over pieces against update.
 * Each prints `ok CHECK` or `FAIL CHECK (layer)`, details on stderr; the exit status is 1 when
 * anything failed. Workspaces and gradients start filled with NaN, so that a value the
 * generated code reads before writing, or forgets to write, shows.
 *
 * Built with -DDT_CHECKPOINT (and the runtime), --ckpt writes the random parameters as a
 * checkpoint and --infer a few images with the reference's outputs and tolerances, for the
 * inference-only predictor's check (tests/difftest/infer_check.c).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_model.h"
#include "model.h"
#include "ref_layers.h"
#include "ref_model.h"
#include "ref_pass.h"
#ifdef DT_CHECKPOINT
#include "cnnrt.h"
#endif

extern const cnn_model difftest_model;
static const cnn_model *M = &difftest_model;
static int failures;

/* ------------------------------------------------------------------ helpers */

static uint64_t rng_state;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

static int pick(int lo, int hi)
{
    int v = lo + (int)uniform(0, hi - lo + 1);
    return v > hi ? hi : v;
}

static void fill(float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)uniform(lo, hi);
}

static float *floats(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

static float *copy_of(const float *x, size_t n)
{
    float *p = floats(n);
    memcpy(p, x, sizeof(float) * n);
    return p;
}

static float *abs_of(const float *x, size_t n)
{
    float *p = floats(n);
    for (size_t i = 0; i < n; i++)
        p[i] = fabsf(x[i]);
    return p;
}

static void verdict(int ok, const char *check, const cnn_layer *l)
{
    if (l)
        printf("%s %s (%s)\n", ok ? "ok" : "FAIL", check, l->name);
    else
        printf("%s %s\n", ok ? "ok" : "FAIL", check);
    fflush(stdout);
    failures += !ok;
}

/* Every value within its tolerance; prints the first few that are not, and the worst. */
static int close_all(const char *what, const float *got, const float *want, const float *tol,
                     size_t n)
{
    size_t bad = 0, worst = 0;
    double worst_ratio = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), allowed = (double)tol[i] + 1e-30;
        if (d <= allowed)
            continue;
        if (bad < 4)
            fprintf(stderr, "  %s[%zu]: got %.9g, want %.9g (diff %.3g, allowed %.3g)\n", what, i,
                    (double)got[i], (double)want[i], d, allowed);
        double ratio = isnan(d) ? INFINITY : d / allowed;
        if (bad == 0 || ratio > worst_ratio)
            worst_ratio = ratio, worst = i;
        bad++;
    }
    if (bad)
        fprintf(stderr, "%s: %zu of %zu values beyond the tolerance; worst at [%zu], %.3g times it\n",
                what, bad, n, worst, worst_ratio);
    return bad == 0;
}

/* tol[i] = units * u * bound[i]. */
static float *tolerance(const float *bound, size_t n, double units)
{
    float *t = floats(n);
    for (size_t i = 0; i < n; i++)
        t[i] = (float)(units * RP_U * bound[i]);
    return t;
}

static const char *const kind_names[] = {"conv2d", "maxpool2d", "avgpool2d", "flatten", "dense",
                                         "dropout", "relu", "sigmoid", "tanh", "softmax",
                                         "add", "concat", "globalavgpool2d", "batchnorm"};

/* The model as its description says it, and where each batchnorm's moving statistics are in
 * params (the reference network's layout): its moving mean, then its moving variance. */
static dt_model D;
static size_t bn_state[DT_MAX_LAYERS];

static int is_bn(const cnn_layer *l)
{
    return l->kind_id == CNN_LAYER_BATCHNORM;
}

/* The layer's index in the table. */
static int index_of(const cnn_layer *l)
{
    return (int)(l - M->layers);
}

/* What a pass of layer i reads beyond its row: the second input (add, concat), batchnorm's
 * settings and moving statistics; mean and var as rp_ctx says. */
static rp_ctx ctx_of(int i, const float *params, const float *x, const float *x2, const float *a_in2,
                     float *mean, float *var)
{
    rp_ctx c = {.x = x, .x2 = x2, .a_in2 = a_in2, .mean = mean, .var = var};
    if (D.layers[i].kind == DT_BATCHNORM) {
        c.epsilon = D.layers[i].epsilon;
        c.moving_mean = params + bn_state[i];
        c.moving_var = c.moving_mean + M->layers[i].in_c;
    }
    return c;
}

/* "conv2d forward output": what the shrinker keeps failing, whatever the layer's name. */
static void name_check(char *buf, size_t size, const char *scope, const cnn_layer *l, const char *what)
{
    snprintf(buf, size, "%s %s %s", scope, kind_names[l->kind_id], what);
}

/* ------------------------------------------------------------------ the table */

static const int act_of_kind[] = {[DT_RELU] = CNN_ACT_RELU, [DT_SIGMOID] = CNN_ACT_SIGMOID,
                                  [DT_TANH] = CNN_ACT_TANH, [DT_SOFTMAX] = CNN_ACT_SOFTMAX};

/* A dt_model reference (DT_PREVIOUS, DT_INPUT or an index) as ref_model.h numbers them. */
static int ref_ref(int r)
{
    return r == DT_PREVIOUS ? 0 : r == DT_INPUT ? -1 : r + 1;
}

static ref_layer_desc ref_desc_of(const dt_layer *d)
{
    ref_layer_desc r = {.units = d->units, .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
                        .same = d->same, .act = (ref_activation)d->act, .no_bias = !d->use_bias,
                        .rate = d->rate, .from = ref_ref(d->from), .with = ref_ref(d->with)};
    switch (d->kind) {
    case DT_CONV2D: r.kind = REF_CONV2D; break;
    case DT_MAXPOOL2D: r.kind = REF_MAXPOOL2D; break;
    case DT_AVGPOOL2D: r.kind = REF_AVGPOOL2D; break;
    case DT_FLATTEN: r.kind = REF_FLATTEN; break;
    case DT_DENSE: r.kind = REF_DENSE; break;
    case DT_DROPOUT: r.kind = REF_DROPOUT; break;
    case DT_ADD: r.kind = REF_ADD; break;
    case DT_CONCAT: r.kind = REF_CONCAT; break;
    case DT_GLOBALAVGPOOL2D: r.kind = REF_GLOBALAVGPOOL2D; break;
    case DT_BATCHNORM:
        r.kind = REF_BATCHNORM;
        r.no_scale = !d->scale;
        r.epsilon = d->epsilon;
        r.momentum = d->momentum;
        break;
    default:
        r.kind = REF_ACTIVATION;
        r.act = (ref_activation)act_of_kind[d->kind];
        break;
    }
    return r;
}

#define EXPECT(cond)                                                                            \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "table: expected %s\n", #cond);                                     \
            ok = 0;                                                                             \
        }                                                                                       \
    } while (0)
#define EXPECT_LAYER(cond)                                                                      \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "table: layer %d (%s): expected %s\n", i + 1, l->name, #cond);     \
            ok = 0;                                                                             \
        }                                                                                       \
    } while (0)

/* The table and the train block against the description, with every shape and offset worked
 * out by the reference network. Returns 0 when they differ: nothing else can be trusted. */
static int check_table(const dt_model *d, const ref_net *net)
{
    int ok = 1;
    int loss = d->loss == DT_MSE ? CNN_LOSS_MSE : CNN_LOSS_SPARSE_XENT;
    EXPECT(strcmp(M->name, d->name) == 0);
    EXPECT(M->batch == d->batch);
    EXPECT(M->in_h == d->in_h && M->in_w == d->in_w && M->in_c == d->in_c);
    EXPECT(M->in_size == net->in_size);
    EXPECT(M->classes == net->classes);
    EXPECT(M->num_params == net->num_params);
    EXPECT(M->num_layers == d->nlayers);
    EXPECT(M->train.loss == loss);
    EXPECT(M->train.optimizer == (d->opt == DT_SGD ? CNN_OPT_SGD : CNN_OPT_ADAM));
    EXPECT(M->train.dataset == (d->mnist ? CNN_DATASET_MNIST : CNN_DATASET_IDX));
    EXPECT(M->train.learning_rate == d->lr);
    if (d->opt == DT_SGD) {
        EXPECT(M->train.momentum == d->momentum);
        EXPECT(!M->train.nesterov == !d->nesterov);
    } else {
        EXPECT(M->train.beta_1 == d->beta_1 && M->train.beta_2 == d->beta_2);
        EXPECT(M->train.epsilon == d->epsilon);
    }
    if (!ok || M->num_layers != d->nlayers)
        return 0;

    int ordinal[DT_KIND_COUNT] = {0}, t = 0, st = 0, upstream[DT_MAX_LAYERS] = {0};
    for (int i = 0; i < d->nlayers; i++) {
        const cnn_layer *l = &M->layers[i];
        const ref_net_layer *r = &net->layers[i];
        const dt_layer *dl = &d->layers[i];
        char name[80];
        ordinal[dl->kind]++;
        if (dl->name[0])
            snprintf(name, sizeof name, "%s", dl->name);
        else
            snprintf(name, sizeof name, "%s_%d", kind_names[dl->kind], ordinal[dl->kind]);
        EXPECT_LAYER(l->name && strcmp(l->name, name) == 0);
        EXPECT_LAYER(l->kind_id == dl->kind && l->kind && strcmp(l->kind, kind_names[dl->kind]) == 0);
        EXPECT_LAYER(l->in_h == r->in_h && l->in_w == r->in_w && l->in_c == r->in_c);
        EXPECT_LAYER(l->out_h == r->out_h && l->out_w == r->out_w && l->out_c == r->out_c);
        int is_conv = dl->kind == DT_CONV2D, is_pool = dl->kind == DT_MAXPOOL2D || dl->kind == DT_AVGPOOL2D;
        if (is_conv || is_pool) {
            EXPECT_LAYER(l->kh == dl->kh && l->kw == dl->kw && l->sh == dl->sh && l->sw == dl->sw);
            EXPECT_LAYER(!l->same == !dl->same);
            int pt = is_conv ? r->conv.pad_top : r->pool.pad_top, pl = is_conv ? r->conv.pad_left : r->pool.pad_left;
            int pb = is_conv ? r->conv.pad_bottom : r->pool.pad_bottom, pr = is_conv ? r->conv.pad_right : r->pool.pad_right;
            EXPECT_LAYER(l->pad_top == pt && l->pad_left == pl && l->pad_bottom == pb && l->pad_right == pr);
        }
        if (is_conv || dl->kind == DT_DENSE) {
            EXPECT_LAYER(l->activation == dl->act && l->units == dl->units && !l->use_bias == !dl->use_bias);
            EXPECT_LAYER(l->kernel_offset == (long)r->kernel_offset);
            EXPECT_LAYER(l->bias_offset == (dl->use_bias ? (long)r->bias_offset : -1));
        } else if (dl->kind == DT_BATCHNORM) {
            /* gamma in the kernel's place, beta in the bias's, each where it is on. */
            EXPECT_LAYER(l->activation == CNN_ACT_NONE && l->units == r->in_c && !l->use_bias == !dl->use_bias);
            EXPECT_LAYER(l->kernel_offset == (dl->scale ? (long)r->kernel_offset : -1));
            EXPECT_LAYER(l->bias_offset == (dl->use_bias ? (long)r->bias_offset : -1));
            EXPECT_LAYER(l->aux >= 0);
        } else {
            EXPECT_LAYER(l->kernel_offset == -1 && l->bias_offset == -1);
        }
        if (dl->kind >= DT_RELU && dl->kind <= DT_SOFTMAX)
            EXPECT_LAYER(l->activation == act_of_kind[dl->kind]);
        if (dl->kind == DT_DROPOUT)
            EXPECT_LAYER(l->rate == dl->rate && l->aux >= 0);
        /* The loss gives the logits' gradient exactly when cross-entropy meets a final softmax. */
        int fused = i == d->nlayers - 1 && loss == CNN_LOSS_SPARSE_XENT && l->activation == CNN_ACT_SOFTMAX;
        EXPECT_LAYER(!l->grad_is_logits == !fused);
        /* Each layer reads the outputs its from= and with= name, and hands its input gradients
         * back where an earlier layer has parameters (and never to the model's input). */
        int a = dt_source(d, i), b = dl->kind == DT_ADD || dl->kind == DT_CONCAT ? dl->with : -3;
        EXPECT_LAYER(l->in == (a < 0 ? M->layers[0].in : M->layers[a].out));
        EXPECT_LAYER(l->ninputs == (b == -3 ? 1 : 2));
        if (b == -3)
            EXPECT_LAYER(l->in2 < 0 && l->din2 < 0);
        else
            EXPECT_LAYER(l->in2 == (b < 0 ? M->layers[0].in : M->layers[b].out));
        upstream[i] = l->kernel_offset >= 0 || l->bias_offset >= 0 || (a >= 0 && upstream[a]) ||
                      (b >= 0 && upstream[b]);
        EXPECT_LAYER(a < 0 ? l->din < 0 : (!upstream[a] || l->din >= 0));
        if (b != -3)
            EXPECT_LAYER(b < 0 ? l->din2 < 0 : (!upstream[b] || l->din2 >= 0));
        EXPECT_LAYER(l->forward != NULL && l->out >= 0 && l->dout >= 0);
        EXPECT_LAYER(l->backward != NULL || (l->kernel_offset < 0 && (l->din < 0 || l->din == l->dout)));
        /* The checkpoint's tensors: kernel and bias, or batchnorm's gamma and beta. */
        int bn = dl->kind == DT_BATCHNORM;
        for (int bias = 0; bias <= 1; bias++) {
            size_t count = bias ? r->bias_count : r->kernel_count;
            if (count == 0)
                continue;
            char tname[96];
            snprintf(tname, sizeof tname, "%s.%s", name, bn ? (bias ? "beta" : "gamma") : (bias ? "bias" : "kernel"));
            if (t >= M->num_tensors) {
                fprintf(stderr, "table: tensor %s is missing\n", tname);
                ok = 0;
                continue;
            }
            const cnn_tensor *ct = &M->tensors[t++];
            int shape[4], nd;
            if (bias || bn)
                nd = 1, shape[0] = r->out_c;
            else if (is_conv)
                nd = 4, shape[0] = dl->kh, shape[1] = dl->kw, shape[2] = r->in_c, shape[3] = r->out_c;
            else
                nd = 2, shape[0] = r->in_c, shape[1] = r->out_c;
            int same = ct->ndim == nd;
            for (int k = 0; same && k < nd; k++)
                same = ct->shape[k] == shape[k];
            if (!ct->name || strcmp(ct->name, tname) != 0 || !same || !ct->is_bias != !bias ||
                ct->offset != (bias ? r->bias_offset : r->kernel_offset) || ct->count != count ||
                !ct->init_ones != !(bn && !bias)) {
                fprintf(stderr, "table: tensor %d is %s (offset %zu, count %zu), want %s\n", t - 1,
                        ct->name ? ct->name : "(null)", ct->offset, ct->count, tname);
                ok = 0;
            }
        }
        /* Batchnorm's state: its moving mean and variance, after every parameter. */
        for (int k = 0; bn && k < 2; k++, st++) {
            char tname[96];
            snprintf(tname, sizeof tname, "%s.%s", name, k ? "moving_variance" : "moving_mean");
            const cnn_tensor *ct = st < M->num_state_tensors && M->state_tensors ? &M->state_tensors[st] : NULL;
            if (!ct || !ct->name || strcmp(ct->name, tname) != 0 || ct->ndim != 1 || ct->shape[0] != r->in_c ||
                ct->offset != r->state_offset + (size_t)k * (size_t)r->in_c || ct->count != (size_t)r->in_c ||
                !ct->init_ones != !k) {
                fprintf(stderr, "table: state tensor %d is %s, want %s at %zu\n", st,
                        ct && ct->name ? ct->name : "(none)", tname, r->state_offset + (size_t)k * (size_t)r->in_c);
                ok = 0;
            }
        }
    }
    EXPECT(M->num_tensors == t);
    EXPECT(M->num_state == net->num_state && M->num_state_tensors == st);
    EXPECT(!M->update_state == !M->num_state);
    return ok;
}

/* ------------------------------------------------------------------ one layer on its own */

/* Dropout masks hold 0 or 1 / (1 - rate), and drop about `rate` of the values. */
static int check_mask(const cnn_layer *l, const float *mask, size_t count)
{
    float keep = (float)(1.0 / (1.0 - l->rate));
    size_t dropped = 0, strange = 0;
    for (size_t i = 0; i < count; i++) {
        if (mask[i] == 0.0f)
            dropped++;
        else if (!(fabsf(mask[i] - keep) <= 1e-6f * keep))
            strange++;
    }
    int ok = strange == 0;
    if (strange)
        fprintf(stderr, "%s: %zu of %zu mask values are neither 0 nor %g\n", l->name, strange, count, keep);
    /* Binomial: six standard deviations, once there are enough values to tell. */
    double mean = l->rate * count, sd = sqrt(count * l->rate * (1 - l->rate));
    if (count >= 400 && fabs(dropped - mean) > 6 * sd + 1) {
        fprintf(stderr, "%s: %zu of %zu values dropped at rate %g\n", l->name, dropped, count, l->rate);
        ok = 0;
    }
    return ok;
}

/* Batchnorm's record of a training forward (mean, variance, 1 / sqrt(var + epsilon), at aux)
 * against the statistics of its input x, which the reference computes into mean and var. */
static int check_bn_stats(const cnn_layer *l, const float *stats, const float *x, int n, double epsilon,
                          float *mean, float *var)
{
    size_t c = (size_t)l->in_c;
    float *mt = floats(c), *vt = floats(c), *it = floats(c), *inv = floats(c);
    ref_batchnorm_stats((size_t)n * l->in_h * l->in_w, l->in_c, x, mean, var);
    rp_batchnorm_stats_bound(l, x, n, mean, var, epsilon, mt, vt, it);
    for (size_t ch = 0; ch < c; ch++)
        inv[ch] = (float)(1.0 / sqrt((double)var[ch] + epsilon));
    int ok = close_all("batch mean", stats, mean, mt, c);
    ok &= close_all("batch variance", stats + c, var, vt, c);
    ok &= close_all("1 / sqrt(variance + epsilon)", stats + 2 * c, inv, it, c);
    free(mt); free(vt); free(it); free(inv);
    return ok;
}

static void check_layer(const cnn_layer *l, const float *params, int n)
{
    if (l->kind_id == CNN_LAYER_FLATTEN)
        return;
    int i = index_of(l);
    const char *scope = n == M->batch ? "layer" : "layer(partial)";
    char check[160];
    size_t in = (size_t)n * rp_in_size(l), in2 = (size_t)n * rp_in2_size(l), out = (size_t)n * rp_out_size(l);
    size_t c = (size_t)l->in_c;
    float *ws = floats(M->workspace_floats);
    fill(ws + l->in, in, -1, 1);
    /* add's second input may be its first (an output added to itself). */
    if (l->in2 >= 0 && l->in2 != l->in)
        fill(ws + l->in2, in2, -1, 1);
    float *x = copy_of(ws + l->in, in), *x2 = l->in2 >= 0 ? copy_of(ws + l->in2, in2) : NULL;
    l->forward(params, ws, n);
    const float *mask = l->kind_id == CNN_LAYER_DROPOUT ? ws + l->aux : NULL;
    float *mask_copy = mask ? copy_of(mask, out) : NULL;
    float *y = floats(out), *a_in = abs_of(x, in), *a_in2 = x2 ? abs_of(x2, in2) : NULL;
    float *a_out = floats(out), *tol = floats(out), *scratch = floats(2 * out);
    float *mean = floats(c), *var = floats(c);
    /* The layer on its own runs batchnorm in training, over the n images. */
    rp_ctx ctx = ctx_of(i, params, x, x2, a_in2, mean, var);
    rp_forward(l, params, x, y, mask_copy, n, 1, &ctx);
    rp_forward_bound(l, params, a_in, 0.0, y, mask_copy, n, 1, &ctx, a_out, tol, scratch);
    int ok = close_all("output", ws + l->out, y, tol, out);
    if (mask)
        ok &= check_mask(l, mask_copy, out);
    name_check(check, sizeof check, scope, l, "forward output");
    verdict(ok, check, l);
    float *stats = NULL;
    if (is_bn(l)) {
        name_check(check, sizeof check, scope, l, "batch statistics");
        verdict(check_bn_stats(l, ws + l->aux, x, n, ctx.epsilon, mean, var), check, l);
        /* Backward from the statistics the generated forward used. */
        stats = copy_of(ws + l->aux, 3 * c);
        ctx.mean = stats;
        ctx.var = stats + c;
    }

    if (l->backward) {
        float *y_gen = copy_of(ws + l->out, out);
        fill(ws + l->dout, out, -1, 1);
        float *dy = copy_of(ws + l->dout, out), *dy_abs = abs_of(dy, out);
        float *grads = floats(M->num_params), *g_ref = floats(M->num_params), *g_abs = floats(M->num_params);
        float *dx = floats(in), *dx_abs = floats(in), *dx2 = floats(in2), *dx2_abs = floats(in2);
        l->backward(params, grads, ws, n);
        rp_backward(l, params, g_ref, x, x, y_gen, dy, dx, dx2, mask_copy, n, 1, 0, scratch, &ctx);
        rp_backward(l, params, g_abs, a_in, x, y_gen, dy_abs, dx_abs, dx2_abs, mask_copy, n, 1, 1, scratch, &ctx);
        rp_lengths k = rp_backward_lengths(l, n);
        /* The activation's derivative and the scaling of the output gradient: a few units. */
        const double t = 4.0 + k.extra;
        if (l->din >= 0) {
            float *tl = tolerance(dx_abs, in, t + rp_units(k.dx));
            name_check(check, sizeof check, scope, l, "input gradient");
            verdict(close_all("input gradient", ws + l->din, dx, tl, in), check, l);
            free(tl);
        }
        if (l->din2 >= 0) {
            float *tl = tolerance(dx2_abs, in2, t + rp_units(k.dx));
            name_check(check, sizeof check, scope, l, "second input gradient");
            verdict(close_all("second input gradient", ws + l->din2, dx2, tl, in2), check, l);
            free(tl);
        }
        if (l->kernel_offset >= 0) {
            size_t kc = rp_kernel_count(l);
            float *tl = tolerance(g_abs + l->kernel_offset, kc, t + rp_units(k.kernel));
            name_check(check, sizeof check, scope, l, "kernel gradient");
            verdict(close_all("kernel gradient", grads + l->kernel_offset, g_ref + l->kernel_offset, tl, kc), check, l);
            free(tl);
        }
        if (l->bias_offset >= 0) {
            float *tl = tolerance(g_abs + l->bias_offset, (size_t)l->units, t + rp_units(k.bias));
            name_check(check, sizeof check, scope, l, "bias gradient");
            verdict(close_all("bias gradient", grads + l->bias_offset, g_ref + l->bias_offset, tl, (size_t)l->units), check, l);
            free(tl);
        }
        free(y_gen); free(dy); free(dy_abs); free(grads); free(g_ref); free(g_abs); free(dx); free(dx_abs);
        free(dx2); free(dx2_abs);
    }
    free(ws); free(x); free(x2); free(mask_copy); free(y); free(a_in); free(a_in2); free(a_out); free(tol);
    free(scratch); free(mean); free(var); free(stats);
}

/* ------------------------------------------------------------------ the whole model */

/* The reference's loss of outputs y and its gradient (scaled) in dy; returns the summed loss. */
static double ref_loss(const float *y, const unsigned char *labels, int n, float scale, float *dy)
{
    const cnn_layer *last = &M->layers[M->num_layers - 1];
    int classes = M->classes;
    if (M->train.loss == CNN_LOSS_MSE)
        return ref_mse_loss(n, classes, y, labels, dy, scale);
    if (last->grad_is_logits)
        return ref_xent_loss(n, classes, y, labels, dy, scale);
    /* Cross-entropy of outputs that are not a softmax's: d(-log y_label)/dy = -1 / y_label
     * inside the clip of the loss (cnn_model.h's, where it has one). */
    double loss = ref_xent_loss(n, classes, y, labels, NULL, scale);
    for (int b = 0; b < n; b++)
        for (int c = 0; c < classes; c++) {
            float p = y[(size_t)b * classes + c];
#ifdef CNN_XENT_EPSILON
            double g = cnn_xent_grad(p);
#else
            double g = p > 1e-7f ? -1.0 / p : 0.0; /* flat below the clip */
#endif
            dy[(size_t)b * classes + c] = c == labels[b] ? (float)(scale * g) : 0.0f;
        }
    return loss;
}

/* Every layer's output in ws against the reference layer run on its inputs in ws (and each
 * batchnorm's statistics in training). */
static void check_forward_chain(const float *params, const float *ws, int n, int training, const char *scope)
{
    char check[160];
    for (int i = 0; i < M->num_layers; i++) {
        const cnn_layer *l = &M->layers[i];
        size_t in = (size_t)n * rp_in_size(l), in2 = (size_t)n * rp_in2_size(l), out = (size_t)n * rp_out_size(l);
        const float *mask = l->kind_id == CNN_LAYER_DROPOUT && training ? ws + l->aux : NULL;
        const float *x2 = l->in2 >= 0 ? ws + l->in2 : NULL;
        float *y = floats(out), *a_in = abs_of(ws + l->in, in), *a_out = floats(out), *tol = floats(out);
        float *a_in2 = x2 ? abs_of(x2, in2) : NULL, *scratch = floats(2 * out);
        float *mean = floats((size_t)l->in_c), *var = floats((size_t)l->in_c);
        rp_ctx ctx = ctx_of(i, params, ws + l->in, x2, a_in2, mean, var);
        if (is_bn(l) && training) {
            name_check(check, sizeof check, scope, l, "batch statistics");
            verdict(check_bn_stats(l, ws + l->aux, ws + l->in, n, ctx.epsilon, mean, var), check, l);
        }
        rp_forward(l, params, ws + l->in, y, mask, n, training, &ctx);
        rp_forward_bound(l, params, a_in, 0.0, y, mask, n, training, &ctx, a_out, tol, scratch);
        int ok = close_all("output", ws + l->out, y, tol, out);
        if (mask)
            ok &= check_mask(l, mask, out);
        name_check(check, sizeof check, scope, l, "forward output");
        verdict(ok, check, l);
        free(y); free(a_in); free(a_in2); free(a_out); free(tol); free(scratch); free(mean); free(var);
    }
}

typedef struct chain_result {
    double loss;
    float *grads, *tol;
} chain_result;

/* The reference backward chain on the activations the generated forward left in ws (not
 * changed), with the bounds of the generated code's rounding, accumulated down the chain. */
/* dst += src over n values, allocating dst (zeroed) on first use. */
static void accumulate(float **dst, const float *src, size_t n)
{
    if (!*dst) {
        *dst = floats(n);
        memset(*dst, 0, sizeof(float) * n);
    }
    for (size_t i = 0; i < n; i++)
        (*dst)[i] += src[i];
}

static chain_result ref_backward_chain(const float *params, const float *ws, const unsigned char *labels,
                                       int n, float scale, int training)
{
    chain_result r = {0, floats(M->num_params), floats(M->num_params)};
    float *g_abs = floats(M->num_params);
    int nl = M->num_layers;
    const cnn_layer *last = &M->layers[nl - 1];
    /* Each output's gradient, summed over its readers, its absolute bound and its error in units
     * of that bound: complete once every later layer has handed its part back. */
    float *dys[DT_MAX_LAYERS] = {0}, *dys_abs[DT_MAX_LAYERS] = {0};
    double ts[DT_MAX_LAYERS] = {0};
    size_t out = (size_t)n * M->classes;
    dys[nl - 1] = floats(out);
    r.loss = ref_loss(ws + last->out, labels, n, scale, dys[nl - 1]);
    dys_abs[nl - 1] = abs_of(dys[nl - 1], out);
    ts[nl - 1] = 4.0; /* the loss gradient's own rounding */
    for (int i = nl - 1; i >= 0; i--) {
        const cnn_layer *l = &M->layers[i];
        float *dy = dys[i], *dy_abs = dys_abs[i];
        if (!dy)
            continue; /* leads nowhere: the table check says so */
        double t = ts[i];
        size_t in = (size_t)n * rp_in_size(l), in2 = (size_t)n * rp_in2_size(l);
        out = (size_t)n * rp_out_size(l);
        const float *x = ws + l->in, *mask = training && l->kind_id == CNN_LAYER_DROPOUT ? ws + l->aux : NULL;
        const float *x2 = l->in2 >= 0 ? ws + l->in2 : NULL;
        float *x_abs = abs_of(x, in), *scratch = floats(out);
        float *dx = floats(in), *dx_abs = floats(in), *dx2 = floats(in2), *dx2_abs = floats(in2);
        const float *stats = is_bn(l) ? ws + l->aux : NULL;
        rp_ctx ctx = ctx_of(i, params, x, x2, NULL, (float *)stats, stats ? (float *)stats + l->in_c : NULL);
        rp_backward(l, params, r.grads, x, x, ws + l->out, dy, dx, dx2, mask, n, training, 0, scratch, &ctx);
        rp_backward(l, params, g_abs, x_abs, x, ws + l->out, dy_abs, dx_abs, dx2_abs, mask, n, training, 1, scratch, &ctx);
        rp_lengths k = rp_backward_lengths(l, n);
        if (l->kernel_offset >= 0) {
            size_t kc = rp_kernel_count(l);
            for (size_t j = 0; j < kc; j++)
                r.tol[l->kernel_offset + (long)j] =
                    (float)((t + 4 + k.extra + rp_units(k.kernel)) * RP_U * g_abs[l->kernel_offset + (long)j]);
        }
        for (int j = 0; l->bias_offset >= 0 && j < l->units; j++)
            r.tol[l->bias_offset + j] = (float)((t + 4 + k.extra + rp_units(k.bias)) * RP_U * g_abs[l->bias_offset + j]);
        t += 4 + k.extra + rp_units(k.dx);
        /* Hand the input gradients back; where an output has several readers they add up,
         * one more rounding each. */
        const dt_layer *dl = &D.layers[i];
        int a = dt_source(&D, i), b = dl->kind == DT_ADD || dl->kind == DT_CONCAT ? dl->with : -3;
        for (int which = 0; which < 2; which++) {
            int src = which ? b : a;
            if (src < 0)
                continue;
            size_t cnt = which ? in2 : in;
            double t_src = dys[src] ? (ts[src] > t ? ts[src] : t) + 1 : t;
            accumulate(&dys[src], which ? dx2 : dx, cnt);
            accumulate(&dys_abs[src], which ? dx2_abs : dx_abs, cnt);
            ts[src] = t_src;
        }
        free(x_abs); free(scratch); free(dx); free(dx_abs); free(dx2); free(dx2_abs);
        free(dys[i]); free(dys_abs[i]);
        dys[i] = dys_abs[i] = NULL;
    }
    free(g_abs);
    return r;
}

static void check_gradients(const char *scope, const float *grads, const chain_result *r)
{
    char check[160];
    for (int i = 0; i < M->num_layers; i++) {
        const cnn_layer *l = &M->layers[i];
        if (l->kernel_offset >= 0) {
            size_t kc = rp_kernel_count(l);
            name_check(check, sizeof check, scope, l, "kernel gradient");
            verdict(close_all("kernel gradient", grads + l->kernel_offset, r->grads + l->kernel_offset,
                              r->tol + l->kernel_offset, kc), check, l);
        }
        if (l->bias_offset >= 0) {
            name_check(check, sizeof check, scope, l, "bias gradient");
            verdict(close_all("bias gradient", grads + l->bias_offset, r->grads + l->bias_offset,
                              r->tol + l->bias_offset, (size_t)l->units), check, l);
        }
    }
}

/* update_state after a training forward whose workspace is ws: each batchnorm's moving
 * statistics move towards the batch's (those in ws) as the reference moves them, and nothing
 * else in params changes. */
static void check_update_state(const float *params, const float *ws, const char *scope)
{
    if (!M->num_state)
        return;
    size_t all = cnn_param_floats(M);
    float *got = copy_of(params, all), *want = copy_of(params, all), *tol = floats(all);
    for (size_t j = 0; j < all; j++)
        tol[j] = 0;
    M->update_state(got, ws);
    for (int i = 0; i < M->num_layers; i++) {
        const cnn_layer *l = &M->layers[i];
        if (!is_bn(l))
            continue;
        size_t c = (size_t)l->in_c, o = bn_state[i];
        const float *mean = ws + l->aux, *var = mean + c;
        double mom = D.layers[i].momentum;
        ref_batchnorm_update(l->in_c, want + o, want + o + c, mean, var, mom);
        /* Two products and a sum, the momentum and its complement rounded to float. */
        for (size_t ch = 0; ch < c; ch++) {
            tol[o + ch] = (float)(6 * RP_U * (mom * fabs(params[o + ch]) + (1 - mom) * fabs(mean[ch])));
            tol[o + c + ch] = (float)(6 * RP_U * (mom * fabs(params[o + c + ch]) + (1 - mom) * fabs(var[ch])));
        }
    }
    char check[160];
    snprintf(check, sizeof check, "%s update_state moving statistics", scope);
    int ok = memcmp(got, params, sizeof(float) * M->num_params) == 0;
    if (!ok)
        fprintf(stderr, "update_state changed trainable parameters\n");
    ok &= close_all("moving statistics", got + M->num_params, want + M->num_params, tol + M->num_params, M->num_state);
    verdict(ok, check, NULL);
    free(got); free(want); free(tol);
}

/* ------------------------------------------------------------------ a batch split across threads */

/* The runtime's cnn_sync in miniature (runtime/team.c, tests/unit/emit_gradcheck.c): each slice's
 * thread puts its images' partial sums in place, waits for the others, and adds them all in
 * image order. */
#define MAX_SLICES 3
typedef struct split_run {
    const float *params, *x;
    const unsigned char *labels;
    float scale;
    uint64_t key;
    float *area[2];
    pthread_barrier_t barrier;
    float *ws[MAX_SLICES], *grads[MAX_SLICES];
    int n[MAX_SLICES];
    long calls[MAX_SLICES];
    double loss[MAX_SLICES];
    cnn_sync sync[MAX_SLICES];
} split_run;

static void split_sum(const cnn_sync *s, const float *part, int n, int count, float *total)
{
    split_run *r = s->runtime;
    float *area = r->area[r->calls[s->slice]++ & 1];
    memcpy(area + (size_t)s->first * (size_t)count, part, sizeof(float) * (size_t)n * (size_t)count);
    pthread_barrier_wait(&r->barrier);
    cnn_sum_images(area, s->images, count, total);
    /* Nobody writes the area again before everyone has read it. */
    pthread_barrier_wait(&r->barrier);
}

static void *split_slice(void *arg)
{
    const cnn_sync *s = arg;
    split_run *r = s->runtime;
    int k = s->slice, b = s->first;
    const float *x = r->x + (size_t)b * M->in_size;
    M->forward(r->params, r->ws[k], x, r->n[k], 1, r->key, b, s);
    r->loss[k] = M->backward(r->params, r->grads[k], r->ws[k], x, r->labels + b, r->n[k], r->scale, s);
    return NULL;
}

/* The batch split into 2 or 3 slices on threads that meet through a cnn_sync gives the whole
 * batch's outputs and (summed) gradients, and every slice's workspace the whole batch's moving
 * statistics, bit for bit. */
static void check_split(const float *params, const float *x, const unsigned char *labels, const float *out_whole,
                        const float *ws_whole, const float *grads_whole, const float *grads_tol, double loss_whole,
                        uint64_t key)
{
    int n = M->batch, slices = n >= 3 && pick(0, 1) ? 3 : 2;
    if (n < 2)
        return;
    split_run r = {.params = params, .x = x, .labels = labels, .scale = 1.0f / (float)n, .key = key};
    int bounds[MAX_SLICES + 1] = {0};
    bounds[slices] = n;
    bounds[1] = pick(1, n - slices + 1);
    if (slices == 3)
        bounds[2] = pick(bounds[1] + 1, n - 1);
    size_t sum_floats = (size_t)(M->batch_sum_floats > 0 ? M->batch_sum_floats : 1);
    r.area[0] = floats((size_t)n * sum_floats);
    r.area[1] = floats((size_t)n * sum_floats);
    pthread_barrier_init(&r.barrier, NULL, (unsigned)slices);
    pthread_t th[MAX_SLICES];
    for (int k = 0; k < slices; k++) {
        r.n[k] = bounds[k + 1] - bounds[k];
        r.ws[k] = floats(M->workspace_floats);
        r.grads[k] = floats(M->num_params);
        r.sync[k] = (cnn_sync){.batch_sum = split_sum, .images = n, .first = bounds[k], .slice = k, .runtime = &r};
    }
    int started = 0;
    for (int k = 0; k < slices; k++)
        started += pthread_create(&th[k], NULL, split_slice, &r.sync[k]) == 0;
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    char check[160];
    fprintf(stderr, "split: %d slices from images 0, %d%s%.0d\n", slices, bounds[1], slices == 3 ? ", " : "",
            slices == 3 ? bounds[2] : 0);
    if (started != slices) {
        verdict(0, "model(split) threads started", NULL);
    } else {
        /* The outputs: each image's as the whole batch gave it (the same statistics, the same
         * passes over the image), within a few roundings for a code path that depends on n. */
        size_t classes = (size_t)M->classes;
        float *tol = floats((size_t)n * classes);
        int ok = 1;
        double loss = 0;
        for (int k = 0; k < slices; k++) {
            const float *o = M->output(r.ws[k]), *w = out_whole + (size_t)bounds[k] * classes;
            for (size_t j = 0; j < (size_t)r.n[k] * classes; j++)
                tol[j] = (float)(64 * RP_U * fabs(w[j]));
            ok &= close_all("output of a slice", o, w, tol, (size_t)r.n[k] * classes);
            loss += r.loss[k];
        }
        free(tol);
        snprintf(check, sizeof check, "model(split) output");
        verdict(ok, check, NULL);
        snprintf(check, sizeof check, "model(split) loss");
        verdict(fabs(loss - loss_whole) <= 1e-5 * fabs(loss_whole) + 1e-6 * n, check, NULL);
        /* The gradients: the slices' sum, within the whole batch's bound of both. */
        float *sum = floats(M->num_params), *gt = floats(M->num_params);
        for (size_t j = 0; j < M->num_params; j++) {
            double g = 0;
            for (int k = 0; k < slices; k++)
                g += r.grads[k][j];
            sum[j] = (float)g;
            gt[j] = 2 * grads_tol[j] + (float)(8 * RP_U) * fabsf(grads_whole[j]);
        }
        snprintf(check, sizeof check, "model(split) gradients");
        verdict(close_all("summed gradient of the slices", sum, grads_whole, gt, M->num_params), check, NULL);
        free(sum); free(gt);
        /* The moving statistics from any slice's workspace: the whole batch's, bit for bit. */
        if (M->num_state) {
            size_t all = cnn_param_floats(M);
            float *p1 = copy_of(params, all), *p2 = floats(all);
            M->update_state(p1, ws_whole);
            ok = 1;
            for (int k = 0; k < slices; k++) {
                memcpy(p2, params, sizeof(float) * all);
                M->update_state(p2, r.ws[k]);
                if (memcmp(p1, p2, sizeof(float) * all) != 0) {
                    for (size_t j = 0; j < all; j++)
                        if (memcmp(&p1[j], &p2[j], sizeof(float)) != 0) {
                            fprintf(stderr, "moving statistics [%zu] from slice %d: %.9g, from the whole batch %.9g\n",
                                    j, k, (double)p2[j], (double)p1[j]);
                            break;
                        }
                    ok = 0;
                }
            }
            snprintf(check, sizeof check, "model(split) moving statistics bit for bit");
            verdict(ok, check, NULL);
            free(p1); free(p2);
        }
    }
    pthread_barrier_destroy(&r.barrier);
    for (int k = 0; k < slices; k++) {
        free(r.ws[k]);
        free(r.grads[k]);
    }
    free(r.area[0]); free(r.area[1]);
}

static void check_model(const float *params, int n, int first, uint64_t key)
{
    const cnn_layer *first_layer = &M->layers[0], *last = &M->layers[M->num_layers - 1];
    size_t in = (size_t)n * M->in_size;
    float *x = floats((size_t)M->batch * M->in_size), *ws = floats(M->workspace_floats);
    unsigned char *labels = malloc((size_t)M->batch);
    fill(x, (size_t)M->batch * M->in_size, 0, 1);
    for (int b = 0; b < M->batch; b++)
        labels[b] = (unsigned char)pick(0, M->classes - 1);
    const char *scope = n == M->batch ? "model" : "model(partial)";
    char check[160];

    /* Evaluation mode first: dropout is the identity. */
    M->forward(params, ws, x, n, 0, key, first, NULL);
    snprintf(check, sizeof check, "%s input in place", scope);
    verdict(memcmp(ws + first_layer->in, x, sizeof(float) * in) == 0, check, NULL);
    check_forward_chain(params, ws, n, 0, n == M->batch ? "model(eval)" : "model(eval,partial)");
    snprintf(check, sizeof check, "%s output", scope);
    verdict(M->output(ws) == ws + last->out, check, NULL);

    /* Training mode, then backward with two scales. */
    for (size_t i = 0; i < M->workspace_floats; i++)
        ws[i] = NAN;
    M->forward(params, ws, x, n, 1, key, first, NULL);
    check_forward_chain(params, ws, n, 1, scope);
    float *ws_fwd = copy_of(ws, M->workspace_floats), *grads = floats(M->num_params);
    float scale = 1.0f / (float)n;
    double loss = M->backward(params, grads, ws, x, labels, n, scale, NULL);
    chain_result r = ref_backward_chain(params, ws_fwd, labels, n, scale, 1);
    snprintf(check, sizeof check, "%s loss", scope);
    double dl = fabs(loss - r.loss);
    int ok = dl <= 1e-5 * fabs(r.loss) + 1e-6 * n;
    if (!ok)
        fprintf(stderr, "loss: got %.9g, want %.9g\n", loss, r.loss);
    verdict(ok, check, NULL);
    snprintf(check, sizeof check, "%s backward", scope);
    check_gradients(check, grads, &r);
    check_update_state(params, ws_fwd, scope);
    if (n == M->batch && first == 0)
        check_split(params, x, labels, M->output(ws_fwd), ws_fwd, grads, r.tol, loss, key);

    float *grads2 = floats(M->num_params), *quarter = floats(M->num_params), *half_tol = floats(M->num_params);
    memcpy(ws, ws_fwd, sizeof(float) * M->workspace_floats);
    M->forward(params, ws, x, n, 1, key, first, NULL);
    double loss2 = M->backward(params, grads2, ws, x, labels, n, 0.25f * scale, NULL);
    for (size_t i = 0; i < M->num_params; i++) {
        quarter[i] = 0.25f * grads[i];
        half_tol[i] = 0.5f * r.tol[i] + (float)(4 * RP_U) * fabsf(quarter[i]);
    }
    snprintf(check, sizeof check, "%s backward with scale/4", scope);
    ok = close_all("gradient with a quarter of the scale", grads2, quarter, half_tol, M->num_params);
    ok &= fabs(loss2 - loss) <= 1e-6 * fabs(loss) + 1e-7;
    verdict(ok, check, NULL);

    /* A batch that starts one image later draws the same masks for the same images. */
    int has_dropout = 0;
    for (int i = 0; i < M->num_layers; i++)
        has_dropout |= M->layers[i].kind_id == CNN_LAYER_DROPOUT;
    if (has_dropout && n > 1) {
        M->forward(params, ws, x + M->in_size, n - 1, 1, key, first + 1, NULL);
        ok = 1;
        for (int i = 0; i < M->num_layers; i++) {
            const cnn_layer *l = &M->layers[i];
            size_t size = rp_out_size(l);
            if (l->kind_id == CNN_LAYER_DROPOUT)
                ok &= memcmp(ws + l->aux, ws_fwd + l->aux + size, sizeof(float) * size * (size_t)(n - 1)) == 0;
        }
        snprintf(check, sizeof check, "%s dropout masks follow the image index", scope);
        verdict(ok, check, NULL);
    }
    free(x); free(ws); free(labels); free(ws_fwd); free(grads); free(grads2); free(quarter); free(half_tol);
    free(r.grads); free(r.tol);
}

/* ------------------------------------------------------------------ the optimizer */

static void check_update(void)
{
    size_t np = M->num_params;
    const cnn_train_config *c = &M->train;
    int adam = c->optimizer == CNN_OPT_ADAM, uses_m = adam || c->momentum != 0.0;
    float *w = floats(np), *g = floats(np), *m = floats(np), *v = floats(np);
    fill(w, np, -1, 1);
    fill(m, np, -0.1, 0.1);
    fill(v, np, 0, 0.01);
    float *w0 = copy_of(w, np), *m0 = copy_of(m, np), *v0 = copy_of(v, np);
    float *rw = copy_of(w, np), *rm = copy_of(m, np), *rv = copy_of(v, np);
    float *w_prev = floats(np), *m_prev = floats(np), *v_prev = floats(np);
    float *tol = floats(np), *tol_m = floats(np), *tol_v = floats(np);
    int ok = 1;
    double lr = c->learning_rate, mom = c->momentum;
    for (long step = 1; step <= 2; step++) {
        fill(g, np, -1, 1);
        memcpy(w_prev, rw, sizeof(float) * np);
        memcpy(m_prev, rm, sizeof(float) * np);
        memcpy(v_prev, rv, sizeof(float) * np);
        /* Each step from the reference's state, so that the errors of one do not carry over. */
        memcpy(w, rw, sizeof(float) * np);
        memcpy(m, rm, sizeof(float) * np);
        memcpy(v, rv, sizeof(float) * np);
        M->update(w, g, uses_m ? m : NULL, adam ? v : NULL, step);
        if (adam)
            ref_adam_step(np, rw, g, rm, rv, step, lr, c->beta_1, c->beta_2, c->epsilon);
        else
            ref_sgd_step(np, rw, g, uses_m ? rm : NULL, lr, mom, c->nesterov);
        /* A few roundings of each term of each formula (the terms may cancel), and of the
         * Adam step's quotient and square root. */
        double alpha = lr * sqrt(1.0 - pow(c->beta_2, (double)step)) / (1.0 - pow(c->beta_1, (double)step));
        for (size_t i = 0; i < np; i++) {
            double gi = fabs(g[i]), terms;
            if (adam) {
                tol_m[i] = (float)(16 * RP_U * (c->beta_1 * fabs(m_prev[i]) + (1 - c->beta_1) * gi));
                tol_v[i] = (float)(16 * RP_U * (c->beta_2 * fabs(v_prev[i]) + (1 - c->beta_2) * gi * gi));
                /* The step alpha m / (sqrt(v) + epsilon) moves with the errors of m and v. */
                double root = sqrt(rv[i]), den = root + c->epsilon;
                double d_root = root > 0 ? fmin(tol_v[i] / (2 * root), sqrt(tol_v[i])) : sqrt(tol_v[i]);
                double d_step = alpha * (tol_m[i] / den + fabs(rm[i]) * d_root / (den * den));
                terms = (d_step + 1e-5 * fabs(rw[i] - w_prev[i])) / (16 * RP_U);
            } else {
                tol_m[i] = (float)(16 * RP_U * (mom * fabs(m_prev[i]) + lr * gi));
                terms = 2 * lr * gi + mom * (fabs(m_prev[i]) + 2 * fabs(rm[i]));
            }
            tol[i] = (float)(16 * RP_U * (fabs(w_prev[i]) + terms));
        }
        ok &= close_all("weights", w, rw, tol, np);
        if (uses_m)
            ok &= close_all(adam ? "m" : "velocity", m, rm, tol_m, np);
        if (adam)
            ok &= close_all("v", v, rv, tol_v, np);
        if (!ok)
            break;
    }
    verdict(ok, adam ? "update adam" : "update sgd", NULL);

    /* update_range over three pieces gives update's result. */
    if (M->update_range && np > 0) {
        float *w2 = copy_of(w0, np), *m2 = copy_of(m0, np), *v2 = copy_of(v0, np);
        memcpy(w, w0, sizeof(float) * np);
        memcpy(m, m0, sizeof(float) * np);
        memcpy(v, v0, sizeof(float) * np);
        fill(g, np, -1, 1);
        M->update(w, g, uses_m ? m : NULL, adam ? v : NULL, 3);
        size_t a = (size_t)pick(0, (int)np), b = (size_t)pick((int)a, (int)np);
        M->update_range(w2, g, uses_m ? m2 : NULL, adam ? v2 : NULL, 3, 0, a);
        M->update_range(w2, g, uses_m ? m2 : NULL, adam ? v2 : NULL, 3, a, b);
        M->update_range(w2, g, uses_m ? m2 : NULL, adam ? v2 : NULL, 3, b, np);
        for (size_t i = 0; i < np; i++)
            tol[i] = (float)(16 * RP_U * (fabs(w0[i]) + 2 * fabs(w[i] - w0[i]) + lr * fabs(g[i]) +
                                          mom * (fabs(m0[i]) + fabs(m[i]))));
        ok = close_all("weights by range", w2, w, tol, np);
        verdict(ok, "update_range", NULL);
        free(w2); free(m2); free(v2);
    }
    free(w); free(g); free(m); free(v); free(w0); free(m0); free(v0); free(rw); free(rm); free(rv);
    free(w_prev); free(m_prev); free(v_prev); free(tol); free(tol_m); free(tol_v);
}

/* ------------------------------------------------------------------ for the predictor */

#ifdef DT_CHECKPOINT
#define INFER_IMAGES 3

/* The reference's evaluation-mode outputs of one image and their tolerances; with `logits`,
 * without the final softmax. The predictor's input may be off by one rounding (pixels / 255). */
static void infer_reference(const float *params, const float *x, int logits, float *y, float *tol)
{
    int nl = M->num_layers;
    float *outs[DT_MAX_LAYERS], *abss[DT_MAX_LAYERS];
    double ts[DT_MAX_LAYERS];
    float *a_x = abs_of(x, M->in_size);
    for (int i = 0; i < nl; i++) {
        cnn_layer l = M->layers[i];
        if (logits && i == nl - 1 && l.activation == CNN_ACT_SOFTMAX)
            l.activation = CNN_ACT_NONE;
        const dt_layer *dl = &D.layers[i];
        int a = dt_source(&D, i), b = dl->kind == DT_ADD || dl->kind == DT_CONCAT ? dl->with : -3;
        const float *in = a < 0 ? x : outs[a], *a_in = a < 0 ? a_x : abss[a];
        const float *in2 = b == -3 ? NULL : b < 0 ? x : outs[b], *a_in2 = b == -3 ? NULL : b < 0 ? a_x : abss[b];
        /* The predictor's input may be off by one rounding (pixels / 255). */
        double t = a < 0 ? 1.0 : ts[a];
        if (b != -3 && (b < 0 ? 1.0 : ts[b]) > t)
            t = b < 0 ? 1.0 : ts[b];
        size_t out = rp_out_size(&l);
        float *scratch = floats(2 * out), *tl = floats(out);
        outs[i] = floats(out);
        abss[i] = floats(out);
        rp_ctx ctx = ctx_of(i, params, in, in2, a_in2, NULL, NULL);
        rp_forward(&l, params, in, outs[i], NULL, 1, 0, &ctx);
        ts[i] = rp_forward_bound(&l, params, a_in, t, outs[i], NULL, 1, 0, &ctx, abss[i], tl, scratch);
        if (i == nl - 1) {
            memcpy(y, outs[i], sizeof(float) * out);
            for (size_t k = 0; k < out; k++)
                tol[k] = tl[k] + (float)(4 * RP_U) * fabsf(outs[i][k]);
        }
        free(tl); free(scratch);
    }
    for (int i = 0; i < nl; i++) {
        free(outs[i]);
        free(abss[i]);
    }
    free(a_x);
}

/* IMAGES pixels, then for each image the outputs and tolerances, then the logits and theirs. */
static int write_infer(const char *path, const float *params)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    int32_t head[4] = {0x44544946, INFER_IMAGES, (int32_t)M->in_size, M->classes};
    fwrite(head, sizeof head, 1, f);
    unsigned char *px = malloc(M->in_size);
    float *x = floats(M->in_size), *y = floats((size_t)M->classes), *tol = floats((size_t)M->classes);
    for (int k = 0; k < INFER_IMAGES; k++) {
        for (size_t i = 0; i < M->in_size; i++) {
            px[i] = (unsigned char)pick(0, 255);
            x[i] = (float)px[i] / 255.0f;
        }
        fwrite(px, 1, M->in_size, f);
        for (int logits = 0; logits <= 1; logits++) {
            infer_reference(params, x, logits, y, tol);
            fwrite(y, sizeof(float), (size_t)M->classes, f);
            fwrite(tol, sizeof(float), (size_t)M->classes, f);
        }
    }
    free(px); free(x); free(y); free(tol);
    return fclose(f) == 0 ? 0 : -1;
}
#endif

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    const char *ckpt = NULL, *infer = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: dt_check MODEL.desc [--ckpt FILE --infer FILE]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--ckpt") == 0)
            ckpt = argv[i + 1];
        else if (strcmp(argv[i], "--infer") == 0)
            infer = argv[i + 1];
    }
    FILE *f = fopen(argv[1], "r");
    dt_model d;
    if (!f || dt_read_desc(f, &D) < 0) {
        fprintf(stderr, "difftest: cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(f);
    d = D;
    ref_layer_desc layers[DT_MAX_LAYERS];
    for (int i = 0; i < d.nlayers; i++)
        layers[i] = ref_desc_of(&d.layers[i]);
    ref_net_desc nd = {d.in_h, d.in_w, d.in_c, layers, d.nlayers, d.loss == DT_MSE ? REF_LOSS_MSE : REF_LOSS_XENT};
    ref_net net;
    if (ref_net_init(&net, &nd, d.batch) < 0) {
        verdict(0, "reference network", NULL);
        return 1;
    }
    int table_ok = check_table(&d, &net);
    verdict(table_ok, "table", NULL);
    for (int i = 0; i < d.nlayers; i++)
        bn_state[i] = net.layers[i].state_offset;
    ref_net_free(&net);
    if (!table_ok)
        return 1;

    /* The random numbers follow the model's name, so that a run can be repeated. */
    rng_state = 0x5EED;
    for (const char *s = M->name; *s; s++)
        rng_state = (rng_state ^ (unsigned char)*s) * 1099511628211u;
    float *params = floats(cnn_param_floats(M));
    for (int t = 0; t < M->num_tensors; t++) {
        const cnn_tensor *ct = &M->tensors[t];
        double limit = ct->is_bias ? 0.5 : sqrt(3.0 / (ct->fan_in > 0 ? ct->fan_in : 1));
        fill(params + ct->offset, ct->count, -limit, limit);
    }
    /* Moving statistics as training leaves them: any mean, a variance around one. */
    for (int t = 0; t < M->num_state_tensors; t++) {
        const cnn_tensor *ct = &M->state_tensors[t];
        if (ct->init_ones)
            fill(params + ct->offset, ct->count, 0.25, 2);
        else
            fill(params + ct->offset, ct->count, -1, 1);
    }

    int partial = M->batch > 1 ? pick(1, M->batch - 1) : 1;
    for (int i = 0; i < M->num_layers; i++) {
        check_layer(&M->layers[i], params, M->batch);
        if (partial != M->batch)
            check_layer(&M->layers[i], params, partial);
    }
    check_model(params, M->batch, 0, 12345);
    check_model(params, partial, pick(1, 1000), (uint64_t)pick(0, 1 << 30));
    check_update();

#ifdef DT_CHECKPOINT
    if (ckpt && cnn_checkpoint_save(ckpt, M, params, NULL, NULL, 0) != 0) {
        verdict(0, "checkpoint written", NULL);
    }
    if (infer && write_infer(infer, params) != 0)
        verdict(0, "predictor data written", NULL);
#else
    if (ckpt || infer) {
        fprintf(stderr, "difftest: --ckpt and --infer need a checker built with -DDT_CHECKPOINT\n");
        return 2;
    }
#endif
    free(params);
    return failures ? 1 : 0;
}
