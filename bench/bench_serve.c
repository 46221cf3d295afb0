/* bench_serve.c — cost of one /metrics scrape of `timekeeper serve` on hand-made statistics:
 * 1000 timers (processing and latency histograms spread over 100 ns .. 10 ms) and 100 task types
 * in one process. Measures the snapshot the collector's thread takes (a copy of counters at the
 * bounds; and, for comparison, walking every histogram's buckets instead), the
 * formatting (text 0.0.4 and OpenMetrics) and a whole HTTP scrape on loopback through the real
 * server, with a thread playing the driver. Medians of 7 runs.
 *
 *     bench_serve [--quick] [--timers N] [--tasks N]
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "bench/bench.h"
#include "core/events.h"
#include "core/proc.h"
#include "sink/prom/prom.h"

#define RUNS 7

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return v[n / 2];
}

typedef struct data {
    size_t ntimers, ntasks;
    hist **proc_h, **lat_h;
    tkp_hist *proc_b, *lat_b; /* the same at the fixed bounds, as serve's counters hold them */
} data;

/* What serve's driver thread does per scrape: copies counters already at the bounds (walk = 1:
 * walks every histogram instead, the alternative serve does not take). */
static void fill(const data *d, tkp_snapshot *s, int walk)
{
    tkp_snapshot_add_proc(s, "bench", 4242);
    char name[32];
    for (size_t i = 0; i < d->ntimers; i++) {
        snprintf(name, sizeof name, "bench.t%04zu", i);
        tkp_timer *t = tkp_snapshot_add_timer(s, 0, name);
        if (walk) {
            tkp_hist_add(&t->processing, d->proc_h[i]);
            tkp_hist_add(&t->latency, d->lat_h[i]);
        } else {
            t->processing = d->proc_b[i];
            t->latency = d->lat_b[i];
        }
        t->has_latency = 1;
    }
    for (size_t i = 0; i < d->ntasks; i++) {
        snprintf(name, sizeof name, "handler_%03zu", i);
        tkp_task *t = tkp_snapshot_add_task(s, 0, name, "src/server.c", (unsigned)(100 + i));
        t->exec_s = (double)(i + 1) * 0.01;
        t->exec_with_children_s = t->exec_s * 1.5;
        t->completed = 1000 + i;
    }
}

/* ns per span through serve's counting consumer (1000 timers, spans spread over them), with a
 * process laid out by hand (names and kinds only). */
static double counting_ns_per_span(void)
{
    enum { TIMERS = 1000, BATCH = 4096, ROUNDS = 256 };
    static char names[TIMERS][56];
    static uint8_t kinds[TIMERS];
    for (int i = 0; i < TIMERS; i++) {
        snprintf(names[i], sizeof names[i], "bench.t%04d", i);
        kinds[i] = TKS_NAME_TIMER;
    }
    cproc p;
    memset(&p, 0, sizeof p);
    p.pub.name = "bench";
    p.pub.names_known = TIMERS;
    p.names = names;
    p.kinds = kinds;
    tkp_counts *c = tkp_counts_new();
    const tkc_consumer *k = tkp_counts_consumer(c);
    k->proc_appeared(k->ctx, &p.pub);
    k->names(k->ctx, &p.pub, 0, TIMERS);
    static tkc_span s[BATCH];
    uint64_t x = 2463534242u;
    for (int i = 0; i < BATCH; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        s[i].name = (uint32_t)(x % TIMERS);
        s[i].dur_ns = 100 + x % 5000000;
        s[i].lat_ns = 1000 + (x >> 20) % 50000000;
    }
    uint64_t t0 = bench_thread_cpu_ns();
    for (int r = 0; r < ROUNDS; r++)
        k->spans(k->ctx, &p.pub, s, BATCH);
    uint64_t t = bench_thread_cpu_ns() - t0;
    tkp_counts_free(c);
    return (double)t / ((double)BATCH * ROUNDS);
}

#ifdef TK_HAVE_MICROHTTPD
typedef struct driver {
    tkp_server *srv;
    const data *d;
    atomic_int stop;
} driver;

static void *driver_main(void *arg)
{
    driver *dr = arg;
    while (!atomic_load(&dr->stop)) {
        struct pollfd p = {.fd = tkp_server_request_fd(dr->srv), .events = POLLIN};
        poll(&p, 1, 10);
        if (tkp_server_wanted(dr->srv)) {
            tkp_snapshot *s = tkp_server_build(dr->srv);
            fill(dr->d, s, 0);
            tkp_server_publish(dr->srv);
        }
    }
    return NULL;
}

