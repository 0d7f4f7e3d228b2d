/*
 * emit/dense_simd.c - the dense layer's three products in register blocks, sized for the
 * target like the convolutions' (emit/simd.c).
 *
 * One image at a time, a dense layer reads every weight once per multiply-add, so it runs at
 * the speed of the cache, not of the arithmetic; blocked over images each weight loaded feeds
 * several. Forward keeps the sums of a few images in registers; the kernel gradient keeps a
 * few rows of it while summing over the images; the input gradient, a dot product per input
 * per image, puts a vector's worth of images side by side instead (the output gradient
 * transposed, a few KiB), so that each kernel value is broadcast once to many images and no
 * vector ever has to be summed across its lanes. Image counts are known only at run time, so
 * every shorter block is written out too and chosen by a switch.
 */
#include <string.h>

#include "emit/writer.h"

/* The output gradient transposed lives on the stack: at most this many floats. */
#define MAX_TRANSPOSED 16384

/* ------------------------------------------------------------------ forward */

typedef struct DenseCtx {
    const Layer *l;
    int np; /* images (forward) or kernel rows (kernel gradient) of the block */
} DenseCtx;

/* y[p] = act(bias + x[p] . kernel) for `np` images starting at image b, one chunk of units. */
static void forward_chunk(Writer *w, const SimdShape *s, const char *c0, int rem, void *vctx)
{
    const DenseCtx *dx = vctx;
    const Layer *l = dx->l;
    long long in = shape_size(l->in);
    int units = l->u.dense.units, cb = s->cb, lanes = s->lanes, np = dx->np;
    char name[32], k[EMIT_EXPR_MAX];
    for (int p = 0; p < np; p++)
        for (int v = 0; v < cb; v++) {
            snprintf(name, sizeof name, "a%d_%d", p, v);
            w_line(w, "cnn_vf %s;", name);
            if (l->u.dense.use_bias)
                simd_load(w, name, "bias", c0, (long long)v * lanes, rem && v == cb - 1, rem);
            else
                w_line(w, "VF_ZERO(%s);", name);
        }
    w_open(w, "for (int i = 0; i < %lld; i++)", in);
    simd_expr(k, sizeof k, "", c0, 0);
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d%s;", units, k);
    for (int v = 0; v < cb; v++) {
        snprintf(name, sizeof name, "w%d", v);
        w_line(w, "cnn_vf %s;", name);
        simd_load(w, name, "k", NULL, (long long)v * lanes, rem && v == cb - 1, rem);
    }
    for (int p = 0; p < np; p++) {
        char xv[EMIT_EXPR_MAX];
        simd_expr(xv, sizeof xv, "i", NULL, p * in);
        w_line(w, "cnn_vf x%d; VF_SET1(x%d, x[%s]);", p, p, xv);
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_FMA(a%d_%d, w%d, x%d);", p, v, v, p);
    }
    w_close(w);
    for (int p = 0; p < np; p++)
        for (int v = 0; v < cb; v++) {
            snprintf(name, sizeof name, "a%d_%d", p, v);
            simd_activate(w, l->act, name);
            simd_store(w, "y", c0, (long long)p * units + (long long)v * lanes, name, rem && v == cb - 1, rem);
        }
    if (l->act != ACT_NONE && l->act != ACT_SOFTMAX && !simd_activation_in_registers(l->act)) {
        char buf[160], q[EMIT_EXPR_MAX];
        int valid = rem ? (cb - 1) * lanes + rem : cb * lanes;
        simd_expr(q, sizeof q, "y", c0, 0);
        if (np > 1) {
            w_open(w, "for (int p = 0; p < %d; p++)", np);
            w_line(w, "float *restrict q = %s + p * %d;", q, units);
        } else {
            w_open_block(w);
            w_line(w, "float *restrict q = %s;", q);
        }
        w_line(w, "for (int i = 0; i < %d; i++)", valid);
        w_line(w, "    q[i] = %s;", activation_expr(l->act, "q[i]", buf, sizeof buf));
        w_close(w);
    }
}

