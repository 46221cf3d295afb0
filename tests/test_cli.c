/* test_cli.c — the real `timekeeper` command ($TK_BIN/timekeeper) on bad command lines, help, empty
 * segment directories and a full output device: bad usage exits 2 naming the option, `X --help`
 * and `help X` print the same text, and a failed write of stdout exits 1 with a message. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "tu_spawn.h"

/* ---- running the command ------------------------------------------------------------------------- */

static char empty_dir[256];

/* Runs `timekeeper args...` (NULL-terminated) with TK_DIR set to an empty private directory and
 * returns its exit status (fails the test when it did not exit by itself within 30 s). When
 * stdout_path is set, stdout goes to that file instead of a pipe. */
static int run_tk(tu_run_result *r, const char *stdout_path, const char *const *args)
{
    const char *bin = getenv("TK_BIN");
    if (!bin)
        fail_msg("TK_BIN is not set (run through ctest)");
    char exe[512], dirvar[300];
    snprintf(exe, sizeof exe, "%s/timekeeper", bin);
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", empty_dir);
    const char *const env[] = {dirvar, NULL};
    tu_spawn(&(tu_spawn_options){.exe = exe, .args = args, .env_set = env, .stdout_path = stdout_path,
                                 .timeout_s = 30},
             r);
    if (r->timed_out)
        fail_msg("%s %s did not finish within 30 s", exe, args[0] ? args[0] : "");
    if (!WIFEXITED(r->status))
        fail_msg("%s %s died (wait status 0x%x); stderr \"%s\"", exe, args[0] ? args[0] : "",
                 r->status, r->err);
    return WEXITSTATUS(r->status);
}

static void join_args(char *buf, size_t len, const char *const *args)
{
    buf[0] = '\0';
    for (size_t i = 0; args[i]; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", args[i]);
}

/* ---- bad usage ---------------------------------------------------------------------------------- */

typedef struct usage_case {
    const char *args[8];
    const char *mentions; /* expected on stderr */
} usage_case;

static const usage_case usage_cases[] = {
    {{NULL}, "usage: timekeeper"},
    {{"frobnicate"}, "frobnicate"},
    {{"help", "frobnicate"}, "frobnicate"},
    {{"report", "--interval", "abc"}, "--interval"},
    {{"report", "--interval", "0"}, "--interval"},
    {{"report", "--interval", "-1"}, "--interval"},
    {{"report", "--interval", "nan"}, "--interval"},
    {{"report", "--count", "-1"}, "--count"},
    {{"report", "--count", "0"}, "--count"},
    {{"report", "--count", "1x"}, "--count"},
    {{"report", "--pid", "x"}, "--pid"},
    {{"report", "--pid", "0"}, "--pid"},
    {{"report", "--bogus"}, "--bogus"},
    {{"report", "--interval"}, "--interval"},
    {{"report", "--once", "--count", "2"}, "--count"},
    {{"report", "--once", "stray"}, "stray"},
    {{"check", "--max-silence", "-1"}, "--max-silence"},
    {{"check", "--max-silence", "soon"}, "--max-silence"},
    {{"check", "--pid", "-5"}, "--pid"},
    {{"check", "extra"}, "extra"},
    {{"list", "extra-arg"}, "extra-arg"},
    {{"list", "--pid", "99999999999"}, "--pid"},
    {{"list", "-x"}, "-x"},
    {{"calibrate", "--bogus"}, "--bogus"},
    {{"calibrate", "extra"}, "extra"},
    /* one process per run: a second --pid is refused, not silently the winner */
    {{"list", "--pid", "3", "--pid", "4"}, "--pid given twice"},
    {{"report", "-p", "3", "-p", "4"}, "--pid given twice"},
    {{"check", "--pid", "3", "--pid", "3"}, "--pid given twice"},
    {{"analyze", "--live", "--pid", "3", "--pid", "4"}, "--pid given twice"},
    /* durations take units, and nothing else */
    {{"report", "--interval", "2x"}, "--interval"},
    {{"report", "--interval", "10ms"}, "--interval"},
    {{"check", "--max-silence", "5 s"}, "--max-silence"},
    {{"analyze", "--live", "--duration", "1y"}, "--duration"},
};
#define N_USAGE (sizeof usage_cases / sizeof usage_cases[0])

static void bad_usage_exits_2_naming_the_problem(void **state)
{
    const usage_case *uc = *state;
    char what[256];
    join_args(what, sizeof what, uc->args);
    tu_run_result r;
    int code = run_tk(&r, NULL, uc->args);
    assert_u64_equal(2, (uint64_t)code, "`timekeeper %s`: exit status (stderr \"%s\")", what, r.err);
    assert_contains(r.err, uc->mentions, "`timekeeper %s`: stderr", what);
    assert_text_equal("", r.out, "`timekeeper %s`: stdout", what);
}

/* ---- help --------------------------------------------------------------------------------------- */

static const char *const help_commands[] = {"list", "report", "check", "calibrate", "top", "analyze"};
#define N_HELP (sizeof help_commands / sizeof help_commands[0])

static void command_help_and_help_command_print_the_same_usage(void **state)
{
    const char *cmd = *state;
    tu_run_result a, b, c;
    const char *const dash[] = {cmd, "--help", NULL};
    const char *const help[] = {"help", cmd, NULL};
    const char *const dash_h[] = {cmd, "-h", NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&a, NULL, dash), "`%s --help`: exit status", cmd);
    assert_u64_equal(0, (uint64_t)run_tk(&b, NULL, help), "`help %s`: exit status", cmd);
    assert_u64_equal(0, (uint64_t)run_tk(&c, NULL, dash_h), "`%s -h`: exit status", cmd);
    char want[64];
    snprintf(want, sizeof want, "usage: timekeeper %s", cmd);
    assert_true(strncmp(a.out, want, strlen(want)) == 0 ||
                (print_error("`%s --help` starts with \"%.40s\", not \"%s\"\n", cmd, a.out, want), 0));
    assert_contains(a.out, "--help", "`%s --help`: the option list", cmd);
    assert_text_equal(a.out, b.out, "`help %s` against `%s --help`", cmd, cmd);
    assert_text_equal(a.out, c.out, "`%s -h` against `%s --help`", cmd, cmd);
    assert_text_equal("", a.err, "`%s --help`: stderr", cmd);
    assert_text_equal("", b.err, "`help %s`: stderr", cmd);
}

