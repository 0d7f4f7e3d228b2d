/* Fuzz target: the training-history CSV reader that `cnnc plot` uses. */
#include "cnnrt.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input("history", data, size);
    cnn_history_row *rows = NULL;
    int n;
    if (cnn_history_read(path, &rows, &n) == 0)
        free(rows);
    return 0;
}
