/* Fuzz target: the PGM reader (P5 binary and P2 text, any maxval). */
#include "cnnrt.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input("pgm", data, size);
    unsigned char *pixels = NULL;
    int w, h;
    if (cnn_pgm_read(path, &pixels, &w, &h) == 0)
        free(pixels);
    return 0;
}
