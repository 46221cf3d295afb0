/* agg/tasks.c — the task aggregator: replays each thread's task lifecycle events through
 * format/taskcalc.h, keeps per-(process, ring, type) totals and per-type histograms. */
#include "agg/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)TKC_TASK_CREATED == (int)TKS_TASK_CREATED &&
                   (int)TKC_TASK_CANCELLED == (int)TKS_TASK_CANCELLED,
               "task transitions are numbered alike in records and events");

#define ID_MASK ((1ull << 40) - 1)

/* ---- a small open-addressing map: (k1, k2) -> pointer, backward-shift deletion ------------------ */
typedef struct map_slot {
    uint64_t k1, k2;
    void *v; /* NULL: empty */
} map_slot;

typedef struct map {
    map_slot *s;
    size_t cap, n; /* cap: a power of two, or 0 */
} map;

static size_t map_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = k1 * 0x9e3779b97f4a7c15ull ^ (k2 + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 29;
    return (size_t)h;
}

static void *map_get(const map *m, uint64_t k1, uint64_t k2)
{
    if (!m->cap)
        return NULL;
    for (size_t i = map_hash(k1, k2) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->s[i].v)
            return NULL;
        if (m->s[i].k1 == k1 && m->s[i].k2 == k2)
            return m->s[i].v;
    }
}

static int map_grow(map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    map_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->s[j].v)
            continue;
        size_t i = map_hash(m->s[j].k1, m->s[j].k2) & (cap - 1);
        while (s[i].v)
            i = (i + 1) & (cap - 1);
        s[i] = m->s[j];
    }
    free(m->s);
    m->s = s;
    m->cap = cap;
    return 0;
}

/* Inserts a key that is not present. Returns 0 or -1 (out of memory). */
static int map_put(map *m, uint64_t k1, uint64_t k2, void *v)
{
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) != 0)
        return -1;
    size_t i = map_hash(k1, k2) & (m->cap - 1);
    while (m->s[i].v)
        i = (i + 1) & (m->cap - 1);
    m->s[i] = (map_slot){k1, k2, v};
    m->n++;
    return 0;
}

static void map_del(map *m, uint64_t k1, uint64_t k2)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = map_hash(k1, k2) & mask;
    while (m->s[i].v && !(m->s[i].k1 == k1 && m->s[i].k2 == k2))
        i = (i + 1) & mask;
    if (!m->s[i].v)
        return;
    m->s[i].v = NULL;
    m->n--;
    for (size_t j = (i + 1) & mask; m->s[j].v; j = (j + 1) & mask) {
        size_t home = map_hash(m->s[j].k1, m->s[j].k2) & mask;
        /* move j back to i when its home is not within (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            m->s[i] = m->s[j];
            m->s[j].v = NULL;
            i = j;
        }
    }
}

/* ---- the aggregator's state -------------------------------------------------------------------- */
typedef struct type_entry {
    char name[TKS_NAME_LEN_MAX + 1];
    hist *slice, *wall;
} type_entry;

/* One (process, ring, type index). */
typedef struct cell {
    uint32_t type;            /* index into ag->types */
    int has_exact;
    unsigned staged;          /* parts of a totals set received so far */
    tkt_totals derived;       /* from the ring's records */
    tkt_totals exact;         /* from the producer's accumulators */
    tkt_totals staging;
} cell;

typedef struct ring_state {
    tkt_stack stack;
    uint64_t lo, hi;          /* task ids whose creation was read: [lo, hi] */
} ring_state;

typedef struct task_node {
    tkt_task calc;            /* first: the stack links tkt_task pointers */
    uint64_t proc;
    uint32_t ring;
} task_node;

struct tkc_tasks {
    map tasks;                /* (proc, ring << 40 | id) -> task_node */
    map rings;                /* (proc, ring) -> ring_state */
    map cells;                /* (proc, ring << 32 | type index) -> cell */
    type_entry *types;
    size_t ntypes, captypes;
    cell **cell_list;         /* every cell, for the read API */
    size_t ncells, capcells;
    tkc_task_row *rows;       /* the read API's scratch, one per type */
    tkc_tasks_stats st;
};

tkc_tasks *tkc_tasks_new(void) { return calloc(1, sizeof(tkc_tasks)); }

static void free_values(map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->s[i].v);
    free(m->s);
}

