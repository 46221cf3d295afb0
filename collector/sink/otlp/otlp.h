/* sink/otlp/otlp.h — OTLP/HTTP export: the message model (plain C values), its protobuf and JSON
 * encoders, the conversion of our histograms to exponential histograms, and the exporter that
 * delivers requests from a bounded queue on a sender thread. */
#ifndef TK_OTLP_H
#define TK_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"

/* ---- the message model -------------------------------------------------------------------------- */

typedef enum { TK_OTLP_PROTOBUF = 0, TK_OTLP_JSON = 1 } tk_otlp_encoding;
typedef enum { TK_OTLP_DELTA = 1, TK_OTLP_CUMULATIVE = 2 } tk_otlp_temporality; /* OTLP's values */
typedef enum { TK_OTLP_METRICS = 0, TK_OTLP_TRACES = 1, TK_OTLP_SIGNALS = 2 } tk_otlp_signal;

/* An attribute: a string or an integer value. */
typedef struct tk_otlp_attr {
    const char *key;
    const char *str; /* NULL: the value is ival */
    int64_t ival;
} tk_otlp_attr;

/* The positive buckets of an exponential histogram: counts[i] holds the values in
 * (base^(offset+i), base^(offset+i+1)] with base = 2^(2^-scale). */
typedef struct tk_otlp_expo {
    int32_t scale;
    int32_t offset;
    uint64_t *counts;   /* owned: tk_otlp_expo_free() */
    size_t n;
    uint64_t count;     /* zero_count + sum of counts */
    uint64_t zero_count;
    double sum, min, max;
} tk_otlp_expo;

typedef enum { TK_OTLP_EXPO_HIST = 0, TK_OTLP_SUM = 1, TK_OTLP_GAUGE = 2 } tk_otlp_metric_kind;

/* One metric with one data point. */
typedef struct tk_otlp_metric {
    const char *name;
    const char *description; /* NULL: none */
    const char *unit;        /* "ns", "1", ... */
    tk_otlp_metric_kind kind;
    const tk_otlp_attr *attrs; /* of the data point */
    size_t nattrs;
    uint64_t start_unix_ns, time_unix_ns;
    const tk_otlp_expo *expo;  /* TK_OTLP_EXPO_HIST */
    int64_t ival;              /* TK_OTLP_SUM (monotonic) and TK_OTLP_GAUGE with is_double 0 */
    double dval;
    int is_double;
} tk_otlp_metric;

/* One span. Ids are raw bytes (hex in JSON). */
typedef struct tk_otlp_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    const char *name;
    uint64_t start_unix_ns, end_unix_ns;
    const tk_otlp_attr *attrs;
    size_t nattrs;
} tk_otlp_span;

/* Who sent the data: the resource's attributes and the instrumentation scope. */
typedef struct tk_otlp_resource {
    const tk_otlp_attr *attrs;
    size_t nattrs;
    const char *scope_name, *scope_version;
} tk_otlp_resource;

/* A growable byte buffer (the encoders' output). */
typedef struct tk_otlp_buf {
    uint8_t *data;
    size_t len, cap;
    int oom; /* an allocation failed: data is incomplete */
} tk_otlp_buf;

void tk_otlp_buf_free(tk_otlp_buf *b);

/* ---- encoders ----------------------------------------------------------------------------------- */

/* Appends an ExportMetricsServiceRequest with one ResourceMetrics (res) and one ScopeMetrics
 * holding metrics m[0..n) to out (cleared first). Histograms and sums carry temporality t.
 * Returns 0, or -ENOMEM. Thread-safe on distinct buffers. */
int tk_otlp_encode_metrics(tk_otlp_buf *out, tk_otlp_encoding enc, const tk_otlp_resource *res,
                           const tk_otlp_metric *m, size_t n, tk_otlp_temporality t);
/* The same for an ExportTraceServiceRequest of spans s[0..n). Returns 0 or -ENOMEM. */
int tk_otlp_encode_spans(tk_otlp_buf *out, tk_otlp_encoding enc, const tk_otlp_resource *res,
                         const tk_otlp_span *s, size_t n);

/* ---- exponential histograms --------------------------------------------------------------------- */

#define TK_OTLP_MAX_SCALE 8      /* 256 buckets per power of two: 0.27 % wide */
#define TK_OTLP_MAX_BUCKETS 160  /* the OpenTelemetry SDKs' default bucket budget */

/* Converts h to an exponential histogram at the largest scale <= max_scale whose buckets number
 * at most max_buckets (0: TK_OTLP_MAX_BUCKETS). Each of h's buckets goes whole into the
 * exponential bucket that holds its midpoint: counts are exact, a value moves by at most one of
 * h's buckets (1/1024 of itself). Returns 0, or -ENOMEM (out is then empty). */
