/*
 * augment.c - random shifts and rotations of training images (augment.h).
 */
#include <math.h>
#include <string.h>

#include "augment.h"
#include "cnnrt.h"

/* A stream of its own for each (seed, epoch, image): nothing another purpose draws. */
#define AUGMENT_PURPOSE 0xA5C3E1F0D2B49687ULL

void cnn_augment_draw(const cnn_augment *a, int image_id, int *dx, int *dy, double *degrees)
{
    cnn_rng r;
    cnn_rng_seed(&r, a->seed ^ AUGMENT_PURPOSE ^ ((uint64_t)(unsigned)a->epoch * 0xC2B2AE3D27D4EB4FULL) ^
                         ((uint64_t)(unsigned)image_id * 0x165667B19E3779F9ULL));
    uint64_t span = 2 * (uint64_t)a->shift + 1;
    *dx = (int)(cnn_rng_next(&r) % span) - a->shift;
    *dy = (int)(cnn_rng_next(&r) % span) - a->shift;
    *degrees = a->rotation * (2.0 * cnn_rng_uniform(&r) - 1.0);
}

/* src's pixel (y, x) channel k, zero outside the image. */
static float pixel(const float *src, int h, int w, int c, int y, int x, int k)
{
    if (y < 0 || y >= h || x < 0 || x >= w)
        return 0.0f;
    return src[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)k];
}

void cnn_augment_apply(const float *src, float *dst, int h, int w, int c, int dx, int dy, double degrees)
{
    /* Each output pixel reads where the inverse moves take it: back through the rotation
     * about the centre, then back through the shift. */
    double theta = degrees * (3.14159265358979323846 / 180.0);
    double cs = degrees == 0 ? 1.0 : cos(theta), sn = degrees == 0 ? 0.0 : sin(theta);
    double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            /* Output (x, y) shows the source at the centre plus its offset turned by theta in
             * (x, y) coordinates: with rows growing downwards, the content turns the other way,
             * counter-clockwise on screen. */
            double ux = x - cx, uy = y - cy;
            double sx = cs * ux - sn * uy + cx - dx;
            double sy = sn * ux + cs * uy + cy - dy;
            double fx0 = floor(sx), fy0 = floor(sy);
            double fx = sx - fx0, fy = sy - fy0;
            int x0 = (int)fx0, y0 = (int)fy0;
            float *out = dst + ((size_t)y * (size_t)w + (size_t)x) * (size_t)c;
            if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) {
                memset(out, 0, (size_t)c * sizeof(float));
                continue;
            }
            for (int k = 0; k < c; k++) {
                double v = (1 - fx) * (1 - fy) * pixel(src, h, w, c, y0, x0, k);
                if (fx > 0)
                    v += fx * (1 - fy) * pixel(src, h, w, c, y0, x0 + 1, k);
                if (fy > 0)
                    v += (1 - fx) * fy * pixel(src, h, w, c, y0 + 1, x0, k);
                if (fx > 0 && fy > 0)
                    v += fx * fy * pixel(src, h, w, c, y0 + 1, x0 + 1, k);
                out[k] = (float)v;
            }
        }
    }
}

void cnn_augment_image(const cnn_augment *a, int image_id, const float *src, float *dst, int h, int w, int c)
{
    int dx, dy;
    double degrees;
    cnn_augment_draw(a, image_id, &dx, &dy, &degrees);
    cnn_augment_apply(src, dst, h, w, c, dx, dy, degrees);
}
