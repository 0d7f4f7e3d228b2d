/*
 * team.c - the data-parallel passes over a batch.
 *
 * Each pass splits the batch into contiguous slices, one per thread; every thread runs the
 * model's forward (and backward) on its slice into its own workspace and gradient buffer.
 * The gradients are then summed by parameter range, each thread owning one range, but every
 * parameter always adds thread 0's, then thread 1's, ... value, so that a run with the same
 * seed and thread count is bit-for-bit repeatable. Nothing is created or allocated per step.
 *
 * A pass's arguments travel in a small struct on the caller's stack, handed to the pool for
 * that one run; the team itself only owns buffers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "team.h"

int cnn_thread_count(const cnn_model *m, int requested)
{
    int cores = cnn_core_count();
    int n = requested > 0 ? requested : cores;
    if (requested > cores)
        rt_warning("--threads %d is more than the %d cores of this machine: the threads beyond "
                   "them only take turns with the others%s", requested, cores,
                   requested > m->batch ? ", and a batch gives work to one thread per image at most" : "");
    return n > m->batch ? m->batch : n;
}

/* Thread t's slice of n images: contiguous, the first n % threads slices one longer, so
 * that only trailing threads are idle when n < threads (a last partial batch). Under a
 * collective the threads split this process's share the same way. */
static void set_slices(cnn_team *t, int n)
{
    const cnn_collective *c = cnn_get_collective();
    t->share_first = 0;
    t->share_count = n;
    if (c)
        cnn_process_share(n, c->rank, c->size, &t->share_first, &t->share_count);
    int base = t->share_count / t->threads, extra = t->share_count % t->threads;
    int first = t->share_first;
    for (int i = 0; i < t->threads; i++) {
        cnn_slice *s = &t->slices[i];
        s->first = first;
        s->count = base + (i < extra);
        s->loss = 0;
        s->correct = 0;
        first += s->count;
    }
}

/* The range of parameters thread `thread` reduces (and updates). The boundaries are multiples
 * of 16, so that a vectorized update splits the parameters into the same vectors whatever
 * the thread count. */
static void param_range(const cnn_team *t, int thread, size_t *lo, size_t *hi)
{
    size_t p = t->m->num_params;
    *lo = thread == 0 ? 0 : p * (size_t)thread / (size_t)t->threads / 16 * 16;
    *hi = thread + 1 == t->threads ? p : p * (size_t)(thread + 1) / (size_t)t->threads / 16 * 16;
}

/* cnn_sync's batch_sum: this slice's partials into the area at its first image, the barrier,
 * then every slice adds all the batch's images in order, each getting the same floats. */
static void team_batch_sum(const cnn_sync *s, const float *part, int n, int count, float *total)
{
    cnn_team *t = s->runtime;
    float *area = t->sum_area[t->sum_calls[s->slice]++ & 1];
    if (n > 0)
        memcpy(area + (size_t)s->first * (size_t)count, part, (size_t)n * (size_t)count * sizeof(float));
    /* Across processes, one thread of each gathers every process's rows while the others wait:
     * the sum then adds the same images in the same order as on one process. */
    const cnn_collective *c = cnn_get_collective();
    if (pthread_barrier_wait(&t->barrier) == PTHREAD_BARRIER_SERIAL_THREAD && c)
        c->gather_images(area, s->images, count);
    if (c)
        pthread_barrier_wait(&t->barrier);
    cnn_sum_images(area, s->images, count, total);
}

static int init_sums(cnn_team *t)
{
    const cnn_model *m = t->m;
    if (m->batch_sum_floats <= 0)
        return 0;
    size_t area = (size_t)m->batch * (size_t)m->batch_sum_floats;
    t->sum_calls = rt_calloc((size_t)t->threads, sizeof *t->sum_calls);
    t->sum_area[0] = rt_malloc(area * sizeof(float));
    t->sum_area[1] = rt_malloc(area * sizeof(float));
    cnn_sync *syncs = rt_calloc((size_t)t->threads, sizeof *syncs);
    if (!syncs || !t->sum_calls || !t->sum_area[0] || !t->sum_area[1]) {
        free(syncs);
        return -1;
    }
    /* syncs is set only with the barrier made: cnn_team_free destroys the one with the other. */
    if (pthread_barrier_init(&t->barrier, NULL, (unsigned)t->threads) != 0) {
        free(syncs);
        return rt_error("cannot create a barrier for %d threads", t->threads);
    }
    for (int i = 0; i < t->threads; i++)
        syncs[i] = (cnn_sync){.batch_sum = team_batch_sum, .slice = i, .runtime = t};
    t->syncs = syncs;
    return 0;
}

static void touch_task(void *ctx, int thread)
{
    cnn_team *t = ctx;
    memset(t->ws[thread], 0, t->m->workspace_floats * sizeof(float));
    if (t->grads) {
        size_t lo, hi;
        memset(t->grads[thread], 0, t->m->num_params * sizeof(float));
        param_range(t, thread, &lo, &hi);
        memset(t->grad + lo, 0, (hi - lo) * sizeof(float));
    }
}

