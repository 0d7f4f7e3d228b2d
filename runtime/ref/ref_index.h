/*
 * ref/ref_index.h - the index of a value in the [n][h][w][c] layout, which the reference
 * convolution and pooling share.
 */
#ifndef REF_INDEX_H
#define REF_INDEX_H

#include <stddef.h>

static inline size_t at4(int h, int w, int c, int b, int y, int x, int ch)
{
    return (((size_t)b * h + y) * w + x) * c + ch;
}

#endif
