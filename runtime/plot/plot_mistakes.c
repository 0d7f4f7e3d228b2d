/*
 * plot_mistakes.c - a grid of up to 6 x 6 misclassified images, drawn as they are stored
 * (0 black, 255 white), each captioned `true 7 -> 2 (0.93)` with the probability the model
 * gave its wrong answer.
 */
#include <stdio.h>
#include <stdlib.h>

#include <plplot.h>

#include "cnnplot.h"
#include "plot_figure.h"

enum { MISTAKES_WIDTH = 900, MISTAKES_HEIGHT = 980, MISTAKES_SHOWN = 36, MISTAKES_MAX_SIDE = 1024 };

typedef struct mistakes_figure {
    const cnn_mistake *m;
    int shown, columns, rows;
    int h, w;
    PLFLT **image; /* [w][h], as plimage wants: x first, y counted from the bottom */
    char title[256];
} mistakes_figure;

static void set_greys(void)
{
    PLFLT pos[2] = {0.0, 1.0}, level[2] = {0.0, 1.0};
    plscmap1n(256);
    plscmap1l(1, 2, pos, level, level, level, NULL);
}

static void draw_mistake(const mistakes_figure *f, int k)
{
    const cnn_mistake *m = &f->m[k];
    int col = k % f->columns, row = k / f->columns;
    /* Cells share the page below the title; each keeps room under its image for the caption. */
    double cell_w = 0.96 / f->columns, cell_h = 0.89 / f->rows;
    double x0 = 0.02 + col * cell_w, y1 = 0.91 - row * cell_h;
    plvpas(x0 + 0.1 * cell_w, x0 + 0.9 * cell_w, y1 - cell_h + 0.2 * cell_h, y1 - 0.03 * cell_h,
           (double)f->h / f->w);
    plwind(0.0, f->w, 0.0, f->h);
    for (int x = 0; x < f->w; x++)
        for (int y = 0; y < f->h; y++)
            f->image[x][f->h - 1 - y] = m->pixels[(size_t)y * f->w + x];
    plimage((PLFLT_MATRIX)f->image, f->w, f->h, 0.0, f->w, 0.0, f->h, 0.0, 255.0, 0.0, f->w, 0.0, f->h);
    plcol0(PLOT_DARK_GREY);
    plbox("bc", 0.0, 0, "bc", 0.0, 0);
    char caption[64];
    snprintf(caption, sizeof caption, "true %d -> %d (%.2f)", m->label, m->predicted, m->probability);
    plcol0(PLOT_BLACK);
    plschr(0.0, f->columns <= 3 ? 1.0 : 3.6 / f->columns);
    plmtex("b", 1.5, 0.5, 0.5, caption);
}

static void draw_mistakes(const void *ctx)
{
    const mistakes_figure *f = ctx;
    set_greys();
    for (int k = 0; k < f->shown; k++)
        draw_mistake(f, k);
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, 1.0, 0.0, 1.0);
    plcol0(PLOT_BLACK);
    plschr(0.0, 1.15);
    plptex(0.5, f->shown > 0 ? 0.955 : 0.5, 1.0, 0.0, 0.5, f->title);
}

int cnn_plot_mistakes(const cnn_mistake *m, int n, int h, int w, const char *model_name, const char *out_path)
{
    if (n < 0 || (n > 0 && !m))
        return rt_error("%s: no images of mistakes were given", out_path);
    if (h < 1 || w < 1 || h > MISTAKES_MAX_SIDE || w > MISTAKES_MAX_SIDE)
        return rt_error("%s: cannot draw %dx%d images", out_path, h, w);
    for (int k = 0; k < n && k < MISTAKES_SHOWN; k++)
        if (!m[k].pixels)
            return rt_error("%s: mistake %d has no pixels", out_path, k);

    mistakes_figure f = {.m = m, .shown = n < MISTAKES_SHOWN ? n : MISTAKES_SHOWN, .h = h, .w = w};
    f.columns = 1;
    while (f.columns * f.columns < f.shown)
        f.columns++;
    f.rows = f.shown > 0 ? (f.shown + f.columns - 1) / f.columns : 1;
    char name[128];
    plot_escape(name, sizeof name, model_name ? model_name : "model");
    if (n == 0)
        snprintf(f.title, sizeof f.title, "%s: no misclassified images", name);
    else if (n > f.shown)
        snprintf(f.title, sizeof f.title, "%s: the first %d of %d misclassified images", name, f.shown, n);
    else
        snprintf(f.title, sizeof f.title, "%s: %d misclassified image%s", name, n, n == 1 ? "" : "s");

    f.image = rt_calloc((size_t)w, sizeof *f.image);
    PLFLT *columns = rt_calloc((size_t)w * h, sizeof *columns);
    if (!f.image || !columns) {
        free(f.image);
        free(columns);
        return -1;
    }
    for (int x = 0; x < w; x++)
        f.image[x] = columns + (size_t)x * h;
    int status = plot_render(out_path, MISTAKES_WIDTH, MISTAKES_HEIGHT, draw_mistakes, &f);
    free(columns);
    free(f.image);
    return status;
}
