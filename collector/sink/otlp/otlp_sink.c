/* otlp_sink.c — the OTLP sink: tk_sink_ops.window turns an aggregator window into one metrics
 * push per process; tk_sink_ops.consumer offers every timer span to the span sampler. The driver
 * thread only encodes and enqueues; the exporter's thread sends. */
#include "sink/otlp/otlp_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/counters.h"
#include "agg/tasks.h"
#include "core/procstat.h"
#include "format/segment.h"

typedef struct otlp_sink {
    tk_otlp *x;
    tk_otlp_temporality temporality;
    int spans;
    uint64_t pushes;
    tkc_consumer cons;
    tk_otlp_timer_in *timers;
    size_t cap;
    const tka_counters *counters;
    tka_counter_value *cv;
    tk_otlp_value_in *values;
    size_t vcap;
    /* resources: the CPU times last sent per process (delta temporality) */
    struct cpu_prev { uint64_t key, user_ns, sys_ns; } *cpu;
    size_t ncpu, cpucap;
    /* tasks: the totals last sent per task type (delta temporality) */
    tkc_tasks *tasks;
    struct task_prev { char *name; uint64_t exec, ewc, calls; } *tprev;
    size_t ntprev, tprevcap;
    tkc_task_row *rows;
    size_t rowcap;
    tk_otlp_metric *tm;   /* the task metrics of one window */
    tk_otlp_attr *ta;
    size_t ntm;
} otlp_sink;

/* A counter's value to send: its total (cumulative) or the growth since *prev (delta), which
 * becomes the total. A total that went back gives 0. */
static uint64_t sum_value(const otlp_sink *o, uint64_t *prev, uint64_t total)
{
    uint64_t d = total >= *prev ? total - *prev : 0;
    *prev = total;
    return o->temporality == TK_OTLP_CUMULATIVE ? total : d;
}

/* The resources of live process p, sampled once, into m[0..4) (attrs in a[0..2)). Returns how
 * many metrics (0: not readable), or -ENOMEM. */
static int resources_of(otlp_sink *o, const tkc_proc *p, tk_otlp_metric *m, tk_otlp_attr *a)
{
    tkc_procstat ps;
    if (p->state != TKC_PROC_LIVE || p->pid <= 0 || tkc_procstat_read(p->pid, &ps) != 0)
        return 0;
    size_t i = 0;
    while (i < o->ncpu && o->cpu[i].key != p->key)
        i++;
    if (i == o->ncpu) {
        if (o->ncpu == o->cpucap) {
            size_t cap = o->cpucap ? 2 * o->cpucap : 16;
            struct cpu_prev *c = realloc(o->cpu, cap * sizeof *c);
            if (!c)
                return -ENOMEM;
            o->cpu = c;
            o->cpucap = cap;
        }
        o->cpu[o->ncpu++] = (struct cpu_prev){.key = p->key}; /* first delta: since it started */
    }
    struct cpu_prev *c = &o->cpu[i];
    uint64_t user = sum_value(o, &c->user_ns, ps.utime_ns), sys = sum_value(o, &c->sys_ns, ps.stime_ns);
    return tk_otlp_resource_metrics(m, a, (double)user / 1e9, (double)sys / 1e9,
                                    (int64_t)ps.rss_bytes, (int64_t)ps.threads);
}

/* The previous totals of task type name (created on first sight), or NULL when out of memory. */
static struct task_prev *task_prev_of(otlp_sink *o, const char *name)
{
    for (size_t i = 0; i < o->ntprev; i++)
        if (strcmp(o->tprev[i].name, name) == 0)
            return &o->tprev[i];
    if (o->ntprev == o->tprevcap) {
        size_t cap = o->tprevcap ? 2 * o->tprevcap : 32;
        struct task_prev *t = realloc(o->tprev, cap * sizeof *t);
        if (!t)
            return NULL;
        o->tprev = t;
        o->tprevcap = cap;
    }
    char *dup = strdup(name);
    if (!dup)
        return NULL;
    o->tprev[o->ntprev] = (struct task_prev){.name = dup};
    return &o->tprev[o->ntprev++];
}

