/* trace.c — the live trace export consumer (sink/trace.h): spans, points, processes and counter
 * samples (program counters, gauges, stages) from the core's event stream to the Perfetto, Chrome JSON or CSV writer. */
#include "sink/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sink/chrome.h"
#include "sink/perfetto.h"

/* A thread of a process, by ring. A ring reused by a later thread gets a new track. */
typedef struct tr_ring {
    uint32_t tid;
    int known;
    uint64_t uuid;
} tr_ring;

typedef struct tr_proc {
    const tkc_proc *p;
    uint64_t uuid;
    tr_ring *rings;
    size_t nrings;
    uint64_t *iids;   /* per name id: interned name, 0: not yet */
    size_t niids;
    struct tr_value *vals; /* per name id: the counter track of a counter, gauge or stage */
    size_t nvals;
} tr_proc;

/* A counter, gauge or stage: its track and the last value written (a sample is written when the
 * value changes, so a quiet counter costs nothing however often the core polls it). */
typedef struct tr_value {
    uint64_t uuid;    /* Perfetto counter track, 0: not yet */
    int64_t last;
    int written;
} tr_value;

struct tk_trace {
    tk_trace_format format;
    FILE *out;
    tk_perfetto *pf;
    tk_chrome *ch;
    tkc_consumer cons;
    tr_proc *procs;
    size_t nprocs, cap;
    uint64_t spans, points, lost, samples;
    int oom;
};

static tr_proc *find(tk_trace *t, const tkc_proc *p)
{
    for (size_t i = 0; i < t->nprocs; i++)
        if (t->procs[i].p == p)
            return &t->procs[i];
    return NULL;
}

static void on_appeared(void *ctx, const tkc_proc *p)
{
    tk_trace *t = ctx;
    if (find(t, p))
        return;
    if (t->nprocs == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tr_proc *q = realloc(t->procs, cap * sizeof *q);
        if (!q) {
            t->oom = 1;
            return;
        }
        t->procs = q;
        t->cap = cap;
    }
    tr_proc *tp = &t->procs[t->nprocs++];
    memset(tp, 0, sizeof *tp);
    tp->p = p;
    if (t->pf)
        tp->uuid = tk_perfetto_process(t->pf, p->pid, p->name, p->cmdline);
    else if (t->ch)
        tk_chrome_process(t->ch, p->pid, p->name);
}

static void on_gone(void *ctx, const tkc_proc *p)
{
    tk_trace *t = ctx;
    tr_proc *tp = find(t, p);
    if (!tp)
        return;
    free(tp->rings);
    free(tp->iids);
    free(tp->vals);
    *tp = t->procs[--t->nprocs];
}

/* The thread of ring in tp: its tid, and (Perfetto) its track, created when first seen. */
static tr_ring *ring_of(tk_trace *t, tr_proc *tp, uint32_t ring)
{
    if (ring >= tp->nrings) {
        size_t n = (size_t)ring + 1 > tp->nrings * 2 ? (size_t)ring + 1 : tp->nrings * 2;
        tr_ring *r = realloc(tp->rings, n * sizeof *r);
        if (!r) {
            t->oom = 1;
            return NULL;
        }
        memset(r + tp->nrings, 0, (n - tp->nrings) * sizeof *r);
        tp->rings = r;
        tp->nrings = n;
    }
    tr_ring *r = &tp->rings[ring];
    uint32_t tid = 0;
    const char *name = "";
    if (tkc_proc_thread(tp->p, ring, &tid, &name) < 0)
        return NULL;
    if (r->known && r->tid == tid)
        return r;
    r->known = 1;
    r->tid = tid;
    if (t->pf)
        r->uuid = tk_perfetto_thread(t->pf, tp->uuid, (int)tid, name);
    else if (t->ch)
        tk_chrome_thread(t->ch, tp->p->pid, (int)tid, *name ? name : "thread");
    return r;
}

