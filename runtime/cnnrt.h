/*
 * cnnrt.h - the runtime library (libcnnrt.a): everything a generated model needs to be
 * trained, evaluated and used, with libc, libm, zlib and pthreads only.
 *
 * Error convention: a function that can fail prints one clear message to stderr naming the
 * file and what is wrong (`PROGRAM: error: FILE: ...`, with a `hint:` line where one helps)
 * and returns -1; 0 on success. Nothing here exits the process or aborts on bad input.
 */
#ifndef CNNRT_H
#define CNNRT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cnn_model.h"

/* ------------------------------------------------------------------ util.c */

/* Prints `PROGRAM: error: ` and the message to stderr; always returns -1 for
 * `return rt_error(...)`. PROGRAM is "cnnc" unless rt_set_program_name changed it (a built
 * program gives its own name). */
int rt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `PROGRAM: warning: ` and the message: something the user should know, the work goes on. */
void rt_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `PROGRAM: note: ` and the message: a remark about the input that may explain a result. */
void rt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_set_program_name(const char *name);
const char *rt_program_name(void);
void *rt_malloc(size_t n);           /* reports and returns NULL when out of memory */
void *rt_calloc(size_t n, size_t size);
double rt_now(void);                 /* monotonic seconds */

/* ------------------------------------------------------------------ rt_io.c */

/* Checks, before any work, that the file `path` that `option` names (e.g. "--save") can be
 * written: it is not a directory, its directory exists, and a file can be created there.
 * `example` is a file name that suits the option, for the message when path is a directory. */
int cnn_check_output(const char *option, const char *path, const char *example);

/* ------------------------------------------------------------------ collective.c */

/* The processes of a data-parallel run (`cnnc build --mpi`, runtime/mpi/): what the runtime
 * needs of them, as functions the MPI layer provides, so that libcnnrt.a never depends on
 * MPI. Every process calls each one at the same point with the same sizes. All sums add the
 * processes' values in rank order, so that repeated runs with the same process count give the
 * same bits. None is set in an ordinary program (one process). */
typedef struct cnn_collective {
    int rank, size;
    /* data[n] = the sum of every process's data[n] (the gradient). */
    void (*sum_floats)(float *data, size_t n);
    /* v[n] = the sum of every process's v[n] (losses, counts). */
    void (*sum_doubles)(double *v, size_t n);
    /* area[images][count]: each process holds the rows of its share of the images
     * (cnn_process_share); afterwards every process holds all of them. */
    void (*gather_images)(float *area, int images, int count);
} cnn_collective;

/* Sets the collective of this process (NULL, or one of a single process: none). */
void cnn_set_collective(const cnn_collective *c);
const cnn_collective *cnn_get_collective(void);
int cnn_process_rank(void);   /* 0 without a collective: the process that writes files */
/* The share of n images that process `rank` of `size` takes: contiguous, the first n % size
 * processes one image more, so that the split is the same on every run. */
void cnn_process_share(int n, int rank, int size, int *first, int *count);

/* ------------------------------------------------------------------ rng.c */

/* A small, fast, seedable generator (splitmix64 to seed, xoshiro128+ or similar to draw). */
typedef struct cnn_rng { uint64_t s[2]; } cnn_rng;
void cnn_rng_seed(cnn_rng *r, uint64_t seed);
uint64_t cnn_rng_next(cnn_rng *r);
double cnn_rng_uniform(cnn_rng *r);      /* [0, 1) */
double cnn_rng_normal(cnn_rng *r);       /* mean 0, sd 1 */

/* ------------------------------------------------------------------ init.c */

/* Fills params as the model's `init` says (Glorot uniform, He normal or uniform), biases zero. */
void cnn_init_params(const cnn_model *m, float *params, uint64_t seed);

/* ------------------------------------------------------------------ idx.c */

/* A labelled image set, kept as bytes (scaled to [0, 1] on the fly, batch by batch). */
typedef struct cnn_dataset {
    int n;                  /* images */
    int h, w;               /* pixels */
    unsigned char *images;  /* n * h * w */
    unsigned char *labels;  /* n */
} cnn_dataset;

/* Reads an IDX file of unsigned bytes, gzipped or not (told by its content, not its name):
 * images (magic 0x803, n x h x w) or labels (magic 0x801, n). Every header field is checked
 * against the file's real size, and a file of the other kind is refused by name. */
