/*
 * infer_ref.c - the full generated model and the runtime, as the reference the exported
 * predictor (cnnc emit --inference-only) is compared with: the program `cnnc build` makes
 * (train, eval, predict...) with two more commands. Compiled with -DMODEL_SYM=<name>_model
 * and linked with the generated <name>.c, libcnnapp.a and libcnnrt.a.
 *
 *   infer_ref literals CKPT INFER_C
 *       every float literal of the arrays in INFER_C, read back with strtof, against the
 *       checkpoint's values in order: bit for bit, and exactly as many
 *   infer_ref dump CKPT IDX_IMAGES N DIR
 *       the first N images as DIR/images.u8 (raw pixels) and DIR/NNNN.pgm; on stdout, one
 *       line per image: the class and the outputs with 9 digits, from cnn_classify (what
 *       `PROGRAM predict` runs); on stderr, the time per image of forward with n = 1
 *   infer_ref params CKPT FILE
 *       the checkpoint's parameters (and state) as raw floats in the model's order, for model_forward.c
 *       (which has no checkpoint reader: it runs where the runtime is not built)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnnrt.h"
#include "program.h"

#ifndef MODEL_SYM
#error "compile with -DMODEL_SYM=<name>_model"
#endif
extern const cnn_model MODEL_SYM;

static float *load(const cnn_model *m, const char *ckpt)
{
    float *params = calloc(cnn_param_floats(m) + 1, sizeof *params);
    if (!params || cnn_checkpoint_load(ckpt, m, params, NULL, NULL, NULL) != 0) {
        free(params);
        return NULL;
    }
    return params;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    char *s = malloc(cap);
    size_t got;
    while (s && (got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t)
                free(s);
            s = t;
        }
    }
    fclose(f);
    if (s)
        s[len] = '\0';
    return s;
}

/* The values between `static const float NAME[N] = {` and `};`, in file order. */
static int check_literals(const cnn_model *m, const float *params, const char *text)
{
    size_t k = 0, mismatches = 0;
    const char *p = text;
    while ((p = strstr(p, "static const float ")) != NULL) {
        p = strchr(p, '{');
        if (!p)
            break;
        p++;
        for (;;) {
            while (*p == ' ' || *p == '\n' || *p == ',')
                p++;
            if (*p == '}' || *p == '\0')
                break;
            char *end;
            float v = strtof(p, &end);
            if (end == p || *end != 'f') {
                printf("FAIL: malformed literal at '%.20s'\n", p);
                return 1;
            }
            p = end + 1;
            if (k < cnn_param_floats(m) && memcmp(&v, &params[k], sizeof v) != 0 && mismatches++ < 5)
                printf("FAIL: value %zu reads back as %a, the checkpoint has %a\n", k, (double)v,
                       (double)params[k]);
            k++;
        }
    }
    if (k != cnn_param_floats(m) || mismatches > 0) {
        printf("FAIL: %zu literals for %zu parameters, %zu differ\n", k, cnn_param_floats(m), mismatches);
        return 1;
    }
    printf("ok: %zu literals read back bit for bit\n", k);
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int dump(const cnn_model *m, const float *params, const char *images, int n, const char *dir)
{
    unsigned char *px = NULL;
    int count, h, w;
    if (cnn_idx_read_images(images, &px, &count, &h, &w) != 0)
        return 1;
    if (n > count || (size_t)h * (size_t)w != m->in_size) {
        fprintf(stderr, "infer_ref: %d images of %dx%d do not fit\n", count, h, w);
        free(px);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/images.u8", dir);
    FILE *raw = fopen(path, "wb");
    float *ws = calloc(m->workspace_floats, sizeof *ws);
    float *x = calloc(m->in_size, sizeof *x);
    float *probs = calloc((size_t)m->classes, sizeof *probs);
    int status = raw && ws && x && probs ? 0 : 1;
    for (int i = 0; status == 0 && i < n; i++) {
        const unsigned char *img = px + (size_t)i * m->in_size;
        fwrite(img, 1, m->in_size, raw);
        snprintf(path, sizeof path, "%s/%04d.pgm", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f) {
            status = 1;
            break;
        }
        fprintf(f, "P5\n%d %d\n255\n", w, h);
        fwrite(img, 1, m->in_size, f);
        fclose(f);
        int cls = cnn_classify(m, params, ws, x, img, probs);
        printf("%d", cls);
        for (int k = 0; k < m->classes; k++)
            printf(" %.9g", (double)probs[k]);
        putchar('\n');
    }
    /* The full program's forward pass on one image at a time, for the predictor's figure. */
    if (status == 0) {
        int reps = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < n; i++)
                cnn_classify(m, params, ws, x, px + (size_t)i * m->in_size, probs);
            reps++;
        } while ((t = now() - t0) < 0.3);
        fprintf(stderr, "full program forward, n=1: %.1f us per image\n", 1e6 * t / ((double)reps * n));
    }
    if (raw && fclose(raw) != 0)
        status = 1;
    free(ws);
    free(x);
    free(probs);
    free(px);
    return status;
}

int main(int argc, char **argv)
{
    const cnn_model *m = &MODEL_SYM;
    if (argc == 4 && strcmp(argv[1], "literals") == 0) {
        float *params = load(m, argv[2]);
        char *text = read_text(argv[3]);
        int status = params && text ? check_literals(m, params, text) : 1;
        free(params);
        free(text);
        return status;
    }
    if (argc == 6 && strcmp(argv[1], "dump") == 0) {
        float *params = load(m, argv[2]);
        int status = params ? dump(m, params, argv[3], atoi(argv[4]), argv[5]) : 1;
        free(params);
        return status;
    }
    if (argc == 4 && strcmp(argv[1], "params") == 0) {
        float *params = load(m, argv[2]);
        FILE *f = params ? fopen(argv[3], "wb") : NULL;
        int status = f && fwrite(params, sizeof *params, cnn_param_floats(m), f) == cnn_param_floats(m) ? 0 : 1;
        if (f && fclose(f) != 0)
            status = 1;
        free(params);
        return status;
    }
    return cnn_program_main(m, argc, argv);
}
