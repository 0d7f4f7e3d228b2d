/*
  * cmd/driver.c - the command line: `cnnc COMMAND ARGS...`, dispatched through the table of
 * commands below (check and summary live here; the others in their own files, see driver.h),
 * and `cnnc --version | --help`.
 *
 * Exit status: 0 success, 1 errors in the input, 2 a usage error. Standard output is
 * written only when a command succeeds, and then in full.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/driver.h"

/* One row per command; `cnnc --help` lists them in this order. */
static const Command commands[] = {
    {"check", cmd_check, "MODEL...",
     "parse and check each model file; print nothing and exit 0 when all are correct"},
    {"summary", cmd_summary, "MODEL [--format table|yaml|json] [--target NAME]",
     "print each layer's output shape, parameters, multiply-accumulates and the memory of a build\n"
     "      for the target (NAME: this machine's, as for build)"},
    {"emit", cmd_emit, "MODEL [-o DIR] [--target NAME] [--inference-only --weights CKPT [--logits]]",
     "write DIR/<name>.h and DIR/<name>.c, the model as C (DIR: generated/) for the target\n"
     "      (NAME: generic, x86-64, avx2, avx512 or neon; generic by default); with\n"
     "      --inference-only, DIR/<name>_infer.[ch]: a predictor with the weights inlined"},
    {"build", cmd_build, "MODEL [-o PROGRAM] [--target NAME] [--bench | --mpi]",
     "emit, then compile with the runtime into a program that trains (PROGRAM: build/<name>;\n"
     "      NAME: this machine's target by default); --bench adds the layer benchmark;\n"
     "      --mpi builds with mpicc a program that trains data-parallel under mpirun"},
    {"plot", cmd_plot, "HISTORY.csv [-o curves.png] [--model NAME]",
     "draw accuracy and loss against epochs from a training history (.png, .svg or .pdf)"},
    {"export", cmd_export, "MODEL --weights CKPT [-o FILE.onnx] [--opset N] [--logits]",
     "write the forward pass with the checkpoint's weights as ONNX (FILE: <name>.onnx; opset 13\n"
     "      by default, up to 17); --logits leaves out the last softmax"},
    {"import", cmd_import, "FILE.onnx [-o DIR] [--name NAME]",
     "read an ONNX model; write DIR/NAME.cnn (with a default train block) and its weights\n"
     "      DIR/NAME.safetensors (DIR: the current directory; NAME: the file's base name)"},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static const Command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_usage(FILE *out)
{
    fputs("usage: cnnc COMMAND ARGS...\n"
          "       cnnc --version | --help\n"
          "\n"
          "commands:\n",
          out);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  cnnc %s %s\n      %s\n", commands[i].name, commands[i].usage,
                commands[i].help);
    fputs("\nA MODEL is a .cnn file, or its YAML form (.yaml, .yml).\n", out);
}

void print_command_usage(const char *command, FILE *out)
{
    const Command *c = find_command(command);
    if (!c)
        unreachable();
    fprintf(out, "usage: cnnc %s %s\n  %s\n", c->name, c->usage, c->help);
}

int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_plain("%s", msg);
    print_command_usage(command, stderr);
    return 2;
}

