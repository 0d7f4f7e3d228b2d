/*
 * test_ref_gradcheck.c - checks the reference layers (runtime/ref/) before they are
 * trusted as the oracle of the generated code:
 * - every backward against central finite differences of its forward, through the scalar
 *   objective L = sum(r * y) with a fixed random r (so backward is called with dy = r);
 * - the cases whose answer is known by hand: same-padding sizes, avgpool's valid-cells
 *   average, maxpool's tie rule;
 * - one SGD, Nesterov and Adam step against numbers worked out by hand below;
 * - whole reference networks (runtime/ref/ref_model.c) against finite differences of their loss,
 *   for both losses, the fused softmax, standalone activations and dropout with a mask.
 *
 * Prints one line per check, `ok NAME` or `FAIL NAME`, and exits 1 if any failed.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_layers.h"
#include "ref_model.h"
#include "tensor_check.h"

/* Perturbation for the central differences. The layers are linear in their parameters, so
 * the step adds no truncation error there; for the curved activations 1e-2 keeps it near
 * 1e-5 while float rounding of the outputs stays well below the tolerance. */
#define FD_EPS 1e-2
#define FD_RTOL 1e-2
#define FD_ATOL 5e-4

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static tc_rng rng = {12345};

static void report(const char *name, int failures_before)
{
    printf("%s %s\n", tc_failures == failures_before ? "ok" : "FAIL", name);
}

static float *alloc_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *random_floats(size_t n, double lo, double hi)
{
    float *p = alloc_floats(n);
    tc_fill(&rng, p, n, lo, hi);
    return p;
}

/* Distinct values spaced 5 FD_EPS apart in a random order, so that no perturbation can change
 * which cell of a max-pool window wins. */
static float *distinct_floats(size_t n)
{
    float *p = alloc_floats(n);
    for (size_t k = 0; k < n; k++)
        p[k] = (float)(5 * FD_EPS * ((double)k - n / 2.0));
    for (size_t k = n; k > 1; k--) {
        size_t j = tc_next(&rng) % k;
        float t = p[k - 1];
        p[k - 1] = p[j];
        p[j] = t;
    }
    return p;
}

/* A scalar objective of the tensors a test case holds. */
typedef double (*objective_fn)(void *ctx);

static double dot(const float *a, const float *b, size_t n)
{
    double sum = 0.0;
    for (size_t k = 0; k < n; k++)
        sum += (double)a[k] * b[k];
    return sum;
}

/* Compares analytic[k] with the central difference of f over param[k], for all n values. */
static int fd_check(const char *what, objective_fn f, void *ctx, float *param, size_t n,
                    const float *analytic)
{
    float *numeric = alloc_floats(n);
    for (size_t k = 0; k < n; k++) {
        float saved = param[k];
        float up = (float)(saved + FD_EPS), down = (float)(saved - FD_EPS);
        param[k] = up;
        double fu = f(ctx);
        param[k] = down;
        double fd = f(ctx);
        param[k] = saved;
        numeric[k] = (float)((fu - fd) / ((double)up - down));
    }
    int ok = tc_close(what, analytic, numeric, n, FD_RTOL, FD_ATOL);
    free(numeric);
    return ok;
}

/* ------------------------------------------------------------------ conv2d */

typedef struct conv_case {
    ref_conv2d p;
    float *x, *kernel, *bias, *y, *r;
} conv_case;

static double conv_objective(void *ctx)
{
    conv_case *c = ctx;
    ref_conv2d_forward(&c->p, c->y, c->x, c->kernel, c->bias);
    return dot(c->y, c->r, (size_t)c->p.n * c->p.out_h * c->p.out_w * c->p.out_c);
}

static void check_conv(const char *name, ref_conv2d p, int expect_h, int expect_w)
{
    int before = tc_failures;
    ref_conv2d_set_out(&p);
    TC_EXPECT(p.out_h == expect_h && p.out_w == expect_w);
    size_t nx = (size_t)p.n * p.in_h * p.in_w * p.in_c;
    size_t nk = (size_t)p.kh * p.kw * p.in_c * p.out_c;
    size_t ny = (size_t)p.n * p.out_h * p.out_w * p.out_c;
    conv_case c = {p, random_floats(nx, -1, 1), random_floats(nk, -0.5, 0.5),
                   p.use_bias ? random_floats(p.out_c, -0.5, 0.5) : NULL, alloc_floats(ny),
                   random_floats(ny, -1, 1)};
    float *dx = alloc_floats(nx), *dk = alloc_floats(nk), *db = alloc_floats(p.out_c);
    ref_conv2d_backward(&p, dx, dk, p.use_bias ? db : NULL, c.r, c.x, c.kernel);
    fd_check("conv2d dinput", conv_objective, &c, c.x, nx, dx);
    fd_check("conv2d dkernel", conv_objective, &c, c.kernel, nk, dk);
    if (p.use_bias)
        fd_check("conv2d dbias", conv_objective, &c, c.bias, p.out_c, db);
    report(name, before);
    free(c.x); free(c.kernel); free(c.bias); free(c.y); free(c.r);
    free(dx); free(dk); free(db);
}

