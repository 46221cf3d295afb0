/* sink/window-rows.c — the rows of a window, shared by the text sinks. */
#include "sink/window-rows.h"

const char *const tk_kind_names[TKA_KINDS] = {"processing", "latency"};

int tk_window_rows(const tk_window_view *v, int (*proc)(void *ctx, const tka_proc *p),
                   int (*row)(void *ctx, const tk_row *r), void *ctx)
{
    size_t np = tka_agg_proc_count(v->agg);
    for (size_t i = 0; i < np; i++) {
        const tka_proc *p = tka_agg_proc(v->agg, i);
        int r;
        if (proc && (r = proc(ctx, p)) != 0)
            return r;
        for (size_t j = 0; j < tka_proc_timer_count(p); j++) {
            const tka_timer *t = tka_proc_timer(p, j);
            if (tka_timer_id(t) == 0 &&
                hist_count(tka_timer_hist(t, TKA_TOTAL, TKA_PROCESSING)) == 0 &&
                hist_count(tka_timer_hist(t, TKA_INTERVAL, TKA_PROCESSING)) == 0)
                continue; /* the "(invalid)" timer, shown only when something was recorded in it */
            for (int k = 0; k < TKA_KINDS; k++) {
                tk_row rw = {p, tka_proc_core(p), t, k, {0},
                             tka_timer_lost(t, v->window, TKC_LOSS_LAPPED),
                             tka_timer_lost(t, v->window, TKC_LOSS_OVERWRITTEN), 0, 0};
                hist_summarize(tka_timer_hist(t, v->window, k), &rw.s);
                /* latency rows only for timers that carry an origin */
                if (k == TKA_LATENCY && rw.s.count == 0 && !tka_timer_has_latency(t))
                    continue;
                rw.seconds = v->window == TKA_TOTAL ? tka_timer_span_s(p, t) : v->seconds;
                rw.rate = rw.seconds > 0 ? (double)rw.s.count / rw.seconds : 0;
                if ((r = row(ctx, &rw)) != 0)
                    return r;
            }
        }
    }
    return 0;
}

const char *tk_proc_state_name(const tkc_proc *p)
{
    if (p->state == TKC_PROC_LIVE)
        return "live";
    return p->exit_kind == TKC_EXIT_KILLED ? "killed" : "exited";
}

uint64_t tk_proc_dropped(const tkc_proc *p)
{
    return p->dropped_no_ring + p->dropped_no_space + p->dropped_names_full;
}
