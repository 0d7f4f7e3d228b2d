/*
 * emit/optimizer.c - the optimizer step: one loop over every parameter, every hyper-parameter
 * but the learning rate written as a literal.
 *
 * All follow Keras. SGD with momentum keeps a velocity in m: v = momentum * v - lr * g, then
 * w += v, or with Nesterov w += momentum * v - lr * g. Adam folds the bias corrections into the
 * step size: alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), w -= alpha * m / (sqrt(v) + eps).
 * AdamW first decays the weights, w -= lr * weight_decay * w, then takes Adam's step. RMSprop
 * keeps the mean square in v: v = rho * v + (1 - rho) * g * g, and steps by
 * lr * g / sqrt(v + eps), through a momentum kept in m when it has one.
 *
 * The learning rate is an argument, a value of the step that the runtime's schedule computes,
 * and so is the scale of the gradient that global_clipnorm asks for (min(1, clipnorm / norm),
 * from the norm the runtime's reduction computes): the gradient is scaled where it is read, with
 * no pass of its own. A model without global_clipnorm ignores the scale.
 */
#include "emit/writer.h"

/* The function every optimizer is: the parameters [lo, hi) only, so that the training
 * threads can each update their own range of the gradient they reduced. */
#define APPLY_SIGNATURE \
    "static void optimizer_apply(float *params, const float *grads, float *m, float *v, long step,\n" \
    "                            double learning_rate, float grad_scale, size_t lo, size_t hi)"

/* The gradient of parameter i as the update reads it: scaled where the model clips. */
static const char *grad_of(const Model *m)
{
    return m->train.global_clipnorm > 0 ? "grads[i] * grad_scale" : "grads[i]";
}

static void sgd(Writer *w, const Model *m)
{
    const TrainConfig *t = &m->train;
    char mom[48];
    w_float_literal(mom, sizeof mom, t->momentum);
    if (t->momentum == 0.0) {
        w_line(w, "/* SGD. */");
        w_begin_function(w, APPLY_SIGNATURE);
        w_line(w, "(void)m;");
        w_line(w, "(void)v;");
        w_line(w, "(void)step;");
        if (t->global_clipnorm == 0)
            w_line(w, "(void)grad_scale;");
        w_line(w, "const float lr = (float)learning_rate;");
        w_line(w, "for (size_t i = lo; i < hi; i++)");
        w_line(w, "    params[i] -= lr * %s;", grad_of(m));
        w_close(w);
        return;
    }
    w_line(w, "/* SGD, momentum %g%s; m holds the velocity. */", t->momentum, t->nesterov ? ", Nesterov" : "");
    w_begin_function(w, APPLY_SIGNATURE);
    w_line(w, "(void)v;");
    w_line(w, "(void)step;");
    if (t->global_clipnorm == 0)
        w_line(w, "(void)grad_scale;");
    w_line(w, "const float lr = (float)learning_rate;");
    w_open(w, "for (size_t i = lo; i < hi; i++)");
    w_line(w, "const float g = %s;", grad_of(m));
    w_line(w, "m[i] = %s * m[i] - lr * g;", mom);
    if (t->nesterov)
        w_line(w, "params[i] += %s * m[i] - lr * g;", mom);
    else
        w_line(w, "params[i] += m[i];");
    w_close(w);
    w_close(w);
}

/* Adam and AdamW run a vector of the target's parameters at a time, with the vector square root
 * and division, which are correctly rounded like sqrtf and /, and the same products and sums in
 * the same order as the scalar loop that finishes the range: a parameter's update does not
 * depend on where the threads' ranges split the vectors. (A plain loop would stay scalar:
 * sqrtf may set errno, so compilers do not vectorise it unless told -fno-math-errno.) */
