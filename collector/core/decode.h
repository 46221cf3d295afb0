/* core/decode.h — decoders of the record types beyond spans and points (counters, gauges, tasks,
 * components): one file each (core/decode-<kind>.c), one entry each in the table of core/decode.c.
 * The core reads a ring, accounts every head record's sequence number (exact loss), and hands a
 * head record of a decoded type, with whatever follows it in the chunk, to its decoder, which
 * emits events. A type without a decoder is skipped and counted as unknown. */
#ifndef TKC_DECODE_H
#define TKC_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/events.h"
#include "format/segment.h"

typedef struct tkc_decode_ctx tkc_decode_ctx; /* the core's: which process, ring, consumers */

/* Decodes the head record recs[0] (of the decoder's type, name id valid and of a known kind) and
 * its continuations (TKS_REC_CONT records after it). Returns the records consumed (>= 1), or 0
 * when the item continues past `avail` records (the core calls again with the next chunk).
 * A malformed item: call tkc_decode_corrupt() and return the records to skip (>= 1). */
typedef size_t (*tkc_decode_fn)(tkc_decode_ctx *dc, const tks_record *recs, size_t avail);

/* The decoder of record type t (TKS_REC_*), NULL: none. */
tkc_decode_fn tkc_decoder(uint32_t type);

/* Emits e to every consumer (their `event` callbacks). */
void tkc_decode_emit(tkc_decode_ctx *dc, const tkc_event *e);
/* The process and ring being decoded. */
const tkc_proc *tkc_decode_proc(const tkc_decode_ctx *dc);
uint32_t tkc_decode_ring(const tkc_decode_ctx *dc);
/* Ticks to CLOCK_MONOTONIC ns, and a tick difference to ns, for this process. */
uint64_t tkc_decode_mono(const tkc_decode_ctx *dc, uint64_t ticks);
uint64_t tkc_decode_ns(const tkc_decode_ctx *dc, uint64_t dticks);
/* Counts a malformed record of this process (shown as corrupt). */
void tkc_decode_corrupt(tkc_decode_ctx *dc);
/* Read-only access to the producer's memory past the rings, for decoders whose data lives in the
 * segment (totals written by the producer): a copy of [off, off + len) of the segment into dst,
 * validated against the segment's size. Returns 0, or -1 when out of bounds (nothing copied). */
int tkc_decode_read(tkc_decode_ctx *dc, uint64_t off, void *dst, size_t len);

/* Reads the kinds whose values live in the segment instead of records (counters, gauges and stage
 * states: core/decode-counter.h) and emits their events. The core calls it once per drain pass of
 * a process, after its rings, under the drain's SIGBUS guard (dc->ring is UINT32_MAX). */
void tkc_decode_poll(tkc_decode_ctx *dc, uint64_t now_mono_ns);

/* The decoders there are (NULL until their kind exists). */
size_t tkc_decode_counter(tkc_decode_ctx *dc, const tks_record *recs, size_t avail);
size_t tkc_decode_gauge(tkc_decode_ctx *dc, const tks_record *recs, size_t avail);
size_t tkc_decode_task(tkc_decode_ctx *dc, const tks_record *recs, size_t avail);
size_t tkc_decode_component(tkc_decode_ctx *dc, const tks_record *recs, size_t avail);

#endif
