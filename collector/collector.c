/* collector.c — collector.h: a core with a window aggregator subscribed, and plain-struct
 * snapshots of what they hold. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/window.h"
#include "core/core.h"

typedef struct view {
    process_info info;
    const tkc_proc *core;
    timer_stats *ts;      /* info.ntimers entries, info.timers points at them */
    timer_stats **tp;
    size_t cap;
} view;

struct collector {
    collector_options opt;
    tkc_core *core;
    tka_agg *agg;
    collector_point_fn point_fn;
    void *point_ctx;
    view *views;
    size_t nviews, capviews;
};

uint64_t collector_now_ns(void) { return tkc_now_ns(); }
struct tkc_core *collector_core(collector *c) { return c->core; }
struct tka_agg *collector_agg(collector *c) { return c->agg; }

static void on_point(void *ctx, const tkc_proc *p, const tkc_point *pt)
{
    collector *c = ctx;
    if (!c->point_fn)
        return;
    collector_point cp = {p->pid, pt->tid, tkc_proc_name(p, pt->label), pt->mono_ns, pt->client,
                          pt->command, pt->session, pt->context, pt->context_len};
    c->point_fn(c->point_ctx, &cp);
}

static void on_exited(void *ctx, const tkc_proc *p)
{
    collector *c = ctx;
    if (c->opt.remove_exited)
        tkc_core_remove_segment(c->core, p);
}

int collector_open(const collector_options *opts, collector **out)
{
    collector *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (opts)
        c->opt = *opts;
    tkc_core_options co = {.dir = c->opt.dir, .pid = c->opt.pid, .quiet = c->opt.quiet};
    tka_options ao = {.timer_glob = c->opt.timer_glob, .overhead_ns = c->opt.overhead_ns};
    int r = tkc_core_open(&co, &c->core);
    if (r != 0) {
        free(c);
        return r;
    }
    c->agg = tka_agg_new(&ao);
    tkc_consumer own = {.ctx = c, .point = on_point, .proc_exited = on_exited};
    if (!c->agg || tkc_core_subscribe(c->core, tka_agg_consumer(c->agg)) != 0 ||
        tkc_core_subscribe(c->core, &own) != 0) {
        collector_close(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

void collector_close(collector *c)
{
    if (!c)
        return;
    tkc_core_close(c->core);
    tka_agg_free(c->agg);
    for (size_t i = 0; i < c->capviews; i++) {
        free(c->views[i].ts);
        free(c->views[i].tp);
    }
    free(c->views);
    free(c);
}

void collector_on_point(collector *c, collector_point_fn fn, void *ctx)
{
    c->point_fn = fn;
    c->point_ctx = ctx;
}

int collector_order_points(collector *c, int ordered)
{
    tkc_core_order_points(c->core, ordered);
    return 0;
}

void collector_flush_points(collector *c) { tkc_core_flush_points(c->core); }

/* Lays the aggregator's state out as process_info / timer_stats snapshots. */
static void refresh(collector *c)
{
    size_t n = tka_agg_proc_count(c->agg);
    if (n > c->capviews) {
        view *nv = realloc(c->views, n * sizeof *nv);
        if (!nv)
            return;
        memset(nv + c->capviews, 0, (n - c->capviews) * sizeof *nv);
        c->views = nv;
        c->capviews = n;
    }
    c->nviews = n;
    for (size_t i = 0; i < n; i++) {
        const tka_proc *ap = tka_agg_proc(c->agg, i);
        const tkc_proc *p = tka_proc_core(ap);
        view *v = &c->views[i];
        size_t nt = tka_proc_timer_count(ap);
        if (nt > v->cap) {
            timer_stats *nts = realloc(v->ts, nt * sizeof *nts);
            if (nts)
                v->ts = nts;
            timer_stats **ntp = nts ? realloc(v->tp, nt * sizeof *ntp) : NULL;
            if (ntp)
                v->tp = ntp;
            if (!nts || !ntp)
                nt = v->cap;
            else
                v->cap = nt;
        }
        process_info *pi = &v->info;
        v->core = p;
        pi->path = p->path;
        snprintf(pi->name, sizeof pi->name, "%s", p->name);
        snprintf(pi->cmdline, sizeof pi->cmdline, "%s", p->cmdline);
        pi->pid = p->pid;
        pi->uid = p->uid;
        pi->state = p->state == TKC_PROC_LIVE ? PROC_LIVE : PROC_EXITED;
        pi->clock_source = p->clock_source;
        pi->start_real_ns = p->start_real_ns;
        pi->start_mono_ns = p->start_mono_ns;
        pi->exit_mono_ns = p->exit_mono_ns;
        pi->heartbeat_mono_ns = p->heartbeat_mono_ns;
        pi->last_record_mono_ns = p->last_record_mono_ns;
        pi->dropped_no_ring = p->dropped_no_ring;
        pi->corrupt_records = p->corrupt_records;
        pi->unknown_records = p->unknown_records;
        pi->points = p->points;
        pi->rings_used = p->rings_used;
        pi->ntimers = nt;
        pi->timers = v->tp;
        for (size_t j = 0; j < nt; j++) {
            const tka_timer *t = tka_proc_timer(ap, j);
            timer_stats *ts = &v->ts[j];
            snprintf(ts->name, sizeof ts->name, "%s", tka_timer_name(t));
            ts->id = tka_timer_id(t);
            for (int k = 0; k < KIND_COUNT; k++) {
                ts->interval[k] = (hist *)tka_timer_hist(t, TKA_INTERVAL, k);
                ts->total[k] = (hist *)tka_timer_hist(t, TKA_TOTAL, k);
            }
            ts->lost_interval = tka_timer_lost(t, TKA_INTERVAL, TKC_LOSS_OVERWRITTEN) +
                                tka_timer_lost(t, TKA_INTERVAL, TKC_LOSS_LAPPED);
            ts->lost_total = tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_OVERWRITTEN) +
                             tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_LAPPED);
            ts->overwritten_interval = tka_timer_lost(t, TKA_INTERVAL, TKC_LOSS_OVERWRITTEN);
            ts->overwritten_total = tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_OVERWRITTEN);
            ts->last_mono_ns = tka_timer_last_mono_ns(ap, t);
            v->tp[j] = ts;
        }
    }
}

size_t collector_scan(collector *c)
{
    size_t n = tkc_core_scan(c->core);
    refresh(c);
    return n;
}

uint64_t collector_drain(collector *c)
{
    uint64_t n = tkc_core_drain(c->core);
    refresh(c);
    return n;
}

void collector_rollover(collector *c)
{
    tka_agg_rollover(c->agg, tkc_now_ns());
    refresh(c);
}

void collector_forget_exited(collector *c)
{
    tkc_core_forget_exited(c->core);
    refresh(c);
}

size_t collector_process_count(const collector *c) { return c->nviews; }
const process_info *collector_process(const collector *c, size_t i)
{
    return i < c->nviews ? &c->views[i].info : NULL;
}