/* GET path on 127.0.0.1:port; returns the bytes received, 0 on failure. */
static size_t http_get(unsigned port, const char *path, const char *accept)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: %s\r\n"
                     "Connection: close\r\n\r\n", path, accept);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return 0;
    }
    static char buf[1 << 16];
    size_t total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)r;
    close(fd);
    return total;
}

#endif

int main(int argc, char **argv)
{
    data d = {.ntimers = 1000, .ntasks = 100};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            continue;
        else if (!strcmp(argv[i], "--timers") && i + 1 < argc)
            d.ntimers = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            d.ntasks = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_serve [--quick] [--timers N] [--tasks N]\n");
            return 1;
        }
    }
    d.proc_h = calloc(d.ntimers, sizeof *d.proc_h);
    d.lat_h = calloc(d.ntimers, sizeof *d.lat_h);
    d.proc_b = calloc(d.ntimers, sizeof *d.proc_b);
    d.lat_b = calloc(d.ntimers, sizeof *d.lat_b);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < d.ntimers; i++) {
        d.proc_h[i] = hist_new();
        d.lat_h[i] = hist_new();
        for (int k = 0; k < 2000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* log-uniform over 100 ns .. 10 ms: about 17 octaves, the worst case for iteration */
            double e = (double)(x % 10000) / 10000.0 * 16.6;
            uint64_t pv = (uint64_t)(100.0 * pow(2.0, e)), lv = (uint64_t)(1000.0 * pow(2.0, e * 0.8));
            hist_record(d.proc_h[i], pv);
            hist_record(d.lat_h[i], lv);
            tkp_hist_add_ns(&d.proc_b[i], pv, 1);
            tkp_hist_add_ns(&d.lat_b[i], lv, 1);
        }
    }
    uint64_t snap[RUNS], walk[RUNS], text[RUNS], om[RUNS];
    size_t bytes = 0;
    for (int r = 0; r < RUNS; r++) {
        tkp_snapshot s = {0};
        uint64_t tw = bench_mono_ns();
        fill(&d, &s, 1);
        walk[r] = bench_mono_ns() - tw;
        tkp_snapshot_reset(&s);
        uint64_t t0 = bench_mono_ns();
        fill(&d, &s, 0);
        uint64_t t1 = bench_mono_ns();
        tkp_buf b = {0};
        tkp_write(&b, &s, TKP_TEXT, 10);
        uint64_t t2 = bench_mono_ns();
        bytes = b.len;
        tkp_buf_free(&b);
        tkp_write(&b, &s, TKP_OPENMETRICS, 10);
        uint64_t t3 = bench_mono_ns();
        tkp_buf_free(&b);
        tkp_snapshot_clear(&s);
        snap[r] = t1 - t0, text[r] = t2 - t1, om[r] = t3 - t2;
    }
    size_t got = 1;
    uint64_t scrape[RUNS] = {0};
#ifdef TK_HAVE_MICROHTTPD
    tkp_server_options so = {.port = 0, .top_k = 10, .max_silence_s = 5};
    tkp_server *srv;
    if (tkp_server_start(&so, &srv) != 0) {
        fprintf(stderr, "bench_serve: can't start the server\n");
        return 1;
    }
    driver dr = {srv, &d, 0};
    pthread_t th;
    pthread_create(&th, NULL, driver_main, &dr);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_mono_ns();
        got = http_get(tkp_server_port(srv), "/metrics", "text/plain");
        scrape[r] = bench_mono_ns() - t0;
    }
    atomic_store(&dr.stop, 1);
    pthread_join(th, NULL);
    tkp_server_stop(srv);
#endif
    printf("serve exposition: %zu timers, %zu task types, %zu bytes of text\n", d.ntimers,
           d.ntasks, bytes);
    printf("serve_counting: %.1f ns per span with latency (serve's consumer, 1000 timers)\n",
           counting_ns_per_span());
    printf("serve_snapshot: %.2f ms (the collector thread's part of a scrape)\n",
           (double)median(snap, RUNS) / 1e6);
    printf("serve_snapshot_walking_histograms: %.2f ms (the alternative not taken)\n",
           (double)median(walk, RUNS) / 1e6);
    printf("serve_format_text: %.2f ms\n", (double)median(text, RUNS) / 1e6);
    printf("serve_format_openmetrics: %.2f ms\n", (double)median(om, RUNS) / 1e6);
    printf("serve_scrape: %.2f ms over HTTP, %zu bytes (goal: < 50 ms)\n",
           (double)median(scrape, RUNS) / 1e6, got);
    for (size_t i = 0; i < d.ntimers; i++) {
        hist_free(d.proc_h[i]);
        hist_free(d.lat_h[i]);
    }
    free(d.proc_h);
    free(d.proc_b);
    free(d.lat_b);
    free(d.lat_h);
    return got ? 0 : 1;
}
