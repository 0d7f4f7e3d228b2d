/*
 * pgm.c - reading grey images in the netpbm PGM format, binary (P5) and text (P2).
 *
 *   P5 <ws> width <ws> height <ws> maxval <one ws> pixels
 *
 * with `#` comments allowed wherever whitespace is. maxval is 1..65535; above 255 a binary
 * sample takes two bytes, most significant first. Samples are scaled to 0..255 with rounding.
 * The size is checked before anything is allocated, and data that ends early is an error.
 * Bytes after the image are ignored: netpbm allows several images in one file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"

#define PGM_MAX_SIDE 16384

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and comments, then reads a decimal number of at most 9 digits and the
 * whitespace byte after it (a '#' is left unread, EOF is accepted). `*stop` gets that byte.
 * Returns 0, or -1 with `*why` set to what was found instead. */
static int read_number(FILE *f, long *out, int *stop, const char **why)
{
    int c;
    for (;;) {
        c = getc(f);
        if (c == '#') {
            while (c != EOF && c != '\n' && c != '\r')
                c = getc(f);
            continue;
        }
        if (!is_space(c))
            break;
    }
    if (c == EOF) {
        *why = "the file ended early";
        return -1;
    }
    if (c < '0' || c > '9') {
        *why = "expected a number";
        return -1;
    }
    long v = 0;
    int digits = 0;
    while (c >= '0' && c <= '9') {
        if (++digits > 9) {
            *why = "number too large";
            return -1;
        }
        v = v * 10 + (c - '0');
        c = getc(f);
    }
    if (c != EOF && !is_space(c) && c != '#') {
        *why = "expected whitespace after a number";
        return -1;
    }
    if (c == '#')
        ungetc(c, f);
    *stop = c;
    *out = v;
    return 0;
}

static unsigned char scale(long v, long maxval)
{
    return (unsigned char)((v * 255 + maxval / 2) / maxval);
}

static int read_pixels(FILE *f, const char *path, int binary, long maxval, size_t count,
                       unsigned char *px)
{
    const char *why = NULL;
    if (binary) {
        size_t bps = maxval > 255 ? 2 : 1;
        unsigned char buf[4096];
        size_t done = 0;
        while (done < count) {
            size_t want = count - done;
            if (want > sizeof buf / bps)
                want = sizeof buf / bps;
            size_t got = fread(buf, bps, want, f);
            for (size_t i = 0; i < got; i++) {
                long v = bps == 2 ? (long)buf[2 * i] << 8 | buf[2 * i + 1] : buf[i];
                if (v > maxval)
                    return rt_error("%s: pixel %zu is %ld, above maxval %ld", path, done + i, v, maxval);
                px[done + i] = scale(v, maxval);
            }
            done += got;
            if (got < want) {
                if (ferror(f))
                    return rt_error("%s: cannot read: %s", path, strerror(errno));
                return rt_error("%s: truncated: holds %zu of its %zu pixels", path, done, count);
            }
        }
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        long v;
        int stop;
        if (read_number(f, &v, &stop, &why) != 0) {
            if (feof(f))
                return rt_error("%s: truncated: holds %zu of its %zu pixels", path, i, count);
            return rt_error("%s: pixel %zu: %s", path, i, why);
        }
        if (v > maxval)
            return rt_error("%s: pixel %zu is %ld, above maxval %ld", path, i, v, maxval);
        px[i] = scale(v, maxval);
    }
    return 0;
}

int cnn_pgm_read(const char *path, unsigned char **pixels, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_error("%s: cannot open: %s", path, strerror(errno));
    int rc = -1;
    unsigned char *px = NULL;
    int m0 = getc(f), m1 = getc(f), m2 = getc(f);
    if (m2 == '#')
        ungetc(m2, f);
    if (m0 != 'P' || (m1 != '5' && m1 != '2') || !(is_space(m2) || m2 == '#')) {
        rt_error("%s: not a PGM image (it does not start with P5 or P2)", path);
        goto done;
    }
    long width, height, maxval;
    int stop;
    const char *why = NULL;
    if (read_number(f, &width, &stop, &why) != 0 || read_number(f, &height, &stop, &why) != 0 ||
        read_number(f, &maxval, &stop, &why) != 0) {
        rt_error("%s: bad PGM header: %s", path, why);
        goto done;
    }
    if (width < 1 || height < 1 || width > PGM_MAX_SIDE || height > PGM_MAX_SIDE) {
        rt_error("%s: a %ldx%ld image is outside the 1..%d pixels a side this reader takes", path,
                 width, height, PGM_MAX_SIDE);
        goto done;
    }
    if (maxval < 1 || maxval > 65535) {
        rt_error("%s: maxval %ld is outside 1..65535", path, maxval);
        goto done;
    }
    /* A binary header ends with exactly one whitespace byte after maxval; the pixels follow. */
    if (m1 == '5' && stop == '#') {
        rt_error("%s: bad PGM header: a comment right after maxval", path);
        goto done;
    }
    size_t count = (size_t)width * (size_t)height;
    px = rt_malloc(count);
    if (!px)
        goto done;
    if (read_pixels(f, path, m1 == '5', maxval, count, px) != 0)
        goto done;
    *pixels = px;
    *w = (int)width;
    *h = (int)height;
    px = NULL;
    rc = 0;
done:
    free(px);
    fclose(f);
    return rc;
}
