/* bench_record.c — what the producer pays per event, against the floor, measured side by side:
 * a recorded span, the floor (two raw counter reads + one 32-byte store into a thread-local buffer
 * of the ring's size, nothing published), the same floor with 64-byte records, labeled points with
 * no context and with a 40-byte context (each against a floor that stores the same bytes), and the
 * span's cost with a collector process draining the same segment every 10 ms versus none.
 *
 *     bench_record [--quick] [--ring N]
 *
 * Every repetition runs every operation once, in a rotated order; the lines report medians (and
 * min..max) over repetitions of the thread's CPU time per operation. Nothing is asserted: goals
 * are printed next to the values. */
#include "bench.h"

#include <collector.h>

static const char usage[] = "[--quick] [--ring RECORDS]";

/* Ops are timed in this thread's CPU time: on a shared machine, time the neighbours ran in between
 * is not the operation's cost (cache effects of being interrupted remain). */

/* ---- the measured operations: each runs n iterations and returns ns per iteration -------------- */

static tk_timer_t *span_timer;
static tk_label_t point_label;
static const char ctx40[] = "bytes=4096,queue=17,shard=3,retry=0,ok=1"; /* 40 bytes */

static __attribute__((noinline)) double op_span(size_t n)
{
    tk_timer_t *t = span_timer;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = tk_now();
        tk_record(t, s, tk_now(), 0);
    }
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_point0(size_t n)
{
    tk_label_t l = point_label;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++)
        tk_point(l, i, i, TK_ID_NONE, NULL);
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_point40(size_t n)
{
    tk_label_t l = point_label;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++)
        tk_point(l, i, i, TK_ID_NONE, ctx40);
    return (double)(op_clock() - t0) / (double)n;
}



/* 64-byte records: the same ring capacity in records, so twice the bytes. */
static __attribute__((noinline)) double op_floor64(size_t n)
{
    uint64_t *b = floor_buf, idx = floor_idx;
    const uint64_t mask = floor_cap - 1;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = bench_raw_ticks(), e = bench_raw_ticks();
        uint64_t *r = &b[(idx++ & mask) * 8];
        __atomic_store_n(&r[0], (uint64_t)i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[1], s, __ATOMIC_RELAXED);
        __atomic_store_n(&r[2], e, __ATOMIC_RELAXED);
        __atomic_store_n(&r[3], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&r[4], i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[5], s, __ATOMIC_RELAXED);
        __atomic_store_n(&r[6], e, __ATOMIC_RELAXED);
        __atomic_store_n(&r[7], 0, __ATOMIC_RELAXED);
    }
    floor_idx = idx;
    return (double)(op_clock() - t0) / (double)n;
}

/* The stores alone, without the counter reads that dominate the floors: what the record size
 * itself costs (32 vs 64 bytes per record, same number of records in the buffer). */
static __attribute__((noinline)) double op_store32(size_t n)
{
    uint64_t *b = floor_buf, idx = floor_idx;
    const uint64_t mask = floor_cap - 1;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        uint64_t *r = &b[(idx++ & mask) * 4];
        __atomic_store_n(&r[0], (uint64_t)i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[1], i + 1, __ATOMIC_RELAXED);
        __atomic_store_n(&r[2], i + 2, __ATOMIC_RELAXED);
        __atomic_store_n(&r[3], 0, __ATOMIC_RELAXED);
    }
    floor_idx = idx;
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_store64(size_t n)
{
    uint64_t *b = floor_buf, idx = floor_idx;
    const uint64_t mask = floor_cap - 1;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        uint64_t *r = &b[(idx++ & mask) * 8];
        for (unsigned j = 0; j < 8; j++)
            __atomic_store_n(&r[j], i + j, __ATOMIC_RELAXED);
    }
    floor_idx = idx;
    return (double)(op_clock() - t0) / (double)n;
}

/* A point's floor: one counter read and the bytes a point writes (label, ticks, three ids, then the
 * context), as nrec 32-byte slots; the context's length is known (no strlen). */