/* A conv2d layer with Keras `same` padding. */
static ref_conv2d conv_same(int n, int h, int w, int cin, int cout, int kh, int kw, int sh, int sw,
                            int use_bias)
{
    ref_conv2d p = {.n = n, .in_h = h, .in_w = w, .in_c = cin, .out_c = cout, .kh = kh, .kw = kw,
                    .sh = sh, .sw = sw, .use_bias = use_bias};
    ref_same_padding(h, kh, sh, &p.pad_top, &p.pad_bottom);
    ref_same_padding(w, kw, sw, &p.pad_left, &p.pad_right);
    return p;
}

/* A 1x1-channel convolution small enough to work out by hand. */
static void check_conv_by_hand(void)
{
    int before = tc_failures;
    /* x = [[1 2 3] [4 5 6] [7 8 9]], kernel 2x2 = [[1 0] [0 -1]], bias 0.5, same padding with
     * stride 2: out 2x2, padding 0 before and 1 after in both directions, so
     * y = [[1-5, 3-0], [7-0, 9-0]] + 0.5. */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k[4] = {1, 0, 0, -1}, bias[1] = {0.5f}, y[4];
    ref_conv2d p = conv_same(1, 3, 3, 1, 1, 2, 2, 2, 2, 1);
    TC_EXPECT(p.pad_top == 0 && p.pad_bottom == 1 && p.pad_left == 0 && p.pad_right == 1);
    ref_conv2d_set_out(&p);
    TC_EXPECT(p.out_h == 2 && p.out_w == 2);
    ref_conv2d_forward(&p, y, x, k, bias);
    const float want[4] = {-3.5f, 3.5f, 7.5f, 9.5f};
    tc_close("conv2d by hand", y, want, 4, 0, 1e-6);
    report("conv2d_by_hand", before);
}

/* ------------------------------------------------------------------ pooling */

typedef struct pool_case {
    ref_pool2d p;
    int is_max;
    float *x, *y, *r;
} pool_case;

static double pool_objective(void *ctx)
{
    pool_case *c = ctx;
    if (c->is_max)
        ref_maxpool2d_forward(&c->p, c->y, c->x);
    else
        ref_avgpool2d_forward(&c->p, c->y, c->x);
    return dot(c->y, c->r, (size_t)c->p.n * c->p.out_h * c->p.out_w * c->p.c);
}

static ref_pool2d pool(int n, int h, int w, int c, int ph, int pw, int sh, int sw, int same)
{
    ref_pool2d p = {.n = n, .in_h = h, .in_w = w, .c = c, .ph = ph, .pw = pw, .sh = sh, .sw = sw};
    if (same) {
        ref_same_padding(h, ph, sh, &p.pad_top, &p.pad_bottom);
        ref_same_padding(w, pw, sw, &p.pad_left, &p.pad_right);
    }
    ref_pool2d_set_out(&p);
    return p;
}

static void check_pool(const char *name, ref_pool2d p, int is_max, int expect_h, int expect_w)
{
    int before = tc_failures;
    TC_EXPECT(p.out_h == expect_h && p.out_w == expect_w);
    size_t nx = (size_t)p.n * p.in_h * p.in_w * p.c, ny = (size_t)p.n * p.out_h * p.out_w * p.c;
    pool_case c = {p, is_max, is_max ? distinct_floats(nx) : random_floats(nx, -1, 1),
                   alloc_floats(ny), random_floats(ny, -1, 1)};
    float *dx = alloc_floats(nx);
    if (is_max) {
        /* Padded cells never win: with every input negative a zero-padded max would show 0. */
        for (size_t k = 0; k < nx; k++)
            c.x[k] -= 100.0f;
        ref_maxpool2d_forward(&p, c.y, c.x);
        for (size_t k = 0; k < ny; k++)
            TC_EXPECT(c.y[k] < -1.0f);
        ref_maxpool2d_backward(&p, dx, c.r, c.x);
    } else {
        ref_avgpool2d_backward(&p, dx, c.r);
    }
    fd_check(is_max ? "maxpool2d dinput" : "avgpool2d dinput", pool_objective, &c, c.x, nx, dx);
    report(name, before);
    free(c.x); free(c.y); free(c.r); free(dx);
}

