/*
 * safetensors.c - checkpoints in the safetensors format.
 *
 * A file is an 8-byte little-endian header length, a JSON header, then the tensors' bytes:
 *   {"__metadata__": {"format_version": "1", "model": "mnist_cnn", ...},
 *    "conv2d_1.kernel": {"dtype": "F32", "shape": [3, 3, 1, 32], "data_offsets": [0, 1152]}, ...}
 * Model tensors are named as the model's cnn_tensor lists say, the trainable ones and then the
 * state (batchnorm's moving statistics); optimizer moments, when saved, are `optimizer.m.<name>`
 * and `optimizer.v.<name>` of the trainable ones (SGD's velocity is its m). A training
 * checkpoint's metadata also records what resuming needs: the optimizer and its
 * hyper-parameters (`optimizer`, `learning_rate`, `beta_1`, `beta_2`, `epsilon` or
 * `momentum`, `nesterov`), the optimizer steps taken (`step`) and the epochs finished
 * (`epoch`), all as strings, as safetensors requires.
 *
 * Reading enforces every rule of the reference implementation before touching the data:
 * header length within the file and at most 100,000,000 bytes, a strict UTF-8 JSON object,
 * known dtypes, shapes whose size matches the byte range, no duplicate names, and byte ranges
 * that tile the data exactly (no gap, no overlap, nothing after). Then the tensors must be
 * exactly the model's, and the file is decoded into temporary arrays so that a failed load
 * leaves the caller's parameters as they were. Every value must be finite: a model that
 * diverged is neither written nor read.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnnrt.h"
#include "json.h"
#include "rt_io.h"

#define ST_MAX_HEADER 100000000ull
#define ST_FORMAT_VERSION "1"
#define OPT_M_PREFIX "optimizer.m."
#define OPT_V_PREFIX "optimizer.v."
#define BEST_PREFIX "best."
#define LAST_PREFIX "last."

/* The model as its params array holds it: the trainable tensors, then the state, over
 * cnn_param_floats() floats. The optimizer's moments hold only the trainable ones: the model
 * itself. *view is a copy of m with both lists in one; returns that list to free (NULL when
 * the model has no state), or sets *failed when memory ran out. */
static cnn_tensor *params_view(const cnn_model *m, cnn_model *view, int *failed)
{
    *view = *m;
    *failed = 0;
    if (m->num_state_tensors <= 0)
        return NULL;
    cnn_tensor *all = rt_calloc((size_t)(m->num_tensors + m->num_state_tensors), sizeof *all);
    if (!all) {
        *failed = 1;
        return NULL;
    }
    if (m->num_tensors > 0)
        memcpy(all, m->tensors, (size_t)m->num_tensors * sizeof *all);
    memcpy(all + m->num_tensors, m->state_tensors, (size_t)m->num_state_tensors * sizeof *all);
    view->tensors = all;
    view->num_tensors = m->num_tensors + m->num_state_tensors;
    view->num_params = cnn_param_floats(m);
    view->num_state = 0;
    view->num_state_tensors = 0;
    view->state_tensors = NULL;
    return all;
}

/* ------------------------------------------------------------------ writing */

static void put_le32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)x;
    p[1] = (unsigned char)(x >> 8);
    p[2] = (unsigned char)(x >> 16);
    p[3] = (unsigned char)(x >> 24);
}

static void put_json_string(rt_buf *b, const char *prefix, const char *s)
{
    rt_buf_append(b, "\"", 1);
    rt_buf_append(b, prefix, strlen(prefix));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            rt_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            rt_buf_printf(b, "\\u%04x", *p);
        else
            rt_buf_append(b, p, 1);
    }
    rt_buf_append(b, "\"", 1);
}

static void put_tensor_entry(rt_buf *b, const char *prefix, const cnn_tensor *t, size_t *offset)
{
    rt_buf_append(b, ",", 1);
    put_json_string(b, prefix, t->name);
    rt_buf_printf(b, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++)
        rt_buf_printf(b, "%s%d", d ? "," : "", t->shape[d]);
    rt_buf_printf(b, "],\"data_offsets\":[%zu,%zu]}", *offset, *offset + t->count * 4);
    *offset += t->count * 4;
}

/* Appends the tensors of one flat array in model order, as little-endian floats. */
static void put_tensor_data(rt_buf *b, const cnn_model *m, const float *values)
{
    for (int i = 0; i < m->num_tensors && !b->failed; i++) {
        const cnn_tensor *t = &m->tensors[i];
        for (size_t k = 0; k < t->count; k++) {
            uint32_t u;
            unsigned char le[4];
            memcpy(&u, &values[t->offset + k], 4);
            put_le32(le, u);
            rt_buf_append(b, le, 4);
        }
    }
}

static int check_model_layout(const cnn_model *m)
{
    for (int i = 0; i < m->num_tensors; i++) {
        const cnn_tensor *t = &m->tensors[i];
        if (t->offset > m->num_params || t->count > m->num_params - t->offset)
            return rt_error("model '%s': tensor '%s' lies outside the %zu parameters", m->name,
                            t->name, m->num_params);
    }
    return 0;
}

