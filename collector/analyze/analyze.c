/* analyze.c — the analysis engine of `timekeeper analyze`: correlation of points into sequences,
 * intervals, totals, paths and remainders, the default consecutive-points mode, `*_ns` fields and the
 * --command timeline. Results are written by analyze_output.c; the spec is parsed by analyze_spec.c.
 *
 * Memory is bounded: state is kept per correlation id only while a sequence is open (spec mode) or
 * until it is idle for idle_ns of log time (default mode), at most max_open sequences at once;
 * labels, pairs and field names are capped (ANALYZE_MAX_*). Cost per line: one memchr, one parse,
 * one label hash look-up, one sequence hash look-up and a few bit operations. */
#include "analyze_internal.h"

#include <assert.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* The state of one correlation id. In spec mode a variable tail follows (offsets in analyze):
 * iv_start[niv], orphan[niv], then one tot_state per total. */
typedef struct seq {
    uint64_t a, b;  /* command, 0  or  client, session (lane) */
    uint32_t hnext; /* hash chain */
    uint32_t prev, next; /* LRU list, oldest first */
    uint8_t lane;   /* keyed by (client, session): points whose command is unknown */
    uint8_t has_last;
    uint64_t first_ts, last_ts;
    uint64_t touch; /* a->clock when last seen: the LRU order */
    uint64_t gen;   /* unique per sequence, for pending timeline points */
    uint32_t first_label, last_label;
    uint64_t iv_open;     /* intervals with an open start */
    uint64_t seen_all;    /* conditions seen (lanes: handed to the command's open totals) */
    uint64_t orphan_mask; /* lanes: components completed while no total was open */
    uint32_t tot_open;
} seq;

typedef struct tot_state {
    uint64_t start;
    uint64_t seen;      /* conditions (has/lacks) seen since the start */
    uint64_t comp_seen; /* components that occurred */
    uint64_t comp[];    /* per-component sum, spec order */
} tot_state;

static inline seq *S(const analyze *a, uint32_t i)
{
    return (seq *)(a->pool + (size_t)i * a->stride);
}
static inline uint64_t *iv_start(const analyze *a, seq *s)
{
    return (uint64_t *)((unsigned char *)s + a->iv_off);
}
static inline uint64_t *orphans(const analyze *a, seq *s)
{
    return (uint64_t *)((unsigned char *)s + a->orphan_off);
}
static inline tot_state *tstate(const analyze *a, seq *s, int t)
{
    return (tot_state *)((unsigned char *)s + a->tot_off[t]);
}

/* Bits set in x; x is almost always 0 here, so the loop beats a libgcc call. */
static inline int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static inline void record(analyze *a, hist *h, uint64_t v)
{
    if (hist_record(h, v) < 0)
        a->c.no_memory++;
}

/* ---- hashing ------------------------------------------------------------------------------------ */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A hash of a label or field name, in constant time: its length and its first and last 8 bytes.
 * Names that share those collide and are told apart by memcmp in the probe (correct, just slower). */
static inline uint64_t hash_name(const char *p, size_t n)
{
    uint64_t head = 0, tail = 0;
    if (n >= 8) {
        memcpy(&head, p, 8);
        memcpy(&tail, p + n - 8, 8);
    } else {
        memcpy(&head, p, n);
    }
    return mix64(head ^ mix64(tail ^ n));
}

static inline uint64_t key_hash(int lane, uint64_t x, uint64_t y)
{
    return mix64(x ^ mix64(y + (lane ? 0x9e3779b97f4a7c15ULL : 0)));
}

/* ---- labels ------------------------------------------------------------------------------------- */
static void label_roles(analyze *a, label_info *L)
{
    const analyze_spec *s = a->spec;
    if (!s || a->o.timeline)
        return;
    for (int i = 0; i < s->niv; i++) {
        if (fnmatch(s->iv[i].start, L->name, 0) == 0)
            L->iv_start |= 1ULL << i;
        if (fnmatch(s->iv[i].end, L->name, 0) == 0)
            L->iv_end |= 1ULL << i;
    }
    for (int t = 0; t < s->ntot; t++) {
        if (fnmatch(s->tot[t].start, L->name, 0) == 0)
            L->tot_start |= 1u << t;
        if (fnmatch(s->tot[t].end, L->name, 0) == 0)
            L->tot_end |= 1u << t;
    }
    for (int c = 0; c < s->ncond; c++)
        if (fnmatch(s->cond[c], L->name, 0) == 0)
            L->has |= 1ULL << c;
    for (int p = 0; p < s->npath; p++)
        if (s->path[p].ends[0] && fnmatch(s->path[p].ends, L->name, 0) == 0)
            L->ends |= 1ULL << p;
}

/* The id of a label, interned on first sight. Returns ANALYZE_NIL past ANALYZE_MAX_LABELS or when
 * out of memory. */
