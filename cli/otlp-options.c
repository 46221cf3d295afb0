/* otlp-options.c — the OTLP options of `export --otlp` and `serve --otlp`, their translation into
 * the exporter's configuration, and the pusher (aggregator + counters + OTLP sink) both drive. */
#include "otlp-options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/tasks.h"

int cli_otlp_option(const cli_command *cmd, cli_otlp_opts *o, int key, const char *arg)
{
    switch (key) {
    case CLI_OPT_OTLP: o->url = arg; return 0;
    case CLI_OPT_OTLP_ENCODING: o->encoding = arg; return 0;
    case CLI_OPT_OTLP_TEMPORALITY: o->temporality = arg; return 0;
    case CLI_OPT_OTLP_HEADERS: o->headers = arg; return 0;
    case CLI_OPT_OTLP_SERVICE: o->service = arg; return 0;
    case CLI_OPT_OTLP_SPANS: o->spans = 1; return 0;
    case CLI_OPT_OTLP_TIMEOUT:
        if (cli_parse_seconds(arg, 0, 86400, &o->timeout_s) < 0)
            return cli_usage_error(cmd, "bad duration '%s' (e.g. 500ms, 10s, 2m)", arg);
        return 0;
    case CLI_OPT_OTLP_QUEUE:
        if (cli_parse_u64(arg, 1, 1000000, &o->queue) < 0)
            return cli_usage_error(cmd, "--otlp-queue wants 1..1000000, not '%s'", arg);
        return 0;
    case CLI_OPT_OTLP_MAX_BUCKETS:
        if (cli_parse_u64(arg, 1, 100000, &o->max_buckets) < 0)
            return cli_usage_error(cmd, "--otlp-max-buckets wants 1..100000, not '%s'", arg);
        return 0;
    case CLI_OPT_OTLP_SAMPLE:
        if (cli_parse_double(arg, 0, 1, &o->sample) < 0)
            return cli_usage_error(cmd, "--sample wants a share in 0..1, not '%s'", arg);
        return 0;
    case CLI_OPT_OTLP_SPAN_RATE:
        if (cli_parse_double(arg, 0, 1e9, &o->span_rate) < 0)
            return cli_usage_error(cmd, "--span-rate wants spans per second, not '%s'", arg);
        return 0;
    }
    return -1;
}

#ifdef TK_HAVE_OTLP

