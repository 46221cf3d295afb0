/* test_segment.c — the collector against untrusted segments: valid ones (synthetic and from a real,
 * forked producer) attach and count exactly; corrupt, truncated, hostile, mutated, foreign-owned
 * and shrunk-under-the-mapping ones are reported or ignored, never a crash or an out-of-bounds read
 * (run it under ASan+UBSan: build with -DTK_SANITIZE=address,undefined). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "collector.h"
#include "segment_image.h"
#include "testutil.h"
#include <timekeeper.h>

/* ---- fixtures: a private directory per test ------------------------------------------------------ */

typedef struct fixture {
    char dir[256];
    char path[320];      /* the default segment file name in dir */
    const void *param;   /* the test's initial state (a case of a table), NULL for most */
} fixture;

static int dir_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->param = *state;
    if (!tu_mkdtemp(f->dir, sizeof f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/" TKS_FILE_PREFIX "%u-1" TKS_FILE_SUFFIX, f->dir,
             SEG_DEAD_PID);
    *state = f;
    return 0;
}

static int dir_teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

static collector *open_collector(const char *dir, int quiet, int keep)
{
    collector_options o = {.dir = dir, .quiet = quiet, .remove_exited = !keep};
    collector *c = NULL;
    assert_int_equal(collector_open(&o, &c), 0);
    return c;
}

static const timer_stats *find_timer(const process_info *p, const char *name)
{
    for (size_t i = 0; i < p->ntimers; i++)
        if (strcmp(p->timers[i]->name, name) == 0)
            return p->timers[i];
    return NULL;
}

/* Records of a timer drained so far (interval and total). */
static uint64_t timer_count(const timer_stats *t)
{
    return hist_count(t->interval[KIND_PROCESSING]) + hist_count(t->total[KIND_PROCESSING]);
}

/* lost_total already includes the current interval (lost_interval is its share since the last
 * rollover) */
static uint64_t timer_lost(const timer_stats *t) { return t->lost_total; }


/* A small valid image: 8 names, 2 rings of 1024 records, timer "t" (id 1) with `spans` spans in
 * ring 0, label "L" (id 2). */
static void make_image(seg_image *im, uint32_t pid, unsigned spans)
{
    assert_int_equal(seg_image_init(im, 8, 2, 1024, pid), 0);
    uint32_t t = seg_add_name(im, TKS_NAME_TIMER, "t");
    seg_add_name(im, TKS_NAME_LABEL, "L");
    for (unsigned i = 0; i < spans; i++)
        seg_put_span(im, 0, t, SEG_T0 + i * 1000u, SEG_T0 + i * 1000u + 100 + i, 0);
}

/* Writes 8 bytes of v at `off` in the file (the collector sees it through its shared mapping). */
static void poke_u64(const char *path, uint64_t off, uint64_t v)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &v, sizeof v, (off_t)off), (ssize_t)sizeof v);
    close(fd);
}

static uint64_t head_offset(const seg_image *im, uint32_t ri)
{
    return (uint64_t)((const uint8_t *)&seg_ring(im, ri)->head - im->mem);
}

/* Waits for a child for at most 20 s (then kills it and fails). Returns its wait status. */
static int wait_child(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 20000; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        assert_true(r == 0);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("child %d did not finish within 20 s", (int)pid);
    return status;
}

/* ---- valid segments ------------------------------------------------------------------------------ */

typedef struct seen_points {
    int n;
    char ctx[4][80];
    uint64_t client[4], command[4], session[4];
} seen_points;

static void on_point(void *ctx, const collector_point *p)
{
    seen_points *s = ctx;
    if (s->n < 4) {
        snprintf(s->ctx[s->n], sizeof s->ctx[s->n], "%.*s", (int)p->context_len, p->context);
        s->client[s->n] = p->client;
        s->command[s->n] = p->command;
        s->session[s->n] = p->session;
    }
    s->n++;
}

static void valid_synthetic_segment_attaches_and_its_records_are_counted(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    static const char long_ctx[] = "a_ns=1,b_ns=22,c_ns=333,d_ns=4444,e_ns=55555,f_ns=666666,g=long";
    seg_put_point(&im, 1, 2, SEG_T0 + 5, 7, 8, 9, "hello", 5);
    seg_put_point(&im, 1, 2, SEG_T0 + 6, 10, 11, 12, long_ctx, strlen(long_ctx));
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);

    collector *c = open_collector(f->dir, 0, 0);
    seen_points sp = {0};
    collector_on_point(c, on_point, &sp);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    /* 10 spans + 2 points of 2 and 4 records (point, continuations) */
    uint64_t long_records = 2 + (strlen(long_ctx) - 16 + 27) / 28;
    assert_u64_equal(10 + 2 + long_records, collector_drain(c), "records read");
    const process_info *p = collector_process(c, 0);
    assert_u64_equal(SEG_DEAD_PID, (uint64_t)p->pid, "pid");
    assert_text_equal("synthetic", p->name, "process name");
    const timer_stats *t = find_timer(p, "t");
    assert_non_null(t);
    assert_u64_equal(10, timer_count(t), "spans of t");
    assert_u64_equal(0, timer_lost(t), "lost of t");
    assert_u64_equal(2, p->points, "points");
    assert_u64_equal(0, p->corrupt_records, "corrupt records");
    assert_u64_equal(2, p->rings_used, "rings used");
    assert_u64_equal(2, (uint64_t)sp.n, "points delivered to the callback");
    assert_text_equal("hello", sp.ctx[0], "first point context");
    assert_u64_equal(7, sp.client[0], "client");
    assert_u64_equal(8, sp.command[0], "command");
    assert_u64_equal(9, sp.session[0], "session");
    assert_text_equal(long_ctx, sp.ctx[1], "second point context (3 continuations)");
    /* dead producer: drained to the end, marked exited and its segment removed */
    assert_u64_equal(PROC_EXITED, p->state, "state");
    assert_false(file_exists(f->path));
    collector_close(c);
}

