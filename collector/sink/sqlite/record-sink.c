/* sink/sqlite/record-sink.c — the recorder sink: the core's events and the aggregator's windows
 * into a SQLite recording (sink/sqlite/recdb.h). */
#include "sink/sqlite/record-sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/component.h"
#include "core/procstat.h"
#include "format/segment.h"
#include "sink/sqlite/recdb.h"

typedef struct ring_map {
    uint32_t tid;
    int64_t id;       /* threads.id, 0: none yet */
} ring_map;

/* One counter, gauge or stage of a process, as the recording last saw it. */
typedef struct rval {
    uint32_t id;      /* name id */
    int counter;      /* 1: a counter, 0: a gauge or stage */
    uint64_t total;   /* counter: its latest total */
    uint64_t base_iv; /* counter: its total when the interval began */
    uint64_t base_all;/* counter: its total when the recording began */
    int64_t value;    /* gauge, stage */
    uint64_t ns;      /* when read */
} rval;

typedef struct rproc {
    uint64_t key;
    const tkc_proc *core; /* valid until proc_gone */
    rval *vals;
    size_t nvals, capvals;
    int drained;      /* a drain pass ended since it appeared */
    tkc_procstat ps_first, ps_prev;
    int have_ps;
    int64_t id;       /* processes.id */
    int64_t *names;   /* names.id by name id, 0: not written */
    uint32_t nnames;
    ring_map *rings;
    uint32_t nrings;
    uint64_t all_name;/* the id of "__ALL__" + 1, 0: unknown */
    int gone;
} rproc;

typedef struct rstate {
    tk_recdb *db;
    tk_record_options o;
    tkc_consumer cons;
    int err;
    char stop_reason[128];
    rproc *procs;
    size_t nprocs, cap;
    size_t last;      /* index of the last looked-up process */
    tk_record_counts counts;
} rstate;

static int note(rstate *st, int rc)
{
    if (rc && !st->err)
        st->err = rc;
    return rc;
}

static rproc *proc_of(rstate *st, const tkc_proc *p)
{
    if (st->last < st->nprocs && st->procs[st->last].key == p->key && !st->procs[st->last].gone)
        return &st->procs[st->last];
    for (size_t i = 0; i < st->nprocs; i++)
        if (st->procs[i].key == p->key && !st->procs[i].gone) {
            st->last = i;
            return &st->procs[i];
        }
    return NULL;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case TKS_NAME_TIMER: return "timer";
    case TKS_NAME_LABEL: return "label";
    case TKS_NAME_COUNTER: return "counter";
    case TKS_NAME_GAUGE: return "gauge";
    case TKS_NAME_TASK: return "task";
    case TKS_NAME_COMPONENT: return "component";
    case TKS_NAME_STAGE: return "stage";
    default: return NULL;
    }
}

static const char *const loss_names[TKC_LOSS_REASONS] = {
    "overwritten", "lapped", "no_ring", "no_space", "names_full",
};

/* The names row of name id (written on first use, when the names callback did not). */
static int64_t name_row(rstate *st, rproc *rp, const tkc_proc *p, uint32_t id)
{
    if (id >= rp->nnames) {
        uint32_t n = rp->nnames ? rp->nnames : 64;
        while (n <= id)
            n *= 2;
        int64_t *nn = realloc(rp->names, n * sizeof *nn);
        if (!nn) {
            note(st, -ENOMEM);
            return 0;
        }
        memset(nn + rp->nnames, 0, (n - rp->nnames) * sizeof *nn);
        rp->names = nn;
        rp->nnames = n;
    }
    if (!rp->names[id] && !st->err) {
        const char *kind = kind_name(tkc_proc_name_kind(p, id));
        const char *name = tkc_proc_name(p, id);
        if (note(st, tk_recdb_add_name(st->db, rp->id, id, kind ? kind : "unknown", name,
                                       &rp->names[id])) == 0 &&
            kind && !strcmp(kind, "component") && !strcmp(name, "__ALL__"))
            rp->all_name = (uint64_t)id + 1;
    }
    return rp->names[id];
}

