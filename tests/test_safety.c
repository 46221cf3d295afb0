/* test_safety.c — the program never pays for the library's failures: a full tmpfs drops and counts
 * records instead of raising SIGBUS, hundreds of forks under load all finish, a full name table and
 * pipes nobody reads never block or slow a call down, a bad TK_DIR is refused with one line. Runs
 * $TK_BIN/tk_safety_child in each situation and checks what it printed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "testutil.h"
#include "tu_spawn.h"

/* Runs tk_safety_child with args, every TK_* variable dropped, then vars ("NAME=value", NULL-ended). */
static void run_child(const char *const *args, const char *const *vars, double timeout_s,
                      tu_run_result *r)
{
    const char *bin = getenv("TK_BIN");
    if (!bin)
        fail_msg("TK_BIN is not set (run through ctest)");
    char exe[512];
    snprintf(exe, sizeof exe, "%s/tk_safety_child", bin);
    tu_spawn(&(tu_spawn_options){.exe = exe, .args = args, .env_drop_prefix = "TK_",
                                 .env_set = vars, .timeout_s = timeout_s},
             r);
}

/* The value of "key=" in the child's stdout; fails the test when it is missing. */
static const char *value(const tu_run_result *r, const char *key)
{
    static char val[4096];
    size_t kl = strlen(key);
    for (const char *l = r->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            const char *e = strchr(l, '\n');
            size_t n = e ? (size_t)(e - l - (ptrdiff_t)kl - 1) : strlen(l + kl + 1);
            snprintf(val, sizeof val, "%.*s", (int)n, l + kl + 1);
            return val;
        }
    }
    tu_fail("no %s= in the output:\n%s\nstderr:\n%s", key, r->out, r->err);
    return "";
}

static uint64_t num(const tu_run_result *r, const char *key)
{
    return strtoull(value(r, key), NULL, 10);
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void expect_clean_exit(const tu_run_result *r)
{
    if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        tu_fail("the program did not exit 0 (status %#x%s); stdout:\n%s\nstderr:\n%s", r->status,
                r->timed_out ? ", timed out" : "", r->out, r->err);
}

/* For the tmpfs cases: skips when the kernel refuses a private mount namespace. */
static int skipped(const tu_run_result *r)
{
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 77) {
        fprintf(stderr, "skipped (a private tmpfs needs root or user namespaces): %s", r->out);
        return 1;
    }
    return 0;
}

/* ---- item 1: a full filesystem ------------------------------------------------------------------ */

static void full_tmpfs_drops_a_ring_that_does_not_fit_and_counts_it(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"--tmpfs", "1m", "threads", "40", NULL};
    static const char *const vars[] = {"TK_RING_SIZE=1024", "TK_MAX_THREADS=64", NULL};
    run_child(args, vars, 60, r);
    if (skipped(r)) {
        free(r);
        skip();
    }
    expect_clean_exit(r);
    assert_text_equal("0", value(r, "exit"), "the program under the 1 MiB tmpfs ends normally "
                                             "(no SIGBUS); stderr:\n%s", r->err);
    assert_u64_equal(0, num(r, "tmp_files"), "no .tmp- file is left");
    assert_u64_equal(1, num(r, "segments"), "the segment is published");
    assert_u64_equal(1, num(r, "enabled"), "recording stays on for the threads that have a ring");
    uint64_t dropped = num(r, "dropped_no_space");
    if (dropped == 0 || dropped > 40u * 4000u)
        tu_fail("records dropped for lack of space: %llu, expected in (0, %u]",
                (unsigned long long)dropped, 40u * 4000u);
    assert_u64_equal(dropped, num(r, "hdr_dropped_no_space"), "the header shows the same count");
    assert_u64_equal(num(r, "rings_no_space"), num(r, "hdr_rings_no_space"), "rings without space");
    assert_u64_equal(2, num(r, "hdr_minor"), "the header's minor version");
    assert_u64_equal(1, occurrences(r->err, "no space in"), "one line on stderr:\n%s", r->err);
    free(r);
}

