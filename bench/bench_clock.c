/* bench_clock.c — how exactly are ticks converted to CLOCK_MONOTONIC, over a long run?
 *
 *     bench_clock [--quick] [--seconds S]        (default 60 s; the 10 minutes: --seconds 600)
 *
 * This process records a labeled point about every 200 us at tick t, bracketed by two
 * clock_gettime(CLOCK_MONOTONIC) reads m1 <= true instant <= m2 carried in the point's client and
 * command ids. A collector child (forked before the library starts, polling every 100 ms as a live
 * `timekeeper report` would) converts t through the segment's calibration (the point callback's
 * mono_ns); this process converts it too, right away, with tk_ticks_to_ns(). The error of a
 * conversion is how far it lands outside the bracket: max(0, |ns - (m1 + m2) / 2| - (m2 - m1) / 2).
 * Reported: p99 and max over the first 10 %, the middle 10 % and the last 10 % of the run, and
 * over the first 0.2 s (before the calibration has samples 50 ms apart); and, for a sample of
 * points, tk_ticks_to_ns() again at the end of the run (old ticks, new calibration). */
#include "bench.h"

#include <collector.h>

static const char usage[] = "[--quick] [--seconds S]";

#define POLL_MS 100
#define SAMPLE_US 200
#define LATE_EVERY 64 /* every 64th point is converted again at the end */

enum { W_START, W_MIDDLE, W_END, W_ALL, W_INIT, NWIN };
static const char *const win_names[NWIN] = {"start", "middle", "end", "all", "0-0.2s"};

typedef struct win_stat {
    uint64_t n;
    double p50, p99, max; /* of the error outside the bracket */
    double abs_p99;       /* of |ns - midpoint| */
} win_stat;

typedef struct shared {
    char dir[256];
    volatile int stop, attached, failed;
    volatile uint64_t start_ns, end_ns; /* the producer's run, CLOCK_MONOTONIC */
    uint64_t received, sent;
    win_stat col[NWIN];
    double col_bias_ns; /* median of ns - midpoint */
} shared;

/* A growable list of (time since start in s, error in ns, signed offset in ns). */
typedef struct samples {
    float *t, *err, *off;
    size_t n, cap;
} samples;

static int samples_add(samples *s, double t, double err, double off)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        float *a = realloc(s->t, cap * sizeof *a), *b = a ? realloc(s->err, cap * sizeof *b) : NULL;
        if (a)
            s->t = a;
        if (b)
            s->err = b;
        float *c = b ? realloc(s->off, cap * sizeof *c) : NULL;
        if (!c)
            return -1;
        s->off = c;
        s->cap = cap;
    }
    s->t[s->n] = (float)t;
    s->err[s->n] = (float)err;
    s->off[s->n] = (float)off;
    s->n++;
    return 0;
}

/* The error of a conversion ns of an instant bracketed by [m1, m2]; *off gets ns - midpoint. */
static double conv_error(uint64_t ns, uint64_t m1, uint64_t m2, double *off)
{
    double mid = ((double)m1 + (double)m2) / 2, half = ((double)m2 - (double)m1) / 2;
    *off = (double)ns - mid;
    double e = (*off < 0 ? -*off : *off) - half;
    return e > 0 ? e : 0;
}

/* p50/p99/max of the errors in each window of a run of `len` seconds. */
static void window_stats(const samples *s, double len, win_stat out[NWIN])
{
    /* fractions of the run, except the last: the first 0.2 s after tk_init */
    const double lo[NWIN] = {0, 0.45, 0.90, 0, 0}, hi[NWIN] = {0.10, 0.55, 1.01, 1.01, 0.2 / len};
    double *v = malloc((s->n ? s->n : 1) * sizeof *v);
    for (int w = 0; w < NWIN; w++) {
        size_t n = 0;
        for (size_t i = 0; v && i < s->n; i++)
            if (s->t[i] >= lo[w] * len && s->t[i] < hi[w] * len)
                v[n++] = s->err[i];
        bench_stat st = bench_stats(v, n);
        out[w] = (win_stat){n, st.med, bench_quantile_sorted(v, n, 0.99), st.max, 0};
        n = 0;
        for (size_t i = 0; v && i < s->n; i++)
            if (s->t[i] >= lo[w] * len && s->t[i] < hi[w] * len)
                v[n++] = s->off[i] < 0 ? -s->off[i] : s->off[i];
        bench_stats(v, n);
        out[w].abs_p99 = bench_quantile_sorted(v, n, 0.99);
    }
    free(v);
}

