/* bench_otlp.c — the cost of OTLP export: 1000 timers (processing and latency histograms) encoded
 * as exponential histograms and sent over HTTP to a receiver thread on 127.0.0.1, as `export
 * --live` does every 10 s. Reports the CPU time of one push (encode + send, the receiver's own CPU
 * excluded) and what it is as a share of one core at a 10 s interval.
 *
 *     bench_otlp [--quick]
 */
#include "bench/bench.h"

#include <stdio.h>

#ifndef TK_HAVE_OTLP
int main(void)
{
    printf("bench_otlp: skipped (built without libcurl)\n");
    return 0;
}
#else

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agg/hist.h"
#include "sink/otlp/otlp.h"

#define TIMERS 1000

static int listen_fd;
static _Atomic uint64_t receiver_cpu_ns;

/* A minimal HTTP/1.1 responder: reads each request's headers and body, answers 200. */
static void *receiver(void *arg)
{
    (void)arg;
    static char buf[1 << 16];
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        size_t have = 0;
        for (;;) {
            ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (!end)
                continue;
            const char *cl = strcasestr(buf, "content-length:");
            size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
            size_t head = (size_t)(end + 4 - buf), got = have - head;
            while (got < body) {
                n = read(fd, buf, sizeof buf - 1 < body - got ? sizeof buf - 1 : body - got);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            if (write(fd, ok, sizeof ok - 1) < 0)
                break;
            have = 0;
            receiver_cpu_ns = bench_thread_cpu_ns();
        }
        close(fd);
    }
}

static uint64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv, "q", "[--quick]");
    int rounds = a.quick ? 3 : 10;

    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(listen_fd, 16) ||
        getsockname(listen_fd, (struct sockaddr *)&sa, &sl)) {
        perror("bench_otlp: listen");
        return 1;
    }
    pthread_t rt;
    pthread_create(&rt, NULL, receiver, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));

    /* 1000 timers: processing over ~2 octaves around 2..8 µs, latency ~20..80 µs; 2000 values each */
    static hist *h[TIMERS][2];
    static tk_otlp_timer_in t[TIMERS];
    static char names[TIMERS][32];
    uint64_t seed = 88172645463325252ull;
    for (int i = 0; i < TIMERS; i++) {
        snprintf(names[i], sizeof names[i], "bench.t%04d", i);
        for (int k = 0; k < 2; k++) {
            h[i][k] = hist_new();
            uint64_t base = k ? 20000 : 2000;
            for (int j = 0; j < 2000; j++) {
                seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                hist_record(h[i][k], base + seed % (3 * base));
            }
        }
        t[i] = (tk_otlp_timer_in){.name = names[i], .h = {h[i][0], h[i][1]}};
    }
    tk_otlp_proc_in p = {.name = "bench", .cmdline = "bench_otlp", .pid = getpid(), .key = 1,
                         .timers = t, .ntimers = TIMERS};
    tk_otlp_config c = {.exp = {.endpoint = url}};
    tk_otlp *x;
    if (tk_otlp_new(&c, &x) < 0) {
        fprintf(stderr, "bench_otlp: cannot start the exporter\n");
        return 1;
    }
    double cpu_ms[16], enc_ms[16];
    for (int r = 0; r < rounds; r++) {
        uint64_t rc0 = receiver_cpu_ns, p0 = process_cpu_ns(), e0 = bench_thread_cpu_ns();
        tk_otlp_push_metrics(x, &p, 1, 2);
        uint64_t e1 = bench_thread_cpu_ns();
        tk_otlp_exporter_flush(tk_otlp_exporter_of(x), 10000000000ull);
        bench_sleep_ns(20000000); /* let the receiver note its CPU time */
        uint64_t p1 = process_cpu_ns(), rc1 = receiver_cpu_ns;
        cpu_ms[r] = (double)((p1 - p0) - (rc1 - rc0)) / 1e6;
        enc_ms[r] = (double)(e1 - e0) / 1e6;
    }
    tk_otlp_stats st;
    tk_otlp_exporter_stats(tk_otlp_exporter_of(x), &st);
    bench_stat cpu = bench_stats(cpu_ms, (size_t)rounds), enc = bench_stats(enc_ms, (size_t)rounds);
    printf("otlp_push_1000_timers_cpu: %.2f ms (encode %.2f ms; %llu requests, %.0f kB each)\n",
           cpu.med, enc.med, (unsigned long long)st.sent,
           st.sent ? (double)st.sent_bytes / (double)st.sent / 1e3 : 0.0);
    printf("otlp_export_1000_timers_every_10s: %.3f %% of a core (goal: < 1 %%)\n", cpu.med / 100.0);
    printf("load average: %.2f\n", bench_loadavg());
    tk_otlp_free(x, NULL);
    for (int i = 0; i < TIMERS; i++)
        hist_free(h[i][0]), hist_free(h[i][1]);
    return 0;
}

#endif
