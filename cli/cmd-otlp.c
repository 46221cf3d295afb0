/* cmd-otlp.c — `timekeeper export --otlp URL`: every timer's processing and latency histograms as
 * OTLP exponential histograms (and lost records as sums) pushed to an OpenTelemetry Collector,
 * once or every interval (--live). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "collector.h"
#ifdef TK_HAVE_OTLP
#include "sink/otlp/otlp.h"
#endif

enum {
    OPT_OTLP = 256, OPT_ENCODING, OPT_TEMPORALITY, OPT_HEADERS, OPT_SERVICE, OPT_LIVE,
    OPT_INTERVAL, OPT_DURATION, OPT_DIR, OPT_TIMER, OPT_QUEUE, OPT_TIMEOUT, OPT_MAX_BUCKETS,
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
    {"otlp-spans", OPT_SPANS, NULL, "also export timer spans (needs the event pipeline: not yet)"},
    {"sample", OPT_SAMPLE, "P", "with --otlp-spans: share of traces kept (default 1)"},
    {"span-rate", OPT_SPAN_RATE, "N", "with --otlp-spans: at most N spans per second"},
    {"service", OPT_SERVICE, "NAME", "service.name (default $OTEL_SERVICE_NAME, else the process name)"},
    {"live", OPT_LIVE, NULL, "keep exporting every interval until interrupted or --duration"},
    {"interval", OPT_INTERVAL, "D", "with --live: export period (default 10s)"},
    {"duration", OPT_DURATION, "D", "read the rings for D before the one push; with --live: stop after D"},
    {"pid", 'p', "PID", "only this process"},
    {"timer", OPT_TIMER, "GLOB", "only timers matching this fnmatch(3) pattern"},
    {"dir", OPT_DIR, "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"json", 'j', NULL, "print the delivery counters as JSON"},
    {0},
};

static int cmd_export(int argc, char **argv);
const cli_command cmd_export_def = {
    "export", cmd_export, "push timings to an OpenTelemetry Collector (OTLP/HTTP)",
    "--otlp URL [--live [--interval D]] [--duration D] [--otlp-encoding protobuf|json] "
    "[--otlp-temporality delta|cumulative] [--service NAME] [--pid P]",
    "Reads the rings of the instrumented processes and sends every timer's processing time and\n"
    "latency as OTLP exponential histograms (timekeeper.timer.processing and .latency, unit ns,\n"
    "attribute timer) and its lost records as a sum (timekeeper.timer.lost), one resource per\n"
    "process: service.name, host.name, process.pid, process.command_line and the pairs of\n"
    "$OTEL_RESOURCE_ATTRIBUTES. Without --live, one push of what the rings hold (after --duration\n"
    "of reading); with --live, one push per interval. Requests go through a bounded queue and a\n"
    "sender thread: 429/502/503/504 and network errors are retried (Retry-After honoured, else\n"
    "exponential backoff with jitter), other codes are not; a full queue drops the request and\n"
    "counts it. On SIGINT/SIGTERM the queue is flushed for up to --otlp-timeout. The exit status\n"
    "is 1 when any request was not delivered.",
    options,
};

typedef struct export_opts {
    const char *url, *encoding, *temporality, *headers, *service, *dir, *timer;
    int live, pid, json, spans;
    double interval_s, duration_s, timeout_s, sample, span_rate;
    uint64_t queue, max_buckets;
} export_opts;

static int on_option(void *ctx, int key, const char *arg)
{
    export_opts *o = ctx;
    const cli_command *cmd = &cmd_export_def;
    switch (key) {
    case OPT_OTLP: o->url = arg; return 0;
    case OPT_ENCODING: o->encoding = arg; return 0;
    case OPT_TEMPORALITY: o->temporality = arg; return 0;
    case OPT_HEADERS: o->headers = arg; return 0;
    case OPT_SERVICE: o->service = arg; return 0;
    case OPT_LIVE: o->live = 1; return 0;
    case OPT_SPANS: o->spans = 1; return 0;
    case OPT_DIR: o->dir = arg; return 0;
    case OPT_TIMER: o->timer = arg; return 0;
    case 'j': o->json = 1; return 0;
    case 'p': return cli_option_pid(cmd, arg, &o->pid);
    case OPT_INTERVAL:
    case OPT_DURATION:
    case OPT_TIMEOUT: {
        double *d = key == OPT_INTERVAL ? &o->interval_s : key == OPT_DURATION ? &o->duration_s : &o->timeout_s;
        char *end;
        double v = strtod(arg, &end);
        double mul = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 1e-3
                     : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : -1;
        if (end == arg || mul < 0 || !(v >= 0) || (key == OPT_INTERVAL && v * mul < 0.01))
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

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL); /* a signal ends it early: the loop checks stop_requested */
}

