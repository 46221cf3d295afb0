/* prom-counts.c — the counters behind /metrics: a consumer of the core's events that counts
 * spans at the fixed bucket bounds per process and timer (exact sums), points per label and
 * losses per timer, so that a scrape's snapshot is a copy of plain counters. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agg/health.h"
#include "core/events.h"
#include "format/segment.h"
#include "sink/prom/prom.h"

/* One histogram at the fixed bounds, not cumulative: n[i] counts values in (bound[i-1],
 * bound[i]], n[TKP_NBOUNDS] values above the last bound. */
typedef struct bhist {
    uint64_t n[TKP_NBOUNDS + 1];
    unsigned __int128 sum_ns;
} bhist;

typedef struct ctimer {
    char name[56];
    int has_latency;
    bhist h[2]; /* processing, latency */
    uint64_t lost;
} ctimer;

typedef struct cproc {
    const tkc_proc *core;
    uint64_t down_since_ns; /* the first snapshot that saw it exited, 0: not yet */
    uint32_t nids;
    ctimer **timers;   /* by name id, NULL: not a timer */
    uint64_t *points;  /* by name id */
} cproc;

struct tkp_counts {
    struct tkc_consumer cons;
    cproc **procs;
    size_t nprocs, cap;
    cproc *last;       /* spans come in runs of one process */
};

static cproc *find(tkp_counts *c, const tkc_proc *p)
{
    if (c->last && c->last->core == p)
        return c->last;
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i]->core == p)
            return c->last = c->procs[i];
    return NULL;
}

static void proc_free(cproc *p)
{
    for (uint32_t i = 0; i < p->nids; i++)
        free(p->timers[i]);
    free(p->timers);
    free(p->points);
    free(p);
}

static void on_appeared(void *ctx, const tkc_proc *p)
{
    tkp_counts *c = ctx;
    if (find(c, p))
        return;
    if (c->nprocs == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        cproc **np = realloc(c->procs, nc * sizeof *np);
        if (!np)
            return;
        c->procs = np;
        c->cap = nc;
    }
    cproc *cp = calloc(1, sizeof *cp);
    if (!cp)
        return;
    cp->core = p;
    c->procs[c->nprocs++] = cp;
}

static void on_gone(void *ctx, const tkc_proc *p)
{
    tkp_counts *c = ctx;
    size_t j = 0;
    for (size_t i = 0; i < c->nprocs; i++) {
        if (c->procs[i]->core == p)
            proc_free(c->procs[i]);
        else
            c->procs[j++] = c->procs[i];
    }
    c->nprocs = j;
    c->last = NULL;
}

static void on_names(void *ctx, const tkc_proc *p, uint32_t first, uint32_t end)
{
    cproc *cp = find(ctx, p);
    if (!cp || end <= cp->nids)
        return;
    ctimer **nt = realloc(cp->timers, end * sizeof *nt);
    if (!nt)
        return;
    cp->timers = nt;
    uint64_t *npts = realloc(cp->points, end * sizeof *npts);
    if (!npts)
        return; /* timers grew, nids did not: the next call retries */
    cp->points = npts;
    memset(cp->timers + cp->nids, 0, (end - cp->nids) * sizeof *nt);
    memset(cp->points + cp->nids, 0, (end - cp->nids) * sizeof *npts);
    uint32_t from = first < cp->nids ? cp->nids : first;
    cp->nids = end;
    for (uint32_t id = from; id < end; id++) {
        if (tkc_proc_name_kind(p, id) != TKS_NAME_TIMER)
            continue;
        ctimer *t = calloc(1, sizeof *t);
        if (t)
            strncpy(t->name, tkc_proc_name(p, id), sizeof t->name - 1);
        cp->timers[id] = t;
    }
}

/* For each bit length L of a value (0..64), the first bound >= 2^(L-1): the search for the bucket
 * of v starts there and moves at most two steps (a 1-2.5-5 series has at most one bound per
 * octave), so it costs a clz, a load and one or two well-predicted compares. */
static uint8_t first_by_bits[65];
static pthread_once_t first_once = PTHREAD_ONCE_INIT;

static void first_init(void)
{
    for (unsigned L = 0; L <= 64; L++) {
        uint64_t low = L == 0 ? 0 : 1ull << (L - 1);
        uint8_t i = 0;
        while (i < TKP_NBOUNDS && tkp_bounds_ns[i] < low)
            i++;
        first_by_bits[L] = i;
    }
}

/* The first bound >= v (TKP_NBOUNDS: above all). */
static inline size_t bucket_of(uint64_t v)
{
    unsigned bits = v ? 64u - (unsigned)__builtin_clzll(v) : 0;
    size_t i = first_by_bits[bits];
    while (i < TKP_NBOUNDS && tkp_bounds_ns[i] < v)
        i++;
    return i;
}

/* The hot consumer: per span a table look-up, one or two bucket searches (above) and
 * three adds: about 8 ns per span with a latency over 1000 timers (bench_serve; a binary
 * search there cost 35 ns, in mispredicted branches). */
