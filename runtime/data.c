/*
 * data.c - finding a model's training and test sets.
 *
 * Where the four IDX files are looked for, first match wins:
 *   1. `--data DIR` (data_dir), whatever the model's dataset;
 *   2. dataset mnist: $CNNC_DATA_DIR, else build/data/mnist relative to the current directory
 *      (where `make data` puts it; built programs are normally run from the repository root);
 *   3. dataset fashion_mnist: /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist);
 *   4. dataset idx(...): the four paths of the model file, as written.
 * In a directory each file has its usual name, raw or with `.gz`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnnrt.h"

#define MNIST_DEFAULT_DIR "build/data/mnist"
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static const char *const idx_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets *out to DIR/NAME or DIR/NAME.gz, whichever exists (the raw one when both do). */
static int find_in_dir(const char *dir, const char *name, const char *hint, char **out)
{
    size_t n = strlen(dir) + strlen(name) + 8;
    char *path = rt_malloc(n);
    if (!path)
        return -1;
    snprintf(path, n, "%s/%s", dir, name);
    if (!is_file(path)) {
        snprintf(path, n, "%s/%s.gz", dir, name);
        if (!is_file(path)) {
            struct stat st;
            free(path);
            if (stat(dir, &st) != 0)
                return rt_error("%s: cannot open the data directory: %s%s", dir, strerror(errno), hint);
            return rt_error("%s: has no %s or %s.gz%s", dir, name, name, hint);
        }
    }
    *out = path;
    return 0;
}

static int check_images(const cnn_model *m, const char *path, const cnn_dataset *d)
{
    if (d->h != m->in_h || d->w != m->in_w)
        return rt_error("%s: images are %dx%d but model '%s' takes %dx%d", path, d->h, d->w,
                        m->name, m->in_h, m->in_w);
    return 0;
}

int cnn_data_load(const cnn_model *m, const char *data_dir, cnn_dataset *train, cnn_dataset *test)
{
    const char *dir = data_dir;
    const char *hint = "";
    char *paths[4] = {0};
    int rc = -1;

    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (m->in_c != 1)
        return rt_error("model '%s' takes %d channels, but the IDX data sets are grey (1 channel)",
                        m->name, m->in_c);
    if (!dir) {
        switch (m->train.dataset) {
        case CNN_DATASET_MNIST:
            dir = getenv("CNNC_DATA_DIR");
            if (!dir || !*dir)
                dir = MNIST_DEFAULT_DIR;
            hint = "\nhint: run: make data  (DATA_MIRROR=DIR_OR_URL to copy it from elsewhere),"
                   " or pass --data DIR or set CNNC_DATA_DIR";
            break;
        case CNN_DATASET_FASHION_MNIST:
            dir = FASHION_MNIST_DIR;
            hint = "\nhint: run: apt-get install dataset-fashion-mnist, or pass --data DIR";
            break;
        case CNN_DATASET_IDX:
            break;
        default:
            return rt_error("model '%s': unknown dataset %d", m->name, m->train.dataset);
        }
    }
    for (int i = 0; i < 4; i++) {
        if (dir) {
            if (find_in_dir(dir, idx_names[i], hint, &paths[i]) != 0)
                goto done;
        } else {
            const char *p = m->train.idx_paths[i];
            if (!p) {
                rt_error("model '%s': the idx dataset has no path for file %d", m->name, i + 1);
                goto done;
            }
            paths[i] = rt_malloc(strlen(p) + 1);
            if (!paths[i])
                goto done;
            strcpy(paths[i], p);
        }
    }
    if (cnn_dataset_load(paths[0], paths[1], m->classes, train) != 0 ||
        check_images(m, paths[0], train) != 0 ||
        cnn_dataset_load(paths[2], paths[3], m->classes, test) != 0 ||
        check_images(m, paths[2], test) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0) {
        cnn_dataset_free(train);
        cnn_dataset_free(test);
    }
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return rc;
}

void cnn_scale_pixels(const unsigned char *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i] / 255.0f;
}
