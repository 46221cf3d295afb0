/* recording-read.c — streaming reader of recordings (sink/export/recording-read.h). */
#include "sink/export/recording-read.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/varint.h"

struct tk_rec {
    sqlite3 *db;
    char err[256];
};

static int fail(tk_rec *r, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s: %s", what, r->db ? sqlite3_errmsg(r->db) : "?");
    return -EINVAL;
}

static int bad(tk_rec *r, const char *fmt, const char *arg)
{
    snprintf(r->err, sizeof r->err, fmt, arg);
    return -EINVAL;
}

const char *tk_rec_error(const tk_rec *r)
{
    return r ? r->err : "out of memory";
}

int tk_rec_open(const char *path, tk_rec **rp)
{
    *rp = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return -ENOENT;
    tk_rec *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    *rp = r;
    /* Read-only; the WAL file next to it (if any) is read too. */
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(r, "cannot open");
    sqlite3_busy_timeout(r->db, 2000);
    sqlite3_stmt *st2;
    if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st2,
                           NULL) != SQLITE_OK)
        return fail(r, "not a recording (no meta table)");
    int rc = sqlite3_step(st2);
    const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st2, 0) : NULL;
    int ok = v && strcmp(v, "1") == 0;
    char got[32];
    snprintf(got, sizeof got, "%s", v ? v : "none");
    sqlite3_finalize(st2);
    if (!ok)
        return bad(r, "unknown recording schema version %s (this timekeeper reads 1)", got);
    return 0;
}

void tk_rec_close(tk_rec *r)
{
    if (!r)
        return;
    sqlite3_close(r->db);
    free(r);
}

static int prepare(tk_rec *r, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK)
        return fail(r, "query");
    return 0;
}

/* Ends a row loop: rc is the last sqlite3_step result or the callback's stop value. */
static int finish(tk_rec *r, sqlite3_stmt *st, int rc, int stopped)
{
    sqlite3_finalize(st);
    if (stopped)
        return rc;
    return rc == SQLITE_DONE ? 0 : fail(r, "read");
}

static const char *text(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? s : "";
}

static uint64_t u64_or_none(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? TK_REC_NONE
                                                       : (uint64_t)sqlite3_column_int64(st, col);
}

/* Runs sql and the statements after it once per row (st is the statement; set stop_ to stop). */
#define ROWS(r, sql, ...)                                                                          \
    do {                                                                                            \
        sqlite3_stmt *st;                                                                           \
        if (prepare(r, sql, &st) < 0)                                                               \
            return -EINVAL;                                                                         \
        int rc_;                                                                                    \
        while ((rc_ = sqlite3_step(st)) == SQLITE_ROW) {                                            \
            int stop_ = 0;                                                                          \
            __VA_ARGS__                                                                             \
            if (stop_)                                                                              \
                return finish(r, st, stop_, 1);                                                     \
        }                                                                                           \
        return finish(r, st, rc_, 0);                                                               \
    } while (0)

int tk_rec_processes(tk_rec *r, int (*fn)(void *, const tk_rec_process *), void *ctx)
{
    ROWS(r, "SELECT id, pid, name, cmdline, real_minus_mono_ns FROM processes ORDER BY id", {
        tk_rec_process p = {sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1), text(st, 2),
                            text(st, 3), sqlite3_column_int64(st, 4)};
        stop_ = fn(ctx, &p);
    });
}

int tk_rec_threads(tk_rec *r, int (*fn)(void *, const tk_rec_thread *), void *ctx)
{
    ROWS(r, "SELECT id, process, ring, tid, name FROM threads ORDER BY id", {
        tk_rec_thread t = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                           sqlite3_column_int(st, 2), sqlite3_column_int(st, 3), text(st, 4)};
        stop_ = fn(ctx, &t);
    });
}

int tk_rec_names(tk_rec *r, int (*fn)(void *, const tk_rec_name *), void *ctx)
{
    ROWS(r, "SELECT id, process, kind, name FROM names ORDER BY id", {
        tk_rec_name n = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), text(st, 2),
                         text(st, 3)};
        stop_ = fn(ctx, &n);
    });
}