/* The first value of a flat array (params or an optimizer moment) that is NaN or infinite:
 * its tensor, and its index within the tensor written as "[i, j, ...]" into at. NULL when
 * every value is finite. */
static const cnn_tensor *non_finite(const cnn_model *m, const float *values, float *bad,
                                    char *at, size_t size)
{
    for (int i = 0; i < m->num_tensors; i++) {
        const cnn_tensor *t = &m->tensors[i];
        for (size_t k = 0; k < t->count; k++) {
            float v = values[t->offset + k];
            if (isfinite(v))
                continue;
            size_t rest = k, n = 0;
            int idx[CNN_MAX_DIMS] = {0};
            for (int d = t->ndim - 1; d >= 0; d--) {
                size_t dim = t->shape[d] > 0 ? (size_t)t->shape[d] : 1;
                idx[d] = (int)(rest % dim);
                rest /= dim;
            }
            n += (size_t)snprintf(at, size, "[");
            for (int d = 0; d < t->ndim && n < size; d++)
                n += (size_t)snprintf(at + n, size - n, "%s%d", d ? ", " : "", idx[d]);
            if (n < size)
                snprintf(at + n, size - n, "]");
            *bad = v;
            return t;
        }
    }
    return NULL;
}

static const char *non_finite_name(float v)
{
    return isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity";
}

/* The optimizer of the model's train block as the metadata records it, each hyper-parameter
 * with 17 digits so that it reads back exactly: "optimizer":"adam","learning_rate":"0.001",... */
static void put_optimizer(rt_buf *h, const cnn_train_config *t, double learning_rate)
{
    if (t->optimizer == CNN_OPT_ADAM || t->optimizer == CNN_OPT_ADAMW)
        rt_buf_printf(h, ",\"optimizer\":\"%s\",\"learning_rate\":\"%.17g\",\"beta_1\":\"%.17g\","
                         "\"beta_2\":\"%.17g\",\"epsilon\":\"%.17g\"",
                      t->optimizer == CNN_OPT_ADAM ? "adam" : "adamw", learning_rate, t->beta_1, t->beta_2,
                      t->epsilon);
    else if (t->optimizer == CNN_OPT_RMSPROP)
        rt_buf_printf(h, ",\"optimizer\":\"rmsprop\",\"learning_rate\":\"%.17g\",\"rho\":\"%.17g\","
                         "\"momentum\":\"%.17g\",\"epsilon\":\"%.17g\"",
                      learning_rate, t->rho, t->momentum, t->epsilon);
    else
        rt_buf_printf(h, ",\"optimizer\":\"sgd\",\"learning_rate\":\"%.17g\",\"momentum\":\"%.17g\","
                         "\"nesterov\":\"%s\"",
                      learning_rate, t->momentum, t->nesterov ? "true" : "false");
    if (t->optimizer == CNN_OPT_ADAMW)
        rt_buf_printf(h, ",\"weight_decay\":\"%.17g\"", t->weight_decay);
}

/* reduce_on_plateau's and early stopping's state, as numbers in strings like the rest
 * ("inf" before the first epoch). */
static void put_schedule_state(rt_buf *h, const cnn_train_state *st)
{
    if (st->has_plateau)
        rt_buf_printf(h, ",\"plateau_rate\":\"%.17g\",\"plateau_best\":\"%.17g\",\"plateau_wait\":\"%d\"",
                      st->plateau_rate, st->plateau_best, st->plateau_wait);
    if (st->has_stop)
        rt_buf_printf(h, ",\"stop_best\":\"%.17g\",\"stop_wait\":\"%d\",\"stop_best_epoch\":\"%d\"",
                      st->stop_best, st->stop_wait, st->stop_best_epoch);
}