/* A forked producer: tk_init in the child, `records` spans of "child.work", then `how` ends it. */
static pid_t spawn_producer(const char *dir, int records, int how_sigkill)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tk_options o = {.dir = dir, .ring_size = 1024, .max_threads = 2};
        if (tk_init(&o) != 0)
            _exit(3);
        tk_timer_t *t = tk_timer("child.work");
        for (int i = 0; i < records; i++) {
            uint64_t s = tk_now();
            tk_record(t, s, tk_now(), 0);
        }
        if (how_sigkill)
            raise(SIGKILL);
        _exit(0);
    }
    return pid;
}

static void real_producer_killed_by_sigkill_is_drained_to_its_last_record(void **state)
{
    fixture *f = *state;
    int status = wait_child(spawn_producer(f->dir, 700, 1));
    assert_true(WIFSIGNALED(status));
    assert_u64_equal(SIGKILL, (uint64_t)WTERMSIG(status), "child's signal");

    collector *c = open_collector(f->dir, 0, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    assert_u64_equal(700, collector_drain(c), "records read");
    const process_info *p = collector_process(c, 0);
    const timer_stats *t = find_timer(p, "child.work");
    assert_non_null(t);
    assert_u64_equal(700, timer_count(t), "records of child.work");
    assert_u64_equal(0, timer_lost(t), "lost");
    assert_u64_equal(PROC_EXITED, p->state, "state");
    assert_false(file_exists(p->path));
    collector_close(c);
}

static void real_producer_that_wrapped_its_ring_counts_every_record_as_read_or_lost(void **state)
{
    fixture *f = *state;
    int status = wait_child(spawn_producer(f->dir, 5000, 0));
    assert_true(WIFEXITED(status));
    assert_u64_equal(0, (uint64_t)WEXITSTATUS(status), "child's exit status");

    collector *c = open_collector(f->dir, 0, 1);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    collector_drain(c);
    const timer_stats *t = find_timer(collector_process(c, 0), "child.work");
    assert_non_null(t);
    /* every record is either read or counted lost; a dead writer's ring yields its last capacity
     * records, or capacity - 1 when the collector leaves the slot a torn record may be in */
    assert_u64_equal(5000, timer_count(t) + timer_lost(t), "count + lost");
    assert_u64_at_most(1024, timer_count(t), "count");
    assert_u64_at_most(timer_count(t), 1023, "count (at least capacity - 1)");
    collector_close(c);
}

/* ---- permissions ---------------------------------------------------------------------------------- */

static void segment_created_by_the_library_has_mode_0600(void **state)
{
    fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        umask(0); /* the mode must not depend on the umask */
        tk_options o = {.dir = f->dir, .ring_size = 1024, .max_threads = 1};
        if (tk_init(&o) != 0)
            _exit(3);
        const char *path = tk_segment_path();
        if (write(fds[1], path, strlen(path)) < 0)
            _exit(4);
        _exit(0);
    }
    close(fds[1]);
    char path[512] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof path - 1 && (r = read(fds[0], path + got, sizeof path - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status = wait_child(pid);
    assert_true(WIFEXITED(status));
    assert_u64_equal(0, (uint64_t)WEXITSTATUS(status), "child's exit status");
    assert_contains(path, f->dir, "segment path");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    if ((st.st_mode & 07777) != 0600)
        fail_msg("segment mode: expected 0600, got 0%o", (unsigned)(st.st_mode & 07777));
    assert_u64_equal(geteuid(), st.st_uid, "segment owner");
}

static void segment_owned_by_another_user_is_ignored_silently(void **state)
{
    fixture *f = *state;
    if (geteuid() != 0) {
        print_message("skipped: chown to another user needs root\n");
        skip();
    }
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    assert_int_equal(chown(f->path, 65534, 65534), 0);

    collector *c = open_collector(f->dir, 0, 0);
    capture cap;
    capture_begin(&cap);
    size_t n = collector_scan(c);
    collector_drain(c);
    char *err = capture_end(&cap);
    assert_u64_equal(0, n, "processes attached from a file of uid 65534");
    assert_text_equal("", err, "stderr");
    free(err);
    assert_true(file_exists(f->path)); /* not ours: never removed */
    collector_close(c);

    /* control: the very same file, given back to us, attaches */
    assert_int_equal(chown(f->path, geteuid(), getegid()), 0);
    c = open_collector(f->dir, 0, 1);
    assert_u64_equal(1, collector_scan(c), "processes attached once the file is ours");
    collector_close(c);
}

static void segment_whose_header_uid_is_not_the_owner_is_reported(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    seg_hdr(&im)->uid = (uint32_t)geteuid() + 1;
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    collector *c = open_collector(f->dir, 0, 0);
    capture cap;
    capture_begin(&cap);
    size_t n = collector_scan(c);
    char *err = capture_end(&cap);
    assert_u64_equal(0, n, "processes attached");
    assert_contains(err, "header uid", "stderr");
    free(err);
    collector_close(c);
}

/* ---- corrupt headers -------------------------------------------------------------------------- */

typedef struct header_case {
    const char *name;
    size_t off, width;          /* the header field to overwrite */
    uint64_t value;
    int relative;               /* value is added to the field instead */
    const char *why;            /* expected in segment_validate's reason */
} header_case;

#define HF(field) offsetof(tks_header, field), sizeof(((tks_header *)0)->field)

static const header_case header_cases[] = {
    {"bad magic", HF(magic), 0x5858585858585858ull, 0, "bad magic"},
    {"bad version", HF(version), 2, 0, "layout version 2"},
    {"bad header size", HF(header_size), 4096, 0, "header size 4096"},
    {"bad record size", HF(record_size), 64, 0, "record size 64"},
    {"segment size beyond the file", HF(segment_size), 1, 1, "truncated: header says"},
    {"segment size 2^64-1", HF(segment_size), UINT64_MAX, 0, "truncated: header says"},
    {"state out of range", HF(state), 3, 0, "bad state 3"},
    {"state 2^32-1", HF(state), UINT32_MAX, 0, "bad state"},
    {"no name table", HF(max_names), 0, 0, "bad name table size 0"},
    {"name table above the limit", HF(max_names), TKS_MAX_NAMES_LIMIT + 1, 0, "bad name table size"},
    {"no rings", HF(max_rings), 0, 0, "bad ring count 0"},
    {"rings above the limit", HF(max_rings), TKS_MAX_RINGS_LIMIT + 1, 0, "bad ring count"},
    {"ring capacity not a power of two", HF(ring_capacity), 3072, 0, "bad ring capacity 3072"},
    {"ring capacity below the minimum", HF(ring_capacity), 512, 0, "bad ring capacity 512"},
    {"ring capacity above the maximum", HF(ring_capacity), 1u << 25, 0, "bad ring capacity"},
    {"ring capacity 2^32-1", HF(ring_capacity), UINT32_MAX, 0, "bad ring capacity"},
    {"names inside the header", HF(names_offset), 64, 0, "name table outside"},
    {"names misaligned", HF(names_offset), 4, 1, "name table outside"},
    {"names offset overflows uint64", HF(names_offset), UINT64_MAX - 7, 0, "name table outside"},
    {"names overlap the rings", HF(names_offset), 64, 1, "name table outside"},
    {"rings outside the file", HF(rings_offset), 64 * 1024 * 1024, 0, "rings outside"},
    {"rings offset overflows uint64", HF(rings_offset), UINT64_MAX - 63, 0, "rings outside"},
    {"ring stride overflows uint64", HF(ring_stride), 1ull << 63, 0, "rings outside"},
    {"ring stride misaligned", HF(ring_stride), 32, 1, "rings outside"},
    {"ring stride zero", HF(ring_stride), 0, 0, "ring slots outside"},
    {"counters inside the ring header", HF(counters_offset), 128, 0, "ring counters outside"},
    {"counters offset overflows uint64", HF(counters_offset), UINT64_MAX - 7, 0, "ring counters outside"},
    {"counters overlap the slots", HF(counters_offset), 8, 1, "ring counters outside"},
    {"slots misaligned", HF(slots_offset), 8, 1, "ring slots outside"},
    {"slots beyond the ring stride", HF(slots_offset), 64, 1, "ring slots outside"},
    {"slots offset overflows uint64", HF(slots_offset), UINT64_MAX - 31, 0, "ring slots outside"},
    {"clock source 0", HF(clock_source), 0, 0, "bad clock source 0"},
    {"clock source 4", HF(clock_source), 4, 0, "bad clock source 4"},
};
#define N_HEADER_CASES (sizeof header_cases / sizeof header_cases[0])

static void set_field(uint8_t *mem, const header_case *hc)
{
    if (hc->width == 4) {
        uint32_t v;
        memcpy(&v, mem + hc->off, 4);
        v = hc->relative ? v + (uint32_t)hc->value : (uint32_t)hc->value;
        memcpy(mem + hc->off, &v, 4);
    } else {
        uint64_t v;
        memcpy(&v, mem + hc->off, 8);
        v = hc->relative ? v + hc->value : hc->value;
        memcpy(mem + hc->off, &v, 8);
    }
}

static void corrupt_header_is_reported_once_and_skipped(void **state)
{
    fixture *f = *state;
    const header_case *hc = f->param;
    assert_non_null(hc);

    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    set_field(im.mem, hc);
    char why[160] = "";
    assert_int_equal(segment_validate(im.mem, im.size, why, sizeof why), -1);
    assert_contains(why, hc->why, "%s: segment_validate's reason", hc->name);
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);

    /* reported: one line naming the file and the reason, the first time only */
    collector *c = open_collector(f->dir, 0, 0);
    capture cap;
    capture_begin(&cap);
    size_t n1 = collector_scan(c);
    uint64_t r1 = collector_drain(c);
    size_t n2 = collector_scan(c);
    char *err = capture_end(&cap);
    assert_u64_equal(0, n1, "%s: processes attached", hc->name);
    assert_u64_equal(0, n2, "%s: processes attached at the second scan", hc->name);
    assert_u64_equal(0, r1, "%s: records read", hc->name);
    assert_u64_equal(1, count_lines(err), "%s: lines on stderr (\"%s\")", hc->name, err);
    assert_contains(err, f->path, "%s: stderr", hc->name);
    assert_contains(err, hc->why, "%s: stderr", hc->name);
    free(err);
    collector_close(c);

    /* quiet: the same, without a word */
    c = open_collector(f->dir, 1, 0);
    capture_begin(&cap);
    n1 = collector_scan(c);
    collector_drain(c);
    err = capture_end(&cap);
    assert_u64_equal(0, n1, "%s: processes attached (quiet)", hc->name);
    assert_text_equal("", err, "%s: stderr with the quiet option", hc->name);
    free(err);
    assert_true(file_exists(f->path)); /* a bad segment is never removed */
    collector_close(c);
}

/* ---- truncated files -------------------------------------------------------------------------- */

static void set_age(const char *path, time_t seconds)
{
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void file_shorter_than_a_header_is_skipped_and_reported_once_old(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = {0, 1, 100, TKS_HEADER_SIZE - 1};
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(seg_write_bytes(im.mem, sizes[i], f->path), 0);
        /* fresh: a producer may be between open and ftruncate: skipped without a word */
        collector *c = open_collector(f->dir, 0, 0);
        capture cap;
        capture_begin(&cap);
        size_t n = collector_scan(c);
        char *err = capture_end(&cap);
        assert_u64_equal(0, n, "%zu bytes, fresh: processes attached", sizes[i]);
        assert_text_equal("", err, "%zu bytes, fresh: stderr", sizes[i]);
        free(err);
        /* old: reported */
        set_age(f->path, 60);
        capture_begin(&cap);
        n = collector_scan(c);
        err = capture_end(&cap);
        assert_u64_equal(0, n, "%zu bytes, old: processes attached", sizes[i]);
        assert_u64_equal(1, count_lines(err), "%zu bytes, old: lines on stderr (\"%s\")", sizes[i], err);
        assert_contains(err, "truncated", "%zu bytes, old: stderr", sizes[i]);
        free(err);
        collector_close(c);
        unlink(f->path);
    }
    seg_image_free(&im);
}

static void file_shorter_than_its_segment_size_is_reported(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    const size_t sizes[] = {TKS_HEADER_SIZE, TKS_HEADER_SIZE + 100, im.size / 2, im.size - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(seg_write_bytes(im.mem, sizes[i], f->path), 0);
        collector *c = open_collector(f->dir, 0, 0);
        capture cap;
        capture_begin(&cap);
        size_t n = collector_scan(c);
        collector_drain(c);
        char *err = capture_end(&cap);
        assert_u64_equal(0, n, "%zu of %zu bytes: processes attached", sizes[i], im.size);
        assert_contains(err, "truncated: header says", "%zu of %zu bytes: stderr", sizes[i], im.size);
        free(err);
        collector_close(c);
    }
    seg_image_free(&im);
}

static void validate_reads_only_the_bytes_it_is_given(void **state)
{
    (void)state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    /* exact-size heap copies: ASan stops any read past the end */
    const size_t sizes[] = {0, 1, 8, 16, TKS_HEADER_SIZE - 1, TKS_HEADER_SIZE, TKS_HEADER_SIZE + 1,
                            im.size - 1, im.size};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *copy = malloc(sizes[i] ? sizes[i] : 1);
        assert_non_null(copy);
        memcpy(copy, im.mem, sizes[i]);
        char why[8]; /* a short reason buffer is cut, not overrun */
        int rc = segment_validate(copy, sizes[i], why, sizeof why);
        assert_u64_equal(sizes[i] == im.size ? 0 : (uint64_t)-1, (uint64_t)(int64_t)rc,
                         "segment_validate of %zu of %zu bytes", sizes[i], im.size);
        free(copy);
    }
    assert_int_equal(segment_validate(NULL, 100, NULL, 0), -1);
    seg_image_free(&im);
}

