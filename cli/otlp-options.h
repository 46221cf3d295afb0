/* otlp-options.h — the OTLP options shared by `export --otlp` and `serve --otlp` (one table, one
 * parser, one translation into tk_otlp_config) and the pusher both commands drive. */
#ifndef TK_CLI_OTLP_OPTIONS_H
#define TK_CLI_OTLP_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* Option keys: a range of their own, so a command's own keys (256...) never collide. */
enum {
    CLI_OPT_OTLP = 0x1000, CLI_OPT_OTLP_ENCODING, CLI_OPT_OTLP_TEMPORALITY, CLI_OPT_OTLP_HEADERS,
    CLI_OPT_OTLP_MAX_BUCKETS, CLI_OPT_OTLP_QUEUE, CLI_OPT_OTLP_TIMEOUT, CLI_OPT_OTLP_SPANS,
    CLI_OPT_OTLP_SAMPLE, CLI_OPT_OTLP_SPAN_RATE, CLI_OPT_OTLP_SERVICE,
};

/* The entries of a cli_option table (no terminator): put them in the command's table. */
#define CLI_OTLP_OPTIONS                                                                            \
    {"otlp", CLI_OPT_OTLP, "URL", "OTLP/HTTP endpoint; /v1/metrics is appended (default "          \
                                  "$OTEL_EXPORTER_OTLP_ENDPOINT)"},                                \
    {"otlp-encoding", CLI_OPT_OTLP_ENCODING, "ENC", "protobuf (default) or json"},                 \
    {"otlp-temporality", CLI_OPT_OTLP_TEMPORALITY, "T", "delta (default) or cumulative"},          \
    {"otlp-headers", CLI_OPT_OTLP_HEADERS, "K=V,...", "HTTP headers (default "                     \
                                                      "$OTEL_EXPORTER_OTLP_HEADERS)"},             \
    {"otlp-max-buckets", CLI_OPT_OTLP_MAX_BUCKETS, "N", "exponential buckets per histogram "       \
                                                        "(default 160)"},                          \
    {"otlp-queue", CLI_OPT_OTLP_QUEUE, "N", "requests queued while the receiver is slow or down "  \
                                            "(default 64)"},                                       \
    {"otlp-timeout", CLI_OPT_OTLP_TIMEOUT, "D", "per-request timeout, and the flush deadline at "  \
                                                "exit (default 10s)"},                             \
    {"otlp-spans", CLI_OPT_OTLP_SPANS, NULL, "also export timer spans to /v1/traces, one trace "   \
                                             "per origin"},                                        \
    {"sample", CLI_OPT_OTLP_SAMPLE, "P", "with --otlp-spans: share of traces kept (default 1)"},   \
    {"span-rate", CLI_OPT_OTLP_SPAN_RATE, "N", "with --otlp-spans: at most N spans per second"},   \
    {"service", CLI_OPT_OTLP_SERVICE, "NAME", "service.name (default $OTEL_SERVICE_NAME, else "    \
                                              "the process name)"}

/* What the options said (NULL / 0: not given). */
typedef struct cli_otlp_opts {
    const char *url, *encoding, *temporality, *headers, *service;
    int spans;
    double timeout_s, sample, span_rate;
    uint64_t queue, max_buckets;
} cli_otlp_opts;

/* Takes one option of CLI_OTLP_OPTIONS. Returns 0, CLI_USAGE (reported against cmd), or -1 when
 * key is not an OTLP option (the caller goes on with its own). */
int cli_otlp_option(const cli_command *cmd, cli_otlp_opts *o, int key, const char *arg);

#ifdef TK_HAVE_OTLP
#include "agg/counters.h"
#include "agg/window.h"
#include "core/core.h"
#include "sink/otlp/otlp_sink.h"

/* Checks o and fills c from the OTEL_* variables, then the options (which win). On a bad
 * combination reports it against cmd and returns CLI_USAGE; else 0. c points into o and the
 * environment. */
int cli_otlp_config(const cli_command *cmd, const cli_otlp_opts *o, tk_otlp_config *c);

/* A pusher: the aggregator (timers), the counter table and the OTLP sink, subscribed to a core.
 * The caller's drain thread calls cli_otlp_push() at each interval: it encodes and queues, the
 * sink's sender thread does the HTTP, so the drain is never late for the network. */
typedef struct cli_otlp_pusher {
    tk_sink sink;
    tka_agg *agg;
    tka_counters *counters;
    struct tkc_tasks *tasks; /* task types, exported when the program has any */
    uint64_t t0, ring_lost;
    const char *url;       /* the metrics endpoint, for messages */
    uint64_t flush_ns;
} cli_otlp_pusher;

/* Opens the sink with c, creates the aggregator (only timers matching timer_glob; NULL: all) and
 * the counter table, subscribes them (and the span consumer when spans) to core. On failure
 * prints "timekeeper NAME: ..." and returns CLI_FAIL; the caller then closes core and p as after
 * a success. Returns 0 or CLI_FAIL. */
int cli_otlp_pusher_open(cli_otlp_pusher *p, const char *name, const tk_otlp_config *c, int spans,
                         const char *timer_glob, tkc_core *core);
/* Pushes what was read since the last push (one window) and starts the next one. Cost: one
 * encode per process, no network. Returns 0 or a negative errno (-ENOMEM). */
int cli_otlp_push(cli_otlp_pusher *p);
/* Waits up to the exporter's timeout for queued requests, copies the counters into *st (what is
 * still queued then is unsent) and frees everything. Call it after tkc_core_close() (the core
 * tells its consumers about the processes it lets go). NULL st: not wanted. */
void cli_otlp_pusher_close(cli_otlp_pusher *p, tk_sink_otlp_stats *st);
/* Prints the delivery counters (a JSON object when json) on f. */
void cli_otlp_print_stats(FILE *f, int json, int spans, const char *url, const tk_sink_otlp_stats *c,
                          uint64_t ring_lost);
#endif

#endif
