/* cmd-analyze.c — `timekeeper analyze`: intervals, totals, paths and the unaccounted remainder between
 * labeled points, from TIMING lines (files or stdin) or from the live rings (--live). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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
    OPT_SPEC = 256,
    OPT_COMMAND,
    OPT_LIVE,
    OPT_DURATION,
    OPT_IDLE,
    OPT_MAX_OPEN,
    OPT_MAX_ERRORS,
};

static const cli_option options[] = {
    {"spec", OPT_SPEC, "FILE", "intervals, totals and paths to measure (see docs/analyze.md)"},
    {"command", OPT_COMMAND, "N", "print the timeline of command id N instead of statistics"},
    {"json", 'j', NULL, "write one JSON document"},
    {"csv", 'c', NULL, "write CSV (one header line, one row per statistic)"},
    {"live", OPT_LIVE, NULL, "read points from the rings of running processes, not from files"},
    {"duration", OPT_DURATION, "TIME", "with --live: stop after TIME (5s, 2m; default: at Ctrl-C)"},
    {"dir", 'd', "DIR", "with --live: segments directory (default $TK_DIR or /dev/shm)"},
    {"pid", 'p', "PID", "with --live: only this process"},
    {"idle", OPT_IDLE, "TIME", "forget a correlation id not seen for TIME of log time (default 60s)"},
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
    "Points past the limits (distinct labels, pairs, *_ns field names) are ignored and counted;\n"
    "a warning on stderr says how many. On a terminal, stderr shows the progress of large inputs.\n"
    "\n"
    "Exit status: 0 on success; 1 when the input held no TIMING point at all (empty, binary or\n"
    "unrelated input), on an I/O error or a bad spec; 2 on bad usage.\n"
    "Example: timekeeper analyze --spec examples/async-flow/async-flow.spec timing.log";

static int cmd_analyze(int argc, char **argv);

const cli_command cmd_analyze_def = {
    "analyze", cmd_analyze, "measure intervals between labeled points (TIMING lines)",
    "[--spec FILE] [--command N] [--json|--csv] [--idle TIME] [--max-open N] [--max-errors N]\n"
    "       [FILE...|--live [--duration TIME] [--pid P] [--dir DIR]]", description,
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
    int pid;
    double idle;
    uint64_t max_open;
    uint64_t max_errors;
} args;

static int on_option(void *ctx, int key, const char *arg)
{
    args *o = ctx;
    const cli_command *cmd = &cmd_analyze_def;
    switch (key) {
    case OPT_SPEC:
        o->spec = arg;
        break;
    case OPT_COMMAND:
        if (cli_parse_u64(arg, 0, UINT64_MAX - 1, &o->command) < 0)
            return cli_usage_error(cmd, "--command needs a command id (an unsigned integer), not '%s'",
                                   arg);
        o->has_command = 1;
        break;
    case 'j':
        o->format = ANALYZE_JSON;
        o->formats++;
        break;
    case 'c':
        o->format = ANALYZE_CSV;
        o->formats++;
        break;
    case OPT_LIVE:
        o->live = 1;
        break;
    case OPT_DURATION:
        if (cli_parse_seconds(arg, 0.001, 1e9, &o->duration) < 0)
            return cli_usage_error(cmd, "--duration needs a time (> 0: 500ms, 5s, 2m), not '%s'", arg);
        o->has_duration = 1;
        break;
    case 'd':
        o->dir = arg;
        break;
    case 'p':
        return cli_option_pid(cmd, arg, &o->pid);
    case OPT_IDLE:
        if (cli_parse_seconds(arg, 1e-9, 1e9, &o->idle) < 0)
            return cli_usage_error(cmd, "--idle needs a time (> 0: 30s, 5m), not '%s'", arg);
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

/* Progress of a long read on stderr, when stderr is a terminal: bytes read (of the file's size when
 * known), at most every half second, erased when the input is done. */
typedef struct progress {
    int on, shown;
    uint64_t done, size, next_ns;
    const char *name;
} progress;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void progress_show(progress *p, uint64_t n)
{
    p->done += n;
    if (!p->on)
        return;
    uint64_t now = mono_ns();
    if (!p->next_ns) {
        p->next_ns = now + 1000000000u; /* nothing for inputs read within a second */
        return;
    }
    if (now < p->next_ns)
        return;
    p->next_ns = now + 500000000u;
    p->shown = 1;
    if (p->size)
        fprintf(stderr, "\rtimekeeper analyze: %s: %.0f of %.0f MB (%.0f %%)  ", p->name,
                (double)p->done / 1e6, (double)p->size / 1e6, 100.0 * (double)p->done / (double)p->size);
    else
        fprintf(stderr, "\rtimekeeper analyze: %s: %.0f MB  ", p->name, (double)p->done / 1e6);
}

static void progress_end(progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r\033[K");
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
    progress pr = {.on = isatty(STDERR_FILENO), .name = name};
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        pr.size = (uint64_t)st.st_size;
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
        progress_show(&pr, (uint64_t)n);
    }
    progress_end(&pr);
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
    tkc_core_options co = {.dir = o->dir, .pid = o->pid};
    tkc_core *c;
    if (cli_open_core("analyze", &co, &c) != 0)
        return CLI_FAIL;
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
    if (c->labels_dropped)
        fprintf(stderr, "timekeeper analyze: warning: %llu of %llu points ignored: more than %d "
                        "distinct labels (the first %d are analysed)\n",
                (unsigned long long)c->labels_dropped, (unsigned long long)c->points,
                ANALYZE_MAX_LABELS, ANALYZE_MAX_LABELS);
    if (c->pairs_dropped)
        fprintf(stderr, "timekeeper analyze: warning: %llu intervals ignored: more than %d distinct "
                        "label pairs\n", (unsigned long long)c->pairs_dropped, ANALYZE_MAX_PAIRS);
    if (c->fields_dropped)
        fprintf(stderr, "timekeeper analyze: warning: %llu context fields ignored: more than %d "
                        "*_ns field names\n", (unsigned long long)c->fields_dropped, ANALYZE_MAX_FIELDS);
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
    if (!c->points) {
        status = CLI_FAIL; /* nothing was measured: a script must not take it for a result */
    } else if (o.has_command && analyze_timeline_length(a) == 0) {
        cli_error("analyze", "no point has command id %llu", (unsigned long long)o.command);
        status = CLI_FAIL;
    }
done:
    free(buf);
    analyze_free(a);
    analyze_spec_free(spec);
    return cli_finish("analyze", status);
}
