/*
 * io_check.h - the small harness of the runtime I/O unit tests (test_idx.c, test_safetensors.c,
 * test_history.c, test_images.c).
 *
 * Each check prints one line, `ok NAME` or `FAIL NAME: why`, which tests/suite_40_runtime_io.sh
 * turns into one pass or fail. Errors the runtime prints on stderr are captured into a file so
 * that a check can require the message to say the right thing; IO_SHOW_ERRORS=1 in the
 * environment prints each captured message (as `#` lines) for review.
 */
#ifndef IO_CHECK_H
#define IO_CHECK_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int io_failures;
static const char *io_dir;          /* scratch directory, argv[1] */
static char io_stderr_path[4096];
static int io_saved_stderr = -1;

static void io_ok(const char *name)
{
    printf("ok %s\n", name);
}

static void io_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void io_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    io_failures++;
}

/* CHECK(name, expr): passes when expr is true; the failure shows the expression. */
#define CHECK(name, expr) ((expr) ? io_ok(name) : io_fail(name, "%s", #expr))

/* A path in the scratch directory (one static buffer per call site is not needed: copy it). */
static char *io_path(const char *name)
{
    static char buf[8][4096];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", io_dir, name);
    return p;
}

static void io_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "test setup: cannot write %s\n", path);
        exit(2);
    }
}

/* Sends stderr to a file until io_capture_end, which returns what was written (static). */
static void io_capture_begin(void)
{
    snprintf(io_stderr_path, sizeof io_stderr_path, "%s/stderr.txt", io_dir);
    fflush(stderr);
    io_saved_stderr = dup(2);
    int fd = open(io_stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || io_saved_stderr < 0) {
        fprintf(stderr, "test setup: cannot capture stderr\n");
        exit(2);
    }
    dup2(fd, 2);
    close(fd);
}

static const char *io_capture_end(void)
{
    static char text[8192];
    fflush(stderr);
    dup2(io_saved_stderr, 2);
    close(io_saved_stderr);
    FILE *f = fopen(io_stderr_path, "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    return text;
}

/* EXPECT_ERROR(name, call, want): the call returns -1 and its stderr holds `want`. */
#define EXPECT_ERROR(name, call, want)                                                       \
    do {                                                                                     \
        io_capture_begin();                                                                  \
        int rc_ = (call);                                                                    \
        const char *err_ = io_capture_end();                                                 \
        if (rc_ != -1)                                                                       \
            io_fail(name, "%s returned %d, expected -1", #call, rc_);                        \
        else if (!strstr(err_, (want)))                                                      \
            io_fail(name, "stderr does not contain \"%s\"; it was: %s", (want), err_);       \
        else                                                                                 \
            io_ok(name);                                                                     \
        if (getenv("IO_SHOW_ERRORS"))                                                        \
            printf("#   %s", err_);                                                          \
    } while (0)

#endif
