/* task.c — async task profiling: task types, the lifecycle calls (one record each) and the exact
 * per-thread per-type totals in the segment (format/taskcalc.h does the arithmetic). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/taskcalc.h"

/* The private state behind a tk_task_t. */
typedef struct task_state {
    tkt_task calc;        /* calc.type: the type's accumulator index */
    tk__ring *ring;       /* the owner's ring, NULL: this task records nothing */
    uint32_t name;        /* the type's name id */
    int32_t off_err;      /* why the task records nothing (a TK_E* code), 0 when it does */
} task_state;

_Static_assert(sizeof(task_state) <= sizeof(tk_task_t), "tk_task_t too small");
_Static_assert(offsetof(tks_task_acc, created) == 8, "accumulator totals offset");
_Static_assert(sizeof(tkt_totals) == offsetof(tks_task_acc, reserved) - 8, "totals layout");

/* The process's task types, index -> type (under tk__g.lock; entries never move or go). The
 * static objects of TK_TASK_TYPE copy the id and index of the entry with the same name. */
static tk_task_type_t *types[TKS_DEFAULT_MAX_TASK_TYPES];
static uint32_t ntypes;

/* This thread's running stack (its loop's), and its ring's accumulators. */
static __thread tkt_stack tls_stack;
static __thread tk__ring *tls_acc_ring;
static __thread tks_task_acc *tls_acc;

void tk__task_types_copy(tks_header *h)
{
    uint32_t *table = (uint32_t *)((char *)h + h->task_types_offset);
    uint32_t n = ntypes < h->max_task_types ? ntypes : h->max_task_types;
    for (uint32_t i = 0; i < n; i++)
        table[i] = types[i]->priv_id;
    __atomic_store_n(&h->task_type_count, n, __ATOMIC_RELEASE);
}

/* "func@file:line" within TKS_NAME_LEN_MAX bytes: a long function or file keeps its end (the
 * most specific part: "outer.<locals>.inner", "pkg/mod.py"), the file at least 20 bytes of it;
 * characters a name may not hold become '_'. */
static void type_name(char *out, const char *func, const char *file, int line)
{
    char tail[16];
    snprintf(tail, sizeof tail, ":%d", line > 0 ? line : 0);
    if (!file)
        file = "";
    const size_t budget = TKS_NAME_LEN_MAX - strlen(tail) - 1; /* 1: the '@' */
    size_t flen = strlen(func), plen = strlen(file);
    size_t fshare = flen, pshare = plen;
    if (flen + plen > budget) {
        pshare = plen < 20 ? plen : (budget > flen + 20 ? budget - flen : 20);
        fshare = flen < budget - pshare ? flen : budget - pshare;
        pshare = plen < budget - fshare ? plen : budget - fshare;
    }
    size_t n = 0;
    memcpy(out, func + flen - fshare, fshare);
    n += fshare;
    out[n++] = '@';
    memcpy(out + n, file + plen - pshare, pshare);
    n += pshare;
    memcpy(out + n, tail, strlen(tail));
    n += strlen(tail);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch < 0x20 || ch > 0x7e || ch == ',' || (ch == '@' && i != fshare))
            out[i] = '_';
    }
}

/* In a forked child the parent's tasks are not continued (their calls are refused: their ring is
 * not the child's) and the cached accumulators belong to the parent's segment. */
static void task_on_fork_child(void)
{
    tls_stack.top = NULL;
    tls_acc_ring = NULL;
    tls_acc = NULL;
}

