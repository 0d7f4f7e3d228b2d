/*
 * emit/dense_simd.c - the dense layer's three products in register blocks, for layers whose
 * units are a multiple of the vector width.
 *
 * One image at a time, a dense layer reads every weight once per multiply-add, so it runs at
 * the speed of the cache, not of the arithmetic; blocked over images each weight loaded feeds
 * several. Forward keeps the sums of a few images in registers; the kernel gradient keeps a
 * few rows of it while summing over the images; the input gradient, a dot product per input
 * per image, puts 16 images side by side in a vector instead (the output gradient transposed,
 * a few KiB), so that each kernel value is broadcast once to 16 images and no vector ever
 * has to be summed across its lanes. Image counts are known only at run time, so every
 * shorter block is written out too and chosen by a switch.
 */
#include "emit/writer.h"

/* The output gradient transposed lives on the stack: at most this many floats. */
#define MAX_TRANSPOSED 16384

/* ------------------------------------------------------------------ forward */

/* y[p] = act(bias + x[p] . kernel) for `np` images starting at image b. */
static void forward_block(Writer *w, const Layer *l, int np)
{
    const DenseAttrs *a = &l->u.dense;
    long long in = shape_size(l->in);
    int units = a->units, cb = simd_chunk_vectors(units);
    w_line(w, "const float *restrict x = in + (size_t)b * %lld;", in);
    w_line(w, "float *restrict y = out + (size_t)b * %d;", units);
    simd_open_chunks(w, units);
    for (int p = 0; p < np; p++)
        for (int v = 0; v < cb; v++) {
            if (a->use_bias)
                w_line(w, "cnn_vf a%d_%d; VF_LOAD(a%d_%d, bias + c0 + %d);", p, v, p, v, v * SIMD_LANES);
            else
                w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", p, v, p, v);
        }
    w_open(w, "for (int i = 0; i < %lld; i++)", in);
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d + c0;", units);
    for (int v = 0; v < cb; v++)
        w_line(w, "cnn_vf w%d; VF_LOAD(w%d, k + %d);", v, v, v * SIMD_LANES);
    for (int p = 0; p < np; p++) {
        w_line(w, "const float x%d = x[%lld + i];", p, p * in);
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_FMA(a%d_%d, w%d, x%d);", p, v, v, p);
    }
    w_close(w);
    for (int p = 0; p < np; p++)
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_STORE(y + c0 + %d, a%d_%d);", p * units + v * SIMD_LANES, p, v);
    if (l->act != ACT_NONE && l->act != ACT_SOFTMAX) {
        char buf[160];
        w_open(w, "for (int p = 0; p < %d; p++)", np);
        w_line(w, "float *restrict q = y + c0 + p * %d;", units);
        w_line(w, "for (int i = 0; i < %d; i++)", cb * SIMD_LANES);
        w_line(w, "    q[i] = %s;", activation_expr(l->act, "q[i]", buf, sizeof buf));
        w_close(w);
    }
    w_close(w);
}

/* Writes the statements of `for` + `switch` over blocks of images: `block(w, l, np)` writes
 * one block of np images starting at image b. */
static void image_blocks(Writer *w, const Layer *l, int np, void (*block)(Writer *, const Layer *, int))
{
    w_line(w, "int b = 0;");
    w_open(w, "for (; b + %d <= n; b += %d)", np, np);
    block(w, l, np);
    w_close(w);
    if (np == 1)
        return;
    w_line(w, "switch (n - b) {");
    for (int k = np - 1; k >= 1; k--) {
        w_line(w, "case %d: {", k);
        w->indent++;
        block(w, l, k);
        w_line(w, "break;");
        w->indent--;
        w_line(w, "}");
    }
    w_line(w, "default:");
    w_line(w, "    break;");
    w_line(w, "}");
}

void emit_dense_simd_forward(Writer *w, const Layer *l)
{
    image_blocks(w, l, simd_block_outputs(l->u.dense.units), forward_block);
}

/* ------------------------------------------------------------------ kernel gradient */

/* dkernel rows [i, i + nr) += sum over the n images of x[b][i + r] * dz[b]. */
static void kernel_grad_block(Writer *w, const Layer *l, int nr)
{
    long long in = shape_size(l->in);
    int units = l->u.dense.units, cb = simd_chunk_vectors(units);
    simd_open_chunks(w, units);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < cb; v++)
            w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
    w_open(w, "for (int b = 0; b < n; b++)");
    w_line(w, "const float *restrict g = dout + (size_t)b * %d + c0;", units);
    w_line(w, "const float *restrict x = in + (size_t)b * %lld + i;", in);
    for (int v = 0; v < cb; v++)
        w_line(w, "cnn_vf g%d; VF_LOAD(g%d, g + %d);", v, v, v * SIMD_LANES);
    for (int r = 0; r < nr; r++) {
        w_line(w, "const float x%d = x[%d];", r, r);
        for (int v = 0; v < cb; v++)
            w_line(w, "VF_FMA(a%d_%d, g%d, x%d);", r, v, v, r);
    }
    w_close(w);
    w_line(w, "float *restrict dk = dkernel + (size_t)i * %d + c0;", units);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < cb; v++) {
            int off = r * units + v * SIMD_LANES;
            w_line(w, "cnn_vf s%d_%d; VF_LOAD(s%d_%d, dk + %d);", r, v, r, v, off);
            w_line(w, "VF_ADD(s%d_%d, a%d_%d);", r, v, r, v);
            w_line(w, "VF_STORE(dk + %d, s%d_%d);", off, r, v);
        }
    w_close(w);
}

