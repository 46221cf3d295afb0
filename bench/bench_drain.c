/* bench_drain.c — the collector's drain + histogram throughput on one core.
 *
 *     bench_drain [--quick] [--ring N]
 *
 * Producer threads (4, each owning a ring) fill their rings with capacity - 1 spans of 8 timers;
 * half of the spans carry an origin, so a drained record feeds one or two histograms. Then, with
 * the producers idle, the main thread times collector_drain() (copy, loss accounting, tick
 * conversion, histograms) and collector_rollover() (interval -> total merge, once per refill).
 * Refill and drain alternate; only the collector's work is timed. Two value mixes, alternating
 * refill by refill, each with its own 8 timers:
 *   typical  each timer has its own log-normal duration (medians 200 ns .. 120 us, sigma 0.5)
 *            with a 1 % tail to 100 ms; latency log-normal around 20 us — a timer's values stay
 *            in a few octaves, as real timers' do;
 *   wide     every duration log-uniform over 50 ns .. 50 us (1 % tail to 100 ms), latency
 *            log-uniform 1 us .. 10 ms — values spread over every bucket of 10+ octaves, the
 *            worst case for the histograms' cache footprint. */
#include "bench.h"

#include <math.h>
#include <pthread.h>

#include <collector.h>

static const char usage[] = "[--quick] [--ring RECORDS]";

