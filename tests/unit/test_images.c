/*
 * test_images.c - PGM (pgm.c) and PNG (app/png.c) reading and the format dispatch (app/image.c).
 * The PNGs are written here with libpng in every colour type and bit depth.
 * Usage: test_images SCRATCH_DIR
 */
#include <png.h>
#include <stdint.h>
#include <zlib.h>

#include "cnnrt.h"
#include "image.h"
#include "io_check.h"

/* Writes a w x h PNG; `data` holds the packed rows as libpng expects them for the type. */
static char *write_png(const char *name, int w, int h, int color, int depth, int interlace,
                       const unsigned char *data, const png_color *palette, int npal)
{
    char *path = io_path(name);
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "test setup: cannot write %s\n", path);
        exit(2);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npal);
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)data + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(rows);
    return path;
}

static int pixels_are(const char *path, int (*reader)(const char *, unsigned char **, int *, int *), int w,
                      int h, const unsigned char *want)
{
    unsigned char *px = NULL;
    int gw = 0, gh = 0;
    int rc = reader(path, &px, &gw, &gh);
    int ok = rc == 0 && gw == w && gh == h && memcmp(px, want, (size_t)w * h) == 0;
    if (rc == 0 && !ok) {
        printf("# %s: got %dx%d:", path, gw, gh);
        for (int i = 0; i < gw * gh && i < 16; i++)
            printf(" %d", px[i]);
        printf("\n");
    }
    free(px);
    return ok;
}

static char *write_text(const char *name, const char *text, size_t len)
{
    char *p = io_path(name);
    io_write(p, text, len);
    return p;
}

/* A file holding a string literal's bytes, NULs included. */
#define WRITE_LIT(name, lit) write_text(name, lit, sizeof lit - 1)