static void segment_still_being_created_is_retried_not_reported(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    seg_hdr(&im)->state = TKS_STATE_CREATING;
    seg_hdr(&im)->clock_source = 0; /* half-written: would not validate */
    assert_int_equal(seg_write(&im, f->path), 0);
    collector *c = open_collector(f->dir, 0, 1);
    capture cap;
    capture_begin(&cap);
    size_t n = collector_scan(c);
    char *err = capture_end(&cap);
    assert_u64_equal(0, n, "processes attached while creating");
    assert_text_equal("", err, "stderr while creating");
    free(err);
    /* the producer finishes its header: the next scan attaches */
    seg_hdr(&im)->state = TKS_STATE_LIVE;
    seg_hdr(&im)->clock_source = 3;
    assert_int_equal(seg_write(&im, f->path), 0);
    assert_u64_equal(1, collector_scan(c), "processes attached once live");
    collector_close(c);
    seg_image_free(&im);
}

/* ---- hostile values in a valid header ----------------------------------------------------------- */

static void name_count_beyond_max_names_is_clamped(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    for (uint32_t i = 3; i < 8; i++) { /* fill the table with timers */
        char name[16];
        snprintf(name, sizeof name, "x%u", i);
        seg_add_name(&im, TKS_NAME_TIMER, name);
    }
    seg_hdr(&im)->name_count = UINT32_MAX;
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    collector *c = open_collector(f->dir, 1, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    assert_u64_equal(10, collector_drain(c), "records read");
    const process_info *p = collector_process(c, 0);
    /* 8 names: "(invalid)", t, L (a label), x3..x7 */
    assert_u64_equal(7, p->ntimers, "timers (max_names 8, one a label)");
    assert_u64_equal(10, timer_count(find_timer(p, "t")), "spans of t");
    collector_close(c);
}

static void ring_count_beyond_max_rings_is_clamped(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 10);
    seg_put_span(&im, 1, 1, SEG_T0, SEG_T0 + 5, 0);
    seg_hdr(&im)->ring_count = UINT32_MAX;
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    collector *c = open_collector(f->dir, 1, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    assert_u64_equal(11, collector_drain(c), "records read");
    assert_u64_equal(2, collector_process(c, 0)->rings_used, "rings used (max_rings 2)");
    collector_close(c);
}

static void long_unterminated_and_unprintable_names_are_cut_and_escaped(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 0);
    uint32_t a = seg_add_name(&im, TKS_NAME_TIMER, "a");  /* id 3: len 60000, no NUL */
    tks_name *e = seg_name(&im, a);
    memset(e->name, 'A', sizeof e->name);
    e->len = 60000;
    uint32_t b = seg_add_name(&im, TKS_NAME_TIMER, "b");  /* id 4: len 56, no NUL */
    e = seg_name(&im, b);
    memset(e->name, 'B', sizeof e->name);
    e->len = 56;
    uint32_t u = seg_add_name(&im, TKS_NAME_TIMER, "\x01u\xff\n"); /* id 5: unprintable */
    uint32_t k = seg_add_name(&im, TKS_NAME_TIMER, "kind");          /* id 6: unknown kind */
    seg_name(&im, k)->kind = 77;
    seg_put_span(&im, 0, a, SEG_T0, SEG_T0 + 1, 0);
    seg_put_span(&im, 0, u, SEG_T0, SEG_T0 + 1, 0);
    seg_put_span(&im, 0, k, SEG_T0, SEG_T0 + 1, 0); /* a span of a non-timer: corrupt */
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);

    collector *c = open_collector(f->dir, 1, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    collector_drain(c);
    const process_info *p = collector_process(c, 0);
    char want_a[TKS_NAME_LEN_MAX + 1], want_b[TKS_NAME_LEN_MAX + 1];
    memset(want_a, 'A', TKS_NAME_LEN_MAX);
    want_a[TKS_NAME_LEN_MAX] = '\0';
    memset(want_b, 'B', TKS_NAME_LEN_MAX);
    want_b[TKS_NAME_LEN_MAX] = '\0';
    assert_non_null(find_timer(p, want_a));
    assert_non_null(find_timer(p, want_b));
    assert_non_null(find_timer(p, "?u??"));
    assert_null(find_timer(p, "kind"));
    assert_u64_equal(1, timer_count(find_timer(p, want_a)), "spans of the long name");
    assert_u64_equal(1, p->corrupt_records, "corrupt records (span of an unknown kind)");
    for (size_t i = 0; i < p->ntimers; i++) {
        const char *n = p->timers[i]->name;
        assert_u64_at_most(TKS_NAME_LEN_MAX, strlen(n), "length of timer name %zu", i);
        for (const char *q = n; *q; q++)
            if (*q < 0x20 || *q > 0x7e)
                fail_msg("timer name %zu has byte 0x%02x", i, (unsigned char)*q);
    }
    collector_close(c);
}

