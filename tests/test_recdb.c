/* test_recdb.c — the SQLite recording writer: the documented schema filled from plain values and
 * read back with SQLite; a writer killed with SIGKILL and one that meets a full disk leave a file
 * that passes integrity_check and holds every commit. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "agg/hist.h"
#include "sink/sqlite/recdb.h"
#include "testutil.h"

static char dir[256], path[512];

static int setup(void **state)
{
    (void)state;
    if (!tu_mkdtemp(dir, sizeof dir))
        return -1;
    snprintf(path, sizeof path, "%s/run.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static sqlite3 *open_ro(const char *p)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

static int64_t query_i64(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        tu_fail("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        tu_fail("%s: %s", sql, sqlite3_errmsg(db));
    out[0] = '\0';
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static uint64_t get_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("truncated varint");
    return 0;
}

/* Decodes every span block in id order; calls fn for each span. Returns the spans. */
typedef void (*span_fn)(void *ctx, int64_t thread, int64_t timer, uint64_t start, uint64_t dur,
                        uint64_t lat);
static uint64_t decode_spans(sqlite3 *db, span_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT thread, n, first_start_ns, last_start_ns, data"
                                            " FROM span_blocks ORDER BY id", -1, &s, NULL),
                     SQLITE_OK);
    uint64_t total = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t thread = sqlite3_column_int64(s, 0);
        int64_t n = sqlite3_column_int64(s, 1);
        uint64_t prev = (uint64_t)sqlite3_column_int64(s, 2);
        const uint8_t *p = sqlite3_column_blob(s, 4);
        const uint8_t *end = p + sqlite3_column_bytes(s, 4);
        for (int64_t i = 0; i < n; i++) {
            int64_t timer = (int64_t)get_varint(&p, end);
            uint64_t z = get_varint(&p, end);
            int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            uint64_t start = prev + (uint64_t)d;
            uint64_t dur = get_varint(&p, end);
            uint64_t lat1 = get_varint(&p, end);
            fn(ctx, thread, timer, start, dur, lat1 ? lat1 - 1 : TK_RECDB_NONE);
            prev = start;
        }
        tu_expect_eq("last_start_ns of a block", (uint64_t)sqlite3_column_int64(s, 3), prev);
        tu_expect_eq("a block's bytes are all spans", 0, (uint64_t)(end - p));
        total += (uint64_t)n;
    }
    sqlite3_finalize(s);
    return total;
}

typedef struct expect_spans {
    uint64_t n;
    int64_t thread, timer;
} expect_spans;

/* Spans written by write_spans(): start i * 1000 + 7 (i from 0), dur i % 5000, latency every
 * third. */
static void check_span(void *ctx, int64_t thread, int64_t timer, uint64_t start, uint64_t dur,
                       uint64_t lat)
{
    expect_spans *e = ctx;
    uint64_t i = e->n++;
    tu_expect_eq("thread of a span", e->thread, thread);
    tu_expect_eq("timer of a span", e->timer, timer);
    tu_expect_eq("start of a span", i * 1000 + 7, start);
    tu_expect_eq("duration of a span", i % 5000, dur);
    tu_expect_eq("latency of a span", i % 3 ? TK_RECDB_NONE : i * 2, lat);
}

static int write_span(tk_recdb *db, int64_t thread, int64_t timer, uint64_t i)
{
    return tk_recdb_span(db, thread, timer, i * 1000 + 7, i % 5000, i % 3 ? TK_RECDB_NONE : i * 2);
}

static int hist_sum(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    (void)lo, (void)hi;
    *(uint64_t *)ctx += count;
    return 0;
}

