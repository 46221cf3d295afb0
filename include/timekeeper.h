/* timekeeper.h — the one public header of libtimekeeper: always-on, production-safe timing.
 *
 * The program stamps raw hardware-counter ticks (tk_now) and records spans and labeled points into
 * a per-thread lock-free ring in a shared-memory segment. A separate `timekeeper` collector reads the
 * rings, converts ticks to nanoseconds and aggregates. Recording never blocks, never allocates after
 * a thread's first record, never takes a lock and never reads collector state.
 *
 * Quick start:
 *     static tk_timer_t *t;
 *     if (!t) t = tk_timer("parse");
 *     uint64_t s = tk_now();
 *     parse(msg);
 *     tk_record(t, s, tk_now(), 0);
 *
 * Environment (read once, at the first call into the library; a bad value prints one line on stderr
 * and the default is used):
 *     TK_DIR          directory of segments (default /dev/shm; set but empty: recording is off)
 *     TK_RING_SIZE    records per thread ring, a power of two in [1024, 16777216] (default 65536)
 *     TK_MAX_THREADS  rings per process, [1, 4096] (default 128)
 *     TK_DISABLE      1/yes/true/on (any case): recording becomes one predictable branch, no
 *                     segment is created; 0/no/false/off: recording (the default)
 *     TK_CLOCK        tsc | monotonic (default: tsc when an invariant TSC is advertised)
 *     TK_TIMING       1: labeled points are also written as TIMING text lines (see tk_point)
 *     TK_TIMING_FILE  file for those lines instead of stderr
 *
 * The segment directory must belong to this user (or root) and, when others may write to it, be
 * sticky (as /dev/shm is); otherwise, or when TK_DIR is too long for a path, nothing is recorded and
 * one line says why. TIMING lines never block the program: a line that a full pipe can't take at
 * once is dropped and counted (tk_health).
 */
#ifndef TIMEKEEPER_H
#define TIMEKEEPER_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TK_BUILDING_LIBRARY)
#define TK_API __attribute__((visibility("default")))
#else
#define TK_API
#endif

#define TK_VERSION_MAJOR 0
#define TK_VERSION_MINOR 1
#define TK_VERSION_PATCH 0
#define TK_VERSION_NUMBER (TK_VERSION_MAJOR * 10000 + TK_VERSION_MINOR * 100 + TK_VERSION_PATCH)

#define TK_LIKELY(x) __builtin_expect(!!(x), 1)
#define TK_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- errors: 0 or a negative code, never a "last error" state ---------------------------------- */
#define TK_ERRNO_MAP(XX)                                                                 \
    XX(EINVAL, -1, "invalid argument")                                                   \
    XX(ENOMEM, -2, "out of memory")                                                      \
    XX(EFULL, -3, "name table full")                                                     \
    XX(ENAMETOOLONG, -4, "name too long")                                                \
    XX(ESEGMENT, -5, "cannot create the shared-memory segment")                          \
    XX(EDISABLED, -6, "recording is disabled")                                           \
    XX(ENORING, -7, "every ring of this process is owned by a live thread")              \
    XX(EALREADY, -8, "already initialised")

typedef enum {
#define TK_XX(name, value, text) TK_##name = value,
    TK_ERRNO_MAP(TK_XX)
#undef TK_XX
} tk_errno_t;

/* Text of an error code ("unknown error" for an unknown one). Thread-safe, can't fail. */
TK_API const char *tk_strerror(int err);

/* Runtime version (TK_VERSION_NUMBER of the library actually linked). */
TK_API unsigned tk_version(void);

/* ---- clock ------------------------------------------------------------------------------------- */
typedef enum {
    TK_CLOCK_UNINIT = 0,
    TK_CLOCK_TSC = 1,       /* x86-64 rdtsc, invariant TSC advertised by CPUID */
    TK_CLOCK_CNTVCT = 2,    /* aarch64 virtual counter */
    TK_CLOCK_MONOTONIC = 3, /* CLOCK_MONOTONIC nanoseconds */
} tk_clock_t;

/* Private: the clock chosen at init. Read by tk_now(); do not write. */
extern TK_API volatile int tk__clock_source;
TK_API uint64_t tk__now_slow(void);

/* Raw ticks of the process's clock: ~7-25 ns, never blocks, thread-safe. Convert with
 * tk_ticks_to_ns() in the process, or let the collector convert. Not serialising: on x86-64 the
 * counter read may be reordered with nearby loads by a few cycles. */