static void top_level_help_lists_every_command(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const args[] = {"--help", NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, args), "`timekeeper --help`: exit status");
    assert_contains(r.out, "usage: timekeeper", "`timekeeper --help`");
    for (size_t i = 0; i < N_HELP; i++)
        assert_contains(r.out, help_commands[i], "`timekeeper --help` lists %s", help_commands[i]);
}

/* ---- empty segment directories ---------------------------------------------------------------- */

static void report_once_json_on_an_empty_dir_prints_nothing_and_exits_0(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const args[] = {"report", "--once", "--json", "--dir", empty_dir, NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, args), "exit status (stderr \"%s\")", r.err);
    assert_u64_equal(0, count_lines(r.out), "stdout lines (\"%s\")", r.out);
}

static void check_on_an_empty_dir_is_unhealthy_unless_allow_none(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const strict[] = {"check", "--dir", empty_dir, NULL};
    assert_u64_equal(1, (uint64_t)run_tk(&r, NULL, strict), "`check --dir EMPTY`: exit status");
    assert_contains(r.err, "no live instrumented process", "`check --dir EMPTY`: stderr");
    const char *const lenient[] = {"check", "--dir", empty_dir, "--allow-none", NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, lenient),
                     "`check --dir EMPTY --allow-none`: exit status (stderr \"%s\")", r.err);
    /* TK_DIR is honoured as well as --dir */
    const char *const env_dir[] = {"check", NULL};
    assert_u64_equal(1, (uint64_t)run_tk(&r, NULL, env_dir), "`TK_DIR=EMPTY check`: exit status");
}