void tkc_tasks_free(tkc_tasks *ag)
{
    if (!ag)
        return;
    free_values(&ag->tasks);
    free_values(&ag->rings);
    free_values(&ag->cells);
    for (size_t i = 0; i < ag->ntypes; i++) {
        hist_free(ag->types[i].slice);
        hist_free(ag->types[i].wall);
    }
    free(ag->types);
    free(ag->cell_list);
    free(ag->rows);
    free(ag);
}

static int type_find_or_add(tkc_tasks *ag, const char *name, uint32_t *out)
{
    char nm[TKS_NAME_LEN_MAX + 1];
    snprintf(nm, sizeof nm, "%s", name && *name ? name : "?");
    for (size_t i = 0; i < ag->ntypes; i++)
        if (strcmp(ag->types[i].name, nm) == 0) {
            *out = (uint32_t)i;
            return 0;
        }
    if (ag->ntypes == ag->captypes) {
        size_t cap = ag->captypes ? ag->captypes * 2 : 16;
        type_entry *t = realloc(ag->types, cap * sizeof *t);
        if (!t)
            return -1;
        ag->types = t;
        ag->captypes = cap;
    }
    type_entry *t = &ag->types[ag->ntypes];
    memcpy(t->name, nm, sizeof nm);
    t->slice = hist_new();
    t->wall = hist_new();
    if (!t->slice || !t->wall) {
        hist_free(t->slice);
        hist_free(t->wall);
        return -1;
    }
    *out = (uint32_t)ag->ntypes++;
    return 0;
}

static cell *cell_get(tkc_tasks *ag, uint64_t proc, uint32_t ring, uint32_t index, const char *name)
{
    uint64_t k2 = (uint64_t)ring << 32 | index;
    cell *c = map_get(&ag->cells, proc, k2);
    if (c)
        return c;
    if (ag->ncells == ag->capcells) {
        size_t cap = ag->capcells ? ag->capcells * 2 : 64;
        cell **l = realloc(ag->cell_list, cap * sizeof *l);
        if (!l)
            return NULL;
        ag->cell_list = l;
        ag->capcells = cap;
    }
    c = calloc(1, sizeof *c);
    if (!c || type_find_or_add(ag, name, &c->type) != 0 || map_put(&ag->cells, proc, k2, c) != 0) {
        free(c);
        return NULL;
    }
    ag->cell_list[ag->ncells++] = c;
    return c;
}

