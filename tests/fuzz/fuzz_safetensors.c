/* Fuzz target: the checkpoint loader, against the seed model's tensors (mnist_cnn, as cnnc
 * emits it), reading parameters and the optimizer state. */
#include "cnnrt.h"
#include "fuzz_input.h"

#include "mnist_cnn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Allocated once: the model's 121,930 floats three times over would otherwise dominate
     * every run. */
    static float *params, *opt_m, *opt_v;
    const cnn_model *m = &mnist_cnn_model;
    if (!params) {
        params = calloc(m->num_params, sizeof *params);
        opt_m = calloc(m->num_params, sizeof *opt_m);
        opt_v = calloc(m->num_params, sizeof *opt_v);
        if (!params || !opt_m || !opt_v)
            abort();
    }
    const char *path = fuzz_write_input("safetensors", data, size);
    long step = 0;
    cnn_checkpoint_load(path, m, params, opt_m, opt_v, &step);
    /* Parameters only: the path a plain `eval --load` takes. */
    cnn_checkpoint_load(path, m, params, NULL, NULL, NULL);
    return 0;
}
