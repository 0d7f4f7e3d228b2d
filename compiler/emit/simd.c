/*
 * emit/simd.c - the register-blocked kernels that conv2d and dense are built from, sized for
 * the target (emit/target.c).
 *
 * The hot passes are small matrix products. Written as one output at a time they reload every
 * accumulator from memory for each multiply-add and reach about a tenth of the machine's
 * peak; here a block of P outputs (pixels, images or kernel rows) times cb vectors of
 * channels stays in vector registers for the whole reduction, so each loaded weight vector
 * feeds P multiply-adds and each broadcast input feeds cb. P and cb come from the target's
 * registers: the P * cb accumulators, the cb weights and the broadcast (and, without FMA, the
 * product) must all fit, or the compiler spills them to the stack. Channels that do not fill
 * the last vector load and store it partially (VF_LOADN, VF_STOREN), so every channel count
 * takes the vector path.
 */
#include <stdlib.h>

#include "emit/writer.h"

/* ------------------------------------------------------------------ activations in registers */

/* tanh of a vector, for the kernels' stores: libm's tanhf is a call per lane and took 80% of
 * LeNet-5's first convolution. The odd rational function x P(x^2) / Q(x^2) is the minimax fit
 * of Eigen's fast tanh (generic_fast_tanh_float) on [-7.9053, 7.9053], beyond which tanh is 1
 * to float precision, so x is clamped there. Checked over every float of [0, 9): within 4.9
 * units of 2^-24 of the exact value relative to it with fused multiply-adds, 6.7 without (as
 * tanhf's own 2 ulp), and odd, so the sign is exact; a NaN stays NaN. */
static const char *const tanh_numerator[] = {
    "-2.76076847742355e-16f", "2.00018790482477e-13f", "-8.60467152213735e-11f", "5.12229709037114e-08f",
    "1.48572235717979e-05f", "6.37261928875436e-04f", "4.89352455891786e-03f", NULL,
};
static const char *const tanh_denominator[] = {
    "1.19825839466702e-06f", "1.18534705686654e-04f", "2.26843463243900e-03f", "4.89352518554385e-03f", NULL,
};

/* `v = c[0]` then, for each next coefficient, `v = v * x2 + c[i]` (Horner's rule). */
static void emit_horner(Writer *w, const char *v, const char *const *c)
{
    w_line(w, "VF_SET1(%s, %s);", v, c[0]);
    for (int i = 1; c[i] != NULL; i++)
        w_line(w, "VF_SET1(t, %s); VF_FMA(t, %s, x2); VF_COPY(%s, t);", c[i], v, v);
}

static void emit_vector_tanh(Writer *w)
{
    w_line(w, "/* tanh of every lane of *v: x P(x^2) / Q(x^2) on x clamped to +-7.9053 (there tanh is 1 in");
    w_line(w, " * float), the minimax fit of Eigen's fast tanh, within 5 units of 2^-24 of the exact value");
    w_line(w, " * (7 without fused multiply-adds). */");
    w_line(w, "#if defined(__GNUC__)");
    w_line(w, "#define CNN_MAYBE_UNUSED __attribute__((unused)) /* a model without tanh does not call it */");
    w_line(w, "#else");
    w_line(w, "#define CNN_MAYBE_UNUSED");
    w_line(w, "#endif");
    w_begin_function(w, "static inline CNN_MAYBE_UNUSED void cnn_vf_tanh(cnn_vf *v)");
    w_line(w, "cnn_vf x, x2, p, q, t;");
    w_line(w, "VF_SET1(t, -7.90531110763549805f);");
    w_line(w, "VF_SET1(q, 7.90531110763549805f);");
    w_line(w, "VF_COPY(x, *v);");
    w_line(w, "VF_CLAMP(x, t, q);");
    w_line(w, "VF_COPY(x2, x);");
    w_line(w, "VF_MUL(x2, x);");
    emit_horner(w, "p", tanh_numerator);
    w_line(w, "VF_MUL(p, x);");
    emit_horner(w, "q", tanh_denominator);
    w_line(w, "VF_DIV(p, q);");
    w_line(w, "VF_COPY(*v, p);");
    w_close(w);
}

/* Whether a kernel applies activation `a` to its accumulators in registers before it stores
 * them (relu, tanh), rather than over the stored outputs afterwards (sigmoid's expf). */
