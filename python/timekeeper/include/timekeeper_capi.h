/* timekeeper_capi.h — libtimekeeper's C API for other CPython extensions, through the capsule that
 * `import timekeeper` provides.
 *
 * Why: `timekeeper._timekeeper` links libtimekeeper statically. An extension that linked its own copy
 * would give the process two segments, two name tables and two clock calibrations, so intervals
 * between a Python point and a C point would mix two conversions. Through this header the C code of
 * your extension calls the one copy inside `timekeeper._timekeeper`: one segment, one set of rings,
 * one TIMING stream.
 *
 * Use, in exactly one .c file of the extension:
 *     #define TK_CAPI_IMPLEMENT
 *     #include <timekeeper_capi.h>
 * and call tk_capi_import() from PyInit_<name>() (it imports `timekeeper._timekeeper`; -1 with a
 * Python exception set on failure). Every other file includes <timekeeper.h> and uses the ordinary
 * API (tk_label, tk_point, tk_timer, tk_record, tk_now...). Do NOT link libtimekeeper into that
 * extension. The directory holding both headers is `timekeeper.get_include()`.
 *
 * Before tk_capi_import() succeeds every call is a no-op: tk_label() returns 0, tk_timer() returns a
 * placeholder whose records go nowhere, tk_now() reads CLOCK_MONOTONIC. Thread-safe after import. */
#ifndef TIMEKEEPER_CAPI_H
#define TIMEKEEPER_CAPI_H

#include "timekeeper.h"

#define TK_CAPI_CAPSULE "timekeeper._timekeeper._C_API"
#define TK_CAPI_ABI 1u /* bumped when a member changes; members are only ever appended */

/* The table behind the capsule. `size` lets a newer consumer detect an older provider. */
typedef struct tk_capi {
    unsigned abi;  /* TK_CAPI_ABI of the provider */
    unsigned size; /* sizeof(tk_capi) of the provider */
    unsigned version; /* tk_version() of the library inside the provider */
    volatile int *clock_source; /* the provider's tk__clock_source */
    const char *(*strerror_)(int err);
    uint64_t (*now_slow)(void);
    tk_clock_t (*clock_source_)(void);
    uint64_t (*ticks_to_ns)(uint64_t ticks);
    double (*ticks_per_second)(void);
    int (*init)(const tk_options *opts);
    int (*enabled)(void);
    const char *(*segment_path)(void);
    void (*thread_name)(const char *name);
    void (*thread_exit)(void);
    int (*timer_register)(const char *name, tk_timer_t **out);
    const char *(*timer_name)(const tk_timer_t *t);
    void (*record)(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin);
    tk_label_t (*label)(const char *name);
    void (*point_at)(tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,
                     uint64_t session, const char *context, size_t len);
    int (*timing_text_enabled)(void);
} tk_capi;

#ifdef TK_CAPI_IMPLEMENT
#include <Python.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const tk_capi *tk__capi;
volatile int tk__clock_source = TK_CLOCK_UNINIT; /* copied from the provider after the first read */

/* Records of timers registered before the import go to this placeholder (id 0, "(invalid)"). */
static struct {
    uint32_t id;
    char name[60];
} tk__capi_placeholder;

/* Imports the capsule. Returns 0, or -1 with a Python exception set (ImportError when timekeeper
 * can't be imported or is incompatible). Call with the GIL held, typically from PyInit. */
static int tk_capi_import(void)
{
    if (tk__capi)
        return 0;
    const tk_capi *api = (const tk_capi *)PyCapsule_Import(TK_CAPI_CAPSULE, 0);
    if (!api)
        return -1;
    if (api->abi != TK_CAPI_ABI || api->size < sizeof(tk_capi)) {
        PyErr_Format(PyExc_ImportError,
                     "timekeeper C API mismatch: provider ABI %u (table of %u bytes), "
                     "this extension was built for ABI %u (%u bytes)",
                     api->abi, api->size, TK_CAPI_ABI, (unsigned)sizeof(tk_capi));
        return -1;
    }
    tk__capi = api;
    return 0;
}

uint64_t tk__now_slow(void)
{
    const tk_capi *api = tk__capi;
    if (!api) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    uint64_t t = api->now_slow(); /* initialises the provider's library if needed */
    tk__clock_source = *api->clock_source;
    return t;
}

const char *tk_strerror(int err) { return tk__capi ? tk__capi->strerror_(err) : "unknown error"; }
unsigned tk_version(void) { return tk__capi ? tk__capi->version : 0; }
tk_clock_t tk_clock_source(void)
{
    return tk__capi ? tk__capi->clock_source_() : TK_CLOCK_MONOTONIC;
}
uint64_t tk_ticks_to_ns(uint64_t ticks) { return tk__capi ? tk__capi->ticks_to_ns(ticks) : ticks; }
double tk_ticks_per_second(void) { return tk__capi ? tk__capi->ticks_per_second() : 1e9; }
int tk_init(const tk_options *opts) { return tk__capi ? tk__capi->init(opts) : TK_EDISABLED; }
int tk_enabled(void) { return tk__capi ? tk__capi->enabled() : 0; }
const char *tk_segment_path(void) { return tk__capi ? tk__capi->segment_path() : ""; }
void tk_thread_name(const char *name)
{
    if (tk__capi)
        tk__capi->thread_name(name);
}
void tk_thread_exit(void)
{
    if (tk__capi)
        tk__capi->thread_exit();
}
int tk_timer_register(const char *name, tk_timer_t **out)
{
    if (tk__capi)
        return tk__capi->timer_register(name, out);
    *out = (tk_timer_t *)(void *)&tk__capi_placeholder;
    return TK_EDISABLED;
}
tk_timer_t *tk_timer(const char *name)
{
    tk_timer_t *t;
    int rc = tk_timer_register(name, &t);
    if (rc && rc != TK_EDISABLED)
        fprintf(stderr, "timekeeper: timer '%.60s': %s; its records go to '(invalid)'\n",
                name ? name : "(null)", tk_strerror(rc));
    return t;
}
const char *tk_timer_name(const tk_timer_t *t)
{
    if (!t)
        return "(null)";
    if (!tk__capi || t == (const tk_timer_t *)(const void *)&tk__capi_placeholder)
        return "(invalid)";
    return tk__capi->timer_name(t);
}
void tk_record(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin)
{
    if (tk__capi && t != (tk_timer_t *)(void *)&tk__capi_placeholder)
        tk__capi->record(t, start, stop, origin);
}
tk_label_t tk_label(const char *name) { return tk__capi ? tk__capi->label(name) : 0; }
void tk_point_at(tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,
                 uint64_t session, const char *context, size_t len)
{
    if (tk__capi)
        tk__capi->point_at(label, ticks, client, command, session, context, len);
}
void tk_point(tk_label_t label, uint64_t client, uint64_t command, uint64_t session,
              const char *context)
{
    if (tk__capi)
        tk__capi->point_at(label, tk_now(), client, command, session, context,
                           context ? strlen(context) : 0);
}
int tk_timing_text_enabled(void) { return tk__capi ? tk__capi->timing_text_enabled() : 0; }
#endif /* TK_CAPI_IMPLEMENT */

#endif