int cli_otlp_config(const cli_command *cmd, const cli_otlp_opts *o, tk_otlp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    tk_otlp_config_from_env(cfg);
    if (o->url)
        cfg->exp.endpoint = o->url;
    if (o->headers)
        cfg->exp.headers = o->headers;
    if (o->service)
        cfg->service = o->service;
    if (!cfg->exp.endpoint && !cfg->exp.url[TK_OTLP_METRICS])
        return cli_usage_error(cmd, "no endpoint: --otlp URL or $OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!cfg->exp.endpoint && !cfg->exp.url[TK_OTLP_TRACES])
        return cli_usage_error(cmd, "no traces endpoint: --otlp URL or "
                                    "$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (o->encoding && strcmp(o->encoding, "protobuf") && strcmp(o->encoding, "json"))
        return cli_usage_error(cmd, "--otlp-encoding is protobuf or json, not '%s'", o->encoding);
    if (o->temporality && strcmp(o->temporality, "delta") && strcmp(o->temporality, "cumulative"))
        return cli_usage_error(cmd, "--otlp-temporality is delta or cumulative, not '%s'",
                               o->temporality);
    if ((o->sample > 0 || o->span_rate > 0) && !o->spans)
        return cli_usage_error(cmd, "--sample and --span-rate go with --otlp-spans");
    int cumulative = o->temporality && !strcmp(o->temporality, "cumulative");
    cfg->exp.encoding = o->encoding && !strcmp(o->encoding, "json") ? TK_OTLP_JSON : TK_OTLP_PROTOBUF;
    cfg->exp.queue_max = (size_t)o->queue;
    cfg->exp.timeout_ns = (uint64_t)((o->timeout_s > 0 ? o->timeout_s : 10) * 1e9);
    cfg->temporality = cumulative ? TK_OTLP_CUMULATIVE : TK_OTLP_DELTA;
    cfg->max_buckets = (size_t)o->max_buckets;
    cfg->sample = o->sample;
    cfg->span_rate = o->span_rate;
    return 0;
}

int cli_otlp_pusher_open(cli_otlp_pusher *p, const char *name, const tk_otlp_config *c, int spans,
                         const char *timer_glob, tkc_core *core)
{
    memset(p, 0, sizeof *p);
    p->url = c->exp.url[TK_OTLP_METRICS] ? c->exp.url[TK_OTLP_METRICS] : c->exp.endpoint;
    p->flush_ns = c->exp.timeout_ns ? c->exp.timeout_ns : 10000000000ull;
    int r = tk_sink_otlp_open(&p->sink, c, spans);
    if (r < 0) {
        memset(p, 0, sizeof *p);
        return cli_error(name, r == -EINVAL ? "bad endpoint, headers or resource attributes"
                                            : "cannot start the exporter (%s)", strerror(-r));
    }
    tka_options ao = {.timer_glob = timer_glob};
    p->agg = tka_agg_new(&ao);
    p->counters = tka_counters_new();
    p->tasks = tkc_tasks_new();
    tkc_consumer tc = p->tasks ? tkc_tasks_consumer(p->tasks) : (tkc_consumer){0};
    const tkc_consumer *sc = p->sink.ops->consumer(&p->sink);
    if (!p->agg || !p->counters || tkc_core_subscribe(core, tka_agg_consumer(p->agg)) != 0 ||
        tkc_core_subscribe(core, tka_counters_consumer(p->counters)) != 0 || !p->tasks ||
        tkc_core_subscribe(core, &tc) != 0 ||
        (sc && tkc_core_subscribe(core, sc) != 0)) {
        /* the caller closes the core, then this pusher */
        return cli_error(name, "out of memory");
    }
    if (p->counters)
        tk_sink_otlp_set_counters(&p->sink, p->counters);
    tk_sink_otlp_set_tasks(&p->sink, p->tasks);
    p->t0 = tkc_now_ns();
    return 0;
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

int cli_otlp_push(cli_otlp_pusher *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t1 = tkc_now_ns();
    tk_window_view v = {p->agg, TKA_INTERVAL, (double)(t1 - p->t0) / 1e9, 0,
                        (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, t1};
    int r = tk_sink_window(&p->sink, &v);
    p->ring_lost += ring_lost_of(p->agg);
    tka_agg_rollover(p->agg, t1);
    tka_counters_rollover(p->counters);
    p->t0 = t1;
    return r;
}

void cli_otlp_pusher_close(cli_otlp_pusher *p, tk_sink_otlp_stats *st)
{
    if (p->sink.state) {
        tk_sink_otlp_flush(&p->sink, p->flush_ns);
        if (st)
            tk_sink_otlp_counts(&p->sink, st); /* what is still queued now is unsent */
        tk_sink_close(&p->sink);
    }
    tka_agg_free(p->agg);
    tka_counters_free(p->counters);
    tkc_tasks_free(p->tasks);
    p->tasks = NULL;
    p->agg = NULL;
    p->counters = NULL;
}

void cli_otlp_print_stats(FILE *f, int json, int spans, const char *url, const tk_sink_otlp_stats *c,
                          uint64_t ring_lost)
{
    const tk_otlp_stats *s = &c->exp;
    if (json) {
        fprintf(f, "{\"endpoint\":");
        cli_json_str(f, url);
        fprintf(f, ",\"pushes\":%llu,\"enqueued\":%llu,\"sent\":%llu,\"sent_items\":%llu,"
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
    fprintf(f, "otlp: %llu request(s) sent (%llu metrics or spans, %llu bytes) to %s",
           (unsigned long long)s->sent, (unsigned long long)s->sent_items,
           (unsigned long long)s->sent_bytes, url);
    fprintf(f, "; %llu retried, %llu rejected, %llu given up, %llu dropped (queue full), %llu unsent;"
           " %llu records lost in the rings\n",
           (unsigned long long)s->retries, (unsigned long long)s->rejected,
           (unsigned long long)s->expired, (unsigned long long)s->overflow,
           (unsigned long long)s->queued, (unsigned long long)ring_lost);
    if (spans)
        fprintf(f, "otlp: spans: %llu read, %llu kept by sampling, %llu over the rate cap\n",
               (unsigned long long)c->spans_offered, (unsigned long long)c->spans_kept,
               (unsigned long long)c->spans_capped);
}

#endif
