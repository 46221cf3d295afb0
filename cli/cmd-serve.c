/* cmd-serve.c — `timekeeper serve`: the statistics of every instrumented process as a Prometheus
 * endpoint (/metrics), a health check (/healthz) and an index page, on libmicrohttpd. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "collector.h"
#include "sink/prom/prom.h"

enum { OPT_DIR = 256, OPT_ALLOW_NONE, OPT_TOP_K };

static const cli_option options[] = {
    {"listen", 'l', "HOST:PORT", "address to listen on (default 127.0.0.1:9464; [::1]:PORT for IPv6)"},
    {"top-k", OPT_TOP_K, "N", "task types per process shown by name, the rest as 'other' (default 10)"},
    {"max-silence", 's', "S", "/healthz: seconds a live process may go without a record (default 5)"},
    {"allow-none", OPT_ALLOW_NONE, NULL, "/healthz: healthy when no live instrumented process exists"},
    {"pid", 'p', "PID", "only this process"},
    {"dir", OPT_DIR, "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {0},
};

typedef struct serve_opts {
    char host[64];
    unsigned port;
    uint64_t top_k;
    double max_silence;
    int allow_none, pid;
    const char *dir;
} serve_opts;

static int cmd_serve(int argc, char **argv);
const cli_command cmd_serve_def = {
    "serve", cmd_serve, "serve the statistics to Prometheus (/metrics) and a health check",
    "[--listen HOST:PORT] [--top-k N] [--max-silence S] [--pid P]",
    "Attaches to every instrumented process of this user (and to new ones as they appear),\n"
    "drains their rings every 10 ms and answers on HTTP:\n"
    "  /metrics  Prometheus text format 0.0.4, or OpenMetrics 1.0 when the scraper's Accept\n"
    "            header asks for application/openmetrics-text (names: docs/metrics.md)\n"
    "  /healthz  200 when every live process recorded within --max-silence (the rule of\n"
    "            `timekeeper check`), else 503 naming the quiet ones\n"
    "  /         a page saying what is watched, with links\n"
    "Counters and histograms count everything since serve started. Runs until interrupted.\n"
    "Segments are never removed.",
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

static int on_option(void *ctx, int key, const char *arg)
{
    serve_opts *o = ctx;
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
    case 'p': return cli_option_pid(&cmd_serve_def, arg, &o->pid);
    case OPT_DIR: o->dir = arg; return 0;
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

/* ---- points per label (the collector counts only their total) ---------------------------------- */
typedef struct label_count {
    int pid;
    char label[56];
    uint64_t count;
} label_count;

typedef struct label_table {
    label_count *slots; /* open addressing; pid 0: empty */
    size_t cap, n;
    int oom;
} label_table;

static uint64_t label_hash(int pid, const char *s)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned)pid;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static label_count *label_slot(label_table *t, int pid, const char *label)
{
    if (t->n * 2 >= t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        label_count *ns = calloc(nc, sizeof *ns);
        if (!ns) {
            t->oom = 1;
            return NULL;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].pid)
                continue;
            size_t j = label_hash(t->slots[i].pid, t->slots[i].label) & (nc - 1);
            while (ns[j].pid)
                j = (j + 1) & (nc - 1);
            ns[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = ns;
        t->cap = nc;
    }
    size_t j = label_hash(pid, label) & (t->cap - 1);
    while (t->slots[j].pid && (t->slots[j].pid != pid || strcmp(t->slots[j].label, label)))
        j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].pid) {
        t->slots[j].pid = pid;
        snprintf(t->slots[j].label, sizeof t->slots[j].label, "%s", label);
        t->n++;
    }
    return &t->slots[j];
}

/* Counts one point: a hash lookup, no allocation once the label is known. */
static void on_point(void *ctx, const collector_point *p)
{
    label_count *lc = label_slot(ctx, p->pid ? p->pid : -1, p->label);
    if (lc)
        lc->count++;
}

/* ---- the snapshot ------------------------------------------------------------------------------ */
#define DRAIN_PERIOD_NS 10000000ull  /* as report and top: a busy ring is never lapped */
#define SCAN_PERIOD_NS 1000000000ull

/* Drains when a drain is due; returns nonzero when it drained. */
static int drain_if_due(collector *c, uint64_t *next_drain)
{
    uint64_t now = collector_now_ns();
    if (now < *next_drain)
        return 0;
    collector_drain(c);
    *next_drain = now + DRAIN_PERIOD_NS;
    return 1;
}

/* Fills s from the collector on the driver's thread. Turning histograms into bucket counts costs
 * up to ~60 µs per histogram that spans many octaves, so between timers it drains whenever a
 * drain falls due: the drain is never late, and each series stays consistent in itself (series
 * of one snapshot may be a drain apart). Returns 0 or -ENOMEM. */
