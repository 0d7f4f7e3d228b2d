/*
 * trainer.c - the training loop a generated model plugs into: data, epochs, shuffled batches,
 * the optimizer step, validation, progress, history and checkpoints.
 *
 * Everything is allocated before the first epoch: the loop itself only copies a batch's
 * pixels (kept as bytes) into one float buffer, scaled by 1/255, and runs the team.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "augment.h"
#include "eval.h"
#include "progress.h"
#include "schedule.h"

/* What one call of cnn_train owns; freed in one place whatever happened. */
typedef struct train_run {
    const cnn_model *m;
    const cnn_train_options *opt;
    int epochs, shuffle;
    uint64_t seed;

    cnn_dataset all, test;  /* as loaded */
    cnn_dataset train, val; /* views into them, not owned */
    int has_val;

    float *params, *opt_m, *opt_v;
    long step;              /* optimizer steps taken, continued from a checkpoint */
    int done;               /* epochs finished, continued from a checkpoint */
    double learning_rate;   /* the starting rate: --learning-rate, or the model's */
    double rate;            /* the rate of the last step taken */
    cnn_plateau plateau;    /* reduce_on_plateau's state */
    cnn_early_stop stop;    /* early stopping's state */
    float *best;            /* [param floats]: the best epoch's weights, for restore_best */
    int has_best;
    cnn_augment augment;    /* the moves of the current step's images, when the model augments */
    int batch;              /* images per step: --batch-size, or the compiled batch */

    float *x;               /* [batch][in_size]: the current batch, scaled */
    unsigned char *y;       /* [batch] */
    int *order;             /* [train.n]: this epoch's image order */
    float *val_x;           /* [batch][in_size]: validation batches */
    cnn_team team;
    int team_ready;
    cnn_eval_result val_result;

    cnn_history_row *rows;  /* [epochs]: the history's earlier rows when resuming, then this run's */
    int n_rows;
    int stop_epoch, stop_step, stop_steps; /* where SIGINT stopped the run */
} train_run;

/* Set by SIGINT (Ctrl-C). The loop polls it between steps, so that a run stops at the end of
 * the step in progress with consistent parameters and optimizer state, which can then be saved
 * and resumed with --load. Only a flag is touched in the handler: nothing else is
 * async-signal-safe. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* A seed for a purpose and an index (the epoch, the step), so that the shuffles of different
 * epochs and the dropout of different steps are independent streams of the one run seed. */
static uint64_t derive_seed(uint64_t seed, uint64_t purpose, uint64_t index)
{
    cnn_rng r;
    cnn_rng_seed(&r, seed ^ (purpose * 0x9E3779B97F4A7C15ULL) ^ (index * 0xC2B2AE3D27D4EB4FULL));
    return cnn_rng_next(&r);
}

enum { SEED_SHUFFLE = 1, SEED_DROPOUT = 2 };

/* The training images of an epoch: in order, or a Fisher-Yates shuffle drawn from the run
 * seed and the epoch, the same on every run. */
static void order_epoch(train_run *r, int epoch)
{
    int n = r->train.n;
    for (int i = 0; i < n; i++)
        r->order[i] = i;
    if (!r->shuffle)
        return;
    cnn_rng rng;
    cnn_rng_seed(&rng, derive_seed(r->seed, SEED_SHUFFLE, (uint64_t)epoch));
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(cnn_rng_next(&rng) % (uint64_t)(i + 1));
        int t = r->order[i];
        r->order[i] = r->order[j];
        r->order[j] = t;
    }
}

/* Where the validation images come from: the test set, the tail of the training images
 * (held out before any shuffling, as Keras' validation_split does), or nowhere. */