bool is_help_option(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int match_value_option(int argc, char **argv, int *i, const char *command, const char *opt,
                       const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(opt);
    if (strncmp(arg, opt, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        usage_error(command, "option '%s' needs a value", opt);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int write_stdout(const char *data, size_t len)
{
    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
        error_plain("cannot write the output: %s", strerror(errno));
        return 1;
    }
    return 0;
}

LoadedModel load_model(const char *path)
{
    LoadedModel lm = {0};
    diag_reset();
    lm.ast = parse_model_file(path);
    if (!lm.ast) {
        if (diag_error_count() == 0)
            error_plain("cannot read '%s'", path);
        return lm;
    }
    lm.model = check_model(lm.ast);
    return lm;
}

void loaded_model_free(LoadedModel *lm)
{
    model_free(lm->model);
    ast_free(lm->ast);
    *lm = (LoadedModel){0};
}

/* An argument that looks like an option but is none of the command's. */
static int unknown_option(const char *command, const char *arg)
{
    return usage_error(command, "unknown option '%s' for %s", arg, command);
}

/* cnnc check MODEL...: every file is checked, even after one has errors. */
int cmd_check(int argc, char **argv)
{
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("check", stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return unknown_option("check", argv[i]);
        nfiles++;
    }
    if (nfiles == 0)
        return usage_error("check", "check needs at least one model file");
    int status = 0;
    for (int i = 1; i < argc; i++) {
        LoadedModel lm = load_model(argv[i]);
        if (!lm.model)
            status = 1;
        loaded_model_free(&lm);
    }
    return status;
}

static const char *const format_names[] = {[SUMMARY_TABLE] = "table", [SUMMARY_YAML] = "yaml",
                                           [SUMMARY_JSON] = "json", NULL};

/* cnnc summary MODEL [--format table|yaml|json] */
int cmd_summary(int argc, char **argv)
{
    const char *path = NULL, *format = "table", *target_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help_option(argv[i])) {
            print_command_usage("summary", stdout);
            return 0;
        }
        int m = match_value_option(argc, argv, &i, "summary", "--format", &format);
        if (m == 0)
            m = match_value_option(argc, argv, &i, "summary", "--target", &target_arg);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return unknown_option("summary", argv[i]);
        if (path)
            return usage_error("summary", "summary takes one model file, not '%s' and '%s'",
                               path, argv[i]);
        path = argv[i];
    }
    if (!path)
        return usage_error("summary", "summary needs a model file");
    int fmt = -1;
    for (int k = 0; format_names[k]; k++)
        if (strcmp(format, format_names[k]) == 0)
            fmt = k;
    if (fmt < 0) {
        const char *hint = did_you_mean(format, format_names);
        if (hint)
            return usage_error("summary", "unknown format '%s'; did you mean '%s'?", format,
                               hint);
        return usage_error("summary", "unknown format '%s' (table, yaml or json)", format);
    }
    const Target *target = target_host();
    if (target_arg != NULL && !(target = find_target("summary", target_arg)))
        return 2;

    LoadedModel lm = load_model(path);
    if (!lm.model) {
        loaded_model_free(&lm);
        return 1;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        error_plain("cannot allocate the summary: %s", strerror(errno));
        loaded_model_free(&lm);
        return 1;
    }
    int rc = print_summary(lm.model, target, (SummaryFormat)fmt, out);
    if (fclose(out) != 0 && rc == 0) {
        error_plain("cannot write the summary: %s", strerror(errno));
        rc = 1;
    }
    int status = rc == 0 && diag_error_count() == 0 ? write_stdout(buf, len) : 1;
    free(buf);
    loaded_model_free(&lm);
    return status;
}

static void unknown_word(const char *what, const char *word, const char *const *cands)
{
    const char *hint = did_you_mean(word, cands);
    if (hint)
        error_plain("unknown %s '%s'; did you mean '%s'?", what, word, hint);
    else
        error_plain("unknown %s '%s'", what, word);
    print_usage(stderr);
}

int cnnc_main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *first = argv[1];
    if (is_help_option(first)) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(first, "--version") == 0) {
        printf("cnnc %s\n", CNNC_VERSION);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (first[0] == '-') {
        static const char *const options[] = {"--help", "--version", NULL};
        unknown_word("option", first, options);
        return 2;
    }
    const Command *c = find_command(first);
    if (!c) {
        const char *names[NCOMMANDS + 1];
        for (int i = 0; i < NCOMMANDS; i++)
            names[i] = commands[i].name;
        names[NCOMMANDS] = NULL;
        unknown_word("command", first, names);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
