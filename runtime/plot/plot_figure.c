/*
 * plot_figure.c - one PLplot stream per figure, with PLplot's failure modes fenced off.
 *
 * PLplot keeps global state and, on a fatal error, prints a message and calls exit(). A library
 * must not do either to its caller, so each figure gets a fresh stream (plmkstrm), released with
 * plend1, and the exit handler that plsexit installs jumps back here instead of returning to
 * PLplot. The usual fatal errors, an output file that cannot be opened and a missing driver,
 * are checked for before drawing starts. PLplot is not thread-safe and neither is this: draw
 * one figure at a time.
 */
#include "plot_figure.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <plplot.h>

#include "cnnrt.h"

/* M_PI is not in strict C11. */
static const double plot_pi = 3.14159265358979323846;

/* The device for each extension; the cairo ones render without a display. */
static const struct {
    const char *ext, *device;
} plot_devices[] = {
    {".png", "pngcairo"},
    {".svg", "svgcairo"},
    {".pdf", "pdfcairo"},
};

static const char *device_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < sizeof plot_devices / sizeof plot_devices[0]; i++)
        if (strcasecmp(dot, plot_devices[i].ext) == 0)
            return plot_devices[i].device;
    return NULL;
}

/* Without the driver, plinit would ask on the terminal which device to use instead. */
static int device_installed(const char *device)
{
    enum { MAX_DEVICES = 128 };
    const char *menu[MAX_DEVICES], *names[MAX_DEVICES];
    const char **menu_list = menu, **name_list = names; /* PLplot fills the arrays given */
    int n = MAX_DEVICES;
    plgFileDevs(&menu_list, &name_list, &n);
    for (int i = 0; i < n && i < MAX_DEVICES; i++)
        if (names[i] && strcmp(names[i], device) == 0)
            return 1;
    return 0;
}

/* Where PLplot's error handlers leave their message and jump back to. */
static jmp_buf plot_fatal_jump;
static char plot_fatal_message[256];
static char plot_abort_message[256];

static int on_plplot_exit(PLCHAR_VECTOR message)
{
    snprintf(plot_fatal_message, sizeof plot_fatal_message, "%s", message && *message ? message : "unknown error");
    longjmp(plot_fatal_jump, 1);
}

/* plabort reports an error that stops one call but not the program; the figure would come out
 * wrong, so the first such message makes the whole figure fail. */
static void on_plplot_abort(PLCHAR_VECTOR message)
{
    if (plot_abort_message[0] == '\0')
        snprintf(plot_abort_message, sizeof plot_abort_message, "%s", message && *message ? message : "unknown error");
}

static void set_palette(void)
{
    static const PLINT r[PLOT_COLOURS] = {255, 0, 31, 255, 220, 90};
    static const PLINT g[PLOT_COLOURS] = {255, 0, 119, 127, 220, 90};
    static const PLINT b[PLOT_COLOURS] = {255, 0, 180, 14, 220, 90};
    plscmap0(r, g, b, PLOT_COLOURS);
}

/* A figure to draw, passed whole to the steps that run under guard(). */
typedef struct plot_job {
    const char *path, *device;
    int width, height;
    plot_draw_fn draw;
    const void *ctx;
} plot_job;

/* The outcomes of a guarded step. */
enum { STEP_DONE, STEP_FATAL, STEP_NO_DRIVER, STEP_NO_STREAM };

static int check_driver(const plot_job *job)
{
    return device_installed(job->device) ? STEP_DONE : STEP_NO_DRIVER;
}

/* Draws on a fresh stream, released after. The caller restores the previous stream. */
static int draw_figure(const plot_job *job)
{
    PLINT stream = -1;
    plmkstrm(&stream);
    if (stream < 0)
        return STEP_NO_STREAM;
    plsdev(job->device);
    plsfnam(job->path);
    plspage(0.0, 0.0, job->width, job->height, 0, 0);
    plspause(0);
    set_palette();
    plinit();
    pladv(0);
    job->draw(job->ctx);
    plend1();
    return STEP_DONE;
}

