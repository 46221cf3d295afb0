/* cmd-diff.c — `timekeeper diff A.db B.db`: per timer, count, p50, p99 and max of two recordings,
 * their relative change sorted by the largest regression, and whether the change is larger than
 * the run's own interval-to-interval noise (a bootstrap over intervals). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg/hist.h"
#include "cli.h"
#ifdef TK_HAVE_RECORDING_READ
#include "sink/export/recording-read.h"
#endif

enum { OPT_FAIL_ON = 256, OPT_MIN_CHANGE, OPT_RESAMPLES };
#define MAX_GATES 16

static const cli_option options[] = {
    {"json", 'j', NULL, "one JSON document instead of the table"},
    {"fail-on", OPT_FAIL_ON, "RULE",
     "exit 1 when a change passes RULE: METRIC>N% or METRIC<N% with METRIC p50, p99, max or "
     "count (e.g. 'p99>5%', 'count<-10%'); p50/p99 rules fire only beyond the noise; repeatable"},
    {"min-change", OPT_MIN_CHANGE, "PCT", "smallest change called a regression (default 1%)"},
    {"resamples", OPT_RESAMPLES, "N", "bootstrap resamples (default 400)"},
    {0},
};

typedef enum { M_P50, M_P99, M_MAX, M_COUNT, METRICS } metric;
static const char *const metric_names[METRICS] = {"p50", "p99", "max", "count"};

typedef struct gate {
    metric m;
    int above;       /* 1: change > limit fails; 0: change < limit fails */
    double limit;    /* relative: 0.05 for 5% */
    const char *text;
} gate;

typedef struct diff_opts {
    int json;
    gate gates[MAX_GATES];
    int ngates;
    double min_change;
    unsigned resamples;
} diff_opts;

static int cmd_diff(int argc, char **argv);
const cli_command cmd_diff_def = {
    "diff", cmd_diff, "compare two recordings: what got slower, beyond the noise",
    "[--json] [--fail-on RULE]... [--min-change PCT] [--resamples N] A.db B.db",
    "For every timer (processing and latency) and every component callback of two recordings:\n"
    "count, p50, p99 and max in A and in B, the relative change from A to B, sorted by the largest regression, and a verdict:\n"
    "  regressed / improved   the change of p50 or p99 is beyond the noise and at least\n"
    "                         --min-change;\n"
    "  noise                  the change is within what the runs' own variation explains;\n"
    "  ?                      fewer than 5 intervals in a run: no estimate of the noise.\n"
    "The noise comes from the per-interval histograms a recording keeps: the intervals of each\n"
    "run are resampled with replacement (a bootstrap), their histograms merged and the percentile\n"
    "taken, giving a 95% confidence interval of the relative change. A change is beyond the noise\n"
    "when that interval excludes 0. Resampling whole intervals keeps what varies from one second\n"
    "to the next (load, caches, other processes), which a confidence interval computed from the\n"
    "pooled values alone would miss. More than 64 intervals are resampled as 64 blocks of\n"
    "consecutive intervals. Timers are matched by process name and timer name.\n"
    "Exit status: 0, or 1 when a --fail-on rule fired (or a recording could not be read).",
    options,
};

static int parse_gate(const char *arg, gate *g)
{
    size_t n = strcspn(arg, "<>");
    if (!arg[n])
        return -1;
    g->m = METRICS;
    for (int m = 0; m < METRICS; m++)
        if (strlen(metric_names[m]) == n && strncmp(arg, metric_names[m], n) == 0)
            g->m = (metric)m;
    if (g->m == METRICS)
        return -1;
    g->above = arg[n] == '>';
    char *end;
    double v = strtod(arg + n + 1, &end);
    if (end == arg + n + 1 || strcmp(end, "%") != 0 || !isfinite(v))
        return -1;
    g->limit = v / 100;
    g->text = arg;
    return 0;
}

