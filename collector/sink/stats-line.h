/* sink/stats-line.h — the periodic lines of `report --stats`, written and read back (by `plot`):
 *
 *   stats - {"t":1733045000.120,"pid":42,"interval_s":1.000,"counters":{"packets":1200},
 *            "gauges":{"queue":3},"stages":{"dissect":1},"timers":{"parse":{"count":1200,
 *            "p50_ns":812,"p99_ns":4100}}}
 *   resources - {"t":1733045000.120,"pid":42,"interval_s":1.000,"cpu":91.2,"user":80.1,
 *            "sys":11.1,"rss":87052288,"threads":29,"cores":16,"voluntary_cs":120,
 *            "involuntary_cs":3,"read_bytes":4096,"write_bytes":0,"heap":24441240}
 *
 * One line each, a short prefix then one JSON object. t is CLOCK_REALTIME seconds; counters are
 * the deltas of the interval (a rate is delta / interval_s), gauges and stages their values, cpu
 * is % of one core (100 = one core busy), sizes are bytes; "heap" appears when the program sets a
 * gauge named heap_bytes. docs/stats-lines.md describes the format. */
#ifndef TK_STATS_LINE_H
#define TK_STATS_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agg/counters.h"
#include "core/procstat.h"

#define TK_STATS_PREFIX "stats - "
#define TK_RESOURCES_PREFIX "resources - "

/* A timer's summary on a stats line. */
typedef struct tk_stats_timer {
    const char *name;
    uint64_t count;
    uint64_t p50_ns, p99_ns;
} tk_stats_timer;

/* Writes one stats line for process pid: its counters, gauges and stages (vals, n entries, of
 * that process) and its timers (nt entries, may be 0). Returns 0 or -1 when the stream failed. */
int tk_stats_write(FILE *out, double t_real_s, int pid, double interval_s,
                   const tka_counter_value *vals, size_t n, const tk_stats_timer *timers,
                   size_t nt);
/* Writes one resources line; heap < 0: none. Returns 0 or -1 when the stream failed. */
int tk_resources_write(FILE *out, double t_real_s, int pid, const tkc_procstat_rates *r,
                       int64_t heap);

/* One number of a parsed line, under its path of keys joined by '.' ("counters.packets",
 * "timers.parse.p99_ns", "cpu"). */
typedef struct tk_stats_kv {
    char key[128];
    double value;
} tk_stats_kv;

enum { TK_LINE_OTHER = 0, TK_LINE_STATS = 1, TK_LINE_RESOURCES = 2 };

/* Reads a line: TK_LINE_STATS or TK_LINE_RESOURCES with its numbers in out (up to cap; *n is
 * how many there were), or TK_LINE_OTHER for any other line (including a malformed object:
 * a log may hold anything else). Strings and arrays in the object are skipped. Can't fail. */
int tk_stats_parse(const char *line, tk_stats_kv *out, size_t cap, size_t *n);

#endif