#define THREADS 4
#define TIMERS 8
#define TABLE 65536u

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void) /* xorshift64*, fixed seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1p-53; }
static double log_uniform(double lo, double hi) { return lo * exp(rng_unit() * log(hi / lo)); }

static double normal(void) /* Box-Muller */
{
    double u = rng_unit(), v = rng_unit();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

enum { TYPICAL, WIDE, MIXES };
static const char *const mix_names[MIXES] = {"typical", "wide"};
/* durations and latencies in ticks, indexed by record number; entry i belongs to timer i % TIMERS */
static uint64_t dur_ticks[MIXES][TABLE], lat_ticks[MIXES][TABLE]; /* lat 0: no origin */
static tk_timer_t *timers[MIXES][TIMERS];
static volatile int mix;
static pthread_barrier_t start_fill, end_fill;
static volatile int stop;
static uint64_t per_fill; /* records each thread writes per refill */

static void *producer(void *arg)
{
    uint64_t k = (uint64_t)(uintptr_t)arg * 7919;
    for (;;) {
        pthread_barrier_wait(&start_fill);
        if (stop)
            return NULL;
        uint64_t s = tk_now();
        for (uint64_t i = 0; i < per_fill; i++, k++) {
            uint64_t d = dur_ticks[mix][k & (TABLE - 1)], l = lat_ticks[mix][k & (TABLE - 1)];
            tk_record(timers[mix][k % TIMERS], s, s + d, l ? s - l : 0);
            s += 50;
        }
        pthread_barrier_wait(&end_fill);
    }
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "qr", usage);
    const int rounds = a.quick ? 15 : 60;
    const uint32_t ring = a.ring ? (uint32_t)a.ring : 65536u;
    char dir[256];
    if (bench_mkdir(dir, sizeof dir, "bench-drain") != 0) {
        fprintf(stderr, "bench_drain: cannot create a directory: %s\n", strerror(errno));
        return 1;
    }
    tk_options to = {.dir = dir, .ring_size = ring, .max_threads = THREADS + 1};
    int rc = tk_init(&to);
    if (rc != 0) {
        fprintf(stderr, "bench_drain: tk_init: %s\n", tk_strerror(rc));
        bench_rmdir(dir);
        return 1;
    }
    const double tps = tk_ticks_per_second();
    for (unsigned i = 0; i < TABLE; i++) {
        int tail = rng_next() % 100 == 0, origin = (rng_next() >> 7) & 1;
        double ns = tail ? log_uniform(50e3, 100e6) : 200 * pow(2.5, i % TIMERS) * exp(0.5 * normal());
        dur_ticks[TYPICAL][i] = (uint64_t)(ns * tps / 1e9) + 1;
        lat_ticks[TYPICAL][i] = origin ? (uint64_t)(20e3 * exp(normal()) * tps / 1e9) + 1 : 0;
        ns = tail ? log_uniform(50e3, 100e6) : log_uniform(50, 50e3);
        dur_ticks[WIDE][i] = (uint64_t)(ns * tps / 1e9) + 1;
        lat_ticks[WIDE][i] = origin ? (uint64_t)(log_uniform(1e3, 10e6) * tps / 1e9) + 1 : 0;
    }
    for (int m = 0; m < MIXES; m++)
        for (int i = 0; i < TIMERS; i++) {
            char name[32];
            snprintf(name, sizeof name, "bench.drain.%s.%d", mix_names[m], i);
            timers[m][i] = tk_timer(name);
        }
    per_fill = ring - 1; /* a live ring keeps capacity - 1 readable records */
    pthread_barrier_init(&start_fill, NULL, THREADS + 1);
    pthread_barrier_init(&end_fill, NULL, THREADS + 1);
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, producer, (void *)i) != 0) {
            fprintf(stderr, "bench_drain: pthread_create failed\n");
            return 1;
        }

    collector_options co = {.dir = dir, .quiet = 1};
    collector *c = NULL;
    if (collector_open(&co, &c) != 0 || collector_scan(c) != 1) {
        fprintf(stderr, "bench_drain: the collector did not attach to the segment in %s\n", dir);
        bench_rmdir(dir);
        return 1;
    }
    static double drain_rate[MIXES][256], both_rate[MIXES][256], roll_us[MIXES][256],
        wall_rate[MIXES][256];
    uint64_t bad_rounds = 0;
    for (int r = -2 * MIXES; r < rounds * MIXES; r++) { /* untimed first rounds: chunks get allocated */
        mix = (r + 2 * MIXES) % MIXES;
        pthread_barrier_wait(&start_fill);
        pthread_barrier_wait(&end_fill);
        uint64_t w0 = bench_mono_ns(), t0 = bench_thread_cpu_ns();
        uint64_t n = collector_drain(c);
        uint64_t t1 = bench_thread_cpu_ns();
        collector_rollover(c);
        uint64_t t2 = bench_thread_cpu_ns(), w2 = bench_mono_ns();
        if (n != per_fill * THREADS)
            bad_rounds++;
        if (r < 0)
            continue;
        drain_rate[mix][r / MIXES] = (double)n / (double)(t1 - t0) * 1e3;
        both_rate[mix][r / MIXES] = (double)n / (double)(t2 - t0) * 1e3;
        roll_us[mix][r / MIXES] = (double)(t2 - t1) / 1e3;
        wall_rate[mix][r / MIXES] = (double)n / (double)(w2 - w0) * 1e3;
    }
    stop = 1;
    pthread_barrier_wait(&start_fill);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);

    /* every record must be in a histogram, none lost */
    uint64_t counted = 0, latency = 0, lost = 0;
    const process_info *pi = collector_process(c, 0);
    for (size_t i = 0; pi && i < pi->ntimers; i++) {
        counted += hist_count(pi->timers[i]->total[KIND_PROCESSING]);
        latency += hist_count(pi->timers[i]->total[KIND_LATENCY]);
        lost += pi->timers[i]->lost_total;
    }
    printf("bench_drain: %d refills per mix of %d rings x %llu spans (%d timers per mix, %.0f %% with "
           "an origin), drained by one thread; medians (min, max) over refills; rates from the "
           "thread's CPU time unless marked wall; load average %.2f\n", rounds, THREADS,
           (unsigned long long)per_fill, TIMERS,
           counted ? 100.0 * (double)latency / (double)counted : 0, bench_loadavg());
    printf("  records written %llu, counted %llu, lost %llu, refills not read whole %llu\n",
           (unsigned long long)((uint64_t)(rounds + 2) * MIXES * THREADS * per_fill),
           (unsigned long long)counted, (unsigned long long)lost, (unsigned long long)bad_rounds);
    bench_stat b[MIXES];
    for (int m = 0; m < MIXES; m++) {
        bench_stat d = bench_stats(drain_rate[m], (size_t)rounds);
        bench_stat ro = bench_stats(roll_us[m], (size_t)rounds);
        bench_stat w = bench_stats(wall_rate[m], (size_t)rounds);
        b[m] = bench_stats(both_rate[m], (size_t)rounds);
        printf("  %-8s drain only %5.1f Mrecords/s (%.1f, %.1f); rollover %5.0f us (%.0f, %.0f); "
               "drain + rollover %5.1f Mrecords/s (%.1f, %.1f), wall %5.1f (%.1f, %.1f)\n",
               mix_names[m], d.med, d.min, d.max, ro.med, ro.min, ro.max, b[m].med, b[m].min,
               b[m].max, w.med, w.min, w.max);
    }
    printf("drain_throughput: %.1f Mrecords/s (typical mix, drain + rollover, median; min %.1f, "
           "max %.1f; goal: >= 50)\n", b[TYPICAL].med, b[TYPICAL].min, b[TYPICAL].max);
    printf("drain_throughput_wide: %.1f Mrecords/s (worst-case mix, drain + rollover, median; "
           "min %.1f, max %.1f; goal: >= 50)\n", b[WIDE].med, b[WIDE].min, b[WIDE].max);
    collector_close(c);
    const char *seg = tk_segment_path();
    if (seg && *seg)
        unlink(seg);
    bench_rmdir(dir);
    return 0;
}
