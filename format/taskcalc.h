/* format/taskcalc.h — the arithmetic of async task metrics, header-only: one state machine used by
 * the producer (exact per-thread totals in the segment, tk_task_snapshot) and by the collector's
 * aggregator (replaying TKS_REC_TASK records), so the two can never disagree on what a metric is.
 *
 * Times are plain uint64 in one unit chosen by the caller (the producer uses ticks, the collector
 * nanoseconds). Nothing here allocates, locks or reads a clock.
 *
 * Definitions (docs/tasks.md says the same for people):
 *   slice              one run of a task, from `running` to `paused` (or to its end).
 *   nested time        the part of a slice during which another task ran on the same thread inside
 *                      it (a child started synchronously, a nested run of the loop): it belongs to
 *                      that other task, not to this one.
 *   exec               sum over a task's slices of (slice length - nested time).
 *   children_exec      sum of the exec of the task's direct children, counted as they run, also
 *                      after the parent finished (a child outliving its parent still adds to it).
 *   exec_with_children exec + children_exec.
 *   wall               finish - creation, counted when the task finishes.
 *   stillborn          finished (any outcome) without ever running.
 *   max_slice          the longest (slice length - nested time) of one slice.
 *   max_exec           the largest exec of one finished task.
 *   zombie             a lifecycle call on a task that already finished (counted, refused).
 *   parent             the task running on this thread (top of the running stack) when the task was
 *                      created; none when nothing was running.
 *
 * Totals are per task type and per thread; a task type's totals are the sums over threads (maxima:
 * the maximum). */
#ifndef TK_TASKCALC_H
#define TK_TASKCALC_H

#include <stddef.h>
#include <stdint.h>

/* Totals of one task type on one thread. The layout is also the segment's (tks_task_acc). */
typedef struct tkt_totals {
    uint64_t created;
    uint64_t completed, failed, cancelled; /* finished, by outcome */
    uint64_t stillborn;
    uint64_t slices;
    uint64_t exec;
    uint64_t children_exec;
    uint64_t wall;                         /* summed over finished tasks */
    uint64_t max_slice;
    uint64_t max_exec;
    uint64_t zombie;
} tkt_totals;

enum { TKT_CREATED = 1, TKT_RUNNING = 2, TKT_PAUSED = 3, TKT_DONE = 4 };
enum { TKT_COMPLETED = 0, TKT_FAILED = 1, TKT_CANCELLED = 2 };
/* Results of the transitions. */
enum { TKT_OK = 0, TKT_ESTATE = -1, TKT_EZOMBIE = -2 };

/* One task's state. */
typedef struct tkt_task {
    uint64_t id;
    uint64_t parent_id;         /* 0: none */
    uint64_t created;
    uint64_t slice_start;
    uint64_t nested;            /* nested time inside the current slice */
    uint64_t exec;
    struct tkt_task *outer;     /* the running task this one interrupted (running stack) */
    uint32_t type;              /* the caller's key of the task's type */
    uint32_t parent_type;       /* the parent's type, UINT32_MAX: no parent */
    uint32_t state;             /* TKT_* (0: never created) */
    uint32_t slices;
} tkt_task;

/* A thread's running stack: the innermost running task. */
typedef struct tkt_stack {
    tkt_task *top;
} tkt_stack;

static inline void tkt__max(uint64_t *m, uint64_t v)
{
    if (v > *m)
        *m = v;
}

/* A task is created: `parent` is the task the caller names as its parent (the producer passes the
 * stack top, the collector the recorded parent), NULL for none. Can't fail. */
static inline void tkt_created(tkt_task *t, uint64_t id, uint32_t type, const tkt_task *parent,
                               uint64_t now, tkt_totals *own)
{
    t->id = id;
    t->parent_id = parent ? parent->id : 0;
    t->parent_type = parent ? parent->type : UINT32_MAX;
    t->type = type;
    t->created = now;
    t->slice_start = t->nested = t->exec = 0;
    t->outer = NULL;
    t->state = TKT_CREATED;
    t->slices = 0;
    own->created++;
}

/* The task starts a slice (it becomes the innermost running task). TKT_ESTATE when it is already
 * running, TKT_EZOMBIE (counted in own->zombie) when it finished. */
static inline int tkt_running(tkt_stack *s, tkt_task *t, uint64_t now, tkt_totals *own)
{
    if (t->state == TKT_DONE) {
        own->zombie++;
        return TKT_EZOMBIE;
    }
    if (t->state != TKT_CREATED && t->state != TKT_PAUSED)
        return TKT_ESTATE;
    t->state = TKT_RUNNING;
    t->slice_start = now;
    t->nested = 0;
    t->outer = s->top;
    s->top = t;
    return TKT_OK;
}

/* Ends the current slice of t, which must be the innermost running task. `parent` receives the
 * slice's exec as children_exec (NULL: no parent, or its totals are unknown). */
