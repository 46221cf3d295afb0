/* core/counters-read.h — reading counters, gauges and stage states out of a segment, from any
 * source of its bytes: the core's decoders (core/decode-counter.c) or a segment mapped by a
 * command that watches one process (cmd-bench.c). No dependency on the core's state. */
#ifndef TKC_COUNTERS_READ_H
#define TKC_COUNTERS_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/events.h"

typedef struct tkc_counters_source {
    void *ctx;
    /* copies [off, off + len) of the segment into dst; 0, or -1 when out of bounds */
    int (*read)(void *ctx, uint64_t off, void *dst, size_t len);
    /* the kind of name id (TKS_NAME_*), 0 when unknown */
    int (*name_kind)(void *ctx, uint32_t id);
    /* takes one TKC_EV_COUNTER or TKC_EV_GAUGE event (payloads: core/decode-counter.h) */
    void (*emit)(void *ctx, const tkc_event *e);
    uint32_t names_known;  /* names [0, names_known) are valid */
    uint32_t rings_used;   /* rings [0, rings_used) were claimed (0: the header's ring_count) */
} tkc_counters_source;

/* Reads every counter (summed over rings), gauge and stage of the segment and emits one event
 * each, stamped now_mono_ns. Returns the events emitted (0: the segment has no counters area or
 * it is malformed). Can't fail otherwise. */
size_t tkc_counters_read(const tkc_counters_source *src, uint64_t now_mono_ns);

#endif
