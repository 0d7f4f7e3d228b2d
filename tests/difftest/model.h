/*
 * difftest/model.h - the random models of the differential test, as the generator makes them
 * and as the checker reads them back: a sequential network, its train block, and the two
 * text forms of the model language (.cnn, YAML) plus a one-line-per-layer description that
 * the checker compares with the table the generated code exports.
 *
 * Only the subset of the language that the generator writes is read back (tests/difftest/
 * model_io.c); the shrinker rewrites models through it, so every kept model is in that form.
 */
#ifndef DIFFTEST_MODEL_H
#define DIFFTEST_MODEL_H

#include <stdint.h>
#include <stdio.h>

#define DT_MAX_LAYERS 32
#define DT_NAME_LEN 65

/* The numbering of cnn_model.h's enum cnn_layer_kind and enum cnn_activation. */
enum dt_kind { DT_CONV2D, DT_MAXPOOL2D, DT_AVGPOOL2D, DT_FLATTEN, DT_DENSE, DT_DROPOUT, DT_RELU,
               DT_SIGMOID, DT_TANH, DT_SOFTMAX, DT_KIND_COUNT };
enum dt_act { DT_ACT_NONE, DT_ACT_RELU, DT_ACT_SIGMOID, DT_ACT_TANH, DT_ACT_SOFTMAX };
enum dt_loss { DT_XENT, DT_MSE };
enum dt_opt { DT_SGD, DT_ADAM };

typedef struct dt_layer {
    int kind;            /* enum dt_kind */
    int units;           /* conv2d filters, dense units */
    int kh, kw, sh, sw;  /* conv2d kernel or pool window, strides */
    int same;            /* padding=same */
    int act;             /* enum dt_act: conv2d's and dense's */
    int use_bias;
    double rate;         /* dropout */
    int has_seed;        /* dropout(seed=...) */
    long long seed;
    char name[DT_NAME_LEN]; /* given with name=..., or empty */
    unsigned style;      /* how the writer spells it: which defaults it writes out */
} dt_layer;

typedef struct dt_model {
    char name[DT_NAME_LEN];
    int in_h, in_w, in_c;
    int nlayers;
    dt_layer layers[DT_MAX_LAYERS];
    int mnist;           /* dataset mnist rather than idx(...) */
    int loss;            /* enum dt_loss */
    int opt;             /* enum dt_opt */
    double lr, momentum, beta_1, beta_2, epsilon;
    int nesterov;
    int batch;
} dt_model;

/* A layer's output shape from its input shape, as the contract defines it; returns 0 when
 * the window does not fit. A flat shape is 1 x 1 x N with *flat set. */
int dt_layer_shape(const dt_layer *l, int h, int w, int c, int flat, int *oh, int *ow, int *oc,
                   int *oflat);
/* Every layer's shape in turn; returns 0 when a window does not fit or the model does not end
 * in a flat output of 2..256 values (10 for mnist). */
int dt_model_valid(const dt_model *m, int *classes);
/* Multiply-accumulates per image of the conv2d and dense layers. */
double dt_model_macs(const dt_model *m);

/* The model in the language's .cnn form, in its YAML form, or as the checker's description. */
void dt_write_cnn(FILE *f, const dt_model *m);
void dt_write_yaml(FILE *f, const dt_model *m);
void dt_write_desc(FILE *f, const dt_model *m);
/* Reads a model in the .cnn form the writer uses; returns 0, or -1 with a message. */
int dt_read_cnn(const char *path, dt_model *m);
/* Reads the checker's description; returns 0, or -1 with a message. */
int dt_read_desc(FILE *f, dt_model *m);

#endif
