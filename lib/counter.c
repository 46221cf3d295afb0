/* counter.c — counters, gauges and stage switches: registration, the two hot paths, and the
 * TK_DISABLE_STAGES switch read once at start-up. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tk_counter {
    uint32_t id;
};
struct tk_gauge {
    uint32_t id;
};

/* Handles by name id (id 0, "(invalid)", is a timer: the collector never reads its slots, so a
 * failed registration costs the hot path nothing). Written under tk__g.lock at registration. */
static struct tk_counter counters[TK_MAX_NAMES];
static struct tk_gauge gauges[TK_MAX_NAMES];

/* ---- counters -------------------------------------------------------------------------------- */

int tk_counter_register(const char *name, tk_counter_t **out)
{
    int id = tk__name_register(name, TKS_NAME_COUNTER, 0);
    if (id < 0) {
        *out = &counters[0];
        return id;
    }
    counters[id].id = (uint32_t)id;
    *out = &counters[id];
    return 0;
}

tk_counter_t *tk_counter(const char *name)
{
    tk_counter_t *c;
    int rc = tk_counter_register(name, &c);
    if (rc)
        fprintf(stderr, "timekeeper: counter '%.60s': %s; its counts are not kept\n",
                name ? name : "(null)", tk_strerror(rc));
    return c;
}

/* The hot path. Cost: a flag test, a TLS load, one load and one relaxed store (plain moves on
 * x86-64 and aarch64) of this thread's own slot; no record, no lock, no read-modify-write: only the
 * ring's owner writes the slot, readers only read it. */
void tk_counter_add(tk_counter_t *c, uint64_t n)
{
    if (TK_UNLIKELY(!tk__enabled))
        return;
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r)
            return;
    }
    uint64_t *v = &r->values[c->id];
    __atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

uint64_t tk_counter_thread_value(const tk_counter_t *c)
{
    tk__ring *r = tk__tls_ring;
    return r && c ? __atomic_load_n(&r->values[c->id], __ATOMIC_RELAXED) : 0;
}

/* ---- gauges ---------------------------------------------------------------------------------- */

int tk_gauge_register(const char *name, tk_gauge_t **out)
{
    int id = tk__name_register(name, TKS_NAME_GAUGE, 0);
    if (id < 0) {
        *out = &gauges[0];
        return id;
    }
    gauges[id].id = (uint32_t)id;
    *out = &gauges[id];
    return 0;
}

tk_gauge_t *tk_gauge(const char *name)
{
    tk_gauge_t *g;
    int rc = tk_gauge_register(name, &g);
    if (rc)
        fprintf(stderr, "timekeeper: gauge '%.60s': %s; its values are not kept\n",
                name ? name : "(null)", tk_strerror(rc));
    return g;
}

/* The hot path. Cost: a flag test, one load of the gauge array's address and one relaxed 64-bit
 * store (a plain move); stores of several threads race benignly, the last one wins. */
void tk_gauge_set(tk_gauge_t *g, int64_t v)
{
    if (TK_UNLIKELY(!tk__enabled))
        return;
    int64_t *slots = tk__g.gauges;
    if (TK_LIKELY(slots != NULL))
        __atomic_store_n(&slots[g->id], v, __ATOMIC_RELAXED);
}

int64_t tk_gauge_value(const tk_gauge_t *g)
{
    int64_t *slots = tk__g.gauges;
    return slots && g && tk__enabled ? __atomic_load_n(&slots[g->id], __ATOMIC_RELAXED) : 0;
}

/* ---- stages ---------------------------------------------------------------------------------- */

static char disabled_stages[1024]; /* ",a,b," from TK_DISABLE_STAGES, "" when none; "*": all */

void tk__stages_init(void)
{
    const char *s = getenv("TK_DISABLE_STAGES");
    disabled_stages[0] = '\0';
    if (!s || !*s)
        return;
    if (strcmp(s, "*") == 0 || strcmp(s, "all") == 0) {
        strcpy(disabled_stages, "*");
        return;
    }
    if (strlen(s) + 3 > sizeof disabled_stages) {
        fprintf(stderr, "timekeeper: TK_DISABLE_STAGES is longer than %zu bytes; ignored\n",
                sizeof disabled_stages - 3);
        return;
    }
    snprintf(disabled_stages, sizeof disabled_stages, ",%s,", s);
}

static int stage_is_on(const char *name)
{
    if (disabled_stages[0] == '*')
        return 0;
    if (!disabled_stages[0])
        return 1;
    size_t n = strlen(name);
    for (const char *p = disabled_stages; (p = strstr(p, name)) != NULL; p++)
        if (p[-1] == ',' && p[n] == ',')
            return 0;
    return 1;
}

void tk__stages_publish(int64_t *slots, uint32_t count)
{
    for (uint32_t id = 1; id < count; id++) {
        const char *name = tk__name_of(id);
        if (tk__name_kind(id) == TKS_NAME_STAGE)
            __atomic_store_n(&slots[id], (int64_t)stage_is_on(name), __ATOMIC_RELAXED);
    }
}

int tk_stage(const char *name)
{
    int id = tk__name_register(name, TKS_NAME_STAGE, 0); /* also initialises the library */
    if (id < 0) {
        fprintf(stderr, "timekeeper: stage '%.60s': %s; it stays on\n", name ? name : "(null)",
                tk_strerror(id));
        return 1;
    }
    int on = stage_is_on(name);
    int64_t *slots = tk__g.gauges;
    if (slots)
        __atomic_store_n(&slots[id], (int64_t)on, __ATOMIC_RELAXED);
    return on;
}
