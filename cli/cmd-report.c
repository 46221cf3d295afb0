/* cmd-report.c — `timekeeper report`: statistics per timer, per interval and cumulative. */
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/window.h"
#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#include "format/segment.h"
#include "report.h"
#include "sink/sink.h"
#include "sink/stats.h"

enum { OPT_KEEP = 256, OPT_SUBTRACT, OPT_STATS };

static const cli_option options[] = {
    {"interval", 'i', "TIME", "length of an interval: 100ms, 1s, 2m; no unit: seconds (default 1s; 50ms .. 1h)"},
    {"count", 'n', "N", "stop after N intervals and print the totals"},
    {"once", '1', NULL, "drain what is there now, print the totals and exit"},
    {"pid", 'p', "PID", "only this process"},
    {"timer", 't', "PATTERN", "only timers whose name contains PATTERN, or matches it as a glob when it has * ? [ (any case)"},
    {"json", 'j', NULL, "one JSON object per line and statistic (see timekeeper(1))"},
    {"csv", 'c', NULL, "CSV: a header line, then one row per statistic (see timekeeper(1))"},
    {"stats", OPT_STATS, NULL, "per interval and process a `stats - {...}` line (counters, gauges, stages, timers) and a `resources - {...}` line (CPU, RSS, ... from /proc), as `plot` reads them"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"keep", OPT_KEEP, NULL, "accepted for old scripts: report never removes a segment"},
    {"subtract-clock", OPT_SUBTRACT, NULL, "subtract the measured cost of a clock read from processing times"},
    {0},
};

typedef struct report_opts {
    double interval;
    uint64_t count;
    int once, json, csv, keep, subtract, stats;
    int pid;
    const char *timer, *dir;
} report_opts;

static int cmd_report(int argc, char **argv);
const cli_command cmd_report_def = {
    "report", cmd_report, "print timer statistics per interval, then the totals",
    "[--interval TIME] [--count N] [--once] [--pid P] [--timer PATTERN] [--json|--csv|--stats]\n"
    "       [--dir DIR] [--keep] [--subtract-clock]",
    "Attaches to every instrumented process of this user (and to new ones as they appear),\n"
    "drains their rings and prints, per timer and kind (processing, latency): count, rate,\n"
    "min, avg, p50, p90, p99, p99.9, max and the records lost to ring overwrites. Runs until\n"
    "--count intervals have passed or it is interrupted (Ctrl-C), then prints the totals.\n"
    "Rings are drained every 10 ms whatever the interval, so a busy thread's ring is not\n"
    "lapped between two reports.\n"
    "A process that exited is drained to its last record and shown as exited (or killed, when\n"
    "it died without the library's exit mark). Its segment stays: only 'timekeeper clean'\n"
    "removes segments. 'lost' counts records this report missed while attached (a ring lapped\n"
    "it: drain more often or raise TK_RING_SIZE); 'overwritten' those a ring had overwritten\n"
    "before this report first read it (a flight recorder keeps only its latest records).\n"
    "--stats prints instead, every interval, one `stats - {...}` line per process (its counters'\n"
    "deltas, gauges, stages and timers' p50/p99) and one `resources - {...}` line (CPU in % of\n"
    "one core, RSS, threads, cores, context switches, I/O bytes), the format of\n"
    "docs/stats-lines.md that `timekeeper plot` reads.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    report_opts *o = ctx;
    switch (key) {
    case 'i':
        if (cli_parse_seconds(arg, 0.05, 3600, &o->interval))
            return cli_usage_error(&cmd_report_def, "--interval wants a time in [50ms, 1h] (100ms, 1s, 2m), not '%s'", arg);
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
    case 'c': o->csv = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case OPT_KEEP: o->keep = 1; return 0;
    case OPT_SUBTRACT: o->subtract = 1; return 0;
    case OPT_STATS: o->stats = 1; return 0;
    }
    return CLI_USAGE;
}

/* Timers that passed the --timer filter, in every process. */
static size_t timers_shown(const tka_agg *a)
{
    size_t n = 0;
    for (size_t i = 0; i < tka_agg_proc_count(a); i++)
        n += tka_proc_timer_count(tka_agg_proc(a, i));
    return n;
}