/* The threads row of ring (a new one when the ring's owner changed). */
static int64_t thread_row(rstate *st, rproc *rp, const tkc_proc *p, uint32_t ring)
{
    uint32_t tid = 0;
    const char *tname = "";
    if (tkc_proc_thread(p, ring, &tid, &tname) != 0)
        return 0;
    if (ring >= rp->nrings) {
        uint32_t n = rp->nrings ? rp->nrings : 8;
        while (n <= ring)
            n *= 2;
        ring_map *nr = realloc(rp->rings, n * sizeof *nr);
        if (!nr) {
            note(st, -ENOMEM);
            return 0;
        }
        memset(nr + rp->nrings, 0, (n - rp->nrings) * sizeof *nr);
        rp->rings = nr;
        rp->nrings = n;
    }
    ring_map *m = &rp->rings[ring];
    if ((!m->id || m->tid != tid) && !st->err) {
        m->tid = tid;
        note(st, tk_recdb_add_thread(st->db, rp->id, ring, tid, tname, &m->id));
    }
    return m->id;
}

static void on_appeared(void *ctx, const tkc_proc *p)
{
    rstate *st = ctx;
    if (st->err)
        return;
    if (st->nprocs == st->cap) {
        size_t n = st->cap ? st->cap * 2 : 8;
        rproc *np = realloc(st->procs, n * sizeof *np);
        if (!np) {
            note(st, -ENOMEM);
            return;
        }
        st->procs = np;
        st->cap = n;
    }
    rproc *rp = &st->procs[st->nprocs];
    memset(rp, 0, sizeof *rp);
    rp->key = p->key;
    rp->core = p;
    if (tkc_procstat_read(p->pid, &rp->ps_first) == 0) {
        rp->ps_prev = rp->ps_first;
        rp->have_ps = 1;
    }
    tk_recdb_process rec = {
        .pid = p->pid, .name = p->name, .cmdline = p->cmdline, .segment = p->path,
        .clock_source = p->clock_source, .start_real_ns = p->start_real_ns,
        .start_mono_ns = p->start_mono_ns,
        .real_minus_mono_ns = (int64_t)(p->start_real_ns - p->start_mono_ns),
    };
    if (note(st, tk_recdb_add_process(st->db, &rec, &rp->id)) == 0) {
        st->nprocs++;
        st->counts.processes++;
    }
}

static void update_process(rstate *st, const tkc_proc *p, rproc *rp)
{
    const char *kind = p->state == TKC_PROC_LIVE ? "running"
                       : p->exit_kind == TKC_EXIT_NORMAL ? "normal" : "killed";
    note(st, tk_recdb_update_process(st->db, rp->id, kind,
                                     p->exit_mono_ns ? p->exit_mono_ns : TK_RECDB_NONE,
                                     p->records, p->dropped_no_ring));
}

static void on_exited(void *ctx, const tkc_proc *p)
{
    rstate *st = ctx;
    rproc *rp = proc_of(st, p);
    if (rp && !st->err)
        update_process(st, p, rp);
}

static void on_gone(void *ctx, const tkc_proc *p)
{
    rstate *st = ctx;
    rproc *rp = proc_of(st, p);
    if (!rp)
        return;
    if (!st->err && p->state == TKC_PROC_LIVE)
        update_process(st, p, rp); /* the recorder stops while it runs */
    free(rp->names);
    free(rp->rings);
    free(rp->vals);
    rp->names = NULL;
    rp->rings = NULL;
    rp->vals = NULL;
    rp->nnames = rp->nrings = 0;
    rp->nvals = rp->capvals = 0;
    rp->core = NULL;
    rp->gone = 1;
}

static void on_names(void *ctx, const tkc_proc *p, uint32_t first, uint32_t end)
{
    rstate *st = ctx;
    rproc *rp = proc_of(st, p);
    for (uint32_t id = first; rp && id < end && !st->err; id++)
        if (kind_name(tkc_proc_name_kind(p, id)))
            name_row(st, rp, p, id);
}

/* Cost per span: a look-up of its thread and timer rows, a tick conversion and the block
 * encoding of tk_recdb_span (~10-20 ns). */
