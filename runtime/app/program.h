/*
 * program.h - the command line of a program that `cnnc build` makes. Its generated main.c is
 *
 *     int main(int argc, char **argv) { return cnn_program_main(&mnist_cnn_model, argc, argv); }
 *
 * and everything else (train, eval, predict, --help, --version) lives in runtime/app/main.c.
 */
#ifndef CNN_PROGRAM_H
#define CNN_PROGRAM_H

#include "cnn_model.h"

/* Runs the subcommand in argv; returns the exit status: 0, 1 when the work failed (bad data,
 * a loss that became NaN, an unreadable image), 2 for a bad command line. */
int cnn_program_main(const cnn_model *m, int argc, char **argv);

#endif
