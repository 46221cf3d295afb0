/* prom-write.c — the exposition writer: a tkp_snapshot of plain values as Prometheus text 0.0.4
 * or OpenMetrics 1.0. Names and meanings are documented in docs/metrics.md; keep them stable. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink/prom/prom.h"

const double tkp_bounds_s[TKP_NBOUNDS] = {
    50e-9, 100e-9, 250e-9, 500e-9, 1e-6,   2.5e-6, 5e-6,   10e-6, 25e-6,
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3,   10e-3, 25e-3,
    50e-3, 100e-3, 250e-3, 500e-3, 1.0,    2.5,    5.0,
};
/* The same bounds in ns. */
const uint64_t tkp_bounds_ns[TKP_NBOUNDS] = {
    50,        100,        250,        500,        1000,        2500,        5000,
    10000,     25000,      50000,      100000,     250000,      500000,      1000000,
    2500000,   5000000,    10000000,   25000000,   50000000,    100000000,   250000000,
    500000000, 1000000000, 2500000000, 5000000000,
};

/* ---- snapshot ---------------------------------------------------------------------------------- */
void tkp_snapshot_reset(tkp_snapshot *s)
{
    s->nprocs = s->ntimers = s->npoints = s->ntasks = s->nvalues = 0;
    s->have_tasks = 0;
    s->build_s = 0;
}

void tkp_snapshot_clear(tkp_snapshot *s)
{
    free(s->procs);
    free(s->timers);
    free(s->points);
    free(s->tasks);
    free(s->values);
    memset(s, 0, sizeof *s);
}

/* Makes room for one more element of size sz in *arr; returns it zeroed, NULL on ENOMEM. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t sz)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, nc * sz);
        if (!p)
            return NULL;
        *arr = p;
        *cap = nc;
    }
    void *e = (char *)*arr + (*n)++ * sz;
    memset(e, 0, sz);
    return e;
}

static void copy_name(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

tkp_proc *tkp_snapshot_add_proc(tkp_snapshot *s, const char *name, int pid)
{
    tkp_proc *p = grow((void **)&s->procs, &s->nprocs, &s->cap_procs, sizeof *p);
    if (p) {
        copy_name(p->name, sizeof p->name, name);
        p->pid = pid;
        p->up = 1;
    }
    return p;
}

tkp_timer *tkp_snapshot_add_timer(tkp_snapshot *s, size_t proc, const char *name)
{
    tkp_timer *t = grow((void **)&s->timers, &s->ntimers, &s->cap_timers, sizeof *t);
    if (t) {
        t->proc = proc;
        copy_name(t->name, sizeof t->name, name);
    }
    return t;
}

tkp_points *tkp_snapshot_add_points(tkp_snapshot *s, size_t proc, const char *label,
                                    uint64_t count)
{
    tkp_points *p = grow((void **)&s->points, &s->npoints, &s->cap_points, sizeof *p);
    if (p) {
        p->proc = proc;
        copy_name(p->label, sizeof p->label, label);
        p->count = count;
    }
    return p;
}

tkp_task *tkp_snapshot_add_task(tkp_snapshot *s, size_t proc, const char *function,
                                const char *file, unsigned line)
{
    tkp_task *t = grow((void **)&s->tasks, &s->ntasks, &s->cap_tasks, sizeof *t);
    if (t) {
        t->proc = proc;
        copy_name(t->function, sizeof t->function, function);
        copy_name(t->file, sizeof t->file, file);
        t->line = line;
    }
    s->have_tasks = 1;
    return t;
}

tkp_value *tkp_snapshot_add_value(tkp_snapshot *s, size_t proc, int kind, const char *name)
{
    tkp_value *v = grow((void **)&s->values, &s->nvalues, &s->cap_values, sizeof *v);
    if (v) {
        v->proc = proc;
        v->kind = kind;
        copy_name(v->name, sizeof v->name, name);
    }
    return v;
}

/* Keeps the elements of arr (n of size sz, each with its process index at offset off) whose
 * process survives, renumbered through map (nmap old processes; SIZE_MAX: removed). An element
 * of no process (index SIZE_MAX: task types are summed over processes) stays. Returns the new
 * count. */
