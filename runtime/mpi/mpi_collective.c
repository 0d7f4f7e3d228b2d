/*
 * mpi_collective.c - the runtime's collective (cnnrt.h) over MPI_COMM_WORLD.
 *
 * Every sum adds the processes' values in rank order whatever algorithm MPI picks, so that a
 * run with the same process count gives the same bits: MPI_Allreduce's own order may change
 * with the message size and the library's tuning, so it is not used for floats.
 *
 * The gradient (sum_floats) is a reduce-scatter and an all-gather written with MPI's
 * all-to-all: process r owns a range of the parameters, receives every process's values of
 * that range, adds them in rank order, and sends the sum back to all. Each process sends and
 * receives 2 (P - 1) / P of the gradient, as a ring all-reduce does.
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "cnn_mpi.h"

static cnn_collective world;
static cnn_mpi_stats stats;

/* The buffers of the gradient sum, grown to the largest sum seen (allocated once a run). */
static struct {
    float *pieces;            /* [size][the owned range]: every process's values of it */
    double *rows;             /* [size][n]: every process's doubles */
    int *send_counts, *send_displs, *recv_counts, *recv_displs;
    size_t pieces_cap, rows_cap;
} buf;

/* Ends the job: a buffer that cannot be had leaves the other processes waiting. */
static void out_of_memory(const char *what)
{
    rt_error("process %d of %d: out of memory for %s", world.rank, world.size, what);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap)
        return p;
    free(p);
    p = malloc(need * elem);
    if (!p)
        out_of_memory(what);
    *cap = need;
    return p;
}

/* Process r's range of n floats, [lo, hi): boundaries on multiples of 16, as the threads' ranges. */
static void owned(size_t n, int r, size_t *lo, size_t *hi)
{
    size_t p = (size_t)world.size;
    *lo = r == 0 ? 0 : n * (size_t)r / p / 16 * 16;
    *hi = r + 1 == world.size ? n : n * (size_t)(r + 1) / p / 16 * 16;
}

static void sum_floats(float *data, size_t n)
{
    double start = MPI_Wtime();
    int size = world.size;
    size_t lo, hi;
    owned(n, world.rank, &lo, &hi);
    size_t mine = hi - lo;
    buf.pieces = grow(buf.pieces, &buf.pieces_cap, mine * (size_t)size + 1, sizeof(float), "the gradient");
    for (int r = 0; r < size; r++) {
        size_t rlo, rhi;
        owned(n, r, &rlo, &rhi);
        buf.send_counts[r] = (int)(rhi - rlo);
        buf.send_displs[r] = (int)rlo;
        buf.recv_counts[r] = (int)mine;
        buf.recv_displs[r] = (int)(mine * (size_t)r);
    }
    MPI_Alltoallv(data, buf.send_counts, buf.send_displs, MPI_FLOAT, buf.pieces, buf.recv_counts,
                  buf.recv_displs, MPI_FLOAT, MPI_COMM_WORLD);
    /* Rank order: process 0's value, plus process 1's, ... */
    float *sum = data + lo;
    memcpy(sum, buf.pieces, mine * sizeof(float));
    for (int r = 1; r < size; r++) {
        const float *piece = buf.pieces + mine * (size_t)r;
        for (size_t i = 0; i < mine; i++)
            sum[i] += piece[i];
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, buf.send_counts, buf.send_displs,
                   MPI_FLOAT, MPI_COMM_WORLD);
    stats.sums++;
    stats.floats = n;
    stats.seconds += MPI_Wtime() - start;
}

/* Few values (a step's loss and count, an evaluation's counts): every process gets all of
 * them and adds them up in rank order itself. */
static void sum_doubles(double *v, size_t n)
{
    size_t size = (size_t)world.size;
    buf.rows = grow(buf.rows, &buf.rows_cap, n * size + 1, sizeof(double), "a sum");
    MPI_Allgather(v, (int)n, MPI_DOUBLE, buf.rows, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
    memcpy(v, buf.rows, n * sizeof(double));
    for (size_t r = 1; r < size; r++)
        for (size_t i = 0; i < n; i++)
            v[i] += buf.rows[r * n + i];
}

/* area[images][count]: the rows of each process's share, from each process to all. */
static void gather_images(float *area, int images, int count)
{
    for (int r = 0; r < world.size; r++) {
        int first, n;
        cnn_process_share(images, r, world.size, &first, &n);
        buf.recv_counts[r] = n * count;
        buf.recv_displs[r] = first * count;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, area, buf.recv_counts, buf.recv_displs,
                   MPI_FLOAT, MPI_COMM_WORLD);
}

const cnn_collective *cnn_mpi_collective(void)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    buf.send_counts = calloc((size_t)size, sizeof(int));
    buf.send_displs = calloc((size_t)size, sizeof(int));
    buf.recv_counts = calloc((size_t)size, sizeof(int));
    buf.recv_displs = calloc((size_t)size, sizeof(int));
    if (!buf.send_counts || !buf.send_displs || !buf.recv_counts || !buf.recv_displs)
        out_of_memory("the counts of the processes");
    world = (cnn_collective){.rank = rank, .size = size, .sum_floats = sum_floats,
                             .sum_doubles = sum_doubles, .gather_images = gather_images};
    return &world;
}

const cnn_mpi_stats *cnn_mpi_stats_get(void)
{
    return &stats;
}
