/* analyze.h — the analysis engine of `timekeeper analyze`: intervals, totals, paths and the unaccounted
 * remainder between labeled points per correlation id, statistics of `*_ns=` context fields, the
 * default "consecutive points" breakdown and one command's timeline. Streaming, bounded memory.
 *
 * Use: analyze_spec_load() (optional), analyze_new(), then for each input analyze_source() +
 * analyze_feed()... + analyze_source_end() (or analyze_point() for points from the rings), then
 * analyze_finish() and analyze_write(). The spec format and the outputs are described in
 * docs/analyze.md. Not thread-safe: one analyzer is used by one thread. */
#ifndef TK_COLLECTOR_ANALYZE_H
#define TK_COLLECTOR_ANALYZE_H

#include <stdint.h>
#include <stdio.h>

#include "agg/hist.h"
#include "analyze/timing.h"

/* Limits of a spec. */
#define ANALYZE_MAX_INTERVALS 64
#define ANALYZE_MAX_TOTALS 32
#define ANALYZE_MAX_PATHS 64      /* over all totals */
#define ANALYZE_MAX_CONDITIONS 64 /* `has`/`lacks` conditions over all paths */
#define ANALYZE_MAX_NAME 64       /* names of intervals, totals, paths, remainders */

/* Limits of an analysis (past them points are still counted, see analyze_counts). */
#define ANALYZE_MAX_LABELS 4096   /* distinct labels */
#define ANALYZE_MAX_PAIRS 1024    /* distinct `A -> B` pairs in the default mode */
#define ANALYZE_MAX_FIELDS 256    /* distinct `*_ns` field names */
#define ANALYZE_MAX_TIMELINE 100000 /* points of a --command timeline */

#define ANALYZE_DEFAULT_IDLE_NS 60000000000ULL /* 60 s of log time */
#define ANALYZE_DEFAULT_MAX_OPEN 100000        /* open sequences */
#define ANALYZE_DEFAULT_MAX_REPORTED 5         /* malformed lines reported one by one */

typedef struct analyze_spec analyze_spec;
typedef struct analyze analyze;

/* Parses a spec from text (len bytes; need not be NUL-terminated). `name` names it in errors.
 * Returns 0 and *out, or -1 with "name:line: message" in err (errlen bytes), or -2 when out of
 * memory. */
int analyze_spec_parse(const char *text, size_t len, const char *name, analyze_spec **out,
                       char *err, size_t errlen);
/* Reads and parses the spec file at path. Returns 0, -1 for a bad spec (err: "path:line: ..."),
 * -2 when out of memory, -3 when the file can't be read (err: "path: strerror"). */
int analyze_spec_load(const char *path, analyze_spec **out, char *err, size_t errlen);
void analyze_spec_free(analyze_spec *s);

typedef enum analyze_format { ANALYZE_TABLE = 0, ANALYZE_JSON = 1, ANALYZE_CSV = 2 } analyze_format;

typedef struct analyze_options {
    const analyze_spec *spec; /* NULL: the default mode (time between consecutive points) */
    uint64_t idle_ns;         /* a sequence not seen for this long (log time) is evicted; 0: default */
    size_t max_open;          /* at most this many open sequences (oldest evicted); 0: default */
    int timeline;             /* nonzero: keep the timeline of command `command` (default mode only) */
    uint64_t command;
    FILE *diag;               /* malformed lines are reported here, the first max_reported of them;
                                 NULL: not reported */
    const char *diag_prefix;  /* printed before each report, e.g. "timekeeper analyze: " */
    unsigned max_reported;    /* 0: ANALYZE_DEFAULT_MAX_REPORTED */
} analyze_options;

