/*
 * idx.c - reading MNIST's IDX files, gzipped or raw.
 *
 * An IDX file is a 4-byte magic (0, 0, type, dimension count), one big-endian uint32 per
 * dimension, then the data. zlib's gzread reads gzip and raw files alike, so compression is
 * told by the content and not by the name. The header is not trusted: the data is read in
 * growing chunks, so a header announcing billions of images fails at the real end of the
 * file instead of allocating what it announces, and the file must end exactly where the
 * header says (trailing bytes are an error, as they mean the file is not what it claims).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cnnrt.h"

#define IDX_MAGIC_IMAGES 0x803u
#define IDX_MAGIC_LABELS 0x801u
#define IDX_TYPE_UBYTE 0x08u
/* No sane image set comes near this; it bounds what a header can make us allocate. */
#define IDX_MAX_BYTES ((size_t)1 << 30)
#define IDX_MAX_SIDE 16384u
#define IDX_CHUNK ((size_t)1 << 24)

/* Reads up to n bytes; returns how many, or -1 after reporting a read or gzip error.
 * A short count without an error means the file ended. */
static long long gz_read_upto(gzFile gz, const char *path, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30;
        int r = gzread(gz, buf + got, (unsigned)want);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(gz, &errnum);
            if (errnum == Z_ERRNO)
                return rt_error("%s: cannot read: %s", path, strerror(errno));
            /* zlib puts the path in front of its message; it is already in ours. */
            size_t pl = strlen(path);
            if (strncmp(msg, path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0)
                msg += pl + 2;
            return rt_error("%s: corrupt gzip data: %s", path, msg);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *kind_name(uint32_t magic)
{
    return magic == IDX_MAGIC_IMAGES ? "images" : "labels";
}

/* Reads and checks the magic and the dimensions (dims[ndim]). */
static int read_header(gzFile gz, const char *path, uint32_t want_magic, uint32_t *dims, int ndim)
{
    unsigned char head[4 + 4 * 3];
    size_t need = 4 + 4 * (size_t)ndim;
    long long got = gz_read_upto(gz, path, head, 4);
    if (got < 0)
        return -1;
    if (got == 0)
        return rt_error("%s: the file is empty; expected an IDX file of %s", path, kind_name(want_magic));
    if (got < 4)
        return rt_error("%s: too short for an IDX header (%lld bytes)", path, got);
    uint32_t magic = be32(head);
    if (magic != want_magic) {
        uint32_t other = want_magic == IDX_MAGIC_IMAGES ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES;
        if (magic == other)
            return rt_error("%s: holds %s (IDX magic 0x%08x), not %s (0x%08x)", path,
                            kind_name(other), other, kind_name(want_magic), want_magic);
        if ((magic >> 16) == 0 && (magic & 0xff) == (want_magic & 0xff))
            return rt_error("%s: IDX data type 0x%02x is not unsigned bytes (0x08)", path,
                            (magic >> 8) & 0xff);
        return rt_error("%s: not an IDX file of %s (magic 0x%08x, expected 0x%08x)", path,
                        kind_name(want_magic), magic, want_magic);
    }
    got = gz_read_upto(gz, path, head + 4, need - 4);
    if (got < 0)
        return -1;
    if ((size_t)got < need - 4)
        return rt_error("%s: truncated IDX header", path);
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        if (dims[i] == 0)
            return rt_error("%s: dimension %d of the IDX header is 0", path, i + 1);
        if (dims[i] > INT_MAX)
            return rt_error("%s: dimension %d of the IDX header is too large (%u)", path, i + 1, dims[i]);
    }
    return 0;
}

/* Reads exactly `total` bytes of data, then checks that the file ends there. `item` bytes
 * make one image or label, so that a truncation can be reported in those units. */
static int read_body(gzFile gz, const char *path, size_t total, size_t item, const char *what,
                     unsigned char **out)
{
    size_t cap = total < IDX_CHUNK ? total : IDX_CHUNK;
    size_t have = 0;
    unsigned char *buf = rt_malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        long long got = gz_read_upto(gz, path, buf + have, cap - have);
        if (got < 0)
            goto fail;
        have += (size_t)got;
        if (have < cap) {
            rt_error("%s: truncated: holds %zu of the %zu %s its header announces", path,
                     have / item, total / item, what);
            goto fail;
        }
        if (have == total)
            break;
        size_t ncap = cap * 2 < total ? cap * 2 : total;
        unsigned char *nb = realloc(buf, ncap);
        if (!nb) {
            rt_error("%s: out of memory (%zu bytes)", path, ncap);
            goto fail;
        }
        buf = nb;
        cap = ncap;
    }
    unsigned char extra;
    long long more = gz_read_upto(gz, path, &extra, 1);
    if (more < 0)
        goto fail;
    if (more > 0) {
        rt_error("%s: has data after the %zu %s its header announces", path, total / item, what);
        goto fail;
    }
    *out = buf;
    return 0;
fail:
    free(buf);
    return -1;
}

