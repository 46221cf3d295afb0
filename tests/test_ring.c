/* test_ring.c — rings under pressure: wrap-around, exact loss accounting with a slow reader, many
 * producer threads, collectors attaching and detaching while producers run, ring reuse. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>

#include <timekeeper.h>

#include "testutil.h"

#define RING 1024u
#define MAX_THREADS 64u

static char dir[256];

static int group_setup(void **state)
{
    (void)state;
    return tu_library_setup(dir, sizeof dir, RING, MAX_THREADS);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static collector *open_collector(void)
{
    collector_options o = {.dir = dir, .quiet = 1};
    collector *c = NULL;
    assert_int_equal(collector_open(&o, &c), 0);
    collector_scan(c);
    return c;
}

/* count + lost of a timer, after the caller's final drain */
static void expect_exact(const collector *c, const char *name, uint64_t recorded)
{
    const timer_stats *t = tu_timer(c, name);
    if (!t)
        tu_fail("timer %s not found", name);
    uint64_t count = tu_count(t);
    if (count + t->lost_total != recorded)
        tu_fail("%s: count %llu + lost %llu != recorded %llu", name, (unsigned long long)count,
                (unsigned long long)t->lost_total, (unsigned long long)recorded);
}

typedef struct job {
    const char *name;
    uint64_t n;
    uint64_t ticks;      /* span length in ticks (0: 100) */
    tk_timer_t *shared;  /* also record into this timer when set */
    atomic_int *stop;    /* record until set (n is then the count written back) */
} job;

static void *record_job(void *arg)
{
    job *j = arg;
    tk_timer_t *t = tk_timer(j->name);
    uint64_t d = j->ticks ? j->ticks : 100, i = 0;
    for (; j->stop ? !atomic_load(j->stop) : i < j->n; i++) {
        uint64_t s = 1000000 + i * 7;
        tk_record(t, s, s + d, 0);
        if (j->shared)
            tk_record(j->shared, s, s + d, s - 10);
    }
    j->n = i;
    return NULL;
}

static void run_threads(job *jobs, size_t n)
{
    pthread_t th[MAX_THREADS];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, record_job, &jobs[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void wrap_around_keeps_the_newest_records_and_counts_the_rest_lost(void **state)
{
    (void)state;
    double tps = tk_ticks_per_second();
    job j = {"wrap.a", 5000, (uint64_t)(tps / 1e6), NULL, NULL}; /* 1 µs spans */
    run_threads(&j, 1);
    collector *c = open_collector();
    collector_drain(c);
    const timer_stats *t = tu_timer(c, "wrap.a");
    assert_non_null(t);
    uint64_t count = tu_count(t);
    if (count < RING - 2 || count > RING)
        tu_fail("a full ring of %u should remain, got %llu", RING, (unsigned long long)count);
    expect_exact(c, "wrap.a", 5000);
    hist_summary s;
    hist_summarize(t->interval[KIND_PROCESSING], &s);
    if (s.min < 990 || s.max > 1010)
        tu_fail("1 µs spans came back as %llu..%llu ns", (unsigned long long)s.min,
                (unsigned long long)s.max);
    collector_close(c);
}

static void *record_then_bury(void *arg)
{
    (void)arg;
    tk_timer_t *a = tk_timer("buried.a"), *b = tk_timer("buried.b");
    for (uint64_t i = 0; i < 500; i++)
        tk_record(a, i, i + 5, 0);
    for (uint64_t i = 0; i < 5 * RING; i++)
        tk_record(b, i, i + 5, 0);
    return NULL;
}

static void a_timer_whose_records_were_all_overwritten_counts_them_lost(void **state)
{
    (void)state;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, record_then_bury, NULL), 0);
    pthread_join(th, NULL);
    collector *c = open_collector();
    collector_drain(c);
    tu_expect_eq("buried.a records read", 0, tu_count(tu_timer(c, "buried.a")));
    expect_exact(c, "buried.a", 500);
    expect_exact(c, "buried.b", 5 * RING);
    collector_close(c);
}

typedef struct reader {
    atomic_int *done;
    collector *c;
    long pause_us;
    uint64_t drains;
} reader;

