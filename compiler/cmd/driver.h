/*
 * cmd/driver.h - the command line of cnnc, for the files that implement its commands.
 *
 * A command is one row of the table in cmd/driver.c: its name, the function that runs it, its
 * usage and one line of help (`cnnc --help` is written from the table). To add a command,
 * write `int cmd_NAME(int argc, char **argv)` in its own file, declare it below and add
 * its row. The function gets the arguments after the command's name (argv[0] is the name
 * itself) and returns the exit status: 0 success, 1 an error in the input, 2 a usage error.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include "cnnc.h"

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage; /* the arguments: "MODEL [--format table|yaml|json]" */
    const char *help;  /* one line: what the command does */
} Command;

/* The commands of cmd/driver.c. */
int cmd_check(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_emit(int argc, char **argv);  /* cmd/emit.c */
int cmd_build(int argc, char **argv); /* build.c */
int cmd_plot(int argc, char **argv);  /* cmd/plot.c */
int cmd_export(int argc, char **argv); /* cmd/export.c */
int cmd_import(int argc, char **argv); /* cmd/import.c */

/* A model file read and checked. `model` is NULL when the file had errors (reported). */
typedef struct LoadedModel {
    Ast *ast;
    Model *model;
} LoadedModel;

/* Parses and checks one model file, starting a fresh error count. */
LoadedModel load_model(const char *path);
void loaded_model_free(LoadedModel *lm);

/* Reports `cnnc: error: ...` and the command's usage line on stderr; returns 2. */
int usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Matches argv[*i] against an option that takes a value, written `--opt VALUE` or
 * `--opt=VALUE`. Returns 1 with *value set (advancing *i past a separate value), 0 when
 * argv[*i] is something else, and -1 after reporting a missing value. */
int match_value_option(int argc, char **argv, int *i, const char *command, const char *opt,
                       const char **value);

/* The target named by --target NAME, or NULL after a usage error listing the names (with a
 * did-you-mean). */
const Target *find_target(const char *command, const char *name);

/* True for `--help` and `-h`: a command given either prints its usage to stdout, exits 0. */
bool is_help_option(const char *arg);
/* Prints "usage: cnnc COMMAND ARGS" and the command's help to `out`. */
void print_command_usage(const char *command, FILE *out);

/* Writes a finished buffer to stdout: output is complete or absent. Returns 0, or 1 after
 * reporting a write error (a full disk, a closed pipe). */
int write_stdout(const char *data, size_t len);

#endif
