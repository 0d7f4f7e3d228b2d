/*
 * threads.c - a persistent pool of worker threads and the data-parallel training step.
 *
 * Each step splits the batch into contiguous slices, one per thread; every thread runs the
 * model's forward and backward on its slice into its own workspace and gradient buffer, then
 * the gradients are summed in thread order (the threads share the work by parameter range,
 * but each parameter always adds thread 0's, then thread 1's, ... value). Nothing is created
 * or allocated per step, and a run with the same seed and thread count is bit-for-bit
 * repeatable.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads.h"

typedef struct pool_worker {
    struct cnn_pool *pool;
    int index;
    pthread_t id;
} pool_worker;

struct cnn_pool {
    int threads;
    int started;             /* worker threads actually created (threads - 1 once ready) */
    pool_worker *workers;    /* [threads]; index 0 is the caller and has no thread */
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* a new task or the stop flag */
    pthread_cond_t done;     /* the last worker finished the task */
    unsigned long generation;
    int pending;
    int stop;
    cnn_pool_task task;
    void *ctx;
};

/* Workers sleep on a condition variable between tasks: a step of a real model takes
 * milliseconds, so the microseconds of a wake-up are cheaper than a spinning core. */
static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    cnn_pool *p = w->pool;
    unsigned long seen = 0;

    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->generation == seen && !p->stop)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = p->generation;
        cnn_pool_task task = p->task;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);

        task(ctx, w->index);

        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

cnn_pool *cnn_pool_create(int threads)
{
    if (threads < 1)
        threads = 1;
    cnn_pool *p = rt_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    p->workers = rt_calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        if (pthread_create(&p->workers[i].id, NULL, worker_main, &p->workers[i]) != 0) {
            rt_error("cannot start thread %d of %d", i + 1, threads);
            cnn_pool_destroy(p);
            return NULL;
        }
        p->started++;
    }
    return p;
}

void cnn_pool_run(cnn_pool *p, cnn_pool_task task, void *ctx)
{
    if (p->threads > 1) {
        pthread_mutex_lock(&p->lock);
        p->task = task;
        p->ctx = ctx;
        p->pending = p->threads - 1;
        p->generation++;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    task(ctx, 0);
    if (p->threads > 1) {
        pthread_mutex_lock(&p->lock);
        while (p->pending > 0)
            pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
}

void cnn_pool_destroy(cnn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i <= p->started; i++)
        pthread_join(p->workers[i].id, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

/* ------------------------------------------------------------------ the team */

/* Thread t's slice of n images: contiguous, the first n % threads slices one longer, so
 * that only trailing threads are idle when n < threads (a last partial batch). */
static void set_slices(cnn_team *t, int n)
{
    int base = n / t->threads, extra = n % t->threads, first = 0;
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
    t->image_loss = rt_calloc((size_t)m->batch, sizeof *t->image_loss);
    t->image_pred = rt_calloc((size_t)m->batch, sizeof *t->image_pred);
    if (!t->ws || !t->slices || !t->image_loss || !t->image_pred)
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
    if (!(t->pool = cnn_pool_create(t->threads)))
        goto fail;
    cnn_pool_run(t->pool, touch_task, t);
    return 0;
fail:
    cnn_team_free(t);
    return -1;
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
    free(t->slices);
    free(t->image_loss);
    free(t->image_pred);
    memset(t, 0, sizeof *t);
}

static void train_task(void *ctx, int thread)
{
    cnn_team *t = ctx;
    const cnn_model *m = t->m;
    cnn_slice *s = &t->slices[thread];
    if (s->count == 0)
        return;
    const float *x = t->x + (size_t)s->first * m->in_size;
    const unsigned char *labels = t->labels + s->first;
    float *ws = t->ws[thread];

    m->forward(t->params, ws, x, s->count, 1, t->dropout_key, s->first);
    /* Training accuracy is read from the training-mode outputs, as Keras reports it. */
    const float *out = m->output(ws);
    for (int b = 0; b < s->count; b++)
        s->correct += cnn_argmax(out + (size_t)b * m->classes, m->classes) == labels[b];
    s->loss = m->backward(t->params, t->grads[thread], ws, x, labels, s->count, 1.0f / (float)t->n);
}

/* Sums the threads' gradients over this thread's parameter range, in thread order, then
 * (when asked) applies the optimizer to the same range while it is still in cache. */
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
    if (t->update_params)
        t->m->update_range(t->update_params, t->grad, t->opt_m, t->opt_v, t->opt_step, lo, hi);
}

double cnn_team_forward_backward(cnn_team *t, const float *params, const float *x,
                                 const unsigned char *labels, int n, uint64_t dropout_key, int *correct)
{
    t->params = params;
    t->x = x;
    t->labels = labels;
    t->n = n;
    t->dropout_key = dropout_key;
    set_slices(t, n);
    cnn_pool_run(t->pool, train_task, t);

    double loss = 0;
    int right = 0;
    for (int i = 0; i < t->threads; i++) {
        loss += t->slices[i].loss;
        right += t->slices[i].correct;
    }
    *correct = right;
    return loss;
}

void cnn_team_reduce(cnn_team *t)
{
    t->update_params = NULL;
    cnn_pool_run(t->pool, reduce_task, t);
}

void cnn_team_reduce_update(cnn_team *t, float *params, float *opt_m, float *opt_v, long step)
{
    if (!t->m->update_range) {
        cnn_team_reduce(t);
        t->m->update(params, t->grad, opt_m, opt_v, step);
        return;
    }
    t->update_params = params;
    t->opt_m = opt_m;
    t->opt_v = opt_v;
    t->opt_step = step;
    cnn_pool_run(t->pool, reduce_task, t);
    t->update_params = NULL;
}

double cnn_team_train_step(cnn_team *t, const float *params, const float *x,
                           const unsigned char *labels, int n, uint64_t dropout_key, int *correct)
{
    double loss = cnn_team_forward_backward(t, params, x, labels, n, dropout_key, correct);
    cnn_team_reduce(t);
    return loss;
}

static void eval_task(void *ctx, int thread)
{
    cnn_team *t = ctx;
    const cnn_model *m = t->m;
    cnn_slice *s = &t->slices[thread];
    if (s->count == 0)
        return;
    const float *x = t->x + (size_t)s->first * m->in_size;
    m->forward(t->params, t->ws[thread], x, s->count, 0, 0, s->first);
    const float *out = m->output(t->ws[thread]);
    for (int b = 0; b < s->count; b++) {
        const float *o = out + (size_t)b * m->classes;
        int i = s->first + b;
        t->image_pred[i] = cnn_argmax(o, m->classes);
        t->image_loss[i] = cnn_image_loss(m, o, t->labels[i]);
    }
}

void cnn_team_eval_batch(cnn_team *t, const float *params, const float *x,
                         const unsigned char *labels, int n)
{
    t->params = params;
    t->x = x;
    t->labels = labels;
    t->n = n;
    set_slices(t, n);
    cnn_pool_run(t->pool, eval_task, t);
}

int cnn_thread_count(const cnn_model *m, int requested)
{
    int n = requested;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 && cores < 4096 ? (int)cores : 1;
    }
    return n > m->batch ? m->batch : n;
}
