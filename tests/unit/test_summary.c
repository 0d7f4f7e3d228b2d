/*
 * test_summary.c - unit tests of `cnnc summary`'s printer (compiler/summary.c), run by
 * tests/suite_25_summary.sh.
 *
 *   test_summary self                 prints a hand-built seed model in the three formats and
 *                                     checks the numbers, separators, units and that the YAML
 *                                     reads back with libyaml
 *   test_summary model FILE FORMAT    parses, checks and prints FILE like `cnnc summary`,
 *                                     without the rest of the compiler's commands
 */
#define _GNU_SOURCE /* open_memstream in older C libraries */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cnnc.h"

static int failures, checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stdout, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

static Shape image(int h, int w, int c)
{
    return (Shape){3, h, w, c};
}

static Shape vector(int n)
{
    return (Shape){1, 1, 1, n};
}

/* The seed model of the contract, its numbers worked out by hand. */
static Model *seed_model(void)
{
    static Layer layers[7];
    static Model m;
    layers[0] = (Layer){.kind = LAYER_CONV2D,
                        .name = "conv2d_1",
                        .in = image(28, 28, 1),
                        .out = image(26, 26, 32),
                        .params = 320,
                        .kernel_size = 288,
                        .bias_size = 32,
                        .macs = 26 * 26 * 32 * 9,
                        .act = ACT_RELU};
    layers[0].u.conv = (ConvAttrs){.filters = 32, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .use_bias = true};
    layers[1] = (Layer){.kind = LAYER_MAXPOOL2D,
                        .name = "maxpool2d_1",
                        .in = image(26, 26, 32),
                        .out = image(13, 13, 32),
                        .aux_size = 13 * 13 * 32};
    layers[1].u.pool = (PoolAttrs){.ph = 2, .pw = 2, .sh = 2, .sw = 2};
    layers[2] = (Layer){.kind = LAYER_CONV2D,
                        .name = "conv2d_2",
                        .in = image(13, 13, 32),
                        .out = image(11, 11, 64),
                        .params = 18496,
                        .kernel_size = 18432,
                        .bias_size = 64,
                        .macs = 11 * 11 * 64 * 288,
                        .act = ACT_RELU};
    layers[2].u.conv = (ConvAttrs){.filters = 64, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .use_bias = true};
    layers[3] = (Layer){.kind = LAYER_MAXPOOL2D,
                        .name = "maxpool2d_2",
                        .in = image(11, 11, 64),
                        .out = image(5, 5, 64),
                        .aux_size = 5 * 5 * 64};
    layers[3].u.pool = (PoolAttrs){.ph = 2, .pw = 2, .sh = 2, .sw = 2};
    layers[4] = (Layer){.kind = LAYER_FLATTEN,
                        .name = "a_layer_name_long_enough_to_wrap_its_column",
                        .in = image(5, 5, 64),
                        .out = vector(1600)};
    layers[5] = (Layer){.kind = LAYER_DENSE,
                        .name = "dense_1",
                        .in = vector(1600),
                        .out = vector(64),
                        .params = 102464,
                        .kernel_size = 102400,
                        .bias_size = 64,
                        .macs = 102400,
                        .act = ACT_RELU};
    layers[5].u.dense = (DenseAttrs){.units = 64, .use_bias = true};
    layers[6] = (Layer){.kind = LAYER_DENSE,
                        .name = "dense_2",
                        .in = vector(64),
                        .out = vector(10),
                        .params = 650,
                        .kernel_size = 640,
                        .bias_size = 10,
                        .macs = 640,
                        .act = ACT_SOFTMAX};
    layers[6].u.dense = (DenseAttrs){.units = 10, .use_bias = true};
    for (int i = 0; i < 7; i++) /* a chain: each layer reads the one before it */
        layers[i].inputs[0] = i - 1, layers[i].ninputs = 1;
    m = (Model){.name = "mnist_cnn",
                .input = image(28, 28, 1),
                .layers = layers,
                .nlayers = 7,
                .classes = 10,
                .total_params = 121930,
                .total_macs = 194688 + 2230272 + 102400 + 640};
    m.train = (TrainConfig){.dataset = DATASET_MNIST,
                            .optimizer = OPT_ADAM,
                            .learning_rate = 0.001,
                            .beta_1 = 0.9,
                            .beta_2 = 0.999,
                            .epsilon = 1e-7,
                            .epochs = 5,
                            .batch_size = 32,
                            .validation = VALID_SPLIT,
                            .split = 0.1,
                            .seed = 42,
                            .shuffle = true};
    /* Distinct made-up byte counts, to see each printed in its place. */
    m.mem = (MemoryPlan){.params = 487720,
                         .activations = 1048575,
                         .aux = 1000,
                         .act_grads = 1024,
                         .param_grads = 487720,
                         .optimizer = 975440,
                         .training_total = 1234567890,
                         .infer_scratch = 86528,
                         .infer_total = 574248};
    return &m;
}