/* Pushes every process's window: the interval's histograms (delta) or interval + totals
 * (cumulative). Returns 0 or a negative errno (a full queue is counted, not an error). */
static int push_all(tk_otlp *x, collector *c, int cumulative, uint64_t start, uint64_t end,
                    uint64_t *ring_lost, uint64_t *pushes)
{
    tk_otlp_timer_in *t = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < collector_process_count(c) && rc == 0; i++) {
        const process_info *p = collector_process(c, i);
        if (p->ntimers > cap) {
            free(t);
            cap = p->ntimers;
            if (!(t = calloc(cap, sizeof *t)))
                return -ENOMEM;
        }
        size_t n = 0;
        int active = p->state == PROC_LIVE;
        for (size_t j = 0; j < p->ntimers; j++)
            active |= hist_count(p->timers[j]->interval[0]) > 0 || p->timers[j]->lost_interval > 0;
        if (!active)
            continue; /* an exited process, pushed once after its last records */
        for (size_t j = 0; j < p->ntimers; j++) {
            const timer_stats *ts = p->timers[j];
            if (ts->id == 0 && hist_count(ts->total[0]) == 0 && hist_count(ts->interval[0]) == 0)
                continue; /* the library's "(invalid)" timer, exported only when it was used */
            tk_otlp_timer_in *tj = &t[n++];
            *ring_lost += ts->lost_interval;
            *tj = (tk_otlp_timer_in){.name = ts->name, .h = {ts->interval[0], ts->interval[1]},
                                      .lost = ts->lost_interval + (cumulative ? ts->lost_total : 0)};
            if (cumulative) {
                tj->more[0] = ts->total[0];
                tj->more[1] = ts->total[1];
            }
        }
        tk_otlp_proc_in in = {.name = p->name, .cmdline = p->cmdline, .pid = p->pid,
                              .key = (uint64_t)p->pid ^ p->start_real_ns, .timers = t,
                              .ntimers = n};
        int r = tk_otlp_push_metrics(x, &in, cumulative ? p->start_real_ns : start, end);
        ++*pushes;
        if (r < 0 && r != -EAGAIN)
            rc = r;
    }
    free(t);
    return rc;
}

static void print_stats(const export_opts *o, const char *url, const tk_otlp_stats *s,
                        uint64_t ring_lost, uint64_t pushes)
{
    if (o->json) {
        printf("{\"endpoint\":");
        cli_json_str(stdout, url);
        printf(",\"enqueued\":%llu,\"sent\":%llu,\"sent_metrics\":%llu,\"sent_bytes\":%llu,"
               "\"retries\":%llu,\"rejected\":%llu,\"expired\":%llu,\"overflow\":%llu,"
               "\"overflow_metrics\":%llu,\"unsent\":%llu,\"last_status\":%ld,\"send_ms\":%.3f,"
               "\"ring_lost\":%llu,\"pushes\":%llu}\n",
               (unsigned long long)s->enqueued, (unsigned long long)s->sent,
               (unsigned long long)s->sent_items, (unsigned long long)s->sent_bytes,
               (unsigned long long)s->retries, (unsigned long long)s->rejected,
               (unsigned long long)s->expired, (unsigned long long)s->overflow,
               (unsigned long long)s->overflow_items, (unsigned long long)s->unsent,
               s->last_status, (double)s->send_ns / 1e6, (unsigned long long)ring_lost,
               (unsigned long long)pushes);
        return;
    }
    printf("otlp: %llu request(s) sent (%llu metrics, %llu bytes) to %s", (unsigned long long)s->sent,
           (unsigned long long)s->sent_items, (unsigned long long)s->sent_bytes, url);
    printf("; %llu retried, %llu rejected, %llu given up, %llu dropped (queue full), %llu unsent;"
           " %llu records lost in the rings\n",
           (unsigned long long)s->retries, (unsigned long long)s->rejected,
           (unsigned long long)s->expired, (unsigned long long)s->overflow,
           (unsigned long long)s->unsent, (unsigned long long)ring_lost);
}

