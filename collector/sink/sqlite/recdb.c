/* sink/sqlite/recdb.c — the SQLite recording writer (schema: docs/recording-schema.md). */
#include "util/varint.h"
#include "sink/sqlite/recdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define DEFAULT_BATCH_ROWS 65536u
#define BLOCK_BYTES_MAX (TK_RECDB_BLOCK_SPANS * 4 * 10) /* four varints of 10 bytes at most */

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE processes(id INTEGER PRIMARY KEY, pid INTEGER, name TEXT, cmdline TEXT,"
    " segment TEXT, clock_source INTEGER, start_real_ns INTEGER, start_mono_ns INTEGER,"
    " real_minus_mono_ns INTEGER, exit_kind TEXT, exit_mono_ns INTEGER, records INTEGER,"
    " dropped_no_ring INTEGER);"
    "CREATE TABLE threads(id INTEGER PRIMARY KEY, process INTEGER REFERENCES processes(id),"
    " ring INTEGER, tid INTEGER, name TEXT);"
    "CREATE TABLE names(id INTEGER PRIMARY KEY, process INTEGER REFERENCES processes(id),"
    " name_id INTEGER, kind TEXT, name TEXT);"
    "CREATE VIEW timers AS SELECT id, process, name_id, name FROM names WHERE kind = 'timer';"
    "CREATE VIEW labels AS SELECT id, process, name_id, name FROM names WHERE kind = 'label';"
    "CREATE VIEW components AS SELECT id, process, name_id, name FROM names WHERE kind = 'component';"
    "CREATE TABLE intervals(id INTEGER PRIMARY KEY, window TEXT, start_mono_ns INTEGER,"
    " end_mono_ns INTEGER, start_real_ns INTEGER, seconds REAL);"
    "CREATE TABLE stats(interval INTEGER REFERENCES intervals(id), timer INTEGER REFERENCES names(id),"
    " kind TEXT, count INTEGER, min_ns INTEGER, max_ns INTEGER, avg_ns REAL, p50_ns INTEGER,"
    " p90_ns INTEGER, p99_ns INTEGER, p999_ns INTEGER, clamped INTEGER, lost INTEGER, hist BLOB,"
    " PRIMARY KEY(interval, timer, kind));"
    "CREATE TABLE losses(id INTEGER PRIMARY KEY, process INTEGER, name INTEGER, thread INTEGER,"
    " reason TEXT, count INTEGER);"
    "CREATE TABLE span_blocks(id INTEGER PRIMARY KEY, thread INTEGER REFERENCES threads(id),"
    " n INTEGER, first_start_ns INTEGER, last_start_ns INTEGER, data BLOB);"
    "CREATE INDEX span_blocks_time ON span_blocks(first_start_ns);"
    "CREATE TABLE points(id INTEGER PRIMARY KEY, label INTEGER REFERENCES names(id),"
    " thread INTEGER REFERENCES threads(id), ns INTEGER, client INTEGER, command INTEGER,"
    " session INTEGER, context TEXT);"
    "CREATE TABLE calls(id INTEGER PRIMARY KEY, process INTEGER, thread INTEGER, sequence INTEGER,"
    " component INTEGER REFERENCES names(id), callback TEXT, arg INTEGER, start_ns INTEGER,"
    " dur_ns INTEGER, status INTEGER, event INTEGER);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, process INTEGER, thread INTEGER, sequence INTEGER,"
    " event INTEGER, completed INTEGER, start_ns INTEGER, dur_ns INTEGER);"
    "CREATE TABLE counters(id INTEGER PRIMARY KEY, interval INTEGER REFERENCES intervals(id),"
    " name INTEGER REFERENCES names(id), thread INTEGER, ns INTEGER, total INTEGER, delta INTEGER);"
    "CREATE TABLE gauges(id INTEGER PRIMARY KEY, interval INTEGER REFERENCES intervals(id),"
    " name INTEGER REFERENCES names(id), thread INTEGER, ns INTEGER, value REAL);"
    "CREATE TABLE resources(interval INTEGER REFERENCES intervals(id),"
    " process INTEGER REFERENCES processes(id), seconds REAL, cpu_pct REAL, user_pct REAL,"
    " sys_pct REAL, rss_bytes INTEGER, threads INTEGER, cores INTEGER, voluntary_cs INTEGER,"
    " involuntary_cs INTEGER, read_bytes INTEGER, write_bytes INTEGER,"
    " PRIMARY KEY(interval, process));"
    "CREATE TABLE task_stats(interval INTEGER, name INTEGER, calls INTEGER, exec_ns INTEGER,"
    " exec_children_ns INTEGER, max_slice_ns INTEGER, wall_ns INTEGER, stillborn INTEGER);"
    "CREATE TABLE task_events(id INTEGER PRIMARY KEY, name INTEGER, thread INTEGER, ns INTEGER,"
    " sub INTEGER, a INTEGER, b INTEGER, c INTEGER, d INTEGER);";

enum {
    ST_PROCESS, ST_PROCESS_UPDATE, ST_THREAD, ST_NAME, ST_BLOCK, ST_POINT, ST_LOSS, ST_CALL,
    ST_EVENT, ST_INTERVAL, ST_STAT, ST_META, ST_COUNTER, ST_GAUGE, ST_RESOURCES, ST_COUNT
};
static const char *const stmt_sql[ST_COUNT] = {
    [ST_PROCESS] = "INSERT INTO processes(pid, name, cmdline, segment, clock_source, start_real_ns,"
                   " start_mono_ns, real_minus_mono_ns, exit_kind, records, dropped_no_ring)"
                   " VALUES(?,?,?,?,?,?,?,?,'running',0,0)",
    [ST_PROCESS_UPDATE] = "UPDATE processes SET exit_kind = ?, exit_mono_ns = ?, records = ?,"
                          " dropped_no_ring = ? WHERE id = ?",
    [ST_THREAD] = "INSERT INTO threads(process, ring, tid, name) VALUES(?,?,?,?)",
    [ST_NAME] = "INSERT INTO names(process, name_id, kind, name) VALUES(?,?,?,?)",
    [ST_BLOCK] = "INSERT INTO span_blocks(thread, n, first_start_ns, last_start_ns, data)"
                 " VALUES(?,?,?,?,?)",
    [ST_POINT] = "INSERT INTO points(label, thread, ns, client, command, session, context)"
                 " VALUES(?,?,?,?,?,?,?)",
    [ST_LOSS] = "INSERT INTO losses(process, name, thread, reason, count) VALUES(?,?,?,?,?)",
    [ST_CALL] = "INSERT INTO calls(process, thread, sequence, component, callback, arg, start_ns,"
                " dur_ns, status, event) VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_EVENT] = "INSERT INTO events(id, process, thread, sequence, event, completed, start_ns,"
                 " dur_ns) VALUES(?,?,?,?,?,?,?,?)",
    [ST_INTERVAL] = "INSERT INTO intervals(window, start_mono_ns, end_mono_ns, start_real_ns,"
                    " seconds) VALUES(?,?,?,?,?)",
    [ST_STAT] = "INSERT INTO stats(interval, timer, kind, count, min_ns, max_ns, avg_ns, p50_ns,"
                " p90_ns, p99_ns, p999_ns, clamped, lost, hist) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)",
    [ST_COUNTER] = "INSERT INTO counters(interval, name, ns, total, delta) VALUES(?,?,?,?,?)",
    [ST_GAUGE] = "INSERT INTO gauges(interval, name, ns, value) VALUES(?,?,?,?)",
    [ST_RESOURCES] = "INSERT INTO resources(interval, process, seconds, cpu_pct, user_pct,"
                     " sys_pct, rss_bytes, threads, cores, voluntary_cs, involuntary_cs,"
                     " read_bytes, write_bytes) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
};

/* What the writer keeps per thread: its process, its open span block, its open events. */
typedef struct open_event {
    unsigned sequence;
    uint64_t arg;
    int64_t id;
} open_event;

typedef struct thread_state {
    int64_t process;
    uint8_t *block;         /* BLOCK_BYTES_MAX bytes once the thread has spans */
    size_t len;
    uint32_t n;
    uint64_t first_start, prev_start;
    open_event ev[4];       /* events of up to four sequences open at once on the thread */
    unsigned nev;
} thread_state;

struct tk_recdb {
    sqlite3 *db;
    char path[4096];
    sqlite3_stmt *st[ST_COUNT];
    int err;                /* the first error (negative errno), sticky */
    char errmsg[512];
    int in_tx;
    uint32_t batch_rows, tx_rows;
    uint64_t rows, committed;
    int64_t next_event;
    thread_state *threads;  /* indexed by threads.id */
    size_t nthreads;
    uint8_t *hbuf;
    size_t hcap;
};

static uint64_t real_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Records the first error from SQLite code rc; returns the (sticky) negative errno. */
static int fail(tk_recdb *r, int rc, const char *what)
{
    if (r->err)
        return r->err;
    int prim = rc & 0xff;
    r->err = prim == SQLITE_FULL ? -ENOSPC : prim == SQLITE_NOMEM ? -ENOMEM : -EIO;
    snprintf(r->errmsg, sizeof r->errmsg, "%s: %s%s", what,
             r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc),
             prim == SQLITE_FULL ? " (disk full)" : "");
    if (r->db && !sqlite3_get_autocommit(r->db))
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL); /* the batch goes; earlier commits stay */
    r->in_tx = 0;
    return r->err;
}

