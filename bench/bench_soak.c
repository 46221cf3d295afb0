/* bench_soak.c — 5 million records per second from one thread for 30 s with a collector running
 * in another process: how many records are lost?
 *
 *     bench_soak [--quick] [--seconds S] [--ring N] [--poll-ms P]
 *
 * Three processes: this one only orchestrates (it never initialises the library); a collector
 * child scans, drains and rolls over every P ms (default 10), as `timekeeper report` does each
 * interval; a producer child records spans of 4 timers from one thread, in bursts of 500 paced by
 * tk_now() to 5 M records/s (a burst that falls more than 1 ms behind schedule restarts the
 * schedule instead of catching up, and is counted as a slip). The producer exits, the collector
 * drains what is left and reports count and lost per timer; count + lost must equal what the
 * producer recorded. When records were lost, short runs find the ring size and the poll period
 * at which none are. --nice N runs both children at that niceness (negative needs privileges):
 * on a shared machine it separates what the library does from how much CPU the neighbours leave. */
#include "bench.h"

#include <sys/resource.h>

#include <collector.h>

static const char usage[] = "[--quick] [--seconds S] [--ring RECORDS] [--poll-ms P] [--nice N]";

#define RATE 5e6
#define BURST 500
#define TIMERS 4
#define MAX_GAPS (1u << 20)

typedef struct soak {
    /* set by the orchestrator */
    char dir[256];
    double seconds, period_ms;
    uint32_t ring;
    int nice;
    volatile int stop;
    /* set by the collector */
    volatile int attached, failed;
    uint64_t polls, count, lost, counted_processes;
    double gap_p50_ms, gap_p99_ms, gap_max_ms, drain_p50_ms, drain_max_ms;
    uint64_t late_polls; /* polls later than the ring's time at this rate */
    /* set by the producer */
    volatile int producer_failed;
    uint64_t produced, slips;
    double produce_seconds;
} soak;

/* ---- the collector process ------------------------------------------------------------------- */

static int collector_main(void *arg)
{
    soak *s = arg;
    if (s->nice && setpriority(PRIO_PROCESS, 0, s->nice) != 0)
        fprintf(stderr, "bench_soak: setpriority(%d): %s\n", s->nice, strerror(errno));
    collector_options o = {.dir = s->dir, .quiet = 1};
    collector *c = NULL;
    double *gaps = malloc(MAX_GAPS * sizeof *gaps), *drains = malloc(MAX_GAPS * sizeof *drains);
    if (!gaps || !drains || collector_open(&o, &c) != 0) {
        s->failed = 1;
        return 1;
    }
    const uint64_t period = (uint64_t)(s->period_ms * 1e6);
    const double ring_ms = s->ring / RATE * 1e3;
    size_t ng = 0;
    uint64_t next = bench_mono_ns(), last = 0;
    while (!s->stop) {
        uint64_t t0 = bench_mono_ns();
        collector_scan(c);
        collector_drain(c);
        collector_rollover(c);
        uint64_t t1 = bench_mono_ns();
        if (!s->attached && collector_process_count(c) > 0)
            s->attached = 1;
        if (s->attached && last && ng < MAX_GAPS) {
            gaps[ng] = (double)(t0 - last) / 1e6;
            drains[ng] = (double)(t1 - t0) / 1e6;
            s->late_polls += gaps[ng] > ring_ms;
            ng++;
        }
        if (s->attached)
            last = t0;
        next += period;
        if (next < t1)
            next = t1;
        bench_sleep_until(next);
    }
    /* the producer has exited: this drain reads its rings to the end */
    collector_scan(c);
    collector_drain(c);
    collector_rollover(c);
    for (size_t i = 0; i < collector_process_count(c); i++) {
        const process_info *pi = collector_process(c, i);
        s->counted_processes++;
        for (size_t j = 0; j < pi->ntimers; j++) {
            s->count += hist_count(pi->timers[j]->total[KIND_PROCESSING]);
            s->lost += pi->timers[j]->lost_total;
        }
    }
    s->polls = ng;
    bench_stat g = bench_stats(gaps, ng), d = bench_stats(drains, ng);
    s->gap_p50_ms = g.med;
    s->gap_p99_ms = bench_quantile_sorted(gaps, ng, 0.99);
    s->gap_max_ms = g.max;
    s->drain_p50_ms = d.med;
    s->drain_max_ms = d.max;
    collector_close(c);
    free(gaps);
    free(drains);
    return 0;
}

