/* agg/window.h — aggregation of spans into histograms per process, timer and kind, over an
 * interval window and a total window: a consumer of the core's event stream. Readers use the
 * accessors below; the structures are opaque. */
#ifndef TKA_WINDOW_H
#define TKA_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"
#include "core/events.h"

typedef struct tka_agg tka_agg;
typedef struct tka_proc tka_proc;
typedef struct tka_timer tka_timer;

typedef enum { TKA_INTERVAL = 0, TKA_TOTAL = 1 } tka_window;
enum { TKA_PROCESSING = 0, TKA_LATENCY = 1, TKA_KINDS = 2 };

typedef struct tka_options {
    const char *timer_glob;  /* NULL: every timer; else an fnmatch(3) pattern */
    uint64_t overhead_ns;    /* subtracted from every processing time (clamped at 0) */
} tka_options;

/* Creates an aggregator. Returns NULL when out of memory. */
tka_agg *tka_agg_new(const tka_options *opts);
void tka_agg_free(tka_agg *a);
/* Its consumer, to pass to tkc_core_subscribe(). */
const tkc_consumer *tka_agg_consumer(tka_agg *a);
/* Ends the interval at now_ns: merges every interval histogram into its total, then empties the
 * interval histograms and loss counts. Call it after reading the interval. Can't fail. */
void tka_agg_rollover(tka_agg *a, uint64_t now_ns);

/* The window's start (CLOCK_MONOTONIC ns): the last rollover (interval), the aggregator's first
 * event (total). Rates are count / (end - start), over the window observed. */
uint64_t tka_agg_window_start(const tka_agg *a, tka_window w);

size_t tka_agg_proc_count(const tka_agg *a);
const tka_proc *tka_agg_proc(const tka_agg *a, size_t i);
/* The core's process behind p (valid until the core forgets it; then p goes too). */
const tkc_proc *tka_proc_core(const tka_proc *p);
/* When this aggregator first saw p (CLOCK_MONOTONIC ns). */
uint64_t tka_proc_first_seen(const tka_proc *p);
/* Records lost in p in the window, by reason (tkc_loss_reason), over every name. */
uint64_t tka_proc_lost(const tka_proc *p, tka_window w, tkc_loss_reason reason);

/* Timers of p, sorted by name. */
size_t tka_proc_timer_count(const tka_proc *p);
const tka_timer *tka_proc_timer(const tka_proc *p, size_t j);
const char *tka_timer_name(const tka_timer *t);
uint32_t tka_timer_id(const tka_timer *t);
/* The histogram (ns) of kind in window w. Never NULL. */
const hist *tka_timer_hist(const tka_timer *t, tka_window w, int kind);
/* Records of the timer lost in the window, by reason. */
uint64_t tka_timer_lost(const tka_timer *t, tka_window w, tkc_loss_reason reason);
/* Nonzero when the timer ever carried an origin (so it has a latency). */
int tka_timer_has_latency(const tka_timer *t);
/* CLOCK_MONOTONIC of the timer's newest record (of process p), 0: none. */
uint64_t tka_timer_last_mono_ns(const tka_proc *p, const tka_timer *t);
/* Seconds between the oldest start and the newest stop of the records read (the time the totals
 * cover, for their rate), 0 with fewer than two distinct ticks. */
double tka_timer_span_s(const tka_proc *p, const tka_timer *t);
/* Records of the timer read during the first drain after attach (the backlog the ring held). */
uint64_t tka_timer_backlog(const tka_timer *t);

#endif