/* The checkpoint of params (in the model's params view pm) and of the optimizer's state. */
static int save_checkpoint(const char *path, const cnn_model *m, const cnn_model *pm, const float *params,
                           const cnn_train_state *st)
{
    const float *opt_m = st ? st->opt_m : NULL, *opt_v = st ? st->opt_v : NULL;
    const float *best = st ? st->best : NULL, *last = st ? st->last : NULL;
    if (check_model_layout(m) != 0 || check_model_layout(pm) != 0)
        return -1;
    /* A model that diverged is not one to keep: the previous checkpoint stays as it was. */
    const float *sets[5] = {params, opt_m, opt_v, best, last};
    const char *prefixes[5] = {"", OPT_M_PREFIX, OPT_V_PREFIX, BEST_PREFIX, LAST_PREFIX};
    for (int s = 0; s < 5; s++) {
        char at[96];
        float bad;
        const cnn_tensor *t = sets[s] ? non_finite(s == 1 || s == 2 ? m : pm, sets[s], &bad, at, sizeof at) : NULL;
        if (t)
            return rt_error("%s: not saved: tensor '%s%s' holds %s at %s", path, prefixes[s],
                            t->name, non_finite_name(bad), at);
    }
    rt_buf h = {0};
    rt_buf_printf(&h, "{\"__metadata__\":{\"format_version\":\"%s\",\"model\":", ST_FORMAT_VERSION);
    put_json_string(&h, "", m->name);
    if (m->cnnc_version) {
        rt_buf_printf(&h, ",\"cnnc_version\":");
        put_json_string(&h, "", m->cnnc_version);
    }
    if (st) {
        put_optimizer(&h, &m->train, st->learning_rate);
        rt_buf_printf(&h, ",\"epoch\":\"%d\",\"step\":\"%ld\"", st->epoch, st->step);
        put_schedule_state(&h, st);
    }
    rt_buf_append(&h, "}", 1);
    size_t offset = 0;
    for (int i = 0; i < pm->num_tensors; i++)
        put_tensor_entry(&h, "", &pm->tensors[i], &offset);
    for (int i = 0; opt_m && i < m->num_tensors; i++)
        put_tensor_entry(&h, OPT_M_PREFIX, &m->tensors[i], &offset);
    for (int i = 0; opt_v && i < m->num_tensors; i++)
        put_tensor_entry(&h, OPT_V_PREFIX, &m->tensors[i], &offset);
    for (int i = 0; best && i < pm->num_tensors; i++)
        put_tensor_entry(&h, BEST_PREFIX, &pm->tensors[i], &offset);
    for (int i = 0; last && i < pm->num_tensors; i++)
        put_tensor_entry(&h, LAST_PREFIX, &pm->tensors[i], &offset);
    rt_buf_append(&h, "}", 1);
    /* Spaces pad the header so that the data starts 8-byte aligned, as the format allows. */
    while (!h.failed && h.len % 8 != 0)
        rt_buf_append(&h, " ", 1);

    rt_buf file = {0};
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    rt_buf_append(&file, len8, 8);
    if (!h.failed)
        rt_buf_append(&file, h.data, h.len);
    put_tensor_data(&file, pm, params);
    if (opt_m)
        put_tensor_data(&file, m, opt_m);
    if (opt_v)
        put_tensor_data(&file, m, opt_v);
    if (best)
        put_tensor_data(&file, pm, best);
    if (last)
        put_tensor_data(&file, pm, last);
    int rc;
    if (h.failed || file.failed)
        rc = rt_error("%s: out of memory building the checkpoint", path);
    else
        rc = rt_write_atomic(path, file.data, file.len);
    rt_buf_free(&h);
    rt_buf_free(&file);
    return rc;
}

int cnn_checkpoint_save_state(const char *path, const cnn_model *m, const float *params,
                              const cnn_train_state *st)
{
    cnn_model pm;
    int failed;
    cnn_tensor *all = params_view(m, &pm, &failed);
    if (failed)
        return rt_error("%s: out of memory building the checkpoint", path);
    int rc = save_checkpoint(path, m, &pm, params, st);
    free(all);
    return rc;
}

int cnn_checkpoint_save(const char *path, const cnn_model *m, const float *params,
                        const float *opt_m, const float *opt_v, long step)
{
    if (!opt_m && !opt_v)
        return cnn_checkpoint_save_state(path, m, params, NULL);
    cnn_train_state st = {.opt_m = (float *)opt_m, .opt_v = (float *)opt_v, .step = step,
                          .learning_rate = m->train.learning_rate};
    return cnn_checkpoint_save_state(path, m, params, &st);
}

/* ------------------------------------------------------------------ reading: the header */

/* One tensor of a file, as its header describes it. */
typedef struct st_tensor {
    const char *name;
    size_t name_len;
    const char *dtype;
    const json_value *shape;
    uint64_t begin, end;
} st_tensor;

typedef struct st_file {
    const char *path;
    FILE *f;
    uint64_t header_len, data_len;
    json_value header;
    const json_value *metadata;
    st_tensor *tensors;
    size_t n;
    st_tensor **by_name; /* sorted by name, for lookups */
} st_file;

static int dtype_size(const char *dtype)
{
    static const struct { const char *name; int size; } known[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1},
        {"F8_E4M3", 1}, {"F8_E5M2", 1},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(dtype, known[i].name) == 0)
            return known[i].size;
    return 0;
}

/* Writes "[a, b, c]" into buf (cut short with "..." if it does not fit). */
static const char *file_shape_text(const json_value *shape, char *buf, size_t size)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < shape->count && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", shape->items[i].text);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    else if (size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

