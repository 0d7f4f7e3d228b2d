/*
 * emit/train_words.c - the optimizer and the settings of contract version 2 (schedule,
 * early_stopping, augment) as the model language writes them, resolved: the canonical text
 * and the ONNX export's train block print them through here, each with its own way of
 * writing a real. The new settings are written only where the model sets them, so that the
 * text of a model without them is what it was before they existed.
 */
#include <stdio.h>

#include "cnnc.h"

void put_optimizer_call(FILE *f, const TrainConfig *t, void (*num)(FILE *, double))
{
    fprintf(f, "%s(learning_rate=", optimizer_names[t->optimizer]);
    num(f, t->learning_rate);
    switch (t->optimizer) {
    case OPT_SGD:
        fputs(", momentum=", f);
        num(f, t->momentum);
        fprintf(f, ", nesterov=%s", t->nesterov ? "true" : "false");
        break;
    case OPT_ADAM:
    case OPT_ADAMW:
        fputs(", beta_1=", f);
        num(f, t->beta_1);
        fputs(", beta_2=", f);
        num(f, t->beta_2);
        fputs(", epsilon=", f);
        num(f, t->epsilon);
        if (t->optimizer == OPT_ADAMW) {
            fputs(", weight_decay=", f);
            num(f, t->weight_decay);
        }
        break;
    case OPT_RMSPROP:
        fputs(", rho=", f);
        num(f, t->rho);
        fputs(", momentum=", f);
        num(f, t->momentum);
        fputs(", epsilon=", f);
        num(f, t->epsilon);
        break;
    }
    if (t->global_clipnorm > 0) {
        fputs(", global_clipnorm=", f);
        num(f, t->global_clipnorm);
    }
    fputc(')', f);
}

void put_train_extras(FILE *f, const TrainConfig *t, void (*num)(FILE *, double), const char *indent,
                      const char *end)
{
    if (t->schedule != SCHED_CONSTANT) {
        fprintf(f, "%sschedule %s(", indent, schedule_names[t->schedule]);
        switch (t->schedule) {
        case SCHED_CONSTANT: break;
        case SCHED_EXPONENTIAL:
            fprintf(f, "decay_steps=%d, decay_rate=", t->decay_steps);
            num(f, t->decay_rate);
            fprintf(f, ", staircase=%s", t->staircase ? "true" : "false");
            break;
        case SCHED_COSINE:
            fprintf(f, "decay_steps=%d, alpha=", t->decay_steps);
            num(f, t->alpha);
            break;
        case SCHED_PLATEAU:
            fputs("factor=", f);
            num(f, t->factor);
            fprintf(f, ", patience=%d, min_delta=", t->patience);
            num(f, t->min_delta);
            fputs(", min_lr=", f);
            num(f, t->min_lr);
            break;
        }
        fprintf(f, ")%s\n", end);
    }
    if (t->early_stopping) {
        fprintf(f, "%searly_stopping(patience=%d, min_delta=", indent, t->stop_patience);
        num(f, t->stop_min_delta);
        fprintf(f, ", restore_best=%s)%s\n", t->restore_best ? "true" : "false", end);
    }
    if (t->augment) {
        fprintf(f, "%saugment(shift=%d, rotation=", indent, t->shift);
        num(f, t->rotation);
        fprintf(f, ")%s\n", end);
    }
}
