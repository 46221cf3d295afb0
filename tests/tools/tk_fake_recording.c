/* tk_fake_recording.c — writes a recording (docs/recording-schema.md, schema 1) with made-up
 * content, for the tests and benchmarks of `export` and `diff` that need a recording of a chosen
 * shape without running a recorder:
 *
 *   tk_fake_recording OUT.db [--raw N] [--threads T] [--seed S]
 *       N raw span pairs per thread ("outer" enclosing "inner", outer with an origin), points,
 *       counter and gauge samples
 *   tk_fake_recording OUT.db --timer NAME:MEDIAN_NS:SPREAD:DRIFT [...] --intervals K --per M
 *       per-interval statistics of each timer: M log-normal values per interval around MEDIAN_NS
 *       (SPREAD: sigma of log), the interval's median moved by DRIFT x N(0, 1) (run noise)
 *   ... --component NAME:MEDIAN_NS:SPREAD:DRIFT
 *       the same as M `event` calls per interval of a component (calls table)
 */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/hist.h"
#include "util/varint.h"

static sqlite3 *db;

static void die(const char *what)
{
    fprintf(stderr, "tk_fake_recording: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static void exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "tk_fake_recording: %s\n  in: %.200s\n", err, sql);
        exit(1);
    }
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO meta VALUES('schema_version','1'),('hist_encoding','1'),('span_encoding','1'),"
    "  ('timekeeper_version','test');"
    "CREATE TABLE processes(id INTEGER PRIMARY KEY, pid, name, cmdline, segment, clock_source,"
    "  start_real_ns, start_mono_ns, real_minus_mono_ns, exit_kind, exit_mono_ns, records,"
    "  dropped_no_ring);"
    "CREATE TABLE threads(id INTEGER PRIMARY KEY, process, ring, tid, name);"
    "CREATE TABLE names(id INTEGER PRIMARY KEY, process, name_id, kind, name);"
    "CREATE TABLE intervals(id INTEGER PRIMARY KEY, window, start_mono_ns, end_mono_ns,"
    "  start_real_ns, seconds);"
    "CREATE TABLE stats(interval, timer, kind, count, min_ns, max_ns, avg_ns REAL, p50_ns, p90_ns,"
    "  p99_ns, p999_ns, clamped, lost, hist BLOB, PRIMARY KEY(interval, timer, kind));"
    "CREATE TABLE losses(id INTEGER PRIMARY KEY, process, name, thread, reason, count);"
    "CREATE TABLE span_blocks(id INTEGER PRIMARY KEY, thread, n, first_start_ns, last_start_ns,"
    "  data BLOB);"
    "CREATE TABLE points(id INTEGER PRIMARY KEY, label, thread, ns, client, command, session,"
    "  context);"
    "CREATE TABLE calls(id INTEGER PRIMARY KEY, process, thread, sequence, component, callback,"
    "  arg, start_ns, dur_ns, status, event);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, process, thread, sequence, event, completed,"
    "  start_ns, dur_ns);"
    "CREATE TABLE counters(id INTEGER PRIMARY KEY, name, thread, ns, total);"
    "CREATE TABLE gauges(id INTEGER PRIMARY KEY, name, thread, ns, value REAL);"
    "CREATE TABLE task_stats(interval, name, calls, exec_ns, exec_children_ns, max_slice_ns,"
    "  wall_ns, stillborn);"
    "CREATE TABLE task_events(id INTEGER PRIMARY KEY, name, thread, ns, sub, a, b, c, d);"
    "INSERT INTO processes(id, pid, name, cmdline, exit_kind) VALUES(1, 4242, 'gateway',"
    "  './gateway --port 9000', 'normal');";

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unit(void) { return ((double)(next() >> 11) + 0.5) * 0x1p-53; }
static double gauss(void) { return sqrt(-2 * log(unit())) * cos(6.283185307179586 * unit()); }

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    return st;
}

static void step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("insert");
    sqlite3_reset(st);
}

static void put_span(uint8_t *buf, size_t *len, int64_t timer, int64_t delta, uint64_t dur,
                     uint64_t lat1)
{
    *len += tk_varint_put(buf + *len, (uint64_t)timer);
    *len += tk_varint_put(buf + *len, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63));
    *len += tk_varint_put(buf + *len, dur);
    *len += tk_varint_put(buf + *len, lat1);
}