int tk_otlp_expo_from_hist(const hist *h, int max_scale, size_t max_buckets, tk_otlp_expo *out);
/* The same for the sum of hs[0..n) (NULL entries are skipped), without merging them. */
int tk_otlp_expo_from_hists(const hist *const *hs, size_t n, int max_scale, size_t max_buckets,
                            tk_otlp_expo *out);
void tk_otlp_expo_free(tk_otlp_expo *e);
/* The exponential bucket index of value v > 0 at scale (-10..20). Can't fail. */
int32_t tk_otlp_expo_index(double v, int scale);

/* ---- configuration ------------------------------------------------------------------------------ */

/* Parses "k1=v1,k2=v2" (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES: values
 * percent-decoded, blanks around keys and values trimmed) and calls fn for each pair. Returns the
 * number of pairs, or -EINVAL at the first malformed pair (the pairs before it were passed). */
int tk_otlp_parse_pairs(const char *s, void (*fn)(void *ctx, const char *k, const char *v),
                        void *ctx);

/* ---- the exporter ------------------------------------------------------------------------------- */

typedef struct tk_otlp_exporter tk_otlp_exporter;

typedef struct tk_otlp_exporter_options {
    const char *endpoint;       /* base URL: /v1/metrics and /v1/traces are appended */
    const char *url[TK_OTLP_SIGNALS]; /* full URL per signal (overrides endpoint); NULL: derived */
    const char *headers;        /* "k=v,..." as OTEL_EXPORTER_OTLP_HEADERS */
    tk_otlp_encoding encoding;
    size_t queue_max;           /* requests queued or in flight; 0: 64 */
    uint64_t timeout_ns;        /* per request; 0: 10 s */
    uint64_t backoff_ns;        /* first retry delay without Retry-After; 0: 1 s */
    uint64_t backoff_max_ns;    /* 0: 30 s */
    uint64_t retry_max_ns;      /* give a request up this long after its first try; 0: 5 min */
} tk_otlp_exporter_options;

/* What the exporter did. Requests, except *_items (data points or spans). */
typedef struct tk_otlp_stats {
    uint64_t enqueued, enqueued_items;
    uint64_t sent, sent_items, sent_bytes;   /* answered 2xx */
    uint64_t retries;                         /* tries after a 429/502/503/504 or network error */
    uint64_t rejected, rejected_items;        /* answered 400, 413 or another non-retryable code */
    uint64_t expired, expired_items;          /* retried until retry_max_ns passed */
    uint64_t overflow, overflow_items;        /* refused by tk_otlp_exporter_enqueue: queue full */
    uint64_t unsent, unsent_items;            /* still queued when the exporter was freed */
    uint64_t queued;                          /* now, in-flight included */
    uint64_t send_ns;                         /* time spent in HTTP requests */
    long last_status;                         /* the last HTTP status, 0: none or network error */
} tk_otlp_stats;

/* Starts an exporter and its sender thread. Returns 0, -EINVAL (no endpoint, a bad header list),
 * -ENOTSUP (built without libcurl) or -ENOMEM. */
int tk_otlp_exporter_new(const tk_otlp_exporter_options *o, tk_otlp_exporter **out);
/* Queues one request body for signal sig, taking ownership of body (malloc'd) whatever the
 * outcome. items: data points or spans in it (for the counts). Never blocks on the network: it
 * takes one mutex held only for queue operations. Returns 0, or -EAGAIN when the queue is full
 * (the request is dropped and counted in overflow). Thread-safe. */
int tk_otlp_exporter_enqueue(tk_otlp_exporter *e, tk_otlp_signal sig, void *body, size_t len,
                             uint64_t items);
/* Waits until the queue is empty or timeout_ns passed (retries go on meanwhile). Returns 0, or
 * -ETIMEDOUT with requests still queued. Thread-safe. */
int tk_otlp_exporter_flush(tk_otlp_exporter *e, uint64_t timeout_ns);
/* Copies the counters. Thread-safe. */
void tk_otlp_exporter_stats(tk_otlp_exporter *e, tk_otlp_stats *out);
/* Stops the sender (an in-flight request is abandoned), counts what is still queued as unsent
 * into *final when final is not NULL, frees everything. Call tk_otlp_exporter_flush() first to
 * deliver. NULL is allowed. */
void tk_otlp_exporter_free(tk_otlp_exporter *e, tk_otlp_stats *final);

/* Whether a status asks for a retry (429, 502, 503, 504). Can't fail. */
int tk_otlp_status_retryable(long status);

/* ---- the export layer: processes and timers in, requests queued out ----------------------------- */

