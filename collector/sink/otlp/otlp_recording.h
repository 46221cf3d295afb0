/* sink/otlp/otlp_recording.h — a recording (docs/recording-schema.md) pushed to OTLP: every
 * `interval` window of its `stats`, `counters` and `gauges` as one metrics push per process, with
 * the window's own wall-clock times. Built with libcurl and libsqlite3 (TK_HAVE_RECORDING_READ). */
#ifndef TK_OTLP_RECORDING_H
#define TK_OTLP_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "sink/export/recording-read.h"
#include "sink/otlp/otlp.h"

typedef struct tk_otlp_rec_options {
    const char *timer_glob;  /* only timers matching this fnmatch(3) pattern; NULL: all */
    int pid;                 /* only this process; 0: all */
    tk_otlp_temporality temporality; /* as configured in x (0: delta) */
    size_t queue_max;        /* the exporter's queue bound (0: 64): pushes wait for room */
    uint64_t wait_ns;        /* how long to wait for room before pushing anyway (0: 10 s) */
} tk_otlp_rec_options;

typedef struct tk_otlp_rec_counts {
    uint64_t windows;        /* interval windows read */
    uint64_t pushes;         /* process windows pushed */
    uint64_t points;         /* histogram data points pushed */
    uint64_t count[2];       /* records in those histograms: processing, latency */
} tk_otlp_rec_counts;

/* Reads r and pushes it through x: per window and process, an exponential histogram of each
 * timer's processing and latency, its lost records as a sum, counters as monotonic sums (their
 * window delta, or their total when cumulative) and gauges as gauges; cumulative histograms add
 * up the windows so far. Timestamps are the window's start and end in Unix ns (start: the first
 * window's with cumulative temporality). Waits for room in the exporter's queue rather than
 * overflowing it. Returns 0, -ENOMEM, -EINVAL for a malformed recording (err says why), or
 * -EAGAIN when the queue refused a request (counted by the exporter). Not thread-safe on x. */
int tk_otlp_push_recording(tk_otlp *x, tk_rec *r, const tk_otlp_rec_options *o,
                           tk_otlp_rec_counts *out, char *err, size_t errlen);

#endif