static int exec(tk_recdb *r, const char *sql)
{
    int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(r, rc, sql);
}

static int meta(tk_recdb *r, const char *key, const char *value)
{
    sqlite3_stmt *s = r->st[ST_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : fail(r, rc, "writing meta");
}

static int meta_u64(tk_recdb *r, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return meta(r, key, buf);
}

int tk_recdb_open(const char *path, const tk_recdb_options *o, tk_recdb **out)
{
    tk_recdb_options def = {0};
    if (!o)
        o = &def;
    tk_recdb *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return -ENOMEM;
    r->batch_rows = o->batch_rows ? o->batch_rows : DEFAULT_BATCH_ROWS;
    r->next_event = 1;
    if (strlen(path) >= sizeof r->path) {
        snprintf(r->errmsg, sizeof r->errmsg, "file name too long");
        return r->err = -ENAMETOOLONG;
    }
    strcpy(r->path, path);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!o->overwrite) {
            snprintf(r->errmsg, sizeof r->errmsg, "%s exists (--force replaces it)", path);
            return r->err = -EEXIST;
        }
        char side[4200];
        unlink(path);
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        return fail(r, rc, "opening the recording");
    /* WAL: readers see every commit while recording; a killed writer loses only its open batch.
     * synchronous=NORMAL: no fsync per commit (durable against a crash of the recorder, not of
     * the machine). The page cache is bounded at 8 MiB. */
    if (exec(r, "PRAGMA journal_mode=WAL") || exec(r, "PRAGMA synchronous=NORMAL") ||
        exec(r, "PRAGMA cache_size=-8192") || exec(r, "PRAGMA wal_autocheckpoint=4096") ||
        exec(r, "BEGIN") || exec(r, schema_sql))
        return r->err;
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(r->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL);
        if (rc != SQLITE_OK)
            return fail(r, rc, "preparing statements");
    }
    char ver[16];
    snprintf(ver, sizeof ver, "%d", TK_RECDB_SCHEMA_VERSION);
    if (meta(r, "schema_version", ver) || meta(r, "hist_encoding", "1") ||
        meta(r, "span_encoding", "1") || meta_u64(r, "created_real_ns", real_now_ns()) ||
        (o->version && meta(r, "timekeeper_version", o->version)) || exec(r, "COMMIT"))
        return r->err;
    return 0;
}

