/*
 * check/memory_plan.c - the bytes a build of a checked model needs, as the MemoryPlan in cnnc.h
 * describes them, and the limits on them.
 *
 * A model can have 100,000 layers of large outputs, so every sum and product here is
 * checked; a plan that cannot be counted, or that no machine cnnc targets could allocate,
 * is an error at the model's name.
 */
#include <limits.h>
#include <stdlib.h>

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

static long long producer_out(const Model *m, int p)
{
    return p < 0 ? m->mem.ws_input : m->layers[p].ws_out;
}

/* A view's gradient is its producer's own when it is the only reader of that output; elsewhere
 * it needs its own, which its backward copies on. */
static bool aliases_gradient(const Model *m, const Layer *L)
{
    return layer_ops(L->kind)->is_view && L->inputs[0] >= 0 && m->layers[L->inputs[0]].readers == 1;
}

/* Who reads what, and what trains: the readers of every output, and whether a gradient flows
 * into each layer (it or one it depends on has parameters). */
static void plan_graph(Model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        m->layers[i].readers = 0;
    for (int i = 0; i < m->nlayers; i++) {
        Layer *L = &m->layers[i];
        L->trains = L->params > 0;
        for (int k = 0; k < L->ninputs; k++) {
            int p = L->inputs[k];
            if (p < 0)
                continue;
            m->layers[p].readers++;
            L->trains |= m->layers[p].trains;
        }
    }
}

/* The workspace of one training thread, in floats: the batch's input, every output a layer
 * writes, what forward keeps for backward, then the gradient of every output, then the scratch
 * the gradients of outputs with several readers are summed through. A view (flatten) is its
 * input's floats, and its gradient its input's where it is that input's only reader. */
