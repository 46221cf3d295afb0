/* agg/health.h — the one health rule ("no reports = not healthy") that check, top and serve's
 * /healthz share. */
#ifndef TKA_HEALTH_H
#define TKA_HEALTH_H

#include <stdint.h>

#include "core/events.h"

/* Whether live process p recorded within limit_ns of now_ns (its start counts as a record, so a
 * process that just started is healthy). Exited processes are healthy (they are not expected to
 * record). *silent_s (may be NULL) gets the seconds since its last record (or its start). */
int tka_proc_healthy(const tkc_proc *p, uint64_t now_ns, uint64_t limit_ns, double *silent_s);

#endif
