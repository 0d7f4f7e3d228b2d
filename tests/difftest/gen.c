/*
 * difftest/gen.c - random valid models for the differential test, one per seed, and the
 * one-step-smaller variants of a model that the shrinker tries.
 *
 *   dt_gen gen SEED                   the model of SEED in the .cnn form, on stdout
 *   dt_gen convert MODEL.cnn FORM     the same model as cnn, yaml or desc (the checker's)
 *   dt_gen variants MODEL.cnn DIR     DIR/001.cnn ...: every valid model one step smaller
 *                                     (a layer dropped, a size shrunk, a setting made
 *                                     plainer), most promising first; prints how many
 *
 * Together the models cover every layer kind and activation; kernels 1..7, square or not,
 * strides 1..3, valid and same padding; inputs from 1x1 with 1..4 channels; channel counts
 * 1..70 (every remainder mod 4, 8 and 16); dense layers of 1..300 units; pools 1..4 whose
 * strides tile, overlap or skip; dropout (inside and last), layers without bias, both losses,
 * both optimizers and batch sizes 1..70. The work of one batch is capped so that the
 * reference layers check a model in well under a second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Multiply-accumulates of one batch the checker's reference may have to do, per pass. */
#define MAX_BATCH_WORK 3e6

typedef struct rng { uint64_t s; } rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int pick(rng *r, int lo, int hi)
{
    return lo + (int)(next(r) % (uint64_t)(hi - lo + 1));
}

static int chance(rng *r, int percent)
{
    return pick(r, 1, 100) <= percent;
}

/* 1..70, half of the time small, so that most models stay quick. */
static int channels(rng *r)
{
    return chance(r, 50) ? pick(r, 1, 70) : pick(r, 1, 20);
}

static int hidden_act(rng *r)
{
    return pick(r, DT_ACT_NONE, DT_ACT_TANH);
}

/* A conv2d or pool window that fits h x w: `valid` only when it fits, else `same`. */
static void window(rng *r, dt_layer *l, int h, int w, int kmax)
{
    l->kh = pick(r, 1, kmax);
    l->kw = chance(r, 50) ? l->kh : pick(r, 1, kmax);
    l->same = chance(r, 40) || l->kh > h || l->kw > w;
}

static void conv(rng *r, dt_layer *l, int h, int w)
{
    l->kind = DT_CONV2D;
    l->units = channels(r);
    window(r, l, h, w, 7);
    l->sh = chance(r, 50) ? 1 : pick(r, 1, 3);
    l->sw = chance(r, 60) ? l->sh : pick(r, 1, 3);
    l->act = hidden_act(r);
    l->use_bias = chance(r, 80);
}

/* Strides that tile (= window), overlap (< window) or skip (> window). */
static void pool(rng *r, dt_layer *l, int h, int w)
{
    l->kind = chance(r, 50) ? DT_MAXPOOL2D : DT_AVGPOOL2D;
    window(r, l, h, w, 4);
    int mode = pick(r, 0, 2);
    for (int d = 0; d < 2; d++) {
        int k = d ? l->kw : l->kh, s;
        if (mode == 0 || (mode == 1 && k == 1))
            s = k;
        else if (mode == 1)
            s = pick(r, 1, k - 1);
        else
            s = pick(r, k + 1, k + 2);
        *(d ? &l->sw : &l->sh) = s;
    }
}

static void dropout(rng *r, dt_layer *l)
{
    static const double rates[] = {0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9};
    l->kind = DT_DROPOUT;
    l->rate = rates[pick(r, 0, 6)];
    if (chance(r, 30)) {
        l->has_seed = 1;
        l->seed = pick(r, 0, 1000);
    }
}

static void standalone(rng *r, dt_layer *l)
{
    l->kind = pick(r, DT_RELU, DT_TANH);
}

/* Adds a layer and returns its output shape through h, w, c. */
static dt_layer *add(dt_model *m, rng *r)
{
    dt_layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    l->use_bias = 1;
    l->sh = l->sw = 1;
    l->style = (unsigned)pick(r, 0, 31);
    return l;
}

static void shape_after(const dt_model *m, int *h, int *w, int *c)
{
    int flat = 0;
    *h = m->in_h, *w = m->in_w, *c = m->in_c;
    for (int i = 0; i < m->nlayers; i++)
        dt_layer_shape(&m->layers[i], *h, *w, *c, flat, h, w, c, &flat);
}