static void raw(long pairs, int threads)
{
    exec("INSERT INTO names VALUES(1,1,0,'timer','outer'),(2,1,1,'timer','inner'),"
         "(3,1,2,'label','ffi_send'),(4,1,3,'counter','queue'),(5,1,4,'gauge','rss');");
    sqlite3_stmt *th = prep("INSERT INTO threads VALUES(?,1,?,?,?)");
    sqlite3_stmt *blk = prep("INSERT INTO span_blocks(thread, n, first_start_ns, last_start_ns,"
                             " data) VALUES(?,?,?,?,?)");
    sqlite3_stmt *pt = prep("INSERT INTO points(label, thread, ns, client, command, session,"
                            " context) VALUES(3,?,?,?,?,NULL,?)");
    sqlite3_stmt *ctr = prep("INSERT INTO counters(name, thread, ns, total) VALUES(4,?,?,?)");
    sqlite3_stmt *gg = prep("INSERT INTO gauges(name, thread, ns, value) VALUES(5,NULL,?,?)");
    static uint8_t buf[1024 * 40];
    exec("BEGIN");
    for (int t = 0; t < threads; t++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%d", t);
        sqlite3_bind_int(th, 1, t + 1);
        sqlite3_bind_int(th, 2, t);
        sqlite3_bind_int(th, 3, 5000 + t);
        sqlite3_bind_text(th, 4, name, -1, SQLITE_TRANSIENT);
        step(th);
    }
    uint64_t base = 1000000000000ULL;
    for (int t = 0; t < threads; t++) {
        uint64_t s = base + (uint64_t)t * 7;
        long left = pairs;
        while (left > 0) {
            long n = left > 512 ? 512 : left; /* 2 spans per pair: blocks of up to 1024 */
            size_t len = 0;
            uint64_t first = s + 10, prev = first, last = 0;
            for (long i = 0; i < n; i++) {
                uint64_t d_in = 200 + next() % 300, d_out = d_in + 100 + next() % 500;
                uint64_t in_start = s + 10;
                put_span(buf, &len, 2, (int64_t)(in_start - prev), d_in, 0);
                put_span(buf, &len, 1, (int64_t)s - (int64_t)in_start, d_out, 500 + 1);
                prev = s;
                last = in_start > last ? in_start : last;
                s += d_out + 50 + next() % 100;
            }
            sqlite3_bind_int(blk, 1, t + 1);
            sqlite3_bind_int64(blk, 2, 2 * n);
            sqlite3_bind_int64(blk, 3, (sqlite3_int64)first);
            sqlite3_bind_int64(blk, 4, (sqlite3_int64)last);
            sqlite3_bind_blob(blk, 5, buf, (int)len, SQLITE_TRANSIENT);
            step(blk);
            left -= n;
        }
        for (int i = 0; i < 3; i++) {
            sqlite3_bind_int(pt, 1, t + 1);
            sqlite3_bind_int64(pt, 2, (sqlite3_int64)(base + 1000 * (uint64_t)i + 3));
            sqlite3_bind_int(pt, 3, 7);
            sqlite3_bind_int(pt, 4, i);
            sqlite3_bind_text(pt, 5, "bytes_ns=12", -1, SQLITE_STATIC);
            step(pt);
        }
        sqlite3_bind_int(ctr, 1, t + 1);
        sqlite3_bind_int64(ctr, 2, (sqlite3_int64)base + 5000);
        sqlite3_bind_int(ctr, 3, 10 * (t + 1));
        step(ctr);
    }
    sqlite3_bind_int64(gg, 1, (sqlite3_int64)base + 6000);
    sqlite3_bind_double(gg, 2, 12.5);
    step(gg);
    exec("COMMIT");
    sqlite3_finalize(th);
    sqlite3_finalize(blk);
    sqlite3_finalize(pt);
    sqlite3_finalize(ctr);
    sqlite3_finalize(gg);
}

typedef struct timer_spec {
    char name[64];
    double median, spread, drift;
} timer_spec;