static int choose_sets(train_run *r)
{
    const cnn_model *m = r->m;
    int n = r->all.n;
    if (r->opt->limit > n)
        rt_warning("--limit %d is more than the %d training images; training on all of them",
                   r->opt->limit, n);
    else if (r->opt->limit > 0)
        n = r->opt->limit;
    r->train = r->all;
    r->train.n = n;

    switch (m->train.validation) {
    case CNN_VALID_TEST:
        r->val = r->test;
        r->has_val = 1;
        break;
    case CNN_VALID_SPLIT: {
        int keep = (int)((double)n * (1.0 - m->train.split));
        if (keep < 1 || keep >= n)
            return rt_error("validation split(%g) of %d training images leaves %d to train on and "
                            "%d to validate on; both need at least one", m->train.split, n,
                            keep < 1 ? 0 : keep, n - (keep < 1 ? 0 : keep));
        r->train.n = keep;
        r->val = r->all;
        r->val.n = n - keep;
        r->val.images = r->all.images + (size_t)keep * m->in_size;
        r->val.labels = r->all.labels + keep;
        r->has_val = 1;
        break;
    }
    default:
        r->has_val = 0;
        break;
    }
    if (r->train.n < 1)
        return rt_error("there are no training images");
    int vlimit = r->opt->validation_limit;
    if (vlimit > 0 && !r->has_val)
        rt_warning("--validation-limit %d does nothing: model '%s' has no validation", vlimit, m->name);
    else if (vlimit > r->val.n)
        rt_warning("--validation-limit %d is more than the %d validation images; validating on all "
                   "of them", vlimit, r->val.n);
    else if (vlimit > 0)
        r->val.n = vlimit;
    return 0;
}

/* The parameters and the optimizer's state: SGD keeps its velocity in m when it has
 * momentum; Adam and AdamW keep both moments; RMSprop its mean square in v and a momentum in m
 * when it has one. restore_best keeps the best epoch's weights too. */
static int allocate_state(train_run *r)
{
    const cnn_model *m = r->m;
    size_t params = m->num_params > 0 ? m->num_params : 1;
    size_t all = cnn_param_floats(m) > 0 ? cnn_param_floats(m) : 1; /* with the state */
    int adam = m->train.optimizer == CNN_OPT_ADAM || m->train.optimizer == CNN_OPT_ADAMW;
    int has_m = adam || m->train.momentum != 0;
    int has_v = adam || m->train.optimizer == CNN_OPT_RMSPROP;
    if (m->train.early_stopping && m->train.restore_best && !(r->best = rt_malloc(all * sizeof(float))))
        return -1;

    r->params = rt_malloc(all * sizeof(float));
    if (has_m)
        r->opt_m = rt_calloc(params, sizeof(float));
    if (has_v)
        r->opt_v = rt_calloc(params, sizeof(float));
    r->rows = rt_calloc((size_t)r->epochs, sizeof *r->rows);
    if (!r->params || (has_m && !r->opt_m) || (has_v && !r->opt_v) || !r->rows)
        return -1;
    return 0;
}

static int allocate_batches(train_run *r)
{
    const cnn_model *m = r->m;
    size_t batch_floats = (size_t)m->batch * m->in_size;
    r->x = rt_malloc(batch_floats * sizeof(float));
    r->val_x = rt_malloc(batch_floats * sizeof(float));
    r->y = rt_malloc((size_t)m->batch);
    r->order = rt_malloc((size_t)r->train.n * sizeof(int));
    return r->x && r->val_x && r->y && r->order ? 0 : -1;
}

static void free_run(train_run *r)
{
    if (r->team_ready)
        cnn_team_free(&r->team);
    cnn_dataset_free(&r->all);
    cnn_dataset_free(&r->test);
    free(r->params);
    free(r->opt_m);
    free(r->opt_v);
    free(r->best);
    free(r->x);
    free(r->val_x);
    free(r->y);
    free(r->order);
    free(r->rows);
}

/* Reports that training diverged at a step, ending a progress line drawn in place first so
 * that the error starts a line. Nothing is saved after it: the parameters are not changed by
 * the step that diverged, but a model whose loss or gradient is not a number is not one to
 * keep. Returns -1. */
static int diverged(const train_run *r, const cnn_progress *progress, const char *what,
                    double value, int epoch, int step)
{
    if (progress->drawn)
        putchar('\n');
    fflush(stdout);
    return rt_error("%s became %s at epoch %d, step %d%s; try a smaller learning rate", what,
                    isnan(value) ? "NaN" : "infinite", epoch, step,
                    r->opt->save ? " (the checkpoint is not saved)" : "");
}

/* One epoch; fills the row, or returns -1 when the loss or the gradient stops being a
 * number. */
