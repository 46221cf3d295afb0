/* sink/export/recording-read.h — a reader of recordings (docs/recording-schema.md, schema 1) for
 * `export` and `diff`: rows are streamed to callbacks, raw span blocks are decoded and checked.
 * A recording is untrusted input: a malformed row or blob is an error, never a crash. One reader
 * per thread. Built when libsqlite3 is found (TK_HAVE_RECORDING_READ). */
#ifndef TK_RECORDING_READ_H
#define TK_RECORDING_READ_H

#include <stddef.h>
#include <stdint.h>

#define TK_REC_NONE UINT64_MAX /* SQL NULL: unknown or absent */

typedef struct tk_rec tk_rec;

typedef struct tk_rec_process {
    int64_t id;
    int pid;
    const char *name, *cmdline;
    int64_t real_minus_mono_ns; /* wall time = CLOCK_MONOTONIC instant + this */
} tk_rec_process;

typedef struct tk_rec_thread {
    int64_t id, process;
    int ring, tid;
    const char *name;
} tk_rec_thread;

typedef struct tk_rec_name {
    int64_t id, process;
    const char *kind; /* timer, label, counter, gauge, task, component, stage */
    const char *name;
} tk_rec_name;

typedef struct tk_rec_span {
    int64_t thread, timer;  /* threads.id, names.id */
    uint64_t start_ns, dur_ns;
    uint64_t lat_ns;        /* TK_REC_NONE: no origin */
} tk_rec_span;

typedef struct tk_rec_point {
    int64_t label, thread;
    uint64_t ns, client, command, session;
    const char *context;    /* NULL: none */
    size_t context_len;
} tk_rec_point;

typedef struct tk_rec_sample {
    int64_t name, thread;   /* thread: -1 when NULL */
    uint64_t ns;
    double value;
    int gauge;              /* 0: a counter's total, 1: a gauge */
    int64_t interval;       /* intervals.id of the window (tk_rec_window_samples); else -1 */
    double delta;           /* a counter's change during the window (0 for a gauge) */
} tk_rec_sample;

/* One stats row (one window, timer and kind). */
typedef struct tk_rec_stat {
    int64_t interval, timer;
    int total;              /* the window is `total` (else `interval`) */
    int latency;            /* kind is latency (else processing) */
    uint64_t count, min_ns, max_ns, clamped, lost;
    double avg_ns;
    const void *hist;       /* the encoded histogram (encoding 1), valid during the callback */
    size_t hist_len;
} tk_rec_stat;

typedef struct tk_rec_interval {
    int64_t id;
    int total;              /* the `total` window */
    uint64_t start_mono_ns, end_mono_ns;
} tk_rec_interval;

/* One process's resources over one `interval` window (the resources table). */
typedef struct tk_rec_resource {
    int64_t interval, process;
    double user_s, sys_s;   /* CPU time spent in the window: user_pct / 100 x seconds */
    int64_t rss_bytes, threads; /* as of the window's end; -1: not sampled */
} tk_rec_resource;

typedef struct tk_rec_call {
    int64_t component;      /* names.id */
    const char *callback;
    uint64_t start_ns, dur_ns;
    int status;
} tk_rec_call;

/* Opens path read-only and checks meta.schema_version (1). Returns 0, -ENOENT when there is no
 * such file, -EINVAL when it is not a recording of a known schema (tk_rec_error says why) — *r is
 * then still set so the message can be read, and must be closed — or -ENOMEM. */
int tk_rec_open(const char *path, tk_rec **r);
void tk_rec_close(tk_rec *r);
/* The last error as text ("" when none). */
const char *tk_rec_error(const tk_rec *r);

/* Each function streams rows to fn, which returns 0 to go on and anything else to stop (that
 * value is returned). Each returns 0 when every row was delivered, or -EINVAL for a malformed row
 * or an SQLite error (tk_rec_error says which). Strings are valid during the callback only. */
int tk_rec_processes(tk_rec *r, int (*fn)(void *ctx, const tk_rec_process *p), void *ctx);
int tk_rec_threads(tk_rec *r, int (*fn)(void *ctx, const tk_rec_thread *t), void *ctx);
int tk_rec_names(tk_rec *r, int (*fn)(void *ctx, const tk_rec_name *n), void *ctx);
/* Raw spans (recordings made with --raw), block by block in file order: n spans of one thread. */
int tk_rec_spans(tk_rec *r, int (*fn)(void *ctx, const tk_rec_span *s, size_t n), void *ctx);
int tk_rec_points(tk_rec *r, int (*fn)(void *ctx, const tk_rec_point *p), void *ctx);
/* Counter totals and gauge values, counters first, each in file order. */
int tk_rec_samples(tk_rec *r, int (*fn)(void *ctx, const tk_rec_sample *s), void *ctx);
/* The same with each row's window and a counter's delta in it (interval, delta). */
int tk_rec_window_samples(tk_rec *r, int (*fn)(void *ctx, const tk_rec_sample *s), void *ctx);
int tk_rec_stats(tk_rec *r, int (*fn)(void *ctx, const tk_rec_stat *s), void *ctx);
/* Component callback calls, in the order they ran. */
int tk_rec_calls(tk_rec *r, int (*fn)(void *ctx, const tk_rec_call *c), void *ctx);
/* Resource samples of the `interval` windows, ordered by window and process. */
int tk_rec_resources(tk_rec *r, int (*fn)(void *ctx, const tk_rec_resource *x), void *ctx);
/* Reporting windows, in file order. */
int tk_rec_intervals(tk_rec *r, int (*fn)(void *ctx, const tk_rec_interval *i), void *ctx);
/* Number of rows of a table of the schema (a fixed list of names), -1 on error. */
int64_t tk_rec_count(tk_rec *r, const char *table);

/* Decodes n spans of span encoding 1 from [data, data + len). Returns 0, or -EINVAL when the blob
 * is truncated, longer than n spans, or a start time leaves 0..2^63. Can't read out of bounds. */
int tk_rec_decode_spans(const void *data, size_t len, size_t n, int64_t thread,
                        uint64_t first_start_ns, tk_rec_span *out);

#endif