typedef struct tk_otlp_config {
    tk_otlp_exporter_options exp;
    const char *service;          /* service.name; NULL: OTEL_SERVICE_NAME, else the process name */
    const char *resource_attrs;   /* "k=v,..." added to every resource (OTEL_RESOURCE_ATTRIBUTES) */
    tk_otlp_temporality temporality; /* 0: delta */
    int max_scale;                /* 0: TK_OTLP_MAX_SCALE */
    size_t max_buckets;           /* 0: TK_OTLP_MAX_BUCKETS */
    size_t max_request_bytes;     /* a request is split above this; 0: TK_OTLP_MAX_REQUEST */
    double sample;                /* spans: the share of traces kept (0..1); 0: 1 */
    double span_rate;             /* spans: at most this many per second (token bucket); 0: none */
    size_t span_batch;            /* spans per request; 0: 512 */
} tk_otlp_config;

#define TK_OTLP_MAX_REQUEST (4u << 20) /* 4 MiB, gRPC's default message limit, taken by every receiver */

/* Fills the exporter part of c from OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES when set (the pointers point into the environment); options parsed
 * afterwards override them. Can't fail. */
void tk_otlp_config_from_env(tk_otlp_config *c);

/* One timer's histograms (ns) for the window to export; NULL: empty. */
typedef struct tk_otlp_timer_in {
    const char *name;
    const hist *h[2];  /* processing, latency */
    const hist *more[2]; /* added to h (cumulative: the totals, h the current interval); NULL: none */
    uint64_t lost;     /* records lost in the window (delta) or since start (cumulative) */
} tk_otlp_timer_in;

/* One program counter (a monotonic sum) or gauge (a stage is a gauge of 0 or 1), named as the
 * program named it. */
typedef struct tk_otlp_value_in {
    const char *name;
    int gauge;         /* 0: a counter, value is its delta (delta) or total (cumulative) */
    int64_t value;
} tk_otlp_value_in;

/* One process, its resource. */
typedef struct tk_otlp_proc_in {
    const char *name, *cmdline;
    int pid;
    uint64_t key;      /* unique per process for the export's life (spans' trace ids) */
    const tk_otlp_timer_in *timers;
    size_t ntimers;
    const tk_otlp_value_in *values; /* counters and gauges; NULL: none */
    size_t nvalues;
    const tk_otlp_metric *extra;    /* more metrics as they are (resources, tasks); a zero start
                                     * or time takes the window's; NULL: none */
    size_t nextra;
} tk_otlp_proc_in;

typedef struct tk_otlp tk_otlp;

/* Starts the export: copies c, starts the exporter. Returns 0 or what tk_otlp_exporter_new()
 * returns. */
int tk_otlp_new(const tk_otlp_config *c, tk_otlp **out);
/* Encodes the metrics of p for the window [start, end] (Unix ns) into requests of at most
 * max_request_bytes and queues them: per timer an exponential histogram of processing time and of
 * latency (when it has one) and a sum of lost records; per counter a monotonic sum, per gauge a
 * gauge (p->values), then p->extra. Returns 0, -ENOMEM, or -EAGAIN when the
 * queue refused a request (counted in the exporter's overflow). Not thread-safe (one caller). */
int tk_otlp_push_metrics(tk_otlp *x, const tk_otlp_proc_in *p, uint64_t start_unix_ns,
                         uint64_t end_unix_ns);
/* A process's resources as every push names them (OpenTelemetry's process metrics): CPU time in
 * user and system mode (sums, seconds; attribute cpu.mode, from a[0..2)), resident bytes and
 * threads (gauges), into m[0..4). Returns 4. Can't fail. */
int tk_otlp_resource_metrics(tk_otlp_metric *m, tk_otlp_attr *a, double user_s, double sys_s,
                             int64_t rss_bytes, int64_t threads);
/* Offers one timer span of p (Unix ns). origin: the program's origin timestamp (raw, 0: none):
 * spans of one origin share a trace id. Sampled per trace (sample) and capped (span_rate); kept
 * spans are batched per process and queued when a batch fills, p changes, or on
 * tk_otlp_flush_spans(). Returns 1 kept, 0 sampled out, or a negative errno. Not thread-safe. */
int tk_otlp_offer_span(tk_otlp *x, const tk_otlp_proc_in *p, const char *name, uint32_t ring,
                       uint32_t tid, uint64_t start_unix_ns, uint64_t end_unix_ns, uint64_t origin,
                       uint64_t lat_ns, uint64_t now_mono_ns);
/* Queues the spans batched so far. Returns 0 or a negative errno. */
int tk_otlp_flush_spans(tk_otlp *x);
/* The exporter (for flush and stats). */
tk_otlp_exporter *tk_otlp_exporter_of(tk_otlp *x);
/* Spans seen and kept by sampling, dropped by the rate cap. */
void tk_otlp_span_counts(const tk_otlp *x, uint64_t *offered, uint64_t *kept, uint64_t *capped);
/* Frees everything (see tk_otlp_exporter_free()). NULL is allowed. */
void tk_otlp_free(tk_otlp *x, tk_otlp_stats *final);

#endif
