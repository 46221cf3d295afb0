/* error.c — error texts and the runtime version. */
#include "internal.h"

const char *tk_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define TK_XX(name, value, text) \
    case TK_##name:              \
        return text;
        TK_ERRNO_MAP(TK_XX)
#undef TK_XX
    default:
        return "unknown error";
    }
}

unsigned tk_version(void) { return TK_VERSION_NUMBER; }
