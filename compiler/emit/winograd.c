/*
 * emit/winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
 *
 * The direct convolution (emit/simd.c) already runs near the FMA peak, so the only way left to
 * be faster is fewer multiplications. F(4x4, 3x3) computes a 4x4 tile of outputs from the 6x6
 * patch of the input under it with 36 products per pair of channels where the direct
 * convolution needs 144:
 *
 *     Y = A^T [ (G g G^T) . (B^T d B) ] A
 *
 * g the 3x3 kernel of one pair of channels, d the 6x6 patch of one input channel, "." the
 * product point by point. Summed over the input channels, the 36 points are 36 independent
 * matrix products, [tiles x in_c] by [in_c x out_c], which take the same register blocks as
 * the direct convolution. The pass has three parts: the kernel transformed once per call
 * (U = G g G^T, [36][in_c][out_c]); then, image by image, every patch transformed
 * (V = B^T d B, [36][tiles][in_c]), the 36 products (M = V U, [36][tiles][out_c]), and every
 * tile transformed back (A^T M A, plus the bias) into the output. Each transform is two passes
 * of its one-dimensional form, over the columns and then the rows, a vector of channels at a
 * time; patches that stick out of the input read zeros there, and tiles that stick out of the
 * output store only their inside. U, V and M are padded to whole vectors of channels, so the
 * products load and store whole vectors.
 *
 * The transforms' constants (4, 5, 1/6, 1/24, 8) round more than the direct sum does: each
 * output's error grows with the whole 6x6 patch rather than its own 3x3 window. With at least
 * 32 input channels the measured worst case (random inputs, half of them zero as after a relu)
 * stays within a fifth of the rounding bound the tests hold every sum of as many terms to,
 * u (2 + 6 sqrt(9 in_c)) S; with few channels it does not, and the direct convolution is used.
 */
#include <stdlib.h>

#include "emit/winograd.h"

#define TILE 4       /* outputs along a side of a tile */
#define PATCH 6      /* inputs along a side of the patch under it: TILE + 3 - 1 */
#define POINTS 36    /* PATCH * PATCH: the products per tile and pair of channels */

/* See the comment at the top: fewer input channels round too much. */
#define WINOGRAD_MIN_CIN 32
/* U, V and M live on the stack of the thread running the pass (8 MiB by default): at most
 * this many floats (1 MiB). */
#define WINOGRAD_MAX_STACK (1 << 18)
/* How many times fewer vector operations than the direct convolution Winograd must need: the
 * transforms' loads and stores and the padded tiles cost more than the count says. Measured on
 * the seed model's conv2d_2 (Zen 4, AVX-512): forward 2.9 times fewer by the count, 2.5 times
 * faster; its input gradient (a 13x13 output: 16 tiles for 169 pixels) 1.6 times fewer, only
 * 1.24 times faster, and left direct. */
#define WINOGRAD_GAIN 2.0
/* Vector operations of the transforms per tile and channel, counted from the code below: the
 * patch's 12 one-dimensional transforms of 12 operations each, the tile's 10 of 10. */
#define PATCH_OPS 144
#define TILE_OPS 100
/* The widest vector of any target, for sizes that must not depend on the target. */
#define MAX_LANES 16

/* The shape of one convolution in tiles and padded channels. */
typedef struct Geo {
    int cin, cout, cinp, coutp; /* channels, and rounded up to whole vectors */
    int th, tw, tiles;          /* tiles down, across, in all */
} Geo;

static int round_up(int n, int to)
{
    return (n + to - 1) / to * to;
}

static Geo geo(const Window *g, int cout, int lanes)
{
    Geo s = {.cin = g->in_c, .cout = cout, .cinp = round_up(g->in_c, lanes), .coutp = round_up(cout, lanes)};
    s.th = (g->out_h + TILE - 1) / TILE;
    s.tw = (g->out_w + TILE - 1) / TILE;
    s.tiles = s.th * s.tw;
    return s;
}

static long long stack_floats(const Geo *s)
{
    return (long long)POINTS * ((long long)s->cin * s->coutp + (long long)s->tiles * (s->cinp + s->coutp));
}

/* The taps of a window that fall inside the input, summed over the outputs along one axis. */
static long long taps_along(int in, int out, int k, int pad)
{
    long long n = 0;
    for (int o = 0; o < out; o++) {
        int start = o - pad, lo = start < 0 ? -start : 0, hi = start + k > in ? in - start - 1 : k - 1;
        if (hi >= lo)
            n += hi - lo + 1;
    }
    return n;
}

