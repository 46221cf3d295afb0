/* tk_uv.c — libtimekeeper-uv: libuv callbacks run as timekeeper tasks through trampolines, and the
 * loop's utilisation from uv_metrics_idle_time. Uses only timekeeper.h and uv.h. */
#include "tk_uv.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { K_TIMER = 1, K_READ, K_LISTEN, K_WRITE, K_WORK };

/* The adapter's state of one handle or request. */
typedef struct rec {
    struct rec *next;
    const void *key;
    int kind;
    int armed;                 /* timer: `task` is created and waits for the callback */
    union {
        uv_timer_cb timer;
        uv_read_cb read;
        uv_connection_cb conn;
        uv_write_cb write;
        uv_after_work_cb after;
    } cb;
    uv_work_cb work;
    tk_task_type_t *type, *work_type;
    uint64_t queued;           /* work: tk_now() when queued */
    tk_task_t task;            /* timer (armed), write, work (after-work) */
} rec;

#define NBUCKETS 1024u

typedef struct table {
    rec *b[NBUCKETS];
} table;

static size_t bucket(const void *key)
{
    uintptr_t k = (uintptr_t)key;
    return (size_t)((k >> 4) * 0x9e3779b97f4a7c15ull >> 54) & (NBUCKETS - 1);
}

static rec *table_get(table *t, const void *key)
{
    if (!t)
        return NULL;
    for (rec *r = t->b[bucket(key)]; r; r = r->next)
        if (r->key == key)
            return r;
    return NULL;
}

static rec *table_take(table *t, const void *key)
{
    if (!t)
        return NULL;
    for (rec **p = &t->b[bucket(key)]; *p; p = &(*p)->next)
        if ((*p)->key == key) {
            rec *r = *p;
            *p = r->next;
            return r;
        }
    return NULL;
}

static void table_put(table *t, rec *r)
{
    size_t i = bucket(r->key);
    r->next = t->b[i];
    t->b[i] = r;
}

/* Handles and writes: the loop thread's table. Work requests: one table under a lock (the pool
 * threads look them up). */
static __thread table *tls_table;
static table work_table;
static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;

static table *my_table(void)
{
    if (!tls_table)
        tls_table = calloc(1, sizeof *tls_table);
    return tls_table;
}

/* The record of key in this thread's table, created when absent; NULL when out of memory. */
static rec *rec_for(const void *key, int kind)
{
    table *t = my_table();
    if (!t)
        return NULL;
    rec *r = table_get(t, key);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        r->key = key;
        table_put(t, r);
    }
    if (r->kind != kind && r->armed) { /* the address was reused by a handle of another kind */
        tk_task_cancelled(&r->task);
        r->armed = 0;
    }
    r->kind = kind;
    return r;
}

void tk_uv_forget(const void *handle)
{
    rec *r = table_take(tls_table, handle);
    if (r && r->armed)
        tk_task_cancelled(&r->task);
    free(r);
}

/* Generic types, for twins called with type NULL. */
TK_TASK_TYPE(uv_timer_cb);
TK_TASK_TYPE(uv_read_cb);
TK_TASK_TYPE(uv_connection_cb);
TK_TASK_TYPE(uv_write_cb);
TK_TASK_TYPE(uv_work_cb);
TK_TASK_TYPE(uv_after_work_cb);

/* ---- timers ------------------------------------------------------------------------------------- */

static void arm(rec *r)
{
    if (r->armed)
        tk_task_cancelled(&r->task); /* re-armed before it fired */
    r->armed = tk_task_created(&r->task, r->type) == 0;
}

static void on_timer(uv_timer_t *h)
{
    rec *r = table_get(tls_table, h);
    if (!r)
        return;
    uv_timer_cb cb = r->cb.timer;
    tk_task_t t;
    int armed = r->armed;
    if (armed)
        t = r->task; /* not running yet: its state may move */
    r->armed = 0;
    if (!armed)
        armed = tk_task_created(&t, r->type) == 0;
    if (armed)
        tk_task_running(&t);
    cb(h); /* may stop, restart, close or forget the timer */
    if (armed)
        tk_task_completed(&t);
    r = table_get(tls_table, h);
    if (r && !r->armed && uv_is_active((uv_handle_t *)h) && uv_timer_get_repeat(h))
        arm(r); /* the next period */
}