/* ---- the producer process ---------------------------------------------------------------------- */

static int producer_main(void *arg)
{
    soak *s = arg;
    if (s->nice && setpriority(PRIO_PROCESS, 0, s->nice) != 0)
        fprintf(stderr, "bench_soak: setpriority(%d): %s\n", s->nice, strerror(errno));
    tk_options o = {.dir = s->dir, .ring_size = s->ring};
    if (tk_init(&o) != 0) {
        s->producer_failed = 1;
        return 1;
    }
    tk_timer_t *t[TIMERS];
    for (int i = 0; i < TIMERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "soak.%d", i);
        t[i] = tk_timer(name);
    }
    /* start once the collector has attached (it scans every period) */
    uint64_t deadline = bench_mono_ns() + 5000000000ull;
    while (!s->attached && !s->failed && bench_mono_ns() < deadline)
        bench_sleep_ns(1000000);
    if (!s->attached) {
        s->producer_failed = 1;
        return 1;
    }
    const double tps = tk_ticks_per_second();
    const uint64_t burst_ticks = (uint64_t)(BURST / RATE * tps);
    const uint64_t max_behind = (uint64_t)(1e-3 * tps);
    uint64_t produced = 0, slips = 0, k = 0, bursts = 0;
    const uint64_t m0 = bench_mono_ns(), end = m0 + (uint64_t)(s->seconds * 1e9);
    uint64_t next = tk_now();
    for (;;) {
        uint64_t now;
        while ((int64_t)((now = tk_now()) - next) < 0) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
        }
        if (now - next > max_behind) { /* preempted: restart the schedule, do not burst */
            next = now;
            slips++;
        }
        for (int i = 0; i < BURST; i++, k++) {
            uint64_t st = tk_now();
            tk_record(t[k % TIMERS], st, tk_now(), 0);
        }
        produced += BURST;
        next += burst_ticks;
        if ((++bursts & 63) == 0 && bench_mono_ns() >= end) /* every 6.4 ms */
            break;
    }
    s->produce_seconds = (double)(bench_mono_ns() - m0) / 1e9;
    s->produced = produced;
    s->slips = slips;
    return 0;
}

/* ---- one configuration ------------------------------------------------------------------------ */

/* Runs one soak; returns 0, or -1 when it could not run (processes, directory). */
static int nice_level;

static int run(soak *s, uint32_t ring, double period_ms, double seconds)
{
    char dir[256];
    memset(s, 0, sizeof *s);
    s->nice = nice_level;
    if (bench_mkdir(dir, sizeof dir, "bench-soak") != 0)
        return -1;
    memcpy(s->dir, dir, sizeof dir);
    s->ring = ring;
    s->period_ms = period_ms;
    s->seconds = seconds;
    pid_t col = bench_fork(collector_main, s);
    pid_t prod = col > 0 ? bench_fork(producer_main, s) : -1;
    int prod_rc = prod > 0 ? bench_wait(prod) : -1;
    s->stop = 1;
    int col_rc = col > 0 ? bench_wait(col) : -1;
    bench_rmdir(dir);
    if (prod_rc != 0 || col_rc != 0 || s->failed || s->producer_failed) {
        fprintf(stderr, "bench_soak: the %s process failed\n",
                col_rc != 0 || s->failed ? "collector" : "producer");
        return -1;
    }
    return 0;
}

static void print_run(const soak *s)
{
    printf("  ring %u, poll %.1f ms: produced %llu in %.1f s (%.2f M records/s, %llu slips > 1 ms), "
           "counted %llu + lost %llu%s\n", s->ring, s->period_ms, (unsigned long long)s->produced,
           s->produce_seconds, (double)s->produced / s->produce_seconds / 1e6,
           (unsigned long long)s->slips, (unsigned long long)s->count, (unsigned long long)s->lost,
           s->count + s->lost == s->produced ? "" : " (!= produced: accounting error)");
}

