/* test_procstat.c — /proc samples of a child whose resource use the test drives: RSS that grows
 * by a known amount, a known CPU burn, threads, voluntary context switches, bytes written; a gone
 * process; and what one sample costs the collector. Directions and rough sizes, not exact times. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "testutil.h"
#include "core/procstat.h"

static int to_child[2], from_child[2];
static pid_t child;

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void child_main(void)
{
    char cmd;
    volatile uint64_t sink = 0;
    while (read(to_child[0], &cmd, 1) == 1) {
        if (cmd == 'm') { /* 64 MiB, every page touched */
            size_t n = 64u << 20;
            char *p = malloc(n);
            for (size_t i = 0; p && i < n; i += 4096)
                p[i] = 1;
        } else if (cmd == 'c') { /* 300 ms of this process's own CPU time */
            double t0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
            while (cpu_s(CLOCK_PROCESS_CPUTIME_ID) - t0 < 0.3)
                for (int i = 0; i < 10000; i++)
                    sink += (uint64_t)i * 7;
        } else if (cmd == 't') {
            for (int i = 0; i < 3; i++) {
                pthread_t th;
                pthread_create(&th, NULL, sleeper, NULL);
            }
        } else if (cmd == 's') {
            for (int i = 0; i < 100; i++)
                tu_sleep_ms(1);
        } else if (cmd == 'w') {
            FILE *f = fopen("/dev/null", "w");
            static char buf[65536];
            for (int i = 0; f && i < 32; i++)
                if (write(fileno(f), buf, sizeof buf) < 0)
                    break;
            if (f)
                fclose(f);
        } else {
            break;
        }
        if (write(from_child[1], &cmd, 1) != 1)
            break;
    }
    _exit(0);
}

static void ask(char cmd)
{
    char ack;
    assert_int_equal(write(to_child[1], &cmd, 1), 1);
    assert_int_equal(read(from_child[0], &ack, 1), 1);
}

static int setup(void **state)
{
    (void)state;
    if (pipe(to_child) || pipe(from_child))
        return -1;
    child = fork();
    if (child == 0) {
        close(to_child[1]); /* so that the test closing its end ends the child */
        close(from_child[0]);
        child_main();
    }
    return child > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    close(to_child[1]);
    kill(child, SIGKILL); /* its sleeping threads would not end it otherwise */
    waitpid(child, NULL, 0);
    return 0;
}

static void sample(tkc_procstat *s)
{
    int rc = tkc_procstat_read(child, s);
    if (rc)
        tu_fail("tkc_procstat_read(%d) = %d", (int)child, rc);
}

static void rss_grows_by_what_the_child_touched(void **state)
{
    (void)state;
    tkc_procstat a, b;
    sample(&a);
    ask('m');
    sample(&b);
    uint64_t grew = b.rss_bytes > a.rss_bytes ? b.rss_bytes - a.rss_bytes : 0;
    assert_u64_at_most(80u << 20, grew, "RSS growth after touching 64 MiB");
    if (grew < (48u << 20))
        tu_fail("RSS grew by %llu bytes after touching 64 MiB", (unsigned long long)grew);
}

static void cpu_burn_shows_as_cpu_time_and_percent(void **state)
{
    (void)state;
    tkc_procstat a, b;
    tkc_procstat_rates r;
    sample(&a);
    ask('c');
    sample(&b);
    tkc_procstat_diff(&a, &b, &r);
    double used = (double)(b.utime_ns + b.stime_ns - a.utime_ns - a.stime_ns) / 1e9;
    if (used < 0.25 || used > 0.5)
        tu_fail("CPU time of a 0.3 s burn: %.3f s", used);
    /* per core: at most 100 % for one busy thread, plus tick rounding */
    if (r.cpu_pct <= 0 || r.cpu_pct > 100.0 * 0.5 / 0.3 + 50)
        tu_fail("CPU %% of the burn: %.1f over %.3f s", r.cpu_pct, r.seconds);
    assert_true(b.cores >= 1);
}

static void threads_switches_and_io_are_counted(void **state)
{
    (void)state;
    tkc_procstat a, b;
    tkc_procstat_rates r;
    sample(&a);
    ask('t');
    ask('s');
    ask('w');
    sample(&b);
    tkc_procstat_diff(&a, &b, &r);
    tu_expect_eq("threads", a.threads + 3, b.threads);
    assert_true(b.have_cs);
    if (r.voluntary_cs < 50)
        tu_fail("voluntary context switches over 100 sleeps: %llu",
                (unsigned long long)r.voluntary_cs);
    assert_true(b.have_io);
    if (r.write_bytes < (2u << 20))
        tu_fail("bytes written: %llu, expected at least 2 MiB", (unsigned long long)r.write_bytes);
}

static void gone_process_answers_esrch(void **state)
{
    (void)state;
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    tkc_procstat s;
    assert_int_equal(tkc_procstat_read(p, &s), -ESRCH);
}

/* The budget: < 0.1 % of a core per process at 1 Hz, i.e. < 1 ms of CPU per sample. */
static void one_sample_costs_far_less_than_a_millisecond(void **state)
{
    (void)state;
    tkc_procstat s;
    const int n = 500;
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < n; i++)
        sample(&s);
    double per = (cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0) / n;
    printf("# procstat: %.1f us of CPU per sample (%.4f %% of a core at 1 Hz)\n", per * 1e6,
           per * 100.0);
    if (per >= 1e-3)
        tu_fail("a sample costs %.3f ms of CPU", per * 1e3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rss_grows_by_what_the_child_touched),
        cmocka_unit_test(cpu_burn_shows_as_cpu_time_and_percent),
        cmocka_unit_test(threads_switches_and_io_are_counted),
        cmocka_unit_test(gone_process_answers_esrch),
        cmocka_unit_test(one_sample_costs_far_less_than_a_millisecond),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
