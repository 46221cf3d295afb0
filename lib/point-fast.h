/* point-fast.h — the common case of a labeled point, inline: recording on, a valid label, no
 * TIMING text, this thread's ring claimed, no context. Used by tk_point_at() and by the Python
 * binding, which links the library statically and records from its own fast path (a call less:
 * its point() costs ~1.5 x the bare call with the same arguments). */
#ifndef TK_LIB_POINT_FAST_H
#define TK_LIB_POINT_FAST_H

#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the segment format is little-endian; this writer builds its words for that order"
#endif

/* Every point tk__point_fast() does not take: checks everything, writes the context, the TIMING
 * line, counts what it drops (lib/point.c). ctx may be NULL when len is 0. */
TK_HIDDEN void tk__point_general(tk_label_t label, uint64_t ticks, uint64_t client,
                                 uint64_t command, uint64_t session, const char *ctx, size_t len);

/* Writes the point record and its one continuation (the session, no context) and returns 1, or
 * returns 0 without writing anything when the case is not the common one (tk_point_at() then
 * handles it). The record's tag and sequence number are one little-endian word, as the
 * continuation's first word is (the segment format is little-endian). */
static inline TK_ALWAYS_INLINE int tk__point_fast(tk_label_t label, uint64_t ticks, uint64_t client,
                                 uint64_t command, uint64_t session)
{
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!tk__enabled || label - 1u >= tk__g.max_names - 1u || tk__g.timing_fd >= 0 ||
                    !r))
        return 0;
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
    __atomic_store_n(&w[0], TKS_TAG(TKS_REC_POINT_EXT, 1) | (uint64_t)1 << 48, __ATOMIC_RELAXED);
    __atomic_store_n(&w[1], session, __ATOMIC_RELAXED);
    /* w[2], w[3]: context bytes, none here (ctx_len 0): left as they are, never read */
    const uint64_t nh = h + 2;
    __atomic_store_n(&hdr->head, nh, __ATOMIC_RELEASE);
    __atomic_store_n(&counters[label], n, __ATOMIC_RELAXED);
    r->head = nh;
    return 1;
}

#endif