int main(int argc, char **argv)
{
    /* --nice N is this benchmark's own option: take it out before the common ones are parsed */
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--nice") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < -20 || v > 19) {
                fprintf(stderr, "%s: bad argument '--nice %s'\nusage: %s %s\n", argv[0], argv[i + 1],
                        argv[0], usage);
                return 2;
            }
            nice_level = (int)v;
            i++;
            continue;
        }
        argv[ac++] = argv[i];
    }
    bench_args a = bench_parse(ac, argv, "qsrp", usage);
    const double seconds = a.seconds ? a.seconds : a.quick ? 5 : 30;
    const uint32_t ring = a.ring ? (uint32_t)a.ring : 65536u;
    const double period = a.poll_ms ? a.poll_ms : 10;
    const double sweep_seconds = a.quick ? 1 : 4;
    soak *s = bench_shared_alloc(sizeof *s);
    if (!s)
        return 1;

    printf("bench_soak: one thread recording %.0f M spans/s (bursts of %d paced by tk_now) for %.0f s; "
           "a collector process polls every %.1f ms; ring %u records = %.1f ms at this rate; "
           "load average %.2f%s\n", RATE / 1e6, BURST, seconds, period, ring, ring / RATE * 1e3,
           bench_loadavg(), nice_level ? " (children at --nice)" : "");
    fflush(stdout);
    if (run(s, ring, period, seconds) != 0)
        return 1;
    print_run(s);
    printf("  collector: %llu polls, gap between polls p50 %.2f ms, p99 %.2f ms, max %.2f ms "
           "(%llu longer than the ring's %.1f ms); drain p50 %.3f ms, max %.2f ms\n",
           (unsigned long long)s->polls, s->gap_p50_ms, s->gap_p99_ms, s->gap_max_ms,
           (unsigned long long)s->late_polls, ring / RATE * 1e3, s->drain_p50_ms, s->drain_max_ms);
    const uint64_t lost = s->lost, produced = s->produced;
    printf("soak_rate: %.2f M records/s achieved (goal: 5)\n",
           (double)produced / s->produce_seconds / 1e6);
    printf("soak_lost: %llu records of %llu (%.4f %%) (goal: 0)\n", (unsigned long long)lost,
           (unsigned long long)produced, produced ? 100.0 * (double)lost / (double)produced : 0);
    /* A live ring keeps capacity - 1 records: nothing is lost while every poll comes within
     * ring / rate of the previous one (plus the drain itself). */
    double need = RATE * (s->gap_max_ms + s->drain_max_ms) / 1e3;
    uint64_t need_ring = 1024;
    while ((double)need_ring < need + 1 && need_ring < (1u << 24))
        need_ring *= 2;
    printf("soak_ring_enough: %llu records (holds 5 M/s x (longest poll gap %.1f ms + longest drain "
           "%.1f ms) = %.0f records in this run)\n", (unsigned long long)need_ring, s->gap_max_ms,
           s->drain_max_ms, need);
    fflush(stdout);
    if (lost == 0)
        return 0;

    /* records were lost: which ring size, which poll period loses none? */
    printf("bench_soak: sweep, %.0f s per run, first configuration without loss on each axis\n",
           sweep_seconds);
    static const uint32_t rings[] = {131072, 262144, 524288, 1048576};
    static const double periods[] = {5, 2, 1};
    long zero_ring = -1;
    double zero_period = -1;
    for (size_t i = 0; i < sizeof rings / sizeof rings[0] && zero_ring < 0; i++) {
        if (rings[i] <= ring)
            continue;
        if (run(s, rings[i], period, sweep_seconds) != 0)
            return 1;
        print_run(s);
        fflush(stdout);
        if (s->lost == 0)
            zero_ring = rings[i];
    }
    for (size_t i = 0; i < sizeof periods / sizeof periods[0] && zero_period < 0; i++) {
        if (periods[i] >= period)
            continue;
        if (run(s, ring, periods[i], sweep_seconds) != 0)
            return 1;
        print_run(s);
        fflush(stdout);
        if (s->lost == 0)
            zero_period = periods[i];
    }
    if (zero_ring > 0)
        printf("soak_zero_loss_ring: %ld records at a %.1f ms poll (in a %.0f s run)\n", zero_ring,
               period, sweep_seconds);
    else
        printf("soak_zero_loss_ring: none up to %u records at a %.1f ms poll\n",
               rings[sizeof rings / sizeof rings[0] - 1], period);
    if (zero_period > 0)
        printf("soak_zero_loss_poll: %.1f ms with ring %u (in a %.0f s run)\n", zero_period, ring,
               sweep_seconds);
    else
        printf("soak_zero_loss_poll: none down to %.1f ms with ring %u\n",
               periods[sizeof periods / sizeof periods[0] - 1], ring);
    return 0;
}
