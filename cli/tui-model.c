/* tui-model.c — the data behind `timekeeper top`: copies per-interval statistics out of the
 * collector into per-timer histories and works out which processes and timers went quiet. */
#include "tui-model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_SLACK_NS 3000000000ull

int tui_model_init(tui_model *m, size_t history, uint64_t max_silence_ns, uint64_t exited_keep_ns)
{
    memset(m, 0, sizeof *m);
    if (history < 2)
        history = 2;
    m->cap = history;
    m->max_silence_ns = max_silence_ns;
    m->exited_keep_ns = exited_keep_ns;
    m->frame_end_ns = calloc(history, sizeof *m->frame_end_ns);
    m->frame_len_ns = calloc(history, sizeof *m->frame_len_ns);
    if (!m->frame_end_ns || !m->frame_len_ns) {
        tui_model_free(m);
        return -ENOMEM;
    }
    m->head = history - 1; /* the first frame goes to slot 0 */
    return 0;
}

static void timer_free(tui_timer *t)
{
    if (t) {
        free(t->samples);
        free(t);
    }
}

static void proc_free(tui_proc *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ntimers; i++)
        timer_free(p->timers[i]);
    free(p->timers);
    free(p);
}

void tui_model_free(tui_model *m)
{
    for (size_t i = 0; i < m->nprocs; i++)
        proc_free(m->procs[i]);
    free(m->procs);
    free(m->frame_end_ns);
    free(m->frame_len_ns);
    memset(m, 0, sizeof *m);
}

const char *tui_health_name(tui_health h)
{
    switch (h) {
    case TUI_OK: return "live";
    case TUI_IDLE: return "idle";
    case TUI_QUIET: return "quiet";
    case TUI_HUNG: return "no heartbeat";
    case TUI_EXITED: return "exited";
    }
    return "?";
}

/* ---- finding and adding ------------------------------------------------------------------------ */

static int proc_order(const tui_proc *a, const char *name, int pid, uint64_t start)
{
    int c = strcmp(a->name, name);
    if (c)
        return c;
    if (a->pid != pid)
        return a->pid < pid ? -1 : 1;
    return a->start_real_ns < start ? -1 : a->start_real_ns > start;
}

