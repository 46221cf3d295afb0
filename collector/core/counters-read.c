/* core/counters-read.c — counters, gauges and stage states out of a segment's bytes
 * (core/counters-read.h). Every offset comes from the untrusted header and is checked. */
#include "core/counters-read.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/segment.h"

size_t tkc_counters_read(const tkc_counters_source *src, uint64_t now_mono_ns)
{
    tks_header h; /* the fields up to the counters area: the rest is not needed */
    memset(&h, 0, sizeof h);
    if (src->read(src->ctx, 0, &h, offsetof(tks_header, area_counters) + sizeof h.area_counters) != 0)
        return 0;
    const tks_counters_area *a = &h.area_counters;
    if (h.minor_version < 2 || !a->values_offset || !a->gauges_offset || !a->value_count ||
        a->value_count > h.max_names || a->values_offset % 8 || a->gauges_offset % 8 ||
        a->values_offset < h.slots_offset || a->values_offset > h.ring_stride ||
        (uint64_t)a->value_count * 8 > h.ring_stride - a->values_offset)
        return 0;
    uint32_t rings = src->rings_used ? src->rings_used : h.ring_count;
    if (rings > h.max_rings)
        rings = h.max_rings;
    uint32_t names = src->names_known < a->value_count ? src->names_known : a->value_count;
    uint32_t lo = UINT32_MAX, hi = 0, glo = UINT32_MAX, ghi = 0;
    for (uint32_t id = 1; id < names; id++) {
        int k = src->name_kind(src->ctx, id);
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
    uint64_t *buf = malloc(((size_t)(span > gspan ? span : gspan) + 1) * 8);
    uint64_t *sum = calloc((size_t)span + 1, 8);
    if (!buf || !sum)
        goto out;
    if (span) {
        uint32_t rings_read = 0;
        for (uint32_t r = 0; r < rings; r++) {
            uint64_t off = h.rings_offset + (uint64_t)r * h.ring_stride + a->values_offset +
                           (uint64_t)lo * 8;
            if (src->read(src->ctx, off, buf, (size_t)span * 8) != 0)
                continue; /* out of the segment: this ring's shares are not counted */
            rings_read++;
            for (uint32_t i = 0; i < span; i++)
                sum[i] += buf[i];
        }
        for (uint32_t i = 0; i < span; i++) {
            if (src->name_kind(src->ctx, lo + i) != TKS_NAME_COUNTER)
                continue;
            tkc_event e = {.kind = TKC_EV_COUNTER, .name = lo + i, .ring = UINT32_MAX,
                           .sub = rings_read, .mono_ns = now_mono_ns, .a = sum[i]};
            src->emit(src->ctx, &e);
            emitted++;
        }
    }
    if (gspan && src->read(src->ctx, a->gauges_offset + (uint64_t)glo * 8, buf, (size_t)gspan * 8) == 0) {
        for (uint32_t i = 0; i < gspan; i++) {
            int k = src->name_kind(src->ctx, glo + i);
            if (k != TKS_NAME_GAUGE && k != TKS_NAME_STAGE)
                continue;
            tkc_event e = {.kind = TKC_EV_GAUGE, .name = glo + i, .ring = UINT32_MAX,
                           .sub = (uint32_t)k, .mono_ns = now_mono_ns, .a = buf[i]};
            src->emit(src->ctx, &e);
            emitted++;
        }
    }
out:
    free(buf);
    free(sum);
    return emitted;
}
