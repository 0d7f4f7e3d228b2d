/*
 * plot_samples.c - a test driver for libcnnplot: draws each kind of picture from test data,
 * so that tests/suite_70_plot.sh can check the files with png_check.
 *
 *   plot_samples curves HISTORY.csv OUT [MODEL]    the history read with cnn_history_read
 *   plot_samples confusion OUT [CLASSES]           a made-up matrix, strong on the diagonal
 *   plot_samples mistakes OUT N [IDX_IMAGES]       N images: the first N of an IDX file, or
 *                                                  synthetic strokes without one
 *   plot_samples repeat HISTORY.csv DIR            all three pictures, twice, in one process
 *                                                  (as a program's eval draws two): DIR/1-*.png
 *                                                  and DIR/2-*.svg, with a failed one between
 * Exits with the plotting function's status: 0, or 1 after its message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnplot.h"
#include "cnnrt.h"

static int plot_curves(const char *history, const char *out, const char *model)
{
    cnn_history_row *rows;
    int n;
    if (cnn_history_read(history, &rows, &n) != 0)
        return 1;
    int rc = cnn_plot_curves(rows, n, model, out);
    free(rows);
    return rc == 0 ? 0 : 1;
}

static long counts[64][64];

static int plot_confusion(const char *out, int classes)
{
    for (int t = 0; t < 64; t++)
        for (int p = 0; p < 64; p++)
            counts[t][p] = t == p ? 950 + 7 * t : (t * 7 + p * 3) % 11 == 0 ? 14 : (t + p) % 4;
    return cnn_plot_confusion((const long (*)[64])counts, classes, "sample_cnn", out) == 0 ? 0 : 1;
}

/* A 28x28 image of a ring and a bar whose place depends on k, so that tiles differ. */
static void synthetic_digit(unsigned char *px, int k)
{
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int dx = x - 14, dy = y - 10 - k % 5, r2 = dx * dx + dy * dy;
            int ring = r2 >= 25 && r2 <= 49;
            int bar = x >= 6 + k % 7 && x <= 8 + k % 7 && y >= 12;
            px[y * 28 + x] = ring || bar ? (unsigned char)(200 + (x + y + k) % 56) : 0;
        }
}

static int plot_mistakes(const char *out, int n, const char *idx_images)
{
    unsigned char *pixels = NULL;
    int count = n, h = 28, w = 28;
    if (idx_images) {
        if (cnn_idx_read_images(idx_images, &pixels, &count, &h, &w) != 0)
            return 1;
        if (count < n) {
            fprintf(stderr, "plot_samples: %s has only %d images\n", idx_images, count);
            free(pixels);
            return 1;
        }
    } else {
        pixels = malloc((size_t)(n > 0 ? n : 1) * 28 * 28);
        if (!pixels)
            return 1;
        for (int k = 0; k < n; k++)
            synthetic_digit(pixels + (size_t)k * 28 * 28, k);
    }
    cnn_mistake *m = calloc((size_t)(n > 0 ? n : 1), sizeof *m);
    if (!m) {
        free(pixels);
        return 1;
    }
    for (int k = 0; k < n; k++) {
        m[k].pixels = pixels + (size_t)k * h * w;
        m[k].label = k % 10;
        m[k].predicted = (k * 3 + 1) % 10;
        m[k].probability = 0.5f + (float)(k % 50) / 100.0f;
    }
    int rc = cnn_plot_mistakes(m, n, h, w, "sample_cnn", out);
    free(m);
    free(pixels);
    return rc == 0 ? 0 : 1;
}

/* PLplot's global state must not carry over from one picture to the next, nor from a failure. */
static int plot_repeatedly(const char *history, const char *dir)
{
    static const char *const formats[2] = {"png", "svg"};
    char out[4096], bad[4096];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", dir);
    for (int round = 0; round < 2; round++) {
        snprintf(out, sizeof out, "%s/%d-curves.%s", dir, round + 1, formats[round]);
        if (plot_curves(history, out, "repeat") != 0)
            return 1;
        if (plot_curves(history, bad, "repeat") == 0)
            return 1;
        snprintf(out, sizeof out, "%s/%d-confusion.%s", dir, round + 1, formats[round]);
        if (plot_confusion(out, 10) != 0)
            return 1;
        snprintf(out, sizeof out, "%s/%d-mistakes.%s", dir, round + 1, formats[round]);
        if (plot_mistakes(out, 7, NULL) != 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "curves") == 0)
        return plot_curves(argv[2], argv[3], argc > 4 ? argv[4] : "sample_cnn");
    if (argc >= 3 && strcmp(argv[1], "confusion") == 0)
        return plot_confusion(argv[2], argc > 3 ? atoi(argv[3]) : 10);
    if (argc >= 4 && strcmp(argv[1], "mistakes") == 0)
        return plot_mistakes(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : NULL);
    if (argc >= 4 && strcmp(argv[1], "repeat") == 0)
        return plot_repeatedly(argv[2], argv[3]);
    fprintf(stderr, "usage: plot_samples curves HISTORY.csv OUT [MODEL] | confusion OUT [CLASSES] |\n"
                    "                    mistakes OUT N [IDX_IMAGES] | repeat HISTORY.csv DIR\n");
    return 2;
}
