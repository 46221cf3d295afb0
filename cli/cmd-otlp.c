/* cmd-otlp.c — `timekeeper export --otlp URL [RECORDING.db]`: every timer's processing and latency
 * histograms as OTLP exponential histograms (and lost records as sums) pushed to an OpenTelemetry
 * Collector, once or every interval (--live), or every window of a recording. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#include "otlp-options.h"
#ifdef TK_HAVE_RECORDING_READ
#include "sink/otlp/otlp_recording.h"
#endif

enum { OPT_LIVE = 256, OPT_DURATION };

static const cli_option options[] = {
    CLI_OTLP_OPTIONS,
    {"live", OPT_LIVE, NULL, "keep exporting every interval until interrupted or --duration"},
    {"interval", 'i', "D", "with --live: export period (default 10s)"},
    {"duration", OPT_DURATION, "D", "read the rings for D before the one push; with --live: stop after D"},
    {"pid", 'p', "PID", "only this process"},
    {"timer", 't', "GLOB", "only timers matching this fnmatch(3) pattern"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"json", 'j', NULL, "print the delivery counters as JSON"},
    {0},
};

static int cmd_export(int argc, char **argv);
const cli_command cmd_export_otlp_def = {
    "export", cmd_export, "push timings to an OpenTelemetry Collector (OTLP/HTTP)",
    "--otlp URL [--live [-i|--interval D]] [--duration D] [--otlp-encoding protobuf|json]\n"
    "       [--otlp-temporality delta|cumulative] [--otlp-headers K=V,...] [--otlp-queue N]\n"
    "       [--otlp-timeout D] [--otlp-max-buckets N] [--otlp-spans [--sample P] [--span-rate N]]\n"
    "       [--service NAME] [-p|--pid P] [-t|--timer GLOB] [-d|--dir DIR] [-j|--json]\n"
    "       timekeeper export --otlp URL [OTLP options] [-p|--pid P] [-t|--timer GLOB] [-j|--json]\n"
    "       RECORDING.db",
    "Reads the rings of the instrumented processes and sends every timer's processing time and\n"
    "latency as OTLP exponential histograms (timekeeper.timer.processing and .latency, unit ns,\n"
    "attribute timer) and its lost records as a sum (timekeeper.timer.lost), one resource per\n"
    "process: service.name, host.name, process.pid, process.command_line and the pairs of\n"
    "$OTEL_RESOURCE_ATTRIBUTES. Without --live, one push of what the rings hold (after --duration\n"
    "of reading); with --live, one push per interval. Requests go through a bounded queue and a\n"
    "sender thread: 429/502/503/504 and network errors are retried (Retry-After honoured, else\n"
    "exponential backoff with jitter), other codes are not; a full queue drops the request and\n"
    "counts it. On SIGINT/SIGTERM the queue is flushed for up to --otlp-timeout. The exit status\n"
    "is 1 when any request was not delivered. --otlp-spans also sends one span per timer record\n"
    "(sampled per trace with --sample, capped with --span-rate); spans of one dressed message\n"
    "(one origin) share a trace.\n"
    "With RECORDING.db (a file of `timekeeper record`), pushes each of its interval windows\n"
    "instead, stamped with the window's own start and end: the histograms of its stats rows,\n"
    "its counters (sums) and gauges, one push per window and process, waiting for room in the\n"
    "queue rather than dropping.",
    options,
};

/* 1 when --help or -h is among the options: `export --otlp --help` asks for this mode's help, and
 * getopt alone would take that --help for the URL of --otlp. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

typedef struct export_opts {
    cli_otlp_opts otlp;
    const char *dir, *timer;
    int live, pid, json;
    double interval_s, duration_s;
} export_opts;

static int on_option(void *ctx, int key, const char *arg)
{
    export_opts *o = ctx;
    const cli_command *cmd = &cmd_export_otlp_def;
    int r = cli_otlp_option(cmd, &o->otlp, key, arg);
    if (r >= 0)
        return r;
    switch (key) {
    case OPT_LIVE: o->live = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case 't': o->timer = arg; return 0;
    case 'j': o->json = 1; return 0;
    case 'p': return cli_option_pid(cmd, arg, &o->pid);
    case 'i':
    case OPT_DURATION: {
        double *d = key == 'i' ? &o->interval_s : &o->duration_s;
        if (cli_parse_seconds(arg, key == 'i' ? 0.01 : 0, 1e9, d) < 0)
            return cli_usage_error(cmd, "bad duration '%s' (e.g. 500ms, 10s, 2m)", arg);
        return 0;
    }
    }
    return CLI_USAGE;
}

#ifdef TK_HAVE_OTLP

/* The recording mode: every interval window of path, one push per window and process. */
static int export_recording(const export_opts *o, tk_otlp_config *cfg, const char *path)
{
    const cli_command *cmd = &cmd_export_otlp_def;
    if (o->live || o->duration_s > 0 || o->dir || o->otlp.spans)
        return cli_usage_error(cmd, "--live, --duration, --dir and --otlp-spans read the rings, "
                                    "not a recording");
#ifdef TK_HAVE_RECORDING_READ
    tk_rec *r;
    int rc = tk_rec_open(path, &r);
    if (rc != 0) {
        int st = rc == -ENOENT ? cli_error("export", "%s: no such file", path)
                 : cli_error("export", "%s: %s", path, rc == -EINVAL ? tk_rec_error(r)
                                                                      : strerror(-rc));
        tk_rec_close(r);
        return st;
    }
    tk_otlp *x;
    if ((rc = tk_otlp_new(cfg, &x)) != 0) {
        tk_rec_close(r);
        return cli_error("export", "%s", strerror(-rc));
    }
    tkc_signals_install();
    tk_otlp_rec_options ro = {.timer_glob = o->timer, .pid = o->pid,
                              .temporality = cfg->temporality, .queue_max = cfg->exp.queue_max,
                              .wait_ns = cfg->exp.timeout_ns};
    tk_otlp_rec_counts n;
    char err[256];
    rc = tk_otlp_push_recording(x, r, &ro, &n, err, sizeof err);
    tk_rec_close(r);
    tk_sink_otlp_stats st = {.pushes = n.pushes};
    tk_otlp_exporter *e = tk_otlp_exporter_of(x);
    tk_otlp_exporter_flush(e, cfg->exp.timeout_ns);
    tk_otlp_exporter_stats(e, &st.exp); /* what is still queued now is unsent */
    tk_otlp_free(x, NULL);
    if (rc == -EINVAL)
        return cli_error("export", "%s: %s", path, err);
    if (rc < 0 && rc != -EAGAIN)
        return cli_error("export", "%s", strerror(-rc));
    char url[512];
    snprintf(url, sizeof url, "%s", cfg->exp.url[TK_OTLP_METRICS] ? cfg->exp.url[TK_OTLP_METRICS]
                                                                   : cfg->exp.endpoint);
    cli_otlp_print_stats(stdout, o->json, 0, url, &st, 0);
    if (!o->json)
        printf("otlp: %s: %llu window(s), %llu histogram(s) of %llu processing and %llu latency "
               "records\n", path, (unsigned long long)n.windows, (unsigned long long)n.points,
               (unsigned long long)n.count[0], (unsigned long long)n.count[1]);
    int undelivered = st.exp.rejected || st.exp.expired || st.exp.overflow || st.exp.queued;
    return cli_finish("export", undelivered ? CLI_FAIL : CLI_OK);
#else
    (void)cfg;
    return cli_error("export", "%s: this build cannot read recordings (libsqlite3 was not found "
                               "at build time)", path);
#endif
}