bool winograd_applies(const Window *g, int cout)
{
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->in_c < WINOGRAD_MIN_CIN)
        return false;
    Geo s = geo(g, cout, MAX_LANES);
    if (stack_floats(&s) > WINOGRAD_MAX_STACK)
        return false;
    /* Vector operations per image: the direct convolution's multiply-adds (the taps inside the
     * input only, as emit/simd.c skips the padding) against the products and transforms. */
    double direct = (double)taps_along(g->in_h, g->out_h, 3, g->pad_top) *
                    (double)taps_along(g->in_w, g->out_w, 3, g->pad_left) * s.cin * s.cout;
    double winograd = (double)s.tiles * (POINTS * (double)s.cin * s.cout + PATCH_OPS * s.cin + TILE_OPS * s.cout);
    return direct >= WINOGRAD_GAIN * winograd;
}

/* ------------------------------------------------------------------ one-dimensional transforms */

/* Each writes statements computing vectors named by `out` from vectors named by `in`, both
 * patterns with one %d for the index (e.g. "t[%d][c]"). They never alias. */
typedef struct Names {
    char v[PATCH][48];
} Names;

static Names names(const char *pattern, int n)
{
    Names s;
    for (int i = 0; i < n; i++)
        snprintf(s.v[i], sizeof s.v[i], pattern, i);
    return s;
}

/* The patch's rows (or columns) d0..d5 to B^T d:
 *   4 d0 - 5 d2 + d4,  -4 d1 - 4 d2 + d3 + d4,  4 d1 - 4 d2 - d3 + d4,
 *   -2 d1 - d2 + 2 d3 + d4,  2 d1 - d2 - 2 d3 + d4,  4 d1 - 5 d3 + d5. */
static void emit_bt(Writer *w, const char *out, const char *in)
{
    Names o = names(out, 6), d = names(in, 6);
    w_open_block(w);
    w_line(w, "cnn_vf h0, h1, h2, h3;");
    w_line(w, "VF_COPY(%s, %s); VF_FMA(%s, wk_4, %s); VF_FMA(%s, wk_m5, %s);", o.v[0], d.v[4], o.v[0], d.v[0], o.v[0],
           d.v[2]);
    w_line(w, "VF_COPY(h0, %s); VF_FMA(h0, wk_m4, %s); /* d4 - 4 d2 */", d.v[4], d.v[2]);
    w_line(w, "VF_COPY(h1, %s); VF_FMA(h1, wk_m4, %s); /* d3 - 4 d1 */", d.v[3], d.v[1]);
    w_line(w, "VF_COPY(%s, h0); VF_ADD(%s, h1);", o.v[1], o.v[1]);
    w_line(w, "VF_COPY(%s, h0); VF_SUB(%s, h1);", o.v[2], o.v[2]);
    w_line(w, "VF_COPY(h2, %s); VF_SUB(h2, %s); /* d4 - d2 */", d.v[4], d.v[2]);
    w_line(w, "VF_COPY(h3, %s); VF_SUB(h3, %s); /* d3 - d1 */", d.v[3], d.v[1]);
    w_line(w, "VF_COPY(%s, h2); VF_FMA(%s, wk_2, h3);", o.v[3], o.v[3]);
    w_line(w, "VF_COPY(%s, h2); VF_FMA(%s, wk_m2, h3);", o.v[4], o.v[4]);
    w_line(w, "VF_COPY(%s, %s); VF_FMA(%s, wk_4, %s); VF_FMA(%s, wk_m5, %s);", o.v[5], d.v[5], o.v[5], d.v[1], o.v[5],
           d.v[3]);
    w_close(w);
}

/* The kernel's rows (or columns) g0..g2 to G g:
 *   g0 / 4,  -(g0 + g1 + g2) / 6,  -(g0 - g1 + g2) / 6,  g0 / 24 + g1 / 12 + g2 / 6,
 *   g0 / 24 - g1 / 12 + g2 / 6,  g2. */