static void records_of_bad_type_or_name_are_counted_corrupt_and_newer_types_unknown(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 1); /* t: seq 1 */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(9, 2), 1, 0, 0, 0}); /* a newer type: unknown */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(9, 2), 1, 0, 0, 0}); /* ... whose sequence goes back */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(0, 1), 1, 0, 0, 0});              /* type 0 */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_SPAN, 3), 1, 0, 0, 0});   /* unregistered */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_SPAN, 5000), 1, 0, 0, 0}); /* > max_names */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_SPAN, 0xffffff), 1, 0, 0, 0});
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_SPAN, 2), 1, 0, 0, 0});   /* span of a label */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_POINT, 1), 1, 0, 0, 0});  /* point of a timer */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_POINT_EXT, 1), 0, 0, 0, 0}); /* orphan: fine */
    seg_put_span(&im, 0, 1, SEG_T0, SEG_T0 + 7, 0); /* t: seq 2 */
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);

    collector *c = open_collector(f->dir, 1, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    collector_drain(c);
    const process_info *p = collector_process(c, 0);
    assert_u64_equal(7, p->corrupt_records, "corrupt records");
    assert_u64_equal(1, p->unknown_records, "unknown records");
    const timer_stats *t = find_timer(p, "t");
    assert_u64_equal(2, timer_count(t), "spans of t");
    assert_u64_equal(0, timer_lost(t), "lost of t");
    collector_close(c);
}