static char *render(const Model *m, SummaryFormat fmt, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    *rc = print_summary(m, target_generic(), fmt, f);
    fclose(f);
    return buf;
}

static bool has(const char *text, const char *part)
{
    bool found = strstr(text, part) != NULL;
    if (!found)
        printf("  missing: %s\n", part);
    return found;
}

/* True if one line of `text` holds `a` and, after it, `b`. */
static bool has_line(const char *text, const char *a, const char *b)
{
    for (const char *p = strstr(text, a); p; p = strstr(p + 1, a)) {
        const char *end = strchr(p, '\n');
        const char *q = strstr(p + strlen(a), b);
        if (q && (!end || q < end))
            return true;
    }
    printf("  no line with: %s ... %s\n", a, b);
    return false;
}

static void test_table(const Model *m)
{
    int rc;
    char *t = render(m, SUMMARY_TABLE, &rc);
    CHECK(rc == 0);
    CHECK(has(t, "Model: \"mnist_cnn\"\n"));
    CHECK(has(t, " conv2d_1 (Conv2D) "));
    CHECK(has(t, "(None, 26, 26, 32)"));
    CHECK(has(t, " 320 "));
    CHECK(has(t, " 18,496 "));
    CHECK(has(t, " 102,464 "));
    CHECK(has(t, " 650 "));
    CHECK(has(t, " 194,688 "));
    CHECK(has(t, "(None, 1600)"));
    CHECK(has(t, " maxpool2d_1 (MaxPooling2D) "));
    CHECK(has(t, "Total params: 121,930 (487,720 bytes, 476.3 KiB)\n"));
    CHECK(has(t, "Trainable params: 121,930 (476.3 KiB)\n"));
    CHECK(has(t, "Non-trainable params: 0"));
    CHECK(has(t, "Multiply-accumulates per image: 2,528,000\n"));
    CHECK(has(t, "1,234,567,890 bytes"));
    CHECK(has(t, "1.1 GiB"));
    /* 1,048,575 bytes is a hair under 1 MiB: it must not print as "1024.0 KiB". */
    CHECK(has_line(t, "1,048,575 bytes", "1.0 MiB"));
    CHECK(has_line(t, "1,000 bytes", "1000 B"));
    CHECK(has_line(t, "1,024 bytes", "1.0 KiB"));
    /* conv2d_1: 26*26*32 floats * 4 bytes * batch 32 + 320 * 4 bytes = 2,770,176 bytes. */
    CHECK(has(t, "2.6 MiB"));
    /* The long name wraps inside its column. */
    CHECK(has_line(t, " a_layer_name_long_enough_to_wrap_its ", "(None, 1600)"));
    CHECK(has(t, "\n _column (Flatten)\n"));
    int line = 0, longest = 0;
    for (const char *p = t; *p; p++) {
        line = *p == '\n' ? 0 : line + 1;
        longest = line > longest ? line : longest;
        CHECK(!(*p == '\n' && p > t && p[-1] == ' '));
    }
    CHECK(longest <= 100);
    free(t);
}

/* Reads YAML text back with libyaml; true if it parses to the end. */
static bool yaml_reads_back(const char *text)
{
    yaml_parser_t p;
    yaml_event_t ev;
    bool ok = true, done = false;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    while (ok && !done) {
        ok = yaml_parser_parse(&p, &ev);
        if (ok) {
            done = ev.type == YAML_STREAM_END_EVENT;
            yaml_event_delete(&ev);
        }
    }
    yaml_parser_delete(&p);
    return ok;
}

