/*
 * eval.c - what a trained model gets right: loss, accuracy and the confusion matrix of a
 * labelled set, and the classification of single images for `predict`.
 *
 * Evaluation runs the model's forward in evaluation mode (no dropout) in batches, split across
 * threads like training; the per-image results are summed in image order, so the numbers do
 * not depend on the thread count. On request it also keeps every image's predicted class and
 * that class's probability, for the `eval --mistakes` picture.
 */
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "metrics.h"

/* The prediction of each image of the batch just evaluated, at preds[0 .. n): its class, and
 * that class's output read back from the workspace of the thread that ran its slice (each
 * thread's workspace still holds the outputs of its last forward). */
static void batch_predictions(const cnn_team *t, cnn_prediction *preds)
{
    const cnn_model *m = t->m;
    for (int thread = 0; thread < t->threads; thread++) {
        const cnn_slice *s = &t->slices[thread];
        if (s->count == 0)
            continue;
        const float *out = m->output(t->ws[thread]);
        for (int b = 0; b < s->count; b++) {
            int i = s->first + b;
            int pred = t->image_pred[i];
            preds[i].predicted = pred;
            preds[i].probability = out[(size_t)b * m->classes + pred];
        }
    }
}

/* Every process evaluated its share of each batch: the counts, the loss and the predictions
 * of all of them, summed in rank order (a prediction is zero but in the process that made it).
 * Returns -1 when the buffer cannot be allocated (then out holds this process's share). */
static int sum_processes(cnn_eval_result *out, double *loss, long *correct, cnn_prediction *preds)
{
    const cnn_collective *c = cnn_get_collective();
    size_t cells = 64 * 64, extra = preds ? 2 * (size_t)out->n : 0;
    double *v = rt_calloc(2 + cells + extra, sizeof *v);
    if (!v)
        return -1;
    v[0] = *loss;
    v[1] = (double)*correct;
    for (size_t i = 0; i < cells; i++)
        v[2 + i] = (double)out->confusion[i / 64][i % 64];
    double *pv = v + 2 + cells;
    for (int i = 0; preds && i < out->n; i++) {
        pv[2 * i] = preds[i].predicted;
        pv[2 * i + 1] = preds[i].probability;
    }
    c->sum_doubles(v, 2 + cells + extra);
    *loss = v[0];
    *correct = (long)v[1];
    for (size_t i = 0; i < cells; i++)
        out->confusion[i / 64][i % 64] = (long)v[2 + i];
    for (int i = 0; preds && i < out->n; i++) {
        preds[i].predicted = (int)pv[2 * i];
        preds[i].probability = (float)pv[2 * i + 1];
    }
    free(v);
    return 0;
}

void cnn_team_evaluate(cnn_team *t, const float *params, const cnn_dataset *d, float *x,
                       cnn_eval_result *out, cnn_prediction *preds)
{
    const cnn_model *m = t->m;
    double loss = 0;
    long correct = 0;

    memset(out, 0, sizeof *out);
    out->n = d->n;
    if (preds)
        memset(preds, 0, (size_t)d->n * sizeof *preds);
    for (int pos = 0; pos < d->n; pos += m->batch) {
        int nb = d->n - pos < m->batch ? d->n - pos : m->batch;
        const unsigned char *labels = d->labels + pos;
        cnn_scale_pixels(d->images + (size_t)pos * m->in_size, x, (size_t)nb * m->in_size);
        cnn_team_eval_batch(t, params, x, labels, nb);
        if (preds)
            batch_predictions(t, preds + pos);
        /* This process's share of the batch: all of it unless a collective spreads it. */
        for (int b = t->share_first; b < t->share_first + t->share_count; b++) {
            int pred = t->image_pred[b];
            loss += t->image_loss[b];
            correct += pred == labels[b];
            if (labels[b] < 64 && pred < 64)
                out->confusion[labels[b]][pred]++;
        }
    }
    if (cnn_get_collective() && sum_processes(out, &loss, &correct, preds) < 0)
        return;
    if (d->n > 0) {
        out->loss = loss / d->n;
        out->accuracy = (double)correct / d->n;
    }
}

int cnn_evaluate(const cnn_model *m, const float *params, const cnn_dataset *d, int threads,
                 cnn_eval_result *out, cnn_prediction *preds)
{
    if ((size_t)d->h * (size_t)d->w != m->in_size)
        return rt_error("the images are %dx%d but model '%s' takes %dx%dx%d", d->h, d->w,
                        m->name, m->in_h, m->in_w, m->in_c);
    cnn_team team;
    float *x = rt_malloc((size_t)m->batch * m->in_size * sizeof *x);
    if (!x)
        return -1;
    if (cnn_team_init(&team, m, cnn_thread_count(m, threads), 0) < 0) {
        free(x);
        return -1;
    }
    cnn_team_evaluate(&team, params, d, x, out, preds);
    cnn_team_free(&team);
    free(x);
    return 0;
}

static int digits(long v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static void print_rule(FILE *f, int classes, int w)
{
    fputs("------+", f);
    for (int c = 0; c < classes; c++)
        fprintf(f, "%.*s", w, "----------------------");
    fputs("-+----------------\n", f);
}

void cnn_print_evaluation(FILE *f, const cnn_model *m, const cnn_eval_result *r)
{
    int classes = m->classes < 64 ? m->classes : 64;
    int w = digits(r->n) + 1;
    if (w < 5)
        w = 5;

    fprintf(f, "%d images - loss: %.4f - accuracy: %.4f\n\n", r->n, r->loss, r->accuracy);
    fputs("Confusion matrix (rows: true class, columns: predicted class)\n\n", f);
    fputs(" true |", f);
    for (int c = 0; c < classes; c++)
        fprintf(f, "%*d", w, c);
    fputs(" |  total accuracy\n", f);
    print_rule(f, classes, w);

    long col_total[64] = {0};
    for (int i = 0; i < classes; i++) {
        long total = 0;
        fprintf(f, "%5d |", i);
        for (int c = 0; c < classes; c++) {
            fprintf(f, "%*ld", w, r->confusion[i][c]);
            total += r->confusion[i][c];
            col_total[c] += r->confusion[i][c];
        }
        fprintf(f, " | %6ld", total);
        if (total > 0)
            fprintf(f, "   %.4f\n", (double)r->confusion[i][i] / total);
        else
            fputs("        -\n", f);
    }
    print_rule(f, classes, w);
    fputs("total |", f);
    for (int c = 0; c < classes; c++)
        fprintf(f, "%*ld", w, col_total[c]);
    fprintf(f, " | %6d   %.4f\n", r->n, r->accuracy);
}

int cnn_classify(const cnn_model *m, const float *params, float *ws, float *x,
                 const unsigned char *pixels, float *probs)
{
    cnn_scale_pixels(pixels, x, m->in_size);
    m->forward(params, ws, x, 1, 0, 0, 0, NULL);
    const float *out = m->output(ws);
    memcpy(probs, out, (size_t)m->classes * sizeof *probs);
    return cnn_argmax(probs, m->classes);
}
