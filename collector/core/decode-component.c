/* core/decode-component.c — the decoder of TKS_REC_COMPONENT records (one record per item, no
 * continuation): emits one TKC_EV_COMPONENT event (payload in core/component.h). */
#include "core/component.h"
#include "core/decode.h"

size_t tkc_decode_component(tkc_decode_ctx *dc, const tks_record *recs, size_t avail)
{
    (void)avail; /* an item is one record: avail >= 1 */
    const tks_record *r = &recs[0];
    const tkc_proc *p = tkc_decode_proc(dc);
    tkc_event e;
    if (tkc_proc_name_kind(p, TKS_TAG_ID(r->tag)) != TKS_NAME_COMPONENT ||
        tkc_component_decode_record(r, tkc_decode_ring(dc),
                                    r->b >= r->a ? tkc_decode_ns(dc, r->b - r->a) : 0,
                                    tkc_decode_mono(dc, r->a), &e) != 0) {
        tkc_decode_corrupt(dc);
        return 1;
    }
    tkc_decode_emit(dc, &e);
    return 1;
}