static void samples_free(samples *s)
{
    free(s->t);
    free(s->err);
    free(s->off);
    memset(s, 0, sizeof *s);
}

static double median_offset(const samples *s)
{
    double *v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->off[i];
    double m = bench_stats(v, s->n).med;
    free(v);
    return m;
}

/* ---- the collector process --------------------------------------------------------------------- */

typedef struct col_ctx {
    shared *sh;
    samples s;
    int oom;
} col_ctx;

static void on_point(void *arg, const collector_point *p)
{
    col_ctx *cc = arg;
    if (strcmp(p->label, "bench.clock") != 0)
        return;
    double off, e = conv_error(p->mono_ns, p->client, p->command, &off);
    double t = ((double)p->client - (double)cc->sh->start_ns) / 1e9;
    cc->sh->received++;
    if (samples_add(&cc->s, t, e, off) != 0)
        cc->oom = 1;
}

static int collector_main(void *arg)
{
    shared *sh = arg;
    collector_options o = {.dir = sh->dir, .quiet = 1};
    collector *c = NULL;
    col_ctx cc = {sh, {0}, 0};
    if (collector_open(&o, &c) != 0) {
        sh->failed = 1;
        return 1;
    }
    collector_on_point(c, on_point, &cc);
    uint64_t next = bench_mono_ns();
    while (!sh->stop) {
        collector_scan(c);
        collector_drain(c);
        collector_rollover(c);
        if (collector_process_count(c) > 0)
            sh->attached = 1;
        next += POLL_MS * 1000000ull;
        bench_sleep_until(next);
    }
    collector_scan(c);
    collector_drain(c);
    collector_close(c);
    window_stats(&cc.s, (double)(sh->end_ns - sh->start_ns) / 1e9, sh->col);
    sh->col_bias_ns = median_offset(&cc.s);
    samples_free(&cc.s);
    return cc.oom ? 1 : 0;
}

/* ---- the producer (this process) -------------------------------------------------------------- */

typedef struct late {
    uint64_t t, m1, m2;
    float when;
} late;

