/*
 * cnnplot.h - pictures of training, drawn with PLplot (libcnnplot.a). Kept out of the core
 * runtime: the generated model and libcnnrt.a never depend on it. Link a program that uses it
 * with libcnnplot.a, then libcnnrt.a, then -lplplot -lz -lm.
 *
 * The output format follows the file's extension, in any case: .png (pngcairo), .svg
 * (svgcairo) or .pdf (pdfcairo); all render without a display. Each function returns 0, or
 * prints one clear message naming the file (`cnnc: error: FILE: ...`) and returns -1: for an
 * unknown extension, a file that cannot be created, bad arguments or a failed write. A failed
 * picture leaves no file behind. Nothing is printed on success: PLplot's own messages and its
 * exit on fatal errors are intercepted.
 *
 * PLplot keeps global state: draw one picture at a time (not from several threads at once).
 */
#ifndef CNNPLOT_H
#define CNNPLOT_H

#include "cnnrt.h"

/* Accuracy (left panel) and loss (right) against epoch, 1200 x 500 pixels on white. Training
 * is a blue line (#1f77b4) and validation an orange one (#ff7f0e), each with a dot per epoch;
 * both panels have a grid and a legend. The title gives the model and the last epoch's
 * figures: `mnist_cnn: accuracy 0.9921 / val 0.9893, loss 0.0254 / val 0.0330 (epoch 5)`.
 * Validation columns that are all NaN are left out (the legend says `training (no
 * validation)`); other NaN or infinite values break the line; a single epoch still shows. */
int cnn_plot_curves(const cnn_history_row *rows, int n, const char *model_name, const char *out_path);

/* The confusion matrix (counts[true][predicted], 1 <= classes <= 64) as an 800 x 800 heat map
 * from white to dark blue (#08306b, on a square-root scale so that small error counts show),
 * with the count in every cell (white on the dark ones), `true` classes down the side from 0
 * at the top, `predicted` along the bottom, and the model and its accuracy in the title. */
int cnn_plot_confusion(const long counts[][64], int classes, const char *model_name, const char *out_path);

/* A grid of misclassified images (h x w bytes each, 0 black to 255 white), 900 x 980 pixels:
 * up to 6 x 6 of them (the first 36 when there are more), each captioned
 * `true 7 -> 2 (0.93)` with the probability given to the wrong class. n == 0 draws a page
 * saying there are none. */
typedef struct cnn_mistake {
    const unsigned char *pixels;
    int label, predicted;
    float probability;
} cnn_mistake;
int cnn_plot_mistakes(const cnn_mistake *m, int n, int h, int w, const char *model_name, const char *out_path);

#endif