static uint32_t label_id(analyze *a, const char *name, size_t len)
{
    uint64_t h = hash_name(name, len);
    size_t mask = ANALYZE_MAX_LABELS * 2 - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = a->label_slots[i];
        if (v == 0)
            break;
        label_info *L = &a->labels[v - 1];
        if (L->hash == h && L->len == len && memcmp(L->name, name, len) == 0)
            return v - 1;
    }
    if (a->nlabels == ANALYZE_MAX_LABELS)
        return ANALYZE_NIL;
    if (a->nlabels == a->labels_cap) {
        uint32_t cap = a->labels_cap ? a->labels_cap * 2 : 32;
        label_info *l = realloc(a->labels, cap * sizeof *l);
        if (!l) {
            a->c.no_memory++;
            return ANALYZE_NIL;
        }
        a->labels = l;
        a->labels_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        a->c.no_memory++;
        return ANALYZE_NIL;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    label_info *L = &a->labels[a->nlabels];
    *L = (label_info){.name = copy, .len = (uint32_t)len, .hash = h};
    label_roles(a, L);
    size_t i = h & mask;
    while (a->label_slots[i])
        i = (i + 1) & mask;
    a->label_slots[i] = ++a->nlabels;
    return a->nlabels - 1;
}

/* ---- sequences ---------------------------------------------------------------------------------- */
static uint32_t seq_find(const analyze *a, int lane, uint64_t x, uint64_t y)
{
    uint32_t i = a->buckets[key_hash(lane, x, y) & (a->nbuckets - 1)];
    while (i != ANALYZE_NIL) {
        seq *s = S(a, i);
        if (s->a == x && s->b == y && s->lane == lane)
            return i;
        i = s->hnext;
    }
    return ANALYZE_NIL;
}

static void lru_unlink(analyze *a, uint32_t i)
{
    seq *s = S(a, i);
    if (s->prev != ANALYZE_NIL)
        S(a, s->prev)->next = s->next;
    else
        a->lru_head = s->next;
    if (s->next != ANALYZE_NIL)
        S(a, s->next)->prev = s->prev;
    else
        a->lru_tail = s->prev;
}

static void lru_append(analyze *a, uint32_t i)
{
    seq *s = S(a, i);
    s->prev = a->lru_tail;
    s->next = ANALYZE_NIL;
    if (a->lru_tail != ANALYZE_NIL)
        S(a, a->lru_tail)->next = i;
    else
        a->lru_head = i;
    a->lru_tail = i;
}

static void touch(analyze *a, uint32_t i)
{
    S(a, i)->touch = a->clock;
    if (a->lru_tail != i) {
        lru_unlink(a, i);
        lru_append(a, i);
    }
}

/* Forgets sequence i. Can't fail. */
static void seq_unlink(analyze *a, uint32_t i)
{
    seq *s = S(a, i);
    uint32_t *link = &a->buckets[key_hash(s->lane, s->a, s->b) & (a->nbuckets - 1)];
    while (*link != i) {
        assert(*link != ANALYZE_NIL);
        link = &S(a, *link)->hnext;
    }
    *link = s->hnext;
    lru_unlink(a, i);
    if (s->lane)
        a->lanes--;
    a->live--;
    s->hnext = a->free_head;
    a->free_head = i;
}

/* Counts what sequence i leaves unfinished, then forgets it. */
static void seq_close(analyze *a, uint32_t i)
{
    seq *s = S(a, i);
    a->c.unfinished += (uint64_t)popcount64(s->tot_open);
    a->c.unmatched_starts += (uint64_t)popcount64(s->iv_open);
    seq_unlink(a, i);
}

static void seq_evict(analyze *a, uint32_t i, int over_cap)
{
    a->c.evicted++;
    a->c.evicted_over_cap += (uint64_t)over_cap;
    seq_close(a, i);
}

/* Evicts the sequences not seen for more than idle_ns of log time. */
static void expire(analyze *a)
{
    while (a->lru_head != ANALYZE_NIL && a->clock - S(a, a->lru_head)->touch > a->o.idle_ns)
        seq_evict(a, a->lru_head, 0);
}

static int grow_buckets(analyze *a)
{
    size_t n = a->nbuckets * 2;
    uint32_t *b = malloc(n * sizeof *b);
    if (!b)
        return -1;
    memset(b, 0xff, n * sizeof *b);
    /* Rehash every live sequence, walking the LRU list. */
    for (uint32_t i = a->lru_head; i != ANALYZE_NIL; i = S(a, i)->next) {
        seq *s = S(a, i);
        size_t k = key_hash(s->lane, s->a, s->b) & (n - 1);
        s->hnext = b[k];
        b[k] = i;
    }
    free(a->buckets);
    a->buckets = b;
    a->nbuckets = n;
    return 0;
}

/* Creates the sequence of a key that has none. May evict the oldest sequence (max_open) and may move
 * the pool: pointers to sequences are invalid afterwards. Returns its index, or ANALYZE_NIL when out
 * of memory. */