int cnn_team_init(cnn_team *t, const cnn_model *m, int threads, int training)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->threads = threads < 1 ? 1 : threads > m->batch ? m->batch : threads;
    size_t ws_floats = m->workspace_floats > 0 ? m->workspace_floats : 1;
    size_t params = m->num_params > 0 ? m->num_params : 1;

    t->ws = rt_calloc((size_t)t->threads, sizeof *t->ws);
    t->slices = rt_calloc((size_t)t->threads, sizeof *t->slices);
    t->grad_sq = rt_calloc((size_t)t->threads, sizeof *t->grad_sq);
    t->image_loss = rt_calloc((size_t)m->batch, sizeof *t->image_loss);
    t->image_pred = rt_calloc((size_t)m->batch, sizeof *t->image_pred);
    if (!t->ws || !t->slices || !t->grad_sq || !t->image_loss || !t->image_pred)
        goto fail;
    for (int i = 0; i < t->threads; i++)
        if (!(t->ws[i] = rt_malloc(ws_floats * sizeof(float))))
            goto fail;
    if (training) {
        t->grads = rt_calloc((size_t)t->threads, sizeof *t->grads);
        t->grad = rt_malloc(params * sizeof(float));
        if (!t->grads || !t->grad)
            goto fail;
        for (int i = 0; i < t->threads; i++)
            if (!(t->grads[i] = rt_malloc(params * sizeof(float))))
                goto fail;
    }
    if (training && init_sums(t) != 0)
        goto fail;
    if (!(t->pool = cnn_pool_create(t->threads)))
        goto fail;
    cnn_pool_run(t->pool, touch_task, t);
    return 0;
fail:
    cnn_team_free(t);
    return -1;
}

int cnn_team_set_augment(cnn_team *t, const cnn_augment *a)
{
    if (a && !t->aug_x && !(t->aug_x = rt_malloc((size_t)t->m->batch * t->m->in_size * sizeof(float))))
        return -1;
    t->augment = a;
    return 0;
}