int tk_uv_timer_start(uv_timer_t *h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat,
                      tk_task_type_t *type)
{
    rec *r = rec_for(h, K_TIMER);
    if (!r)
        return UV_ENOMEM;
    r->cb.timer = cb;
    r->type = type ? type : TK_TASK_TYPE_OF(uv_timer_cb);
    int rc = uv_timer_start(h, on_timer, timeout, repeat);
    if (rc == 0)
        arm(r);
    return rc;
}

int tk_uv_timer_stop(uv_timer_t *h)
{
    rec *r = table_get(tls_table, h);
    if (r && r->armed) {
        tk_task_cancelled(&r->task); /* never ran: stillborn */
        r->armed = 0;
    }
    return uv_timer_stop(h);
}

/* ---- streams ------------------------------------------------------------------------------------ */

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rec *r = table_get(tls_table, s);
    if (!r)
        return;
    tk_task_t t;
    int ok = tk_task_created(&t, r->type) == 0 && tk_task_running(&t) == 0;
    r->cb.read(s, nread, buf);
    if (ok)
        tk_task_completed(&t);
}

int tk_uv_read_start(uv_stream_t *s, uv_alloc_cb alloc, uv_read_cb cb, tk_task_type_t *type)
{
    rec *r = rec_for(s, K_READ);
    if (!r)
        return UV_ENOMEM;
    r->cb.read = cb;
    r->type = type ? type : TK_TASK_TYPE_OF(uv_read_cb);
    return uv_read_start(s, alloc, on_read);
}

static void on_connection(uv_stream_t *s, int status)
{
    rec *r = table_get(tls_table, s);
    if (!r)
        return;
    tk_task_t t;
    int ok = tk_task_created(&t, r->type) == 0 && tk_task_running(&t) == 0;
    r->cb.conn(s, status);
    if (ok)
        tk_task_completed(&t);
}

int tk_uv_listen(uv_stream_t *s, int backlog, uv_connection_cb cb, tk_task_type_t *type)
{
    rec *r = rec_for(s, K_LISTEN);
    if (!r)
        return UV_ENOMEM;
    r->cb.conn = cb;
    r->type = type ? type : TK_TASK_TYPE_OF(uv_connection_cb);
    return uv_listen(s, backlog, on_connection);
}

static void on_write(uv_write_t *req, int status)
{
    rec *r = table_take(tls_table, req);
    if (!r)
        return;
    tk_task_t t = r->task; /* created, not running: may move */
    uv_write_cb cb = r->cb.write;
    int armed = r->armed;
    free(r);
    if (armed)
        tk_task_running(&t);
    if (cb)
        cb(req, status);
    if (armed)
        status < 0 ? tk_task_failed(&t) : tk_task_completed(&t);
}

int tk_uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[], unsigned n,
                uv_write_cb cb, tk_task_type_t *type)
{
    table *tb = my_table();
    rec *r = tb ? calloc(1, sizeof *r) : NULL;
    if (!r)
        return UV_ENOMEM;
    r->key = req;
    r->kind = K_WRITE;
    r->cb.write = cb;
    r->type = type ? type : TK_TASK_TYPE_OF(uv_write_cb);
    r->armed = tk_task_created(&r->task, r->type) == 0; /* a child of the running task */
    table_put(tb, r);
    int rc = uv_write(req, s, bufs, n, on_write);
    if (rc) {
        table_take(tb, req);
        if (r->armed)
            tk_task_cancelled(&r->task);
        free(r);
    }
    return rc;
}

/* ---- the thread pool ---------------------------------------------------------------------------- */

static tk_timer_t *queue_timer;

static void on_work(uv_work_t *req)
{
    pthread_mutex_lock(&work_lock);
    rec *r = table_get(&work_table, req);
    uv_work_cb work = r ? r->work : NULL;
    tk_task_type_t *type = r ? r->work_type : NULL;
    uint64_t queued = r ? r->queued : 0;
    pthread_mutex_unlock(&work_lock);
    if (!work)
        return;
    tk_task_t t;
    int ok = tk_task_created(&t, type) == 0;
    uint64_t start = tk_now();
    tk_record(__atomic_load_n(&queue_timer, __ATOMIC_ACQUIRE), queued, start, 0); /* the wait in the queue */
    if (ok)
        tk_task_running(&t);
    work(req);
    if (ok)
        tk_task_completed(&t);
}

static void on_after_work(uv_work_t *req, int status)
{
    pthread_mutex_lock(&work_lock);
    rec *r = table_take(&work_table, req);
    pthread_mutex_unlock(&work_lock);
    if (!r)
        return;
    tk_task_t t = r->task;
    int armed = r->armed;
    uv_after_work_cb after = r->cb.after;
    free(r);
    if (armed)
        tk_task_running(&t);
    if (after)
        after(req, status);
    if (armed)
        status == UV_ECANCELED ? tk_task_cancelled(&t) : tk_task_completed(&t);
}