/* The task metrics of this window into o->tm (o->ntm of them). Returns 0 or -ENOMEM. */
static int tasks_of(otlp_sink *o)
{
    o->ntm = 0;
    if (!o->tasks)
        return 0;
    size_t n = tkc_tasks_rows(o->tasks, NULL, 0);
    if (n > o->rowcap) {
        tkc_task_row *r = realloc(o->rows, n * sizeof *r);
        if (!r)
            return -ENOMEM;
        o->rows = r;
        o->rowcap = n;
    }
    if (n)
        n = tkc_tasks_rows(o->tasks, o->rows, n);
    size_t k = n > TK_OTLP_TOP_TASKS ? TK_OTLP_TOP_TASKS : n, types = k + (n > k);
    if (!o->tm) {
        o->tm = calloc((TK_OTLP_TOP_TASKS + 1) * 3, sizeof *o->tm);
        o->ta = calloc((TK_OTLP_TOP_TASKS + 1) * 3, sizeof *o->ta);
        if (!o->tm || !o->ta)
            return -ENOMEM;
    }
    for (size_t i = 0; i < types; i++) {
        tkt_totals t;
        const char *name = "other";
        tk_otlp_attr *a = &o->ta[3 * i];
        size_t na = 1;
        if (i < k) {
            const tkc_task_row *r = &o->rows[i];
            t = r->t;
            name = r->name;
            a[0] = (tk_otlp_attr){.key = "code.function", .str = r->func};
            a[1] = (tk_otlp_attr){.key = "code.filepath", .str = r->file};
            a[2] = (tk_otlp_attr){.key = "code.lineno", .ival = r->line};
            na = r->line ? 3 : 2;
        } else {
            tkc_tasks_other(o->rows, n, k, &t);
            name = "\001other"; /* never a registered name */
            a[0] = (tk_otlp_attr){.key = "code.function", .str = "other"};
        }
        struct task_prev *pv = task_prev_of(o, name);
        if (!pv)
            return -ENOMEM;
        uint64_t exec = sum_value(o, &pv->exec, t.exec);
        uint64_t ewc = sum_value(o, &pv->ewc, t.exec + t.children_exec);
        uint64_t calls = sum_value(o, &pv->calls, t.completed + t.failed + t.cancelled);
        tk_otlp_metric *m = &o->tm[o->ntm];
        m[0] = (tk_otlp_metric){.name = "timekeeper.task.exec", .unit = "s", .kind = TK_OTLP_SUM,
                                .description = "time the task type ran, its children excluded",
                                .attrs = a, .nattrs = na, .dval = (double)exec / 1e9, .is_double = 1};
        m[1] = m[0];
        m[1].name = "timekeeper.task.exec_with_children";
        m[1].description = "time the task type ran, its children included";
        m[1].dval = (double)ewc / 1e9;
        m[2] = (tk_otlp_metric){.name = "timekeeper.task.calls", .unit = "{call}",
                                .kind = TK_OTLP_SUM, .attrs = a, .nattrs = na,
                                .description = "tasks finished (completed, failed or cancelled)",
                                .ival = (int64_t)calls};
        o->ntm += 3;
    }
    return 0;
}

/* The counters and gauges of process key into o->values. Returns how many, or -ENOMEM. */
static long values_of(otlp_sink *o, uint64_t key)
{
    if (!o->counters)
        return 0;
    /* never a NULL array: tka_counters_list() sorts what it was given */
    size_t n = o->vcap ? tka_counters_list(o->counters, key, o->cv, o->vcap) : 16;
    while (n > o->vcap) {
        tka_counter_value *cv = realloc(o->cv, n * sizeof *cv);
        if (!cv)
            return -ENOMEM;
        o->cv = cv;
        tk_otlp_value_in *v = realloc(o->values, n * sizeof *v);
        if (!v)
            return -ENOMEM;
        o->values = v;
        o->vcap = n;
        n = tka_counters_list(o->counters, key, o->cv, o->vcap);
    }
    for (size_t i = 0; i < n; i++) {
        const tka_counter_value *c = &o->cv[i];
        int gauge = c->kind != TKS_NAME_COUNTER;
        uint64_t count = o->temporality == TK_OTLP_CUMULATIVE ? c->total : c->delta;
        o->values[i] = (tk_otlp_value_in){.name = c->name, .gauge = gauge,
                                          .value = gauge ? c->value : (int64_t)count};
    }
    return (long)n;
}

