/* bench_task.c — what a task slice (tk_task_running + tk_task_paused) costs, against the span floor
 * (two raw counter reads + one 32-byte store, as in bench_record) and a recorded span; and a whole
 * short task (created, running, completed).
 *
 *     bench_task [--quick]
 *
 * Every repetition runs every operation once in a rotated order; the lines report medians (min..max)
 * of the thread's CPU time per operation. Nothing is asserted: the goal is printed with the value. */
#include "bench.h"

static const char usage[] = "[--quick]";


TK_TASK_TYPE(bench_slice);
TK_TASK_TYPE(bench_whole);

static tk_timer_t *span_timer;


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

static tk_task_t slice_task;

static __attribute__((noinline)) double op_slice(size_t n)
{
    tk_task_t *t = &slice_task;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        tk_task_running(t);
        tk_task_paused(t);
    }
    return (double)(op_clock() - t0) / (double)n;
}

static __attribute__((noinline)) double op_whole(size_t n)
{
    tk_task_type_t *ty = TK_TASK_TYPE_OF(bench_whole);
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        tk_task_t t;
        tk_task_created(&t, ty);
        tk_task_running(&t);
        tk_task_completed(&t);
    }
    return (double)(op_clock() - t0) / (double)n;
}

enum { FLOOR, SPAN, SLICE, WHOLE, NOPS };
static const char *const op_names[NOPS] = {"span floor (2 counter reads + 32-byte store)",
                                           "span (tk_now x2 + tk_record)",
                                           "task slice (running + paused)",
                                           "whole task (created, running, completed)"};
static double (*const ops[NOPS])(size_t) = {op_floor32, op_span, op_slice, op_whole};

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "q", usage);
    char dir[256];
    if (bench_mkdir(dir, sizeof dir, "bench-task") != 0) {
        fprintf(stderr, "bench_task: cannot create a directory: %s\n", strerror(errno));
        return 1;
    }
    tk_options o = {.dir = dir, .ring_size = 65536, .max_threads = 4};
    int rc = tk_init(&o);
    if (rc) {
        fprintf(stderr, "bench_task: %s\n", tk_strerror(rc));
        bench_rmdir(dir);
        return 1;
    }
    span_timer = tk_timer("bench.span");
    floor_cap = 65536;
    floor_buf = calloc(floor_cap, 32);
    if (!floor_buf || tk_task_created(&slice_task, TK_TASK_TYPE_OF(bench_slice)) != 0) {
        fprintf(stderr, "bench_task: setup failed\n");
        bench_rmdir(dir);
        return 1;
    }
    const size_t n = a.quick ? 20000 : 200000;
    const int reps = a.quick ? 5 : 21;
    double v[NOPS][64], ratio_floor[64], ratio_span[64];
    for (int k = 0; k < NOPS; k++)
        ops[k](n / 10); /* warm up: rings claimed, pages touched */
    for (int r = 0; r < reps; r++) {
        for (int j = 0; j < NOPS; j++) {
            int k = (j + r) % NOPS;
            v[k][r] = ops[k](n);
        }
        ratio_floor[r] = v[SLICE][r] / v[FLOOR][r];
        ratio_span[r] = v[SLICE][r] / v[SPAN][r];
    }
    tk_task_completed(&slice_task);
    printf("bench_task: clock %s, %d repetitions of %zu per operation, load %.2f\n",
           tk_clock_source() == TK_CLOCK_TSC ? "tsc" : "other", reps, n, bench_loadavg());
    bench_stat s[NOPS];
    for (int k = 0; k < NOPS; k++) {
        s[k] = bench_stats(v[k], (size_t)reps);
        printf("  %-46s %8.2f ns/op   (min %.2f, max %.2f)\n", op_names[k], s[k].med, s[k].min,
               s[k].max);
    }
    bench_stat rf = bench_stats(ratio_floor, (size_t)reps), rs = bench_stats(ratio_span, (size_t)reps);
    printf("task_slice: %.2f ns/op\n", s[SLICE].med);
    printf("task_slice_to_span_floor: %.3f x (per-repetition %.3f..%.3f; goal <= 2)\n", rf.med,
           rf.min, rf.max);
    printf("task_slice_to_span: %.3f x (per-repetition %.3f..%.3f)\n", rs.med, rs.min, rs.max);
    printf("task_whole: %.2f ns/op\n", s[WHOLE].med);
    free(floor_buf);
    bench_rmdir(dir);
    return 0;
}