int cnn_idx_read_images(const char *path, unsigned char **pixels, int *n, int *h, int *w);
int cnn_idx_read_labels(const char *path, unsigned char **labels, int *n);
/* Both files of a set; checks that the counts agree and every label is < classes. */
int cnn_dataset_load(const char *images, const char *labels, int classes, cnn_dataset *out);
void cnn_dataset_free(cnn_dataset *d);

/* ------------------------------------------------------------------ data.c */

/* Finds and loads the training and test sets for a model: `data_dir` (--data) if given,
 * else the model's dataset: mnist from $CNNC_DATA_DIR, else from the data step's folder
 * (data/mnist or build/data/mnist) found from the program's own place, whatever the working
 * directory; fashion_mnist from Debian's dataset-fashion-mnist; idx(...) from the paths the
 * generated code records (resolved by cnnc against the model file's folder). Checks that the
 * images are in_h x in_w. */
int cnn_data_load(const cnn_model *m, const char *data_dir, cnn_dataset *train, cnn_dataset *test);
/* 8-bit pixels to floats in [0, 1] (v / 255): training, eval and predict share it. */
void cnn_scale_pixels(const unsigned char *src, float *dst, size_t n);

/* ------------------------------------------------------------------ safetensors.c */

/* What a training checkpoint holds besides the weights, for resuming. */
typedef struct cnn_train_state {
    float *opt_m, *opt_v;  /* the optimizer's state, num_params floats each; NULL where the
                            * optimizer keeps none (SGD: no v, and no m without momentum) */
    long step;             /* optimizer steps taken */
    int epoch;             /* epochs finished */
    double learning_rate;  /* the rate the steps were taken at (a schedule's starting rate) */
    /* reduce_on_plateau's and early stopping's state, where the model has them: the caller sets
     * has_plateau and has_stop; loading fills what the file holds and leaves the rest. */
    int has_plateau;
    double plateau_rate, plateau_best;
    int plateau_wait;
    int has_stop;
    double stop_best;
    int stop_wait, stop_best_epoch;
    /* early_stopping(restore_best=true): the best epoch's weights, cnn_param_floats floats, saved
     * as tensors `best.<name>`; NULL where there are none. Loading sets has_best when the file
     * held them. */
    float *best;
    int has_best;
    /* Saving, where the weights are restore_best's: the last epoch's weights, saved as tensors
     * `last.<name>`, so that --load goes on from them (and takes the saved weights as the best). */
    const float *last;
} cnn_train_state;

/* Writes params and, when st is not NULL, the training state: the optimizer's tensors that
 * are not NULL, and in the metadata the model's optimizer with its hyper-parameters (and
 * st->learning_rate), the step and the epoch. Atomic: a temporary file beside `path`, fsync,
 * rename. Refuses values that are NaN or infinite (a model that diverged), naming the tensor
 * and the element, and then leaves `path` as it was. */
int cnn_checkpoint_save_state(const char *path, const cnn_model *m, const float *params,
                              const cnn_train_state *st);
/* Reads a checkpoint into params; refuses, naming the first mismatching tensor, one whose
 * names or shapes do not fit the model, and one holding NaN or infinity, naming the tensor
 * and the element. When st is not NULL it also reads the epoch, and the optimizer's state and
 * step when the file holds all of it for the model's optimizer with the same
 * hyper-parameters (the learning rate may differ). State of another optimizer (SGD's velocity
 * is not Adam's first moment) is not taken: a warning says so, and the state starts afresh
 * (zero, step 0), as it does quietly for a file without any. On failure params and the state
 * are left as they were. */
int cnn_checkpoint_load_state(const char *path, const cnn_model *m, float *params,
                              cnn_train_state *st);
/* The same with the state as separate pointers, any of which may be NULL (all NULL: the
 * weights only); st->learning_rate is the model's. */
int cnn_checkpoint_save(const char *path, const cnn_model *m, const float *params,
                        const float *opt_m, const float *opt_v, long step);
int cnn_checkpoint_load(const char *path, const cnn_model *m, float *params,
                        float *opt_m, float *opt_v, long *step);

/* ------------------------------------------------------------------ history.c */