const char *tk_recdb_error(const tk_recdb *r) { return r ? r->errmsg : "out of memory"; }

/* Opens the batch if needed and counts one row; commits when the batch is full. */
static int row_begin(tk_recdb *r)
{
    if (r->err)
        return r->err;
    if (!r->in_tx) {
        int rc = exec(r, "BEGIN");
        if (rc)
            return rc;
        r->in_tx = 1;
        r->tx_rows = 0;
    }
    return 0;
}

static int row_done(tk_recdb *r, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return fail(r, rc, what);
    r->rows++;
    if (++r->tx_rows >= r->batch_rows)
        return tk_recdb_commit(r);
    return 0;
}

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    if (v == TK_RECDB_NONE)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static void bind_id(sqlite3_stmt *s, int i, int64_t id)
{
    if (id == 0)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, id);
}

static int block_flush(tk_recdb *r, int64_t thread, thread_state *t);

int tk_recdb_commit(tk_recdb *r)
{
    if (r->err)
        return r->err;
    for (size_t i = 0; i < r->nthreads; i++) {
        thread_state *t = &r->threads[i];
        if (t->n) {
            int rc = block_flush(r, (int64_t)i, t);
            if (rc)
                return rc;
        } else if (t->block) {
            free(t->block); /* no span since the last commit: memory follows the active threads */
            t->block = NULL;
        }
    }
    if (!r->in_tx)
        return 0;
    r->in_tx = 0; /* before COMMIT: a full disk rolls back inside fail() */
    int rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        r->in_tx = 1;
        return fail(r, rc, "committing");
    }
    r->committed = r->rows;
    return 0;
}

