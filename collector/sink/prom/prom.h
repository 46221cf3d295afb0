/* sink/prom/prom.h — the Prometheus exposition of timekeeper's statistics: a snapshot of plain
 * values (what one scrape shows), its writer (text format 0.0.4 and OpenMetrics 1.0), and the
 * HTTP server of `timekeeper serve`. Metric names are documented in docs/metrics.md. */
#ifndef TK_SINK_PROM_H
#define TK_SINK_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"

/* The two exposition formats. */
typedef enum {
    TKP_TEXT = 0,        /* Prometheus text format 0.0.4 */
    TKP_OPENMETRICS = 1, /* OpenMetrics 1.0 (unit lines, `# EOF`) */
} tkp_format;

/* The fixed bucket bounds of every `*_seconds` histogram (in seconds, +Inf added): 1-2.5-5 steps
 * from 50 ns to 10 s, suited to timers from a few ns to seconds. */
#define TKP_NBOUNDS 25
extern const double tkp_bounds_s[TKP_NBOUNDS];
extern const uint64_t tkp_bounds_ns[TKP_NBOUNDS]; /* the same in ns */

/* A histogram at the fixed bounds: le[i] counts the values <= tkp_bounds_s[i] (cumulative). */
typedef struct tkp_hist {
    uint64_t le[TKP_NBOUNDS];
    uint64_t count; /* every value: the +Inf bucket */
    double sum_s;   /* sum of the values, seconds */
} tkp_hist;

/* One process. */
typedef struct tkp_proc {
    char name[64];
    int pid;
    int up;              /* 1: live, 0: exited */
    double down_s;       /* exited: seconds since a snapshot first saw it exited; live: 0 */
    double silence_s;    /* seconds since its newest record (or its start when it has none) */
    uint64_t records;    /* records read */
    uint64_t overwritten; /* records overwritten before this collector first read the ring */
    uint64_t lost;        /* records overwritten while attached (overruns) */
    uint64_t dropped;     /* records the producer dropped (no ring, no space, names full) */
    uint64_t corrupt;     /* records skipped as malformed or of an unknown type */
    /* resources, from /proc (tkp_snapshot_add_resources) */
    int have_res;         /* nonzero: the fields below were sampled */
    int have_cs;          /* nonzero: the context switches were readable */
    double cpu_s;         /* user + system CPU time since the process started, seconds */
    uint64_t rss_bytes;
    uint64_t threads;
    uint64_t voluntary_cs, involuntary_cs;
} tkp_proc;

/* The kinds of a program value (tkp_value.kind). */
enum { TKP_VAL_COUNTER = 0, TKP_VAL_GAUGE = 1, TKP_VAL_STAGE = 2 };

/* One counter, gauge or stage of one process (tk_counter_add, tk_gauge_set, tk_stage). */
typedef struct tkp_value {
    size_t proc;        /* index into tkp_snapshot.procs */
    int kind;           /* TKP_VAL_* */
    char name[64];
    uint64_t total;     /* counter: its total since the process started */
    int64_t value;      /* gauge: its value; stage: 1 on, 0 off */
} tkp_value;

/* One timer of one process. */
typedef struct tkp_timer {
    size_t proc;        /* index into tkp_snapshot.procs */
    char name[64];
    int has_latency;    /* nonzero: the latency histogram is shown */
    tkp_hist processing, latency;
    uint64_t lost;      /* records of this timer lost (any reason) */
} tkp_timer;

/* Points of one label of one process. */
typedef struct tkp_points {
    size_t proc;
    char label[64];
    uint64_t count;
} tkp_points;

/* Totals of one task type of one process (the task aggregator fills these). */
typedef struct tkp_task {
    size_t proc;
    char function[64];
    char file[128];
    unsigned line;
    double exec_s, exec_with_children_s, wall_s;
    uint64_t completed, failed, cancelled, stillborn;
    double max_slice_s;
} tkp_task;

/* What one scrape shows. Arrays are owned (tkp_snapshot_clear frees them). */
typedef struct tkp_snapshot {
    tkp_proc *procs;
    size_t nprocs, cap_procs;
    tkp_timer *timers;
    size_t ntimers, cap_timers;
    tkp_points *points;
    size_t npoints, cap_points;
    tkp_task *tasks;
    size_t ntasks, cap_tasks;
    tkp_value *values;
    size_t nvalues, cap_values;
    int have_tasks;     /* nonzero: task metrics are exported (even with no task yet) */
    double build_s;     /* how long the snapshot took to take, seconds (exported) */
} tkp_snapshot;

