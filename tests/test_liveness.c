/* test_liveness.c — a segment's life lock tells a live producer from a dead one without its pid:
 * held while the process runs (also from another PID namespace), gone after SIGKILL, not kept by a
 * forked child; a normal exit is told from a kill by the header's exit mark. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "format/segment.h"
#include "core/liveness.h"
#include "testutil.h"
#include "tu_spawn.h"

/* A producer running `tk_safety_child hold ...` (possibly behind a wrapper), with its stdin. */
typedef struct held {
    pid_t pid;
    int in;           /* closing it makes the producer exit normally */
    char out[4096];   /* what it printed until "path=" */
    char path[1024];
    int child;        /* "child=" (hold fork), 0 when none */
} held;

static char dir[64];

static void start_hold(held *h, const char *const *prefix, const char *mode_arg)
{
    const char *bin = getenv("TK_BIN");
    if (!bin)
        fail_msg("TK_BIN is not set (run through ctest)");
    char exe[512];
    snprintf(exe, sizeof exe, "%s/tk_safety_child", bin);
    const char *argv[16];
    int n = 0;
    for (; prefix && prefix[n]; n++)
        argv[n] = prefix[n];
    argv[n++] = exe;
    argv[n++] = "hold";
    if (mode_arg)
        argv[n++] = mode_arg;
    argv[n] = NULL;
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    memset(h, 0, sizeof *h);
    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        setenv("TK_DIR", dir, 1);
        setenv("TK_RING_SIZE", "1024", 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->in = in[1];
    size_t got = 0;
    uint64_t deadline = tu_spawn_now_ns() + 10000000000u;
    while (!strstr(h->out, "path=") || !strchr(strstr(h->out, "path="), '\n') ||
           (mode_arg && !strstr(h->out, "child="))) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (tu_spawn_now_ns() > deadline || poll(&p, 1, 100) < 0)
            break;
        if (!p.revents)
            continue;
        ssize_t m = read(out[0], h->out + got, sizeof h->out - 1 - got);
        if (m <= 0)
            break;
        got += (size_t)m;
        h->out[got] = '\0';
    }
    close(out[0]);
    const char *p = strstr(h->out, "path=");
    if (p)
        sscanf(p + 5, "%1023[^\n]", h->path);
    const char *c = strstr(h->out, "child=");
    if (c)
        h->child = atoi(c + 6);
}

/* Reads the segment's header through a read-only mapping (as a collector does). */
static void read_header(const char *path, tks_header *out)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    void *m = mmap(NULL, sizeof *out, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(m != MAP_FAILED);
    memcpy(out, m, sizeof *out);
    munmap(m, sizeof *out);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(dir, sizeof dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static void holder_is_alive_while_it_runs_and_dead_after_sigkill(void **state)
{
    (void)state;
    held h;
    start_hold(&h, NULL, NULL);
    if (!h.path[0])
        tu_fail("the producer printed no path: %s", h.out);
    tks_header hd;
    read_header(h.path, &hd);
    assert_u64_equal(TKS_FEATURE_LIFE_LOCK, hd.features & TKS_FEATURE_LIFE_LOCK, "features bit");
    int fd = open(h.path, O_RDONLY);
    assert_int_equal(tkc_segment_holder_alive_fd(fd), 1);
    assert_int_equal(tkc_segment_holder_alive(h.path), 1);
    kill(h.pid, SIGKILL);
    int st;
    waitpid(h.pid, &st, 0);
    assert_int_equal(tkc_segment_holder_alive_fd(fd), 0);
    assert_int_equal(tkc_segment_holder_alive(h.path), 0);
    close(fd);
    close(h.in);
    read_header(h.path, &hd);
    /* killed: no exit mark */
    assert_u64_equal(TKS_STATE_LIVE, hd.state, "state of a killed producer");
    assert_u64_equal(0, hd.exit_mono_ns, "exit_mono_ns of a killed producer");
    unlink(h.path);
}

static void normal_exit_leaves_the_exit_mark_and_no_lock(void **state)
{
    (void)state;
    held h;
    start_hold(&h, NULL, NULL);
    assert_int_equal(tkc_segment_holder_alive(h.path), 1);
    close(h.in); /* the producer returns from main */
    int st;
    waitpid(h.pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(tkc_segment_holder_alive(h.path), 0);
    tks_header hd;
    read_header(h.path, &hd);
    assert_u64_equal(TKS_STATE_EXITED, hd.state, "state after a normal exit");
    if (hd.exit_mono_ns == 0)
        tu_fail("exit_mono_ns is 0 after a normal exit");
    unlink(h.path);
}

static void forked_child_does_not_keep_the_parents_lock(void **state)
{
    (void)state;
    held h;
    start_hold(&h, NULL, "fork");
    if (!h.child)
        tu_fail("no child pid: %s", h.out);
    assert_int_equal(tkc_segment_holder_alive(h.path), 1);
    kill(h.pid, SIGKILL);
    int st;
    waitpid(h.pid, &st, 0);
    assert_int_equal(kill(h.child, 0), 0); /* the child still runs, with the parent's fds */
    assert_int_equal(tkc_segment_holder_alive(h.path), 0);
    kill(h.child, SIGKILL);
    close(h.in);
    unlink(h.path);
}

static void holder_in_another_pid_namespace_is_alive(void **state)
{
    (void)state;
    static const char *const wrap[] = {"unshare", "--pid", "--fork", NULL};
    held h;
    start_hold(&h, wrap, NULL);
    if (!h.path[0]) {
        close(h.in);
        int st;
        waitpid(h.pid, &st, 0);
        fprintf(stderr, "skipped: unshare --pid --fork did not run the producer (needs root or "
                        "user namespaces; status %#x)\n", st);
        skip();
    }
    tks_header hd;
    read_header(h.path, &hd);
    assert_u64_equal(1, hd.pid, "the producer is pid 1 of its namespace");
    assert_int_equal(tkc_segment_holder_alive(h.path), 1);
    close(h.in);
    int st;
    waitpid(h.pid, &st, 0);
    assert_int_equal(tkc_segment_holder_alive(h.path), 0);
    read_header(h.path, &hd);
    assert_u64_equal(TKS_STATE_EXITED, hd.state, "normal exit in the namespace");
    unlink(h.path);
}

static void bad_arguments_are_errors_not_answers(void **state)
{
    (void)state;
    assert_int_equal(tkc_segment_holder_alive_fd(-1), -EBADF);
    char path[128];
    snprintf(path, sizeof path, "%s/none.seg", dir);
    assert_int_equal(tkc_segment_holder_alive(path), -ENOENT);
    int fd = open(path, O_RDWR | O_CREAT, 0600); /* a file nobody locks: dead */
    assert_int_equal(tkc_segment_holder_alive_fd(fd), 0);
    close(fd);
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(holder_is_alive_while_it_runs_and_dead_after_sigkill),
        cmocka_unit_test(normal_exit_leaves_the_exit_mark_and_no_lock),
        cmocka_unit_test(forked_child_does_not_keep_the_parents_lock),
        cmocka_unit_test(holder_in_another_pid_namespace_is_alive),
        cmocka_unit_test(bad_arguments_are_errors_not_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
