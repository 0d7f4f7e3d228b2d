/*
 * ckpt_torture.c - checkpoints saved over and over, for tests/suite_80_faults.sh to kill with
 * SIGKILL at random moments and then check that the file under the final name is whole.
 *
 *   ckpt_torture save PATH [N]   saves N (default: endless) checkpoints of the toy model;
 *                                save k holds params, both Adam moments and the step all = k;
 *                                prints `saving` once the first is written
 *   ckpt_torture check PATH      loads PATH; prints k and exits 0 when every value agrees,
 *                                1 when the file is refused or torn (values from two saves)
 */
#include "cnnrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const cnn_model toy_model;

static void fill(float *a, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        a[i] = v;
}

static int all_equal(const float *a, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != v)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    const cnn_model *m = &toy_model;
    size_t n = m->num_params;
    float *p = malloc(n * sizeof *p), *mo = malloc(n * sizeof *mo), *v = malloc(n * sizeof *v);
    if (!p || !mo || !v)
        return 2;
    int rc = 2;
    if (argc >= 3 && strcmp(argv[1], "save") == 0) {
        long count = argc > 3 ? atol(argv[3]) : -1;
        rc = 0;
        for (long k = 1; rc == 0 && (count < 0 || k <= count); k++) {
            fill(p, n, (float)k);
            fill(mo, n, (float)k);
            fill(v, n, (float)k);
            rc = cnn_checkpoint_save(argv[2], m, p, mo, v, k) < 0;
            /* Tells the test that saves are under way, so that its kill lands among them
             * however slowly the program started (under a sanitizer, say). */
            if (k == 1) {
                puts("saving");
                fflush(stdout);
            }
        }
    } else if (argc == 3 && strcmp(argv[1], "check") == 0) {
        long step = -1;
        rc = 1;
        if (cnn_checkpoint_load(argv[2], m, p, mo, v, &step) == 0) {
            float k = p[0];
            if (all_equal(p, n, k) && all_equal(mo, n, k) && all_equal(v, n, k) && (float)step == k) {
                printf("%ld\n", step);
                rc = 0;
            } else {
                fprintf(stderr, "ckpt_torture: %s is torn: step %ld, first value %g\n", argv[2], step, k);
            }
        }
    } else {
        fprintf(stderr, "usage: ckpt_torture save PATH [N] | check PATH\n");
    }
    free(p);
    free(mo);
    free(v);
    return rc;
}
