/*
 * cmd/emit.c - `cnnc emit MODEL [-o DIR]`: checks a model file and writes DIR/<name>.h and
 * DIR/<name>.c (DIR defaults to generated/).
 *
 * `cnnc emit MODEL --inference-only --weights CKPT [--logits] [-o DIR]` writes the predictor
 * DIR/<name>_infer.h and DIR/<name>_infer.c instead, with the checkpoint's weights inlined.
 *
 * `--target NAME` chooses what the C is written for; emit's default is `generic`, plain C99
 * that any compiler takes, so that emitted files do not depend on the machine that wrote them.
 */
#include <string.h>

#include "cmd/driver.h"
#include "emit/infer.h"

int cmd_emit(int argc, char **argv)
{
    const char *path = NULL, *dir = "generated", *weights = NULL, *target_arg = NULL;
    bool inference = false, logits = false;
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("emit", stdout);
            return 0;
        }
        if (strcmp(argv[i], "--inference-only") == 0) {
            inference = true;
            continue;
        }
        if (strcmp(argv[i], "--logits") == 0) {
            logits = true;
            continue;
        }
        int m = match_value_option(argc, argv, &i, "emit", "-o", &dir);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "emit", "--weights", &weights);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "emit", "--target", &target_arg);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("emit", "unknown option '%s' for emit", argv[i]);
        if (path)
            return usage_error("emit", "emit takes one model file, not '%s' and '%s'", path, argv[i]);
        path = argv[i];
    }
    if (!path)
        return usage_error("emit", "emit needs a model file");
    if (dir[0] == '\0')
        return usage_error("emit", "the output directory given with -o is empty");
    if (inference && weights == NULL)
        return usage_error("emit", "--inference-only needs the weights: --weights CKPT");
    if (!inference && (weights != NULL || logits))
        return usage_error("emit", "%s only goes with --inference-only", weights != NULL ? "--weights" : "--logits");
    if (weights != NULL && weights[0] == '\0')
        return usage_error("emit", "the checkpoint given with --weights is empty");
    const Target *target = target_generic();
    if (target_arg != NULL && !(target = find_target("emit", target_arg)))
        return 2;
    LoadedModel lm = load_model(path);
    int status = 1;
    if (lm.model) {
        InferOptions opt = {.target = target, .weights = weights, .logits = logits};
        int rc = inference ? emit_inference(lm.model, dir, &opt) : emit_model(lm.model, target, dir);
        status = rc == 0 ? 0 : 1;
    }
    loaded_model_free(&lm);
    return status;
}
