/* sink/stats.c — `stats - {…}` and `resources - {…}` lines every interval (sink/stats.h). */
#include "sink/stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/counters.h"
#include "core/procstat.h"
#include "format/segment.h"
#include "sink/stats-line.h"

#define MAX_VALUES 256
#define MAX_TIMERS 64

typedef struct prev_sample {
    int pid;
    tkc_procstat s;
} prev_sample;

typedef struct stats_state {
    tka_counters *counters;
    tkc_consumer cons; /* the counters' consumer, plus a first /proc sample at proc_appeared */
    prev_sample *prev;
    size_t nprev, capprev;
    tka_counter_value vals[MAX_VALUES];
    tk_stats_timer timers[MAX_TIMERS];
} stats_state;

static prev_sample *prev_of(stats_state *st, int pid)
{
    for (size_t i = 0; i < st->nprev; i++)
        if (st->prev[i].pid == pid)
            return &st->prev[i];
    if (st->nprev == st->capprev) {
        size_t cap = st->capprev ? st->capprev * 2 : 8;
        prev_sample *p = realloc(st->prev, cap * sizeof *p);
        if (!p)
            return NULL;
        st->prev = p;
        st->capprev = cap;
    }
    prev_sample *p = &st->prev[st->nprev++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

static int stats_window(tk_sink *s, const tk_window_view *v)
{
    stats_state *st = s->state;
    for (size_t i = 0; i < tka_agg_proc_count(v->agg); i++) {
        const tka_proc *ap = tka_agg_proc(v->agg, i);
        const tkc_proc *p = tka_proc_core(ap);
        if (!p)
            continue;
        size_t n = tka_counters_list(st->counters, p->key, st->vals, MAX_VALUES);
        if (n > MAX_VALUES)
            n = MAX_VALUES;
        if (v->window == TKA_TOTAL) /* totals: the counters since the process started */
            for (size_t k = 0; k < n; k++)
                st->vals[k].delta = st->vals[k].total;
        size_t nt = 0;
        for (size_t j = 0; j < tka_proc_timer_count(ap) && nt < MAX_TIMERS; j++) {
            const tka_timer *t = tka_proc_timer(ap, j);
            const hist *h = tka_timer_hist(t, v->window, TKA_PROCESSING);
            if (tka_timer_id(t) == 0 && !hist_count(h))
                continue; /* "(invalid)", unused */
            st->timers[nt++] = (tk_stats_timer){tka_timer_name(t), hist_count(h),
                                                hist_quantile(h, 0.5), hist_quantile(h, 0.99)};
        }
        if (tk_stats_write(s->out, v->now_real_s, p->pid, v->seconds, st->vals, n, st->timers, nt))
            return -EIO;
        if (v->window != TKA_INTERVAL || p->state != TKC_PROC_LIVE)
            continue;
        prev_sample *ps = prev_of(st, p->pid);
        tkc_procstat cur;
        if (!ps || tkc_procstat_read(p->pid, &cur) != 0)
            continue;
        if (ps->s.mono_ns) {
            tkc_procstat_rates r;
            tkc_procstat_diff(&ps->s, &cur, &r);
            int64_t heap = -1;
            for (size_t k = 0; k < n; k++)
                if (st->vals[k].kind == TKS_NAME_GAUGE && !strcmp(st->vals[k].name, "heap_bytes"))
                    heap = st->vals[k].value;
            if (tk_resources_write(s->out, v->now_real_s, p->pid, &r, heap))
                return -EIO;
        }
        ps->s = cur;
    }
    if (v->window == TKA_INTERVAL)
        tka_counters_rollover(st->counters);
    return fflush(s->out) == 0 ? 0 : -errno;
}

/* A process's first /proc sample when it appears, so its first interval has a resources line. */
static void on_appeared(void *ctx, const tkc_proc *p)
{
    stats_state *st = ctx;
    prev_sample *ps = p->state == TKC_PROC_LIVE ? prev_of(st, p->pid) : NULL;
    if (ps && !ps->s.mono_ns && tkc_procstat_read(p->pid, &ps->s) != 0)
        ps->s.mono_ns = 0;
}
static void on_event(void *ctx, const tkc_proc *p, const tkc_event *e)
{
    tka_counters_event(((stats_state *)ctx)->counters, p, e);
}
static void on_drained(void *ctx, uint64_t now)
{
    tka_counters_drained(((stats_state *)ctx)->counters, now);
}
static void on_gone(void *ctx, const tkc_proc *p)
{
    stats_state *st = ctx;
    tka_counters_forget(st->counters, p->key);
    for (size_t i = 0; i < st->nprev; i++)
        if (st->prev[i].pid == p->pid) {
            st->prev[i] = st->prev[--st->nprev];
            break;
        }
}

static const tkc_consumer *stats_consumer(tk_sink *s)
{
    stats_state *st = s->state;
    return &st->cons;
}

static int stats_close(tk_sink *s)
{
    stats_state *st = s->state;
    if (st) {
        tka_counters_free(st->counters);
        free(st->prev);
        free(st);
    }
    s->state = NULL;
    return 0;
}

int tk_sink_stats_open(tk_sink *s, FILE *out)
{
    stats_state *st = calloc(1, sizeof *st);
    if (!st || !(st->counters = tka_counters_new())) {
        free(st);
        return -ENOMEM;
    }
    st->cons = (tkc_consumer){.ctx = st, .proc_appeared = on_appeared, .proc_gone = on_gone,
                              .event = on_event, .drained = on_drained};
    s->ops = &tk_sink_stats;
    s->out = out;
    s->state = st;
    s->flags = 0;
    return 0;
}

const tk_sink_ops tk_sink_stats = {
    .name = "stats",
    .window = stats_window,
    .analysis = NULL,
    .consumer = stats_consumer,
    .close = stats_close,
};
