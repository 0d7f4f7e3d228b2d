/*
 * emit_cmd.c - `cnnc emit MODEL [-o DIR]`: checks a model file and writes DIR/<name>.h and
 * DIR/<name>.c (DIR defaults to generated/).
 */
#include <string.h>

#include "driver.h"

int cmd_emit(int argc, char **argv)
{
    const char *path = NULL, *dir = "generated";
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("emit", stdout);
            return 0;
        }
        int m = match_value_option(argc, argv, &i, "emit", "-o", &dir);
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
    LoadedModel lm = load_model(path);
    int status = 1;
    if (lm.model)
        status = emit_model(lm.model, dir) == 0 ? 0 : 1;
    loaded_model_free(&lm);
    return status;
}
