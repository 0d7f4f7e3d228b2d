/*
 * emit/winograd.h - 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
 * (emit/winograd.c): where it is used, and the three pieces a pass is written from.
 */
#ifndef EMIT_WINOGRAD_H
#define EMIT_WINOGRAD_H

#include "emit/writer.h"

/* Whether the convolution of window g into cout channels is computed by F(4x4, 3x3): a 3x3
 * kernel at stride 1, at least WINOGRAD_MIN_CIN input channels, half the vector operations of
 * the direct convolution or fewer, and its scratch within WINOGRAD_MAX_STACK floats. The rule
 * reads only the shapes, so it is the same for every target. */
bool winograd_applies(const Window *g, int cout);

/* `float U[...]`: the kernel c->k ([3][3][in_c][cout]) transformed, G g G^T for every pair of
 * channels, as [36][in_c][cout rounded up to vectors]; written once per call of a pass. */
void emit_winograd_kernel(Writer *w, const SimdConv *c, const char *u);
/* The two arrays one image's transformed tiles live in, on the stack beside U. */
void emit_winograd_scratch(Writer *w, const SimdConv *c);
/* One image: c->y = act(bias + c->x (*) kernel), from U; c->x and c->y name the image's input
 * and output as in emit_simd_gather. */
void emit_winograd_image(Writer *w, const SimdConv *c, const char *u);

#endif