int tk_recdb_close(tk_recdb *r, const char *stop_reason)
{
    if (!r)
        return 0;
    int err = r->err;
    if (r->db && !err) {
        tk_recdb_commit(r);
        if (!r->err && stop_reason)
            meta(r, "stop_reason", stop_reason);
        if (!r->err)
            meta_u64(r, "closed_real_ns", real_now_ns());
        if (!r->err)
            sqlite3_wal_checkpoint_v2(r->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        err = r->err;
    } /* after an error nothing more is written: the committed batches are the recording */
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    if (r->db)
        sqlite3_close_v2(r->db);
    for (size_t i = 0; i < r->nthreads; i++)
        free(r->threads[i].block);
    free(r->threads);
    free(r->hbuf);
    free(r);
    return err;
}

int tk_recdb_add_process(tk_recdb *r, const tk_recdb_process *p, int64_t *id)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_PROCESS];
    sqlite3_bind_int(s, 1, p->pid);
    sqlite3_bind_text(s, 2, p->name ? p->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, p->cmdline ? p->cmdline : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, p->segment ? p->segment : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, p->clock_source);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)p->start_real_ns);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)p->start_mono_ns);
    sqlite3_bind_int64(s, 8, p->real_minus_mono_ns);
    rc = row_done(r, s, "writing a process");
    *id = sqlite3_last_insert_rowid(r->db);
    return rc;
}

int tk_recdb_update_process(tk_recdb *r, int64_t id, const char *exit_kind, uint64_t exit_mono_ns,
                            uint64_t records, uint64_t dropped_no_ring)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_PROCESS_UPDATE];
    sqlite3_bind_text(s, 1, exit_kind, -1, SQLITE_STATIC);
    bind_u64(s, 2, exit_mono_ns);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)records);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)dropped_no_ring);
    sqlite3_bind_int64(s, 5, id);
    return row_done(r, s, "updating a process");
}

