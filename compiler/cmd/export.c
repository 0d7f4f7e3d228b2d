/*
 * cmd/export.c - `cnnc export MODEL --weights CKPT [-o FILE.onnx] [--opset N] [--logits]`:
 * the model's forward pass with the checkpoint's weights as an ONNX model (FILE: <name>.onnx;
 * opset 13 by default). See onnx/export.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/driver.h"
#include "onnx/onnx.h"

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *output = NULL, *weights = NULL, *opset = NULL;
    bool logits = false;
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("export", stdout);
            return 0;
        }
        if (strcmp(argv[i], "--logits") == 0) {
            logits = true;
            continue;
        }
        int m = match_value_option(argc, argv, &i, "export", "-o", &output);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "export", "--weights", &weights);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "export", "--opset", &opset);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("export", "unknown option '%s' for export", argv[i]);
        if (path)
            return usage_error("export", "export takes one model file, not '%s' and '%s'", path, argv[i]);
        path = argv[i];
    }
    if (!path)
        return usage_error("export", "export needs a model file");
    if (weights == NULL || weights[0] == '\0')
        return usage_error("export", "export needs the weights: --weights CKPT");
    if (output != NULL && output[0] == '\0')
        return usage_error("export", "the file given with -o is empty");
    int version = ONNX_OPSET_DEFAULT;
    if (opset != NULL) {
        char *end;
        long v = strtol(opset, &end, 10);
        if (end == opset || *end != '\0' || v < ONNX_OPSET_DEFAULT || v > ONNX_OPSET_MAX)
            return usage_error("export", "--opset must be a number from %d to %d, not '%s'", ONNX_OPSET_DEFAULT,
                               ONNX_OPSET_MAX, opset);
        version = (int)v;
    }
    LoadedModel lm = load_model(path);
    int status = 1;
    if (lm.model) {
        char *file = NULL;
        if (output == NULL) {
            file = malloc(strlen(lm.model->name) + 6);
            if (file == NULL)
                unreachable();
            sprintf(file, "%s.onnx", lm.model->name);
        }
        ExportOptions opt = {.weights = weights, .output = output ? output : file, .opset = version, .logits = logits};
        status = onnx_export(lm.model, &opt) == 0 ? 0 : 1;
        free(file);
    }
    loaded_model_free(&lm);
    return status;
}