static tk_otlp_proc_in proc_in(const tkc_proc *p)
{
    return (tk_otlp_proc_in){.name = p->name, .cmdline = p->cmdline, .pid = p->pid, .key = p->key};
}

static uint64_t lost_of(const tka_timer *t, tka_window w)
{
    uint64_t n = 0;
    for (int r = 0; r < TKC_LOSS_REASONS; r++)
        n += tka_timer_lost(t, w, (tkc_loss_reason)r);
    return n;
}

static int otlp_window(tk_sink *s, const tk_window_view *v)
{
    otlp_sink *o = s->state;
    uint64_t end_unix = (uint64_t)(v->now_real_s * 1e9);
    int tasks_sent = 0;
    for (size_t i = 0; i < tka_agg_proc_count(v->agg); i++) {
        const tka_proc *ap = tka_agg_proc(v->agg, i);
        const tkc_proc *p = tka_proc_core(ap);
        size_t n = tka_proc_timer_count(ap);
        if (n > o->cap) {
            tk_otlp_timer_in *t = realloc(o->timers, n * sizeof *t);
            if (!t)
                return -ENOMEM;
            o->timers = t;
            o->cap = n;
        }
        /* Delta: the interval's histograms. Cumulative: the totals up to the last rollover plus
         * this interval (the window is read before tka_agg_rollover()). */
        tka_window w = o->temporality == TK_OTLP_CUMULATIVE ? TKA_TOTAL : TKA_INTERVAL;
        uint64_t start_mono = tka_agg_window_start(v->agg, w);
        uint64_t start_unix = end_unix - (v->now_mono_ns > start_mono ? v->now_mono_ns - start_mono : 0);
        tk_otlp_proc_in in = proc_in(p);
        in.timers = o->timers;
        in.ntimers = 0;
        long nv = values_of(o, p->key);
        if (nv < 0)
            return -ENOMEM;
        in.values = o->values;
        in.nvalues = (size_t)nv;
        int active = p->state == TKC_PROC_LIVE;
        for (size_t j = 0; j < n && !active; j++) {
            const tka_timer *t = tka_proc_timer(ap, j);
            active = hist_count(tka_timer_hist(t, TKA_INTERVAL, TKA_PROCESSING)) > 0 ||
                     lost_of(t, TKA_INTERVAL) > 0;
        }
        if (!active)
            continue; /* an exited process: pushed once after its last records */
        for (size_t j = 0; j < n; j++) {
            const tka_timer *t = tka_proc_timer(ap, j);
            if (tka_timer_id(t) == 0 && !hist_count(tka_timer_hist(t, TKA_TOTAL, TKA_PROCESSING)) &&
                !hist_count(tka_timer_hist(t, TKA_INTERVAL, TKA_PROCESSING)))
                continue; /* the library's "(invalid)" timer, exported only when it was used */
            tk_otlp_timer_in *ti = &o->timers[in.ntimers++];
            ti->name = tka_timer_name(t);
            ti->lost = lost_of(t, w); /* the total's losses include the interval's */
            for (int k = 0; k < TKA_KINDS; k++)
                ti->h[k] = k == TKA_LATENCY && !tka_timer_has_latency(t)
                               ? NULL : tka_timer_hist(t, TKA_INTERVAL, k);
            for (int k = 0; k < TKA_KINDS; k++)
                ti->more[k] = w == TKA_TOTAL && ti->h[k] ? tka_timer_hist(t, TKA_TOTAL, k) : NULL;
        }
        /* resources (sampled here, once per push) and, with the first process, the tasks */
        if (!tasks_sent && tasks_of(o) < 0)
            return -ENOMEM;
        tk_otlp_metric *extra = malloc((4 + (tasks_sent ? 0 : o->ntm)) * sizeof *extra);
        tk_otlp_attr ra[2];
        int nr = extra ? resources_of(o, p, extra, ra) : -ENOMEM;
        if (nr < 0) {
            free(extra);
            return -ENOMEM;
        }
        in.extra = extra;
        in.nextra = (size_t)nr;
        if (!tasks_sent && o->ntm) {
            memcpy(extra + nr, o->tm, o->ntm * sizeof *extra);
            in.nextra += o->ntm;
            tasks_sent = 1;
        }
        int r = tk_otlp_push_metrics(o->x, &in, start_unix, end_unix);
        free(extra);
        o->pushes++;
        if (r < 0 && r != -EAGAIN) /* a full queue is counted by the exporter */
            return r;
    }
    return tk_otlp_flush_spans(o->x) == -ENOMEM ? -ENOMEM : 0;
}