static void full_tmpfs_with_default_rings_drops_every_record_exactly(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"--tmpfs", "1m", "threads", "8", NULL};
    static const char *const vars[] = {NULL};
    run_child(args, vars, 60, r);
    if (skipped(r)) {
        free(r);
        skip();
    }
    expect_clean_exit(r);
    assert_text_equal("0", value(r, "exit"), "no signal; stderr:\n%s", r->err);
    assert_u64_equal(0, num(r, "hdr_ring_count"), "a 2 MiB ring fits nowhere");
    assert_u64_equal(8 * 4000, num(r, "dropped_no_space"), "every span and point is counted");
    assert_u64_equal(8, num(r, "rings_no_space"), "each thread tried once");
    assert_u64_equal(0, num(r, "dropped_no_ring"), "not a lack of rings");
    assert_u64_equal(0, num(r, "tmp_files"), "no .tmp- file is left");
    free(r);
}

static void full_tmpfs_without_room_for_a_header_leaves_nothing_and_counts(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"--tmpfs", "1m", "--fill", "threads", "4", NULL};
    static const char *const vars[] = {NULL};
    run_child(args, vars, 60, r);
    if (skipped(r)) {
        free(r);
        skip();
    }
    expect_clean_exit(r);
    assert_text_equal("0", value(r, "exit"), "no signal; stderr:\n%s", r->err);
    assert_u64_equal(0, num(r, "tmp_files"), "a failed start leaves no .tmp- file");
    assert_u64_equal(0, num(r, "segments"), "and no segment");
    assert_u64_equal(0, num(r, "enabled"), "recording is off");
    assert_u64_equal(4 * 4000, num(r, "dropped_no_segment"), "every record is counted");
    assert_u64_equal(1, occurrences(r->err, "no space for a segment header"),
                     "one line on stderr:\n%s", r->err);
    free(r);
}

/* Python's first point() and timer in threads, on a tmpfs with no room for a ring. */
static void full_tmpfs_under_python_first_points_no_signal(void **state)
{
    (void)state;
#ifndef TK_TEST_PYTHONPATH
    fprintf(stderr, "skipped: the Python extension is not built for this build type\n");
    skip();
#else
    char so_dir[600];
    snprintf(so_dir, sizeof so_dir, "%s/timekeeper/__init__.py", TK_TEST_PYTHONPATH);
    if (access(so_dir, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
        fprintf(stderr, "skipped: no Python extension in %s\n", TK_TEST_PYTHONPATH);
        skip();
    }
    tu_run_result *r = malloc(sizeof *r);
    static const char script[] =
        "import threading, timekeeper\n"
        "def work(i):\n"
        "    t = timekeeper.timer('py.work')\n"
        "    for k in range(500):\n"
        "        timekeeper.point('PY_FIRST_POINT', i, k, None, n=1)\n"
        "        with t: pass\n"
        "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print('python_done=1')\n";
    static const char *const args[] = {"--tmpfs", "1m", "--exec", "/usr/bin/python3", "-c", script,
                                       NULL};
    const char *const vars[] = {"PYTHONPATH=" TK_TEST_PYTHONPATH, "PYTHONDONTWRITEBYTECODE=1", NULL};
    run_child(args, vars, 60, r);
    if (skipped(r)) {
        free(r);
        skip();
    }
    expect_clean_exit(r);
    assert_text_equal("1", value(r, "python_done"), "the script ran to its end; stderr:\n%s", r->err);
    assert_text_equal("0", value(r, "exit"), "no SIGBUS in Python; stderr:\n%s", r->err);
    assert_u64_equal(0, num(r, "tmp_files"), "no .tmp- file is left");
    assert_u64_equal(1, occurrences(r->err, "no space in"), "one line on stderr:\n%s", r->err);
    free(r);
#endif
}

/* ---- item 2: fork ------------------------------------------------------------------------------- */

static void hundreds_of_forks_under_load_all_finish(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"forks", "300", NULL};
    char dir[64], dirvar[80];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    /* a ThreadSanitizer build would end a child that starts a thread after a multi-threaded fork
     * (the child's calibration thread); the library allows it, so the test does too */
    const char *const vars[] = {dirvar, "TK_RING_SIZE=1024", "TK_MAX_THREADS=8",
                                "TSAN_OPTIONS=halt_on_error=1:die_after_fork=0", NULL};
    run_child(args, vars, 120, r);
    expect_clean_exit(r);
    assert_u64_equal(0, num(r, "hung"), "children that hung (killed after 5 s)");
    assert_u64_equal(0, num(r, "failed"), "children that failed");
    assert_u64_equal(300, num(r, "finished"), "children that finished");
    tu_rmdir(dir);
    free(r);
}

