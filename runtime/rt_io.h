/*
 * rt_io.h - file helpers private to the runtime: reading a file whole and writing one
 * atomically. Not part of the public cnnrt.h; the readers and writers of idx.c,
 * safetensors.c, history.c and pgm.c share them.
 */
#ifndef RT_IO_H
#define RT_IO_H

#include <stddef.h>
#include <stdio.h>

/* Reads all of `path` into a new buffer (freed by the caller) with a NUL after the data.
 * Refuses files larger than `max` bytes rather than filling memory. */
int rt_read_all(const char *path, size_t max, char **data, size_t *len);

/* Writes `len` bytes to an open stream, then flushes and fsyncs it, checking each step;
 * `name` is the file named in an error. Does not close the stream. */
int rt_write_stream(FILE *f, const char *name, const void *data, size_t len);

/* Writes `path` atomically: `path.tmp.<pid>` beside it, written and fsynced, then renamed
 * over `path`. On any failure the temporary file is removed and `path` is left as it was. */
int rt_write_atomic(const char *path, const void *data, size_t len);

/* A growable byte buffer for building a file in memory before writing it. */
typedef struct rt_buf {
    char *data;
    size_t len, cap;
    int failed;  /* set when an allocation failed; later appends do nothing */
} rt_buf;

void rt_buf_append(rt_buf *b, const void *data, size_t n);
void rt_buf_printf(rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_buf_free(rt_buf *b);

#endif