bool simd_activation_in_registers(Activation a)
{
    return a == ACT_RELU || a == ACT_TANH;
}

void simd_activate(Writer *w, Activation a, const char *var)
{
    if (a == ACT_RELU)
        w_line(w, "VF_RELU(%s);", var);
    else if (a == ACT_TANH)
        w_line(w, "cnn_vf_tanh(&%s);", var);
}

/* ------------------------------------------------------------------ the prelude */

void emit_simd_prelude(Writer *w)
{
    const Target *t = w->target;
    w_line(w, "/* Rounding: every multiply-add of the kernels is spelled VF_FMA, and nothing else may be");
    w_line(w, " * contracted into one, whatever -ffp-contract or -std the file is compiled with, so that");
    w_line(w, " * the same target always computes the same floats. */");
    w_directive(w, "#if defined(__clang__)");
    w_directive(w, "#pragma STDC FP_CONTRACT OFF");
    w_directive(w, "#elif defined(__GNUC__)");
    w_directive(w, "#pragma GCC optimize (\"fp-contract=off\")");
    w_directive(w, "#endif");
    if (t->check != NULL) {
        w_line(w, "/* Target %s: %s. */", t->name, t->summary);
        w_line(w, "#if !(%s)", t->check);
        if (t->cflags[0] != '\0')
            w_line(w, "#error \"generated for the %s target: compile with %s (or -march=native on a CPU that has "
                      "them), or generate for another with cnnc --target\"", t->name, t->cflags);
        else
            w_line(w, "#error \"generated for the %s target (%s): compile with a compiler for it, or generate for "
                      "another with cnnc --target\"", t->name, t->summary);
        w_line(w, "#endif");
    } else {
        w_line(w, "/* Target %s: %s. */", t->name, t->summary);
    }
    for (int i = 0; t->prelude[i] != NULL; i++)
        w_directive(w, t->prelude[i]);
    emit_vector_tanh(w);
    w_line(w, "/* Local arrays are aligned to a vector: gcc 12 at -O2 with AVX-512 may move them with");
    w_line(w, " * aligned vector instructions without aligning the stack first (a crash). */");
    w_line(w, "#if defined(__GNUC__)");
    w_line(w, "#define CNN_STACK_ALIGN __attribute__((aligned(64)))");
    w_line(w, "#else");
    w_line(w, "#define CNN_STACK_ALIGN");
    w_line(w, "#endif");
    w_line(w, "/* Each layer pass stays a function of its own: inlined into forward_pass, gcc 12 spilled an");
    w_line(w, " * accumulator of a register block to the stack (avx2's direct conv2d_2: 1.5x slower). */");
    w_line(w, "#if defined(__GNUC__)");
    w_line(w, "#define CNN_PASS __attribute__((noinline))");
    w_line(w, "#else");
    w_line(w, "#define CNN_PASS");
    w_line(w, "#endif");
    w_blank(w);
}

/* ------------------------------------------------------------------ register blocks */

/* Registers a block leaves free beyond its accumulators, weights and broadcast: the compilers
 * keep an address or two in vector registers' company, and a block one register too large
 * spills on every step. */
#define SPARE_REGISTERS 1

/* The most outputs a block of cb channel vectors can hold: the P * cb accumulators next to the
 * cb weights, the broadcast, the spare and, without FMA, the product. */
static int outputs_that_fit(const Target *t, int cb)
{
    return (t->registers - cb - 1 - SPARE_REGISTERS - (t->fma ? 0 : 1)) / cb;
}

/* A shape of `channels` channels, its block not yet chosen (cb 1). */
static SimdShape shape_of(const Target *t, int channels)
{
    SimdShape s = {.lanes = t->lanes, .channels = channels, .cb = 1};
    s.nv = (channels + t->lanes - 1) / t->lanes;
    s.rem = channels % t->lanes;
    return s;
}

