/*
 * progress.c - Keras-like progress lines while training:
 *
 *   Epoch 1/5
 *   1875/1875 [==============================] - 6s 3ms/step - loss: 0.1450 - accuracy: 0.9565
 *
 * On a terminal the line is redrawn in place (with a `>` head and an ETA) several times a
 * second; otherwise, for logs, each epoch gets exactly one line, written when it ends.
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cnnrt.h"
#include "progress.h"

#define BAR_WIDTH 30
#define REDRAW_SECONDS 0.15

void cnn_progress_begin(cnn_progress *p, FILE *out, int quiet, int epoch, int epochs, int steps)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out));
    p->steps = steps;
    p->start = rt_now();
    if (!quiet) {
        fprintf(out, "Epoch %d/%d\n", epoch, epochs);
        fflush(out);
    }
}

/* Appends to a line of `size` bytes holding *len; a diverging loss printed with %.4f can be
 * hundreds of digits long, so what does not fit is cut instead of written past the end. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < size - 1 ? *len + (size_t)n : size - 1;
}

/* `  32/1875 [>.............................]`, the count padded to the total's width. */
static void format_bar(char *buf, size_t size, size_t *len, int step, int steps)
{
    char bar[BAR_WIDTH + 1];
    int filled = steps > 0 ? (int)((long long)BAR_WIDTH * step / steps) : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled - 1 ? '=' : i == filled - 1 ? (step < steps ? '>' : '=') : '.';
    bar[BAR_WIDTH] = '\0';
    int width = snprintf(NULL, 0, "%d", steps);
    append(buf, size, len, "%*d/%d [%s]", width, step, steps, bar);
}

/* Keras' ETA: `1:02:03`, `4:05` or `7s`. */
static int format_eta(char *buf, size_t size, double seconds)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        return snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    if (s >= 60)
        return snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
    return snprintf(buf, size, "%lds", s);
}

/* Keras' time per step: `3ms/step`, in the largest unit that keeps it at least 1. */
static int format_per_step(char *buf, size_t size, double seconds)
{
    if (seconds >= 1)
        return snprintf(buf, size, "%.0fs/step", seconds);
    if (seconds >= 1e-3)
        return snprintf(buf, size, "%.0fms/step", seconds * 1e3);
    return snprintf(buf, size, "%.0fus/step", seconds * 1e6);
}

/* Writes the line, on a terminal over the previous one, blanking what it no longer covers. */
static void draw(cnn_progress *p, const char *line, int final)
{
    int len = (int)strlen(line);
    if (p->tty) {
        fprintf(p->out, "\r%s", line);
        if (p->drawn > len)
            fprintf(p->out, "%*s", p->drawn - len, "");
        p->drawn = len;
    } else {
        fputs(line, p->out);
    }
    if (final)
        fputc('\n', p->out);
    fflush(p->out);
}

void cnn_progress_step(cnn_progress *p, int step, double loss, double accuracy)
{
    if (p->quiet || !p->tty)
        return;
    double now = rt_now();
    if (now - p->last_draw < REDRAW_SECONDS && step < p->steps)
        return;
    p->last_draw = now;

    char line[320], eta[32];
    double elapsed = now - p->start;
    format_eta(eta, sizeof eta, step > 0 ? elapsed / step * (p->steps - step) : 0);
    size_t n = 0;
    format_bar(line, sizeof line, &n, step, p->steps);
    append(line, sizeof line, &n, " - ETA: %s - loss: %.4f - accuracy: %.4f", eta, loss, accuracy);
    draw(p, line, 0);
}

void cnn_progress_end(cnn_progress *p, double loss, double accuracy, int has_val,
                      double val_loss, double val_accuracy)
{
    if (p->quiet)
        return;
    char line[320], per_step[32];
    double elapsed = rt_now() - p->start;
    format_per_step(per_step, sizeof per_step, p->steps > 0 ? elapsed / p->steps : 0);
    size_t n = 0;
    format_bar(line, sizeof line, &n, p->steps, p->steps);
    append(line, sizeof line, &n, " - %.0fs %s - loss: %.4f - accuracy: %.4f", elapsed, per_step,
           loss, accuracy);
    if (has_val)
        append(line, sizeof line, &n, " - val_loss: %.4f - val_accuracy: %.4f", val_loss,
               val_accuracy);
    if (p->learning_rate > 0)
        append(line, sizeof line, &n, " - learning_rate: %.4e", p->learning_rate);
    draw(p, line, 1);
}