static inline uint64_t tk_now(void)
{
#if defined(__x86_64__)
    if (TK_LIKELY(tk__clock_source == TK_CLOCK_TSC))
        return __rdtsc();
#elif defined(__aarch64__)
    if (TK_LIKELY(tk__clock_source == TK_CLOCK_CNTVCT)) {
        uint64_t v;
        __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
        return v;
    }
#endif
    return tk__now_slow();
}

/* The clock in use (initialises the library if needed). */
TK_API tk_clock_t tk_clock_source(void);
/* Ticks to CLOCK_MONOTONIC nanoseconds, from this process's latest calibration. Thread-safe. */
TK_API uint64_t tk_ticks_to_ns(uint64_t ticks);
/* Estimated ticks per second. */
TK_API double tk_ticks_per_second(void);

/* ---- lifetime ------------------------------------------------------------------------------------ */
typedef struct tk_options {
    const char *dir;         /* NULL: TK_DIR or /dev/shm */
    uint32_t ring_size;      /* 0: TK_RING_SIZE or 65536 */
    uint32_t max_threads;    /* 0: TK_MAX_THREADS or 128 */
    int disable;             /* nonzero: record nothing (as TK_DISABLE=1) */
    int clock;               /* 0: automatic; else a tk_clock_t */
} tk_options;

/* Initialises the library explicitly (otherwise the first call does it with the environment).
 * Returns 0, TK_EALREADY when already initialised, TK_EINVAL when opts is invalid,
 * TK_ENAMETOOLONG when the directory is too long for a path, TK_ESEGMENT when the segment can't be
 * created (a directory refused, no space for its header, ...). On failure one line on stderr says
 * why and recording is disabled; the program goes on. Thread-safe. */
TK_API int tk_init(const tk_options *opts);
/* Nonzero when records are being kept. */
TK_API int tk_enabled(void);
/* Path of this process's segment ("" when none). */
TK_API const char *tk_segment_path(void);
/* Names this thread (up to 15 bytes shown) in its ring; call before or after its first record. */
TK_API void tk_thread_name(const char *name);
/* Releases the calling thread's ring now (it is also released when the thread exits). Records stay
 * readable until a collector has drained them. */
TK_API void tk_thread_exit(void);

/* ---- timers -------------------------------------------------------------------------------------- */
typedef struct tk_timer tk_timer_t;

#define TK_NAME_MAX 55 /* bytes of a timer or label name */

/* Gets or registers the timer `name` (1..TK_NAME_MAX bytes, printable ASCII). Thread-safe; the same
 * name gives the same pointer, so cache it. Never returns NULL: on failure (bad name, table full)
 * it returns the shared "(invalid)" timer, whose records the collector shows under that name, and
 * prints one line on stderr. Use tk_timer_register() to get the error code instead. */
TK_API tk_timer_t *tk_timer(const char *name);
/* As tk_timer(), returning 0 or TK_EINVAL / TK_ENAMETOOLONG / TK_EFULL; *out is always set. */
TK_API int tk_timer_register(const char *name, tk_timer_t **out);
/* The name a timer was registered with. */
TK_API const char *tk_timer_name(const tk_timer_t *t);

/* Records one span: processing time stop - start and, when origin != 0, latency start - origin.
 * All three are tk_now() ticks. Cost: one fixed-size 32-byte record written to this thread's ring
 * and one index published (a few ns; `timekeeper calibrate` measures it). The first record of a
 * thread claims its ring (one-time, takes a lock). Thread-safe, never blocks. */
TK_API void tk_record(tk_timer_t *t, uint64_t start, uint64_t stop, uint64_t origin);

/* A running span: tk_start() then tk_stop(). */
typedef struct tk_span {
    tk_timer_t *timer;
    uint64_t start;
    uint64_t origin;
} tk_span_t;

static inline tk_span_t tk_start(tk_timer_t *t) { tk_span_t s = {t, tk_now(), 0}; return s; }
static inline tk_span_t tk_start_from(tk_timer_t *t, uint64_t origin)
{
    tk_span_t s = {t, tk_now(), origin};
    return s;
}
static inline void tk_stop(tk_span_t *s) { tk_record(s->timer, s->start, tk_now(), s->origin); }

/* TK_SCOPE(name): times the enclosing block (gcc/clang cleanup attribute). The timer is looked up
 * once per call site. */
static inline void tk__scope_end(tk_span_t *s) { tk_stop(s); }
#define TK__CAT2(a, b) a##b
#define TK__CAT(a, b) TK__CAT2(a, b)
#define TK_SCOPE(name)                                                                       \
    static tk_timer_t *TK__CAT(tk__scope_timer_, __LINE__);                                  \
    if (TK_UNLIKELY(!TK__CAT(tk__scope_timer_, __LINE__)))                                   \
        TK__CAT(tk__scope_timer_, __LINE__) = tk_timer(name);                                \
    tk_span_t TK__CAT(tk__scope_, __LINE__) __attribute__((cleanup(tk__scope_end), unused)) = \
        tk_start(TK__CAT(tk__scope_timer_, __LINE__))

