/*
 * test_yaml.c - unit tests of the YAML front end (compiler/yaml_reader.c), run by
 * tests/suite_20_yaml.sh.
 *
 *   test_yaml dump FILE...   prints the AST of each model file (either front end); exits 1
 *                            if any had errors. The suite compares a .cnn and its YAML twin.
 *   test_yaml self           checks the values the reader builds, then feeds it every prefix
 *                            and many corrupted copies of a model to show it never crashes.
 */
#include <stdlib.h>
#include <string.h>

#include "cnnc.h"

static int failures, checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stdout, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

static const char seed_yaml[] =
    "model: mnist_cnn\n"
    "input: [28, 28, 1]\n"
    "layers:\n"
    "  - conv2d: {filters: 32, kernel: [3, 5], activation: relu, use_bias: false}\n"
    "  - maxpool2d:\n"
    "      pool: 2\n"
    "  - flatten\n"
    "  - dropout: {rate: 2.5e-1, name: \"drop\"}\n"
    "  - dense: {units: 10, activation: softmax}\n"
    "train:\n"
    "  optimizer: {sgd: {learning_rate: 0.05, momentum: 0.9, nesterov: true}}\n"
    "  validation: {split: 0.1}\n"
    "  dataset: {idx: [\"a.gz\", 'b.gz', \"c.gz\", \"d.gz\"]}\n"
    "  epochs: 5\n"
    "  seed: -3\n";

/* Parses text held in a fresh heap copy, so that AddressSanitizer sees any read past it. */
static Ast *parse(const char *text, size_t len, int *errors)
{
    int before = diag_error_count();
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    Ast *ast = parse_yaml_text("<test>", copy, len);
    *errors = diag_error_count() - before;
    /* diag keeps a pointer to the text for the rest of the run. */
    return ast;
}

static const Arg *find_arg(const Arg *args, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (args[i].name && !strcmp(args[i].name, name))
            return &args[i];
    return NULL;
}

static const AstSetting *find_setting(const Ast *ast, const char *name)
{
    for (int i = 0; i < ast->nsettings; i++)
        if (!strcmp(ast->settings[i].name, name))
            return &ast->settings[i];
    return NULL;
}

static void test_values(void)
{
    int errors;
    Ast *ast = parse(seed_yaml, sizeof seed_yaml - 1, &errors);
    CHECK(errors == 0);
    CHECK(ast->has_model && !strcmp(ast->model_name, "mnist_cnn"));
    CHECK(ast->model_loc.line == 1 && ast->model_loc.col == 8 && ast->model_loc.len == 9);
    CHECK(ast->has_input && ast->input.kind == VAL_SHAPE && ast->input.ndims == 3);
    CHECK(ast->input.dims[0] == 28 && ast->input.dims[1] == 28 && ast->input.dims[2] == 1);
    CHECK(ast->nlayers == 5);
    if (ast->nlayers != 5)
        return;

    const AstLayer *conv = &ast->layers[0];
    CHECK(!strcmp(conv->kind, "conv2d") && conv->loc.line == 4 && conv->loc.col == 5 &&
          conv->loc.len == 6);
    const Arg *kernel = find_arg(conv->args, conv->nargs, "kernel");
    CHECK(kernel && kernel->value.kind == VAL_SHAPE && kernel->value.ndims == 2);
    CHECK(kernel && kernel->value.dims[0] == 3 && kernel->value.dims[1] == 5);
    const Arg *filters = find_arg(conv->args, conv->nargs, "filters");
    CHECK(filters && filters->value.kind == VAL_INT && filters->value.i == 32 &&
          filters->value.r == 32.0);
    CHECK(filters && filters->name_loc.line == 4 && filters->name_loc.col == 14);
    const Arg *act = find_arg(conv->args, conv->nargs, "activation");
    CHECK(act && act->value.kind == VAL_IDENT && !strcmp(act->value.s, "relu"));
    const Arg *bias = find_arg(conv->args, conv->nargs, "use_bias");
    CHECK(bias && bias->value.kind == VAL_BOOL && bias->value.i == 0);

    CHECK(!strcmp(ast->layers[1].kind, "maxpool2d") && ast->layers[1].nargs == 1);
    CHECK(!strcmp(ast->layers[2].kind, "flatten") && ast->layers[2].nargs == 0);
    const Arg *rate = find_arg(ast->layers[3].args, ast->layers[3].nargs, "rate");
    CHECK(rate && rate->value.kind == VAL_REAL && rate->value.r == 0.25);
    const Arg *name = find_arg(ast->layers[3].args, ast->layers[3].nargs, "name");
    CHECK(name && name->value.kind == VAL_STRING && !strcmp(name->value.s, "drop"));

    CHECK(ast->has_train && ast->train_loc.line == 10);
    const AstSetting *opt = find_setting(ast, "optimizer");
    CHECK(opt && opt->value.kind == VAL_CALL && !strcmp(opt->value.s, "sgd") &&
          opt->value.nitems == 3);
    if (opt && opt->value.nitems == 3) {
        const Arg *nesterov = find_arg(opt->value.items, 3, "nesterov");
        CHECK(nesterov && nesterov->value.kind == VAL_BOOL && nesterov->value.i == 1);
    }
    const AstSetting *val = find_setting(ast, "validation");
    CHECK(val && val->value.kind == VAL_CALL && val->value.nitems == 1 &&
          !val->value.items[0].name);
    CHECK(val && val->value.nitems == 1 && val->value.items[0].value.kind == VAL_REAL);
    const AstSetting *data = find_setting(ast, "dataset");
    CHECK(data && data->value.kind == VAL_CALL && data->value.nitems == 4);
    if (data && data->value.nitems == 4)
        CHECK(data->value.items[1].value.kind == VAL_STRING &&
              !strcmp(data->value.items[1].value.s, "b.gz"));
    const AstSetting *seed = find_setting(ast, "seed");
    CHECK(seed && seed->value.kind == VAL_INT && seed->value.i == -3);
    ast_free(ast);
}