static uint32_t seq_create(analyze *a, int lane, uint64_t x, uint64_t y)
{
    if (a->live >= a->o.max_open && a->lru_head != ANALYZE_NIL)
        seq_evict(a, a->lru_head, 1);
    uint32_t i;
    if (a->free_head != ANALYZE_NIL) {
        i = a->free_head;
        a->free_head = S(a, i)->hnext;
    } else {
        if (a->pool_used == a->pool_cap) {
            size_t cap = a->pool_cap ? a->pool_cap * 2 : 256;
            unsigned char *p = realloc(a->pool, cap * a->stride);
            if (!p)
                return ANALYZE_NIL;
            a->pool = p;
            a->pool_cap = cap;
        }
        i = (uint32_t)a->pool_used++;
    }
    if (a->live + 1 > a->nbuckets && grow_buckets(a) < 0) {
        S(a, i)->hnext = a->free_head;
        a->free_head = i;
        return ANALYZE_NIL;
    }
    seq *s = S(a, i);
    memset(s, 0, a->stride);
    s->a = x;
    s->b = y;
    s->lane = (uint8_t)lane;
    s->gen = ++a->next_gen;
    s->touch = a->clock;
    size_t k = key_hash(lane, x, y) & (a->nbuckets - 1);
    s->hnext = a->buckets[k];
    a->buckets[k] = i;
    lru_append(a, i);
    a->live++;
    a->lanes += (size_t)lane;
    if (a->live > a->c.max_open_seen)
        a->c.max_open_seen = a->live;
    return i;
}

static uint32_t seq_get(analyze *a, int lane, uint64_t x, uint64_t y)
{
    uint32_t i = seq_find(a, lane, x, y);
    return i != ANALYZE_NIL ? i : seq_create(a, lane, x, y);
}

/* ---- numeric context fields ---------------------------------------------------------------------- */
#define MAX_FIELD_NAME 128

static field_stat *field_get(analyze *a, const char *name, size_t len)
{
    if (len > MAX_FIELD_NAME)
        return NULL;
    uint64_t h = hash_name(name, len);
    size_t mask = ANALYZE_MAX_FIELDS * 2 - 1;
    size_t i;
    for (i = h & mask; a->field_slots[i]; i = (i + 1) & mask) {
        field_stat *f = &a->fields[a->field_slots[i] - 1];
        if (f->hash == h && f->len == len && memcmp(f->name, name, len) == 0)
            return f;
    }
    if (a->nfields == ANALYZE_MAX_FIELDS)
        return NULL;
    field_stat *f = &a->fields[a->nfields];
    f->name = malloc(len + 1);
    f->h = hist_new();
    if (!f->name || !f->h) {
        free(f->name);
        hist_free(f->h);
        a->c.no_memory++;
        return NULL;
    }
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->len = (uint32_t)len;
    f->hash = h;
    f->sum = 0;
    a->field_slots[i] = ++a->nfields;
    return f;
}

static void fields(analyze *a, const timing_point *p)
{
    if (!p->context_len || !memchr(p->context, '=', p->context_len))
        return;
    timing_ns_iter it;
    timing_ns_begin(&it, p->context, p->context_len);
    const char *k;
    size_t kl;
    uint64_t v;
    while (timing_ns_next(&it, &k, &kl, &v)) {
        field_stat *f = field_get(a, k, kl);
        if (!f) {
            a->c.fields_dropped++;
            continue;
        }
        f->sum = f->sum + v < f->sum ? UINT64_MAX : f->sum + v;
        record(a, f->h, v);
    }
    a->c.bad_ns_fields += it.bad;
}

/* ---- the default mode: time between consecutive points ------------------------------------------ */
static void pair_record(analyze *a, uint32_t from, uint32_t to, uint64_t d)
{
    uint64_t h = mix64(((uint64_t)from << 32) | to);
    size_t mask = ANALYZE_MAX_PAIRS * 2 - 1, i;
    for (i = h & mask; a->pair_slots[i]; i = (i + 1) & mask) {
        pair_stat *ps = &a->pairs[a->pair_slots[i] - 1];
        if (ps->from == from && ps->to == to) {
            record(a, ps->h, d);
            return;
        }
    }
    if (a->npairs == ANALYZE_MAX_PAIRS) {
        a->c.pairs_dropped++;
        return;
    }
    pair_stat *ps = &a->pairs[a->npairs];
    ps->h = hist_new();
    if (!ps->h) {
        a->c.no_memory++;
        return;
    }
    ps->from = from;
    ps->to = to;
    a->pair_slots[i] = ++a->npairs;
    record(a, ps->h, d);
}