int tk_rec_decode_spans(const void *data, size_t len, size_t n, int64_t thread,
                        uint64_t first_start_ns, tk_rec_span *out)
{
    const uint8_t *p = data, *end = p + len;
    int64_t prev = (int64_t)first_start_ns;
    if (first_start_ns > INT64_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        uint64_t timer, zz, dur, lat1;
        if (tk_varint_get(&p, end, &timer) < 0 || tk_varint_get(&p, end, &zz) < 0 ||
            tk_varint_get(&p, end, &dur) < 0 || tk_varint_get(&p, end, &lat1) < 0)
            return -EINVAL;
        int64_t delta = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        int64_t start;
        if (timer > INT64_MAX || __builtin_add_overflow(prev, delta, &start) || start < 0)
            return -EINVAL;
        out[i] = (tk_rec_span){thread, (int64_t)timer, (uint64_t)start, dur,
                               lat1 ? lat1 - 1 : TK_REC_NONE};
        prev = start;
    }
    return p == end ? 0 : -EINVAL;
}

enum { BLOCK_MAX = 1024 }; /* spans per block, as the schema promises */

int tk_rec_spans(tk_rec *r, int (*fn)(void *, const tk_rec_span *, size_t), void *ctx)
{
    static __thread tk_rec_span spans[BLOCK_MAX];
    ROWS(r, "SELECT id, thread, n, first_start_ns, data FROM span_blocks ORDER BY id", {
        sqlite3_int64 n = sqlite3_column_int64(st, 2);
        sqlite3_int64 first = sqlite3_column_int64(st, 3);
        const void *blob = sqlite3_column_blob(st, 4);
        int len = sqlite3_column_bytes(st, 4);
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(st, 0));
        if (n < 0 || n > BLOCK_MAX || first < 0 || len < 0 ||
            tk_rec_decode_spans(blob, (size_t)len, (size_t)n, sqlite3_column_int64(st, 1),
                                (uint64_t)first, spans) < 0) {
            sqlite3_finalize(st);
            return bad(r, "span block %s is malformed", id);
        }
        stop_ = fn(ctx, spans, (size_t)n);
    });
}

int tk_rec_points(tk_rec *r, int (*fn)(void *, const tk_rec_point *), void *ctx)
{
    ROWS(r, "SELECT label, thread, ns, client, command, session, context FROM points ORDER BY id", {
        tk_rec_point p = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                          (uint64_t)sqlite3_column_int64(st, 2), u64_or_none(st, 3),
                          u64_or_none(st, 4), u64_or_none(st, 5), NULL, 0};
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
            p.context = (const char *)sqlite3_column_text(st, 6);
            p.context_len = (size_t)sqlite3_column_bytes(st, 6);
        }
        stop_ = fn(ctx, &p);
    });
}

/* The samples of sql: name, thread, ns, value, gauge, interval, delta. */
static int samples(tk_rec *r, const char *sql, int (*fn)(void *, const tk_rec_sample *), void *ctx)
{
    ROWS(r, sql, {
        tk_rec_sample s = {sqlite3_column_int64(st, 0),
                           sqlite3_column_type(st, 1) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_int64(st, 1),
                           (uint64_t)sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
                           sqlite3_column_int(st, 4), sqlite3_column_int64(st, 5),
                           sqlite3_column_double(st, 6)};
        stop_ = fn(ctx, &s);
    });
}

int tk_rec_samples(tk_rec *r, int (*fn)(void *, const tk_rec_sample *), void *ctx)
{
    return samples(r,
                   "SELECT name, thread, ns, total, 0, -1, 0 FROM counters "
                   "UNION ALL SELECT name, thread, ns, value, 1, -1, 0 FROM gauges",
                   fn, ctx);
}

