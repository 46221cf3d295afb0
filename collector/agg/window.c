/* agg/window.c — spans into histograms per process, timer and kind, over an interval window and
 * a total window; losses per timer and reason. A consumer of the core's event stream. */
#include "agg/window.h"

#include <stdlib.h>
#include <string.h>

#include "format/segment.h"
#include "util/match.h"

struct tka_timer {
    char name[56];
    uint32_t id;
    int has_latency;
    hist *h[2][TKA_KINDS];                 /* [window][kind] */
    uint64_t lost[2][TKC_LOSS_REASONS];    /* [window][reason] */
    uint64_t last_stop;                    /* ticks of the newest stop */
    uint64_t first_start;                  /* ticks of the oldest start, UINT64_MAX: none */
    uint64_t backlog;
};

struct tka_proc {
    const tkc_proc *core;
    uint64_t first_seen;
    int initial;          /* no drain pass ended since it appeared: what comes is backlog */
    uint32_t nids;
    tka_timer **by_id;    /* nids entries, NULL: not a timer or filtered out */
    tka_timer **sorted;
    size_t ntimers;
    uint64_t lost[2][TKC_LOSS_REASONS];
};

struct tka_agg {
    tka_options opt;
    char *glob;
    tkc_consumer cons;
    tka_proc **procs;
    size_t nprocs, capprocs;
    tka_proc *last;       /* the process of the last callback: spans come in runs */
    uint64_t start[2];
};

static void timer_free(tka_timer *t)
{
    if (!t)
        return;
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < TKA_KINDS; k++)
            hist_free(t->h[w][k]);
    free(t);
}

static tka_timer *timer_new(const char *name, uint32_t id)
{
    tka_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    strncpy(t->name, name, sizeof t->name - 1);
    t->id = id;
    t->first_start = UINT64_MAX;
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < TKA_KINDS; k++)
            if (!(t->h[w][k] = hist_new())) {
                timer_free(t);
                return NULL;
            }
    return t;
}

static void proc_free(tka_proc *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->nids; i++)
        timer_free(p->by_id[i]);
    free(p->by_id);
    free(p->sorted);
    free(p);
}

static tka_proc *find(tka_agg *a, const tkc_proc *cp)
{
    if (a->last && a->last->core == cp)
        return a->last;
    for (size_t i = 0; i < a->nprocs; i++)
        if (a->procs[i]->core == cp)
            return a->last = a->procs[i];
    return NULL;
}

static void on_appeared(void *ctx, const tkc_proc *cp)
{
    tka_agg *a = ctx;
    if (find(a, cp))
        return;
    if (a->nprocs == a->capprocs) {
        size_t ncap = a->capprocs ? a->capprocs * 2 : 8;
        tka_proc **np = realloc(a->procs, ncap * sizeof *np);
        if (!np)
            return;
        a->procs = np;
        a->capprocs = ncap;
    }
    tka_proc *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->core = cp;
    p->first_seen = tkc_now_ns();
    p->initial = 1;
    a->procs[a->nprocs++] = p;
}

static void on_gone(void *ctx, const tkc_proc *cp)
{
    tka_agg *a = ctx;
    size_t j = 0;
    for (size_t i = 0; i < a->nprocs; i++) {
        if (a->procs[i]->core == cp)
            proc_free(a->procs[i]);
        else
            a->procs[j++] = a->procs[i];
    }
    a->nprocs = j;
    a->last = NULL;
}

static int timer_cmp(const void *x, const void *y)
{
    const tka_timer *a = *(tka_timer *const *)x, *b = *(tka_timer *const *)y;
    return strcmp(a->name, b->name);
}

static void on_names(void *ctx, const tkc_proc *cp, uint32_t first, uint32_t end)
{
    tka_agg *a = ctx;
    tka_proc *p = find(a, cp);
    if (!p || end <= p->nids)
        return;
    tka_timer **nb = realloc(p->by_id, end * sizeof *nb);
    if (!nb)
        return;
    memset(nb + p->nids, 0, (end - p->nids) * sizeof *nb);
    p->by_id = nb;
    uint32_t from = first < p->nids ? p->nids : first;
    p->nids = end;
    int added = 0;
    for (uint32_t id = from; id < end; id++) {
        if (tkc_proc_name_kind(cp, id) != TKS_NAME_TIMER)
            continue;
        const char *name = tkc_proc_name(cp, id);
        if (a->glob && !tk_name_match(a->glob, name))
            continue;
        if ((p->by_id[id] = timer_new(name, id)) != NULL)
            added = 1;
    }
    if (!added)
        return;
    size_t cnt = 0;
    for (uint32_t id = 0; id < p->nids; id++)
        cnt += p->by_id[id] != NULL;
    tka_timer **arr = realloc(p->sorted, (cnt ? cnt : 1) * sizeof *arr);
    if (!arr)
        return;
    size_t j = 0;
    for (uint32_t id = 0; id < p->nids; id++)
        if (p->by_id[id])
            arr[j++] = p->by_id[id];
    qsort(arr, cnt, sizeof *arr, timer_cmp);
    p->sorted = arr;
    p->ntimers = cnt;
}

