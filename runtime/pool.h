/*
 * pool.h - a pool of worker threads created once, the bottom of the runtime's parallel
 * layers: pool (this) <- team (the passes over a batch) <- eval <- trainer.
 *
 * It knows nothing of models. Private to the runtime: not part of cnnrt.h.
 */
#ifndef CNN_POOL_H
#define CNN_POOL_H

/* cnn_pool_run runs task(ctx, t) for every t in [0, threads), t = 0 on the calling thread,
 * and returns when all have finished. ctx belongs to the caller and describes this one run:
 * the pool keeps nothing of it afterwards. */
typedef struct cnn_pool cnn_pool;
typedef void (*cnn_pool_task)(void *ctx, int thread);

cnn_pool *cnn_pool_create(int threads); /* NULL after an error message */
void cnn_pool_run(cnn_pool *p, cnn_pool_task task, void *ctx);
void cnn_pool_destroy(cnn_pool *p);

/* The cores online (at least 1). */
int cnn_core_count(void);

#endif