/* Everything counted. "Sequence": the state kept for one correlation id (see docs/analyze.md). */
typedef struct analyze_counts {
    uint64_t lines;          /* lines read */
    uint64_t points;         /* well-formed TIMING lines and points from rings */
    uint64_t other;          /* lines that are not TIMING lines (skipped) */
    uint64_t malformed;      /* malformed TIMING lines (too_long included) */
    uint64_t too_long;       /* TIMING lines longer than TIMING_MAX_LINE */
    uint64_t out_of_order;   /* points whose timestamp is before the previous one of their sequence */
    uint64_t negative;       /* intervals/totals/pairs whose end is before their start: not recorded */
    uint64_t repeated_starts;   /* a start seen again before its end in one sequence (repeated id or
                                   lost end): the earlier start is dropped */
    uint64_t unmatched_ends;    /* an interval's or total's end with no open start */
    uint64_t unmatched_starts;  /* intervals started and never ended (at eviction or the end) */
    uint64_t unfinished;        /* totals started and never ended (at eviction or the end) */
    uint64_t evicted;           /* sequences dropped for being idle or over max_open */
    uint64_t evicted_over_cap;  /* ... of which because max_open was reached */
    uint64_t adopted;           /* unknown-command runs joined to the next known command */
    uint64_t negative_remainders; /* totals whose components add up to more than the total */
    uint64_t bad_ns_fields;     /* `*_ns=` fields whose value is not an unsigned integer */
    uint64_t labels_dropped;    /* points ignored: more than ANALYZE_MAX_LABELS distinct labels */
    uint64_t pairs_dropped;     /* default-mode pairs ignored: more than ANALYZE_MAX_PAIRS */
    uint64_t fields_dropped;    /* fields ignored: more than ANALYZE_MAX_FIELDS names */
    uint64_t timeline_dropped;  /* timeline points past ANALYZE_MAX_TIMELINE */
    uint64_t no_memory;         /* values not recorded for lack of memory */
    uint64_t max_open_seen;     /* the most sequences open at once */
} analyze_counts;

/* Creates an analyzer. Returns 0, or -2 when out of memory. The spec must outlive it. */
int analyze_new(const analyze_options *opts, analyze **out);
void analyze_free(analyze *a);

/* Starts a new input named `name` (kept by pointer, used in reports): line numbers restart at 1.
 * Sequences carry over from one input to the next. */
void analyze_source(analyze *a, const char *name);
/* Feeds the next len bytes of the current input; lines may be split across calls. A line longer
 * than TIMING_MAX_LINE is never buffered whole. Can't fail. */
void analyze_feed(analyze *a, const char *data, size_t len);
/* Ends the current input: a last line without a line break is processed. */
void analyze_source_end(analyze *a);
/* Processes one line (without its line break). Returns what timing_parse_line() found. */
timing_status analyze_line(analyze *a, const char *line, size_t len);
/* Processes one point (e.g. from the collector's rings). */
void analyze_point(analyze *a, const timing_point *p);
/* Ends the analysis: sequences still open are counted (unfinished, unmatched_starts). Call once,
 * before analyze_write(). */
void analyze_finish(analyze *a);

/* Writes the results: the timeline when opts->timeline, else the statistics. Returns 0, or -1 when
 * writing failed (ferror(out)). */
int analyze_write(const analyze *a, analyze_format format, FILE *out);

/* ---- results, for tests and other sinks -------------------------------------------------------- */
const analyze_counts *analyze_get_counts(const analyze *a);
/* Every occurrence of interval `name`. Returns 0, or -1 when there is no such interval. */
int analyze_interval_stats(const analyze *a, const char *name, hist_summary *out);
/* Durations of total `total` on path `path` (NULL: all its sequences; "other": those no path
 * matched). Returns 0 or -1. */
int analyze_total_stats(const analyze *a, const char *total, const char *path, hist_summary *out);
/* Per-sequence sum of one component of `total` (or its remainder, by the remainder's name) on
 * `path` (NULL: all), 0 for sequences where it did not occur; *seen (may be NULL): in how many
 * sequences it occurred. Returns 0 or -1. */
int analyze_part_stats(const analyze *a, const char *total, const char *path, const char *part,
                       hist_summary *out, uint64_t *seen);
/* Default mode: time between consecutive points labeled from -> to. Returns 0 or -1. */
int analyze_pair_stats(const analyze *a, const char *from, const char *to, hist_summary *out);
/* A `*_ns` context field: statistics and exact sum (saturating at UINT64_MAX). Returns 0 or -1. */
int analyze_field_stats(const analyze *a, const char *field, hist_summary *out, uint64_t *sum);
/* The timeline: number of points kept. */
size_t analyze_timeline_length(const analyze *a);

#endif