static void fill_view(tk_window_view *v, const tka_agg *a, tka_window w, double secs,
                      uint64_t overhead)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *v = (tk_window_view){a, w, secs, overhead, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
                          tkc_now_ns()};
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
    if (o.json + o.csv + o.stats > 1)
        return cli_usage_error(&cmd_report_def, "--json, --csv and --stats exclude each other");

    uint64_t overhead = o.subtract ? report_clock_read_cost_ns() : 0;
    tkc_core_options co = {.dir = o.dir, .pid = o.pid};
    tka_options ao = {.timer_glob = o.timer, .overhead_ns = overhead};
    tkc_core *core;
    if (cli_open_core("report", &co, &core) != 0)
        return CLI_FAIL;
    tka_agg *agg = tka_agg_new(&ao);
    tkc_driver *d = agg ? tkc_driver_new(core, NULL) : NULL;
    tk_sink sink;
    int sink_rc = o.stats ? tk_sink_stats_open(&sink, stdout)
                          : tk_sink_open(&sink, o.json ? &tk_sink_json : o.csv ? &tk_sink_csv
                                                                                 : &tk_sink_table,
                                         stdout);
    const tkc_consumer *sink_cons = !sink_rc && sink.ops->consumer ? sink.ops->consumer(&sink) : NULL;
    if (!d || sink_rc || tkc_core_subscribe(core, tka_agg_consumer(agg)) != 0 ||
        (sink_cons && tkc_core_subscribe(core, sink_cons) != 0)) {
        tkc_driver_free(d);
        tkc_core_close(core);
        if (!sink_rc)
            tk_sink_close(&sink);
        tka_agg_free(agg);
        return cli_error("report", "out of memory");
    }
    tkc_signals_install();
    tk_window_view v;
    int werr = 0;

    if (!o.once) {
        uint64_t done = 0;
        tkc_driver_flush(d);
        tka_agg_rollover(agg, tkc_now_ns()); /* what was there before the first interval counts in
                                              * the totals */
        tkc_driver_set_interval(d, (uint64_t)(o.interval * 1e9));
        uint64_t t0 = tkc_now_ns();
        while (!tkc_signal_received() && (!o.count || done < o.count) && !werr) {
            if (!(tkc_driver_wait(d, 0) & TKC_TICK_INTERVAL))
                continue;
            uint64_t t1 = tkc_now_ns();
            fill_view(&v, agg, TKA_INTERVAL, (double)(t1 - t0) / 1e9, overhead);
            werr = tk_sink_window(&sink, &v);
            fflush(stdout);
            tka_agg_rollover(agg, t1);
            t0 = t1;
            done++;
        }
    }
    tkc_driver_flush(d);
    tka_agg_rollover(agg, tkc_now_ns());
    fill_view(&v, agg, TKA_TOTAL, 0, overhead);
    if (!werr)
        tk_sink_window(&sink, &v);
    fflush(stdout);
    uint64_t lapped = 0;
    for (size_t i = 0; i < tkc_core_proc_count(core); i++)
        lapped += tkc_proc_lost(tkc_core_proc(core, i), TKC_LOSS_LAPPED);
    if (lapped)
        fprintf(stderr, "timekeeper report: %llu records were overwritten while this report was "
                        "attached: a ring filled between two drains; raise TK_RING_SIZE in the "
                        "program (records per thread, default %u)\n",
                (unsigned long long)lapped, TKS_DEFAULT_RING_CAPACITY);
    if (!o.json && !o.csv && tkc_core_proc_count(core) == 0)
        fprintf(stderr, "timekeeper report: no instrumented process found in %s\n",
                tkc_core_dir(core));
    else if (o.timer && timers_shown(agg) == 0)
        fprintf(stderr, "timekeeper report: no timer matches --timer '%s' (a word matches as a "
                        "substring, * ? [ as a glob)\n", o.timer);
    tkc_driver_free(d);
    tkc_core_close(core); /* before the consumers it tells that processes go */
    tk_sink_close(&sink); /* after the core: the stats sink is one of its consumers */
    tka_agg_free(agg);
    return cli_finish("report", CLI_OK);
}
