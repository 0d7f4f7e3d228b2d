/* Fuzz target: the PNG reader (libpng with our size limits and grey conversion). */
#include "cnnrt.h"
#include "fuzz_input.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input("png", data, size);
    unsigned char *pixels = NULL;
    int w, h;
    if (cnn_png_read(path, &pixels, &w, &h) == 0)
        free(pixels);
    return 0;
}