static int train_epoch(train_run *r, int epoch, cnn_history_row *row)
{
    const cnn_model *m = r->m;
    const size_t in = m->in_size;
    int n = r->train.n;
    const int batch = r->batch;
    int steps = n / batch + (n % batch != 0); /* the last, partial batch too */
    double loss_sum = 0;
    long correct = 0;
    cnn_progress progress;

    order_epoch(r, epoch);
    cnn_progress_begin(&progress, stdout, r->opt->quiet, epoch, r->epochs, steps);
    for (int s = 0; s < steps; s++) {
        int first = s * batch;
        int nb = n - first < batch ? n - first : batch;
        for (int b = 0; b < nb; b++) {
            int i = r->order[first + b];
            cnn_scale_pixels(r->train.images + (size_t)i * in, r->x + (size_t)b * in, in);
            r->y[b] = r->train.labels[i];
        }
        r->augment.epoch = epoch;
        r->augment.ids = r->order + first;
        int right;
        uint64_t key = derive_seed(r->seed, SEED_DROPOUT, (uint64_t)r->step);
        double loss = cnn_team_forward_backward(&r->team, r->params, r->x, r->y, nb, key, &right);
        /* Both are checked before the parameters change: the loss (NaN stays NaN through the
         * loss's clip), and the gradient, which can overflow while the loss is still finite. */
        if (!isfinite(loss))
            return diverged(r, &progress, "loss", loss, epoch, s + 1);
        double norm = cnn_team_reduce(&r->team);
        if (!isfinite(norm))
            return diverged(r, &progress, "gradient", norm, epoch, s + 1);
        /* The step's rate: the schedule's after the steps taken so far (Keras counts from 0),
         * or reduce_on_plateau's of this epoch. global_clipnorm scales the whole gradient
         * down to that norm when it is longer. */
        const cnn_train_config *tc = &m->train;
        r->rate = tc->schedule == CNN_SCHED_PLATEAU ? r->plateau.rate
                                                    : cnn_schedule_rate(tc, r->learning_rate, r->step);
        float grad_scale = tc->global_clipnorm > 0 && norm > tc->global_clipnorm
                               ? (float)(tc->global_clipnorm / norm) : 1.0f;
        r->step++;
        if (cnn_team_update(&r->team, r->params, r->opt_m, r->opt_v, r->step, r->rate, grad_scale) < 0)
            return -1;
        loss_sum += loss;
        correct += right;
        int seen = first + nb;
        cnn_progress_step(&progress, s + 1, loss_sum / seen, (double)correct / seen);
        /* After the last step the epoch is finished (validated, recorded) before stopping. */
        if (interrupted && s + 1 < steps) {
            if (progress.drawn)
                putchar('\n');
            fflush(stdout);
            r->stop_epoch = epoch;
            r->stop_step = s + 1;
            r->stop_steps = steps;
            return CNN_TRAIN_INTERRUPTED;
        }
    }

    row->epoch = epoch;
    row->loss = loss_sum / n;
    row->accuracy = (double)correct / n;
    row->val_loss = row->val_accuracy = NAN;
    row->has_val = r->has_val;
    if (r->has_val) {
        cnn_team_evaluate(&r->team, r->params, &r->val, r->val_x, &r->val_result, NULL);
        row->val_loss = r->val_result.loss;
        row->val_accuracy = r->val_result.accuracy;
    }
    row->seconds = rt_now() - progress.start;
    row->has_lr = m->train.schedule != CNN_SCHED_CONSTANT;
    row->learning_rate = row->has_lr ? r->rate : NAN;
    if (row->has_lr)
        progress.learning_rate = r->rate;
    cnn_progress_end(&progress, row->loss, row->accuracy, r->has_val, row->val_loss,
                     row->val_accuracy);
    return 0;
}

/* After epoch row->epoch: reduce_on_plateau and early stopping look at its val_loss. Returns 1
 * when training is to stop. */
static int after_epoch(train_run *r, const cnn_history_row *row)
{
    const cnn_model *m = r->m;
    const cnn_train_config *tc = &m->train;
    if (tc->schedule == CNN_SCHED_PLATEAU && cnn_plateau_epoch(&r->plateau, tc, row->val_loss) && !r->opt->quiet)
        printf("Epoch %d: ReduceLROnPlateau reducing learning rate to %.4e.\n", row->epoch, r->plateau.rate);
    if (!tc->early_stopping)
        return 0;
    int improved;
    int stop = cnn_early_stop_epoch(&r->stop, tc, row->epoch, row->val_loss, &improved);
    if (improved && r->best) {
        memcpy(r->best, r->params, cnn_param_floats(m) * sizeof(float));
        r->has_best = 1;
    }
    if (stop && row->epoch < r->epochs && !r->opt->quiet)
        printf("Epoch %d: early stopping (val_loss has not improved since epoch %d)\n", row->epoch,
               r->stop.best_epoch);
    fflush(stdout);
    return stop;
}

