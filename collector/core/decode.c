/* core/decode.c — the table of decoders by record type (core/decode.h). A kind that gains a
 * decoder adds one line here and one file core/decode-<kind>.c. */
#include "core/decode.h"

tkc_decode_fn tkc_decoder(uint32_t type)
{
    switch (type) {
    case TKS_REC_COMPONENT:
        return tkc_decode_component;
    default:
        return NULL;
    }
}
