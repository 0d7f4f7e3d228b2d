/*
 * fuzz_input.h - what every fuzz target shares: the readers under test take paths, so each
 * input is written to one file in memory (/dev/shm, else $TMPDIR) that is rewritten per run.
 *
 * A target defines LLVMFuzzerTestOneInput and nothing else; libFuzzer links its own main, and
 * tests/fuzz/replay.c is the main that feeds saved inputs to the same function when the
 * target is built with the normal compiler (make test).
 */
#ifndef CNNC_FUZZ_INPUT_H
#define CNNC_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path_buf[256];

static inline void fuzz_remove_file(void)
{
    unlink(fuzz_path_buf);
}

/* The path holding `data` after the call. Aborts when the file cannot be written: a fuzzer
 * that silently skipped its inputs would run for hours and test nothing. */
static inline const char *fuzz_write_input(const char *tag, const uint8_t *data, size_t size)
{
    if (!fuzz_path_buf[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fuzz_path_buf, sizeof fuzz_path_buf, "%s/cnnc-fuzz-%s-%ld", dir ? dir : "/tmp", tag,
                 (long)getpid());
        atexit(fuzz_remove_file);
    }
    FILE *f = fopen(fuzz_path_buf, "wb");
    if (!f) {
        perror(fuzz_path_buf);
        abort(); /* a fuzzer that cannot write its input would report nothing, forever */
    }
    if ((size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(fuzz_path_buf);
        abort();
    }
    return fuzz_path_buf;
}

#endif