static void the_schema_holds_what_was_written(void **state)
{
    (void)state;
    tk_recdb *db;
    tk_recdb_options o = {.version = "0.1.0"};
    assert_int_equal(tk_recdb_open(path, &o, &db), 0);
    int64_t proc, thread, timer, label, comp, all, iv;
    tk_recdb_process p = {.pid = 42, .name = "pipeline", .cmdline = "pipeline --fast",
                          .segment = "/dev/shm/x.seg", .clock_source = 1,
                          .start_real_ns = 1700000000000000000ull, .start_mono_ns = 5000,
                          .real_minus_mono_ns = 1699999999999995000ll};
    assert_int_equal(tk_recdb_add_process(db, &p, &proc), 0);
    assert_int_equal(tk_recdb_add_thread(db, proc, 0, 4242, "main", &thread), 0);
    assert_int_equal(tk_recdb_add_name(db, proc, 3, "timer", "parse", &timer), 0);
    assert_int_equal(tk_recdb_add_name(db, proc, 4, "label", "PY_SEND", &label), 0);
    assert_int_equal(tk_recdb_add_name(db, proc, 5, "component", "reco", &comp), 0);
    assert_int_equal(tk_recdb_add_name(db, proc, 6, "component", "__ALL__", &all), 0);
    for (uint64_t i = 0; i < 3000; i++)
        assert_int_equal(write_span(db, thread, timer, i), 0);
    assert_int_equal(tk_recdb_point(db, thread, label, 123, 1, TK_RECDB_NONE, 3, "k=v", 3), 0);
    assert_int_equal(tk_recdb_loss(db, proc, timer, thread, "lapped", 17), 0);
    /* event 1 completed, event 2 aborted by reco, a repeated file_open */
    tk_recdb_call c = {.thread = thread, .component = comp, .callback = "event", .is_event = 1,
                       .arg = 1, .start_ns = 100, .dur_ns = 10};
    assert_int_equal(tk_recdb_add_call(db, &c), 0);
    c.component = all, c.is_all = 1, c.start_ns = 99, c.dur_ns = 12;
    assert_int_equal(tk_recdb_add_call(db, &c), 0);
    c = (tk_recdb_call){.thread = thread, .component = comp, .callback = "event", .is_event = 1,
                        .arg = 2, .start_ns = 200, .dur_ns = 20, .status = 1};
    assert_int_equal(tk_recdb_add_call(db, &c), 0);
    c.component = all, c.is_all = 1, c.start_ns = 199, c.dur_ns = 22;
    assert_int_equal(tk_recdb_add_call(db, &c), 0);
    for (uint64_t f = 1; f <= 2; f++) {
        c = (tk_recdb_call){.thread = thread, .component = comp, .callback = "file_open", .arg = f,
                            .start_ns = 10 * f, .dur_ns = f};
        assert_int_equal(tk_recdb_add_call(db, &c), 0);
    }
    hist *h = hist_new();
    for (uint64_t v = 1; v <= 100000; v += 7)
        hist_record(h, v);
    assert_int_equal(tk_recdb_add_interval(db, "interval", 0, 1000000000, 7, 1.0, &iv), 0);
    assert_int_equal(tk_recdb_add_stat(db, iv, timer, "processing", h, 2), 0);
    int64_t ctr, gauge;
    assert_int_equal(tk_recdb_add_name(db, proc, 7, "counter", "in", &ctr), 0);
    assert_int_equal(tk_recdb_add_name(db, proc, 8, "gauge", "depth", &gauge), 0);
    assert_int_equal(tk_recdb_counter(db, iv, ctr, 900, 1ull << 40, 12), 0);
    assert_int_equal(tk_recdb_gauge(db, iv, gauge, 900, -5), 0);
    tk_recdb_res res = {.seconds = 1.0, .cpu_pct = 150.0, .rss_bytes = 1 << 20, .threads = 3,
                        .cores = 2, .voluntary_cs = 7, .involuntary_cs = 1,
                        .read_bytes = TK_RECDB_NONE, .write_bytes = TK_RECDB_NONE};
    assert_int_equal(tk_recdb_resources(db, iv, proc, &res), 0);
    assert_int_equal(tk_recdb_update_process(db, proc, "normal", 999, 3005, 0), 0);
    tu_expect_eq("rows counted", 3000 + 6 + 4 + 2 + 2 + 1 + 1 + 1 + 1 + 1 + 5, tk_recdb_rows(db));
    assert_int_equal(tk_recdb_close(db, "finished"), 0);

    sqlite3 *r = open_ro(path);
    char txt[256];
    query_text(r, "PRAGMA integrity_check", txt, sizeof txt);
    assert_string_equal(txt, "ok");
    query_text(r, "PRAGMA journal_mode", txt, sizeof txt);
    assert_string_equal(txt, "wal");
    query_text(r, "SELECT value FROM meta WHERE key = 'schema_version'", txt, sizeof txt);
    assert_string_equal(txt, "1");
    query_text(r, "SELECT value FROM meta WHERE key = 'stop_reason'", txt, sizeof txt);
    assert_string_equal(txt, "finished");
    tu_expect_eq("closed_real_ns is set", 1,
                 query_i64(r, "SELECT count(*) FROM meta WHERE key = 'closed_real_ns'"));
    query_text(r, "SELECT exit_kind FROM processes", txt, sizeof txt);
    assert_string_equal(txt, "normal");
    tu_expect_eq("timers view", 1, query_i64(r, "SELECT count(*) FROM timers"));
    tu_expect_eq("components view", 2, query_i64(r, "SELECT count(*) FROM components"));
    tu_expect_eq("span blocks of 1024 spans", 3, query_i64(r, "SELECT count(*) FROM span_blocks"));
    expect_spans e = {0, thread, timer};
    tu_expect_eq("spans decoded", 3000, decode_spans(r, check_span, &e));
    tu_expect_eq("point with an unknown command", 1,
                 query_i64(r, "SELECT count(*) FROM points WHERE command IS NULL AND client = 1"
                              " AND context = 'k=v'"));
    tu_expect_eq("losses", 17, query_i64(r, "SELECT sum(count) FROM losses WHERE reason = 'lapped'"));
    tu_expect_eq("events", 2, query_i64(r, "SELECT count(*) FROM events"));
    tu_expect_eq("the aborted event", 2, query_i64(r, "SELECT event FROM events WHERE completed = 0"));
    tu_expect_eq("an aborted event keeps its time", 22,
                 query_i64(r, "SELECT dur_ns FROM events WHERE completed = 0"));
    tu_expect_eq("calls of an event point to it", 2,
                 query_i64(r, "SELECT count(*) FROM calls c JOIN events e ON c.event = e.id"
                              " WHERE e.event = 2"));
    tu_expect_eq("every file_open is kept", 2,
                 query_i64(r, "SELECT count(*) FROM calls WHERE callback = 'file_open'"));
    tu_expect_eq("stats count", hist_count(h), query_i64(r, "SELECT count FROM stats"));
    tu_expect_eq("a counter's total", 1ull << 40,
                 query_i64(r, "SELECT total FROM counters WHERE delta = 12 AND ns = 900"));
    tu_expect_eq("a negative gauge", 1,
                 query_i64(r, "SELECT count(*) FROM gauges WHERE value = -5.0"));
    tu_expect_eq("resources, unreadable I/O as NULL", 1,
                 query_i64(r, "SELECT count(*) FROM resources WHERE cpu_pct = 150.0 AND"
                              " rss_bytes = 1048576 AND threads = 3 AND voluntary_cs = 7 AND"
                              " read_bytes IS NULL AND write_bytes IS NULL"));
    tu_expect_eq("stats p99", hist_quantile(h, 0.99), query_i64(r, "SELECT p99_ns FROM stats"));

    /* the histogram blob: encoding 1, and its counts add up */
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(r, "SELECT hist FROM stats", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const uint8_t *b = sqlite3_column_blob(s, 0), *end = b + sqlite3_column_bytes(s, 0);
    tu_expect_eq("hist encoding byte", 1, b[0]);
    b++;
    uint64_t nb = get_varint(&b, end), lo = 0, total = 0, buckets = 0;
    hist *back = hist_new();
    for (uint64_t i = 0; i < nb; i++) {
        lo += get_varint(&b, end);
        uint64_t cnt = get_varint(&b, end);
        hist_record_n(back, lo, cnt);
        total += cnt;
    }
    hist_foreach(h, hist_sum, &buckets);
    tu_expect_eq("hist blob counts", hist_count(h), total);
    tu_expect_eq("hist blob ends", 0, (uint64_t)(end - b));
    tu_expect_eq("p50 from the blob", hist_quantile(h, 0.5), hist_quantile(back, 0.5));
    sqlite3_finalize(s);
    hist_free(back);
    hist_free(h);
    sqlite3_close(r);

    /* an existing file is not replaced unless asked */
    assert_int_equal(tk_recdb_open(path, NULL, &db), -EEXIST);
    assert_non_null(strstr(tk_recdb_error(db), "exists"));
    tk_recdb_close(db, NULL);
    o.overwrite = 1;
    assert_int_equal(tk_recdb_open(path, &o, &db), 0);
    assert_int_equal(tk_recdb_close(db, NULL), 0);
}

/* The child of the kill and full-disk tests: writes spans of one thread, committing every 2000,
 * and after each commit writes the spans committed so far to fd (when fd >= 0). Returns the
 * first error. */
static int write_until_error(const char *file, int fd, uint64_t limit, uint64_t *committed)
{
    tk_recdb *db;
    int rc = tk_recdb_open(file, NULL, &db);
    int64_t proc, thread, timer;
    tk_recdb_process p = {.pid = getpid(), .name = "writer"};
    if (!rc)
        rc = tk_recdb_add_process(db, &p, &proc);
    if (!rc)
        rc = tk_recdb_add_thread(db, proc, 0, 1, "w", &thread);
    if (!rc)
        rc = tk_recdb_add_name(db, proc, 1, "timer", "t", &timer);
    if (!rc)
        rc = tk_recdb_commit(db);
    *committed = 0;
    for (uint64_t i = 0; !rc && i < limit; i++) {
        rc = write_span(db, thread, timer, i);
        if (!rc && (i + 1) % 2000 == 0) {
            rc = tk_recdb_commit(db);
            if (!rc) {
                *committed = i + 1;
                if (fd >= 0 && write(fd, committed, sizeof *committed) != sizeof *committed)
                    _exit(3);
            }
        }
    }
    if (rc == -ENOSPC && !strstr(tk_recdb_error(db), "disk full"))
        rc = -EIO; /* the message must say it */
    tk_recdb_close(db, "disk full");
    return rc;
}

static void a_killed_writer_leaves_a_consistent_file_with_every_commit(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        uint64_t done;
        write_until_error(path, fds[1], UINT64_MAX, &done);
        _exit(1);
    }
    close(fds[1]);
    uint64_t last = 0, v;
    while (last < 60000 && read(fds[0], &v, sizeof v) == sizeof v)
        last = v;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    waitpid(pid, &st, 0);
    while (read(fds[0], &v, sizeof v) == sizeof v) /* commits reported before the kill landed */
        last = v;
    close(fds[0]);
    assert_true(WIFSIGNALED(st));

    sqlite3 *r = open_ro(path);
    char txt[64];
    query_text(r, "PRAGMA integrity_check", txt, sizeof txt);
    assert_string_equal(txt, "ok");
    expect_spans e = {0, 1, 1};
    uint64_t n = decode_spans(r, check_span, &e); /* in order, no gap */
    assert_u64_at_most(n, last, "spans reported committed before the kill are in the file (%" PRIu64 ")", n);
    tu_expect_eq("the recording holds whole commits", 0, n % 2000);
    tu_expect_eq("no stop_reason after a kill", 0,
                 query_i64(r, "SELECT count(*) FROM meta WHERE key = 'stop_reason'"));
    sqlite3_close(r);
}

