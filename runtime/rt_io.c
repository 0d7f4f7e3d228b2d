/*
 * rt_io.c - reading a file whole, writing one atomically, and a byte buffer to build it in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"
#include "rt_io.h"

int rt_read_all(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_error("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = rt_malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    for (;;) {
        /* Reading stops one byte past `max`: enough to know the file is too large. */
        if (n > max) {
            free(buf);
            fclose(f);
            return rt_error("%s: file is larger than %zu bytes", path, max);
        }
        if (n == cap) {
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return rt_error("%s: out of memory reading the file", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    int err = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return rt_error("%s: cannot read: %s", path, strerror(err));
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int rt_write_stream(FILE *f, const char *name, const void *data, size_t len)
{
    /* stdio buffers, so a full disk may show only at fflush; fsync makes the data durable
     * before the rename makes it visible. */
    if (len > 0 && fwrite(data, 1, len, f) != len)
        return rt_error("%s: cannot write: %s", name, strerror(errno));
    if (fflush(f) != 0)
        return rt_error("%s: cannot write: %s", name, strerror(errno));
    if (fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS)
        return rt_error("%s: cannot sync to disk: %s", name, strerror(errno));
    return 0;
}

/* The directory part of a path ("." for a bare name), malloc'ed; NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    char *dir = malloc((size_t)(slash - path) + 1);
    if (dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    return dir;
}

/* Makes the rename itself durable. Some file systems refuse fsync on a directory; the data
 * is already safe then, so a failure here is not reported. */
static void sync_parent_dir(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int cnn_check_output(const char *option, const char *path, const char *example)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t l = strlen(path);
        return rt_error("%s %s: is a directory; give a file name, such as %s%s%s", option, path,
                        path, l > 0 && path[l - 1] == '/' ? "" : "/", example);
    }
    char *dir = dir_of(path);
    if (!dir)
        return rt_error("out of memory");
    int rc = 0;
    if (stat(dir, &st) != 0) {
        rc = rt_error("%s %s: the directory %s does not exist", option, path, dir);
    } else if (!S_ISDIR(st.st_mode)) {
        rc = rt_error("%s %s: %s is not a directory", option, path, dir);
    } else {
        /* Permissions say nothing to root, and a read-only file system shows only when a
         * file is created: create one beside the target, then remove it. Its name is not the
         * temporary name rt_write_atomic uses. */
        size_t n = strlen(path) + 32;
        char *probe = malloc(n);
        if (!probe) {
            free(dir);
            return rt_error("out of memory");
        }
        snprintf(probe, n, "%s.probe.%ld", path, (long)getpid());
        int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            rc = rt_error("%s %s: cannot write in %s: %s", option, path, dir, strerror(errno));
        } else {
            close(fd);
            unlink(probe);
        }
        free(probe);
    }
    free(dir);
    return rc;
}

int rt_write_atomic(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + 32;
    char *tmp = rt_malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int err = errno;
        free(tmp);
        return rt_error("%s: cannot write: %s", path, strerror(err));
    }
    int rc = rt_write_stream(f, path, data, len);
    if (fclose(f) != 0 && rc == 0)
        rc = rt_error("%s: cannot write: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = rt_error("%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (rc != 0)
        remove(tmp);
    else
        sync_parent_dir(path);
    free(tmp);
    return rc;
}

void rt_buf_append(rt_buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (n > cap - b->len) {
            if (cap > ((size_t)-1) / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *nd = realloc(b->data, cap);
        if (!nd) {
            b->failed = 1;
            return;
        }
        b->data = nd;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
}

void rt_buf_printf(rt_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        rt_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rt_buf_append(b, big, (size_t)n);
    free(big);
}

void rt_buf_free(rt_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
