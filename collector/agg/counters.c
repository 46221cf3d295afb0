/* agg/counters.c — per-interval counter deltas and latest gauge values (agg/counters.h). A small
 * table searched linearly: a process has tens of counters, events come once per drain pass each. */
#include "agg/counters.h"

#include <stdlib.h>
#include <string.h>

#include "format/segment.h"

typedef struct entry {
    uint64_t proc_key;
    int pid;
    int kind;
    uint32_t id;
    uint64_t total, base;
    int64_t value;
    char name[TKS_NAME_LEN_MAX + 1];
} entry;

typedef struct primed {
    uint64_t proc_key;
    int state; /* 0: its first pass is under way, 1: the pass ended */
} primed;

struct tka_counters {
    entry *e;
    size_t n, cap;
    primed *pr;
    size_t npr, cappr;
    tkc_consumer cons;
};

static void on_event(void *ctx, const tkc_proc *p, const tkc_event *e)
{
    tka_counters_event(ctx, p, e);
}
static void on_drained(void *ctx, uint64_t now) { tka_counters_drained(ctx, now); }
static void on_gone(void *ctx, const tkc_proc *p) { tka_counters_forget(ctx, p->key); }

tka_counters *tka_counters_new(void)
{
    tka_counters *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cons.ctx = t;
    t->cons.event = on_event;
    t->cons.drained = on_drained;
    t->cons.proc_gone = on_gone;
    return t;
}

void tka_counters_free(tka_counters *t)
{
    if (!t)
        return;
    free(t->e);
    free(t->pr);
    free(t);
}

const tkc_consumer *tka_counters_consumer(tka_counters *t) { return &t->cons; }

/* Is this the process's first drain pass? Registers the process when new. */
static int first_pass(tka_counters *t, uint64_t key)
{
    for (size_t i = 0; i < t->npr; i++)
        if (t->pr[i].proc_key == key)
            return t->pr[i].state == 0;
    if (t->npr == t->cappr) {
        size_t cap = t->cappr ? t->cappr * 2 : 8;
        primed *pr = realloc(t->pr, cap * sizeof *pr);
        if (!pr)
            return 0;
        t->pr = pr;
        t->cappr = cap;
    }
    t->pr[t->npr++] = (primed){key, 0};
    return 1;
}

void tka_counters_event(tka_counters *t, const tkc_proc *p, const tkc_event *ev)
{
    if (ev->kind != TKC_EV_COUNTER && ev->kind != TKC_EV_GAUGE)
        return;
    int first = first_pass(t, p->key);
    entry *x = NULL;
    for (size_t i = 0; i < t->n && !x; i++)
        if (t->e[i].proc_key == p->key && t->e[i].id == ev->name)
            x = &t->e[i];
    if (!x) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            entry *e = realloc(t->e, cap * sizeof *e);
            if (!e)
                return;
            t->e = e;
            t->cap = cap;
        }
        x = &t->e[t->n++];
        memset(x, 0, sizeof *x);
        x->proc_key = p->key;
        x->pid = p->pid;
        x->id = ev->name;
        x->kind = ev->kind == TKC_EV_COUNTER ? TKS_NAME_COUNTER
                  : ev->sub == TKS_NAME_STAGE ? TKS_NAME_STAGE
                                              : TKS_NAME_GAUGE;
        const char *nm = tkc_proc_name(p, ev->name);
        strncpy(x->name, nm ? nm : "", sizeof x->name - 1);
        if (ev->kind == TKC_EV_COUNTER && first)
            x->base = x->total = ev->a; /* counted before we came */
    }
    if (ev->kind == TKC_EV_COUNTER) {
        if (ev->a < x->total) /* went back: malformed; start over from it */
            x->base = ev->a;
        x->total = ev->a;
    } else {
        x->value = (int64_t)ev->a;
    }
}

void tka_counters_drained(tka_counters *t, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    for (size_t i = 0; i < t->npr; i++)
        t->pr[i].state = 1;
}

void tka_counters_forget(tka_counters *t, uint64_t key)
{
    size_t j = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].proc_key != key)
            t->e[j++] = t->e[i];
    t->n = j;
    j = 0;
    for (size_t i = 0; i < t->npr; i++)
        if (t->pr[i].proc_key != key)
            t->pr[j++] = t->pr[i];
    t->npr = j;
}

void tka_counters_rollover(tka_counters *t)
{
    for (size_t i = 0; i < t->n; i++)
        t->e[i].base = t->e[i].total;
}

static int cmp_value(const void *a, const void *b)
{
    const tka_counter_value *x = a, *y = b;
    if (x->proc_key != y->proc_key)
        return x->proc_key < y->proc_key ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t tka_counters_list(const tka_counters *t, uint64_t key, tka_counter_value *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const entry *x = &t->e[i];
        if (key != UINT64_MAX && x->proc_key != key)
            continue;
        if (n < cap)
            out[n] = (tka_counter_value){x->proc_key, x->pid,     x->kind,  x->name,
                                         x->total,    x->total - x->base, x->value};
        n++;
    }
    if (out && cap)  /* a count-only call (out NULL, cap 0) sorts nothing */
        qsort(out, n < cap ? n : cap, sizeof *out, cmp_value);
    return n;
}