static void *slow_reader(void *arg)
{
    reader *r = arg;
    while (!atomic_load(r->done)) {
        collector_scan(r->c);
        collector_drain(r->c);
        r->drains++;
        struct timespec ts = {0, r->pause_us * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void slow_reader_counts_every_overwritten_record_exactly(void **state)
{
    (void)state;
    atomic_int done = 0;
    reader r = {&done, open_collector(), 2000, 0};
    tk_timer_t *shared = tk_timer("slow.shared");
    job jobs[4] = {{"slow.t0", 100000, 0, shared, NULL}, {"slow.t1", 70000, 0, shared, NULL},
                   {"slow.t2", 50000, 0, shared, NULL}, {"slow.t3", 3000, 0, shared, NULL}};
    pthread_t rt;
    assert_int_equal(pthread_create(&rt, NULL, slow_reader, &r), 0);
    run_threads(jobs, 4);
    atomic_store(&done, 1);
    pthread_join(rt, NULL);
    collector_drain(r.c);
    for (int i = 0; i < 4; i++)
        expect_exact(r.c, jobs[i].name, jobs[i].n);
    expect_exact(r.c, "slow.shared", 223000);
    const timer_stats *t = tu_timer(r.c, "slow.shared");
    if (tu_count(t) == 0)
        tu_fail("the reader drained %llu times but read nothing", (unsigned long long)r.drains);
    collector_close(r.c);
}

static void many_producer_threads_are_all_accounted_for(void **state)
{
    (void)state;
    enum { N = 16, PER = 20000 };
    atomic_int done = 0;
    reader r = {&done, open_collector(), 100, 0};
    tk_timer_t *shared = tk_timer("many.shared");
    job jobs[N];
    char names[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "many.t%02d", i);
        jobs[i] = (job){names[i], PER, 0, shared, NULL};
    }
    pthread_t rt;
    assert_int_equal(pthread_create(&rt, NULL, slow_reader, &r), 0);
    run_threads(jobs, N);
    atomic_store(&done, 1);
    pthread_join(rt, NULL);
    collector_drain(r.c);
    for (int i = 0; i < N; i++)
        expect_exact(r.c, names[i], PER);
    expect_exact(r.c, "many.shared", (uint64_t)N * PER);
    const timer_stats *t = tu_timer(r.c, "many.shared");
    hist_summary s;
    hist_summarize(t->interval[KIND_LATENCY], &s);
    if (s.count == 0)
        tu_fail("latency of records with an origin was not kept");
    collector_close(r.c);
}

static void collectors_attach_and_detach_while_producers_run(void **state)
{
    (void)state;
    atomic_int stop = 0;
    job jobs[3] = {{"attach.a", 0, 0, NULL, &stop}, {"attach.b", 0, 0, NULL, &stop},
                   {"attach.c", 0, 0, NULL, &stop}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, record_job, &jobs[i]), 0);
    for (int k = 0; k < 25; k++) {
        collector *c = open_collector();
        collector_drain(c);
        tu_sleep_ms(k % 3);
        collector_drain(c);
        collector_rollover(c);
        collector_close(c);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    collector *c = open_collector();
    collector_drain(c);
    for (int i = 0; i < 3; i++) {
        if (jobs[i].n == 0)
            tu_fail("producer %s recorded nothing", jobs[i].name);
        expect_exact(c, jobs[i].name, jobs[i].n);
    }
    collector_close(c);
}

static void *record_and_wait(void *arg)
{
    job *j = arg;
    record_job(j);
    return NULL;
}

typedef struct ordered_job {
    const uint64_t *ticks;
    int parity;
    int n;
} ordered_job;

static void *record_points(void *arg)
{
    ordered_job *j = arg;
    tk_label_t l = tk_label("order.point");
    for (int i = j->parity; i < j->n; i += 2)
        tk_point_at(l, j->ticks[i], 0, (uint64_t)i, 0, "k=v", 3);
    return NULL;
}

typedef struct order_seen {
    int n, inversions;
    uint64_t last_cmd, last_ns;
} order_seen;

static void on_ordered_point(void *ctx, const collector_point *p)
{
    order_seen *s = ctx;
    if (strcmp(p->label, "order.point") != 0)
        return;
    if (s->n && (p->command < s->last_cmd || p->mono_ns < s->last_ns))
        s->inversions++;
    s->last_cmd = p->command;
    s->last_ns = p->mono_ns;
    s->n++;
}

static void points_of_several_threads_come_out_in_time_order_when_asked(void **state)
{
    (void)state;
    enum { N = 400 };
    static uint64_t ticks[N];
    for (int i = 0; i < N; i++) { /* increasing ticks, handed alternately to two threads */
        ticks[i] = tk_now();
        for (volatile int k = 0; k < 200; k++) {
        }
    }
    ordered_job a = {ticks, 0, N}, b = {ticks, 1, N};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, record_points, &a), 0);
    pthread_join(ta, NULL);
    assert_int_equal(pthread_create(&tb, NULL, record_points, &b), 0);
    pthread_join(tb, NULL);

    for (int ordered = 0; ordered <= 1; ordered++) {
        collector *c = open_collector();
        order_seen seen = {0};
        collector_on_point(c, on_ordered_point, &seen);
        collector_order_points(c, ordered);
        collector_drain(c);
        collector_flush_points(c);
        tu_expect_eq("points delivered", N, seen.n);
        if (ordered)
            tu_expect_eq("out-of-order deliveries with ordering", 0, seen.inversions);
        else if (seen.inversions == 0)
            tu_fail("ring-by-ring delivery was expected to interleave the two threads' points");
        collector_close(c);
    }
}

