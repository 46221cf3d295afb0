/* test_env.c — bad environment values never abort an instrumented program: each falls back to its
 * default with exactly one line on stderr naming the variable, and the program exits 0. Runs the
 * helper program env_child ($TK_BIN/tk_env_child) with a chosen environment, captures its output
 * and checks the segment header it left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "collector.h"
/* TKS_DEFAULT_*: the defaults in force */
#include "format/segment.h"
#include "testutil.h"
#include "tu_spawn.h"

/* ---- running the helper ------------------------------------------------------------------------ */

/* Runs $TK_BIN/tk_env_child with the caller's environment minus every TK_* variable, plus
 * TK_DIR=dir (unless vars sets TK_DIR), plus vars (NULL-terminated "NAME=value", at most 6). Waits
 * at most 20 s. */
static void run_child(const char *dir, const char *const *vars, tu_run_result *r)
{
    const char *bin = getenv("TK_BIN");
    if (!bin)
        fail_msg("TK_BIN is not set (run through ctest)");
    char exe[512], dirvar[300];
    snprintf(exe, sizeof exe, "%s/tk_env_child", bin);
    snprintf(dirvar, sizeof dirvar, "TK_DIR=%s", dir);
    const char *env[8] = {dirvar}; /* vars after it: a TK_DIR among them wins */
    for (size_t i = 0; vars[i] && i < 6; i++)
        env[i + 1] = vars[i];
    tu_spawn(&(tu_spawn_options){.exe = exe, .env_drop_prefix = "TK_", .env_set = env, .timeout_s = 20},
             r);
}

/* The value of "key=" in the child's stdout ("" when missing). */
static const char *out_value(const tu_run_result *r, const char *key, char *val, size_t len)
{
    val[0] = '\0';
    size_t kl = strlen(key);
    for (const char *l = r->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            const char *e = strchr(l, '\n');
            size_t n = e ? (size_t)(e - l - (ptrdiff_t)kl - 1) : strlen(l + kl + 1);
            snprintf(val, len, "%.*s", (int)n, l + kl + 1);
            break;
        }
    }
    return val;
}

