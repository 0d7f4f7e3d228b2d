/*
 * test_safetensors.c - checkpoints (safetensors.c, json.c, rt_io.c): round trips, atomic
 * writes, and each rule a file must follow, with a hand-made file breaking it.
 * Usage: test_safetensors SCRATCH_DIR
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cnnrt.h"
#include "rt_io.h"
#include "io_check.h"

/* A small network's tensors: a 3x3 conv 1 -> 2 and a dense 8 -> 3. */
static const cnn_tensor net_tensors[] = {
    {"conv2d_1.kernel", 4, {3, 3, 1, 2}, 0, 18, 9, 18, 0, 0},
    {"conv2d_1.bias", 1, {2}, 18, 2, 0, 0, 1, 0},
    {"dense_1.kernel", 2, {8, 3}, 20, 24, 8, 3, 0, 0},
    {"dense_1.bias", 1, {3}, 44, 3, 0, 0, 1, 0},
};
static const cnn_model net = {
    .name = "net", .cnnc_version = "0.1.0", .batch = 4, .in_h = 5, .in_w = 5, .in_c = 1, .classes = 3,
    .num_params = 47, .num_tensors = 4, .tensors = net_tensors,
};

/* The model the hand-made files are written for: d.kernel [2, 2] (16 bytes), d.bias [2] (8). */
static const cnn_tensor tiny_tensors[] = {
    {"d.kernel", 2, {2, 2}, 0, 4, 2, 2, 0, 0},
    {"d.bias", 1, {2}, 4, 2, 0, 0, 1, 0},
};
static const cnn_model tiny = {
    .name = "tiny", .batch = 1, .in_h = 2, .in_w = 1, .in_c = 1, .classes = 2,
    .num_params = 6, .num_tensors = 2, .tensors = tiny_tensors,
};

#define META "\"__metadata__\":{\"format_version\":\"1\",\"model\":\"tiny\"}"
#define KERNEL "\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define BIAS "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}"

/* Writes a safetensors file: the header's length (or `claimed_len` if not ~0), the header, and
 * `data_len` bytes of data (floats 1, 2, 3, ... little-endian, then zeros). */
static char *craft_len(const char *name, const char *header, uint64_t claimed_len, size_t data_len)
{
    size_t hl = strlen(header);
    uint64_t len = claimed_len != ~(uint64_t)0 ? claimed_len : hl;
    unsigned char *buf = calloc(8 + hl + data_len + 1, 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, hl);
    for (size_t k = 0; k + 4 <= data_len && k < 24; k += 4) {
        float f = (float)(k / 4 + 1);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int i = 0; i < 4; i++)
            buf[8 + hl + k + (size_t)i] = (unsigned char)(u >> (8 * i));
    }
    char *path = io_path(name);
    io_write(path, buf, 8 + hl + data_len);
    free(buf);
    return path;
}

static char *craft(const char *name, const char *header, size_t data_len)
{
    return craft_len(name, header, ~(uint64_t)0, data_len);
}

static float params[47], loaded[47], m1[47], v1[47], m2[47], v2[47];

