/* util/pb.h — a protobuf wire-format writer: varint, fixed64, double and length-delimited fields
 * appended to a growable byte buffer. Messages are built inside out (a nested message is written
 * into its own buffer, then appended as a bytes field). No schema, no allocation per field. */
#ifndef TK_UTIL_PB_H
#define TK_UTIL_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/varint.h"

/* A byte buffer. Zero-initialize it ({0}); pb_free releases it. Not thread-safe. */
typedef struct pb_buf {
    uint8_t *p;
    size_t len, cap;
    int oom; /* set once a growth failed: every later append is dropped */
} pb_buf;

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2 };

/* Makes room for n more bytes. Returns 0, or -1 (and sets b->oom) when out of memory. */
int pb_reserve_slow(pb_buf *b, size_t n);
static inline int pb_reserve(pb_buf *b, size_t n)
{
    return b->len + n <= b->cap ? 0 : pb_reserve_slow(b, n);
}
void pb_free(pb_buf *b);
static inline void pb_clear(pb_buf *b) { b->len = 0; }

/* Appends raw bytes. Cost: a bounds check and a memcpy. */
static inline void pb_raw(pb_buf *b, const void *data, size_t n)
{
    if (pb_reserve(b, n) == 0) {
        memcpy(b->p + b->len, data, n);
        b->len += n;
    }
}

static inline void pb_put_varint(pb_buf *b, uint64_t v)
{
    if (pb_reserve(b, TK_VARINT_MAX) == 0)
        b->len += tk_varint_put(b->p + b->len, v);
}

/* Field writers: the tag (field << 3 | wire type) then the value. */
static inline void pb_varint(pb_buf *b, uint32_t field, uint64_t v)
{
    pb_put_varint(b, (uint64_t)field << 3 | PB_VARINT);
    pb_put_varint(b, v);
}
static inline void pb_int64(pb_buf *b, uint32_t field, int64_t v)
{
    pb_varint(b, field, (uint64_t)v); /* two's complement, as protobuf int64 */
}
static inline void pb_fixed64(pb_buf *b, uint32_t field, uint64_t v)
{
    pb_put_varint(b, (uint64_t)field << 3 | PB_FIXED64);
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    pb_raw(b, le, 8);
}
static inline void pb_double(pb_buf *b, uint32_t field, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    pb_fixed64(b, field, v);
}
static inline void pb_bytes(pb_buf *b, uint32_t field, const void *data, size_t n)
{
    pb_put_varint(b, (uint64_t)field << 3 | PB_LEN);
    pb_put_varint(b, n);
    pb_raw(b, data, n);
}
static inline void pb_string(pb_buf *b, uint32_t field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}
/* Appends the message in sub as field `field` of b. */
static inline void pb_message(pb_buf *b, uint32_t field, const pb_buf *sub)
{
    pb_bytes(b, field, sub->p, sub->len);
}

#endif
