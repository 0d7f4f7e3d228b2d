/*
 * cnnplot.h - pictures of training, drawn with PLplot (libcnnplot.a). Kept out of the core
 * runtime: the generated model and libcnnrt.a never depend on it.
 *
 * The output format follows the file's extension: .png, .svg or .pdf. Each function returns
 * 0, or prints a clear message naming the file and returns -1.
 */
#ifndef CNNPLOT_H
#define CNNPLOT_H

#include "cnnrt.h"

/* Accuracy and loss against epoch, training and validation (where present) in two panels. */
int cnn_plot_curves(const cnn_history_row *rows, int n, const char *model_name, const char *out_path);

/* The confusion matrix ([true][predicted] counts) as a labelled heat map with counts in cells. */
int cnn_plot_confusion(const long counts[][64], int classes, const char *model_name, const char *out_path);

/* A grid of misclassified images (h x w bytes each), captioned "true -> predicted (p)". */
typedef struct cnn_mistake {
    const unsigned char *pixels;
    int label, predicted;
    float probability;
} cnn_mistake;
int cnn_plot_mistakes(const cnn_mistake *m, int n, int h, int w, const char *model_name, const char *out_path);

#endif
