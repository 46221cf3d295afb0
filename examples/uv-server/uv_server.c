/* uv_server.c — a small libuv TCP server profiled with libtimekeeper-uv: each request line "N"
 * is a task `handle_request` that spawns two children, a computation on the thread pool and a
 * short timer standing for a downstream call, and answers "N RESULT" when both are done.
 *
 *     uv-server [--port P]          serve on 127.0.0.1:P (0: any free port, printed)
 *     uv-server --selftest N        serve, send N requests from a client thread, check the
 *                                   loop's task snapshot, print it and exit (0: as expected)
 *
 * Watch it live with `timekeeper report` (timers uv.*) and in process with tk_task_snapshot. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tk_uv.h>

TK_TASK_TYPE(handle_request);

static uv_loop_t *loop;
static tk_uv_loop_t tl;
static uv_tcp_t server;
static uv_async_t stopper;
static int nested_run_refused; /* selftest: a nested run of the loop was refused with UV_EBUSY */

typedef struct request {
    tk_task_t task;           /* handle_request */
    uv_work_t work;
    uv_timer_t delay;
    uv_write_t write;
    uv_stream_t *client;
    unsigned n;
    uint64_t result;
    int pending;              /* children still running */
    int closing;              /* parts still to be released: timer, write */
    char reply[64];
} request;

static void request_release(request *r)
{
    if (--r->closing == 0)
        free(r);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    request_release(w->data);
}

static void on_delay_closed(uv_handle_t *h)
{
    tk_uv_forget(h);
    request_release(h->data);
}

/* The last child to finish resumes the request and answers. */
static void child_done(request *r)
{
    if (--r->pending)
        return;
    tk_task_running(&r->task);
    int len = snprintf(r->reply, sizeof r->reply, "%u %llu\n", r->n, (unsigned long long)r->result);
    uv_buf_t b = uv_buf_init(r->reply, (unsigned)len);
    r->write.data = r;
    if (TK_UV_WRITE(&r->write, r->client, &b, 1, on_written) != 0)
        request_release(r);
    tk_task_completed(&r->task);
}

/* Thread pool: a small computation proportional to N. */
static void compute(uv_work_t *w)
{
    request *r = w->data;
    uint64_t x = r->n;
    for (unsigned i = 0; i < 2000u * (r->n % 7 + 1); i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    r->result = x >> 40;
}

static void after_compute(uv_work_t *w, int status)
{
    (void)status;
    child_done(w->data);
}

static void on_delay(uv_timer_t *t)
{
    request *r = t->data;
    if (tk_uv_run(&tl, UV_RUN_NOWAIT) == UV_EBUSY)
        nested_run_refused = 1;
    uv_close((uv_handle_t *)t, on_delay_closed);
    child_done(r);
}

static void start_request(uv_stream_t *client, unsigned n)
{
    request *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->client = client;
    r->n = n;
    r->pending = 2;
    r->closing = 2;
    tk_task_created(&r->task, TK_TASK_TYPE_OF(handle_request)); /* a child of the read callback */
    tk_task_running(&r->task);
    r->work.data = r;
    r->delay.data = r;
    uv_timer_init(loop, &r->delay);
    if (TK_UV_QUEUE_WORK(loop, &r->work, compute, after_compute) != 0)
        r->pending--;
    TK_UV_TIMER_START(&r->delay, on_delay, 1, 0);
    tk_task_paused(&r->task); /* awaits its children */
}

typedef struct conn {
    uv_tcp_t tcp;
    char buf[4096];
    size_t len;
} conn;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    conn *c = (conn *)h;
    b->base = c->buf + c->len;
    b->len = sizeof c->buf - c->len;
}

