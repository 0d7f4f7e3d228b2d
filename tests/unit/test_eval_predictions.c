/*
 * test_eval_predictions.c - unit tests of cnn_evaluate with predictions (runtime/eval.c), the
 * per-image predictions behind `eval --mistakes`, on the hand-written toy model: every
 * image's class and probability agree with cnn_classify of that image alone, whatever the
 * thread count and wherever the image falls in a batch (77 images: two full batches of 32 and
 * one of 13); the summary is the same as without them; a refused set leaves preds untouched.
 * Prints one line per failed check and ends with `N checks, N failed`; exits 1 if any failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"

extern const cnn_model toy_model;

static int checks, failures;

#define CHECK(expr)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(expr)) {                                                               \
            failures++;                                                              \
            printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);          \
        }                                                                            \
    } while (0)

enum { N = 77, PIXELS = 784 };

/* Random images and labels: an untrained model gets most of them wrong, so there are
 * mistakes of every kind to find. */
static void make_set(unsigned char *pixels, unsigned char *labels)
{
    cnn_rng r;
    cnn_rng_seed(&r, 11);
    for (int i = 0; i < N * PIXELS; i++)
        pixels[i] = (unsigned char)(cnn_rng_next(&r) >> 56);
    for (int i = 0; i < N; i++)
        labels[i] = (unsigned char)(cnn_rng_next(&r) % 10);
}

static void test_predictions(void)
{
    const cnn_model *m = &toy_model;
    static unsigned char pixels[N * PIXELS], labels[N];
    static cnn_eval_result plain, r1, r3;
    static cnn_prediction p1[N], p3[N];
    float *params = malloc(cnn_param_floats(m) * sizeof *params);
    float *ws = malloc(m->workspace_floats * sizeof *ws);
    float x[PIXELS], probs[10];
    make_set(pixels, labels);
    cnn_init_params(m, params, 5);
    cnn_dataset d = {N, 28, 28, pixels, labels};

    CHECK(cnn_evaluate(m, params, &d, 2, &plain, NULL) == 0);
    CHECK(cnn_evaluate(m, params, &d, 1, &r1, p1) == 0);
    CHECK(cnn_evaluate(m, params, &d, 3, &r3, p3) == 0);
    /* Asking for predictions changes nothing else, and the thread count changes nothing. */
    CHECK(memcmp(&plain, &r1, sizeof plain) == 0);
    CHECK(memcmp(&r1, &r3, sizeof r1) == 0);
    CHECK(memcmp(p1, p3, sizeof p1) == 0);

    int agree = 0, wrong = 0, in_range = 1;
    long diag = 0;
    for (int i = 0; i < N; i++) {
        int c = cnn_classify(m, params, ws, x, pixels + (size_t)i * PIXELS, probs);
        agree += p3[i].predicted == c && fabsf(p3[i].probability - probs[c]) < 1e-6f;
        wrong += p3[i].predicted != labels[i];
        in_range &= p3[i].probability > 0 && p3[i].probability <= 1;
    }
    for (int c = 0; c < 10; c++)
        diag += r1.confusion[c][c];
    CHECK(agree == N);
    CHECK(in_range);
    CHECK(wrong == N - diag);
    CHECK(wrong > 0);

    /* A set the model cannot take is refused before anything is written. */
    static cnn_prediction untouched[N];
    memset(untouched, 0x5a, sizeof untouched);
    memcpy(p1, untouched, sizeof p1);
    d.w = 27;
    CHECK(cnn_evaluate(m, params, &d, 1, &r1, p1) == -1);
    CHECK(memcmp(p1, untouched, sizeof p1) == 0);
    free(params);
    free(ws);
}

int main(void)
{
    test_predictions();
    printf("%d checks, %d failed\n", checks, failures);
    return failures > 0;
}