static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static inline void floor_point(size_t n, uint64_t *b, uint64_t *pidx, int with_ctx)
{
    const uint64_t mask = floor_cap - 1;
    uint64_t idx = *pidx;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = bench_raw_ticks();
        uint64_t *r = &b[(idx & mask) * 4];
        __atomic_store_n(&r[0], (uint64_t)i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[1], t, __ATOMIC_RELAXED);
        __atomic_store_n(&r[2], i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[3], i, __ATOMIC_RELAXED);
        r = &b[((idx + 1) & mask) * 4];
        __atomic_store_n(&r[0], with_ctx ? 40u : 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&r[1], TK_ID_NONE, __ATOMIC_RELAXED);
        __atomic_store_n(&r[2], with_ctx ? load64(ctx40) : 0, __ATOMIC_RELAXED);
        __atomic_store_n(&r[3], with_ctx ? load64(ctx40 + 8) : 0, __ATOMIC_RELAXED);
        if (with_ctx) {
            r = &b[((idx + 2) & mask) * 4];
            __atomic_store_n(&r[0], load64(ctx40 + 16), __ATOMIC_RELAXED);
            __atomic_store_n(&r[1], load64(ctx40 + 24), __ATOMIC_RELAXED);
            __atomic_store_n(&r[2], load64(ctx40 + 32), __ATOMIC_RELAXED);
            __atomic_store_n(&r[3], 0, __ATOMIC_RELAXED);
        }
        idx += with_ctx ? 3 : 2;
    }
    *pidx = idx;
}

