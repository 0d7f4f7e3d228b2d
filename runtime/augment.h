/*
 * augment.h - random shifts and rotations of the training images (the model's augment(...)).
 *
 * An image's transformation is a pure function of the run seed, the epoch and the image's
 * index in the training set, as dropout's masks are of the seed and the step: a run gives the
 * same images whatever the thread count, and a resumed run those of one never interrupted.
 */
#ifndef CNN_AUGMENT_H
#define CNN_AUGMENT_H

#include <stdint.h>

typedef struct cnn_augment {
    int shift;        /* at most this many whole pixels in each direction */
    double rotation;  /* at most this many degrees either way */
    uint64_t seed;    /* the run's */
    int epoch;
    const int *ids;   /* [batch]: the training-set index of each image of the current batch */
} cnn_augment;

/* The moves of one image: dx and dy in pixels (right and down), the angle in degrees. */
void cnn_augment_draw(const cnn_augment *a, int image_id, int *dx, int *dy, double *degrees);

/* dst = src [h][w][c] shifted by (dx, dy), then turned by `degrees` about the image's centre
 * (counter-clockwise as the image is seen), sampled bilinearly, zero outside. A whole shift
 * without rotation moves every pixel exactly. */
void cnn_augment_apply(const float *src, float *dst, int h, int w, int c, int dx, int dy, double degrees);

/* Both: image `image_id`'s moves drawn and applied. */
void cnn_augment_image(const cnn_augment *a, int image_id, const float *src, float *dst, int h, int w, int c);

#endif
