/*
 * plot_confusion.c - the confusion matrix as a heat map: true classes down the side (0 at the
 * top), predicted classes along the bottom, each cell shaded from white to dark blue and
 * carrying its count, white on the dark cells.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include <plplot.h>

#include "cnnplot.h"
#include "plot_figure.h"

enum { CONFUSION_SIZE = 800, CONFUSION_MAX_CLASSES = 64 };

typedef struct confusion_figure {
    const long (*counts)[64];
    int classes;
    long max_count;
    char title[256];
} confusion_figure;

/* White to matplotlib's darkest "Blues" (#08306b), as cmap1. */
static void set_blues(void)
{
    PLFLT pos[2] = {0.0, 1.0}, r[2] = {1.0, 8 / 255.0}, g[2] = {1.0, 48 / 255.0}, b[2] = {1.0, 107 / 255.0};
    plscmap1n(256);
    plscmap1l(1, 2, pos, r, g, b, NULL);
}

/* The shade of a count. A square root keeps the few errors of a good model visible next to
 * a diagonal of a thousand. */
static double shade_of(const confusion_figure *f, long count)
{
    return f->max_count > 0 ? sqrt((double)count / (double)f->max_count) : 0.0;
}

/* How far below a cell's middle a text's baseline goes to centre the text, in cells. With
 * text scaled as 10 / classes, a fixed fraction of the character height does it. */
static double baseline_drop(int classes, double char_scale)
{
    return 0.015 * classes * char_scale;
}

static void draw_cell(const confusion_figure *f, int truth, int predicted, double char_scale)
{
    long count = f->counts[truth][predicted];
    double shade = shade_of(f, count);
    /* Row `truth` counted from the top. */
    PLFLT x0 = predicted, x1 = predicted + 1, y1 = f->classes - truth, y0 = y1 - 1;
    PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
    plcol1(shade);
    plfill(4, xs, ys);
    char text[32];
    snprintf(text, sizeof text, "%ld", count);
    plcol0(count == 0 ? PLOT_DARK_GREY : shade > 0.55 ? PLOT_WHITE : PLOT_BLACK);
    plschr(0.0, char_scale);
    plptex(x0 + 0.5, y0 + 0.5 - baseline_drop(f->classes, char_scale), 1.0, 0.0, 0.5, text);
}

static void draw_confusion(const void *ctx)
{
    const confusion_figure *f = ctx;
    int k = f->classes;
    set_blues();
    /* The viewport holds the cells, [0, k] in both directions, and a margin for the class
     * labels on the left and below, since PLplot clips text to the viewport. */
    double margin = 0.07 * k;
    plvpas(0.07, 0.95, 0.06, 0.9, 1.0);
    plwind(-margin, k, -margin, k);
    /* Text shrinks with the cells so that counts of up to five digits fit. */
    double char_scale = k <= 10 ? 0.85 : 0.85 * 10.0 / k;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++)
            draw_cell(f, t, p, char_scale);

    PLFLT frame_x[5] = {0, k, k, 0, 0}, frame_y[5] = {0, 0, k, k, 0};
    plcol0(PLOT_DARK_GREY);
    plwidth(1.0);
    plline(5, frame_x, frame_y);
    plcol0(PLOT_BLACK);
    double label_scale = k <= 10 ? 0.9 : 0.9 * 10.0 / k + 0.1;
    plschr(0.0, label_scale);
    for (int c = 0; c < k; c++) {
        char label[16];
        snprintf(label, sizeof label, "%d", c);
        plptex(c + 0.5, -0.5 * margin - baseline_drop(k, label_scale), 1.0, 0.0, 0.5, label);
        plptex(-0.3 * margin, k - c - 0.5 - baseline_drop(k, label_scale), 1.0, 0.0, 1.0, label);
    }
    plschr(0.0, 1.0);
    plmtex("b", 1.2, 0.5 + 0.5 * margin / (k + margin), 0.5, "predicted");
    plmtex("l", 1.0, 0.5 - 0.5 * margin / (k + margin), 0.5, "true");
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, 1.0, 0.0, 1.0);
    plschr(0.0, 1.05);
    plptex(0.5, 0.95, 1.0, 0.0, 0.5, f->title);
}

int cnn_plot_confusion(const long counts[][64], int classes, const char *model_name, const char *out_path)
{
    if (!counts || classes < 1 || classes > CONFUSION_MAX_CLASSES)
        return rt_error("%s: a confusion matrix needs 1 to %d classes, not %d", out_path, CONFUSION_MAX_CLASSES, classes);
    confusion_figure f = {.counts = counts, .classes = classes};
    long total = 0, right = 0;
    for (int t = 0; t < classes; t++)
        for (int p = 0; p < classes; p++) {
            if (counts[t][p] < 0 || counts[t][p] > LONG_MAX - total)
                return rt_error("%s: the confusion matrix has an impossible count at [%d][%d]", out_path, t, p);
            total += counts[t][p];
            if (counts[t][p] > f.max_count)
                f.max_count = counts[t][p];
        }
    for (int c = 0; c < classes; c++)
        right += counts[c][c];
    char name[128];
    plot_escape(name, sizeof name, model_name ? model_name : "model");
    if (total > 0)
        snprintf(f.title, sizeof f.title, "%s: confusion matrix, accuracy %.4f (%ld of %ld)", name,
                 (double)right / (double)total, right, total);
    else
        snprintf(f.title, sizeof f.title, "%s: confusion matrix of no images", name);
    return plot_render(out_path, CONFUSION_SIZE, CONFUSION_SIZE, draw_confusion, &f);
}
