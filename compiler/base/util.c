/*
 * base/util.c - memory helpers that never return NULL, whole-file reading, "did you mean"
 * suggestions and the list of C keywords a model name must avoid.
 */
#include "cnnc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Model files are a few kilobytes; anything this large is a mistake (or an attack). */
#define MAX_INPUT_BYTES ((size_t)64 << 20)

/* Out of memory is not something cnnc can recover from, but it must say so plainly
 * rather than crash on a NULL pointer later. */
static _Noreturn void out_of_memory(size_t n)
{
    fprintf(stderr, "cnnc: error: out of memory (allocating %zu bytes)\n", n);
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void grow_array(void **pp, int *cap, int need, size_t size)
{
    if (need < *cap)
        return;
    if (need < 0 || need >= INT_MAX / 2)
        out_of_memory(SIZE_MAX);
    int n = *cap < 8 ? 8 : *cap;
    while (n <= need)
        n *= 2;
    if (size && (size_t)n > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    *pp = xrealloc(*pp, (size_t)n * size);
    *cap = n;
}

/* Reads from an open descriptor until end of file, so that pipes and /dev/stdin work as
 * well as regular files. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_INPUT_BYTES) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            free(buf);
            errno = saved;
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > MAX_INPUT_BYTES) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return NULL;
    }
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > MAX_INPUT_BYTES) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    char *text = read_all(fd, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return text;
}

/* Suggestions are for short names; longer strings are never "close" to a keyword, and
 * capping the length keeps a 5 MB identifier from costing seconds here. */
#define EDIT_MAX_LEN 64

/* Levenshtein distance with adjacent transpositions counted as one edit (the "optimal
 * string alignment" variant), because `modle` for `model` is the commonest typo. */
int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > EDIT_MAX_LEN || lb > EDIT_MAX_LEN)
        return strcmp(a, b) == 0 ? 0 : EDIT_MAX_LEN;
    int rows[3][EDIT_MAX_LEN + 1];
    int *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && before[j - 2] + 1 < best)
                best = before[j - 2] + 1;
            cur[j] = best;
        }
        int *t = before;
        before = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *did_you_mean(const char *word, const char *const *cands)
{
    int len = (int)strnlen(word, EDIT_MAX_LEN + 1);
    int limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    int best_d = limit + 1;
    for (const char *const *c = cands; *c; c++) {
        int d = edit_distance(word, *c);
        if (d < best_d) {
            best = *c;
            best_d = d;
        }
    }
    return best;
}

bool is_c_keyword(const char *s)
{
    /* C11's keywords, and C23's, because newer compilers default to C23 and the
     * generated code must still compile there. */
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
        "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
        "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
        "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary",
        "_Noreturn", "_Static_assert", "_Thread_local",
        "alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert",
        "thread_local", "true", "typeof", "typeof_unqual", "_BitInt", "_Decimal32",
        "_Decimal64", "_Decimal128",
        NULL,
    };
    for (const char *const *k = keywords; *k; k++)
        if (strcmp(s, *k) == 0)
            return true;
    return false;
}

_Noreturn void cnnc_internal_error(const char *file, int line)
{
    fprintf(stderr, "cnnc: internal error at %s:%d; please report this bug\n", file, line);
    abort();
}