static void emit_g(Writer *w, const char *out, const char *in)
{
    Names o = names(out, 6), g = names(in, 3);
    w_open_block(w);
    w_line(w, "cnn_vf h0, h1;");
    w_line(w, "VF_COPY(%s, %s); VF_MUL(%s, wk_q);", o.v[0], g.v[0], o.v[0]);
    w_line(w, "VF_COPY(h0, %s); VF_ADD(h0, %s); /* g0 + g2 */", g.v[0], g.v[2]);
    w_line(w, "VF_COPY(%s, h0); VF_ADD(%s, %s); VF_MUL(%s, wk_m6);", o.v[1], o.v[1], g.v[1], o.v[1]);
    w_line(w, "VF_COPY(%s, h0); VF_SUB(%s, %s); VF_MUL(%s, wk_m6);", o.v[2], o.v[2], g.v[1], o.v[2]);
    w_line(w, "VF_COPY(h0, %s); VF_MUL(h0, wk_24); VF_FMA(h0, wk_6, %s); /* g0 / 24 + g2 / 6 */", g.v[0], g.v[2]);
    w_line(w, "VF_COPY(h1, %s); VF_MUL(h1, wk_12); /* g1 / 12 */", g.v[1]);
    w_line(w, "VF_COPY(%s, h0); VF_ADD(%s, h1);", o.v[3], o.v[3]);
    w_line(w, "VF_COPY(%s, h0); VF_SUB(%s, h1);", o.v[4], o.v[4]);
    w_line(w, "VF_COPY(%s, %s);", o.v[5], g.v[2]);
    w_close(w);
}

/* The products' rows (or columns) m0..m5 to A^T m:
 *   m0 + m1 + m2 + m3 + m4,  m1 - m2 + 2 (m3 - m4),  m1 + m2 + 4 (m3 + m4),
 *   m1 - m2 + 8 (m3 - m4) + m5. */
static void emit_at(Writer *w, const char *out, const char *in)
{
    Names o = names(out, 4), m = names(in, 6);
    w_open_block(w);
    w_line(w, "cnn_vf h0, h1, h2, h3;");
    w_line(w, "VF_COPY(h0, %s); VF_ADD(h0, %s); /* m1 + m2 */", m.v[1], m.v[2]);
    w_line(w, "VF_COPY(h1, %s); VF_SUB(h1, %s); /* m1 - m2 */", m.v[1], m.v[2]);
    w_line(w, "VF_COPY(h2, %s); VF_ADD(h2, %s); /* m3 + m4 */", m.v[3], m.v[4]);
    w_line(w, "VF_COPY(h3, %s); VF_SUB(h3, %s); /* m3 - m4 */", m.v[3], m.v[4]);
    w_line(w, "VF_COPY(%s, %s); VF_ADD(%s, h0); VF_ADD(%s, h2);", o.v[0], m.v[0], o.v[0], o.v[0]);
    w_line(w, "VF_COPY(%s, h1); VF_FMA(%s, wk_2, h3);", o.v[1], o.v[1]);
    w_line(w, "VF_COPY(%s, h0); VF_FMA(%s, wk_4, h2);", o.v[2], o.v[2]);
    w_line(w, "VF_COPY(%s, %s); VF_ADD(%s, h1); VF_FMA(%s, wk_8, h3);", o.v[3], m.v[5], o.v[3], o.v[3]);
    w_close(w);
}

/* `cnn_vf NAME; VF_SET1(NAME, VALUE);` for each constant a transform multiplies by. The
 * fractions are written as divisions of the file's float type, so that they are as exact as
 * that type allows (the tests compile the plain-C target with float as double). */
typedef struct Constant {
    const char *name, *value;
} Constant;

static void emit_constants(Writer *w, const Constant *k, int n)
{
    for (int i = 0; i < n; i++)
        w_line(w, "cnn_vf %s; VF_SET1(%s, %s);", k[i].name, k[i].name, k[i].value);
}

/* The channels of a transform in vectors: a loop over the whole ones, then the last one apart
 * where it is partial. body writes one vector's code for offset c0 ("c0" or NULL for 0). */
typedef void (*ChannelBody)(Writer *w, const char *c0, int rem, void *ctx);

