/*
 * emit/optimizer.c - the optimizer step: one loop over every parameter, the hyper-parameters
 * written as literals.
 *
 * Both follow Keras. SGD with momentum keeps a velocity in m: v = momentum * v - lr * g, then
 * w += v, or with Nesterov w += momentum * v - lr * g. Adam folds the bias corrections into the
 * step size: alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), w -= alpha * m / (sqrt(v) + eps).
 */
#include "emit/writer.h"

/* The signature every optimizer shares: the parameters [lo, hi) only, so that the training
 * threads can each update their own range of the gradient they reduced. */
#define UPDATE_SIGNATURE \
    "static void optimizer_update(float *params, const float *grads, float *m, float *v, long step, " \
    "size_t lo, size_t hi)"

static void sgd(Writer *w, const Model *m)
{
    const TrainConfig *t = &m->train;
    char lr[48], mom[48];
    w_float_literal(lr, sizeof lr, t->learning_rate);
    w_float_literal(mom, sizeof mom, t->momentum);
    if (t->momentum == 0.0) {
        w_line(w, "/* SGD, learning rate %g. */", t->learning_rate);
        w_begin_function(w, UPDATE_SIGNATURE);
        w_line(w, "(void)m;");
        w_line(w, "(void)v;");
        w_line(w, "(void)step;");
        w_line(w, "for (size_t i = lo; i < hi; i++)");
        w_line(w, "    params[i] -= %s * grads[i];", lr);
        w_close(w);
        return;
    }
    w_line(w, "/* SGD, learning rate %g, momentum %g%s; m holds the velocity. */", t->learning_rate, t->momentum,
           t->nesterov ? ", Nesterov" : "");
    w_begin_function(w, UPDATE_SIGNATURE);
    w_line(w, "(void)v;");
    w_line(w, "(void)step;");
    w_open(w, "for (size_t i = lo; i < hi; i++)");
    w_line(w, "m[i] = %s * m[i] - %s * grads[i];", mom, lr);
    if (t->nesterov)
        w_line(w, "params[i] += %s * m[i] - %s * grads[i];", mom, lr);
    else
        w_line(w, "params[i] += m[i];");
    w_close(w);
    w_close(w);
}

/* Adam runs a vector of the target's parameters at a time, with the vector square root and
 * division, which are correctly rounded like sqrtf and /, and the same products and sums in
 * the same order as the scalar loop that finishes the range: a parameter's update does not
 * depend on where the threads' ranges split the vectors. (A plain loop would stay scalar:
 * sqrtf may set errno, so compilers do not vectorise it unless told -fno-math-errno.) */
static void adam(Writer *w, const Model *m)
{
    const TrainConfig *t = &m->train;
    char lr[48], b1[48], b2[48], eps[48], b1f[48], b2f[48], one_b1[48], one_b2[48];
    w_double_literal(lr, sizeof lr, t->learning_rate);
    w_double_literal(b1, sizeof b1, t->beta_1);
    w_double_literal(b2, sizeof b2, t->beta_2);
    w_float_literal(eps, sizeof eps, t->epsilon);
    w_float_literal(b1f, sizeof b1f, t->beta_1);
    w_float_literal(b2f, sizeof b2f, t->beta_2);
    w_float_literal(one_b1, sizeof one_b1, 1.0 - t->beta_1);
    w_float_literal(one_b2, sizeof one_b2, 1.0 - t->beta_2);
    char eps_text[48];
    w_double_literal(eps_text, sizeof eps_text, t->epsilon);
    int lanes = w->target->lanes;
    w_line(w, "/* Adam, learning rate %s, beta_1 %s, beta_2 %s, epsilon %s. */", lr, b1, b2, eps_text);
    w_begin_function(w, UPDATE_SIGNATURE);
    w_line(w, "const double t = (double)step;");
    w_line(w, "const float alpha = (float)(%s * sqrt(1.0 - pow(%s, t)) / (1.0 - pow(%s, t)));", lr, b2, b1);
    w_line(w, "size_t i = lo;");
    w_line(w, "cnn_vf beta_1, one_beta_1, beta_2, one_beta_2, rate, epsilon;");
    w_line(w, "VF_SET1(beta_1, %s);", b1f);
    w_line(w, "VF_SET1(one_beta_1, %s);", one_b1);
    w_line(w, "VF_SET1(beta_2, %s);", b2f);
    w_line(w, "VF_SET1(one_beta_2, %s);", one_b2);
    w_line(w, "VF_SET1(rate, alpha);");
    w_line(w, "VF_SET1(epsilon, %s);", eps);
    w_open(w, "for (; i + %d <= hi; i += %d)", lanes, lanes);
    w_line(w, "cnn_vf g, mi, vi, p, u, d;");
    w_line(w, "VF_LOAD(g, grads + i);");
    w_line(w, "VF_LOAD(mi, m + i);");
    w_line(w, "VF_LOAD(vi, v + i);");
    w_line(w, "VF_LOAD(p, params + i);");
    w_line(w, "/* m = beta_1 * m + (1 - beta_1) * g */");
    w_line(w, "VF_MUL(mi, beta_1);");
    w_line(w, "VF_COPY(u, g);");
    w_line(w, "VF_MUL(u, one_beta_1);");
    w_line(w, "VF_ADD(mi, u);");
    w_line(w, "/* v = beta_2 * v + (1 - beta_2) * g * g */");
    w_line(w, "VF_MUL(vi, beta_2);");
    w_line(w, "VF_COPY(u, g);");
    w_line(w, "VF_MUL(u, one_beta_2);");
    w_line(w, "VF_MUL(u, g);");
    w_line(w, "VF_ADD(vi, u);");
    w_line(w, "/* w -= alpha * m / (sqrt(v) + epsilon) */");
    w_line(w, "VF_COPY(d, vi);");
    w_line(w, "VF_SQRT(d);");
    w_line(w, "VF_ADD(d, epsilon);");
    w_line(w, "VF_COPY(u, mi);");
    w_line(w, "VF_MUL(u, rate);");
    w_line(w, "VF_DIV(u, d);");
    w_line(w, "VF_SUB(p, u);");
    w_line(w, "VF_STORE(m + i, mi);");
    w_line(w, "VF_STORE(v + i, vi);");
    w_line(w, "VF_STORE(params + i, p);");
    w_close(w);
    w_open(w, "for (; i < hi; i++)");
    w_line(w, "const float g = grads[i];");
    w_line(w, "m[i] = %s * m[i] + %s * g;", b1f, one_b1);
    w_line(w, "v[i] = %s * v[i] + %s * g * g;", b2f, one_b2);
    w_line(w, "params[i] -= alpha * m[i] / (sqrtf(v[i]) + %s);", eps);
    w_close(w);
    w_close(w);
}

void emit_optimizer(Writer *w, const Model *m)
{
    if (m->train.optimizer == OPT_ADAM)
        adam(w, m);
    else
        sgd(w, m);
    w_blank(w);
    w_line(w, "/* One optimizer step over every parameter. */");
    w_begin_function(w, "static void optimizer_step(float *params, const float *grads, float *m, float *v, long step)");
    w_line(w, "optimizer_update(params, grads, m, v, step, 0, %lld);", m->total_params);
    w_close(w);
    w_blank(w);
}