/* A point record of label `id` with sequence seq followed by a hand-made first continuation. */
static void put_point_raw(seg_image *im, uint32_t id, uint32_t seq, uint32_t ext_tag, uint16_t ctx_len,
                          uint16_t nrec)
{
    seg_put_raw(im, 0, (tks_record){TKS_TAG(TKS_REC_POINT, id), seq, SEG_T0, 1, 2});
    union {
        tks_point_ext e;
        tks_record r;
    } u;
    memset(&u, 0, sizeof u);
    u.e.tag = ext_tag;
    u.e.ctx_len = ctx_len;
    u.e.nrec = nrec;
    memcpy(u.e.ctx, "0123456789abcdef", 16);
    seg_put_raw(im, 0, u.r);
}

static void point_continuations_out_of_range_are_counted_corrupt(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 0);
    const uint32_t L = 2, ext = TKS_TAG(TKS_REC_POINT_EXT, 1);
    seg_put_point(&im, 0, L, SEG_T0, 1, 2, 3, "ok-1", 4);
    put_point_raw(&im, L, 2, ext, 4, 0);                               /* nrec 0 */
    put_point_raw(&im, L, 3, ext, 4, 4);                               /* nrec 4 */
    put_point_raw(&im, L, 4, ext, 73, 3);                              /* context too long */
    put_point_raw(&im, L, 5, ext, 0xffff, 0xffff);                     /* both at their max */
    put_point_raw(&im, L, 6, TKS_TAG(9, 1), 4, 1); /* not a continuation (itself of a newer type) */
    seg_put_point(&im, 0, L, SEG_T0, 4, 5, 6, "ok-2", 4);
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_POINT, L), 9, SEG_T0, 1, 2}); /* cut by head */
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);

    collector *c = open_collector(f->dir, 1, 0);
    seen_points sp = {0};
    collector_on_point(c, on_point, &sp);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    collector_drain(c);
    const process_info *p = collector_process(c, 0);
    assert_u64_equal(2, p->points, "points");
    assert_u64_equal(6, p->corrupt_records, "corrupt records");
    assert_u64_equal(1, p->unknown_records, "unknown records (the record that was no continuation)");
    assert_u64_equal(2, (uint64_t)sp.n, "points delivered");
    assert_text_equal("ok-1", sp.ctx[0], "first context");
    assert_text_equal("ok-2", sp.ctx[1], "second context");
    collector_close(c);
}