static void test_round_trip(void)
{
    /* Values whose bits a careless encoder would lose: -0, denormals, the largest floats.
     * (NaN and infinity are refused: test_non_finite.) */
    for (int i = 0; i < 47; i++) {
        params[i] = (float)sin(i * 1.7) * 3.0f;
        m1[i] = (float)i * 1e-3f;
        v1[i] = (float)i * 1e-7f;
    }
    params[3] = -0.0f;
    params[5] = 1e-42f;
    params[7] = FLT_MAX;
    params[8] = -FLT_MAX;
    uint32_t tiny_bits = 0x80000001u; /* the negative denormal nearest zero */
    memcpy(&params[9], &tiny_bits, 4);
    params[0] = 1.0f;

    char *p = io_path("net.safetensors");
    int rc = cnn_checkpoint_save(p, &net, params, NULL, NULL, 0);
    CHECK("st: save", rc == 0);
    memset(loaded, 0xee, sizeof loaded);
    rc = cnn_checkpoint_load(p, &net, loaded, NULL, NULL, NULL);
    CHECK("st: round trip is bit-identical", rc == 0 && memcmp(params, loaded, sizeof params) == 0);

    /* The layout on disk: little-endian length, 8-aligned header, then 1.0f as 00 00 80 3f. */
    FILE *f = fopen(p, "rb");
    unsigned char head[8];
    CHECK("st: file has a length", f && fread(head, 1, 8, f) == 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | head[i];
    char *text = calloc(hl + 1, 1);
    unsigned char first[4] = {0};
    if (f && fread(text, 1, hl, f) == hl && fread(first, 1, 4, f) == 4) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        CHECK("st: file size is 8 + header + 47 floats", (uint64_t)size == 8 + hl + 47 * 4);
    }
    if (f)
        fclose(f);
    CHECK("st: header is 8-byte aligned", hl % 8 == 0);
    CHECK("st: header starts with the metadata",
          strncmp(text, "{\"__metadata__\":{\"format_version\":\"1\",\"model\":\"net\"", 50) == 0);
    CHECK("st: header gives conv kernel shape",
          strstr(text, "\"conv2d_1.kernel\":{\"dtype\":\"F32\",\"shape\":[3,3,1,2],\"data_offsets\":[0,72]}") != NULL);
    CHECK("st: floats are little-endian", first[0] == 0 && first[1] == 0 && first[2] == 0x80 && first[3] == 0x3f);
    free(text);

    /* With optimizer state. */
    p = io_path("net-opt.safetensors");
    rc = cnn_checkpoint_save(p, &net, params, m1, v1, 1234);
    CHECK("st: save with optimizer state", rc == 0);
    long step = -1;
    rc = cnn_checkpoint_load(p, &net, loaded, m2, v2, &step);
    CHECK("st: optimizer state round trip", rc == 0 && step == 1234 && memcmp(m1, m2, sizeof m1) == 0 &&
                                                memcmp(v1, v2, sizeof v1) == 0 &&
                                                memcmp(params, loaded, sizeof params) == 0);
    memset(loaded, 0, sizeof loaded);
    rc = cnn_checkpoint_load(p, &net, loaded, NULL, NULL, NULL);
    CHECK("st: params alone from a file with optimizer state",
          rc == 0 && memcmp(params, loaded, sizeof params) == 0);
    memset(m2, 0, sizeof m2);
    step = -1;
    rc = cnn_checkpoint_load(io_path("net.safetensors"), &net, loaded, m2, v2, &step);
    CHECK("st: asking for state a file lacks gives step 0", rc == 0 && step == 0 && m2[5] == 0.0f);
    p = io_path("net-m.safetensors");
    rc = cnn_checkpoint_save(p, &net, params, m1, NULL, 7);
    memset(m2, 0, sizeof m2);
    memset(v2, 0, sizeof v2);
    rc = rc == 0 ? cnn_checkpoint_load(p, &net, loaded, m2, v2, &step) : rc;
    CHECK("st: momentum only (sgd)", rc == 0 && step == 7 && memcmp(m1, m2, sizeof m1) == 0 && v2[3] == 0.0f);
    EXPECT_ERROR("st: a checkpoint of another model", cnn_checkpoint_load(p, &tiny, loaded, NULL, NULL, NULL),
                 "net-m.safetensors: has no tensor 'd.kernel'");
}

/* A model that diverged is neither saved nor loaded: the error names the tensor and the
 * element, and a failed save leaves the previous checkpoint as it was. */