static void generate_once(dt_model *m, rng *r)
{
    memset(m, 0, sizeof *m);
    int size_class = pick(r, 1, 10);
    if (size_class <= 3)
        m->in_h = pick(r, 1, 4);
    else if (size_class <= 7)
        m->in_h = pick(r, 5, 12);
    else if (size_class <= 9)
        m->in_h = pick(r, 13, 20);
    else
        m->in_h = 28;
    m->in_w = chance(r, 50) ? m->in_h : pick(r, 1, m->in_h + 4);
    m->in_c = m->in_h == 28 && chance(r, 60) ? 1 : pick(r, 1, 4);
    int h, w, c;

    /* The feature extractor: convolutions, pools, standalone activations and dropout. */
    int spatial = pick(r, 0, 5);
    for (int i = 0; i < spatial; i++) {
        shape_after(m, &h, &w, &c);
        int what = pick(r, 1, 100);
        dt_layer *l = add(m, r);
        if (what <= 55)
            conv(r, l, h, w);
        else if (what <= 80)
            pool(r, l, h, w);
        else if (what <= 90)
            standalone(r, l);
        else
            dropout(r, l);
    }
    add(m, r)->kind = DT_FLATTEN;

    /* The classifier: hidden dense layers of 1..300 units, with activations and dropout. */
    int hidden = pick(r, 0, 3);
    for (int i = 0; i < hidden; i++) {
        dt_layer *l = add(m, r);
        l->kind = DT_DENSE;
        l->units = chance(r, 30) ? pick(r, 1, 300) : pick(r, 1, 40);
        l->act = hidden_act(r);
        l->use_bias = chance(r, 80);
        if (chance(r, 20))
            standalone(r, add(m, r));
        if (chance(r, 20))
            dropout(r, add(m, r));
    }

    /* The output: one value per class, ending in any of the ways a model may end. */
    m->mnist = m->in_h == 28 && m->in_w == 28 && m->in_c == 1 && chance(r, 70);
    int classes = m->mnist ? 10 : (chance(r, 80) ? pick(r, 2, 16) : pick(r, 2, 256));
    shape_after(m, &h, &w, &c);
    int end = pick(r, 1, 100);
    int softmax_out = 0;
    if (end <= 5 && !m->mnist && c >= 2 && c <= 256) {
        /* No dense layer at all: the flattened features are the outputs. */
        if (chance(r, 50)) {
            add(m, r)->kind = DT_SOFTMAX;
            softmax_out = 1;
        }
    } else {
        dt_layer *l = add(m, r);
        l->kind = DT_DENSE;
        l->units = classes;
        l->use_bias = chance(r, 85);
        if (end <= 55) {
            l->act = DT_ACT_SOFTMAX;
            softmax_out = 1;
        } else if (end <= 65) {
            add(m, r)->kind = DT_SOFTMAX;
            softmax_out = 1;
        } else if (end <= 80) {
            l->act = hidden_act(r);
        } else if (end <= 90) {
            l->act = chance(r, 50) ? DT_ACT_SOFTMAX : hidden_act(r);
            softmax_out = l->act == DT_ACT_SOFTMAX;
            dropout(r, add(m, r));
        } else {
            standalone(r, add(m, r));
        }
    }
    m->loss = softmax_out ? (chance(r, 80) ? DT_XENT : DT_MSE) : (chance(r, 70) ? DT_MSE : DT_XENT);

    /* Now and then a layer named by hand. */
    for (int i = 0; i < m->nlayers; i++)
        if (chance(r, 5))
            snprintf(m->layers[i].name, sizeof m->layers[i].name, "L%d_%d", i, pick(r, 0, 99));

    static const double lrs[] = {0.001, 0.01, 0.05, 0.1, 0.3};
    m->opt = chance(r, 50) ? DT_SGD : DT_ADAM;
    m->lr = lrs[pick(r, 0, 4)];
    if (m->opt == DT_SGD) {
        static const double moms[] = {0, 0, 0.5, 0.9, 0.99};
        m->momentum = moms[pick(r, 0, 4)];
        m->nesterov = m->momentum > 0 && chance(r, 50);
    } else {
        static const double b1[] = {0.9, 0.8, 0.5, 0}, b2[] = {0.999, 0.99, 0.9}, eps[] = {1e-7, 1e-3, 1e-8};
        m->beta_1 = b1[pick(r, 0, 3)];
        m->beta_2 = b2[pick(r, 0, 2)];
        m->epsilon = eps[pick(r, 0, 2)];
    }
    m->batch = chance(r, 20) ? pick(r, 1, 3) : pick(r, 1, 70);
}

/* Draws until the model is valid and small enough; the same seed gives the same model. */
static void generate(dt_model *m, uint64_t seed)
{
    rng r = {seed * 0x2545F4914F6CDD1Dull + 1};
    for (;;) {
        generate_once(m, &r);
        int classes;
        double macs = dt_model_macs(m);
        if (!dt_model_valid(m, &classes) || macs > MAX_BATCH_WORK)
            continue;
        if (m->batch * macs > MAX_BATCH_WORK)
            m->batch = (int)(MAX_BATCH_WORK / macs) > 1 ? (int)(MAX_BATCH_WORK / macs) : 1;
        break;
    }
    snprintf(m->name, sizeof m->name, "dt%llu", (unsigned long long)seed);
}