/* Index of the process (name, pid, start) in m->procs, or ~insertion point when absent. */
static size_t proc_find(const tui_model *m, const process_info *pi, int *found)
{
    size_t lo = 0, hi = m->nprocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = proc_order(m->procs[mid], pi->name, pi->pid, pi->start_real_ns);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static tui_proc *proc_add(tui_model *m, const process_info *pi)
{
    int found;
    size_t at = proc_find(m, pi, &found);
    if (found)
        return m->procs[at];
    tui_proc *p = calloc(1, sizeof *p);
    tui_proc **np = realloc(m->procs, (m->nprocs + 1) * sizeof *np);
    if (!p || !np) {
        free(p);
        if (np)
            m->procs = np;
        return NULL;
    }
    m->procs = np;
    p->pid = pi->pid;
    p->start_real_ns = pi->start_real_ns;
    memcpy(p->name, pi->name, sizeof p->name);
    p->name[sizeof p->name - 1] = '\0';
    memcpy(p->cmdline, pi->cmdline, sizeof p->cmdline);
    p->cmdline[sizeof p->cmdline - 1] = '\0';
    p->start_mono_ns = pi->start_mono_ns;
    memmove(m->procs + at + 1, m->procs + at, (m->nprocs - at) * sizeof *m->procs);
    m->procs[at] = p;
    m->nprocs++;
    return p;
}

/* Finds or adds the timer `name` of p. Both lists are sorted by name, so the timer is usually at
 * index `hint` (its index in the collector's list): one comparison instead of a search. */
static tui_timer *timer_add(tui_model *m, tui_proc *p, const char *name, size_t hint)
{
    if (hint < p->ntimers && strcmp(p->timers[hint]->name, name) == 0)
        return p->timers[hint];
    size_t lo = 0, hi = p->ntimers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->timers[mid]->name, name);
        if (c == 0)
            return p->timers[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    tui_timer *t = calloc(1, sizeof *t);
    tui_sample *s = t ? calloc(m->cap * KIND_COUNT, sizeof *s) : NULL;
    tui_timer **nt = s ? realloc(p->timers, (p->ntimers + 1) * sizeof *nt) : NULL;
    if (!nt) {
        free(s);
        free(t);
        return NULL;
    }
    p->timers = nt;
    t->proc = p;
    t->samples = s;
    snprintf(t->name, sizeof t->name, "%s", name);
    memmove(p->timers + lo + 1, p->timers + lo, (p->ntimers - lo) * sizeof *p->timers);
    p->timers[lo] = t;
    p->ntimers++;
    m->ntimers++;
    return t;
}

/* ---- frames ------------------------------------------------------------------------------------ */

static float to_float(double v) { return (float)v; }

static void sample_fill(tui_sample *s, const hist_summary *h)
{
    s->count = h->count > UINT32_MAX ? UINT32_MAX : (uint32_t)h->count;
    s->v[TUI_STAT_AVG] = to_float(h->avg);
    s->v[TUI_STAT_MIN] = to_float((double)h->min);
    s->v[TUI_STAT_MAX] = to_float((double)h->max);
    s->v[TUI_STAT_P50] = to_float((double)h->p50);
    s->v[TUI_STAT_P99] = to_float((double)h->p99);
}

static void timer_update(tui_model *m, tui_timer *t, const timer_stats *ts, double seconds)
{
    tui_sample *slot = t->samples + m->head * KIND_COUNT;
    for (int k = 0; k < KIND_COUNT; k++) {
        if (hist_count(ts->interval[k]))
            hist_summarize(ts->interval[k], &t->last[k]);
        else
            memset(&t->last[k], 0, sizeof t->last[k]);
        sample_fill(&slot[k], &t->last[k]);
        /* the collector merges an interval into the total at rollover, i.e. after this frame */
        t->count_total[k] = hist_count(ts->total[k]) + t->last[k].count;
    }
    for (int k = 0; k < KIND_COUNT; k++)
        t->rate_hz[k] = seconds > 0 ? (double)t->last[k].count / seconds : 0;
    t->count_seen += t->last[KIND_PROCESSING].count;
    t->has_origin = t->count_total[KIND_LATENCY] > 0;
    /* what top itself missed while attached, not what was overwritten before it came */
    uint64_t lapped = ts->lost_interval - ts->overwritten_interval;
    t->lost_last = lapped;
    t->lost_seen += lapped;
    t->last_mono_ns = ts->last_mono_ns;
}

static void proc_update(tui_proc *p, const process_info *pi, uint64_t now_ns)
{
    p->state = pi->state;
    if (pi->state == PROC_EXITED && !p->exited_seen_ns)
        p->exited_seen_ns = now_ns;
    p->heartbeat_mono_ns = pi->heartbeat_mono_ns;
    p->last_record_mono_ns = pi->last_record_mono_ns;
    p->lost_other = pi->dropped_no_ring;
    p->rings_used = pi->rings_used;
    p->present = 1;
}

/* Drops the processes that exited and left the collector more than exited_keep_ns ago. */
static void expire(tui_model *m, uint64_t now_ns)
{
    size_t j = 0;
    for (size_t i = 0; i < m->nprocs; i++) {
        tui_proc *p = m->procs[i];
        if (!p->present && p->exited_seen_ns && now_ns - p->exited_seen_ns >= m->exited_keep_ns) {
            m->ntimers -= p->ntimers;
            proc_free(p);
        } else {
            m->procs[j++] = p;
        }
    }
    m->nprocs = j;
}

int tui_model_add_frame(tui_model *m, const process_info *const *procs, size_t n, uint64_t now_ns,
                        uint64_t len_ns)
{
    int rc = 0;
    m->head = (m->head + 1) % m->cap;
    if (m->nframes < m->cap)
        m->nframes++;
    m->frame_end_ns[m->head] = now_ns;
    m->frame_len_ns[m->head] = len_ns;
    double seconds = (double)len_ns / 1e9;

    for (size_t i = 0; i < m->nprocs; i++) {
        tui_proc *p = m->procs[i];
        p->present = 0;
        for (size_t j = 0; j < p->ntimers; j++)
            memset(p->timers[j]->samples + m->head * KIND_COUNT, 0,
                   KIND_COUNT * sizeof(tui_sample));
    }
    for (size_t i = 0; i < n; i++) {
        const process_info *pi = procs[i];
        tui_proc *p = proc_add(m, pi);
        if (!p) {
            rc = -ENOMEM;
            continue;
        }
        proc_update(p, pi, now_ns);
        for (size_t j = 0; j < pi->ntimers; j++) {
            tui_timer *t = timer_add(m, p, pi->timers[j]->name, j);
            if (!t) {
                rc = -ENOMEM;
                continue;
            }
            timer_update(m, t, pi->timers[j], seconds);
        }
    }
    for (size_t i = 0; i < m->nprocs; i++) {
        tui_proc *p = m->procs[i];
        if (!p->present && !p->exited_seen_ns) { /* left the collector without being seen exit */
            p->state = PROC_EXITED;
            p->exited_seen_ns = now_ns;
        }
        for (size_t j = 0; !p->present && j < p->ntimers; j++) {
            memset(p->timers[j]->rate_hz, 0, sizeof p->timers[j]->rate_hz);
            p->timers[j]->lost_last = 0;
        }
    }
    expire(m, now_ns);
    tui_model_refresh_health(m, now_ns);
    return rc;
}

static uint64_t age_of(uint64_t now_ns, uint64_t then_ns)
{
    return then_ns && now_ns > then_ns ? now_ns - then_ns : 0;
}

void tui_model_refresh_health(tui_model *m, uint64_t now_ns)
{
    const uint64_t silence = m->max_silence_ns;
    /* the producer beats about once a second: a shorter allowed silence would flag healthy ones */
    const uint64_t heartbeat_silence = silence > HEARTBEAT_SLACK_NS ? silence : HEARTBEAT_SLACK_NS;
    m->nlive = m->nunhealthy = m->nquiet_timers = 0;
    m->lost_seen = m->lost_last = 0;
    for (size_t i = 0; i < m->nprocs; i++) {
        tui_proc *p = m->procs[i];
        if (p->state == PROC_EXITED)
            p->health = TUI_EXITED;
        else if (p->heartbeat_mono_ns && age_of(now_ns, p->heartbeat_mono_ns) > heartbeat_silence)
            p->health = TUI_HUNG;
        else if (age_of(now_ns, p->last_record_mono_ns > p->start_mono_ns ? p->last_record_mono_ns
                                                                          : p->start_mono_ns) >
                 silence)
            p->health = TUI_QUIET; /* as `timekeeper check` decides */
        else
            p->health = TUI_OK;
        if (p->health != TUI_EXITED)
            m->nlive++;
        if (p->health == TUI_HUNG || p->health == TUI_QUIET)
            m->nunhealthy++;
        for (size_t j = 0; j < p->ntimers; j++) {
            tui_timer *t = p->timers[j];
            if (p->health == TUI_EXITED)
                t->health = TUI_EXITED;
            else if (!t->last_mono_ns)
                t->health = TUI_IDLE;
            else if (age_of(now_ns, t->last_mono_ns) > silence)
                t->health = TUI_QUIET;
            else
                t->health = TUI_OK;
            if (t->health == TUI_QUIET)
                m->nquiet_timers++;
            m->lost_seen += t->lost_seen;
            m->lost_last += t->lost_last;
        }
    }
}

const tui_sample *tui_model_sample(const tui_model *m, const tui_timer *t, int kind, size_t age)
{
    if (age >= m->nframes || kind < 0 || kind >= KIND_COUNT)
        return NULL;
    size_t slot = (m->head + m->cap - age) % m->cap;
    return &t->samples[slot * KIND_COUNT + (size_t)kind];
}

int tui_model_has_timer(const tui_model *m, const tui_timer *t)
{
    for (size_t i = 0; i < m->nprocs; i++) {
        const tui_proc *p = m->procs[i];
        for (size_t j = 0; j < p->ntimers; j++)
            if (p->timers[j] == t)
                return 1;
    }
    return 0;
}
