/* tu_spawn.h — runs a program for a test: changed environment, captured output, a deadline. */
#ifndef TK_TU_SPAWN_H
#define TK_TU_SPAWN_H

/* cmocka.h needs these before it */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What tu_spawn runs and how; a field left zero keeps what the test process has. */
typedef struct tu_spawn_options {
    const char *exe;             /* the program's path, also its argv[0] */
    const char *const *args;     /* its arguments after argv[0], NULL-terminated (NULL: none) */
    const char *env_drop_prefix; /* variables whose "NAME=value" starts with this are left out */
    const char *const *env_set;  /* then "NAME=value" entries, NULL-terminated, each replacing any
                                    variable NAME (so a later entry wins over an earlier one) */
    const char *cwd;             /* the directory it runs in; exe and the paths below are then
                                    relative to it */
    const char *stdin_path;      /* opened for reading as its stdin */
    const char *stdout_path;     /* opened for writing (not created) as its stdout, which is then not
                                    captured */
    double timeout_s;            /* the deadline (must be set): the program is killed then */
} tu_spawn_options;

typedef struct tu_run_result {
    int status;       /* wait status */
    pid_t pid;
    int timed_out;    /* 1: its output was still open at the deadline and it was killed (SIGKILL) */
    char out[65536];  /* stdout, NUL-terminated; what does not fit is dropped */
    char err[16384];  /* stderr, likewise */
} tu_run_result;

static inline uint64_t tu_spawn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The child's environment as o describes it: an array to free (the strings are borrowed). */
static inline char **tu_spawn_env(const tu_spawn_options *o)
{
    size_t n = 0, nset = 0;
    while (environ[n])
        n++;
    while (o->env_set && o->env_set[nset])
        nset++;
    char **envp = calloc(n + nset + 1, sizeof *envp);
    assert_non_null(envp);
    const char *drop = o->env_drop_prefix;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop || strncmp(environ[i], drop, strlen(drop)) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < nset; i++) {
        const char *set = o->env_set[i];
        size_t name_eq = strcspn(set, "=") + 1; /* "NAME=" */
        size_t kept = 0;
        for (size_t j = 0; j < k; j++)
            if (strncmp(envp[j], set, name_eq) != 0)
                envp[kept++] = envp[j];
        k = kept;
        envp[k++] = (char *)set;
    }
    envp[k] = NULL;
    return envp;
}

/* Runs o->exe as o says and waits until it has closed its stdout and stderr and ended, or until the
 * deadline, then kills and reaps it. Fails the test when the program cannot be started; everything
 * else (exit status, time-out, output) is the caller's to check in r. */
static inline void tu_spawn(const tu_spawn_options *o, tu_run_result *r)
{
    memset(r, 0, sizeof *r);
    size_t nargs = 0;
    while (o->args && o->args[nargs])
        nargs++;
    const char **argv = calloc(nargs + 2, sizeof *argv);
    assert_non_null(argv);
    argv[0] = o->exe;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = o->args[i];

    int out[2] = {-1, -1}, err[2];
    if (!o->stdout_path)
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (o->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    if (o->stdin_path)
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, o->stdin_path, O_RDONLY, 0);
    if (o->stdout_path)
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, o->stdout_path, O_WRONLY, 0);
    else
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    char **envp = tu_spawn_env(o);
    int rc = posix_spawn(&r->pid, o->exe, &fa, NULL, (char *const *)argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    free(argv);
    if (out[1] >= 0)
        close(out[1]);
    close(err[1]);
    if (rc != 0) {
        if (out[0] >= 0)
            close(out[0]);
        close(err[0]);
        fail_msg("cannot run %s: %s", o->exe, strerror(rc));
    }

    char *buf[2] = {r->out, r->err};
    size_t got[2] = {0, 0}, cap[2] = {sizeof r->out - 1, sizeof r->err - 1};
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}}; /* poll skips an fd of -1 */
    uint64_t deadline = tu_spawn_now_ns() + (uint64_t)(o->timeout_s * 1e9);
    while ((p[0].fd >= 0 || p[1].fd >= 0) && tu_spawn_now_ns() < deadline) {
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char tmp[4096];
            ssize_t m = read(p[i].fd, tmp, sizeof tmp);
            if (m <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                continue;
            }
            size_t take = (size_t)m < cap[i] - got[i] ? (size_t)m : cap[i] - got[i];
            memcpy(buf[i] + got[i], tmp, take);
            got[i] += take;
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0) {
            close(p[i].fd);
            r->timed_out = 1;
        }
    if (r->timed_out)
        kill(r->pid, SIGKILL);
    waitpid(r->pid, &r->status, 0);
}

#endif