static void head_going_backwards_is_counted_corrupt_and_survived(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, (uint32_t)getpid(), 10); /* a live producer: drains are not final */
    char path[320];
    snprintf(path, sizeof path, "%s/" TKS_FILE_PREFIX "%d-1" TKS_FILE_SUFFIX, f->dir, (int)getpid());
    assert_int_equal(seg_write(&im, path), 0);
    collector *c = open_collector(f->dir, 1, 1);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    assert_u64_equal(10, collector_drain(c), "records read");
    poke_u64(path, head_offset(&im, 0), 4);
    assert_u64_equal(0, collector_drain(c), "records read after head went from 10 to 4");
    const process_info *p = collector_process(c, 0);
    assert_u64_equal(1, p->corrupt_records, "corrupt records");
    assert_u64_equal(PROC_LIVE, p->state, "state");
    poke_u64(path, head_offset(&im, 0), 12);
    assert_u64_at_most(8, collector_drain(c), "records read after head went from 4 to 12");
    collector_close(c);
    seg_image_free(&im);
}

static void head_far_beyond_the_ring_reads_at_most_one_ring(void **state)
{
    fixture *f = *state;
    static const uint64_t heads[] = {1ull << 63, UINT64_MAX, UINT64_MAX - 1, 1ull << 32};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        seg_image im;
        make_image(&im, SEG_DEAD_PID, 1024);
        seg_ring(&im, 0)->head = heads[i];
        assert_int_equal(seg_write(&im, f->path), 0);
        collector *c = open_collector(f->dir, 1, 0);
        assert_u64_equal(1, collector_scan(c), "head %#" PRIx64 ": processes attached", heads[i]);
        uint64_t t0 = collector_now_ns();
        assert_u64_at_most(1024, collector_drain(c), "head %#" PRIx64 ": records read", heads[i]);
        assert_u64_at_most(2000000000ull, collector_now_ns() - t0, "head %#" PRIx64 ": drain ns",
                           heads[i]);
        assert_u64_equal(PROC_EXITED, collector_process(c, 0)->state, "head %#" PRIx64 ": state",
                         heads[i]);
        collector_close(c);
        seg_image_free(&im);
    }
}

static void garbage_calibration_does_not_crash_the_conversion(void **state)
{
    fixture *f = *state;
    seg_image im;
    make_image(&im, SEG_DEAD_PID, 0);
    tks_header *h = seg_hdr(&im);
    h->calib_count = UINT64_MAX;
    h->calib_seq = 2;
    for (unsigned i = 0; i < TKS_CALIB_SLOTS; i++)
        h->calib[i] = (tks_calib){i % 2 ? UINT64_MAX - i : i, i % 3 ? 0 : UINT64_MAX / (i + 1), i};
    seg_put_span(&im, 0, 1, 0, UINT64_MAX, UINT64_MAX);
    seg_put_span(&im, 0, 1, UINT64_MAX, 0, 1);
    seg_put_span(&im, 0, 1, SEG_T0, SEG_T0 + 5, 0);
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    collector *c = open_collector(f->dir, 1, 0);
    assert_u64_equal(1, collector_scan(c), "processes attached");
    assert_u64_equal(3, collector_drain(c), "records read");
    assert_u64_equal(3, timer_count(find_timer(collector_process(c, 0), "t")), "spans of t");
    collector_close(c);
}

/* ---- truncated under the mapping ------------------------------------------------------------------ */

/* The collector's SIGBUS handler, as installed by the first collector_open() (see main). cmocka
 * puts its own handler for SIGBUS in place around every test; a test that needs the collector's
 * guard puts it back for its duration (cmocka restores its own afterwards). */
static struct sigaction collector_sigbus;

