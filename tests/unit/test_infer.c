/*
 * test_infer.c - drives an exported predictor (cnnc emit --inference-only) and links nothing
 * else: no runtime, no generated training code. Compiled with -DMODEL=<name>
 * -DMODEL_UPPER=<NAME> and the predictor's directory on the include path.
 *
 *   test_infer IMAGES.u8 N [SECONDS]
 *       prints, for each of the N raw images, the class and the outputs with 9 digits (the
 *       format of infer_ref dump), from <name>_predict_u8. Checks on the way, exiting 1 on a
 *       failure: <name>_predict on the same pixels scaled by 1/255 gives the same bits; a
 *       NULL output still returns the class; and two threads predicting at once, each with
 *       its own workspace, agree with the single-threaded results bit for bit.
 *       On stderr: the time per image, measured for SECONDS (0.3; 0: not measured).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#include STR(CAT(MODEL, _infer.h))

#define IN_SIZE CAT(MODEL_UPPER, _INFER_IN_SIZE)
#define CLASSES CAT(MODEL_UPPER, _INFER_CLASSES)
#define PREDICT CAT(MODEL, _predict)
#define PREDICT_U8 CAT(MODEL, _predict_u8)
typedef CAT(MODEL, _workspace) workspace;

typedef struct job {
    const unsigned char *px;
    int first, count;
    float *out;  /* [count][CLASSES] */
    int *cls;
    int failed;
} job;

/* One thread's share, its workspace on the heap as a caller with small stacks would. */
static void *run(void *arg)
{
    job *j = arg;
    workspace *ws = malloc(sizeof *ws);
    if (!ws) {
        j->failed = 1;
        return NULL;
    }
    for (int i = 0; i < j->count; i++)
        j->cls[i] = PREDICT_U8(ws, j->px + (size_t)(j->first + i) * IN_SIZE, j->out + (size_t)i * CLASSES);
    free(ws);
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: test_infer IMAGES.u8 N [SECONDS]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    /* How long the latency is measured (0.3 s unless told): 0 under an emulator, where it
     * measures nothing of the machine the code is for and only costs time. */
    double seconds = argc == 4 ? atof(argv[3]) : 0.3;
    unsigned char *px = malloc((size_t)(n > 0 ? n : 1) * IN_SIZE);
    float *out = malloc((size_t)(n > 0 ? n : 1) * CLASSES * sizeof *out);
    float *out2 = malloc((size_t)(n > 0 ? n : 1) * CLASSES * sizeof *out2);
    int *cls = malloc((size_t)(n > 0 ? n : 1) * sizeof *cls);
    int *cls2 = malloc((size_t)(n > 0 ? n : 1) * sizeof *cls2);
    workspace *ws = malloc(sizeof *ws);
    FILE *f = fopen(argv[1], "rb");
    if (n <= 0 || !px || !out || !out2 || !cls || !cls2 || !ws || !f ||
        fread(px, IN_SIZE, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "test_infer: cannot read %d images from %s\n", n, argv[1]);
        return 1;
    }
    fclose(f);
    int status = 0;
    static float x[IN_SIZE];
    float probs[CLASSES];
    for (int i = 0; i < n; i++) {
        const unsigned char *img = px + (size_t)i * IN_SIZE;
        float *o = out + (size_t)i * CLASSES;
        cls[i] = PREDICT_U8(ws, img, o);
        for (int k = 0; k < IN_SIZE; k++)
            x[k] = (float)img[k] / 255.0f;
        if (PREDICT(ws, x, probs) != cls[i] || memcmp(probs, o, sizeof probs) != 0) {
            fprintf(stderr, "FAIL: image %d: predict and predict_u8 disagree\n", i);
            status = 1;
        }
        if (PREDICT_U8(ws, img, NULL) != cls[i]) {
            fprintf(stderr, "FAIL: image %d: a NULL output changes the class\n", i);
            status = 1;
        }
        printf("%d", cls[i]);
        for (int k = 0; k < CLASSES; k++)
            printf(" %.9g", (double)o[k]);
        putchar('\n');
    }

    job jobs[2] = {{px, 0, n / 2, out2, cls2, 0}, {px, n / 2, n - n / 2, out2 + (size_t)(n / 2) * CLASSES, cls2 + n / 2, 0}};
    pthread_t th[2];
    int started[2];
    for (int t = 0; t < 2; t++)
        started[t] = pthread_create(&th[t], NULL, run, &jobs[t]) == 0;
    for (int t = 0; t < 2; t++)
        if (started[t])
            pthread_join(th[t], NULL);
    if (!started[0] || !started[1] || jobs[0].failed || jobs[1].failed ||
        memcmp(cls, cls2, (size_t)n * sizeof *cls) != 0 || memcmp(out, out2, (size_t)n * CLASSES * sizeof *out) != 0) {
        fprintf(stderr, "FAIL: two threads at once disagree with one\n");
        status = 1;
    }

    if (seconds > 0) {
        int reps = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < n; i++)
                PREDICT_U8(ws, px + (size_t)i * IN_SIZE, probs);
            reps++;
        } while ((t = now() - t0) < seconds);
        fprintf(stderr, "exported predictor: %.1f us per image\n", 1e6 * t / ((double)reps * n));
    }

    free(px);
    free(out);
    free(out2);
    free(cls);
    free(cls2);
    free(ws);
    return status;
}
