/* otlp_sink.c — the OTLP sink: tk_sink_ops.window turns an aggregator window into one metrics
 * push per process; tk_sink_ops.consumer offers every timer span to the span sampler. The driver
 * thread only encodes and enqueues; the exporter's thread sends. */
#include "sink/otlp/otlp_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/counters.h"
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
} otlp_sink;

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
        int r = tk_otlp_push_metrics(o->x, &in, start_unix, end_unix);
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
