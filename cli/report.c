/* report.c — tables and JSON lines of timer statistics. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "cli.h"

static const char *const kind_names[KIND_COUNT] = {"processing", "latency"};

static double now_real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds the totals of p cover: from its start to its exit (or now). */
static double lifetime_s(const process_info *p)
{
    uint64_t end = p->state == PROC_EXITED
                       ? (p->exit_mono_ns ? p->exit_mono_ns : p->last_record_mono_ns)
                       : collector_now_ns();
    return end > p->start_mono_ns ? (double)(end - p->start_mono_ns) / 1e9 : 0;
}

static void print_json(const report_ctx *rc, const process_info *p, const timer_stats *t, int kind,
                       report_window w, const hist_summary *s, double secs)
{
    FILE *f = rc->out;
    fprintf(f, "{\"ts\":%.3f,\"pid\":%d,\"process\":", now_real_s(), p->pid);
    cli_json_str(f, p->name);
    fprintf(f, ",\"state\":\"%s\",\"timer\":", p->state == PROC_LIVE ? "live" : "exited");
    cli_json_str(f, t->name);
    uint64_t lost = w == REPORT_TOTAL ? t->lost_total : t->lost_interval;
    fprintf(f,
            ",\"kind\":\"%s\",\"window\":\"%s\",\"seconds\":%.3f,\"count\":%llu,\"lost\":%llu,"
            "\"rate_hz\":%.3f,\"min_ns\":%llu,\"avg_ns\":%.1f,\"p50_ns\":%llu,\"p90_ns\":%llu,"
            "\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,\"overhead_ns\":%llu}\n",
            kind_names[kind], w == REPORT_TOTAL ? "total" : "interval", secs,
            (unsigned long long)s->count, (unsigned long long)lost,
            secs > 0 ? (double)s->count / secs : 0.0, (unsigned long long)s->min, s->avg,
            (unsigned long long)s->p50, (unsigned long long)s->p90, (unsigned long long)s->p99,
            (unsigned long long)s->p999, (unsigned long long)s->max,
            (unsigned long long)(kind == KIND_PROCESSING ? rc->overhead_ns : 0));
}

static void print_row(FILE *f, const timer_stats *t, int kind, const hist_summary *s,
                      uint64_t lost, double secs)
{
    char b[9][24];
    fprintf(f, "  %-24.24s %-10s %10llu %8s %8s %8s %8s %8s %8s %8s %8s %8llu\n", t->name,
            kind_names[kind], (unsigned long long)s->count,
            cli_fmt_rate(b[0], sizeof b[0], secs > 0 ? (double)s->count / secs : 0),
            s->count ? cli_fmt_ns(b[1], sizeof b[1], (double)s->min) : "-",
            s->count ? cli_fmt_ns(b[2], sizeof b[2], s->avg) : "-",
            s->count ? cli_fmt_ns(b[3], sizeof b[3], (double)s->p50) : "-",
            s->count ? cli_fmt_ns(b[4], sizeof b[4], (double)s->p90) : "-",
            s->count ? cli_fmt_ns(b[5], sizeof b[5], (double)s->p99) : "-",
            s->count ? cli_fmt_ns(b[6], sizeof b[6], (double)s->p999) : "-",
            s->count ? cli_fmt_ns(b[7], sizeof b[7], (double)s->max) : "-",
            (unsigned long long)lost);
}

void report_print(const report_ctx *rc, const collector *c, report_window w, double interval_s)
{
    FILE *f = rc->out;
    size_t np = collector_process_count(c);
    if (!rc->json) {
        char b[24];
        if (w == REPORT_TOTAL)
            fprintf(f, "== totals ==\n");
        else
            fprintf(f, "== interval %.2f s ==\n", interval_s);
        if (rc->overhead_ns)
            fprintf(f, "(processing times exclude %s of clock-read cost)\n",
                    cli_fmt_ns(b, sizeof b, (double)rc->overhead_ns));
    }
    for (size_t i = 0; i < np; i++) {
        const process_info *p = collector_process(c, i);
        double secs = w == REPORT_TOTAL ? lifetime_s(p) : interval_s;
        if (!rc->json) {
            fprintf(f, "pid %d %s (%s, %u thread%s%s)\n", p->pid, p->name,
                    p->state == PROC_LIVE ? "live" : "exited", p->rings_used,
                    p->rings_used == 1 ? "" : "s", p->dropped_no_ring ? ", records dropped: no free ring" : "");
            fprintf(f, "  %-24s %-10s %10s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "timer", "kind",
                    "count", "rate/s", "min", "avg", "p50", "p90", "p99", "p99.9", "max", "lost");
        }
        for (size_t j = 0; j < p->ntimers; j++) {
            const timer_stats *t = p->timers[j];
            if (t->id == 0 && hist_count(t->total[KIND_PROCESSING]) == 0 &&
                hist_count(t->interval[KIND_PROCESSING]) == 0)
                continue; /* the "(invalid)" timer, shown only when something was recorded in it */
            for (int k = 0; k < KIND_COUNT; k++) {
                const hist *h = w == REPORT_TOTAL ? t->total[k] : t->interval[k];
                hist_summary s;
                hist_summarize(h, &s);
                /* latency rows only for timers that carry an origin */
                if (k == KIND_LATENCY && s.count == 0 && hist_count(t->total[k]) == 0)
                    continue;
                uint64_t lost = w == REPORT_TOTAL ? t->lost_total : t->lost_interval;
                if (rc->json)
                    print_json(rc, p, t, k, w, &s, secs);
                else
                    print_row(f, t, k, &s, lost, secs);
            }
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t report_clock_read_cost_ns(void)
{
#if defined(__x86_64__)
    enum { N = 10001 };
    static uint64_t d[N];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = __rdtsc();
    for (int i = 0; i < N; i++) {
        uint64_t x = __rdtsc();
        d[i] = __rdtsc() - x;
    }
    uint64_t t1 = __rdtsc();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    qsort(d, N, sizeof d[0], cmp_u64);
    return t1 > t0 ? (uint64_t)((double)d[N / 2] * ns / (double)(t1 - t0) + 0.5) : 0;
#else
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
#endif
}