static void channel_vectors(Writer *w, int channels, int lanes, ChannelBody body, void *ctx)
{
    int nv = (channels + lanes - 1) / lanes, rem = channels % lanes, full = rem == 0 ? nv : nv - 1;
    if (nv == 1) {
        body(w, NULL, rem, ctx);
        return;
    }
    if (full == 1) {
        w_open_block(w);
        body(w, NULL, 0, ctx);
        w_close(w);
    } else {
        w_open(w, "for (int c0 = 0; c0 < %d; c0 += %d)", full * lanes, lanes);
        body(w, "c0", 0, ctx);
        w_close(w);
    }
    if (rem != 0) {
        w_open_block(w);
        w_line(w, "const int c0 = %d;", full * lanes);
        body(w, "c0", rem, ctx);
        w_close(w);
    }
}

/* ------------------------------------------------------------------ the kernel */

typedef struct KernelCtx {
    const SimdConv *c;
    Geo s;
    const char *u;
} KernelCtx;

static void kernel_vector(Writer *w, const char *c0, int rem, void *vctx)
{
    const KernelCtx *k = vctx;
    const Geo *s = &k->s;
    char at[EMIT_EXPR_MAX], base[64];
    w_line(w, "cnn_vf t[6][3];");
    w_open(w, "for (int c = 0; c < 3; c++)");
    w_line(w, "cnn_vf g[3];");
    for (int r = 0; r < 3; r++) {
        snprintf(base, sizeof base, "%s + (%d + c) * %d + ci * %d", k->c->k, r * 3, s->cin * s->cout, s->cout);
        simd_expr(at, sizeof at, base, c0, 0);
        if (rem)
            w_line(w, "VF_LOADN(g[%d], %s, %d);", r, at, rem);
        else
            w_line(w, "VF_LOAD(g[%d], %s);", r, at);
    }
    emit_g(w, "t[%d][c]", "g[%d]");
    w_close(w);
    w_open(w, "for (int r = 0; r < 6; r++)");
    w_line(w, "cnn_vf e[6];");
    emit_g(w, "e[%d]", "t[r][%d]");
    w_line(w, "float *restrict ur = %s + (r * 6 * %d + ci) * %d;", k->u, s->cin, s->coutp);
    for (int j = 0; j < 6; j++) {
        snprintf(base, sizeof base, "ur + %d", j * s->cin * s->coutp);
        simd_expr(at, sizeof at, j == 0 ? "ur" : base, c0, 0);
        w_line(w, "VF_STORE(%s, e[%d]);", at, j);
    }
    w_close(w);
}

void emit_winograd_kernel(Writer *w, const SimdConv *c, const char *u)
{
    static const Constant g_constants[] = {
        {"wk_q", "0.25f"}, {"wk_m6", "(float)-1 / 6"}, {"wk_24", "(float)1 / 24"}, {"wk_6", "(float)1 / 6"},
        {"wk_12", "(float)1 / 12"},
    };
    KernelCtx k = {.c = c, .s = geo(&c->g, c->cout, w->target->lanes), .u = u};
    w_line(w, "/* The kernel transformed, %s[xi][ci][co] = (G g G^T)[xi] for the 3x3 kernel g of channels ci, co:", u);
    w_line(w, " * [36][%d][%d], the output channels rounded up to whole vectors (zeros past %d). */", k.s.cin,
           k.s.coutp, k.s.cout);
    w_line(w, "float %s[%lld] CNN_STACK_ALIGN;", u, (long long)POINTS * k.s.cin * k.s.coutp);
    w_open_block(w);
    emit_constants(w, g_constants, 5);
    w_open(w, "for (int ci = 0; ci < %d; ci++)", k.s.cin);
    channel_vectors(w, k.s.cout, w->target->lanes, kernel_vector, &k);
    w_close(w);
    w_close(w);
}

/* ------------------------------------------------------------------ one image */

void emit_winograd_scratch(Writer *w, const SimdConv *c)
{
    Geo s = geo(&c->g, c->cout, w->target->lanes);
    w_line(w, "/* One image in %d tiles of 4x4 outputs: its patches transformed, wv[xi][tile][ci], and", s.tiles);
    w_line(w, " * their products with the kernel, wm[xi][tile][co]. */");
    w_line(w, "float wv[%lld] CNN_STACK_ALIGN;", (long long)POINTS * s.tiles * s.cinp);
    w_line(w, "float wm[%lld] CNN_STACK_ALIGN;", (long long)POINTS * s.tiles * s.coutp);
}

typedef struct PatchCtx {
    const SimdConv *c;
    Geo s;
    const WindowRun *rows, *cols; /* the patch rows and columns inside the input */
} PatchCtx;