int tk_recdb_add_thread(tk_recdb *r, int64_t process, uint32_t ring, uint32_t tid,
                        const char *name, int64_t *id)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_THREAD];
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, ring);
    sqlite3_bind_int64(s, 3, tid);
    sqlite3_bind_text(s, 4, name ? name : "", -1, SQLITE_STATIC);
    rc = row_done(r, s, "writing a thread");
    if (rc)
        return rc;
    *id = sqlite3_last_insert_rowid(r->db);
    if ((size_t)*id >= r->nthreads) {
        size_t n = r->nthreads ? r->nthreads : 16;
        while (n <= (size_t)*id)
            n *= 2;
        thread_state *t = realloc(r->threads, n * sizeof *t);
        if (!t) {
            snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
            return r->err = -ENOMEM;
        }
        memset(t + r->nthreads, 0, (n - r->nthreads) * sizeof *t);
        r->threads = t;
        r->nthreads = n;
    }
    r->threads[*id].process = process;
    return 0;
}

int tk_recdb_add_name(tk_recdb *r, int64_t process, uint32_t name_id, const char *kind,
                      const char *name, int64_t *id)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_NAME];
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, name_id);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, name ? name : "", -1, SQLITE_STATIC);
    rc = row_done(r, s, "writing a name");
    *id = sqlite3_last_insert_rowid(r->db);
    return rc;
}

/* ---- span blocks ------------------------------------------------------------------------------- */

static int block_flush(tk_recdb *r, int64_t thread, thread_state *t)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_BLOCK];
    sqlite3_bind_int64(s, 1, thread);
    sqlite3_bind_int64(s, 2, t->n);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)t->first_start);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)t->prev_start);
    sqlite3_bind_blob(s, 5, t->block, (int)t->len, SQLITE_STATIC);
    uint32_t n = t->n;
    t->n = 0;
    t->len = 0;
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return fail(r, rc, "writing spans");
    r->tx_rows += n; /* the spans were counted in r->rows when appended */
    return 0;
}

int tk_recdb_span(tk_recdb *r, int64_t thread, int64_t timer, uint64_t start_ns, uint64_t dur_ns,
                  uint64_t lat_ns)
{
    if (r->err)
        return r->err;
    if (thread <= 0 || (size_t)thread >= r->nthreads)
        return -EINVAL;
    thread_state *t = &r->threads[thread];
    if (!t->block && !(t->block = malloc(BLOCK_BYTES_MAX))) {
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        return r->err = -ENOMEM;
    }
    if (t->n == 0)
        t->first_start = t->prev_start = start_ns;
    int64_t d = (int64_t)(start_ns - t->prev_start);
    uint8_t *p = t->block + t->len;
    p += tk_varint_put(p, (uint64_t)timer);
    p += tk_varint_put(p, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
    p += tk_varint_put(p, dur_ns);
    p += tk_varint_put(p, lat_ns == TK_RECDB_NONE ? 0 : lat_ns + 1);
    t->len = (size_t)(p - t->block);
    t->prev_start = start_ns;
    r->rows++;
    if (++t->n < TK_RECDB_BLOCK_SPANS)
        return 0;
    int rc = block_flush(r, thread, t);
    if (!rc && r->tx_rows >= r->batch_rows)
        rc = tk_recdb_commit(r);
    return rc;
}

int tk_recdb_point(tk_recdb *r, int64_t thread, int64_t label, uint64_t ns, uint64_t client,
                   uint64_t command, uint64_t session, const char *ctx, size_t ctx_len)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_POINT];
    sqlite3_bind_int64(s, 1, label);
    sqlite3_bind_int64(s, 2, thread);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)ns);
    bind_u64(s, 4, client);
    bind_u64(s, 5, command);
    bind_u64(s, 6, session);
    if (ctx)
        sqlite3_bind_text(s, 7, ctx, (int)ctx_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 7);
    return row_done(r, s, "writing a point");
}