static void check_pool_by_hand(void)
{
    int before = tc_failures;
    /* 3x3 input, 2x2 windows, stride 2, same: out 2x2 with the padding after (0 before, 1
     * after), so the windows hold 4, 2, 2 and 1 valid cells. */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4], dy[4] = {4, 2, 2, 1}, dx[9];
    ref_pool2d p = pool(1, 3, 3, 1, 2, 2, 2, 2, 1);
    TC_EXPECT(p.out_h == 2 && p.out_w == 2 && p.pad_bottom == 1 && p.pad_top == 0);
    ref_avgpool2d_forward(&p, y, x);
    const float avg[4] = {3.0f, 4.5f, 7.5f, 9.0f};
    tc_close("avgpool2d same by hand", y, avg, 4, 0, 1e-6);
    /* Each window spreads dy over its valid cells only: dy / cells = 1 in every cell. */
    ref_avgpool2d_backward(&p, dx, dy);
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tc_close("avgpool2d same backward by hand", dx, ones, 9, 0, 1e-6);

    /* Ties: the first maximum in row-major window order wins and takes the whole gradient. */
    float tie[4] = {2, 7, 7, 7}, ty[1], tdy[1] = {1}, tdx[4];
    ref_pool2d q = pool(1, 2, 2, 1, 2, 2, 2, 2, 0);
    ref_maxpool2d_forward(&q, ty, tie);
    ref_maxpool2d_backward(&q, tdx, tdy, tie);
    const float first[4] = {0, 1, 0, 0};
    TC_EXPECT(ty[0] == 7.0f);
    tc_close("maxpool2d tie goes to the first maximum", tdx, first, 4, 0, 0);
    report("pool_by_hand", before);
}

/* ------------------------------------------------------------------ dense */

typedef struct dense_case {
    int n, in, out;
    float *x, *kernel, *bias, *y, *r;
} dense_case;

static double dense_objective(void *ctx)
{
    dense_case *c = ctx;
    ref_dense_forward(c->n, c->in, c->out, c->y, c->x, c->kernel, c->bias);
    return dot(c->y, c->r, (size_t)c->n * c->out);
}

static void check_dense(const char *name, int n, int in, int out, int use_bias)
{
    int before = tc_failures;
    size_t nx = (size_t)n * in, nk = (size_t)in * out, ny = (size_t)n * out;
    dense_case c = {n, in, out, random_floats(nx, -1, 1), random_floats(nk, -1, 1),
                    use_bias ? random_floats(out, -1, 1) : NULL, alloc_floats(ny),
                    random_floats(ny, -1, 1)};
    float *dx = alloc_floats(nx), *dk = alloc_floats(nk), *db = alloc_floats(out);
    ref_dense_backward(n, in, out, dx, dk, use_bias ? db : NULL, c.r, c.x, c.kernel);
    fd_check("dense dinput", dense_objective, &c, c.x, nx, dx);
    fd_check("dense dkernel", dense_objective, &c, c.kernel, nk, dk);
    if (use_bias)
        fd_check("dense dbias", dense_objective, &c, c.bias, out, db);
    report(name, before);
    free(c.x); free(c.kernel); free(c.bias); free(c.y); free(c.r);
    free(dx); free(dk); free(db);
}

/* ------------------------------------------------------------------ add, concat, globalavgpool2d */

typedef struct graph_case {
    int kind; /* 0 add, 1 concat, 2 globalavgpool2d */
    int n, h, w, ca, cb;
    float *a, *b, *y, *r;
} graph_case;

static size_t graph_out(const graph_case *c)
{
    size_t pixels = (size_t)c->n * c->h * c->w;
    return c->kind == 0 ? pixels * c->ca : c->kind == 1 ? pixels * (c->ca + c->cb) : (size_t)c->n * c->ca;
}

static double graph_objective(void *ctx)
{
    graph_case *c = ctx;
    size_t pixels = (size_t)c->n * c->h * c->w;
    if (c->kind == 0)
        ref_add_forward(pixels * c->ca, c->y, c->a, c->b);
    else if (c->kind == 1)
        ref_concat_forward(pixels, c->ca, c->cb, c->y, c->a, c->b);
    else
        ref_globalavgpool2d_forward(c->n, c->h, c->w, c->ca, c->y, c->a);
    return dot(c->y, c->r, graph_out(c));
}