/* Resuming with --history: the rows of the epochs the checkpoint finished are kept from the
 * file, and this run's rows follow them (Keras' CSVLogger(append=True)). Rows of later epochs,
 * from a run that went further than the checkpoint, are dropped. No file: nothing to keep. */
static int keep_history(train_run *r)
{
    const char *path = r->opt->history;
    struct stat st;
    if (!path || r->done == 0 || stat(path, &st) != 0)
        return 0;
    cnn_history_row *old;
    int n;
    if (cnn_history_read(path, &old, &n) < 0)
        return rt_error("%s: cannot append to this history; move it away or give another --history",
                        path);
    for (int i = 0; i < n && old[i].epoch <= r->done && r->n_rows < r->epochs; i++)
        r->rows[r->n_rows++] = old[i];
    free(old);
    return 0;
}

static int prepare(train_run *r)
{
    const cnn_model *m = r->m;
    if (allocate_state(r) < 0)
        return -1;
    cnn_init_params(m, r->params, r->seed);
    cnn_plateau_start(&r->plateau, r->learning_rate);
    cnn_early_stop_start(&r->stop);
    r->rate = r->learning_rate;
    if (r->opt->load) {
        cnn_train_state st = {.opt_m = r->opt_m, .opt_v = r->opt_v, .learning_rate = r->learning_rate};
        st.has_plateau = m->train.schedule == CNN_SCHED_PLATEAU;
        st.plateau_rate = r->plateau.rate;
        st.plateau_best = r->plateau.best;
        st.has_stop = m->train.early_stopping;
        st.stop_best = r->stop.best;
        st.best = r->best;
        if (cnn_checkpoint_load_state(r->opt->load, m, r->params, &st) < 0)
            return -1;
        r->step = st.step;
        r->done = st.epoch;
        /* Where the schedule and early stopping left off. --learning-rate restarts a plateau's
         * rate from the rate it gives. */
        if (st.has_plateau && r->opt->learning_rate <= 0) {
            r->plateau.rate = st.plateau_rate;
            r->plateau.best = st.plateau_best;
            r->plateau.wait = st.plateau_wait;
        }
        if (st.has_stop) {
            r->stop.best = st.stop_best;
            r->stop.wait = st.stop_wait;
            r->stop.best_epoch = st.stop_best_epoch;
        }
        r->has_best = st.has_best;
        /* As Keras' fit(initial_epoch=...): the epoch count goes on, up to `epochs`. */
        if (r->done >= r->epochs)
            return rt_error("%s: has trained %d epochs already, and training stops after epoch %d; "
                            "pass --epochs N with N above %d to train on", r->opt->load, r->done,
                            r->epochs, r->done);
    }
    if (keep_history(r) < 0)
        return -1;
    if (cnn_data_load(m, r->opt->data_dir, &r->all, &r->test) < 0)
        return -1;
    if ((size_t)r->all.h * (size_t)r->all.w != m->in_size)
        return rt_error("the training images are %dx%d but model '%s' takes %dx%dx%d",
                        r->all.h, r->all.w, m->name, m->in_h, m->in_w, m->in_c);
    if (choose_sets(r) < 0 || allocate_batches(r) < 0)
        return -1;
    int threads = cnn_thread_count(m, r->opt->threads);
    if (cnn_team_init(&r->team, m, threads < r->batch ? threads : r->batch, 1) < 0)
        return -1;
    r->team_ready = 1;
    if (m->train.augment) {
        r->augment = (cnn_augment){.shift = m->train.shift, .rotation = m->train.rotation, .seed = r->seed};
        if (cnn_team_set_augment(&r->team, &r->augment) < 0)
            return -1;
    }
    return 0;
}

