/* internal.h — state shared by the files of libtimekeeper (the producer side). Not installed. */
#ifndef TK_LIB_INTERNAL_H
#define TK_LIB_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "format/segment.h"
#include <timekeeper.h>

#define TK_HIDDEN __attribute__((visibility("hidden")))
/* for the few hot-path helpers whose call would cost more than their body, at every -O level */
#define TK_ALWAYS_INLINE __attribute__((always_inline))
#define TK_DEFAULT_RING_SIZE TKS_DEFAULT_RING_CAPACITY
#define TK_DEFAULT_MAX_THREADS TKS_DEFAULT_MAX_RINGS
#define TK_MAX_NAMES TKS_DEFAULT_MAX_NAMES

struct tk_timer {
    uint32_t id;
    char name[TKS_NAME_LEN_MAX + 1];
};

/* The producer's view of one ring: where its parts are in the mapping, and the writer's private
 * copy of head (the writer never reads shared state it does not own). */
typedef struct tk__ring {
    tks_ring_header *hdr;
    uint64_t *counters;   /* per-name record counts, max_names entries */
    tks_record *slots;
    uint64_t *values;     /* counter totals by name id, written by the owner only (counter.c) */
    uint64_t mask;
    uint64_t head;        /* == hdr->head, kept locally */
    uint32_t index;
    uint64_t task_next;   /* the last task id given on this ring (lib/task.c) */
} tk__ring;

/* Process-wide state. Written under `lock` during init, claims and registration only. */
typedef struct tk__state {
    pthread_mutex_t lock;
    int initialized;
    tks_header *hdr;
    size_t size;
    int fd;               /* the segment, open for its life: holds the life lock (-1: none) */
    tks_health *health;   /* the header's health counters, or a process-local copy without one */
    char path[PATH_MAX];
    char dir[PATH_MAX];
    uint32_t ring_capacity;
    uint32_t max_rings;
    uint32_t max_names;
    tk__ring *rings;      /* max_rings entries */
    uint64_t release_gen; /* incremented whenever a ring is released */
    double ns_per_tick_guess;
    int timing_fd;        /* -1: TIMING text off; never blocks (see tk__timing_open) */
    int timing_sock;      /* 1: timing_fd is a socket, written with MSG_DONTWAIT */
    int names_full;       /* atomic: the name table filled up; registrations fail at once */
    int start_failed;     /* atomic: a segment was wanted but could not be made: records are counted */
    uint64_t dropped_no_segment; /* atomic: records dropped because start_failed */
    int64_t *gauges;      /* gauge values and stage states by name id (counter.c), NULL: none */
} tk__state;

extern TK_HIDDEN tk__state tk__g;
extern TK_HIDDEN int tk__enabled;
extern TK_HIDDEN __thread tk__ring *tk__tls_ring __attribute__((tls_model("initial-exec")));

/* Initialises from the environment if nobody did; returns 0 or a TK_E* code. Thread-safe. */
TK_HIDDEN int tk__ensure_init(void);
/* Claims a ring for the calling thread; NULL when none is free (the record is counted as dropped). */
TK_HIDDEN tk__ring *tk__ring_claim(void);
/* Registers (or finds) a name of the given kind; returns its id (> 0) or a TK_E* code. */
TK_HIDDEN int tk__name_register(const char *name, int kind, int allow_space);
/* Copies the process's names into a segment's name table; returns how many (lock held). */
TK_HIDDEN uint32_t tk__names_copy(tks_name *table, uint32_t max);
/* The name of id (any kind), "?" when out of range. */
TK_HIDDEN const char *tk__name_of(uint32_t id);
/* The kind of name id (TKS_NAME_*), TKS_NAME_FREE when out of range. */
TK_HIDDEN int tk__name_kind(uint32_t id);
/* Takes one calibration sample into the header (calibration thread and init only). */
TK_HIDDEN void tk__calibrate_sample(tks_header *h);
/* The calibration lock, for the fork handlers (taken after tk__g.lock, never before it). */
TK_HIDDEN void tk__calib_lock_acquire(void);
TK_HIDDEN void tk__calib_lock_release(void);
/* Picks the clock source (CPUID / environment). */
TK_HIDDEN int tk__clock_detect(const char *env_clock);
TK_HIDDEN uint64_t tk__mono_ns(void);
TK_HIDDEN uint64_t tk__real_ns(void);
/* Publishes the task types registered so far into a new segment's type table (lock held). */
TK_HIDDEN void tk__task_types_copy(tks_header *h);
/* Adds n to a health counter (relaxed atomic; the header's or the process-local one). */
#define TK__HEALTH_ADD(field, n) __atomic_fetch_add(&tk__g.health->field, (n), __ATOMIC_RELAXED)
/* The disabled branch of a record: counts the record when recording was wanted but the segment
 * could not be made (cost there: one more load and a branch not taken under TK_DISABLE=1). */
static inline void tk__drop_disabled(void)
{
    if (TK_UNLIKELY(__atomic_load_n(&tk__g.start_failed, __ATOMIC_RELAXED)))
        __atomic_fetch_add(&tk__g.dropped_no_segment, 1, __ATOMIC_RELAXED);
}
/* Sets a health flag; returns nonzero when this call set it first (so the caller tells stderr once). */
TK_HIDDEN int tk__health_flag_once(uint32_t flag);
/* Writes one formatted line (at most 511 bytes) to stderr without ever blocking: dropped when
 * stderr is a full pipe. Every line the library prints goes through here. */
TK_HIDDEN void tk__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Opens the TK_TIMING output so that a write never blocks; sets timing_fd (init, lock held). */
TK_HIDDEN void tk__timing_open(void);
/* Reads TK_DISABLE_STAGES (init, lock held; counter.c). */
TK_HIDDEN void tk__stages_init(void);
/* Publishes the stage states into a new segment's gauge slots (segment creation, lock held). */
TK_HIDDEN void tk__stages_publish(int64_t *gauges, uint32_t count);
/* Writes one TIMING line for a point (TK_TIMING=1). */
TK_HIDDEN void tk__timing_write(uint32_t label, uint64_t ticks, uint64_t client, uint64_t command,
                                uint64_t session, const char *ctx, size_t len);

#endif