/* A few texts and the number of errors each must give. */
static void test_errors(void)
{
    static const struct {
        const char *text;
        int errors;
    } cases[] = {
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\n", 0},
        {"model: m\ninput: 28x28x1\nlayers: [flatten]\ntrain:\n", 0},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\nmodel: n\n", 1},
        {"model: m\ninput: [28, 28, 1]\nlayers: []\n", 1},
        {"model: m\ninput: [28, 28, 1]\n", 1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain: {epochs: 99999999999999999999}\n",
         1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain: {learning_rate: 1e999}\n", 1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain: {optimizer: {adam: {}, sgd: "
         "{}}}\n",
         1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [{dense: {units: 10}, activation: relu}]\n", 1},
        {"model: m\ninput: [1, 2, 3, 4, 5]\nlayers: [flatten]\n", 1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain: {seed: 4 2}\n", 1},
        {"model: !!str m\ninput: [28, 28, 1]\nlayers: [flatten]\n", 1},
        {"model: m\ninput: [28, 28, 1]\nlayers: [flatten]\ntrain: {dataset: \"a\\0b\"}\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int errors;
        ast_free(parse(cases[i].text, strlen(cases[i].text), &errors));
        if (errors != cases[i].errors)
            printf("case %zu: %d errors, expected %d\n", i, errors, cases[i].errors);
        CHECK(errors == cases[i].errors);
    }
    /* NUL bytes inside the text, which no C string could hold. */
    static const char nul[] = "model: m\ninput: [28, 28, 1]\0\nlayers: [flatten]\n";
    int errors;
    ast_free(parse(nul, sizeof nul - 1, &errors));
    CHECK(errors == 1);
}

/* Every prefix of a model, and copies with bytes replaced, must parse without a crash. */
static void test_robustness(void)
{
    size_t n = sizeof seed_yaml - 1;
    for (size_t len = 0; len <= n; len++) {
        int errors;
        ast_free(parse(seed_yaml, len, &errors));
    }
    static const char replacements[] = "[]{}:,-&*!|>'\"#\t\n \0x9";
    unsigned long long state = 42;
    char buf[sizeof seed_yaml];
    for (int round = 0; round < 2000; round++) {
        memcpy(buf, seed_yaml, n);
        for (int k = 0; k < 3; k++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(state >> 33) % n;
            buf[at] = replacements[(state >> 20) % (sizeof replacements - 1)];
        }
        int errors;
        ast_free(parse(buf, n, &errors));
    }
    checks++;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "dump")) {
        int status = 0;
        for (int i = 2; i < argc; i++) {
            int before = diag_error_count();
            Ast *ast = parse_model_file(argv[i]);
            if (!ast || diag_error_count() > before)
                status = 1;
            if (ast)
                ast_dump(ast, stdout);
            ast_free(ast);
        }
        return status;
    }
    if (argc == 2 && !strcmp(argv[1], "self")) {
        test_values();
        test_errors();
        test_robustness();
        printf("%d checks, %d failed\n", checks, failures);
        return failures != 0;
    }
    fprintf(stderr, "usage: test_yaml dump FILE... | test_yaml self\n");
    return 2;
}
