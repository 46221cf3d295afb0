/* sink/table.c — the text table: report's windows (a block per process, a row per timer and
 * kind) and analyze's tables. */
#include <errno.h>
#include <stdio.h>

#include "analyze/analyze.h"
#include "sink/sink.h"
#include "sink/window-rows.h"
#include "util/fmt.h"

/* The table of one window: its stream and the width of the timer column, the longest name's (24
 * at least), so that names are never cut. */
typedef struct table_ctx {
    FILE *f;
    int name_w;
} table_ctx;


static int table_measure(void *ctx, const tk_row *r)
{
    table_ctx *t = ctx;
    int w = tk_fmt_columns(tka_timer_name(r->timer));
    if (w > t->name_w)
        t->name_w = w;
    return 0;
}

static int table_proc(void *ctx, const tka_proc *p)
{
    table_ctx *t = ctx;
    FILE *f = t->f;
    const tkc_proc *c = tka_proc_core(p);
    fprintf(f, "pid %d %s (%s, %u thread%s", c->pid, c->name, tk_proc_state_name(c),
            c->rings_used, c->rings_used == 1 ? "" : "s");
    if (c->dropped_no_ring)
        fprintf(f, ", %llu records dropped: no free ring",
                (unsigned long long)c->dropped_no_ring);
    if (c->dropped_no_space)
        fprintf(f, ", %llu records dropped: no space for a ring",
                (unsigned long long)c->dropped_no_space);
    if (c->dropped_names_full)
        fprintf(f, ", %llu points dropped: name table full",
                (unsigned long long)c->dropped_names_full);
    if (c->unknown_records || c->corrupt_records)
        fprintf(f, ", %llu unknown and %llu corrupt records skipped",
                (unsigned long long)c->unknown_records, (unsigned long long)c->corrupt_records);
    fprintf(f, ")\n");
    fprintf(f, "  %-*s %-10s %10s %8s %8s %8s %8s %8s %8s %8s %8s %8s %11s\n", t->name_w, "timer", "kind",
            "count", "rate/s", "min", "avg", "p50", "p90", "p99", "p99.9", "max", "lost",
            "overwritten");
    return 0;
}

static int table_row(void *ctx, const tk_row *r)
{
    const table_ctx *t = ctx;
    FILE *f = t->f;
    const hist_summary *s = &r->s;
    char b[9][24];
    const char *name = tka_timer_name(r->timer);
    /* padded by columns, not bytes, so a UTF-8 name keeps the table aligned */
    int pad = t->name_w - tk_fmt_columns(name);
    fprintf(f, "  %s%*s %-10s %10llu", name, pad > 0 ? pad : 0, "", tk_kind_names[r->kind],
            (unsigned long long)s->count);
    const char *cols[9] = {
        tk_fmt_rate(b[0], sizeof b[0], r->rate),
        s->count ? tk_fmt_ns(b[1], sizeof b[1], (double)s->min) : "-",
        s->count ? tk_fmt_ns(b[2], sizeof b[2], s->avg) : "-",
        s->count ? tk_fmt_ns(b[3], sizeof b[3], (double)s->p50) : "-",
        s->count ? tk_fmt_ns(b[4], sizeof b[4], (double)s->p90) : "-",
        s->count ? tk_fmt_ns(b[5], sizeof b[5], (double)s->p99) : "-",
        s->count ? tk_fmt_ns(b[6], sizeof b[6], (double)s->p999) : "-",
        s->count ? tk_fmt_ns(b[7], sizeof b[7], (double)s->max) : "-",
    };
    for (int i = 0; i < 8; i++)
        tk_fput_col(f, cols[i], 8); /* aligned by characters: µs is one column wider in bytes */
    fprintf(f, " %8llu %11llu\n", (unsigned long long)r->lost, (unsigned long long)r->overwritten);
    return 0;
}

static int table_window(tk_sink *s, const tk_window_view *v)
{
    FILE *f = s->out;
    char b[24];
    if (v->window == TKA_TOTAL)
        fprintf(f, "== totals ==\n");
    else
        fprintf(f, "== interval %.2f s ==\n", v->seconds);
    if (v->overhead_ns)
        fprintf(f, "(processing times exclude %s of clock-read cost)\n",
                tk_fmt_ns(b, sizeof b, (double)v->overhead_ns));
    table_ctx t = {f, 24};
    tk_window_rows(v, NULL, table_measure, &t);
    tk_window_rows(v, table_proc, table_row, &t);
    return ferror(f) ? -EIO : 0;
}

static int table_analysis(tk_sink *s, const analyze *a)
{
    return analyze_write(a, ANALYZE_TABLE, s->out) < 0 ? -EIO : 0;
}

const tk_sink_ops tk_sink_table = {"table", table_window, table_analysis, NULL, NULL};
