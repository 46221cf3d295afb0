/* prom-serve.c — the HTTP side of `timekeeper serve` on libmicrohttpd: /metrics, /healthz and an
 * index page, answered on libmicrohttpd's own thread from snapshots the driver's thread hands over
 * (see the threading note in prom.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sink/prom/prom.h"

struct tkp_server {
    struct MHD_Daemon *mhd;
    tkp_server_options o;
    char *watching;
    unsigned port;
    int efd;                 /* eventfd: a request waits for a snapshot */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* published_gen moved */
    uint64_t requested_gen;  /* the newest generation a request asked for (under mu) */
    uint64_t published_gen;  /* the generation in `published` (under mu) */
    uint64_t building_gen;   /* what the driver is building (driver thread only) */
    tkp_snapshot build;      /* driver thread only */
    tkp_snapshot published;  /* under mu */
    tkp_snapshot reading;    /* HTTP thread only */
    atomic_uint_fast64_t requests;
};

/* ---- the driver's side ------------------------------------------------------------------------- */
int tkp_server_request_fd(const tkp_server *s) { return s->efd; }

int tkp_server_wanted(tkp_server *s)
{
    uint64_t v;
    while (read(s->efd, &v, sizeof v) == (ssize_t)sizeof v)
        ;
    pthread_mutex_lock(&s->mu);
    int wanted = s->requested_gen > s->published_gen;
    s->building_gen = s->requested_gen;
    pthread_mutex_unlock(&s->mu);
    return wanted;
}

tkp_snapshot *tkp_server_build(tkp_server *s)
{
    tkp_snapshot_reset(&s->build);
    return &s->build;
}

