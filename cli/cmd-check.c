/* cmd-check.c — `timekeeper check`: "no timing reports = not healthy" as an exit status. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "agg/health.h"
#include "core/core.h"

enum { OPT_ALLOW_NONE = 256 };

static const cli_option options[] = {
    {"max-silence", 's', "TIME", "time a live process may go without a record: 500ms, 5s, 1m (default 5s)"},
    {"pid", 'p', "PID", "only this process"},
    {"json", 'j', NULL, "one JSON object per process, then a summary object"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"allow-none", OPT_ALLOW_NONE, NULL, "exit 0 when no live instrumented process exists"},
    {0},
};

typedef struct check_opts {
    double max_silence;
    int pid, json, allow_none;
    const char *dir;
} check_opts;

static int cmd_check(int argc, char **argv);
const cli_command cmd_check_def = {
    "check", cmd_check, "health check: exit 1 when a live process stopped recording",
    "[--max-silence TIME] [--pid P] [--json] [--dir DIR] [--allow-none]",
    "Exit status 0 when every live instrumented process recorded something within the last S\n"
    "seconds (a process younger than S counts from its start); 1 otherwise, naming the quiet\n"
    "ones on stderr. No live instrumented process at all is unhealthy too (exit 1) unless\n"
    "--allow-none. Exited processes are listed but do not count. Segments are never removed.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    check_opts *o = ctx;
    switch (key) {
    case 's':
        if (cli_parse_seconds(arg, 0.001, 86400.0 * 365, &o->max_silence))
            return cli_usage_error(&cmd_check_def, "--max-silence wants a time > 0 (500ms, 5s, 1m), not '%s'", arg);
        return 0;
    case 'p':
        return cli_option_pid(&cmd_check_def, arg, &o->pid);
    case 'j': o->json = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case OPT_ALLOW_NONE: o->allow_none = 1; return 0;
    }
    return CLI_USAGE;
}

static int cmd_check(int argc, char **argv)
{
    check_opts o = {.max_silence = 5.0};
    int status;
    int first = cli_parse(&cmd_check_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_check_def, "unexpected argument '%s'", argv[first]);
    tkc_core_options co = {.dir = o.dir, .pid = o.pid};
    tkc_core *c;
    if (cli_open_core("check", &co, &c) != 0)
        return CLI_FAIL;
    tkc_core_scan(c);
    tkc_core_drain(c);
    uint64_t now = tkc_now_ns(), limit = (uint64_t)(o.max_silence * 1e9);
    size_t live = 0, quiet = 0;
    for (size_t i = 0; i < tkc_core_proc_count(c); i++) {
        const tkc_proc *p = tkc_core_proc(c, i);
        double silent;
        int ok = tka_proc_healthy(p, now, limit, &silent), is_live = p->state == TKC_PROC_LIVE;
        live += is_live;
        quiet += !ok;
        if (!ok)
            fprintf(stderr, "timekeeper check: pid %d (%s) %s for %.1f s\n", p->pid, p->name,
                    p->last_record_mono_ns ? "has not recorded" : "has never recorded", silent);
        if (o.json) {
            printf("{\"pid\":%d,\"process\":", p->pid);
            cli_json_str(stdout, p->name);
            printf(",\"state\":\"%s\",\"silent_s\":%.3f,\"healthy\":%s}\n",
                   is_live ? "live" : "exited", silent, ok ? "true" : "false");
        } else {
            printf("%-8d %-20s %-7s last record %.1f s ago  %s\n", p->pid, p->name,
                   is_live ? "live" : "exited", silent,
                   !is_live ? "-" : ok ? "ok" : "QUIET");
        }
    }
    int healthy = quiet == 0 && (live > 0 || o.allow_none);
    if (live == 0 && !o.allow_none)
        fprintf(stderr, "timekeeper check: no live instrumented process\n");
    if (o.json)
        printf("{\"healthy\":%s,\"live\":%zu,\"quiet\":%zu}\n", healthy ? "true" : "false", live,
               quiet);
    tkc_core_close(c);
    return cli_finish("check", healthy ? CLI_OK : CLI_FAIL);
}
