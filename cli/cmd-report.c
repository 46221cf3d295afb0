/* cmd-report.c — `timekeeper report`: statistics per timer, per interval and cumulative. */
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "collector.h"
#include "report.h"

enum { OPT_KEEP = 256, OPT_SUBTRACT, OPT_DIR };

static const cli_option options[] = {
    {"interval", 'i', "S", "seconds per interval (default 1; 0.05 .. 3600)"},
    {"count", 'n', "N", "stop after N intervals and print the totals"},
    {"once", '1', NULL, "drain what is there now, print the totals and exit"},
    {"pid", 'p', "PID", "only this process"},
    {"timer", 't', "GLOB", "only timers whose name matches GLOB (fnmatch, e.g. 'gw.*')"},
    {"json", 'j', NULL, "one JSON object per line and statistic (see timekeeper(1))"},
    {"dir", OPT_DIR, "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"keep", OPT_KEEP, NULL, "do not remove the segments of exited processes"},
    {"subtract-clock", OPT_SUBTRACT, NULL, "subtract the measured cost of a clock read from processing times"},
    {0},
};

typedef struct report_opts {
    double interval;
    uint64_t count;
    int once, json, keep, subtract;
    int pid;
    const char *timer, *dir;
} report_opts;

static int cmd_report(int argc, char **argv);
const cli_command cmd_report_def = {
    "report", cmd_report, "print timer statistics per interval, then the totals",
    "[--interval S] [--count N] [--once] [--pid P] [--timer GLOB] [--json]",
    "Attaches to every instrumented process of this user (and to new ones as they appear),\n"
    "drains their rings and prints, per timer and kind (processing, latency): count, rate,\n"
    "min, avg, p50, p90, p99, p99.9, max and the records lost to ring overwrites. Runs until\n"
    "--count intervals have passed or it is interrupted (Ctrl-C), then prints the totals.\n"
    "Rings are drained every 10 ms whatever the interval, so a busy thread's ring is not\n"
    "lapped between two reports.\n"
    "A process that exited is drained to its last record and its segment removed.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    report_opts *o = ctx;
    switch (key) {
    case 'i':
        if (cli_parse_double(arg, 0.05, 3600, &o->interval))
            return cli_usage_error(&cmd_report_def, "--interval wants seconds in [0.05, 3600], not '%s'", arg);
        return 0;
    case 'n':
        if (cli_parse_u64(arg, 1, UINT32_MAX, &o->count))
            return cli_usage_error(&cmd_report_def, "--count wants a positive number, not '%s'", arg);
        return 0;
    case 'p':
        return cli_option_pid(&cmd_report_def, arg, &o->pid);
    case '1': o->once = 1; return 0;
    case 't': o->timer = arg; return 0;
    case 'j': o->json = 1; return 0;
    case OPT_DIR: o->dir = arg; return 0;
    case OPT_KEEP: o->keep = 1; return 0;
    case OPT_SUBTRACT: o->subtract = 1; return 0;
    }
    return CLI_USAGE;
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* Drains every DRAIN_PERIOD_NS until `until` (CLOCK_MONOTONIC ns), looking for new processes about
 * once a second: rings are read far more often than reports are printed, so a busy thread's ring
 * (65536 records by default: 13 ms at 5 M records/s) is not lapped between two reports. */
#define DRAIN_PERIOD_NS 10000000ull
static void drain_until(collector *c, uint64_t until, uint64_t *last_scan)
{
    for (;;) {
        uint64_t now = collector_now_ns();
        if (stop_requested || now >= until)
            return;
        uint64_t nap = until - now < DRAIN_PERIOD_NS ? until - now : DRAIN_PERIOD_NS;
        struct timespec ts = {(time_t)(nap / 1000000000u), (long)(nap % 1000000000u)};
        nanosleep(&ts, NULL);
        if (collector_now_ns() - *last_scan >= 1000000000u) {
            collector_scan(c);
            *last_scan = collector_now_ns();
        }
        collector_drain(c);
    }
}

static int cmd_report(int argc, char **argv)
{
    report_opts o = {.interval = 1.0};
    int status;
    int first = cli_parse(&cmd_report_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_report_def, "unexpected argument '%s'", argv[first]);
    if (o.once && o.count)
        return cli_usage_error(&cmd_report_def, "--once and --count exclude each other");

    collector_options co = {.dir = o.dir, .keep = o.keep, .pid = o.pid, .timer_glob = o.timer};
    if (o.subtract)
        co.overhead_ns = report_clock_read_cost_ns();
    collector *c;
    if (collector_open(&co, &c) != 0)
        return cli_error("report", "out of memory");
    report_ctx rc = {.out = stdout, .json = o.json, .overhead_ns = co.overhead_ns};

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!o.once) {
        uint64_t done = 0;
        collector_scan(c);
        collector_drain(c);
        collector_rollover(c); /* what was there before the first interval counts in the totals */
        uint64_t t0 = collector_now_ns(), last_scan = t0;
        while (!stop_requested && (!o.count || done < o.count)) {
            drain_until(c, t0 + (uint64_t)(o.interval * 1e9), &last_scan);
            collector_scan(c);
            last_scan = collector_now_ns();
            collector_drain(c);
            uint64_t t1 = collector_now_ns();
            report_print(&rc, c, REPORT_INTERVAL, (double)(t1 - t0) / 1e9);
            fflush(stdout);
            collector_rollover(c);
            t0 = t1;
            done++;
        }
    }
    collector_scan(c);
    collector_drain(c);
    collector_rollover(c);
    report_print(&rc, c, REPORT_TOTAL, 0);
    if (!o.json && collector_process_count(c) == 0)
        fprintf(stderr, "timekeeper report: no instrumented process found in %s\n",
                o.dir ? o.dir : (getenv("TK_DIR") ? getenv("TK_DIR") : "/dev/shm"));
    collector_close(c);
    return cli_finish("report", CLI_OK);
}