static void on_conn_closed(uv_handle_t *h)
{
    tk_uv_forget(h);
    free(h);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    conn *c = (conn *)s;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, on_conn_closed);
        return;
    }
    c->len += (size_t)nread;
    char *start = c->buf, *nl;
    while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf))) != NULL) {
        *nl = '\0';
        start_request(s, (unsigned)strtoul(start, NULL, 10));
        start = nl + 1;
    }
    c->len -= (size_t)(start - c->buf);
    memmove(c->buf, start, c->len);
    if (c->len == sizeof c->buf)
        c->len = 0; /* a line too long: dropped */
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0)
        TK_UV_READ_START((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_static_closed(uv_handle_t *h) { tk_uv_forget(h); }

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    int is_conn = h->type == UV_TCP && h != (uv_handle_t *)&server;
    uv_close(h, is_conn ? on_conn_closed : on_static_closed);
}

static void on_stop(uv_async_t *a)
{
    (void)a;
    tk_uv_loop_stop(&tl);
    uv_walk(loop, close_all, NULL);
}

/* ---- selftest client -------------------------------------------------------------------------- */

static int port_of_server(void)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

typedef struct client_args {
    int port, n, ok;
} client_args;

static void *client_main(void *arg)
{
    client_args *ca = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ca->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto out;
    FILE *in = fdopen(dup(fd), "r");
    char line[128];
    for (int i = 0; in && i < ca->n; i++) {
        char req[32];
        int len = snprintf(req, sizeof req, "%d\n", i);
        if (write(fd, req, (size_t)len) != len || !fgets(line, sizeof line, in))
            break;
        if ((unsigned)atoi(line) == (unsigned)i)
            ca->ok++;
    }
    if (in)
        fclose(in);
out:
    if (fd >= 0)
        close(fd);
    uv_async_send(&stopper);
    return NULL;
}

static const tk_task_stats *find(const tk_task_stats *s, size_t n, const char *func)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].type->func, func) == 0)
            return &s[i];
    return NULL;
}

static int selftest_check(int n, int ok)
{
    tk_task_stats s[32];
    size_t count;
    if (tk_task_snapshot(s, 32, &count) != 0) {
        fprintf(stderr, "uv-server: no snapshot (recording disabled?)\n");
        return 1;
    }
    printf("%-16s %8s %8s %12s %12s %12s %12s\n", "task type", "calls", "in-fl", "exec us",
           "w/children us", "wall us", "max slice us");
    for (size_t i = 0; i < count && i < 32; i++)
        printf("%-16s %8llu %8llu %12.1f %12.1f %12.1f %12.1f\n", s[i].type->func,
               (unsigned long long)(s[i].completed + s[i].failed + s[i].cancelled),
               (unsigned long long)s[i].in_flight, s[i].exec_ns / 1e3,
               s[i].exec_with_children_ns / 1e3, s[i].wall_ns / 1e3, s[i].max_slice_ns / 1e3);
    const tk_task_stats *h = find(s, count, "handle_request"), *a = find(s, count, "after_compute"),
                        *d = find(s, count, "on_delay"), *rd = find(s, count, "on_read");
    int bad = 0;
#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "uv-server selftest: failed: %s\n", #cond);      \
            bad = 1;                                                        \
        }                                                                   \
    } while (0)
    CHECK(ok == n);
    CHECK(h && h->completed == (uint64_t)n && h->in_flight == 0);
    CHECK(a && a->completed == (uint64_t)n);
    CHECK(d && d->completed == (uint64_t)n);
    CHECK(rd && rd->completed >= 1);
    CHECK(h && h->exec_with_children_ns > h->exec_ns); /* its children ran */
    CHECK(h && h->slices >= 2u * (uint64_t)n);        /* started, resumed */
    CHECK(nested_run_refused);
    double u = tk_uv_loop_utilisation(&tl);
    printf("loop utilisation: %.3f\n", u);
    CHECK(u >= 0 && u <= 1);
    return bad;
}

int main(int argc, char **argv)
{
    int port = 0, selftest = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--selftest") == 0 && i + 1 < argc)
            selftest = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: uv-server [--port P] [--selftest N]\n");
            return 2;
        }
    }
    loop = uv_default_loop();
    if (tk_uv_loop_init(&tl, loop) != 0)
        return 1;
    uv_async_init(loop, &stopper, on_stop);
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = TK_UV_LISTEN((uv_stream_t *)&server, 64, on_connection);
    if (rc) {
        fprintf(stderr, "uv-server: listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        return 1;
    }
    printf("uv-server: listening on 127.0.0.1:%d\n", port_of_server());
    fflush(stdout);
    pthread_t th;
    client_args ca = {port_of_server(), selftest, 0};
    if (selftest && pthread_create(&th, NULL, client_main, &ca) != 0)
        return 1;
    tk_uv_run(&tl, UV_RUN_DEFAULT);
    int status = 0;
    if (selftest) {
        pthread_join(th, NULL);
        status = selftest_check(selftest, ca.ok);
    }
    uv_loop_close(loop);
    return status;
}
