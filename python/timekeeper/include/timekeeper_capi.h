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

/* The C API offered through the capsule, as one list that every side expands: the table below, its
 * filling in timekeeper._timekeeper, and the forwarding functions of TK_CAPI_IMPLEMENT. Adding a
 * function is one line here, appended at the end (members are only ever appended).
 *   TK_CAPI_FN(ret, name, params, args, fallback): forwarded as `api->name args`, or `fallback`
 *       (an expression of type ret) before tk_capi_import() succeeds;
 *   TK_CAPI_VOID(name, params, args): the same for a function returning void (a no-op before);
 *   TK_CAPI_OWN(ret, name, params): in the table, but its forwarding function is written by hand
 *       below (it has something to do besides forwarding). */
#define TK_CAPI_LIST(TK_CAPI_FN, TK_CAPI_VOID, TK_CAPI_OWN)                                          \
    TK_CAPI_FN(const char *, tk_strerror, (int err), (err), "unknown error")                         \
    TK_CAPI_OWN(uint64_t, tk__now_slow, (void))                                                      \
    TK_CAPI_FN(tk_clock_t, tk_clock_source, (void), (), TK_CLOCK_MONOTONIC)                          \
    TK_CAPI_FN(uint64_t, tk_ticks_to_ns, (uint64_t ticks), (ticks), ticks)                           \
    TK_CAPI_FN(double, tk_ticks_per_second, (void), (), 1e9)                                         \
    TK_CAPI_FN(int, tk_init, (const tk_options *opts), (opts), TK_EDISABLED)                         \
    TK_CAPI_FN(int, tk_enabled, (void), (), 0)                                                       \
    TK_CAPI_FN(const char *, tk_segment_path, (void), (), "")                                        \
    TK_CAPI_VOID(tk_thread_name, (const char *name), (name))                                         \
    TK_CAPI_VOID(tk_thread_exit, (void), ())                                                         \
    TK_CAPI_OWN(int, tk_timer_register, (const char *name, tk_timer_t **out))                        \
    TK_CAPI_OWN(const char *, tk_timer_name, (const tk_timer_t *t))                                  \
    TK_CAPI_OWN(void, tk_record, (tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin))    \
    TK_CAPI_FN(tk_label_t, tk_label, (const char *name), (name), 0)                                  \
    TK_CAPI_VOID(tk_point_at, (tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,  \
                               uint64_t session, const char *context, size_t len),                   \
                 (label, ticks, client, command, session, context, len))                             \
    TK_CAPI_FN(int, tk_timing_text_enabled, (void), (), 0)

#define TK__CAPI_MEMBER_FN(ret, name, params, args, fallback) ret(*name) params;
#define TK__CAPI_MEMBER_VOID(name, params, args) void(*name) params;
#define TK__CAPI_MEMBER_OWN(ret, name, params) ret(*name) params;

/* The table behind the capsule. `size` lets a newer consumer detect an older provider. One member
 * per function of TK_CAPI_LIST, named after it, in its order. */
typedef struct tk_capi {
    unsigned abi;  /* TK_CAPI_ABI of the provider */
    unsigned size; /* sizeof(tk_capi) of the provider */
    unsigned version; /* tk_version() of the library inside the provider */
    volatile int *clock_source; /* the provider's tk__clock_source */
    TK_CAPI_LIST(TK__CAPI_MEMBER_FN, TK__CAPI_MEMBER_VOID, TK__CAPI_MEMBER_OWN)
} tk_capi;

/* The provider's filling of the table (used by timekeeper._timekeeper, which links the library):
 *     static const tk_capi capi = { TK_CAPI_PROVIDER_INIT };                                     */
#define TK__CAPI_INIT_FN(ret, name, params, args, fallback) .name = name,
#define TK__CAPI_INIT_VOID(name, params, args) .name = name,
#define TK__CAPI_INIT_OWN(ret, name, params) .name = name,
#define TK_CAPI_PROVIDER_INIT                                                                    \
    .abi = TK_CAPI_ABI, .size = sizeof(tk_capi), .version = TK_VERSION_NUMBER,                   \
    .clock_source = &tk__clock_source,                                                           \
    TK_CAPI_LIST(TK__CAPI_INIT_FN, TK__CAPI_INIT_VOID, TK__CAPI_INIT_OWN)

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
    uint64_t t = api->tk__now_slow(); /* initialises the provider's library if needed */
    tk__clock_source = *api->clock_source;
    return t;
}

/* The forwarding functions of TK_CAPI_LIST: one indirect call each after the import. */
#define TK__CAPI_FWD_FN(ret, name, params, args, fallback)                                        \
    ret name params { return tk__capi ? tk__capi->name args : (fallback); }
#define TK__CAPI_FWD_VOID(name, params, args)                                                     \
    void name params                                                                              \
    {                                                                                             \
        if (tk__capi)                                                                             \
            tk__capi->name args;                                                                  \
    }
#define TK__CAPI_FWD_OWN(ret, name, params)
TK_CAPI_LIST(TK__CAPI_FWD_FN, TK__CAPI_FWD_VOID, TK__CAPI_FWD_OWN)

/* Derived on this side: not in the table. */
unsigned tk_version(void) { return tk__capi ? tk__capi->version : 0; }
int tk_timer_register(const char *name, tk_timer_t **out)
{
    if (tk__capi)
        return tk__capi->tk_timer_register(name, out);
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
    return tk__capi->tk_timer_name(t);
}
void tk_record(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin)
{
    if (tk__capi && t != (tk_timer_t *)(void *)&tk__capi_placeholder)
        tk__capi->tk_record(t, start, stop, origin);
}
void tk_point(tk_label_t label, uint64_t client, uint64_t command, uint64_t session,
              const char *context)
{
    if (tk__capi)
        tk__capi->tk_point_at(label, tk_now(), client, command, session, context,
                              context ? strlen(context) : 0);
}
#endif /* TK_CAPI_IMPLEMENT */

#endif