void emit_dense_simd_kernel_grad(Writer *w, const Layer *l)
{
    long long in = shape_size(l->in);
    int nr = simd_block_outputs(l->u.dense.units);
    long long full = in / nr * nr;
    w_line(w, "/* The kernel gradient, %d rows at a time held in registers over the n images. */", nr);
    if (full > 0) {
        w_open(w, "for (int i = 0; i < %lld; i += %d)", full, nr);
        kernel_grad_block(w, l, nr);
        w_close(w);
    }
    if (in > full) {
        w_open_block(w);
        w_line(w, "const int i = %lld;", full);
        kernel_grad_block(w, l, (int)(in - full));
        w_close(w);
    }
}

/* ------------------------------------------------------------------ input gradient */

/* The transposed output gradient's row length: the batch, rounded up to whole vectors. */
static int padded_batch(int batch)
{
    return (batch + SIMD_LANES - 1) / SIMD_LANES * SIMD_LANES;
}

bool dense_simd_input_grad_fits(const Layer *l, int batch)
{
    return (long long)l->u.dense.units * padded_batch(batch) <= MAX_TRANSPOSED;
}

/* din[b0 + b][i + r] for r < nr and the `count` images of a group of nv vectors of images:
 * nv * 16 image sums per row in registers, then written image by image. */
static void input_grad_block(Writer *w, const Layer *l, int nv, int nr, int stride)
{
    long long in = shape_size(l->in);
    int units = l->u.dense.units;
    w_open_block(w);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++)
            w_line(w, "cnn_vf a%d_%d; VF_ZERO(a%d_%d);", r, v, r, v);
    w_line(w, "const float *restrict k = kernel + (size_t)i * %d;", units);
    w_open(w, "for (int u = 0; u < %d; u++)", units);
    for (int v = 0; v < nv; v++)
        w_line(w, "cnn_vf d%d; VF_LOAD(d%d, dzt + u * %d + b0 + %d);", v, v, stride, v * SIMD_LANES);
    for (int r = 0; r < nr; r++) {
        w_line(w, "const float k%d = k[%d + u];", r, r * units);
        for (int v = 0; v < nv; v++)
            w_line(w, "VF_FMA(a%d_%d, d%d, k%d);", r, v, v, r);
    }
    w_close(w);
    w_line(w, "float t[%d][%d] CNN_STACK_ALIGN;", nr, nv * SIMD_LANES);
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++)
            w_line(w, "VF_STORE(&t[%d][%d], a%d_%d);", r, v * SIMD_LANES, r, v);
    w_open(w, "for (int b = 0; b < count; b++)");
    w_line(w, "float *restrict dx = din + (size_t)(b0 + b) * %lld + i;", in);
    w_line(w, "for (int r = 0; r < %d; r++)", nr);
    w_line(w, "    dx[r] = t[r][b];");
    w_close(w);
    w_close(w);
}

/* Every row of din for one group of nv vectors of images. */
static void input_grad_group(Writer *w, const Layer *l, int nv, int stride)
{
    long long in = shape_size(l->in);
    int nr = SIMD_ACCUMULATORS / nv;
    long long full = in / nr * nr;
    if (full > 0) {
        w_open(w, "for (int i = 0; i < %lld; i += %d)", full, nr);
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
    int units = l->u.dense.units, stride = padded_batch(batch);
    int max_nv = stride / SIMD_LANES < 4 ? stride / SIMD_LANES : 4;
    w_line(w, "/* The input gradient, 16 images to a vector: dout transposed to [%d][%d], zero past", units, stride);
    w_line(w, " * image n, so that each kernel value is broadcast to 16 images at once. */");
    w_line(w, "float dzt[%d] CNN_STACK_ALIGN;", units * stride);
    w_line(w, "for (int u = 0; u < %d; u++)", units);
    w_line(w, "    for (int b = 0; b < %d; b++)", stride);
    w_line(w, "        dzt[u * %d + b] = b < n ? dout[(size_t)b * %d + u] : 0.0f;", stride, units);
    w_open(w, "for (int b0 = 0; b0 < n; b0 += %d)", max_nv * SIMD_LANES);
    w_line(w, "const int count = n - b0 < %d ? n - b0 : %d;", max_nv * SIMD_LANES, max_nv * SIMD_LANES);
    if (max_nv == 1) {
        input_grad_group(w, l, 1, stride);
    } else {
        w_line(w, "switch ((count + %d) / %d) {", SIMD_LANES - 1, SIMD_LANES);
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
