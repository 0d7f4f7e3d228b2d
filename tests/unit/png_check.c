/*
 * png_check.c - a test tool: decodes a PNG with libpng and checks what a picture of training
 * must show. Prints the size, the number of distinct colours and the pixels of each colour
 * asked about, then one line per failed check.
 *
 *   png_check FILE [--size WxH] [--min-colours N] [--has RRGGBB]... [--lacks RRGGBB]...
 *
 * --has wants at least HAS_MIN_PIXELS pixels of exactly that colour (a line or a dot, not a
 * stray antialiased pixel); --lacks wants none. Exit 0 when every check holds, 1 when one
 * fails, 2 when the file cannot be read or the arguments are wrong.
 */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HAS_MIN_PIXELS = 20, MAX_COLOUR_CHECKS = 16 };

typedef struct colour_check {
    uint32_t rgb;
    int wanted; /* 1: --has, 0: --lacks */
    long pixels;
} colour_check;

static int parse_rgb(const char *s, uint32_t *rgb)
{
    if (s[0] == '#')
        s++;
    if (strlen(s) != 6 || strspn(s, "0123456789abcdefABCDEF") != 6)
        return -1;
    *rgb = (uint32_t)strtoul(s, NULL, 16);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: png_check FILE [--size WxH] [--min-colours N] [--has RRGGBB]... [--lacks RRGGBB]...\n");
    return 2;
}

/* Distinct colours, with a bit per possible 24-bit colour (2 MiB). */
static long count_colours(const unsigned char *rgb, size_t pixels)
{
    unsigned char *seen = calloc(1u << 21, 1);
    if (!seen)
        return -1;
    long distinct = 0;
    for (size_t i = 0; i < pixels; i++) {
        uint32_t c = (uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
        if (!(seen[c >> 3] & (1u << (c & 7)))) {
            seen[c >> 3] |= (unsigned char)(1u << (c & 7));
            distinct++;
        }
    }
    free(seen);
    return distinct;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *path = argv[1];
    int want_w = -1, want_h = -1;
    long min_colours = -1;
    colour_check checks[MAX_COLOUR_CHECKS];
    int nchecks = 0;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        const char *opt = argv[i], *val = argv[++i];
        if (strcmp(opt, "--size") == 0) {
            if (sscanf(val, "%dx%d", &want_w, &want_h) != 2)
                return usage();
        } else if (strcmp(opt, "--min-colours") == 0) {
            min_colours = atol(val);
        } else if ((strcmp(opt, "--has") == 0 || strcmp(opt, "--lacks") == 0) && nchecks < MAX_COLOUR_CHECKS) {
            checks[nchecks].wanted = strcmp(opt, "--has") == 0;
            checks[nchecks].pixels = 0;
            if (parse_rgb(val, &checks[nchecks].rgb) != 0)
                return usage();
            nchecks++;
        } else {
            return usage();
        }
    }

    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) {
        fprintf(stderr, "png_check: %s: %s\n", path, image.message);
        return 2;
    }
    /* Composite any alpha onto white, as a viewer would show it. */
    image.format = PNG_FORMAT_RGB;
    png_color white = {255, 255, 255};
    size_t pixels = (size_t)image.width * image.height;
    unsigned char *rgb = malloc(pixels * 3);
    if (!rgb || !png_image_finish_read(&image, &white, rgb, 0, NULL)) {
        fprintf(stderr, "png_check: %s: %s\n", path, rgb ? image.message : "out of memory");
        free(rgb);
        png_image_free(&image);
        return 2;
    }
    long distinct = count_colours(rgb, pixels);
    for (size_t i = 0; i < pixels; i++) {
        uint32_t c = (uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
        for (int k = 0; k < nchecks; k++)
            if (checks[k].rgb == c)
                checks[k].pixels++;
    }
    free(rgb);

    printf("%s: %ux%u, %ld colours\n", path, image.width, image.height, distinct);
    for (int k = 0; k < nchecks; k++)
        printf("  #%06x: %ld pixels\n", (unsigned)checks[k].rgb, checks[k].pixels);
    int failed = 0;
    if (want_w >= 0 && ((unsigned)want_w != image.width || (unsigned)want_h != image.height)) {
        printf("FAIL: expected %dx%d\n", want_w, want_h);
        failed = 1;
    }
    if (min_colours >= 0 && distinct < min_colours) {
        printf("FAIL: expected at least %ld colours (a blank picture has one)\n", min_colours);
        failed = 1;
    }
    for (int k = 0; k < nchecks; k++) {
        if (checks[k].wanted && checks[k].pixels < HAS_MIN_PIXELS) {
            printf("FAIL: expected at least %d pixels of #%06x\n", HAS_MIN_PIXELS, (unsigned)checks[k].rgb);
            failed = 1;
        } else if (!checks[k].wanted && checks[k].pixels > 0) {
            printf("FAIL: expected no pixel of #%06x\n", (unsigned)checks[k].rgb);
            failed = 1;
        }
    }
    return failed;
}
