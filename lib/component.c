/* component.c — per-component timing: sequences of named components whose callbacks are timed
 * one record per call (TKS_REC_COMPONENT, format/segment.h "Component records"). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct component {
    uint32_t id;                  /* TKS_NAME_COMPONENT name id */
    tk_callback_fn fn[TKS_CB_EVENT + 1];
    void *ctx;
} component;

struct tk_sequence {
    unsigned index;               /* order of creation, < TK_SEQUENCE_MAX */
    uint32_t all_id;              /* the name "__ALL__" */
    int started;                  /* a callback ran: no more components */
    uint64_t absolute_start;      /* ticks at the start of process start, 0: not started */
    unsigned n;
    component comp[TK_SEQUENCE_MAX_COMPONENTS];
};

static unsigned sequences_created; /* under tk__g.lock */

_Static_assert((int)TK_CB_PROCESS_START == TKS_CB_PROCESS_START && (int)TK_CB_EVENT == TKS_CB_EVENT &&
                   (int)TK_CB_NEW_RUN == TKS_CB_NEW_RUN && (int)TK_CB_FILE_CLOSE == TKS_CB_FILE_CLOSE,
               "public callback numbers are the record's");

/* One component record into this thread's ring. Cost: as tk_record (a TLS load, five relaxed
 * stores of a 32-byte record, one release store of head, one of the name's counter). */
static void component_record(uint32_t id, uint64_t start, uint64_t stop, uint64_t packed)
{
    if (TK_UNLIKELY(!tk__enabled))
        return;
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r)
            return;
    }
    const uint64_t h = r->head;
    const uint64_t n = r->counters[id] + 1;
    tks_record *s = &r->slots[h & r->mask];
    TKS_FENCE_RELEASE(); /* the previous head publication before these stores */
    __atomic_store_n(&s->tag, TKS_TAG(TKS_REC_COMPONENT, id), __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, (uint32_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&s->a, start, __ATOMIC_RELAXED);
    __atomic_store_n(&s->b, stop, __ATOMIC_RELAXED);
    __atomic_store_n(&s->c, packed, __ATOMIC_RELAXED);
    __atomic_store_n(&r->hdr->head, h + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->counters[id], n, __ATOMIC_RELAXED);
    r->head = h + 1;
}

int tk_sequence_create(tk_sequence_t **out)
{
    *out = NULL;
    int all = tk__name_register("__ALL__", TKS_NAME_COMPONENT, 0);
    if (all < 0)
        return all;
    tk_sequence_t *s = calloc(1, sizeof *s);
    if (!s)
        return TK_ENOMEM;
    pthread_mutex_lock(&tk__g.lock);
    if (sequences_created >= TK_SEQUENCE_MAX) {
        pthread_mutex_unlock(&tk__g.lock);
        free(s);
        return TK_EFULL;
    }
    s->index = sequences_created++;
    if (tk__g.hdr) {
        __atomic_store_n(&tk__g.hdr->component_layout, TKS_COMPONENT_LAYOUT, __ATOMIC_RELAXED);
        __atomic_store_n(&tk__g.hdr->component_sequences, sequences_created, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&tk__g.lock);
    s->all_id = (uint32_t)all;
    *out = s;
    return 0;
}

int tk_sequence_add(tk_sequence_t *s, const char *name, const tk_component_ops *ops, void *ctx)
{
    if (!s || !name || !ops || s->started || strcmp(name, "__ALL__") == 0)
        return TK_EINVAL;
    if (s->n >= TK_SEQUENCE_MAX_COMPONENTS)
        return TK_EFULL;
    int id = tk__name_register(name, TKS_NAME_COMPONENT, 1);
    if (id < 0)
        return id;
    for (unsigned i = 0; i < s->n; i++)
        if (s->comp[i].id == (uint32_t)id)
            return TK_EINVAL;
    component *c = &s->comp[s->n++];
    c->id = (uint32_t)id;
    c->ctx = ctx;
    c->fn[TKS_CB_PROCESS_START] = ops->process_start;
    c->fn[TKS_CB_PROCESS_END] = ops->process_end;
    c->fn[TKS_CB_FILE_OPEN] = ops->file_open;
    c->fn[TKS_CB_FILE_CLOSE] = ops->file_close;
    c->fn[TKS_CB_BEFORE_NEW_RUN] = ops->before_new_run;
    c->fn[TKS_CB_NEW_RUN] = ops->new_run;
    c->fn[TKS_CB_EVENT] = ops->event;
    return 0;
}

int tk_sequence_call(tk_sequence_t *s, tk_callback_t cb, uint64_t arg)
{
    if (!s || (unsigned)cb > TKS_CB_EVENT)
        return TK_EINVAL;
    s->started = 1;
    const unsigned idx = s->index;
    const uint64_t all_start = tk_now();
    if (cb == TK_CB_PROCESS_START && !s->absolute_start)
        s->absolute_start = all_start;
    int nonzero = 0;
    uint64_t t;
    for (unsigned i = 0; i < s->n; i++) {
        const component *c = &s->comp[i];
        tk_callback_fn fn = c->fn[cb];
        if (!fn)
            continue;
        const uint64_t start = tk_now();
        const int rc = fn(c->ctx, arg);
        t = tk_now();
        component_record(c->id, start, t,
                         TKS_COMPONENT_PACK(arg, cb, rc ? TKS_CF_NONZERO : 0u, idx));
        if (rc) {
            nonzero = 1;
            if (cb == TK_CB_EVENT)
                break; /* the event is aborted: the components after this one do not see it */
        }
    }
    t = tk_now();
    component_record(s->all_id, all_start, t,
                     TKS_COMPONENT_PACK(arg, cb, nonzero ? TKS_CF_NONZERO : 0u, idx));
    if (cb == TK_CB_PROCESS_END && s->absolute_start) {
        component_record(s->all_id, s->absolute_start, t,
                         TKS_COMPONENT_PACK(0, TKS_CB_ABSOLUTE, 0u, idx));
        s->absolute_start = 0;
    }
    return nonzero;
}

unsigned tk_sequence_index(const tk_sequence_t *s) { return s ? s->index : 0; }

void tk_sequence_free(tk_sequence_t *s) { free(s); }