/* One vector of channels of one patch: two passes of B^T into wv. */
static void patch_vector(Writer *w, const char *c0, int rem, void *vctx)
{
    const PatchCtx *p = vctx;
    const Window *g = &p->c->g;
    const Geo *s = &p->s;
    char at[EMIT_EXPR_MAX], base[96];
    w_line(w, "cnn_vf t[6][6];");
    w_open(w, "for (int c = %d; c <= %d; c++)", p->cols->k_lo, p->cols->k_hi);
    w_line(w, "cnn_vf d[6];");
    for (int r = 0; r < PATCH; r++) {
        if (r < p->rows->k_lo || r > p->rows->k_hi) {
            w_line(w, "VF_ZERO(d[%d]); /* above or below the input */", r);
            continue;
        }
        if (r == 0)
            snprintf(base, sizeof base, "%s + (at + c * %d)", p->c->x, s->cin);
        else
            snprintf(base, sizeof base, "%s + (at + c * %d + %d)", p->c->x, s->cin, r * g->in_w * s->cin);
        simd_expr(at, sizeof at, base, c0, 0);
        if (rem)
            w_line(w, "VF_LOADN(d[%d], %s, %d);", r, at, rem);
        else
            w_line(w, "VF_LOAD(d[%d], %s);", r, at);
    }
    emit_bt(w, "t[%d][c]", "d[%d]");
    w_close(w);
    for (int cc = 0; cc < PATCH; cc++)
        if (cc < p->cols->k_lo || cc > p->cols->k_hi)
            w_line(w, "for (int r = 0; r < 6; r++) VF_ZERO(t[r][%d]); /* left or right of the input */", cc);
    w_open(w, "for (int r = 0; r < 6; r++)");
    w_line(w, "cnn_vf e[6];");
    emit_bt(w, "e[%d]", "t[r][%d]");
    w_line(w, "float *restrict vr = wv + (r * 6 * %d + tile) * %d;", s->tiles, s->cinp);
    for (int j = 0; j < PATCH; j++) {
        snprintf(base, sizeof base, "vr + %d", j * s->tiles * s->cinp);
        simd_expr(at, sizeof at, j == 0 ? "vr" : base, c0, 0);
        w_line(w, "VF_STORE(%s, e[%d]);", at, j);
    }
    w_close(w);
}

typedef struct TileCtx {
    const SimdConv *c;
    Geo s;
    int rows, cols; /* outputs of the tile inside the output */
} TileCtx;

/* One vector of channels of one tile: two passes of A^T from wm, plus the bias, into y. */
static void tile_vector(Writer *w, const char *c0, int rem, void *vctx)
{
    const TileCtx *t = vctx;
    const SimdConv *c = t->c;
    const Geo *s = &t->s;
    char at[EMIT_EXPR_MAX], base[96];
    if (c->bias != NULL) {
        simd_expr(at, sizeof at, c->bias, c0, 0);
        w_line(w, "cnn_vf bv;");
        if (rem)
            w_line(w, "VF_LOADN(bv, %s, %d);", at, rem);
        else
            w_line(w, "VF_LOAD(bv, %s);", at);
    }
    w_line(w, "cnn_vf t[4][6];");
    w_open(w, "for (int c = 0; c < 6; c++)");
    w_line(w, "const float *restrict mc = wm + (c * %d + tile) * %d;", s->tiles, s->coutp);
    w_line(w, "cnn_vf m[6];");
    for (int r = 0; r < PATCH; r++) {
        snprintf(base, sizeof base, "mc + %d", r * PATCH * s->tiles * s->coutp);
        simd_expr(at, sizeof at, r == 0 ? "mc" : base, c0, 0);
        w_line(w, "VF_LOAD(m[%d], %s);", r, at);
    }
    emit_at(w, "t[%d][c]", "m[%d]");
    w_close(w);
    if (t->rows > 1)
        w_open(w, "for (int r = 0; r < %d; r++)", t->rows);
    else {
        w_open_block(w);
        w_line(w, "const int r = 0;");
    }
    w_line(w, "cnn_vf e[4];");
    emit_at(w, "e[%d]", "t[r][%d]");
    w_line(w, "float *restrict yr = %s + (size_t)(o + r * %d) * %d;", c->y, c->g.out_w, s->cout);
    for (int j = 0; j < t->cols; j++) {
        if (c->bias != NULL)
            w_line(w, "VF_ADD(e[%d], bv);", j);
        snprintf(base, sizeof base, "e[%d]", j);
        simd_activate(w, c->act, base);
        snprintf(base, sizeof base, "yr + %d", j * s->cout);
        simd_expr(at, sizeof at, j == 0 ? "yr" : base, c0, 0);
        if (rem)
            w_line(w, "VF_STOREN(%s, e[%d], %d);", at, j, rem);
        else
            w_line(w, "VF_STORE(%s, e[%d]);", at, j);
    }
    w_close(w);
}

