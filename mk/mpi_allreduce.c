/*
 * mpi_allreduce.c - the time of one gradient sum across the processes of an MPI job, for the
 * scaling estimate of the README (make bench-mpi): cnnc's own sum (libcnnmpi.a: a
 * reduce-scatter and all-gather in rank order, the same bits on every run) next to
 * MPI_Allreduce (whose order of addition MPI chooses).
 *
 *     mpirun -np P mpi_allreduce FLOATS... [--iters N]
 *
 * Process 0 prints one JSON object a size: the slowest process's mean milliseconds a sum.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "cnn_mpi.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const cnn_collective *c = cnn_mpi_collective();
    int iters = 50;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--iters") == 0)
            iters = atoi(argv[i + 1]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0) {
            i++;
            continue;
        }
        size_t n = (size_t)strtoul(argv[i], NULL, 10);
        float *data = malloc((n ? n : 1) * sizeof *data);
        if (!data || iters < 1) {
            fprintf(stderr, "mpi_allreduce: bad size or out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        double ms[2];
        for (int own = 1; own >= 0; own--) {
            for (size_t k = 0; k < n; k++)
                data[k] = 1.0f / (float)(k % 97 + 1);
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int it = 0; it < iters; it++) {
                if (own)
                    c->sum_floats(data, n);
                else
                    MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            }
            double mine = (MPI_Wtime() - start) / iters, slowest;
            MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            ms[own] = 1e3 * slowest;
        }
        if (c->rank == 0)
            printf("{\"processes\": %d, \"floats\": %zu, \"bytes\": %zu, \"iters\": %d, "
                   "\"fixed_order_ms\": %.4f, \"mpi_allreduce_ms\": %.4f}\n",
                   c->size, n, n * sizeof(float), iters, ms[1], ms[0]);
        free(data);
    }
    MPI_Finalize();
    return 0;
}