static void test_non_finite(void)
{
    float bad[47];
    char *p = io_path("finite.safetensors");
    CHECK("st: finite values save", cnn_checkpoint_save(p, &net, params, m1, v1, 3) == 0);
    memcpy(bad, params, sizeof bad);
    bad[20 + 3 * 3 + 2] = NAN; /* dense_1.kernel [3, 2] */
    EXPECT_ERROR("st: NaN is not saved", cnn_checkpoint_save(p, &net, bad, NULL, NULL, 0),
                 "finite.safetensors: not saved: tensor 'dense_1.kernel' holds NaN at [3, 2]");
    memset(loaded, 0, sizeof loaded);
    CHECK("st: a refused save keeps the old checkpoint",
          cnn_checkpoint_load(p, &net, loaded, NULL, NULL, NULL) == 0 &&
              memcmp(params, loaded, sizeof params) == 0);
    float bad_v[47];
    memcpy(bad_v, v1, sizeof bad_v);
    bad_v[18] = INFINITY; /* conv2d_1.bias [0] */
    EXPECT_ERROR("st: infinite optimizer state is not saved",
                 cnn_checkpoint_save(p, &net, params, m1, bad_v, 3),
                 "not saved: tensor 'optimizer.v.conv2d_1.bias' holds +infinity at [0]");

    /* A file holding NaN, as an older cnnc could write it: refused on load. */
    char header[] = "{" META "," KERNEL "," BIAS "}";
    p = craft("nan.st", header, 24);
    FILE *f = fopen(p, "r+b");
    static const unsigned char nan_le[4] = {0x00, 0x00, 0xc0, 0x7f};
    if (f) {
        fseek(f, (long)(8 + strlen(header) + 4 * 3), SEEK_SET); /* d.kernel [1, 1] */
        fwrite(nan_le, 1, 4, f);
        fclose(f);
    }
    float out[6] = {5, 5, 5, 5, 5, 5};
    EXPECT_ERROR("st: NaN is refused on load", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "nan.st: tensor 'd.kernel' holds NaN at [1, 1], a non-finite value: the model diverged");
    CHECK("st: a refused load leaves the parameters alone", out[0] == 5 && out[5] == 5);
}