static __attribute__((noinline)) double op_floor_point0(size_t n)
{
    uint64_t t0 = op_clock();
    floor_point(n, floor_buf, &floor_idx, 0);
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_floor_point40(size_t n)
{
    uint64_t t0 = op_clock();
    floor_point(n, floor_buf, &floor_idx, 1);
    return (double)(op_clock() - t0) / (double)n;
}

/* ---- the collector process ------------------------------------------------------------------------ */

typedef struct control {
    volatile int active;     /* parent: 1 = drain every period, 0 = only sleep */
    volatile int stop;
    volatile int failed;
    volatile uint64_t drains, records, drain_ns;
    double period_ms;
    char dir[256];
} control;

/* Runs in the forked child: wakes every period; when active, scans, drains and rolls over as
 * `timekeeper report` does each interval. Inactive, it wakes just as often and does nothing. */
static int collector_main(void *arg)
{
    control *ctl = arg;
    collector_options o = {.dir = ctl->dir, .quiet = 1};
    collector *c = NULL;
    if (collector_open(&o, &c) != 0) {
        ctl->failed = 1;
        return 1;
    }
    const uint64_t period = (uint64_t)(ctl->period_ms * 1e6);
    uint64_t next = bench_mono_ns();
    while (!ctl->stop) {
        if (ctl->active) {
            uint64_t t0 = bench_mono_ns();
            collector_scan(c);
            uint64_t n = collector_drain(c);
            collector_rollover(c);
            ctl->drain_ns += bench_mono_ns() - t0;
            ctl->records += n;
            ctl->drains++;
        }
        next += period;
        uint64_t now = bench_mono_ns();
        if (next < now)
            next = now;
        bench_sleep_until(next);
    }
    collector_close(c);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------------ */

enum { SPAN, FLOOR32, FLOOR64, POINT0, FLOORP0, POINT40, FLOORP40, STORE32, STORE64, NOPS };
static double (*const ops[NOPS])(size_t) = {op_span,    op_floor32,      op_floor64,
                                             op_point0,  op_floor_point0, op_point40,
                                             op_floor_point40, op_store32, op_store64};
static const char *const op_names[NOPS] = {
    "span (tk_now, tk_now, tk_record)", "floor 32 B (2 raw reads + 32 B store)",
    "floor 64 B (2 raw reads + 64 B store)", "point, no context (tk_point)",
    "point floor (1 read + 64 B store)", "point, 40 B context (tk_point)",
    "point floor (1 read + 96 B store)", "32 B store alone (no counter read)",
    "64 B store alone (no counter read)"};

#define MAX_REPS 64

static void print_stat(const char *name, bench_stat s, const char *unit)
{
    printf("  %-40s %8.2f %s   (min %.2f, max %.2f)\n", name, s.med, unit, s.min, s.max);
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "qr", usage);
    /* short runs, many of them: on a shared machine more of them fall between interruptions */
    const int reps = a.quick ? 9 : 31;
    const size_t n = a.quick ? 100000 : 300000;
    const int reps_e = a.quick ? 5 : 15;
    const double window_ms = a.quick ? 60 : 100;
    const uint32_t ring = a.ring ? (uint32_t)a.ring : 65536u;

    control *ctl = bench_shared_alloc(sizeof *ctl);
    if (!ctl || bench_mkdir(ctl->dir, sizeof ctl->dir, "bench-record") != 0) {
        fprintf(stderr, "bench_record: cannot create a shared block or a directory: %s\n",
                strerror(errno));
        return 1;
    }
    ctl->period_ms = 10;
    /* the collector is forked before tk_init, so it has no segment of its own */
    pid_t child = bench_fork(collector_main, ctl);
    if (child < 0) {
        fprintf(stderr, "bench_record: fork: %s\n", strerror(errno));
        bench_rmdir(ctl->dir);
        return 1;
    }
    int status = 0;
    tk_options to = {.dir = ctl->dir, .ring_size = ring};
    int rc = tk_init(&to);
    floor_cap = ring;
    floor_buf = calloc((size_t)ring * 8, sizeof *floor_buf);
    if (rc != 0 || !floor_buf) {
        fprintf(stderr, "bench_record: %s\n", rc ? tk_strerror(rc) : "out of memory");
        status = 1;
        goto out;
    }
    span_timer = tk_timer("bench.span");
    point_label = tk_label("bench.point");

    /* (a)-(d): every operation in every repetition, rotated order */
    static double v[NOPS][MAX_REPS];
    for (int k = 0; k < NOPS; k++) /* warm up: claims the ring, faults every page in */
        ops[k](n);
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < NOPS; j++) {
            int k = (r + j) % NOPS;
            v[k][r] = ops[k](n);
        }
    double ratio_span[MAX_REPS], ratio_p0[MAX_REPS], ratio_p40[MAX_REPS], ratio_64[MAX_REPS],
        ratio_s64[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        ratio_span[r] = v[SPAN][r] / v[FLOOR32][r];
        ratio_64[r] = v[FLOOR64][r] / v[FLOOR32][r];
        ratio_s64[r] = v[STORE64][r] / v[STORE32][r];
        ratio_p0[r] = v[POINT0][r] / v[FLOORP0][r];
        ratio_p40[r] = v[POINT40][r] / v[FLOORP40][r];
    }
    bench_stat m[NOPS];
    for (int k = 0; k < NOPS; k++)
        m[k] = bench_stats(v[k], (size_t)reps);
    bench_stat rs = bench_stats(ratio_span, (size_t)reps), r64 = bench_stats(ratio_64, (size_t)reps);
    bench_stat rs64 = bench_stats(ratio_s64, (size_t)reps);
    bench_stat rp0 = bench_stats(ratio_p0, (size_t)reps), rp40 = bench_stats(ratio_p40, (size_t)reps);

    const char *clock = tk_clock_source() == TK_CLOCK_TSC ? "tsc"
                        : tk_clock_source() == TK_CLOCK_CNTVCT ? "cntvct" : "monotonic";
    printf("bench_record: clock %s, ring %u records, %d repetitions of %zu per operation "
           "(thread CPU time; medians, min..max over repetitions); load average %.2f\n", clock, ring, reps, n,
           bench_loadavg());
    for (int k = 0; k < NOPS; k++)
        print_stat(op_names[k], m[k], "ns/op");
    printf("record_span: %.2f ns/op\n", m[SPAN].med);
    printf("record_floor32: %.2f ns/op\n", m[FLOOR32].med);
    printf("record_span_to_floor: %.3f x (per-repetition %.3f..%.3f, fastest-to-fastest %.3f; "
           "goal: <= 1.25)\n", m[SPAN].med / m[FLOOR32].med, rs.min, rs.max,
           m[SPAN].min / m[FLOOR32].min);
    printf("record_floor64_to_floor32: %.3f x (per-repetition %.3f..%.3f; 64-byte records cost "
           "this much more at the floor)\n", m[FLOOR64].med / m[FLOOR32].med, r64.min, r64.max);
    printf("record_store64_to_store32: %.3f x (per-repetition %.3f..%.3f; the stores alone, "
           "%.2f vs %.2f ns)\n", m[STORE64].med / m[STORE32].med, rs64.min, rs64.max, m[STORE64].med,
           m[STORE32].med);
    printf("point_noctx: %.2f ns/op, to its floor %.3f x (per-repetition %.3f..%.3f, "
           "fastest-to-fastest %.3f; goal: <= 1.25)\n", m[POINT0].med, m[POINT0].med / m[FLOORP0].med,
           rp0.min, rp0.max, m[POINT0].min / m[FLOORP0].min);
    printf("point_ctx40: %.2f ns/op, to its floor %.3f x (per-repetition %.3f..%.3f, "
           "fastest-to-fastest %.3f; goal: <= 1.25)\n", m[POINT40].med,
           m[POINT40].med / m[FLOORP40].med, rp40.min, rp40.max, m[POINT40].min / m[FLOORP40].min);
    printf("point_noctx_to_span_floor: %.3f x (the 32-byte span floor, for reference)\n",
           m[POINT0].med / m[FLOOR32].med);
    fflush(stdout);

    /* (e): span cost with the collector process draining every 10 ms vs idle, interleaved */
    size_t ne = (size_t)(window_ms * 1e6 / (m[SPAN].med > 1 ? m[SPAN].med : 1));
    double off[MAX_REPS], on[MAX_REPS], rel[MAX_REPS], off_w[MAX_REPS], on_w[MAX_REPS];
    uint64_t drains = 0, records = 0, drain_ns = 0;
    for (int r = 0; r < reps_e && !ctl->failed; r++) {
        for (int j = 0; j < 2; j++) {
            int attached = (r + j) % 2;
            uint64_t d0 = ctl->drains;
            ctl->active = attached;
            if (attached) {
                uint64_t deadline = bench_mono_ns() + 2000000000u;
                while (ctl->drains < d0 + 2 && !ctl->failed && bench_mono_ns() < deadline)
                    bench_sleep_ns(1000000);
            } else {
                bench_sleep_ns(25000000); /* let a drain in progress finish */
            }
            uint64_t dd = ctl->drains, rr = ctl->records, dn = ctl->drain_ns;
            uint64_t w0 = bench_mono_ns();
            double x = op_span(ne);
            double xw = (double)(bench_mono_ns() - w0) / (double)ne;
            (attached ? on_w : off_w)[r] = xw;
            if (attached) {
                drains += ctl->drains - dd;
                records += ctl->records - rr;
                drain_ns += ctl->drain_ns - dn;
                on[r] = x;
            } else {
                off[r] = x;
            }
        }
        rel[r] = on[r] / off[r] - 1;
    }
    ctl->active = 0;
    if (ctl->failed) {
        fprintf(stderr, "bench_record: the collector process failed to start\n");
        status = 1;
        goto out;
    }
    bench_stat son = bench_stats(on, (size_t)reps_e), soff = bench_stats(off, (size_t)reps_e);
    bench_stat srel = bench_stats(rel, (size_t)reps_e);
    printf("bench_record: collector process draining every %.0f ms vs idle, %d interleaved pairs "
           "of %.0f ms windows\n", ctl->period_ms, reps_e, window_ms);
    print_stat("span, no collector", soff, "ns/op");
    print_stat("span, collector attached", son, "ns/op");
    bench_stat son_w = bench_stats(on_w, (size_t)reps_e), soff_w = bench_stats(off_w, (size_t)reps_e);
    print_stat("span, no collector (wall clock)", soff_w, "ns/op");
    print_stat("span, collector attached (wall clock)", son_w, "ns/op");
    printf("  collector: %llu drains during the windows, %.0f records/drain, %.2f ms/drain\n",
           (unsigned long long)drains, drains ? (double)records / (double)drains : 0,
           drains ? (double)drain_ns / (double)drains / 1e6 : 0);
    printf("record_collector_attached_change: %+.1f %% (medians of CPU time; paired per-repetition "
           "median %+.1f %%, %+.1f..%+.1f %%; wall clock %+.1f %%; goal: < 5 %%)\n",
           (son.med / soff.med - 1) * 100, srel.med * 100, srel.min * 100, srel.max * 100,
           (son_w.med / soff_w.med - 1) * 100);

out:
    ctl->stop = 1;
    if (bench_wait(child) != 0 && status == 0)
        fprintf(stderr, "bench_record: the collector process did not exit cleanly\n");
    const char *seg = tk_segment_path();
    if (seg && *seg)
        unlink(seg);
    bench_rmdir(ctl->dir);
    free(floor_buf);
    return status;
}
