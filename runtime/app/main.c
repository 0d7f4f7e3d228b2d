/*
 * main.c - the command line of a built model:
 *
 *   PROGRAM train   [--data DIR] [--epochs N] [--limit N] [--validation-limit N] [--batch-size N]
 *                   [--learning-rate X] [--no-shuffle] [--seed N] [--threads N] [--load CKPT]
 *                   [--save CKPT] [--save-weights-only] [--history FILE.csv] [--plot FILE.png]
 *                   [--quiet]
 *   PROGRAM eval    --load CKPT [--data DIR] [--threads N] [--confusion FILE.png]
 *                   [--mistakes FILE.png]
 *   PROGRAM predict --load CKPT IMAGE...
 *
 * A bad command line is one error line and the usage on stderr, exit status 2; work that
 * fails (missing data, a diverging loss, an unreadable image) exits with 1. Every message
 * starts with the program's own name (`mnist_cnn: error: ...`).
 * Ctrl-C during train stops at the end of the step, saves with --save and exits with 130.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cnnplot.h"
#include "cnnrt.h"
#include "image.h"
#include "program.h"

#define EXIT_USAGE 2
/* Stopped by Ctrl-C: 128 + SIGINT, what a shell reports for a program that SIGINT killed. */
#define EXIT_INTERRUPTED 130
#define MAX_EPOCHS 1000000
#define MAX_THREADS 4096
#define MAX_MISTAKES 36 /* the images cnn_plot_mistakes shows */

/* The state of parsing one subcommand's arguments. */
typedef struct cli {
    const cnn_model *m;
    const char *prog;   /* argv[0]'s last component, for messages */
    int argc;
    char **argv;
    int i;              /* the argument being read */
} cli;

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s train   [--data DIR] [--epochs N] [--limit N] [--validation-limit N]\n"
            "                  [--batch-size N] [--learning-rate X] [--no-shuffle] [--seed N]\n"
            "                  [--threads N] [--load CKPT] [--save CKPT] [--save-weights-only]\n"
            "                  [--history FILE.csv] [--plot FILE.png] [--quiet]\n"
            "       %s eval    --load CKPT [--data DIR] [--threads N] [--confusion FILE.png]\n"
            "                  [--mistakes FILE.png]\n"
            "       %s predict --load CKPT IMAGE...\n"
            "       %s --help | --version\n",
            prog, prog, prog, prog);
}

static void help(const cli *c)
{
    const cnn_model *m = c->m;
    printf("%s: the model '%s' (%dx%dx%d input, %d classes, batch %d), built by cnnc %s\n\n",
           c->prog, m->name, m->in_h, m->in_w, m->in_c, m->classes, m->batch, m->cnnc_version);
    usage(stdout, c->prog);
    printf("\n"
           "  train     train the model (settings from its train block unless overridden):\n"
           "              --data DIR         the four IDX files of the data set\n"
           "              --epochs N         train up to epoch N (default: the model's epochs)\n"
           "              --limit N          train on the first N training images only\n"
           "              --validation-limit N  validate on the first N validation images only\n"
           "              --batch-size N     batches of N images, at most the compiled %d\n"
           "              --learning-rate X  the optimizer's learning rate instead of the\n"
           "                                 model's (%g)\n"
           "              --no-shuffle       keep the training images in file order\n"
           "              --seed N           seed of initialisation, shuffling and dropout\n"
           "              --threads N        worker threads (default: every core)\n"
           "              --load CKPT        resume from a checkpoint: its weights, its epoch\n"
           "                                 count and its optimizer state (when it is the\n"
           "                                 model's optimizer's); appends to --history\n"
           "              --save CKPT        write a checkpoint after training\n"
           "              --save-weights-only  without the optimizer's state (for other\n"
           "                                 frameworks; --load of it starts the optimizer afresh)\n"
           "              --history FILE.csv the loss and accuracy of every epoch\n"
           "              --plot FILE.png    draw the training curves (.png, .svg or .pdf)\n"
           "              --quiet            print no progress\n"
           "  eval      loss, accuracy and confusion matrix of a checkpoint on the test set:\n"
           "              --load CKPT        the checkpoint to evaluate\n"
           "              --data DIR         the four IDX files of the data set\n"
           "              --threads N        worker threads (default: every core)\n"
           "              --confusion FILE   draw the confusion matrix (.png, .svg or .pdf)\n"
           "              --mistakes FILE    draw the first %d misclassified test images\n"
           "  predict   class and probabilities of %dx%d grey PGM or PNG images\n",
           m->batch, m->train.learning_rate, MAX_MISTAKES, m->in_w, m->in_h);
}