static void forward_block(Writer *w, const Layer *l, const SimdShape *s, int np)
{
    DenseCtx dx = {.l = l, .np = np};
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", shape_size(l->in));
    w_line(w, "float *restrict y = out + (size_t)b * %d;", l->u.dense.units);
    simd_chunks(w, s, forward_chunk, &dx);
}

/* Writes the statements of `for` + `switch` over blocks of images: `block(w, l, s, np)` writes
 * one block of np images starting at image b. */
static void image_blocks(Writer *w, const Layer *l, const SimdShape *s,
                         void (*block)(Writer *, const Layer *, const SimdShape *, int))
{
    int np = s->outputs;
    w_line(w, "int b = 0;");
    w_open(w, "for (; b + %d <= n; b += %d)", np, np);
    block(w, l, s, np);
    w_close(w);
    if (np == 1)
        return;
    w_line(w, "switch (n - b) {");
    for (int k = np - 1; k >= 1; k--) {
        SimdShape sk = simd_shape_fixed(w->target, s->channels, k);
        w_line(w, "case %d: {", k);
        w->indent++;
        block(w, l, &sk, k);
        w_line(w, "break;");
        w->indent--;
        w_line(w, "}");
    }
    w_line(w, "default:");
    w_line(w, "    break;");
    w_line(w, "}");
}

void emit_dense_simd_forward(Writer *w, const Layer *l, int batch)
{
    SimdShape s = simd_shape(w->target, l->u.dense.units, batch);
    image_blocks(w, l, &s, forward_block);
}

/* ------------------------------------------------------------------ kernel gradient */

/* dkernel rows [i, i + nr) += sum over the n images of x[b][i + r] * dz[b], one chunk. */
static void kernel_grad_chunk(Writer *w, const SimdShape *s, const char *c0, int rem, void *vctx)
{
    const DenseCtx *dx = vctx;
    const Layer *l = dx->l;
    long long in = shape_size(l->in);
    int units = l->u.dense.units, cb = s->cb, lanes = s->lanes, nr = dx->np;
    char g[EMIT_EXPR_MAX], dk[EMIT_EXPR_MAX];
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < cb; v++)
            w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
    w_open(w, "for (int b = 0; b < n; b++)");
    simd_expr(g, sizeof g, "", c0, 0);
    w_line(w, "const float *restrict g = dout + (size_t)b * %d%s;", units, g);
    w_line(w, "const float *restrict x = in + (size_t)b * %lld + i;", in);
    for (int v = 0; v < cb; v++) {
        char gv[16];
        snprintf(gv, sizeof gv, "g%d", v);
        w_line(w, "cnn_vf %s;", gv);
        simd_load(w, gv, "g", NULL, (long long)v * lanes, rem && v == cb - 1, rem);
    }
    for (int r = 0; r < nr; r++) {
        w_line(w, "cnn_vf x%d; VF_SET1(x%d, x[%d]);", r, r, r);
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_FMA(a%d_%d, g%d, x%d);", r, v, v, r);
    }
    w_close(w);
    simd_expr(dk, sizeof dk, "", c0, 0);
    w_line(w, "float *restrict dk = dkernel + (size_t)i * %d%s;", units, dk);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < cb; v++) {
            char sv[32], av[32];
            long long off = (long long)r * units + (long long)v * lanes;
            bool partial = rem && v == cb - 1;
            snprintf(sv, sizeof sv, "s%d_%d", r, v);
            snprintf(av, sizeof av, "a%d_%d", r, v);
            w_line(w, "cnn_vf %s;", sv);
            simd_load(w, sv, "dk", NULL, off, partial, rem);
            w_line(w, "VF_ADD(%s, %s);", sv, av);
            simd_store(w, "dk", NULL, off, sv, partial, rem);
        }
}

void emit_dense_simd_kernel_grad(Writer *w, const Layer *l)
{
    long long in = shape_size(l->in);
    SimdShape s = simd_shape(w->target, l->u.dense.units, SIMD_MAX_OUTPUTS);
    int nr = s.outputs;
    long long full = in / nr * nr;
    w_line(w, "/* The kernel gradient, %d rows at a time held in registers over the n images. */", nr);
    if (full > 0) {
        DenseCtx dx = {.l = l, .np = nr};
        if (full > nr) {
            w_open(w, "for (int i = 0; i < %lld; i += %d)", full, nr);
        } else {
            w_open_block(w);
            w_line(w, "const int i = 0;");
        }
        simd_chunks(w, &s, kernel_grad_chunk, &dx);
        w_close(w);
    }
    if (in > full) {
        DenseCtx dx = {.l = l, .np = (int)(in - full)};
        w_open_block(w);
        w_line(w, "const int i = %lld;", full);
        simd_chunks(w, &s, kernel_grad_chunk, &dx);
        w_close(w);
    }
}

