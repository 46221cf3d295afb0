/* core/component.h — the event payload of component records (TKC_EV_COMPONENT) and their pure
 * decoding, shared by core/decode-component.c and whoever consumes the events. */
#ifndef TKC_COMPONENT_H
#define TKC_COMPONENT_H

#include <stdint.h>

#include "core/events.h"
#include "format/segment.h"

/* A tkc_event of kind TKC_EV_COMPONENT is one call of one callback of one component:
 *     name     the component's name id (a TKS_NAME_COMPONENT name; "__ALL__" is the aggregate)
 *     ring     the thread's ring
 *     sub      the callback, TKS_CB_* (TKS_CB_ABSOLUTE: the whole run, on __ALL__)
 *     ticks    start ticks; mono_ns the start in CLOCK_MONOTONIC ns
 *     a        duration in ns (stop - start, 0 when the clock went backwards)
 *     b        arg: the file, run or event number (0 for the other callbacks)
 *     c        flags: TKC_COMPONENT_NONZERO when the callback returned nonzero (an aborted event;
 *              on __ALL__ of an event: the event was not completed)
 *     d        the sequence's index in its process */
enum { TKC_COMPONENT_NONZERO = TKS_CF_NONZERO };

/* The names of the callbacks as the recording stores them ("process_start", ..., "event",
 * "absolute"); "unknown" out of range. Can't fail. */
const char *tkc_component_callback_name(unsigned cb);

/* Fills e from a component record r of ring `ring`, with its duration and start already converted
 * (dur_ns = stop - start in ns, 0 when stop < start; start_mono_ns). Returns 0, or -1 when the
 * record is malformed (not a component record, an unknown callback, an absolute record with an
 * argument): e is unchanged then. Can't fail otherwise; thread-safe. */
int tkc_component_decode_record(const tks_record *r, uint32_t ring, uint64_t dur_ns,
                                uint64_t start_mono_ns, tkc_event *e);

#endif