static void list_on_an_empty_dir_says_so(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const args[] = {"list", "--dir", empty_dir, NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, args), "exit status (stderr \"%s\")", r.err);
    assert_text_equal("no instrumented processes\n", r.out, "stdout");
    const char *const json[] = {"list", "--json", "--dir", empty_dir, NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, json), "--json: exit status");
    assert_text_equal("", r.out, "--json: stdout");
}

/* ---- a wrong directory, a wrong pid ------------------------------------------------------------- */

/* Every collector command, with the options that make it return at once. */
static const char *const collector_cmds[][6] = {
    {"list", NULL},
    {"report", "--once", NULL},
    {"report", "--once", "--json", NULL},
    {"check", "--allow-none", NULL},
    {"analyze", "--live", "--duration", "100ms", NULL},
};
#define N_COLLECTOR_CMDS (sizeof collector_cmds / sizeof collector_cmds[0])

/* Runs collector command i with extra arguments appended (NULL-terminated). */
static int run_collector_cmd(tu_run_result *r, size_t i, const char *const *extra, char *what,
                             size_t what_len)
{
    const char *args[16];
    size_t k = 0;
    for (size_t j = 0; collector_cmds[i][j]; j++)
        args[k++] = collector_cmds[i][j];
    for (size_t j = 0; extra[j]; j++)
        args[k++] = extra[j];
    args[k] = NULL;
    join_args(what, what_len, args);
    return run_tk(r, NULL, args);
}

static void a_missing_dir_or_a_file_as_dir_exits_1_naming_it(void **state)
{
    (void)state;
    static const struct { const char *dir, *error; } cases[] = {
        {"/nonexistent/tk-test-cli", "No such file or directory"},
        {"/etc/passwd", "not a directory"},
    };
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < N_COLLECTOR_CMDS; i++) {
            const char *const extra[] = {"--dir", cases[c].dir, NULL};
            char what[256];
            tu_run_result r;
            int code = run_collector_cmd(&r, i, extra, what, sizeof what);
            assert_u64_equal(1, (uint64_t)code, "`timekeeper %s`: exit status (stderr \"%s\")",
                             what, r.err);
            assert_contains(r.err, cases[c].dir, "`timekeeper %s`: stderr names the directory", what);
            assert_contains(r.err, cases[c].error, "`timekeeper %s`: stderr says what is wrong", what);
            assert_text_equal("", r.out, "`timekeeper %s`: stdout", what);
        }
    }
    /* TK_DIR is checked the same way as --dir */
    const char *bin = getenv("TK_BIN");
    char exe[512];
    snprintf(exe, sizeof exe, "%s/timekeeper", bin);
    const char *const env[] = {"TK_DIR=/nonexistent/tk-test-cli-env", NULL};
    const char *const args[] = {"list", NULL};
    tu_run_result r;
    tu_spawn(&(tu_spawn_options){.exe = exe, .args = args, .env_set = env, .timeout_s = 30}, &r);
    assert_u64_equal(1, (uint64_t)WEXITSTATUS(r.status), "`TK_DIR=/nonexistent list`: exit status");
    assert_contains(r.err, "/nonexistent/tk-test-cli-env", "`TK_DIR=/nonexistent list`: stderr");
}

static void an_unreadable_dir_exits_1_naming_it(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("skipped: root reads every directory\n");
        skip();
    }
    char dir[300];
    snprintf(dir, sizeof dir, "%s/unreadable", empty_dir);
    assert_int_equal(0, mkdir(dir, 0));
    const char *const args[] = {"list", "--dir", dir, NULL};
    tu_run_result r;
    int code = run_tk(&r, NULL, args);
    rmdir(dir);
    assert_u64_equal(1, (uint64_t)code, "`list --dir UNREADABLE`: exit status");
    assert_contains(r.err, "Permission denied", "`list --dir UNREADABLE`: stderr");
}