/* TK_TIME(name, expr): evaluates expr (any expression or call) and records its processing time. */
#define TK_TIME(name, expr)                                                                  \
    do {                                                                                     \
        static tk_timer_t *tk__t_;                                                           \
        if (TK_UNLIKELY(!tk__t_))                                                            \
            tk__t_ = tk_timer(name);                                                         \
        uint64_t tk__s_ = tk_now();                                                          \
        (void)(expr);                                                                        \
        tk_record(tk__t_, tk__s_, tk_now(), 0);                                              \
    } while (0)

/* ---- dressed messages ------------------------------------------------------------------------- */
/* A small header a program embeds in its own messages. tk_origin_stamp() marks a message that
 * enters the program (origin = now); tk_origin_inherit() copies the origin into every message
 * derived from it; tk_origin_receive() opens the processing span of an actor receiving a message and
 * tk_origin_done() closes it, recording latency (receive - origin) and processing time in one call. */
typedef struct tk_origin {
    uint64_t origin; /* tk_now() ticks when the input entered the program; 0 = unknown */
} tk_origin_t;

static inline void tk_origin_stamp(tk_origin_t *o) { o->origin = tk_now(); }
static inline void tk_origin_inherit(tk_origin_t *derived, const tk_origin_t *cause)
{
    derived->origin = cause->origin;
}
static inline tk_span_t tk_origin_receive(tk_timer_t *t, const tk_origin_t *o)
{
    return tk_start_from(t, o->origin);
}
static inline void tk_origin_done(tk_span_t *s) { tk_stop(s); }

/* ---- labeled points ----------------------------------------------------------------------------- */
/* A label names a point in the program ("PY_BEFORE_SELECT"). 0 is never a valid label. */
typedef uint32_t tk_label_t;
#define TK_ID_NONE UINT64_MAX /* an unknown client/command/session id, written as "-" */
#define TK_CONTEXT_MAX 72     /* context bytes kept in the ring (the TIMING line keeps 1024) */

/* Gets or registers a label (same rules as tk_timer). Returns 0 on failure. Thread-safe. */
TK_API tk_label_t tk_label(const char *name);
/* Records a point: label, now, three correlation ids (TK_ID_NONE when unknown) and an optional
 * short context ("k=v,k2=v2", may be NULL). With TK_TIMING=1 also writes one TIMING line. */
TK_API void tk_point(tk_label_t label, uint64_t client, uint64_t command, uint64_t session,
                     const char *context);
/* As tk_point with an explicit tick and a context of `len` bytes (not NUL-terminated). */
TK_API void tk_point_at(tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,
                        uint64_t session, const char *context, size_t len);
/* Nonzero when TK_TIMING text output is on. */
TK_API int tk_timing_text_enabled(void);

/* ---- counters, gauges and stage switches -------------------------------------------------------- */
/* (the section of counters, gauges and stages) */


/* ---- async task profiling ----------------------------------------------------------------------- */
/* (the section of task types and their lifecycle) */


/* ---- per-component timing ------------------------------------------------------------------------ */
/* An event-processing program runs a sequence of named components (processors) through the same
 * callbacks: process start and end, file open and close, before a new run and at a new run, and
 * the processing of each event. A tk_sequence_t calls them in order and times every call of every
 * callback of every component, and `__ALL__` around the whole sequence for each callback, into this
 * thread's ring (one 32-byte record per call). `absolute` times the whole run: from the start of
 * process start to the end of process end. Repeated callbacks (several files, several runs) are
 * all kept. `timekeeper record` stores them (docs/recording-schema.md: tables calls and events).
 *
 * Per event, a component that returns nonzero aborts the event: the components after it are not
 * called, the event is recorded with completed = false, and every timer keeps what it measured
 * (the aborting component its real time, __ALL__ the time up to the abort); nothing is reset.
 *
 *     static int reco(void *ctx, uint64_t event) { ...; return 0; }
 *     tk_sequence_t *seq;
 *     tk_sequence_create(&seq);
 *     tk_component_ops ops = {.event = reco};
 *     tk_sequence_add(seq, "reco", &ops, NULL);
 *     tk_sequence_call(seq, TK_CB_PROCESS_START, 0);
 *     for (...) tk_sequence_call(seq, TK_CB_EVENT, event_number);
 *     tk_sequence_call(seq, TK_CB_PROCESS_END, 0);
 */
