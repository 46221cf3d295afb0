/* http-server.c — an example HTTP/1.1 server (plain sockets, epoll, one thread, 127.0.0.1 only)
 * with three stages a benchmark switches off one at a time: parse (read the request's headers),
 * render (build the response body) and log (format an access-log line). Every request is timed
 * (http.request) and counted (http.requests, http.bytes_out); http.connections is a gauge.
 *
 *     http-server [--port N] [--work N]
 *     timekeeper bench --mode regular --mode no-render:TK_DISABLE_STAGES=render \
 *         --load 'wrk -t2 -c10 -d{duration} http://127.0.0.1:{port}/' -- ./http-server --port {port}
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <timekeeper.h>

#define BUF 8192

typedef struct conn {
    int fd;
    size_t len;
    char in[BUF];
} conn;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static unsigned work = 20000; /* the render stage's cost, in hash rounds */

/* parse: the request line and every header, as a real server would look at them. */
static int parse_request(const char *req, size_t len, int *keep_alive)
{
    const char *end = req + len, *p = memchr(req, '\n', len);
    if (!p || len < 14 || memcmp(req, "GET ", 4) != 0)
        return -1;
    *keep_alive = memmem(req, (size_t)(p - req), "HTTP/1.1", 8) != NULL;
    for (p++; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol || eol - p <= 1)
            break;
        if ((size_t)(eol - p) > 11 && !strncasecmp(p, "connection:", 11))
            *keep_alive = memmem(p, (size_t)(eol - p), "close", 5) == NULL;
        p = eol + 1;
    }
    return 0;
}

/* render: a small JSON body whose content costs `work` rounds to compute. */
static size_t render_body(char *body, size_t cap, uint64_t n)
{
    uint64_t x = n + 1;
    for (unsigned i = 0; i < work; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return (size_t)snprintf(body, cap, "{\"request\":%llu,\"digest\":\"%016llx\"}\n",
                            (unsigned long long)n, (unsigned long long)x);
}

/* log: one access-log line, formatted (and dropped: a real server would write it). */
static char log_line[512];
static void log_request(const char *req, size_t status, size_t bytes)
{
    const char *sp = memchr(req + 4, ' ', 200);
    int plen = sp ? (int)(sp - (req + 4)) : 1;
    snprintf(log_line, sizeof log_line, "127.0.0.1 - - \"GET %.*s\" %zu %zu", plen, req + 4,
             status, bytes);
}

static int handle(conn *c, uint64_t *served, tk_timer_t *t, tk_counter_t *reqs, tk_counter_t *out)
{
    for (;;) {
        char *e = memmem(c->in, c->len, "\r\n\r\n", 4);
        if (!e)
            return 0;
        size_t reqlen = (size_t)(e - c->in) + 4;
        tk_span_t span = tk_start(t);
        int keep = 1;
        if (TK_STAGE_ON("parse") && parse_request(c->in, reqlen, &keep) != 0)
            return -1;
        char body[256], resp[512];
        size_t blen = 3;
        if (TK_STAGE_ON("render"))
            blen = render_body(body, sizeof body, *served);
        else
            memcpy(body, "{}\n", 4);
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n%s\r\n%s",
                         blen, keep ? "" : "Connection: close\r\n", body);
        if (TK_STAGE_ON("log"))
            log_request(c->in, 200, (size_t)n);
        ssize_t w = send(c->fd, resp, (size_t)n, MSG_NOSIGNAL);
        tk_stop(&span);
        if (w != n) /* a response that does not fit the socket buffer: a slow client, dropped */
            return -1;
        (*served)++;
        tk_counter_add(reqs, 1);
        tk_counter_add(out, (uint64_t)n);
        memmove(c->in, c->in + reqlen, c->len - reqlen);
        c->len -= reqlen;
        if (!keep)
            return -1;
    }
}

int main(int argc, char **argv)
{
    int port = 8080;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--work") && i + 1 < argc) {
            work = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: http-server [--port N] [--work ROUNDS]\n"
                            "  serves 127.0.0.1:N (default 8080, 0: any free port); stages parse,\n"
                            "  render, log (TK_DISABLE_STAGES=render,... switches them off)\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 128) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        fprintf(stderr, "http-server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    tk_timer_t *t = tk_timer("http.request");
    tk_counter_t *reqs = tk_counter("http.requests"), *out = tk_counter("http.bytes_out");
    tk_gauge_t *conns = tk_gauge("http.connections");
    tk_thread_name("http");
    fprintf(stderr, "http-server: pid %d listening on 127.0.0.1:%d (stages: parse %s, render %s, log %s)\n",
            (int)getpid(), ntohs(a.sin_port), tk_stage("parse") ? "on" : "off",
            tk_stage("render") ? "on" : "off", tk_stage("log") ? "on" : "off");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    uint64_t served = 0;
    int64_t open_conns = 0;
    while (!stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 200);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) { /* new connections */
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                    tk_gauge_set(conns, ++open_conns);
                }
                continue;
            }
            ssize_t r = recv(c->fd, c->in + c->len, BUF - c->len, 0);
            if (r > 0)
                c->len += (size_t)r;
            if (r == 0 || (r < 0 && errno != EAGAIN) || c->len == BUF ||
                handle(c, &served, t, reqs, out) != 0) {
                close(c->fd); /* also leaves the epoll set */
                free(c);
                tk_gauge_set(conns, --open_conns);
            }
        }
    }
    fprintf(stderr, "http-server: %llu requests served\n", (unsigned long long)served);
    return 0;
}
