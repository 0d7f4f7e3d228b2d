/*
 * plot_curves.c - accuracy (left) and loss (right) against epoch, training in blue and
 * validation in orange, each a line with a dot per epoch; the model and its final figures in
 * the title. A history without validation (NaN columns) plots training only and says so. A
 * history with a learning_rate column (a schedule's) gets a third panel, the rate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <plplot.h>

#include "cnnplot.h"
#include "plot_figure.h"

enum { CURVES_WIDTH = 1200, CURVES_WIDTH_3 = 1650, CURVES_HEIGHT = 500 };

/* One panel's data: a quantity per epoch, training and validation. */
typedef struct curves_panel {
    const char *quantity;  /* "accuracy", the y axis label */
    const PLFLT *train, *val;
    int has_val;
    PLINT legend_position; /* where the curves are not, usually */
    const char *single;    /* the legend of a panel of one series (the learning rate); NULL otherwise */
} curves_panel;

typedef struct curves_figure {
    int n;
    const PLFLT *epochs;
    curves_panel panels[3];
    int npanels;
    char title[384];
} curves_figure;

/* The smallest and largest finite values of up to two series; 0 when there is none. */
static int finite_range(const PLFLT *a, const PLFLT *b, int n, double *lo, double *hi)
{
    int found = 0;
    for (int k = 0; k < 2; k++) {
        const PLFLT *s = k == 0 ? a : b;
        for (int i = 0; s && i < n; i++) {
            if (!isfinite(s[i]))
                continue;
            if (!found || s[i] < *lo)
                *lo = s[i];
            if (!found || s[i] > *hi)
                *hi = s[i];
            found = 1;
        }
    }
    return found;
}

/* Pads [lo, hi] so that points on the edges, and a single point, stay visible. */
static void pad_range(double *lo, double *hi, double fraction, double minimum_pad)
{
    double pad = (*hi - *lo) * fraction;
    if (pad < minimum_pad)
        pad = minimum_pad;
    *lo -= pad;
    *hi += pad;
}

/* A line through each run of finite values (a NaN breaks it), and a dot at each of them. */
static void draw_series(const PLFLT *x, const PLFLT *y, int n, int colour)
{
    plcol0(colour);
    plwidth(2.5);
    int start = 0;
    while (start < n) {
        while (start < n && !isfinite(y[start]))
            start++;
        int end = start;
        while (end < n && isfinite(y[end]))
            end++;
        if (end - start >= 2)
            plline(end - start, x + start, y + start);
        start = end;
    }
    plwidth(1.0);
    for (int i = 0; i < n; i++)
        if (isfinite(y[i]))
            plot_dot(x[i], y[i], 1.6);
}

static void draw_legend(const curves_panel *p)
{
    PLINT opts[2] = {PL_LEGEND_LINE | PL_LEGEND_SYMBOL, PL_LEGEND_LINE | PL_LEGEND_SYMBOL};
    PLINT text_colours[2] = {PLOT_BLACK, PLOT_BLACK};
    PLINT line_colours[2] = {PLOT_TRAINING, PLOT_VALIDATION};
    PLINT line_styles[2] = {1, 1};
    PLFLT line_widths[2] = {2.5, 2.5};
    PLINT symbol_colours[2] = {PLOT_TRAINING, PLOT_VALIDATION};
    PLFLT symbol_scales[2] = {0.6, 0.6};
    PLINT symbol_numbers[2] = {1, 1};
    const char *symbols[2] = {"●", "●"};
    const char *texts[2] = {"training", "validation"};
    int entries = 2;
    if (!p->has_val) {
        texts[0] = p->single ? p->single : "training (no validation)";
        entries = 1;
    }
    PLFLT width, height;
    pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, p->legend_position,
             0.03, 0.04, 0.06, PLOT_WHITE, PLOT_DARK_GREY, 1, 0, 0, entries, opts, 0.8, 0.9, 2.0, 0.0,
             text_colours, texts, NULL, NULL, NULL, NULL, line_colours, line_styles, line_widths,
             symbol_colours, symbol_scales, symbol_numbers, symbols);
}

