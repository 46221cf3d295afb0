/* cmd-list.c — `timekeeper list`: instrumented processes and their timers, live or exited. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "collector.h"

enum { OPT_DIR = 256 };

static const cli_option options[] = {
    {"json", 'j', NULL, "one JSON object per process"},
    {"pid", 'p', "PID", "only this process"},
    {"dir", OPT_DIR, "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
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
    case OPT_DIR: o->dir = arg; return 0;
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
    collector_options co = {.dir = o.dir, .keep = 1, .pid = o.pid};
    collector *c;
    if (collector_open(&co, &c) != 0)
        return cli_error("list", "out of memory");
    collector_scan(c);
    collector_drain(c);
    collector_rollover(c);
    size_t n = collector_process_count(c);
    if (!o.json && n == 0)
        printf("no instrumented processes\n");
    for (size_t i = 0; i < n; i++) {
        const process_info *p = collector_process(c, i);
        if (o.json) {
            printf("{\"pid\":%d,\"process\":", p->pid);
            cli_json_str(stdout, p->name);
            printf(",\"state\":\"%s\",\"clock\":\"%s\",\"threads\":%u,\"start_real_ns\":%llu,"
                   "\"points\":%llu,\"segment\":",
                   p->state == PROC_LIVE ? "live" : "exited", clock_name(p->clock_source),
                   p->rings_used, (unsigned long long)p->start_real_ns,
                   (unsigned long long)p->points);
            cli_json_str(stdout, p->path);
            printf(",\"cmdline\":");
            cli_json_str(stdout, p->cmdline);
            printf(",\"timers\":[");
            for (size_t j = 0; j < p->ntimers; j++) {
                const timer_stats *t = p->timers[j];
                printf("%s{\"name\":", j ? "," : "");
                cli_json_str(stdout, t->name);
                printf(",\"count\":%llu,\"lost\":%llu}",
                       (unsigned long long)hist_count(t->total[KIND_PROCESSING]),
                       (unsigned long long)t->lost_total);
            }
            printf("]}\n");
        } else {
            printf("%-8d %-20s %-7s %2u thread%s  clock %-9s %s\n", p->pid, p->name,
                   p->state == PROC_LIVE ? "live" : "exited", p->rings_used,
                   p->rings_used == 1 ? " " : "s", clock_name(p->clock_source), p->cmdline);
            for (size_t j = 0; j < p->ntimers; j++) {
                const timer_stats *t = p->timers[j];
                printf("         %-40s %12llu records  %llu lost\n", t->name,
                       (unsigned long long)hist_count(t->total[KIND_PROCESSING]),
                       (unsigned long long)t->lost_total);
            }
        }
    }
    collector_close(c);
    return cli_finish("list", CLI_OK);
}
