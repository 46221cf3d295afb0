/* timer.c — the name table (timers and labels) and the hot path: one span record into the ring. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static struct tk_timer timers[TK_MAX_NAMES]; /* indexed by name id; id 0 is "(invalid)" */

static int name_valid(const char *name, size_t *len, int allow_space)
{
    size_t n = strnlen(name, TKS_NAME_LEN_MAX + 1);
    if (n == 0)
        return TK_EINVAL;
    if (n > TKS_NAME_LEN_MAX)
        return TK_ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch > 0x7e || ch == ',' || (ch == ' ' && !allow_space))
            return TK_EINVAL;
    }
    *len = n;
    return 0;
}

int tk__name_register(const char *name, int kind, int allow_space)
{
    size_t len;
    if (!name)
        return TK_EINVAL;
    int rc = name_valid(name, &len, allow_space);
    if (rc)
        return rc;
    rc = tk__ensure_init();
    if (rc)
        return rc;
    tks_header *h = tk__g.hdr;
    tks_name *table = (tks_name *)((char *)h + h->names_offset);
    pthread_mutex_lock(&tk__g.lock);
    uint32_t n = h->name_count;
    for (uint32_t i = 1; i < n; i++) {
        if (table[i].kind == kind && table[i].len == len && memcmp(table[i].name, name, len) == 0) {
            pthread_mutex_unlock(&tk__g.lock);
            return (int)i;
        }
    }
    if (n >= tk__g.max_names) {
        pthread_mutex_unlock(&tk__g.lock);
        return TK_EFULL;
    }
    tks_name *e = &table[n];
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->len = (uint16_t)len;
    e->kind = (uint16_t)kind;
    timers[n].id = n;
    memcpy(timers[n].name, name, len + 1);
    __atomic_store_n(&h->name_count, n + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tk__g.lock);
    return (int)n;
}

int tk_timer_register(const char *name, tk_timer_t **out)
{
    int id = tk__name_register(name, TKS_NAME_TIMER, 1);
    if (id < 0) {
        if (!timers[0].name[0])
            memcpy(timers[0].name, "(invalid)", 10);
        *out = &timers[0];
        return id == TK_EDISABLED ? 0 : id;
    }
    *out = &timers[id];
    return 0;
}

tk_timer_t *tk_timer(const char *name)
{
    tk_timer_t *t;
    int rc = tk_timer_register(name, &t);
    if (rc)
        fprintf(stderr, "timekeeper: timer '%.60s': %s; its records go to '(invalid)'\n",
                name ? name : "(null)", tk_strerror(rc));
    return t;
}

const char *tk_timer_name(const tk_timer_t *t) { return t ? t->name : "(null)"; }

/* The hot path. Cost: a flag test, a TLS load, five relaxed stores (plain moves on x86-64 and
 * aarch64) of a 32-byte record, one release store of head and one of the name's counter; no lock,
 * no syscall, no read of anything a collector writes (collectors write nothing). */
void tk_record(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin)
{
    if (TK_UNLIKELY(!tk__enabled))
        return;
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r)
            return;
    }
    const uint32_t id = t->id;
    const uint64_t h = r->head;
    const uint64_t n = r->counters[id] + 1;
    tks_record *s = &r->slots[h & r->mask];
    /* orders the previous head publication before these stores (seqlock writer side) */
    TKS_FENCE_RELEASE();
    __atomic_store_n(&s->tag, TKS_TAG(TKS_REC_SPAN, id), __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, (uint32_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&s->a, start, __ATOMIC_RELAXED);
    __atomic_store_n(&s->b, stop, __ATOMIC_RELAXED);
    __atomic_store_n(&s->c, origin, __ATOMIC_RELAXED);
    __atomic_store_n(&r->hdr->head, h + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->counters[id], n, __ATOMIC_RELAXED);
    r->head = h + 1;
}
