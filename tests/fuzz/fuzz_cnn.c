/* Fuzz target: the .cnn front end (flex scanner, bison parser) and then the checker, as
 * `cnnc check` runs them. The parser reads from memory, so no temporary file is needed. */
#include "cnnc.h"
#include "fuzz_input.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy: diagnostics quote the text, and the parser must not rely on a NUL
     * after the input (there is none in libFuzzer's buffer). */
    char *text = xmalloc(size + 1);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    diag_reset();
    Ast *ast = parse_cnn_text("fuzz.cnn", text, size);
    Model *m = check_model(ast);
    model_free(m);
    ast_free(ast);
    diag_forget_sources();
    free(text);
    return 0;
}
