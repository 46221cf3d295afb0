/* core/events.h — the typed events the collector core emits, and the consumer interface that
 * receives them. The core scans, attaches, validates, drains and accounts for loss; it never
 * aggregates. Everything downstream (aggregation, analysis, raw sinks) is a consumer. */
#ifndef TKC_EVENTS_H
#define TKC_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define TKC_NONE UINT64_MAX /* an absent value (a latency without origin, an unknown id) */

typedef enum { TKC_PROC_LIVE = 0, TKC_PROC_EXITED = 1 } tkc_proc_state;

/* How a process ended, as far as its segment tells. */
typedef enum {
    TKC_EXIT_NONE = 0,    /* still running */
    TKC_EXIT_NORMAL = 1,  /* the library marked a normal exit */
    TKC_EXIT_KILLED = 2,  /* gone without the mark: killed or crashed */
} tkc_exit_kind;

/* One instrumented process (one segment), as the core sees it. Public read-only: consumers read
 * these fields, only the core writes them. Valid from proc_appeared until proc_gone. */
typedef struct tkc_proc {
    uint64_t key;                 /* unique within one core's life: keys a consumer's tables */
    const char *path;             /* the segment file */
    const char *name;             /* the process name (printable ASCII) */
    const char *cmdline;          /* its arguments, separated by spaces (printable ASCII) */
    int pid;                      /* as the producer saw it (its own PID namespace) */
    unsigned uid;
    tkc_proc_state state;
    tkc_exit_kind exit_kind;
    int clock_source;             /* tk_clock_t */
    uint32_t minor_version;       /* the producer's TKS_MINOR_VERSION */
    uint64_t features;            /* header feature bits the producer set */
    uint64_t start_real_ns, start_mono_ns;
    uint64_t exit_mono_ns;        /* the producer's normal exit, 0: none */
    uint64_t heartbeat_mono_ns;   /* refreshed by the producer about once a second */
    uint64_t last_record_mono_ns; /* the newest record read from any ring, 0: none */
    uint64_t attach_mono_ns;      /* when this core attached */
    uint64_t dropped_no_ring;     /* records the producer dropped: no ring was free */
    uint64_t dropped_no_space;    /* ... no room in the file system for the thread's ring */
    uint64_t dropped_names_full;  /* points dropped: the name table was full */
    uint64_t names_refused;       /* names the producer could not register (table full) */
    uint64_t timing_dropped;      /* TIMING text lines dropped rather than waited for */
    uint64_t unknown_records;     /* records of a type (or name kind) this collector does not know */
    uint64_t corrupt_records;     /* records that broke the format (skipped) */
    uint64_t points;              /* labeled points read */
    uint64_t records;             /* records read */
    uint32_t rings_used;          /* rings ever claimed */
    uint32_t names_known;         /* names [0, names_known) were read */
} tkc_proc;

/* A span: one timer record. Ticks are raw; dur_ns and lat_ns are converted at the process's rate. */
typedef struct tkc_span {
    uint32_t name;      /* timer name id (tkc_proc_name) */
    uint32_t ring;      /* the ring, i.e. the thread (tkc_proc_thread) */
    uint64_t start, stop, origin; /* ticks; origin 0: none */
    uint64_t dur_ns;    /* stop - start, 0 when stop < start */
    uint64_t lat_ns;    /* start - origin, TKC_NONE without origin */
} tkc_span;

/* A labeled point. context is valid during the callback only. */
typedef struct tkc_point {
    uint32_t label;     /* label name id */
    uint32_t ring;
    uint32_t tid;
    uint64_t ticks;
    uint64_t mono_ns;   /* CLOCK_MONOTONIC */
    uint64_t client, command, session; /* TKC_NONE: unknown */
    const char *context;
    size_t context_len;
} tkc_point;

