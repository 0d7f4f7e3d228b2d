/* Writes the safetensors fuzz target's seeds into DIR: checkpoints of the seed model as the
 * trainer saves them, with and without the optimizer state, so that mutations start past the
 * header and the tensor names and reach the shape, offset and data checks. */
#include "cnnrt.h"

#include "mnist_cnn.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_safetensors DIR\n");
        return 2;
    }
    const cnn_model *m = &mnist_cnn_model;
    float *params = calloc(m->num_params, sizeof *params);
    float *opt_m = calloc(m->num_params, sizeof *opt_m);
    float *opt_v = calloc(m->num_params, sizeof *opt_v);
    if (!params || !opt_m || !opt_v)
        return 1;
    cnn_init_params(m, params, 42);
    char path[4096];
    snprintf(path, sizeof path, "%s/params.safetensors", argv[1]);
    int rc = cnn_checkpoint_save(path, m, params, NULL, NULL, 0);
    snprintf(path, sizeof path, "%s/adam.safetensors", argv[1]);
    rc |= cnn_checkpoint_save(path, m, params, opt_m, opt_v, 1234);
    free(params);
    free(opt_m);
    free(opt_v);
    return rc != 0;
}