/* Reports a bad command line: the one error line, then the usage. Returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
static int usage_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", c->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    usage(stderr, c->prog);
    return EXIT_USAGE;
}

/* The edit distance of two short words (insertions, deletions, substitutions). */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[65];
    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The candidate a mistyped word most likely meant: one the word begins (`--epoch` for
 * `--epochs`) or that begins it (`eval` in `evaluate`), else the nearest within two edits;
 * NULL when none is close. */
static const char *did_you_mean(const char *word, const char *const *candidates, int n)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < n; i++) {
        size_t lw = strlen(word), lc = strlen(candidates[i]);
        size_t shorter = lw < lc ? lw : lc;
        if (shorter >= 3 && strncmp(word, candidates[i], shorter) == 0)
            return candidates[i];
        int d = distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

/* The value of the option at argv[i], given as `--opt VALUE` or `--opt=VALUE`; NULL when
 * argv[i] is not `name`. Sets *missing when the value is absent. */
static const char *option_value(cli *c, const char *name, int *missing)
{
    const char *arg = c->argv[c->i];
    size_t len = strlen(name);
    *missing = 0;
    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (c->i + 1 >= c->argc) {
        *missing = 1;
        return NULL;
    }
    return c->argv[++c->i];
}

/* A whole number in [lo, hi], all of `text`; -1 after reporting anything else. */
static int parse_number(const cli *c, const char *option, const char *text, long long lo,
                        long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    int complete = *text != '\0' && !isspace((unsigned char)*text) && *end == '\0';
    if (!complete || errno == ERANGE || v < lo || v > hi) {
        if (lo == LLONG_MIN)
            usage_error(c, "%s needs a whole number, not '%s'", option, text);
        else
            usage_error(c, "%s needs a whole number from %lld to %lld, not '%s'", option, lo, hi,
                        text);
        return -1;
    }
    *out = v;
    return 0;
}

/* One option of a subcommand: its name and where its value goes. */
typedef struct option_spec {
    const char *name;
    const char **text;       /* a string option */
    long long *number;       /* or a number option, in [lo, hi] */
    long long lo, hi;
    int *flag;               /* or a flag without a value, set to 1 */
    int *given;              /* when not NULL, set to 1 when the option appears */
} option_spec;

/* Returns 1 if argv[i] is one of specs (its value stored, argv[i + 1] taken when it holds
 * the value), 0 if it is none of them, -1 after a usage error. */
static int match_option(cli *c, const option_spec *specs)
{
    for (const option_spec *s = specs; s->name; s++) {
        if (s->flag) {
            if (strcmp(c->argv[c->i], s->name) != 0)
                continue;
            *s->flag = 1;
            return 1;
        }
        int missing;
        const char *v = option_value(c, s->name, &missing);
        if (!missing && !v)
            continue;
        if (missing || (s->text && *v == '\0')) {
            usage_error(c, "%s needs a value", s->name);
            return -1;
        }
        if (s->text) {
            *s->text = v;
        } else if (parse_number(c, s->name, v, s->lo, s->hi, s->number) < 0) {
            return -1;
        }
        if (s->given)
            *s->given = 1;
        return 1;
    }
    return 0;
}

/* Parses the options of a subcommand. Other arguments go to positional (argc entries), or
 * are an error when it is NULL. Returns 0, 1 after printing the help (exit 0), or EXIT_USAGE
 * after a usage error. */
static int parse_options(cli *c, const option_spec *specs, const char **positional, int *n_pos)
{
    int only_positional = 0;
    for (c->i = 2; c->i < c->argc; c->i++) {
        const char *arg = c->argv[c->i];
        if (!only_positional && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            help(c);
            return 1;
        }
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (!only_positional && arg[0] == '-' && arg[1] != '\0') {
            int r = match_option(c, specs);
            if (r < 0)
                return EXIT_USAGE;
            if (r == 0) {
                const char *names[64];
                int n = 0;
                for (const option_spec *s = specs; s->name && n < 64; s++)
                    names[n++] = s->name;
                const char *hint = did_you_mean(arg, names, n);
                if (hint)
                    return usage_error(c, "unknown option '%s'; did you mean '%s'?", arg, hint);
                return usage_error(c, "unknown option '%s'", arg);
            }
            continue;
        }
        if (!positional)
            return usage_error(c, "unexpected argument '%s'", arg);
        positional[(*n_pos)++] = arg;
    }
    return 0;
}

/* The extensions the cnn_plot_ functions know, in any case, checked before the training or
 * evaluation rather than after it. */
static int plot_format_known(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".svg") == 0 ||
                   strcasecmp(dot, ".pdf") == 0);
}

