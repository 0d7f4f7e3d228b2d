/*
 * test_trainer.c - unit tests of the runtime's training machinery, on the hand-written toy
 * model (toy_model.c): the generator, initialisation, the thread pool, the data-parallel
 * step, evaluation and the progress line. Prints one line per failed check and ends with
 * `N checks, N failed`; exits 1 if any failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "progress.h"
#include "team.h"

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

static void test_rng(void)
{
    cnn_rng a, b, c;
    cnn_rng_seed(&a, 42);
    cnn_rng_seed(&b, 42);
    cnn_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = cnn_rng_next(&a), y = cnn_rng_next(&b), z = cnn_rng_next(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same);
    CHECK(differ == 100);

    double sum = 0, lo = 1, hi = 0, nsum = 0, nsq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = cnn_rng_uniform(&a), g = cnn_rng_normal(&a);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        nsum += g;
        nsq += g * g;
    }
    CHECK(lo >= 0 && hi < 1);
    CHECK(fabs(sum / n - 0.5) < 0.005);
    CHECK(fabs(nsum / n) < 0.01);
    CHECK(fabs(nsq / n - 1) < 0.02);
}

/* Largest |w|, mean and standard deviation of the toy model's kernel under `init`. */
static void kernel_stats(int init, uint64_t seed, float *params, double *max, double *sd)
{
    cnn_model m = toy_model;
    m.train.init = init;
    cnn_init_params(&m, params, seed);
    const cnn_tensor *k = &m.tensors[0];
    double s = 0, sq = 0;
    *max = 0;
    for (size_t i = 0; i < k->count; i++) {
        double w = params[k->offset + i];
        *max = fabs(w) > *max ? fabs(w) : *max;
        s += w;
        sq += w * w;
    }
    double mean = s / (double)k->count;
    *sd = sqrt(sq / (double)k->count - mean * mean);
}

static void test_init(void)
{
    const cnn_model *m = &toy_model;
    float *p = malloc(m->num_params * sizeof *p), *q = malloc(m->num_params * sizeof *q);
    double max, sd;

    kernel_stats(CNN_INIT_GLOROT_UNIFORM, 1, p, &max, &sd);
    double limit = sqrt(6.0 / (784 + 10));
    CHECK(max <= limit && max > 0.99 * limit);
    CHECK(fabs(sd - limit / sqrt(3.0)) < 0.02 * limit);
    int zero = 1;
    for (size_t i = 0; i < m->tensors[1].count; i++)
        zero &= p[m->tensors[1].offset + i] == 0.0f;
    CHECK(zero);

    kernel_stats(CNN_INIT_GLOROT_UNIFORM, 1, q, &max, &sd);
    CHECK(memcmp(p, q, m->num_params * sizeof *p) == 0);
    kernel_stats(CNN_INIT_GLOROT_UNIFORM, 2, q, &max, &sd);
    CHECK(memcmp(p, q, m->num_params * sizeof *p) != 0);

    /* He normal: sd sqrt(2 / fan_in) after the truncation at two (widened) deviations. */
    kernel_stats(CNN_INIT_HE_NORMAL, 1, p, &max, &sd);
    double he_sd = sqrt(2.0 / 784);
    CHECK(fabs(sd - he_sd) < 0.03 * he_sd);
    CHECK(max <= 2 * he_sd / 0.87962566103423978 + 1e-6);

    kernel_stats(CNN_INIT_HE_UNIFORM, 1, p, &max, &sd);
    limit = sqrt(6.0 / 784);
    CHECK(max <= limit && max > 0.99 * limit);
    free(p);
    free(q);
}

typedef struct pool_probe {
    int hits[8];
} pool_probe;

static void probe_task(void *ctx, int thread)
{
    ((pool_probe *)ctx)->hits[thread]++;
}

static void test_pool(void)
{
    pool_probe probe = {{0}};
    cnn_pool *p = cnn_pool_create(4);
    CHECK(p != NULL);
    if (!p)
        return;
    for (int i = 0; i < 2000; i++)
        cnn_pool_run(p, probe_task, &probe);
    cnn_pool_destroy(p);
    CHECK(probe.hits[0] == 2000 && probe.hits[1] == 2000 && probe.hits[2] == 2000 &&
          probe.hits[3] == 2000 && probe.hits[4] == 0);
}

/* A batch of synthetic images: smooth random pixels and labels. */
static void make_batch(int n, unsigned char *pixels, float *x, unsigned char *labels)
{
    cnn_rng r;
    cnn_rng_seed(&r, 5);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        pixels[i] = (unsigned char)(cnn_rng_next(&r) >> 56);
    for (int b = 0; b < n; b++)
        labels[b] = (unsigned char)(cnn_rng_next(&r) % 10);
    cnn_scale_pixels(pixels, x, (size_t)n * 784);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fabs((double)a[i] - b[i]) > d ? fabs((double)a[i] - b[i]) : d;
    return d;
}

