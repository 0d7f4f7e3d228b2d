/*
 * model_forward.c - a generated model's own forward pass on images, with nothing of the runtime:
 * the reference the exported predictor of the same target is compared with where the runtime
 * is not built (neon, cross-compiled and run under qemu). Compiled with -DMODEL_SYM=<name>_model
 * and linked with the generated <name>.c only.
 *
 *   model_forward PARAMS.f32 IMAGES.u8 N
 *       PARAMS: the parameters as raw floats in the model's order (infer_ref params);
 *       IMAGES: N raw images of bytes. One line per image on stdout: the class and the
 *       outputs with 9 digits, as infer_ref dump prints them, from the model's forward pass
 *       in evaluation mode with n = 1 and the pixels scaled by 1/255 as in training.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cnn_model.h"

#ifndef MODEL_SYM
#error "compile with -DMODEL_SYM=<name>_model"
#endif
extern const cnn_model MODEL_SYM;

static void *read_all(const char *path, size_t size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = f ? malloc(size + 1) : NULL;
    if (buf && fread(buf, 1, size, f) != size) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    if (!buf)
        fprintf(stderr, "model_forward: cannot read %zu bytes of '%s'\n", size, path);
    return buf;
}

int main(int argc, char **argv)
{
    const cnn_model *m = &MODEL_SYM;
    if (argc != 4) {
        fprintf(stderr, "usage: model_forward PARAMS.f32 IMAGES.u8 N\n");
        return 2;
    }
    int n = atoi(argv[3]);
    float *params = read_all(argv[1], cnn_param_floats(m) * sizeof(float));
    unsigned char *px = read_all(argv[2], (size_t)n * m->in_size);
    float *ws = malloc((m->workspace_floats + 1) * sizeof *ws), *x = malloc(m->in_size * sizeof *x);
    if (!params || !px || !ws || !x || n < 1)
        return 1;
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < m->in_size; j++)
            x[j] = (float)px[(size_t)i * m->in_size + j] / 255.0f;
        m->forward(params, ws, x, 1, 0, 0, 0, NULL);
        const float *y = m->output(ws);
        int best = 0;
        for (int k = 1; k < m->classes; k++)
            if (y[k] > y[best])
                best = k;
        printf("%d", best);
        for (int k = 0; k < m->classes; k++)
            printf(" %.9g", (double)y[k]);
        printf("\n");
    }
    free(params);
    free(px);
    free(ws);
    free(x);
    return 0;
}