/* The runs of tiles along one axis whose patches have the same rows (columns) inside the
 * input: window_runs over tiles, a patch being a window of PATCH at a stride of TILE. */
static int tile_runs(int in, int tiles, int pad, WindowRun *runs)
{
    return window_runs(in, tiles, PATCH, TILE, pad, runs);
}

/* The runs of tiles along one axis with the same number of outputs inside the output. */
static int output_runs(int out, int tiles, WindowRun *runs)
{
    int n = 0;
    for (int t = 0; t < tiles; t++) {
        int inside = out - t * TILE < TILE ? out - t * TILE : TILE;
        if (n > 0 && runs[n - 1].k_hi == inside - 1) {
            runs[n - 1].o_hi = t;
        } else {
            runs[n] = (WindowRun){.o_lo = t, .o_hi = t, .k_lo = 0, .k_hi = inside - 1};
            n++;
        }
    }
    return n;
}

/* wm[xi][t0 + p][co] for the tiles of a block, one chunk of cb vectors of output channels. */
typedef struct GemmCtx {
    const Geo *s;
    int block; /* tiles per register block */
} GemmCtx;

static void gemm_chunk(Writer *w, const SimdShape *sh, const char *c0, int rem, void *vctx)
{
    const GemmCtx *gx = vctx;
    const Geo *s = gx->s;
    int cb = sh->cb, lanes = sh->lanes, full = s->tiles / gx->block * gx->block;
    char at[EMIT_EXPR_MAX], base[96];
    (void)rem; /* wm and U are padded to whole vectors */
    for (int part = 0; part < 2; part++) {
        int np = part == 0 ? gx->block : s->tiles - full;
        if (np == 0 || (part == 0 && full == 0))
            continue;
        if (part == 0 && full > gx->block)
            w_open(w, "for (int t0 = 0; t0 < %d; t0 += %d)", full, gx->block);
        else {
            w_open_block(w);
            w_line(w, "const int t0 = %d;", part == 0 ? 0 : full);
        }
        for (int p = 0; p < np; p++)
            for (int v = 0; v < cb; v++)
                w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", p, v, p, v);
        w_open(w, "for (int ci = 0; ci < %d; ci++)", s->cin);
        for (int v = 0; v < cb; v++) {
            snprintf(base, sizeof base, "uk + ci * %d", s->coutp);
            simd_expr(at, sizeof at, base, c0, (long long)v * lanes);
            w_line(w, "cnn_vf w%d; VF_LOAD(w%d, %s);", v, v, at);
        }
        for (int p = 0; p < np; p++) {
            w_line(w, "cnn_vf x%d; VF_SET1(x%d, vx[(t0 + %d) * %d + ci]);", p, p, p, s->cinp);
            for (int v = 0; v < cb; v++)
                w_line(w, "VF_FMA(a%d_%d, w%d, x%d);", p, v, v, p);
        }
        w_close(w);
        for (int p = 0; p < np; p++)
            for (int v = 0; v < cb; v++) {
                snprintf(base, sizeof base, "mx + (t0 + %d) * %d", p, s->coutp);
                simd_expr(at, sizeof at, base, c0, (long long)v * lanes);
                w_line(w, "VF_STORE(%s, a%d_%d);", at, p, v);
            }
        w_close(w);
    }
}

