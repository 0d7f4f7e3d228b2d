/*
 * collective.c - the hook through which a run spread over several processes (the MPI layer,
 * runtime/mpi/) reaches the runtime: none is set in an ordinary program, and every pass then
 * runs as it always has. The runtime itself never calls MPI.
 */
#include "cnnrt.h"

static const cnn_collective *current;

void cnn_set_collective(const cnn_collective *c)
{
    current = c && c->size > 1 ? c : NULL;
}

const cnn_collective *cnn_get_collective(void)
{
    return current;
}

int cnn_process_rank(void)
{
    return current ? current->rank : 0;
}

void cnn_process_share(int n, int rank, int size, int *first, int *count)
{
    int base = n / size, extra = n % size;
    *first = rank * base + (rank < extra ? rank : extra);
    *count = base + (rank < extra);
}