static const process_info *find_pid(const collector *c, int pid)
{
    for (size_t i = 0; i < collector_process_count(c); i++)
        if (collector_process(c, i)->pid == pid)
            return collector_process(c, i);
    return NULL;
}

static uint64_t count_in(const process_info *p, const char *name)
{
    for (size_t j = 0; p && j < p->ntimers; j++)
        if (!strcmp(p->timers[j]->name, name))
            return hist_count(p->timers[j]->interval[KIND_PROCESSING]) +
                   hist_count(p->timers[j]->total[KIND_PROCESSING]);
    return UINT64_MAX;
}

static void a_forked_child_records_into_its_own_segment(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip(); /* the child starts its calibration thread: TSan does not support threads after fork */
#endif
    tk_timer_t *before = tk_timer("fork.before");
    tk_record(before, 1, 2, 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 100; i++)
            tk_record(before, 1, 2, 0);
        tk_timer_t *mine = tk_timer("fork.child_only");
        for (int i = 0; i < 7; i++)
            tk_record(mine, 1, 2, 0);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    collector *c = open_collector();
    collector_drain(c);
    const process_info *parent = find_pid(c, getpid()), *child = find_pid(c, pid);
    assert_non_null(parent);
    if (!child)
        tu_fail("no segment for the forked child %d", (int)pid);
    tu_expect_eq("fork.before in the parent", 1, count_in(parent, "fork.before"));
    tu_expect_eq("fork.before in the child", 100, count_in(child, "fork.before"));
    tu_expect_eq("fork.child_only in the child", 7, count_in(child, "fork.child_only"));
    tu_expect_eq("fork.child_only in the parent (absent)", UINT64_MAX,
                 count_in(parent, "fork.child_only"));
    collector_close(c);
}

static void a_forked_child_that_records_nothing_leaves_no_segment(void **state)
{
    (void)state;
    size_t files = tu_count_files(dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    tu_expect_eq("segment files", files, tu_count_files(dir));
}

/* Runs last: it uses every ring. Released rings are reused, and their records stay countable. */
static void released_rings_are_reused_without_losing_count(void **state)
{
    (void)state;
    job first = {"reuse.first", 300, 0, NULL, NULL};
    run_threads(&first, 1);
    collector *early = open_collector();
    collector_drain(early);
    expect_exact(early, "reuse.first", 300);
    assert_int_equal(tu_count(tu_timer(early, "reuse.first")), 300);
    /* exhaust the rings with short-lived threads, one after another: each exits before the next */
    for (unsigned i = 0; i < MAX_THREADS + 8; i++) {
        job j = {"reuse.many", 10, 0, NULL, NULL};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, record_and_wait, &j), 0);
        pthread_join(th, NULL);
    }
    collector_drain(early);
    expect_exact(early, "reuse.many", (MAX_THREADS + 8) * 10u);
    expect_exact(early, "reuse.first", 300);
    collector *late = open_collector();
    collector_drain(late);
    expect_exact(late, "reuse.many", (MAX_THREADS + 8) * 10u);
    for (size_t i = 0; i < collector_process_count(late); i++)
        if (collector_process(late, i)->dropped_no_ring)
            tu_fail("records were dropped although released rings were free");
    collector_close(early);
    collector_close(late);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrap_around_keeps_the_newest_records_and_counts_the_rest_lost),
        cmocka_unit_test(a_timer_whose_records_were_all_overwritten_counts_them_lost),
        cmocka_unit_test(slow_reader_counts_every_overwritten_record_exactly),
        cmocka_unit_test(many_producer_threads_are_all_accounted_for),
        cmocka_unit_test(collectors_attach_and_detach_while_producers_run),
        cmocka_unit_test(points_of_several_threads_come_out_in_time_order_when_asked),
        cmocka_unit_test(a_forked_child_records_into_its_own_segment),
        cmocka_unit_test(a_forked_child_that_records_nothing_leaves_no_segment),
        cmocka_unit_test(released_rings_are_reused_without_losing_count),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
