/* sink/sqlite/recdb.h — the SQLite recording writer: the tables of docs/recording-schema.md,
 * filled from plain values in batched transactions (WAL), with bounded memory. The recorder sink
 * (sink/sqlite/record-sink.c) feeds it from the collector's events and windows. */
#ifndef TK_RECDB_H
#define TK_RECDB_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"

#define TK_RECDB_SCHEMA_VERSION 1
#define TK_RECDB_NONE UINT64_MAX  /* an absent value: written as NULL */
#define TK_RECDB_BLOCK_SPANS 1024 /* spans per span_blocks row at most */

typedef struct tk_recdb tk_recdb;

typedef struct tk_recdb_options {
    uint32_t batch_rows;  /* a commit after this many rows at the latest; 0: 65536 */
    int overwrite;        /* nonzero: replace an existing file; else an existing file is -EEXIST */
    const char *version;  /* the recorder's version for meta; NULL: none */
} tk_recdb_options;

/* Creates the recording at path with the whole schema (WAL mode). Returns 0, -EEXIST (the file
 * exists and overwrite is 0), -ENOSPC (disk full), -EIO (another SQLite failure: see
 * tk_recdb_error). *out is set even on failure (to read the error), or NULL when out of memory
 * (-ENOMEM); close it with tk_recdb_close. */
int tk_recdb_open(const char *path, const tk_recdb_options *o, tk_recdb **out);

/* The text of the first error, "" when none. Can't fail. */
const char *tk_recdb_error(const tk_recdb *db);

/* Commits the open batch, flushing partial span blocks first, so that everything written so far
 * is in the file. Call it periodically (the recorder does every 250 ms). Returns 0 or the first
 * error (-ENOSPC on a full disk; the open batch is rolled back and every later call fails with
 * the same code: the file holds every earlier commit). */
int tk_recdb_commit(tk_recdb *db);

/* Commits, writes meta.stop_reason (and closed_real_ns unless the recording failed), checkpoints
 * and closes. NULL is allowed. Returns 0 or the first error met during the recording or now. */
int tk_recdb_close(tk_recdb *db, const char *stop_reason);

/* ---- the rows ----------------------------------------------------------------------------------
 * Every function returns 0 or the recording's error (then nothing more is written). Ids are the
 * file's row ids; 0 stands for NULL where a reference may be absent. Not thread-safe: one writer. */

typedef struct tk_recdb_process {
    int pid;
    const char *name, *cmdline, *segment;
    int clock_source;
    uint64_t start_real_ns, start_mono_ns;
    int64_t real_minus_mono_ns;
} tk_recdb_process;

int tk_recdb_add_process(tk_recdb *db, const tk_recdb_process *p, int64_t *id);
/* exit_kind: "running", "normal" or "killed"; exit_mono_ns TK_RECDB_NONE: none. */
int tk_recdb_update_process(tk_recdb *db, int64_t id, const char *exit_kind, uint64_t exit_mono_ns,
                            uint64_t records, uint64_t dropped_no_ring);
int tk_recdb_add_thread(tk_recdb *db, int64_t process, uint32_t ring, uint32_t tid,
                        const char *name, int64_t *id);
/* kind: "timer", "label", "counter", "gauge", "task", "component", "stage". */
int tk_recdb_add_name(tk_recdb *db, int64_t process, uint32_t name_id, const char *kind,
                      const char *name, int64_t *id);

/* A raw span of thread (threads.id) and timer (names.id); lat_ns TK_RECDB_NONE: no origin.
 * Appended to the thread's open block (encoding 1); a block is written when full or at a commit.
 * Cost: a varint encoding into memory, ~10-20 ns. */
int tk_recdb_span(tk_recdb *db, int64_t thread, int64_t timer, uint64_t start_ns, uint64_t dur_ns,
                  uint64_t lat_ns);
/* A labeled point; ids TK_RECDB_NONE are unknown; ctx may be NULL (no context). */
int tk_recdb_point(tk_recdb *db, int64_t thread, int64_t label, uint64_t ns, uint64_t client,
                   uint64_t command, uint64_t session, const char *ctx, size_t ctx_len);
/* A change of a loss count; reason: "overwritten", "lapped", "no_ring", "no_space", "names_full". */
int tk_recdb_loss(tk_recdb *db, int64_t process, int64_t name, int64_t thread, const char *reason,
                  int64_t count);

/* One call of a component's callback (callback: a name of tkc_component_callback_name). The
 * component's event calls of one (thread, sequence) before the __ALL__ event call of the same
 * event number belong to that event; the __ALL__ call writes the events row. */
typedef struct tk_recdb_call {
    int64_t thread, component;
    int is_all;             /* the component is __ALL__ */
    unsigned sequence;
    const char *callback;
    int is_event;           /* callback is "event" */
    uint64_t arg, start_ns, dur_ns;
    int status;             /* 0, or 1: returned nonzero (an aborted event) */
} tk_recdb_call;
int tk_recdb_add_call(tk_recdb *db, const tk_recdb_call *c);

/* A window: window "interval" or "total". */
int tk_recdb_add_interval(tk_recdb *db, const char *window, uint64_t start_mono_ns,
                          uint64_t end_mono_ns, uint64_t start_real_ns, double seconds,
                          int64_t *id);
/* The statistics of one timer's histogram of kind ("processing" or "latency") in a window; an
 * empty histogram writes nothing. */
int tk_recdb_add_stat(tk_recdb *db, int64_t interval, int64_t timer, const char *kind,
                      const hist *h, uint64_t lost);

/* A counter's (names.id) total and its delta over window interval, read at ns. */
int tk_recdb_counter(tk_recdb *db, int64_t interval, int64_t name, uint64_t ns, uint64_t total,
                     uint64_t delta);
/* A gauge's or stage's (names.id) value at the end of window interval, read at ns. */
int tk_recdb_gauge(tk_recdb *db, int64_t interval, int64_t name, uint64_t ns, int64_t value);
/* The resources of process (processes.id) over window interval (core/procstat.h's rates);
 * counts TK_RECDB_NONE are written as NULL (the /proc file was not readable). */
typedef struct tk_recdb_res {
    double seconds, cpu_pct, user_pct, sys_pct;
    uint64_t rss_bytes;
    uint32_t threads, cores;
    uint64_t voluntary_cs, involuntary_cs, read_bytes, write_bytes;
} tk_recdb_res;
int tk_recdb_resources(tk_recdb *db, int64_t interval, int64_t process, const tk_recdb_res *v);

/* Rows written so far (span rows count one per span), and the bytes of the file and its WAL. */
uint64_t tk_recdb_rows(const tk_recdb *db);
/* Rows in the file as of the last successful commit. */
uint64_t tk_recdb_rows_committed(const tk_recdb *db);
uint64_t tk_recdb_file_bytes(const tk_recdb *db);

/* Histogram encoding 1 (docs/recording-schema.md) — private to the recorder until agg/hist.h has
 * its own: the bytes of h into buf (grown with realloc). Returns the length, or 0 when out of
 * memory. */
size_t tk_recdb_hist_encode(const hist *h, uint8_t **buf, size_t *cap);

#endif
