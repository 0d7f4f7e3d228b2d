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
 * both optimizers and batch sizes 1..70. Two thirds of them are graphs: layers that read
 * earlier ones (from=, from=input), residual blocks (add with the block's input, with a strided
 * 1x1 projection of it, or of an output with itself), branches joined by concat (images and
 * flat values, the model's input among them), global average pooling, and batchnorm anywhere
 * (images and flat, scale and center on and off, momentum from 0 to 1, epsilon from 1e-5 to 1);
 * every layer leads to the output. The work of one batch is capped so that the reference
 * layers check a model in well under a second.
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

/* Keras' defaults most of the time; momentum 0 (the batch's statistics become the moving ones)
 * and 1 (they never move), and an epsilon from tiny to larger than most variances. */
static void batchnorm(rng *r, dt_layer *l)
{
    static const double moms[] = {0.99, 0.99, 0.9, 0.5, 0, 1}, eps[] = {0.001, 0.001, 1e-5, 0.1, 1};
    l->kind = DT_BATCHNORM;
    l->momentum = moms[pick(r, 0, 5)];
    l->epsilon = eps[pick(r, 0, 4)];
    l->use_bias = chance(r, 75);
    l->scale = chance(r, 75);
}

/* ------------------------------------------------------------------ drawing a network */

/* The network being drawn: its layers so far and the output the next layer reads. */
typedef struct draw {
    dt_model *m;
    rng *r;
    int cur;  /* the main path's output: a layer's index, or DT_INPUT */
    int full; /* more layers were asked for than a model holds: draw again */
} draw;

static dt_shape shape_of(const draw *d, int idx)
{
    dt_shape s[DT_MAX_LAYERS];
    if (idx < 0)
        return (dt_shape){d->m->in_h, d->m->in_w, d->m->in_c, 0};
    if (!dt_layer_shapes(d->m, s))
        return (dt_shape){1, 1, 1, 0}; /* the model is rejected when drawn */
    return s[idx];
}

/* A new layer of the kind that reads src and becomes the main path's output. */
static dt_layer *push(draw *d, int kind, int src)
{
    static dt_layer spare;
    dt_model *m = d->m;
    if (m->nlayers == DT_MAX_LAYERS) {
        d->full = 1;
        return &spare;
    }
    int i = m->nlayers++;
    dt_layer *l = &m->layers[i];
    dt_layer_init(l, kind);
    l->style = (unsigned)pick(d->r, 0, 63);
    /* from= where it reads another than the layer before, and now and then naming that one. */
    l->from = src == i - 1 && !chance(d->r, 5) ? DT_PREVIOUS : src;
    d->cur = i;
    return l;
}

/* One layer on the main path of an image: conv2d, a pool, an activation, dropout or batchnorm. */
static void image_layer(draw *d, int batchnorm_percent)
{
    dt_shape s = shape_of(d, d->cur);
    int what = pick(d->r, 1, 100);
    dt_layer *l = push(d, DT_CONV2D, d->cur);
    if (what <= batchnorm_percent)
        batchnorm(d->r, l);
    else if ((what = pick(d->r, 1, 100)) <= 55)
        conv(d->r, l, s.h, s.w);
    else if (what <= 80)
        pool(d->r, l, s.h, s.w);
    else if (what <= 90)
        standalone(d->r, l);
    else
        dropout(d->r, l);
}

/* A layer that keeps the shape of what it reads (with keep_c unset, all but the channels). */
static void keeping_layer(draw *d, int keep_c)
{
    dt_shape s = shape_of(d, d->cur);
    int what = pick(d->r, 1, 100);
    dt_layer *l = push(d, DT_CONV2D, d->cur);
    if (what <= 40) {
        if (s.flat) {
            l->kind = DT_DENSE;
            l->units = keep_c ? s.c : (chance(d->r, 30) ? pick(d->r, 1, 100) : pick(d->r, 1, 30));
            l->act = hidden_act(d->r);
            l->use_bias = chance(d->r, 80);
        } else {
            conv(d->r, l, s.h, s.w);
            l->same = 1;
            l->sh = l->sw = 1;
            if (keep_c)
                l->units = s.c;
        }
    } else if (what <= 55 && !s.flat) {
        pool(d->r, l, s.h, s.w);
        l->same = 1;
        l->sh = l->sw = 1;
    } else if (what <= 75) {
        batchnorm(d->r, l);
    } else if (what <= 90) {
        standalone(d->r, l);
    } else {
        dropout(d->r, l);
    }
}

/* A residual block: a branch that keeps the shape added to its input (or, for an image, a
 * branch that strides and changes the channels added to a 1x1 projection of the input), or an
 * output added to itself. Either addend may be add's input. */
static void residual(draw *d)
{
    int stem = d->cur;
    dt_shape s = shape_of(d, stem);
    int what = pick(d->r, 1, 100);
    if (what <= 12) {
        push(d, DT_ADD, stem)->with = stem;
        return;
    }
    if (what <= 40 && !s.flat) {
        int f = channels(d->r), sh = pick(d->r, 1, 3), sw = chance(d->r, 70) ? sh : pick(d->r, 1, 3);
        dt_layer *l = push(d, DT_CONV2D, stem);
        conv(d->r, l, s.h, s.w);
        l->same = 1, l->sh = sh, l->sw = sw, l->units = f;
        if (chance(d->r, 50))
            batchnorm(d->r, push(d, DT_BATCHNORM, d->cur));
        if (chance(d->r, 40))
            standalone(d->r, push(d, DT_RELU, d->cur));
        int end = d->cur;
        /* A 1x1 window gives ceil(in / stride) with either padding, as `same` does. */
        l = push(d, DT_CONV2D, stem);
        conv(d->r, l, s.h, s.w);
        l->kh = l->kw = 1, l->same = chance(d->r, 50), l->sh = sh, l->sw = sw, l->units = f;
        l->act = chance(d->r, 70) ? DT_ACT_NONE : l->act;
        push(d, DT_ADD, d->cur)->with = end;
        return;
    }
    int len = pick(d->r, 1, 3);
    for (int k = 0; k < len; k++)
        keeping_layer(d, 1);
    int end = d->cur;
    if (chance(d->r, 50))
        push(d, DT_ADD, end)->with = stem;
    else
        push(d, DT_ADD, stem)->with = end;
}

/* Branches from one output (an image's may also start at the model's input, when it has the
 * same height and width), joined by concat in a random order. A branch may be empty: the
 * output itself is joined. */
static void branches(draw *d)
{
    int stem = d->cur, nb = pick(d->r, 2, 3), ends[3];
    dt_shape s = shape_of(d, stem), in = shape_of(d, DT_INPUT);
    for (int b = 0; b < nb; b++) {
        d->cur = stem;
        if (stem != DT_INPUT && !s.flat && s.h == in.h && s.w == in.w && chance(d->r, 15))
            d->cur = DT_INPUT;
        int len = pick(d->r, 0, 2);
        for (int k = 0; k < len; k++)
            keeping_layer(d, 0);
        ends[b] = d->cur;
    }
    for (int b = nb - 1; b > 0; b--) {
        int k = pick(d->r, 0, b), t = ends[b];
        ends[b] = ends[k], ends[k] = t;
    }
    push(d, DT_CONCAT, ends[0])->with = ends[1];
    for (int b = 2; b < nb; b++)
        push(d, DT_CONCAT, d->cur)->with = ends[b];
}

/* The main path's output joined with the model's input, where their shapes allow. */
static void input_skip(draw *d)
{
    dt_shape s = shape_of(d, d->cur), in = shape_of(d, DT_INPUT);
    if (s.flat || s.h != in.h || s.w != in.w)
        return;
    if (s.c == in.c && chance(d->r, 50))
        push(d, DT_ADD, d->cur)->with = DT_INPUT;
    else
        push(d, DT_CONCAT, d->cur)->with = DT_INPUT;
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
    draw d = {m, r, DT_INPUT, 0};
    /* A third of the models are chains, as before graphs; a few of those have batchnorm. */
    int graph = chance(r, 67), bn_percent = graph ? 15 : (chance(r, 30) ? 20 : 0);

    /* The feature extractor: layers and, in a graph, blocks that branch and join. */
    int spatial = pick(r, 0, graph ? 6 : 5);
    for (int i = 0; i < spatial; i++) {
        int what = pick(r, 1, 100);
        if (!graph || what <= 50)
            image_layer(&d, bn_percent);
        else if (what <= 75)
            residual(&d);
        else if (what <= 92)
            branches(&d);
        else
            input_skip(&d);
    }
    if ((graph || bn_percent) && chance(r, 35))
        push(&d, DT_GLOBALAVGPOOL2D, d.cur);
    else
        push(&d, DT_FLATTEN, d.cur);

    /* The classifier: hidden dense layers of 1..300 units, with activations and dropout, and in
     * a graph residual and concatenated branches over the flat values. */
    int hidden = pick(r, 0, 3);
    for (int i = 0; i < hidden; i++) {
        int what = pick(r, 1, 100);
        if (graph && what <= 15) {
            residual(&d);
        } else if (graph && what <= 30) {
            branches(&d);
        } else if (what <= 30 + bn_percent / 2) {
            batchnorm(r, push(&d, DT_BATCHNORM, d.cur));
        } else {
            dt_layer *l = push(&d, DT_DENSE, d.cur);
            l->units = chance(r, 30) ? pick(r, 1, 300) : pick(r, 1, 40);
            l->act = hidden_act(r);
            l->use_bias = chance(r, 80);
        }
        if (chance(r, 20))
            standalone(r, push(&d, DT_RELU, d.cur));
        if (chance(r, 20))
            dropout(r, push(&d, DT_DROPOUT, d.cur));
    }

    /* The output: one value per class, ending in any of the ways a model may end. */
    m->mnist = m->in_h == 28 && m->in_w == 28 && m->in_c == 1 && chance(r, 70);
    int classes = m->mnist ? 10 : (chance(r, 80) ? pick(r, 2, 16) : pick(r, 2, 256));
    dt_shape s = shape_of(&d, d.cur);
    int end = pick(r, 1, 100);
    int softmax_out = 0;
    if (end <= 5 && !m->mnist && s.c >= 2 && s.c <= 256) {
        /* No dense layer at all: the flattened features are the outputs. */
        if (chance(r, 50)) {
            push(&d, DT_SOFTMAX, d.cur);
            softmax_out = 1;
        }
    } else {
        dt_layer *l = push(&d, DT_DENSE, d.cur);
        l->units = classes;
        l->use_bias = chance(r, 85);
        if (end <= 55) {
            l->act = DT_ACT_SOFTMAX;
            softmax_out = 1;
        } else if (end <= 65) {
            push(&d, DT_SOFTMAX, d.cur);
            softmax_out = 1;
        } else if (end <= 72 && bn_percent) {
            batchnorm(r, push(&d, DT_BATCHNORM, d.cur));
        } else if (end <= 80) {
            l->act = hidden_act(r);
        } else if (end <= 90) {
            l->act = chance(r, 50) ? DT_ACT_SOFTMAX : hidden_act(r);
            softmax_out = l->act == DT_ACT_SOFTMAX;
            dropout(r, push(&d, DT_DROPOUT, d.cur));
        } else {
            standalone(r, push(&d, DT_RELU, d.cur));
        }
    }
    if (d.full)
        m->nlayers = 0; /* invalid: drawn again */
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
    /* Drop a layer, the biggest step: its readers read what it read, and a branch that no
     * longer leads to the output goes too. */
    for (int i = 0; i < m->nlayers; i++) {
        t = *m;
        dt_drop_layer(&t, i);
        dt_prune(&t);
        keep_if_valid(v, &t);
    }
    /* A layer that reads another than the layer before reads the layer before, and what no
     * longer leads to the output goes. */
    for (int i = 1; i < m->nlayers; i++) {
        t = *m;
        if (t.layers[i].from == DT_PREVIOUS || t.layers[i].from == i - 1)
            continue;
        t.layers[i].from = DT_PREVIOUS;
        dt_prune(&t);
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
        if (!l->use_bias && (l->kind == DT_CONV2D || l->kind == DT_DENSE || l->kind == DT_BATCHNORM))
            l->use_bias = 1, keep_if_valid(v, &t);
        t = *m;
        if (l->name[0] || l->has_seed)
            l->name[0] = '\0', l->has_seed = 0, keep_if_valid(v, &t);
        t = *m;
        if (l->kind == DT_BATCHNORM && (l->momentum != 0.99 || l->epsilon != 0.001))
            l->momentum = 0.99, l->epsilon = 0.001, keep_if_valid(v, &t);
        t = *m;
        if (l->kind == DT_BATCHNORM && !l->scale)
            l->scale = 1, keep_if_valid(v, &t);
        t = *m;
        if (l->from == i - 1)
            l->from = DT_PREVIOUS, keep_if_valid(v, &t);
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