static ring_state *ring_get(tkc_tasks *ag, uint64_t proc, uint32_t ring)
{
    ring_state *r = map_get(&ag->rings, proc, ring);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r || map_put(&ag->rings, proc, ring, r) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

/* After a loss the replayed stack may disagree with the producer's: tasks above t are taken off
 * the stack (as paused, their open slices uncounted) so t's transition can proceed. */
static void unwind_to(tkt_stack *s, tkt_task *t)
{
    while (s->top && s->top != t) {
        tkt_task *x = s->top;
        s->top = x->outer;
        x->outer = NULL;
        x->state = TKT_PAUSED;
    }
}

static void on_totals(tkc_tasks *ag, cell *c, const tkc_event *e)
{
    unsigned part = (unsigned)(e->d & 0xff);
    tkt_totals *s = &c->staging;
    if (part != c->staged) { /* out of order: start again at the next part 0 */
        c->staged = 0;
        if (part != 0)
            return;
    }
    switch (part) {
    case 0: s->created = e->a; s->completed = e->b; s->failed = e->c; break;
    case 1: s->cancelled = e->a; s->stillborn = e->b; s->slices = e->c; break;
    case 2: s->exec = e->a; s->children_exec = e->b; s->wall = e->c; break;
    default: s->max_slice = e->a; s->max_exec = e->b; s->zombie = e->c; break;
    }
    c->staged = part + 1;
    if (part == 3) {
        c->exact = *s;
        c->has_exact = 1;
        c->staged = 0;
    }
    (void)ag;
}

int tkc_tasks_event(tkc_tasks *ag, uint64_t proc, const char *type_name, const tkc_event *e)
{
    if (e->kind != TKC_EV_TASK)
        return 0;
    ag->st.events++;
    const uint32_t ring = e->ring;
    if (e->sub == TKC_TASK_TOTALS) {
        cell *c = cell_get(ag, proc, ring, (uint32_t)(e->d >> 8) & 0xffffu, type_name);
        if (!c)
            goto oom;
        on_totals(ag, c, e);
        return 0;
    }
    if (e->sub < TKC_TASK_CREATED || e->sub > TKC_TASK_CANCELLED) {
        ag->st.inconsistent++;
        return 0;
    }
    const uint64_t id = e->a & ID_MASK, now = e->mono_ns;
    const uint32_t index = (uint32_t)e->c & 0xffffu;
    ring_state *rs = ring_get(ag, proc, ring);
    cell *c = cell_get(ag, proc, ring, index, type_name);
    if (!rs || !c)
        goto oom;
    const uint64_t k2 = (uint64_t)ring << 40 | id;
    task_node *n = map_get(&ag->tasks, proc, k2);

    if (e->sub == TKC_TASK_CREATED) {
        if (n) { /* the same id twice: the older one is forgotten */
            ag->st.inconsistent++;
            unwind_to(&rs->stack, &n->calc);
            if (rs->stack.top == &n->calc)
                rs->stack.top = n->calc.outer;
            map_del(&ag->tasks, proc, k2);
            free(n);
        }
        n = calloc(1, sizeof *n);
        if (!n || map_put(&ag->tasks, proc, k2, n) != 0) {
            free(n);
            goto oom;
        }
        n->proc = proc;
        n->ring = ring;
        const task_node *parent = e->b ? map_get(&ag->tasks, proc, (uint64_t)ring << 40 | (e->b & ID_MASK)) : NULL;
        tkt_created(&n->calc, id, index, parent ? &parent->calc : NULL, now, &c->derived);
        if (!rs->lo || id < rs->lo)
            rs->lo = id;
        if (id > rs->hi)
            rs->hi = id;
        return 0;
    }
    if (!n) {
        if (rs->lo && id >= rs->lo && id <= rs->hi)
            c->derived.zombie++; /* created, finished, and now again */
        else
            ag->st.orphan++;
        return 0;
    }
    tkt_task *t = &n->calc;
    cell *pc = t->parent_type != UINT32_MAX ? cell_get(ag, proc, ring, t->parent_type, "?") : NULL;
    tkt_totals *pt = pc ? &pc->derived : NULL;
    type_entry *ty = &ag->types[c->type];
    uint64_t slice = 0, wall = 0;
    int rc;
    switch (e->sub) {
    case TKC_TASK_RUNNING:
        rc = tkt_running(&rs->stack, t, now, &c->derived);
        if (rc == TKT_ESTATE) { /* already running: a pause was lost; restart its slice */
            ag->st.inconsistent++;
            unwind_to(&rs->stack, t);
            if (rs->stack.top == t) {
                rs->stack.top = t->outer;
                t->outer = NULL;
            }
            t->state = TKT_PAUSED;
            tkt_running(&rs->stack, t, now, &c->derived);
        }
        return 0;
    case TKC_TASK_PAUSED:
        if (t->state == TKT_RUNNING && rs->stack.top != t) {
            ag->st.inconsistent++;
            unwind_to(&rs->stack, t);
        }
        if (tkt_paused(&rs->stack, t, now, &c->derived, pt, &slice) == TKT_OK)
            hist_record(ty->slice, slice);
        else
            ag->st.inconsistent++;
        return 0;
    default: {
        int outcome = e->sub == TKC_TASK_FAILED      ? TKT_FAILED
                      : e->sub == TKC_TASK_CANCELLED ? TKT_CANCELLED
                                                     : TKT_COMPLETED;
        if (t->state == TKT_RUNNING && rs->stack.top != t) {
            ag->st.inconsistent++;
            unwind_to(&rs->stack, t);
        }
        int was_running = t->state == TKT_RUNNING;
        rc = tkt_finished(&rs->stack, t, outcome, now, &c->derived, pt, &slice, &wall);
        if (rc != TKT_OK) {
            ag->st.inconsistent++;
            return 0;
        }
        if (was_running)
            hist_record(ty->slice, slice);
        hist_record(ty->wall, wall);
        map_del(&ag->tasks, proc, k2);
        free(n);
        return 0;
    }
    }
oom:
    ag->st.dropped++;
    return -1;
}

void tkc_tasks_proc_gone(tkc_tasks *ag, uint64_t proc)
{
    map *ms[2] = {&ag->tasks, &ag->rings};
    for (int k = 0; k < 2; k++) {
        map *m = ms[k];
        for (;;) { /* deleting shifts entries back: rescan until none of proc is left */
            int found = 0;
            for (size_t i = 0; i < m->cap; i++)
                if (m->s[i].v && m->s[i].k1 == proc) {
                    void *v = m->s[i].v;
                    map_del(m, m->s[i].k1, m->s[i].k2);
                    free(v);
                    found = 1;
                }
            if (!found)
                break;
        }
    }
}

static int row_cmp(const void *a, const void *b)
{
    const tkc_task_row *x = a, *y = b;
    if (x->exec_with_children != y->exec_with_children)
        return x->exec_with_children > y->exec_with_children ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t tkc_tasks_rows(tkc_tasks *ag, tkc_task_row *out, size_t cap)
{
    if (!ag->ntypes)
        return 0;
    tkc_task_row *rows = realloc(ag->rows, ag->ntypes * sizeof *rows);
    if (!rows)
        return 0;
    ag->rows = rows;
    memset(rows, 0, ag->ntypes * sizeof *rows);
    for (size_t i = 0; i < ag->ntypes; i++) {
        type_entry *ty = &ag->types[i];
        tkc_task_row *r = &rows[i];
        r->name = ty->name;
        size_t fl, fo, fn;
        tkt_name_split(ty->name, strlen(ty->name), &fl, &fo, &fn, &r->line);
        memcpy(r->func, ty->name, fl);
        memcpy(r->file, ty->name + fo, fn);
        r->slice_hist = ty->slice;
        r->wall_hist = ty->wall;
    }
    for (size_t i = 0; i < ag->ncells; i++) {
        const cell *c = ag->cell_list[i];
        tkt_totals_add(&rows[c->type].t, c->has_exact ? &c->exact : &c->derived);
    }
    for (size_t i = 0; i < ag->ntypes; i++) {
        tkc_task_row *r = &rows[i];
        r->exec_with_children = r->t.exec + r->t.children_exec;
        r->calls = r->t.completed + r->t.failed + r->t.cancelled;
        r->in_flight = tkt_in_flight(&r->t);
    }
    qsort(rows, ag->ntypes, sizeof *rows, row_cmp);
    if (cap)
        memcpy(out, rows, (ag->ntypes < cap ? ag->ntypes : cap) * sizeof *rows);
    return ag->ntypes;
}

void tkc_tasks_other(const tkc_task_row *rows, size_t n, size_t k, tkt_totals *other)
{
    memset(other, 0, sizeof *other);
    for (size_t i = k; i < n; i++)
        tkt_totals_add(other, &rows[i].t);
}

int tkc_task_event_from_record(const tks_record *r, uint32_t ring, tkc_event *e)
{
    const uint32_t transition = TKS_TASK_TRANSITION(r->c);
    if (TKS_TAG_TYPE(r->tag) != TKS_REC_TASK || transition < TKS_TASK_CREATED ||
        transition > TKS_TASK_CANCELLED || r->b == 0)
        return -1;
    memset(e, 0, sizeof *e);
    e->kind = TKC_EV_TASK;
    e->name = TKS_TAG_ID(r->tag);
    e->ring = ring;
    e->sub = transition; /* TKC_TASK_* == TKS_TASK_* */
    e->ticks = r->a;
    e->a = r->b;
    e->b = transition == TKS_TASK_CREATED ? TKS_TASK_PARENT(r->c) : 0;
    e->c = TKS_TASK_TYPE_INDEX(r->c);
    return 0;
}

void tkc_tasks_get_stats(const tkc_tasks *ag, tkc_tasks_stats *out)
{
    *out = ag->st;
    out->live_tasks = ag->tasks.n;
}
