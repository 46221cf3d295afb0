/* cmd-serve.c — `timekeeper serve`: the statistics of every instrumented process as a Prometheus
 * endpoint (/metrics), a health check (/healthz) and an index page, on libmicrohttpd. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#include "agg/counters.h"
#include "otlp-options.h"
#include "sink/prom/prom.h"

/* Task types come from the task aggregator when it is part of the build. */
#if defined(__has_include)
#if __has_include("agg/tasks.h")
#include "agg/tasks.h"
#define SERVE_TASKS 1
#endif
#endif

enum { OPT_ALLOW_NONE = 256, OPT_TOP_K, OPT_FORGET, OPT_OTLP_INTERVAL = 0x1100 };

static const cli_option options[] = {
    {"listen", 'l', "HOST:PORT", "address to listen on (default 127.0.0.1:9464; [::1]:PORT for IPv6)"},
    {"top-k", OPT_TOP_K, "N", "task types per process shown by name, the rest as 'other' (default 10)"},
    {"max-silence", 's', "S", "/healthz: seconds a live process may go without a record (default 5)"},
    {"allow-none", OPT_ALLOW_NONE, NULL, "/healthz: healthy when no live instrumented process exists"},
    {"forget-exited", OPT_FORGET, "D", "drop an exited process's series D after it exited (default 5m; 'never')"},
    {"pid", 'p', "PID", "only this process"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    CLI_OTLP_OPTIONS,
    {"otlp-interval", OPT_OTLP_INTERVAL, "D", "with --otlp: push period (default 10s)"},
    {0},
};

typedef struct serve_opts {
    char host[64];
    unsigned port;
    uint64_t top_k;
    double max_silence;
    double forget_s;    /* --forget-exited; < 0: never */
    int allow_none, pid;
    const char *dir;
    cli_otlp_opts otlp; /* --otlp and its options */
    int otlp_on;        /* an OTLP option was given */
    double otlp_interval_s;
} serve_opts;

static int cmd_serve(int argc, char **argv);
const cli_command cmd_serve_def = {
    "serve", cmd_serve, "serve the statistics to Prometheus (/metrics) and a health check",
    "[-l|--listen HOST:PORT] [--top-k N] [-s|--max-silence S] [--allow-none] [-p|--pid P]\n"
    "       [--forget-exited D|never] [-d|--dir DIR]\n"
    "       [--otlp URL [--otlp-interval D] [--otlp-encoding protobuf|json]\n"
    "       [--otlp-temporality delta|cumulative] [--otlp-headers K=V,...] [--otlp-queue N]\n"
    "       [--otlp-timeout D] [--otlp-max-buckets N] [--otlp-spans [--sample P] [--span-rate N]]\n"
    "       [--service NAME]]",
    "Attaches to every instrumented process of this user (and to new ones as they appear),\n"
    "drains their rings every 10 ms and answers on HTTP:\n"
    "  /metrics  Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper's Accept\n"
    "            header asks for application/openmetrics-text (names: docs/metrics.md)\n"
    "  /healthz  200 when every live process recorded within --max-silence (the rule of\n"
    "            `timekeeper check`), else 503 naming the quiet ones\n"
    "  /         a page saying what is watched, with links\n"
    "Counters and histograms count everything since serve started. Runs until interrupted.\n"
    "A process that exited shows `timekeeper_process_up 0` and its final counts for\n"
    "--forget-exited (5 minutes: a few scrapes), then its series go, so that short-lived\n"
    "processes do not pile up series; its segment stays (remove it with `timekeeper clean`).\n"
    "Segments are never removed.\n"
    "With --otlp (or any --otlp-* option and $OTEL_EXPORTER_OTLP_ENDPOINT) it also pushes to an\n"
    "OpenTelemetry Collector every --otlp-interval what `export --otlp --live` pushes, program\n"
    "counters as sums and gauges as gauges included; a sender thread does the HTTP, so the\n"
    "drain is never late for the network. SIGTERM pushes the last interval and flushes the\n"
    "queue for up to --otlp-timeout.",
    options,
};

/* Parses HOST:PORT ("[v6]:PORT" for IPv6). Returns 0 or -1. */
static int parse_listen(const char *arg, serve_opts *o)
{
    const char *colon = strrchr(arg, ':');
    if (!colon)
        return -1;
    const char *h = arg;
    size_t hl = (size_t)(colon - arg);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    uint64_t port;
    if (hl == 0 || hl >= sizeof o->host || cli_parse_u64(colon + 1, 0, 65535, &port))
        return -1;
    memcpy(o->host, h, hl);
    o->host[hl] = 0;
    if (!strcmp(o->host, "localhost"))
        snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = (unsigned)port;
    return 0;
}

/* --otlp and its options (otlp-options.h), and --otlp-interval. Returns 0, CLI_USAGE, or -1 for
 * another option. */
static int serve_otlp_option(serve_opts *o, int key, const char *arg)
{
    if (key == OPT_OTLP_INTERVAL) {
        o->otlp_on = 1;
        if (cli_parse_seconds(arg, 0.01, 86400, &o->otlp_interval_s) < 0)
            return cli_usage_error(&cmd_serve_def, "bad duration '%s' (e.g. 500ms, 10s, 2m)", arg);
        return 0;
    }
    int r = cli_otlp_option(&cmd_serve_def, &o->otlp, key, arg);
    if (r >= 0)
        o->otlp_on = 1;
    return r;
}

static int on_option(void *ctx, int key, const char *arg)
{
    serve_opts *o = ctx;
    int r = serve_otlp_option(o, key, arg);
    if (r >= 0)
        return r;
    switch (key) {
    case 'l':
        if (parse_listen(arg, o))
            return cli_usage_error(&cmd_serve_def, "--listen wants HOST:PORT, not '%s'", arg);
        return 0;
    case OPT_TOP_K:
        if (cli_parse_u64(arg, 0, 10000, &o->top_k))
            return cli_usage_error(&cmd_serve_def, "--top-k wants a number in [0, 10000], not '%s'", arg);
        return 0;
    case 's':
        if (cli_parse_double(arg, 0.001, 86400.0 * 365, &o->max_silence))
            return cli_usage_error(&cmd_serve_def, "--max-silence wants seconds > 0, not '%s'", arg);
        return 0;
    case OPT_ALLOW_NONE: o->allow_none = 1; return 0;
    case OPT_FORGET:
        if (!strcmp(arg, "never")) {
            o->forget_s = -1;
            return 0;
        }
        if (cli_parse_seconds(arg, 0, 86400.0 * 365, &o->forget_s) < 0)
            return cli_usage_error(&cmd_serve_def,
                                   "--forget-exited wants a duration (e.g. 30s, 5m) or 'never', "
                                   "not '%s'", arg);
        return 0;
    case 'p': return cli_option_pid(&cmd_serve_def, arg, &o->pid);
    case 'd': o->dir = arg; return 0;
    }
    return CLI_USAGE;
}

#ifndef TK_HAVE_MICROHTTPD
static int cmd_serve(int argc, char **argv)
{
    serve_opts o = {.top_k = 10, .max_silence = 5.0};
    int status;
    int first = cli_parse(&cmd_serve_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    return cli_error("serve", "built without libmicrohttpd (install libmicrohttpd-dev and rebuild)");
}
#else

#ifdef SERVE_TASKS
/* Appends every task type to s: the aggregator's rows, summed over processes and threads (the
 * writer keeps the top k and sums the rest into `other`). Returns 0 or -ENOMEM. */
static int add_tasks(tkc_tasks *ag, tkp_snapshot *s)
{
    s->have_tasks = 1;
    size_t n = tkc_tasks_rows(ag, NULL, 0);
    if (n == 0)
        return 0;
    tkc_task_row *rows = malloc(n * sizeof *rows);
    if (!rows)
        return -ENOMEM;
    size_t got = tkc_tasks_rows(ag, rows, n);
    if (got > n)
        got = n;
    int rc = 0;
    for (size_t i = 0; i < got && rc == 0; i++) {
        const tkc_task_row *r = &rows[i];
        tkp_task *t = tkp_snapshot_add_task(s, SIZE_MAX, r->func, r->file, r->line);
        if (!t) {
            rc = -ENOMEM;
            break;
        }
        t->exec_s = (double)r->t.exec / 1e9;
        t->exec_with_children_s = (double)r->exec_with_children / 1e9;
        t->wall_s = (double)r->t.wall / 1e9;
        t->completed = r->t.completed;
        t->failed = r->t.failed;
        t->cancelled = r->t.cancelled;
        t->stillborn = r->t.stillborn;
        t->max_slice_s = (double)r->t.max_slice / 1e9;
    }
    free(rows);
    return rc;
}
#endif

/* ---- --otlp: the pushes of `export --otlp --live`, from serve's drain thread ----------------- */

typedef struct serve_otlp {
    int on, spans, failed;
#ifdef TK_HAVE_OTLP
    tk_otlp_config cfg;
    cli_otlp_pusher px;
#endif
} serve_otlp;

/* Checks the OTLP options before anything starts. Returns 0 or a CLI_* status (reported). */
static int serve_otlp_check(const serve_opts *o, serve_otlp *so)
{
    memset(so, 0, sizeof *so);
    if (!o->otlp_on)
        return 0;
#ifdef TK_HAVE_OTLP
    int st = cli_otlp_config(&cmd_serve_def, &o->otlp, &so->cfg);
    if (st == 0)
        so->on = 1;
    so->spans = o->otlp.spans;
    return st;
#else
    return cli_error("serve", "this build has no OTLP export (libcurl was not found at build time)");
#endif
}

/* Subscribes the aggregator, the counter table and the sink to core and sets the driver's
 * interval to the push period. Returns 0 or CLI_FAIL (reported). */
static int serve_otlp_start(const serve_opts *o, serve_otlp *so, tkc_core *core, tkc_driver *drv)
{
    if (!so->on)
        return 0;
#ifdef TK_HAVE_OTLP
    if (cli_otlp_pusher_open(&so->px, "serve", &so->cfg, o->otlp.spans, NULL, core) != 0) {
        so->failed = 1; /* closed by serve_otlp_stop() after the core */
        return CLI_FAIL;
    }
    tkc_driver_set_interval(drv, (uint64_t)((o->otlp_interval_s > 0 ? o->otlp_interval_s : 10) * 1e9));
    fprintf(stderr, "timekeeper serve: OTLP to %s\n", so->px.url);
#else
    (void)o, (void)core, (void)drv;
#endif
    return 0;
}

/* After a driver tick: at the end of an interval, encodes and queues one push (no network here). */
static void serve_otlp_tick(serve_otlp *so, unsigned ticks)
{
#ifdef TK_HAVE_OTLP
    if (so->on && (ticks & TKC_TICK_INTERVAL))
        cli_otlp_push(&so->px); /* -ENOMEM: this interval is skipped, the next one is tried */
#else
    (void)so, (void)ticks;
#endif
}

/* At SIGINT/SIGTERM: a final drain, and a push of the last (partial) interval. */
static void serve_otlp_last(serve_otlp *so, tkc_driver *drv)
{
#ifdef TK_HAVE_OTLP
    if (so->on) {
        tkc_driver_flush(drv);
        cli_otlp_push(&so->px);
    }
#else
    (void)so, (void)drv;
#endif
}

/* After the core is closed: the queue flushed for up to --otlp-timeout, the delivery counters on
 * stderr. Returns CLI_FAIL when a request was not delivered, else status. */
static int serve_otlp_stop(serve_otlp *so, int status)
{
    if (!so->on)
        return status;
    so->on = 0;
#ifdef TK_HAVE_OTLP
    uint64_t ring_lost = so->px.ring_lost;
    const char *url = so->px.url;
    tk_sink_otlp_stats st;
    cli_otlp_pusher_close(&so->px, &st);
    if (so->failed)
        return status;
    cli_otlp_print_stats(stderr, 0, so->spans, url, &st, ring_lost);
    if (st.exp.rejected || st.exp.expired || st.exp.overflow || st.exp.queued)
        return CLI_FAIL;
#endif
    return status;
}

/* The program's counters, gauges and stages (an aggregator subscribed to the core) and the
 * processes' resources (sampled from /proc at most once a second), for the snapshot. */
typedef struct serve_values {
    tka_counters *counters;
    tkp_resources *res;
} serve_values;

/* Creates both and subscribes the aggregator. Returns 0 or a negative errno. */
static int values_open(serve_values *v, tkc_core *core)
{
    v->counters = tka_counters_new();
    v->res = tkp_resources_new(0);
    if (!v->counters || !v->res)
        return -ENOMEM;
    return tkc_core_subscribe(core, tka_counters_consumer(v->counters));
}

/* Adds them to s, after the processes (tkp_counts_snapshot). Returns 0 or -ENOMEM. */
static int values_add(serve_values *v, tkp_snapshot *s, uint64_t now_ns)
{
    int rc = tkp_snapshot_add_values(s, v->counters);
    int rr = tkp_resources_fill(v->res, s, now_ns);
    return rc ? rc : rr;
}

static void values_close(serve_values *v)
{
    tka_counters_free(v->counters);
    tkp_resources_free(v->res);
}

static int cmd_serve(int argc, char **argv)
{
    serve_opts o = {.host = "127.0.0.1", .port = 9464, .top_k = 10, .max_silence = 5.0,
                    .forget_s = 300};
    int status;
    int first = cli_parse(&cmd_serve_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_serve_def, "unexpected argument '%s'", argv[first]);
    serve_otlp otlp;
    if ((status = serve_otlp_check(&o, &otlp)) != 0)
        return status;

    tkc_core_options co = {.dir = o.dir, .pid = o.pid, .quiet = 1};
    tkc_core *core = NULL;
    tkp_counts *counts = tkp_counts_new();
    tkc_driver *drv = NULL;
    tkp_server *srv = NULL;
    serve_values values = {0};
    int rc = counts ? tkc_core_open(&co, &core) : -ENOMEM;
    if (rc == 0)
        rc = tkc_core_subscribe(core, tkp_counts_consumer(counts));
    if (rc == 0)
        rc = values_open(&values, core);
#ifdef SERVE_TASKS
    tkc_tasks *tasks = rc == 0 ? tkc_tasks_new() : NULL;
    if (rc == 0 && !tasks)
        rc = -ENOMEM;
    if (rc == 0) {
        tkc_consumer tc = tkc_tasks_consumer(tasks);
        rc = tkc_core_subscribe(core, &tc);
    }
#endif
    if (rc == 0 && !(drv = tkc_driver_new(core, NULL)))
        rc = -ENOMEM;
    if (rc != 0) {
        status = cli_error("serve", "can't start the collector: %s", strerror(-rc));
        goto out;
    }
    if ((status = serve_otlp_start(&o, &otlp, core, drv)) != 0)
        goto out;
    char watching[600];
    if (o.pid)
        snprintf(watching, sizeof watching, "process %d in %s", o.pid, tkc_core_dir(core));
    else
        snprintf(watching, sizeof watching, "every instrumented process of this user in %s",
                 tkc_core_dir(core));
    tkp_server_options so = {.host = o.host, .port = o.port, .top_k = (unsigned)o.top_k,
                             .max_silence_s = o.max_silence, .allow_none = o.allow_none,
                             .watching = watching};
    rc = tkp_server_start(&so, &srv);
    if (rc != 0) {
        status = cli_error("serve", "can't listen on %s:%u: %s", o.host, o.port,
                           rc == -EINVAL ? "not a numeric address" : strerror(-rc));
        goto out;
    }
    int v6 = strchr(o.host, ':') != NULL;
    fprintf(stderr, "timekeeper serve: http://%s%s%s:%u/metrics\n", v6 ? "[" : "", o.host,
            v6 ? "]" : "", tkp_server_port(srv));
    tkc_signals_install();
    signal(SIGPIPE, SIG_IGN);

    /* One thread owns the core: it drains on the driver's schedule and, between drains, copies
     * the counters into a snapshot when a request waits (a copy of plain values, O(series)).
     * libmicrohttpd's thread formats and sends it. */
    while (!tkc_signal_received()) {
        struct pollfd pfd[2] = {{.fd = tkp_server_request_fd(srv), .events = POLLIN},
                                {.fd = tkc_driver_fd(drv), .events = POLLIN}};
        poll(pfd, pfd[1].fd >= 0 ? 2 : 1, tkc_driver_timeout_ms(drv, tkc_now_ns()));
        serve_otlp_tick(&otlp, tkc_driver_tick(drv, tkc_now_ns()));
        if (tkp_server_wanted(srv)) {
            uint64_t t0 = tkc_now_ns();
            tkp_snapshot *s = tkp_server_build(srv);
            tkp_counts_snapshot(counts, s, t0);
            values_add(&values, s, t0);
#ifdef SERVE_TASKS
            add_tasks(tasks, s);
#endif
            /* an exited process shows up 0 and its final counts for --forget-exited, then its
             * series go (the core keeps the segment attached: it would attach it again at the
             * next rescan otherwise, and counts would start over) */
            if (o.forget_s >= 0)
                tkp_snapshot_forget(s, o.forget_s);
            s->build_s = (double)(tkc_now_ns() - t0) / 1e9;
            tkp_server_publish(srv);
        }
    }
    serve_otlp_last(&otlp, drv);
    status = CLI_OK;
out:
    tkp_server_stop(srv);
    tkc_driver_free(drv);
    tkc_core_close(core);
    status = serve_otlp_stop(&otlp, status);
    tkp_counts_free(counts);
    values_close(&values);
#ifdef SERVE_TASKS
    tkc_tasks_free(tasks);
#endif
    return cli_finish("serve", status);
}
#endif