static int on_option(void *ctx, int key, const char *arg)
{
    diff_opts *o = ctx;
    switch (key) {
    case 'j': o->json = 1; return 0;
    case OPT_FAIL_ON:
        if (o->ngates == MAX_GATES)
            return cli_usage_error(&cmd_diff_def, "at most %d --fail-on rules", MAX_GATES);
        if (parse_gate(arg, &o->gates[o->ngates]) < 0)
            return cli_usage_error(&cmd_diff_def, "bad rule '%s' (e.g. 'p99>5%%')", arg);
        o->ngates++;
        return 0;
    case OPT_MIN_CHANGE: {
        char *end;
        double v = strtod(arg, &end);
        if (end == arg || (strcmp(end, "%") && *end) || !(v >= 0) || v > 1000)
            return cli_usage_error(&cmd_diff_def, "bad --min-change '%s'", arg);
        o->min_change = v / 100;
        return 0;
    }
    case OPT_RESAMPLES: {
        uint64_t v;
        if (cli_parse_u64(arg, 20, 100000, &v) < 0)
            return cli_usage_error(&cmd_diff_def, "bad --resamples '%s' (20..100000)", arg);
        o->resamples = (unsigned)v;
        return 0;
    }
    }
    return CLI_USAGE;
}

#ifdef TK_HAVE_RECORDING_READ

/* ---- one recording: a histogram per interval and a total per series ------------------------ */

enum { K_PROCESSING = 0, K_LATENCY = 1, K_CALL = 2 };
static const char *const kind_names[3] = {"processing", "latency", "call"};
static const char *const kind_short[3] = {"proc", "lat", "call"};

typedef struct series {
    char process[64], timer[128]; /* timer: a timer's name, or "component.callback" */
    int kind;
    hist **sparse;     /* while loading calls: per interval of the run, NULL when empty */
    hist **iv;         /* per-block histograms: a block is `group` consecutive intervals */
    size_t niv, capiv;
    size_t seen_iv;    /* interval rows added so far */
    hist *total;       /* the `total` window, or the merge of the intervals */
    int has_total;
} series;

typedef struct run {
    const char *path;
    series *s;
    size_t n, cap;
    /* id maps while loading */
    struct { int64_t id; char name[64]; } *procs;
    size_t nprocs;
    struct { int64_t id, process; char name[64]; int timer; } *names;
    size_t nnames;
    tk_rec_interval *ivs;   /* `interval` windows, by start */
    size_t nivs;
    size_t group;           /* intervals per block: at most MAX_BLOCKS blocks per series */
    size_t nblocks;
    int err;
} run;

static int on_proc(void *ctx, const tk_rec_process *p)
{
    run *r = ctx;
    void *q = realloc(r->procs, (r->nprocs + 1) * sizeof *r->procs);
    if (!q)
        return -ENOMEM;
    r->procs = q;
    r->procs[r->nprocs].id = p->id;
    snprintf(r->procs[r->nprocs].name, sizeof r->procs[0].name, "%s", p->name);
    r->nprocs++;
    return 0;
}

static int on_name(void *ctx, const tk_rec_name *n)
{
    run *r = ctx;
    void *q = realloc(r->names, (r->nnames + 1) * sizeof *r->names);
    if (!q)
        return -ENOMEM;
    r->names = q;
    r->names[r->nnames].id = n->id;
    r->names[r->nnames].process = n->process;
    r->names[r->nnames].timer = strcmp(n->kind, "timer") == 0;
    snprintf(r->names[r->nnames].name, sizeof r->names[0].name, "%s", n->name);
    r->nnames++;
    return 0;
}