SimdShape simd_shape(const Target *t, int channels, int max_outputs)
{
    SimdShape s = shape_of(t, channels);
    double best = 1e30;
    /* Each step of the reduction loads cb weight vectors and P inputs for P * cb multiply-adds:
     * the fewest loads per multiply-add, 1/P + 1/cb, within the registers. */
    for (int cb = 1; cb <= 4 && cb <= s.nv; cb++) {
        if (s.nv % cb != 0)
            continue;
        int p = outputs_that_fit(t, cb);
        if (p > max_outputs)
            p = max_outputs;
        if (p > SIMD_MAX_OUTPUTS)
            p = SIMD_MAX_OUTPUTS;
        if (p < 1)
            continue;
        double cost = 1.0 / p + 1.0 / cb;
        if (cost < best - 1e-12) {
            best = cost;
            s.cb = cb;
            s.outputs = p;
        }
    }
    s.chunks = s.nv / s.cb;
    return s;
}

SimdShape simd_shape_fixed(const Target *t, int channels, int outputs)
{
    SimdShape s = shape_of(t, channels);
    s.outputs = outputs;
    /* The outputs are given (the images left over by the blocks of simd_shape): the most
     * channel vectors whose accumulators still fit, so that one image's sums are not a chain of
     * a vector or two waiting on the multiply-add's latency. */
    for (int cb = 4; cb >= 1; cb--) {
        if (cb <= s.nv && s.nv % cb == 0 && outputs_that_fit(t, cb) >= outputs) {
            s.cb = cb;
            break;
        }
    }
    s.chunks = s.nv / s.cb;
    return s;
}

void simd_expr(char *buf, size_t size, const char *base, const char *c0, long long off)
{
    int n = snprintf(buf, size, "%s", base);
    if (c0 != NULL && n >= 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, " + %s", c0);
    if (off != 0 && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " + %lld", off);
}

void simd_chunks(Writer *w, const SimdShape *s, SimdChunkBody body, void *ctx)
{
    int step = s->cb * s->lanes;
    if (s->chunks == 1) {
        body(w, s, NULL, s->rem, ctx);
        return;
    }
    /* The full chunks in a loop; the last one apart when its last vector is partial. */
    int full = s->rem == 0 ? s->chunks : s->chunks - 1;
    if (full == 1) {
        w_open_block(w);
        body(w, s, NULL, 0, ctx);
        w_close(w);
    } else {
        w_open(w, "for (int c0 = 0; c0 < %d; c0 += %d)", full * step, step);
        body(w, s, "c0", 0, ctx);
        w_close(w);
    }
    if (s->rem != 0) {
        w_open_block(w);
        w_line(w, "const int c0 = %d;", full * step);
        body(w, s, "c0", s->rem, ctx);
        w_close(w);
    }
}

void simd_load(Writer *w, const char *var, const char *base, const char *c0, long long off, bool partial, int rem)
{
    char at[EMIT_EXPR_MAX];
    simd_expr(at, sizeof at, base, c0, off);
    if (partial)
        w_line(w, "VF_LOADN(%s, %s, %d);", var, at, rem);
    else
        w_line(w, "VF_LOAD(%s, %s);", var, at);
}

void simd_store(Writer *w, const char *base, const char *c0, long long off, const char *var, bool partial, int rem)
{
    char at[EMIT_EXPR_MAX];
    simd_expr(at, sizeof at, base, c0, off);
    if (partial)
        w_line(w, "VF_STOREN(%s, %s, %d);", at, var, rem);
    else
        w_line(w, "VF_STORE(%s, %s);", at, var);
}

/* ------------------------------------------------------------------ gather: forward */

typedef struct GatherCtx {
    const SimdConv *c;
    const SimdShape *s;
    const char *c0;
    int rem;
} GatherCtx;

