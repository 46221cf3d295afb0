/* sink/window-rows.h — walking a window's rows (process, timer, kind) the same way in every text
 * sink: which rows exist, their summary and their rate. */
#ifndef TK_SINK_WINDOW_ROWS_H
#define TK_SINK_WINDOW_ROWS_H

#include "agg/window.h"
#include "sink/sink.h"

typedef struct tk_row {
    const tka_proc *proc;
    const tkc_proc *core;
    const tka_timer *timer;
    int kind;                  /* TKA_PROCESSING, TKA_LATENCY */
    hist_summary s;
    uint64_t lost;             /* records this collector missed while attached (rings lapped) */
    uint64_t overwritten;      /* records rings overwrote before this collector first read them */
    double seconds;            /* what the rate is over */
    double rate;
} tk_row;

extern const char *const tk_kind_names[TKA_KINDS];

/* Calls row() for each row of the window, and proc() (may be NULL) before each process's rows.
 * Stops at the first nonzero return and returns it. */
int tk_window_rows(const tk_window_view *v, int (*proc)(void *ctx, const tka_proc *p),
                   int (*row)(void *ctx, const tk_row *r), void *ctx);

/* "live", "exited" (a normal exit) or "killed" (gone without the library's exit mark). */
const char *tk_proc_state_name(const tkc_proc *p);

/* Records the program dropped before they reached a ring (no ring, no space, name table full). */
uint64_t tk_proc_dropped(const tkc_proc *p);

#endif
