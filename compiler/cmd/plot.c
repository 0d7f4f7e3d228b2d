/*
 * cmd/plot.c - `cnnc plot HISTORY.csv [-o curves.png] [--model NAME]`: draws the accuracy and
 * loss curves of a training history (the CSV a program's `train --history` writes) with
 * libcnnplot. The picture's format follows the output's extension: .png, .svg or .pdf.
 *
 * The history does not name its model, so the title uses --model, or else the CSV's file name
 * without its extension.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/driver.h"
#include "plot/cnnplot.h"

/* "runs/mnist_cnn.csv" -> "mnist_cnn", in buf. */
static const char *name_from_path(const char *path, char *buf, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(buf, size, "%s", base);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    return buf;
}

int cmd_plot(int argc, char **argv)
{
    const char *history = NULL, *out = "curves.png", *model = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (is_help_option(argv[i])) {
            print_command_usage("plot", stdout);
            return 0;
        }
        if ((r = match_value_option(argc, argv, &i, "plot", "-o", &value)) != 0) {
            if (r < 0)
                return 2;
            out = value;
        } else if ((r = match_value_option(argc, argv, &i, "plot", "--model", &value)) != 0) {
            if (r < 0)
                return 2;
            model = value;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("plot", "unknown option '%s'", argv[i]);
        } else if (history) {
            return usage_error("plot", "one history at a time, not '%s' and '%s'", history, argv[i]);
        } else {
            history = argv[i];
        }
    }
    if (!history)
        return usage_error("plot", "no history file given");
    if (*out == '\0')
        return usage_error("plot", "-o needs a file name");

    cnn_history_row *rows;
    int n;
    if (cnn_history_read(history, &rows, &n) != 0)
        return 1;
    char name[256];
    if (!model)
        model = name_from_path(history, name, sizeof name);
    int rc = cnn_plot_curves(rows, n, model, out);
    free(rows);
    return rc == 0 ? 0 : 1;
}