static void plan_workspace(Model *m, Sum *outputs, Sum *aux, Sum *grads)
{
    Sum ws = {0};
    long long batch = m->train.batch_size;
    m->mem.ws_input = 0;
    add(&ws, times(&ws, batch, shape_size(m->input)));
    for (int i = 0; i < m->nlayers; i++) {
        Layer *L = &m->layers[i];
        if (layer_ops(L->kind)->is_view) {
            L->ws_out = producer_out(m, L->inputs[0]);
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
        if (aliases_gradient(m, L)) {
            L->ws_dout = m->layers[L->inputs[0]].ws_dout;
            continue;
        }
        L->ws_dout = ws.v;
        add(grads, shape_size(L->out));
        add(&ws, times(&ws, batch, shape_size(L->out)));
    }
    /* Backward runs from the last layer to the first, so an output's readers run before it:
     * the first of them to run writes the output's gradient, the others write a scratch
     * buffer that is added to it at once. A reader of two inputs may need two at a time. */
    bool *written = xcalloc((size_t)m->nlayers + 1, sizeof *written);
    long long scratch[2] = {0, 0};
    for (int j = m->nlayers - 1; j >= 0; j--) {
        Layer *L = &m->layers[j];
        int used = 0;
        for (int k = 0; k < 2; k++) {
            L->ws_din[k] = -1;
            L->din_adds[k] = false;
        }
        for (int k = 0; k < L->ninputs; k++) {
            int p = L->inputs[k];
            if (p < 0 || !m->layers[p].trains)
                continue;
            if (!written[p]) {
                L->ws_din[k] = m->layers[p].ws_dout;
                written[p] = true;
            } else {
                L->din_adds[k] = true;
                L->ws_din[k] = used; /* a scratch index for now */
                if (shape_size(m->layers[p].out) > scratch[used])
                    scratch[used] = shape_size(m->layers[p].out);
                used++;
            }
        }
    }
    free(written);
    long long *scratch_at = m->mem.ws_scratch;
    for (int s = 0; s < 2; s++) {
        scratch_at[s] = ws.v;
        m->mem.scratch_size[s] = scratch[s];
        add(grads, scratch[s]);
        add(&ws, times(&ws, batch, scratch[s]));
    }
    for (int j = 0; j < m->nlayers; j++)
        for (int k = 0; k < m->layers[j].ninputs; k++)
            if (m->layers[j].din_adds[k])
                m->layers[j].ws_din[k] = scratch_at[m->layers[j].ws_din[k]];
    outputs->overflow |= ws.overflow;
    m->mem.ws_floats = ws.v;
}

/* The inference-only predictor keeps each output in one of a few buffers of the widest size,
 * until the last layer that reads it has run; the model's input is in buffer 0 (where the u8
 * entry point scales the pixels). A chain needs two, used in turns. Views (flatten, and dropout
 * at inference) are their input's buffer. Returns how many buffers. */
static int plan_inference(Model *m, long long widest)
{
    int n = m->nlayers;
    int *last_read = xcalloc((size_t)n + 1, sizeof *last_read); /* [p + 1]: -1 is the input */
    int *slot = xcalloc((size_t)n + 1, sizeof *slot);
    bool *busy = xcalloc((size_t)n + 2, sizeof *busy);
    for (int i = 0; i <= n; i++)
        last_read[i] = -1;
    /* A view reads nothing itself: its readers read its input's buffer. */
    int *source = xcalloc((size_t)n + 1, sizeof *source); /* [i + 1]: whose buffer holds i's output */
    source[0] = -1;
    for (int i = 0; i < n; i++) {
        const Layer *L = &m->layers[i];
        const LayerOps *ops = layer_ops(L->kind);
        bool view = ops->is_view || ops->identity_at_inference;
        source[i + 1] = view ? source[L->inputs[0] + 1] : i;
        for (int k = 0; k < L->ninputs; k++)
            last_read[source[L->inputs[k] + 1] + 1] = i;
    }
    /* frees[i]: the buffers (outputs, -1 the input) whose last reader is layer i. */
    int *frees = xcalloc((size_t)n + 1, sizeof *frees), *next = xcalloc((size_t)n + 1, sizeof *next);
    for (int i = 0; i < n; i++)
        frees[i] = -2;
    for (int p = -1; p < n; p++)
        if (last_read[p + 1] >= 0 && (p < 0 || source[p + 1] == p)) {
            next[p + 1] = frees[last_read[p + 1]];
            frees[last_read[p + 1]] = p;
        }
    int slots = 1;
    slot[0] = 0;
    busy[0] = true;
    for (int i = 0; i < n; i++) {
        Layer *L = &m->layers[i];
        if (source[i + 1] != i) {
            L->infer_out = slot[source[i + 1] + 1] * widest;
            continue;
        }
        int s = 0;
        while (busy[s])
            s++;
        busy[s] = true;
        if (s + 1 > slots)
            slots = s + 1;
        slot[i + 1] = s;
        L->infer_out = s * widest;
        /* The buffers whose last reader this was are free for the layers after it. */
        for (int p = frees[i]; p != -2; p = next[p + 1])
            busy[slot[p + 1]] = false;
    }
    free(frees);
    free(next);
    free(last_read);
    free(slot);
    free(busy);
    free(source);
    m->mem.infer_buffers = slots < 2 ? 2 : slots;
    return m->mem.infer_buffers;
}

bool plan_memory(Model *m, Loc where)
{
    Sum params = {0}, state = {0}, macs = {0}, outputs = {0}, aux = {0}, grads = {0}, total = {0};
    long long input = shape_size(m->input);
    long long widest = input;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *L = &m->layers[i];
        add(&params, L->params);
        add(&state, L->state_size);
        add(&macs, L->macs);
        if (shape_size(L->out) > widest)
            widest = shape_size(L->out);
    }
    if (macs.overflow) {
        error_at(where, "the model's multiply-accumulates per image are too many to count in "
                 "64-bit arithmetic");
        return false;
    }
    add(&params, state.v);
    if (params.overflow || state.overflow || params.v > INT_MAX) {
        error_at(where, "the model has %s%lld parameters; the generated code indexes them with "
                 "int, so it may have at most %d", params.overflow ? "more than " : "",
                 params.overflow ? LLONG_MAX : params.v, INT_MAX);
        return false;
    }
    m->total_params = params.v - state.v;
    m->total_state = state.v;
    m->total_macs = macs.v;
    plan_graph(m);
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
    /* Gradients and optimizer moments cover the trainable parameters, not the state. */
    p->param_grads = 4 * m->total_params;
    /* Adam and AdamW: both moments; RMSprop: the mean square, and a momentum when it has one;
     * SGD: a velocity when it has momentum. */
    if (m->train.optimizer == OPT_ADAM || m->train.optimizer == OPT_ADAMW)
        p->optimizer = 8 * m->total_params;
    else
        p->optimizer = ((m->train.optimizer == OPT_RMSPROP) + (m->train.momentum > 0)) * 4 * m->total_params;
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
    /* Both fit: widest is below 2^31 floats, params below 2^33 bytes, and there are at most as
     * many buffers as layers. */
    p->infer_scratch = 4 * plan_inference(m, widest) * widest;
    p->infer_total = p->params + p->infer_scratch;
    return true;
}