static void use_the_collectors_sigbus_handler(void)
{
    if (collector_sigbus.sa_handler == SIG_DFL || collector_sigbus.sa_handler == SIG_IGN)
        fail_msg("collector_open() installed no SIGBUS handler");
    assert_int_equal(sigaction(SIGBUS, &collector_sigbus, NULL), 0);
}

static void file_truncated_after_attach_detaches_the_process(void **state)
{
    fixture *f = *state;
    char path[320];
    snprintf(path, sizeof path, "%s/" TKS_FILE_PREFIX "%d-1" TKS_FILE_SUFFIX, f->dir, (int)getpid());
    seg_image im;
    /* 16 names, 1 ring of 4096 records: the slots span several pages */
    assert_int_equal(seg_image_init(&im, 16, 1, 4096, (uint32_t)getpid()), 0);
    uint32_t t = seg_add_name(&im, TKS_NAME_TIMER, "t");
    const uint64_t ring_page = seg_round_up(seg_hdr(&im)->rings_offset + seg_hdr(&im)->slots_offset, 4096);
    const uint64_t cuts[] = {0, TKS_HEADER_SIZE, ring_page};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        for (unsigned k = 0; k < 1000; k++)
            seg_put_span(&im, 0, t, SEG_T0 + k, SEG_T0 + k + 10, 0);
        assert_int_equal(seg_write(&im, path), 0);
        collector *c = open_collector(f->dir, 0, 0);
        assert_u64_equal(1, collector_scan(c), "cut at %" PRIu64 ": processes attached", cuts[i]);
        assert_int_equal(truncate(path, (off_t)cuts[i]), 0);
        use_the_collectors_sigbus_handler();
        capture cap;
        capture_begin(&cap);
        uint64_t r = collector_drain(c);
        uint64_t r2 = collector_drain(c);
        char *err = capture_end(&cap);
        const process_info *p = collector_process(c, 0);
        assert_u64_equal(PROC_EXITED, p->state, "cut at %" PRIu64 ": state", cuts[i]);
        assert_u64_at_most(1000, r, "cut at %" PRIu64 ": records read", cuts[i]);
        assert_u64_equal(0, r2, "cut at %" PRIu64 ": records read after detaching", cuts[i]);
        assert_contains(err, "truncated while being read", "cut at %" PRIu64 ": stderr", cuts[i]);
        assert_u64_equal(1, count_lines(err), "cut at %" PRIu64 ": lines on stderr", cuts[i]);
        free(err);
        assert_true(file_exists(path)); /* a broken segment is left for a person to look at */
        collector_close(c);
        unlink(path);
    }
    seg_image_free(&im);
}

/* ---- random mutations -------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t interesting(uint64_t near)
{
    static const uint64_t v[] = {0, 1, 2, 3, 31, 32, 63, 64, 255, 256, 1023, 1024, 4096, 16384,
                                 65535, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu, 1ull << 32,
                                 1ull << 63, UINT64_MAX, UINT64_MAX - 1};
    switch (rnd() % 4) {
    case 0: return v[rnd() % (sizeof v / sizeof v[0])];
    case 1: return near + (rnd() % 129) - 64;
    case 2: return near * 2;
    default: return rnd();
    }
}

static void mutate(uint8_t *mem, size_t size, const seg_image *base)
{
    static const struct { size_t off, width; } fields[] = {
        {HF(version)}, {HF(header_size)}, {HF(segment_size)}, {HF(state)}, {HF(pid)},
        {HF(clock_source)}, {HF(record_size)}, {HF(max_names)}, {HF(max_rings)},
        {HF(ring_capacity)}, {HF(names_offset)}, {HF(rings_offset)}, {HF(ring_stride)},
        {HF(counters_offset)}, {HF(slots_offset)}, {HF(name_count)}, {HF(ring_count)},
        {HF(calib_seq)}, {HF(calib_count)}, {HF(proc_starttime)},
    };
    const tks_header *h = seg_hdr(base);
    switch (rnd() % 8) {
    case 0: { /* a header field */
        size_t i = rnd() % (sizeof fields / sizeof fields[0]);
        uint64_t old = 0;
        memcpy(&old, mem + fields[i].off, fields[i].width);
        uint64_t v = interesting(old);
        memcpy(mem + fields[i].off, &v, fields[i].width); /* little-endian: low bytes */
        break;
    }
    case 1: mem[rnd() % 256] ^= (uint8_t)(1u << (rnd() % 8)); break;
    case 2: mem[rnd() % size] = (uint8_t)rnd(); break;
    case 3: { /* a ring's head */
        uint64_t off = h->rings_offset + (rnd() % h->max_rings) * h->ring_stride +
                       offsetof(tks_ring_header, head);
        uint64_t old;
        memcpy(&old, mem + off, 8);
        uint64_t v = interesting(old);
        memcpy(mem + off, &v, 8);
        break;
    }
    case 4: { /* a record's tag, sequence or a word of a continuation */
        uint64_t off = h->rings_offset + (rnd() % h->max_rings) * h->ring_stride + h->slots_offset +
                       (rnd() % h->ring_capacity) * TKS_RECORD_SIZE + (rnd() % 4) * 4;
        uint32_t v = (uint32_t)interesting(0);
        if (rnd() % 2)
            v = TKS_TAG(rnd() % 5, rnd() % 10);
        memcpy(mem + off, &v, 4);
        break;
    }
    case 5: { /* a name entry's kind or length */
        uint64_t off = h->names_offset + (rnd() % h->max_names) * TKS_NAME_ENTRY_SIZE + (rnd() % 2) * 2;
        uint16_t v = (uint16_t)interesting(0);
        memcpy(mem + off, &v, 2);
        break;
    }
    case 6: { /* a calibration sample */
        uint64_t off = offsetof(tks_header, calib) + (rnd() % (TKS_CALIB_SLOTS * 3)) * 8;
        uint64_t v = interesting(SEG_T0);
        memcpy(mem + off, &v, 8);
        break;
    }
    default: { /* a ring's counter of a name */
        uint64_t off = h->rings_offset + (rnd() % h->max_rings) * h->ring_stride + h->counters_offset +
                       (rnd() % h->max_names) * 8;
        uint64_t v = interesting(100);
        memcpy(mem + off, &v, 8);
        break;
    }
    }
}

