/*
 * test_idx.c - IDX reading (idx.c) and finding data sets (data.c).
 * Usage: test_idx SCRATCH_DIR MNIST_DIR   (MNIST_DIR holds the four original .gz files)
 */
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cnnrt.h"
#include "io_check.h"

static const char *mnist;

static char *mnist_file(const char *name)
{
    static char buf[4][4096];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", mnist, name);
    return p;
}

static void put_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

/* An image file: header (magic, n, h, w) and `data_bytes` bytes of pixels 0, 1, 2, ... */
static char *make_images(const char *name, uint32_t magic, uint32_t n, uint32_t h, uint32_t w,
                         size_t data_bytes)
{
    size_t len = 16 + data_bytes;
    unsigned char *buf = malloc(len);
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (size_t i = 0; i < data_bytes; i++)
        buf[16 + i] = (unsigned char)i;
    char *path = io_path(name);
    io_write(path, buf, len);
    free(buf);
    return path;
}

static char *make_labels(const char *name, uint32_t magic, uint32_t n, const unsigned char *labels,
                         size_t count)
{
    unsigned char buf[64];
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, count);
    char *path = io_path(name);
    io_write(path, buf, 8 + count);
    return path;
}

/* Reads a whole file into memory; exits on failure (test setup). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "test setup: cannot read %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_real_mnist(void)
{
    unsigned char *px = NULL, *lb = NULL;
    int n = 0, h = 0, w = 0, nl = 0;
    int rc = cnn_idx_read_images(mnist_file("t10k-images-idx3-ubyte.gz"), &px, &n, &h, &w);
    CHECK("idx: t10k images read", rc == 0 && n == 10000 && h == 28 && w == 28);
    rc = cnn_idx_read_labels(mnist_file("t10k-labels-idx1-ubyte.gz"), &lb, &nl);
    /* The first test digits of MNIST are 7, 2, 1, 0, 4. */
    CHECK("idx: t10k labels read", rc == 0 && nl == 10000 && lb[0] == 7 && lb[1] == 2 && lb[2] == 1 &&
                                        lb[3] == 0 && lb[4] == 4);
    CHECK("idx: pixels span 0..255", px && px[0] == 0 && memchr(px, 255, 784 * 10) != NULL);

    /* The same file uncompressed must read identically: compression is told by content. */
    gzFile gz = gzopen(mnist_file("t10k-images-idx3-ubyte.gz"), "rb");
    size_t raw_len = 16 + 10000 * 784;
    unsigned char *raw = malloc(raw_len);
    int got = gzread(gz, raw, (unsigned)raw_len);
    gzclose(gz);
    char *raw_path = io_path("t10k-images-raw.gz"); /* a misleading name on purpose */
    io_write(raw_path, raw, (size_t)got);
    unsigned char *px2 = NULL;
    int n2, h2, w2;
    rc = cnn_idx_read_images(raw_path, &px2, &n2, &h2, &w2);
    CHECK("idx: raw file named .gz reads the same", rc == 0 && n2 == 10000 && px && px2 &&
                                                    memcmp(px, px2, 10000 * 784) == 0);
    free(raw);
    free(px);
    free(px2);
    free(lb);

    /* Truncated gzip: the first 2000 of the 4542 bytes of the test labels. */
    size_t len;
    unsigned char *gzbytes = slurp(mnist_file("t10k-labels-idx1-ubyte.gz"), &len);
    io_write(io_path("trunc-labels.gz"), gzbytes, 2000);
    EXPECT_ERROR("idx: truncated gzip is refused", cnn_idx_read_labels(io_path("trunc-labels.gz"), &lb, &nl),
                 "trunc-labels.gz: truncated: holds ");
    /* Corrupt gzip: garbage in the middle of the deflate stream. */
    for (size_t i = 1000; i < 1100; i++)
        gzbytes[i] ^= 0x5a;
    io_write(io_path("corrupt-labels.gz"), gzbytes, len);
    EXPECT_ERROR("idx: corrupt gzip is refused", cnn_idx_read_labels(io_path("corrupt-labels.gz"), &lb, &nl),
                 "corrupt-labels.gz: corrupt gzip data: invalid");
    free(gzbytes);

    EXPECT_ERROR("idx: labels passed as images",
                 cnn_idx_read_images(mnist_file("t10k-labels-idx1-ubyte.gz"), &px, &n, &h, &w),
                 "t10k-labels-idx1-ubyte.gz: holds labels (IDX magic 0x00000801), not images");
    EXPECT_ERROR("idx: images passed as labels",
                 cnn_idx_read_labels(mnist_file("t10k-images-idx3-ubyte.gz"), &lb, &nl),
                 "holds images (IDX magic 0x00000803), not labels");
}

