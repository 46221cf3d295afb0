/* sink/sink.h — the one interface of every output. A sink is one file (sink/<name>.c) that fills
 * a tk_sink_ops: any of an event consumer (raw outputs: a recorder, a trace writer), a window
 * writer (the statistics of an interval or of the totals: tables, JSON, CSV, /metrics, OTLP) and
 * an analysis writer (what `analyze` found). The driver or the command calls what it has. */
#ifndef TK_SINK_H
#define TK_SINK_H

#include <stdio.h>

#include "agg/window.h"
#include "core/events.h"

struct analyze; /* analyze/analyze.h */

/* One window of statistics, as the aggregator holds it. */
typedef struct tk_window_view {
    const tka_agg *agg;
    tka_window window;   /* TKA_INTERVAL or TKA_TOTAL */
    double seconds;      /* the window's length (rates are counts over it) */
    uint64_t overhead_ns;/* clock-read cost subtracted from processing times (0: none) */
    double now_real_s;   /* when it was taken, CLOCK_REALTIME seconds */
    uint64_t now_mono_ns;
} tk_window_view;

typedef struct tk_sink tk_sink;

typedef struct tk_sink_ops {
    const char *name;                                   /* "table", "json", "csv", ... */
    /* Writes a window. Returns 0, or a negative errno (the command reports it and stops). */
    int (*window)(tk_sink *s, const tk_window_view *v);
    /* Writes an analysis (analyze/analyze.h). Returns 0 or a negative errno. */
    int (*analysis)(tk_sink *s, const struct analyze *a);
    /* The sink's event consumer, NULL: it takes no raw events. */
    const tkc_consumer *(*consumer)(tk_sink *s);
    /* Flushes and frees the sink's state (not the tk_sink). Returns 0 or a negative errno. */
    int (*close)(tk_sink *s);
} tk_sink_ops;

struct tk_sink {
    const tk_sink_ops *ops;
    FILE *out;      /* where text sinks write */
    void *state;    /* the sink's own */
    int flags;      /* TK_SINK_* */
};

enum { TK_SINK_TOTAL_ONLY = 1 };

/* The text sinks of `report` and `analyze`: sink/table.c, sink/json.c, sink/csv.c. */
extern const tk_sink_ops tk_sink_table, tk_sink_json, tk_sink_csv;

/* Finds a sink by name among the built-in text sinks; NULL when unknown. */
const tk_sink_ops *tk_sink_find(const char *name);
/* Opens s with ops writing to out. Returns 0 or a negative errno. */
int tk_sink_open(tk_sink *s, const tk_sink_ops *ops, FILE *out);
/* Helpers that call the ops when present; each returns 0 when the sink lacks the op. */
int tk_sink_window(tk_sink *s, const tk_window_view *v);
int tk_sink_analysis(tk_sink *s, const struct analyze *a);
int tk_sink_close(tk_sink *s);

#endif