static void test_pgm(void)
{
    static const unsigned char six[6] = {0, 1, 2, 128, 254, 255};
    char *p = WRITE_LIT("a.pgm", "P5\n# a comment\n3 2\n255\n\0\1\2\x80\xfe\xff");
    CHECK("pgm: P5 8-bit with a comment", pixels_are(p, cnn_pgm_read, 3, 2, six));
    p = WRITE_LIT("b.pgm", "P2 2 2 15 0 1\n7.5");
    unsigned char *px;
    int w, h;
    EXPECT_ERROR("pgm: P2 sample that is not a number", cnn_pgm_read(p, &px, &w, &h),
                 "b.pgm: pixel 2: expected whitespace after a number");
    p = WRITE_LIT("c.pgm", "P2\n2 2\n15\n0 1\n# halfway\n8 15\n");
    static const unsigned char want_c[4] = {0, 17, 136, 255}; /* v * 255 / 15, rounded */
    CHECK("pgm: P2 with maxval 15", pixels_are(p, cnn_pgm_read, 2, 2, want_c));
    p = WRITE_LIT("d.pgm", "P5 3 1 65535\n\xff\xff\x80\x00\x00\x01");
    static const unsigned char want_d[3] = {255, 128, 0};
    CHECK("pgm: P5 16-bit big-endian", pixels_are(p, cnn_pgm_read, 3, 1, want_d));
    p = WRITE_LIT("e.pgm", "P5 2 1 1000\n\x03\xe8\x01\xf4");
    static const unsigned char want_e[2] = {255, 128};
    CHECK("pgm: P5 maxval 1000 takes two bytes", pixels_are(p, cnn_pgm_read, 2, 1, want_e));
    p = WRITE_LIT("f.pgm", "P5 2 1 1\n\x01\x00");
    static const unsigned char want_f[2] = {255, 0};
    CHECK("pgm: P5 maxval 1", pixels_are(p, cnn_pgm_read, 2, 1, want_f));

    p = WRITE_LIT("trunc.pgm", "P5 3 2 255\n\1\2\3\4");
    EXPECT_ERROR("pgm: truncated P5", cnn_pgm_read(p, &px, &w, &h), "trunc.pgm: truncated: holds 4 of its 6 pixels");
    p = WRITE_LIT("trunc2.pgm", "P2 3 2 255\n1 2 3");
    EXPECT_ERROR("pgm: truncated P2", cnn_pgm_read(p, &px, &w, &h), "trunc2.pgm: truncated: holds 3 of its 6 pixels");
    p = WRITE_LIT("huge.pgm", "P5 100000 100000 255\n\0");
    EXPECT_ERROR("pgm: absurd size refused", cnn_pgm_read(p, &px, &w, &h),
                 "huge.pgm: a 100000x100000 image is outside the 1..16384 pixels a side");
    p = WRITE_LIT("zero.pgm", "P5 0 5 255\n");
    EXPECT_ERROR("pgm: zero width refused", cnn_pgm_read(p, &px, &w, &h), "a 0x5 image is outside");
    p = WRITE_LIT("long.pgm", "P5 99999999999 1 255\n");
    EXPECT_ERROR("pgm: overlong number", cnn_pgm_read(p, &px, &w, &h), "long.pgm: bad PGM header: number too large");
    p = WRITE_LIT("max0.pgm", "P5 1 1 0\n\0");
    EXPECT_ERROR("pgm: maxval 0 refused", cnn_pgm_read(p, &px, &w, &h), "max0.pgm: maxval 0 is outside 1..65535");
    p = WRITE_LIT("max70k.pgm", "P5 1 1 70000\n\0\0");
    EXPECT_ERROR("pgm: maxval 70000 refused", cnn_pgm_read(p, &px, &w, &h), "maxval 70000 is outside 1..65535");
    p = WRITE_LIT("above.pgm", "P2 2 1 15 3 16\n");
    EXPECT_ERROR("pgm: sample above maxval", cnn_pgm_read(p, &px, &w, &h), "above.pgm: pixel 1 is 16, above maxval 15");
    p = WRITE_LIT("above16.pgm", "P5 1 1 1000\n\x03\xe9");
    EXPECT_ERROR("pgm: 16-bit sample above maxval", cnn_pgm_read(p, &px, &w, &h), "pixel 0 is 1001, above maxval 1000");
    p = WRITE_LIT("p6.pgm", "P6 1 1 255\n\0\0\0");
    EXPECT_ERROR("pgm: colour PPM refused", cnn_pgm_read(p, &px, &w, &h), "p6.pgm: not a PGM image");
    p = WRITE_LIT("glued.pgm", "P53 1 255\n\0\0\0");
    EXPECT_ERROR("pgm: magic must be followed by whitespace", cnn_pgm_read(p, &px, &w, &h), "glued.pgm: not a PGM image");
    p = WRITE_LIT("comment.pgm", "P5 1 1 255#x\n\7");
    EXPECT_ERROR("pgm: P5 comment after maxval refused", cnn_pgm_read(p, &px, &w, &h),
                 "comment.pgm: bad PGM header: a comment right after maxval");
    p = WRITE_LIT("header.pgm", "P5 28 28");
    EXPECT_ERROR("pgm: header cut short", cnn_pgm_read(p, &px, &w, &h), "header.pgm: bad PGM header: the file ended early");
    p = WRITE_LIT("letters.pgm", "P5 28 x 255\n");
    EXPECT_ERROR("pgm: letters in the header", cnn_pgm_read(p, &px, &w, &h), "letters.pgm: bad PGM header: expected a number");
    EXPECT_ERROR("pgm: missing file", cnn_pgm_read(io_path("none.pgm"), &px, &w, &h),
                 "none.pgm: cannot open: No such file or directory");
}

static void put_chunk(unsigned char *buf, size_t *at, const char *type, const unsigned char *data, uint32_t n)
{
    unsigned char *c = buf + *at;
    c[0] = (unsigned char)(n >> 24); c[1] = (unsigned char)(n >> 16); c[2] = (unsigned char)(n >> 8); c[3] = (unsigned char)n;
    memcpy(c + 4, type, 4);
    if (n > 0)
        memcpy(c + 8, data, n);
    uint32_t crc = (uint32_t)crc32(0, c + 4, 4 + n);
    c[8 + n] = (unsigned char)(crc >> 24); c[9 + n] = (unsigned char)(crc >> 16);
    c[10 + n] = (unsigned char)(crc >> 8); c[11 + n] = (unsigned char)crc;
    *at += 12 + n;
}

