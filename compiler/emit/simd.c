/*
 * emit/simd.c - the register-blocked kernels that conv2d and dense are built from.
 *
 * The hot passes are small matrix products. Written as one output at a time they reload every
 * accumulator from memory for each multiply-add and reach about a tenth of the machine's
 * peak; here a block of P outputs (pixels or images) times up to 64 channels stays in vector
 * registers for the whole reduction, so each loaded weight vector feeds P multiply-adds and
 * each broadcast input feeds up to four. The generated code uses a vector of 16 floats (one
 * AVX-512 register) through five macros: GNU C vector extensions where the compiler has
 * them and the target has AVX-512, plain loops over a float[16] otherwise, with the same operations in the
 * same order, so both give the same results. Macros rather than inline functions keep vector
 * values out of function signatures, whose ABI depends on the target's vector width.
 */
#include <stdlib.h>

#include "emit/writer.h"

void emit_simd_prelude(Writer *w)
{
    w_line(w, "/* A vector of %d floats: GNU C vector extensions where the target has AVX-512, whose 32", SIMD_LANES);
    w_line(w, " * registers the blocks are sized for; elsewhere a plain array, with the same results (and");
    w_line(w, " * compiled far faster for narrower targets). Loads and stores go through memcpy, so no");
    w_line(w, " * pointer needs any alignment. */");
    w_line(w, "#if defined(__GNUC__) && defined(__AVX512F__) && !defined(CNN_NO_VECTOR_EXTENSIONS)");
    w_line(w, "#define CNN_VF_IS_VECTOR 1");
    w_line(w, "__extension__ typedef float cnn_vf __attribute__((vector_size(%d * sizeof(float))));", SIMD_LANES);
    w_line(w, "#define VF_FMA(acc, v, s) ((acc) += (v) * (s))");
    w_line(w, "#define VF_ADD(acc, v) ((acc) += (v))");
    w_line(w, "#else");
    w_line(w, "typedef float cnn_vf[%d];", SIMD_LANES);
    w_line(w, "#define VF_FMA(acc, v, s) do { for (int l_ = 0; l_ < %d; l_++) (acc)[l_] += (v)[l_] * (s); } while (0)",
           SIMD_LANES);
    w_line(w, "#define VF_ADD(acc, v) do { for (int l_ = 0; l_ < %d; l_++) (acc)[l_] += (v)[l_]; } while (0)",
           SIMD_LANES);
    w_line(w, "#endif");
    w_line(w, "/* Local arrays are aligned to a vector: gcc 12 at -O2 with AVX-512 may move them with");
    w_line(w, " * aligned vector instructions without aligning the stack first (a crash). */");
    w_line(w, "#if defined(__GNUC__)");
    w_line(w, "#define CNN_STACK_ALIGN __attribute__((aligned(64)))");
    w_line(w, "#else");
    w_line(w, "#define CNN_STACK_ALIGN");
    w_line(w, "#endif");
    w_line(w, "#define VF_ZERO(v) memset(&(v), 0, sizeof(cnn_vf))");
    w_line(w, "#define VF_LOAD(v, p) memcpy(&(v), (p), sizeof(cnn_vf))");
    w_line(w, "#define VF_STORE(p, v) memcpy((p), &(v), sizeof(cnn_vf))");
    w_blank(w);
}

/* At most SIMD_ACCUMULATORS accumulators: 1 to 4 vectors of channels, the most that divides them. */
int simd_chunk_vectors(int channels)
{
    int nv = channels / SIMD_LANES;
    for (int c = 4; c > 1; c--)
        if (nv % c == 0)
            return c;
    return 1;
}

int simd_block_outputs(int channels)
{
    return SIMD_ACCUMULATORS / simd_chunk_vectors(channels);
}

bool simd_fits(long long channels)
{
    return channels > 0 && channels % SIMD_LANES == 0;
}

void simd_open_chunks(Writer *w, int channels)
{
    int cb = simd_chunk_vectors(channels);
    if (channels == cb * SIMD_LANES) {
        w_open_block(w);
        w_line(w, "const int c0 = 0;");
        return;
    }
    w_open(w, "for (int c0 = 0; c0 < %d; c0 += %d)", channels, cb * SIMD_LANES);
}

/* ------------------------------------------------------------------ gather: forward */

typedef struct GatherCtx {
    const SimdConv *c;
    int cb; /* vectors of output channels per block */
} GatherCtx;