/* Why records were lost. */
typedef enum {
    TKC_LOSS_OVERWRITTEN = 0, /* a ring overwrote them before this collector first read it:
                               * normal for a flight recorder nobody was reading */
    TKC_LOSS_LAPPED = 1,      /* a ring overwrote them while this collector was attached: an
                               * overrun (drain more often or raise TK_RING_SIZE) */
    TKC_LOSS_NO_RING = 2,     /* the producer had no free ring for the thread */
    TKC_LOSS_NO_SPACE = 3,    /* the producer could not reserve space in the segment */
    TKC_LOSS_NAMES_FULL = 4,  /* the producer's name table was full */
    TKC_LOSS_REASONS = 5,
} tkc_loss_reason;

/* A change in a loss count. name is the name id whose records were lost, UINT32_MAX when the loss
 * is not of one name. count may be negative: a correction of an earlier estimate (exact totals are
 * the sums of all deltas). */
typedef struct tkc_loss {
    uint32_t name;
    uint32_t ring;
    tkc_loss_reason reason;
    int64_t count;
} tkc_loss;

/* Event kinds beyond spans, points and losses: decoded by their own decoder (core/decode-*.c). */
typedef enum {
    TKC_EV_COUNTER = 1,   /* a counter's new total */
    TKC_EV_GAUGE = 2,     /* a gauge's new value */
    TKC_EV_TASK = 3,      /* a task lifecycle event */
    TKC_EV_COMPONENT = 4, /* a component callback or event */
} tkc_event_kind;

typedef struct tkc_event {
    tkc_event_kind kind;
    uint32_t name;        /* the name id of the counter, gauge, task type or component */
    uint32_t ring;
    uint32_t sub;         /* kind-specific: task transition, component callback, ... */
    uint64_t ticks;       /* when */
    uint64_t mono_ns;
    uint64_t a, b, c, d;  /* kind-specific payload, documented by the decoder */
} tkc_event;

/* A consumer of the event stream. Every callback may be NULL. Callbacks run on the thread that
 * calls tkc_core_drain()/tkc_core_scan(), in the order the core reads records: per ring in
 * record order; rings of one process one after another. */
typedef struct tkc_consumer {
    void *ctx;
    void (*proc_appeared)(void *ctx, const tkc_proc *p);
    void (*proc_exited)(void *ctx, const tkc_proc *p);  /* drained to its last record */
    void (*proc_gone)(void *ctx, const tkc_proc *p);    /* about to be freed: drop references */
    void (*names)(void *ctx, const tkc_proc *p, uint32_t first, uint32_t end); /* new names */
    void (*spans)(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n);
    void (*point)(void *ctx, const tkc_proc *p, const tkc_point *pt);
    void (*loss)(void *ctx, const tkc_proc *p, const tkc_loss *l);
    void (*event)(void *ctx, const tkc_proc *p, const tkc_event *e);
    void (*drained)(void *ctx, uint64_t now_mono_ns); /* one drain pass over every process ended */
} tkc_consumer;

/* CLOCK_MONOTONIC now, in ns. Can't fail. */
uint64_t tkc_now_ns(void);

/* ---- process accessors (also valid inside callbacks) ------------------------------------------- */
/* The name with id (printable ASCII, at most 55 bytes), "" when unknown. Can't fail. */
const char *tkc_proc_name(const tkc_proc *p, uint32_t id);
/* The kind of name id (TKS_NAME_*), 0 when unknown. */
int tkc_proc_name_kind(const tkc_proc *p, uint32_t id);
/* The thread behind ring: its kernel tid and name ("" when unnamed). Returns 0, or -1 when ring is
 * out of range. */
int tkc_proc_thread(const tkc_proc *p, uint32_t ring, uint32_t *tid, const char **name);
/* Ticks of p to CLOCK_MONOTONIC ns, CLOCK_MONOTONIC ns to CLOCK_REALTIME ns. Can't fail. */
uint64_t tkc_proc_mono_ns(const tkc_proc *p, uint64_t ticks);
uint64_t tkc_proc_real_ns(const tkc_proc *p, uint64_t mono_ns);
/* ns per tick of p's clock, as the core estimates it now. */
double tkc_proc_ns_per_tick(const tkc_proc *p);
/* Records lost so far in p, summed over names and rings, for one reason. */
uint64_t tkc_proc_lost(const tkc_proc *p, tkc_loss_reason reason);

#endif
