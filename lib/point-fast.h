/* point-fast.h — the one writer of a labeled point's records (tk__point_write) and the common
 * case in front of it, inline (tk__point_fast: recording on, a valid label, no TIMING text, this
 * thread's ring claimed, no context). Used by lib/point.c and by the Python binding, which links
 * the library statically and records from its own fast path without a call. */
#ifndef TK_LIB_POINT_FAST_H
#define TK_LIB_POINT_FAST_H

#include <string.h>

#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the segment format is little-endian; this writer builds its words for that order"
#endif

/* Every point tk__point_fast() does not take: checks everything, writes the context, the TIMING
 * line, counts what it drops (lib/point.c). ctx may be NULL when len is 0. */
TK_HIDDEN void tk__point_general(tk_label_t label, uint64_t ticks, uint64_t client,
                                 uint64_t command, uint64_t session, const char *ctx, size_t len);

/* Context bytes [off, off + width) (width 4 or 8), zero past clen, as a little-endian word. The
 * whole-word case is one unaligned load. */
static inline uint64_t tk__ctx_word(const char *ctx, size_t clen, size_t off, size_t width)
{
    uint64_t v = 0;
    if (off + width <= clen) {
        if (width == 8) {
            memcpy(&v, ctx + off, 8);
        } else {
            uint32_t w;
            memcpy(&w, ctx + off, 4);
            v = w;
        }
    } else {
        for (size_t i = off; i < clen; i++)
            v |= (uint64_t)(unsigned char)ctx[i] << (8 * (i - off));
    }
    return v;
}

/* Writes a point into ring r, the calling thread's: the point record, its first continuation (the
 * session and 16 context bytes) and, past 16 bytes, continuations of 28 more each; then publishes
 * them. clen <= TK_CONTEXT_MAX. Without context the continuation's context bytes are left as they
 * are (never read: ctx_len is 0), so a constant clen of 0 leaves six stores and the bookkeeping.
 * Words are built little-endian in place (the record's tag and sequence number are one word). */
static inline TK_ALWAYS_INLINE void tk__point_write(tk__ring *r, tk_label_t label, uint64_t ticks,
                                                    uint64_t client, uint64_t command,
                                                    uint64_t session, const char *ctx,
                                                    size_t clen)
{
    const uint32_t more = clen <= 16 ? 0 : (uint32_t)((clen - 16 + 27) / 28);
    /* the ring's fields read once: the stores below may alias them as far as C knows */
    tks_record *const slots = r->slots;
    uint64_t *const counters = r->counters;
    const uint64_t mask = r->mask, h = r->head, n = counters[label] + 1;
    tks_ring_header *const hdr = r->hdr;
    TKS_FENCE_RELEASE();
    uint64_t *w = (uint64_t *)&slots[h & mask];
    __atomic_store_n(&w[0], TKS_TAG(TKS_REC_POINT, label) | (uint64_t)(uint32_t)n << 32,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&w[1], ticks, __ATOMIC_RELAXED);
    __atomic_store_n(&w[2], client, __ATOMIC_RELAXED);
    __atomic_store_n(&w[3], command, __ATOMIC_RELAXED);
    w = (uint64_t *)&slots[(h + 1) & mask];
    const uint64_t ext = TKS_TAG(TKS_REC_POINT_EXT, 1) | (uint64_t)clen << 32 |
                         (uint64_t)(1 + more) << 48;
    __atomic_store_n(&w[0], ext, __ATOMIC_RELAXED);
    __atomic_store_n(&w[1], session, __ATOMIC_RELAXED);
    if (clen) {
        __atomic_store_n(&w[2], tk__ctx_word(ctx, clen, 0, 8), __ATOMIC_RELAXED);
        __atomic_store_n(&w[3], tk__ctx_word(ctx, clen, 8, 8), __ATOMIC_RELAXED);
    }
    for (uint32_t k = 0; k < more; k++) {
        const size_t off = 16 + (size_t)k * 28;
        w = (uint64_t *)&slots[(h + 2 + k) & mask];
        const uint64_t tag = TKS_TAG(TKS_REC_POINT_EXT, 2 + k);
        __atomic_store_n(&w[0], tag | tk__ctx_word(ctx, clen, off, 4) << 32, __ATOMIC_RELAXED);
        __atomic_store_n(&w[1], tk__ctx_word(ctx, clen, off + 4, 8), __ATOMIC_RELAXED);
        __atomic_store_n(&w[2], tk__ctx_word(ctx, clen, off + 12, 8), __ATOMIC_RELAXED);
        __atomic_store_n(&w[3], tk__ctx_word(ctx, clen, off + 20, 8), __ATOMIC_RELAXED);
    }
    const uint64_t nh = h + 2 + more;
    __atomic_store_n(&hdr->head, nh, __ATOMIC_RELEASE);
    __atomic_store_n(&counters[label], n, __ATOMIC_RELAXED);
    r->head = nh;
}

/* The common case: recording on, a valid label, no TIMING text, this thread's ring claimed, no
 * context. Writes the point and returns 1, or returns 0 without writing anything (tk_point_at()
 * then takes the general path). */
static inline TK_ALWAYS_INLINE int tk__point_fast(tk_label_t label, uint64_t ticks, uint64_t client,
                                                  uint64_t command, uint64_t session)
{
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!tk__enabled || label - 1u >= tk__g.max_names - 1u || tk__g.timing_fd >= 0 ||
                    !r))
        return 0;
    tk__point_write(r, label, ticks, client, command, session, NULL, 0);
    return 1;
}

#endif