static int take_snapshot(tkp_snapshot *s, collector *c, const label_table *labels,
                         uint64_t *next_drain)
{
    for (size_t i = 0; i < collector_process_count(c); i++) {
        const process_info *pi = collector_process(c, i);
        size_t proc = s->nprocs;
        tkp_proc *p = tkp_snapshot_add_proc(s, pi->name, pi->pid);
        if (!p)
            return -ENOMEM;
        uint64_t records = pi->points, lost = 0;
        char last[sizeof pi->timers[0]->name] = "";
        for (size_t j = 0; j < pi->ntimers; j++) {
            if (drain_if_due(c, next_drain)) {
                /* a drain may have inserted timers (sorted by name): go on after the last one */
                pi = collector_process(c, i);
                if (last[0])
                    for (j = 0; j < pi->ntimers && strcmp(pi->timers[j]->name, last) <= 0; j++)
                        ;
                if (j == pi->ntimers)
                    break;
            }
            const timer_stats *ts = pi->timers[j];
            tkp_timer *t = tkp_snapshot_add_timer(s, proc, ts->name);
            if (!t)
                return -ENOMEM;
            memcpy(last, ts->name, sizeof last);
            tkp_hist_add(&t->processing, ts->interval[KIND_PROCESSING]);
            tkp_hist_add(&t->processing, ts->total[KIND_PROCESSING]);
            tkp_hist_add(&t->latency, ts->interval[KIND_LATENCY]);
            tkp_hist_add(&t->latency, ts->total[KIND_LATENCY]);
            t->has_latency = t->latency.count > 0;
            t->lost = ts->lost_interval + ts->lost_total;
            lost += t->lost;
            records += t->processing.count;
        }
        uint64_t now = collector_now_ns();
        uint64_t last_rec = pi->last_record_mono_ns > pi->start_mono_ns ? pi->last_record_mono_ns
                                                                        : pi->start_mono_ns;
        p = &s->procs[proc];
        p->up = pi->state == PROC_LIVE;
        p->silence_s = now > last_rec ? (double)(now - last_rec) / 1e9 : 0;
        p->dropped = pi->dropped_no_ring;
        p->corrupt = pi->corrupt_records;
        p->records = records;
        p->lost = lost;
        for (size_t k = 0; k < labels->cap; k++)
            if (labels->slots[k].pid == pi->pid &&
                !tkp_snapshot_add_points(s, proc, labels->slots[k].label, labels->slots[k].count))
                return -ENOMEM;
    }
    return 0;
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static int cmd_serve(int argc, char **argv)
{
    serve_opts o = {.host = "127.0.0.1", .port = 9464, .top_k = 10, .max_silence = 5.0};
    int status;
    int first = cli_parse(&cmd_serve_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_serve_def, "unexpected argument '%s'", argv[first]);

    collector_options co = {.dir = o.dir, .keep = 1, .pid = o.pid, .quiet = 1};
    collector *c;
    if (collector_open(&co, &c) != 0)
        return cli_error("serve", "out of memory");
    label_table labels = {0};
    collector_on_point(c, on_point, &labels);

    char watching[160];
    const char *dir = o.dir ? o.dir : getenv("TK_DIR") ? getenv("TK_DIR") : "/dev/shm";
    if (o.pid)
        snprintf(watching, sizeof watching, "process %d in %s", o.pid, dir);
    else
        snprintf(watching, sizeof watching, "every instrumented process of this user in %s", dir);
    tkp_server_options so = {.host = o.host, .port = o.port, .top_k = (unsigned)o.top_k,
                             .max_silence_s = o.max_silence, .allow_none = o.allow_none,
                             .watching = watching};
    tkp_server *srv;
    int rc = tkp_server_start(&so, &srv);
    if (rc != 0) {
        collector_close(c);
        return cli_error("serve", "can't listen on %s:%u: %s", o.host, o.port,
                         rc == -EINVAL ? "not a numeric address" : strerror(-rc));
    }
    fprintf(stderr, "timekeeper serve: http://%s%s%s:%u/metrics\n", strchr(o.host, ':') ? "[" : "",
            o.host, strchr(o.host, ':') ? "]" : "", tkp_server_port(srv));

    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    uint64_t next_scan = 0, next_drain = 0;
    while (!stop_requested) {
        uint64_t now = collector_now_ns();
        if (now >= next_scan) {
            collector_scan(c);
            next_scan = now + SCAN_PERIOD_NS;
        }
        drain_if_due(c, &next_drain);
        if (tkp_server_wanted(srv)) {
            uint64_t t0 = collector_now_ns();
            tkp_snapshot *s = tkp_server_build(srv);
            take_snapshot(s, c, &labels, &next_drain);
            s->build_s = (double)(collector_now_ns() - t0) / 1e9;
            tkp_server_publish(srv);
            /* exited processes were shown once with up 0: forget them (and their labels) */
            collector_forget_exited(c);
        }
        now = collector_now_ns();
        uint64_t due = next_drain < next_scan ? next_drain : next_scan;
        int timeout = due > now ? (int)((due - now + 999999) / 1000000) : 0;
        struct pollfd pfd = {.fd = tkp_server_request_fd(srv), .events = POLLIN};
        poll(&pfd, 1, timeout);
    }
    tkp_server_stop(srv);
    collector_close(c);
    free(labels.slots);
    return cli_finish("serve", CLI_OK);
}
#endif
