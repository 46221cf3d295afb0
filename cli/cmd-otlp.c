/* cmd-otlp.c — `timekeeper export --otlp URL`: every timer's processing and latency histograms as
 * OTLP exponential histograms (and lost records as sums) pushed to an OpenTelemetry Collector,
 * once or every interval (--live). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#include "otlp-options.h"

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
    "       [--service NAME] [-p|--pid P] [-t|--timer GLOB] [-d|--dir DIR] [-j|--json]",
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
    "(one origin) share a trace.",
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
    if (first < argc)
        return cli_usage_error(&cmd_export_otlp_def, "unexpected argument '%s'", argv[first]);
    tk_otlp_config cfg;
    if ((status = cli_otlp_config(&cmd_export_otlp_def, &o.otlp, &cfg)) != 0)
        return status;

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
