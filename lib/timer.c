/* timer.c — the name table (timers and labels) and the hot path: one span record into the ring. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* The process's own name table, the source of truth for ids (under tk__g.lock): it works without
 * a segment (TK_DISABLE=1 with TK_TIMING=1 still names its TIMING lines), and it is copied into
 * every segment the process creates (the first one, a forked child's). Id 0 is "(invalid)". */
static struct tk_timer timers[TK_MAX_NAMES] = {[0] = {0, "(invalid)"}};
static uint8_t kinds[TK_MAX_NAMES] = {[0] = TKS_NAME_TIMER};
static uint32_t nnames = 1;

static void entry_fill(tks_name *e, uint32_t id)
{
    size_t len = strlen(timers[id].name);
    memset(e, 0, sizeof *e);
    memcpy(e->name, timers[id].name, len + 1);
    e->len = (uint16_t)len;
    e->kind = kinds[id];
}

uint32_t tk__names_copy(tks_name *table, uint32_t max)
{
    uint32_t n = nnames < max ? nnames : max;
    for (uint32_t i = 0; i < n; i++)
        entry_fill(&table[i], i);
    return n;
}

const char *tk__name_of(uint32_t id)
{
    return id < TK_MAX_NAMES ? timers[id].name : "?";
}

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
    tk__ensure_init(); /* names are kept even when recording is disabled */
    /* a full table is remembered: every later registration fails here, without the lock or a
     * scan (cost: one relaxed load and one relaxed add), also for a name registered earlier */
    if (TK_UNLIKELY(__atomic_load_n(&tk__g.names_full, __ATOMIC_RELAXED))) {
        TK__HEALTH_ADD(names_refused, 1);
        return TK_EFULL;
    }
    pthread_mutex_lock(&tk__g.lock);
    for (uint32_t i = 1; i < nnames; i++) {
        if (kinds[i] == kind && memcmp(timers[i].name, name, len + 1) == 0) {
            pthread_mutex_unlock(&tk__g.lock);
            return (int)i;
        }
    }
    uint32_t id = nnames;
    if (id >= TK_MAX_NAMES || (tk__g.hdr && id >= tk__g.hdr->max_names)) {
        __atomic_store_n(&tk__g.names_full, 1, __ATOMIC_RELAXED);
        TK__HEALTH_ADD(names_refused, 1);
        int first = tk__health_flag_once(TKS_HEALTH_NAMES_FULL);
        pthread_mutex_unlock(&tk__g.lock);
        if (first)
            tk__warn("timekeeper: the name table is full (%u names); later timers and labels are "
                     "refused at once and their records dropped and counted\n", id);
        return TK_EFULL;
    }
    timers[id].id = id;
    memcpy(timers[id].name, name, len + 1);
    kinds[id] = (uint8_t)kind;
    nnames = id + 1;
    tks_header *h = tk__g.hdr;
    if (h) {
        entry_fill((tks_name *)((char *)h + h->names_offset) + id, id);
        __atomic_store_n(&h->name_count, id + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tk__g.lock);
    return (int)id;
}

int tk_timer_register(const char *name, tk_timer_t **out)
{
    int id = tk__name_register(name, TKS_NAME_TIMER, 1);
    if (id < 0) {
        *out = &timers[0];
        return id;
    }
    *out = &timers[id];
    return 0;
}

tk_timer_t *tk_timer(const char *name)
{
    tk_timer_t *t;
    int rc = tk_timer_register(name, &t);
    if (rc && rc != TK_EFULL) /* a full table is told once, by the registry */
        tk__warn("timekeeper: timer '%.60s': %s; its records go to '(invalid)'\n",
                 name ? name : "(null)", tk_strerror(rc));
    return t;
}

const char *tk_timer_name(const tk_timer_t *t) { return t ? t->name : "(null)"; }

/* The hot path. Cost: a flag test, a TLS load, five relaxed stores (plain moves on x86-64 and
 * aarch64) of a 32-byte record, one release store of head and one of the name's counter; no lock,
 * no syscall, no read of anything a collector writes (collectors write nothing). */
void tk_record(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin)
{
    if (TK_UNLIKELY(!tk__enabled)) {
        tk__drop_disabled();
        return;
    }
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
