/* Fuzz target: the YAML front end (libyaml events to the AST) and then the checker. */
#include "cnnc.h"
#include "fuzz_input.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size + 1);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    diag_reset();
    Ast *ast = parse_yaml_text("fuzz.yaml", text, size);
    Model *m = check_model(ast);
    model_free(m);
    ast_free(ast);
    diag_forget_sources();
    free(text);
    return 0;
}
