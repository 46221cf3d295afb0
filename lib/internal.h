/* internal.h — state shared by the files of libtimekeeper (the producer side). Not installed. */
#ifndef TK_LIB_INTERNAL_H
#define TK_LIB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "format/segment.h"
#include <timekeeper.h>

#define TK_HIDDEN __attribute__((visibility("hidden")))
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
    char path[512];
    char dir[256];
    uint32_t ring_capacity;
    uint32_t max_rings;
    uint32_t max_names;
    tk__ring *rings;      /* max_rings entries */
    uint64_t release_gen; /* incremented whenever a ring is released */
    double ns_per_tick_guess;
    int timing_fd;        /* -1: TIMING text off */
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
/* Takes one calibration sample into the header (calibration thread and init only). */
TK_HIDDEN void tk__calibrate_sample(tks_header *h);
/* Picks the clock source (CPUID / environment). */
TK_HIDDEN int tk__clock_detect(const char *env_clock);
TK_HIDDEN uint64_t tk__mono_ns(void);
TK_HIDDEN uint64_t tk__real_ns(void);
/* Publishes the task types registered so far into a new segment's type table (lock held). */
TK_HIDDEN void tk__task_types_copy(tks_header *h);
/* Writes one TIMING line for a point (TK_TIMING=1). */
TK_HIDDEN void tk__timing_write(uint32_t label, uint64_t ticks, uint64_t client, uint64_t command,
                                uint64_t session, const char *ctx, size_t len);

#endif
