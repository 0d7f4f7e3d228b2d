/*
 * test_schedule.c - the runtime's learning-rate schedules, reduce_on_plateau and early stopping
 * (schedule.c) against Keras' formulas and behaviour, and augmentation (augment.c): the same
 * moves for the same seed, epoch and image, and a single lit pixel moved by the drawn shift.
 * Prints `N checks, F failed`; status 1 on a failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "schedule.h"

static int checks, failed;

static void expect(const char *what, int ok)
{
    checks++;
    if (!ok) {
        failed++;
        printf("FAILED: %s\n", what);
    }
}

static int close_to(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fabs(b);
}

static void schedules(void)
{
    /* ExponentialDecay(0.001, decay_steps=1000, decay_rate=0.96): 0.001 * 0.96^(step / 1000). */
    cnn_train_config e = {.schedule = CNN_SCHED_EXPONENTIAL, .decay_steps = 1000, .decay_rate = 0.96};
    expect("exponential: step 0 is the initial rate", cnn_schedule_rate(&e, 0.001, 0) == 0.001);
    expect("exponential: step 1000", close_to(cnn_schedule_rate(&e, 0.001, 1000), 0.001 * 0.96));
    expect("exponential: step 2500", close_to(cnn_schedule_rate(&e, 0.001, 2500), 0.001 * 0.9029798987795907));
    expect("exponential: step 500", close_to(cnn_schedule_rate(&e, 0.001, 500), 0.001 * sqrt(0.96)));
    /* staircase: the exponent floored, 0.96^2 at step 2500, 1 until step 1000. */
    e.staircase = 1;
    expect("exponential staircase: step 999", cnn_schedule_rate(&e, 0.001, 999) == 0.001);
    expect("exponential staircase: step 2500", close_to(cnn_schedule_rate(&e, 0.001, 2500), 0.001 * 0.9216));

    /* CosineDecay(0.001, decay_steps=1000, alpha=0.1): 0.001 * ((1 - 0.1) * 0.5 * (1 + cos(pi * step / 1000)) + 0.1),
     * held at 0.001 * alpha from decay_steps on. */
    cnn_train_config c = {.schedule = CNN_SCHED_COSINE, .decay_steps = 1000, .alpha = 0.1};
    expect("cosine: step 0", close_to(cnn_schedule_rate(&c, 0.001, 0), 0.001));
    expect("cosine: step 250", close_to(cnn_schedule_rate(&c, 0.001, 250), 0.0008681980515339464));
    expect("cosine: step 500, half way", close_to(cnn_schedule_rate(&c, 0.001, 500), 0.001 * (0.9 * 0.5 + 0.1)));
    expect("cosine: step 1000, the floor", close_to(cnn_schedule_rate(&c, 0.001, 1000), 0.0001));
    expect("cosine: held after decay_steps", close_to(cnn_schedule_rate(&c, 0.001, 5000), 0.0001));
    c.alpha = 0;
    expect("cosine: alpha 0 ends at 0", fabs(cnn_schedule_rate(&c, 0.001, 1000)) < 1e-18);

    cnn_train_config k = {.schedule = CNN_SCHED_CONSTANT};
    expect("constant", cnn_schedule_rate(&k, 0.003, 12345) == 0.003);
}

static void plateau(void)
{
    /* ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01, min_lr=0.0003) from 0.002. */
    cnn_train_config t = {.schedule = CNN_SCHED_PLATEAU, .factor = 0.5, .patience = 2, .min_delta = 0.01,
                          .min_lr = 0.0003};
    cnn_plateau p;
    cnn_plateau_start(&p, 0.002);
    /* 1.0 improves (from infinity); 0.995 is not better by min_delta; 0.99 neither (wait 2: halve);
     * 0.5 improves; two epochs without: halve to 0.0005; two more: 0.00025 is below min_lr, so 0.0003;
     * then it stays there, and the wait keeps counting as Keras' does. */
    const double losses[] = {1.0, 0.995, 0.99, 0.5, 0.6, 0.7, 0.6, 0.6, 0.6, 0.6, NAN};
    const double rates[] = {0.002, 0.002, 0.001, 0.001, 0.001, 0.0005, 0.0005, 0.0003, 0.0003, 0.0003, 0.0003};
    const int reduced[] = {0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0};
    int ok = 1;
    for (int i = 0; i < 11; i++) {
        int r = cnn_plateau_epoch(&p, &t, losses[i]);
        if (r != reduced[i] || !close_to(p.rate, rates[i])) {
            printf("  epoch %d: rate %g (reduced %d), expected %g (%d)\n", i + 1, p.rate, r, rates[i], reduced[i]);
            ok = 0;
        }
    }
    expect("reduce_on_plateau on a val_loss sequence", ok);
    expect("reduce_on_plateau: the best is kept", p.best == 0.5);
}