static void on_spans(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n)
{
    rstate *st = ctx;
    if (!st->o.raw || st->err)
        return;
    rproc *rp = proc_of(st, p);
    if (!rp)
        return;
    uint32_t ring = UINT32_MAX;
    int64_t thread = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].ring != ring) {
            ring = s[i].ring;
            thread = thread_row(st, rp, p, ring);
        }
        int64_t timer = s[i].name < rp->nnames && rp->names[s[i].name]
                            ? rp->names[s[i].name]
                            : name_row(st, rp, p, s[i].name);
        if (!thread || !timer)
            continue;
        uint64_t lat = s[i].lat_ns == TKC_NONE ? TK_RECDB_NONE : s[i].lat_ns;
        if (note(st, tk_recdb_span(st->db, thread, timer, tkc_proc_mono_ns(p, s[i].start),
                                   s[i].dur_ns, lat)))
            return;
    }
    st->counts.spans += n;
}

static void on_point(void *ctx, const tkc_proc *p, const tkc_point *pt)
{
    rstate *st = ctx;
    if (!st->o.raw || st->err)
        return;
    rproc *rp = proc_of(st, p);
    if (!rp)
        return;
    int64_t thread = thread_row(st, rp, p, pt->ring), label = name_row(st, rp, p, pt->label);
    if (!thread || !label)
        return;
    if (note(st, tk_recdb_point(st->db, thread, label, pt->mono_ns,
                                pt->client == TKC_NONE ? TK_RECDB_NONE : pt->client,
                                pt->command == TKC_NONE ? TK_RECDB_NONE : pt->command,
                                pt->session == TKC_NONE ? TK_RECDB_NONE : pt->session,
                                pt->context_len ? pt->context : NULL, pt->context_len)) == 0)
        st->counts.points++;
}

static void on_loss(void *ctx, const tkc_proc *p, const tkc_loss *l)
{
    rstate *st = ctx;
    rproc *rp = proc_of(st, p);
    if (!rp || st->err || l->count == 0 || (unsigned)l->reason >= TKC_LOSS_REASONS)
        return;
    int64_t name = l->name == UINT32_MAX ? 0 : name_row(st, rp, p, l->name);
    int64_t thread = l->ring == UINT32_MAX ? 0 : thread_row(st, rp, p, l->ring);
    note(st, tk_recdb_loss(st->db, rp->id, name, thread, loss_names[l->reason], l->count));
}

/* A counter's total or a gauge's value (core/decode-counter.h): kept until the next window.
 * A counter seen in the process's first poll counts from the total it had then (what the program
 * counted before the recording is not the recording's); one that appears later counts from 0. */
static void on_value(rstate *st, rproc *rp, const tkc_event *e)
{
    rval *v = NULL;
    for (size_t i = 0; i < rp->nvals && !v; i++)
        if (rp->vals[i].id == e->name)
            v = &rp->vals[i];
    if (!v) {
        if (rp->nvals == rp->capvals) {
            size_t n = rp->capvals ? rp->capvals * 2 : 8;
            rval *nv = realloc(rp->vals, n * sizeof *nv);
            if (!nv) {
                note(st, -ENOMEM);
                return;
            }
            rp->vals = nv;
            rp->capvals = n;
        }
        v = &rp->vals[rp->nvals++];
        memset(v, 0, sizeof *v);
        v->id = e->name;
        v->counter = e->kind == TKC_EV_COUNTER;
        if (v->counter && !rp->drained)
            v->base_iv = v->base_all = e->a;
    }
    if (v->counter) {
        if (e->a < v->total) /* went back (a malformed segment): start over from it */
            v->base_iv = v->base_all = e->a;
        v->total = e->a;
    } else {
        v->value = (int64_t)e->a;
    }
    v->ns = e->mono_ns;
}

static void on_drained(void *ctx, uint64_t now_mono_ns)
{
    rstate *st = ctx;
    (void)now_mono_ns;
    for (size_t i = 0; i < st->nprocs; i++)
        st->procs[i].drained = 1;
}