static void random_mutations_of_a_valid_segment_never_crash_the_collector(void **state)
{
    fixture *f = *state;
    seg_image base;
    make_image(&base, SEG_DEAD_PID, 1500); /* ring 0 wrapped */
    for (int i = 0; i < 40; i++) {
        char ctx[80];
        int len = snprintf(ctx, sizeof ctx, "point-%d,wait_ns=%d,some-longer-context-to-continue", i, i * 7);
        seg_put_point(&base, 1, 2, SEG_T0 + (uint64_t)i, (uint64_t)i, 2, 3, ctx, (size_t)(i % 3 ? len : 3));
        seg_put_span(&base, 1, 1, SEG_T0 + (uint64_t)i, SEG_T0 + 2 * (uint64_t)i, SEG_T0 - 5);
    }
    uint8_t *img = malloc(base.size);
    assert_non_null(img);
    const unsigned iterations = 2000;
    const uint64_t budget_ns = 60ull * 1000000000u, t0 = collector_now_ns();
    unsigned done = 0, attached = 0;
    for (; done < iterations && collector_now_ns() - t0 < budget_ns; done++) {
        memcpy(img, base.mem, base.size);
        unsigned k = 1 + (unsigned)(rnd() % 6);
        for (unsigned j = 0; j < k; j++)
            mutate(img, base.size, &base);
        size_t size = rnd() % 16 ? base.size : (size_t)(rnd() % base.size);
        assert_int_equal(seg_write_bytes(img, size, f->path), 0);
        if (rnd() % 4 == 0)
            set_age(f->path, 60); /* past the grace period of a file being created */
        collector *c = open_collector(f->dir, 1, 1);
        attached += collector_scan(c) > 0;
        collector_drain(c);
        collector_drain(c);
        collector_close(c);
        unlink(f->path);
    }
    print_message("%u mutated segments, %u attached, %.1f s\n", done, attached,
                  (double)(collector_now_ns() - t0) / 1e9);
    /* the loop must exercise the drain, not only the validation */
    if (attached < done / 5)
        fail_msg("only %u of %u mutated segments attached: the mutations are too destructive",
                 attached, done);
    assert_true(done >= 200);
    free(img);
    seg_image_free(&base);
}

/* ---- main: the header cases run as one named test each ------------------------------------------- */

int main(void)
{
    collector *c;
    if (collector_open(NULL, &c) != 0)
        return 1;
    collector_close(c);
    sigaction(SIGBUS, NULL, &collector_sigbus);

    static const struct CMUnitTest fixed[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
        T(valid_synthetic_segment_attaches_and_its_records_are_counted),
        T(real_producer_killed_by_sigkill_is_drained_to_its_last_record),
        T(real_producer_that_wrapped_its_ring_counts_every_record_as_read_or_lost),
        T(segment_created_by_the_library_has_mode_0600),
        T(segment_owned_by_another_user_is_ignored_silently),
        T(segment_whose_header_uid_is_not_the_owner_is_reported),
        T(file_shorter_than_a_header_is_skipped_and_reported_once_old),
        T(file_shorter_than_its_segment_size_is_reported),
        T(validate_reads_only_the_bytes_it_is_given),
        T(segment_still_being_created_is_retried_not_reported),
        T(name_count_beyond_max_names_is_clamped),
        T(ring_count_beyond_max_rings_is_clamped),
        T(long_unterminated_and_unprintable_names_are_cut_and_escaped),
        T(records_of_bad_type_or_name_are_counted_corrupt_and_newer_types_unknown),
        T(point_continuations_out_of_range_are_counted_corrupt),
        T(head_going_backwards_is_counted_corrupt_and_survived),
        T(head_far_beyond_the_ring_reads_at_most_one_ring),
        T(garbage_calibration_does_not_crash_the_conversion),
        T(file_truncated_after_attach_detaches_the_process),
        T(random_mutations_of_a_valid_segment_never_crash_the_collector),
#undef T
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    static struct CMUnitTest tests[NFIXED + N_HEADER_CASES];
    static char names[N_HEADER_CASES][96];
    memcpy(tests, fixed, sizeof fixed);
    for (size_t i = 0; i < N_HEADER_CASES; i++) {
        snprintf(names[i], sizeof names[i], "corrupt_header_is_reported_once_and_skipped(%s)",
                 header_cases[i].name);
        tests[NFIXED + i] = (struct CMUnitTest){names[i], corrupt_header_is_reported_once_and_skipped,
                                                dir_setup, dir_teardown,
                                                (void *)&header_cases[i]};
    }
    return _cmocka_run_group_tests("segment", tests, NFIXED + N_HEADER_CASES, NULL, NULL);
}