static void draw_panel(const curves_figure *f, const curves_panel *p, double left, double right)
{
    double x0 = f->epochs[0], x1 = f->epochs[0];
    finite_range(f->epochs, NULL, f->n, &x0, &x1);
    pad_range(&x0, &x1, 0.05, x1 > x0 ? 0.0 : 0.5);
    double y0 = 0, y1 = 1;
    if (finite_range(p->train, p->has_val ? p->val : NULL, f->n, &y0, &y1)) {
        double magnitude = fmax(fabs(y0), fabs(y1));
        pad_range(&y0, &y1, 0.08, magnitude > 0 ? magnitude * 0.02 : 0.05);
    }

    plvpor(left, right, 0.15, 0.82);
    plwind(x0, x1, y0, y1);
    /* Whole epochs on the x axis while they fit; PLplot chooses beyond that. */
    double x_tick = x1 - x0 <= 16 ? 1.0 : 0.0;
    int x_minor = x1 - x0 <= 16 ? 1 : 0;
    plschr(0.0, 0.9);
    plcol0(PLOT_GRID);
    plwidth(1.0);
    plbox("g", x_tick, x_minor, "g", 0.0, 0);
    plcol0(PLOT_BLACK);
    /* Fixed-point labels: PLplot would otherwise move a common factor to a corner of the page. */
    plbox("bcnstf", x_tick, x_minor, "bcnstvf", 0.0, 0);
    plmtex("b", 3.0, 0.5, 0.5, "epoch");
    /* The y label sits above the axis, written across: tick labels of any width leave it alone. */
    plmtex("t", 0.9, 0.0, 0.0, p->quantity);

    draw_series(f->epochs, p->train, f->n, PLOT_TRAINING);
    if (p->has_val)
        draw_series(f->epochs, p->val, f->n, PLOT_VALIDATION);
    draw_legend(p);
}

static void draw_curves(const void *ctx)
{
    const curves_figure *f = ctx;
    plschr(0.0, 1.0);
    if (f->npanels == 3) {
        draw_panel(f, &f->panels[0], 0.06, 0.32);
        draw_panel(f, &f->panels[1], 0.385, 0.645);
        draw_panel(f, &f->panels[2], 0.71, 0.97);
    } else {
        draw_panel(f, &f->panels[0], 0.07, 0.47);
        draw_panel(f, &f->panels[1], 0.57, 0.97);
    }
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, 1.0, 0.0, 1.0);
    plcol0(PLOT_BLACK);
    plschr(0.0, 1.1);
    plptex(0.5, 0.935, 1.0, 0.0, 0.5, f->title);
}

static int any_finite(const PLFLT *v, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* Four decimals as Keras prints them, or three significant digits below 0.001 and for the
 * huge losses of a diverging run. */
static const char *figure(char *buf, size_t size, double x)
{
    if (x != 0 && (fabs(x) < 1e-3 || fabs(x) >= 1e5))
        snprintf(buf, size, "%.2e", x);
    else
        snprintf(buf, size, "%.4f", x);
    return buf;
}

/* `quantity 0.9921 / val 0.9893`, or without the validation part where it is missing. */
static void final_pair(char *buf, size_t size, const char *quantity, double train, double val)
{
    char t[32], v[32];
    if (isnan(val))
        snprintf(buf, size, "%s %s", quantity, figure(t, sizeof t, train));
    else
        snprintf(buf, size, "%s %s / val %s", quantity, figure(t, sizeof t, train), figure(v, sizeof v, val));
}

/* `name: accuracy 0.9921 / val 0.9893, loss 0.0254 / val 0.0330 (epoch 5)`, from the last epoch. */
static void make_title(char *buf, size_t size, const char *name, const cnn_history_row *last)
{
    char escaped[128], acc[96], loss[96];
    plot_escape(escaped, sizeof escaped, name);
    final_pair(acc, sizeof acc, "accuracy", last->accuracy, last->val_accuracy);
    final_pair(loss, sizeof loss, "loss", last->loss, last->val_loss);
    snprintf(buf, size, "%s: %s, %s (epoch %d)", escaped, acc, loss, last->epoch);
}

int cnn_plot_curves(const cnn_history_row *rows, int n, const char *model_name, const char *out_path)
{
    if (!rows || n <= 0)
        return rt_error("%s: the history has no epochs to plot", out_path);
    PLFLT *data = rt_calloc((size_t)n * 6, sizeof *data);
    if (!data)
        return -1;
    PLFLT *epochs = data, *acc = data + n, *val_acc = data + 2 * n, *loss = data + 3 * n, *val_loss = data + 4 * n;
    PLFLT *rate = data + 5 * n;
    int has_lr = 0;
    for (int i = 0; i < n; i++) {
        epochs[i] = rows[i].epoch;
        acc[i] = rows[i].accuracy;
        val_acc[i] = rows[i].val_accuracy;
        loss[i] = rows[i].loss;
        val_loss[i] = rows[i].val_loss;
        rate[i] = rows[i].has_lr ? rows[i].learning_rate : NAN;
        has_lr |= rows[i].has_lr;
    }
    curves_figure f = {
        .n = n,
        .epochs = epochs,
        .panels = {
            {"accuracy", acc, val_acc, any_finite(val_acc, n), PL_POSITION_RIGHT | PL_POSITION_BOTTOM | PL_POSITION_INSIDE,
             NULL},
            {"loss", loss, val_loss, any_finite(val_loss, n), PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE,
             NULL},
            {"learning rate", rate, NULL, 0, PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE,
             "learning rate"},
        },
        .npanels = has_lr ? 3 : 2,
    };
    make_title(f.title, sizeof f.title, model_name ? model_name : "model", &rows[n - 1]);
    int status = plot_render(out_path, has_lr ? CURVES_WIDTH_3 : CURVES_WIDTH, CURVES_HEIGHT, draw_curves, &f);
    free(data);
    return status;
}