static void a_pid_without_a_segment_or_without_a_process_exits_1_saying_which(void **state)
{
    (void)state;
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid()); /* this test: alive, not instrumented */
    for (size_t i = 0; i < N_COLLECTOR_CMDS; i++) {
        const char *const alive[] = {"--pid", self, NULL};
        char what[256], want[400];
        tu_run_result r;
        int code = run_collector_cmd(&r, i, alive, what, sizeof what);
        assert_u64_equal(1, (uint64_t)code, "`timekeeper %s`: exit status (stderr \"%s\")", what,
                         r.err);
        snprintf(want, sizeof want, "pid %s (test_cli) has no segment in %s", self, empty_dir);
        assert_contains(r.err, want, "`timekeeper %s`: stderr", what);
        const char *const gone[] = {"--pid", "2147483647", NULL};
        code = run_collector_cmd(&r, i, gone, what, sizeof what);
        assert_u64_equal(1, (uint64_t)code, "`timekeeper %s`: exit status (stderr \"%s\")", what,
                         r.err);
        assert_contains(r.err, "pid 2147483647: no such process", "`timekeeper %s`: stderr", what);
    }
}

/* ---- the command line's edges ---------------------------------------------------------------------- */

static void an_unknown_command_prints_one_line_and_a_hint(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const args[] = {"bogus", NULL};
    assert_u64_equal(2, (uint64_t)run_tk(&r, NULL, args), "`timekeeper bogus`: exit status");
    assert_text_equal("timekeeper: no such command 'bogus'\n"
                      "Try 'timekeeper --help' for the list of commands.\n",
                      r.err, "`timekeeper bogus`: stderr");
    assert_text_equal("", r.out, "`timekeeper bogus`: stdout");
}

static void help_help_and_the_usage_mention_help_and_version(void **state)
{
    (void)state;
    tu_run_result a, b;
    const char *const help_help[] = {"help", "help", NULL};
    const char *const help[] = {"--help", NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&a, NULL, help_help), "`help help`: exit status (stderr "
                     "\"%s\")", a.err);
    assert_u64_equal(0, (uint64_t)run_tk(&b, NULL, help), "`--help`: exit status");
    assert_text_equal(b.out, a.out, "`help help` against `--help`");
    assert_contains(b.out, "--version", "`--help` mentions --version");
    assert_contains(b.out, "help [<command>]", "`--help` mentions help");
}

static void durations_take_units(void **state)
{
    (void)state;
    static const char *const cases[][8] = {
        {"report", "--count", "1", "--interval", "100ms", NULL},
        {"report", "--count", "1", "-i", "0.1", NULL},
        {"check", "--allow-none", "--max-silence", "500ms", NULL},
        {"check", "--allow-none", "-s", "2m", NULL},
        {"analyze", "--live", "--duration", "50ms", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[256];
        join_args(what, sizeof what, cases[i]);
        tu_run_result r;
        uint64_t t0 = tu_spawn_now_ns();
        int code = run_tk(&r, NULL, cases[i]);
        double s = (double)(tu_spawn_now_ns() - t0) / 1e9;
        /* analyze exits 1 on no points, the others 0: what matters is that the option was taken */
        assert_true(code != 2 || (print_error("`timekeeper %s`: refused: %s\n", what, r.err), 0));
        assert_true(s < 10 || (print_error("`timekeeper %s` took %.1f s\n", what, s), 0));
    }
}

static void the_same_letters_mean_the_same_options_in_every_command(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"list", "-j, --json"},     {"report", "-j, --json"},    {"check", "-j, --json"},
        {"analyze", "-j, --json"},  {"calibrate", "-j, --json"}, {"report", "-c, --csv"},
        {"analyze", "-c, --csv"},   {"list", "-p, --pid"},       {"report", "-p, --pid"},
        {"check", "-p, --pid"},     {"analyze", "-p, --pid"},    {"top", "-p, --pid"},
        {"list", "-d, --dir"},      {"report", "-d, --dir"},     {"check", "-d, --dir"},
        {"analyze", "-d, --dir"},   {"top", "-d, --dir"},        {"check", "-s, --max-silence"},
        {"top", "-s, --max-silence"}, {"report", "-i, --interval"}, {"top", "-i, --interval"},
        {"report", "-t, --timer"},  {"top", "-t, --timer"},
        {"clean", "-d, --dir"},     {"clean", "-p, --pid"},      {"record", "-d, --dir"},
        {"record", "-p, --pid"},    {"record", "-i, --interval"}, {"export", "-d, --dir"},
        {"export", "-p, --pid"},    {"diff", "-j, --json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const args[] = {cases[i][0], "--help", NULL};
        tu_run_result r;
        assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, args), "`%s --help`", cases[i][0]);
        assert_contains(r.out, cases[i][1], "`timekeeper %s --help`", cases[i][0]);
    }
}

