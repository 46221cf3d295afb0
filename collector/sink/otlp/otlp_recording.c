/* otlp_recording.c — a recording's windows pushed as OTLP metrics (sink/otlp/otlp_recording.h). */
#ifdef TK_HAVE_RECORDING_READ
#include "sink/otlp/otlp_recording.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/hist.h"

typedef struct rp_proc {
    int64_t id, off;
    int pid;
    char *name, *cmdline;
    double user_s, sys_s; /* CPU time of the windows pushed so far (cumulative temporality) */
} rp_proc;

enum { K_OTHER, K_TIMER, K_VALUE };

typedef struct rp_name {
    int64_t id;
    size_t proc;        /* index into procs; SIZE_MAX: unknown process */
    int kind, keep;
    char *name;
    hist *run[2];       /* cumulative: every window so far */
    uint64_t lost;      /* cumulative: lost so far */
} rp_name;

typedef struct rp_win {
    int64_t id;
    uint64_t start, end;
} rp_win;

typedef struct rp_sample {
    int64_t interval;
    size_t name;
    int gauge;
    double value, delta;
} rp_sample;

typedef struct rp_stat {
    size_t name;
    hist *h[2];
    uint64_t lost;
} rp_stat;

typedef struct rp {
    tk_otlp *x;
    const tk_otlp_rec_options *o;
    tk_otlp_rec_counts *n;
    rp_proc *procs;
    size_t nprocs;
    rp_name *names;
    size_t nnames;
    rp_win *wins;
    size_t nwins, wi;   /* wi: the next window to push */
    rp_sample *samples;
    size_t nsamples, si;
    tk_rec_resource *res; /* resource rows of the kept processes, by window and process */
    size_t nres, ri;
    rp_stat *stats;     /* the pending window's rows, one per timer */
    size_t nstats, capstats;
    int64_t pending;    /* the window of stats; -1: none */
    tk_otlp_timer_in *tin;
    tk_otlp_value_in *vin;
    char *err;
    size_t errlen;
} rp;

/* Makes room for element n of *p: capacities go 16, 32, 64, ... */
static int grow(void **p, size_t n, size_t size)
{
    if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
        return 0;
    size_t cap = n ? n * 2 : 16;
    void *q = realloc(*p, cap * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    return 0;
}

static size_t find_name(const rp *c, int64_t id)
{
    size_t lo = 0, hi = c->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->names[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nnames && c->names[lo].id == id ? lo : SIZE_MAX;
}

static int on_proc(void *ctx, const tk_rec_process *p)
{
    rp *c = ctx;
    if (grow((void **)&c->procs, c->nprocs, sizeof *c->procs) < 0)
        return -ENOMEM;
    rp_proc *e = &c->procs[c->nprocs];
    *e = (rp_proc){p->id, p->real_minus_mono_ns, p->pid, strdup(p->name), strdup(p->cmdline), 0, 0};
    if (!e->name || !e->cmdline) {
        free(e->name);
        free(e->cmdline);
        return -ENOMEM;
    }
    c->nprocs++;
    return 0;
}

static int on_name(void *ctx, const tk_rec_name *n)
{
    rp *c = ctx;
    if (c->nnames && n->id <= c->names[c->nnames - 1].id)
        return -EINVAL;
    if (grow((void **)&c->names, c->nnames, sizeof *c->names) < 0)
        return -ENOMEM;
    rp_name *e = &c->names[c->nnames];
    memset(e, 0, sizeof *e);
    e->id = n->id;
    e->proc = SIZE_MAX;
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i].id == n->process)
            e->proc = i;
    e->kind = !strcmp(n->kind, "timer") ? K_TIMER
              : (!strcmp(n->kind, "counter") || !strcmp(n->kind, "gauge") || !strcmp(n->kind, "stage"))
                  ? K_VALUE : K_OTHER;
    e->keep = e->proc != SIZE_MAX && (!c->o->pid || c->procs[e->proc].pid == c->o->pid) &&
              (e->kind != K_TIMER || !c->o->timer_glob || fnmatch(c->o->timer_glob, n->name, 0) == 0);
    if (!(e->name = strdup(n->name)))
        return -ENOMEM;
    c->nnames++;
    return 0;
}

