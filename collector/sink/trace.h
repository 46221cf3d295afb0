/* sink/trace.h — live trace export: an event consumer (core/events.h) that writes what the core
 * reads as a Perfetto protobuf trace, Trace Event JSON or CSV through sink/perfetto.h and
 * sink/chrome.h, with program counters, gauges and stages as counter tracks (a sample when the
 * value changes). Memory: a little per process, thread and name, never per event. One thread. */
#ifndef TK_SINK_TRACE_H
#define TK_SINK_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "core/events.h"

typedef enum { TK_TRACE_PERFETTO = 0, TK_TRACE_CHROME = 1, TK_TRACE_CSV = 2 } tk_trace_format;

typedef struct tk_trace tk_trace;

/* Starts a trace on out (closed by the caller after tk_trace_close). flows: Perfetto flow arrows
 * from origins. Returns 0 or -ENOMEM. */
int tk_trace_open(FILE *out, tk_trace_format format, int flows, tk_trace **t);
/* The consumer to pass to tkc_core_subscribe() (valid until tk_trace_close). */
const tkc_consumer *tk_trace_consumer(tk_trace *t);
/* Spans, points and lost records seen so far. */
void tk_trace_counts(const tk_trace *t, uint64_t *spans, uint64_t *points, uint64_t *lost);
/* Counter samples written so far (program counters, gauges and stages, one per change). */
uint64_t tk_trace_samples(const tk_trace *t);
/* Ends the document, flushes and frees t. Returns 0 or a negative errno of a failed write. */
int tk_trace_close(tk_trace *t);

/* The CSV header line that tk_trace and `export --format csv` write. */
#define TK_TRACE_CSV_HEADER "kind,pid,tid,name,ns,dur_ns,latency_ns,client,command,session,context,value\n"

#endif
