/* pb.c — growth of the protobuf writer's buffer (util/pb.h). */
#include "util/pb.h"

#include <stdlib.h>

int pb_reserve_slow(pb_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void pb_free(pb_buf *b)
{
    free(b->p);
    *b = (pb_buf){0};
}