static void test_structured(const Model *m)
{
    int rc;
    char *y = render(m, SUMMARY_YAML, &rc);
    CHECK(rc == 0);
    CHECK(yaml_reads_back(y));
    CHECK(has(y, "model: mnist_cnn\n"));
    CHECK(has(y, "output_shape: [26, 26, 32]"));
    CHECK(has(y, "params: 18496\n"));
    CHECK(has(y, "params: 121930\n"));
    CHECK(has(y, "total: 1234567890\n"));
    CHECK(has(y, "learning_rate: 0.001\n"));
    CHECK(has(y, "epsilon: 1e-07\n"));
    CHECK(has(y, "validation_split: 0.1\n"));
    free(y);

    char *j = render(m, SUMMARY_JSON, &rc);
    CHECK(rc == 0);
    CHECK(j[0] == '{' && j[strlen(j) - 2] == '}' && j[strlen(j) - 1] == '\n');
    CHECK(has(j, "\"model\": \"mnist_cnn\""));
    CHECK(has(j, "\"output_shape\": [26, 26, 32]"));
    CHECK(has(j, "\"params\": 102464,"));
    CHECK(has(j, "\"beta_2\": 0.999,"));
    CHECK(has(j, "\"shuffle\": true,"));
    CHECK(has(j, "\"kernel\": [3, 3]"));
    free(j);

    /* Strings that need escaping in JSON and quoting in YAML. */
    Model odd = *m;
    odd.name = "null";
    odd.train.dataset = DATASET_IDX;
    char p0[] = "a \"quoted\"\\path", p1[] = "tab\there", p2[] = "123",
         p3[] = "bad\xff\xc3(utf8\xe2\x82\xac";
    odd.train.idx_paths[0] = p0;
    odd.train.idx_paths[1] = p1;
    odd.train.idx_paths[2] = p2;
    odd.train.idx_paths[3] = p3;
    j = render(&odd, SUMMARY_JSON, &rc);
    CHECK(has(j, "\"a \\\"quoted\\\"\\\\path\""));
    CHECK(has(j, "\"tab\\there\""));
    CHECK(has(j, "\"123\""));
    /* Stray bytes become U+FFFD; the euro sign, well-formed, stays. */
    CHECK(has(j, "\"bad\xef\xbf\xbd\xef\xbf\xbd(utf8\xe2\x82\xac\""));
    free(j);
    y = render(&odd, SUMMARY_YAML, &rc);
    CHECK(yaml_reads_back(y));
    CHECK(has(y, "model: \"null\"\n"));
    CHECK(rc == 0);
    CHECK(has(y, "- \"123\"\n"));
    free(y);
}

/* A stream that refuses writes: every format reports the failure. */
static void test_write_errors(const Model *m)
{
    for (int fmt = SUMMARY_TABLE; fmt <= SUMMARY_JSON; fmt++) {
        FILE *f = fopen("/dev/null", "r");
        CHECK(f != NULL);
        if (!f)
            return;
        CHECK(print_summary(m, target_generic(), (SummaryFormat)fmt, f) == -1);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "self")) {
        Model *m = seed_model();
        test_table(m);
        test_structured(m);
        test_write_errors(m);
        printf("%d checks, %d failed\n", checks, failures);
        return failures != 0;
    }
    if (argc == 4 && !strcmp(argv[1], "model")) {
        static const char *const formats[] = {"table", "yaml", "json"};
        int fmt = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(argv[3], formats[i]))
                fmt = i;
        Ast *ast = fmt >= 0 ? parse_model_file(argv[2]) : NULL;
        Model *m = ast && diag_error_count() == 0 ? check_model(ast) : NULL;
        int status = m && print_summary(m, target_generic(), (SummaryFormat)fmt, stdout) == 0 ? 0 : 1;
        model_free(m);
        ast_free(ast);
        return status;
    }
    fprintf(stderr, "usage: test_summary self | test_summary model FILE table|yaml|json\n");
    return 2;
}
