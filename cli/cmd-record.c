/* cmd-record.c — `timekeeper record`: what the collector sees, into a SQLite recording. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <timekeeper.h>

#include "cli.h"
#include "util/fmt.h"
#ifdef TK_HAVE_SQLITE
#include "agg/window.h"
#include "core/core.h"
#include "core/driver.h"
#include "sink/sqlite/record-sink.h"
#endif

enum { OPT_DURATION = 256, OPT_FORCE, OPT_RAW };

static const cli_option options[] = {
    {"output", 'o', "FILE", "the recording (default timekeeper.db); see docs/recording-schema.md"},
    {"raw", OPT_RAW, NULL, "also every span and labeled point (tables span_blocks, points)"},
    {"interval", 'i', "TIME", "length of a statistics window: 100ms, 1s, 2m (default 1s; 50ms .. 1h)"},
    {"duration", OPT_DURATION, "TIME", "stop after TIME (e.g. 10s, 2m); default: until Ctrl-C or the command ends"},
    {"pid", 'p', "PID", "only this process"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"force", OPT_FORCE, NULL, "replace FILE when it exists"},
    {"quiet", 'q', NULL, "no progress line and no summary"},
    {0},
};

typedef struct record_opts {
    const char *out, *dir, *duration;
    double interval;
    int raw, force, quiet, pid;
} record_opts;

static int cmd_record(int argc, char **argv);
const cli_command cmd_record_def = {
    "record", cmd_record, "record timers, points and component timing into a SQLite file",
    "[-o|--output FILE] [--raw] [--interval TIME] [--duration TIME] [--pid P] [--dir DIR] [--force]\n"
    "       [--quiet] [-- COMMAND [ARG...]]",
    "Attaches to every instrumented process of this user (and to new ones as they appear) and\n"
    "writes into FILE: processes, threads, names, per-window statistics of every timer with\n"
    "their histograms, program counters (total, delta), gauges, stages and /proc resources,\n"
    "losses, every call of every component callback and every event of the library's\n"
    "component sequences, and with --raw every span and labeled point. The file is\n"
    "SQLite in WAL mode, committed at least every 250 ms: a recorder that is killed leaves a\n"
    "consistent file holding everything up to its last commit; a full disk stops it with an\n"
    "error and a consistent file. Readable from any SQLite client (schema: the recording-schema\n"
    "page of the documentation).\n"
    "With a COMMAND, runs it with a private segments directory, records it (and its children)\n"
    "until it exits, and exits with its status.\n"
    "On a terminal a progress line shows rows, rate and file size; a summary ends the run.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    record_opts *o = ctx;
    switch (key) {
    case 'o': o->out = arg; return 0;
    case 'i':
        if (cli_parse_seconds(arg, 0.05, 3600, &o->interval))
            return cli_usage_error(&cmd_record_def, "--interval wants a time in [50ms, 1h] (100ms, 1s, 2m), not '%s'", arg);
        return 0;
    case OPT_DURATION: o->duration = arg; return 0;
    case 'p': return cli_option_pid(&cmd_record_def, arg, &o->pid);
    case 'q': o->quiet = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case OPT_FORCE: o->force = 1; return 0;
    case OPT_RAW: o->raw = 1; return 0;
    }
    return CLI_USAGE;
}

#ifndef TK_HAVE_SQLITE
static int cmd_record(int argc, char **argv)
{
    record_opts o = {.interval = 1.0};
    int status;
    if (cli_parse(&cmd_record_def, argc, argv, on_option, &o, &status) < 0)
        return status;
    return cli_error("record", "this timekeeper was built without SQLite: install libsqlite3-dev "
                               "(scripts/install-deps.sh) and rebuild");
}
#else

/* Removes the segments of a private directory and the directory. */
static void remove_private_dir(const char *dir)
{
    char cmd[600];
    if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) < (int)sizeof cmd && !strchr(dir, '\''))
        if (system(cmd) != 0)
            fprintf(stderr, "timekeeper record: could not remove %s\n", dir);
}