static uint64_t iid_of(tk_trace *t, tr_proc *tp, uint32_t id)
{
    if (id >= tp->niids) {
        size_t n = (size_t)id + 1 > tp->niids * 2 ? (size_t)id + 1 : tp->niids * 2;
        uint64_t *q = realloc(tp->iids, n * sizeof *q);
        if (!q) {
            t->oom = 1;
            return 0;
        }
        memset(q + tp->niids, 0, (n - tp->niids) * sizeof *q);
        tp->iids = q;
        tp->niids = n;
    }
    if (!tp->iids[id]) {
        const char *name = tkc_proc_name(tp->p, id);
        tp->iids[id] = tk_perfetto_intern(t->pf, *name ? name : "?");
    }
    return tp->iids[id];
}

static void csv_name(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

/* Cost per span: a ring look-up (cached by ring index), two tick conversions, one writer call. */
static void on_spans(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n)
{
    tk_trace *t = ctx;
    tr_proc *tp = find(t, p);
    if (!tp)
        return;
    uint32_t last_ring = UINT32_MAX;
    tr_ring *r = NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i].ring != last_ring) {
            r = ring_of(t, tp, s[i].ring);
            last_ring = s[i].ring;
        }
        if (!r)
            continue;
        uint64_t start = tkc_proc_mono_ns(p, s[i].start);
        uint64_t lat = s[i].lat_ns;
        if (t->pf) {
            uint64_t origin = lat == TKC_NONE || lat > start ? TK_PERFETTO_NONE : start - lat;
            tk_perfetto_slice(t->pf, r->uuid, iid_of(t, tp, s[i].name), start, s[i].dur_ns,
                              origin);
        } else if (t->ch) {
            tk_chrome_span(t->ch, p->pid, (int)r->tid, tkc_proc_name(p, s[i].name), start,
                           s[i].dur_ns, lat == TKC_NONE ? TK_CHROME_NONE : lat);
        } else {
            fprintf(t->out, "span,%d,%" PRIu32 ",", p->pid, r->tid);
            csv_name(t->out, tkc_proc_name(p, s[i].name));
            fprintf(t->out, ",%" PRIu64 ",%" PRIu64 ",", start, s[i].dur_ns);
            if (lat != TKC_NONE)
                fprintf(t->out, "%" PRIu64, lat);
            fputs(",,,,,\n", t->out);
        }
    }
    t->spans += n;
}

static void on_point(void *ctx, const tkc_proc *p, const tkc_point *pt)
{
    tk_trace *t = ctx;
    tr_proc *tp = find(t, p);
    tr_ring *r = tp ? ring_of(t, tp, pt->ring) : NULL;
    t->points++;
    if (!r)
        return;
    if (t->pf) {
        tk_perfetto_instant(t->pf, r->uuid, iid_of(t, tp, pt->label), pt->mono_ns, pt->client,
                            pt->command, pt->session, pt->context, pt->context_len);
    } else if (t->ch) {
        tk_chrome_instant(t->ch, p->pid, (int)r->tid, tkc_proc_name(p, pt->label), pt->mono_ns,
                          pt->client, pt->command, pt->session, pt->context, pt->context_len);
    } else {
        fprintf(t->out, "point,%d,%" PRIu32 ",", p->pid, r->tid);
        csv_name(t->out, tkc_proc_name(p, pt->label));
        fprintf(t->out, ",%" PRIu64 ",,,", pt->mono_ns);
        uint64_t ids[3] = {pt->client, pt->command, pt->session};
        for (int k = 0; k < 3; k++) {
            if (ids[k] != TKC_NONE)
                fprintf(t->out, "%" PRIu64, ids[k]);
            putc(',', t->out);
        }
        if (pt->context) {
            putc('"', t->out);
            for (size_t k = 0; k < pt->context_len; k++) {
                if (pt->context[k] == '"')
                    putc('"', t->out);
                putc(pt->context[k], t->out);
            }
            putc('"', t->out);
        }
        fputs(",\n", t->out);
    }
}

static void on_loss(void *ctx, const tkc_proc *p, const tkc_loss *l)
{
    (void)p;
    tk_trace *t = ctx;
    if (l->count > 0)
        t->lost += (uint64_t)l->count;
}