static void on_spans(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n)
{
    cproc *cp = find(ctx, p);
    if (!cp)
        return;
    for (size_t i = 0; i < n; i++) {
        if (s[i].name >= cp->nids || !cp->timers[s[i].name])
            continue;
        ctimer *t = cp->timers[s[i].name];
        t->h[0].n[bucket_of(s[i].dur_ns)]++;
        t->h[0].sum_ns += s[i].dur_ns;
        if (s[i].lat_ns != TKC_NONE) {
            t->h[1].n[bucket_of(s[i].lat_ns)]++;
            t->h[1].sum_ns += s[i].lat_ns;
            t->has_latency = 1;
        }
    }
}

static void on_point(void *ctx, const tkc_proc *p, const tkc_point *pt)
{
    cproc *cp = find(ctx, p);
    if (cp && pt->label < cp->nids)
        cp->points[pt->label]++;
}

static void on_loss(void *ctx, const tkc_proc *p, const tkc_loss *l)
{
    cproc *cp = find(ctx, p);
    if (!cp || l->name >= cp->nids || !cp->timers[l->name])
        return;
    uint64_t *v = &cp->timers[l->name]->lost;
    uint64_t mag = l->count < 0 ? 0 - (uint64_t)l->count : (uint64_t)l->count; /* no UB at INT64_MIN */
    *v = l->count < 0 ? (mag > *v ? 0 : *v - mag) : *v + mag;
}

tkp_counts *tkp_counts_new(void)
{
    pthread_once(&first_once, first_init);
    tkp_counts *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cons = (struct tkc_consumer){.ctx = c,
                                    .proc_appeared = on_appeared,
                                    .proc_gone = on_gone,
                                    .names = on_names,
                                    .spans = on_spans,
                                    .point = on_point,
                                    .loss = on_loss};
    return c;
}

void tkp_counts_free(tkp_counts *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nprocs; i++)
        proc_free(c->procs[i]);
    free(c->procs);
    free(c);
}

const struct tkc_consumer *tkp_counts_consumer(tkp_counts *c) { return &c->cons; }

static void to_hist(tkp_hist *out, const bhist *b)
{
    uint64_t run = 0;
    for (size_t i = 0; i < TKP_NBOUNDS; i++)
        out->le[i] = run += b->n[i];
    out->count = run + b->n[TKP_NBOUNDS];
    out->sum_s = (double)b->sum_ns / 1e9;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const ctimer *const *)a)->name, (*(const ctimer *const *)b)->name);
}

int tkp_counts_snapshot(tkp_counts *c, tkp_snapshot *s, uint64_t now_ns)
{
    const ctimer **sorted = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < c->nprocs && rc == 0; i++) {
        cproc *cp = c->procs[i];
        const tkc_proc *p = cp->core;
        size_t proc = s->nprocs;
        tkp_proc *sp = tkp_snapshot_add_proc(s, p->name, p->pid);
        if (!sp) {
            rc = -ENOMEM;
            break;
        }
        sp->up = p->state == TKC_PROC_LIVE;
        if (!sp->up && !cp->down_since_ns)
            cp->down_since_ns = now_ns ? now_ns : 1;
        sp->down_s = sp->up || now_ns < cp->down_since_ns
                         ? 0
                         : (double)(now_ns - cp->down_since_ns) / 1e9;
        tka_proc_healthy(p, now_ns, 0, &sp->silence_s); /* the silence as check measures it */
        sp->records = p->records;
        sp->overwritten = tkc_proc_lost(p, TKC_LOSS_OVERWRITTEN);
        sp->lost = tkc_proc_lost(p, TKC_LOSS_LAPPED);
        sp->dropped = tkc_proc_lost(p, TKC_LOSS_NO_RING) + tkc_proc_lost(p, TKC_LOSS_NO_SPACE) +
                      tkc_proc_lost(p, TKC_LOSS_NAMES_FULL);
        sp->corrupt = p->corrupt_records + p->unknown_records;
        if (cp->nids > cap) {
            const ctimer **ns = realloc(sorted, cp->nids * sizeof *ns);
            if (!ns) {
                rc = -ENOMEM;
                break;
            }
            sorted = ns;
            cap = cp->nids;
        }
        size_t nt = 0;
        for (uint32_t id = 0; id < cp->nids; id++)
            if (cp->timers[id])
                sorted[nt++] = cp->timers[id];
        qsort(sorted, nt, sizeof *sorted, by_name);
        for (size_t j = 0; j < nt; j++) {
            tkp_timer *t = tkp_snapshot_add_timer(s, proc, sorted[j]->name);
            if (!t) {
                rc = -ENOMEM;
                break;
            }
            to_hist(&t->processing, &sorted[j]->h[0]);
            to_hist(&t->latency, &sorted[j]->h[1]);
            t->has_latency = sorted[j]->has_latency;
            t->lost = sorted[j]->lost;
        }
        for (uint32_t id = 0; id < cp->nids && rc == 0; id++)
            if (cp->points[id] && tkc_proc_name_kind(p, id) == TKS_NAME_LABEL &&
                !tkp_snapshot_add_points(s, proc, tkc_proc_name(p, id), cp->points[id]))
                rc = -ENOMEM;
    }
    free(sorted);
    return rc;
}
