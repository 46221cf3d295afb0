/* core/component.c — decoding of component records into TKC_EV_COMPONENT events (no core state). */
#include "core/component.h"

#include <string.h>

static const char *const callback_names[TKS_CB_COUNT] = {
    "process_start", "process_end", "file_open", "file_close",
    "before_new_run", "new_run", "event", "absolute",
};

const char *tkc_component_callback_name(unsigned cb)
{
    return cb < TKS_CB_COUNT ? callback_names[cb] : "unknown";
}

int tkc_component_decode_record(const tks_record *r, uint32_t ring, uint64_t dur_ns,
                                uint64_t start_mono_ns, tkc_event *e)
{
    if (TKS_TAG_TYPE(r->tag) != TKS_REC_COMPONENT)
        return -1;
    const unsigned cb = TKS_COMPONENT_CB(r->c);
    if (cb >= TKS_CB_COUNT || (TKS_COMPONENT_FLAGS(r->c) & ~(unsigned)TKS_CF_NONZERO))
        return -1;
    if (cb == TKS_CB_ABSOLUTE && TKS_COMPONENT_ARG(r->c) != 0)
        return -1;
    memset(e, 0, sizeof *e);
    e->kind = TKC_EV_COMPONENT;
    e->name = TKS_TAG_ID(r->tag);
    e->ring = ring;
    e->sub = cb;
    e->ticks = r->a;
    e->mono_ns = start_mono_ns;
    e->a = r->b >= r->a ? dur_ns : 0;
    e->b = TKS_COMPONENT_ARG(r->c);
    e->c = TKS_COMPONENT_FLAGS(r->c);
    e->d = TKS_COMPONENT_SEQ(r->c);
    return 0;
}
