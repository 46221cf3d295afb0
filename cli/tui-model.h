/* tui-model.h — what `timekeeper top` knows: processes, their timers, the latest per-interval
 * statistics and a history of them, copied out of the collector once per sampling interval.
 * No ncurses here, so the model is tested with synthetic collector data. */
#ifndef TK_TUI_MODEL_H
#define TK_TUI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"

/* The statistics kept over time, one plot series each. */
enum {
    TUI_STAT_AVG = 0,
    TUI_STAT_MIN = 1,
    TUI_STAT_MAX = 2,
    TUI_STAT_P50 = 3,
    TUI_STAT_P99 = 4,
    TUI_STAT_COUNT = 5
};

/* One interval of one kind of one timer. count == 0: no record in that interval (a gap). */
typedef struct tui_sample {
    float v[TUI_STAT_COUNT]; /* ns */
    uint32_t count;          /* saturates at UINT32_MAX */
} tui_sample;

/* How a process or timer is doing, worst last. */
typedef enum {
    TUI_OK = 0,       /* reported (or started) within the allowed silence */
    TUI_IDLE = 1,     /* a timer that never recorded since we attached: not counted as a problem */
    TUI_QUIET = 2,    /* reported before, but nothing within the allowed silence */
    TUI_HUNG = 3,     /* process alive but its heartbeat stopped (stopped, hung, or debugged) */
    TUI_EXITED = 4,   /* process gone; its last statistics are still shown for a while */
} tui_health;

struct tui_proc;

typedef struct tui_timer {
    struct tui_proc *proc;
    char name[56];
    hist_summary last[KIND_COUNT]; /* the latest interval */
    uint64_t count_total[KIND_COUNT]; /* every record read, the attach-time backlog included */
    /* Records of the intervals since top started: the backlog found in the rings at start is not
     * in them (it went to the totals before the first frame). The same for either pane: every
     * record has a processing time. */
    uint64_t count_seen;
    int has_origin;                /* some record carried an origin: the timer has a latency */
    /* Records overwritten before they were read: in the latest interval, and over every interval
     * since top started (what was overwritten before it attached is not counted here). */
    uint64_t lost_last, lost_seen;
    double rate_hz[KIND_COUNT];    /* records per second in the latest interval */
    uint64_t last_mono_ns;         /* newest record, 0: none since attach */
    tui_health health;
    tui_sample *samples;           /* model cap frames x KIND_COUNT, aligned with the frame ring */
} tui_timer;

typedef struct tui_proc {
    int pid;
    uint64_t start_real_ns;        /* with pid, identifies the process */
    char name[64];
    char cmdline[256];
    proc_state state;
    uint64_t start_mono_ns;        /* CLOCK_MONOTONIC when the process initialised the library */
    uint64_t exited_seen_ns;       /* CLOCK_MONOTONIC when it was first seen exited, 0: live */
    uint64_t heartbeat_mono_ns;
    uint64_t last_record_mono_ns;
    uint64_t lost_other;           /* records dropped for want of a free ring */
    uint32_t rings_used;
    int present;                   /* listed by the collector at the latest frame */
    tui_health health;
    size_t ntimers;
    tui_timer **timers;            /* sorted by name */
} tui_proc;

typedef struct tui_model {
    size_t cap;                    /* frames kept per timer */
    size_t nframes;                /* frames filled so far, <= cap */
    size_t head;                   /* slot of the newest frame */
    uint64_t *frame_end_ns;        /* cap entries: CLOCK_MONOTONIC end of each frame */
    uint64_t *frame_len_ns;        /* cap entries: length of each frame */
    uint64_t max_silence_ns;       /* longer without a record: quiet */
    uint64_t exited_keep_ns;       /* an exited process stays listed this long */
    size_t nprocs;
    tui_proc **procs;              /* sorted by name, then pid */
    size_t ntimers;                /* over all processes */
    /* Sums over the processes, refreshed by tui_model_add_frame. */
    size_t nlive, nunhealthy, nquiet_timers;
    uint64_t lost_seen, lost_last;
} tui_model;

/* Prepares an empty model that keeps `history` frames (>= 2). Returns 0 or -ENOMEM. */
int tui_model_init(tui_model *m, size_t history, uint64_t max_silence_ns, uint64_t exited_keep_ns);
void tui_model_free(tui_model *m);

/* Adds one frame: the interval that ended at now_ns and lasted len_ns, whose statistics are the
 * interval histograms of the n processes (call before collector_rollover). Processes and timers
 * seen for the first time are added; exited processes no longer listed are kept for
 * exited_keep_ns, then removed (pointers to them become invalid). Returns 0, or -ENOMEM when a
 * new process or timer could not be added (it is tried again at the next frame). */
int tui_model_add_frame(tui_model *m, const process_info *const *procs, size_t n, uint64_t now_ns,
                        uint64_t len_ns);

/* Re-evaluates the health of every process and timer at now_ns (done by add_frame too). */
void tui_model_refresh_health(tui_model *m, uint64_t now_ns);

/* The sample of timer t, kind k, `age` frames before the newest (0: newest); NULL when older than
 * the history kept. */
const tui_sample *tui_model_sample(const tui_model *m, const tui_timer *t, int kind, size_t age);

/* Nonzero when t still belongs to the model (after add_frame removed old processes). */
int tui_model_has_timer(const tui_model *m, const tui_timer *t);

const char *tui_health_name(tui_health h);

#endif