static void test_crafted(void)
{
    unsigned char *px = NULL, *lb = NULL;
    int n, h, w, nl;
    char *p = make_images("good.idx", 0x803, 2, 3, 4, 24);
    int rc = cnn_idx_read_images(p, &px, &n, &h, &w);
    CHECK("idx: small raw file", rc == 0 && n == 2 && h == 3 && w == 4 && px[23] == 23);
    free(px);

    p = make_images("trailing.idx", 0x803, 2, 3, 4, 25);
    EXPECT_ERROR("idx: trailing bytes refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "trailing.idx: has data after the 2 images its header announces");
    p = make_images("short.idx", 0x803, 2, 3, 4, 20);
    EXPECT_ERROR("idx: truncated raw data refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "short.idx: truncated: holds 1 of the 2 images its header announces");
    p = make_images("magic.idx", 0x12345678, 2, 3, 4, 24);
    EXPECT_ERROR("idx: wrong magic refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "magic.idx: not an IDX file of images (magic 0x12345678, expected 0x00000803)");
    p = make_images("float.idx", 0xD03, 2, 3, 4, 24);
    EXPECT_ERROR("idx: non-byte data type refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "float.idx: IDX data type 0x0d is not unsigned bytes");
    p = make_images("zero.idx", 0x803, 0, 3, 4, 0);
    EXPECT_ERROR("idx: zero images refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "zero.idx: dimension 1 of the IDX header is 0");
    p = make_images("huge-n.idx", 0x803, 0xFFFFFFFFu, 28, 28, 100);
    EXPECT_ERROR("idx: 2^32-1 images refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "huge-n.idx: dimension 1 of the IDX header is too large (4294967295)");
    p = make_images("big-n.idx", 0x803, 0x7FFFFFFFu, 28, 28, 100);
    EXPECT_ERROR("idx: more than 1 GiB announced refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "more than 1024 MiB");
    /* 1,000,000 images of 28x28 is under the cap; the 100 bytes there must fail as truncated
     * (the reader grows its buffer with the data instead of trusting the header). */
    p = make_images("lying-n.idx", 0x803, 1000000, 28, 28, 100);
    EXPECT_ERROR("idx: header claiming more than the file holds", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "lying-n.idx: truncated: holds 0 of the 1000000 images");
    p = make_images("wide.idx", 0x803, 1, 1, 100000, 0);
    EXPECT_ERROR("idx: absurd image side refused", cnn_idx_read_images(p, &px, &n, &h, &w),
                 "larger than 16384 on a side");

    io_write(io_path("empty.idx"), "", 0);
    EXPECT_ERROR("idx: empty file refused", cnn_idx_read_images(io_path("empty.idx"), &px, &n, &h, &w),
                 "empty.idx: the file is empty");
    io_write(io_path("tiny.idx"), "\0\0\x08", 3);
    EXPECT_ERROR("idx: 3-byte file refused", cnn_idx_read_images(io_path("tiny.idx"), &px, &n, &h, &w),
                 "tiny.idx: too short for an IDX header");
    io_write(io_path("halfhead.idx"), "\0\0\x08\x03\0\0\0\x02\0\0", 10);
    EXPECT_ERROR("idx: truncated header refused", cnn_idx_read_images(io_path("halfhead.idx"), &px, &n, &h, &w),
                 "halfhead.idx: truncated IDX header");
    EXPECT_ERROR("idx: missing file", cnn_idx_read_images(io_path("nope.idx"), &px, &n, &h, &w),
                 "nope.idx: cannot open: No such file or directory");
    EXPECT_ERROR("idx: a directory", cnn_idx_read_images(io_dir, &px, &n, &h, &w), "cannot read");

    static const unsigned char labels[3] = {1, 0, 9};
    p = make_labels("labels.idx", 0x801, 3, labels, 3);
    rc = cnn_idx_read_labels(p, &lb, &nl);
    CHECK("idx: small label file", rc == 0 && nl == 3 && lb[2] == 9);
    free(lb);
    p = make_labels("labels-short.idx", 0x801, 5, labels, 3);
    EXPECT_ERROR("idx: truncated labels", cnn_idx_read_labels(p, &lb, &nl),
                 "labels-short.idx: truncated: holds 3 of the 5 labels its header announces");

    /* A set: counts must agree and labels fit the classes. */
    cnn_dataset d;
    char *imgs = make_images("set-images.idx", 0x803, 3, 2, 2, 12);
    rc = cnn_dataset_load(imgs, p = make_labels("set-labels.idx", 0x801, 3, labels, 3), 10, &d);
    CHECK("dataset: matching pair loads", rc == 0 && d.n == 3 && d.h == 2 && d.w == 2 && d.labels[2] == 9);
    cnn_dataset_free(&d);
    CHECK("dataset: free clears", d.images == NULL && d.labels == NULL && d.n == 0);
    EXPECT_ERROR("dataset: label not below classes", cnn_dataset_load(imgs, p, 5, &d),
                 "set-labels.idx: label 9 of image 2 is not below the model's 5 classes");
    p = make_labels("set-labels2.idx", 0x801, 2, labels, 2);
    EXPECT_ERROR("dataset: counts disagree", cnn_dataset_load(imgs, p, 10, &d),
                 "set-labels2.idx: holds 2 labels but ");
    CHECK("dataset: failed load leaves it empty", d.images == NULL && d.labels == NULL && d.n == 0);
}

static const cnn_model base_model = {
    .name = "digits", .batch = 32, .in_h = 28, .in_w = 28, .in_c = 1, .classes = 10, .in_size = 784,
};

static void test_data_load(void)
{
    cnn_model m = base_model;
    cnn_dataset tr, te;
    int rc = cnn_data_load(&m, mnist, &tr, &te);
    CHECK("data: --data DIR loads MNIST", rc == 0 && tr.n == 60000 && te.n == 10000 && tr.h == 28 &&
                                              te.w == 28 && te.labels[0] == 7);
    cnn_dataset_free(&tr);
    cnn_dataset_free(&te);

    setenv("CNNC_DATA_DIR", mnist, 1);
    m.train.dataset = CNN_DATASET_MNIST;
    /* The training set is the slow part; the idx() form below covers a second full load. */
    m.in_h = 27;
    EXPECT_ERROR("data: image size must match the model", cnn_data_load(&m, NULL, &tr, &te),
                 "train-images-idx3-ubyte.gz: images are 28x28 but model 'digits' takes 27x28");
    m.in_h = 28;
    setenv("CNNC_DATA_DIR", io_path("no-such-dir"), 1);
    EXPECT_ERROR("data: missing mnist dir names it", cnn_data_load(&m, NULL, &tr, &te),
                 "no-such-dir: cannot open the data directory");
    EXPECT_ERROR("data: missing mnist says where the folder came from", cnn_data_load(&m, NULL, &tr, &te),
                 "hint: this folder is $CNNC_DATA_DIR's: set it to a folder of the four MNIST IDX files");
    unsetenv("CNNC_DATA_DIR");

    mkdir(io_path("partial"), 0755);
    size_t len;
    unsigned char *b = slurp(mnist_file("t10k-labels-idx1-ubyte.gz"), &len);
    io_write(io_path("partial/train-labels-idx1-ubyte.gz"), b, len);
    free(b);
    EXPECT_ERROR("data: a missing file is named", cnn_data_load(&m, io_path("partial"), &tr, &te),
                 "partial: has no train-images-idx3-ubyte or train-images-idx3-ubyte.gz");

    m.in_c = 3;
    EXPECT_ERROR("data: colour models refused", cnn_data_load(&m, mnist, &tr, &te),
                 "model 'digits' takes 3 channels");
    m.in_c = 1;

    m.train.dataset = CNN_DATASET_IDX;
    m.train.idx_paths[0] = mnist_file("t10k-images-idx3-ubyte.gz");
    m.train.idx_paths[1] = mnist_file("t10k-labels-idx1-ubyte.gz");
    m.train.idx_paths[2] = mnist_file("t10k-images-idx3-ubyte.gz");
    m.train.idx_paths[3] = mnist_file("t10k-labels-idx1-ubyte.gz");
    rc = cnn_data_load(&m, NULL, &tr, &te);
    CHECK("data: idx(...) paths load", rc == 0 && tr.n == 10000 && te.n == 10000);
    cnn_dataset_free(&tr);
    cnn_dataset_free(&te);
    m.train.idx_paths[3] = io_path("missing-labels.gz");
    EXPECT_ERROR("data: idx(...) missing file", cnn_data_load(&m, NULL, &tr, &te),
                 "missing-labels.gz: cannot open");

    m.train.dataset = CNN_DATASET_FASHION_MNIST;
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &st) == 0) {
        rc = cnn_data_load(&m, NULL, &tr, &te);
        CHECK("data: fashion_mnist from Debian's package", rc == 0 && tr.n == 60000 && te.n == 10000);
        cnn_dataset_free(&tr);
        cnn_dataset_free(&te);
    } else {
        EXPECT_ERROR("data: fashion_mnist missing gives the apt hint", cnn_data_load(&m, NULL, &tr, &te),
                     "apt-get install dataset-fashion-mnist");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_idx SCRATCH_DIR MNIST_DIR\n");
        return 2;
    }
    io_dir = argv[1];
    mnist = argv[2];
    test_crafted();
    test_real_mnist();
    test_data_load();
    return io_failures ? 1 : 0;
}