static void print_windows(const char *what, const win_stat w[NWIN])
{
    for (int i = 0; i < NWIN; i++)
        printf("  %-28s %-6s n %-8llu error p50 %4.0f  p99 %4.0f  max %5.0f ns;  |ns - midpoint| p99 "
               "%4.0f ns\n", what, win_names[i], (unsigned long long)w[i].n, w[i].p50, w[i].p99,
               w[i].max, w[i].abs_p99);
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "qs", usage);
    const double seconds = a.seconds ? a.seconds : a.quick ? 5 : 60;
    shared *sh = bench_shared_alloc(sizeof *sh);
    if (!sh || bench_mkdir(sh->dir, sizeof sh->dir, "bench-clock") != 0) {
        fprintf(stderr, "bench_clock: cannot create a shared block or a directory\n");
        return 1;
    }
    pid_t child = bench_fork(collector_main, sh);
    if (child < 0) {
        bench_rmdir(sh->dir);
        return 1;
    }
    int status = 0;
    samples inproc = {0}, late_s = {0};
    late *lt = NULL;
    size_t nlate = 0, caplate = 0;
    tk_options to = {.dir = sh->dir};
    const uint64_t init_ns = bench_mono_ns();
    int rc = tk_init(&to);
    tk_label_t label = rc == 0 ? tk_label("bench.clock") : 0;
    uint64_t deadline = bench_mono_ns() + 5000000000ull;
    while (rc == 0 && !sh->attached && !sh->failed && bench_mono_ns() < deadline)
        bench_sleep_ns(1000000);
    if (rc != 0 || !label || !sh->attached) {
        fprintf(stderr, "bench_clock: %s\n", rc ? tk_strerror(rc) : "the collector did not attach");
        status = 1;
        goto out;
    }
    printf("bench_clock: %.0f s, a point every ~%d us bracketed by CLOCK_MONOTONIC reads; error = "
           "distance outside the bracket; windows: first, middle and last 10 %% of the run\n",
           seconds, SAMPLE_US);
    fflush(stdout);
    /* the calibration thread samples at 10 ms, 100 ms, 1 s, then every second after tk_init */
    sh->start_ns = bench_mono_ns();
    const uint64_t end = sh->start_ns + (uint64_t)(seconds * 1e9);
    uint64_t idx = 0, widths = 0;
    for (;;) {
        uint64_t m1 = bench_mono_ns();
        if (m1 >= end)
            break;
        uint64_t t = tk_now();
        uint64_t m2 = bench_mono_ns();
        tk_point_at(label, t, m1, m2, idx, NULL, 0);
        double off, e = conv_error(tk_ticks_to_ns(t), m1, m2, &off);
        if (samples_add(&inproc, (double)(m1 - sh->start_ns) / 1e9, e, off) != 0)
            goto oom;
        if (idx % LATE_EVERY == 0) {
            if (nlate == caplate) {
                caplate = caplate ? caplate * 2 : 4096;
                late *nl = realloc(lt, caplate * sizeof *nl);
                if (!nl)
                    goto oom;
                lt = nl;
            }
            lt[nlate++] = (late){t, m1, m2, (float)((double)(m1 - sh->start_ns) / 1e9)};
        }
        widths += m2 - m1;
        idx++;
        bench_sleep_ns(SAMPLE_US * 1000u);
    }
    sh->end_ns = bench_mono_ns();
    sh->sent = idx;

    /* old ticks converted with the calibration of the end of the run */
    for (size_t i = 0; i < nlate; i++) {
        double off, e = conv_error(tk_ticks_to_ns(lt[i].t), lt[i].m1, lt[i].m2, &off);
        if (samples_add(&late_s, lt[i].when, e, off) != 0)
            goto oom;
    }
    sh->stop = 1;
    if (bench_wait(child) != 0) {
        fprintf(stderr, "bench_clock: the collector process failed\n");
        status = 1;
        goto out;
    }
    child = -1;
    const double len = (double)(sh->end_ns - sh->start_ns) / 1e9;
    win_stat in[NWIN], lw[NWIN];
    window_stats(&inproc, len, in);
    window_stats(&late_s, len, lw);
    printf("  %llu points, mean bracket %.0f ns; collector received %llu; median offset (ns - "
           "midpoint): collector %+.0f ns, tk_ticks_to_ns %+.0f ns\n", (unsigned long long)idx,
           idx ? (double)widths / (double)idx : 0, (unsigned long long)sh->received,
           sh->col_bias_ns, median_offset(&inproc));
    print_windows("collector (live, 100 ms)", sh->col);
    print_windows("tk_ticks_to_ns (right away)", in);
    print_windows("tk_ticks_to_ns (at the end)", lw);
    printf("clock_error_collector_end: max %.0f ns, p99 %.0f ns (last 10 %% of a %.0f s run; "
           "goal: < 1000 ns after 600 s)\n", sh->col[W_END].max, sh->col[W_END].p99, len);
    printf("clock_error_collector_start: max %.0f ns, p99 %.0f ns (first 10 %% of the run)\n",
           sh->col[W_START].max, sh->col[W_START].p99);
    printf("clock_error_inprocess_end: max %.0f ns, p99 %.0f ns (tk_ticks_to_ns right away, last "
           "10 %%; goal: < 1000 ns after 600 s)\n", in[W_END].max, in[W_END].p99);
    printf("clock_error_first_200ms: collector max %.0f ns, tk_ticks_to_ns max %.0f ns (p99 %.0f "
           "and %.0f ns; the run started %.0f ms after tk_init)\n", sh->col[W_INIT].max,
           in[W_INIT].max, sh->col[W_INIT].p99, in[W_INIT].p99,
           (double)(sh->start_ns - init_ns) / 1e6);
    printf("clock_error_inprocess_old_ticks: max %.0f ns, p99 %.0f ns (ticks of the first 10 %% "
           "converted at the end)\n", lw[W_START].max, lw[W_START].p99);
    goto out;
oom:
    fprintf(stderr, "bench_clock: out of memory\n");
    status = 1;
out:
    sh->stop = 1;
    if (child > 0)
        bench_wait(child);
    const char *seg = tk_segment_path();
    if (seg && *seg)
        unlink(seg);
    bench_rmdir(sh->dir);
    samples_free(&inproc);
    samples_free(&late_s);
    free(lt);
    return status;
}
