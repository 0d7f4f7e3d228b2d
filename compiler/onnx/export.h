/*
 * onnx/export.h - what export.c and import.c share besides the protobuf bindings: the
 * checkpoint's tensor table, and the train block as text (the metadata `cnnc.train`).
 *
 * Each layer kind's own export is its LayerOps' onnx_export (compiler/layers/<kind>.c),
 * written with the protobuf-free onnx/onnx_writer.h.
 */
#ifndef CNNC_ONNX_EXPORT_H
#define CNNC_ONNX_EXPORT_H

#include "cnn_model.h"
#include "onnx/onnx_writer.h"

/* train_text.c: the train block's settings as model-file text, every one resolved (the body
 * of `train { ... }`, malloc'ed); and whether a text from a file is plain settings that may
 * go inside a train block. */
char *train_block_text(const TrainConfig *t);
bool train_text_is_plain(const char *s);

/* tensors.c: a checked model's parameters in checkpoint order, as emit/model.c's table has
 * them (names malloc'ed): the *trainable tensors first, then the state. And the cnn_model
 * cnn_checkpoint_load and _save take for them (its floats: total_params + total_state). */
cnn_tensor *model_tensor_table(const Model *m, int *count, int *trainable);
cnn_model model_tensor_model(const Model *m, const cnn_tensor *t, int count, int trainable);
void model_tensor_table_free(cnn_tensor *t, int count);

#endif
