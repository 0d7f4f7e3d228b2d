/*
 * plot_figure.h - what the three pictures of libcnnplot share: one PLplot stream per figure,
 * opened, guarded against PLplot's fatal errors and checked after, and a common palette.
 * Internal to runtime/plot; the public interface is cnnplot.h.
 */
#ifndef PLOT_FIGURE_H
#define PLOT_FIGURE_H

#include <stddef.h>

/* The cmap0 palette every figure starts with. The curve colours are part of the contract
 * (tests look for them in the PNG): training is matplotlib's blue #1f77b4, validation its
 * orange #ff7f0e, so that the pictures read like the Keras ones users know. */
enum plot_colour {
    PLOT_WHITE = 0,      /* 255 255 255: the background */
    PLOT_BLACK = 1,      /*   0   0   0: axes and text */
    PLOT_TRAINING = 2,   /*  31 119 180 */
    PLOT_VALIDATION = 3, /* 255 127  14 */
    PLOT_GRID = 4,       /* 220 220 220 */
    PLOT_DARK_GREY = 5,  /*  90  90  90: frames and secondary text */
    PLOT_COLOURS
};

/* Draws the figure into the current PLplot stream, which plot_render has opened and
 * advanced to a blank page; `ctx` is the caller's data. */
typedef void (*plot_draw_fn)(const void *ctx);

/* Renders one figure of width x height (pixels for PNG, points for SVG and PDF) to `path`,
 * choosing the PLplot device from the extension. Checks first that the file can be created,
 * so that a bad path is a clear error rather than a PLplot abort; turns PLplot's own errors
 * into messages; checks after that the file is not empty. 0, or -1 after a message. */
int plot_render(const char *path, int width, int height, plot_draw_fn draw, const void *ctx);

/* Copies `text` into buf (of `size` bytes, truncating) with PLplot's escape character `#`
 * doubled, so that names from users are drawn as written. Returns buf. */
char *plot_escape(char *buf, size_t size, const char *text);

/* Draws a filled circle of radius `r_mm` millimetres at world point (x, y) in the current
 * colour, whatever the window's scales. */
void plot_dot(double x, double y, double r_mm);

#endif