static void gather_block(Writer *w, const Window *g, const WindowRun *rr, const WindowRun *cr, int npix,
                         WindowStep step, void *vctx)
{
    const GatherCtx *gx = vctx;
    const SimdConv *c = gx->c;
    int cb = gx->cb, cout = c->cout, cin = g->in_c;
    long long pstride = step.in;
    w_line(w, "float *restrict py = %s + (size_t)o * %d;", c->y, cout);
    for (int p = 0; p < npix; p++) {
        for (int v = 0; v < cb; v++) {
            if (c->bias != NULL)
                w_line(w, "cnn_vf a%d_%d; VF_LOAD(a%d_%d, %s + c0 + %d);", p, v, p, v, c->bias, v * SIMD_LANES);
            else
                w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", p, v, p, v);
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
        w_open_block(w);
        w_line(w, "/* kernel row %d, columns %d..%d */", kh, cr->k_lo, cr->k_hi);
        w_line(w, "const float *restrict xr = %s + (at + %lld);", c->x, xoff);
        w_line(w, "const float *restrict kr = %s + %lld + c0;", c->k, koff);
        w_open(w, "for (int j = 0; j < %d; j++)", len);
        for (int v = 0; v < cb; v++)
            w_line(w, "cnn_vf w%d; VF_LOAD(w%d, kr + j * %d + %d);", v, v, cout, v * SIMD_LANES);
        for (int p = 0; p < npix; p++) {
            w_line(w, "const float x%d = xr[j + %lld];", p, p * pstride);
            for (int v = 0; v < cb; v++)
                w_line(w, "VF_FMA(a%d_%d, w%d, x%d);", p, v, v, p);
        }
        w_close(w);
        w_close(w);
    }
    for (int p = 0; p < npix; p++)
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_STORE(py + c0 + %lld, a%d_%d);", (long long)p * step.out * cout + v * SIMD_LANES, p, v);
    if (c->act != ACT_NONE && c->act != ACT_SOFTMAX) {
        char buf[160], src[64];
        snprintf(src, sizeof src, "q[i]");
        w_open(w, "for (int p = 0; p < %d; p++)", npix);
        w_line(w, "float *restrict q = py + c0 + p * %lld;", (long long)step.out * cout);
        w_line(w, "for (int i = 0; i < %d; i++)", cb * SIMD_LANES);
        w_line(w, "    q[i] = %s;", activation_expr(c->act, src, buf, sizeof buf));
        w_close(w);
    }
}

void emit_simd_gather(Writer *w, const SimdConv *c)
{
    GatherCtx gx = {.c = c, .cb = simd_chunk_vectors(c->cout)};
    int npix = simd_block_outputs(c->cout);
    simd_open_chunks(w, c->cout);
    emit_window_blocks(w, &c->g, npix, gather_block, &gx);
    w_close(w);
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
    long long rel[SIMD_ACCUMULATORS];
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

void emit_simd_kernel_grad_functions(Writer *w, const char *name, const SimdConv *c)
{
    const Window *g = &c->g;
    int cb = simd_chunk_vectors(c->cout), per_block = simd_block_outputs(c->cout), cin = g->in_c, cout = c->cout;
    WPlan p;
    plan_blocks(g, per_block, &p);
    for (int s = 0; s < p.nshapes; s++) {
        const WBlock *b = &p.shapes[s];
        w_line(w, "/* %s, %d rows of the kernel gradient held in registers over output rows %d..%d, columns %d..%d:",
               name, b->nr, b->oh_lo, b->oh_hi, b->ow_lo, b->ow_hi);
        w_line(w, " * dk[r][co] += x[at + off + rel(r)] * dz[o][co], at the window of output pixel o. */");
        w_begin_function(w, "static void %s_wgrad%d(float *restrict dk, const float *restrict x, const float *restrict dz, int off)",
                         name, s);
        simd_open_chunks(w, cout);
        for (int r = 0; r < b->nr; r++)
            for (int v = 0; v < cb; v++)
                w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
        w_open(w, "for (int oh = %d; oh <= %d; oh++)", b->oh_lo, b->oh_hi);
        w_open(w, "for (int ow = %d; ow <= %d; ow++)", b->ow_lo, b->ow_hi);
        w_line(w, "const int at = ((oh * %d - %d) * %d + (ow * %d - %d)) * %d + off;", g->sh, g->pad_top, g->in_w, g->sw,
               g->pad_left, cin);
        w_line(w, "const float *restrict gp = dz + (oh * %d + ow) * %d + c0;", g->out_w, cout);
        for (int v = 0; v < cb; v++)
            w_line(w, "cnn_vf g%d; VF_LOAD(g%d, gp + %d);", v, v, v * SIMD_LANES);
        for (int r = 0; r < b->nr; r++) {
            w_line(w, "const float x%d = x[at + %lld];", r, b->rel[r]);
            for (int v = 0; v < cb; v++)
                w_line(w, "VF_FMA(a%d_%d, g%d, x%d);", r, v, v, r);
        }
        w_close(w);
        w_close(w);
        for (int r = 0; r < b->nr; r++) {
            for (int v = 0; v < cb; v++) {
                w_line(w, "cnn_vf s%d_%d; VF_LOAD(s%d_%d, dk + c0 + %d);", r, v, r, v, r * cout + v * SIMD_LANES);
                w_line(w, "VF_ADD(s%d_%d, a%d_%d);", r, v, r, v);
                w_line(w, "VF_STORE(dk + c0 + %d, s%d_%d);", r * cout + v * SIMD_LANES, r, v);
            }
        }
        w_close(w);
        w_close(w);
        w_blank(w);
    }
    free(p.shapes);
    free(p.calls);
}

void emit_simd_kernel_grad_calls(Writer *w, const char *name, const SimdConv *c)
{
    WPlan p;
    plan_blocks(&c->g, simd_block_outputs(c->cout), &p);
    for (int i = 0; i < p.ncalls; i++) {
        const WCall *k = &p.calls[i];
        if (k->shape < 0)
            continue; /* a tap that never falls inside the input has no gradient */
        w_line(w, "%s_wgrad%d(%s + %lld, %s, %s, %lld);", name, k->shape, c->k, k->row * c->cout, c->x, c->y, k->xoff);
    }
    free(p.shapes);
    free(p.calls);
}
