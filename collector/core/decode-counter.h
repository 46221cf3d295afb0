/* core/decode-counter.h — reading the counters, gauges and stage states a producer keeps in its
 * segment (format/segment.h, tks_counters_area) and turning them into TKC_EV_COUNTER and
 * TKC_EV_GAUGE events. Counters and gauges write no ring records: their values live in the
 * segment, so the core polls them (tkc_counters_poll) once per drain pass of a process, after its
 * rings, instead of decoding records.
 *
 * Event payloads (core/events.h, tkc_event):
 *   TKC_EV_COUNTER  name = counter name id, ring = UINT32_MAX (the process), sub = rings summed,
 *                   mono_ns = when read, a = the counter's total since the process started
 *                   (monotonic; the sum of every ring's share)
 *   TKC_EV_GAUGE    name = gauge or stage name id, ring = UINT32_MAX, sub = the name's kind
 *                   (TKS_NAME_GAUGE or TKS_NAME_STAGE), mono_ns = when read,
 *                   a = the value as int64_t bits (a stage: 1 on, 0 off) */
#ifndef TKC_DECODE_COUNTER_H
#define TKC_DECODE_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/decode.h"

/* Reads every counter's total (summed over rings) and every gauge's and stage's value of the
 * process being decoded and emits one event each, stamped now_mono_ns. Cost: one copy of the
 * header's geometry, then per ring one copy of the values between the lowest and the highest
 * counter id, and one copy of the gauge slots. Returns the events emitted (0: nothing to read). */
size_t tkc_counters_poll(tkc_decode_ctx *dc, uint64_t now_mono_ns);

#endif