static int cmd_export(int argc, char **argv)
{
    export_opts o = {.interval_s = 10, .timeout_s = 10};
    int status;
    int first = cli_parse(&cmd_export_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_export_def, "unexpected argument '%s'", argv[first]);
    tk_otlp_config cfg = {0};
    tk_otlp_config_from_env(&cfg);
    if (o.url)
        cfg.exp.endpoint = o.url;
    if (o.headers)
        cfg.exp.headers = o.headers;
    if (o.service)
        cfg.service = o.service;
    if (!cfg.exp.endpoint && !cfg.exp.url[TK_OTLP_METRICS])
        return cli_usage_error(&cmd_export_def, "no endpoint: --otlp URL or $OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!cfg.exp.url[TK_OTLP_TRACES] && !cfg.exp.endpoint)
        cfg.exp.url[TK_OTLP_TRACES] = cfg.exp.url[TK_OTLP_METRICS];
    if (o.spans)
        return cli_usage_error(&cmd_export_def, "--otlp-spans needs the event pipeline, which this "
                                                "build's export does not use yet");
    if (o.encoding && strcmp(o.encoding, "protobuf") && strcmp(o.encoding, "json"))
        return cli_usage_error(&cmd_export_def, "--otlp-encoding is protobuf or json, not '%s'", o.encoding);
    if (o.temporality && strcmp(o.temporality, "delta") && strcmp(o.temporality, "cumulative"))
        return cli_usage_error(&cmd_export_def, "--otlp-temporality is delta or cumulative, not '%s'",
                               o.temporality);
    int cumulative = o.temporality && !strcmp(o.temporality, "cumulative");
    cfg.exp.encoding = o.encoding && !strcmp(o.encoding, "json") ? TK_OTLP_JSON : TK_OTLP_PROTOBUF;
    cfg.exp.queue_max = (size_t)o.queue;
    cfg.exp.timeout_ns = (uint64_t)(o.timeout_s * 1e9);
    cfg.temporality = cumulative ? TK_OTLP_CUMULATIVE : TK_OTLP_DELTA;
    cfg.max_buckets = (size_t)o.max_buckets;
    cfg.sample = o.sample;
    cfg.span_rate = o.span_rate;
    const char *url = cfg.exp.url[TK_OTLP_METRICS] ? cfg.exp.url[TK_OTLP_METRICS] : cfg.exp.endpoint;

    collector_options co = {.dir = o.dir, .keep = 1, .pid = o.pid, .timer_glob = o.timer, .quiet = 1};
    collector *c;
    if (collector_open(&co, &c) != 0)
        return cli_error("export", "out of memory");
    tk_otlp *x;
    int rc = tk_otlp_new(&cfg, &x);
    if (rc < 0) {
        collector_close(c);
        return cli_error("export", rc == -EINVAL ? "bad endpoint, headers or resource attributes"
                                                 : "cannot start the exporter (%s)", strerror(-rc));
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Drain every 10 ms (a busy ring is not lapped between drains), look for new processes every
     * 100 ms (a new process's ring is read before it wraps), push per interval. */
    uint64_t t0 = collector_now_ns(), last_scan = 0, start_real = real_ns(), ring_lost = 0, pushes = 0;
    uint64_t next_push = t0 + (uint64_t)((o.live ? o.interval_s : o.duration_s) * 1e9);
    uint64_t stop_at = o.live && o.duration_s > 0 ? t0 + (uint64_t)(o.duration_s * 1e9) : 0;
    if (!o.live)
        stop_at = next_push;
    for (;;) {
        uint64_t now = collector_now_ns();
        if (now - last_scan >= 100000000u || last_scan == 0) {
            collector_scan(c);
            last_scan = now;
        }
        collector_drain(c);
        int last = stop_requested || (stop_at && now >= stop_at);
        if (now >= next_push || last) {
            uint64_t end_real = real_ns();
            if ((rc = push_all(x, c, cumulative, start_real, end_real, &ring_lost, &pushes)) < 0)
                break;
            collector_rollover(c); /* exited processes stay known: a rescan would find them again */
            start_real = end_real;
            next_push = now + (uint64_t)(o.interval_s * 1e9);
        }
        if (last)
            break;
        sleep_ns(10000000u);
    }
    tk_otlp_exporter_flush(tk_otlp_exporter_of(x), cfg.exp.timeout_ns);
    tk_otlp_stats st;
    tk_otlp_free(x, &st);
    collector_close(c);
    if (rc < 0)
        return cli_error("export", "%s", strerror(-rc));
    print_stats(&o, url, &st, ring_lost, pushes);
    int undelivered = st.rejected || st.expired || st.overflow || st.unsent;
    return cli_finish("export", undelivered ? CLI_FAIL : CLI_OK);
}

#else /* built without libcurl */

static int cmd_export(int argc, char **argv)
{
    export_opts o = {0};
    int status;
    if (cli_parse(&cmd_export_def, argc, argv, on_option, &o, &status) < 0)
        return status;
    return cli_error("export", "this build has no OTLP export (libcurl was not found at build time)");
}

#endif
