/*
 * emit/outfile.c - writing a pair of generated files atomically: each goes to a temporary file
 * beside its final name and is renamed only when both are complete, so that an error (a full
 * disk, a bad directory) never leaves a half-written or mismatched pair under the final names.
 * Shared by `cnnc emit` (emit/model.c) and `cnnc emit --inference-only` (emit/infer.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit/writer.h"

int emit_ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        error_plain("output directory '%s' is not a directory", dir);
        return -1;
    }
    if (mkdir(dir, 0777) != 0) {
        error_plain("cannot create directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int out_open(OutFile *o, const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 16;
    o->final_path = xmalloc(n);
    o->temp_path = xmalloc(n);
    snprintf(o->final_path, n, "%s/%s", dir, file);
    snprintf(o->temp_path, n, "%s/.%s.XXXXXX", dir, file);
    int fd = mkstemp(o->temp_path);
    if (fd < 0) {
        error_plain("cannot create a file in '%s': %s", dir, strerror(errno));
        o->temp_path[0] = '\0';
        return -1;
    }
    /* mkstemp makes the file private; generated sources are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->f = fdopen(fd, "w");
    if (o->f == NULL) {
        error_plain("cannot write '%s': %s", o->temp_path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0;
}

static int out_close(OutFile *o)
{
    if (o->f == NULL)
        return -1;
    bool bad = ferror(o->f) != 0;
    int rc = fclose(o->f);
    o->f = NULL;
    if (rc != 0 || bad) {
        error_plain("cannot write '%s': %s", o->final_path, bad ? "write error" : strerror(errno));
        return -1;
    }
    return 0;
}

int out_commit_pair(OutFile *a, OutFile *b)
{
    if (out_close(a) != 0 || out_close(b) != 0)
        return -1;
    if (rename(a->temp_path, a->final_path) != 0) {
        error_plain("cannot write '%s': %s", a->final_path, strerror(errno));
        return -1;
    }
    if (rename(b->temp_path, b->final_path) != 0) {
        error_plain("cannot write '%s': %s", b->final_path, strerror(errno));
        unlink(a->final_path);
        return -1;
    }
    a->temp_path[0] = b->temp_path[0] = '\0';
    return 0;
}

void out_discard(OutFile *o)
{
    if (o->f != NULL)
        fclose(o->f);
    if (o->temp_path != NULL && o->temp_path[0] != '\0')
        unlink(o->temp_path);
    free(o->final_path);
    free(o->temp_path);
}
