/* sink/stats.h — the sink of `report --stats`: every interval, per process, one `stats - {…}`
 * line (program counters as per-interval deltas, gauges, stages, timers' p50/p99) and one
 * `resources - {…}` line (a /proc sample), in the format of sink/stats-line.h. */
#ifndef TK_SINK_STATS_H
#define TK_SINK_STATS_H

#include "sink/sink.h"

/* The stats sink. Its consumer (ops.consumer) takes the counter and gauge events: subscribe it
 * to the core. Its window op writes the lines of the interval then starts the counters' next
 * interval (call it for TKA_INTERVAL windows; a TKA_TOTAL window writes totals of the counters
 * and no resources line). */
extern const tk_sink_ops tk_sink_stats;

/* Opens s as a stats sink writing to out (tk_sink_open() can not: the sink has state).
 * Returns 0 or -ENOMEM. */
int tk_sink_stats_open(tk_sink *s, FILE *out);

#endif
