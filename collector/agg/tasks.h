/* agg/tasks.h — async task metrics per task type, from TKC_EV_TASK events: the collector's one
 * implementation of the metric semantics (format/taskcalc.h's arithmetic, replayed per thread). */
#ifndef TKC_AGG_TASKS_H
#define TKC_AGG_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "agg/hist.h"
#include "core/events.h"
#include "format/segment.h"
#include "format/taskcalc.h"

/* ---- the TKC_EV_TASK event (emitted by core/decode-task.c) ---------------------------------------
 * Lifecycle events, one per TKS_REC_TASK record:
 *   name    the task type's name id ("func@file:line", a TKS_NAME_TASK name)
 *   ring    the thread (every event of a task comes from the ring of the thread that created it)
 *   sub     TKC_TASK_CREATED .. TKC_TASK_CANCELLED
 *   ticks   when; mono_ns: the same instant in CLOCK_MONOTONIC ns (durations are taken from it)
 *   a       task id (> 0), unique within (process, ring)
 *   b       TKC_TASK_CREATED: the parent's task id, low 40 bits (0: no parent); else 0
 *   c       the type index: the task type's accumulator in the ring's task region
 *   d       0
 * Exact totals, read from the producer's accumulators (tks_task_acc) and emitted after a record that
 * ends a task: four events with sub = TKC_TASK_TOTALS, ticks = mono_ns = 0, name and ring as
 * above, d = part | type index << 8, part 0..3 in this order (times in ns):
 *   part 0: a = created,      b = completed,         c = failed
 *   part 1: a = cancelled,    b = stillborn,         c = slices
 *   part 2: a = exec_ns,      b = children_exec_ns,  c = wall_ns
 *   part 3: a = max_slice_ns, b = max_exec_ns,       c = zombie
 * Part 3 completes a set; from then on these totals replace what the aggregator derived from the
 * ring's records for that (process, ring, type), whose records may have been overwritten. */
enum {
    TKC_TASK_CREATED = 1,
    TKC_TASK_RUNNING = 2,
    TKC_TASK_PAUSED = 3,
    TKC_TASK_COMPLETED = 4,
    TKC_TASK_FAILED = 5,
    TKC_TASK_CANCELLED = 6,
    TKC_TASK_TOTALS = 16,
};

/* The lifecycle event of TKS_REC_TASK record r of ring `ring` (mono_ns left 0: the caller
 * converts ticks). Returns 0, or -1 when r is not a valid task record. Can't fail otherwise. */
int tkc_task_event_from_record(const tks_record *r, uint32_t ring, tkc_event *e);

typedef struct tkc_tasks tkc_tasks;

/* A new, empty aggregator; NULL when out of memory. */
tkc_tasks *tkc_tasks_new(void);
/* Frees it; NULL is allowed. */
void tkc_tasks_free(tkc_tasks *ag);

/* Feeds one TKC_EV_TASK event of process proc_key; type_name is the name of e->name in that
 * process (used the first time a (process, ring, type) is seen). Events of other kinds are
 * ignored. Returns 0, or -1 when out of memory (the event is dropped and counted). Events out of
 * order are counted (zombie, orphan, inconsistent), never fatal. Not thread-safe (one caller). */
int tkc_tasks_event(tkc_tasks *ag, uint64_t proc_key, const char *type_name, const tkc_event *e);
/* Forgets the live tasks of a process that is gone; its totals stay. Can't fail. */
void tkc_tasks_proc_gone(tkc_tasks *ag, uint64_t proc_key);

/* ---- the read API (for report, list, serve) ---------------------------------------------------- */
/* One task type's metrics, summed over processes and threads. Times in ns. */
typedef struct tkc_task_row {
    const char *name;              /* "func@file:line" as registered */
    char func[56];                 /* split from name */
    char file[56];
    unsigned line;                 /* 0: unknown */
    tkt_totals t;                  /* created, completed, failed, cancelled, stillborn, slices,
                                    * exec, children_exec, wall, max_slice, max_exec, zombie */
    uint64_t exec_with_children;   /* t.exec + t.children_exec */
    uint64_t calls;                /* completed + failed + cancelled */
    uint64_t in_flight;
    const hist *slice_hist;        /* slice exec (ns) of the slices read from rings */
    const hist *wall_hist;         /* wall (ns) of the tasks whose end was read from rings */
} tkc_task_row;

/* Fills rows[0, cap) with the task types, sorted by exec_with_children (largest first, then by
 * name), and returns how many types there are (may exceed cap). The pointers stay valid until the
 * next tkc_tasks_event / proc_gone / free. Can't fail. */
size_t tkc_tasks_rows(tkc_tasks *ag, tkc_task_row *rows, size_t cap);
/* Sums rows [k, n) into *other (an `other` bucket after the top k: sums stay true). Can't fail. */
void tkc_tasks_other(const tkc_task_row *rows, size_t n, size_t k, tkt_totals *other);

/* Counts of events the aggregator could not use as they were. */
typedef struct tkc_tasks_stats {
    uint64_t events;
    uint64_t orphan;        /* for a task whose creation was never read (before attach, overwritten) */
    uint64_t inconsistent;  /* out of order (repaired: the running stack was unwound) */
    uint64_t dropped;       /* out of memory */
    uint64_t live_tasks;    /* tasks known and not finished */
} tkc_tasks_stats;
void tkc_tasks_get_stats(const tkc_tasks *ag, tkc_tasks_stats *out);

/* The aggregator as a pipeline consumer (agg/tasks-consumer.c): its `event` and `proc_gone`
 * callbacks feed ag. */
tkc_consumer tkc_tasks_consumer(tkc_tasks *ag);

#endif