static size_t keep_by_proc(void *arr, size_t n, size_t sz, size_t off, const size_t *map,
                           size_t nmap)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char *e = (char *)arr + i * sz;
        size_t proc;
        memcpy(&proc, e + off, sizeof proc);
        if (proc < nmap) {
            if (map[proc] == SIZE_MAX)
                continue;
            proc = map[proc];
            memcpy(e + off, &proc, sizeof proc);
        }
        if (j != i)
            memmove((char *)arr + j * sz, e, sz);
        j++;
    }
    return j;
}

size_t tkp_snapshot_forget(tkp_snapshot *s, double after_s)
{
    size_t gone = 0;
    for (size_t i = 0; i < s->nprocs; i++)
        gone += !s->procs[i].up && s->procs[i].down_s >= after_s;
    if (!gone)
        return 0;
    /* the process indexes, old -> new; on ENOMEM nothing is forgotten this time (the next
     * snapshot tries again) */
    size_t *map = malloc(s->nprocs * sizeof *map);
    if (!map)
        return 0;
    size_t j = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        if (!s->procs[i].up && s->procs[i].down_s >= after_s) {
            map[i] = SIZE_MAX;
            continue;
        }
        map[i] = j;
        if (j != i)
            s->procs[j] = s->procs[i];
        j++;
    }
    const size_t nold = s->nprocs;
    s->nprocs = j;
    s->ntimers = keep_by_proc(s->timers, s->ntimers, sizeof *s->timers,
                              offsetof(tkp_timer, proc), map, nold);
    s->npoints = keep_by_proc(s->points, s->npoints, sizeof *s->points,
                              offsetof(tkp_points, proc), map, nold);
    s->ntasks = keep_by_proc(s->tasks, s->ntasks, sizeof *s->tasks, offsetof(tkp_task, proc),
                             map, nold);
    s->nvalues = keep_by_proc(s->values, s->nvalues, sizeof *s->values,
                              offsetof(tkp_value, proc), map, nold);
    free(map);
    return gone;
}

