/* test_cli.c — the real `timekeeper` command ($TK_BIN/timekeeper) on bad command lines, help, empty
 * segment directories and a full output device: bad usage exits 2 naming the option, `X --help`
 * and `help X` print the same text, and a failed write of stdout exits 1 with a message. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static const char *const help_commands[] = {"list", "report", "check", "calibrate"};
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

static void list_on_a_missing_dir_does_not_fail(void **state)
{
    (void)state;
    tu_run_result r;
    const char *const args[] = {"list", "--dir", "/nonexistent/tk-test-cli", NULL};
    assert_u64_equal(0, (uint64_t)run_tk(&r, NULL, args), "exit status (stderr \"%s\")", r.err);
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
        cmocka_unit_test(list_on_a_missing_dir_does_not_fail),
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