static timeline_point *timeline_slot(analyze *a)
{
    if (a->ntimeline == ANALYZE_MAX_TIMELINE) {
        a->c.timeline_dropped++;
        return NULL;
    }
    if (a->ntimeline == a->timeline_cap) {
        size_t cap = a->timeline_cap ? a->timeline_cap * 2 : 64;
        if (cap > ANALYZE_MAX_TIMELINE)
            cap = ANALYZE_MAX_TIMELINE;
        timeline_point *t = realloc(a->timeline, cap * sizeof *t);
        if (!t) {
            a->c.no_memory++;
            return NULL;
        }
        a->timeline = t;
        a->timeline_cap = cap;
    }
    return &a->timeline[a->ntimeline++];
}

static void timeline_fill(analyze *a, timeline_point *t, const timing_point *p, uint32_t lid,
                          uint64_t gen)
{
    t->label = lid;
    t->ts = p->ts_ns;
    t->client = p->client;
    t->command = p->command;
    t->session = p->session;
    t->line = a->lineno;
    t->gen = gen;
    size_t n = p->context_len;
    t->ctx_cut = n > ANALYZE_TIMELINE_CONTEXT;
    if (t->ctx_cut)
        n = ANALYZE_TIMELINE_CONTEXT;
    memcpy(t->ctx, p->context, n);
    t->ctx_len = (uint16_t)n;
}

/* Points of unknown command are kept in a ring until their lane is joined to a command. */
static void timeline_pending(analyze *a, const timing_point *p, uint32_t lid, uint64_t gen)
{
    timeline_point *t = &a->pending[a->npending_total++ % ANALYZE_PENDING];
    timeline_fill(a, t, p, lid, gen);
}

/* The lane `gen` was joined to the timeline's command: its pending points join the timeline. */
static void timeline_adopt(analyze *a, uint64_t gen)
{
    size_t n = a->npending_total < ANALYZE_PENDING ? a->npending_total : ANALYZE_PENDING;
    for (size_t k = a->npending_total - n; k < a->npending_total; k++) {
        timeline_point *e = &a->pending[k % ANALYZE_PENDING];
        if (e->gen != gen)
            continue;
        e->gen = 0;
        timeline_point *t = timeline_slot(a);
        if (t)
            *t = *e;
    }
}

/* Joins lane li (the points of unknown command just before) to command sequence ci. */
static void plain_adopt(analyze *a, uint32_t ci, uint32_t li, uint64_t command)
{
    seq *c = S(a, ci), *l = S(a, li);
    if (c->has_last) {
        if (c->last_ts <= l->first_ts)
            pair_record(a, c->last_label, l->first_label, l->first_ts - c->last_ts);
        if (l->last_ts >= c->last_ts) {
            c->last_ts = l->last_ts;
            c->last_label = l->last_label;
        }
    } else {
        c->has_last = 1;
        c->first_ts = l->first_ts;
        c->first_label = l->first_label;
        c->last_ts = l->last_ts;
        c->last_label = l->last_label;
    }
    if (a->o.timeline && command == a->o.command)
        timeline_adopt(a, l->gen);
    a->c.adopted++;
    seq_unlink(a, li);
}

static void plain_point(analyze *a, const timing_point *p, uint32_t lid)
{
    int known = p->command != TIMING_ID_UNKNOWN;
    uint32_t si;
    if (known) {
        si = seq_get(a, 0, p->command, 0);
        uint32_t li = si != ANALYZE_NIL && a->lanes ? seq_find(a, 1, p->client, p->session)
                                                     : ANALYZE_NIL;
        if (li != ANALYZE_NIL)
            plain_adopt(a, si, li, p->command);
    } else {
        si = seq_get(a, 1, p->client, p->session);
    }
    if (si == ANALYZE_NIL) {
        a->c.no_memory++;
        return;
    }
    seq *s = S(a, si);
    if (s->has_last) {
        if (p->ts_ns < s->last_ts) {
            a->c.out_of_order++;
            a->c.negative++;
        } else {
            pair_record(a, s->last_label, lid, p->ts_ns - s->last_ts);
        }
    } else {
        s->has_last = 1;
        s->first_ts = p->ts_ns;
        s->first_label = lid;
    }
    s->last_ts = p->ts_ns;
    s->last_label = lid;
    if (a->o.timeline) {
        if (!known) {
            timeline_pending(a, p, lid, s->gen);
        } else if (p->command == a->o.command) {
            timeline_point *t = timeline_slot(a);
            if (t)
                timeline_fill(a, t, p, lid, 0);
        }
    }
    touch(a, si);
}

/* ---- the spec mode ------------------------------------------------------------------------------ */
/* Interval iv of sequence s ended after d ns, having started at st: it counts towards every open
 * total that it is a component of and that started no later than it. In a lane with no open total it
 * is kept aside, for the command that the lane will join. */
static void attribute(analyze *a, seq *s, int iv, uint64_t st, uint64_t d)
{
    uint32_t open = s->tot_open & a->iv_comp_of[iv];
    while (open) {
        int t = __builtin_ctz(open);
        open &= open - 1;
        tot_state *x = tstate(a, s, t);
        if (st < x->start)
            continue;
        int slot = a->comp_slot[t][iv];
        x->comp[slot] += d;
        x->comp_seen |= 1ULL << slot;
    }
    if (s->lane && !s->tot_open && a->iv_comp_of[iv]) {
        orphans(a, s)[iv] += d;
        s->orphan_mask |= 1ULL << iv;
    }
}

