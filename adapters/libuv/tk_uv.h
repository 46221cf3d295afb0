/* tk_uv.h — libtimekeeper-uv: profiles a libuv loop's callbacks as timekeeper tasks.
 *
 * Replace a libuv call by its tk_uv_ twin (same arguments, plus a task type) and every callback it
 * leads to is profiled as a task of that type, with no timing code in the callback:
 *
 *     tk_uv_loop_t tl;
 *     tk_uv_loop_init(&tl, loop);                          // loop utilisation, nested-run guard
 *     TK_UV_TIMER_START(&timer, on_tick, 100, 100);         // each firing: one task "on_tick"
 *     TK_UV_READ_START(stream, on_alloc, on_read);          // each read callback: one task
 *     TK_UV_QUEUE_WORK(loop, &req, do_work, after_work);    // queue wait, run, after-work
 *     tk_uv_run(&tl, UV_RUN_DEFAULT);
 *
 * What each task is (its wall time says what it waited for):
 *   timer        created when armed (or re-armed by its repeat), runs as the callback runs.
 *   read, listen created and run as the callback runs (wall = exec).
 *   write        created at tk_uv_write (a child of the task running then), runs as its callback.
 *   work         the after-work task: created at tk_uv_queue_work (a child of the running task),
 *                runs as after_work runs, so its wall covers queue wait + run + return to the loop.
 *                The run itself is a task of the work type on the pool thread, and the queue wait a
 *                span of the timer "uv.work.queue" (start: queued, stop: run starts).
 * Loop utilisation: at each iteration the spans "uv.loop.iteration" (from the previous iteration's
 * end) and "uv.loop.idle" (the time libuv spent idle in poll, from uv_metrics_idle_time) are
 * recorded; utilisation = 1 - idle / iteration; tk_uv_loop_utilisation() gives it in process.
 *
 * Threads: a loop and the handles on it are used from one thread, as libuv requires; any number of
 * loops on any number of threads. Handles need no change; the adapter keeps its per-handle state in
 * a table of the loop's thread (allocated when a handle is started, freed at tk_uv_forget or when
 * a request completes). Each callback costs a table look-up and a task's three calls (~50 ns). */
#ifndef TK_UV_H
#define TK_UV_H

#include <timekeeper.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A task type named after callback `fn` at this line (a static, registered on first use). */
#define TK_UV_TYPE(fn)                                                                        \
    (__extension__({                                                                          \
        static tk_task_type_t tk__uv_type_ = {#fn, __FILE__, __LINE__, 0, 0, 0};             \
        &tk__uv_type_;                                                                        \
    }))

typedef struct tk_uv_loop {
    uv_loop_t *loop;          /* public, read-only */
    /* private */
    uv_check_t check;
    uint64_t last_ticks;      /* the previous iteration's end */
    uint64_t last_idle_ns;
    uint64_t busy_ns, total_ns; /* since the last tk_uv_loop_utilisation() */
    int running;              /* inside tk_uv_run */
    int started;
} tk_uv_loop_t;

/* Turns on libuv's idle-time metrics for loop (uv_loop_configure UV_METRICS_IDLE_TIME: call before
 * the loop first runs) and starts an unreferenced check handle that records the loop spans.
 * Returns 0 or a libuv error code (negative). Loop thread only. */
int tk_uv_loop_init(tk_uv_loop_t *tl, uv_loop_t *loop);
/* Stops the check handle (close the loop's handles afterwards as usual). */
void tk_uv_loop_stop(tk_uv_loop_t *tl);
/* uv_run(), refusing a nested run of the same loop from one of its callbacks with UV_EBUSY (libuv
 * does not support it); a nested run of another loop inside a callback is supported (its tasks
 * nest in the running one). */
int tk_uv_run(tk_uv_loop_t *tl, uv_run_mode mode);
/* The share of time the loop was busy (not idle in poll) since the previous call, in [0, 1]; -1
 * before a whole iteration was seen. */
double tk_uv_loop_utilisation(tk_uv_loop_t *tl);

/* The twins. type NULL: a generic type per kind ("uv_timer_cb", ...). Each returns what the libuv
 * call returns, or UV_ENOMEM when the adapter's state can't be allocated (nothing started). */
int tk_uv_timer_start(uv_timer_t *h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat,
                      tk_task_type_t *type);
int tk_uv_timer_stop(uv_timer_t *h);
int tk_uv_read_start(uv_stream_t *s, uv_alloc_cb alloc, uv_read_cb cb, tk_task_type_t *type);
int tk_uv_listen(uv_stream_t *s, int backlog, uv_connection_cb cb, tk_task_type_t *type);
int tk_uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[], unsigned n,
                uv_write_cb cb, tk_task_type_t *type);
int tk_uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after,
                     tk_task_type_t *work_type, tk_task_type_t *after_type);
/* Drops the adapter's state of a handle (call before freeing a handle that was started through a
 * twin, e.g. in its close callback). Can't fail. */
void tk_uv_forget(const void *handle);

#define TK_UV_TIMER_START(h, cb, timeout, repeat) tk_uv_timer_start(h, cb, timeout, repeat, TK_UV_TYPE(cb))
#define TK_UV_READ_START(s, alloc, cb) tk_uv_read_start(s, alloc, cb, TK_UV_TYPE(cb))
#define TK_UV_LISTEN(s, backlog, cb) tk_uv_listen(s, backlog, cb, TK_UV_TYPE(cb))
#define TK_UV_WRITE(req, s, bufs, n, cb) tk_uv_write(req, s, bufs, n, cb, TK_UV_TYPE(cb))
#define TK_UV_QUEUE_WORK(loop, req, work, after) \
    tk_uv_queue_work(loop, req, work, after, TK_UV_TYPE(work), TK_UV_TYPE(after))

#ifdef __cplusplus
}
#endif
#endif