static void check_graph(const char *name, int kind, int n, int h, int w, int ca, int cb)
{
    int before = tc_failures;
    graph_case c = {kind, n, h, w, ca, kind == 0 ? ca : cb, NULL, NULL, NULL, NULL};
    size_t pixels = (size_t)n * h * w, na = pixels * ca, nb = pixels * c.cb;
    c.a = random_floats(na, -1, 1);
    c.b = random_floats(nb, -1, 1);
    c.y = alloc_floats(graph_out(&c));
    c.r = random_floats(graph_out(&c), -1, 1);
    float *da = alloc_floats(na), *db = alloc_floats(nb);
    if (kind == 0)
        ref_add_backward(na, da, db, c.r);
    else if (kind == 1)
        ref_concat_backward(pixels, ca, cb, da, db, c.r);
    else
        ref_globalavgpool2d_backward(n, h, w, ca, da, c.r);
    fd_check("first input's gradient", graph_objective, &c, c.a, na, da);
    if (kind != 2)
        fd_check("second input's gradient", graph_objective, &c, c.b, nb, db);
    report(name, before);
    free(c.a); free(c.b); free(c.y); free(c.r); free(da); free(db);
}

/* ------------------------------------------------------------------ batchnorm */

typedef struct bn_case {
    size_t rows;
    int c;
    float *x, *gamma, *beta, *mean, *var, *y, *r;
} bn_case;

/* Training mode: the statistics are the batch's, so they move with x. */
static double bn_objective(void *ctx)
{
    bn_case *c = ctx;
    ref_batchnorm_stats(c->rows, c->c, c->x, c->mean, c->var);
    ref_batchnorm_forward(c->rows, c->c, c->y, c->x, c->gamma, c->beta, c->mean, c->var, 0.01);
    return dot(c->y, c->r, c->rows * (size_t)c->c);
}

static void check_batchnorm(const char *name, size_t rows, int ch, int scale, int center)
{
    int before = tc_failures;
    size_t nx = rows * (size_t)ch;
    bn_case c = {rows, ch, random_floats(nx, -2, 3), scale ? random_floats(ch, 0.5, 1.5) : NULL,
                 center ? random_floats(ch, -1, 1) : NULL, alloc_floats(ch), alloc_floats(ch),
                 alloc_floats(nx), random_floats(nx, -1, 1)};
    float *dx = alloc_floats(nx), *dg = alloc_floats(ch), *db = alloc_floats(ch);
    bn_objective(&c);
    ref_batchnorm_backward(rows, ch, dx, scale ? dg : NULL, center ? db : NULL, c.r, c.x, c.gamma, c.mean,
                           c.var, 0.01);
    fd_check("batchnorm dinput", bn_objective, &c, c.x, nx, dx);
    if (scale)
        fd_check("batchnorm dgamma", bn_objective, &c, c.gamma, ch, dg);
    if (center)
        fd_check("batchnorm dbeta", bn_objective, &c, c.beta, ch, db);
    report(name, before);
    free(c.x); free(c.gamma); free(c.beta); free(c.mean); free(c.var); free(c.y); free(c.r);
    free(dx); free(dg); free(db);
}

/* By hand: each channel normalised to mean 0 and variance var / (var + epsilon), moved by beta
 * and gamma; evaluation with given statistics; the moving update. */
static void check_batchnorm_by_hand(void)
{
    int before = tc_failures;
    const float x[8] = {1, 10, 2, 20, 3, 30, 6, 60}; /* 4 rows, 2 channels */
    float mean[2], var[2], y[8];
    ref_batchnorm_stats(4, 2, x, mean, var);
    const float want_mean[2] = {3, 30}, want_var[2] = {3.5f, 350};
    tc_close("batch mean", mean, want_mean, 2, 1e-6, 0);
    tc_close("batch variance (biased)", var, want_var, 2, 1e-6, 0);
    const float gamma[2] = {2, 1}, beta[2] = {0, 5};
    ref_batchnorm_forward(4, 2, y, x, gamma, beta, mean, var, 0.0);
    const float want_y[8] = {-2 * 2 / 1.870829f, 5 - 20 / 18.70829f, -1 * 2 / 1.870829f, 5 - 10 / 18.70829f,
                             0, 5, 3 * 2 / 1.870829f, 5 + 30 / 18.70829f};
    tc_close("normalised", y, want_y, 8, 1e-5, 1e-6);
    float mm[2] = {1, 2}, mv[2] = {1, 1};
    ref_batchnorm_update(2, mm, mv, mean, var, 0.9);
    const float want_mm[2] = {0.9f * 1 + 0.1f * 3, 0.9f * 2 + 0.1f * 30}, want_mv[2] = {0.9f + 0.35f, 0.9f + 35};
    tc_close("moving mean", mm, want_mm, 2, 1e-6, 0);
    tc_close("moving variance", mv, want_mv, 2, 1e-6, 0);
    report("batchnorm_by_hand", before);
}

/* ------------------------------------------------------------------ activations, dropout */

typedef struct act_case {
    ref_activation act;
    int rows, cols;
    float *x, *y, *r, *mask;
} act_case;

static double act_objective(void *ctx)
{
    act_case *c = ctx;
    ref_activation_forward(c->act, c->rows, c->cols, c->y, c->x);
    return dot(c->y, c->r, (size_t)c->rows * c->cols);
}