int tk_uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after,
                     tk_task_type_t *work_type, tk_task_type_t *after_type)
{
    if (!work)
        return UV_EINVAL;
    if (!__atomic_load_n(&queue_timer, __ATOMIC_ACQUIRE)) /* the same pointer for every caller */
        __atomic_store_n(&queue_timer, tk_timer("uv.work.queue"), __ATOMIC_RELEASE);
    rec *r = calloc(1, sizeof *r);
    if (!r)
        return UV_ENOMEM;
    r->key = req;
    r->kind = K_WORK;
    r->work = work;
    r->cb.after = after;
    r->work_type = work_type ? work_type : TK_TASK_TYPE_OF(uv_work_cb);
    r->type = after_type ? after_type : TK_TASK_TYPE_OF(uv_after_work_cb);
    r->armed = tk_task_created(&r->task, r->type) == 0; /* a child of the running task */
    r->queued = tk_now();
    pthread_mutex_lock(&work_lock);
    table_put(&work_table, r);
    pthread_mutex_unlock(&work_lock);
    int rc = uv_queue_work(loop, req, on_work, on_after_work);
    if (rc) {
        pthread_mutex_lock(&work_lock);
        table_take(&work_table, req);
        pthread_mutex_unlock(&work_lock);
        if (r->armed)
            tk_task_cancelled(&r->task);
        free(r);
    }
    return rc;
}

/* ---- the loop ----------------------------------------------------------------------------------- */

static tk_timer_t *iteration_timer, *idle_timer;

static void on_check(uv_check_t *c)
{
    tk_uv_loop_t *tl = (tk_uv_loop_t *)(void *)((char *)c - offsetof(tk_uv_loop_t, check));
    uint64_t now = tk_now();
    uint64_t idle = uv_metrics_idle_time(tl->loop);
    if (tl->started) {
        double tps = tk_ticks_per_second();
        uint64_t idle_ns = idle - tl->last_idle_ns;
        uint64_t idle_ticks = (uint64_t)((double)idle_ns * tps / 1e9);
        uint64_t total_ns = (uint64_t)((double)(now - tl->last_ticks) * 1e9 / tps);
        if (idle_ns > total_ns)
            idle_ns = total_ns;
        tk_record(__atomic_load_n(&iteration_timer, __ATOMIC_ACQUIRE), tl->last_ticks, now, 0);
        tk_record(__atomic_load_n(&idle_timer, __ATOMIC_ACQUIRE), now - (idle_ticks < now ? idle_ticks : 0), now, 0);
        tl->total_ns += total_ns;
        tl->busy_ns += total_ns - idle_ns;
    }
    tl->started = 1;
    tl->last_ticks = now;
    tl->last_idle_ns = idle;
}

int tk_uv_loop_init(tk_uv_loop_t *tl, uv_loop_t *loop)
{
    memset(tl, 0, sizeof *tl);
    tl->loop = loop;
    if (!__atomic_load_n(&idle_timer, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&iteration_timer, tk_timer("uv.loop.iteration"), __ATOMIC_RELEASE);
        __atomic_store_n(&idle_timer, tk_timer("uv.loop.idle"), __ATOMIC_RELEASE);
    }
    int rc = uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
    if (rc)
        return rc;
    rc = uv_check_init(loop, &tl->check);
    if (rc)
        return rc;
    rc = uv_check_start(&tl->check, on_check);
    uv_unref((uv_handle_t *)&tl->check);
    return rc;
}

void tk_uv_loop_stop(tk_uv_loop_t *tl)
{
    uv_check_stop(&tl->check);
    if (!uv_is_closing((uv_handle_t *)&tl->check))
        uv_close((uv_handle_t *)&tl->check, NULL);
}

int tk_uv_run(tk_uv_loop_t *tl, uv_run_mode mode)
{
    if (tl->running)
        return UV_EBUSY;
    tl->running = 1;
    int rc = uv_run(tl->loop, mode);
    tl->running = 0;
    return rc;
}

double tk_uv_loop_utilisation(tk_uv_loop_t *tl)
{
    if (!tl->total_ns)
        return -1;
    double u = (double)tl->busy_ns / (double)tl->total_ns;
    tl->busy_ns = tl->total_ns = 0;
    return u;
}
