/*
 * cnn_mpi.h - the MPI layer of a program that `cnnc build --mpi` makes (libcnnmpi.a, compiled
 * with mpicc). Its generated main.c is
 *
 *     int main(int argc, char **argv) { return cnn_mpi_main(&mnist_cnn_model, argc, argv); }
 *
 * Only this layer calls MPI; it hands the runtime a cnn_collective (cnnrt.h). The header
 * itself does not include mpi.h, so that main.c compiles with any compiler.
 */
#ifndef CNN_MPI_H
#define CNN_MPI_H

#include "cnn_model.h"

/* Starts MPI, runs the program's command line (cnn_program_main) as one of the processes of
 * the job, and ends MPI; returns the exit status. A process whose work fails ends the whole
 * job (MPI_Abort), since the others would wait for it forever. */
int cnn_mpi_main(const cnn_model *m, int argc, char **argv);

/* mpi_collective.c: the collective of MPI_COMM_WORLD, and the time its gradient sums took. */
typedef struct cnn_mpi_stats {
    long sums;          /* gradient sums (one a step) */
    size_t floats;      /* floats in the last one */
    double seconds;     /* spent in them, waiting for the slowest process included */
} cnn_mpi_stats;
const struct cnn_collective *cnn_mpi_collective(void);
const cnn_mpi_stats *cnn_mpi_stats_get(void);

#endif
