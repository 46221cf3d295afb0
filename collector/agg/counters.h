/* agg/counters.h — program counters and gauges per process, over interval windows: a consumer of
 * the core's TKC_EV_COUNTER / TKC_EV_GAUGE events (core/decode-counter.h). A counter is shown as
 * its delta over the interval (and its total); a gauge or a stage as its latest value. */
#ifndef TKA_COUNTERS_H
#define TKA_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/events.h"

typedef struct tka_counters tka_counters;

/* One counter, gauge or stage of one process, as the interval sees it. */
typedef struct tka_counter_value {
    uint64_t proc_key;   /* tkc_proc.key */
    int pid;
    int kind;            /* TKS_NAME_COUNTER, TKS_NAME_GAUGE or TKS_NAME_STAGE */
    const char *name;    /* valid until the next call that changes the table */
    uint64_t total;      /* counter: its total since the process started */
    uint64_t delta;      /* counter: added during the interval (since the last rollover) */
    int64_t value;       /* gauge: the latest value; stage: 1 on, 0 off */
} tka_counter_value;

/* Creates the table. Returns NULL when out of memory. */
tka_counters *tka_counters_new(void);
void tka_counters_free(tka_counters *t);
/* Its consumer, to pass to tkc_core_subscribe() (event, drained and proc_gone callbacks). */
const tkc_consumer *tka_counters_consumer(tka_counters *t);

/* Takes one event (what the consumer's `event` callback does); other kinds are ignored.
 * A counter seen in the process's first poll (before its first drain pass ended) counts from the
 * total it had then: what the program counted before the collector came is not this interval's.
 * A counter that appears later counts from 0. A total that goes back (a malformed segment) starts
 * the counter over from it. Can't fail (a new entry that can't be allocated is dropped). */
void tka_counters_event(tka_counters *t, const tkc_proc *p, const tkc_event *e);
/* Ends one drain pass (the consumer's `drained` callback). */
void tka_counters_drained(tka_counters *t, uint64_t now_mono_ns);
/* Forgets a process (the consumer's `proc_gone` callback). */
void tka_counters_forget(tka_counters *t, uint64_t proc_key);
/* Ends the interval: every counter's delta starts again from 0. Call it after reading. */
void tka_counters_rollover(tka_counters *t);

/* Values of process proc_key (every process when proc_key == UINT64_MAX), sorted by process, then
 * kind (counters first), then name. Writes up to cap entries; returns how many there are. */
size_t tka_counters_list(const tka_counters *t, uint64_t proc_key, tka_counter_value *out,
                         size_t cap);

#endif
