/*
 * png.c - reading any PNG as 8-bit grey with libpng.
 *
 * libpng reports errors by longjmp; the error handler keeps the message so that it can be
 * reported in our form. Everything that must be released after a longjmp lives in a heap
 * context allocated before setjmp, since automatic variables changed after setjmp are
 * indeterminate when it returns the second time.
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "image.h"

typedef struct png_ctx {
    const char *path;
    FILE *f;
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    png_bytep *rows;
    char message[200];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->message, sizeof ctx->message, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (an unknown chunk, a bad gamma value) do not stop the image from being read. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* libpng's own reader says only "Read Error" when the file ends early. */
static void read_bytes(png_structp png, png_bytep data, size_t n)
{
    png_ctx *ctx = png_get_io_ptr(png);
    if (fread(data, 1, n, ctx->f) != n)
        png_error(png, ferror(ctx->f) ? "cannot read the file" : "the file ended early (truncated?)");
}

static void release(png_ctx *ctx)
{
    if (ctx->png)
        png_destroy_read_struct(&ctx->png, ctx->info ? &ctx->info : NULL, NULL);
    if (ctx->f)
        fclose(ctx->f);
    free(ctx->rows);
    free(ctx->pixels);
    free(ctx);
}

int cnn_png_read(const char *path, unsigned char **pixels, int *w, int *h)
{
    return cnn_png_read_colour(path, pixels, w, h, NULL);
}

int cnn_png_read_colour(const char *path, unsigned char **pixels, int *w, int *h, int *colour)
{
    png_ctx *ctx = rt_calloc(1, sizeof *ctx);
    if (!ctx)
        return -1;
    ctx->path = path;
    ctx->f = fopen(path, "rb");
    if (!ctx->f) {
        int err = errno;
        release(ctx);
        return rt_error("%s: cannot open: %s", path, strerror(err));
    }
    unsigned char sig[8];
    if (fread(sig, 1, 8, ctx->f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        release(ctx);
        return rt_error("%s: not a PNG image (bad signature)", path);
    }
    ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (ctx->png)
        ctx->info = png_create_info_struct(ctx->png);
    if (!ctx->png || !ctx->info) {
        release(ctx);
        return rt_error("%s: out of memory starting libpng", path);
    }
    if (setjmp(png_jmpbuf(ctx->png))) {
        rt_error("%s: bad PNG image: %s", path, ctx->message);
        release(ctx);
        return -1;
    }
    png_set_read_fn(ctx->png, ctx, read_bytes);
    png_set_sig_bytes(ctx->png, 8);
    png_read_info(ctx->png, ctx->info);

    png_uint_32 width = png_get_image_width(ctx->png, ctx->info);
    png_uint_32 height = png_get_image_height(ctx->png, ctx->info);
    unsigned long long area = (unsigned long long)width * height;
    if (width == 0 || height == 0 || area > (unsigned long long)CNN_PNG_MAX_PIXELS) {
        rt_error("%s: a %lux%lu image is larger than the %ld pixels this reader takes", path,
                 (unsigned long)width, (unsigned long)height, CNN_PNG_MAX_PIXELS);
        release(ctx);
        return -1;
    }
    int color = png_get_color_type(ctx->png, ctx->info);
    /* Palette and low bit depths to 8 bits, tRNS to alpha, 16 bits to 8 with rounding,
     * alpha dropped, colour to grey: one 8-bit channel whatever came in. */
    png_set_expand(ctx->png);
    png_set_scale_16(ctx->png);
    png_set_strip_alpha(ctx->png);
    if (color & PNG_COLOR_MASK_COLOR)
        png_set_rgb_to_gray_fixed(ctx->png, 1, -1, -1);
    png_set_interlace_handling(ctx->png);
    png_read_update_info(ctx->png, ctx->info);
    if (png_get_channels(ctx->png, ctx->info) != 1 || png_get_bit_depth(ctx->png, ctx->info) != 8 ||
        png_get_rowbytes(ctx->png, ctx->info) != width) {
        rt_error("%s: libpng could not convert this PNG to 8-bit grey", path);
        release(ctx);
        return -1;
    }
    ctx->pixels = rt_malloc((size_t)width * height);
    ctx->rows = rt_malloc(height * sizeof *ctx->rows);
    if (!ctx->pixels || !ctx->rows) {
        release(ctx);
        return -1;
    }
    for (png_uint_32 y = 0; y < height; y++)
        ctx->rows[y] = ctx->pixels + (size_t)y * width;
    png_read_image(ctx->png, ctx->rows);
    png_read_end(ctx->png, NULL);

    *pixels = ctx->pixels;
    *w = (int)width;
    *h = (int)height;
    if (colour)
        *colour = (color & PNG_COLOR_MASK_COLOR) != 0;
    ctx->pixels = NULL;
    release(ctx);
    return 0;
}
