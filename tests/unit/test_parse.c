/*
 * test_parse.c - parses model files with the front ends alone (no checker) and prints
 * each AST as S-expressions; diagnostics go to stderr. Exits 1 if any error was reported.
 * Used by tests/suite_10_syntax.sh:  test_parse FILE...
 */
#include "cnnc.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_parse FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        Ast *ast = parse_model_file(argv[i]);
        if (ast)
            ast_dump(ast, stdout);
        ast_free(ast);
    }
    return diag_error_count() ? 1 : 0;
}