static size_t files_in(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Maps the child's segment and copies its header. */
static void read_header(const char *path, tks_header *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("cannot open the child's segment '%s': %s", path, strerror(errno));
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    void *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(mem != MAP_FAILED);
    char why[160] = "";
    if (segment_validate(mem, (size_t)st.st_size, why, sizeof why) != 0)
        fail_msg("the child's segment does not validate: %s", why);
    memcpy(h, mem, sizeof *h);
    munmap(mem, (size_t)st.st_size);
}

/* ---- the cases ----------------------------------------------------------------------------------- */

enum { CLOCK_ANY = 0, CLOCK_AUTO = -1 };

typedef struct env_case {
    const char *vars[4];       /* NAME=value, NULL-terminated */
    const char *mentions;      /* NULL: stderr must stay empty; else exactly one line containing it */
    int enabled;               /* expected tk_enabled() */
    uint32_t ring_capacity;    /* expected in the header (when enabled) */
    uint32_t max_rings;
    int clock;                 /* expected header clock_source, CLOCK_AUTO: as without TK_CLOCK */
} env_case;

#define RING_DEF TKS_DEFAULT_RING_CAPACITY
#define RINGS_DEF TKS_DEFAULT_MAX_RINGS
static const env_case cases[] = {
    /* bad ring sizes: the default, one line */
    {{"TK_RING_SIZE=abc", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=1000", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=0", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=99999999999", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=-1024", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=2048k", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    {{"TK_RING_SIZE=33554432", "TK_MAX_THREADS=1"}, "TK_RING_SIZE", 1, RING_DEF, 1, CLOCK_AUTO},
    /* bad ring counts */
    {{"TK_MAX_THREADS=0", "TK_RING_SIZE=1024"}, "TK_MAX_THREADS", 1, 1024, RINGS_DEF, CLOCK_AUTO},
    {{"TK_MAX_THREADS=-3", "TK_RING_SIZE=1024"}, "TK_MAX_THREADS", 1, 1024, RINGS_DEF, CLOCK_AUTO},
    {{"TK_MAX_THREADS=4097", "TK_RING_SIZE=1024"}, "TK_MAX_THREADS", 1, 1024, RINGS_DEF, CLOCK_AUTO},
    /* clock */
    {{"TK_CLOCK=bogus", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, "TK_CLOCK", 1, 1024, 1, CLOCK_AUTO},
    {{"TK_CLOCK=monotonic", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, NULL, 1, 1024, 1, 3},
    /* flags: 1/0, yes/no, true/false, on/off in any case; anything else is reported and taken as 0 */
    {{"TK_DISABLE=maybe", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, "TK_DISABLE", 1, 1024, 1, CLOCK_AUTO},
    {{"TK_DISABLE=2", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, "TK_DISABLE", 1, 1024, 1, CLOCK_AUTO},
    {{"TK_TIMING=sometimes", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, "TK_TIMING", 1, 1024, 1, CLOCK_AUTO},
    {{"TK_DISABLE=yes"}, NULL, 0, 0, 0, CLOCK_ANY},
    {{"TK_DISABLE=TRUE"}, NULL, 0, 0, 0, CLOCK_ANY},
    {{"TK_DISABLE=On"}, NULL, 0, 0, 0, CLOCK_ANY},
    {{"TK_DISABLE=no", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, NULL, 1, 1024, 1, CLOCK_AUTO},
    {{"TK_DISABLE=False", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, NULL, 1, 1024, 1, CLOCK_AUTO},
    {{"TK_DISABLE=OFF", "TK_RING_SIZE=1024", "TK_MAX_THREADS=1"}, NULL, 1, 1024, 1, CLOCK_AUTO},
    /* TK_DIR set but empty does not silently mean /dev/shm: one line, recording disabled */
    {{"TK_DIR="}, "TK_DIR", 0, 0, 0, CLOCK_ANY},
    /* good values are read (the control that shows the variables reach the library) */
    {{"TK_RING_SIZE=2048", "TK_MAX_THREADS=3"}, NULL, 1, 2048, 3, CLOCK_AUTO},
    /* disabled: no segment, no word */
    {{"TK_DISABLE=1"}, NULL, 0, 0, 0, CLOCK_ANY},
    /* a directory that does not exist: one line, recording disabled, the program goes on */
    {{"TK_DIR=/nonexistent/tk-test-env"}, "/nonexistent/tk-test-env", 0, 0, 0, CLOCK_ANY},
};
#define N_CASES (sizeof cases / sizeof cases[0])

typedef struct fixture {
    char dir[256];
    const env_case *ec;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ec = *state;
    if (!tu_mkdtemp(f->dir, sizeof f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* The clock the library picks by itself here (a child without TK_CLOCK). */
static int auto_clock(const char *dir)
{
    static int clock = -1;
    if (clock < 0) {
        static const char *const vars[] = {"TK_DISABLE=1", NULL};
        tu_run_result r;
        run_child(dir, vars, &r);
        char v[32];
        clock = atoi(out_value(&r, "clock", v, sizeof v));
        if (clock < 1 || clock > 3)
            fail_msg("the helper reported clock '%s' (stdout \"%s\")", v, r.out);
    }
    return clock;
}

static void env_value_is_used_or_falls_back_with_one_line(void **state)
{
    fixture *f = *state;
    const env_case *ec = f->ec;
    char what[128] = "";
    for (size_t i = 0; ec->vars[i]; i++)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", i ? " " : "", ec->vars[i]);

    tu_run_result r;
    run_child(f->dir, ec->vars, &r);
    if (!WIFEXITED(r.status))
        fail_msg("%s: the program died (wait status 0x%x); stderr \"%s\"", what, r.status, r.err);
    assert_u64_equal(0, (uint64_t)WEXITSTATUS(r.status), "%s: exit status (stderr \"%s\")", what, r.err);
    if (ec->mentions) {
        assert_u64_equal(1, count_lines(r.err), "%s: lines on stderr (\"%s\")", what, r.err);
        assert_contains(r.err, ec->mentions, "%s: stderr", what);
    } else {
        assert_text_equal("", r.err, "%s: stderr", what);
    }

    char v[512];
    assert_u64_equal((uint64_t)ec->enabled, (uint64_t)atoi(out_value(&r, "enabled", v, sizeof v)),
                     "%s: tk_enabled() (stdout \"%s\")", what, r.out);
    const char *path = out_value(&r, "path", v, sizeof v);
    if (!ec->enabled) {
        assert_text_equal("", path, "%s: tk_segment_path()", what);
        assert_u64_equal(0, files_in(f->dir), "%s: files in TK_DIR", what);
        return;
    }
    assert_contains(path, f->dir, "%s: tk_segment_path()", what);
    tks_header h;
    read_header(path, &h);
    assert_u64_equal((uint64_t)r.pid, h.pid, "%s: header pid", what);
    assert_u64_equal(geteuid(), h.uid, "%s: header uid", what);
    assert_u64_equal(TKS_STATE_EXITED, h.state, "%s: header state after exit(0)", what);
    assert_u64_equal(ec->ring_capacity, h.ring_capacity, "%s: header ring_capacity", what);
    assert_u64_equal(ec->max_rings, h.max_rings, "%s: header max_rings", what);
    if (ec->clock != CLOCK_ANY) {
        int want = ec->clock == CLOCK_AUTO ? auto_clock(f->dir) : ec->clock;
        assert_u64_equal((uint64_t)want, h.clock_source, "%s: header clock_source", what);
    }
    /* the records made it: the collector reads the 10 spans of the helper */
    collector_options o = {.dir = f->dir, .quiet = 1};
    collector *c;
    assert_int_equal(collector_open(&o, &c), 0);
    assert_u64_equal(1, collector_scan(c), "%s: processes attached", what);
    collector_drain(c);
    const process_info *p = collector_process(c, 0);
    uint64_t spans = 0;
    for (size_t i = 0; i < p->ntimers; i++)
        if (strcmp(p->timers[i]->name, "env.child") == 0)
            spans = hist_count(p->timers[i]->interval[KIND_PROCESSING]);
    assert_u64_equal(10, spans, "%s: spans of env.child", what);
    assert_u64_equal(1, p->points, "%s: points", what);
    collector_close(c);
}

int main(void)
{
    static struct CMUnitTest tests[N_CASES];
    static char names[N_CASES][160];
    for (size_t i = 0; i < N_CASES; i++) {
        const env_case *ec = &cases[i];
        int n = snprintf(names[i], sizeof names[i], "%s(",
                         ec->mentions ? "bad_env_value_falls_back_with_one_line_on_stderr"
                                      : "env_value_is_used_without_a_word");
        for (size_t j = 0; ec->vars[j]; j++)
            n += snprintf(names[i] + n, sizeof names[i] - (size_t)n, "%s%s", j ? " " : "", ec->vars[j]);
        snprintf(names[i] + n, sizeof names[i] - (size_t)n, ")");
        tests[i] = (struct CMUnitTest){names[i], env_value_is_used_or_falls_back_with_one_line, setup,
                                       teardown, (void *)ec};
    }
    return _cmocka_run_group_tests("env", tests, N_CASES, NULL, NULL);
}