static series *series_of(run *r, const char *process, const char *timer, int kind)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->s[i].kind == kind && !strcmp(r->s[i].timer, timer) &&
            !strcmp(r->s[i].process, process))
            return &r->s[i];
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        series *s = realloc(r->s, cap * sizeof *s);
        if (!s)
            return NULL;
        r->s = s;
        r->cap = cap;
    }
    series *s = &r->s[r->n];
    memset(s, 0, sizeof *s);
    snprintf(s->process, sizeof s->process, "%s", process);
    snprintf(s->timer, sizeof s->timer, "%s", timer);
    s->kind = kind;
    if (!(s->total = hist_new()))
        return NULL;
    r->n++;
    return s;
}

/* The name with id and its process's name; NULL when unknown. */
static const char *name_of(run *r, int64_t id, const char **process)
{
    *process = "";
    for (size_t i = 0; i < r->nnames; i++) {
        if (r->names[i].id == id) {
            for (size_t j = 0; j < r->nprocs; j++)
                if (r->procs[j].id == r->names[i].process)
                    *process = r->procs[j].name;
            return r->names[i].name;
        }
    }
    return NULL;
}

/* Memory bound: a series keeps at most MAX_BLOCKS histograms, each the merge of `group`
 * consecutive intervals (a block bootstrap: blocks of adjacent seconds also keep their
 * correlation). */
enum { MAX_BLOCKS = 64 };

static int add_interval_hist(series *s, hist *h)
{
    if (s->niv == s->capiv) {
        size_t cap = s->capiv ? s->capiv * 2 : 32;
        hist **iv = realloc(s->iv, cap * sizeof *iv);
        if (!iv)
            return -ENOMEM;
        s->iv = iv;
        s->capiv = cap;
    }
    s->iv[s->niv++] = h;
    return 0;
}

static int on_interval(void *ctx, const tk_rec_interval *i)
{
    run *r = ctx;
    if (i->total)
        return 0;
    void *q = realloc(r->ivs, (r->nivs + 1) * sizeof *r->ivs);
    if (!q)
        return -ENOMEM;
    r->ivs = q;
    r->ivs[r->nivs++] = *i;
    return 0;
}

static int cmp_interval(const void *x, const void *y)
{
    const tk_rec_interval *a = x, *b = y;
    return a->start_mono_ns < b->start_mono_ns ? -1 : a->start_mono_ns > b->start_mono_ns;
}

