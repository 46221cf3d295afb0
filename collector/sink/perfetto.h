/* sink/perfetto.h — a streaming writer of Perfetto's native protobuf trace (a sequence of
 * TracePacket: track descriptors, interned names, TrackEvent slices, instants, counters, flows).
 * It takes plain values, so a recording reader and a live consumer can both drive it. Memory is
 * bounded by the number of tracks and names, never by the number of events. Not thread-safe. */
#ifndef TK_SINK_PERFETTO_H
#define TK_SINK_PERFETTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tk_perfetto tk_perfetto;

#define TK_PERFETTO_NONE UINT64_MAX /* an absent origin, correlation id, ... */

/* Counter units (Perfetto's CounterDescriptor.Unit). */
enum { TK_PERFETTO_UNIT_NONE = 0, TK_PERFETTO_UNIT_NS = 1, TK_PERFETTO_UNIT_COUNT = 2,
       TK_PERFETTO_UNIT_BYTES = 3 };

/* Starts a trace written to out (which the caller closes after tk_perfetto_close). flows: link
 * each span that carries an origin to an instant at the origin with a flow arrow. Returns 0 or
 * -ENOMEM. */
int tk_perfetto_open(FILE *out, int flows, tk_perfetto **w);
/* Flushes and frees w. Returns 0, or a negative errno when any write failed (-ENOMEM when memory
 * ran out on the way: the trace is then incomplete). */
int tk_perfetto_close(tk_perfetto *w);

/* Interns an event name: returns its id (>= 1) for the calls below, 0 when out of memory. The
 * name is written once, now. Interning the same string twice gives two ids (callers intern each
 * name of their own table once). */
uint64_t tk_perfetto_intern(tk_perfetto *w, const char *name);

/* Declares a process track (pid, name, command line). Returns its track uuid (>= 1), 0 when out
 * of memory. */
uint64_t tk_perfetto_process(tk_perfetto *w, int pid, const char *name, const char *cmdline);
/* Declares the track of a thread of process track proc. Returns its uuid, 0 when out of memory
 * or when proc is not a process track. */
uint64_t tk_perfetto_thread(tk_perfetto *w, uint64_t proc, int tid, const char *name);
/* Declares a counter track under parent (a process or thread track) with a name and a unit.
 * Returns its uuid, 0 on failure. */
uint64_t tk_perfetto_counter_track(tk_perfetto *w, uint64_t parent, const char *name, int unit);

/* A span on a thread track: a slice [start_ns, start_ns + dur_ns] named name_iid. Spans of one
 * thread that nest are shown nested; a span that overlaps an earlier one without nesting goes to
 * an extra lane under the thread ("<thread> (overlap N)", up to 3). With flows on and
 * origin_ns <= start_ns (origin_ns TK_PERFETTO_NONE: none), an instant "origin" on the process
 * track at origin_ns starts a flow that ends at the slice. Returns 0, -EINVAL for an unknown
 * thread track. Cost: two packets (three with a flow), about 40 bytes with ns timestamps of a
 * running machine. */
int tk_perfetto_slice(tk_perfetto *w, uint64_t thread, uint64_t name_iid, uint64_t start_ns,
                      uint64_t dur_ns, uint64_t origin_ns);
/* A labeled point: an instant on a track, with the correlation ids that are not
 * TK_PERFETTO_NONE and the context (len bytes, NULL: none) as debug annotations. */
int tk_perfetto_instant(tk_perfetto *w, uint64_t track, uint64_t name_iid, uint64_t ts_ns,
                        uint64_t client, uint64_t command, uint64_t session, const char *context,
                        size_t context_len);
/* A counter value on a counter track. */
int tk_perfetto_counter_int(tk_perfetto *w, uint64_t track, uint64_t ts_ns, int64_t value);
int tk_perfetto_counter_double(tk_perfetto *w, uint64_t track, uint64_t ts_ns, double value);

/* Bytes written so far (flushed or buffered). */
uint64_t tk_perfetto_bytes(const tk_perfetto *w);

#endif
