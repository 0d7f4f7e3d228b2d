/*
 * onnx/onnx.h - `cnnc import` and `cnnc export` (contract section 7), for cmd/import.c and
 * cmd/export.c. libcnnonnx.a: linked into cnnc only, never into the runtime or the programs
 * cnnc builds (onnx_writer.c alone is in libcnnc.a). Nothing here exposes protobuf-c.
 *
 *   proto.c          ONNX files as protobuf-c messages: reading (nesting checked first), writing
 *   import_graph.c   the graph as the importer sees it: tensors by name, initializers and
 *                    constants, attributes, the nodes in topological order (cycles refused)
 *   import_ops.c     one handler per ONNX operation: each turns its node into cnnc layers
 *   import.c         the handlers run over the graph; the .cnn text, the weights, the writing
 *   onnx_writer.c    the protobuf-free graph writer the layers' onnx_export use
 *                    (onnx/onnx_writer.h; in libcnnc.a with the layers)
 *   writer_proto.c   that graph as a protobuf ModelProto, written to a file
 *   export.c         the frame: the input, each layer's onnx_export (with Transposes between
 *                    layouts), the output, the file
 *   tensors.c        the checkpoint's tensors; train_text.c the train block as metadata
 */
#ifndef CNNC_ONNX_H
#define CNNC_ONNX_H

#include "cnnc.h"

/* The opsets `cnnc export --opset` accepts: 13, the default, up to the newest that Debian's
 * python3-onnx 1.12 (the test oracle) knows. */
#define ONNX_OPSET_DEFAULT 13
#define ONNX_OPSET_MAX 17

typedef struct ImportOptions {
    const char *dir;  /* where NAME.cnn and NAME.safetensors go */
    const char *name; /* the model's name; NULL: from the file's name */
} ImportOptions;

/* What an import makes, before anything is written. */
typedef struct ImportResult {
    char *name;         /* the model's name */
    char *cnn_text;     /* the model file */
    char *shown_name;   /* "NAME.cnn": the file name its diagnostics give */
    Ast *ast;           /* cnn_text, parsed */
    Model *model;       /* ast, checked */
    float *params;      /* the weights, then the state, in checkpoint order: total_params + total_state floats */
} ImportResult;

/* Reads `path` and converts it: NULL after reporting errors (every node that cnnc cannot
 * express is named). Writes nothing. */
ImportResult *onnx_import_read(const char *path, const char *name);
void import_result_free(ImportResult *r);
/* Writes DIR/NAME.cnn and DIR/NAME.safetensors: both, or (after an error) neither. */
int onnx_import_write(const ImportResult *r, const char *dir);

typedef struct ExportOptions {
    const char *weights; /* the checkpoint */
    const char *output;  /* the .onnx file */
    int opset;           /* ONNX_OPSET_DEFAULT .. ONNX_OPSET_MAX */
    bool logits;         /* leave out the last softmax; the output is then named `logits` */
} ExportOptions;

/* Reads the checkpoint (which must fit the model) and writes the forward pass as ONNX.
 * Returns 0, or -1 after reporting; nothing is left under the output's name on failure. */
int onnx_export(const Model *m, const ExportOptions *opt);

#endif
