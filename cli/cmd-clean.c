/* cmd-clean.c — `timekeeper clean`: the one command that removes segments: those of processes
 * that are gone, once drained, and leftovers of segments that were never published. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/core.h"
#include "format/segment.h"
#include "sink/window-rows.h"

enum { OPT_DRY_RUN = 256 };

static const cli_option options[] = {
    {"dry-run", 'n', NULL, "list what would be removed and why, remove nothing"},
    {"pid", 'p', "PID", "only this process's segment"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {0},
};

typedef struct clean_opts {
    int dry_run, pid;
    const char *dir;
} clean_opts;

static int cmd_clean(int argc, char **argv);
const cli_command cmd_clean_def = {
    "clean", cmd_clean, "remove the segments of processes that are gone (after draining them)",
    "[--dry-run] [--pid P] [--dir DIR]",
    "Commands that only look (list, report, top, check, analyze) never remove a segment, so a\n"
    "second look finds what the first one saw. A segment outlives its process; clean removes\n"
    "the segments of processes that are gone, after reading them to their last record, and the\n"
    "leftovers of segments a process started but never published (.tmp-timekeeper-*, older than\n"
    "a minute, of a process that is gone). It says what it removes and why: 'exited' (the\n"
    "library marked a normal exit) or 'killed' (gone without that mark). Segments of live\n"
    "processes, other users' files and segments that could not be read are left alone.\n"
    "With --dry-run nothing is removed.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    clean_opts *o = ctx;
    switch (key) {
    case 'n': o->dry_run = 1; return 0;
    case 'p': return cli_option_pid(&cmd_clean_def, arg, &o->pid);
    case 'd': o->dir = arg; return 0;
    }
    return CLI_USAGE;
}

/* Leftovers: .tmp-timekeeper-<pid>-<n> of this user, a minute old, whose pid is gone. */
static int clean_leftovers(const char *dir, const clean_opts *o, size_t *removed)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    const char *prefix = ".tmp-" TKS_FILE_PREFIX;
    size_t pl = strlen(prefix);
    int status = CLI_OK;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0)
            continue;
        int pid = atoi(e->d_name + pl);
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid() || now - st.st_mtime < 60 ||
            (o->pid && pid != o->pid) || (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)))
            continue;
        printf("%s %s/%s (never published; pid %d is gone)\n",
               o->dry_run ? "would remove" : "removed", dir, e->d_name, pid);
        if (!o->dry_run && unlinkat(dirfd(d), e->d_name, 0) != 0) {
            status = cli_error("clean", "%s/%s: %s", dir, e->d_name, strerror(errno));
            continue;
        }
        (*removed)++;
    }
    closedir(d);
    return status;
}

static int cmd_clean(int argc, char **argv)
{
    clean_opts o = {0};
    int status;
    int first = cli_parse(&cmd_clean_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_clean_def, "unexpected argument '%s'", argv[first]);
    tkc_core_options co = {.dir = o.dir, .pid = o.pid};
    tkc_core *c;
    int r;
    if (cli_open_core("clean", &co, &c) != 0)
        return CLI_FAIL;
    tkc_core_scan(c);
    tkc_core_drain(c); /* a process found gone is read to its last record here */
    status = CLI_OK;
    size_t removed = 0, kept = 0;
    for (size_t i = 0; i < tkc_core_proc_count(c); i++) {
        const tkc_proc *p = tkc_core_proc(c, i);
        if (p->state == TKC_PROC_LIVE) {
            kept++;
            continue;
        }
        printf("%s %s (pid %d %s: %s, %llu records read)\n", o.dry_run ? "would remove" : "removed",
               p->path, p->pid, p->name, tk_proc_state_name(p), (unsigned long long)p->records);
        if (o.dry_run) {
            removed++;
            continue;
        }
        if ((r = tkc_core_remove_segment(c, p)) != 0) {
            status = cli_error("clean", "%s: %s", p->path,
                               r == -ESTALE ? "another file has that name now; left alone"
                               : r == -EIO  ? "it could not be read to its end; left alone"
                                            : strerror(-r));
            continue;
        }
        removed++;
    }
    int lr = clean_leftovers(tkc_core_dir(c), &o, &removed);
    if (lr != CLI_OK)
        status = lr;
    fprintf(stderr, "timekeeper clean: %zu %s, %zu live left alone\n", removed,
            o.dry_run ? "to remove" : "removed", kept);
    tkc_core_close(c);
    return cli_finish("clean", status);
}