int tk_rec_window_samples(tk_rec *r, int (*fn)(void *, const tk_rec_sample *), void *ctx)
{
    return samples(r,
                   "SELECT name, thread, ns, total, 0, interval, delta FROM counters "
                   "UNION ALL SELECT name, thread, ns, value, 1, interval, 0 FROM gauges",
                   fn, ctx);
}

int tk_rec_stats(tk_rec *r, int (*fn)(void *, const tk_rec_stat *), void *ctx)
{
    ROWS(r,
         "SELECT s.interval, s.timer, i.window = 'total', s.kind = 'latency', s.count, s.min_ns, "
         "s.max_ns, s.avg_ns, s.clamped, s.lost, s.hist FROM stats s JOIN intervals i "
         "ON i.id = s.interval ORDER BY s.interval, s.timer, s.kind",
         {
             tk_rec_stat s = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                              sqlite3_column_int(st, 2), sqlite3_column_int(st, 3),
                              (uint64_t)sqlite3_column_int64(st, 4),
                              (uint64_t)sqlite3_column_int64(st, 5),
                              (uint64_t)sqlite3_column_int64(st, 6),
                              (uint64_t)sqlite3_column_int64(st, 8),
                              (uint64_t)sqlite3_column_int64(st, 9), sqlite3_column_double(st, 7),
                              sqlite3_column_blob(st, 10), 0};
             s.hist_len = (size_t)sqlite3_column_bytes(st, 10);
             stop_ = fn(ctx, &s);
         });
}

int tk_rec_calls(tk_rec *r, int (*fn)(void *, const tk_rec_call *), void *ctx)
{
    ROWS(r, "SELECT component, callback, start_ns, dur_ns, status FROM calls ORDER BY id", {
        tk_rec_call c = {sqlite3_column_int64(st, 0), text(st, 1),
                         (uint64_t)sqlite3_column_int64(st, 2),
                         (uint64_t)sqlite3_column_int64(st, 3), sqlite3_column_int(st, 4)};
        stop_ = fn(ctx, &c);
    });
}

/* A REAL or INTEGER column, or dflt when NULL. */
static double col_double(sqlite3_stmt *st, int i, double dflt)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_double(st, i);
}
static int64_t col_int64(sqlite3_stmt *st, int i, int64_t dflt)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

int tk_rec_resources(tk_rec *r, int (*fn)(void *, const tk_rec_resource *), void *ctx)
{
    ROWS(r,
         "SELECT x.interval, x.process, x.seconds, x.user_pct, x.sys_pct, x.rss_bytes, x.threads "
         "FROM resources x JOIN intervals i ON i.id = x.interval WHERE i.window = 'interval' "
         "ORDER BY x.interval, x.process",
         {
             double secs = col_double(st, 2, 0);
             tk_rec_resource x = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                  col_double(st, 3, 0) / 100 * secs,
                                  col_double(st, 4, 0) / 100 * secs, col_int64(st, 5, -1),
                                  col_int64(st, 6, -1)};
             if (!(x.user_s >= 0) || !(x.sys_s >= 0)) { /* NaN or negative: not a sample */
                 x.user_s = 0;
                 x.sys_s = 0;
             }
             stop_ = fn(ctx, &x);
         });
}

int tk_rec_intervals(tk_rec *r, int (*fn)(void *, const tk_rec_interval *), void *ctx)
{
    ROWS(r, "SELECT id, window = 'total', start_mono_ns, end_mono_ns FROM intervals ORDER BY id", {
        tk_rec_interval i = {sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
                             (uint64_t)sqlite3_column_int64(st, 2),
                             (uint64_t)sqlite3_column_int64(st, 3)};
        stop_ = fn(ctx, &i);
    });
}

int64_t tk_rec_count(tk_rec *r, const char *table)
{
    static const char *const known[] = {"processes", "threads", "names", "intervals", "stats",
                                        "losses", "span_blocks", "points", "calls", "events",
                                        "counters", "gauges", "task_stats", "task_events"};
    const char *name = NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i], table) == 0)
            name = known[i];
    if (!name)
        return -1;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}
