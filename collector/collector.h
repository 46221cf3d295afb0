/* collector.h — a core and a window aggregator in one object, with the statistics laid out as
 * plain structs: the convenience the tests and benchmarks use. Commands use the pipeline itself
 * (core/core.h, core/driver.h, agg/window.h, sink/sink.h). The structs below are snapshots that
 * collector_scan/drain/rollover refresh; they are read-only. */
#ifndef TK_COLLECTOR_H
#define TK_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"

typedef struct collector collector;

typedef struct collector_options {
    const char *dir;         /* segments directory; NULL: $TK_DIR or /dev/shm */
    int remove_exited;       /* nonzero: remove a dead process's segment once drained (tests
                              * of that path; commands leave it to `timekeeper clean`) */
    int pid;                 /* nonzero: only this process */
    const char *timer_glob;  /* NULL: all timers; else an fnmatch(3) pattern */
    uint64_t overhead_ns;    /* subtracted from every processing time (clamped at 0) */
    int quiet;               /* nonzero: do not print warnings about bad segments on stderr */
} collector_options;

enum { KIND_PROCESSING = 0, KIND_LATENCY = 1, KIND_COUNT = 2 };

/* Statistics of one timer of one process. Histograms hold nanoseconds. */
typedef struct timer_stats {
    char name[56];
    uint32_t id;
    hist *interval[KIND_COUNT];  /* records drained since the last collector_rollover() */
    hist *total[KIND_COUNT];     /* everything up to the last collector_rollover() */
    uint64_t lost_interval;      /* records of this timer overwritten before they were read */
    uint64_t lost_total;         /* (both: before this collector first read the ring, or after) */
    uint64_t overwritten_interval; /* of lost_*: before this collector first read the ring */
    uint64_t overwritten_total;
    uint64_t last_mono_ns;       /* CLOCK_MONOTONIC of the last record's stop, 0: none yet */
} timer_stats;

typedef enum { PROC_LIVE = 0, PROC_EXITED = 1 } proc_state;

/* One instrumented process (one segment). */
typedef struct process_info {
    const char *path;
    char name[64];
    char cmdline[256];
    int pid;
    unsigned uid;
    proc_state state;
    int clock_source;
    uint64_t start_real_ns;
    uint64_t start_mono_ns;
    uint64_t exit_mono_ns;        /* set when the producer exited normally, 0 otherwise */
    uint64_t heartbeat_mono_ns;
    uint64_t last_record_mono_ns; /* the newest record seen in any ring, 0: none */
    uint64_t dropped_no_ring;
    uint64_t corrupt_records;     /* records that broke the format (skipped) */
    uint64_t unknown_records;     /* records of a type this collector does not know (skipped) */
    uint64_t points;              /* labeled points read */
    uint32_t rings_used;
    size_t ntimers;
    timer_stats **timers;         /* ntimers entries, sorted by name */
} process_info;

/* A labeled point read from a ring, for `analyze --live`. */
typedef struct collector_point {
    int pid;
    uint32_t tid;
    const char *label;
    uint64_t mono_ns;
    uint64_t client, command, session;  /* UINT64_MAX: unknown */
    const char *context;
    size_t context_len;
} collector_point;
typedef void (*collector_point_fn)(void *ctx, const collector_point *p);

/* Creates a collector. Returns 0 or a negative errno-style code (-ENOMEM). */
int collector_open(const collector_options *opts, collector **out);
void collector_close(collector *c);
/* Delivers labeled points to fn (NULL: points are only counted). */
void collector_on_point(collector *c, collector_point_fn fn, void *ctx);

/* Points are delivered ring by ring as they are drained, so points of different threads may come
 * out of time order. With ordered = 1 the collector holds points back and delivers them sorted by
 * time once every ring has been drained past them (at the drain after the one that read them);
 * collector_flush_points() delivers what is still held. Returns 0 or -ENOMEM. */
int collector_order_points(collector *c, int ordered);
void collector_flush_points(collector *c);

/* Finds segments that appeared since the last scan and attaches them (a bad segment is reported
 * once on stderr and skipped). Returns the number of processes now attached. Can't fail. */
size_t collector_scan(collector *c);
/* Drains every ring of every attached process into the statistics. A process whose pid is gone is
 * drained to its last complete record, marked PROC_EXITED and its segment removed (unless keep).
 * Returns the number of records read. Can't fail. */
uint64_t collector_drain(collector *c);
/* Ends the interval: merges every interval histogram into its total, then empties the interval
 * histograms and loss counters. Call it after reading the interval statistics. */
void collector_rollover(collector *c);
/* Forgets processes marked PROC_EXITED (after their statistics were shown). */
void collector_forget_exited(collector *c);

size_t collector_process_count(const collector *c);
const process_info *collector_process(const collector *c, size_t i);

/* Now on CLOCK_MONOTONIC, in ns. */
uint64_t collector_now_ns(void);

/* ---- segment inspection, also used by tests and the fuzz target ------------------------------- */
#include "core/validate.h"

/* The pipeline objects behind the collector (for tests that mix both). */
struct tkc_core *collector_core(collector *c);
struct tka_agg *collector_agg(collector *c);

#endif
