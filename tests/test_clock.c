/* test_clock.c — ticks convert to CLOCK_MONOTONIC ns in the process and in the collector; spans
 * keep their real length; the calibration is refreshed; the CLOCK_MONOTONIC fallback works. */
#include <stdint.h>
#include <sys/wait.h>

#include <timekeeper.h>

#include "format/segment.h"
#include "testutil.h"

static char dir[256];

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int group_setup(void **state)
{
    (void)state;
    return tu_library_setup(dir, sizeof dir, 1u << 14, 4);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* A tick t read between m1 and m2 must convert into [m1 - slack, m2 + slack]. A VM may pause a
 * thread between the reads, so a few brackets may be wide: require 95% within 2 µs. */
#define SLACK_NS 2000
#define SAMPLES 2000

static void ticks_convert_to_monotonic_ns_in_the_process(void **state)
{
    (void)state;
    int good = 0;
    int64_t worst = 0;
    for (int i = 0; i < SAMPLES; i++) {
        uint64_t m1 = mono_ns(), t = tk_now(), m2 = mono_ns();
        int64_t v = (int64_t)tk_ticks_to_ns(t);
        int64_t err = v < (int64_t)m1 ? (int64_t)m1 - v : v > (int64_t)m2 ? v - (int64_t)m2 : 0;
        good += err <= SLACK_NS;
        if (err > worst)
            worst = err;
    }
    if (good < SAMPLES * 95 / 100)
        tu_fail("only %d of %d conversions within %d ns (worst %lld ns)", good, SAMPLES, SLACK_NS,
                (long long)worst);
}

typedef struct bracket {
    uint64_t m1[SAMPLES], m2[SAMPLES];
    int good, seen;
    int64_t worst;
} bracket;

static void on_point(void *ctx, const collector_point *p)
{
    bracket *b = ctx;
    if (strcmp(p->label, "clock.sample") != 0 || p->command >= SAMPLES)
        return;
    int64_t v = (int64_t)p->mono_ns, m1 = (int64_t)b->m1[p->command], m2 = (int64_t)b->m2[p->command];
    int64_t err = v < m1 ? m1 - v : v > m2 ? v - m2 : 0;
    b->good += err <= SLACK_NS;
    b->worst = err > b->worst ? err : b->worst;
    b->seen++;
}

static void the_collector_converts_point_ticks_to_monotonic_ns(void **state)
{
    (void)state;
    static bracket b;
    tk_label_t l = tk_label("clock.sample");
    assert_true(l != 0);
    for (uint64_t i = 0; i < SAMPLES; i++) {
        b.m1[i] = mono_ns();
        uint64_t t = tk_now();
        b.m2[i] = mono_ns();
        tk_point_at(l, t, 0, i, 0, NULL, 0);
        if (i % 200 == 0)
            tu_sleep_ms(1); /* spread the samples over a few calibration refreshes */
    }
    collector_options o = {.dir = dir, .quiet = 1};
    collector *c;
    assert_int_equal(collector_open(&o, &c), 0);
    collector_on_point(c, on_point, &b);
    collector_scan(c);
    collector_drain(c);
    tu_expect_eq("points read", SAMPLES, b.seen);
    if (b.good < SAMPLES * 95 / 100)
        tu_fail("only %d of %d conversions within %d ns (worst %lld ns)", b.good, SAMPLES,
                SLACK_NS, (long long)b.worst);
    collector_close(c);
}

static void a_span_keeps_its_real_length(void **state)
{
    (void)state;
    tk_timer_t *t = tk_timer("clock.span");
    uint64_t real[5];
    for (int i = 0; i < 5; i++) {
        uint64_t m1 = mono_ns(), s = tk_now();
        tu_sleep_ms(2 + i);
        uint64_t e = tk_now(), m2 = mono_ns();
        tk_record(t, s, e, 0);
        real[i] = m2 - m1;
    }
    collector_options o = {.dir = dir, .quiet = 1};
    collector *c;
    assert_int_equal(collector_open(&o, &c), 0);
    collector_scan(c);
    collector_drain(c);
    const timer_stats *ts = tu_timer(c, "clock.span");
    assert_non_null(ts);
    hist_summary s;
    hist_summarize(ts->interval[KIND_PROCESSING], &s);
    tu_expect_eq("spans", 5, s.count);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 5; i++) {
        lo = real[i] < lo ? real[i] : lo;
        hi = real[i] > hi ? real[i] : hi;
    }
    /* histogram precision 1/2048, brackets a few µs wider than the spans */
    if ((double)s.min < (double)lo * 0.995 - 5000 || (double)s.max > (double)hi * 1.001 + 5000)
        tu_fail("spans measured %llu..%llu ns, clock_gettime saw %llu..%llu ns",
                (unsigned long long)s.min, (unsigned long long)s.max, (unsigned long long)lo,
                (unsigned long long)hi);
    collector_close(c);
}

static void calibration_is_refreshed_over_time(void **state)
{
    (void)state;
    const char *path = tk_segment_path();
    assert_true(path && *path);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    tks_header h;
    uint64_t deadline = mono_ns() + 3000000000ull, count = 0;
    do { /* samples at 10, 30, 100, 300 ms and 1 s after start, then every second */
        rewind(f);
        assert_int_equal(fread(&h, sizeof h, 1, f), 1);
        count = h.calib_count;
        if (count >= 4)
            break;
        tu_sleep_ms(50);
    } while (mono_ns() < deadline);
    fclose(f);
    if (count < 4)
        tu_fail("calibration samples after up to 3 s: %llu, expected at least 4",
                (unsigned long long)count);
    if (h.heartbeat_mono_ns == 0 || h.heartbeat_mono_ns > mono_ns())
        tu_fail("heartbeat %llu is not a past CLOCK_MONOTONIC time", (unsigned long long)h.heartbeat_mono_ns);
}

static void clock_monotonic_fallback_is_used_when_asked(void **state)
{
    (void)state;
    /* a fresh program: the library reads TK_CLOCK at its first use, which here is long past */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s/tk_clock_child", getenv("TK_BIN") ? getenv("TK_BIN") : ".");
        dup2(fds[1], 1);
        setenv("TK_CLOCK", "monotonic", 1);
        setenv("TK_DIR", dir, 1);
        execl(cmd, cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[256] = {0};
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        tu_fail("the child failed (status %d, output '%s')", st, out);
    unsigned src = 0;
    long long diff = 0;
    if (sscanf(out, "source=%u diff=%lld", &src, &diff) != 2)
        tu_fail("unexpected child output '%s'", out);
    tu_expect_eq("clock source", TK_CLOCK_MONOTONIC, src);
    if (diff < 0 || diff > 1000000)
        tu_fail("tk_now() with the fallback is %lld ns from clock_gettime", diff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticks_convert_to_monotonic_ns_in_the_process),
        cmocka_unit_test(the_collector_converts_point_ticks_to_monotonic_ns),
        cmocka_unit_test(a_span_keeps_its_real_length),
        cmocka_unit_test(calibration_is_refreshed_over_time),
        cmocka_unit_test(clock_monotonic_fallback_is_used_when_asked),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