static void on_spans(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n)
{
    otlp_sink *o = ctx;
    tk_otlp_proc_in in = proc_in(p);
    for (size_t i = 0; i < n; i++) {
        uint64_t start_mono = tkc_proc_mono_ns(p, s[i].start);
        uint64_t start = tkc_proc_real_ns(p, start_mono);
        uint32_t tid = 0;
        const char *tname;
        tkc_proc_thread(p, s[i].ring, &tid, &tname);
        tk_otlp_offer_span(o->x, &in, tkc_proc_name(p, s[i].name), s[i].ring, tid, start,
                           start + s[i].dur_ns, s[i].origin, s[i].lat_ns, start_mono);
    }
}

static const tkc_consumer *otlp_consumer(tk_sink *s)
{
    otlp_sink *o = s->state;
    return o->spans ? &o->cons : NULL;
}

static int otlp_close(tk_sink *s)
{
    otlp_sink *o = s->state;
    if (!o)
        return 0;
    tk_otlp_flush_spans(o->x);
    tk_otlp_free(o->x, NULL);
    free(o->timers);
    free(o->cv);
    free(o->values);
    free(o->cpu);
    for (size_t i = 0; i < o->ntprev; i++)
        free(o->tprev[i].name);
    free(o->tprev);
    free(o->rows);
    free(o->tm);
    free(o->ta);
    free(o);
    s->state = NULL;
    return 0;
}

const tk_sink_ops tk_sink_otlp = {
    .name = "otlp",
    .window = otlp_window,
    .consumer = otlp_consumer,
    .close = otlp_close,
};

int tk_sink_otlp_open(tk_sink *s, const tk_otlp_config *c, int spans)
{
    memset(s, 0, sizeof *s);
    otlp_sink *o = calloc(1, sizeof *o);
    if (!o)
        return -ENOMEM;
    o->temporality = c->temporality ? c->temporality : TK_OTLP_DELTA;
    o->spans = spans;
    int rc = tk_otlp_new(c, &o->x);
    if (rc < 0) {
        free(o);
        return rc;
    }
    o->cons = (tkc_consumer){.ctx = o, .spans = on_spans};
    s->ops = &tk_sink_otlp;
    s->state = o;
    return 0;
}

int tk_sink_otlp_flush(tk_sink *s, uint64_t timeout_ns)
{
    otlp_sink *o = s->state;
    tk_otlp_flush_spans(o->x);
    return tk_otlp_exporter_flush(tk_otlp_exporter_of(o->x), timeout_ns);
}

void tk_sink_otlp_counts(tk_sink *s, tk_sink_otlp_stats *out)
{
    otlp_sink *o = s->state;
    memset(out, 0, sizeof *out);
    tk_otlp_exporter_stats(tk_otlp_exporter_of(o->x), &out->exp);
    tk_otlp_span_counts(o->x, &out->spans_offered, &out->spans_kept, &out->spans_capped);
    out->pushes = o->pushes;
}

void tk_sink_otlp_set_counters(tk_sink *s, const struct tka_counters *c)
{
    otlp_sink *o = s->state;
    o->counters = c;
}

void tk_sink_otlp_set_tasks(tk_sink *s, struct tkc_tasks *t)
{
    otlp_sink *o = s->state;
    o->tasks = t;
}