static void check_activation(const char *name, ref_activation act)
{
    int before = tc_failures;
    int rows = 3, cols = 7;
    size_t n = (size_t)rows * cols;
    act_case c = {act, rows, cols, random_floats(n, -2, 2), alloc_floats(n),
                  random_floats(n, -1, 1), NULL};
    /* Keep relu's inputs away from its kink, where a difference quotient is meaningless. */
    for (size_t k = 0; k < n; k++)
        if (fabsf(c.x[k]) < 5 * FD_EPS)
            c.x[k] += c.x[k] < 0 ? -0.1f : 0.1f;
    float *from_out = alloc_floats(n), *from_in = alloc_floats(n);
    ref_activation_forward(act, rows, cols, c.y, c.x);
    ref_activation_backward(act, rows, cols, from_out, c.r, c.y);
    ref_activation_backward_from_input(act, rows, cols, from_in, c.r, c.x);
    fd_check("activation dinput (from output)", act_objective, &c, c.x, n, from_out);
    tc_close("activation dinput (from input)", from_in, from_out, n, 1e-6, 1e-7);
    report(name, before);
    free(c.x); free(c.y); free(c.r); free(from_out); free(from_in);
}

static double dropout_objective(void *ctx)
{
    act_case *c = ctx;
    ref_dropout_forward((size_t)c->rows * c->cols, c->y, c->x, c->mask);
    return dot(c->y, c->r, (size_t)c->rows * c->cols);
}

static void check_dropout(void)
{
    int before = tc_failures;
    size_t n = 24;
    act_case c = {REF_ACT_NONE, 4, 6, random_floats(n, -1, 1), alloc_floats(n),
                  random_floats(n, -1, 1), alloc_floats(n)};
    for (size_t k = 0; k < n; k++)
        c.mask[k] = k % 3 == 0 ? 0.0f : 1.5f; /* rate 1/3 */
    float *dx = alloc_floats(n);
    ref_dropout_backward(n, dx, c.r, c.mask);
    fd_check("dropout dinput", dropout_objective, &c, c.x, n, dx);
    TC_EXPECT(c.y[0] == 0.0f && c.y[1] == c.x[1] * 1.5f);
    report("dropout", before);
    free(c.x); free(c.y); free(c.r); free(c.mask); free(dx);
}

/* ------------------------------------------------------------------ losses */

typedef struct loss_case {
    int n, classes, is_mse;
    float *z, *probs;
    unsigned char *labels;
} loss_case;

/* Cross-entropy is checked through the softmax it is fused with: L(z) = xent(softmax(z)). */
static double loss_objective(void *ctx)
{
    loss_case *c = ctx;
    if (c->is_mse)
        return ref_mse_loss(c->n, c->classes, c->z, c->labels, NULL, 1.0f);
    ref_activation_forward(REF_ACT_SOFTMAX, c->n, c->classes, c->probs, c->z);
    return ref_xent_loss(c->n, c->classes, c->probs, c->labels, NULL, 1.0f);
}

static void check_loss(const char *name, int is_mse)
{
    int before = tc_failures;
    int n = 3, classes = 5;
    size_t count = (size_t)n * classes;
    unsigned char labels[3] = {0, 4, 2};
    loss_case c = {n, classes, is_mse, random_floats(count, -2, 2), alloc_floats(count), labels};
    float *grad = alloc_floats(count), *scaled = alloc_floats(count);
    loss_objective(&c);
    double loss;
    if (is_mse) {
        loss = ref_mse_loss(n, classes, c.z, labels, grad, 1.0f);
        ref_mse_loss(n, classes, c.z, labels, scaled, 0.25f);
    } else {
        loss = ref_xent_loss(n, classes, c.probs, labels, grad, 1.0f);
        ref_xent_loss(n, classes, c.probs, labels, scaled, 0.25f);
    }
    fd_check(is_mse ? "mse dy" : "xent dlogits", loss_objective, &c, c.z, count, grad);
    for (size_t k = 0; k < count; k++)
        grad[k] *= 0.25f;
    tc_close("loss gradient scale", scaled, grad, count, 1e-6, 1e-8);

    /* The loss itself, written out for image 0 directly from its definition. */
    double want = 0.0;
    if (is_mse) {
        for (int j = 0; j < classes; j++) {
            double t = j == labels[0] ? 1.0 : 0.0;
            want += (c.z[j] - t) * (c.z[j] - t) / classes;
        }
        tc_close1("mse of image 0", ref_mse_loss(1, classes, c.z, labels, NULL, 1), want, 1e-6, 0);
    } else {
        double sum = 0.0;
        for (int j = 0; j < classes; j++)
            sum += exp(c.z[j]);
        want = log(sum) - c.z[labels[0]];
        tc_close1("xent of image 0", ref_xent_loss(1, classes, c.probs, labels, NULL, 1), want,
                  1e-5, 0);
    }
    TC_EXPECT(loss > 0);
    report(name, before);
    free(c.z); free(c.probs); free(grad); free(scaled);
}