static void a_full_disk_stops_the_writer_with_a_clear_error_and_a_consistent_file(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("skipped: needs root for a private tmpfs\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char mnt[600], file[700];
        snprintf(mnt, sizeof mnt, "%s/small", dir);
        if (mkdir(mnt, 0700) != 0)
            _exit(10);
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            _exit(77);
        if (mount("tmpfs", mnt, "tmpfs", 0, "size=384k") != 0)
            _exit(77);
        snprintf(file, sizeof file, "%s/full.db", mnt);
        uint64_t committed = 0;
        int rc = write_until_error(file, -1, 10000000, &committed);
        if (rc != -ENOSPC)
            _exit(11);
        if (committed == 0)
            _exit(12);
        sqlite3 *r;
        if (sqlite3_open_v2(file, &r, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            _exit(13);
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(s, 0), "ok"))
            _exit(14);
        sqlite3_finalize(s);
        if (sqlite3_prepare_v2(r, "SELECT sum(n) FROM span_blocks", -1, &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW || (uint64_t)sqlite3_column_int64(s, 0) != committed)
            _exit(15);
        sqlite3_finalize(s);
        sqlite3_close(r);
        umount(mnt);
        rmdir(mnt);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        print_message("skipped: no private mount namespace here\n");
        skip();
    }
    tu_expect_eq("full-disk child (11: not ENOSPC or no 'disk full' message, 12: nothing "
                 "committed, 14: integrity, 15: rows differ from the last commit)",
                 0, WEXITSTATUS(st));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_schema_holds_what_was_written, setup, teardown),
        cmocka_unit_test_setup_teardown(a_killed_writer_leaves_a_consistent_file_with_every_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_full_disk_stops_the_writer_with_a_clear_error_and_a_consistent_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
