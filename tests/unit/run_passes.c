/*
 * run_passes.c - runs a generated model's passes once, on random inputs and weights, and
 * checks nothing but that they ran: built with the sanitizers (UBSan with pointer-overflow),
 * it finds undefined behaviour in the generated code, such as a pointer formed before the start
 * of a buffer that is never dereferenced there. Built by tests/suite_50_codegen.sh with
 * -DMODEL=<name>_model and the generated <name>.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cnn_model.h"

extern const cnn_model MODEL;

static unsigned long long state = 0x9e3779b97f4a7c15ULL;

static float uniform(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (float)((double)(state >> 11) / 9007199254740992.0);
}

/* The most multiply-accumulates one pass may run here (about a second at -O0 under UBSan). */
#define RUN_PASSES_MACS 100000000LL

int main(void)
{
    const cnn_model *m = &MODEL;
    size_t np = m->num_params > 0 ? m->num_params : 1;
    float *params = malloc((cnn_param_floats(m) + 1) * sizeof *params), *grads = malloc(np * sizeof *grads);
    float *opt_m = calloc(np, sizeof *opt_m), *opt_v = calloc(np, sizeof *opt_v);
    float *ws = calloc(m->workspace_floats + 1, sizeof *ws);
    float *x = malloc((size_t)m->batch * m->in_size * sizeof *x);
    unsigned char *labels = malloc((size_t)m->batch);
    if (!params || !grads || !opt_m || !opt_v || !ws || !x || !labels)
        return 1;
    for (size_t i = 0; i < np; i++)
        params[i] = (uniform() - 0.5f) * 0.2f;
    for (size_t i = m->num_params; i < cnn_param_floats(m); i++)
        params[i] = uniform(); /* the state: a moving variance must not be negative */
    for (size_t i = 0; i < (size_t)m->batch * m->in_size; i++)
        x[i] = uniform();
    for (int b = 0; b < m->batch; b++)
        labels[b] = (unsigned char)(b % m->classes);
    /* A whole batch and a partial one, in training and in evaluation mode; for a model too
     * big to run a whole batch quickly at -O0 under UBSan (the residual networks), the first
     * images of one, which form the same pointers but the last images'. */
    long long macs = 0;
    for (int i = 0; i < m->num_layers; i++)
        macs += m->layers[i].macs;
    int full = m->batch;
    if (macs > 0 && (long long)full * macs > RUN_PASSES_MACS)
        full = RUN_PASSES_MACS / macs > 2 ? (int)(RUN_PASSES_MACS / macs) : 2;
    if (full > m->batch)
        full = m->batch;
    int sizes[2] = {full, full > 1 ? full - 1 : 1};
    for (int k = 0; k < 2; k++) {
        m->forward(params, ws, x, sizes[k], 1, 7, 0, NULL);
        m->backward(params, grads, ws, x, labels, sizes[k], 1.0f / (float)sizes[k], NULL);
        m->update(params, grads, opt_m, opt_v, k + 1);
        m->forward(params, ws, x, sizes[k], 0, 0, 0, NULL);
    }
    for (int i = 0; i < m->num_layers; i++) {
        m->layers[i].forward(params, ws, full);
        if (m->layers[i].backward)
            m->layers[i].backward(params, grads, ws, full);
    }
    printf("ran %d layers of %s\n", m->num_layers, m->name);
    free(params);
    free(grads);
    free(opt_m);
    free(opt_v);
    free(ws);
    free(x);
    free(labels);
    return 0;
}