/* ------------------------------------------------------------------ optimizers */

/* The expected numbers are worked out by hand from the Keras formulas in the comments. */
static void check_optimizers(void)
{
    int before = tc_failures;
    /* Plain SGD, lr 0.1: w - 0.1 g = {1 - 0.05, -2 + 0.1, 0.5}. */
    float w[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, -1.0f, 0.0f};
    ref_sgd_step(3, w, g, NULL, 0.1, 0.0, 0);
    const float sgd[3] = {0.95f, -1.9f, 0.5f};
    tc_close("sgd", w, sgd, 3, 0, 1e-7);

    /* Momentum 0.9, lr 0.1, starting velocity {0.2, 0}:
     * v = 0.9 v - 0.1 g = {0.18 - 0.05, 0 + 0.1} = {0.13, 0.1}; w + v = {1.13, -1.9}. */
    float wm[2] = {1.0f, -2.0f}, vm[2] = {0.2f, 0.0f}, gm[2] = {0.5f, -1.0f};
    ref_sgd_step(2, wm, gm, vm, 0.1, 0.9, 0);
    const float mom_w[2] = {1.13f, -1.9f}, mom_v[2] = {0.13f, 0.1f};
    tc_close("sgd momentum weights", wm, mom_w, 2, 0, 1e-6);
    tc_close("sgd momentum velocity", vm, mom_v, 2, 0, 1e-6);

    /* Nesterov, same numbers: w += 0.9 v_new - 0.1 g = {1 + 0.117 - 0.05, -2 + 0.09 + 0.1}. */
    float wn[2] = {1.0f, -2.0f}, vn[2] = {0.2f, 0.0f};
    ref_sgd_step(2, wn, gm, vn, 0.1, 0.9, 1);
    const float nes_w[2] = {1.067f, -1.81f};
    tc_close("sgd nesterov weights", wn, nes_w, 2, 0, 1e-6);
    tc_close("sgd nesterov velocity", vn, mom_v, 2, 0, 1e-6);

    /* Adam, lr 0.001, b1 0.9, b2 0.999, eps 1e-7, first step from m = v = 0:
     * m = 0.1 g, v = 0.001 g^2, alpha = 0.001 sqrt(0.001) / 0.1 = 0.001 sqrt(0.001) * 10,
     * so w -= alpha * 0.1 g / (sqrt(0.001) |g| + 1e-7) = 0.001 sign(g), to within 1e-7 / |g|. */
    float wa[3] = {1.0f, -2.0f, 0.5f}, ga[3] = {0.5f, -4.0f, 0.0f}, ma[3] = {0}, va[3] = {0};
    ref_adam_step(3, wa, ga, ma, va, 1, 0.001, 0.9, 0.999, 1e-7);
    const float adam1[3] = {0.999f, -1.999f, 0.5f}, adam_m[3] = {0.05f, -0.4f, 0.0f},
                adam_v[3] = {0.00025f, 0.016f, 0.0f};
    tc_close("adam step 1 weights", wa, adam1, 3, 0, 1e-6);
    tc_close("adam step 1 m", ma, adam_m, 3, 1e-6, 0);
    tc_close("adam step 1 v", va, adam_v, 3, 1e-6, 0);

    /* Step 2 with m = {0.05}, v = {0.00025}, g = {0.5}: m = 0.045 + 0.05 = 0.095,
     * v = 0.00024975 + 0.00025 = 0.00049975, alpha = 0.001 sqrt(1 - 0.998001) / (1 - 0.81)
     * = 0.001 * 0.0447101778 / 0.19 = 2.35316725e-4; sqrt(v) = 0.0223550889;
     * step = 2.35316725e-4 * 0.095 / 0.0223551 = 1.0000e-3 (to 7 digits: 9.99995e-4). */
    float w2[1] = {0.999f}, g2[1] = {0.5f}, m2[1] = {0.05f}, v2[1] = {0.00025f};
    ref_adam_step(1, w2, g2, m2, v2, 2, 0.001, 0.9, 0.999, 1e-7);
    const float adam2[1] = {0.999f - 9.99995e-4f};
    tc_close("adam step 2 weight", w2, adam2, 1, 0, 2e-7);
    report("optimizers_by_hand", before);
}

/* ------------------------------------------------------------------ whole networks */

typedef struct net_case {
    ref_net net;
    float *params, *x;
    unsigned char labels[3];
} net_case;

