/*
 * onnx/train_text.c - a model's train block as model-file text, for the metadata of an
 * exported file (`cnnc.train`): ONNX has no place for training settings, and with them an
 * export followed by an import gives back the same model, train block included.
 *
 * Every setting is written, resolved, so that the text does not depend on the defaults of the
 * cnnc that reads it. Reals are written with the fewest digits that read back as the same
 * double.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/export.h"

static void put_real(FILE *f, double x)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* A whole number is written with a point, so that it reads as a real where one is needed. */
    if (strpbrk(buf, ".eEn") == NULL)
        strcat(buf, ".0");
    fputs(buf, f);
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

char *train_block_text(const TrainConfig *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    if (t->dataset == DATASET_IDX) {
        fputs("    dataset idx(", f);
        for (int i = 0; i < 4; i++) {
            fputs(i > 0 ? ", " : "", f);
            put_string(f, t->idx_paths[i]);
        }
        fputs(");\n", f);
    } else {
        fprintf(f, "    dataset %s;\n", dataset_names[t->dataset]);
    }
    fprintf(f, "    loss %s;\n", loss_names[t->loss]);
    fputs("    optimizer ", f);
    put_optimizer_call(f, t, put_real);
    fprintf(f, ";\n    epochs %d;\n    batch_size %d;\n    validation ", t->epochs, t->batch_size);
    if (t->validation == VALID_SPLIT) {
        fputs("split(", f);
        put_real(f, t->split);
        fputs(");\n", f);
    } else {
        fputs(t->validation == VALID_TEST ? "test;\n" : "none;\n", f);
    }
    fprintf(f, "    seed %lld;\n    shuffle %s;\n    init %s;\n", t->seed, t->shuffle ? "true" : "false",
            init_names[t->init]);
    put_train_extras(f, t, put_real, "    ", ";");
    if (fclose(f) != 0) {
        fprintf(stderr, "cnnc: out of memory\n");
        exit(1);
    }
    return text;
}

bool train_text_is_plain(const char *s)
{
    /* Settings only: no braces (which could end the block and start another), no comments,
     * printable ASCII and newlines. The checker judges the rest like any model file. */
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c == '{' || c == '}' || c == '#' || (c == '/' && (s[n + 1] == '/' || s[n + 1] == '*')) ||
            (c != '\n' && (c < 0x20 || c >= 0x7f)))
            return false;
    }
    return n > 0 && n < 8192;
}