/* ---- a full device ------------------------------------------------------------------------------ */

static void output_to_a_full_device_exits_1_with_a_message(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0) {
        print_message("skipped: no writable /dev/full\n");
        skip();
    }
    static const char *const cmds[][6] = {
        {"list", "--dir", NULL},
        {"help", "report", NULL},
        {"report", "--help", NULL},
        {"check", "--help", NULL},
        {"--help", NULL},
        {"--version", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[8];
        size_t k = 0;
        for (size_t j = 0; cmds[i][j]; j++)
            args[k++] = cmds[i][j];
        if (strcmp(cmds[i][0], "list") == 0)
            args[k++] = empty_dir;
        args[k] = NULL;
        char what[256];
        join_args(what, sizeof what, args);
        tu_run_result r;
        int code = run_tk(&r, "/dev/full", args);
        assert_u64_equal(1, (uint64_t)code, "`timekeeper %s > /dev/full`: exit status (stderr \"%s\")",
                         what, r.err);
        assert_contains(r.err, "error writing output", "`timekeeper %s > /dev/full`: stderr", what);
    }
}

/* ---- main --------------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(empty_dir, sizeof empty_dir, "%s/tk-test-cli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(empty_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(empty_dir); /* a command under test must not have written here */
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                fprintf(stderr, "test_cli: unexpected file %s in %s\n", e->d_name, empty_dir);
        closedir(d);
    }
    return rmdir(empty_dir);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(top_level_help_lists_every_command),
        cmocka_unit_test(report_once_json_on_an_empty_dir_prints_nothing_and_exits_0),
        cmocka_unit_test(check_on_an_empty_dir_is_unhealthy_unless_allow_none),
        cmocka_unit_test(list_on_an_empty_dir_says_so),
        cmocka_unit_test(a_missing_dir_or_a_file_as_dir_exits_1_naming_it),
        cmocka_unit_test(an_unreadable_dir_exits_1_naming_it),
        cmocka_unit_test(a_pid_without_a_segment_or_without_a_process_exits_1_saying_which),
        cmocka_unit_test(an_unknown_command_prints_one_line_and_a_hint),
        cmocka_unit_test(help_help_and_the_usage_mention_help_and_version),
        cmocka_unit_test(durations_take_units),
        cmocka_unit_test(the_same_letters_mean_the_same_options_in_every_command),
        cmocka_unit_test(output_to_a_full_device_exits_1_with_a_message),
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    static struct CMUnitTest tests[NFIXED + N_USAGE + N_HELP];
    static char names[N_USAGE + N_HELP][512];
    memcpy(tests, fixed, sizeof fixed);
    size_t n = NFIXED;
    for (size_t i = 0; i < N_USAGE; i++) {
        char what[256];
        join_args(what, sizeof what, usage_cases[i].args);
        snprintf(names[i], sizeof names[i], "bad_usage_exits_2_naming_the_problem(timekeeper %s)", what);
        tests[n++] = (struct CMUnitTest){names[i], bad_usage_exits_2_naming_the_problem, NULL, NULL,
                                         (void *)&usage_cases[i]};
    }
    for (size_t i = 0; i < N_HELP; i++) {
        char *name = names[N_USAGE + i];
        snprintf(name, 240, "command_help_and_help_command_print_the_same_usage(%s)", help_commands[i]);
        tests[n++] = (struct CMUnitTest){name, command_help_and_help_command_print_the_same_usage, NULL,
                                         NULL, (void *)help_commands[i]};
    }
    return _cmocka_run_group_tests("cli", tests, n, group_setup, group_teardown);
}