/* ---- histograms at the fixed bounds ------------------------------------------------------------ */
/* The first bound >= v, TKP_NBOUNDS when v is above every bound. */
static size_t bound_index(uint64_t v)
{
    size_t lo = 0, hi = TKP_NBOUNDS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tkp_bounds_ns[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

typedef struct cum_ctx {
    uint64_t per[TKP_NBOUNDS + 1]; /* non-cumulative, [TKP_NBOUNDS]: above every bound */
    double sum_ns;
    size_t next;                   /* the first bound not yet known to be below the bucket */
} cum_ctx;

/* Buckets come in increasing order, so the bound index only moves forward: amortised O(1). */
static int on_bucket(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    cum_ctx *c = ctx;
    while (c->next < TKP_NBOUNDS && tkp_bounds_ns[c->next] < hi)
        c->next++;
    c->per[c->next] += count;
    c->sum_ns += ((double)lo + (double)hi) / 2 * (double)count;
    return 0;
}

void tkp_hist_add(tkp_hist *out, const hist *h)
{
    if (!h || hist_count(h) == 0)
        return;
    cum_ctx c = {{0}, 0, 0};
    hist_foreach(h, on_bucket, &c);
    uint64_t run = 0;
    for (size_t i = 0; i < TKP_NBOUNDS; i++) {
        run += c.per[i];
        out->le[i] += run;
    }
    out->count += run + c.per[TKP_NBOUNDS];
    /* The sum from bucket midpoints: exact below 2048 ns, within 1/2048 above (hist.h has no
     * sum accessor short of hist_summarize, which also computes four quantiles). */
    out->sum_s += c.sum_ns / 1e9;
}

void tkp_hist_add_ns(tkp_hist *out, uint64_t ns, uint64_t n)
{
    for (size_t i = bound_index(ns); i < TKP_NBOUNDS; i++)
        out->le[i] += n;
    out->count += n;
    out->sum_s += (double)ns * (double)n / 1e9;
}

/* ---- the buffer -------------------------------------------------------------------------------- */
void tkp_buf_free(tkp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int reserve(tkp_buf *b, size_t more)
{
    if (b->oom)
        return -ENOMEM;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + more + 1)
        nc *= 2;
    char *p = realloc(b->p, nc);
    if (!p) {
        b->oom = 1;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = nc;
    return 0;
}

static void put(tkp_buf *b, const char *s, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(tkp_buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_u64(tkp_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do
        tmp[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(b, tmp + i, sizeof tmp - i);
}

/* A float in the shortest spelling that reads back the same; +Inf, -Inf, NaN as both formats
 * spell them. */
static void put_double(tkp_buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) {
        puts_(b, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    puts_(b, tmp);
}

static void putf(tkp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(tkp_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int tkp_buf_label_value(tkp_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        const char *run = p;
        while (*p && *p != '\\' && *p != '"' && *p != '\n')
            p++;
        put(b, run, (size_t)(p - run));
        if (!*p)
            break;
        put(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
    }
    return b->oom ? -ENOMEM : 0;
}

/* ---- families ---------------------------------------------------------------------------------- */
typedef enum { COUNTER, GAUGE, HISTOGRAM } family_type;

typedef struct writer {
    tkp_buf *b;
    tkp_format f;
    const tkp_snapshot *s;
    tkp_buf labels; /* the label set of the current series, without braces */
} writer;

/* The family header. name is the family's name: for a counter without `_total` (OpenMetrics
 * names the family so, text 0.0.4 names it with the suffix); unit: "seconds" or NULL. */
static void family(writer *w, const char *name, family_type type, const char *unit,
                   const char *help)
{
    const char *suffix = type == COUNTER && w->f == TKP_TEXT ? "_total" : "";
    static const char *const types[] = {"counter", "gauge", "histogram"};
    putf(w->b, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name, suffix,
         types[type]);
    if (unit && w->f == TKP_OPENMETRICS)
        putf(w->b, "# UNIT %s %s\n", name, unit);
}

static void label(writer *w, const char *key, const char *value)
{
    if (w->labels.len)
        put(&w->labels, ",", 1);
    puts_(&w->labels, key);
    put(&w->labels, "=\"", 2);
    tkp_buf_label_value(&w->labels, value);
    put(&w->labels, "\"", 1);
}

static void proc_labels(writer *w, size_t proc)
{
    w->labels.len = 0;
    if (w->labels.p)
        w->labels.p[0] = 0;
    if (proc >= w->s->nprocs)
        return;
    char pid[16];
    snprintf(pid, sizeof pid, "%d", w->s->procs[proc].pid);
    label(w, "process", w->s->procs[proc].name);
    label(w, "pid", pid);
}

/* name{labels[,extra]} */
static void series_name(writer *w, const char *name, const char *suffix, const char *extra)
{
    puts_(w->b, name);
    puts_(w->b, suffix);
    if (!w->labels.len && !extra)
        return;
    put(w->b, "{", 1);
    put(w->b, w->labels.p ? w->labels.p : "", w->labels.len);
    if (extra) {
        if (w->labels.len)
            put(w->b, ",", 1);
        puts_(w->b, extra);
    }
    /* extra "" leaves name{labels,} for the caller to complete */
    put(w->b, "}", 1);
}

static void sample_u64(writer *w, const char *name, const char *suffix, uint64_t v)
{
    series_name(w, name, suffix, NULL);
    put(w->b, " ", 1);
    put_u64(w->b, v);
    put(w->b, "\n", 1);
}

static void sample_double(writer *w, const char *name, const char *suffix, double v)
{
    series_name(w, name, suffix, NULL);
    put(w->b, " ", 1);
    put_double(w->b, v);
    put(w->b, "\n", 1);
}

/* ,le="<bound>"} for each bound, built once: a bucket line is then three copies and a number. */
static const char *const le_text[TKP_NBOUNDS + 1] = {
#define LE(x) "le=\"" x "\"}"
    LE("5e-08"),  LE("1e-07"),  LE("2.5e-07"), LE("5e-07"),  LE("1e-06"), LE("2.5e-06"),
    LE("5e-06"),  LE("1e-05"),  LE("2.5e-05"), LE("5e-05"),  LE("0.0001"), LE("0.00025"),
    LE("0.0005"), LE("0.001"),  LE("0.0025"),  LE("0.005"),  LE("0.01"),  LE("0.025"),
    LE("0.05"),   LE("0.1"),    LE("0.25"),    LE("0.5"),    LE("1"),     LE("2.5"),
    LE("5"),      LE("+Inf"),
#undef LE
};

static void histogram(writer *w, const char *name, const tkp_hist *h)
{
    /* the part every bucket line shares: name_bucket{labels, */
    size_t start = w->b->len;
    series_name(w, name, "_bucket", "");
    if (w->b->oom)
        return;
    w->b->len--; /* drop the closing brace: le follows */
    size_t plen = w->b->len - start;
    for (size_t i = 0; i <= TKP_NBOUNDS; i++) {
        if (i > 0) {
            if (reserve(w->b, plen))
                return;
            memcpy(w->b->p + w->b->len, w->b->p + start, plen);
            w->b->len += plen;
        }
        puts_(w->b, le_text[i]);
        put(w->b, " ", 1);
        uint64_t v = i == TKP_NBOUNDS ? h->count : h->le[i] <= h->count ? h->le[i] : h->count;
        put_u64(w->b, v);
        put(w->b, "\n", 1);
    }
    sample_double(w, name, "_sum", h->sum_s);
    sample_u64(w, name, "_count", h->count);
}

static void timer_labels(writer *w, const tkp_timer *t)
{
    proc_labels(w, t->proc);
    label(w, "timer", t->name);
}

static void timers(writer *w)
{
    const tkp_snapshot *s = w->s;
    family(w, "timekeeper_timer_processing_seconds", HISTOGRAM, "seconds",
           "Processing time of a timer (start to stop).");
    for (size_t i = 0; i < s->ntimers; i++) {
        timer_labels(w, &s->timers[i]);
        histogram(w, "timekeeper_timer_processing_seconds", &s->timers[i].processing);
    }
    family(w, "timekeeper_timer_latency_seconds", HISTOGRAM, "seconds",
           "Latency of a timer: its start minus the origin its message carried.");
    for (size_t i = 0; i < s->ntimers; i++) {
        if (!s->timers[i].has_latency)
            continue;
        timer_labels(w, &s->timers[i]);
        histogram(w, "timekeeper_timer_latency_seconds", &s->timers[i].latency);
    }
    family(w, "timekeeper_timer_records_lost", COUNTER, NULL,
           "Records of a timer that were lost before they were read (any reason).");
    for (size_t i = 0; i < s->ntimers; i++) {
        timer_labels(w, &s->timers[i]);
        sample_u64(w, "timekeeper_timer_records_lost", "_total", s->timers[i].lost);
    }
}

/* One counter family over the processes: the value at offset off of tkp_proc. */
static void proc_counter(writer *w, const char *name, const char *help, size_t off)
{
    family(w, name, COUNTER, NULL, help);
    for (size_t i = 0; i < w->s->nprocs; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&w->s->procs[i] + off, sizeof v);
        proc_labels(w, i);
        sample_u64(w, name, "_total", v);
    }
}

static void processes(writer *w)
{
    const tkp_snapshot *s = w->s;
    uint64_t live = 0;
    family(w, "timekeeper_process_up", GAUGE, NULL,
           "1 while the instrumented process runs, 0 once it exited.");
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_labels(w, i);
        sample_u64(w, "timekeeper_process_up", "", s->procs[i].up ? 1 : 0);
        live += s->procs[i].up != 0;
    }
    family(w, "timekeeper_process_silence_seconds", GAUGE, "seconds",
           "Seconds since the process's newest record (since its start when it has none).");
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_labels(w, i);
        sample_double(w, "timekeeper_process_silence_seconds", "", s->procs[i].silence_s);
    }
    proc_counter(w, "timekeeper_records_read", "Records read from the process's rings.",
                 offsetof(tkp_proc, records));
    proc_counter(w, "timekeeper_records_overwritten",
                 "Records a ring overwrote before this collector first read it.",
                 offsetof(tkp_proc, overwritten));
    proc_counter(w, "timekeeper_records_lost",
                 "Records a ring overwrote while this collector was attached (overruns).",
                 offsetof(tkp_proc, lost));
    proc_counter(w, "timekeeper_records_dropped",
                 "Records the producer dropped: no free ring, no space, name table full.",
                 offsetof(tkp_proc, dropped));
    proc_counter(w, "timekeeper_records_corrupt",
                 "Records skipped as malformed or of a type this collector does not know.",
                 offsetof(tkp_proc, corrupt));
    family(w, "timekeeper_points", COUNTER, NULL, "Labeled timing points read, per label.");
    for (size_t i = 0; i < s->npoints; i++) {
        proc_labels(w, s->points[i].proc);
        label(w, "label", s->points[i].label);
        sample_u64(w, "timekeeper_points", "_total", s->points[i].count);
    }
    w->labels.len = 0;
    family(w, "timekeeper_processes", GAUGE, NULL, "Instrumented processes running now.");
    sample_u64(w, "timekeeper_processes", "", live);
}

/* Counters, gauges and stages of the program, then its resources. */
static void program_values(writer *w)
{
    const tkp_snapshot *s = w->s;
    static const char *const fam[] = {"timekeeper_program", "timekeeper_program_value",
                                      "timekeeper_stage_on"};
    static const char *const key[] = {"counter", "gauge", "stage"};
    static const char *const help[] = {
        "A program counter (tk_counter_add): its total since the process started.",
        "A program gauge (tk_gauge_set): its latest value.",
        "A pipeline stage of the program (tk_stage): 1 on, 0 switched off."};
    for (int k = TKP_VAL_COUNTER; k <= TKP_VAL_STAGE; k++) {
        family(w, fam[k], k == TKP_VAL_COUNTER ? COUNTER : GAUGE, NULL, help[k]);
        for (size_t i = 0; i < s->nvalues; i++) {
            const tkp_value *v = &s->values[i];
            if (v->kind != k)
                continue;
            proc_labels(w, v->proc);
            label(w, key[k], v->name);
            if (k == TKP_VAL_COUNTER) {
                sample_u64(w, fam[k], "_total", v->total);
            } else {
                series_name(w, fam[k], "", NULL);
                putf(w->b, " %lld\n", (long long)v->value);
            }
        }
    }
    family(w, "timekeeper_process_cpu_seconds", COUNTER, "seconds",
           "CPU time (user + system) the process used since it started, from /proc.");
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].have_res) {
            proc_labels(w, i);
            sample_double(w, "timekeeper_process_cpu_seconds", "_total", s->procs[i].cpu_s);
        }
    family(w, "timekeeper_process_resident_bytes", GAUGE, "bytes",
           "Resident set size of the process, from /proc.");
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].have_res) {
            proc_labels(w, i);
            sample_u64(w, "timekeeper_process_resident_bytes", "", s->procs[i].rss_bytes);
        }
    family(w, "timekeeper_process_threads", GAUGE, NULL, "Threads of the process, from /proc.");
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].have_res) {
            proc_labels(w, i);
            sample_u64(w, "timekeeper_process_threads", "", s->procs[i].threads);
        }
    family(w, "timekeeper_process_context_switches", COUNTER, NULL,
           "Context switches of the process's threads since it started, voluntary (it waited) "
           "or involuntary (preempted), from /proc.");
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].have_res && s->procs[i].have_cs) {
            proc_labels(w, i);
            label(w, "kind", "voluntary");
            sample_u64(w, "timekeeper_process_context_switches", "_total",
                       s->procs[i].voluntary_cs);
            proc_labels(w, i);
            label(w, "kind", "involuntary");
            sample_u64(w, "timekeeper_process_context_switches", "_total",
                       s->procs[i].involuntary_cs);
        }
}

