/*
 * cmd/import.c - `cnnc import FILE.onnx [-o DIR] [--name NAME]`: an ONNX model in, a model
 * file DIR/NAME.cnn (with a default train block) and its weights DIR/NAME.safetensors out
 * (DIR: the current directory; NAME: the file's base name). See onnx/import.c.
 */
#include <string.h>

#include "cmd/driver.h"
#include "onnx/onnx.h"

int cmd_import(int argc, char **argv)
{
    const char *path = NULL, *dir = ".", *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("import", stdout);
            return 0;
        }
        int m = match_value_option(argc, argv, &i, "import", "-o", &dir);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "import", "--name", &name);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("import", "unknown option '%s' for import", argv[i]);
        if (path)
            return usage_error("import", "import takes one ONNX file, not '%s' and '%s'", path, argv[i]);
        path = argv[i];
    }
    if (!path)
        return usage_error("import", "import needs an ONNX file");
    if (dir[0] == '\0')
        return usage_error("import", "the output directory given with -o is empty");
    ImportResult *r = onnx_import_read(path, name);
    if (r == NULL)
        return 1;
    int rc = onnx_import_write(r, dir);
    import_result_free(r);
    return rc == 0 ? 0 : 1;
}
