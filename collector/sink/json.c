/* sink/json.c — JSON lines: one object per process, timer, kind and window (report), and
 * analyze's JSON document. */
#include <errno.h>
#include <stdio.h>

#include "analyze/analyze.h"
#include "sink/sink.h"
#include "sink/window-rows.h"
#include "util/fmt.h"

typedef struct json_ctx {
    FILE *f;
    const tk_window_view *v;
} json_ctx;

static int json_row(void *ctx, const tk_row *r)
{
    json_ctx *j = ctx;
    FILE *f = j->f;
    const hist_summary *s = &r->s;
    fprintf(f, "{\"ts\":%.3f,\"pid\":%d,\"process\":", j->v->now_real_s, r->core->pid);
    tk_json_str(f, r->core->name);
    fprintf(f, ",\"state\":\"%s\",\"timer\":", tk_proc_state_name(r->core));
    tk_json_str(f, tka_timer_name(r->timer));
    fprintf(f,
            ",\"kind\":\"%s\",\"window\":\"%s\",\"seconds\":%.3f,\"count\":%llu,\"lost\":%llu,"
            "\"overwritten\":%llu,\"dropped\":%llu,"
            "\"rate_hz\":%.3f,\"min_ns\":%llu,\"avg_ns\":%.1f,\"p50_ns\":%llu,\"p90_ns\":%llu,"
            "\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,\"overhead_ns\":%llu}\n",
            tk_kind_names[r->kind], j->v->window == TKA_TOTAL ? "total" : "interval", r->seconds,
            (unsigned long long)s->count, (unsigned long long)r->lost,
            (unsigned long long)r->overwritten, (unsigned long long)tk_proc_dropped(r->core), r->rate,
            (unsigned long long)s->min, s->avg, (unsigned long long)s->p50,
            (unsigned long long)s->p90, (unsigned long long)s->p99, (unsigned long long)s->p999,
            (unsigned long long)s->max,
            (unsigned long long)(r->kind == TKA_PROCESSING ? j->v->overhead_ns : 0));
    return 0;
}

static int json_window(tk_sink *s, const tk_window_view *v)
{
    json_ctx j = {s->out, v};
    tk_window_rows(v, NULL, json_row, &j);
    return ferror(s->out) ? -EIO : 0;
}

static int json_analysis(tk_sink *s, const analyze *a)
{
    return analyze_write(a, ANALYZE_JSON, s->out) < 0 ? -EIO : 0;
}

const tk_sink_ops tk_sink_json = {"json", json_window, json_analysis, NULL, NULL};