static int on_window(void *ctx, const tk_rec_interval *i)
{
    rp *c = ctx;
    if (i->total)
        return 0;
    if (c->nwins && i->id <= c->wins[c->nwins - 1].id)
        return -EINVAL;
    if (grow((void **)&c->wins, c->nwins, sizeof *c->wins) < 0)
        return -ENOMEM;
    c->wins[c->nwins++] = (rp_win){i->id, i->start_mono_ns, i->end_mono_ns};
    return 0;
}

static int on_sample(void *ctx, const tk_rec_sample *s)
{
    rp *c = ctx;
    size_t ni = find_name(c, s->name);
    if (ni == SIZE_MAX || !c->names[ni].keep || c->names[ni].kind != K_VALUE)
        return 0;
    if (grow((void **)&c->samples, c->nsamples, sizeof *c->samples) < 0)
        return -ENOMEM;
    c->samples[c->nsamples++] = (rp_sample){s->interval, ni, s->gauge, s->value, s->delta};
    return 0;
}

static int on_resource(void *ctx, const tk_rec_resource *x)
{
    rp *c = ctx;
    size_t pi = 0;
    while (pi < c->nprocs && c->procs[pi].id != x->process)
        pi++;
    if (pi == c->nprocs || (c->o->pid && c->procs[pi].pid != c->o->pid))
        return 0;
    if (c->nres && (x->interval < c->res[c->nres - 1].interval ||
                    (x->interval == c->res[c->nres - 1].interval &&
                     x->process <= c->res[c->nres - 1].process)))
        return -EINVAL; /* the reader orders them: a repeat is a malformed file */
    if (grow((void **)&c->res, c->nres, sizeof *c->res) < 0)
        return -ENOMEM;
    c->res[c->nres++] = *x;
    return 0;
}

/* The resource metrics of process pi in window w into m[0..4) (attrs a[0..2)): the window's CPU
 * time (delta) or the sum so far (cumulative), RSS and threads at its end. Returns how many (0:
 * no sample of it in w; 2: CPU time only). */
static int window_resources(rp *c, const rp_win *w, size_t pi, tk_otlp_metric *m, tk_otlp_attr *a)
{
    while (c->ri < c->nres && c->res[c->ri].interval < w->id)
        c->ri++;
    for (size_t i = c->ri; i < c->nres && c->res[i].interval == w->id; i++) {
        const tk_rec_resource *x = &c->res[i];
        if (x->process != c->procs[pi].id)
            continue;
        rp_proc *p = &c->procs[pi];
        p->user_s += x->user_s;
        p->sys_s += x->sys_s;
        int cumulative = c->o->temporality == TK_OTLP_CUMULATIVE;
        int n = tk_otlp_resource_metrics(m, a, cumulative ? p->user_s : x->user_s,
                                         cumulative ? p->sys_s : x->sys_s, x->rss_bytes,
                                         x->threads);
        return x->rss_bytes < 0 || x->threads < 0 ? 2 : n;
    }
    return 0;
}

