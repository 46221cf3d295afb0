/* util/varint.h — LEB128 unsigned varints (the protobuf wire encoding), shared by the histogram
 * encoding and the protobuf writer. Header-only, no allocation. */
#ifndef TK_UTIL_VARINT_H
#define TK_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define TK_VARINT_MAX 10 /* bytes of the longest 64-bit varint */

/* Writes v at p (which has room for TK_VARINT_MAX bytes). Returns the bytes written (1..10).
 * Cost: one store and one shift per 7 bits. Can't fail. */
static inline size_t tk_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* The bytes tk_varint_put writes for v. Can't fail. */
static inline size_t tk_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Reads a varint from [*p, end): on success stores it in *v, advances *p and returns 0. Returns -1
 * (nothing advanced) when the input ends inside the varint, when it is longer than 10 bytes or when
 * its value does not fit 64 bits. Never reads at or past end. */
static inline int tk_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (q >= end)
            return -1;
        uint8_t b = *q++;
        if (shift == 63 && b > 1)
            return -1; /* bits beyond 64 */
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            *p = q;
            return 0;
        }
    }
    return -1;
}

#endif