static void adam(Writer *w, const Model *m)
{
    const TrainConfig *t = &m->train;
    bool decoupled = t->optimizer == OPT_ADAMW;
    bool clips = t->global_clipnorm > 0;
    char b1[48], b2[48], eps[48], b1f[48], b2f[48], one_b1[48], one_b2[48], wd[48];
    w_double_literal(b1, sizeof b1, t->beta_1);
    w_double_literal(b2, sizeof b2, t->beta_2);
    w_float_literal(eps, sizeof eps, t->epsilon);
    w_float_literal(b1f, sizeof b1f, t->beta_1);
    w_float_literal(b2f, sizeof b2f, t->beta_2);
    w_float_literal(one_b1, sizeof one_b1, 1.0 - t->beta_1);
    w_float_literal(one_b2, sizeof one_b2, 1.0 - t->beta_2);
    w_double_literal(wd, sizeof wd, t->weight_decay);
    char eps_text[48];
    w_double_literal(eps_text, sizeof eps_text, t->epsilon);
    int lanes = w->target->lanes;
    if (decoupled)
        w_line(w, "/* AdamW, beta_1 %s, beta_2 %s, epsilon %s, weight decay %s. */", b1, b2, eps_text, wd);
    else
        w_line(w, "/* Adam, beta_1 %s, beta_2 %s, epsilon %s. */", b1, b2, eps_text);
    w_begin_function(w, APPLY_SIGNATURE);
    if (!clips)
        w_line(w, "(void)grad_scale;");
    w_line(w, "const double t = (double)step;");
    w_line(w, "const float alpha = (float)(learning_rate * sqrt(1.0 - pow(%s, t)) / (1.0 - pow(%s, t)));", b2, b1);
    if (decoupled)
        w_line(w, "const float decay = (float)(learning_rate * %s);", wd);
    w_line(w, "size_t i = lo;");
    w_line(w, "cnn_vf beta_1, one_beta_1, beta_2, one_beta_2, rate, epsilon%s%s;", decoupled ? ", wdecay" : "",
           clips ? ", scale" : "");
    w_line(w, "VF_SET1(beta_1, %s);", b1f);
    w_line(w, "VF_SET1(one_beta_1, %s);", one_b1);
    w_line(w, "VF_SET1(beta_2, %s);", b2f);
    w_line(w, "VF_SET1(one_beta_2, %s);", one_b2);
    w_line(w, "VF_SET1(rate, alpha);");
    w_line(w, "VF_SET1(epsilon, %s);", eps);
    if (decoupled)
        w_line(w, "VF_SET1(wdecay, decay);");
    if (clips)
        w_line(w, "VF_SET1(scale, grad_scale);");
    w_open(w, "for (; i + %d <= hi; i += %d)", lanes, lanes);
    w_line(w, "cnn_vf g, mi, vi, p, u, d;");
    w_line(w, "VF_LOAD(g, grads + i);");
    if (clips)
        w_line(w, "VF_MUL(g, scale);");
    w_line(w, "VF_LOAD(mi, m + i);");
    w_line(w, "VF_LOAD(vi, v + i);");
    w_line(w, "VF_LOAD(p, params + i);");
    if (decoupled) {
        w_line(w, "/* w -= learning_rate * weight_decay * w */");
        w_line(w, "VF_COPY(u, p);");
        w_line(w, "VF_MUL(u, wdecay);");
        w_line(w, "VF_SUB(p, u);");
    }
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
    w_line(w, "const float g = %s;", grad_of(m));
    if (decoupled)
        w_line(w, "params[i] -= params[i] * decay;");
    w_line(w, "m[i] = %s * m[i] + %s * g;", b1f, one_b1);
    w_line(w, "v[i] = %s * v[i] + %s * g * g;", b2f, one_b2);
    w_line(w, "params[i] -= alpha * m[i] / (sqrtf(v[i]) + %s);", eps);
    w_close(w);
    w_close(w);
}

/* RMSprop, scalar: its square root is of v + epsilon, once a parameter. */
static void rmsprop(Writer *w, const Model *m)
{
    const TrainConfig *t = &m->train;
    char rho[48], one_rho[48], eps[48], mom[48];
    w_float_literal(rho, sizeof rho, t->rho);
    w_float_literal(one_rho, sizeof one_rho, 1.0 - t->rho);
    w_float_literal(eps, sizeof eps, t->epsilon);
    w_float_literal(mom, sizeof mom, t->momentum);
    w_line(w, "/* RMSprop, rho %g, momentum %g, epsilon %g; v holds the mean square%s. */", t->rho, t->momentum,
           t->epsilon, t->momentum > 0 ? ", m the momentum" : "");
    w_begin_function(w, APPLY_SIGNATURE);
    if (t->momentum == 0)
        w_line(w, "(void)m;");
    w_line(w, "(void)step;");
    if (t->global_clipnorm == 0)
        w_line(w, "(void)grad_scale;");
    w_line(w, "const float lr = (float)learning_rate;");
    w_open(w, "for (size_t i = lo; i < hi; i++)");
    w_line(w, "const float g = %s;", grad_of(m));
    w_line(w, "v[i] = %s * v[i] + %s * (g * g);", rho, one_rho);
    w_line(w, "const float increment = lr * g / sqrtf(v[i] + %s);", eps);
    if (t->momentum > 0) {
        w_line(w, "m[i] = %s * m[i] + increment;", mom);
        w_line(w, "params[i] -= m[i];");
    } else {
        w_line(w, "params[i] -= increment;");
    }
    w_close(w);
    w_close(w);
}

void emit_optimizer(Writer *w, const Model *m)
{
    char lr[48];
    w_double_literal(lr, sizeof lr, m->train.learning_rate);
    switch (m->train.optimizer) {
    case OPT_SGD: sgd(w, m); break;
    case OPT_ADAM:
    case OPT_ADAMW: adam(w, m); break;
    case OPT_RMSPROP: rmsprop(w, m); break;
    }
    w_blank(w);
    w_line(w, "/* The step over [lo, hi) at the model's learning rate, %s, the gradient as it is. */", lr);
    w_begin_function(w, "static void optimizer_update(float *params, const float *grads, float *m, float *v, "
                        "long step, size_t lo, size_t hi)");
    w_line(w, "optimizer_apply(params, grads, m, v, step, %s, 1.0f, lo, hi);", lr);
    w_close(w);
    w_blank(w);
    w_line(w, "/* One optimizer step over every parameter. */");
    w_begin_function(w, "static void optimizer_step(float *params, const float *grads, float *m, float *v, long step)");
    w_line(w, "optimizer_update(params, grads, m, v, step, 0, %lld);", m->total_params);
    w_close(w);
    w_blank(w);
}