static int temp_files_left(const char *prefix)
{
    DIR *d = opendir(io_dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_atomic(void)
{
    EXPECT_ERROR("st: save into a missing directory",
                 cnn_checkpoint_save(io_path("no/such/dir/x.safetensors"), &net, params, NULL, NULL, 0),
                 "no/such/dir/x.safetensors: cannot write: No such file or directory");
    /* /proc refuses new files even to root, like a read-only file system. */
    EXPECT_ERROR("st: save where files cannot be created",
                 cnn_checkpoint_save("/proc/cnnc-test.safetensors", &net, params, NULL, NULL, 0),
                 "/proc/cnnc-test.safetensors: cannot write");

    /* A full disk shows at fflush: /dev/full fails every write with ENOSPC. */
    FILE *full = fopen("/dev/full", "wb");
    if (full) {
        static char big[100000];
        EXPECT_ERROR("st: a full disk is reported", rt_write_stream(full, "ckpt", big, sizeof big),
                     "ckpt: cannot write: No space left on device");
        fclose(full);
    } else {
        io_fail("st: a full disk is reported", "cannot open /dev/full: %s", strerror(errno));
    }

    /* A failed save leaves the previous checkpoint as it was: the temporary name is taken by
     * a directory, so the new file cannot even be created. */
    char *p = io_path("keep.safetensors");
    int rc = cnn_checkpoint_save(p, &net, params, NULL, NULL, 0);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    mkdir(tmp, 0755);
    float other[47] = {0};
    EXPECT_ERROR("st: failed save is reported", cnn_checkpoint_save(p, &net, other, NULL, NULL, 0),
                 "keep.safetensors: cannot write");
    rmdir(tmp);
    memset(loaded, 0, sizeof loaded);
    rc = rc == 0 ? cnn_checkpoint_load(p, &net, loaded, NULL, NULL, NULL) : rc;
    CHECK("st: failed save keeps the old checkpoint", rc == 0 && memcmp(params, loaded, sizeof params) == 0);

    /* A rename that fails (the target is a non-empty directory) removes the temporary file. */
    mkdir(io_path("adir"), 0755);
    io_write(io_path("adir/x"), "x", 1);
    EXPECT_ERROR("st: failed rename is reported", cnn_checkpoint_save(io_path("adir"), &net, params, NULL, NULL, 0),
                 "adir: cannot rename");
    CHECK("st: failed rename leaves no temporary file", temp_files_left("adir") == 0);
    CHECK("st: successful saves leave no temporary file", temp_files_left("keep") == 0);
}

static void test_rules(void)
{
    float out[6];
    char *p = craft("good.st", "{" META "," KERNEL "," BIAS "}", 24);
    int rc = cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL);
    CHECK("st: a hand-made file loads", rc == 0 && out[0] == 1.0f && out[3] == 4.0f && out[4] == 5.0f &&
                                            out[5] == 6.0f);
    p = craft("padded.st", "{" KERNEL "," BIAS "}    ", 24);
    CHECK("st: space padding and no metadata are accepted", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL) == 0);

    p = craft("escaped.st", "{\"__metadata__\":{\"note\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\n\"},"
              "\"d.b\\u0069as\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}," KERNEL "}", 24);
    CHECK("st: JSON escapes in names and metadata are decoded", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL) == 0);
    p = craft("utf8ok.st", "{\"__metadata__\":{\"note\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}," KERNEL "," BIAS "}", 24);
    CHECK("st: valid multi-byte UTF-8 is accepted", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL) == 0);

    /* A failed load must not touch the caller's parameters. */
    float sentinel[6] = {9, 9, 9, 9, 9, 9};
    memcpy(out, sentinel, sizeof out);
    p = craft("extra-data.st", "{" META "," KERNEL "," BIAS "}", 28);
    EXPECT_ERROR("st: data after the last tensor", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "extra-data.st: the tensors end at byte 24 of the data but the file holds 28 bytes");
    CHECK("st: failed load leaves params alone", memcmp(out, sentinel, sizeof out) == 0);

    io_write(io_path("short.st"), "\x10\0\0", 3);
    EXPECT_ERROR("st: shorter than 8 bytes", cnn_checkpoint_load(io_path("short.st"), &tiny, out, NULL, NULL, NULL),
                 "short.st: too short for a safetensors file");
    p = craft_len("huge-header.st", "{}", (uint64_t)1 << 62, 0);
    EXPECT_ERROR("st: absurd header length", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "huge-header.st: header length 4611686018427387904 is larger than the 100000000 bytes");
    p = craft_len("past-end.st", "{}", 1000, 0);
    EXPECT_ERROR("st: header past the end", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "past-end.st: header length 1000 runs past the end of the 10-byte file");
    p = craft("notjson.st", "{\"d.kernel\":", 0);
    EXPECT_ERROR("st: header not JSON", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "notjson.st: the header is not valid JSON: unexpected end of text at byte 12");
    p = craft("array.st", "[1]", 0);
    EXPECT_ERROR("st: header not an object", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "array.st: the header does not start with '{'");
    p = craft("comma.st", "{" KERNEL "," BIAS ",}", 24);
    EXPECT_ERROR("st: trailing comma", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "not valid JSON: expected a string key");
    p = craft("utf8.st", "{\"d.k\xc3\x28\":1}", 0);
    EXPECT_ERROR("st: invalid UTF-8", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "not valid JSON: invalid UTF-8");
    p = craft("overlong.st", "{\"\xc0\xaf\":1}", 0);
    EXPECT_ERROR("st: overlong UTF-8", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "not valid JSON: invalid UTF-8");
    p = craft("surrogate.st", "{\"\\ud800x\":1}", 0);
    EXPECT_ERROR("st: lone surrogate escape", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "high surrogate without a low one");
    char deep[400] = "{\"a\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    p = craft("deep.st", deep, 0);
    EXPECT_ERROR("st: nesting is limited", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "nested deeper than 64 levels");
    p = craft("zero.st", "{\"d.bias\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8);
    EXPECT_ERROR("st: leading zero", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "number with a leading zero");
    p = craft("dup.st", "{" META "," KERNEL "," BIAS ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}", 32);
    EXPECT_ERROR("st: duplicate tensor names", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "dup.st: tensor 'd.bias' appears twice");
    p = craft("f16.st", "{" KERNEL ",\"d.bias\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[16,24]}}", 24);
    EXPECT_ERROR("st: model tensors must be F32", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "f16.st: tensor 'd.bias' has dtype F16 but the model wants F32");
    p = craft("dtype.st", "{" KERNEL ",\"d.bias\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24);
    EXPECT_ERROR("st: unknown dtype", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "dtype.st: tensor 'd.bias' has an unknown dtype");
    p = craft("size.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: shape and offsets disagree", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "size.st: tensor 'd.kernel': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 16] hold 16");
    p = craft("overflow.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: shape product overflow", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "overflow.st: tensor 'd.kernel': shape overflows 64 bits");
    p = craft("negative.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: negative dimension", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel': shape holds something other than a size");
    p = craft("bigoff.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,99999999999999999999]}," BIAS "}", 24);
    EXPECT_ERROR("st: offset beyond 64 bits", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel': data_offsets is not a pair of offsets");
    p = craft("backward.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,0]}," BIAS "}", 24);
    EXPECT_ERROR("st: offsets backwards", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "data_offsets [16, 0] end before they begin");
    p = craft("past.st", "{" KERNEL ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 20);
    EXPECT_ERROR("st: offsets past the data", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "past.st: tensor 'd.bias': data_offsets [16, 24] go past the 20 bytes of data");
    p = craft("overlap.st", "{" KERNEL ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16);
    EXPECT_ERROR("st: overlapping tensors", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "overlap.st: tensors 'd.kernel' and 'd.bias' overlap");
    p = craft("gap.st", "{" KERNEL ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}", 28);
    EXPECT_ERROR("st: gap between tensors", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "gap.st: a gap of 4 bytes lies before tensor 'd.bias'");
    p = craft("field.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16],\"x\":1}," BIAS "}", 24);
    EXPECT_ERROR("st: unknown tensor field", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel' has an unknown field 'x'");
    p = craft("nulkey.st", "{\"d.kernel\":{\"dtype\\u0000x\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: a field name with a NUL in it", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel' has an unknown field 'dtype'");
    p = craft("nooffsets.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2]}," BIAS "}", 24);
    EXPECT_ERROR("st: tensor without data_offsets", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel' has no 'data_offsets'");
    p = craft("missing.st", "{" META "," KERNEL "}", 16);
    EXPECT_ERROR("st: a model tensor is missing", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "missing.st: has no tensor 'd.bias'");
    p = craft("shape.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[4,1],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: a tensor of the wrong shape", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "shape.st: tensor 'd.kernel' has shape [4, 1] but the model wants [2, 2]");
    p = craft("unknown.st", "{" KERNEL "," BIAS ",\"e.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}", 28);
    EXPECT_ERROR("st: a tensor the model lacks", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "unknown.st: has a tensor 'e.bias' that model 'tiny' does not have");
    p = craft("model.st", "{\"__metadata__\":{\"format_version\":\"1\",\"model\":\"other\"}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: saved by another model", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "model.st: was saved by model 'other', not 'tiny'");
    p = craft("version.st", "{\"__metadata__\":{\"format_version\":\"2\",\"model\":\"tiny\"}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: unknown format_version", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "version.st: format_version '2' is not the one this runtime reads (1)");
    p = craft("meta.st", "{\"__metadata__\":{\"format_version\":1}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: metadata values are strings", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "meta.st: __metadata__ value 'format_version' is not a string");
    p = craft("literal.st", "{\"__metadata__\":{\"model\":null}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: null metadata value", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "literal.st: __metadata__ value 'model' is not a string");
    p = craft("ctrl.st", "{\"__metadata__\":{\"model\":\"a\tb\"}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: raw control character in a string", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "ctrl.st: the header is not valid JSON: control character in string");
    p = craft("escape.st", "{\"__metadata__\":{\"model\":\"a\\xb\"}," KERNEL "," BIAS "}", 24);
    EXPECT_ERROR("st: unknown escape", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "escape.st: the header is not valid JSON: unknown escape '\\x'");
    p = craft("after.st", "{" KERNEL "," BIAS "} x", 24);
    EXPECT_ERROR("st: text after the header object", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "after.st: the header is not valid JSON: unexpected text after the value");
    p = craft("shapefrac.st", "{\"d.kernel\":{\"dtype\":\"F32\",\"shape\":[2.0,2],\"data_offsets\":[0,16]}," BIAS "}", 24);
    EXPECT_ERROR("st: fractional dimension", cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL),
                 "tensor 'd.kernel': shape holds something other than a size");
    p = craft("partial-opt.st", "{" KERNEL "," BIAS ",\"optimizer.m.d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]}}", 40);
    float om[6], ov[6];
    long step;
    EXPECT_ERROR("st: partial optimizer state", cnn_checkpoint_load(p, &tiny, out, om, ov, &step),
                 "partial-opt.st: has optimizer state for some tensors but no tensor 'optimizer.m.d.bias'");
    CHECK("st: partial optimizer state is ignored for params alone",
          cnn_checkpoint_load(p, &tiny, out, NULL, NULL, NULL) == 0);
    p = craft("badstep.st", "{\"__metadata__\":{\"step\":\"-3\"}," KERNEL "," BIAS ",\"optimizer.m.d.kernel\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]},\"optimizer.m.d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]}}", 48);
    EXPECT_ERROR("st: bad step", cnn_checkpoint_load(p, &tiny, out, om, NULL, &step),
                 "badstep.st: metadata step '-3' is not a count");
    EXPECT_ERROR("st: missing file", cnn_checkpoint_load(io_path("none.st"), &tiny, out, NULL, NULL, NULL),
                 "none.st: cannot open: No such file or directory");
    EXPECT_ERROR("st: a directory", cnn_checkpoint_load(io_dir, &tiny, out, NULL, NULL, NULL),
                 "not a regular file");

    /* Truncating a real checkpoint: by 4 bytes, and into the header. */
    size_t len;
    char *whole;
    if (rt_read_all(io_path("net.safetensors"), 1 << 20, &whole, &len) == 0) {
        io_write(io_path("trunc.st"), whole, len - 4);
        EXPECT_ERROR("st: truncated data", cnn_checkpoint_load(io_path("trunc.st"), &net, loaded, NULL, NULL, NULL),
                     "trunc.st: tensor 'dense_1.bias': data_offsets [176, 188] go past the 184 bytes of data");
        io_write(io_path("trunc2.st"), whole, 100);
        EXPECT_ERROR("st: truncated header", cnn_checkpoint_load(io_path("trunc2.st"), &net, loaded, NULL, NULL, NULL),
                     "runs past the end of the 100-byte file");
        free(whole);
    }

    /* The contract's example message, on a model of the seed network's size. */
    static const cnn_tensor big_t[] = {{"dense_1.kernel", 2, {1600, 128}, 0, 204800, 1600, 128, 0, 0}};
    static const cnn_model big = {.name = "big", .num_params = 204800, .num_tensors = 1, .tensors = big_t};
    p = craft("dense.st", "{\"dense_1.kernel\":{\"dtype\":\"F32\",\"shape\":[1600,64],\"data_offsets\":[0,409600]}}", 409600);
    float *bp = calloc(204800, sizeof(float));
    EXPECT_ERROR("st: errors start with cnnc: error:", cnn_checkpoint_load(p, &big, bp, NULL, NULL, NULL),
                 "cnnc: error: ");
    EXPECT_ERROR("st: the contract's shape message, text", cnn_checkpoint_load(p, &big, bp, NULL, NULL, NULL),
                 "dense.st: tensor 'dense_1.kernel' has shape [1600, 64] but the model wants [1600, 128]");
    free(bp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_safetensors SCRATCH_DIR\n");
        return 2;
    }
    io_dir = argv[1];
    test_round_trip();
    test_non_finite();
    test_atomic();
    test_rules();
    return io_failures ? 1 : 0;
}