/* ---- item 3: a full name table ----------------------------------------------------------------- */

static void full_name_table_is_told_once_and_costs_no_more_than_a_record(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"labels", "5000", "20000", NULL};
    char dir[64], dirvar[80];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    const char *const vars[] = {dirvar, NULL};
    run_child(args, vars, 60, r);
    expect_clean_exit(r);
    /* ids 1..4095 hold GOOD and L0..L4093 */
    uint64_t failed = num(r, "failed");
    assert_u64_equal(5000 - 4094, failed, "labels refused");
    assert_u64_equal(1, num(r, "full_lines"), "lines about the full table in the unread pipe");
    assert_u64_equal(0, num(r, "other_lines"), "no other line (one per refused name before)");
    uint64_t late = num(r, "late_points");
    assert_u64_equal(failed + late, num(r, "names_refused"), "registrations refused");
    assert_u64_equal(failed + late, num(r, "dropped_name_full"), "points dropped, counted");
    assert_u64_equal(failed + late, num(r, "hdr_dropped_name_full"), "the header's count");
    double bad = strtod(value(r, "failed_point_ns"), NULL);
    double good = strtod(value(r, "recorded_point_ns"), NULL);
    if (bad > 50 * good + 100) /* before: a lock, a scan of 4096 names and a write per call */
        tu_fail("a point with a refused label costs %.1f ns, a recorded one %.1f ns", bad, good);
    tu_rmdir(dir);
    free(r);
}

/* ---- item 4: TIMING lines into a pipe nobody reads -------------------------------------------- */

static void timing_lines_into_an_unread_pipe_are_dropped_and_counted_never_waited_for(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"timing", "20000", NULL};
    char dir[64], dirvar[80];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    const char *const vars[] = {dirvar, "TK_TIMING=1", NULL};
    run_child(args, vars, 30, r);
    expect_clean_exit(r);
    uint64_t lines = num(r, "timing_lines"), dropped = num(r, "timing_dropped");
    if (dropped == 0)
        tu_fail("a 64 KiB pipe holds fewer than 20000 lines, yet none was dropped (%llu lines)",
                (unsigned long long)lines);
    assert_u64_equal(20000, lines + dropped, "lines in the pipe + lines dropped");
    assert_u64_equal(dropped, num(r, "hdr_timing_dropped"), "the header's count");
    tu_rmdir(dir);
    free(r);
}

static void library_warnings_into_a_full_pipe_never_wait(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static const char *const args[] = {"fullpipe", NULL};
    char dir[64], dirvar[80];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    const char *const vars[] = {dirvar, NULL};
    run_child(args, vars, 20, r);
    expect_clean_exit(r); /* before: the warning about TK_RING_SIZE waited for a reader forever */
    assert_text_equal("0", value(r, "rc"), "tk_init goes on with the default");
    if (num(r, "filled") < 4096)
        tu_fail("the pipe was not filled (%s bytes)", value(r, "filled"));
    tu_rmdir(dir);
    free(r);
}

/* ---- item 9: TK_DIR never cut ------------------------------------------------------------------- */

static void tk_dir_too_long_for_a_path_is_refused_with_one_line(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    static char dirvar[5200];
    memcpy(dirvar, "TK_DIR=/tmp/", 12);
    memset(dirvar + 12, 'a', 5000);
    dirvar[5012] = '\0';
    static const char *const args[] = {"init", NULL};
    const char *const vars[] = {dirvar, NULL};
    run_child(args, vars, 20, r);
    expect_clean_exit(r);
    assert_text_equal("-4", value(r, "rc"), "tk_init says TK_ENAMETOOLONG");
    assert_text_equal("0", value(r, "enabled"), "recording is off");
    assert_text_equal("", value(r, "path"), "no segment");
    assert_u64_equal(1, occurrences(r->err, "too long"), "one line on stderr:\n%s", r->err);
    free(r);
}