/* ------------------------------------------------------------------ input gradient */

/* The transposed output gradient's row length: the batch, rounded up to whole vectors. */
static int padded_batch(int batch, int lanes)
{
    return (batch + lanes - 1) / lanes * lanes;
}

bool dense_simd_input_grad_fits(const Target *t, const Layer *l, int batch)
{
    return (long long)l->u.dense.units * padded_batch(batch, t->lanes) <= MAX_TRANSPOSED;
}

/* The most vectors of images a block of the input gradient holds, and the rows with them. */
static int input_grad_rows(const Target *t, int nv)
{
    int rows = (t->registers - nv - 1 - (t->fma ? 0 : 1) - 1) / nv;
    return rows < 1 ? 1 : rows > SIMD_MAX_OUTPUTS ? SIMD_MAX_OUTPUTS : rows;
}

/* Whether a block of nr rows stores its sums transposed in registers (VF_TRANSPOSE, a few
 * shuffles per vector) rather than one float at a time through memory. A transpose always
 * moves a square of lanes x lanes floats, so it pays only when the rows fill half of it: on
 * the seed model's dense_1 the float-at-a-time copy was 13% of the pass on avx512. */
static bool transposes_rows(const Target *t, int nr)
{
    return 2 * nr >= t->lanes;
}

/* The sums of a block written image by image: each vector of images transposed, `lanes`
 * rows at a time (zero past row nr), so that image b's rows are one vector in m[b]. */
static void store_transposed(Writer *w, const Layer *l, int nv, int nr)
{
    long long in = shape_size(l->in);
    int lanes = w->target->lanes;
    for (int v = 0; v < nv; v++)
        for (int r0 = 0; r0 < nr; r0 += lanes) {
            int rows = nr - r0 < lanes ? nr - r0 : lanes;
            w_open_block(w);
            w_line(w, "cnn_vf m[%d];", lanes);
            for (int j = 0; j < lanes; j++) {
                if (j < rows)
                    w_line(w, "VF_COPY(m[%d], a%d_%d);", j, r0 + j, v);
                else
                    w_line(w, "VF_ZERO(m[%d]);", j);
            }
            w_line(w, "VF_TRANSPOSE(m);");
            /* Every vector of images but the last of the group is full. */
            if (v < nv - 1)
                w_open(w, "for (int b = 0; b < %d; b++)", lanes);
            else if (v == 0)
                w_open(w, "for (int b = 0; b < count; b++)");
            else
                w_open(w, "for (int b = 0; b < count - %d; b++)", v * lanes);
            char image[32], at[EMIT_EXPR_MAX];
            simd_expr(image, sizeof image, "b0", NULL, (long long)v * lanes);
            snprintf(at, sizeof at, "din + (size_t)(%s + b) * %lld + i", image, in);
            if (r0 > 0)
                snprintf(at + strlen(at), sizeof at - strlen(at), " + %d", r0);
            if (rows < lanes)
                w_line(w, "VF_STOREN(%s, m[b], %d);", at, rows);
            else
                w_line(w, "VF_STORE(%s, m[b]);", at);
            w_close(w);
            w_close(w);
        }
}

/* The sums of a block stored row by row, then copied to din one float at a time. */
static void store_through_memory(Writer *w, const Layer *l, int nv, int nr)
{
    long long in = shape_size(l->in);
    int lanes = w->target->lanes;
    w_line(w, "float t[%d][%d] CNN_STACK_ALIGN;", nr, nv * lanes);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++) {
            char at[64];
            snprintf(at, sizeof at, "&t[%d][%d]", r, v * lanes);
            w_line(w, "VF_STORE(%s, a%d_%d);", at, r, v);
        }
    w_open(w, "for (int b = 0; b < count; b++)");
    w_line(w, "float *restrict dx = din + (size_t)(b0 + b) * %lld + i;", in);
    w_line(w, "for (int r = 0; r < %d; r++)", nr);
    w_line(w, "    dx[r] = t[r][b];");
    w_close(w);
}