static gzFile open_idx(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        rt_error("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    return gz;
}

int cnn_idx_read_images(const char *path, unsigned char **pixels, int *n, int *h, int *w)
{
    errno = 0;
    gzFile gz = open_idx(path);
    if (!gz)
        return -1;
    uint32_t dims[3];
    int rc = read_header(gz, path, IDX_MAGIC_IMAGES, dims, 3);
    if (rc == 0 && (dims[1] > IDX_MAX_SIDE || dims[2] > IDX_MAX_SIDE))
        rc = rt_error("%s: images of %ux%u pixels are larger than %u on a side", path, dims[1],
                      dims[2], IDX_MAX_SIDE);
    /* dims are below 2^31 each and the sides below 2^14, so the product fits in 64 bits. */
    uint64_t total = (uint64_t)dims[0] * dims[1] * dims[2];
    if (rc == 0 && total > IDX_MAX_BYTES)
        rc = rt_error("%s: the header announces %u images of %ux%u pixels, more than %zu MiB", path,
                      dims[0], dims[1], dims[2], IDX_MAX_BYTES >> 20);
    unsigned char *data = NULL;
    if (rc == 0)
        rc = read_body(gz, path, (size_t)total, (size_t)dims[1] * dims[2], "images", &data);
    gzclose(gz);
    if (rc != 0)
        return -1;
    *pixels = data;
    *n = (int)dims[0];
    *h = (int)dims[1];
    *w = (int)dims[2];
    return 0;
}

int cnn_idx_read_labels(const char *path, unsigned char **labels, int *n)
{
    errno = 0;
    gzFile gz = open_idx(path);
    if (!gz)
        return -1;
    uint32_t count;
    int rc = read_header(gz, path, IDX_MAGIC_LABELS, &count, 1);
    if (rc == 0 && count > IDX_MAX_BYTES)
        rc = rt_error("%s: the header announces %u labels, more than %zu MiB", path, count,
                      IDX_MAX_BYTES >> 20);
    unsigned char *data = NULL;
    if (rc == 0)
        rc = read_body(gz, path, count, 1, "labels", &data);
    gzclose(gz);
    if (rc != 0)
        return -1;
    *labels = data;
    *n = (int)count;
    return 0;
}

int cnn_dataset_load(const char *images, const char *labels, int classes, cnn_dataset *out)
{
    cnn_dataset d = {0};
    int nl;
    memset(out, 0, sizeof *out);
    if (cnn_idx_read_images(images, &d.images, &d.n, &d.h, &d.w) != 0)
        return -1;
    if (cnn_idx_read_labels(labels, &d.labels, &nl) != 0)
        goto fail;
    if (nl != d.n) {
        rt_error("%s: holds %d labels but %s holds %d images", labels, nl, images, d.n);
        goto fail;
    }
    for (int i = 0; i < d.n; i++) {
        if (d.labels[i] >= classes) {
            rt_error("%s: label %d of image %d is not below the model's %d classes", labels,
                     d.labels[i], i, classes);
            goto fail;
        }
    }
    *out = d;
    return 0;
fail:
    cnn_dataset_free(&d);
    return -1;
}

void cnn_dataset_free(cnn_dataset *d)
{
    free(d->images);
    free(d->labels);
    d->images = d->labels = NULL;
    d->n = d->h = d->w = 0;
}
