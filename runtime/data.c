/*
 * data.c - finding a model's training and test sets.
 *
 * Where the four IDX files are looked for, first match wins:
 *   1. `--data DIR` (data_dir), whatever the model's dataset;
 *   2. dataset mnist: $CNNC_DATA_DIR; else the folder the data step fills (`make data`:
 *      BUILD/data/mnist), found from the program's own place as cnnc finds the runtime: in
 *      the program's folder and the folders above it, DIR/data/mnist or DIR/build/data/mnist.
 *      So a program runs from any working directory;
 *   3. dataset fashion_mnist: /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist);
 *   4. dataset idx(...): the four paths of the model file, which cnnc resolved against the
 *      model file's folder and wrote into the generated code.
 * In a directory each file has its usual name, raw or with `.gz`. When nothing is found, the
 * error lists every place looked in, by absolute path, with a hint that works from anywhere.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* How many folders above the program's own are searched for the data step's folder. */
#define DATA_SEARCH_DEPTH 4

static const char *const idx_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether dir holds the first of the four files, raw or gzipped. */
static int holds_idx(const char *dir)
{
    char path[PATH_MAX + 128];
    for (int gz = 0; gz < 2; gz++)
        if ((size_t)snprintf(path, sizeof path, "%s/%s%s", dir, idx_names[0], gz ? ".gz" : "") < sizeof path &&
            is_file(path))
            return 1;
    return 0;
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

/* The data step's MNIST folder, looked for from the program's own place (written into dir,
 * PATH_MAX + 64 bytes); the places looked in are appended to `tried`. 0 when found. */
static int find_data_step_dir(char *dir, char *tried, size_t tried_size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int depth = 0; depth <= DATA_SEARCH_DEPTH; depth++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            break;
        *slash = '\0';
        static const char *const below[2] = {"data/mnist", "build/data/mnist"};
        for (int k = 0; k < 2; k++) {
            if ((size_t)snprintf(dir, PATH_MAX + 64, "%s/%s", exe, below[k]) >= PATH_MAX + 64)
                continue;
            if (holds_idx(dir))
                return 0;
            size_t used = strlen(tried);
            if ((size_t)snprintf(tried + used, tried_size - used, "\n  %s", dir) >= tried_size - used)
                tried[used] = '\0'; /* the list is cut rather than the path */
        }
        if (!*exe)
            break;
    }
    return -1;
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
    char found[PATH_MAX + 64];
    char *paths[4] = {0};
    int rc = -1;

    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (m->in_c != 1)
        return rt_error("model '%s' takes %d channels, but the IDX data sets are grey (1 channel)",
                        m->name, m->in_c);
    if (!dir) {
        switch (m->train.dataset) {
        case CNN_DATASET_MNIST: {
            dir = getenv("CNNC_DATA_DIR");
            hint = "\nhint: pass --data DIR (a folder of the four MNIST IDX files, gzipped or not), or "
                   "set CNNC_DATA_DIR=DIR";
            if (dir && *dir) {
                hint = "\nhint: this folder is $CNNC_DATA_DIR's: set it to a folder of the four "
                       "MNIST IDX files (gzipped or not), or pass --data DIR";
                break;
            }
            char tried[2048] = "";
            if (find_data_step_dir(found, tried, sizeof tried) == 0) {
                dir = found;
                break;
            }
            return rt_error("model '%s' trains on MNIST, and no folder holds it: not --data, not "
                            "$CNNC_DATA_DIR (not set), and not the folders of the data step near "
                            "this program:%s%s; or, in the cnnc repository, `make data` fetches it "
                            "into build/data/mnist", m->name, tried, hint);
        }
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