static void gather_block(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, int npix,
                         WindowStep step, void *vctx)
{
    const GatherCtx *gx = vctx;
    const SimdConv *c = gx->c;
    int cb = gx->s->cb, lanes = gx->s->lanes, cout = c->cout, cin = g->in_c;
    long long pstride = step.in;
    char name[32];
    w_line(w, "float *restrict py = %s + (size_t)o * %d;", c->y, cout);
    for (int p = 0; p < npix; p++) {
        for (int v = 0; v < cb; v++) {
            snprintf(name, sizeof name, "a%d_%d", p, v);
            w_line(w, "cnn_vf %s;", name);
            if (c->bias != NULL)
                simd_load(w, name, c->bias, gx->c0, (long long)v * lanes, gx->rem && v == cb - 1, gx->rem);
            else
                w_line(w, "VF_ZERO(%s);", name);
        }
    }
    /* For one kernel row the valid columns and all their input channels are one contiguous run
     * in the input and in the kernel, so each row is a single loop. */
    int len = (cr->k_hi - cr->k_lo + 1) * cin;
    if (len <= 0 || rr->k_lo > rr->k_hi)
        w_line(w, "(void)at; /* the window lies wholly in the padding */");
    for (int kh = rr->k_lo; kh <= rr->k_hi && len > 0; kh++) {
        long long xoff = window_tap_offset(g, kh, cr->k_lo);
        long long koff = ((long long)kh * g->kw + cr->k_lo) * cin * cout;
        char xr[EMIT_EXPR_MAX], kr[EMIT_EXPR_MAX];
        simd_expr(xr, sizeof xr, "at", NULL, xoff);
        simd_expr(kr, sizeof kr, c->k, gx->c0, koff);
        w_open_block(w);
        w_line(w, "/* kernel row %d, columns %d..%d */", kh, cr->k_lo, cr->k_hi);
        w_line(w, "const float *restrict xr = %s + %s%s%s;", c->x, xoff ? "(" : "", xr, xoff ? ")" : "");
        w_line(w, "const float *restrict kr = %s;", kr);
        w_open(w, "for (int j = 0; j < %d; j++)", len);
        for (int v = 0; v < cb; v++) {
            char wv[16], base[32];
            snprintf(wv, sizeof wv, "w%d", v);
            snprintf(base, sizeof base, "kr + j * %d", cout);
            w_line(w, "cnn_vf %s;", wv);
            simd_load(w, wv, base, NULL, (long long)v * lanes, gx->rem && v == cb - 1, gx->rem);
        }
        for (int p = 0; p < npix; p++) {
            char xv[EMIT_EXPR_MAX];
            simd_expr(xv, sizeof xv, "j", NULL, p * pstride);
            w_line(w, "cnn_vf x%d; VF_SET1(x%d, xr[%s]);", p, p, xv);
            for (int v = 0; v < cb; v++)
                w_line(w, "VF_FMA(a%d_%d, w%d, x%d);", p, v, v, p);
        }
        w_close(w);
        w_close(w);
    }
    for (int p = 0; p < npix; p++)
        for (int v = 0; v < cb; v++) {
            snprintf(name, sizeof name, "a%d_%d", p, v);
            simd_activate(w, c->act, name);
            simd_store(w, "py", gx->c0, (long long)p * step.out * cout + (long long)v * lanes, name,
                         gx->rem && v == cb - 1, gx->rem);
        }
    if (c->act != ACT_NONE && c->act != ACT_SOFTMAX && !simd_activation_in_registers(c->act)) {
        char buf[160], q[EMIT_EXPR_MAX];
        int valid = gx->rem ? (cb - 1) * lanes + gx->rem : cb * lanes;
        simd_expr(q, sizeof q, "py", gx->c0, 0);
        if (npix > 1) {
            w_open(w, "for (int p = 0; p < %d; p++)", npix);
            w_line(w, "float *restrict q = %s + p * %lld;", q, (long long)step.out * cout);
        } else {
            w_open_block(w);
            w_line(w, "float *restrict q = %s;", q);
        }
        w_line(w, "for (int i = 0; i < %d; i++)", valid);
        w_line(w, "    q[i] = %s;", activation_expr(c->act, "q[i]", buf, sizeof buf));
        w_close(w);
    }
}

static void gather_chunk(Writer *w, const SimdShape *s, const char *c0, int rem, void *vctx)
{
    const SimdConv *c = vctx;
    GatherCtx gx = {.c = c, .s = s, .c0 = c0, .rem = rem};
    emit_window_blocks(w, &c->g, s->outputs, gather_block, &gx);
}

void emit_simd_gather(Writer *w, const SimdConv *c)
{
    SimdShape s = simd_shape(w->target, c->cout, SIMD_MAX_OUTPUTS);
    simd_chunks(w, &s, gather_chunk, (void *)c);
}

/* ------------------------------------------------------------------ kernel gradient */

/* The output pixels whose window puts tap k inside the input, along one axis: o in [lo, hi]. */
static void tap_range(int in, int out, int k, int s, int pad, int *lo, int *hi)
{
    *lo = out;
    *hi = -1;
    for (int o = 0; o < out; o++) {
        int i = o * s - pad + k;
        if (i >= 0 && i < in) {
            if (o < *lo)
                *lo = o;
            *hi = o;
        }
    }
}