/* The index of the interval holding ns, -1 when none does. */
static long interval_at(const run *r, uint64_t ns)
{
    size_t lo = 0, hi = r->nivs;
    while (lo < hi) { /* the first interval starting after ns */
        size_t mid = (lo + hi) / 2;
        if (r->ivs[mid].start_mono_ns <= ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || ns >= r->ivs[lo - 1].end_mono_ns)
        return -1;
    return (long)lo - 1;
}

/* A component callback's call: into its series' total and the histogram of its interval. */
static int on_call(void *ctx, const tk_rec_call *c)
{
    run *r = ctx;
    const char *process, *component = name_of(r, c->component, &process);
    if (!component)
        return 0;
    char key[128];
    snprintf(key, sizeof key, "%s.%s", component, c->callback);
    series *s = series_of(r, process, key, K_CALL);
    if (!s)
        return -ENOMEM;
    if (hist_record(s->total, c->dur_ns) < 0)
        return -ENOMEM;
    long i = interval_at(r, c->start_ns);
    if (i < 0)
        return 0;
    i /= (long)r->group;
    if (!s->sparse && !(s->sparse = calloc(r->nblocks, sizeof *s->sparse)))
        return -ENOMEM;
    if (!s->sparse[i] && !(s->sparse[i] = hist_new()))
        return -ENOMEM;
    return hist_record(s->sparse[i], c->dur_ns) < 0 ? -ENOMEM : 0;
}

/* After the calls: the non-empty intervals of each call series become its interval list. */
static int compact_calls(run *r)
{
    for (size_t k = 0; k < r->n; k++) {
        series *s = &r->s[k];
        if (!s->sparse)
            continue;
        for (size_t i = 0; i < r->nblocks; i++) {
            if (s->sparse[i] && add_interval_hist(s, s->sparse[i]) < 0)
                return -ENOMEM;
            s->sparse[i] = NULL;
        }
        free(s->sparse);
        s->sparse = NULL;
    }
    return 0;
}

static int on_stat(void *ctx, const tk_rec_stat *st)
{
    run *r = ctx;
    const char *process, *timer = name_of(r, st->timer, &process);
    if (!timer)
        return 0; /* a row naming no timer: skipped */
    series *s = series_of(r, process, timer, st->latency ? K_LATENCY : K_PROCESSING);
    if (!s)
        return -ENOMEM;
    hist *h = hist_new();
    if (!h)
        return -ENOMEM;
    hist_exact ex = {st->count, st->min_ns, st->max_ns, st->clamped, st->avg_ns};
    int rc = hist_decode(h, st->hist, st->hist_len, st->count ? &ex : NULL);
    if (rc < 0) {
        hist_free(h);
        r->err = rc;
        return rc;
    }
    if (st->total) {
        hist_copy(s->total, h);
        s->has_total = 1;
        hist_free(h);
        return 0;
    }
    if (!s->has_total && hist_merge(s->total, h) < 0) {
        hist_free(h);
        return -ENOMEM;
    }
    size_t block = s->seen_iv++ / r->group;
    if (block < s->niv) { /* the block is open: this interval joins it */
        rc = hist_merge(s->iv[s->niv - 1], h);
        hist_free(h);
        return rc < 0 ? -ENOMEM : 0;
    }
    if (add_interval_hist(s, h) < 0) {
        hist_free(h);
        return -ENOMEM;
    }
    return 0;
}

static void run_free(run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (size_t j = 0; j < r->s[i].niv; j++)
            hist_free(r->s[i].iv[j]);
        free(r->s[i].iv);
        if (r->s[i].sparse)
            for (size_t j = 0; j < r->nivs; j++)
                hist_free(r->s[i].sparse[j]);
        free(r->s[i].sparse);
        hist_free(r->s[i].total);
    }
    free(r->s);
    free(r->procs);
    free(r->names);
    free(r->ivs);
}

static int load(run *r, const char *path)
{
    r->path = path;
    tk_rec *rec;
    int rc = tk_rec_open(path, &rec);
    if (rc == 0 && (rc = tk_rec_processes(rec, on_proc, r)) == 0 &&
        (rc = tk_rec_names(rec, on_name, r)) == 0 &&
        (rc = tk_rec_intervals(rec, on_interval, r)) == 0 &&
        (r->group = r->nivs > MAX_BLOCKS ? (r->nivs + MAX_BLOCKS - 1) / MAX_BLOCKS : 1,
         r->nblocks = (r->nivs + r->group - 1) / r->group,
         rc = tk_rec_stats(rec, on_stat, r)) == 0) {
        qsort(r->ivs, r->nivs, sizeof *r->ivs, cmp_interval);
        if ((rc = tk_rec_calls(rec, on_call, r)) == 0)
            rc = compact_calls(r);
    }
    if (rc != 0)
        cli_error("diff", "%s: %s", path,
                  rc == -ENOENT ? "no such file" : rc == -ENOMEM ? "out of memory"
                  : r->err ? "a stored histogram is malformed" : tk_rec_error(rec));
    tk_rec_close(rec);
    /* A series whose total row came after its intervals: the total wins (already copied). */
    return rc;
}

/* ---- the comparison ------------------------------------------------------------------------ */

typedef struct numbers {
    uint64_t count, p50, p99, max;
} numbers;

typedef struct row {
    const series *a, *b;
    numbers na, nb;
    double change[METRICS];   /* relative, NAN when undefined */
    double lo[2], hi[2];      /* 95% interval of the p50 and p99 changes, NAN when unknown */
    int beyond[2];            /* the p50/p99 change is beyond the noise */
    const char *verdict;
    double rank;              /* the larger of the p50 and p99 changes: sort key */
} row;