static int cmd_export(int argc, char **argv)
{
    export_opts o = {.interval_s = 10};
    int status;
    if (wants_help(argc, argv)) {
        cli_help(&cmd_export_otlp_def, stdout);
        return cli_finish("export", CLI_OK);
    }
    int first = cli_parse(&cmd_export_otlp_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first + 1 < argc)
        return cli_usage_error(&cmd_export_otlp_def, "unexpected argument '%s'", argv[first + 1]);
    tk_otlp_config cfg;
    if ((status = cli_otlp_config(&cmd_export_otlp_def, &o.otlp, &cfg)) != 0)
        return status;
    if (first < argc)
        return export_recording(&o, &cfg, argv[first]);

    /* The pipeline: the core drains every 10 ms into the aggregator, the counter table (and, with
     * --otlp-spans, the sink's span consumer); the sink encodes each interval and queues it for
     * its sender thread. Exported segments are never removed: export is a viewer. */
    tkc_core_options co = {.dir = o.dir, .pid = o.pid, .quiet = 1};
    tkc_core *core;
    int r = tkc_core_open(&co, &core);
    if (r != 0)
        return cli_error("export", "%s", strerror(-r));
    cli_otlp_pusher px;
    if (cli_otlp_pusher_open(&px, "export", &cfg, o.otlp.spans, o.timer, core) != 0) {
        tkc_core_close(core);
        cli_otlp_pusher_close(&px, NULL);
        return CLI_FAIL;
    }
    tkc_driver *d = tkc_driver_new(core, NULL);
    if (!d) {
        tkc_core_close(core);
        cli_otlp_pusher_close(&px, NULL);
        return cli_error("export", "out of memory");
    }
    tkc_signals_install();

    uint64_t until = o.duration_s > 0 ? tkc_now_ns() + (uint64_t)(o.duration_s * 1e9) : 0;
    int werr = 0;
    tkc_driver_flush(d);
    if (o.live) {
        tkc_driver_set_interval(d, (uint64_t)(o.interval_s * 1e9));
        while (!tkc_signal_received() && !werr && (!until || tkc_now_ns() < until))
            if (tkc_driver_wait(d, until) & TKC_TICK_INTERVAL)
                werr = cli_otlp_push(&px);
    } else {
        while (until && !tkc_signal_received() && tkc_now_ns() < until)
            tkc_driver_wait(d, until);
    }
    /* The last window: what was read since the last push. */
    tkc_driver_flush(d);
    if (!werr)
        werr = cli_otlp_push(&px);
    uint64_t ring_lost = px.ring_lost;
    const char *url = px.url;
    tk_sink_otlp_stats st;
    tkc_driver_free(d);
    tkc_core_close(core);
    cli_otlp_pusher_close(&px, &st);
    if (werr)
        return cli_error("export", "%s", strerror(-werr));
    cli_otlp_print_stats(stdout, o.json, o.otlp.spans, url, &st, ring_lost);
    int undelivered = st.exp.rejected || st.exp.expired || st.exp.overflow || st.exp.queued;
    return cli_finish("export", undelivered ? CLI_FAIL : CLI_OK);
}

#else /* built without libcurl */

static int cmd_export(int argc, char **argv)
{
    export_opts o = {0};
    int status;
    if (wants_help(argc, argv)) {
        cli_help(&cmd_export_otlp_def, stdout);
        return cli_finish("export", CLI_OK);
    }
    if (cli_parse(&cmd_export_otlp_def, argc, argv, on_option, &o, &status) < 0)
        return status;
    return cli_error("export", "this build has no OTLP export (libcurl was not found at build time)");
}

#endif