static void tk_dir_longer_than_255_bytes_is_used_whole(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    char base[64], dir[512];
    assert_non_null(tu_mkdtemp(base, sizeof base));
    snprintf(dir, sizeof dir, "%s", base);
    for (int i = 0; i < 6; i++) { /* 6 levels of 49 bytes: over 300 in all */
        size_t n = strlen(dir);
        snprintf(dir + n, sizeof dir - n, "/%048d", i);
        assert_int_equal(mkdir(dir, 0700), 0);
    }
    char dirvar[600];
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    static const char *const args[] = {"init", NULL};
    const char *const vars[] = {dirvar, NULL};
    run_child(args, vars, 20, r);
    expect_clean_exit(r);
    assert_text_equal("0", value(r, "rc"), "tk_init with a %zu-byte directory", strlen(dir));
    const char *path = value(r, "path");
    if (strncmp(path, dir, strlen(dir)) != 0 || path[strlen(dir)] != '/')
        tu_fail("the segment %s is not in %s", path, dir);
    unlink(path);
    while (strlen(dir) > strlen(base)) {
        rmdir(dir);
        *strrchr(dir, '/') = '\0';
    }
    tu_rmdir(base);
    free(r);
}

/* ---- item 11: the directory is checked ---------------------------------------------------------- */

static void run_init_in(const char *dir, tu_run_result *r)
{
    char dirvar[128];
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    static const char *const args[] = {"init", NULL};
    const char *const vars[] = {dirvar, NULL};
    run_child(args, vars, 20, r);
    expect_clean_exit(r);
}

static void segment_directory_others_can_write_without_sticky_bit_is_refused(void **state)
{
    (void)state;
    tu_run_result *r = malloc(sizeof *r);
    char dir[64];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    assert_int_equal(chmod(dir, 0777), 0);
    run_init_in(dir, r);
    assert_text_equal("-5", value(r, "rc"), "tk_init in a 0777 directory");
    assert_contains(r->err, "writable by others", "the reason on stderr");
    assert_u64_equal(1, occurrences(r->err, "timekeeper:"), "one line:\n%s", r->err);
    assert_int_equal(chmod(dir, 01777), 0); /* as /dev/shm: fine */
    run_init_in(dir, r);
    assert_text_equal("0", value(r, "rc"), "tk_init in a 1777 directory; stderr:\n%s", r->err);
    struct stat st;
    assert_int_equal(stat(value(r, "path"), &st), 0);
    assert_u64_equal(0600, st.st_mode & 07777, "the segment's mode");
    tu_rmdir(dir);
    free(r);
}

static void segment_directory_of_another_user_is_refused(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: giving a directory to another user needs root\n");
        skip();
    }
    tu_run_result *r = malloc(sizeof *r);
    char dir[64];
    assert_non_null(tu_mkdtemp(dir, sizeof dir));
    assert_int_equal(chown(dir, 65534, 65534), 0);
    run_init_in(dir, r);
    assert_text_equal("-5", value(r, "rc"), "tk_init in a directory of uid 65534");
    assert_contains(r->err, "belongs to uid 65534", "the reason on stderr");
    tu_rmdir(dir);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_tmpfs_drops_a_ring_that_does_not_fit_and_counts_it),
        cmocka_unit_test(full_tmpfs_with_default_rings_drops_every_record_exactly),
        cmocka_unit_test(full_tmpfs_without_room_for_a_header_leaves_nothing_and_counts),
        cmocka_unit_test(full_tmpfs_under_python_first_points_no_signal),
        cmocka_unit_test(hundreds_of_forks_under_load_all_finish),
        cmocka_unit_test(full_name_table_is_told_once_and_costs_no_more_than_a_record),
        cmocka_unit_test(timing_lines_into_an_unread_pipe_are_dropped_and_counted_never_waited_for),
        cmocka_unit_test(library_warnings_into_a_full_pipe_never_wait),
        cmocka_unit_test(tk_dir_too_long_for_a_path_is_refused_with_one_line),
        cmocka_unit_test(tk_dir_longer_than_255_bytes_is_used_whole),
        cmocka_unit_test(segment_directory_others_can_write_without_sticky_bit_is_refused),
        cmocka_unit_test(segment_directory_of_another_user_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
