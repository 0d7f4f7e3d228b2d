/*
 * check/memory_plan.c - the bytes a build of a checked model needs, as the MemoryPlan in cnnc.h
 * describes them, and the limits on them.
 *
 * A model can have 100,000 layers of large outputs, so every sum and product here is
 * checked; a plan that cannot be counted, or that no machine cnnc targets could allocate,
 * is an error at the model's name.
 */
#include <limits.h>

#include "layers/layer.h"

/* Training needs more than this and the build is refused: it could never be allocated. */
#define MAX_TRAINING_BYTES (64LL << 30)

typedef struct Sum {
    long long v;
    bool overflow;
} Sum;

static void add(Sum *s, long long x)
{
    if (x < 0 || __builtin_add_overflow(s->v, x, &s->v))
        s->overflow = true;
}

static long long times(Sum *s, long long a, long long b)
{
    long long r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) {
        s->overflow = true;
        return 0;
    }
    return r;
}

/* The workspace of one training thread, in floats: the batch's input, every output a layer
 * writes, what forward keeps for backward, then the gradient of every output. A view
 * (flatten) is its input's floats and its gradient its input's gradient, except that the first
 * layer's gradient always has a place of its own. */
static void plan_workspace(Model *m, Sum *outputs, Sum *aux, Sum *grads)
{
    Sum ws = {0};
    long long batch = m->train.batch_size;
    m->mem.ws_input = 0;
    add(&ws, times(&ws, batch, shape_size(m->input)));
    for (int i = 0; i < m->nlayers; i++) {
        Layer *L = &m->layers[i];
        if (layer_ops(L->kind)->is_view) {
            L->ws_out = i > 0 ? m->layers[i - 1].ws_out : m->mem.ws_input;
            continue;
        }
        L->ws_out = ws.v;
        add(outputs, shape_size(L->out));
        add(&ws, times(&ws, batch, shape_size(L->out)));
    }
    for (int i = 0; i < m->nlayers; i++) {
        Layer *L = &m->layers[i];
        L->ws_aux = -1;
        if (L->aux_size > 0) {
            L->ws_aux = ws.v;
            add(aux, L->aux_size);
            add(&ws, times(&ws, batch, L->aux_size));
        }
    }
    for (int i = 0; i < m->nlayers; i++) {
        Layer *L = &m->layers[i];
        if (layer_ops(L->kind)->is_view && i > 0) {
            L->ws_dout = m->layers[i - 1].ws_dout;
            continue;
        }
        L->ws_dout = ws.v;
        add(grads, shape_size(L->out));
        add(&ws, times(&ws, batch, shape_size(L->out)));
    }
    outputs->overflow |= ws.overflow;
    m->mem.ws_floats = ws.v;
}

bool plan_memory(Model *m, Loc where)
{
    Sum params = {0}, macs = {0}, outputs = {0}, aux = {0}, grads = {0}, total = {0};
    long long input = shape_size(m->input);
    long long widest = input;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *L = &m->layers[i];
        add(&params, L->params);
        add(&macs, L->macs);
        if (shape_size(L->out) > widest)
            widest = shape_size(L->out);
    }
    if (macs.overflow) {
        error_at(where, "the model's multiply-accumulates per image are too many to count in "
                 "64-bit arithmetic");
        return false;
    }
    if (params.overflow || params.v > INT_MAX) {
        error_at(where, "the model has %s%lld parameters; the generated code indexes them with "
                 "int, so it may have at most %d", params.overflow ? "more than " : "",
                 params.overflow ? LLONG_MAX : params.v, INT_MAX);
        return false;
    }
    m->total_params = params.v;
    m->total_macs = macs.v;
    plan_workspace(m, &outputs, &aux, &grads);

    long long batch = m->train.batch_size;
    MemoryPlan *p = &m->mem;
    Sum acts = {input, false};
    add(&acts, outputs.v);
    acts.overflow |= outputs.overflow || aux.overflow || grads.overflow;
    p->params = 4 * params.v;
    p->activations = times(&total, times(&total, 4, batch), acts.v);
    p->aux = times(&total, times(&total, 4, batch), aux.v);
    p->act_grads = times(&total, times(&total, 4, batch), grads.v);
    p->param_grads = 4 * params.v;
    if (m->train.optimizer == OPT_ADAM)
        p->optimizer = 8 * params.v;
    else
        p->optimizer = m->train.momentum > 0 ? 4 * params.v : 0;
    add(&total, p->params);
    add(&total, p->activations);
    add(&total, p->aux);
    add(&total, p->act_grads);
    add(&total, p->param_grads);
    add(&total, p->optimizer);
    total.overflow |= acts.overflow;
    if (total.overflow) {
        error_at(where, "training this model needs more memory than 64-bit arithmetic can "
                 "count (batch size %lld)", batch);
        return false;
    }
    p->training_total = total.v;
    if (p->training_total > MAX_TRAINING_BYTES) {
        error_at(where, "training this model needs %lld bytes (%.1f GiB) at batch size %lld, "
                 "more than the 64 GiB a build may allocate", p->training_total,
                 (double)p->training_total / (1LL << 30), batch);
        return false;
    }
    /* Both fit: widest is below 2^31 floats, and params below 2^33 bytes. */
    p->infer_scratch = 4 * 2 * widest;
    p->infer_total = p->params + p->infer_scratch;
    return true;
}