static double net_objective(void *ctx)
{
    net_case *c = ctx;
    ref_net_forward(&c->net, c->params, c->x, 3, 1);
    const float *y = ref_net_output(&c->net);
    if (c->net.desc.loss == REF_LOSS_MSE)
        return ref_mse_loss(3, c->net.classes, y, c->labels, NULL, 1.0f);
    return ref_xent_loss(3, c->net.classes, y, c->labels, NULL, 1.0f);
}

/* The network's parameter gradients against central differences of its loss, in training
 * mode, where every dropout layer drops every third value. Relu and max-pool make the loss
 * only piecewise smooth: a parameter whose one-sided differences disagree sits on a kink
 * and is skipped, and more than a tenth of them skipped is a failure. */
static void check_net(const char *name, int h, int w, int c, const ref_layer_desc *layers,
                      int nlayers, int loss, int expect_params)
{
    int before = tc_failures;
    ref_net_desc d = {h, w, c, layers, nlayers, loss};
    net_case nc = {.labels = {1, 3, 0}};
    if (ref_net_init(&nc.net, &d, 3) < 0) {
        tc_failures++;
        report(name, before);
        return;
    }
    TC_EXPECT(nc.net.num_params == (size_t)expect_params);
    TC_EXPECT(nc.net.classes == 4);
    for (int i = 0; i < nlayers; i++) {
        const ref_net_layer *l = &nc.net.layers[i];
        size_t count = 3 * (size_t)l->out_h * l->out_w * l->out_c;
        for (size_t k = 0; l->mask && k < count; k++)
            l->mask[k] = k % 3 == 1 ? 0.0f : 1.5f;
    }
    size_t np = nc.net.num_params;
    nc.params = random_floats(np, -0.5, 0.5);
    nc.x = random_floats(3 * nc.net.in_size, 0, 1);
    float *grads = alloc_floats(np), *numeric = alloc_floats(np), *analytic = alloc_floats(np);
    double base = net_objective(&nc);
    double summed = ref_net_backward(&nc.net, nc.params, grads, nc.labels, 3, 1.0f);
    tc_close1("network loss", summed, base, 1e-12, 0);
    size_t used = 0, skipped = 0;
    const double eps = 1e-3;
    for (size_t k = 0; k < np; k++) {
        float saved = nc.params[k];
        float up = (float)(saved + eps), down = (float)(saved - eps);
        nc.params[k] = up;
        double fu = net_objective(&nc);
        nc.params[k] = down;
        double fd = net_objective(&nc);
        nc.params[k] = saved;
        double right = (fu - base) / ((double)up - saved), left = (base - fd) / ((double)saved - down);
        if (fabs(right - left) > 0.1 * fabs(right + left) / 2 + 5e-3) {
            skipped++;
            continue;
        }
        numeric[used] = (float)((fu - fd) / ((double)up - down));
        analytic[used] = grads[k];
        used++;
    }
    tc_close("network dparams", analytic, numeric, used, 2e-2, 2e-3);
    if (skipped * 10 > np) {
        fprintf(stderr, "%s: %zu of %zu parameters sit on a kink\n", name, skipped, np);
        tc_failures++;
    }
    report(name, before);
    ref_net_free(&nc.net);
    free(nc.params); free(nc.x); free(grads); free(numeric); free(analytic);
}

static void check_nets(void)
{
    static const ref_layer_desc conv_pool[] = {
        {.kind = REF_CONV2D, .units = 3, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .same = 1, .act = REF_ACT_TANH},
        {.kind = REF_MAXPOOL2D, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .same = 1},
        {.kind = REF_CONV2D, .units = 2, .kh = 1, .kw = 2, .act = REF_ACT_RELU, .no_bias = 1},
        {.kind = REF_AVGPOOL2D, .kh = 2, .kw = 2, .same = 1},
        {.kind = REF_FLATTEN},
        {.kind = REF_DENSE, .units = 4, .act = REF_ACT_SOFTMAX},
    };
    /* 9x9x2 -> 5x5x3 -> 3x3x3 -> 3x2x2 -> 2x1x2 -> 4: 99 + 12 + 20 parameters. */
    check_net("network_conv_pools_xent", 9, 9, 2, conv_pool, COUNT(conv_pool), REF_LOSS_XENT, 131);

    static const ref_layer_desc standalone[] = {
        {.kind = REF_FLATTEN},
        {.kind = REF_DENSE, .units = 6, .act = REF_ACT_SIGMOID},
        {.kind = REF_DROPOUT, .rate = 1.0 / 3},
        {.kind = REF_ACTIVATION, .act = REF_ACT_TANH},
        {.kind = REF_DENSE, .units = 4},
        {.kind = REF_ACTIVATION, .act = REF_ACT_SOFTMAX},
    };
    /* The mean squared error through a standalone softmax uses its full Jacobian. */
    check_net("network_dropout_softmax_mse", 3, 3, 1, standalone, COUNT(standalone), REF_LOSS_MSE,
              60 + 28);
    check_net("network_dropout_softmax_xent", 3, 3, 1, standalone, COUNT(standalone),
              REF_LOSS_XENT, 60 + 28);

    static const ref_layer_desc linear[] = {
        {.kind = REF_FLATTEN},
        {.kind = REF_DENSE, .units = 4, .act = REF_ACT_RELU},
    };
    check_net("network_relu_mse", 2, 2, 2, linear, COUNT(linear), REF_LOSS_MSE, 36);
}

