/*
 * difftest/infer_check.c - the inference-only predictor of a random model (cnnc emit
 * --inference-only --weights CKPT [--logits]) against the reference outputs that dt_check
 * --infer wrote for the same weights. Links the predictor and nothing else. Compiled with
 * -DMODEL=<name> -DMODEL_UPPER=<NAME>, the predictor's directory on the include path.
 *
 *   dt_infer_check FILE      prints `ok predictor` or `FAIL predictor ...`; exit status 1 on failure
 *
 * For each image: predict_u8 and predict (on pixels / 255) give the reference's outputs
 * within the bound of their float rounding (the logits when the predictor was made with
 * --logits), and return the class of their largest output. The workspace starts filled with
 * NaN, as malloc may leave it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#include STR(CAT(MODEL, _infer.h))

#define IN_SIZE CAT(MODEL_UPPER, _INFER_IN_SIZE)
#define CLASSES CAT(MODEL_UPPER, _INFER_CLASSES)
#define LOGITS CAT(MODEL_UPPER, _INFER_LOGITS)
typedef CAT(MODEL, _workspace) workspace;

static int compare(const char *what, int image, const float *got, const float *want, const float *tol)
{
    int ok = 1;
    for (int c = 0; c < CLASSES; c++) {
        double d = fabs((double)got[c] - want[c]);
        if (!(d <= tol[c] + 1e-30)) {
            fprintf(stderr, "  %s image %d output %d: got %.9g, want %.9g (diff %.3g, allowed %.3g)\n",
                    what, image, c, (double)got[c], (double)want[c], d, (double)tol[c]);
            ok = 0;
        }
    }
    return ok;
}

static int argmax(const float *out)
{
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
        if (out[c] > out[best])
            best = c;
    return best;
}

int main(int argc, char **argv)
{
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    int32_t head[4];
    if (!f || fread(head, sizeof head, 1, f) != 1 || head[0] != 0x44544946 || head[2] != IN_SIZE ||
        head[3] != CLASSES) {
        printf("FAIL predictor (cannot read the reference data, or its sizes differ)\n");
        return 1;
    }
    workspace *ws = malloc(sizeof *ws);
    static unsigned char px[IN_SIZE];
    static float x[IN_SIZE];
    float want[2][CLASSES], tol[2][CLASSES], out[CLASSES], out2[CLASSES];
    int ok = ws != NULL;
    for (int k = 0; ok && k < head[1]; k++) {
        if (fread(px, 1, IN_SIZE, f) != IN_SIZE || fread(want[0], sizeof(float), CLASSES, f) != CLASSES ||
            fread(tol[0], sizeof(float), CLASSES, f) != CLASSES ||
            fread(want[1], sizeof(float), CLASSES, f) != CLASSES ||
            fread(tol[1], sizeof(float), CLASSES, f) != CLASSES) {
            ok = 0;
            break;
        }
        for (size_t i = 0; i < IN_SIZE; i++)
            x[i] = (float)px[i] / 255.0f;
        memset(ws, 0xff, sizeof *ws); /* NaN */
        int cls = CAT(MODEL, _predict_u8)(ws, px, out);
        memset(ws, 0xff, sizeof *ws);
        int cls2 = CAT(MODEL, _predict)(ws, x, out2);
        ok &= compare("predict_u8", k, out, want[LOGITS], tol[LOGITS]);
        ok &= compare("predict", k, out2, want[LOGITS], tol[LOGITS]);
        if (cls != argmax(out) || cls2 != argmax(out2)) {
            fprintf(stderr, "  image %d: class %d and %d, largest outputs %d and %d\n", k, cls, cls2,
                    argmax(out), argmax(out2));
            ok = 0;
        }
    }
    printf("%s predictor%s\n", ok ? "ok" : "FAIL", LOGITS ? " logits" : "");
    free(ws);
    fclose(f);
    return ok ? 0 : 1;
}