void tkp_server_publish(tkp_server *s)
{
    pthread_mutex_lock(&s->mu);
    tkp_snapshot t = s->published;
    s->published = s->build;
    s->build = t;
    s->published_gen = s->building_gen;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

uint64_t tkp_server_requests(tkp_server *s) { return atomic_load(&s->requests); }

/* ---- the HTTP thread --------------------------------------------------------------------------- */
/* Asks the driver for a fresh snapshot and waits for it; on success s->reading holds it. Returns
 * 0, or -ETIMEDOUT when the driver did not answer in time. */
static int fresh_snapshot(tkp_server *s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double t = s->o.snapshot_timeout_s > 0 ? s->o.snapshot_timeout_s : 2.0;
    until.tv_sec += (time_t)t;
    until.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t want = ++s->requested_gen;
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof one) < 0) {
        /* the counter is full: the driver has a wake-up pending anyway */
    }
    int rc = 0;
    while (s->published_gen < want && rc == 0)
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
    if (s->published_gen >= want) {
        tkp_snapshot tmp = s->reading;
        s->reading = s->published;
        s->published = tmp; /* published_gen stays: the next request asks for a newer one */
        rc = 0;
    } else {
        rc = -ETIMEDOUT;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *type,
                               char *body, size_t len, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result respond_buf(struct MHD_Connection *c, unsigned code, const char *type,
                                   tkp_buf *b)
{
    if (b->oom || !b->p) {
        tkp_buf_free(b);
        static char oom[] = "out of memory\n";
        return respond(c, 500, "text/plain; charset=utf-8", oom, sizeof oom - 1, 0);
    }
    size_t len = b->len;
    char *p = b->p;
    b->p = NULL;
    return respond(c, code, type, p, len, 1);
}

/* Appends n bytes of s to b. */
static void raw_n(tkp_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 2048;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void raw(tkp_buf *b, const char *s) { raw_n(b, s, strlen(s)); }

/* Appends s as HTML text (<, >, &, " escaped). */
static void html_text(tkp_buf *b, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
                      : *s == '"' ? "&quot;" : NULL;
        if (e)
            raw(b, e);
        else
            raw_n(b, s, 1);
    }
}

/* The index page: what is watched, links, the processes. */
static void index_page(tkp_server *s, tkp_buf *b, const tkp_snapshot *snap)
{
    raw(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>timekeeper serve</title>"
           "</head>\n<body>\n<h1>timekeeper serve</h1>\n<p>Watching: ");
    html_text(b, s->watching ? s->watching : "every instrumented process");
    raw(b, "</p>\n<ul>\n<li><a href=\"/metrics\">/metrics</a> (Prometheus text 0.0.4; OpenMetrics"
           " 1.0 on Accept: application/openmetrics-text)</li>\n<li><a href=\"/healthz\">/healthz"
           "</a> (200 when every live process recorded recently, else 503)</li>\n</ul>\n");
    char line[160];
    snprintf(line, sizeof line, "<p>%zu processes, %zu timers.</p>\n<table>\n"
             "<tr><th>pid</th><th>process</th><th>state</th><th>timers</th></tr>\n",
             snap->nprocs, snap->ntimers);
    raw(b, line);
    for (size_t i = 0; i < snap->nprocs; i++) {
        const tkp_proc *p = &snap->procs[i];
        size_t nt = 0;
        for (size_t j = 0; j < snap->ntimers; j++)
            nt += snap->timers[j].proc == i;
        snprintf(line, sizeof line, "<tr><td>%d</td><td>", p->pid);
        raw(b, line);
        html_text(b, p->name);
        snprintf(line, sizeof line, "</td><td>%s</td><td>%zu</td></tr>\n",
                 p->up ? "live" : "exited", nt);
        raw(b, line);
    }
    raw(b, "</table>\n</body></html>\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    tkp_server *s = cls;
    atomic_fetch_add(&s->requests, 1);
    static char bad_method[] = "only GET and HEAD\n", not_found[] = "not found\n",
                busy[] = "the collector did not answer in time\n";
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return respond(c, 405, "text/plain; charset=utf-8", bad_method, sizeof bad_method - 1, 0);
    int metrics = !strcmp(url, "/metrics"), health = !strcmp(url, "/healthz"),
        root = !strcmp(url, "/");
    if (!metrics && !health && !root)
        return respond(c, 404, "text/plain; charset=utf-8", not_found, sizeof not_found - 1, 0);
    if (fresh_snapshot(s) != 0)
        return respond(c, 503, "text/plain; charset=utf-8", busy, sizeof busy - 1, 0);
    tkp_buf b = {0};
    if (metrics) {
        tkp_format f = tkp_negotiate(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"));
        tkp_write(&b, &s->reading, f, s->o.top_k);
        return respond_buf(c, 200, tkp_content_type(f), &b);
    }
    if (health) {
        tkp_buf why = {0};
        int ok = tkp_healthy(&s->reading, s->o.max_silence_s, s->o.allow_none, &why);
        if (ok) {
            tkp_buf_free(&why);
            static char fine[] = "ok\n";
            return respond(c, 200, "text/plain; charset=utf-8", fine, sizeof fine - 1, 0);
        }
        return respond_buf(c, 503, "text/plain; charset=utf-8", &why);
    }
    index_page(s, &b, &s->reading);
    return respond_buf(c, 200, "text/html; charset=utf-8", &b);
}

/* ---- start and stop ---------------------------------------------------------------------------- */
int tkp_server_start(const tkp_server_options *o, tkp_server **out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *host = o->host ? o->host : "127.0.0.1";
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (o->port > 65535)
        return -EINVAL;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        return -EINVAL;
    }
    tkp_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->o = *o;
    s->watching = o->watching ? strdup(o->watching) : NULL;
    s->o.watching = NULL;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->requests, 0);
    if (s->efd < 0) {
        int e = -errno;
        tkp_server_stop(s);
        return e;
    }
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!s->mhd) {
        int e = errno ? -errno : -EADDRINUSE;
        tkp_server_stop(s);
        return e;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return 0;
}

void tkp_server_stop(tkp_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->efd >= 0)
        close(s->efd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    tkp_snapshot_clear(&s->build);
    tkp_snapshot_clear(&s->published);
    tkp_snapshot_clear(&s->reading);
    free(s->watching);
    free(s);
}

unsigned tkp_server_port(const tkp_server *s) { return s->port; }
