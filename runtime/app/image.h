/*
 * image.h - reading the images that `PROGRAM predict` classifies, as 8-bit grey.
 *
 * Part of runtime/app (libcnnapp.a), which may use libpng; the PGM reader itself is in the
 * core runtime (cnn_pgm_read in cnnrt.h). Errors follow cnnrt.h's convention: one message
 * `cnnc: error: FILE: ...` on stderr and -1. On success *pixels is w*h bytes, row by row,
 * 0 = black, 255 = white; the caller frees it.
 */
#ifndef CNN_APP_IMAGE_H
#define CNN_APP_IMAGE_H

/* Refused before decoding: larger images are not digits to classify, only memory to fill. */
#define CNN_PNG_MAX_PIXELS (64L * 1024 * 1024)

/* Any PNG: palette, grey or RGB, with or without alpha, 1 to 16 bits, interlaced or not.
 * Colour is converted to grey with the Rec. 709 weights; alpha is dropped (not composited).
 * *colour (when colour is not NULL) tells whether the image was in colour. */
int cnn_png_read_colour(const char *path, unsigned char **pixels, int *w, int *h, int *colour);
int cnn_png_read(const char *path, unsigned char **pixels, int *w, int *h);

/* A PGM (P5 or P2) or a PNG, told by the file's first bytes and not by its name; a
 * directory is refused as one. *colour (when not NULL): the image was in colour. */
int cnn_image_load(const char *path, unsigned char **pixels, int *w, int *h, int *colour);
int cnn_image_read(const char *path, unsigned char **pixels, int *w, int *h);

#endif
