/* cmd-list.c — `timekeeper list`: instrumented processes and their timers, live or exited. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "agg/window.h"
#include "core/core.h"
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
    "recorded, records read, and the timers with their record counts. Listing reads the rings\n"
    "but never removes a segment.",
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
    if (!a || tkc_core_subscribe(c, tka_agg_consumer(a)) != 0) {
        tkc_core_close(c);
        tka_agg_free(a);
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
    tkc_core_close(c);
    tka_agg_free(a);
    return cli_finish("list", CLI_OK);
}
