/*
 * difftest/model.h - the random models of the differential test, as the generator makes them
 * and as the checker reads them back: a network in file order whose layers may read any earlier
 * layer (from=, with=), its train block, and the two text forms of the model language (.cnn,
 * YAML) plus a one-line-per-layer description that the checker compares with the table the
 * generated code exports.
 *
 * Only the subset of the language that the generator writes is read back (tests/difftest/
 * model_io.c); the shrinker rewrites models through it, so every kept model is in that form.
 */
#ifndef DIFFTEST_MODEL_H
#define DIFFTEST_MODEL_H

#include <stdint.h>
#include <stdio.h>

#define DT_MAX_LAYERS 64
#define DT_NAME_LEN 65

/* The numbering of cnn_model.h's enum cnn_layer_kind and enum cnn_activation. */
enum dt_kind { DT_CONV2D, DT_MAXPOOL2D, DT_AVGPOOL2D, DT_FLATTEN, DT_DENSE, DT_DROPOUT, DT_RELU,
               DT_SIGMOID, DT_TANH, DT_SOFTMAX, DT_ADD, DT_CONCAT, DT_GLOBALAVGPOOL2D, DT_BATCHNORM,
               DT_KIND_COUNT };
enum dt_act { DT_ACT_NONE, DT_ACT_RELU, DT_ACT_SIGMOID, DT_ACT_TANH, DT_ACT_SOFTMAX };
enum dt_loss { DT_XENT, DT_MSE };
enum dt_opt { DT_SGD, DT_ADAM };

/* What a layer reads, in `from` and `with`: the layer with that index (0-based), or one of: */
#define DT_PREVIOUS (-2) /* from only: the layer before (the input for the first); no from= */
#define DT_INPUT (-1)    /* the model's input: from=input, with=input */

typedef struct dt_layer {
    int kind;            /* enum dt_kind */
    int units;           /* conv2d filters, dense units */
    int kh, kw, sh, sw;  /* conv2d kernel or pool window, strides */
    int same;            /* padding=same */
    int act;             /* enum dt_act: conv2d's and dense's */
    int use_bias;        /* conv2d, dense; batchnorm's center */
    int scale;           /* batchnorm's scale */
    double momentum, epsilon; /* batchnorm's (0.99 and 0.001 unless drawn otherwise) */
    double rate;         /* dropout */
    int has_seed;        /* dropout(seed=...) */
    long long seed;
    int from;            /* DT_PREVIOUS, DT_INPUT or an earlier layer's index */
    int with;            /* add and concat: DT_INPUT or an earlier layer's index */
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

/* An output's shape: a flat one is 1 x 1 x N with flat set. */
typedef struct dt_shape {
    int h, w, c, flat;
} dt_shape;

/* A layer with defaults in every field (a bias, strides 1, batchnorm's defaults, reading the
 * layer before). */
void dt_layer_init(dt_layer *l, int kind);
/* The index of the layer that layer i reads first (its input): DT_INPUT or a layer's. */
int dt_source(const dt_model *m, int i);
/* The layer's name: name=, or <kind>_<n> counting each kind from 1. */
void dt_layer_name(const dt_model *m, int i, char *buf, size_t size);
/* A layer's output shape from its input shapes (in2 for add and concat), as the contract
 * defines it; returns 0 when the layer does not take them (a window that does not fit, shapes
 * that add or concat cannot join, a dense on an image). */
int dt_layer_shape(const dt_layer *l, dt_shape in, dt_shape in2, dt_shape *out);
/* Every layer's output shape; returns 0 when a layer reads itself or a later one or a shape
 * does not fit. */
int dt_layer_shapes(const dt_model *m, dt_shape *shapes);
/* The same (shapes may be NULL), and 0 also when softmax is not last, a layer does not lead to
 * the output, or the model does not end in a flat output of 2..256 values (10 for mnist). */
int dt_model_shapes(const dt_model *m, dt_shape *shapes, int *classes);
int dt_model_valid(const dt_model *m, int *classes);
/* Multiply-accumulates per image of the whole network (pools, activations and the graph's
 * layers at one a value). */
double dt_model_macs(const dt_model *m);
/* Removes layer i; the layers that read it read what it read instead. */
void dt_drop_layer(dt_model *m, int i);
/* Removes every layer that does not lead to the output, rewiring as dt_drop_layer does. */
void dt_prune(dt_model *m);

/* The model in the language's .cnn form, in its YAML form, or as the checker's description. */
void dt_write_cnn(FILE *f, const dt_model *m);
void dt_write_yaml(FILE *f, const dt_model *m);
void dt_write_desc(FILE *f, const dt_model *m);
/* Reads a model in the .cnn form the writer uses; returns 0, or -1 with a message. */
int dt_read_cnn(const char *path, dt_model *m);
/* Reads the checker's description; returns 0, or -1 with a message. */
int dt_read_desc(FILE *f, dt_model *m);

#endif
