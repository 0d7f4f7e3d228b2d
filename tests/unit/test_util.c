/*
 * test_util.c - unit tests of util.c and diag.c: suggestions, C keywords, file reading,
 * and the exact text of diagnostics (captured by pointing stderr at a file).
 * Usage: test_util TMPDIR; prints each failed check and exits 1 if any failed.
 */
#include "cnnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(expr)                                                                 \
    do {                                                                            \
        if (!(expr)) {                                                              \
            printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);         \
            failures++;                                                             \
        }                                                                           \
    } while (0)

static bool same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static void test_suggestions(void)
{
    CHECK(edit_distance("model", "model") == 0);
    CHECK(edit_distance("modle", "model") == 1); /* a transposition is one edit */
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("", "abc") == 3);
    char long_word[200];
    memset(long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    CHECK(edit_distance(long_word, "a") >= 64);
    CHECK(edit_distance(long_word, long_word) == 0);

    static const char *const layers[] = {"conv2d", "maxpool2d", "avgpool2d", "flatten", "dense", NULL};
    CHECK(same(did_you_mean("dense2d", layers), "dense"));
    CHECK(same(did_you_mean("Conv2D", layers), "conv2d"));
    CHECK(same(did_you_mean("maxpool", layers), "maxpool2d"));
    CHECK(same(did_you_mean("flaten", layers), "flatten"));
    CHECK(did_you_mean("relu", layers) == NULL);
    CHECK(did_you_mean("x", layers) == NULL);
    CHECK(did_you_mean(long_word, layers) == NULL);
}

static void test_keywords(void)
{
    CHECK(is_c_keyword("int"));
    CHECK(is_c_keyword("while"));
    CHECK(is_c_keyword("_Bool"));
    CHECK(is_c_keyword("restrict"));
    CHECK(is_c_keyword("bool")); /* C23 */
    CHECK(!is_c_keyword("main"));
    CHECK(!is_c_keyword("mnist_cnn"));
    CHECK(!is_c_keyword("Int"));
}

static void test_memory(void)
{
    char *s = xstrndup("abcdef", 3);
    CHECK(same(s, "abc"));
    free(s);
    s = xstrndup("ab", 10);
    CHECK(same(s, "ab"));
    free(s);
    int *v = NULL, cap = 0;
    for (int i = 0; i < 1000; i++) {
        grow_array((void **)&v, &cap, i, sizeof *v);
        v[i] = i;
    }
    CHECK(cap >= 1000 && v[999] == 999);
    free(v);
}

static void test_read_file(const char *dir)
{
    size_t len = 99;
    errno = 0;
    CHECK(read_file(dir, &len) == NULL && errno == EISDIR);
    char path[4096];
    snprintf(path, sizeof path, "%s/no-such-file", dir);
    CHECK(read_file(path, &len) == NULL && errno == ENOENT);
    snprintf(path, sizeof path, "%s/util-read.txt", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite("a\0b\n", 1, 4, f);
    fclose(f);
    char *text = read_file(path, &len);
    CHECK(text && len == 4 && memcmp(text, "a\0b\n", 5) == 0);
    free(text);
}

/* Runs the diagnostics with stderr pointed at a file, then compares that file. */
static void test_diagnostics(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/util-diag.txt", dir);
    fflush(stderr);
    if (!freopen(path, "w", stderr)) {
        printf("cannot redirect stderr to %s\n", path);
        failures++;
        return;
    }
    static char text[400];
    strcpy(text, "model m {\n\tdense(units=1\x01);\r\n");
    size_t n = strlen(text);
    for (int i = 0; i < 300; i++)
        text[n++] = (char)('a' + i % 26);
    text[n] = '\0';
    diag_add_source("m.cnn", text, n);

    diag_reset();
    error_at((Loc){"m.cnn", 2, 8, 5}, "unknown argument '%s'", "units");
    note_at((Loc){"m.cnn", 1, 7, 1}, "in model '%s'", "m");
    error_at((Loc){"m.cnn", 3, 200, 400}, "long");
    error_at((Loc){"m.cnn", 0, 0, 0}, "the file as a whole");
    error_at((Loc){"m.cnn", 9, 1, 1}, "past the last line");
    error_plain("no place: %d", 7);
    int counted = diag_error_count();
    diag_reset();
    for (int i = 0; i < DIAG_MAX_ERRORS + 5; i++) {
        error_at((Loc){"m.cnn", 1, 1, 5}, "error %d", i);
        note_at((Loc){"m.cnn", 1, 1, 5}, "note %d", i);
    }
    int many = diag_error_count();
    fflush(stderr);

    CHECK(counted == 5);
    CHECK(many == DIAG_MAX_ERRORS + 5);
    size_t len;
    char *got = read_file(path, &len);
    CHECK(got != NULL);
    if (!got)
        return;
    /* Line 3 is 300 letters; column 200 shows 60 before it and 60 from it, each cut side
     * marked with "...", and the underline stops at the cut. */
    char shown[200], caret[200];
    for (int i = 0; i < 120; i++)
        shown[i] = (char)('a' + (139 + i) % 26);
    shown[120] = '\0';
    snprintf(caret, sizeof caret, "%63s^%s", "", "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~");
    char want[2000];
    snprintf(want, sizeof want,
             "m.cnn:2:8: error: unknown argument 'units'\n"
             "    \tdense(units=1?);\n"
             "    \t      ^~~~~\n"
             "m.cnn:1:7: note: in model 'm'\n"
             "    model m {\n"
             "          ^\n"
             "m.cnn:3:200: error: long\n"
             "    ...%s...\n"
             "    %s\n"
             "m.cnn: error: the file as a whole\n"
             "m.cnn:9:1: error: past the last line\n"
             "cnnc: error: no place: 7\n"
             "m.cnn:1:1: error: error 0\n",
             shown, caret);
    CHECK(strncmp(got, want, strlen(want)) == 0);
    if (strncmp(got, want, strlen(want)) != 0)
        printf("got:\n%.1500s\nwanted:\n%s\n", got, want);
    /* Fifty errors with their notes, then one line, then silence. */
    const char *last = strstr(got, "note 49\n");
    CHECK(last && strstr(last, "cnnc: too many errors; stopping\n"));
    CHECK(!strstr(got, "error 50") && !strstr(got, "note 50"));
    const char *stop = strstr(got, "too many errors");
    CHECK(stop && !strstr(stop + 1, "too many errors"));
    free(got);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_util TMPDIR\n");
        return 2;
    }
    test_suggestions();
    test_keywords();
    test_memory();
    test_read_file(argv[1]);
    test_diagnostics(argv[1]);
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