static inline void tkt__slice_end(tkt_stack *s, tkt_task *t, uint64_t now, tkt_totals *own,
                                  tkt_totals *parent)
{
    uint64_t len = now > t->slice_start ? now - t->slice_start : 0;
    uint64_t mine = len > t->nested ? len - t->nested : 0;
    s->top = t->outer;
    if (t->outer)
        t->outer->nested += len; /* the whole slice, this task's own nested time included */
    t->outer = NULL;
    t->exec += mine;
    t->slices++;
    own->slices++;
    own->exec += mine;
    tkt__max(&own->max_slice, mine);
    if (parent)
        parent->children_exec += mine;
}

/* The task yields (awaits something). TKT_ESTATE when it is not the innermost running task,
 * TKT_EZOMBIE (counted) when it finished. On success *slice_out (may be NULL) is the slice's exec. */
static inline int tkt_paused(tkt_stack *s, tkt_task *t, uint64_t now, tkt_totals *own,
                             tkt_totals *parent, uint64_t *slice_out)
{
    if (t->state == TKT_DONE) {
        own->zombie++;
        return TKT_EZOMBIE;
    }
    if (t->state != TKT_RUNNING || s->top != t)
        return TKT_ESTATE;
    uint64_t before = t->exec;
    tkt__slice_end(s, t, now, own, parent);
    t->state = TKT_PAUSED;
    if (slice_out)
        *slice_out = t->exec - before;
    return TKT_OK;
}

/* The task finishes with `outcome` (TKT_COMPLETED / FAILED / CANCELLED); a running task ends its
 * slice first. TKT_ESTATE when it runs but is not the innermost running task (nothing changes),
 * TKT_EZOMBIE (counted) when it already finished. On success *slice_out is the exec of the slice it
 * ended (0 when it was not running) and *wall_out its wall time (both may be NULL). */
static inline int tkt_finished(tkt_stack *s, tkt_task *t, int outcome, uint64_t now,
                               tkt_totals *own, tkt_totals *parent, uint64_t *slice_out,
                               uint64_t *wall_out)
{
    if (t->state == TKT_DONE) {
        own->zombie++;
        return TKT_EZOMBIE;
    }
    if (t->state == TKT_RUNNING && s->top != t)
        return TKT_ESTATE;
    if (t->state != TKT_CREATED && t->state != TKT_PAUSED && t->state != TKT_RUNNING)
        return TKT_ESTATE;
    uint64_t before = t->exec;
    if (t->state == TKT_RUNNING)
        tkt__slice_end(s, t, now, own, parent);
    if (slice_out)
        *slice_out = t->exec - before;
    t->state = TKT_DONE;
    if (outcome == TKT_FAILED)
        own->failed++;
    else if (outcome == TKT_CANCELLED)
        own->cancelled++;
    else
        own->completed++;
    if (t->slices == 0)
        own->stillborn++;
    uint64_t wall = now > t->created ? now - t->created : 0;
    own->wall += wall;
    if (wall_out)
        *wall_out = wall;
    tkt__max(&own->max_exec, t->exec);
    return TKT_OK;
}

/* Tasks created and not finished. */
static inline uint64_t tkt_in_flight(const tkt_totals *t)
{
    uint64_t done = t->completed + t->failed + t->cancelled;
    return t->created > done ? t->created - done : 0;
}

/* Adds src into dst (sums; maxima by maximum). */
static inline void tkt_totals_add(tkt_totals *dst, const tkt_totals *src)
{
    dst->created += src->created;
    dst->completed += src->completed;
    dst->failed += src->failed;
    dst->cancelled += src->cancelled;
    dst->stillborn += src->stillborn;
    dst->slices += src->slices;
    dst->exec += src->exec;
    dst->children_exec += src->children_exec;
    dst->wall += src->wall;
    tkt__max(&dst->max_slice, src->max_slice);
    tkt__max(&dst->max_exec, src->max_exec);
    dst->zombie += src->zombie;
}

/* A task type's name in the name table is "function@file:line" (file: its last path components,
 * cut from the left to fit TKS_NAME_LEN_MAX). Splits such a name: the function is [0, *func_len),
 * the file [*file_off, *file_off + *file_len), *line its line (0 when absent). A name without '@'
 * is all function. Can't fail. */
static inline void tkt_name_split(const char *name, size_t len, size_t *func_len, size_t *file_off,
                                  size_t *file_len, unsigned *line)
{
    size_t at = 0;
    while (at < len && name[at] != '@')
        at++;
    *func_len = at;
    *line = 0;
    if (at == len) {
        *file_off = len;
        *file_len = 0;
        return;
    }
    size_t colon = len;
    while (colon > at + 1 && name[colon - 1] != ':')
        colon--;
    *file_off = at + 1;
    if (colon > at + 1) {
        unsigned v = 0;
        for (size_t i = colon; i < len && name[i] >= '0' && name[i] <= '9'; i++)
            v = v * 10u + (unsigned)(name[i] - '0');
        *line = v;
        *file_len = colon - 1 - (at + 1);
    } else {
        *file_len = len - (at + 1);
    }
}

#endif