static void test_png(void)
{
    unsigned char *px;
    int w, h;
    static const unsigned char grey[6] = {0, 50, 100, 150, 200, 255};
    char *p = write_png("grey.png", 3, 2, PNG_COLOR_TYPE_GRAY, 8, 0, grey, NULL, 0);
    CHECK("png: 8-bit grey", pixels_are(p, cnn_png_read, 3, 2, grey));
    p = write_png("interlaced.png", 3, 2, PNG_COLOR_TYPE_GRAY, 8, 1, grey, NULL, 0);
    CHECK("png: interlaced", pixels_are(p, cnn_png_read, 3, 2, grey));

    /* Black, white, grey 100, and pure red (0.2126 * 255 = 54 by Rec. 709). */
    static const unsigned char rgb[12] = {0, 0, 0, 255, 255, 255, 100, 100, 100, 255, 0, 0};
    static const unsigned char want_rgb[4] = {0, 255, 100, 54};
    p = write_png("rgb.png", 2, 2, PNG_COLOR_TYPE_RGB, 8, 0, rgb, NULL, 0);
    CHECK("png: RGB to grey", pixels_are(p, cnn_png_read, 2, 2, want_rgb));
    static const unsigned char rgba[16] = {0, 0, 0, 0, 255, 255, 255, 10, 100, 100, 100, 255, 255, 0, 0, 128};
    p = write_png("rgba.png", 2, 2, PNG_COLOR_TYPE_RGBA, 8, 0, rgba, NULL, 0);
    CHECK("png: RGBA drops alpha", pixels_are(p, cnn_png_read, 2, 2, want_rgb));
    static const unsigned char ga[4] = {30, 0, 220, 255};
    static const unsigned char want_ga[2] = {30, 220};
    p = write_png("ga.png", 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, ga, NULL, 0);
    CHECK("png: grey with alpha", pixels_are(p, cnn_png_read, 2, 1, want_ga));
    /* 16 bits: 0xffff, 0x8080 (128 exactly when scaled), 0 */
    static const unsigned char g16[6] = {0xff, 0xff, 0x80, 0x80, 0, 0};
    static const unsigned char want_g16[3] = {255, 128, 0};
    p = write_png("g16.png", 3, 1, PNG_COLOR_TYPE_GRAY, 16, 0, g16, NULL, 0);
    CHECK("png: 16-bit grey", pixels_are(p, cnn_png_read, 3, 1, want_g16));
    static const unsigned char rgb16[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char want_white[1] = {255};
    p = write_png("rgb16.png", 1, 1, PNG_COLOR_TYPE_RGB, 16, 0, rgb16, NULL, 0);
    CHECK("png: 16-bit RGB", pixels_are(p, cnn_png_read, 1, 1, want_white));
    /* 1-bit grey: 8 pixels in one byte, 10110000. */
    static const unsigned char g1[1] = {0xb0};
    static const unsigned char want_g1[4] = {255, 0, 255, 255};
    p = write_png("g1.png", 4, 1, PNG_COLOR_TYPE_GRAY, 1, 0, g1, NULL, 0);
    CHECK("png: 1-bit grey", pixels_are(p, cnn_png_read, 4, 1, want_g1));
    static const unsigned char g4[2] = {0x0f, 0x80};
    static const unsigned char want_g4[3] = {0, 255, 136};
    p = write_png("g4.png", 3, 1, PNG_COLOR_TYPE_GRAY, 4, 0, g4, NULL, 0);
    CHECK("png: 4-bit grey", pixels_are(p, cnn_png_read, 3, 1, want_g4));
    /* A 2-bit palette of black, white, grey 77 and red; pixels 0 1 2 3 = 00 01 10 11. */
    static const png_color pal[4] = {{0, 0, 0}, {255, 255, 255}, {77, 77, 77}, {255, 0, 0}};
    static const unsigned char idx[1] = {0x1b};
    static const unsigned char want_pal[4] = {0, 255, 77, 54};
    p = write_png("pal.png", 4, 1, PNG_COLOR_TYPE_PALETTE, 2, 0, idx, pal, 4);
    CHECK("png: 2-bit palette", pixels_are(p, cnn_png_read, 4, 1, want_pal));

    /* 100,000 x 100,000: a valid header and a token IDAT; refused before any decoding. */
    unsigned char big[200];
    size_t at = 8;
    memcpy(big, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 0, 0, 0, 0};
    put_chunk(big, &at, "IHDR", ihdr, 13);
    put_chunk(big, &at, "IDAT", (const unsigned char *)"\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    put_chunk(big, &at, "IEND", NULL, 0);
    p = write_text("huge.png", (const char *)big, at);
    EXPECT_ERROR("png: 100000x100000 refused before decoding", cnn_png_read(p, &px, &w, &h),
                 "huge.png: a 100000x100000 image is larger than the 67108864 pixels");
    ihdr[8] = 7; /* no such bit depth */
    at = 8;
    put_chunk(big, &at, "IHDR", ihdr, 13);
    put_chunk(big, &at, "IEND", NULL, 0);
    p = write_text("depth.png", (const char *)big, at);
    EXPECT_ERROR("png: invalid header", cnn_png_read(p, &px, &w, &h), "depth.png: bad PNG image: ");

    size_t len;
    char *whole = NULL;
    FILE *f = fopen(io_path("interlaced.png"), "rb");
    if (f) {
        whole = malloc(4096);
        len = fread(whole, 1, 4096, f);
        fclose(f);
        p = write_text("cut.png", whole, len - 20);
        EXPECT_ERROR("png: truncated", cnn_png_read(p, &px, &w, &h), "cut.png: bad PNG image: ");
        whole[len - 30] ^= 0x40; /* inside the IDAT: the CRC no longer matches */
        p = write_text("crc.png", whole, len);
        EXPECT_ERROR("png: corrupt data", cnn_png_read(p, &px, &w, &h), "crc.png: bad PNG image: ");
        free(whole);
    }
    p = WRITE_LIT("notpng.png", "GIF89a..");
    EXPECT_ERROR("png: not a PNG", cnn_png_read(p, &px, &w, &h), "notpng.png: not a PNG image (bad signature)");
    EXPECT_ERROR("png: missing file", cnn_png_read(io_path("none.png"), &px, &w, &h),
                 "none.png: cannot open: No such file or directory");

    /* The dispatch goes by content, not by name. */
    CHECK("image: PNG named .pgm", pixels_are(write_png("really-png.pgm", 3, 2, PNG_COLOR_TYPE_GRAY, 8, 0, grey, NULL, 0),
                                              cnn_image_read, 3, 2, grey));
    static const unsigned char six[6] = {0, 1, 2, 128, 254, 255};
    CHECK("image: PGM named .png", pixels_are(WRITE_LIT("really-pgm.png", "P5 3 2 255\n\0\1\2\x80\xfe\xff"),
                                              cnn_image_read, 3, 2, six));
    CHECK("image: P2", pixels_are(WRITE_LIT("p2.img", "P2 1 1 255 9\n"), cnn_image_read, 1, 1,
                                  (const unsigned char *)"\x09"));
    EXPECT_ERROR("image: neither format", cnn_image_read(WRITE_LIT("x.jpg", "\xff\xd8\xff\xe0"), &px, &w, &h),
                 "x.jpg: not a PGM (P5, P2) or PNG image");
    EXPECT_ERROR("image: empty file", cnn_image_read(WRITE_LIT("empty.png", ""), &px, &w, &h),
                 "empty.png: the file is empty");
    EXPECT_ERROR("image: missing file", cnn_image_read(io_path("gone.png"), &px, &w, &h), "gone.png: cannot open");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_images SCRATCH_DIR\n");
        return 2;
    }
    io_dir = argv[1];
    test_pgm();
    test_png();
    return io_failures ? 1 : 0;
}