/* Finds or adds the type entry (func, file, line); returns 0 or a TK_E* code. */
static int type_find_or_add(const char *func, const char *file, int line, tk_task_type_t **out)
{
    char name[TKS_NAME_LEN_MAX + 1];
    *out = NULL;
    if (!func || !*func)
        return TK_EINVAL;
    if (strlen(func) > TK_TASK_FUNC_MAX || (file && strlen(file) > TK_TASK_FUNC_MAX))
        return TK_ENAMETOOLONG;
    type_name(name, func, file, line);
    int id = tk__name_register(name, TKS_NAME_TASK, 1);
    if (id < 0)
        return id;
    int rc = 0;
    static int atfork_done; /* under the lock; every task has a type, so this precedes them */
    pthread_mutex_lock(&tk__g.lock);
    if (!atfork_done && pthread_atfork(NULL, NULL, task_on_fork_child) == 0)
        atfork_done = 1;
    for (uint32_t i = 0; i < ntypes; i++)
        if (types[i]->line == line && strcmp(types[i]->func, func) == 0 &&
            strcmp(types[i]->file, file ? file : "") == 0) {
            *out = types[i];
            goto out;
        }
    if (ntypes >= TKS_DEFAULT_MAX_TASK_TYPES) {
        rc = TK_EFULL;
        goto out;
    }
    tk_task_type_t *t = calloc(1, sizeof *t);
    char *f = strdup(func), *fl = strdup(file ? file : "");
    if (!t || !f || !fl) {
        free(t);
        free(f);
        free(fl);
        rc = TK_ENOMEM;
        goto out;
    }
    t->func = f;
    t->file = fl;
    t->line = line;
    t->priv_id = (uint32_t)id;
    t->priv_index = ntypes;
    types[ntypes] = t;
    ntypes++;
    tks_header *h = tk__g.hdr;
    if (h && t->priv_index < h->max_task_types) {
        ((uint32_t *)((char *)h + h->task_types_offset))[t->priv_index] = (uint32_t)id;
        __atomic_store_n(&h->task_type_count, ntypes, __ATOMIC_RELEASE);
    }
    *out = t;
out:
    pthread_mutex_unlock(&tk__g.lock);
    return rc;
}

int tk_task_type_register(const char *func, const char *file, int line, tk_task_type_t **out)
{
    if (!out)
        return TK_EINVAL;
    return type_find_or_add(func, file, line, out);
}

/* Registers a TK_TASK_TYPE static object once (racing threads get the same id and index). */
static int type_ready(tk_task_type_t *type)
{
    if (TK_LIKELY(__atomic_load_n(&type->priv_id, __ATOMIC_ACQUIRE)))
        return 0;
    int err = __atomic_load_n(&type->priv_err, __ATOMIC_RELAXED);
    if (err)
        return err;
    tk_task_type_t *entry;
    int rc = type_find_or_add(type->func, type->file, type->line, &entry);
    if (rc) {
        fprintf(stderr, "timekeeper: task type '%.55s': %s; its tasks are not profiled\n",
                type->func ? type->func : "(null)", tk_strerror(rc));
        __atomic_store_n(&type->priv_err, rc, __ATOMIC_RELAXED);
        return rc;
    }
    __atomic_store_n(&type->priv_index, entry->priv_index, __ATOMIC_RELAXED);
    __atomic_store_n(&type->priv_id, entry->priv_id, __ATOMIC_RELEASE);
    return 0;
}

/* ---- the hot path ----------------------------------------------------------------------------- */

/* One task record into r (the same protocol as tk_record). */
static inline void task_put(tk__ring *r, uint32_t name, uint64_t a, uint64_t b, uint64_t c)
{
    const uint64_t h = r->head;
    const uint64_t n = r->counters[name] + 1;
    tks_record *s = &r->slots[h & r->mask];
    TKS_FENCE_RELEASE();
    __atomic_store_n(&s->tag, TKS_TAG(TKS_REC_TASK, name), __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, (uint32_t)n, __ATOMIC_RELAXED);
    __atomic_store_n(&s->a, a, __ATOMIC_RELAXED);
    __atomic_store_n(&s->b, b, __ATOMIC_RELAXED);
    __atomic_store_n(&s->c, c, __ATOMIC_RELAXED);
    __atomic_store_n(&r->hdr->head, h + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->counters[name], n, __ATOMIC_RELAXED);
    r->head = h + 1;
}

/* The accumulators of this thread's ring (r is the thread's ring). */
static inline tks_task_acc *acc_base(tk__ring *r)
{
    if (TK_UNLIKELY(tls_acc_ring != r)) {
        tks_header *h = tk__g.hdr;
        tls_acc = (tks_task_acc *)((char *)h + h->tasks_offset + (size_t)r->index * h->tasks_stride);
        tls_acc_ring = r;
    }
    return tls_acc;
}