typedef enum {
    TK_CB_PROCESS_START = 0,
    TK_CB_PROCESS_END = 1,
    TK_CB_FILE_OPEN = 2,      /* arg: the file's number */
    TK_CB_FILE_CLOSE = 3,     /* arg: the file's number */
    TK_CB_BEFORE_NEW_RUN = 4, /* arg: the run number */
    TK_CB_NEW_RUN = 5,        /* arg: the run number */
    TK_CB_EVENT = 6,          /* arg: the event number */
} tk_callback_t;

/* A callback: ctx is the component's, arg the number above (0 for process start and end). Returns
 * 0, or nonzero: for TK_CB_EVENT that aborts the event; for the others it is recorded (status 1)
 * and the sequence goes on. */
typedef int (*tk_callback_fn)(void *ctx, uint64_t arg);

/* A component's callbacks; NULL: the component does nothing there (no call, no record). */
typedef struct tk_component_ops {
    tk_callback_fn process_start, process_end;
    tk_callback_fn file_open, file_close;
    tk_callback_fn before_new_run, new_run;
    tk_callback_fn event;
} tk_component_ops;

typedef struct tk_sequence tk_sequence_t;

#define TK_SEQUENCE_MAX_COMPONENTS 64 /* components of one sequence */
#define TK_SEQUENCE_MAX 256           /* sequences of one process */

/* Creates an empty sequence (allocates; at setup, not on a hot path). Sequences are numbered in
 * the order of creation (0, 1, ...), the number the records and the recording carry. Returns 0,
 * TK_ENOMEM, or TK_EFULL after TK_SEQUENCE_MAX sequences (*out is NULL then). Thread-safe. */
TK_API int tk_sequence_create(tk_sequence_t **out);
/* Appends component `name` (the rules of tk_timer names; "__ALL__" is reserved) with its callbacks
 * (copied) and ctx. Returns 0, TK_EINVAL (bad name, "__ALL__", a name already in the sequence, a
 * sequence already started), TK_ENAMETOOLONG, TK_EFULL (TK_SEQUENCE_MAX_COMPONENTS, or the name
 * table). Not thread-safe against other calls on the same sequence. */
TK_API int tk_sequence_add(tk_sequence_t *s, const char *name, const tk_component_ops *ops,
                           void *ctx);
/* Runs callback cb of every component in order, timing each one and __ALL__ around them.
 * Cost per component: two tk_now() and one record (a few ns), plus the callback itself. Process
 * start begins `absolute` and process end records it. Returns 0 when every callback returned 0, 1
 * when one returned nonzero (for TK_CB_EVENT: the event was aborted), TK_EINVAL for a bad cb. The
 * callbacks run even when recording is disabled. One thread at a time per sequence. */
TK_API int tk_sequence_call(tk_sequence_t *s, tk_callback_t cb, uint64_t arg);
/* The sequence's number (its order of creation). */
TK_API unsigned tk_sequence_index(const tk_sequence_t *s);
/* Frees a sequence (NULL is allowed). Its records stay in the ring. */
TK_API void tk_sequence_free(tk_sequence_t *s);


/* ---- production safety ---------------------------------------------------------------------------- */
/* The library never makes the program pay for its own failures: the segment's space is reserved
 * before it is written (a full filesystem drops records, never raises SIGBUS), every lock it owns
 * is carried over fork(), a failure is remembered (one line on stderr) and later calls that would
 * fail again cost a flag test, and TIMING text lines are never waited for (a line a full pipe can't
 * take now is dropped). What was dropped is counted, by reason, here and in the segment's header
 * (docs/segment-format.md, `health`), where a collector shows it. */
typedef struct tk_health {
    uint64_t dropped_no_ring;   /* records: every ring was owned by a live thread (TK_MAX_THREADS) */
    uint64_t dropped_no_space;  /* records: no space on the filesystem for the thread's ring */
    uint64_t dropped_name_full; /* points whose label is 0 while the name table is full */
    uint64_t names_refused;     /* timer/label registrations refused: the name table is full */
    uint64_t timing_dropped;    /* TIMING lines dropped: the output would have blocked */
    uint64_t dropped_no_segment; /* records: the segment could not be created (no header in a
                                    collector's view; only this process can tell) */
    uint32_t rings_no_space;    /* threads that found no space for a ring */
    uint32_t flags;             /* 1 no space seen, 2 name table full, 4 TIMING lines dropped */
} tk_health_t;

/* Fills *out with this process's drop counters (relaxed reads; all zero before the first call into
 * the library). Thread-safe, never blocks, can't fail. */
TK_API void tk_health(tk_health_t *out);


#ifdef __cplusplus
}
#endif
#endif
