/* cmd-otlp.c — `timekeeper export --otlp URL`: every timer's processing and latency histograms as
 * OTLP exponential histograms (and lost records as sums) pushed to an OpenTelemetry Collector,
 * once or every interval (--live). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/window.h"
#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#ifdef TK_HAVE_OTLP
#include "sink/otlp/otlp_sink.h"
#endif

enum {
    OPT_OTLP = 256, OPT_ENCODING, OPT_TEMPORALITY, OPT_HEADERS, OPT_SERVICE, OPT_LIVE,
    OPT_DURATION, OPT_QUEUE, OPT_TIMEOUT, OPT_MAX_BUCKETS,
    OPT_SPANS, OPT_SAMPLE, OPT_SPAN_RATE,
};

static const cli_option options[] = {
    {"otlp", OPT_OTLP, "URL", "OTLP/HTTP endpoint; /v1/metrics is appended (default "
                              "$OTEL_EXPORTER_OTLP_ENDPOINT)"},
    {"otlp-encoding", OPT_ENCODING, "ENC", "protobuf (default) or json"},
    {"otlp-temporality", OPT_TEMPORALITY, "T", "delta (default) or cumulative"},
    {"otlp-headers", OPT_HEADERS, "K=V,...", "HTTP headers (default $OTEL_EXPORTER_OTLP_HEADERS)"},
    {"otlp-max-buckets", OPT_MAX_BUCKETS, "N", "exponential buckets per histogram (default 160)"},
    {"otlp-queue", OPT_QUEUE, "N", "requests queued while the receiver is slow or down (default 64)"},
    {"otlp-timeout", OPT_TIMEOUT, "D", "per-request timeout, and the flush deadline at exit (default 10s)"},
    {"otlp-spans", OPT_SPANS, NULL, "also export timer spans to /v1/traces, one trace per origin"},
    {"sample", OPT_SAMPLE, "P", "with --otlp-spans: share of traces kept (default 1)"},
    {"span-rate", OPT_SPAN_RATE, "N", "with --otlp-spans: at most N spans per second"},
    {"service", OPT_SERVICE, "NAME", "service.name (default $OTEL_SERVICE_NAME, else the process name)"},
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
    const char *url, *encoding, *temporality, *headers, *service, *dir, *timer;
    int live, pid, json, spans;
    double interval_s, duration_s, timeout_s, sample, span_rate;
    uint64_t queue, max_buckets;
} export_opts;

static int on_option(void *ctx, int key, const char *arg)
{
    export_opts *o = ctx;
    const cli_command *cmd = &cmd_export_otlp_def;
    switch (key) {
    case OPT_OTLP: o->url = arg; return 0;
    case OPT_ENCODING: o->encoding = arg; return 0;
    case OPT_TEMPORALITY: o->temporality = arg; return 0;
    case OPT_HEADERS: o->headers = arg; return 0;
    case OPT_SERVICE: o->service = arg; return 0;
    case OPT_LIVE: o->live = 1; return 0;
    case OPT_SPANS: o->spans = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case 't': o->timer = arg; return 0;
    case 'j': o->json = 1; return 0;
    case 'p': return cli_option_pid(cmd, arg, &o->pid);
    case 'i':
    case OPT_DURATION:
    case OPT_TIMEOUT: {
        double *d = key == 'i' ? &o->interval_s : key == OPT_DURATION ? &o->duration_s : &o->timeout_s;
        char *end;
        double v = strtod(arg, &end);
        double mul = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 1e-3
                     : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : -1;
        if (end == arg || mul < 0 || !(v >= 0) || (key == 'i' && v * mul < 0.01))
            return cli_usage_error(cmd, "bad duration '%s' (e.g. 500ms, 10s, 2m)", arg);
        *d = v * mul;
        return 0;
    }
    case OPT_QUEUE:
        if (cli_parse_u64(arg, 1, 1000000, &o->queue) < 0)
            return cli_usage_error(cmd, "--otlp-queue wants 1..1000000, not '%s'", arg);
        return 0;
    case OPT_MAX_BUCKETS:
        if (cli_parse_u64(arg, 1, 100000, &o->max_buckets) < 0)
            return cli_usage_error(cmd, "--otlp-max-buckets wants 1..100000, not '%s'", arg);
        return 0;
    case OPT_SAMPLE:
        if (cli_parse_double(arg, 0, 1, &o->sample) < 0)
            return cli_usage_error(cmd, "--sample wants a share in 0..1, not '%s'", arg);
        return 0;
    case OPT_SPAN_RATE:
        if (cli_parse_double(arg, 0, 1e9, &o->span_rate) < 0)
            return cli_usage_error(cmd, "--span-rate wants spans per second, not '%s'", arg);
        return 0;
    }
    return CLI_USAGE;
}

#ifdef TK_HAVE_OTLP

static void fill_view(tk_window_view *v, const tka_agg *a, double secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *v = (tk_window_view){a, TKA_INTERVAL, secs, 0, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
                          tkc_now_ns()};
}

/* Records lost while attached (overruns, no ring, no space, names full) in the interval: the
 * backlog a ring overwrote before the collector first read it is a flight recorder's normal loss. */