/* Seqlock writer around a change of one or two accumulators (b may be NULL or equal to a). */
static inline void acc_begin(tks_task_acc *a, tks_task_acc *b)
{
    __atomic_store_n(&a->seq, a->seq + 1, __ATOMIC_RELAXED);
    if (b && b != a)
        __atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
    TKS_FENCE_RELEASE();
}
static inline void acc_end(tks_task_acc *a, tks_task_acc *b)
{
    TKS_FENCE_RELEASE();
    __atomic_store_n(&a->seq, a->seq + 1, __ATOMIC_RELAXED);
    if (b && b != a)
        __atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
}

static inline tkt_totals *totals_of(tks_task_acc *a) { return (tkt_totals *)(void *)&a->created; }

/* The task's state when it may be recorded now on this thread; NULL with *rc set otherwise. */
static inline task_state *task_live(tk_task_t *t, int *rc)
{
    task_state *s = (task_state *)(void *)t;
    if (TK_UNLIKELY(!t)) {
        *rc = TK_EINVAL;
        return NULL;
    }
    if (TK_UNLIKELY(!s->ring)) {
        *rc = s->off_err ? s->off_err : TK_EINVAL;
        return NULL;
    }
    if (TK_UNLIKELY(s->ring != tk__tls_ring)) {
        *rc = TK_ETASKSTATE; /* another thread, or this thread gave its ring back */
        return NULL;
    }
    return s;
}

int tk_task_created(tk_task_t *t, tk_task_type_t *type)
{
    if (!t)
        return TK_EINVAL;
    task_state *s = (task_state *)(void *)t;
    memset(s, 0, sizeof *s);
    if (TK_UNLIKELY(!tk__enabled)) {
        s->off_err = TK_EDISABLED;
        return TK_EDISABLED;
    }
    if (!type || type_ready(type) != 0) {
        s->off_err = TK_EINVAL;
        return TK_EINVAL;
    }
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r) {
            s->off_err = TK_ENORING;
            return TK_ENORING;
        }
    }
    const uint64_t now = tk_now();
    const uint32_t index = __atomic_load_n(&type->priv_index, __ATOMIC_RELAXED);
    const uint32_t name = __atomic_load_n(&type->priv_id, __ATOMIC_RELAXED);
    tks_task_acc *acc = acc_base(r) + index;
    uint64_t id = ++r->task_next;
    acc_begin(acc, NULL);
    if (TK_UNLIKELY(acc->name != name))
        __atomic_store_n(&acc->name, name, __ATOMIC_RELAXED);
    tkt_created(&s->calc, id, index, tls_stack.top, now, totals_of(acc));
    acc_end(acc, NULL);
    s->ring = r;
    s->name = name;
    uint64_t parent = s->calc.parent_id & ((1ull << TKS_TASK_ID_BITS) - 1);
    task_put(r, name, now, id, TKS_TASK_C(TKS_TASK_CREATED, index, parent));
    return 0;
}

/* Cost: a clock read, the state checks, one record. */
int tk_task_running(tk_task_t *t)
{
    int rc;
    task_state *s = task_live(t, &rc);
    if (!s)
        return rc;
    const uint64_t now = tk_now();
    tks_task_acc *base = acc_base(s->ring);
    tks_task_acc *acc = base + s->calc.type;
    if (TK_UNLIKELY(s->calc.state != TKT_CREATED && s->calc.state != TKT_PAUSED)) {
        if (s->calc.state == TKT_DONE) {
            acc_begin(acc, NULL);
            tkt_running(&tls_stack, &s->calc, now, totals_of(acc)); /* counts the zombie */
            acc_end(acc, NULL);
        }
        return TK_ETASKSTATE;
    }
    tkt_running(&tls_stack, &s->calc, now, totals_of(acc)); /* can't fail here, touches no total */
    task_put(s->ring, s->name, now, s->calc.id, TKS_TASK_C(TKS_TASK_RUNNING, s->calc.type, 0));
    return 0;
}

/* Ends a slice or the task: transition is TKS_TASK_PAUSED or a finishing one. Cost: a clock read,
 * the arithmetic, two seqlocked accumulator updates, one record. */