/* The hot consumer: one histogram record per span (two with an origin). */
static void on_spans(void *ctx, const tkc_proc *cp, const tkc_span *s, size_t n)
{
    tka_agg *a = ctx;
    tka_proc *p = find(a, cp);
    if (!p)
        return;
    const uint64_t over = a->opt.overhead_ns;
    for (size_t i = 0; i < n; i++) {
        if (s[i].name >= p->nids)
            continue;
        tka_timer *t = p->by_id[s[i].name];
        if (!t)
            continue;
        uint64_t d = s[i].dur_ns > over ? s[i].dur_ns - over : 0;
        hist_record(t->h[TKA_INTERVAL][TKA_PROCESSING], d);
        if (s[i].lat_ns != TKC_NONE) {
            hist_record(t->h[TKA_INTERVAL][TKA_LATENCY], s[i].lat_ns);
            t->has_latency = 1;
        }
        if (s[i].stop > t->last_stop)
            t->last_stop = s[i].stop;
        if (s[i].start < t->first_start)
            t->first_start = s[i].start;
        t->backlog += (uint64_t)p->initial;
    }
}

static void add_signed(uint64_t *v, int64_t d)
{
    *v = d < 0 && 0 - (uint64_t)d > *v ? 0 : *v + (uint64_t)d;
}

static void on_loss(void *ctx, const tkc_proc *cp, const tkc_loss *l)
{
    tka_agg *a = ctx;
    tka_proc *p = find(a, cp);
    if (!p || (unsigned)l->reason >= TKC_LOSS_REASONS)
        return;
    for (int w = 0; w < 2; w++)
        add_signed(&p->lost[w][l->reason], l->count);
    if (l->name < p->nids && p->by_id[l->name])
        for (int w = 0; w < 2; w++)
            add_signed(&p->by_id[l->name]->lost[w][l->reason], l->count);
}

static void on_drained(void *ctx, uint64_t now)
{
    tka_agg *a = ctx;
    (void)now;
    for (size_t i = 0; i < a->nprocs; i++)
        a->procs[i]->initial = 0;
}

tka_agg *tka_agg_new(const tka_options *opts)
{
    tka_agg *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (opts)
        a->opt = *opts;
    if (a->opt.timer_glob && !(a->glob = strdup(a->opt.timer_glob))) {
        free(a);
        return NULL;
    }
    a->opt.timer_glob = a->glob;
    a->cons = (tkc_consumer){.ctx = a,
                             .proc_appeared = on_appeared,
                             .proc_gone = on_gone,
                             .names = on_names,
                             .spans = on_spans,
                             .loss = on_loss,
                             .drained = on_drained};
    a->start[TKA_INTERVAL] = a->start[TKA_TOTAL] = tkc_now_ns();
    return a;
}

void tka_agg_free(tka_agg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nprocs; i++)
        proc_free(a->procs[i]);
    free(a->procs);
    free(a->glob);
    free(a);
}

const tkc_consumer *tka_agg_consumer(tka_agg *a) { return &a->cons; }

void tka_agg_rollover(tka_agg *a, uint64_t now_ns)
{
    for (size_t i = 0; i < a->nprocs; i++) {
        tka_proc *p = a->procs[i];
        for (size_t j = 0; j < p->ntimers; j++) {
            tka_timer *t = p->sorted[j];
            for (int k = 0; k < TKA_KINDS; k++) {
                if (hist_count(t->h[TKA_INTERVAL][k]))
                    hist_merge(t->h[TKA_TOTAL][k], t->h[TKA_INTERVAL][k]);
                hist_reset(t->h[TKA_INTERVAL][k]);
            }
            memset(t->lost[TKA_INTERVAL], 0, sizeof t->lost[TKA_INTERVAL]);
        }
        memset(p->lost[TKA_INTERVAL], 0, sizeof p->lost[TKA_INTERVAL]);
    }
    a->start[TKA_INTERVAL] = now_ns;
}

uint64_t tka_agg_window_start(const tka_agg *a, tka_window w) { return a->start[w ? 1 : 0]; }
size_t tka_agg_proc_count(const tka_agg *a) { return a->nprocs; }
const tka_proc *tka_agg_proc(const tka_agg *a, size_t i)
{
    return i < a->nprocs ? a->procs[i] : NULL;
}
const tkc_proc *tka_proc_core(const tka_proc *p) { return p->core; }
uint64_t tka_proc_first_seen(const tka_proc *p) { return p->first_seen; }
uint64_t tka_proc_lost(const tka_proc *p, tka_window w, tkc_loss_reason r)
{
    return (unsigned)r < TKC_LOSS_REASONS ? p->lost[w ? 1 : 0][r] : 0;
}
size_t tka_proc_timer_count(const tka_proc *p) { return p->ntimers; }
const tka_timer *tka_proc_timer(const tka_proc *p, size_t j)
{
    return j < p->ntimers ? p->sorted[j] : NULL;
}
const char *tka_timer_name(const tka_timer *t) { return t->name; }
uint32_t tka_timer_id(const tka_timer *t) { return t->id; }
const hist *tka_timer_hist(const tka_timer *t, tka_window w, int kind)
{
    return t->h[w ? 1 : 0][kind ? 1 : 0];
}
uint64_t tka_timer_lost(const tka_timer *t, tka_window w, tkc_loss_reason r)
{
    return (unsigned)r < TKC_LOSS_REASONS ? t->lost[w ? 1 : 0][r] : 0;
}
int tka_timer_has_latency(const tka_timer *t) { return t->has_latency; }
uint64_t tka_timer_last_mono_ns(const tka_proc *p, const tka_timer *t)
{
    return t->last_stop ? tkc_proc_mono_ns(p->core, t->last_stop) : 0;
}
uint64_t tka_timer_backlog(const tka_timer *t) { return t->backlog; }

double tka_timer_span_s(const tka_proc *p, const tka_timer *t)
{
    if (t->first_start == UINT64_MAX || t->last_stop <= t->first_start)
        return 0;
    return (double)(t->last_stop - t->first_start) * tkc_proc_ns_per_tick(p->core) / 1e9;
}