/* Runs one step with PLplot's exit and abort handlers pointing here. Kept apart from
 * plot_render so that nothing held in a local variable changes between setjmp and a longjmp
 * from the exit handler. After a fatal error a stream may be left half-made: PLplot cannot
 * be trusted to release it then. */
static int guard(int (*step)(const plot_job *), const plot_job *job)
{
    plot_fatal_message[0] = '\0';
    plsexit(on_plplot_exit);
    plsabort(on_plplot_abort);
    int status = setjmp(plot_fatal_jump) != 0 ? STEP_FATAL : step(job);
    plsexit(NULL);
    plsabort(NULL);
    return status;
}

int plot_render(const char *path, int width, int height, plot_draw_fn draw, const void *ctx)
{
    plot_job job = {path, device_for(path), width, height, draw, ctx};
    if (!job.device) {
        rt_error("%s: cannot tell the picture format from the name", path);
        fprintf(stderr, "hint: end the file name with .png, .svg or .pdf\n");
        return -1;
    }
    PLINT previous;
    plgstrm(&previous);
    plot_abort_message[0] = '\0';
    int status = guard(check_driver, &job);
    if (status != STEP_DONE) {
        rt_error("%s: PLplot has no %s driver%s%s", path, job.device, status == STEP_FATAL ? ": " : "",
                 status == STEP_FATAL ? plot_fatal_message : "");
        fprintf(stderr, "hint: install Debian's plplot-driver-cairo\n");
        return -1;
    }
    /* Creating the file first turns a missing directory or a read-only place into a message
     * here, where PLplot would print its own and exit. */
    FILE *probe = fopen(path, "wb");
    if (!probe)
        return rt_error("%s: cannot create the picture: %s", path, strerror(errno));
    fclose(probe);

    status = guard(draw_figure, &job);
    plsstrm(previous);
    if (status != STEP_DONE) {
        remove(path);
        if (status == STEP_NO_STREAM)
            return rt_error("%s: PLplot cannot open another plot stream", path);
        return rt_error("%s: PLplot failed: %s", path, plot_fatal_message);
    }
    if (plot_abort_message[0] != '\0') {
        remove(path);
        return rt_error("%s: PLplot refused to draw: %s", path, plot_abort_message);
    }
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0) {
        remove(path);
        return rt_error("%s: the picture could not be written (PLplot device %s); is the disk full?", path, job.device);
    }
    return 0;
}

char *plot_escape(char *buf, size_t size, const char *text)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 1 < size; p++) {
        if (*p == '#') {
            if (o + 2 >= size)
                break;
            buf[o++] = '#';
        }
        buf[o++] = *p;
    }
    if (size > 0)
        buf[o] = '\0';
    return buf;
}

void plot_dot(double x, double y, double r_mm)
{
    PLFLT page_x0, page_x1, page_y0, page_y1; /* the subpage, in millimetres */
    PLFLT vp_x0, vp_x1, vp_y0, vp_y1;         /* the viewport, as fractions of the subpage */
    PLFLT w_x0, w_x1, w_y0, w_y1;             /* the world window */
    plgspa(&page_x0, &page_x1, &page_y0, &page_y1);
    plgvpd(&vp_x0, &vp_x1, &vp_y0, &vp_y1);
    plgvpw(&w_x0, &w_x1, &w_y0, &w_y1);
    double mm_x = (vp_x1 - vp_x0) * (page_x1 - page_x0);
    double mm_y = (vp_y1 - vp_y0) * (page_y1 - page_y0);
    if (mm_x <= 0 || mm_y <= 0)
        return;
    double rx = r_mm * (w_x1 - w_x0) / mm_x;
    double ry = r_mm * (w_y1 - w_y0) / mm_y;
    enum { SIDES = 20 };
    PLFLT px[SIDES], py[SIDES];
    for (int i = 0; i < SIDES; i++) {
        double a = 2.0 * plot_pi * i / SIDES;
        px[i] = x + rx * cos(a);
        py[i] = y + ry * sin(a);
    }
    plfill(SIDES, px, py);
}
