/*
 * mpi_main.c - the entry of a program built with `cnnc build --mpi`: one process of an MPI
 * job (mpirun -np N PROGRAM train ...), which runs the ordinary command line with the
 * collective of MPI_COMM_WORLD set, so that the team splits every batch across the processes
 * (contract, section 8).
 *
 * A process that fails (bad data, a diverging loss, a bad command line) waits a little for
 * the others: when they all failed too (the same bad option, the same missing data) the job
 * ends quietly with their messages; otherwise it aborts the job, as the others would wait in
 * the next sum forever. A process that dies is reported by mpirun, which then ends the others.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cnnrt.h"
#include "cnn_mpi.h"
#include "program.h"

/* What the gradient sums cost, on process 0 after a training run that prints progress. */
static void report(int argc, char **argv, double seconds)
{
    const cnn_mpi_stats *s = cnn_mpi_stats_get();
    if (s->sums == 0)
        return;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quiet") == 0)
            return;
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rt_note("%d processes: %ld gradient sums of %zu floats (%zu bytes) took %.3f s, %.2f ms each, "
            "%.1f%% of %.2f s", size, s->sums, s->floats, s->floats * sizeof(float), s->seconds,
            1e3 * s->seconds / (double)s->sums, seconds > 0 ? 100.0 * s->seconds / seconds : 0.0,
            seconds);
}

/* Seconds a failed process waits for the others to fail as well before it aborts the job. */
#define FAIL_WAIT_SECONDS 3

/* Whether every process reached this point within FAIL_WAIT_SECONDS. */
static int all_failed(void)
{
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    double end = MPI_Wtime() + FAIL_WAIT_SECONDS;
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done && MPI_Wtime() < end)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    return done;
}

int cnn_mpi_main(const cnn_model *m, int argc, char **argv)
{
    int provided = 0;
    /* The batch's sums (batchnorm) are made from one pool thread at a time. */
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        rt_error("cannot start MPI");
        return 1;
    }
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    rt_set_program_name(slash ? slash + 1 : argc > 0 ? argv[0] : m->name);
    if (provided < MPI_THREAD_SERIALIZED) {
        rt_error("this MPI library does not let a worker thread call it (MPI_THREAD_SERIALIZED), "
                 "which batch normalisation's sums need");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const cnn_collective *c = cnn_mpi_collective();
    cnn_set_collective(c);
    /* The messages of a process but the first name it (mnist_cnn[2]: error: ...), through the
     * program name that the command line takes from argv[0]. */
    char name[256];
    char *first = argc > 0 ? argv[0] : NULL;
    if (c->rank > 0 && argc > 0) {
        snprintf(name, sizeof name, "%s[%d]", slash ? slash + 1 : argv[0], c->rank);
        argv[0] = name;
    }
    double start = MPI_Wtime();
    int status = cnn_program_main(m, argc, argv);
    if (argc > 0)
        argv[0] = first;
    double seconds = MPI_Wtime() - start;
    if (status != 0 && !all_failed())
        MPI_Abort(MPI_COMM_WORLD, status);
    if (c->rank == 0 && argc > 1 && strcmp(argv[1], "train") == 0)
        report(argc, argv, seconds);
    cnn_set_collective(NULL);
    MPI_Finalize();
    return status;
}