static uint64_t ring_lost_of(const tka_agg *a)
{
    uint64_t n = 0;
    for (size_t i = 0; i < tka_agg_proc_count(a); i++)
        for (int r = 0; r < TKC_LOSS_REASONS; r++)
            if (r != TKC_LOSS_OVERWRITTEN)
                n += tka_proc_lost(tka_agg_proc(a, i), TKA_INTERVAL, (tkc_loss_reason)r);
    return n;
}

static void print_stats(const export_opts *o, const char *url, const tk_sink_otlp_stats *c,
                        uint64_t ring_lost)
{
    const tk_otlp_stats *s = &c->exp;
    if (o->json) {
        printf("{\"endpoint\":");
        cli_json_str(stdout, url);
        printf(",\"pushes\":%llu,\"enqueued\":%llu,\"sent\":%llu,\"sent_items\":%llu,"
               "\"sent_bytes\":%llu,\"retries\":%llu,\"rejected\":%llu,\"expired\":%llu,"
               "\"overflow\":%llu,\"overflow_items\":%llu,\"unsent\":%llu,\"last_status\":%ld,"
               "\"send_ms\":%.3f,\"spans_offered\":%llu,\"spans_kept\":%llu,\"spans_capped\":%llu,"
               "\"ring_lost\":%llu}\n",
               (unsigned long long)c->pushes, (unsigned long long)s->enqueued,
               (unsigned long long)s->sent, (unsigned long long)s->sent_items,
               (unsigned long long)s->sent_bytes, (unsigned long long)s->retries,
               (unsigned long long)s->rejected, (unsigned long long)s->expired,
               (unsigned long long)s->overflow, (unsigned long long)s->overflow_items,
               (unsigned long long)s->queued, s->last_status, (double)s->send_ns / 1e6,
               (unsigned long long)c->spans_offered, (unsigned long long)c->spans_kept,
               (unsigned long long)c->spans_capped, (unsigned long long)ring_lost);
        return;
    }
    printf("otlp: %llu request(s) sent (%llu metrics or spans, %llu bytes) to %s",
           (unsigned long long)s->sent, (unsigned long long)s->sent_items,
           (unsigned long long)s->sent_bytes, url);
    printf("; %llu retried, %llu rejected, %llu given up, %llu dropped (queue full), %llu unsent;"
           " %llu records lost in the rings\n",
           (unsigned long long)s->retries, (unsigned long long)s->rejected,
           (unsigned long long)s->expired, (unsigned long long)s->overflow,
           (unsigned long long)s->queued, (unsigned long long)ring_lost);
    if (o->spans)
        printf("otlp: spans: %llu read, %llu kept by sampling, %llu over the rate cap\n",
               (unsigned long long)c->spans_offered, (unsigned long long)c->spans_kept,
               (unsigned long long)c->spans_capped);
}

