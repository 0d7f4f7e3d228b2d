/*
 * test_check.c - the checker on its own, linked against the compiler's objects.
 *
 *   test_check FILE...     checks each model file and prints, per layer, its name, output
 *                          shape and (for windows) the resolved padding top,bottom,left,right;
 *                          the suite compares that with the `# expect:` lines of the file.
 *   test_check --units     assertions on ASTs built by hand: defaults, names, counts, and
 *                          hostile ASTs (every value kind in every place, missing pieces)
 *                          that must be reported, never crash.
 */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnnc.h"

static int failures, checks;

#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            printf("%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                 \
    } while (0)

static void dump_layer(const Layer *L, FILE *out)
{
    if (L->out.rank == 1)
        fprintf(out, "%s %d", L->name, L->out.c);
    else
        fprintf(out, "%s %dx%dx%d", L->name, L->out.h, L->out.w, L->out.c);
    if (L->kind == LAYER_CONV2D)
        fprintf(out, " pad %d,%d,%d,%d", L->u.conv.pad_top, L->u.conv.pad_bottom,
                L->u.conv.pad_left, L->u.conv.pad_right);
    else if (L->kind == LAYER_MAXPOOL2D || L->kind == LAYER_AVGPOOL2D)
        fprintf(out, " pad %d,%d,%d,%d", L->u.pool.pad_top, L->u.pool.pad_bottom,
                L->u.pool.pad_left, L->u.pool.pad_right);
    fputc('\n', out);
}

static int dump_files(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++) {
        diag_reset();
        Ast *ast = parse_model_file(argv[i]);
        Model *m = check_model(ast);
        if (!m) {
            status = 1;
        } else {
            for (int k = 0; k < m->nlayers; k++)
                dump_layer(&m->layers[k], stdout);
        }
        model_free(m);
        ast_free(ast);
    }
    return status;
}

/* ---------------------------------------------------------------- building ASTs */

static Loc here(int line)
{
    return (Loc){.file = "unit.cnn", .line = line, .col = 1, .len = 1};
}

static Value v_int(long long i)
{
    return (Value){.kind = VAL_INT, .i = i, .r = (double)i, .loc = here(1)};
}

static Value v_real(double r)
{
    return (Value){.kind = VAL_REAL, .r = r, .loc = here(1)};
}

static Value v_ident(const char *s)
{
    return (Value){.kind = VAL_IDENT, .s = s ? xstrdup(s) : NULL, .loc = here(1)};
}

static Value v_shape(int n, long long a, long long b, long long c)
{
    Value v = {.kind = VAL_SHAPE, .ndims = n, .loc = here(1)};
    v.dims[0] = a, v.dims[1] = b, v.dims[2] = c;
    return v;
}

static void arg(AstLayer *l, const char *name, Value v)
{
    ast_layer_add_arg(l, (Arg){.name = name ? xstrdup(name) : NULL, .name_loc = here(2),
                               .value = v});
}

static AstLayer *layer(Ast *a, const char *kind)
{
    return ast_add_layer(a, kind ? xstrdup(kind) : NULL, here(a->nlayers + 3));
}

static Ast *base_model(void)
{
    Ast *a = ast_new("unit.cnn");
    a->has_model = true;
    a->model_name = xstrdup("unit");
    a->model_loc = here(1);
    a->has_input = true;
    a->input = v_shape(3, 28, 28, 1);
    return a;
}

/* Diagnostics of the hostile cases are not the point here: stderr goes to /dev/null, unless
 * TEST_CHECK_VERBOSE is set (to see a sanitizer's report, say). */
static int quiet_begin(void)
{
    if (getenv("TEST_CHECK_VERBOSE"))
        return -1;
    fflush(stderr);
    int saved = dup(2);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 2);
        close(null);
    }
    return saved;
}