static numbers numbers_of(const hist *h)
{
    hist_summary s;
    hist_summarize(h, &s);
    return (numbers){s.count, s.p50, s.p99, s.max};
}

static double rel(uint64_t a, uint64_t b)
{
    return a ? ((double)b - (double)a) / (double)a : b ? INFINITY : 0;
}

static uint64_t rng_state;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One bootstrap replicate of a run: n intervals drawn with replacement, merged into scratch. */
static void resample(const series *s, hist *scratch, uint64_t *p50, uint64_t *p99)
{
    hist_reset(scratch);
    for (size_t i = 0; i < s->niv; i++)
        hist_merge(scratch, s->iv[rng_next() % s->niv]);
    hist_summary sum;
    hist_summarize(scratch, &sum);
    *p50 = sum.p50;
    *p99 = sum.p99;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

enum { MIN_INTERVALS = 5 }; /* blocks, i.e. intervals when there are at most MAX_BLOCKS */

/* The 2.5% and 97.5% points of the bootstrap distribution of the p50 and p99 changes. */
static int bootstrap(row *w, unsigned resamples)
{
    double *d50 = malloc(resamples * sizeof *d50), *d99 = malloc(resamples * sizeof *d99);
    hist *sa = hist_new(), *sb = hist_new();
    int rc = -1;
    if (!d50 || !d99 || !sa || !sb)
        goto out;
    rng_state = 0x9E3779B97F4A7C15ULL; /* fixed: the same recordings give the same verdict */
    for (unsigned k = 0; k < resamples; k++) {
        uint64_t a50, a99, b50, b99;
        resample(w->a, sa, &a50, &a99);
        resample(w->b, sb, &b50, &b99);
        d50[k] = rel(a50, b50);
        d99[k] = rel(a99, b99);
    }
    qsort(d50, resamples, sizeof *d50, cmp_double);
    qsort(d99, resamples, sizeof *d99, cmp_double);
    size_t lo = (size_t)(0.025 * resamples), hi = (size_t)(0.975 * resamples);
    if (hi >= resamples)
        hi = resamples - 1;
    w->lo[0] = d50[lo], w->hi[0] = d50[hi];
    w->lo[1] = d99[lo], w->hi[1] = d99[hi];
    rc = 0;
out:
    free(d50);
    free(d99);
    hist_free(sa);
    hist_free(sb);
    return rc;
}

static void judge(row *w, const diff_opts *o)
{
    w->lo[0] = w->lo[1] = w->hi[0] = w->hi[1] = NAN;
    w->verdict = "?";
    if (!w->a || !w->b) {
        w->verdict = w->a ? "only in A" : "only in B";
        return;
    }
    if (w->a->niv < MIN_INTERVALS || w->b->niv < MIN_INTERVALS || bootstrap(w, o->resamples) < 0)
        return;
    int worse = 0, better = 0;
    for (int i = 0; i < 2; i++) {
        double c = w->change[i == 0 ? M_P50 : M_P99];
        w->beyond[i] = w->lo[i] > 0 || w->hi[i] < 0;
        if (w->beyond[i] && c >= o->min_change)
            worse = 1;
        if (w->beyond[i] && c <= -o->min_change)
            better = 1;
    }
    w->verdict = worse ? "regressed" : better ? "improved" : "noise";
}

static int cmp_rows(const void *x, const void *y)
{
    const row *a = x, *b = y;
    /* Largest regression first; rows without both sides last. */
    double ra = isnan(a->rank) ? -INFINITY : a->rank, rb = isnan(b->rank) ? -INFINITY : b->rank;
    return ra > rb ? -1 : ra < rb;
}

/* Whether gate g fires on row w. */
static int fires(const gate *g, const row *w)
{
    if (!w->a || !w->b)
        return 0;
    double c = w->change[g->m];
    if (isnan(c))
        return 0;
    int passed = g->above ? c > g->limit : c < g->limit;
    if (!passed)
        return 0;
    if (g->m == M_P50 || g->m == M_P99) {
        int i = g->m == M_P50 ? 0 : 1;
        /* beyond the noise, when the noise is known */
        if (!isnan(w->lo[i]) && !w->beyond[i])
            return 0;
    }
    return 1;
}

static void fmt_change(char *buf, size_t len, double c)
{
    if (isnan(c))
        snprintf(buf, len, "-");
    else if (isinf(c))
        snprintf(buf, len, "new");
    else
        snprintf(buf, len, "%+.1f%%", c * 100);
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

static void print_json(const diff_opts *o, const char *pa, const char *pb, row *rows, size_t n,
                       int failed)
{
    printf("{\"a\":");
    cli_json_str(stdout, pa);
    printf(",\"b\":");
    cli_json_str(stdout, pb);
    printf(",\"method\":\"bootstrap over intervals, 95%% interval, %u resamples\","
           "\"min_change\":%.6g,\"rows\":[", o->resamples, o->min_change);
    for (size_t i = 0; i < n; i++) {
        row *w = &rows[i];
        const series *s = w->a ? w->a : w->b;
        printf("%s\n{\"process\":", i ? "," : "");
        cli_json_str(stdout, s->process);
        printf(",\"timer\":");
        cli_json_str(stdout, s->timer);
        printf(",\"kind\":\"%s\"", kind_names[s->kind]);
        const numbers *ns[2] = {w->a ? &w->na : NULL, w->b ? &w->nb : NULL};
        for (int k = 0; k < 2; k++) {
            printf(",\"%s\":", k ? "b" : "a");
            if (!ns[k])
                printf("null");
            else
                printf("{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
                       ",\"max_ns\":%" PRIu64 ",\"intervals\":%zu}",
                       ns[k]->count, ns[k]->p50, ns[k]->p99, ns[k]->max,
                       (k ? w->b : w->a)->niv);
        }
        printf(",\"change\":{");
        for (int m = 0; m < METRICS; m++) {
            printf("%s\"%s\":", m ? "," : "", metric_names[m]);
            json_num(w->change[m]);
        }
        printf("},\"interval95\":{\"p50\":[");
        json_num(w->lo[0]);
        printf(",");
        json_num(w->hi[0]);
        printf("],\"p99\":[");
        json_num(w->lo[1]);
        printf(",");
        json_num(w->hi[1]);
        printf("]},\"verdict\":\"%s\",\"failed\":[", w->verdict);
        int first = 1;
        for (int g = 0; g < o->ngates; g++) {
            if (fires(&o->gates[g], w)) {
                printf("%s", first ? "" : ",");
                cli_json_str(stdout, o->gates[g].text);
                first = 0;
            }
        }
        printf("]}");
    }
    printf("\n],\"failed\":%s}\n", failed ? "true" : "false");
}

static void print_table(const diff_opts *o, row *rows, size_t n)
{
    printf("%-28s %-4s %9s %9s %7s %9s %9s %7s %9s %9s %7s %9s %7s  %s\n", "timer", "kind",
           "p50 A", "p50 B", "Δp50", "p99 A", "p99 B", "Δp99", "max A", "max B", "Δmax", "count B",
           "Δcount", "verdict");
    for (size_t i = 0; i < n; i++) {
        row *w = &rows[i];
        const series *s = w->a ? w->a : w->b;
        char name[200], b[12][32];
        snprintf(name, sizeof name, "%s/%s", s->process, s->timer);
        uint64_t v[6] = {w->na.p50, w->nb.p50, w->na.p99, w->nb.p99, w->na.max, w->nb.max};
        for (int k = 0; k < 6; k++) {
            int have = k % 2 ? w->b != NULL : w->a != NULL;
            if (have)
                cli_fmt_ns(b[k], sizeof b[k], (double)v[k]);
            else
                snprintf(b[k], sizeof b[k], "-");
        }
        fmt_change(b[6], sizeof b[6], w->change[M_P50]);
        fmt_change(b[7], sizeof b[7], w->change[M_P99]);
        fmt_change(b[8], sizeof b[8], w->change[M_MAX]);
        fmt_change(b[9], sizeof b[9], w->change[M_COUNT]);
        snprintf(b[10], sizeof b[10], "%" PRIu64, w->nb.count);
        char why[160] = "";
        if (!isnan(w->lo[1]))
            snprintf(why, sizeof why, " (p99 95%%: %+.1f%%..%+.1f%%)", w->lo[1] * 100,
                     w->hi[1] * 100);
        char fired[64] = "";
        for (int g = 0; g < o->ngates; g++)
            if (fires(&o->gates[g], w))
                snprintf(fired, sizeof fired, "  FAIL %s", o->gates[g].text);
        printf("%-28.28s %-4s %9s %9s %7s %9s %9s %7s %9s %9s %7s %9s %7s  %s%s%s\n", name,
               kind_short[s->kind], b[0], b[1], b[6], b[2], b[3], b[7], b[4], b[5], b[8],
               w->b ? b[10] : "-", b[9], w->verdict, why, fired);
    }
}

static int diff(const diff_opts *o, const char *pa, const char *pb)
{
    run a = {0}, b = {0};
    int status = CLI_OK;
    row *rows = NULL;
    if (load(&a, pa) != 0 || load(&b, pb) != 0) {
        status = CLI_FAIL;
        goto out;
    }
    rows = calloc(a.n + b.n + 1, sizeof *rows);
    if (!rows) {
        status = cli_error("diff", "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < a.n; i++) {
        rows[n].a = &a.s[i];
        for (size_t j = 0; j < b.n; j++)
            if (b.s[j].kind == a.s[i].kind && !strcmp(b.s[j].timer, a.s[i].timer) &&
                !strcmp(b.s[j].process, a.s[i].process))
                rows[n].b = &b.s[j];
        n++;
    }
    for (size_t j = 0; j < b.n; j++) {
        int matched = 0;
        for (size_t i = 0; i < a.n; i++)
            matched |= rows[i].b == &b.s[j];
        if (!matched)
            rows[n++].b = &b.s[j];
    }
    for (size_t i = 0; i < n; i++) {
        row *w = &rows[i];
        if (w->a)
            w->na = numbers_of(w->a->total);
        if (w->b)
            w->nb = numbers_of(w->b->total);
        for (int m = 0; m < METRICS; m++)
            w->change[m] = NAN;
        if (w->a && w->b) {
            w->change[M_P50] = rel(w->na.p50, w->nb.p50);
            w->change[M_P99] = rel(w->na.p99, w->nb.p99);
            w->change[M_MAX] = rel(w->na.max, w->nb.max);
            w->change[M_COUNT] = rel(w->na.count, w->nb.count);
        }
        w->rank = fmax(w->change[M_P50], w->change[M_P99]);
        judge(w, o);
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        for (int g = 0; g < o->ngates; g++)
            failed |= fires(&o->gates[g], &rows[i]);
    if (o->json)
        print_json(o, pa, pb, rows, n, failed);
    else if (n == 0)
        printf("no timer statistics in either recording\n");
    else
        print_table(o, rows, n);
    status = failed ? CLI_FAIL : CLI_OK;
out:
    free(rows);
    run_free(&a);
    run_free(&b);
    return cli_finish("diff", status);
}
#endif

static int cmd_diff(int argc, char **argv)
{
    diff_opts o = {.min_change = 0.01, .resamples = 400};
    int status;
    int first = cli_parse(&cmd_diff_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first + 2 != argc)
        return cli_usage_error(&cmd_diff_def, "expected two recordings");
#ifdef TK_HAVE_RECORDING_READ
    return diff(&o, argv[first], argv[first + 1]);
#else
    return cli_error("diff", "built without SQLite (libsqlite3-dev): cannot read recordings");
#endif
}