int cnn_train(const cnn_model *m, const cnn_train_options *opt, cnn_history_row **rows, int *n_rows)
{
    train_run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.opt = opt;
    r.epochs = opt->epochs > 0 ? opt->epochs : m->train.epochs;
    r.shuffle = opt->shuffle >= 0 ? opt->shuffle : m->train.shuffle;
    r.seed = (uint64_t)(opt->has_seed ? opt->seed : m->train.seed);
    r.learning_rate = opt->learning_rate > 0 ? opt->learning_rate : m->train.learning_rate;
    r.batch = opt->batch_size > 0 && opt->batch_size < m->batch ? opt->batch_size : m->batch;
    if (rows) {
        *rows = NULL;
        *n_rows = 0;
    }
    if (r.epochs < 1) {
        rt_error("the number of epochs must be at least 1, not %d", r.epochs);
        return -1;
    }

    /* SA_RESETHAND: a second Ctrl-C, while the first is being honoured, ends the program. */
    struct sigaction on_int, old_int;
    memset(&on_int, 0, sizeof on_int);
    on_int.sa_handler = on_sigint;
    sigemptyset(&on_int.sa_mask);
    on_int.sa_flags = SA_RESTART | SA_RESETHAND;
    interrupted = 0;
    sigaction(SIGINT, &on_int, &old_int);

    int status = prepare(&r);
    int history_failed = 0;
    for (int e = r.done + 1; status == 0 && e <= r.epochs; e++) {
        if (interrupted) {
            r.stop_epoch = e;
            status = CNN_TRAIN_INTERRUPTED;
            break;
        }
        status = train_epoch(&r, e, &r.rows[r.n_rows]);
        if (status != 0)
            break;
        r.n_rows++;
        r.done = e;
        int stop = after_epoch(&r, &r.rows[r.n_rows - 1]);
        /* Written after every epoch, so that an interrupted run keeps what it did. A history
         * that cannot be written is reported once, and training goes on to its checkpoint. */
        if (opt->history && !history_failed && cnn_history_write(opt->history, r.rows, r.n_rows) < 0) {
            history_failed = 1;
            fprintf(stderr, "%s: training goes on without the history%s\n", rt_program_name(),
                    opt->save ? "; the checkpoint will still be saved" : "");
        }
        if (stop)
            break;
    }
    /* As the contract says, the run ends with the best epoch's weights, stopped early or not;
     * the last epoch's go into the checkpoint too, for a run that --load continues. */
    const float *last = NULL;
    if (status == 0 && r.has_best && m->train.restore_best && r.stop.best_epoch != r.done) {
        float *t = r.params;
        r.params = r.best;
        r.best = t;
        last = r.best;
        if (!opt->quiet)
            printf("Restoring model weights from the end of the best epoch: %d.\n", r.stop.best_epoch);
    }
    if (status == CNN_TRAIN_INTERRUPTED) {
        if (r.stop_step > 0)
            fprintf(stderr, "%s: training interrupted at epoch %d of %d, step %d of %d (%ld optimizer steps in all)",
                    rt_program_name(), r.stop_epoch, r.epochs, r.stop_step, r.stop_steps, r.step);
        else
            fprintf(stderr, "%s: training interrupted before epoch %d of %d (%ld optimizer steps in all)",
                    rt_program_name(), r.stop_epoch, r.epochs, r.step);
        if (opt->save)
            fprintf(stderr, "; saving the checkpoint %s\n", opt->save);
        else
            fputs("; nothing saved (no --save)\n", stderr);
    }
    /* The checkpoint records the epochs finished: a run stopped within an epoch resumes at
     * that epoch's start, with the weights and the optimizer as they were when it stopped. */
    cnn_train_state st = {.opt_m = r.opt_m, .opt_v = r.opt_v, .step = r.step, .epoch = r.done,
                          .learning_rate = r.learning_rate};
    st.has_plateau = m->train.schedule == CNN_SCHED_PLATEAU;
    st.plateau_rate = r.plateau.rate;
    st.plateau_best = r.plateau.best;
    st.plateau_wait = r.plateau.wait;
    st.has_stop = m->train.early_stopping;
    st.stop_best = r.stop.best;
    st.stop_wait = r.stop.wait;
    st.stop_best_epoch = r.stop.best_epoch;
    /* The best weights go along, so that a resumed run still knows them: as the weights
     * themselves when they were restored, the last ones beside them. */
    st.best = r.has_best && !last ? r.best : NULL;
    st.last = last;
    if (opt->save_weights_only) {
        /* The epoch and the optimizer's name are still recorded; no tensor but the weights. */
        st.opt_m = st.opt_v = NULL;
        st.best = NULL;
        st.last = NULL;
    }
    if ((status == 0 || status == CNN_TRAIN_INTERRUPTED) && opt->save &&
        cnn_checkpoint_save_state(opt->save, m, r.params, &st) < 0)
        status = -1;
    if (status == 0 && history_failed)
        status = -1;
    sigaction(SIGINT, &old_int, NULL);
    if (status == 0 && rows) {
        *rows = r.rows;
        *n_rows = r.n_rows;
        r.rows = NULL;
    }
    free_run(&r);
    return status;
}