/* ---- task types: top-k per process and `other` ------------------------------------------------- */
static int by_weight(const void *a, const void *b)
{
    const tkp_task *x = *(const tkp_task *const *)a, *y = *(const tkp_task *const *)b;
    if (x->proc != y->proc)
        return x->proc < y->proc ? -1 : 1;
    if (x->exec_with_children_s != y->exec_with_children_s)
        return x->exec_with_children_s > y->exec_with_children_s ? -1 : 1;
    int c = strcmp(x->function, y->function);
    if (c)
        return c;
    c = strcmp(x->file, y->file);
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

typedef struct task_view {
    size_t n;           /* series: the top tasks and one `other` per process with tasks */
    const tkp_task **series;
    tkp_task *others;
} task_view;

static void task_labels(writer *w, const tkp_task *t, int other)
{
    char line[16];
    proc_labels(w, t->proc);
    label(w, "function", t->function);
    label(w, "file", other ? "" : t->file);
    snprintf(line, sizeof line, "%u", t->line);
    label(w, "line", other ? "" : line);
}

static void task_counter(writer *w, const task_view *v, const char *name, const char *unit,
                         const char *help, size_t off, int is_double)
{
    family(w, name, COUNTER, unit, help);
    for (size_t i = 0; i < v->n; i++) {
        const tkp_task *t = v->series[i];
        task_labels(w, t, t >= v->others && t <= v->others + w->s->nprocs);
        if (is_double) {
            double d;
            memcpy(&d, (const char *)t + off, sizeof d);
            sample_double(w, name, "_total", d);
        } else {
            uint64_t u;
            memcpy(&u, (const char *)t + off, sizeof u);
            sample_u64(w, name, "_total", u);
        }
    }
}

static int tasks(writer *w, unsigned top_k)
{
    const tkp_snapshot *s = w->s;
    const tkp_task **order = malloc((s->ntasks + 1) * sizeof *order);
    task_view v = {0, malloc((s->ntasks + s->nprocs + 1) * sizeof *v.series),
                   calloc(s->nprocs + 1, sizeof *v.others)};
    if (!order || !v.series || !v.others) {
        free(order);
        free(v.series);
        free(v.others);
        w->b->oom = 1;
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->ntasks; i++)
        order[i] = &s->tasks[i];
    qsort(order, s->ntasks, sizeof *order, by_weight);
    for (size_t i = 0; i < s->ntasks;) {
        size_t proc = order[i]->proc, rank = 0;
        tkp_task *o = &v.others[proc < s->nprocs ? proc : s->nprocs];
        o->proc = proc;
        snprintf(o->function, sizeof o->function, "other");
        for (; i < s->ntasks && order[i]->proc == proc; i++, rank++) {
            const tkp_task *t = order[i];
            if (rank < top_k) {
                v.series[v.n++] = t;
                continue;
            }
            o->exec_s += t->exec_s;
            o->exec_with_children_s += t->exec_with_children_s;
            o->wall_s += t->wall_s;
            o->completed += t->completed;
            o->failed += t->failed;
            o->cancelled += t->cancelled;
            o->stillborn += t->stillborn;
            if (t->max_slice_s > o->max_slice_s)
                o->max_slice_s = t->max_slice_s;
        }
        v.series[v.n++] = o;
    }
    task_counter(w, &v, "timekeeper_task_exec_seconds", "seconds",
                 "Time tasks of a type occupied their thread themselves.",
                 offsetof(tkp_task, exec_s), 1);
    task_counter(w, &v, "timekeeper_task_exec_with_children_seconds", "seconds",
                 "Exec time of tasks of a type plus the running time of their direct children.",
                 offsetof(tkp_task, exec_with_children_s), 1);
    task_counter(w, &v, "timekeeper_task_wall_seconds", "seconds",
                 "Completion minus creation, summed over the completed tasks of a type.",
                 offsetof(tkp_task, wall_s), 1);
    family(w, "timekeeper_task_calls", COUNTER, NULL,
           "Tasks of a type that finished, by outcome (completed, failed, cancelled).");
    static const char *const outcomes[] = {"completed", "failed", "cancelled"};
    for (size_t i = 0; i < v.n; i++) {
        const tkp_task *t = v.series[i];
        const uint64_t n[] = {t->completed, t->failed, t->cancelled};
        for (int k = 0; k < 3; k++) {
            task_labels(w, t, t >= v.others && t <= v.others + s->nprocs);
            label(w, "outcome", outcomes[k]);
            sample_u64(w, "timekeeper_task_calls", "_total", n[k]);
        }
    }
    task_counter(w, &v, "timekeeper_task_stillborn", NULL,
                 "Tasks of a type that finished without ever running.",
                 offsetof(tkp_task, stillborn), 0);
    family(w, "timekeeper_task_max_slice_seconds", GAUGE, "seconds",
           "The longest single running slice of a task of the type.");
    for (size_t i = 0; i < v.n; i++) {
        const tkp_task *t = v.series[i];
        task_labels(w, t, t >= v.others && t <= v.others + s->nprocs);
        sample_double(w, "timekeeper_task_max_slice_seconds", "", t->max_slice_s);
    }
    free(order);
    free(v.series);
    free(v.others);
    return 0;
}

int tkp_write(tkp_buf *b, const tkp_snapshot *s, tkp_format f, unsigned top_k)
{
    writer w = {b, f, s, {0}};
    reserve(b, 4096 + s->ntimers * 6000);
    timers(&w);
    processes(&w);
    program_values(&w);
    if (s->have_tasks)
        tasks(&w, top_k);
    w.labels.len = 0;
    family(&w, "timekeeper_scrape_snapshot_seconds", GAUGE, "seconds",
           "How long the collector thread took to copy this scrape's snapshot.");
    sample_double(&w, "timekeeper_scrape_snapshot_seconds", "", s->build_s);
    if (f == TKP_OPENMETRICS)
        puts_(b, "# EOF\n");
    tkp_buf_free(&w.labels);
    return b->oom ? -ENOMEM : 0;
}

/* ---- content negotiation ----------------------------------------------------------------------- */
const char *tkp_content_type(tkp_format f)
{
    return f == TKP_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                : "text/plain; version=0.0.4; charset=utf-8";
}

tkp_format tkp_negotiate(const char *accept)
{
    static const char om[] = "application/openmetrics-text";
    for (const char *p = accept; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= sizeof om - 1 && !strncasecmp(p, om, sizeof om - 1) &&
            (len == sizeof om - 1 || p[sizeof om - 1] == ';' || p[sizeof om - 1] == ' ')) {
            double q = 1;
            for (const char *r = p; r < p + len; r++)
                if ((*r == ';' || *r == ' ') && r + 2 < p + len && (r[1] == 'q' || r[1] == 'Q') &&
                    r[2] == '=')
                    q = strtod(r + 3, NULL);
            if (q > 0)
                return TKP_OPENMETRICS;
        }
        p += len;
    }
    return TKP_TEXT;
}

/* ---- health ------------------------------------------------------------------------------------ */
int tkp_healthy(const tkp_snapshot *s, double max_silence_s, int allow_none, tkp_buf *why)
{
    size_t live = 0, quiet = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        const tkp_proc *p = &s->procs[i];
        if (!p->up)
            continue;
        live++;
        if (p->silence_s <= max_silence_s)
            continue;
        quiet++;
        if (why)
            putf(why, "quiet: pid %d (%s) has not recorded for %.1f s\n", p->pid, p->name,
                 p->silence_s);
    }
    if (live == 0 && !allow_none && why)
        puts_(why, "no live instrumented process\n");
    return quiet == 0 && (live > 0 || allow_none);
}
