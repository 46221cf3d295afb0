/* prom-values.c — the program's counters, gauges and stages and its /proc resources, added to a
 * serve snapshot: values from the counter aggregator, resources from a cache renewed at most once
 * per second and process, so a scrape costs a copy and not a /proc read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/counters.h"
#include "core/procstat.h"
#include "format/segment.h"
#include "sink/prom/prom.h"

/* The snapshot process of pid (the newest live one first), SIZE_MAX when there is none. */
static size_t proc_of(const tkp_snapshot *s, int pid)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid) {
            found = i;
            if (s->procs[i].up)
                break;
        }
    return found;
}

int tkp_snapshot_add_values(tkp_snapshot *s, const tka_counters *t)
{
    if (!t)
        return 0;
    size_t n = tka_counters_list(t, UINT64_MAX, NULL, 0);
    if (n == 0)
        return 0;
    tka_counter_value *vals = malloc(n * sizeof *vals);
    if (!vals)
        return -ENOMEM;
    size_t got = tka_counters_list(t, UINT64_MAX, vals, n);
    if (got > n)
        got = n;
    int rc = 0;
    size_t proc = SIZE_MAX;
    int last_pid = -1;
    for (size_t i = 0; i < got; i++) {
        const tka_counter_value *cv = &vals[i];
        if (cv->pid != last_pid) {
            proc = proc_of(s, cv->pid);
            last_pid = cv->pid;
        }
        if (proc == SIZE_MAX)
            continue;
        int kind = cv->kind == TKS_NAME_COUNTER ? TKP_VAL_COUNTER
                   : cv->kind == TKS_NAME_STAGE ? TKP_VAL_STAGE
                                                : TKP_VAL_GAUGE;
        tkp_value *v = tkp_snapshot_add_value(s, proc, kind, cv->name);
        if (!v) {
            rc = -ENOMEM;
            break;
        }
        v->total = cv->total;
        v->value = cv->value;
    }
    free(vals);
    return rc;
}

/* ---- resources --------------------------------------------------------------------------------- */
typedef struct res_entry {
    int pid;
    int have;           /* nonzero: sample is valid */
    uint64_t taken_ns;  /* when sampled (0: never) */
    tkc_procstat sample;
} res_entry;

struct tkp_resources {
    uint64_t min_age_ns;
    res_entry *e;
    size_t n, cap;
    uint64_t reads;
};

tkp_resources *tkp_resources_new(uint64_t min_age_ns)
{
    tkp_resources *r = calloc(1, sizeof *r);
    if (r)
        r->min_age_ns = min_age_ns ? min_age_ns : 1000000000ull;
    return r;
}

void tkp_resources_free(tkp_resources *r)
{
    if (!r)
        return;
    free(r->e);
    free(r);
}

uint64_t tkp_resources_reads(const tkp_resources *r) { return r ? r->reads : 0; }

static res_entry *entry_of(tkp_resources *r, int pid)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].pid == pid)
            return &r->e[i];
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 8;
        res_entry *ne = realloc(r->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        r->e = ne;
        r->cap = nc;
    }
    res_entry *e = &r->e[r->n++];
    memset(e, 0, sizeof *e);
    e->pid = pid;
    return e;
}

int tkp_resources_fill(tkp_resources *r, tkp_snapshot *s, uint64_t now_ns)
{
    if (!r)
        return 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        tkp_proc *p = &s->procs[i];
        if (p->pid <= 0)
            continue;
        res_entry *e = entry_of(r, p->pid);
        if (!e)
            return -ENOMEM;
        if (p->up && (e->taken_ns == 0 || now_ns - e->taken_ns >= r->min_age_ns)) {
            tkc_procstat ps;
            r->reads++;
            e->taken_ns = now_ns ? now_ns : 1;
            if (tkc_procstat_read(p->pid, &ps) == 0) {
                e->sample = ps;
                e->have = 1;
            }
        }
        if (!e->have)
            continue;
        p->have_res = 1;
        p->cpu_s = (double)(e->sample.utime_ns + e->sample.stime_ns) / 1e9;
        p->rss_bytes = e->sample.rss_bytes;
        p->threads = e->sample.threads;
        p->have_cs = e->sample.have_cs;
        p->voluntary_cs = e->sample.voluntary_cs;
        p->involuntary_cs = e->sample.involuntary_cs;
    }
    return 0;
}
