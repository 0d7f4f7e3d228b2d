/*
 * replay.c - the main of a fuzz target built with the normal compiler: feeds each file named
 * on the command line to LLVMFuzzerTestOneInput, once, as libFuzzer would. The suite
 * tests/suite_90_fuzz_replay.sh runs every kept input and seed through it, so that a defect a
 * fuzzer once found stays fixed in every build (ASan and UBSan ones included).
 * Prints each file's name on stderr before running it: after a crash the last name is the
 * input that caused it.
 */
#include "fuzz_input.h"

#include <errno.h>
#include <string.h>

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++)
        if (replay(argv[i]) != 0)
            failed = 1;
    fprintf(stderr, "replay: done\n");
    return failed;
}
