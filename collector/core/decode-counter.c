/* core/decode-counter.c — counters, gauges and stage states from the segment into events
 * (core/decode-counter.h), and the record decoders of TKS_REC_COUNTER and TKS_REC_GAUGE. */
#include "core/decode-counter.h"

#include "core/counters-read.h"


static int dc_read(void *ctx, uint64_t off, void *dst, size_t len)
{
    return tkc_decode_read(ctx, off, dst, len);
}
static int dc_kind(void *ctx, uint32_t id) { return tkc_proc_name_kind(tkc_decode_proc(ctx), id); }
static void dc_emit(void *ctx, const tkc_event *e) { tkc_decode_emit(ctx, e); }

size_t tkc_counters_poll(tkc_decode_ctx *dc, uint64_t now_mono_ns)
{
    const tkc_proc *p = tkc_decode_proc(dc);
    if (!p)
        return 0;
    tkc_counters_source src = {dc, dc_read, dc_kind, dc_emit, p->names_known, p->rings_used};
    return tkc_counters_read(&src, now_mono_ns);
}

/* This producer writes no counter or gauge records (their values live in the segment and are
 * polled); a record of either type is malformed: counted and skipped. */
size_t tkc_decode_counter(tkc_decode_ctx *dc, const tks_record *recs, size_t avail)
{
    (void)recs;
    (void)avail;
    tkc_decode_corrupt(dc);
    return 1;
}

size_t tkc_decode_gauge(tkc_decode_ctx *dc, const tks_record *recs, size_t avail)
{
    (void)recs;
    (void)avail;
    tkc_decode_corrupt(dc);
    return 1;
}
