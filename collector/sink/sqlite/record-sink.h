/* sink/sqlite/record-sink.h — the SQLite recorder as a sink (sink/sink.h): a consumer of the
 * core's events (processes, threads, names, raw spans and points with `raw`, losses, component
 * calls) and a window writer (per-interval statistics with their histograms), into a recording
 * of docs/recording-schema.md through sink/sqlite/recdb.h. */
#ifndef TK_RECORD_SINK_H
#define TK_RECORD_SINK_H

#include <stdint.h>

#include "sink/sink.h"

typedef struct tk_record_options {
    int raw;            /* nonzero: every span and point too (span_blocks, points) */
    int overwrite;      /* nonzero: replace an existing file */
    const char *version;/* for meta.timekeeper_version */
} tk_record_options;

extern const tk_sink_ops tk_sink_sqlite;

/* Opens a recording at path as sink s. Returns 0, or a negative errno with the reason in
 * tk_record_error(s) (-EEXIST: the file exists; -ENOSPC: disk full); close s in every case. */
int tk_record_open(tk_sink *s, const char *path, const tk_record_options *o);
/* Commits what was written (call it every ~250 ms and after each window). Returns 0 or the
 * recording's first error (events that arrive after an error are dropped). */
int tk_record_commit(tk_sink *s);
/* The first error of the recording (0: none) and its text. */
int tk_record_status(const tk_sink *s);
const char *tk_record_error(const tk_sink *s);
/* Rows written so far (a span counts one) and the bytes of the file with its WAL. */
uint64_t tk_record_rows(const tk_sink *s);
uint64_t tk_record_rows_committed(const tk_sink *s);
uint64_t tk_record_file_bytes(const tk_sink *s);
/* Processes seen, and component calls / raw spans / points written. */
typedef struct tk_record_counts {
    uint64_t processes, spans, points, calls, events, windows;
} tk_record_counts;
void tk_record_counts_get(const tk_sink *s, tk_record_counts *out);
/* Sets meta.stop_reason at close (copied; default "finished"). */
void tk_record_set_stop_reason(tk_sink *s, const char *reason);

#endif