/* A positive, finite real, all of `text`; -1 after reporting anything else. */
static int parse_positive_real(const cli *c, const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || isspace((unsigned char)*text) || *end != '\0' || errno == ERANGE ||
        !(v > 0) || !isfinite(v)) {
        usage_error(c, "%s needs a positive number, such as 0.001, not '%s'", option, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_train(cli *c)
{
    cnn_train_options opt;
    memset(&opt, 0, sizeof opt);
    long long epochs = 0, limit = 0, threads = 0, seed = 0, val_limit = 0, batch = 0;
    int no_shuffle = 0, quiet = 0;
    const char *rate = NULL;
    const option_spec specs[] = {
        {"--data", &opt.data_dir, NULL, 0, 0, NULL, NULL},
        {"--epochs", NULL, &epochs, 1, MAX_EPOCHS, NULL, NULL},
        {"--limit", NULL, &limit, 1, INT_MAX, NULL, NULL},
        {"--validation-limit", NULL, &val_limit, 1, INT_MAX, NULL, NULL},
        {"--batch-size", NULL, &batch, 1, INT_MAX, NULL, NULL},
        {"--learning-rate", &rate, NULL, 0, 0, NULL, NULL},
        {"--no-shuffle", NULL, NULL, 0, 0, &no_shuffle, NULL},
        {"--seed", NULL, &seed, LLONG_MIN, LLONG_MAX, NULL, &opt.has_seed},
        {"--threads", NULL, &threads, 1, MAX_THREADS, NULL, NULL},
        {"--load", &opt.load, NULL, 0, 0, NULL, NULL},
        {"--save", &opt.save, NULL, 0, 0, NULL, NULL},
        {"--save-weights-only", NULL, NULL, 0, 0, &opt.save_weights_only, NULL},
        {"--history", &opt.history, NULL, 0, 0, NULL, NULL},
        {"--plot", &opt.plot, NULL, 0, 0, NULL, NULL},
        {"--quiet", NULL, NULL, 0, 0, &quiet, NULL},
        {NULL, NULL, NULL, 0, 0, NULL, NULL},
    };
    int r = parse_options(c, specs, NULL, NULL);
    if (r != 0)
        return r == 1 ? 0 : r;
    if (opt.plot && !plot_format_known(opt.plot))
        return usage_error(c, "--plot writes .png, .svg or .pdf files, not '%s'", opt.plot);
    if (opt.save_weights_only && !opt.save)
        return usage_error(c, "--save-weights-only says what --save CKPT writes, and there is no --save");
    /* Under MPI (cnnc build --mpi) process 0 alone prints the progress and writes the files;
     * the others train beside it (contract, section 8). */
    if (cnn_process_rank() != 0) {
        opt.save = opt.history = opt.plot = NULL;
        quiet = 1;
    }
    /* Before the first step: a path that cannot be written would otherwise fail only once
     * the training it was meant to keep is done. */
    if ((opt.save && cnn_check_output("--save", opt.save, "model.safetensors") < 0) ||
        (opt.history && cnn_check_output("--history", opt.history, "history.csv") < 0) ||
        (opt.plot && cnn_check_output("--plot", opt.plot, "curves.png") < 0))
        return 1;

    if (rate && parse_positive_real(c, "--learning-rate", rate, &opt.learning_rate) < 0)
        return EXIT_USAGE;
    /* The generated code's buffers hold the compiled batch: a larger one cannot run. */
    if (batch > c->m->batch)
        return usage_error(c, "--batch-size %lld is larger than the batch of %d that model '%s' "
                           "was compiled for, which sizes its buffers; any batch from 1 to %d "
                           "works, or set batch_size %lld in the model file and build it again",
                           batch, c->m->batch, c->m->name, c->m->batch, batch);

    opt.epochs = (int)epochs;
    opt.limit = (int)limit;
    opt.validation_limit = (int)val_limit;
    opt.batch_size = (int)batch;
    opt.threads = (int)threads;
    opt.shuffle = no_shuffle ? 0 : -1;
    opt.quiet = quiet;
    opt.seed = seed;

    cnn_history_row *rows;
    int n_rows;
    int trained = cnn_train(c->m, &opt, opt.plot ? &rows : NULL, &n_rows);
    if (trained < 0)
        return 1;
    if (trained == CNN_TRAIN_INTERRUPTED)
        return EXIT_INTERRUPTED;
    int status = 0;
    if (opt.plot) {
        if (cnn_plot_curves(rows, n_rows, c->m->name, opt.plot) < 0)
            status = 1;
        free(rows);
    }
    return status;
}

/* Draws the first MAX_MISTAKES misclassified images of the test set, in test-set order. */
static int plot_mistakes(const cnn_model *m, const cnn_dataset *test, const cnn_prediction *preds,
                         const char *path)
{
    cnn_mistake mistakes[MAX_MISTAKES];
    int n = 0;
    for (int i = 0; i < test->n && n < MAX_MISTAKES; i++) {
        if (preds[i].predicted == test->labels[i])
            continue;
        mistakes[n].pixels = test->images + (size_t)i * test->h * test->w;
        mistakes[n].label = test->labels[i];
        mistakes[n].predicted = preds[i].predicted;
        mistakes[n].probability = preds[i].probability;
        n++;
    }
    return cnn_plot_mistakes(mistakes, n, test->h, test->w, m->name, path);
}

static int cmd_eval(cli *c)
{
    const cnn_model *m = c->m;
    const char *load = NULL, *data_dir = NULL, *confusion = NULL, *mistakes = NULL;
    long long threads = 0;
    const option_spec specs[] = {
        {"--load", &load, NULL, 0, 0, NULL, NULL},
        {"--data", &data_dir, NULL, 0, 0, NULL, NULL},
        {"--threads", NULL, &threads, 1, MAX_THREADS, NULL, NULL},
        {"--confusion", &confusion, NULL, 0, 0, NULL, NULL},
        {"--mistakes", &mistakes, NULL, 0, 0, NULL, NULL},
        {NULL, NULL, NULL, 0, 0, NULL, NULL},
    };
    int r = parse_options(c, specs, NULL, NULL);
    if (r != 0)
        return r == 1 ? 0 : r;
    if (!load)
        return usage_error(c, "eval needs --load CKPT");
    if (confusion && !plot_format_known(confusion))
        return usage_error(c, "--confusion writes .png, .svg or .pdf files, not '%s'", confusion);
    if (mistakes && !plot_format_known(mistakes))
        return usage_error(c, "--mistakes writes .png, .svg or .pdf files, not '%s'", mistakes);
    if ((confusion && cnn_check_output("--confusion", confusion, "confusion.png") < 0) ||
        (mistakes && cnn_check_output("--mistakes", mistakes, "mistakes.png") < 0))
        return 1;

    int status = 1;
    cnn_dataset train = {0}, test = {0};
    cnn_prediction *preds = NULL;
    cnn_eval_result *result = rt_calloc(1, sizeof *result);
    float *params = rt_malloc((cnn_param_floats(m) > 0 ? cnn_param_floats(m) : 1) * sizeof *params);
    if (!result || !params || cnn_checkpoint_load(load, m, params, NULL, NULL, NULL) < 0 ||
        cnn_data_load(m, data_dir, &train, &test) < 0)
        goto done;
    /* The training set is not needed: give its memory back before the evaluation. */
    cnn_dataset_free(&train);
    if (mistakes && !(preds = rt_calloc(test.n > 0 ? (size_t)test.n : 1, sizeof *preds)))
        goto done;
    if (cnn_evaluate(m, params, &test, (int)threads, result, preds) < 0)
        goto done;
    status = 0;
    /* Under MPI every process evaluated its share, and process 0 reports the whole. */
    if (cnn_process_rank() != 0)
        goto done;
    printf("Test set: ");
    cnn_print_evaluation(stdout, m, result);
    fflush(stdout);
    status = 0;
    if (confusion && cnn_plot_confusion((const long (*)[64])result->confusion, m->classes,
                                        m->name, confusion) < 0)
        status = 1;
    if (mistakes && plot_mistakes(m, &test, preds, mistakes) < 0)
        status = 1;
done:
    cnn_dataset_free(&train);
    cnn_dataset_free(&test);
    free(preds);
    free(params);
    free(result);
    return status;
}

/* Above this mean (of 255) an image is mostly light: MNIST's digits are light on black. */
#define LIGHT_MEAN 127

/* Classifies one image file and prints its class and probabilities; -1 if it cannot. The
 * first colour image of a run gets a note that it is made grey; an image that is mostly
 * light, a hint that it may be a dark digit on white. */
static int predict_one(const cnn_model *m, const float *params, float *ws, float *x,
                       float *probs, const char *path, int *colour_noted)
{
    unsigned char *pixels = NULL;
    int w, h, colour;
    if (cnn_image_load(path, &pixels, &w, &h, &colour) < 0)
        return -1;
    if (w != m->in_w || h != m->in_h) {
        free(pixels);
        return rt_error("%s: the image is %dx%d but model '%s' takes %dx%d images", path, w, h,
                        m->name, m->in_w, m->in_h);
    }
    if (colour && !*colour_noted) {
        rt_note("%s is in colour: predict makes every colour image grey (Rec. 709 weights)", path);
        *colour_noted = 1;
    }
    unsigned long sum = 0;
    for (int i = 0; i < w * h; i++)
        sum += pixels[i];
    unsigned long mean = sum / (unsigned long)(w * h);
    if (mean > LIGHT_MEAN)
        rt_note("%s is mostly light (mean %lu of 255): the model learnt light digits on black, as "
                "MNIST has them; if this is a dark digit on white, invert it (e.g. with ImageMagick: "
                "convert IN -negate OUT)", path, mean);
    int cls = cnn_classify(m, params, ws, x, pixels, probs);
    free(pixels);
    printf("%s: %d (p=%.4f)\n", path, cls, probs[cls]);
    for (int i = 0; i < m->classes; i++)
        printf("%s%.4f", i ? " " : "", probs[i]);
    putchar('\n');
    return 0;
}

static int cmd_predict(cli *c)
{
    const cnn_model *m = c->m;
    const char *load = NULL;
    const option_spec specs[] = {
        {"--load", &load, NULL, 0, 0, NULL, NULL},
        {NULL, NULL, NULL, 0, 0, NULL, NULL},
    };
    const char **images = calloc((size_t)c->argc, sizeof *images);
    int n_images = 0;
    if (!images) {
        rt_error("out of memory");
        return 1;
    }
    int r = parse_options(c, specs, images, &n_images);
    if (r == 0 && !load)
        r = usage_error(c, "predict needs --load CKPT");
    if (r == 0 && n_images == 0)
        r = usage_error(c, "predict needs at least one IMAGE");
    if (r != 0) {
        free(images);
        return r == 1 ? 0 : r;
    }
    if (m->in_c != 1) {
        free(images);
        rt_error("predict reads grey images, but model '%s' takes %d channels", m->name, m->in_c);
        return 1;
    }
    /* Under MPI there is nothing to split: process 0 alone classifies and prints. */
    if (cnn_process_rank() != 0) {
        free(images);
        return 0;
    }

    int status = 1;
    float *params = rt_malloc((cnn_param_floats(m) > 0 ? cnn_param_floats(m) : 1) * sizeof *params);
    float *ws = rt_malloc((m->workspace_floats > 0 ? m->workspace_floats : 1) * sizeof *ws);
    float *x = rt_malloc(m->in_size * sizeof *x);
    float *probs = rt_malloc((size_t)m->classes * sizeof *probs);
    if (params && ws && x && probs && cnn_checkpoint_load(load, m, params, NULL, NULL, NULL) == 0) {
        int colour_noted = 0;
        status = 0;
        for (int i = 0; i < n_images; i++)
            if (predict_one(m, params, ws, x, probs, images[i], &colour_noted) < 0)
                status = 1;
    }
    free(params);
    free(ws);
    free(x);
    free(probs);
    free(images);
    return status;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int cnn_program_main(const cnn_model *m, int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] ? base_name(argv[0]) : "";
    cli c = {m, *prog ? prog : m->name, argc, argv, 1};
    /* The runtime's messages carry the program's name, not cnnc's. */
    rt_set_program_name(c.prog);
    if (argc < 2)
        return usage_error(&c, "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        help(&c);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("%s (built by cnnc %s)\n", m->name, m->cnnc_version);
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return cmd_train(&c);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(&c);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(&c);
    if (strcmp(cmd, "bench") == 0) {
        /* Only `cnnc build --bench` links the hand-written layers and OpenBLAS it compares with. */
        fprintf(stderr, "%s: error: this program was built without the benchmark; rebuild it with "
                        "`cnnc build --bench`\n", c.prog);
        return 2;
    }
    static const char *const commands[] = {"train", "eval", "predict", "bench"};
    const char *hint = did_you_mean(cmd, commands, 4);
    if (hint)
        return usage_error(&c, "unknown command '%s'; did you mean '%s'?", cmd, hint);
    return usage_error(&c, "unknown command '%s'", cmd);
}
