/* bench_counter.c — what a counter add, a gauge set and a cached stage check cost, next to a span
 * and the span floor of bench_record (two raw counter reads + one 32-byte store into a
 * thread-local buffer of the ring's size, nothing published).
 *
 *     bench_counter [--quick]
 *
 * Every repetition runs every operation once, in a rotated order; the lines report medians (and
 * min..max) over repetitions of the thread's CPU time per operation. Nothing is asserted: the
 * goal (each at most the span floor) is printed next to the values. */
#include "bench.h"

static const char usage[] = "[--quick]";


static tk_timer_t *span_timer;
static tk_counter_t *counter;
static tk_gauge_t *gauge;

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

static __attribute__((noinline)) double op_counter(size_t n)
{
    tk_counter_t *c = counter;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++)
        tk_counter_add(c, i);
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_gauge(size_t n)
{
    tk_gauge_t *g = gauge;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++)
        tk_gauge_set(g, (int64_t)i);
    return (double)(op_clock() - t0) / (double)n;
}

static volatile uint64_t stage_sink;
static __attribute__((noinline)) double op_stage(size_t n)
{
    uint64_t t0 = op_clock(), on = 0;
    for (size_t i = 0; i < n; i++)
        if (TK_STAGE_ON("bench.stage"))
            on += i;
    stage_sink = on;
    return (double)(op_clock() - t0) / (double)n;
}



enum { SPAN, FLOOR32, COUNTER, GAUGE, STAGE, NOPS };
static double (*const ops[NOPS])(size_t) = {op_span, op_floor32, op_counter, op_gauge, op_stage};
static const char *const op_names[NOPS] = {
    "span (tk_now, tk_now, tk_record)", "floor 32 B (2 raw reads + 32 B store)",
    "counter add (tk_counter_add)", "gauge set (tk_gauge_set)", "stage check (TK_STAGE_ON)"};

#define MAX_REPS 64

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "q", usage);
    const int reps = a.quick ? 9 : 31;
    const size_t n = a.quick ? 100000 : 300000;
    char dir[256];
    if (bench_mkdir(dir, sizeof dir, "bench-counter") != 0) {
        fprintf(stderr, "bench_counter: cannot create a directory: %s\n", strerror(errno));
        return 1;
    }
    tk_options to = {.dir = dir};
    int rc = tk_init(&to);
    floor_cap = 65536; /* the default ring size */
    floor_buf = calloc(floor_cap * 4, sizeof *floor_buf);
    if (rc != 0 || !floor_buf) {
        fprintf(stderr, "bench_counter: %s\n", rc ? tk_strerror(rc) : "out of memory");
        bench_rmdir(dir);
        return 1;
    }
    span_timer = tk_timer("bench.span");
    counter = tk_counter("bench.counter");
    gauge = tk_gauge("bench.gauge");
    static double v[NOPS][MAX_REPS];
    for (int k = 0; k < NOPS; k++)
        ops[k](n);
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < NOPS; j++) {
            int k = (r + j) % NOPS;
            v[k][r] = ops[k](n);
        }
    bench_stat m[NOPS];
    for (int k = 0; k < NOPS; k++)
        m[k] = bench_stats(v[k], (size_t)reps);
    printf("bench_counter: %d repetitions of %zu per operation (thread CPU time; medians, "
           "min..max over repetitions); load average %.2f\n", reps, n, bench_loadavg());
    for (int k = 0; k < NOPS; k++)
        printf("  %-40s %8.2f ns/op   (min %.2f, max %.2f)\n", op_names[k], m[k].med, m[k].min,
               m[k].max);
    printf("counter_add: %.2f ns/op, to the span floor %.3f x (goal: <= 1)\n", m[COUNTER].med,
           m[COUNTER].med / m[FLOOR32].med);
    printf("gauge_set: %.2f ns/op, to the span floor %.3f x (goal: <= 1)\n", m[GAUGE].med,
           m[GAUGE].med / m[FLOOR32].med);
    printf("stage_check: %.2f ns/op\n", m[STAGE].med);
    free(floor_buf);
    bench_rmdir(dir);
    return 0;
}
