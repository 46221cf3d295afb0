/* sink/chrome.h — a streaming writer of the Trace Event JSON format (the JSON that Chrome's
 * about:tracing, Perfetto's legacy importer and many tools read): complete events ("ph":"X")
 * with µs ts/dur, instants, counters, process_name/thread_name metadata. Takes plain values;
 * memory is constant. Not thread-safe. */
#ifndef TK_SINK_CHROME_H
#define TK_SINK_CHROME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tk_chrome tk_chrome;

#define TK_CHROME_NONE UINT64_MAX /* an absent latency or correlation id */

/* Starts a trace on out (closed by the caller after tk_chrome_close). Returns 0 or -ENOMEM. */
int tk_chrome_open(FILE *out, tk_chrome **w);
/* Ends the JSON document, flushes and frees w. Returns 0 or a negative errno when a write
 * failed. */
int tk_chrome_close(tk_chrome *w);

/* Metadata events naming a process and a thread. Return 0 (errors show at close). */
int tk_chrome_process(tk_chrome *w, int pid, const char *name);
int tk_chrome_thread(tk_chrome *w, int pid, int tid, const char *name);
/* A span as a complete event: ts = start, dur, both in µs with ns digits; lat_ns (start minus
 * origin, TK_CHROME_NONE: none) as args.latency_ns. */
int tk_chrome_span(tk_chrome *w, int pid, int tid, const char *name, uint64_t start_ns,
                   uint64_t dur_ns, uint64_t lat_ns);
/* A labeled point as a thread-scoped instant with its correlation ids and context as args. */
int tk_chrome_instant(tk_chrome *w, int pid, int tid, const char *name, uint64_t ts_ns,
                      uint64_t client, uint64_t command, uint64_t session, const char *context,
                      size_t context_len);
/* A counter or gauge value ("ph":"C"). */
int tk_chrome_counter(tk_chrome *w, int pid, const char *name, uint64_t ts_ns, double value);

#endif
