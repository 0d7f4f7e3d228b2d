/*
 * test_losses.c - the training loss and the evaluation loss are one definition (issue 15),
 * for a model that cnnc generated, compiled in with -DMODEL=<name>_model.
 *
 * For weights scaled from ordinary (x1) to saturating (x1000, where softmax outputs are 0 and
 * 1 in float), the loss that the generated backward returns must equal the sum of the
 * runtime's cnn_image_loss over the same outputs, to the last bit: both call cnn_model.h's
 * cnn_xent or cnn_mse. And NaN weights must give a NaN loss on both sides, never a clipped
 * finite one. Prints `ok CHECK` or `FAIL CHECK: why` per check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "metrics.h"

extern const cnn_model MODEL;

static int failed;

static void report(int ok, const char *what, double train, double eval)
{
    if (ok) {
        printf("ok losses/%s: %s\n", MODEL.name, what);
    } else {
        printf("FAIL losses/%s: %s: training loss %.17g, evaluation loss %.17g\n", MODEL.name, what,
               train, eval);
        failed = 1;
    }
}

/* The two losses of one batch under params: backward's sum, and the sum of the per-image
 * losses of the outputs that forward left (read before backward runs). */
static void both_losses(const cnn_model *m, const float *params, const float *x,
                        const unsigned char *labels, int n, double *train, double *eval)
{
    float *ws = calloc(m->workspace_floats, sizeof *ws);
    float *grads = calloc(m->num_params, sizeof *grads);
    m->forward(params, ws, x, n, 1, 7, 0, NULL);
    const float *out = m->output(ws);
    *eval = 0;
    for (int b = 0; b < n; b++)
        *eval += cnn_image_loss(m, out + (size_t)b * m->classes, labels[b]);
    *train = m->backward(params, grads, ws, x, labels, n, 1.0f / (float)n, NULL);
    free(ws);
    free(grads);
}

int main(void)
{
    const cnn_model *m = &MODEL;
    int n = m->batch;
    float *x = malloc((size_t)n * m->in_size * sizeof *x);
    float *params = malloc(m->num_params * sizeof *params);
    float *scaled = malloc(m->num_params * sizeof *scaled);
    unsigned char *labels = malloc((size_t)n);
    cnn_rng r;
    cnn_rng_seed(&r, 3);
    for (size_t i = 0; i < (size_t)n * m->in_size; i++)
        x[i] = (float)cnn_rng_uniform(&r);
    for (int b = 0; b < n; b++)
        labels[b] = (unsigned char)(cnn_rng_next(&r) % (uint64_t)m->classes);
    cnn_init_params(m, params, 5);

    static const double scales[] = {1, 30, 1000};
    for (int s = 0; s < 3; s++) {
        char what[64];
        for (size_t i = 0; i < m->num_params; i++)
            scaled[i] = (float)(params[i] * scales[s]);
        /* Biases start at zero: give them a value too, so that they also scale. */
        for (int t = 0; t < m->num_tensors; t++)
            if (m->tensors[t].is_bias)
                for (size_t k = 0; k < m->tensors[t].count; k++)
                    scaled[m->tensors[t].offset + k] = (float)(0.1 * scales[s] * (k % 3 == 0 ? 1 : -1));
        double train, eval;
        both_losses(m, scaled, x, labels, n, &train, &eval);
        snprintf(what, sizeof what, "weights x%g give the same loss", scales[s]);
        report(train == eval && isfinite(train), what, train, eval);
    }

    /* NaN in the last tensor's parameters poisons every output (a relu earlier on could hide
     * one, since NaN > 0 is false): both losses must say so. */
    memcpy(scaled, params, m->num_params * sizeof *scaled);
    const cnn_tensor *last = &m->tensors[m->num_tensors - 1];
    for (size_t k = 0; k < last->count; k++)
        scaled[last->offset + k] = NAN;
    double train, eval;
    both_losses(m, scaled, x, labels, n, &train, &eval);
    report(isnan(train) && isnan(eval), "NaN weights give a NaN loss", train, eval);

    free(x);
    free(params);
    free(scaled);
    free(labels);
    return failed;
}
