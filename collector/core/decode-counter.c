/* core/decode-counter.c — counters, gauges and stage states from the segment into events
 * (core/decode-counter.h), and the record decoders of TKS_REC_COUNTER and TKS_REC_GAUGE. */
#include "core/decode-counter.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int tkc_counters_layout_read(tkc_decode_ctx *dc, tkc_counters_layout *out)
{
    tks_header h;
    /* the geometry fields and the area, copied: the producer may be writing its header */
    if (tkc_decode_read(dc, 0, &h, sizeof h) != 0)
        return -1;
    const tks_counters_area *a = &h.area_counters;
    const tkc_proc *p = tkc_decode_proc(dc);
    if (h.minor_version < 2 || !a->values_offset || !a->gauges_offset || !a->value_count)
        return -1;
    if (a->value_count > h.max_names || a->values_offset % 8 || a->gauges_offset % 8)
        return -1;
    if (a->values_offset < h.slots_offset ||
        a->values_offset + (uint64_t)a->value_count * 8 > h.ring_stride)
        return -1;
    out->rings_offset = h.rings_offset;
    out->ring_stride = h.ring_stride;
    out->values_offset = a->values_offset;
    out->gauges_offset = a->gauges_offset;
    out->value_count = a->value_count;
    uint32_t rings = p ? p->rings_used : h.ring_count;
    out->rings = rings < h.max_rings ? rings : h.max_rings;
    return 0;
}

size_t tkc_counters_poll(tkc_decode_ctx *dc, uint64_t now_mono_ns)
{
    tkc_counters_layout L;
    const tkc_proc *p = tkc_decode_proc(dc);
    if (!p || tkc_counters_layout_read(dc, &L) != 0)
        return 0;
    uint32_t names = p->names_known < L.value_count ? p->names_known : L.value_count;
    uint32_t lo = UINT32_MAX, hi = 0, glo = UINT32_MAX, ghi = 0;
    for (uint32_t id = 1; id < names; id++) {
        int k = tkc_proc_name_kind(p, id);
        if (k == TKS_NAME_COUNTER) {
            lo = id < lo ? id : lo;
            hi = id;
        } else if (k == TKS_NAME_GAUGE || k == TKS_NAME_STAGE) {
            glo = id < glo ? id : glo;
            ghi = id;
        }
    }
    size_t emitted = 0;
    uint32_t span = lo <= hi ? hi - lo + 1 : 0, gspan = glo <= ghi ? ghi - glo + 1 : 0;
    uint64_t *buf = malloc(((size_t)span + gspan) * 8 + 8);
    uint64_t *sum = span ? calloc(span, 8) : NULL;
    if (!buf || (span && !sum))
        goto out;
    if (span) {
        uint32_t rings_read = 0;
        for (uint32_t r = 0; r < L.rings; r++) {
            uint64_t off = L.rings_offset + (uint64_t)r * L.ring_stride + L.values_offset +
                           (uint64_t)lo * 8;
            if (tkc_decode_read(dc, off, buf, (size_t)span * 8) != 0)
                continue; /* out of the segment: this ring's shares are not counted */
            rings_read++;
            for (uint32_t i = 0; i < span; i++)
                sum[i] += buf[i];
        }
        for (uint32_t i = 0; i < span; i++) {
            if (tkc_proc_name_kind(p, lo + i) != TKS_NAME_COUNTER)
                continue;
            tkc_event e = {.kind = TKC_EV_COUNTER, .name = lo + i, .ring = UINT32_MAX,
                           .sub = rings_read, .mono_ns = now_mono_ns, .a = sum[i]};
            tkc_decode_emit(dc, &e);
            emitted++;
        }
    }
    if (gspan && tkc_decode_read(dc, L.gauges_offset + (uint64_t)glo * 8, buf, (size_t)gspan * 8) == 0) {
        for (uint32_t i = 0; i < gspan; i++) {
            int k = tkc_proc_name_kind(p, glo + i);
            if (k != TKS_NAME_GAUGE && k != TKS_NAME_STAGE)
                continue;
            tkc_event e = {.kind = TKC_EV_GAUGE, .name = glo + i, .ring = UINT32_MAX,
                           .sub = (uint32_t)k, .mono_ns = now_mono_ns, .a = buf[i]};
            tkc_decode_emit(dc, &e);
            emitted++;
        }
    }
out:
    free(buf);
    free(sum);
    return emitted;
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