int tk_recdb_loss(tk_recdb *r, int64_t process, int64_t name, int64_t thread, const char *reason,
                  int64_t count)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_LOSS];
    sqlite3_bind_int64(s, 1, process);
    bind_id(s, 2, name);
    bind_id(s, 3, thread);
    sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, count);
    return row_done(r, s, "writing a loss");
}

/* ---- component calls and events ----------------------------------------------------------------- */

/* The open event of (thread, sequence) for event number arg: found, or a new one. */
static int64_t event_of(tk_recdb *r, thread_state *t, unsigned sequence, uint64_t arg, int take)
{
    for (unsigned i = 0; i < t->nev; i++) {
        if (t->ev[i].sequence != sequence)
            continue;
        if (t->ev[i].arg == arg) {
            int64_t id = t->ev[i].id;
            if (take)
                t->ev[i] = t->ev[--t->nev];
            return id;
        }
        t->ev[i].arg = arg; /* an event never closed (its __ALL__ was lost): a new one */
        t->ev[i].id = r->next_event++;
        int64_t id = t->ev[i].id;
        if (take)
            t->ev[i] = t->ev[--t->nev];
        return id;
    }
    int64_t id = r->next_event++;
    if (!take) {
        if (t->nev == sizeof t->ev / sizeof t->ev[0])
            t->ev[0] = t->ev[--t->nev]; /* too many sequences open at once: forget the oldest */
        t->ev[t->nev++] = (open_event){sequence, arg, id};
    }
    return id;
}

int tk_recdb_add_call(tk_recdb *r, const tk_recdb_call *c)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    if (c->thread <= 0 || (size_t)c->thread >= r->nthreads)
        return -EINVAL;
    thread_state *t = &r->threads[c->thread];
    int64_t event = c->is_event ? event_of(r, t, c->sequence, c->arg, c->is_all) : 0;
    sqlite3_stmt *s = r->st[ST_CALL];
    sqlite3_bind_int64(s, 1, t->process);
    sqlite3_bind_int64(s, 2, c->thread);
    sqlite3_bind_int64(s, 3, c->sequence);
    sqlite3_bind_int64(s, 4, c->component);
    sqlite3_bind_text(s, 5, c->callback, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)c->arg);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)c->start_ns);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)c->dur_ns);
    sqlite3_bind_int(s, 9, c->status);
    bind_id(s, 10, event);
    rc = row_done(r, s, "writing a component call");
    if (rc || !(c->is_event && c->is_all))
        return rc;
    s = r->st[ST_EVENT];
    sqlite3_bind_int64(s, 1, event);
    sqlite3_bind_int64(s, 2, t->process);
    sqlite3_bind_int64(s, 3, c->thread);
    sqlite3_bind_int64(s, 4, c->sequence);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)c->arg);
    sqlite3_bind_int(s, 6, c->status == 0);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)c->start_ns);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)c->dur_ns);
    return row_done(r, s, "writing an event");
}

/* ---- windows ----------------------------------------------------------------------------------- */

int tk_recdb_add_interval(tk_recdb *r, const char *window, uint64_t start_mono_ns,
                          uint64_t end_mono_ns, uint64_t start_real_ns, double seconds,
                          int64_t *id)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_INTERVAL];
    sqlite3_bind_text(s, 1, window, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)start_mono_ns);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)end_mono_ns);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)start_real_ns);
    sqlite3_bind_double(s, 5, seconds);
    rc = row_done(r, s, "writing an interval");
    *id = sqlite3_last_insert_rowid(r->db);
    return rc;
}

int tk_recdb_counter(tk_recdb *r, int64_t interval, int64_t name, uint64_t ns, uint64_t total,
                     uint64_t delta)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_COUNTER];
    sqlite3_bind_int64(s, 1, interval);
    sqlite3_bind_int64(s, 2, name);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)ns);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)total);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)delta);
    return row_done(r, s, "writing a counter");
}