static int cmp_sample(const void *a, const void *b)
{
    const rp_sample *x = a, *y = b;
    if (x->interval != y->interval)
        return x->interval < y->interval ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

static void free_stats(rp *c)
{
    for (size_t i = 0; i < c->nstats; i++) {
        hist_free(c->stats[i].h[0]);
        hist_free(c->stats[i].h[1]);
    }
    c->nstats = 0;
}

/* Waits for room in the exporter's queue (a recording may hold thousands of windows). */
static void wait_room(rp *c)
{
    tk_otlp_exporter *e = tk_otlp_exporter_of(c->x);
    tk_otlp_stats st;
    tk_otlp_exporter_stats(e, &st);
    size_t qmax = c->o->queue_max ? c->o->queue_max : 64;
    if (st.queued * 2 >= qmax)
        tk_otlp_exporter_flush(e, c->o->wait_ns ? c->o->wait_ns : 10000000000ull);
}

/* Pushes window w: its stats when they are the pending ones, its samples. */
static int push_window(rp *c, const rp_win *w)
{
    int cumulative = c->o->temporality == TK_OTLP_CUMULATIVE;
    int have_stats = c->pending == w->id;
    while (c->si < c->nsamples && c->samples[c->si].interval < w->id)
        c->si++;
    size_t s0 = c->si, s1 = s0;
    while (s1 < c->nsamples && c->samples[s1].interval == w->id)
        s1++;
    if (cumulative && have_stats) {
        for (size_t i = 0; i < c->nstats; i++) {
            rp_stat *s = &c->stats[i];
            rp_name *nm = &c->names[s->name];
            nm->lost += s->lost;
            for (int k = 0; k < 2; k++) {
                if (!s->h[k])
                    continue;
                if (!nm->run[k] && !(nm->run[k] = hist_new()))
                    return -ENOMEM;
                if (hist_merge(nm->run[k], s->h[k]) < 0)
                    return -ENOMEM;
            }
        }
    }
    c->n->windows++;
    uint64_t first_start = c->wins[0].start;
    for (size_t pi = 0; pi < c->nprocs; pi++) {
        const rp_proc *p = &c->procs[pi];
        size_t nt = 0, nv = 0;
        if (cumulative) {
            for (size_t i = 0; i < c->nnames; i++) {
                rp_name *nm = &c->names[i];
                if (nm->proc != pi || (!nm->run[0] && !nm->run[1]))
                    continue;
                c->tin[nt++] = (tk_otlp_timer_in){nm->name, {nm->run[0], nm->run[1]}, {0}, nm->lost};
            }
        } else if (have_stats) {
            for (size_t i = 0; i < c->nstats; i++) {
                rp_stat *s = &c->stats[i];
                if (c->names[s->name].proc == pi)
                    c->tin[nt++] = (tk_otlp_timer_in){c->names[s->name].name, {s->h[0], s->h[1]},
                                                      {0}, s->lost};
            }
        }
        for (size_t i = s0; i < s1; i++) {
            const rp_sample *s = &c->samples[i];
            if (c->names[s->name].proc != pi)
                continue;
            double v = s->gauge || cumulative ? s->value : s->delta;
            c->vin[nv++] = (tk_otlp_value_in){c->names[s->name].name, s->gauge, (int64_t)v};
        }
        tk_otlp_metric rm[4];
        tk_otlp_attr ra[2];
        int nr = window_resources(c, w, pi, rm, ra);
        if (!nt && !nv && !nr)
            continue;
        for (size_t i = 0; i < nt; i++)
            for (int k = 0; k < 2; k++)
                if (c->tin[i].h[k]) {
                    c->n->points++;
                    c->n->count[k] += hist_count(c->tin[i].h[k]);
                }
        tk_otlp_proc_in in = {.name = p->name, .cmdline = p->cmdline, .pid = p->pid,
                              .key = (uint64_t)p->id, .timers = c->tin, .ntimers = nt,
                              .values = c->vin, .nvalues = nv, .extra = nr ? rm : NULL,
                              .nextra = (size_t)nr};
        uint64_t start = (uint64_t)((int64_t)(cumulative ? first_start : w->start) + p->off);
        uint64_t end = (uint64_t)((int64_t)w->end + p->off);
        wait_room(c);
        int rc = tk_otlp_push_metrics(c->x, &in, start, end);
        if (rc < 0)
            return rc;
        c->n->pushes++;
    }
    if (have_stats) {
        free_stats(c);
        c->pending = -1;
    }
    return 0;
}

/* Pushes every window up to and including id (-1: all). */
static int push_through(rp *c, int64_t id)
{
    while (c->wi < c->nwins && (id < 0 || c->wins[c->wi].id <= id)) {
        int rc = push_window(c, &c->wins[c->wi++]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int on_stat(void *ctx, const tk_rec_stat *s)
{
    rp *c = ctx;
    if (s->total)
        return 0;
    size_t ni = find_name(c, s->timer);
    if (ni == SIZE_MAX || c->names[ni].kind != K_TIMER) {
        snprintf(c->err, c->errlen, "stats row of window %lld names no timer (%lld)",
                 (long long)s->interval, (long long)s->timer);
        return -EINVAL;
    }
    if (!c->names[ni].keep)
        return 0;
    if (s->interval != c->pending) {
        /* The windows before this one are complete (rows come ordered by window). */
        int rc = push_through(c, s->interval - 1);
        if (rc < 0)
            return rc;
        if (c->pending >= 0) {
            /* The pending window was not among the windows (a stats row of an unknown window). */
            snprintf(c->err, c->errlen, "stats rows of window %lld, not in intervals",
                     (long long)c->pending);
            return -EINVAL;
        }
        c->pending = s->interval;
    }
    if (!c->nstats || c->stats[c->nstats - 1].name != ni) {
        if (c->nstats == c->capstats) {
            size_t cap = c->capstats ? c->capstats * 2 : 64;
            rp_stat *q = realloc(c->stats, cap * sizeof *q);
            if (!q)
                return -ENOMEM;
            c->stats = q;
            c->capstats = cap;
        }
        c->stats[c->nstats++] = (rp_stat){ni, {NULL, NULL}, 0};
    }
    rp_stat *e = &c->stats[c->nstats - 1];
    int k = s->latency ? 1 : 0;
    if (e->h[k]) {
        snprintf(c->err, c->errlen, "two stats rows for one timer, window and kind");
        return -EINVAL;
    }
    if (!(e->h[k] = hist_new()))
        return -ENOMEM;
    hist_exact ex = {s->count, s->min_ns, s->max_ns, s->clamped, s->avg_ns};
    int rc = hist_decode(e->h[k], s->hist, s->hist_len, &ex);
    if (rc < 0) {
        snprintf(c->err, c->errlen, "the histogram of timer %s in window %lld is malformed",
                 c->names[ni].name, (long long)s->interval);
        return rc;
    }
    if (s->lost > e->lost)
        e->lost = s->lost; /* the same count on both kinds' rows */
    return 0;
}

int tk_otlp_push_recording(tk_otlp *x, tk_rec *r, const tk_otlp_rec_options *o,
                           tk_otlp_rec_counts *out, char *err, size_t errlen)
{
    rp c = {.x = x, .o = o, .n = out, .pending = -1, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = 0;
    int rc;
    if ((rc = tk_rec_processes(r, on_proc, &c)) != 0 || (rc = tk_rec_names(r, on_name, &c)) != 0 ||
        (rc = tk_rec_intervals(r, on_window, &c)) != 0 ||
        (rc = tk_rec_window_samples(r, on_sample, &c)) != 0 ||
        (rc = tk_rec_resources(r, on_resource, &c)) != 0)
        goto out;
    if (c.nsamples)
        qsort(c.samples, c.nsamples, sizeof *c.samples, cmp_sample);
    /* At most every name of a process at once. */
    c.tin = calloc(c.nnames ? c.nnames : 1, sizeof *c.tin);
    c.vin = calloc(c.nnames ? c.nnames : 1, sizeof *c.vin);
    if (!c.tin || !c.vin) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = tk_rec_stats(r, on_stat, &c)) != 0)
        goto out;
    rc = push_through(&c, -1);
    if (rc == 0 && c.pending >= 0) {
        snprintf(err, errlen, "stats rows of window %lld, not in intervals", (long long)c.pending);
        rc = -EINVAL;
    }
out:
    if (rc == -EINVAL && errlen && !err[0])
        snprintf(err, errlen, "%s", tk_rec_error(r));
    free_stats(&c);
    free(c.stats);
    for (size_t i = 0; i < c.nprocs; i++) {
        free(c.procs[i].name);
        free(c.procs[i].cmdline);
    }
    for (size_t i = 0; i < c.nnames; i++) {
        free(c.names[i].name);
        hist_free(c.names[i].run[0]);
        hist_free(c.names[i].run[1]);
    }
    free(c.procs);
    free(c.names);
    free(c.wins);
    free(c.samples);
    free(c.res);
    free(c.tin);
    free(c.vin);
    return rc;
}

#endif
