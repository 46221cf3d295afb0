/* test_prom_server.c — the HTTP server of `timekeeper serve` on 127.0.0.1 (a free port), with a
 * thread playing the driver: every request gets a fresh snapshot, the format follows the Accept
 * header, /healthz follows the rule of check, unknown paths and methods are refused, and a driver
 * that does not answer makes a 503, never a hang. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sink/prom/prom.h"

typedef struct driver {
    tkp_server *srv;
    atomic_int stop, snapshots, quiet, mute;
    pthread_t th;
} driver;

static void *driver_main(void *arg)
{
    driver *d = arg;
    while (!atomic_load(&d->stop)) {
        struct pollfd p = {.fd = tkp_server_request_fd(d->srv), .events = POLLIN};
        poll(&p, 1, 5);
        if (atomic_load(&d->mute) || !tkp_server_wanted(d->srv))
            continue;
        tkp_snapshot *s = tkp_server_build(d->srv);
        int n = atomic_fetch_add(&d->snapshots, 1) + 1;
        tkp_proc *pr = tkp_snapshot_add_proc(s, "prog<1>", 4321);
        pr->silence_s = atomic_load(&d->quiet) ? 60 : 0.1;
        tkp_timer *t = tkp_snapshot_add_timer(s, 0, "t.one");
        tkp_hist_add_ns(&t->processing, 1000, (uint64_t)n);
        tkp_server_publish(d->srv);
    }
    return NULL;
}

typedef struct reply {
    int status;
    char *head, *body;
} reply;

static void reply_free(reply *r)
{
    free(r->head);
    memset(r, 0, sizeof *r);
}

static reply http(unsigned port, const char *method, const char *path, const char *accept)
{
    reply r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(0, connect(fd, (struct sockaddr *)&a, sizeof a));
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
                     "Connection: close\r\n\r\n", method, path, accept ? "Accept: " : "",
                     accept ? accept : "", accept ? "\r\n" : "");
    assert_int_equal(n, write(fd, req, (size_t)n));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    close(fd);
    r.head = buf;
    sscanf(buf, "HTTP/1.%*d %d", &r.status);
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep) {
        *sep = 0;
        r.body = sep + 4;
    } else {
        r.body = buf + len;
    }
    return r;
}

static int setup(void **state)
{
    driver *d = calloc(1, sizeof *d);
    tkp_server_options o = {.port = 0, .top_k = 10, .max_silence_s = 5,
                            .watching = "the test's <own> processes",
                            .snapshot_timeout_s = 0.3};
    assert_int_equal(0, tkp_server_start(&o, &d->srv));
    assert_true(tkp_server_port(d->srv) > 0);
    pthread_create(&d->th, NULL, driver_main, d);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    driver *d = *state;
    atomic_store(&d->stop, 1);
    pthread_join(d->th, NULL);
    tkp_server_stop(d->srv);
    free(d);
    return 0;
}

static void every_scrape_gets_a_fresh_snapshot(void **state)
{
    driver *d = *state;
    unsigned port = tkp_server_port(d->srv);
    reply r1 = http(port, "GET", "/metrics", NULL);
    reply r2 = http(port, "GET", "/metrics", NULL);
    assert_int_equal(200, r1.status);
    assert_contains(r1.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8", "type");
    const char *key = "timekeeper_timer_processing_seconds_count{process=\"prog<1>\",pid=\"4321\","
                      "timer=\"t.one\"} ";
    const char *c1 = strstr(r1.body, key), *c2 = strstr(r2.body, key);
    assert_non_null(c1);
    assert_non_null(c2);
    long n1 = strtol(c1 + strlen(key), NULL, 10), n2 = strtol(c2 + strlen(key), NULL, 10);
    assert_u64_equal((uint64_t)n1 + 1, (uint64_t)n2, "the second scrape saw the next snapshot");
    assert_not_contains(r1.body, "# EOF", "0.0.4 has no EOF");
    reply_free(&r1);
    reply_free(&r2);
}

static void openmetrics_when_the_scraper_asks(void **state)
{
    driver *d = *state;
    reply r = http(tkp_server_port(d->srv), "GET", "/metrics",
                   "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
    assert_int_equal(200, r.status);
    assert_contains(r.head, "Content-Type: application/openmetrics-text; version=1.0.0", "type");
    assert_contains(r.body, "# UNIT timekeeper_timer_processing_seconds seconds\n", "unit");
    assert_contains(r.body, "\n# EOF\n", "EOF");
    reply_free(&r);
}

static void healthz_is_503_naming_the_quiet_process(void **state)
{
    driver *d = *state;
    unsigned port = tkp_server_port(d->srv);
    reply r = http(port, "GET", "/healthz", NULL);
    assert_int_equal(200, r.status);
    reply_free(&r);
    atomic_store(&d->quiet, 1);
    r = http(port, "GET", "/healthz", NULL);
    assert_int_equal(503, r.status);
    assert_contains(r.body, "pid 4321 (prog<1>)", "names it");
    reply_free(&r);
    atomic_store(&d->quiet, 0);
}

static void index_page_links_and_escapes(void **state)
{
    driver *d = *state;
    reply r = http(tkp_server_port(d->srv), "GET", "/", NULL);
    assert_int_equal(200, r.status);
    assert_contains(r.head, "text/html", "type");
    assert_contains(r.body, "<a href=\"/metrics\">", "link");
    assert_contains(r.body, "the test's &lt;own&gt; processes", "what is watched, escaped");
    assert_contains(r.body, "prog&lt;1&gt;", "process name escaped");
    reply_free(&r);
}

static void unknown_paths_and_methods_are_refused(void **state)
{
    driver *d = *state;
    unsigned port = tkp_server_port(d->srv);
    reply r = http(port, "GET", "/nope", NULL);
    assert_int_equal(404, r.status);
    reply_free(&r);
    r = http(port, "POST", "/metrics", NULL);
    assert_int_equal(405, r.status);
    reply_free(&r);
}

static void a_driver_that_does_not_answer_makes_a_503(void **state)
{
    driver *d = *state;
    atomic_store(&d->mute, 1);
    reply r = http(tkp_server_port(d->srv), "GET", "/metrics", NULL);
    assert_int_equal(503, r.status);
    reply_free(&r);
    atomic_store(&d->mute, 0);
    r = http(tkp_server_port(d->srv), "GET", "/metrics", NULL);
    assert_int_equal(200, r.status);
    reply_free(&r);
}

static void a_busy_port_is_reported(void **state)
{
    driver *d = *state;
    tkp_server_options o = {.port = tkp_server_port(d->srv)};
    tkp_server *s2 = NULL;
    assert_true(tkp_server_start(&o, &s2) < 0);
    o.host = "not-an-address";
    o.port = 0;
    assert_int_equal(-EINVAL, tkp_server_start(&o, &s2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_scrape_gets_a_fresh_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(openmetrics_when_the_scraper_asks, setup, teardown),
        cmocka_unit_test_setup_teardown(healthz_is_503_naming_the_quiet_process, setup, teardown),
        cmocka_unit_test_setup_teardown(index_page_links_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_paths_and_methods_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_driver_that_does_not_answer_makes_a_503, setup, teardown),
        cmocka_unit_test_setup_teardown(a_busy_port_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