int tk_recdb_gauge(tk_recdb *r, int64_t interval, int64_t name, uint64_t ns, int64_t value)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_GAUGE];
    sqlite3_bind_int64(s, 1, interval);
    sqlite3_bind_int64(s, 2, name);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)ns);
    sqlite3_bind_double(s, 4, (double)value);
    return row_done(r, s, "writing a gauge");
}

int tk_recdb_resources(tk_recdb *r, int64_t interval, int64_t process, const tk_recdb_res *v)
{
    int rc = row_begin(r);
    if (rc)
        return rc;
    sqlite3_stmt *s = r->st[ST_RESOURCES];
    sqlite3_bind_int64(s, 1, interval);
    sqlite3_bind_int64(s, 2, process);
    sqlite3_bind_double(s, 3, v->seconds);
    sqlite3_bind_double(s, 4, v->cpu_pct);
    sqlite3_bind_double(s, 5, v->user_pct);
    sqlite3_bind_double(s, 6, v->sys_pct);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)v->rss_bytes);
    sqlite3_bind_int64(s, 8, v->threads);
    sqlite3_bind_int64(s, 9, v->cores);
    for (int i = 0; i < 4; i++) {
        uint64_t x = i == 0 ? v->voluntary_cs : i == 1 ? v->involuntary_cs
                   : i == 2 ? v->read_bytes : v->write_bytes;
        if (x == TK_RECDB_NONE)
            sqlite3_bind_null(s, 10 + i);
        else
            sqlite3_bind_int64(s, 10 + i, (sqlite3_int64)x);
    }
    return row_done(r, s, "writing resources");
}

/* The histogram in encoding 1 (agg/hist.h: hist_encode), into *buf grown as needed. Returns its
 * length, 0 when out of memory. */
size_t tk_recdb_hist_encode(const hist *h, uint8_t **buf, size_t *cap)
{
    size_t need = hist_encode(h, NULL, 0);
    if (need > *cap) {
        uint8_t *b = realloc(*buf, need);
        if (!b)
            return 0;
        *buf = b;
        *cap = need;
    }
    return hist_encode(h, *buf, *cap);
}

int tk_recdb_add_stat(tk_recdb *r, int64_t interval, int64_t timer, const char *kind,
                      const hist *h, uint64_t lost)
{
    if (hist_count(h) == 0)
        return r->err;
    int rc = row_begin(r);
    if (rc)
        return rc;
    hist_summary sm;
    hist_summarize(h, &sm);
    size_t len = tk_recdb_hist_encode(h, &r->hbuf, &r->hcap);
    if (!len) {
        snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        return r->err = -ENOMEM;
    }
    sqlite3_stmt *s = r->st[ST_STAT];
    sqlite3_bind_int64(s, 1, interval);
    sqlite3_bind_int64(s, 2, timer);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)sm.count);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)sm.min);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)sm.max);
    sqlite3_bind_double(s, 7, sm.avg);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)sm.p50);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)sm.p90);
    sqlite3_bind_int64(s, 10, (sqlite3_int64)sm.p99);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)sm.p999);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)sm.clamped);
    sqlite3_bind_int64(s, 13, (sqlite3_int64)lost);
    sqlite3_bind_blob(s, 14, r->hbuf, (int)len, SQLITE_STATIC);
    return row_done(r, s, "writing statistics");
}

uint64_t tk_recdb_rows(const tk_recdb *r) { return r->rows; }
uint64_t tk_recdb_rows_committed(const tk_recdb *r) { return r->committed; }

uint64_t tk_recdb_file_bytes(const tk_recdb *r)
{
    struct stat st;
    uint64_t n = 0;
    char side[4200];
    if (stat(r->path, &st) == 0)
        n += (uint64_t)st.st_size;
    snprintf(side, sizeof side, "%s-wal", r->path);
    if (stat(side, &st) == 0)
        n += (uint64_t)st.st_size;
    return n;
}