static void early_stopping(void)
{
    /* EarlyStopping(patience=2, min_delta=0.001): best at epoch 3 (0.40); 0.3995 is not better by
     * min_delta, nor is 0.41: the wait reaches 2 after epoch 5, which stops. */
    cnn_train_config t = {.early_stopping = 1, .stop_patience = 2, .stop_min_delta = 0.001, .restore_best = 1};
    cnn_early_stop e;
    cnn_early_stop_start(&e);
    const double losses[] = {0.9, 0.5, 0.40, 0.3995, 0.41, 0.2};
    const int improved_want[] = {1, 1, 1, 0, 0};
    int stopped_at = 0, ok = 1;
    for (int i = 0; i < 6 && !stopped_at; i++) {
        int improved;
        if (cnn_early_stop_epoch(&e, &t, i + 1, losses[i], &improved))
            stopped_at = i + 1;
        ok &= improved == improved_want[i];
    }
    expect("early stopping: improvements by more than min_delta", ok);
    expect("early stopping: stops after epoch 5", stopped_at == 5);
    expect("early stopping: the best epoch is 3", e.best_epoch == 3 && e.best == 0.40);

    /* patience 0 stops at the first epoch without improvement, never at the first epoch (Keras). */
    cnn_train_config z = {.early_stopping = 1, .stop_patience = 0};
    cnn_early_stop_start(&e);
    int improved;
    expect("patience 0: a NaN first epoch does not stop", !cnn_early_stop_epoch(&e, &z, 1, NAN, &improved) && !improved);
    expect("patience 0: improving goes on", !cnn_early_stop_epoch(&e, &z, 2, 1.0, &improved) && improved);
    expect("patience 0: the first epoch without improvement stops", cnn_early_stop_epoch(&e, &z, 3, 1.0, &improved));
}

#define H 9
#define W 7

static void augmentation(void)
{
    cnn_augment a = {.shift = 2, .rotation = 10, .seed = 42, .epoch = 3};
    int dx, dy, dx2, dy2;
    double deg, deg2;
    cnn_augment_draw(&a, 17, &dx, &dy, &deg);
    cnn_augment_draw(&a, 17, &dx2, &dy2, &deg2);
    expect("the same seed, epoch and image: the same moves", dx == dx2 && dy == dy2 && deg == deg2);
    expect("the moves within their bounds", abs(dx) <= 2 && abs(dy) <= 2 && fabs(deg) <= 10);
    /* Over many images every shift from -2 to 2 comes up, and the moves differ by image and epoch. */
    int seen[5][5] = {{0}}, differ_image = 0, differ_epoch = 0;
    for (int i = 0; i < 500; i++) {
        cnn_augment_draw(&a, i, &dx, &dy, &deg);
        seen[dx + 2][dy + 2] = 1;
        a.epoch = 4;
        cnn_augment_draw(&a, i, &dx2, &dy2, &deg2);
        a.epoch = 3;
        differ_epoch += deg != deg2;
        if (i > 0) {
            int px, py;
            double pd;
            cnn_augment_draw(&a, i - 1, &px, &py, &pd);
            differ_image += pd != deg;
        }
    }
    int all = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            all &= seen[i][j];
    expect("every shift from -2 to 2 in each direction is drawn", all);
    expect("the moves differ from image to image and from epoch to epoch", differ_image > 490 && differ_epoch > 490);
    a.seed = 43;
    cnn_augment_draw(&a, 17, &dx2, &dy2, &deg2);
    cnn_augment_draw(&(cnn_augment){.shift = 2, .rotation = 10, .seed = 42, .epoch = 3}, 17, &dx, &dy, &deg);
    expect("another seed, other moves", deg != deg2);

    /* A single lit pixel at (row 4, column 3) moves to (4 + dy, 3 + dx) exactly, nothing else lit. */
    float src[H * W] = {0}, dst[H * W];
    src[4 * W + 3] = 1.0f;
    for (int sy = -2; sy <= 2; sy++) {
        for (int sx = -2; sx <= 2; sx++) {
            cnn_augment_apply(src, dst, H, W, 1, sx, sy, 0);
            int ok = 1;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    ok &= dst[y * W + x] == (y == 4 + sy && x == 3 + sx ? 1.0f : 0.0f);
            char what[80];
            snprintf(what, sizeof what, "a lit pixel moved by (%d, %d)", sx, sy);
            expect(what, ok);
        }
    }
    /* Moved out of the image: zero fill, nothing left. */
    cnn_augment_apply(src, dst, H, W, 1, 4, 0, 0);
    float sum = 0;
    for (int i = 0; i < H * W; i++)
        sum += dst[i];
    expect("a pixel shifted out leaves zeros", sum == 0);
    /* A turn by 90 degrees about the centre of a square image moves the pixel right of the centre
     * to the one above it (counter-clockwise as the image is seen), bilinear weights all on it. */
    float sq[25] = {0}, out[25];
    sq[2 * 5 + 3] = 1.0f;
    cnn_augment_apply(sq, out, 5, 5, 1, 0, 0, 90);
    expect("90 degrees: right of the centre goes above it", fabs(out[1 * 5 + 2] - 1.0f) < 1e-6 && fabs(out[2 * 5 + 3]) < 1e-6);
    /* Channels move together: two channels, the same pixel in each. */
    float c2[H * W * 2] = {0}, d2[H * W * 2];
    c2[(4 * W + 3) * 2] = 1.0f;
    c2[(4 * W + 3) * 2 + 1] = 0.5f;
    cnn_augment_apply(c2, d2, H, W, 2, 1, -1, 0);
    expect("channels move together", d2[(3 * W + 4) * 2] == 1.0f && d2[(3 * W + 4) * 2 + 1] == 0.5f);
    /* A small turn keeps the ink: bilinear weights sum to one inside the image. */
    float blob[H * W] = {0}, turned[H * W];
    blob[4 * W + 3] = blob[4 * W + 2] = blob[3 * W + 3] = 1.0f;
    cnn_augment_apply(blob, turned, H, W, 1, 0, 0, 7.5);
    double ink = 0;
    for (int i = 0; i < H * W; i++)
        ink += turned[i];
    expect("a small turn keeps the ink of a central blob", fabs(ink - 3.0) < 0.05);
}

int main(void)
{
    schedules();
    plateau();
    early_stopping();
    augmentation();
    printf("%d checks, %d failed\n", checks, failed);
    return failed > 0;
}