static void breakdown_record(analyze *a, breakdown *b, const spec_total *T, const tot_state *x,
                             uint64_t d, uint64_t rem)
{
    record(a, b->total, d);
    for (int k = 0; k < T->ncomp; k++) {
        int seen = (int)(x->comp_seen >> k & 1);
        if (seen) /* statistics over the sequences that went through it: no zeros for the others */
            record(a, b->part[k], x->comp[k]);
        b->seen[k] += (uint64_t)seen;
    }
    if (T->ncomp) {
        record(a, b->part[T->ncomp], rem);
        b->seen[T->ncomp]++;
    }
}

/* Total t of sequence s ends at ts, on a point labeled L. */
static void total_end(analyze *a, seq *s, int t, const label_info *L, uint64_t ts)
{
    const analyze_spec *sp = a->spec;
    const spec_total *T = &sp->tot[t];
    tot_state *x = tstate(a, s, t);
    if (ts < x->start) {
        a->c.negative++;
        return;
    }
    uint64_t d = ts - x->start;
    int which = T->npaths + 1; /* other */
    for (int k = 0; k < T->npaths; k++) {
        const spec_path *P = &sp->path[T->path0 + k];
        if (P->ends[0] && !(L->ends >> (T->path0 + k) & 1))
            continue;
        if ((x->seen & P->has) != P->has || (x->seen & P->lacks))
            continue;
        which = k + 1;
        break;
    }
    uint64_t sum = 0;
    for (int k = 0; k < T->ncomp; k++)
        if (x->comp_seen >> k & 1)
            sum = sum + x->comp[k] < sum ? UINT64_MAX : sum + x->comp[k];
    uint64_t rem = 0;
    if (sum > d)
        a->c.negative_remainders += T->ncomp > 0;
    else
        rem = d - sum;
    breakdown_record(a, &a->bd[t][0], T, x, d, rem);
    breakdown_record(a, &a->bd[t][which], T, x, d, rem);
}

/* Joins lane li to command sequence ci: the lane's open intervals and totals move to the command; the
 * command's totals that were already open get the lane's conditions and completed components. */
static void spec_adopt(analyze *a, uint32_t ci, uint32_t li)
{
    seq *c = S(a, ci), *l = S(a, li);
    uint32_t open = c->tot_open;
    while (open) {
        int t = __builtin_ctz(open);
        open &= open - 1;
        tot_state *x = tstate(a, c, t);
        if (x->start > l->first_ts)
            continue;
        x->seen |= l->seen_all;
        for (uint64_t m = l->orphan_mask; m; m &= m - 1) {
            int iv = __builtin_ctzll(m);
            int slot = a->comp_slot[t][iv];
            if (slot < 0)
                continue;
            x->comp[slot] += orphans(a, l)[iv];
            x->comp_seen |= 1ULL << slot;
        }
    }
    c->seen_all |= l->seen_all;
    for (uint64_t m = l->iv_open; m; m &= m - 1) {
        int iv = __builtin_ctzll(m);
        if (c->iv_open >> iv & 1)
            a->c.repeated_starts++;
        iv_start(a, c)[iv] = iv_start(a, l)[iv];
        c->iv_open |= 1ULL << iv;
    }
    for (uint32_t m = l->tot_open; m; m &= m - 1) {
        int t = __builtin_ctz(m);
        if (c->tot_open >> t & 1)
            a->c.repeated_starts++;
        memcpy(tstate(a, c, t), tstate(a, l, t),
               sizeof(tot_state) + (size_t)a->spec->tot[t].ncomp * sizeof(uint64_t));
        c->tot_open |= 1u << t;
    }
    if (!c->has_last || l->last_ts > c->last_ts) {
        c->last_ts = l->last_ts;
        c->last_label = l->last_label;
    }
    if (!c->has_last || l->first_ts < c->first_ts)
        c->first_ts = l->first_ts;
    c->has_last = 1;
    a->c.adopted++;
    seq_unlink(a, li);
}