static void stats(const timer_spec *ts, int ntimers, const timer_spec *cs, int ncomps,
                  int intervals, long per)
{
    sqlite3_stmt *call = prep("INSERT INTO calls(process, thread, sequence, component, callback,"
                              " arg, start_ns, dur_ns, status) VALUES(1,1,0,?,'event',?,?,?,0)");
    sqlite3_stmt *nm = prep("INSERT INTO names VALUES(?,1,?,'timer',?)");
    sqlite3_stmt *iv = prep("INSERT INTO intervals VALUES(?,?,?,?,0,1.0)");
    sqlite3_stmt *sr = prep("INSERT INTO stats VALUES(?,?,'processing',?,?,?,?,?,?,?,?,?,0,?)");
    exec("BEGIN");
    for (int j = 0; j < ntimers; j++) {
        sqlite3_bind_int(nm, 1, j + 1);
        sqlite3_bind_int(nm, 2, j);
        sqlite3_bind_text(nm, 3, ts[j].name, -1, SQLITE_STATIC);
        step(nm);
    }
    for (int j = 0; j < ncomps; j++) {
        sqlite3_stmt *cn = prep("INSERT INTO names VALUES(?,1,?,'component',?)");
        sqlite3_bind_int(cn, 1, ntimers + j + 1);
        sqlite3_bind_int(cn, 2, ntimers + j);
        sqlite3_bind_text(cn, 3, cs[j].name, -1, SQLITE_STATIC);
        step(cn);
        sqlite3_finalize(cn);
    }
    hist **total = calloc((size_t)ntimers + 1, sizeof *total);
    hist *h = hist_new();
    for (int j = 0; j < ntimers; j++)
        total[j] = hist_new();
    for (int i = 0; i <= intervals; i++) {
        int is_total = i == intervals;
        sqlite3_bind_int(iv, 1, i + 1);
        sqlite3_bind_text(iv, 2, is_total ? "total" : "interval", -1, SQLITE_STATIC);
        sqlite3_bind_int64(iv, 3, is_total ? 0 : (sqlite3_int64)i * 1000000000);
        sqlite3_bind_int64(iv, 4, (sqlite3_int64)(is_total ? intervals : i + 1) * 1000000000);
        step(iv);
        for (int j = 0; j < ntimers; j++) {
            hist_reset(h);
            if (is_total) {
                hist_merge(h, total[j]);
            } else {
                double m = ts[j].median * (1 + ts[j].drift * gauss());
                for (long k = 0; k < per; k++)
                    hist_record(h, (uint64_t)(m * exp(ts[j].spread * gauss())));
                hist_merge(total[j], h);
            }
            hist_summary s;
            hist_summarize(h, &s);
            size_t len = hist_encode(h, NULL, 0);
            void *blob = malloc(len);
            hist_encode(h, blob, len);
            sqlite3_bind_int(sr, 1, i + 1);
            sqlite3_bind_int(sr, 2, j + 1);
            sqlite3_bind_int64(sr, 3, (sqlite3_int64)s.count);
            sqlite3_bind_int64(sr, 4, (sqlite3_int64)s.min);
            sqlite3_bind_int64(sr, 5, (sqlite3_int64)s.max);
            sqlite3_bind_double(sr, 6, s.avg);
            sqlite3_bind_int64(sr, 7, (sqlite3_int64)s.p50);
            sqlite3_bind_int64(sr, 8, (sqlite3_int64)s.p90);
            sqlite3_bind_int64(sr, 9, (sqlite3_int64)s.p99);
            sqlite3_bind_int64(sr, 10, (sqlite3_int64)s.p999);
            sqlite3_bind_int64(sr, 11, (sqlite3_int64)s.clamped);
            sqlite3_bind_blob(sr, 12, blob, (int)len, free);
            step(sr);
        }
        for (int j = 0; j < ncomps && !is_total; j++) {
            double m = cs[j].median * (1 + cs[j].drift * gauss());
            for (long k = 0; k < per; k++) {
                sqlite3_bind_int(call, 1, ntimers + j + 1);
                sqlite3_bind_int64(call, 2, k);
                sqlite3_bind_int64(call, 3, (sqlite3_int64)i * 1000000000 + k * (1000000000 / per));
                sqlite3_bind_int64(call, 4, (sqlite3_int64)(m * exp(cs[j].spread * gauss())));
                step(call);
            }
        }
    }
    sqlite3_finalize(call);
    exec("COMMIT");
    for (int j = 0; j < ntimers; j++)
        hist_free(total[j]);
    free(total);
    hist_free(h);
    sqlite3_finalize(nm);
    sqlite3_finalize(iv);
    sqlite3_finalize(sr);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tk_fake_recording OUT.db [--raw N] [--threads T] [--seed S]"
                        " [--timer|--component NAME:MEDIAN:SPREAD:DRIFT]... [--intervals K] [--per M]\n");
        return 2;
    }
    long pairs = 0, per = 1000;
    int threads = 2, intervals = 30, ntimers = 0, ncomps = 0;
    timer_spec ts[16], cs[16];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--raw"))
            pairs = atol(v);
        else if (!strcmp(o, "--threads"))
            threads = atoi(v);
        else if (!strcmp(o, "--seed"))
            rng = strtoull(v, NULL, 10) * 2654435761ULL + 1;
        else if (!strcmp(o, "--intervals"))
            intervals = atoi(v);
        else if (!strcmp(o, "--per"))
            per = atol(v);
        else if ((!strcmp(o, "--timer") && ntimers < 16) ||
                 (!strcmp(o, "--component") && ncomps < 16)) {
            timer_spec *t = o[2] == 't' ? &ts[ntimers++] : &cs[ncomps++];
            if (sscanf(v, "%63[^:]:%lf:%lf:%lf", t->name, &t->median, &t->spread, &t->drift) != 4) {
                fprintf(stderr, "tk_fake_recording: bad --timer %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "tk_fake_recording: unknown option %s\n", o);
            return 2;
        }
    }
    remove(argv[1]);
    if (sqlite3_open(argv[1], &db) != SQLITE_OK)
        die("open");
    exec(schema);
    if (pairs)
        raw(pairs, threads);
    if (ntimers || ncomps)
        stats(ts, ntimers, cs, ncomps, intervals, per);
    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    return 0;
}
