/* core/decode.c — the table of decoders by record type (core/decode.h). A kind that gains a
 * decoder adds one line here and one file core/decode-<kind>.c. */
#include "core/decode.h"

#include "core/decode-counter.h"

tkc_decode_fn tkc_decoder(uint32_t type)
{
    switch (type) {
    case TKS_REC_TASK:
        return tkc_decode_task;
    case TKS_REC_COMPONENT:
        return tkc_decode_component;
    case TKS_REC_COUNTER:
        return tkc_decode_counter;
    case TKS_REC_GAUGE:
        return tkc_decode_gauge;
    default:
        return NULL;
    }
}

/* The kinds whose values live in the segment rather than in records (core/decode.h). */
void tkc_decode_poll(tkc_decode_ctx *dc, uint64_t now_mono_ns)
{
    tkc_counters_poll(dc, now_mono_ns); /* counters, gauges, stages: core/decode-counter.c */
}
