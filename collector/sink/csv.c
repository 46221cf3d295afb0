/* sink/csv.c — CSV (RFC 4180): report's windows as one row per process, timer, kind and window
 * under one header line, and analyze's CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "sink/sink.h"
#include "sink/window-rows.h"

typedef struct csv_state {
    int header_done;
} csv_state;

/* A field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef struct csv_ctx {
    FILE *f;
    const tk_window_view *v;
} csv_ctx;

static int csv_row(void *ctx, const tk_row *r)
{
    csv_ctx *c = ctx;
    FILE *f = c->f;
    const hist_summary *s = &r->s;
    fprintf(f, "%.3f,%s,%.3f,%d,", c->v->now_real_s,
            c->v->window == TKA_TOTAL ? "total" : "interval", r->seconds, r->core->pid);
    csv_field(f, r->core->name);
    fprintf(f, ",%s,", tk_proc_state_name(r->core));
    csv_field(f, tka_timer_name(r->timer));
    fprintf(f, ",%s,%llu,%llu,%llu,%llu,%.3f,%llu,%.1f,%llu,%llu,%llu,%llu,%llu\n",
            tk_kind_names[r->kind], (unsigned long long)s->count, (unsigned long long)r->lost,
            (unsigned long long)r->overwritten, (unsigned long long)tk_proc_dropped(r->core), r->rate,
            (unsigned long long)s->min, s->avg, (unsigned long long)s->p50,
            (unsigned long long)s->p90, (unsigned long long)s->p99, (unsigned long long)s->p999,
            (unsigned long long)s->max);
    return 0;
}

static int csv_window(tk_sink *s, const tk_window_view *v)
{
    if (!s->state && !(s->state = calloc(1, sizeof(csv_state))))
        return -ENOMEM;
    csv_state *st = s->state;
    if (!st->header_done) {
        fputs("ts,window,seconds,pid,process,state,timer,kind,count,lost,overwritten,dropped,"
              "rate_hz,min_ns,avg_ns,"
              "p50_ns,p90_ns,p99_ns,p999_ns,max_ns\n", s->out);
        st->header_done = 1;
    }
    csv_ctx c = {s->out, v};
    tk_window_rows(v, NULL, csv_row, &c);
    return ferror(s->out) ? -EIO : 0;
}

static int csv_analysis(tk_sink *s, const analyze *a)
{
    return analyze_write(a, ANALYZE_CSV, s->out) < 0 ? -EIO : 0;
}

static int csv_close(tk_sink *s)
{
    free(s->state);
    s->state = NULL;
    return 0;
}

const tk_sink_ops tk_sink_csv = {"csv", csv_window, csv_analysis, NULL, csv_close};