/* A block of the kernel gradient: nr consecutive rows of it (a row is one tap and input
 * channel, in kernel order), all of whose windows fall inside the input for output rows
 * oh_lo..oh_hi and columns ow_lo..ow_hi; row r reads the input rel[r] floats after row 0.
 * Usually the rows are channels of one tap (rel[r] = r); with few input channels a block
 * spans several taps, so that it still fills the registers. */
typedef struct WBlock {
    int nr;
    int oh_lo, oh_hi, ow_lo, ow_hi;
    long long rel[SIMD_MAX_OUTPUTS];
} WBlock;

static bool same_block(const WBlock *a, const WBlock *b)
{
    if (a->nr != b->nr || a->oh_lo != b->oh_lo || a->oh_hi != b->oh_hi || a->ow_lo != b->ow_lo ||
        a->ow_hi != b->ow_hi)
        return false;
    for (int r = 0; r < a->nr; r++)
        if (a->rel[r] != b->rel[r])
            return false;
    return true;
}

/* One call of a block function: the block's first row and its input offset. */
typedef struct WCall {
    long long row, xoff;
    int shape; /* index into WPlan.shapes; -1: the tap never falls inside the input */
} WCall;

/* The distinct block shapes (one function each) and the calls, in kernel order. */
typedef struct WPlan {
    WBlock *shapes;
    int nshapes;
    WCall *calls;
    int ncalls;
} WPlan;

static int shape_index(WPlan *p, const WBlock *b)
{
    for (int i = 0; i < p->nshapes; i++)
        if (same_block(&p->shapes[i], b))
            return i;
    p->shapes[p->nshapes] = *b;
    return p->nshapes++;
}

/* Groups the rows of the kernel gradient into blocks of at most per_block rows whose taps
 * share the same output ranges. */
static void plan_blocks(const Window *g, int per_block, WPlan *p)
{
    long long rows = (long long)g->kh * g->kw * g->in_c;
    p->shapes = xcalloc((size_t)rows, sizeof *p->shapes);
    p->calls = xcalloc((size_t)rows, sizeof *p->calls);
    p->nshapes = p->ncalls = 0;
    WBlock cur = {0};
    long long first = 0, first_off = 0;
    for (long long row = 0; row <= rows; row++) {
        WBlock b = {0};
        long long off = 0;
        if (row < rows) {
            int t = (int)(row / g->in_c), ci = (int)(row % g->in_c), kh = t / g->kw, kw = t % g->kw;
            tap_range(g->in_h, g->out_h, kh, g->sh, g->pad_top, &b.oh_lo, &b.oh_hi);
            tap_range(g->in_w, g->out_w, kw, g->sw, g->pad_left, &b.ow_lo, &b.ow_hi);
            off = window_tap_offset(g, kh, kw) + ci;
        }
        bool same_range = cur.nr > 0 && b.oh_lo == cur.oh_lo && b.oh_hi == cur.oh_hi && b.ow_lo == cur.ow_lo &&
                          b.ow_hi == cur.ow_hi;
        if (cur.nr > 0 && (row == rows || !same_range || cur.nr == per_block)) {
            bool empty = cur.oh_lo > cur.oh_hi || cur.ow_lo > cur.ow_hi;
            p->calls[p->ncalls++] = (WCall){.row = first, .xoff = first_off, .shape = empty ? -1 : shape_index(p, &cur)};
            cur.nr = 0;
        }
        if (row == rows)
            break;
        if (cur.nr == 0) {
            cur = b;
            first = row;
            first_off = off;
        }
        cur.rel[cur.nr++] = off - first_off;
    }
}

typedef struct WGradCtx {
    const SimdConv *c;
    const WBlock *b;
} WGradCtx;

