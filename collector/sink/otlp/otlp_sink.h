/* sink/otlp/otlp_sink.h — the OTLP exporter behind the sink interface: a window writer (every
 * timer's histograms of an interval as OTLP metrics) and an event consumer (timer spans). */
#ifndef TK_OTLP_SINK_H
#define TK_OTLP_SINK_H

#include "sink/otlp/otlp.h"
#include "sink/sink.h"

extern const tk_sink_ops tk_sink_otlp;

/* Every window also carries, per live process, its resources read once from /proc:
 * process.cpu.time (sums in seconds, cpu.mode user and system), process.memory.usage (RSS bytes)
 * and process.threads (gauges). */
/* Opens s as an OTLP sink configured by c (see tk_otlp_config; call tk_otlp_config_from_env()
 * first for the OTEL_* variables). spans nonzero: its consumer exports sampled timer spans.
 * Returns 0, -EINVAL, -ENOTSUP (built without libcurl) or -ENOMEM. */
int tk_sink_otlp_open(tk_sink *s, const tk_otlp_config *c, int spans);
/* Waits up to timeout_ns for queued requests (call it before tk_sink_close() on SIGTERM).
 * Returns 0 or -ETIMEDOUT. */
int tk_sink_otlp_flush(tk_sink *s, uint64_t timeout_ns);
struct tka_counters;
/* Exports the program counters and gauges of table c (agg/counters.h) with every window: a counter
 * as a monotonic sum (its interval delta, or its total with cumulative temporality), a gauge or a
 * stage as a gauge. The caller feeds c (its consumer) and calls tka_counters_rollover() after each
 * window. NULL: none. Not thread-safe with the sink's other calls. */
void tk_sink_otlp_set_counters(tk_sink *s, const struct tka_counters *c);
struct tkc_tasks;
/* Exports the task types of aggregator t (agg/tasks.h) with every window, in the request of the
 * first process pushed: the top TK_OTLP_TOP_TASKS by exec_with_children and an `other` sum, each as
 * the sums timekeeper.task.exec, timekeeper.task.exec_with_children (seconds) and
 * timekeeper.task.calls (delta or total by temporality). The caller feeds t. NULL: none. Not
 * thread-safe with the sink's other calls. */
void tk_sink_otlp_set_tasks(tk_sink *s, struct tkc_tasks *t);
#define TK_OTLP_TOP_TASKS 20
typedef struct tk_sink_otlp_stats {
    tk_otlp_stats exp;      /* the exporter's requests */
    uint64_t pushes;        /* process windows pushed (one request each unless split) */
    uint64_t spans_offered, spans_kept, spans_capped; /* sampling, rate cap */
} tk_sink_otlp_stats;

/* The counters so far, for the final report. Not thread-safe with the sink's other calls. */
void tk_sink_otlp_counts(tk_sink *s, tk_sink_otlp_stats *out);

#endif
