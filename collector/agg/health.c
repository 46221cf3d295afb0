/* agg/health.c — the health rule of agg/health.h. */
#include "agg/health.h"

int tka_proc_healthy(const tkc_proc *p, uint64_t now, uint64_t limit, double *silent_s)
{
    uint64_t last = p->last_record_mono_ns > p->start_mono_ns ? p->last_record_mono_ns
                                                              : p->start_mono_ns;
    if (silent_s)
        *silent_s = now > last ? (double)(now - last) / 1e9 : 0;
    return p->state != TKC_PROC_LIVE || now < last || now - last <= limit;
}