static void spec_point(analyze *a, const timing_point *p, uint32_t lid)
{
    const label_info *L = &a->labels[lid];
    int starts = L->iv_start || L->tot_start;
    uint32_t si;
    if (p->command != TIMING_ID_UNKNOWN) {
        int lane = a->lanes && seq_find(a, 1, p->client, p->session) != ANALYZE_NIL;
        if (lane || starts) {
            si = seq_get(a, 0, p->command, 0);
            if (si == ANALYZE_NIL) {
                a->c.no_memory++;
                return;
            }
            /* Look the lane up again: creating the command's sequence may have evicted it. */
            uint32_t li = lane ? seq_find(a, 1, p->client, p->session) : ANALYZE_NIL;
            if (li != ANALYZE_NIL)
                spec_adopt(a, si, li);
        } else {
            si = seq_find(a, 0, p->command, 0);
        }
    } else {
        si = seq_find(a, 1, p->client, p->session);
        if (si == ANALYZE_NIL && (starts || L->has)) {
            si = seq_create(a, 1, p->client, p->session);
            if (si == ANALYZE_NIL) {
                a->c.no_memory++;
                return;
            }
        }
    }
    if (si == ANALYZE_NIL) {
        a->c.unmatched_ends += (uint64_t)popcount64(L->iv_end & ~L->iv_start) +
                               (uint64_t)popcount64(L->tot_end & ~L->tot_start);
        return;
    }

    seq *s = S(a, si);
    uint64_t ts = p->ts_ns;
    if (s->has_last && ts < s->last_ts)
        a->c.out_of_order++;
    if (!s->has_last) {
        s->has_last = 1;
        s->first_ts = ts;
    }
    s->last_ts = ts;
    s->last_label = lid;

    if (L->has) {
        s->seen_all |= L->has;
        for (uint32_t m = s->tot_open; m; m &= m - 1)
            tstate(a, s, __builtin_ctz(m))->seen |= L->has;
    }

    /* Ends first, so that a label can end an interval and start the next (`tick = L -> L`). */
    a->c.unmatched_ends += (uint64_t)popcount64(L->iv_end & ~s->iv_open & ~L->iv_start);
    for (uint64_t m = L->iv_end & s->iv_open; m; m &= m - 1) {
        int iv = __builtin_ctzll(m);
        uint64_t st = iv_start(a, s)[iv];
        s->iv_open &= ~(1ULL << iv);
        if (ts < st) {
            a->c.negative++;
            continue;
        }
        record(a, a->iv_hist[iv], ts - st);
        attribute(a, s, iv, st, ts - st);
    }
    a->c.unmatched_ends += (uint64_t)popcount64(L->tot_end & ~s->tot_open & ~L->tot_start);
    for (uint32_t m = L->tot_end & s->tot_open; m; m &= m - 1) {
        int t = __builtin_ctz(m);
        s->tot_open &= ~(1u << t);
        total_end(a, s, t, L, ts);
    }
    for (uint32_t m = L->tot_start; m; m &= m - 1) {
        int t = __builtin_ctz(m);
        if (s->tot_open >> t & 1)
            a->c.repeated_starts++;
        tot_state *x = tstate(a, s, t);
        memset(x, 0, sizeof *x + (size_t)a->spec->tot[t].ncomp * sizeof(uint64_t));
        x->start = ts;
        x->seen = L->has;
        s->tot_open |= 1u << t;
    }
    for (uint64_t m = L->iv_start; m; m &= m - 1) {
        int iv = __builtin_ctzll(m);
        if (s->iv_open >> iv & 1)
            a->c.repeated_starts++;
        iv_start(a, s)[iv] = ts;
        s->iv_open |= 1ULL << iv;
    }

    /* A command's sequence lives while something is open; a lane until it joins a command. */
    int idle = !s->iv_open && !s->tot_open;
    if (idle && (!s->lane || (!s->orphan_mask && !s->seen_all)))
        seq_unlink(a, si);
    else
        touch(a, si);
}

/* ---- input -------------------------------------------------------------------------------------- */
void analyze_point(analyze *a, const timing_point *p)
{
    a->c.points++;
    fields(a, p);
    uint32_t lid = label_id(a, p->label, p->label_len);
    if (lid == ANALYZE_NIL) {
        a->c.labels_dropped++;
        return;
    }
    if (p->ts_ns > a->clock)
        a->clock = p->ts_ns;
    expire(a);
    if (a->spec && !a->o.timeline)
        spec_point(a, p, lid);
    else
        plain_point(a, p, lid);
}

static void malformed(analyze *a, const timing_error *e)
{
    a->c.malformed++;
    if (e->status == TIMING_ERR_TOO_LONG)
        a->c.too_long++;
    if (a->o.diag && a->c.malformed <= a->o.max_reported) {
        char why[160];
        fprintf(a->o.diag, "%s%s:%llu: %s\n", a->o.diag_prefix ? a->o.diag_prefix : "",
                a->source ? a->source : "<input>", (unsigned long long)a->lineno,
                timing_error_describe(e, why, sizeof why));
    }
}

timing_status analyze_line(analyze *a, const char *line, size_t len)
{
    a->lineno++;
    a->c.lines++;
    timing_point p;
    timing_error e;
    timing_status st = timing_parse_line(line, len, &p, &e);
    if (st == TIMING_OK)
        analyze_point(a, &p);
    else if (st == TIMING_OTHER)
        a->c.other++;
    else
        malformed(a, &e);
    return st;
}

void analyze_source(analyze *a, const char *name)
{
    a->source = name;
    a->lineno = 0;
    a->carry_len = 0;
    a->carry_overflow = false;
}