static inline int task_end(tk_task_t *t, uint32_t transition)
{
    int rc;
    task_state *s = task_live(t, &rc);
    if (!s)
        return rc;
    const uint64_t now = tk_now();
    tks_task_acc *base = acc_base(s->ring);
    tks_task_acc *acc = base + s->calc.type;
    tks_task_acc *pacc = s->calc.parent_type != UINT32_MAX ? base + s->calc.parent_type : NULL;
    acc_begin(acc, pacc);
    tkt_totals *pt = pacc ? totals_of(pacc) : NULL;
    if (transition == TKS_TASK_PAUSED)
        rc = tkt_paused(&tls_stack, &s->calc, now, totals_of(acc), pt, NULL);
    else
        rc = tkt_finished(&tls_stack, &s->calc, (int)(transition - TKS_TASK_COMPLETED), now,
                          totals_of(acc), pt, NULL, NULL);
    acc_end(acc, pacc);
    if (TK_UNLIKELY(rc != TKT_OK))
        return TK_ETASKSTATE;
    task_put(s->ring, s->name, now, s->calc.id, TKS_TASK_C(transition, s->calc.type, 0));
    return 0;
}

int tk_task_paused(tk_task_t *t) { return task_end(t, TKS_TASK_PAUSED); }
int tk_task_completed(tk_task_t *t) { return task_end(t, TKS_TASK_COMPLETED); }
int tk_task_failed(tk_task_t *t) { return task_end(t, TKS_TASK_FAILED); }
int tk_task_cancelled(tk_task_t *t) { return task_end(t, TKS_TASK_CANCELLED); }

tk_task_t *tk_task_current(void) { return (tk_task_t *)(void *)tls_stack.top; }

/* ---- snapshot --------------------------------------------------------------------------------- */

static int stats_cmp(const void *a, const void *b)
{
    const tk_task_stats *x = a, *y = b;
    if (x->exec_with_children_ns != y->exec_with_children_ns)
        return x->exec_with_children_ns > y->exec_with_children_ns ? -1 : 1;
    return strcmp(x->type->func, y->type->func);
}

int tk_task_snapshot(tk_task_stats *out, size_t cap, size_t *n)
{
    if (!n || (!out && cap))
        return TK_EINVAL;
    *n = 0;
    int rc = tk__ensure_init();
    if (rc)
        return rc;
    tk__ring *r = tk__tls_ring;
    if (!r)
        return 0; /* this thread recorded nothing yet */
    tks_task_acc *base = acc_base(r);
    pthread_mutex_lock(&tk__g.lock);
    uint32_t count = ntypes;
    pthread_mutex_unlock(&tk__g.lock);
    const double npt = 1e9 / tk_ticks_per_second();
    tk_task_stats *all = calloc(count ? count : 1, sizeof *all);
    if (!all)
        return TK_ENOMEM;
    size_t used = 0;
    for (uint32_t i = 0; i < count; i++) {
        const tks_task_acc *a = &base[i]; /* this thread's own: no concurrent writer */
        if (!a->name)
            continue;
        tk_task_stats *o = &all[used++];
        o->type = types[i];
        o->created = a->created;
        o->completed = a->completed;
        o->failed = a->failed;
        o->cancelled = a->cancelled;
        o->stillborn = a->stillborn;
        o->in_flight = tkt_in_flight((const tkt_totals *)(const void *)&a->created);
        o->zombie = a->zombie;
        o->slices = a->slices;
        o->exec_ns = (uint64_t)((double)a->exec_ticks * npt + 0.5);
        /* sums of rounded parts, so exec_with_children_ns == exec_ns + the children's exec_ns */
        o->exec_with_children_ns =
            o->exec_ns + (uint64_t)((double)a->children_exec_ticks * npt + 0.5);
        o->wall_ns = (uint64_t)((double)a->wall_ticks * npt + 0.5);
        o->max_slice_ns = (uint64_t)((double)a->max_slice_ticks * npt + 0.5);
        o->max_exec_ns = (uint64_t)((double)a->max_exec_ticks * npt + 0.5);
    }
    qsort(all, used, sizeof *all, stats_cmp);
    if (cap)
        memcpy(out, all, (used < cap ? used : cap) * sizeof *all);
    free(all);
    *n = used;
    return 0;
}