/* Empties s, keeping its memory. Can't fail. */
void tkp_snapshot_reset(tkp_snapshot *s);
/* Frees what s holds and zeroes it. */
void tkp_snapshot_clear(tkp_snapshot *s);
/* Appends a zeroed entry and returns it, NULL when out of memory. Names are truncated to fit.
 * Not thread-safe: one writer per snapshot. */
tkp_proc *tkp_snapshot_add_proc(tkp_snapshot *s, const char *name, int pid);
tkp_timer *tkp_snapshot_add_timer(tkp_snapshot *s, size_t proc, const char *name);
tkp_points *tkp_snapshot_add_points(tkp_snapshot *s, size_t proc, const char *label,
                                    uint64_t count);
tkp_task *tkp_snapshot_add_task(tkp_snapshot *s, size_t proc, const char *function,
                                const char *file, unsigned line);
tkp_value *tkp_snapshot_add_value(tkp_snapshot *s, size_t proc, int kind, const char *name);

/* Removes the processes that are down (exited) since at least after_s seconds, with every timer,
 * point, task and value of theirs; the others keep their order (indexes are renumbered). Returns
 * how many were removed. Can't fail. */
size_t tkp_snapshot_forget(tkp_snapshot *s, double after_s);

/* Adds the values of h (ns) into out at the fixed bounds (a value counts at a bound when its
 * whole histogram bucket lies at or below it: exact within the histogram's 1/2048). Adding the
 * interval and the total histograms of a timer gives everything since start. NULL h adds
 * nothing. Can't fail. */
void tkp_hist_add(tkp_hist *out, const hist *h);
/* Adds one value (ns) into out, for tests and hand-made data. Can't fail. */
void tkp_hist_add_ns(tkp_hist *out, uint64_t ns, uint64_t n);

/* ---- the counters serve keeps (sink/prom/prom-counts.c) ---------------------------------------
 * A consumer of the core's events that counts every span straight into the fixed bounds (a
 * binary search over TKP_NBOUNDS per span and kind), with exact sums, per process and timer; and
 * points per label, losses per timer. A snapshot is then a copy of plain counters, O(series),
 * instead of walking every histogram bucket (up to ~60 µs per wide histogram). */
typedef struct tkp_counts tkp_counts;
struct tkc_consumer;
/* Returns a new set of counters, NULL when out of memory. */
tkp_counts *tkp_counts_new(void);
void tkp_counts_free(tkp_counts *c);
/* Its consumer, for tkc_core_subscribe(). Callbacks run on the driver's thread. */
const struct tkc_consumer *tkp_counts_consumer(tkp_counts *c);
/* Appends every process, timer and label seen so far to s, with health as of now_ns
 * (CLOCK_MONOTONIC). On the driver's thread. Returns 0 or -ENOMEM. */
int tkp_counts_snapshot(tkp_counts *c, tkp_snapshot *s, uint64_t now_ns);

/* ---- counters, gauges, stages and resources (sink/prom/prom-values.c) --------------------------
 * Program values come from the counter aggregator (agg/counters.h), resources from /proc
 * (core/procstat.h), sampled at most once a second per process whatever the scrape rate. */
struct tka_counters;
/* Appends every counter, gauge and stage of t to s, each under the snapshot process of the same
 * pid (values of a process not in s are skipped). On the driver's thread. Returns 0 or -ENOMEM. */
int tkp_snapshot_add_values(tkp_snapshot *s, const struct tka_counters *t);

/* The resource samples serve keeps: one per pid, renewed when older than min_age_ns. */
typedef struct tkp_resources tkp_resources;
/* Returns a new cache, NULL when out of memory. min_age_ns 0: one second. */
tkp_resources *tkp_resources_new(uint64_t min_age_ns);
void tkp_resources_free(tkp_resources *r);
/* Fills the resource fields of every live process of s (now_ns: CLOCK_MONOTONIC), reading
 * /proc/<pid> only for a sample older than the cache's minimum age (cost: ~3 small reads per
 * process and second). An exited process keeps its last sample. Returns 0 or -ENOMEM. */