void emit_winograd_image(Writer *w, const SimdConv *c, const char *u)
{
    static const Constant bt_constants[] = {
        {"wk_2", "2.0f"}, {"wk_m2", "-2.0f"}, {"wk_4", "4.0f"}, {"wk_m4", "-4.0f"}, {"wk_m5", "-5.0f"}, {"wk_8", "8.0f"},
    };
    const Window *g = &c->g;
    const Target *target = w->target;
    Geo s = geo(g, c->cout, target->lanes);
    WindowRun *rows = xcalloc((size_t)s.th, sizeof *rows), *cols = xcalloc((size_t)s.tw, sizeof *cols);
    char row[64], col[64];

    w_open_block(w);
    emit_constants(w, bt_constants, 6);

    /* The patches. */
    w_line(w, "/* Every 6x6 patch, the tile's outputs' windows together, transformed: wv = B^T d B. */");
    int nr = tile_runs(g->in_h, s.th, g->pad_top, rows), nc = tile_runs(g->in_w, s.tw, g->pad_left, cols);
    window_start_expr(row, sizeof row, "ti", TILE, g->pad_top);
    window_start_expr(col, sizeof col, "tj", TILE, g->pad_left);
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) {
            PatchCtx p = {.c = c, .s = s, .rows = &rows[i], .cols = &cols[j]};
            w_line(w, "/* tiles %d..%d down, %d..%d across: patch rows %d..%d, columns %d..%d inside the input */",
                   rows[i].o_lo, rows[i].o_hi, cols[j].o_lo, cols[j].o_hi, rows[i].k_lo, rows[i].k_hi, cols[j].k_lo,
                   cols[j].k_hi);
            w_open_range(w, "ti", rows[i].o_lo, rows[i].o_hi);
            w_open_range(w, "tj", cols[j].o_lo, cols[j].o_hi);
            w_line(w, "const int at = (%s * %d + %s) * %d;", row, g->in_w, col, s.cin);
            w_line(w, "const int tile = ti * %d + tj;", s.tw);
            channel_vectors(w, s.cin, target->lanes, patch_vector, &p);
            w_close(w);
            w_close(w);
        }

    /* The products. */
    SimdShape sh = simd_shape(target, s.coutp, s.tiles);
    GemmCtx gx = {.s = &s, .block = sh.outputs};
    w_line(w, "/* The products at each of the 36 points: wm[xi] = wv[xi] %s[xi], [%d tiles][%d] by [%d][%d]. */", u,
           s.tiles, s.cin, s.cin, s.coutp);
    w_open(w, "for (int xi = 0; xi < %d; xi++)", POINTS);
    w_line(w, "const float *restrict uk = %s + xi * %d;", u, s.cin * s.coutp);
    w_line(w, "const float *restrict vx = wv + xi * %d;", s.tiles * s.cinp);
    w_line(w, "float *restrict mx = wm + xi * %d;", s.tiles * s.coutp);
    simd_chunks(w, &sh, gemm_chunk, &gx);
    w_close(w);

    /* The tiles back. */
    w_line(w, "/* Every tile transformed back, A^T wm A%s, and stored where it lies inside the output. */",
           c->bias != NULL ? " plus the bias" : "");
    nr = output_runs(g->out_h, s.th, rows);
    nc = output_runs(g->out_w, s.tw, cols);
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) {
            TileCtx t = {.c = c, .s = s, .rows = rows[i].k_hi + 1, .cols = cols[j].k_hi + 1};
            w_line(w, "/* tiles %d..%d down, %d..%d across: %dx%d outputs each */", rows[i].o_lo, rows[i].o_hi,
                   cols[j].o_lo, cols[j].o_hi, t.rows, t.cols);
            w_open_range(w, "ti", rows[i].o_lo, rows[i].o_hi);
            w_open_range(w, "tj", cols[j].o_lo, cols[j].o_hi);
            w_line(w, "const int tile = ti * %d + tj;", s.tw);
            w_line(w, "const int o = ti * %d + tj * %d;", TILE * g->out_w, TILE);
            channel_vectors(w, s.cout, target->lanes, tile_vector, &t);
            w_close(w);
            w_close(w);
        }
    /* Other activations than those applied in the registers go over the whole image. */
    if (c->act != ACT_NONE && c->act != ACT_SOFTMAX && !simd_activation_in_registers(c->act)) {
        char buf[160], yi[EMIT_EXPR_MAX];
        snprintf(yi, sizeof yi, "%s[i]", c->y);
        w_line(w, "/* The %s, over the image now that it is whole. */", activation_name(c->act));
        w_line(w, "for (int i = 0; i < %lld; i++)", (long long)g->out_h * g->out_w * s.cout);
        w_line(w, "    %s = %s;", yi, activation_expr(c->act, yi, buf, sizeof buf));
    }
    w_close(w);
    free(rows);
    free(cols);
}