static void quiet_end(int saved)
{
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

static Model *check_quiet(const Ast *a)
{
    diag_reset();
    int saved = quiet_begin();
    Model *m = check_model(a);
    quiet_end(saved);
    return m;
}

/* ---------------------------------------------------------------- the assertions */

static void test_defaults(void)
{
    Ast *a = base_model();
    AstLayer *l = layer(a, "conv2d");
    arg(l, "filters", v_int(8));
    arg(l, "kernel", v_int(3));
    layer(a, "maxpool2d");
    l = layer(a, "maxpool2d");
    arg(l, "pool", v_shape(2, 3, 2, 0));
    layer(a, "flatten");
    l = layer(a, "dense");
    arg(l, "units", v_int(10));
    Model *m = check_quiet(a);
    EXPECT(m != NULL);
    if (m) {
        const ConvAttrs *c = &m->layers[0].u.conv;
        EXPECT(c->sh == 1 && c->sw == 1 && c->padding == PAD_VALID && m->layers[0].act == ACT_NONE);
        EXPECT(c->use_bias && m->layers[0].params == 3 * 3 * 1 * 8 + 8);
        EXPECT(m->layers[0].macs == 26LL * 26 * 8 * 3 * 3 * 1);
        const PoolAttrs *p = &m->layers[1].u.pool;
        EXPECT(p->ph == 2 && p->pw == 2 && p->sh == 2 && p->sw == 2);
        p = &m->layers[2].u.pool;
        EXPECT(p->ph == 3 && p->pw == 2 && p->sh == 3 && p->sw == 2);
        EXPECT(m->layers[1].aux_size == 13 * 13 * 8);
        EXPECT(strcmp(m->layers[2].name, "maxpool2d_2") == 0);
        EXPECT(m->layers[4].in.c == 4 * 6 * 8 && m->layers[4].params == 192 * 10 + 10);
        EXPECT(m->classes == 10);
        /* No train block: every default of the contract. */
        const TrainConfig *t = &m->train;
        EXPECT(t->dataset == DATASET_MNIST && t->loss == LOSS_SPARSE_XENT);
        EXPECT(t->optimizer == OPT_ADAM && t->learning_rate == 0.001 && t->beta_1 == 0.9);
        EXPECT(t->beta_2 == 0.999 && t->epsilon == 1e-7 && t->epochs == 5);
        EXPECT(t->batch_size == 32 && t->validation == VALID_TEST && t->seed == 42);
        EXPECT(t->shuffle && t->init == INIT_GLOROT_UNIFORM);
        /* The memory plan, by hand: params 80 + 1930 = 2010 floats; the flatten is a view of
         * the second pool's output and gradient, and has none of its own. */
        long long outs = 26 * 26 * 8 + 13 * 13 * 8 + 4 * 6 * 8 + 10;
        EXPECT(m->total_params == 2010 && m->mem.params == 4 * 2010);
        EXPECT(m->mem.activations == 4LL * 32 * (784 + outs));
        EXPECT(m->mem.act_grads == 4LL * 32 * outs);
        EXPECT(m->mem.aux == 4LL * 32 * (13 * 13 * 8 + 4 * 6 * 8));
        EXPECT(m->mem.optimizer == 8 * 2010 && m->mem.param_grads == 4 * 2010);
        EXPECT(m->mem.training_total == m->mem.params + m->mem.activations + m->mem.aux +
                                            m->mem.act_grads + m->mem.param_grads +
                                            m->mem.optimizer);
        EXPECT(m->mem.infer_scratch == 4 * 2 * 26 * 26 * 8);
        EXPECT(m->mem.infer_total == m->mem.params + m->mem.infer_scratch);
    }
    model_free(m);
    ast_free(a);
}

static void test_sgd_and_idx(void)
{
    Ast *a = base_model();
    layer(a, "flatten");
    AstLayer *l = layer(a, "dense");
    arg(l, "units", v_int(7));
    arg(l, "use_bias", (Value){.kind = VAL_BOOL, .i = 0, .loc = here(1)});
    Value opt = {.kind = VAL_CALL, .s = xstrdup("sgd"), .loc = here(9)};
    value_call_add_item(&opt, (Arg){.name = xstrdup("momentum"), .value = v_real(0.9)});
    ast_add_setting(a, xstrdup("optimizer"), here(9), opt);
    Value idx = {.kind = VAL_CALL, .s = xstrdup("idx"), .loc = here(10)};
    const char *paths[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        value_call_add_item(&idx, (Arg){.value = {.kind = VAL_STRING, .s = xstrdup(paths[i])}});
    ast_add_setting(a, xstrdup("dataset"), here(10), idx);
    Value split = {.kind = VAL_CALL, .s = xstrdup("split"), .loc = here(11)};
    value_call_add_item(&split, (Arg){.value = v_real(0.25)});
    ast_add_setting(a, xstrdup("validation"), here(11), split);
    Model *m = check_quiet(a);
    EXPECT(m != NULL);
    if (m) {
        const TrainConfig *t = &m->train;
        EXPECT(t->optimizer == OPT_SGD && t->learning_rate == 0.01 && t->momentum == 0.9);
        EXPECT(!t->nesterov && t->dataset == DATASET_IDX && strcmp(t->idx_paths[3], "d") == 0);
        EXPECT(t->validation == VALID_SPLIT && t->split == 0.25);
        EXPECT(m->classes == 7 && m->layers[1].bias_size == 0 && m->layers[1].params == 784 * 7);
        EXPECT(m->mem.optimizer == 4 * m->total_params);
    }
    model_free(m);
    ast_free(a);
}

/* Every value kind, in every argument of every kind and in every setting. */
static Value hostile_value(int which)
{
    Value v;
    switch (which) {
    case 0: return v_int(0);
    case 1: return v_int(-1);
    case 2: return v_int(9007199254740992LL);
    case 3: return v_real(NAN);
    case 4: return v_real(INFINITY);
    case 5: return v_real(0.5);
    case 6: return v_shape(0, 0, 0, 0);
    case 7: return v_shape(2, 0, 3, 0);
    case 8: return v_shape(2, 4000000000LL, 1, 0);
    case 9: return v_shape(4, 1, 2, 3);
    case 10: return v_ident(NULL);
    case 11: return v_ident("");
    case 12: return v_ident("softmax");
    case 13: return (Value){.kind = VAL_STRING, .s = xstrdup("a b"), .loc = here(1)};
    case 14: return (Value){.kind = VAL_BOOL, .i = 1, .loc = here(1)};
    case 15:
        v = (Value){.kind = VAL_CALL, .s = NULL, .loc = here(1)};
        value_call_add_item(&v, (Arg){.name = NULL, .value = v_int(1)});
        return v;
    case 16:
        v = (Value){.kind = VAL_CALL, .s = xstrdup("idx"), .loc = here(1)};
        for (int i = 0; i < 4; i++)
            value_call_add_item(&v, (Arg){.name = xstrdup("x"), .value = v_int(i)});
        return v;
    case 17:
        v = (Value){.kind = VAL_CALL, .s = xstrdup("adam"), .loc = here(1)};
        value_call_add_item(&v, (Arg){.name = xstrdup("beta_1"), .value = v_ident("x")});
        value_call_add_item(&v, (Arg){.name = NULL, .value = v_real(NAN)});
        return v;
    default: return v_int(1);
    }
}
#define NHOSTILE 18

static void test_hostile_layers(void)
{
    static const char *const kinds[] = {"conv2d", "maxpool2d", "avgpool2d", "flatten",
                                        "dense",  "dropout",   "relu",      "softmax",
                                        "input",  "",          NULL};
    static const char *const names[] = {"filters", "kernel", "stride",  "padding", "activation",
                                        "use_bias", "name",  "pool",    "units",   "rate",
                                        "seed",     "bogus", NULL};
    Ast *a = base_model();
    int nkinds = (int)(sizeof kinds / sizeof kinds[0]);
    int nnames = (int)(sizeof names / sizeof names[0]);
    for (int k = 0; k < nkinds; k++)
        for (int n = 0; n < nnames; n++)
            for (int v = 0; v < NHOSTILE; v++) {
                AstLayer *l = layer(a, kinds[k]);
                arg(l, names[n], hostile_value(v));
                arg(l, names[n], hostile_value((v + 1) % NHOSTILE));
            }
    static const char *const settings[] = {"dataset", "loss", "optimizer", "epochs",
                                           "batch_size", "validation", "seed", "shuffle",
                                           "init", "bogus", NULL};
    for (int s = 0; s < (int)(sizeof settings / sizeof settings[0]); s++)
        for (int v = 0; v < NHOSTILE; v++)
            ast_add_setting(a, settings[s] ? xstrdup(settings[s]) : NULL, here(5),
                            hostile_value(v));
    Model *m = check_quiet(a);
    EXPECT(m == NULL && diag_error_count() > 0);
    ast_free(a);
}

static void test_missing_pieces(void)
{
    Ast *a = ast_new("unit.cnn");
    EXPECT(check_quiet(a) == NULL && diag_error_count() == 1); /* no model block */
    a->has_model = true;
    EXPECT(check_quiet(a) == NULL && diag_error_count() > 0); /* no name, input, layers */
    a->input = v_int(28);
    a->has_input = true;
    layer(a, NULL);
    EXPECT(check_quiet(a) == NULL && diag_error_count() > 0);
    ast_free(a);
    EXPECT(check_model(NULL) == NULL);

    /* After a syntax error only the local checks run, and the result is still NULL. */
    a = base_model();
    layer(a, "flatten");
    diag_reset();
    int saved = quiet_begin();
    error_at(here(1), "a syntax error");
    Model *m = check_model(a);
    quiet_end(saved);
    EXPECT(m == NULL && diag_error_count() == 1);
    ast_free(a);
}

/* Shape arithmetic at the edges of int. */
static void test_limits(void)
{
    Ast *a = base_model();
    a->input = v_shape(3, 2147483647LL, 2147483647LL, 2147483647LL);
    AstLayer *l = layer(a, "conv2d");
    arg(l, "filters", v_int(2147483647LL));
    arg(l, "kernel", v_shape(2, 2147483647LL, 2147483647LL, 0));
    arg(l, "stride", v_int(2147483647LL));
    arg(l, "padding", v_ident("same"));
    layer(a, "flatten");
    l = layer(a, "dense");
    arg(l, "units", v_int(2147483647LL));
    EXPECT(check_quiet(a) == NULL && diag_error_count() > 0);
    ast_free(a);

    EXPECT(shape_size((Shape){.rank = 3, .h = 2147483647, .w = 2147483647, .c = 2147483647}) ==
           -1);
    EXPECT(shape_size((Shape){.rank = 1, .h = 1, .w = 1, .c = 800}) == 800);
}

static int run_units(void)
{
    test_defaults();
    test_sgd_and_idx();
    test_hostile_layers();
    test_missing_pieces();
    test_limits();
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--units") == 0)
        return run_units();
    if (argc < 2) {
        fprintf(stderr, "usage: test_check FILE... | --units\n");
        return 2;
    }
    return dump_files(argc, argv);
}