/* din[b0 + b][i + r] for r < nr and the `count` images of a group of nv vectors of images:
 * nv * lanes image sums per row in registers, then written image by image. */
static void input_grad_block(Writer *w, const Layer *l, int nv, int nr, int stride)
{
    int units = l->u.dense.units, lanes = w->target->lanes;
    w_open_block(w);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++)
            w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d;", units);
    w_open(w, "for (int u = 0; u < %d; u++)", units);
    for (int v = 0; v < nv; v++) {
        char at[EMIT_EXPR_MAX];
        snprintf(at, sizeof at, "dzt + u * %d + b0", stride);
        char dv[16];
        snprintf(dv, sizeof dv, "d%d", v);
        w_line(w, "cnn_vf %s;", dv);
        simd_load(w, dv, at, NULL, (long long)v * lanes, false, 0);
    }
    for (int r = 0; r < nr; r++) {
        char kv[EMIT_EXPR_MAX];
        simd_expr(kv, sizeof kv, "u", NULL, (long long)r * units);
        w_line(w, "cnn_vf k%d; VF_SET1(k%d, k[%s]);", r, r, kv);
        for (int v = 0; v < nv; v++)
            w_line(w, "VF_FMA(a%d_%d, d%d, k%d);", r, v, v, r);
    }
    w_close(w);
    if (transposes_rows(w->target, nr))
        store_transposed(w, l, nv, nr);
    else
        store_through_memory(w, l, nv, nr);
    w_close(w);
}

/* Every row of din for one group of nv vectors of images. */
static void input_grad_group(Writer *w, const Layer *l, int nv, int stride)
{
    long long in = shape_size(l->in);
    int nr = input_grad_rows(w->target, nv);
    long long full = in / nr * nr;
    if (full > 0) {
        if (full > nr) {
            w_open(w, "for (int i = 0; i < %lld; i += %d)", full, nr);
        } else {
            w_open_block(w);
            w_line(w, "const int i = 0;");
        }
        input_grad_block(w, l, nv, nr, stride);
        w_close(w);
    }
    if (in > full) {
        w_open_block(w);
        w_line(w, "const int i = %lld;", full);
        input_grad_block(w, l, nv, (int)(in - full), stride);
        w_close(w);
    }
}

void emit_dense_simd_input_grad(Writer *w, const Layer *l, int batch)
{
    int units = l->u.dense.units, lanes = w->target->lanes, stride = padded_batch(batch, lanes);
    int max_nv = stride / lanes < 4 ? stride / lanes : 4;
    w_line(w, "/* The input gradient, %d images to a vector: dout transposed to [%d][%d], zero past", lanes, units,
           stride);
    w_line(w, " * image n, so that each kernel value is broadcast to %d images at once. */", lanes);
    w_line(w, "float dzt[%d] CNN_STACK_ALIGN;", units * stride);
    w_line(w, "for (int u = 0; u < %d; u++)", units);
    w_line(w, "    for (int b = 0; b < %d; b++)", stride);
    w_line(w, "        dzt[u * %d + b] = b < n ? dout[(size_t)b * %d + u] : 0.0f;", stride, units);
    w_open(w, "for (int b0 = 0; b0 < n; b0 += %d)", max_nv * lanes);
    w_line(w, "const int count = n - b0 < %d ? n - b0 : %d;", max_nv * lanes, max_nv * lanes);
    if (max_nv == 1) {
        input_grad_group(w, l, 1, stride);
    } else {
        w_line(w, "switch ((count + %d) / %d) {", lanes - 1, lanes);
        for (int nv = max_nv; nv >= 1; nv--) {
            if (nv == max_nv)
                w_line(w, "default: {");
            else
                w_line(w, "case %d: {", nv);
            w->indent++;
            input_grad_group(w, l, nv, stride);
            w_line(w, "break;");
            w->indent--;
            w_line(w, "}");
        }
        w_line(w, "}");
    }
    w_close(w);
}