/* ------------------------------------------------------------------ sizes */

static void check_sizes(void)
{
    int before = tc_failures;
    int a, b;
    /* Keras: same with stride 2 over 9 cells and a 4-wide window: out 5, total 3 = 1 + 2. */
    TC_EXPECT(ref_same_padding(9, 4, 2, &a, &b) == 5 && a == 1 && b == 2);
    TC_EXPECT(ref_same_padding(9, 3, 1, &a, &b) == 9 && a == 1 && b == 1);
    /* A window smaller than the stride can need no padding at all. */
    TC_EXPECT(ref_same_padding(8, 1, 2, &a, &b) == 4 && a == 0 && b == 0);
    TC_EXPECT(ref_window_out(9, 3, 2, 0, 0) == 4);
    TC_EXPECT(ref_window_out(2, 3, 1, 0, 0) == 0);
    report("sizes", before);
}

int main(void)
{
    check_sizes();
    check_conv_by_hand();
    check_conv("conv2d_valid_3x3",
               (ref_conv2d){.n = 2, .in_h = 6, .in_w = 5, .in_c = 2, .out_c = 3, .kh = 3, .kw = 3,
                            .sh = 1, .sw = 1, .use_bias = 1},
               4, 3);
    check_conv("conv2d_same_4x4_stride2", conv_same(2, 9, 9, 2, 3, 4, 4, 2, 2, 1), 5, 5);
    check_conv("conv2d_same_3x5_stride2x1_nobias", conv_same(1, 7, 8, 2, 2, 3, 5, 2, 1, 0), 4, 8);
    check_conv("conv2d_explicit_asymmetric_padding",
               (ref_conv2d){.n = 1, .in_h = 5, .in_w = 6, .in_c = 3, .out_c = 2, .kh = 2, .kw = 3,
                            .sh = 1, .sw = 2, .pad_top = 1, .pad_left = 0, .pad_bottom = 2,
                            .pad_right = 1, .use_bias = 1},
               7, 3);
    check_pool_by_hand();
    check_pool("maxpool2d_valid_2x2_odd_input", pool(2, 5, 5, 2, 2, 2, 2, 2, 0), 1, 2, 2);
    check_pool("maxpool2d_same_3x3_stride2", pool(1, 8, 7, 2, 3, 3, 2, 2, 1), 1, 4, 4);
    check_pool("maxpool2d_overlapping_2x3_stride1", pool(1, 5, 6, 1, 2, 3, 1, 1, 0), 1, 4, 4);
    check_pool("avgpool2d_same_3x3_stride2", pool(2, 7, 8, 2, 3, 3, 2, 2, 1), 0, 4, 4);
    check_pool("avgpool2d_valid_2x2", pool(1, 6, 6, 3, 2, 2, 2, 2, 0), 0, 3, 3);
    check_dense("dense_bias", 3, 7, 4, 1);
    check_dense("dense_nobias", 2, 5, 3, 0);
    check_activation("relu", REF_ACT_RELU);
    check_activation("sigmoid", REF_ACT_SIGMOID);
    check_activation("tanh", REF_ACT_TANH);
    check_activation("softmax", REF_ACT_SOFTMAX);
    check_dropout();
    check_graph("add", 0, 2, 3, 2, 3, 3);
    check_graph("concat", 1, 2, 3, 2, 3, 2);
    check_graph("concat_flat", 1, 3, 1, 1, 4, 5);
    check_graph("globalavgpool2d", 2, 2, 3, 4, 3, 0);
    check_batchnorm_by_hand();
    check_batchnorm("batchnorm_images", 2 * 3 * 4, 3, 1, 1);
    check_batchnorm("batchnorm_flat_no_scale", 5, 4, 0, 1);
    check_batchnorm("batchnorm_no_center", 7, 2, 1, 0);
    check_loss("sparse_categorical_crossentropy", 0);
    check_loss("mean_squared_error", 1);
    check_optimizers();
    check_nets();
    if (tc_failures)
        fprintf(stderr, "%d check(s) failed\n", tc_failures);
    return tc_failures ? 1 : 0;
}
