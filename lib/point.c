/* point.c — labeled points: one point record plus 1..3 continuation records in the ring, and the
 * optional TIMING text line (TK_TIMING=1). */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

tk_label_t tk_label(const char *name)
{
    int id = tk__name_register(name, TKS_NAME_LABEL, 0);
    if (id < 0) {
        fprintf(stderr, "timekeeper: label '%.60s': %s\n", name ? name : "(null)",
                    tk_strerror(id));
        return 0;
    }
    return (tk_label_t)id;
}

int tk_timing_text_enabled(void)
{
    tk__ensure_init();
    return tk__g.timing_fd >= 0;
}

static char *put_id(char *p, uint64_t v)
{
    if (v == TK_ID_NONE) {
        *p++ = '-';
        return p;
    }
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* One write(2) per line, so lines from many threads never interleave within a line (a pipe keeps
 * writes up to PIPE_BUF whole; an O_APPEND file keeps each write together). */
void tk__timing_write(uint32_t label, uint64_t ticks, uint64_t client, uint64_t command,
                      uint64_t session, const char *ctx, size_t len)
{
    char line[4096];
    const char *name = tk__name_of(label);
    if (len > 1024)
        len = 1024;
    char *p = line;
    memcpy(p, "TIMING,", 7);
    p += 7;
    size_t nl = strlen(name);
    memcpy(p, name, nl);
    p += nl;
    *p++ = ',';
    p = put_id(p, tk_ticks_to_ns(ticks));
    *p++ = ',';
    p = put_id(p, client);
    *p++ = ',';
    p = put_id(p, command);
    *p++ = ',';
    p = put_id(p, session);
    *p++ = ',';
    for (size_t i = 0; i < len; i++) /* a newline would break the line format */
        *p++ = (ctx[i] == '\n' || ctx[i] == '\r') ? ' ' : ctx[i];
    *p++ = '\n';
    const char *q = line;
    size_t left = (size_t)(p - line);
    while (left) {
        ssize_t w = write(tk__g.timing_fd, q, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        q += w;
        left -= (size_t)w;
    }
}

static inline void store_word(uint64_t *w, uint64_t v) { __atomic_store_n(w, v, __ATOMIC_RELAXED); }

/* Bytes [off, off + width) of the context (width 4 or 8), zero past len, as a little-endian word.
 * The whole-word case is one unaligned load. */
static inline uint64_t ctx_bytes(const char *ctx, size_t len, size_t off, size_t width)
{
    uint64_t v = 0;
    if (off + width <= len) {
        if (width == 8) {
            memcpy(&v, ctx + off, 8);
        } else {
            uint32_t w;
            memcpy(&w, ctx + off, 4);
            v = w;
        }
    } else {
        for (size_t i = off; i < len; i++)
            v |= (uint64_t)(unsigned char)ctx[i] << (8 * (i - off));
    }
    return v;
}

void tk_point_at(tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,
                 uint64_t session, const char *ctx, size_t len)
{
    if (TK_UNLIKELY(!tk__enabled)) {
        if (tk__g.timing_fd >= 0 && label)
            tk__timing_write(label, ticks, client, command, session, ctx ? ctx : "", ctx ? len : 0);
        return;
    }
    if (TK_UNLIKELY(label == 0 || label >= tk__g.max_names))
        return;
    if (!ctx) {
        ctx = "";
        len = 0;
    }
    if (TK_UNLIKELY(tk__g.timing_fd >= 0))
        tk__timing_write(label, ticks, client, command, session, ctx, len);
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r)
            return;
    }
    const size_t clen = len > TK_CONTEXT_MAX ? TK_CONTEXT_MAX : len;
    const uint32_t more = clen <= 16 ? 0 : (uint32_t)((clen - 16 + 27) / 28);
    const uint64_t h = r->head;
    const uint64_t n = r->counters[label] + 1;
    TKS_FENCE_RELEASE();
    tks_record *s = &r->slots[h & r->mask];
    __atomic_store_n(&s->tag, TKS_TAG(TKS_REC_POINT, label), __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, (uint32_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&s->a, ticks, __ATOMIC_RELAXED);
    __atomic_store_n(&s->b, client, __ATOMIC_RELAXED);
    __atomic_store_n(&s->c, command, __ATOMIC_RELAXED);

    /* the continuations (tks_point_ext, tks_point_more), built as little-endian words in place */
    uint64_t *d = (uint64_t *)&r->slots[(h + 1) & r->mask];
    store_word(&d[0], TKS_TAG(TKS_REC_POINT_EXT, 1) | (uint64_t)clen << 32 | (uint64_t)(1 + more) << 48);
    store_word(&d[1], session);
    store_word(&d[2], ctx_bytes(ctx, clen, 0, 8));
    store_word(&d[3], ctx_bytes(ctx, clen, 8, 8));
    for (uint32_t k = 0; k < more; k++) {
        const size_t off = 16 + (size_t)k * 28;
        d = (uint64_t *)&r->slots[(h + 2 + k) & r->mask];
        store_word(&d[0], TKS_TAG(TKS_REC_POINT_EXT, 2 + k) | ctx_bytes(ctx, clen, off, 4) << 32);
        store_word(&d[1], ctx_bytes(ctx, clen, off + 4, 8));
        store_word(&d[2], ctx_bytes(ctx, clen, off + 12, 8));
        store_word(&d[3], ctx_bytes(ctx, clen, off + 20, 8));
    }
    const uint64_t nh = h + 2 + more;
    __atomic_store_n(&r->hdr->head, nh, __ATOMIC_RELEASE);
    __atomic_store_n(&r->counters[label], n, __ATOMIC_RELAXED);
    r->head = nh;
}

void tk_point(tk_label_t label, uint64_t client, uint64_t command, uint64_t session,
              const char *context)
{
    tk_point_at(label, tk_now(), client, command, session, context,
                context ? strlen(context) : 0);
}
