/* test_crash.c — a producer killed with SIGKILL: everything it fully wrote is drained, losses are
 * exact, no record is torn, and its segment is removed afterwards. This process never records;
 * every producer is a forked child. */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include <timekeeper.h>

#include "testutil.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(dir, sizeof dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

typedef struct points_seen {
    uint64_t n, first, last, gaps, bad_payload;
} points_seen;

static void on_point(void *ctx, const collector_point *p)
{
    points_seen *s = ctx;
    if (strcmp(p->label, "crash.point") != 0)
        return;
    /* payload written by the child: client = command * 3, session = command + 7, context "c=<cmd>" */
    char want[32];
    snprintf(want, sizeof want, "c=%llu", (unsigned long long)p->command);
    if (p->client != p->command * 3 || p->session != p->command + 7 || strcmp(p->context, want))
        s->bad_payload++;
    if (s->n && p->command != s->last + 1)
        s->gaps++;
    if (!s->n)
        s->first = p->command;
    s->last = p->command;
    s->n++;
}

/* The child: records `n` points and spans (n = 0: forever), then tells the parent and waits. */
static void producer_child(int fd, uint64_t n, uint32_t ring)
{
    tk_options o = {.dir = dir, .ring_size = ring, .max_threads = 4};
    if (tk_init(&o) != 0)
        _exit(3);
    tk_label_t l = tk_label("crash.point");
    tk_timer_t *t = tk_timer("crash.span");
    char ctx[32];
    for (uint64_t i = 0; n == 0 || i < n; i++) {
        snprintf(ctx, sizeof ctx, "c=%llu", (unsigned long long)i);
        tk_point(l, i * 3, i, i + 7, ctx);
        uint64_t s = tk_now();
        tk_record(t, s, s + 10, 0);
        if (i == 1000 && write(fd, "x", 1) != 1) /* running: the parent may kill now */
            _exit(4);
    }
    if (write(fd, "y", 1) != 1)
        _exit(4);
    for (;;)
        pause();
}

static pid_t start_child(uint64_t n, uint32_t ring, char wait_for)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        producer_child(fds[1], n, ring);
    }
    close(fds[1]);
    char ch = 0;
    while (ch != wait_for)
        if (read(fds[0], &ch, 1) != 1)
            tu_fail("the producer child died before signalling '%c'", wait_for);
    close(fds[0]);
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    int st;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* A collector on dir that hands every point to on_point(seen), after its first scan. */
static collector *open_collector(points_seen *seen)
{
    collector_options o = {.dir = dir, .quiet = 1, .remove_exited = 1};
    collector *c;
    assert_int_equal(collector_open(&o, &c), 0);
    collector_on_point(c, on_point, seen);
    collector_scan(c);
    return c;
}

static void killed_producer_is_drained_to_its_last_record(void **state)
{
    (void)state;
    pid_t pid = start_child(20000, 1u << 17, 'y');
    kill_and_reap(pid);
    tu_expect_eq("segments before draining", 1, tu_count_files(dir));

    points_seen seen = {0};
    collector *c = open_collector(&seen);
    collector_drain(c);
    tu_expect_eq("points read", 20000, seen.n);
    tu_expect_eq("points with a wrong payload", 0, seen.bad_payload);
    tu_expect_eq("gaps in the command sequence", 0, seen.gaps);
    const timer_stats *t = tu_timer(c, "crash.span");
    assert_non_null(t);
    tu_expect_eq("spans read", 20000, tu_count(t));
    tu_expect_eq("spans lost", 0, t->lost_total);
    assert_int_equal(collector_process(c, 0)->state, PROC_EXITED);
    tu_expect_eq("segments after draining a dead producer", 0, tu_count_files(dir));
    collector_close(c);
}

static void producer_killed_mid_stream_loses_no_complete_record(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        pid_t pid = start_child(0, 4096, 'x');
        tu_sleep_ms(5 + round * 7);
        kill_and_reap(pid);

        points_seen seen = {0};
        collector *c = open_collector(&seen);
        collector_drain(c);
        if (seen.n == 0)
            tu_fail("round %d: no point read", round);
        tu_expect_eq("points with a torn or wrong payload", 0, seen.bad_payload);
        tu_expect_eq("gaps in the command sequence", 0, seen.gaps);
        /* one span follows each point: the kill may fall between a point and its span */
        const timer_stats *t = tu_timer(c, "crash.span");
        assert_non_null(t);
        uint64_t lost = t->lost_total, spans = tu_count(t);
        if (spans + lost < seen.last || spans + lost > seen.last + 1)
            tu_fail("round %d: spans %llu + lost %llu vs %llu points made", round,
                    (unsigned long long)spans, (unsigned long long)lost,
                    (unsigned long long)seen.last + 1);
        collector_close(c);
        tu_expect_eq("segments left", 0, tu_count_files(dir));
    }
}

static void a_collector_that_attached_before_the_crash_drains_the_rest(void **state)
{
    (void)state;
    pid_t pid = start_child(0, 1u << 16, 'x');
    points_seen seen = {0};
    collector *c = open_collector(&seen);
    for (int i = 0; i < 5; i++) {
        collector_drain(c);
        tu_sleep_ms(1);
    }
    assert_int_equal(collector_process(c, 0)->state, PROC_LIVE);
    kill_and_reap(pid);
    collector_drain(c);
    assert_int_equal(collector_process(c, 0)->state, PROC_EXITED);
    tu_expect_eq("points with a torn or wrong payload", 0, seen.bad_payload);
    const timer_stats *t = tu_timer(c, "crash.span");
    uint64_t spans = tu_count(t) + t->lost_total;
    if (spans < seen.last || spans > seen.last + 1)
        tu_fail("spans %llu (incl. lost) vs %llu points", (unsigned long long)spans,
                (unsigned long long)seen.last + 1);
    collector_close(c);
    tu_expect_eq("segments left", 0, tu_count_files(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(killed_producer_is_drained_to_its_last_record, setup, teardown),
        cmocka_unit_test_setup_teardown(producer_killed_mid_stream_loses_no_complete_record, setup, teardown),
        cmocka_unit_test_setup_teardown(a_collector_that_attached_before_the_crash_drains_the_rest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