void cnn_team_free(cnn_team *t)
{
    cnn_pool_destroy(t->pool);
    for (int i = 0; t->ws && i < t->threads; i++)
        free(t->ws[i]);
    for (int i = 0; t->grads && i < t->threads; i++)
        free(t->grads[i]);
    free(t->ws);
    free(t->grads);
    free(t->grad);
    free(t->grad_sq);
    free(t->aug_x);
    free(t->slices);
    free(t->image_loss);
    free(t->image_pred);
    if (t->syncs)
        pthread_barrier_destroy(&t->barrier);
    free(t->syncs);
    free(t->sum_calls);
    free(t->sum_area[0]);
    free(t->sum_area[1]);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ training */

typedef struct train_pass {
    cnn_team *t;
    const float *params, *x;
    const unsigned char *labels;
    int n;
    uint64_t dropout_key;
} train_pass;

static void train_task(void *ctx, int thread)
{
    const train_pass *p = ctx;
    cnn_team *t = p->t;
    const cnn_model *m = t->m;
    cnn_slice *s = &t->slices[thread];
    cnn_sync *sync = t->syncs ? &t->syncs[thread] : NULL;
    /* A slice without images still takes part in the batch's sums. */
    if (s->count == 0 && !sync)
        return;
    const float *x = p->x + (size_t)s->first * m->in_size;
    const unsigned char *labels = p->labels + s->first;
    float *ws = t->ws[thread];
    /* Augmentation, on this thread's slice: the moved images go to the team's copy. */
    if (t->augment) {
        float *moved = t->aug_x + (size_t)s->first * m->in_size;
        for (int b = 0; b < s->count; b++)
            cnn_augment_image(t->augment, t->augment->ids[s->first + b], x + (size_t)b * m->in_size,
                              moved + (size_t)b * m->in_size, m->in_h, m->in_w, m->in_c);
        x = moved;
    }
    if (sync) {
        sync->first = s->first;
        sync->images = p->n;
    }

    m->forward(p->params, ws, x, s->count, 1, p->dropout_key, s->first, sync);
    /* Training accuracy is read from the training-mode outputs, as Keras reports it. */
    const float *out = m->output(ws);
    for (int b = 0; b < s->count; b++)
        s->correct += cnn_argmax(out + (size_t)b * m->classes, m->classes) == labels[b];
    s->loss = m->backward(p->params, t->grads[thread], ws, x, labels, s->count, 1.0f / (float)p->n, sync);
}

double cnn_team_forward_backward(cnn_team *t, const float *params, const float *x,
                                 const unsigned char *labels, int n, uint64_t dropout_key,
                                 int *correct)
{
    train_pass pass = {t, params, x, labels, n, dropout_key};
    set_slices(t, n);
    cnn_pool_run(t->pool, train_task, &pass);

    double loss = 0;
    int right = 0;
    for (int i = 0; i < t->threads; i++) {
        loss += t->slices[i].loss;
        right += t->slices[i].correct;
    }
    const cnn_collective *c = cnn_get_collective();
    if (c) {
        double sums[2] = {loss, right};
        c->sum_doubles(sums, 2);
        loss = sums[0];
        right = (int)sums[1];
    }
    *correct = right;
    return loss;
}

/* The sum of the squares of this thread's range of the gradient. */
static void square_range(cnn_team *t, int thread)
{
    size_t lo, hi;
    param_range(t, thread, &lo, &hi);
    double sq = 0;
    for (size_t i = lo; i < hi; i++)
        sq += (double)t->grad[i] * t->grad[i];
    t->grad_sq[thread] = sq;
}

/* Sums the threads' gradients over this thread's parameter range, in thread order, and
 * the squares of the sums while they are in cache. */
static void reduce_task(void *ctx, int thread)
{
    cnn_team *t = ctx;
    size_t lo, hi;
    int first = 1;
    param_range(t, thread, &lo, &hi);
    for (int u = 0; u < t->threads; u++) {
        if (t->slices[u].count == 0)
            continue;
        const float *g = t->grads[u];
        if (first)
            memcpy(t->grad + lo, g + lo, (hi - lo) * sizeof(float));
        else
            for (size_t i = lo; i < hi; i++)
                t->grad[i] += g[i];
        first = 0;
    }
    /* A process without images in this batch adds nothing to the processes' sum. */
    if (first)
        memset(t->grad + lo, 0, (hi - lo) * sizeof(float));
    square_range(t, thread);
}

static void square_task(void *ctx, int thread)
{
    square_range(ctx, thread);
}

double cnn_team_reduce(cnn_team *t)
{
    cnn_pool_run(t->pool, reduce_task, t);
    /* The processes' sums, then the squares again, of the gradient every process now has. */
    const cnn_collective *c = cnn_get_collective();
    if (c) {
        c->sum_floats(t->grad, t->m->num_params);
        cnn_pool_run(t->pool, square_task, t);
    }
    double sq = 0;
    for (int i = 0; i < t->threads; i++)
        sq += t->grad_sq[i];
    return sqrt(sq);
}

typedef struct update_pass {
    cnn_team *t;
    float *params, *opt_m, *opt_v;
    long step;
    double learning_rate;
    float grad_scale;
} update_pass;

static void update_task(void *ctx, int thread)
{
    const update_pass *p = ctx;
    size_t lo, hi;
    param_range(p->t, thread, &lo, &hi);
    p->t->m->update_apply(p->params, p->t->grad, p->opt_m, p->opt_v, p->step, p->learning_rate, p->grad_scale,
                          lo, hi);
}

int cnn_team_update(cnn_team *t, float *params, float *opt_m, float *opt_v, long step, double learning_rate,
                    float grad_scale)
{
    const cnn_model *m = t->m;
    update_pass pass = {t, params, opt_m, opt_v, step, learning_rate, grad_scale};
    /* The state (moving statistics) from the step's forward, which every workspace holds. */
    if (m->update_state)
        m->update_state(params, t->ws[0]);
    if (m->update_apply) {
        cnn_pool_run(t->pool, update_task, &pass);
        return 0;
    }
    /* A model written by hand (the unit tests') steps at its own rate only. */
    if (learning_rate != m->train.learning_rate || grad_scale != 1.0f)
        return rt_error("model '%s' has no update_apply: it cannot step at another rate or clip", m->name);
    m->update(params, t->grad, opt_m, opt_v, step);
    return 0;
}

double cnn_team_train_step(cnn_team *t, const float *params, const float *x,
                           const unsigned char *labels, int n, uint64_t dropout_key, int *correct)
{
    double loss = cnn_team_forward_backward(t, params, x, labels, n, dropout_key, correct);
    cnn_team_reduce(t);
    return loss;
}

/* ------------------------------------------------------------------ evaluation */

typedef struct eval_pass {
    cnn_team *t;
    const float *params, *x;
    const unsigned char *labels;
} eval_pass;

static void eval_task(void *ctx, int thread)
{
    const eval_pass *p = ctx;
    cnn_team *t = p->t;
    const cnn_model *m = t->m;
    cnn_slice *s = &t->slices[thread];
    if (s->count == 0)
        return;
    const float *x = p->x + (size_t)s->first * m->in_size;
    m->forward(p->params, t->ws[thread], x, s->count, 0, 0, s->first, NULL);
    const float *out = m->output(t->ws[thread]);
    for (int b = 0; b < s->count; b++) {
        const float *o = out + (size_t)b * m->classes;
        int i = s->first + b;
        t->image_pred[i] = cnn_argmax(o, m->classes);
        t->image_loss[i] = cnn_image_loss(m, o, p->labels[i]);
    }
}

void cnn_team_eval_batch(cnn_team *t, const float *params, const float *x,
                         const unsigned char *labels, int n)
{
    eval_pass pass = {t, params, x, labels};
    set_slices(t, n);
    cnn_pool_run(t->pool, eval_task, &pass);
}
