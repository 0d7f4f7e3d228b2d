/* Fuzz target: the IDX reader, raw or gzipped (it tells them apart by content), as images
 * and as labels: both go through the same header checks with a different magic number. */
#include "cnnrt.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input("idx", data, size);
    unsigned char *pixels = NULL, *labels = NULL;
    int n, h, w;
    if (cnn_idx_read_images(path, &pixels, &n, &h, &w) == 0)
        free(pixels);
    if (cnn_idx_read_labels(path, &labels, &n) == 0)
        free(labels);
    return 0;
}