static void wgrad_chunk(Writer *w, const SimdShape *s, const char *c0, int rem, void *vctx)
{
    const WGradCtx *wx = vctx;
    const SimdConv *c = wx->c;
    const WBlock *b = wx->b;
    const Window *g = &c->g;
    int cb = s->cb, lanes = s->lanes, cout = c->cout, cin = g->in_c;
    char row[64], col[64], gp[EMIT_EXPR_MAX];
    for (int r = 0; r < b->nr; r++)
        for (int v = 0; v < cb; v++)
            w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
    w_open_range(w, "oh", b->oh_lo, b->oh_hi);
    w_open_range(w, "ow", b->ow_lo, b->ow_hi);
    window_start_expr(row, sizeof row, "oh", g->sh, g->pad_top);
    window_start_expr(col, sizeof col, "ow", g->sw, g->pad_left);
    if (cin == 1)
        w_line(w, "const int at = %s * %d + %s + off;", row, g->in_w, col);
    else
        w_line(w, "const int at = (%s * %d + %s) * %d + off;", row, g->in_w, col, cin);
    char o[64];
    snprintf(o, sizeof o, "dz + (oh * %d + ow) * %d", g->out_w, cout);
    simd_expr(gp, sizeof gp, o, c0, 0);
    w_line(w, "const float *restrict gp = %s;", gp);
    for (int v = 0; v < cb; v++) {
        char gv[16];
        snprintf(gv, sizeof gv, "g%d", v);
        w_line(w, "cnn_vf %s;", gv);
        simd_load(w, gv, "gp", NULL, (long long)v * lanes, rem && v == cb - 1, rem);
    }
    for (int r = 0; r < b->nr; r++) {
        char xv[EMIT_EXPR_MAX];
        simd_expr(xv, sizeof xv, "at", NULL, b->rel[r]);
        w_line(w, "cnn_vf x%d; VF_SET1(x%d, x[%s]);", r, r, xv);
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_FMA(a%d_%d, g%d, x%d);", r, v, v, r);
    }
    w_close(w);
    w_close(w);
    for (int r = 0; r < b->nr; r++) {
        for (int v = 0; v < cb; v++) {
            char sv[32], av[32];
            bool partial = rem && v == cb - 1;
            long long off = (long long)r * cout + (long long)v * lanes;
            snprintf(sv, sizeof sv, "s%d_%d", r, v);
            snprintf(av, sizeof av, "a%d_%d", r, v);
            w_line(w, "cnn_vf %s;", sv);
            simd_load(w, sv, "dk", c0, off, partial, rem);
            w_line(w, "VF_ADD(%s, %s);", sv, av);
            simd_store(w, "dk", c0, off, sv, partial, rem);
        }
    }
}

void emit_simd_kernel_grad_functions(Writer *w, const char *name, const SimdConv *c)
{
    const Window *g = &c->g;
    SimdShape s = simd_shape(w->target, c->cout, SIMD_MAX_OUTPUTS);
    WPlan p;
    plan_blocks(g, s.outputs, &p);
    for (int i = 0; i < p.nshapes; i++) {
        const WBlock *b = &p.shapes[i];
        w_line(w, "/* %s, %d rows of the kernel gradient held in registers over output rows %d..%d, columns %d..%d:",
               name, b->nr, b->oh_lo, b->oh_hi, b->ow_lo, b->ow_hi);
        w_line(w, " * dk[r][co] += x[at + off + rel(r)] * dz[o][co], at the window of output pixel o. */");
        w_begin_function(w, "static void %s_wgrad%d(float *restrict dk, const float *restrict x, const float *restrict dz, int off)",
                         name, i);
        WGradCtx wx = {.c = c, .b = b};
        simd_chunks(w, &s, wgrad_chunk, &wx);
        w_close(w);
        w_blank(w);
    }
    free(p.shapes);
    free(p.calls);
}

void emit_simd_kernel_grad_calls(Writer *w, const char *name, const SimdConv *c)
{
    SimdShape s = simd_shape(w->target, c->cout, SIMD_MAX_OUTPUTS);
    WPlan p;
    plan_blocks(&c->g, s.outputs, &p);
    for (int i = 0; i < p.ncalls; i++) {
        const WCall *k = &p.calls[i];
        char dk[EMIT_EXPR_MAX];
        if (k->shape < 0)
            continue; /* a tap that never falls inside the input has no gradient */
        simd_expr(dk, sizeof dk, c->k, NULL, k->row * c->cout);
        w_line(w, "%s_wgrad%d(%s, %s, %s, %lld);", name, k->shape, dk, c->x, c->y, k->xoff);
    }
    free(p.shapes);
    free(p.calls);
}