static void on_event(void *ctx, const tkc_proc *p, const tkc_event *e)
{
    rstate *st = ctx;
    if (!st->err && (e->kind == TKC_EV_COUNTER || e->kind == TKC_EV_GAUGE)) {
        rproc *rp = proc_of(st, p);
        if (rp)
            on_value(st, rp, e);
        return;
    }
    if (st->err || e->kind != TKC_EV_COMPONENT)
        return; /* tasks: their tables wait for their decoder */
    rproc *rp = proc_of(st, p);
    if (!rp)
        return;
    int64_t thread = thread_row(st, rp, p, e->ring), comp = name_row(st, rp, p, e->name);
    if (!thread || !comp)
        return;
    tk_recdb_call c = {
        .thread = thread, .component = comp,
        .is_all = rp->all_name == (uint64_t)e->name + 1,
        .sequence = (unsigned)e->d, .callback = tkc_component_callback_name(e->sub),
        .is_event = e->sub == TKS_CB_EVENT, .arg = e->b, .start_ns = e->mono_ns,
        .dur_ns = e->a, .status = (e->c & TKC_COMPONENT_NONZERO) ? 1 : 0,
    };
    if (note(st, tk_recdb_add_call(st->db, &c)) == 0) {
        st->counts.calls++;
        st->counts.events += c.is_event && c.is_all;
    }
}

/* ---- the sink ----------------------------------------------------------------------------------- */

/* The counters, gauges, stages and resources of every process still known, for window iv:
 * counter deltas since the interval began (the total window: since the recording began),
 * resources between the previous sample and now (the total window: since the first sample). */
static int write_values(rstate *st, int64_t iv, int total)
{
    for (size_t i = 0; i < st->nprocs; i++) {
        rproc *rp = &st->procs[i];
        if (rp->gone || !rp->core)
            continue;
        for (size_t j = 0; j < rp->nvals; j++) {
            rval *v = &rp->vals[j];
            int64_t name = name_row(st, rp, rp->core, v->id);
            if (!name)
                continue;
            int rc;
            if (v->counter) {
                rc = tk_recdb_counter(st->db, iv, name, v->ns, v->total,
                                      v->total - (total ? v->base_all : v->base_iv));
                if (!total)
                    v->base_iv = v->total;
            } else {
                rc = tk_recdb_gauge(st->db, iv, name, v->ns, v->value);
            }
            if (note(st, rc))
                return st->err;
        }
        /* an exited process has no interval of its own; the total ends at its last sample */
        tkc_procstat cur;
        if (!rp->have_ps)
            continue;
        if (rp->core->state != TKC_PROC_LIVE || tkc_procstat_read(rp->core->pid, &cur) != 0) {
            if (!total || rp->ps_prev.mono_ns == rp->ps_first.mono_ns)
                continue;
            cur = rp->ps_prev;
        }
        tkc_procstat_rates r;
        tkc_procstat_diff(total ? &rp->ps_first : &rp->ps_prev, &cur, &r);
        if (!total)
            rp->ps_prev = cur;
        tk_recdb_res res = {
            .seconds = r.seconds, .cpu_pct = r.cpu_pct, .user_pct = r.user_pct,
            .sys_pct = r.sys_pct, .rss_bytes = r.rss_bytes, .threads = r.threads,
            .cores = r.cores,
            .voluntary_cs = cur.have_cs ? r.voluntary_cs : TK_RECDB_NONE,
            .involuntary_cs = cur.have_cs ? r.involuntary_cs : TK_RECDB_NONE,
            .read_bytes = cur.have_io ? r.read_bytes : TK_RECDB_NONE,
            .write_bytes = cur.have_io ? r.write_bytes : TK_RECDB_NONE,
        };
        if (note(st, tk_recdb_resources(st->db, iv, rp->id, &res)))
            return st->err;
    }
    return 0;
}