static pid_t spawn(char **argv, const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TK_DIR", dir, 1);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "timekeeper record: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static void progress(tk_sink *s, const char *out, uint64_t t0, uint64_t now, uint64_t *last_rows,
                     uint64_t *last_t)
{
    uint64_t rows = tk_record_rows(s);
    double dt = (double)(now - *last_t) / 1e9;
    char r1[32], r2[32], r3[32];
    fprintf(stderr, "\rrecording %s: %s rows, %s/s, %s MB, %.0f s  ", out,
            tk_fmt_count(r1, sizeof r1, rows),
            tk_fmt_rate(r2, sizeof r2, dt > 0 ? (double)(rows - *last_rows) / dt : 0),
            (snprintf(r3, sizeof r3, "%.1f", (double)tk_record_file_bytes(s) / 1e6), r3),
            (double)(now - t0) / 1e9);
    *last_rows = rows;
    *last_t = now;
}

static int write_window(tk_sink *s, tka_agg *agg, tka_window w, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tk_window_view v = {.agg = agg, .window = w, .seconds = seconds,
                        .now_real_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
                        .now_mono_ns = tkc_now_ns()};
    return tk_sink_window(s, &v);
}

static int cmd_record(int argc, char **argv)
{
    record_opts o = {.interval = 1.0, .out = "timekeeper.db"};
    int status;
    int first = cli_parse(&cmd_record_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    double duration = 0;
    if (o.duration && (tk_parse_duration(o.duration, &duration) != 0 || duration <= 0))
        return cli_usage_error(&cmd_record_def, "--duration wants a time such as 10s, not '%s'", o.duration);
    char **command = first < argc ? argv + first : NULL;
    if (command && (o.pid || o.dir))
        return cli_usage_error(&cmd_record_def, "a COMMAND is recorded alone: no --pid or --dir with it");

    char private_dir[64] = "";
    if (command) {
        snprintf(private_dir, sizeof private_dir, "/dev/shm/timekeeper-record-XXXXXX");
        if (!mkdtemp(private_dir)) {
            snprintf(private_dir, sizeof private_dir, "/tmp/timekeeper-record-XXXXXX");
            if (!mkdtemp(private_dir))
                return cli_error("record", "cannot create a segments directory: %s", strerror(errno));
        }
        o.dir = private_dir;
    }

    tk_sink sink;
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", TK_VERSION_MAJOR, TK_VERSION_MINOR, TK_VERSION_PATCH);
    tk_record_options ro = {.raw = o.raw, .overwrite = o.force, .version = version};
    int rc = tk_record_open(&sink, o.out, &ro);
    if (rc) {
        cli_error("record", "%s: %s", o.out, tk_record_error(&sink));
        tk_sink_close(&sink);
        if (private_dir[0])
            remove_private_dir(private_dir);
        return CLI_FAIL;
    }
    tkc_core *core = NULL;
    tkc_core_options co = {.dir = o.dir, .pid = o.pid, .quiet = 0};
    tka_agg *agg = tka_agg_new(NULL);
    if (!agg || tkc_core_open(&co, &core) != 0 ||
        tkc_core_subscribe(core, tka_agg_consumer(agg)) != 0 ||
        tkc_core_subscribe(core, sink.ops->consumer(&sink)) != 0) {
        tkc_core_close(core);
        tka_agg_free(agg);
        tk_sink_close(&sink);
        return cli_error("record", "out of memory");
    }
    tkc_signals_install();
    pid_t child = command ? spawn(command, private_dir) : 0;
    if (child < 0)
        fprintf(stderr, "timekeeper record: cannot start %s: %s\n", command[0], strerror(errno));
    int child_status = 0, child_done = child <= 0 && command;

    tkc_driver_options dop = {.interval_ns = (uint64_t)(o.interval * 1e9)};
    tkc_driver *drv = tkc_driver_new(core, &dop);
    const int tty = !o.quiet && isatty(STDERR_FILENO);
    const uint64_t t0 = tkc_now_ns(), deadline = duration > 0 ? t0 + (uint64_t)(duration * 1e9) : 0;
    uint64_t next_commit = t0 + 250000000ull, next_progress = t0 + 500000000ull;
    uint64_t last_rows = 0, last_t = t0, window_start = t0;
    const char *reason = "finished";
    char reason_buf[600];
    while (drv) {
        uint64_t until = next_commit;
        if (deadline && deadline < until)
            until = deadline;
        unsigned did = tkc_driver_wait(drv, until);
        uint64_t now = tkc_now_ns();
        if (did & TKC_TICK_INTERVAL) {
            write_window(&sink, agg, TKA_INTERVAL, (double)(now - window_start) / 1e9);
            tka_agg_rollover(agg, now);
            window_start = now;
        }
        if (now >= next_commit) {
            tk_record_commit(&sink);
            next_commit = now + 250000000ull;
        }
        if (tk_record_status(&sink))
            break;
        if (tty && now >= next_progress) {
            progress(&sink, o.out, t0, now, &last_rows, &last_t);
            next_progress = now + 500000000ull;
        }
        if (tkc_signal_received()) {
            reason = "signal";
            break;
        }
        if (deadline && now >= deadline) {
            reason = "duration";
            break;
        }
        if (child > 0 && !child_done && waitpid(child, &child_status, WNOHANG) == child) {
            child_done = 1;
            reason = "command exited";
            break;
        }
        if (child_done)
            break;
    }
    if (!tk_record_status(&sink) && drv) {
        tkc_driver_flush(drv); /* the last records, and a child's exit */
        uint64_t now = tkc_now_ns();
        write_window(&sink, agg, TKA_INTERVAL, (double)(now - window_start) / 1e9);
        tka_agg_rollover(agg, now);
        write_window(&sink, agg, TKA_TOTAL, (double)(now - t0) / 1e9);
    }
    int err = tk_record_status(&sink);
    if (err) {
        snprintf(reason_buf, sizeof reason_buf, "%s: %s", err == -ENOSPC ? "disk full" : "error",
                 tk_record_error(&sink));
        reason = reason_buf;
    }
    tk_record_set_stop_reason(&sink, reason);
    tk_record_counts counts;
    tk_record_counts_get(&sink, &counts);
    uint64_t rows = tk_record_rows(&sink), committed = tk_record_rows_committed(&sink);
    tkc_driver_free(drv);
    tkc_core_close(core); /* last process updates reach the sink */
    tka_agg_free(agg);
    struct stat st;
    int close_rc = tk_sink_close(&sink);
    if (!err)
        err = close_rc;
    if (tty)
        fputs("\r\033[K", stderr);
    double secs = (double)(tkc_now_ns() - t0) / 1e9;
    if (err) {
        cli_error("record", "stopped: %s (%s); %s holds everything up to the last commit "
                  "(%llu rows; the %llu rows of the open batch are lost)",
                  err == -ENOSPC ? "the disk is full" : strerror(-err), tk_record_error(&sink),
                  o.out, (unsigned long long)committed, (unsigned long long)(rows - committed));
    } else if (!o.quiet) {
        char c1[32];
        fprintf(stderr,
                "timekeeper record: %s rows from %llu process%s in %.1f s into %s (%.1f MB): "
                "%llu spans, %llu points, %llu component calls, %llu events, %llu windows; %s\n",
                tk_fmt_count(c1, sizeof c1, rows), (unsigned long long)counts.processes,
                counts.processes == 1 ? "" : "es", secs, o.out,
                stat(o.out, &st) == 0 ? (double)st.st_size / 1e6 : 0.0,
                (unsigned long long)counts.spans, (unsigned long long)counts.points,
                (unsigned long long)counts.calls, (unsigned long long)counts.events,
                (unsigned long long)counts.windows, reason);
        if (counts.processes == 0)
            fprintf(stderr, "timekeeper record: no instrumented process was found in %s\n",
                    o.dir ? o.dir : (getenv("TK_DIR") ? getenv("TK_DIR") : "/dev/shm"));
    }
    if (child > 0 && !child_done) {
        kill(child, SIGTERM);
        waitpid(child, &child_status, 0);
        child_done = 1;
    }
    if (private_dir[0])
        remove_private_dir(private_dir);
    if (err)
        return CLI_FAIL;
    if (command && child_done) {
        if (child < 0)
            return CLI_FAIL;
        if (WIFEXITED(child_status))
            return cli_finish("record", WEXITSTATUS(child_status));
        return cli_finish("record", 128 + WTERMSIG(child_status));
    }
    return cli_finish("record", CLI_OK);
}
#endif