/* A counter's total or a gauge's or stage's value (core/decode-counter.h) as a counter sample on
 * a counter track of the process, when it changed. Cost: an array look-up per poll and name. */
static void on_event(void *ctx, const tkc_proc *p, const tkc_event *e)
{
    tk_trace *t = ctx;
    if (e->kind != TKC_EV_COUNTER && e->kind != TKC_EV_GAUGE)
        return;
    tr_proc *tp = find(t, p);
    if (!tp)
        return;
    if (e->name >= tp->nvals) {
        size_t n = (size_t)e->name + 1 > tp->nvals * 2 ? (size_t)e->name + 1 : tp->nvals * 2;
        tr_value *q = realloc(tp->vals, n * sizeof *q);
        if (!q) {
            t->oom = 1;
            return;
        }
        memset(q + tp->nvals, 0, (n - tp->nvals) * sizeof *q);
        tp->vals = q;
        tp->nvals = n;
    }
    tr_value *v = &tp->vals[e->name];
    int64_t value = (int64_t)e->a;
    if (v->written && v->last == value)
        return;
    v->written = 1;
    v->last = value;
    t->samples++;
    const char *name = tkc_proc_name(p, e->name);
    if (t->pf) {
        if (!v->uuid)
            v->uuid = tk_perfetto_counter_track(
                t->pf, tp->uuid, *name ? name : "?",
                e->kind == TKC_EV_COUNTER ? TK_PERFETTO_UNIT_COUNT : TK_PERFETTO_UNIT_NONE);
        if (v->uuid)
            tk_perfetto_counter_int(t->pf, v->uuid, e->mono_ns, value);
    } else if (t->ch) {
        tk_chrome_counter(t->ch, p->pid, name, e->mono_ns, (double)value);
    } else {
        fprintf(t->out, "%s,%d,,", e->kind == TKC_EV_COUNTER ? "counter" : "gauge", p->pid);
        csv_name(t->out, name);
        fprintf(t->out, ",%" PRIu64 ",,,,,,,%" PRId64 "\n", e->mono_ns, value);
    }
}

int tk_trace_open(FILE *out, tk_trace_format format, int flows, tk_trace **tp)
{
    tk_trace *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->format = format;
    t->out = out;
    int rc = 0;
    if (format == TK_TRACE_PERFETTO)
        rc = tk_perfetto_open(out, flows, &t->pf);
    else if (format == TK_TRACE_CHROME)
        rc = tk_chrome_open(out, &t->ch);
    else
        fputs(TK_TRACE_CSV_HEADER, out);
    if (rc < 0) {
        free(t);
        return rc;
    }
    t->cons = (tkc_consumer){.ctx = t, .proc_appeared = on_appeared, .proc_gone = on_gone,
                             .spans = on_spans, .point = on_point, .loss = on_loss,
                             .event = on_event};
    *tp = t;
    return 0;
}

const tkc_consumer *tk_trace_consumer(tk_trace *t)
{
    return &t->cons;
}

void tk_trace_counts(const tk_trace *t, uint64_t *spans, uint64_t *points, uint64_t *lost)
{
    *spans = t->spans;
    *points = t->points;
    *lost = t->lost;
}

int tk_trace_close(tk_trace *t)
{
    if (!t)
        return 0;
    int rc = t->pf ? tk_perfetto_close(t->pf) : t->ch ? tk_chrome_close(t->ch) : 0;
    if (!rc && t->format == TK_TRACE_CSV && (fflush(t->out) != 0 || ferror(t->out)))
        rc = errno ? -errno : -EIO;
    if (!rc && t->oom)
        rc = -ENOMEM;
    for (size_t i = 0; i < t->nprocs; i++) {
        free(t->procs[i].rings);
        free(t->procs[i].iids);
        free(t->procs[i].vals);
    }
    free(t->procs);
    free(t);
    return rc;
}

uint64_t tk_trace_samples(const tk_trace *t)
{
    return t->samples;
}