static int rec_window(tk_sink *s, const tk_window_view *v)
{
    rstate *st = s->state;
    if (st->err)
        return st->err;
    uint64_t start = tka_agg_window_start(v->agg, v->window);
    int64_t iv;
    uint64_t start_real = (uint64_t)(v->now_real_s * 1e9) - (v->now_mono_ns - start);
    if (note(st, tk_recdb_add_interval(st->db, v->window == TKA_TOTAL ? "total" : "interval",
                                       start, v->now_mono_ns, start_real, v->seconds, &iv)))
        return st->err;
    st->counts.windows++;
    for (size_t i = 0; i < tka_agg_proc_count(v->agg); i++) {
        const tka_proc *ap = tka_agg_proc(v->agg, i);
        const tkc_proc *p = tka_proc_core(ap);
        rproc *rp = p ? proc_of(st, p) : NULL;
        if (!rp)
            continue;
        for (size_t j = 0; j < tka_proc_timer_count(ap); j++) {
            const tka_timer *t = tka_proc_timer(ap, j);
            int64_t timer = name_row(st, rp, p, tka_timer_id(t));
            if (!timer)
                continue;
            uint64_t lost = 0;
            for (int r = 0; r < TKC_LOSS_REASONS; r++)
                lost += tka_timer_lost(t, v->window, (tkc_loss_reason)r);
            for (int k = 0; k < TKA_KINDS; k++)
                if (note(st, tk_recdb_add_stat(st->db, iv, timer, k ? "latency" : "processing",
                                               tka_timer_hist(t, v->window, k),
                                               k ? 0 : lost)))
                    return st->err;
        }
    }
    if (write_values(st, iv, v->window == TKA_TOTAL))
        return st->err;
    return note(st, tk_recdb_commit(st->db));
}

static const tkc_consumer *rec_consumer(tk_sink *s) { return &((rstate *)s->state)->cons; }

static int rec_close(tk_sink *s)
{
    rstate *st = s->state;
    if (!st)
        return 0;
    int rc = tk_recdb_close(st->db, st->stop_reason[0] ? st->stop_reason : "finished");
    if (!st->err)
        st->err = rc;
    rc = st->err;
    for (size_t i = 0; i < st->nprocs; i++) {
        free(st->procs[i].names);
        free(st->procs[i].rings);
        free(st->procs[i].vals);
    }
    free(st->procs);
    free(st);
    s->state = NULL;
    return rc;
}

const tk_sink_ops tk_sink_sqlite = {
    .name = "sqlite", .window = rec_window, .consumer = rec_consumer, .close = rec_close,
};

int tk_record_open(tk_sink *s, const char *path, const tk_record_options *o)
{
    memset(s, 0, sizeof *s);
    s->ops = &tk_sink_sqlite;
    rstate *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    s->state = st;
    if (o)
        st->o = *o;
    st->cons = (tkc_consumer){
        .ctx = st, .proc_appeared = on_appeared, .proc_exited = on_exited, .proc_gone = on_gone,
        .names = on_names, .spans = on_spans, .point = on_point, .loss = on_loss,
        .event = on_event, .drained = on_drained,
    };
    tk_recdb_options ro = {.overwrite = st->o.overwrite, .version = st->o.version};
    return note(st, tk_recdb_open(path, &ro, &st->db));
}

int tk_record_commit(tk_sink *s)
{
    rstate *st = s->state;
    if (st->err)
        return st->err;
    return note(st, tk_recdb_commit(st->db));
}

int tk_record_status(const tk_sink *s) { return ((const rstate *)s->state)->err; }

const char *tk_record_error(const tk_sink *s)
{
    const rstate *st = s->state;
    if (!st)
        return "out of memory";
    if (st->err == -ENOMEM && !tk_recdb_error(st->db)[0])
        return "out of memory";
    return tk_recdb_error(st->db);
}

uint64_t tk_record_rows(const tk_sink *s) { return tk_recdb_rows(((const rstate *)s->state)->db); }
uint64_t tk_record_rows_committed(const tk_sink *s)
{
    return tk_recdb_rows_committed(((const rstate *)s->state)->db);
}
uint64_t tk_record_file_bytes(const tk_sink *s)
{
    return tk_recdb_file_bytes(((const rstate *)s->state)->db);
}

void tk_record_counts_get(const tk_sink *s, tk_record_counts *out)
{
    *out = ((const rstate *)s->state)->counts;
}

void tk_record_set_stop_reason(tk_sink *s, const char *reason)
{
    rstate *st = s->state;
    snprintf(st->stop_reason, sizeof st->stop_reason, "%s", reason);
}