/* ------------------------------------------------------------------ variants for the shrinker */

typedef struct variants {
    const char *dir;
    int count;
} variants;

static void keep_if_valid(variants *v, const dt_model *m)
{
    int classes;
    if (!dt_model_valid(m, &classes))
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%03d.cnn", v->dir, ++v->count);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    dt_write_cnn(f, m);
    fclose(f);
}

/* A smaller value to try: half, then one less; 0 when there is none. */
static int smaller(int x, int step, int floor)
{
    if (step == 0)
        return x / 2 >= floor && x / 2 < x ? x / 2 : 0;
    return x - 1 >= floor ? x - 1 : 0;
}

static void make_variants(const dt_model *m, variants *v)
{
    dt_model t;
    /* Drop a layer, the biggest step. */
    for (int i = 0; i < m->nlayers; i++) {
        t = *m;
        memmove(&t.layers[i], &t.layers[i + 1], sizeof t.layers[0] * (size_t)(t.nlayers - i - 1));
        t.nlayers--;
        keep_if_valid(v, &t);
    }
    /* Smaller input, batch, sizes. */
    for (int step = 0; step < 2; step++) {
        int x;
        t = *m;
        if ((x = smaller(t.batch, step, 1)))
            t.batch = x, keep_if_valid(v, &t);
        t = *m;
        if ((x = smaller(t.in_h, step, 1)))
            t.in_h = x, t.mnist = 0, keep_if_valid(v, &t);
        t = *m;
        if ((x = smaller(t.in_w, step, 1)))
            t.in_w = x, t.mnist = 0, keep_if_valid(v, &t);
        t = *m;
        if ((x = smaller(t.in_c, step, 1)))
            t.in_c = x, t.mnist = 0, keep_if_valid(v, &t);
        for (int i = 0; i < m->nlayers; i++) {
            int *fields[] = {&t.layers[i].units, &t.layers[i].kh, &t.layers[i].kw,
                             &t.layers[i].sh, &t.layers[i].sw};
            for (int k = 0; k < 5; k++) {
                t = *m;
                if ((x = smaller(*fields[k], step, 1))) {
                    *fields[k] = x;
                    keep_if_valid(v, &t);
                }
            }
        }
    }
    /* Plainer settings. */
    for (int i = 0; i < m->nlayers; i++) {
        t = *m;
        dt_layer *l = &t.layers[i];
        if (l->same)
            l->same = 0, keep_if_valid(v, &t);
        t = *m;
        if (l->act != DT_ACT_NONE && l->act != DT_ACT_SOFTMAX)
            l->act = DT_ACT_NONE, keep_if_valid(v, &t);
        t = *m;
        if (!l->use_bias && (l->kind == DT_CONV2D || l->kind == DT_DENSE))
            l->use_bias = 1, keep_if_valid(v, &t);
        t = *m;
        if (l->name[0] || l->has_seed)
            l->name[0] = '\0', l->has_seed = 0, keep_if_valid(v, &t);
    }
    t = *m;
    if (t.mnist)
        t.mnist = 0, keep_if_valid(v, &t);
    t = *m;
    if (t.opt == DT_ADAM)
        t.opt = DT_SGD, t.momentum = 0, t.nesterov = 0, keep_if_valid(v, &t);
    t = *m;
    if (t.momentum != 0)
        t.momentum = 0, t.nesterov = 0, keep_if_valid(v, &t);
}

/* ------------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr, "usage: dt_gen gen SEED\n"
                    "       dt_gen convert MODEL.cnn cnn|yaml|desc\n"
                    "       dt_gen variants MODEL.cnn DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    dt_model m;
    if (argc == 3 && strcmp(argv[1], "gen") == 0) {
        char *end;
        unsigned long long seed = strtoull(argv[2], &end, 10);
        if (end == argv[2] || *end)
            return usage();
        generate(&m, seed);
        dt_write_cnn(stdout, &m);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "convert") == 0) {
        if (dt_read_cnn(argv[2], &m) < 0)
            return 1;
        if (strcmp(argv[3], "cnn") == 0)
            dt_write_cnn(stdout, &m);
        else if (strcmp(argv[3], "yaml") == 0)
            dt_write_yaml(stdout, &m);
        else if (strcmp(argv[3], "desc") == 0)
            dt_write_desc(stdout, &m);
        else
            return usage();
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "variants") == 0) {
        if (dt_read_cnn(argv[2], &m) < 0)
            return 1;
        variants v = {argv[3], 0};
        make_variants(&m, &v);
        printf("%d\n", v.count);
        return 0;
    }
    return usage();
}
