/* cmd-analyze.c — `timekeeper analyze`: intervals, totals, paths and the unaccounted remainder between
 * labeled points, from TIMING lines (files or stdin) or from the live rings (--live). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "core/core.h"
#include "core/driver.h"
#include "sink/sink.h"

#define READ_CHUNK (1u << 20)

enum {
    OPT_JSON = 256,
    OPT_CSV,
    OPT_LIVE,
    OPT_DURATION,
    OPT_DIR,
    OPT_PID,
    OPT_IDLE,
    OPT_MAX_OPEN,
    OPT_MAX_ERRORS,
};

static const cli_option options[] = {
    {"spec", 's', "FILE", "intervals, totals and paths to measure (see docs/analyze.md)"},
    {"command", 'c', "N", "print the timeline of command id N instead of statistics"},
    {"json", OPT_JSON, NULL, "write one JSON document"},
    {"csv", OPT_CSV, NULL, "write CSV (one header line, one row per statistic)"},
    {"live", OPT_LIVE, NULL, "read points from the rings of running processes, not from files"},
    {"duration", OPT_DURATION, "S", "with --live: stop after S seconds (default: at Ctrl-C)"},
    {"dir", OPT_DIR, "DIR", "with --live: segments directory (default $TK_DIR or /dev/shm)"},
    {"pid", OPT_PID, "PID", "with --live: only this process"},
    {"idle", OPT_IDLE, "S", "forget a correlation id not seen for S seconds of log time (60)"},
    {"max-open", OPT_MAX_OPEN, "N", "at most N open sequences; the oldest is dropped (100000)"},
    {"max-errors", OPT_MAX_ERRORS, "N", "report the first N malformed lines on stderr (5)"},
    {0},
};

static const char description[] =
    "Reads TIMING lines (TIMING,<label>,<timestamp_ns>,<client_id>,<command_id>,<session_id>,\n"
    "<context>) from FILEs, or from stdin when there is no FILE or FILE is '-'; other lines are\n"
    "skipped and counted. Points are grouped per correlation id: the command id, or client and\n"
    "session while the command id is '-'.\n"
    "\n"
    "With --spec, prints per interval, per total and per path: count, avg, p50, p90, p99, max,\n"
    "the components of each total and the unaccounted remainder (e.g. Python overhead). Without a\n"
    "spec, prints the time between consecutive points of each correlation id, as 'A -> B' pairs.\n"
    "Both also give statistics of the numeric *_ns= context fields and a summary of what was\n"
    "skipped, malformed, out of order or unfinished.\n"
    "\n"
    "Exit status: 0 on success, 1 on an I/O error or a bad spec, 2 on bad usage.\n"
    "Example: timekeeper analyze --spec examples/async-flow/async-flow.spec timing.log";

static int cmd_analyze(int argc, char **argv);

const cli_command cmd_analyze_def = {
    "analyze", cmd_analyze, "measure intervals between labeled points (TIMING lines)",
    "[--spec FILE] [--command N] [--json|--csv] [FILE...|--live [--duration S]]", description,
    options,
};

typedef struct args {
    const char *spec;
    int has_command;
    uint64_t command;
    analyze_format format;
    int formats;
    int live;
    double duration;
    int has_duration;
    const char *dir;
    uint64_t pid;
    double idle;
    uint64_t max_open;
    uint64_t max_errors;
} args;

static int on_option(void *ctx, int key, const char *arg)
{
    args *o = ctx;
    const cli_command *cmd = &cmd_analyze_def;
    switch (key) {
    case 's':
        o->spec = arg;
        break;
    case 'c':
        if (cli_parse_u64(arg, 0, UINT64_MAX - 1, &o->command) < 0)
            return cli_usage_error(cmd, "--command needs a command id (an unsigned integer), not '%s'",
                                   arg);
        o->has_command = 1;
        break;
    case OPT_JSON:
        o->format = ANALYZE_JSON;
        o->formats++;
        break;
    case OPT_CSV:
        o->format = ANALYZE_CSV;
        o->formats++;
        break;
    case OPT_LIVE:
        o->live = 1;
        break;
    case OPT_DURATION:
        if (cli_parse_double(arg, 0.001, 1e9, &o->duration) < 0)
            return cli_usage_error(cmd, "--duration needs seconds (> 0), not '%s'", arg);
        o->has_duration = 1;
        break;
    case OPT_DIR:
        o->dir = arg;
        break;
    case OPT_PID:
        if (cli_parse_u64(arg, 1, 0x7fffffff, &o->pid) < 0)
            return cli_usage_error(cmd, "--pid needs a process id, not '%s'", arg);
        break;
    case OPT_IDLE:
        if (cli_parse_double(arg, 1e-9, 1e9, &o->idle) < 0)
            return cli_usage_error(cmd, "--idle needs seconds (> 0), not '%s'", arg);
        break;
    case OPT_MAX_OPEN:
        if (cli_parse_u64(arg, 1, 100000000, &o->max_open) < 0)
            return cli_usage_error(cmd, "--max-open needs a count in [1, 100000000], not '%s'", arg);
        break;
    case OPT_MAX_ERRORS:
        if (cli_parse_u64(arg, 0, 1000000, &o->max_errors) < 0)
            return cli_usage_error(cmd, "--max-errors needs a count, not '%s'", arg);
        break;
    default:
        return cli_usage_error(cmd, "unhandled option");
    }
    return 0;
}

/* Reads one input into the analyzer. Returns 0, or CLI_FAIL after reporting an I/O error. */
static int read_input(analyze *a, const char *path, char *buf)
{
    int stdin_input = strcmp(path, "-") == 0;
    const char *name = stdin_input ? "<stdin>" : path;
    int fd = stdin_input ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error("analyze", "cannot open '%s': %s", path, strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    analyze_source(a, name);
    int status = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            status = cli_error("analyze", "cannot read '%s': %s", name, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        analyze_feed(a, buf, (size_t)n);
    }
    analyze_source_end(a);
    if (!stdin_input)
        close(fd);
    return status;
}

/* ---- --live ------------------------------------------------------------------------------------- */
/* Points from the rings, on the same driver (and so the same 10 ms drain cadence) as report. */
static void live_point(void *ctx, const tkc_proc *p, const tkc_point *pt)
{
    const char *label = tkc_proc_name(p, pt->label);
    timing_point t = {
        .label = *label ? label : "?",
        .label_len = *label ? strlen(label) : 1,
        .ts_ns = pt->mono_ns,
        .client = pt->client,
        .command = pt->command,
        .session = pt->session,
        .context = pt->context ? pt->context : "",
        .context_len = pt->context ? pt->context_len : 0,
    };
    analyze_point(ctx, &t);
}

static int read_live(analyze *a, const args *o)
{
    tkc_core_options co = {.dir = o->dir, .pid = (int)o->pid};
    tkc_core *c;
    int r = tkc_core_open(&co, &c);
    if (r < 0)
        return cli_error("analyze", "cannot start the collector: %s", strerror(-r));
    tkc_consumer cons = {.ctx = a, .point = live_point};
    tkc_driver *d = tkc_driver_new(c, NULL);
    if (!d || tkc_core_subscribe(c, &cons) != 0) {
        tkc_driver_free(d);
        tkc_core_close(c);
        return cli_error("analyze", "out of memory");
    }
    tkc_core_order_points(c, 1); /* points of different threads in time order */
    tkc_signals_install();
    uint64_t end = o->has_duration ? tkc_now_ns() + (uint64_t)(o->duration * 1e9) : 0;
    while (!tkc_signal_received() && !(end && tkc_now_ns() >= end))
        tkc_driver_wait(d, end);
    tkc_driver_flush(d);
    tkc_core_flush_points(c);
    tkc_driver_free(d);
    tkc_core_close(c);
    return 0;
}

static int cmd_analyze(int argc, char **argv)
{
    const cli_command *cmd = &cmd_analyze_def;
    args o = {.format = ANALYZE_TABLE, .max_errors = ANALYZE_DEFAULT_MAX_REPORTED};
    int status;
    int first = cli_parse(cmd, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (o.formats > 1)
        return cli_usage_error(cmd, "--json and --csv exclude each other");
    if (o.live && first < argc)
        return cli_usage_error(cmd, "--live reads the rings: no FILE operand allowed");
    if (!o.live && (o.has_duration || o.dir || o.pid))
        return cli_usage_error(cmd, "--duration, --dir and --pid go with --live");
    if (o.has_command && o.spec)
        return cli_usage_error(cmd, "--command prints a timeline and does not use --spec");

    analyze_spec *spec = NULL;
    analyze *a = NULL;
    char *buf = NULL;
    if (o.spec) {
        char err[512];
        int r = analyze_spec_load(o.spec, &spec, err, sizeof err);
        if (r == -3)
            return cli_error("analyze", "cannot read the spec: %s", err);
        if (r < 0)
            return cli_error("analyze", "%s", err);
    }
    analyze_options ao = {
        .spec = spec,
        .idle_ns = o.idle > 0 ? (uint64_t)(o.idle * 1e9) : 0,
        .max_open = (size_t)o.max_open,
        .timeline = o.has_command,
        .command = o.command,
        .diag = o.max_errors ? stderr : NULL,
        .diag_prefix = "timekeeper analyze: ",
        .max_reported = (unsigned)(o.max_errors ? o.max_errors : 1),
    };
    if (analyze_new(&ao, &a) < 0 || !(buf = malloc(READ_CHUNK))) {
        status = cli_error("analyze", "out of memory");
        goto done;
    }

    status = CLI_OK;
    if (o.live) {
        status = read_live(a, &o);
    } else if (first == argc) {
        status = read_input(a, "-", buf);
    } else {
        for (int i = first; i < argc && status == CLI_OK; i++)
            status = read_input(a, argv[i], buf);
    }
    if (status != CLI_OK)
        goto done;

    analyze_finish(a);
    const analyze_counts *c = analyze_get_counts(a);
    if (c->malformed > o.max_errors && o.max_errors)
        fprintf(stderr, "timekeeper analyze: %llu malformed lines in all (the first %llu shown)\n",
                (unsigned long long)c->malformed, (unsigned long long)o.max_errors);
    if (!c->points)
        fprintf(stderr, "timekeeper analyze: no TIMING points in the input%s\n",
                o.live ? "" : " (were they written with TK_TIMING=1?)");
    tk_sink sink;
    tk_sink_open(&sink, o.format == ANALYZE_JSON  ? &tk_sink_json
                        : o.format == ANALYZE_CSV ? &tk_sink_csv
                                                  : &tk_sink_table,
                 stdout);
    int werr = tk_sink_analysis(&sink, a);
    tk_sink_close(&sink);
    if (werr < 0) {
        status = cli_error("analyze", "error writing output: %s", strerror(errno));
        goto done;
    }
    if (o.has_command && analyze_timeline_length(a) == 0) {
        cli_error("analyze", "no point has command id %llu", (unsigned long long)o.command);
        status = CLI_FAIL;
    }
done:
    free(buf);
    analyze_free(a);
    analyze_spec_free(spec);
    return cli_finish("analyze", status);
}
