/*
 * classify.c - classifies grey PGM images with a predictor that `cnnc emit --inference-only`
 * exported. Links nothing but the predictor (and libm when its model needs expf).
 *
 *   classify IMAGE.pgm...      prints "IMAGE: CLASS" and the outputs, one line each
 *
 * Build with the Makefile, which tells this file the model's name:
 *   -DMODEL=mnist_cnn -DMODEL_UPPER=MNIST_CNN
 */
#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)

#include STR(CAT(MODEL, _infer.h))

#define IN_W CAT(MODEL_UPPER, _INFER_IN_W)
#define IN_H CAT(MODEL_UPPER, _INFER_IN_H)
#define IN_C CAT(MODEL_UPPER, _INFER_IN_C)
#define CLASSES CAT(MODEL_UPPER, _INFER_CLASSES)

#if IN_C != 1
#error "classify reads grey images; this model takes more than one channel"
#endif

/* Skips white space and # comments between the fields of a PGM header. */
static int skip_space(FILE *f)
{
    int c = getc(f);
    for (;;) {
        if (c == '#') {
            while (c != '\n' && c != EOF)
                c = getc(f);
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            c = getc(f);
        } else {
            return c;
        }
    }
}

/* A decimal field of at most 5 digits (PGM's values are below 65536); -1 if malformed. */
static long read_number(FILE *f)
{
    int c = skip_space(f);
    long v = 0;
    int digits = 0;
    while (c >= '0' && c <= '9' && digits < 6) {
        v = v * 10 + (c - '0');
        digits++;
        c = getc(f);
    }
    if (digits == 0 || digits > 5)
        return -1;
    if (c != EOF)
        ungetc(c, f);
    return v;
}

/* Reads a binary (P5) or text (P2) PGM of exactly IN_W x IN_H pixels into `pixels`, scaled to
 * 0..255 whatever its maxval. Returns 0, or -1 after a message. */
static int read_pgm(const char *path, unsigned char pixels[IN_W * IN_H])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    int ok = 0;
    int magic1 = getc(f), magic2 = getc(f);
    long w = -1, h = -1, maxval = -1;
    if (magic1 == 'P' && (magic2 == '5' || magic2 == '2')) {
        w = read_number(f);
        h = read_number(f);
        maxval = read_number(f);
    }
    if (w != IN_W || h != IN_H || maxval < 1 || maxval > 65535) {
        fprintf(stderr, "%s: not a %dx%d grey PGM\n", path, IN_W, IN_H);
    } else {
        /* One white space character ends a binary header. */
        ok = magic2 == '2' || getc(f) != EOF;
        for (long i = 0; ok && i < w * h; i++) {
            long v;
            if (magic2 == '2') {
                v = read_number(f);
            } else if (maxval < 256) {
                v = getc(f);
            } else {
                int hi = getc(f), lo = getc(f);
                v = hi == EOF || lo == EOF ? -1 : hi * 256 + lo;
            }
            if (v < 0 || v > maxval)
                ok = 0;
            else
                pixels[i] = (unsigned char)((v * 255 + maxval / 2) / maxval);
        }
        if (!ok)
            fprintf(stderr, "%s: truncated or malformed pixels\n", path);
    }
    fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* The workspace is 2 x the widest activation: static here, one per thread in a server. */
    static CAT(MODEL, _workspace) ws;
    static unsigned char pixels[IN_W * IN_H];
    float out[CLASSES];
    int status = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE.pgm...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (read_pgm(argv[i], pixels) != 0) {
            status = 1;
            continue;
        }
        int cls = CAT(MODEL, _predict_u8)(&ws, pixels, out);
        printf("%s: %d\n", argv[i], cls);
        for (int k = 0; k < CLASSES; k++)
            printf("%s%.9g", k ? " " : "", (double)out[k]);
        putchar('\n');
    }
    return status;
}
