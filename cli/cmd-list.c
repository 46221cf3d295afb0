/* cmd-list.c — `timekeeper list`: instrumented processes and their timers, live or exited, and
 * the async task types they profile. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "agg/tasks.h"
#include "agg/window.h"
#include "core/core.h"
#include "util/fmt.h"
#include "sink/window-rows.h"


static const cli_option options[] = {
    {"json", 'j', NULL, "one JSON object per process"},
    {"pid", 'p', "PID", "only this process"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {0},
};

typedef struct list_opts {
    int json, pid;
    const char *dir;
} list_opts;

static int cmd_list(int argc, char **argv);
const cli_command cmd_list_def = {
    "list", cmd_list, "list instrumented processes and their timers",
    "[--json] [--pid P] [--dir DIR]",
    "Shows each segment of this user: pid, process name, state (live or exited), threads that\n"
    "recorded, records read, and the timers with their record counts; then the async task types\n"
    "of all processes, heaviest (exec with children) first. Listing reads the rings but never\n"
    "removes a segment.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    list_opts *o = ctx;
    switch (key) {
    case 'j': o->json = 1; return 0;
    case 'p':
        return cli_option_pid(&cmd_list_def, arg, &o->pid);
    case 'd': o->dir = arg; return 0;
    }
    return CLI_USAGE;
}

static const char *clock_name(int c)
{
    return c == 1 ? "tsc" : c == 2 ? "cntvct" : c == 3 ? "monotonic" : "?";
}

/* The task types, heaviest first (text only). */
static void print_tasks(tkc_tasks *ag)
{
    size_t n = tkc_tasks_rows(ag, NULL, 0);
    tkc_task_row *rows = n ? calloc(n, sizeof *rows) : NULL;
    if (!rows)
        return;
    n = tkc_tasks_rows(ag, rows, n);
    printf("\n%-40s %9s %7s %9s %10s %10s %10s %10s %10s\n", "task type", "calls", "failed",
           "in flight", "exec", "w/children", "wall avg", "max slice", "p99 slice");
    for (size_t i = 0; i < n; i++) {
        const tkc_task_row *r = &rows[i];
        char e[32], ec[32], w[32], ms[32], p99[32], where[128];
        const char *base = strrchr(r->file, '/');
        snprintf(where, sizeof where, "%s %s:%u", r->func, base ? base + 1 : r->file, r->line);
        printf("%-40.40s %9llu %7llu %9llu %10s %10s %10s %10s %10s\n", where, (unsigned long long)r->calls, (unsigned long long)(r->t.failed + r->t.cancelled),
               (unsigned long long)r->in_flight, tk_fmt_ns(e, sizeof e, (double)r->t.exec),
               tk_fmt_ns(ec, sizeof ec, (double)r->exec_with_children),
               tk_fmt_ns(w, sizeof w, r->calls ? (double)r->t.wall / (double)r->calls : 0),
               tk_fmt_ns(ms, sizeof ms, (double)r->t.max_slice),
               tk_fmt_ns(p99, sizeof p99, (double)hist_quantile(r->slice_hist, 0.99)));
    }
    free(rows);
}

static int cmd_list(int argc, char **argv)
{
    list_opts o = {0};
    int status;
    int first = cli_parse(&cmd_list_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_list_def, "unexpected argument '%s'", argv[first]);
    tkc_core_options co = {.dir = o.dir, .pid = o.pid};
    tkc_core *c;
    if (cli_open_core("list", &co, &c) != 0)
        return CLI_FAIL;
    tka_agg *a = tka_agg_new(NULL);
    tkc_tasks *tasks = tkc_tasks_new();
    tkc_consumer tc = tkc_tasks_consumer(tasks);
    if (!a || !tasks || tkc_core_subscribe(c, tka_agg_consumer(a)) != 0 ||
        tkc_core_subscribe(c, &tc) != 0) {
        tkc_core_close(c);
        tka_agg_free(a);
        tkc_tasks_free(tasks);
        return cli_error("list", "out of memory");
    }
    tkc_core_scan(c);
    tkc_core_drain(c);
    tka_agg_rollover(a, tkc_now_ns());
    size_t n = tka_agg_proc_count(a);
    if (!o.json && n == 0)
        printf("no instrumented processes\n");
    for (size_t i = 0; i < n; i++) {
        const tka_proc *ap = tka_agg_proc(a, i);
        const tkc_proc *p = tka_proc_core(ap);
        if (o.json) {
            printf("{\"pid\":%d,\"process\":", p->pid);
            cli_json_str(stdout, p->name);
            printf(",\"state\":\"%s\",\"clock\":\"%s\",\"threads\":%u,\"start_real_ns\":%llu,"
                   "\"points\":%llu,\"dropped_no_ring\":%llu,\"dropped_no_space\":%llu,"
                   "\"dropped_names_full\":%llu,\"unknown_records\":%llu,\"corrupt_records\":%llu,"
                   "\"segment\":",
                   tk_proc_state_name(p), clock_name(p->clock_source),
                   p->rings_used, (unsigned long long)p->start_real_ns,
                   (unsigned long long)p->points, (unsigned long long)p->dropped_no_ring,
                   (unsigned long long)p->dropped_no_space,
                   (unsigned long long)p->dropped_names_full,
                   (unsigned long long)p->unknown_records, (unsigned long long)p->corrupt_records);
            cli_json_str(stdout, p->path);
            printf(",\"cmdline\":");
            cli_json_str(stdout, p->cmdline);
            printf(",\"timers\":[");
            for (size_t j = 0; j < tka_proc_timer_count(ap); j++) {
                const tka_timer *t = tka_proc_timer(ap, j);
                printf("%s{\"name\":", j ? "," : "");
                cli_json_str(stdout, tka_timer_name(t));
                printf(",\"count\":%llu,\"lost\":%llu,\"overwritten\":%llu}",
                       (unsigned long long)hist_count(tka_timer_hist(t, TKA_TOTAL, TKA_PROCESSING)),
                       (unsigned long long)tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_LAPPED),
                       (unsigned long long)tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_OVERWRITTEN));
            }
            printf("]}\n");
        } else {
            printf("%-8d %-20s %-7s %2u thread%s  clock %-9s %s\n", p->pid, p->name,
                   tk_proc_state_name(p), p->rings_used,
                   p->rings_used == 1 ? " " : "s", clock_name(p->clock_source), p->cmdline);
            for (size_t j = 0; j < tka_proc_timer_count(ap); j++) {
                const tka_timer *t = tka_proc_timer(ap, j);
                printf("         %-40s %12llu records  %llu lost  %llu overwritten\n",
                       tka_timer_name(t),
                       (unsigned long long)hist_count(tka_timer_hist(t, TKA_TOTAL, TKA_PROCESSING)),
                       (unsigned long long)tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_LAPPED),
                       (unsigned long long)tka_timer_lost(t, TKA_TOTAL, TKC_LOSS_OVERWRITTEN));
            }
        }
    }
    if (!o.json && tkc_tasks_rows(tasks, NULL, 0))
        print_tasks(tasks);
    tkc_core_close(c);
    tka_agg_free(a);
    tkc_tasks_free(tasks);
    return cli_finish("list", CLI_OK);
}