int tkp_resources_fill(tkp_resources *r, tkp_snapshot *s, uint64_t now_ns);
/* /proc reads done so far (tests). */
uint64_t tkp_resources_reads(const tkp_resources *r);

/* A growable text buffer. */
typedef struct tkp_buf {
    char *p;
    size_t len, cap;
    int oom;            /* nonzero: an append failed (the text is incomplete) */
} tkp_buf;
void tkp_buf_free(tkp_buf *b);

/* Writes the exposition of s in format f into b (appending). Task types: per process the top_k
 * by exec_with_children, then one series with function="other" summing the rest, so sums over
 * a process stay true (top_k 0: only "other"). Returns 0, or -ENOMEM (b->oom set). Pure: reads
 * only s. */
int tkp_write(tkp_buf *b, const tkp_snapshot *s, tkp_format f, unsigned top_k);

/* The Content-Type header value of format f. */
const char *tkp_content_type(tkp_format f);
/* The format a scraper asks for in its Accept header (NULL: none): OpenMetrics when it lists
 * application/openmetrics-text with a nonzero q, else text 0.0.4. */
tkp_format tkp_negotiate(const char *accept);

/* Appends s to b as a label value: backslash, double quote and newline escaped. Returns 0 or
 * -ENOMEM. */
int tkp_buf_label_value(tkp_buf *b, const char *s);

/* The health rule of `timekeeper check`: healthy when every live process recorded within
 * max_silence_s, and at least one process is live (unless allow_none). Appends one line per
 * quiet process to why (NULL: none wanted). Returns 1 when healthy, 0 when not. */
int tkp_healthy(const tkp_snapshot *s, double max_silence_s, int allow_none, tkp_buf *why);

/* ---- the HTTP server (sink/prom/prom-serve.c, only with libmicrohttpd: TK_HAVE_MICROHTTPD) ------
 * Threading: libmicrohttpd answers on its own thread. The collector's thread (the driver's) owns
 * every statistic; the HTTP thread never reads them. A request asks for a snapshot (the request
 * fd becomes readable), the driver's thread fills one between drains (tkp_server_build, then
 * tkp_server_publish: an O(1) swap under a mutex) and the HTTP thread formats it on its own time.
 * So a scrape costs the driver only the copy of plain values, never the formatting or the
 * network, and the driver never waits for the HTTP thread. */
typedef struct tkp_server tkp_server;

typedef struct tkp_server_options {
    const char *host;        /* numeric IPv4 or IPv6 address; NULL: 127.0.0.1 */
    unsigned port;           /* 0: any free port (tkp_server_port tells which) */
    unsigned top_k;          /* task types per process shown by name */
    double max_silence_s;    /* the /healthz rule */
    int allow_none;          /* /healthz is 200 with no live process */
    const char *watching;    /* one line for the index page: what is watched */
    double snapshot_timeout_s; /* a request waits this long for a snapshot (0: 2 s), then 503 */
} tkp_server_options;

/* Starts serving on its own thread. Returns 0, -EINVAL for a bad host, -EADDRINUSE or another
 * negative errno when the socket can't be bound or the thread started. */
int tkp_server_start(const tkp_server_options *o, tkp_server **out);
/* Stops the HTTP thread and frees the server. NULL is allowed. */
void tkp_server_stop(tkp_server *s);
/* The port listened on. */
unsigned tkp_server_port(const tkp_server *s);
/* An fd that becomes readable when a request waits for a snapshot: poll it beside the driver's. */
int tkp_server_request_fd(const tkp_server *s);
/* On the driver's thread: nonzero when a snapshot is wanted (clears the request fd). */
int tkp_server_wanted(tkp_server *s);
/* On the driver's thread: the snapshot to fill (emptied), then tkp_server_publish() hands it to
 * the waiting requests. Never blocks longer than a pointer swap. */
tkp_snapshot *tkp_server_build(tkp_server *s);
void tkp_server_publish(tkp_server *s);
/* Requests answered so far (any path). Thread-safe. */
uint64_t tkp_server_requests(tkp_server *s);

#endif