static int cmd_export(int argc, char **argv)
{
    export_opts o = {.interval_s = 10, .timeout_s = 10};
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
    tk_otlp_config cfg = {0};
    tk_otlp_config_from_env(&cfg);
    if (o.url)
        cfg.exp.endpoint = o.url;
    if (o.headers)
        cfg.exp.headers = o.headers;
    if (o.service)
        cfg.service = o.service;
    if (!cfg.exp.endpoint && !cfg.exp.url[TK_OTLP_METRICS])
        return cli_usage_error(&cmd_export_otlp_def, "no endpoint: --otlp URL or $OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!cfg.exp.endpoint && !cfg.exp.url[TK_OTLP_TRACES])
        return cli_usage_error(&cmd_export_otlp_def, "no traces endpoint: --otlp URL or "
                                                "$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (o.encoding && strcmp(o.encoding, "protobuf") && strcmp(o.encoding, "json"))
        return cli_usage_error(&cmd_export_otlp_def, "--otlp-encoding is protobuf or json, not '%s'", o.encoding);
    if (o.temporality && strcmp(o.temporality, "delta") && strcmp(o.temporality, "cumulative"))
        return cli_usage_error(&cmd_export_otlp_def, "--otlp-temporality is delta or cumulative, not '%s'",
                               o.temporality);
    if ((o.sample > 0 || o.span_rate > 0) && !o.spans)
        return cli_usage_error(&cmd_export_otlp_def, "--sample and --span-rate go with --otlp-spans");
    int cumulative = o.temporality && !strcmp(o.temporality, "cumulative");
    cfg.exp.encoding = o.encoding && !strcmp(o.encoding, "json") ? TK_OTLP_JSON : TK_OTLP_PROTOBUF;
    cfg.exp.queue_max = (size_t)o.queue;
    cfg.exp.timeout_ns = (uint64_t)(o.timeout_s * 1e9);
    cfg.temporality = cumulative ? TK_OTLP_CUMULATIVE : TK_OTLP_DELTA;
    cfg.max_buckets = (size_t)o.max_buckets;
    cfg.sample = o.sample;
    cfg.span_rate = o.span_rate;
    const char *url = cfg.exp.url[TK_OTLP_METRICS] ? cfg.exp.url[TK_OTLP_METRICS] : cfg.exp.endpoint;

    /* The pipeline: the core drains every 10 ms into the aggregator (and, with --otlp-spans, the
     * sink's span consumer); the sink encodes each interval and queues it for its sender thread.
     * Exported segments are never removed: export is a viewer. */
    tkc_core_options co = {.dir = o.dir, .pid = o.pid, .quiet = 1};
    tka_options ao = {.timer_glob = o.timer};
    tkc_core *core;
    int r = tkc_core_open(&co, &core);
    if (r != 0)
        return cli_error("export", "%s", strerror(-r));
    tk_sink sink;
    r = tk_sink_otlp_open(&sink, &cfg, o.spans);
    if (r < 0) {
        tkc_core_close(core);
        return cli_error("export", r == -EINVAL ? "bad endpoint, headers or resource attributes"
                                                : "cannot start the exporter (%s)", strerror(-r));
    }
    tka_agg *agg = tka_agg_new(&ao);
    tkc_driver *d = agg ? tkc_driver_new(core, NULL) : NULL;
    const tkc_consumer *spans = sink.ops->consumer(&sink);
    if (!d || tkc_core_subscribe(core, tka_agg_consumer(agg)) != 0 ||
        (spans && tkc_core_subscribe(core, spans) != 0)) {
        tkc_driver_free(d);
        tkc_core_close(core);
        tka_agg_free(agg);
        tk_sink_close(&sink);
        return cli_error("export", "out of memory");
    }
    tkc_signals_install();

    uint64_t t0 = tkc_now_ns(), ring_lost = 0;
    uint64_t until = o.duration_s > 0 ? t0 + (uint64_t)(o.duration_s * 1e9) : 0;
    tk_window_view v;
    int werr = 0;
    tkc_driver_flush(d);
    if (o.live) {
        tkc_driver_set_interval(d, (uint64_t)(o.interval_s * 1e9));
        while (!tkc_signal_received() && !werr && (!until || tkc_now_ns() < until)) {
            if (!(tkc_driver_wait(d, until) & TKC_TICK_INTERVAL))
                continue;
            uint64_t t1 = tkc_now_ns();
            fill_view(&v, agg, (double)(t1 - t0) / 1e9);
            werr = tk_sink_window(&sink, &v);
            ring_lost += ring_lost_of(agg);
            tka_agg_rollover(agg, t1);
            t0 = t1;
        }
    } else {
        while (until && !tkc_signal_received() && tkc_now_ns() < until)
            tkc_driver_wait(d, until);
    }
    /* The last window: what was read since the last push. */
    tkc_driver_flush(d);
    if (!werr) {
        uint64_t t1 = tkc_now_ns();
        fill_view(&v, agg, (double)(t1 - t0) / 1e9);
        werr = tk_sink_window(&sink, &v);
        ring_lost += ring_lost_of(agg);
        tka_agg_rollover(agg, t1);
    }
    tk_sink_otlp_flush(&sink, cfg.exp.timeout_ns ? cfg.exp.timeout_ns : 10000000000ull);
    tk_sink_otlp_stats st;
    tk_sink_otlp_counts(&sink, &st); /* what is still queued now is unsent */
    tk_sink_close(&sink);
    tkc_driver_free(d);
    tkc_core_close(core);
    tka_agg_free(agg);
    if (werr)
        return cli_error("export", "%s", strerror(-werr));
    print_stats(&o, url, &st, ring_lost);
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