typedef struct cnn_history_row {
    int epoch;
    double loss, accuracy, val_loss, val_accuracy; /* val_* are NaN without validation */
    double seconds;
    int has_val;            /* the epoch was validated (its val_* may still be NaN) */
    double learning_rate;   /* the rate of the epoch's last step, where a schedule sets it */
    int has_lr;             /* learning_rate is set: the history has the column */
} cnn_history_row;

/* `epoch,loss,accuracy,val_loss,val_accuracy,seconds`; empty val_* cells where there is no
 * validation, `nan` for a value that is not a number. Rows with a learning rate (a schedule's)
 * add a learning_rate column after val_accuracy. */
int cnn_history_write(const char *path, const cnn_history_row *rows, int n);
/* Reads what cnn_history_write writes, and Keras' CSVLogger files (columns by name, epochs
 * from 0 made to count from 1); a malformed line is an error naming its line number. */
int cnn_history_read(const char *path, cnn_history_row **rows, int *n);

/* ------------------------------------------------------------------ pgm.c */

/* Reads a binary (P5) or text (P2) PGM into 8-bit grey, scaled to 0..255 whatever maxval. */
int cnn_pgm_read(const char *path, unsigned char **pixels, int *w, int *h);

/* ------------------------------------------------------------------ trainer.c, eval.c */

typedef struct cnn_train_options {
    const char *data_dir;   /* --data */
    int epochs;             /* the last epoch to train; 0: the model's */
    int limit;              /* --limit: first N training images, 0 = all */
    int shuffle;            /* -1: the model's */
    long long seed;         /* --seed, or the model's */
    int has_seed;
    int threads;            /* 0: every core */
    const char *load, *save, *history, *plot;
    int quiet;
    double learning_rate;   /* --learning-rate: overrides the model's; 0: the model's */
    int validation_limit;   /* --validation-limit: first N validation images, 0 = all */
    int batch_size;         /* --batch-size: 1 to the compiled batch; 0: the compiled batch */
    int save_weights_only;  /* --save-weights-only: no optimizer tensors in the checkpoint */
} cnn_train_options;

typedef struct cnn_eval_result {
    int n;
    double loss, accuracy;
    long confusion[64][64]; /* [true][predicted], classes <= 64 */
} cnn_eval_result;

/* trainer.c: trains as the model and options say, from --load's checkpoint when given (its
 * weights, its optimizer state when it is the model's optimizer's, and its epoch count: the
 * run goes on from the epoch after it up to `epochs`, appending to an existing --history).
 * Returns 0, and (when rows is not NULL) the whole history, the kept rows and this run's, in
 * a malloc'd *rows of *n_rows; or -1 after an error message (a loss or a gradient that became
 * NaN included; the checkpoint is then not saved. A history that cannot be written is
 * reported, training goes on and the checkpoint is saved, and the result is -1); or
 * CNN_TRAIN_INTERRUPTED when SIGINT stopped it at the end of a step (the checkpoint then saved
 * when asked, the history holding the finished epochs, *rows NULL). */
#define CNN_TRAIN_INTERRUPTED 1
int cnn_train(const cnn_model *m, const cnn_train_options *opt, cnn_history_row **rows, int *n_rows);
/* One image's prediction: its class and that class's output (a probability after a softmax). */
typedef struct cnn_prediction {
    int predicted;
    float probability;
} cnn_prediction;
/* eval.c: loss, accuracy and confusion matrix of params on d, forward in evaluation mode on
 * `threads` threads (0: every core); and, when preds is not NULL, each image's prediction in
 * preds[d->n]. */
int cnn_evaluate(const cnn_model *m, const float *params, const cnn_dataset *d, int threads,
                 cnn_eval_result *out, cnn_prediction *preds);
/* eval.c: the result as a readable table (rows true, columns predicted, per-class accuracy). */
void cnn_print_evaluation(FILE *f, const cnn_model *m, const cnn_eval_result *r);
/* eval.c: classifies one in_h x in_w grey image; ws is workspace_floats, x in_size floats;
 * fills probs[classes] with the outputs and returns the predicted class. */
int cnn_classify(const cnn_model *m, const float *params, float *ws, float *x,
                 const unsigned char *pixels, float *probs);

#endif
