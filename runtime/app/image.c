/*
 * image.c - reading an image file whatever its format, told by its magic bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cnnrt.h"
#include "image.h"

int cnn_image_load(const char *path, unsigned char **pixels, int *w, int *h, int *colour)
{
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    struct stat st;
    if (colour)
        *colour = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rt_error("%s: is a directory; give the image files in it (PGM or PNG), such as "
                        "%s/*.png", path, path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rt_error("%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == sizeof head && memcmp(head, png_magic, 8) == 0)
        return cnn_png_read_colour(path, pixels, w, h, colour);
    if (n >= 2 && head[0] == 'P' && (head[1] == '5' || head[1] == '2'))
        return cnn_pgm_read(path, pixels, w, h);
    if (n == 0)
        return rt_error("%s: the file is empty; expected a PGM or PNG image", path);
    return rt_error("%s: not a PGM (P5, P2) or PNG image", path);
}

int cnn_image_read(const char *path, unsigned char **pixels, int *w, int *h)
{
    return cnn_image_load(path, pixels, w, h, NULL);
}