static void carry_append(analyze *a, const char *p, size_t n)
{
    size_t room = sizeof a->carry - a->carry_len;
    if (n > room) {
        n = room;
        a->carry_overflow = true;
    }
    memcpy(a->carry + a->carry_len, p, n);
    a->carry_len += n;
}

/* The carried line is complete. A line that did not fit is too long: malformed when it is a TIMING
 * line, skipped otherwise. */
static void carry_flush(analyze *a)
{
    if (a->carry_overflow) {
        a->lineno++;
        a->c.lines++;
        if (memcmp(a->carry, TIMING_PREFIX, TIMING_PREFIX_LEN) == 0) {
            timing_error e = {TIMING_ERR_TOO_LONG, NULL, 0, NULL};
            malformed(a, &e);
        } else {
            a->c.other++;
        }
    } else {
        analyze_line(a, a->carry, a->carry_len);
    }
    a->carry_len = 0;
    a->carry_overflow = false;
}

void analyze_feed(analyze *a, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (a->carry_len || a->carry_overflow) {
        const char *nl = memchr(p, '\n', len);
        carry_append(a, p, nl ? (size_t)(nl - p) : len);
        if (!nl)
            return;
        carry_flush(a);
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            carry_append(a, p, (size_t)(end - p));
            return;
        }
        analyze_line(a, p, (size_t)(nl - p));
        p = nl + 1;
    }
}

void analyze_source_end(analyze *a)
{
    if (a->carry_len || a->carry_overflow)
        carry_flush(a);
}

void analyze_finish(analyze *a)
{
    while (a->lru_head != ANALYZE_NIL)
        seq_close(a, a->lru_head);
}

/* ---- life cycle --------------------------------------------------------------------------------- */
int analyze_new(const analyze_options *opts, analyze **out)
{
    analyze *a = calloc(1, sizeof *a);
    if (!a)
        return -2;
    a->o = *opts;
    if (!a->o.idle_ns)
        a->o.idle_ns = ANALYZE_DEFAULT_IDLE_NS;
    if (!a->o.max_open)
        a->o.max_open = ANALYZE_DEFAULT_MAX_OPEN;
    if (a->o.max_open > ANALYZE_NIL / 2)
        a->o.max_open = ANALYZE_NIL / 2;
    if (!a->o.max_reported)
        a->o.max_reported = ANALYZE_DEFAULT_MAX_REPORTED;
    a->spec = a->o.timeline ? NULL : opts->spec;
    a->free_head = a->lru_head = a->lru_tail = ANALYZE_NIL;
    a->nbuckets = 1024;
    a->buckets = malloc(a->nbuckets * sizeof *a->buckets);
    a->label_slots = calloc(ANALYZE_MAX_LABELS * 2, sizeof *a->label_slots);
    a->pairs = calloc(ANALYZE_MAX_PAIRS, sizeof *a->pairs);
    a->pair_slots = calloc(ANALYZE_MAX_PAIRS * 2, sizeof *a->pair_slots);
    a->fields = calloc(ANALYZE_MAX_FIELDS, sizeof *a->fields);
    a->field_slots = calloc(ANALYZE_MAX_FIELDS * 2, sizeof *a->field_slots);
    if (a->o.timeline)
        a->pending = calloc(ANALYZE_PENDING, sizeof *a->pending);
    if (!a->buckets || !a->label_slots || !a->pairs || !a->pair_slots ||
        !a->fields || !a->field_slots || (a->o.timeline && !a->pending))
        goto err;
    memset(a->buckets, 0xff, a->nbuckets * sizeof *a->buckets);

    size_t stride = sizeof(seq);
    const analyze_spec *sp = a->spec;
    memset(a->comp_slot, -1, sizeof a->comp_slot);
    if (sp) {
        a->iv_off = stride;
        stride += (size_t)sp->niv * sizeof(uint64_t);
        a->orphan_off = stride;
        stride += (size_t)sp->niv * sizeof(uint64_t);
        for (int t = 0; t < sp->ntot; t++) {
            a->tot_off[t] = stride;
            stride += sizeof(tot_state) + (size_t)sp->tot[t].ncomp * sizeof(uint64_t);
            for (int k = 0; k < sp->tot[t].ncomp; k++) {
                a->comp_slot[t][sp->tot[t].comp[k]] = (int8_t)k;
                a->iv_comp_of[sp->tot[t].comp[k]] |= 1u << t;
            }
        }
        for (int i = 0; i < sp->niv; i++)
            if (!(a->iv_hist[i] = hist_new()))
                goto err;
        for (int t = 0; t < sp->ntot; t++) {
            int nb = sp->tot[t].npaths + 2;
            a->bd[t] = calloc((size_t)nb, sizeof(breakdown));
            if (!a->bd[t])
                goto err;
            for (int b = 0; b < nb; b++) {
                breakdown *bd = &a->bd[t][b];
                if (!(bd->total = hist_new()))
                    goto err;
                for (int k = 0; k < sp->tot[t].ncomp + (sp->tot[t].ncomp > 0); k++)
                    if (!(bd->part[k] = hist_new()))
                        goto err;
            }
        }
    }
    a->stride = (stride + 7) & ~(size_t)7;
    *out = a;
    return 0;
err:
    analyze_free(a);
    return -2;
}