static void test_team(void)
{
    const cnn_model *m = &toy_model;
    size_t np = m->num_params;
    unsigned char pixels[32 * 784], labels[32];
    float *x = malloc(32 * 784 * sizeof *x), *params = malloc(np * sizeof *params);
    float *g1 = malloc(np * sizeof *g1), *g3 = malloc(np * sizeof *g3);
    make_batch(32, pixels, x, labels);
    cnn_init_params(m, params, 9);

    cnn_team one, three, eight;
    CHECK(cnn_team_init(&one, m, 1, 1) == 0);
    CHECK(cnn_team_init(&three, m, 3, 1) == 0);
    CHECK(cnn_team_init(&eight, m, 8, 1) == 0);
    int c1, c3, c3b;
    double l1 = cnn_team_train_step(&one, params, x, labels, 32, 0, &c1);
    memcpy(g1, one.grad, np * sizeof *g1);
    double l3 = cnn_team_train_step(&three, params, x, labels, 32, 0, &c3);
    memcpy(g3, three.grad, np * sizeof *g3);
    CHECK(fabs(l1 - l3) < 1e-9 * fabs(l1));
    CHECK(c1 == c3);
    CHECK(max_diff(g1, g3, np) < 1e-6);

    /* Same thread count, same bits. */
    double l3b = cnn_team_train_step(&three, params, x, labels, 32, 0, &c3b);
    CHECK(l3b == l3 && c3b == c3);
    CHECK(memcmp(g3, three.grad, np * sizeof *g3) == 0);

    /* A last partial batch of 5 with 8 threads: three threads idle, the mean over 5. */
    double l5 = cnn_team_train_step(&one, params, x, labels, 5, 0, &c1);
    memcpy(g1, one.grad, np * sizeof *g1);
    double l8 = cnn_team_train_step(&eight, params, x, labels, 5, 0, &c3);
    CHECK(fabs(l5 - l8) < 1e-9 * fabs(l5));
    CHECK(max_diff(g1, eight.grad, np) < 1e-6);
    /* The bias gradient is the mean of p - onehot over the 5 images: it sums to zero. */
    double bias_sum = 0;
    for (int o = 0; o < 10; o++)
        bias_sum += g1[7840 + o];
    CHECK(fabs(bias_sum) < 1e-5);

    cnn_team_free(&one);
    cnn_team_free(&three);
    cnn_team_free(&eight);
    free(x);
    free(params);
    free(g1);
    free(g3);
}

static void test_eval(void)
{
    const cnn_model *m = &toy_model;
    enum { N = 77 };
    static unsigned char pixels[N * 784], labels[N];
    static float x[N * 784];
    static cnn_eval_result r1, r3;
    float *params = malloc(m->num_params * sizeof *params);
    make_batch(N, pixels, x, labels);
    cnn_init_params(m, params, 3);
    cnn_dataset d = {N, 28, 28, pixels, labels};

    CHECK(cnn_evaluate(m, params, &d, 1, &r1, NULL) == 0);
    CHECK(cnn_evaluate(m, params, &d, 3, &r3, NULL) == 0);
    CHECK(r1.n == N && r1.loss == r3.loss && r1.accuracy == r3.accuracy);
    long total = 0, diag = 0;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            total += r1.confusion[i][j];
            diag += i == j ? r1.confusion[i][j] : 0;
        }
    CHECK(total == N);
    CHECK(fabs(r1.accuracy - (double)diag / N) < 1e-12);

    /* The same images one by one through cnn_classify, and the loss recomputed here. */
    float ws[32 * 10], xi[784], probs[10];
    double loss = 0;
    int right = 0;
    for (int b = 0; b < N; b++) {
        int c = cnn_classify(m, params, ws, xi, pixels + (size_t)b * 784, probs);
        right += c == labels[b];
        loss += -log(probs[labels[b]]);
    }
    CHECK(right == diag);
    CHECK(fabs(loss / N - r1.loss) < 1e-5);

    d.w = 27;
    CHECK(cnn_evaluate(m, params, &d, 1, &r1, NULL) == -1);
    free(params);
}

static void test_helpers(void)
{
    unsigned char px[3] = {0, 51, 255};
    float f[3];
    cnn_scale_pixels(px, f, 3);
    CHECK(f[0] == 0.0f && f[1] == 51.0f / 255.0f && f[2] == 1.0f);

    const float tie[4] = {0.1f, 0.4f, 0.4f, 0.1f};
    CHECK(cnn_argmax(tie, 4) == 1);
    const float sure[3] = {0.0f, 1.0f, 0.0f};
    CHECK(fabs(cnn_image_loss(&toy_model, sure, 0) + log(1e-7)) < 1e-9);
    CHECK(cnn_image_loss(&toy_model, sure, 1) < 1e-6);
    cnn_model mse = toy_model;
    mse.train.loss = CNN_LOSS_MSE;
    const float out[10] = {0.5f};
    CHECK(fabs(cnn_image_loss(&mse, out, 0) - 0.025) < 1e-9);
    CHECK(fabs(cnn_image_loss(&mse, out, 1) - 0.125) < 1e-9);

    CHECK(cnn_thread_count(&toy_model, 0) >= 1);
    CHECK(cnn_thread_count(&toy_model, 1000) == toy_model.batch);
    CHECK(cnn_thread_count(&toy_model, 3) == 3);
}

/* Not on a terminal: `Epoch E/N`, then exactly one line when the epoch ends. */
static void test_progress(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f)
        return;
    cnn_progress p;
    cnn_progress_begin(&p, f, 0, 2, 3, 4);
    for (int s = 1; s <= 4; s++)
        cnn_progress_step(&p, s, 0.5, 0.25);
    cnn_progress_end(&p, 0.5, 0.25, 1, 1e30, 0.125);
    cnn_progress_begin(&p, f, 1, 3, 3, 4);
    cnn_progress_end(&p, 0.5, 0.25, 0, 0, 0);

    char text[1024] = "";
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    const char *head = "Epoch 2/3\n4/4 [==============================] - 0s ";
    CHECK(strncmp(text, head, strlen(head)) == 0);
    CHECK(strstr(text, "s/step - loss: 0.5000 - accuracy: 0.2500 - val_loss: "
                       "1000000000000000019884624838656.0000 - val_accuracy: 0.1250\n") != NULL);
    CHECK(strchr(text, '\r') == NULL);
    CHECK(strstr(text, "Epoch 3/3") == NULL);
}

int main(void)
{
    test_rng();
    test_init();
    test_pool();
    test_team();
    test_eval();
    test_helpers();
    test_progress();
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