static const char *model_shape_text(const cnn_tensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%d", d ? ", " : "", t->shape[d]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

/* Checks one `"name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]}` entry. */
static int parse_tensor(const st_file *sf, const json_member *mem, st_tensor *t)
{
    const char *path = sf->path;
    const json_value *info = &mem->value;
    t->name = mem->key;
    t->name_len = mem->key_len;
    if (strlen(mem->key) != mem->key_len)
        return rt_error("%s: a tensor name holds a NUL character", path);
    if (info->type != JSON_OBJECT)
        return rt_error("%s: tensor '%s' is not described by a JSON object", path, t->name);
    int seen[3] = {0, 0, 0};
    static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
    for (size_t i = 0; i < info->count; i++) {
        const json_member *f = &info->members[i];
        int k = 0;
        while (k < 3 && !(f->key_len == strlen(fields[k]) && memcmp(f->key, fields[k], f->key_len) == 0))
            k++;
        if (k == 3)
            return rt_error("%s: tensor '%s' has an unknown field '%s'", path, t->name, f->key);
        if (seen[k]++)
            return rt_error("%s: tensor '%s' has field '%s' twice", path, t->name, fields[k]);
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return rt_error("%s: tensor '%s' has no '%s'", path, t->name, fields[k]);

    const json_value *dtype = cnn_json_get(info, "dtype");
    if (dtype->type != JSON_STRING || dtype_size(dtype->text) == 0)
        return rt_error("%s: tensor '%s' has an unknown dtype", path, t->name);
    t->dtype = dtype->text;

    const json_value *shape = cnn_json_get(info, "shape");
    if (shape->type != JSON_ARRAY)
        return rt_error("%s: tensor '%s': shape is not an array", path, t->name);
    uint64_t elems = 1;
    for (size_t i = 0; i < shape->count; i++) {
        uint64_t dim;
        if (cnn_json_to_u64(&shape->items[i], &dim) != 0)
            return rt_error("%s: tensor '%s': shape holds something other than a size", path, t->name);
        if (dim != 0 && elems > UINT64_MAX / dim)
            return rt_error("%s: tensor '%s': shape overflows 64 bits", path, t->name);
        elems *= dim;
    }
    t->shape = shape;

    const json_value *offs = cnn_json_get(info, "data_offsets");
    if (offs->type != JSON_ARRAY || offs->count != 2 || cnn_json_to_u64(&offs->items[0], &t->begin) != 0 ||
        cnn_json_to_u64(&offs->items[1], &t->end) != 0)
        return rt_error("%s: tensor '%s': data_offsets is not a pair of offsets", path, t->name);
    if (t->end < t->begin)
        return rt_error("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                        path, t->name, t->begin, t->end);
    if (t->end > sf->data_len)
        return rt_error("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] go past the %" PRIu64
                        " bytes of data", path, t->name, t->begin, t->end, sf->data_len);
    uint64_t size = (uint64_t)dtype_size(t->dtype);
    if (elems > UINT64_MAX / size)
        return rt_error("%s: tensor '%s': shape overflows 64 bits", path, t->name);
    if (elems * size != t->end - t->begin) {
        char fs[160];
        return rt_error("%s: tensor '%s': shape %s of %s needs %" PRIu64 " bytes but data_offsets [%" PRIu64
                        ", %" PRIu64 "] hold %" PRIu64, path, t->name, file_shape_text(shape, fs, sizeof fs),
                        t->dtype, elems * size, t->begin, t->end, t->end - t->begin);
    }
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int cmp_offsets(const void *a, const void *b)
{
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    if (x->begin != y->begin)
        return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end);
}

static st_tensor *find_tensor(const st_file *sf, const char *prefix, const char *name)
{
    char key[512];
    int n = snprintf(key, sizeof key, "%s%s", prefix, name);
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    st_tensor probe = {key, (size_t)n, NULL, NULL, 0, 0}, *pp = &probe;
    st_tensor **hit = bsearch(&pp, sf->by_name, sf->n, sizeof *sf->by_name, cmp_name);
    return hit ? *hit : NULL;
}

/* Checks the tensors' names and that their byte ranges tile the data exactly. */
static int check_layout(st_file *sf)
{
    const char *path = sf->path;
    st_tensor **order = malloc((sf->n ? sf->n : 1) * sizeof *order);
    sf->by_name = malloc((sf->n ? sf->n : 1) * sizeof *sf->by_name);
    if (!order || !sf->by_name) {
        free(order);
        return rt_error("%s: out of memory", path);
    }
    for (size_t i = 0; i < sf->n; i++)
        order[i] = sf->by_name[i] = &sf->tensors[i];
    qsort(sf->by_name, sf->n, sizeof *sf->by_name, cmp_name);
    for (size_t i = 1; i < sf->n; i++) {
        if (cmp_name(&sf->by_name[i - 1], &sf->by_name[i]) == 0) {
            free(order);
            return rt_error("%s: tensor '%s' appears twice", path, sf->by_name[i]->name);
        }
    }
    qsort(order, sf->n, sizeof *order, cmp_offsets);
    uint64_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < sf->n && rc == 0; i++) {
        if (order[i]->begin < at)
            rc = rt_error("%s: tensors '%s' and '%s' overlap", path, order[i - 1]->name, order[i]->name);
        else if (order[i]->begin > at)
            rc = rt_error("%s: a gap of %" PRIu64 " bytes lies before tensor '%s'", path,
                          order[i]->begin - at, order[i]->name);
        at = order[i]->end;
    }
    if (rc == 0 && at != sf->data_len)
        rc = rt_error("%s: the tensors end at byte %" PRIu64 " of the data but the file holds %" PRIu64
                      " bytes after the header", path, at, sf->data_len);
    free(order);
    return rc;
}

static int check_metadata(st_file *sf, const json_value *meta)
{
    if (meta->type != JSON_OBJECT)
        return rt_error("%s: __metadata__ is not an object", sf->path);
    for (size_t i = 0; i < meta->count; i++)
        if (meta->members[i].value.type != JSON_STRING)
            return rt_error("%s: __metadata__ value '%s' is not a string", sf->path, meta->members[i].key);
    sf->metadata = meta;
    return 0;
}

static int read_exact(st_file *sf, void *buf, size_t n)
{
    if (fread(buf, 1, n, sf->f) == n)
        return 0;
    if (ferror(sf->f))
        return rt_error("%s: cannot read: %s", sf->path, strerror(errno));
    return rt_error("%s: the file ended early", sf->path);
}

/* Reads and checks everything but the tensor data. */
static int open_checkpoint(st_file *sf, const char *path)
{
    memset(sf, 0, sizeof *sf);
    sf->path = path;
    sf->f = fopen(path, "rb");
    if (!sf->f)
        return rt_error("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(sf->f), &st) != 0)
        return rt_error("%s: cannot read: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rt_error("%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    unsigned char len8[8];
    if (size < 8)
        return rt_error("%s: too short for a safetensors file (%" PRIu64 " bytes)", path, size);
    if (read_exact(sf, len8, 8) != 0)
        return -1;
    for (int i = 7; i >= 0; i--)
        sf->header_len = sf->header_len << 8 | len8[i];
    if (sf->header_len > ST_MAX_HEADER)
        return rt_error("%s: header length %" PRIu64 " is larger than the %llu bytes safetensors allows",
                        path, sf->header_len, ST_MAX_HEADER);
    if (sf->header_len > size - 8)
        return rt_error("%s: header length %" PRIu64 " runs past the end of the %" PRIu64 "-byte file",
                        path, sf->header_len, size);
    sf->data_len = size - 8 - sf->header_len;

    char *text = rt_malloc((size_t)sf->header_len + 1);
    if (!text)
        return -1;
    if (read_exact(sf, text, (size_t)sf->header_len) != 0) {
        free(text);
        return -1;
    }
    char err[256];
    if (sf->header_len == 0 || text[0] != '{') {
        free(text);
        return rt_error("%s: the header does not start with '{'", path);
    }
    int rc = cnn_json_parse(text, (size_t)sf->header_len, &sf->header, err, sizeof err);
    free(text);
    if (rc != 0)
        return rt_error("%s: the header is not valid JSON: %s", path, err);

    const json_value *h = &sf->header;
    sf->tensors = calloc(h->count ? h->count : 1, sizeof *sf->tensors);
    if (!sf->tensors)
        return rt_error("%s: out of memory", path);
    for (size_t i = 0; i < h->count; i++) {
        const json_member *mem = &h->members[i];
        if (strcmp(mem->key, "__metadata__") == 0 && mem->key_len == strlen("__metadata__")) {
            if (sf->metadata)
                return rt_error("%s: __metadata__ appears twice", path);
            if (check_metadata(sf, &mem->value) != 0)
                return -1;
            continue;
        }
        if (parse_tensor(sf, mem, &sf->tensors[sf->n]) != 0)
            return -1;
        sf->n++;
    }
    return check_layout(sf);
}

static void close_checkpoint(st_file *sf)
{
    if (sf->f)
        fclose(sf->f);
    cnn_json_free(&sf->header);
    free(sf->tensors);
    free(sf->by_name);
}

/* ------------------------------------------------------------------ reading: the model's tensors */

static int shape_matches(const st_tensor *ft, const cnn_tensor *t)
{
    if (ft->shape->count != (size_t)t->ndim)
        return 0;
    for (int d = 0; d < t->ndim; d++) {
        uint64_t dim;
        if (cnn_json_to_u64(&ft->shape->items[d], &dim) != 0 || dim != (uint64_t)t->shape[d])
            return 0;
    }
    return 1;
}

/* The file's tensor `prefix + t->name`, checked to be F32 with the model's shape. */
static int match_tensor(const st_file *sf, const char *prefix, const cnn_tensor *t, st_tensor **out)
{
    char fs[160], ms[160];
    st_tensor *ft = find_tensor(sf, prefix, t->name);
    *out = ft;
    if (!ft)
        return rt_error("%s: has no tensor '%s%s'", sf->path, prefix, t->name);
    if (strcmp(ft->dtype, "F32") != 0)
        return rt_error("%s: tensor '%s' has dtype %s but the model wants F32", sf->path, ft->name,
                        ft->dtype);
    if (!shape_matches(ft, t))
        return rt_error("%s: tensor '%s' has shape %s but the model wants %s", sf->path, ft->name,
                        file_shape_text(ft->shape, fs, sizeof fs), model_shape_text(t, ms, sizeof ms));
    return 0;
}

static int is_model_tensor(const cnn_model *m, const st_tensor *ft, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (ft->name_len < pl || memcmp(ft->name, prefix, pl) != 0)
        return 0;
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(ft->name + pl, m->tensors[i].name) == 0)
            return 1;
    return 0;
}

static float get_le_float(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Decodes the model tensors named `prefix + name` into a flat array of num_params floats. */
static int read_set(st_file *sf, const cnn_model *m, const char *prefix, float *dst)
{
    unsigned char buf[4096];
    for (int i = 0; i < m->num_tensors; i++) {
        const cnn_tensor *t = &m->tensors[i];
        st_tensor *ft;
        if (match_tensor(sf, prefix, t, &ft) != 0)
            return -1;
        if (fseeko(sf->f, (off_t)(8 + sf->header_len + ft->begin), SEEK_SET) != 0)
            return rt_error("%s: cannot seek: %s", sf->path, strerror(errno));
        size_t left = t->count, k = 0;
        while (left > 0) {
            size_t chunk = left < sizeof buf / 4 ? left : sizeof buf / 4;
            if (read_exact(sf, buf, chunk * 4) != 0)
                return -1;
            for (size_t j = 0; j < chunk; j++)
                dst[t->offset + k + j] = get_le_float(buf + 4 * j);
            k += chunk;
            left -= chunk;
        }
    }
    return 0;
}

/* Whether the file holds the optimizer state `prefix`: all of it, none of it, or (an error) part. */
static int has_state(const st_file *sf, const cnn_model *m, const char *prefix, int *present)
{
    int found = 0;
    const char *missing = NULL;
    for (int i = 0; i < m->num_tensors; i++) {
        if (find_tensor(sf, prefix, m->tensors[i].name))
            found++;
        else if (!missing)
            missing = m->tensors[i].name;
    }
    if (found > 0 && missing)
        return rt_error("%s: has optimizer state for some tensors but no tensor '%s%s'", sf->path,
                        prefix, missing);
    *present = found > 0;
    return 0;
}

/* A count from the metadata (`step`, `epoch`): 0 when absent. */
static int parse_count(const st_file *sf, const char *key, long max, long *out)
{
    const json_value *v = sf->metadata ? cnn_json_get(sf->metadata, key) : NULL;
    *out = 0;
    if (!v)
        return 0;
    uint64_t x = 0;
    json_value num = {JSON_NUMBER, v->text, v->len, 0, NULL, NULL};
    if (cnn_json_to_u64(&num, &x) != 0 || x > (uint64_t)max)
        return rt_error("%s: metadata %s '%s' is not a count", sf->path, key, v->text);
    *out = (long)x;
    return 0;
}

/* The metadata's value for key as a number; 0 when absent or not a number. */
static int meta_number(const st_file *sf, const char *key, double *out)
{
    const json_value *v = sf->metadata ? cnn_json_get(sf->metadata, key) : NULL;
    char *end;
    if (!v || !*v->text)
        return 0;
    *out = strtod(v->text, &end);
    return *end == '\0';
}

/* Whether the optimizer state in the file belongs to the model's optimizer: the same kind and
 * the same hyper-parameters that shape the state (beta_1, beta_2 and epsilon for Adam,
 * momentum and Nesterov for SGD). The learning rate may differ: the moments do not depend on
 * it, and a different rate is how training is tuned when it resumes. When they differ, `why`
 * describes both. */
static int same_optimizer(const st_file *sf, const cnn_train_config *t, char *why, size_t size)
{
    const json_value *kind = sf->metadata ? cnn_json_get(sf->metadata, "optimizer") : NULL;
    char want[160], got[160];
    double b1 = 0, b2 = 0, eps = 0, mom = 0;
    int ok;
    double rho = 0;
    if (t->optimizer == CNN_OPT_ADAM || t->optimizer == CNN_OPT_ADAMW)
        snprintf(want, sizeof want, "%s(beta_1=%g, beta_2=%g, epsilon=%g)",
                 t->optimizer == CNN_OPT_ADAM ? "adam" : "adamw", t->beta_1, t->beta_2, t->epsilon);
    else if (t->optimizer == CNN_OPT_RMSPROP)
        snprintf(want, sizeof want, "rmsprop(rho=%g, momentum=%g, epsilon=%g)", t->rho, t->momentum, t->epsilon);
    else
        snprintf(want, sizeof want, "sgd(momentum=%g, nesterov=%s)", t->momentum,
                 t->nesterov ? "true" : "false");
    if (!kind) {
        snprintf(why, size, "does not say which optimizer its state belongs to (an older cnnc "
                 "wrote it), and the model trains with %s", want);
        return 0;
    }
    if (strcmp(kind->text, "adam") == 0 || strcmp(kind->text, "adamw") == 0) {
        /* AdamW's moments are Adam's: the weight decay does not shape them. */
        int adamw = strcmp(kind->text, "adamw") == 0;
        ok = meta_number(sf, "beta_1", &b1) && meta_number(sf, "beta_2", &b2) &&
             meta_number(sf, "epsilon", &eps);
        snprintf(got, sizeof got, ok ? "%s(beta_1=%g, beta_2=%g, epsilon=%g)" : "%s(?)", kind->text, b1, b2, eps);
        ok = ok && t->optimizer == (adamw ? CNN_OPT_ADAMW : CNN_OPT_ADAM) && b1 == t->beta_1 && b2 == t->beta_2 &&
             eps == t->epsilon;
    } else if (strcmp(kind->text, "rmsprop") == 0) {
        ok = meta_number(sf, "rho", &rho) && meta_number(sf, "momentum", &mom) && meta_number(sf, "epsilon", &eps);
        snprintf(got, sizeof got, ok ? "rmsprop(rho=%g, momentum=%g, epsilon=%g)" : "rmsprop(?)", rho, mom, eps);
        ok = ok && t->optimizer == CNN_OPT_RMSPROP && rho == t->rho && mom == t->momentum && eps == t->epsilon;
    } else if (strcmp(kind->text, "sgd") == 0) {
        const json_value *nest = cnn_json_get(sf->metadata, "nesterov");
        int nesterov = nest && strcmp(nest->text, "true") == 0;
        ok = meta_number(sf, "momentum", &mom) && nest;
        snprintf(got, sizeof got, ok ? "sgd(momentum=%g, nesterov=%s)" : "sgd(?)", mom,
                 nesterov ? "true" : "false");
        ok = ok && t->optimizer == CNN_OPT_SGD && mom == t->momentum && nesterov == t->nesterov;
    } else {
        snprintf(got, sizeof got, "'%.60s'", kind->text);
        ok = 0;
    }
    if (!ok)
        snprintf(why, size, "holds the state of %s, but the model trains with %s", got, want);
    return ok;
}

/* reduce_on_plateau's and early stopping's state where the file holds it (a run saved without
 * them leaves the caller's), and whether it holds restore_best's weights. */
static int load_schedule_state(const st_file *sf, cnn_train_state *st, int has_best)
{
    double rate, pbest, pwait, sbest, swait, sepoch;
    if (st->has_plateau) {
        st->has_plateau = meta_number(sf, "plateau_rate", &rate) && meta_number(sf, "plateau_best", &pbest) &&
                          meta_number(sf, "plateau_wait", &pwait);
        if (st->has_plateau && !(rate > 0 && pwait >= 0 && pwait <= INT_MAX))
            return rt_error("%s: its reduce_on_plateau state is not valid (rate %g, wait %g)", sf->path, rate,
                            pwait);
        if (st->has_plateau) {
            st->plateau_rate = rate;
            st->plateau_best = pbest;
            st->plateau_wait = (int)pwait;
        }
    }
    if (st->has_stop) {
        st->has_stop = meta_number(sf, "stop_best", &sbest) && meta_number(sf, "stop_wait", &swait) &&
                       meta_number(sf, "stop_best_epoch", &sepoch);
        if (st->has_stop && !(swait >= 0 && swait <= INT_MAX && sepoch >= 0 && sepoch <= INT_MAX))
            return rt_error("%s: its early stopping state is not valid", sf->path);
        if (st->has_stop) {
            st->stop_best = sbest;
            st->stop_wait = (int)swait;
            st->stop_best_epoch = (int)sepoch;
        }
    }
    st->has_best = has_best;
    return 0;
}

/* Loads params (in the model's params view pm) and, where st asks, the optimizer's state. */
static int load_checkpoint(const char *path, const cnn_model *m, const cnn_model *pm, float *params,
                           cnn_train_state *st)
{
    st_file sf;
    /* The weights, the optimizer's two moments, restore_best's weights, and the last epoch's
     * weights of a run that ended with the best ones: then training goes on from the last, and
     * the saved weights are the best. */
    float *tmp[5] = {NULL, NULL, NULL, NULL, NULL};
    int present[5] = {1, 0, 0, 0, 0};
    const char *prefixes[5] = {"", OPT_M_PREFIX, OPT_V_PREFIX, BEST_PREFIX, LAST_PREFIX};
    float *dst[5] = {params, st ? st->opt_m : NULL, st ? st->opt_v : NULL, st ? st->best : NULL, params};
    long file_step = 0, file_epoch = 0;
    int afresh = 0;
    char why[400];
    int rc = -1;

    if (check_model_layout(m) != 0 || check_model_layout(pm) != 0)
        return -1;
    if (open_checkpoint(&sf, path) != 0)
        goto done;
    for (int i = 0; i < pm->num_tensors; i++) {
        st_tensor *ft;
        if (match_tensor(&sf, "", &pm->tensors[i], &ft) != 0)
            goto done;
    }
    for (size_t i = 0; i < sf.n; i++) {
        const st_tensor *ft = &sf.tensors[i];
        if (!is_model_tensor(pm, ft, "") && strncmp(ft->name, "optimizer.", 10) != 0 &&
            !is_model_tensor(pm, ft, BEST_PREFIX) && !is_model_tensor(pm, ft, LAST_PREFIX)) {
            rt_error("%s: has a tensor '%s' that model '%s' does not have", path, ft->name, m->name);
            goto done;
        }
    }
    if (sf.metadata) {
        const json_value *name = cnn_json_get(sf.metadata, "model");
        const json_value *version = cnn_json_get(sf.metadata, "format_version");
        if (name && strcmp(name->text, m->name) != 0) {
            rt_error("%s: was saved by model '%s', not '%s'", path, name->text, m->name);
            goto done;
        }
        if (version && strcmp(version->text, ST_FORMAT_VERSION) != 0) {
            rt_error("%s: format_version '%s' is not the one this runtime reads (%s)", path,
                     version->text, ST_FORMAT_VERSION);
            goto done;
        }
    }
    if (st) {
        int file_m = 0, file_v = 0;
        if (has_state(&sf, m, OPT_M_PREFIX, &file_m) != 0 || has_state(&sf, m, OPT_V_PREFIX, &file_v) != 0 ||
            parse_count(&sf, "epoch", INT_MAX, &file_epoch) != 0 ||
            parse_count(&sf, "step", LONG_MAX, &file_step) != 0)
            goto done;
        /* The state is taken only where it is all there and the model's optimizer's: Adam's
         * first moment must never be read from SGD's velocity, saved under the same name. A
         * file with no state at all (saved with --save-weights-only) starts it afresh quietly. */
        int same = same_optimizer(&sf, &m->train, why, sizeof why);
        int adam = m->train.optimizer == CNN_OPT_ADAM || m->train.optimizer == CNN_OPT_ADAMW;
        int need_m = st->opt_m && (adam || m->train.momentum != 0);
        int need_v = st->opt_v && (adam || m->train.optimizer == CNN_OPT_RMSPROP);
        int complete = (!need_m || file_m) && (!need_v || file_v);
        if (same && complete) {
            present[1] = file_m && st->opt_m;
            present[2] = file_v && st->opt_v;
        } else {
            file_step = 0;
            if (same && (file_m || file_v))
                snprintf(why, sizeof why, "holds only part of the optimizer's state");
            afresh = file_m || file_v;
        }
        int file_best = 0, file_last = 0;
        if (has_state(&sf, pm, BEST_PREFIX, &file_best) != 0 || has_state(&sf, pm, LAST_PREFIX, &file_last) != 0)
            goto done;
        present[4] = file_last && st->best;
        present[3] = file_best && st->best && !present[4];
        if (present[4])
            dst[3] = NULL; /* the best are the saved weights: copied below */
        if (load_schedule_state(&sf, st, present[3] || present[4]) != 0)
            goto done;
    }
    for (int s = 0; s < 5; s++) {
        if (!present[s])
            continue;
        const cnn_model *set = s == 1 || s == 2 ? m : pm;
        tmp[s] = rt_calloc(set->num_params > 0 ? set->num_params : 1, sizeof(float));
        if (!tmp[s] || read_set(&sf, set, prefixes[s], tmp[s]) != 0)
            goto done;
    }
    /* A diverged model would classify everything as NaN: refuse it, naming the tensor. */
    for (int s = 0; s < 5; s++) {
        char at[96];
        float bad;
        const cnn_tensor *t = present[s] ? non_finite(s == 1 || s == 2 ? m : pm, tmp[s], &bad, at, sizeof at) : NULL;
        if (t) {
            rt_error("%s: tensor '%s%s' holds %s at %s, a non-finite value: the model diverged "
                     "before it was saved, and cannot be used", path, prefixes[s], t->name,
                     non_finite_name(bad), at);
            goto done;
        }
    }
    /* Only now, with everything read, are the caller's arrays overwritten. */
    if (present[4])
        for (int i = 0; i < pm->num_tensors; i++)
            memcpy(st->best + pm->tensors[i].offset, tmp[0] + pm->tensors[i].offset,
                   pm->tensors[i].count * sizeof(float));
    for (int s = 0; s < 5; s++) {
        const cnn_model *set = s == 1 || s == 2 ? m : pm;
        if (present[s])
            for (int i = 0; i < set->num_tensors; i++)
                memcpy(dst[s] + set->tensors[i].offset, tmp[s] + set->tensors[i].offset,
                       set->tensors[i].count * sizeof(float));
    }
    if (st) {
        /* Whatever optimizer state the file lacked or could not give starts at zero. */
        for (int s = 1; s < 3; s++)
            if (dst[s] && !present[s])
                memset(dst[s], 0, m->num_params * sizeof(float));
        st->step = file_step;
        st->epoch = (int)file_epoch;
        if (afresh)
            rt_warning("%s: %s: the weights are loaded, and the optimizer starts afresh (step 0)",
                       path, why);
    }
    rc = 0;
done:
    close_checkpoint(&sf);
    for (int s = 0; s < 5; s++)
        free(tmp[s]);
    return rc;
}

int cnn_checkpoint_load_state(const char *path, const cnn_model *m, float *params,
                              cnn_train_state *st)
{
    cnn_model pm;
    int failed;
    cnn_tensor *all = params_view(m, &pm, &failed);
    if (failed)
        return rt_error("%s: out of memory reading the checkpoint", path);
    int rc = load_checkpoint(path, m, &pm, params, st);
    free(all);
    return rc;
}

int cnn_checkpoint_load(const char *path, const cnn_model *m, float *params,
                        float *opt_m, float *opt_v, long *step)
{
    if (!opt_m && !opt_v && !step)
        return cnn_checkpoint_load_state(path, m, params, NULL);
    cnn_train_state st = {.opt_m = opt_m, .opt_v = opt_v};
    int rc = cnn_checkpoint_load_state(path, m, params, &st);
    if (rc == 0 && step)
        *step = st.step;
    return rc;
}