void analyze_free(analyze *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; i < a->nlabels; i++)
        free(a->labels[i].name);
    for (uint32_t i = 0; i < a->npairs; i++)
        hist_free(a->pairs[i].h);
    for (uint32_t i = 0; i < a->nfields; i++) {
        free(a->fields[i].name);
        hist_free(a->fields[i].h);
    }
    for (int i = 0; i < ANALYZE_MAX_INTERVALS; i++)
        hist_free(a->iv_hist[i]);
    for (int t = 0; t < ANALYZE_MAX_TOTALS; t++) {
        if (!a->bd[t])
            continue;
        for (int b = 0; b < a->spec->tot[t].npaths + 2; b++) {
            hist_free(a->bd[t][b].total);
            for (int k = 0; k <= ANALYZE_MAX_INTERVALS; k++)
                hist_free(a->bd[t][b].part[k]);
        }
        free(a->bd[t]);
    }
    free(a->labels);
    free(a->label_slots);
    free(a->pairs);
    free(a->pair_slots);
    free(a->fields);
    free(a->field_slots);
    free(a->buckets);
    free(a->pool);
    free(a->timeline);
    free(a->pending);
    free(a);
}

/* ---- results ------------------------------------------------------------------------------------ */
const analyze_counts *analyze_get_counts(const analyze *a)
{
    return &a->c;
}

int analyze_write(const analyze *a, analyze_format format, FILE *out)
{
    int r = a->o.timeline ? analyze__write_timeline(a, format, out)
                          : analyze__write_stats(a, format, out);
    return r < 0 || ferror(out) ? -1 : 0;
}

size_t analyze_timeline_length(const analyze *a)
{
    return a->ntimeline;
}

int analyze_interval_stats(const analyze *a, const char *name, hist_summary *out)
{
    for (int i = 0; a->spec && i < a->spec->niv; i++) {
        if (strcmp(a->spec->iv[i].name, name) == 0) {
            hist_summarize(a->iv_hist[i], out);
            return 0;
        }
    }
    return -1;
}

/* The breakdown of total `total` on `path` (NULL: all). */
static const breakdown *find_breakdown(const analyze *a, const char *total, const char *path,
                                       const spec_total **T)
{
    for (int t = 0; a->spec && t < a->spec->ntot; t++) {
        *T = &a->spec->tot[t];
        if (strcmp((*T)->name, total) != 0)
            continue;
        if (!path || !strcmp(path, "all"))
            return &a->bd[t][0];
        if (!strcmp(path, "other"))
            return &a->bd[t][(*T)->npaths + 1];
        for (int k = 0; k < (*T)->npaths; k++)
            if (strcmp(a->spec->path[(*T)->path0 + k].name, path) == 0)
                return &a->bd[t][k + 1];
        return NULL;
    }
    return NULL;
}

int analyze_total_stats(const analyze *a, const char *total, const char *path, hist_summary *out)
{
    const spec_total *T;
    const breakdown *b = find_breakdown(a, total, path, &T);
    if (!b)
        return -1;
    hist_summarize(b->total, out);
    return 0;
}

int analyze_part_stats(const analyze *a, const char *total, const char *path, const char *part,
                       hist_summary *out, uint64_t *seen)
{
    const spec_total *T;
    const breakdown *b = find_breakdown(a, total, path, &T);
    if (!b || !T->ncomp)
        return -1;
    int k = -1;
    for (int i = 0; i < T->ncomp; i++)
        if (strcmp(a->spec->iv[T->comp[i]].name, part) == 0)
            k = i;
    if (k < 0 && strcmp(T->remainder, part) == 0)
        k = T->ncomp;
    if (k < 0)
        return -1;
    hist_summarize(b->part[k], out);
    if (seen)
        *seen = b->seen[k];
    return 0;
}

int analyze_pair_stats(const analyze *a, const char *from, const char *to, hist_summary *out)
{
    for (uint32_t i = 0; i < a->npairs; i++) {
        const pair_stat *p = &a->pairs[i];
        if (!strcmp(a->labels[p->from].name, from) && !strcmp(a->labels[p->to].name, to)) {
            hist_summarize(p->h, out);
            return 0;
        }
    }
    return -1;
}

int analyze_field_stats(const analyze *a, const char *field, hist_summary *out, uint64_t *sum)
{
    for (uint32_t i = 0; i < a->nfields; i++) {
        if (strcmp(a->fields[i].name, field) == 0) {
            hist_summarize(a->fields[i].h, out);
            if (sum)
                *sum = a->fields[i].sum;
            return 0;
        }
    }
    return -1;
}
