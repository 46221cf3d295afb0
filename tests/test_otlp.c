/* test_otlp.c — OTLP export: exponential buckets from our histograms, the protobuf and JSON
 * encodings decoded by protoc (and the OpenTelemetry JavaScript decoder when installed), and
 * delivery against a real receiver on 127.0.0.1: retries, rejections, queue overflow. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agg/hist.h"
#include "sink/otlp/otlp.h"

extern char **environ;

static const char *src_dir(void)
{
    const char *s = getenv("TK_SOURCE_DIR");
    return s ? s : ".";
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/tk-otlp-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Runs cmd and returns its whole stdout (malloc'd). */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    int st = pclose(p);
    if (st != 0)
        fail_msg("'%s' failed (status %d):\n%s", cmd, st, out);
    return out;
}

/* ---- a receiver --------------------------------------------------------------------------------- */

typedef struct receiver {
    char *dir;
    pid_t pid;
    int port;
} receiver;

static void receiver_start(receiver *r, const char *script)
{
    r->dir = mkdir_tmp();
    char path[512], port_file[600];
    snprintf(path, sizeof path, "%s/tests/otlp_receiver.py", src_dir());
    char *argv[] = {"/usr/bin/python3", path, r->dir, (char *)script, NULL};
    assert_int_equal(posix_spawn(&r->pid, argv[0], NULL, NULL, argv, environ), 0);
    snprintf(port_file, sizeof port_file, "%s/port", r->dir);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            assert_int_equal(fscanf(f, "%d", &r->port), 1);
            fclose(f);
            return;
        }
        sleep_ms(10);
    }
    fail_msg("the receiver did not start");
}

static void receiver_stop(receiver *r)
{
    kill(r->pid, SIGTERM);
    waitpid(r->pid, NULL, 0);
    rm_rf(r->dir);
    free(r->dir);
}

/* Lines in the receiver's log (requests answered). */
static int receiver_requests(const receiver *r)
{
    char path[600];
    snprintf(path, sizeof path, "%s/log", r->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void endpoint_of(const receiver *r, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d", r->port);
}

/* ---- hand-made input ---------------------------------------------------------------------------- */

static hist *hist_of(uint64_t lo, uint64_t step, unsigned n, int with_zero)
{
    hist *h = hist_new();
    assert_non_null(h);
    for (unsigned i = 0; i < n; i++)
        hist_record(h, lo + step * i + (i * 7919u) % 997u);
    if (with_zero)
        hist_record_n(h, 0, 5);
    return h;
}

typedef struct sum_ctx {
    uint64_t count;
} sum_ctx;

/* ---- exponential buckets ------------------------------------------------------------------------ */

static void test_expo_index_puts_powers_of_two_at_upper_bounds(void **state)
{
    (void)state;
    for (int scale = -2; scale <= 8; scale++) {
        for (int e = 0; e < 40; e++) {
            double v = ldexp(1, e);
            int32_t i = tk_otlp_expo_index(v, scale);
            double base = pow(2, pow(2, -scale));
            /* bucket i is (base^i, base^(i+1)] */
            assert_true(pow(base, i) < v * (1 + 1e-12));
            assert_true(pow(base, i + 1) >= v * (1 - 1e-12));
            if (scale >= 0)
                assert_int_equal(i, (e << scale) - 1);
        }
        for (double v = 1.5; v < 1e12; v *= 3.7) {
            int32_t i = tk_otlp_expo_index(v, scale);
            double base = pow(2, pow(2, -scale));
            assert_true(pow(base, i) < v && pow(base, i + 1) >= v * (1 - 1e-12));
        }
    }
}

static void test_expo_keeps_every_count_within_the_bucket_budget(void **state)
{
    (void)state;
    struct {
        uint64_t lo, step;
        unsigned n;
        int zero;
    } cases[] = {{1, 1, 3000, 1}, {50000, 31, 20000, 0}, {100, 100000, 5000, 0}, {7, 0, 10, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hist *h = hist_of(cases[c].lo, cases[c].step, cases[c].n, cases[c].zero);
        tk_otlp_expo e;
        assert_int_equal(tk_otlp_expo_from_hist(h, TK_OTLP_MAX_SCALE, 0, &e), 0);
        uint64_t sum = e.zero_count;
        for (size_t i = 0; i < e.n; i++)
            sum += e.counts[i];
        assert_u64_equal(hist_count(h), e.count, "case %zu: count", c);
        assert_u64_equal(hist_count(h), sum, "case %zu: zero + buckets", c);
        assert_u64_equal(cases[c].zero ? 5 : 0, e.zero_count, "case %zu: zeros", c);
        assert_u64_at_most(TK_OTLP_MAX_BUCKETS, e.n, "case %zu: buckets", c);
        assert_true(e.scale <= TK_OTLP_MAX_SCALE);
        /* the first and last buckets are occupied (the range is tight) */
        assert_true(e.n == 0 || (e.counts[0] > 0 && e.counts[e.n - 1] > 0));
        /* min and max lie in (or next to) the first and last buckets */
        hist_summary s;
        hist_summarize(h, &s);
        if (e.n) {
            double base = pow(2, pow(2, -e.scale));
            double lo = pow(base, e.offset), hi = pow(base, e.offset + (int)e.n);
            double minpos = s.min ? (double)s.min : (double)hist_quantile(h, 0.5);
            assert_true(minpos >= lo * (1 - 1.0 / 512) || s.min == 0);
            assert_true((double)s.max <= hi * (1 + 1.0 / 512));
        }
        tk_otlp_expo_free(&e);
        hist_free(h);
    }
}

static void test_expo_of_a_narrow_timer_keeps_the_highest_scale(void **state)
{
    (void)state;
    hist *h = hist_new();
    for (uint64_t v = 10000; v < 10300; v++)
        hist_record(h, v); /* 3 % wide: fits 160 buckets at scale 8 */
    tk_otlp_expo e;
    assert_int_equal(tk_otlp_expo_from_hist(h, 8, 160, &e), 0);
    assert_int_equal(e.scale, 8);
    tk_otlp_expo_free(&e);
    hist_record(h, 1000000); /* now 7 octaves: the scale comes down */
    assert_int_equal(tk_otlp_expo_from_hist(h, 8, 160, &e), 0);
    assert_true(e.scale < 8 && e.scale >= 4);
    assert_u64_at_most(160, e.n, "buckets");
    tk_otlp_expo_free(&e);
    hist_free(h);
}

static void test_expo_of_two_histograms_equals_expo_of_their_merge(void **state)
{
    (void)state;
    hist *a = hist_of(300, 17, 4000, 1), *b = hist_of(90000, 401, 3000, 0), *m = hist_new();
    assert_int_equal(hist_merge(m, a), 0);
    assert_int_equal(hist_merge(m, b), 0);
    const hist *both[2] = {a, b};
    tk_otlp_expo e1, e2;
    assert_int_equal(tk_otlp_expo_from_hists(both, 2, 8, 0, &e1), 0);
    assert_int_equal(tk_otlp_expo_from_hist(m, 8, 0, &e2), 0);
    assert_int_equal(e1.scale, e2.scale);
    assert_int_equal(e1.offset, e2.offset);
    assert_int_equal(e1.n, e2.n);
    assert_u64_equal(e2.count, e1.count, "count");
    assert_u64_equal(e2.zero_count, e1.zero_count, "zeros");
    assert_memory_equal(e1.counts, e2.counts, e1.n * sizeof *e1.counts);
    assert_double_near(e2.sum, e1.sum, e2.sum * 1e-9, "sum");
    tk_otlp_expo_free(&e1);
    tk_otlp_expo_free(&e2);
    hist_free(a);
    hist_free(b);
    hist_free(m);
}

static void cat_pair(void *ctx, const char *k, const char *v)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "[%s|%s]", k, v);
}

static void test_pairs_parse_trims_and_percent_decodes(void **state)
{
    (void)state;
    char got[512] = "";
    assert_int_equal(tk_otlp_parse_pairs(" a = 1 ,b=x%2Cy,, c=%3D ", cat_pair, got), 3);
    assert_string_equal(got, "[a|1][b|x,y][c|=]");
    got[0] = 0;
    assert_int_equal(tk_otlp_parse_pairs("a=1,oops", cat_pair, got), -EINVAL);
    assert_string_equal(got, "[a|1]");
}

/* ---- encodings ---------------------------------------------------------------------------------- */

#define NTIMERS 3
typedef struct fixture {
    hist *h[NTIMERS][2];
    tk_otlp_timer_in t[NTIMERS];
    tk_otlp_proc_in p;
} fixture;

static void fixture_make(fixture *f)
{
    static const char *names[NTIMERS] = {"decode", "match", "send \"quoted\""};
    for (int i = 0; i < NTIMERS; i++) {
        f->h[i][0] = hist_of(100u + 900u * (unsigned)i, 13u * (unsigned)(i + 1), 2000u + 500u * (unsigned)i, i == 0);
        f->h[i][1] = i == 1 ? hist_new() : hist_of(5000, 3001, 1000, 0); /* match: no latency */
        f->t[i] = (tk_otlp_timer_in){.name = names[i], .h = {f->h[i][0], f->h[i][1]},
                                     .lost = (uint64_t)i * 7};
    }
    f->p = (tk_otlp_proc_in){.name = "gateway", .cmdline = "gateway --port 9 'x'", .pid = 4242,
                             .key = 1, .timers = f->t, .ntimers = NTIMERS};
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < NTIMERS; i++)
        for (int k = 0; k < 2; k++)
            hist_free(f->h[i][k]);
}

/* The summary lines otlp_check.py must print for f's metrics. */
static void expect_metric_lines(const fixture *f, const char *got, int temporality)
{
    static const char *kinds[2] = {"timekeeper.timer.processing", "timekeeper.timer.latency"};
    char line[512];
    for (int i = 0; i < NTIMERS; i++) {
        for (int k = 0; k < 2; k++) {
            const hist *h = f->h[i][k];
            if (!hist_count(h))
                continue;
            uint64_t zero = i == 0 && k == 0 ? 5 : 0;
            snprintf(line, sizeof line, "M %s %s expo count=%llu buckets=%llu zero=%llu", kinds[k],
                     f->t[i].name, (unsigned long long)hist_count(h),
                     (unsigned long long)(hist_count(h) - zero), (unsigned long long)zero);
            assert_contains(got, line, "timer %d kind %d", i, k);
        }
        snprintf(line, sizeof line, "M timekeeper.timer.lost %s sum value=%llu temporality=%d",
                 f->t[i].name, (unsigned long long)f->t[i].lost, temporality);
        assert_contains(got, line, "lost of timer %d", i);
    }
    assert_true(strstr(got, "M timekeeper.timer.latency match") == NULL);
    snprintf(line, sizeof line, "temporality=%d", temporality);
    assert_contains(got, line, "temporality");
}

/* Writes f's metrics encoded as enc to dir/0000-metrics.{bin,json} and returns the path. */
static void write_encoded(const fixture *f, tk_otlp_encoding enc, const char *dir, char *path,
                          size_t len, tk_otlp_temporality t)
{
    tk_otlp_metric m[NTIMERS * 3];
    tk_otlp_expo e[NTIMERS * 2];
    tk_otlp_attr a[NTIMERS];
    size_t n = 0, ne = 0;
    for (int i = 0; i < NTIMERS; i++) {
        a[i] = (tk_otlp_attr){.key = "timer", .str = f->t[i].name};
        for (int k = 0; k < 2; k++) {
            if (!hist_count(f->h[i][k]))
                continue;
            assert_int_equal(tk_otlp_expo_from_hist(f->h[i][k], 8, 0, &e[ne]), 0);
            m[n++] = (tk_otlp_metric){.name = k ? "timekeeper.timer.latency" : "timekeeper.timer.processing",
                                      .unit = "ns", .kind = TK_OTLP_EXPO_HIST, .attrs = &a[i],
                                      .nattrs = 1, .start_unix_ns = 1, .time_unix_ns = 2,
                                      .expo = &e[ne++]};
        }
        m[n++] = (tk_otlp_metric){.name = "timekeeper.timer.lost", .unit = "1", .kind = TK_OTLP_SUM,
                                  .attrs = &a[i], .nattrs = 1, .ival = (int64_t)f->t[i].lost};
    }
    tk_otlp_attr ra[] = {{.key = "service.name", .str = "gw"}, {.key = "process.pid", .ival = 4242}};
    tk_otlp_resource res = {.attrs = ra, .nattrs = 2, .scope_name = "timekeeper", .scope_version = "1"};
    tk_otlp_buf b = {0};
    assert_int_equal(tk_otlp_encode_metrics(&b, enc, &res, m, n, t), 0);
    snprintf(path, len, "%s/0000-metrics.%s", dir, enc == TK_OTLP_JSON ? "json" : "bin");
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(b.data, 1, b.len, out), b.len);
    fclose(out);
    tk_otlp_buf_free(&b);
    for (size_t i = 0; i < ne; i++)
        tk_otlp_expo_free(&e[i]);
}

static char *check_file(const char *path, const char *node)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/otlp_check.py %s%s %s/tests/data/otlp %s",
             src_dir(), node ? "--node " : "", node ? node : "", src_dir(), path);
    return run_capture(cmd);
}

static void test_protobuf_metrics_decode_with_protoc_to_the_source_counts(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f);
    char *dir = mkdir_tmp(), path[600];
    write_encoded(&f, TK_OTLP_PROTOBUF, dir, path, sizeof path, TK_OTLP_CUMULATIVE);
    char *got = check_file(path, NULL);
    expect_metric_lines(&f, got, 2);
    assert_contains(got, "R process.pid 4242", "resource");
    assert_contains(got, "R service.name gw", "resource");
    free(got);
    rm_rf(dir);
    free(dir);
    fixture_free(&f);
}

static void test_json_metrics_follow_the_otlp_json_mapping(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f);
    char *dir = mkdir_tmp(), path[600];
    write_encoded(&f, TK_OTLP_JSON, dir, path, sizeof path, TK_OTLP_DELTA);
    char *got = check_file(path, NULL);
    expect_metric_lines(&f, got, 1);
    free(got);
    /* 64-bit integers are strings, enums integers */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cat %s", path);
    char *raw = run_capture(cmd);
    assert_contains(raw, "\"aggregationTemporality\":1", "enum as integer");
    assert_contains(raw, "\"count\":\"", "fixed64 as string");
    assert_contains(raw, "\"intValue\":\"4242\"", "int64 as string");
    assert_contains(raw, "\"startTimeUnixNano\":\"1\"", "times as strings");
    assert_contains(raw, "send \\\"quoted\\\"", "escaped name");
    free(raw);
    rm_rf(dir);
    free(dir);
    fixture_free(&f);
}

/* The OpenTelemetry JavaScript decoder, when tests/otlp-js-setup.sh installed it. */
static const char *node_modules(void)
{
    static char path[600];
    const char *bin = getenv("TK_BIN");
    snprintf(path, sizeof path, "%s/../otlp-js/node_modules", bin ? bin : ".");
    char probe[700];
    snprintf(probe, sizeof probe, "%s/@opentelemetry/otlp-transformer/package.json", path);
    return access(probe, R_OK) == 0 && access("/usr/bin/node", X_OK) == 0 ? path : NULL;
}

static void test_protobuf_metrics_decode_with_the_opentelemetry_js_decoder(void **state)
{
    (void)state;
    const char *node = node_modules();
    if (!node) {
        print_message("skipped: run tests/otlp-js-setup.sh BUILD_DIR to install the decoder\n");
        skip();
    }
    fixture f;
    fixture_make(&f);
    char *dir = mkdir_tmp(), path[600];
    write_encoded(&f, TK_OTLP_PROTOBUF, dir, path, sizeof path, TK_OTLP_DELTA);
    char *got = check_file(path, node);
    expect_metric_lines(&f, got, 1);
    assert_contains(got, "R process.pid 4242", "resource");
    free(got);
    rm_rf(dir);
    free(dir);
    fixture_free(&f);
}

/* ---- delivery ----------------------------------------------------------------------------------- */

static tk_otlp_exporter_options fast_options(const char *endpoint)
{
    return (tk_otlp_exporter_options){.endpoint = endpoint, .queue_max = 8,
                                      .timeout_ns = 5000000000ull, .backoff_ns = 20000000ull,
                                      .backoff_max_ns = 100000000ull};
}

/* Queues a copy of the string s as one request of items items. */
static int enqueue_str(tk_otlp_exporter *e, tk_otlp_signal sig, const char *s, uint64_t items)
{
    size_t len = strlen(s);
    void *b = malloc(len);
    memcpy(b, s, len);
    return tk_otlp_exporter_enqueue(e, sig, b, len, items);
}

static void test_export_sends_resource_headers_and_the_source_counts(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "200");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", ep, 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=acme,x-token=a%20b", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,service.name=ignored", 1);
    setenv("OTEL_SERVICE_NAME", "checkout", 1);
    tk_otlp_config c = {0};
    tk_otlp_config_from_env(&c);
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    unsetenv("OTEL_SERVICE_NAME");
    c.temporality = TK_OTLP_CUMULATIVE;
    tk_otlp *x;
    assert_int_equal(tk_otlp_new(&c, &x), 0);
    fixture f;
    fixture_make(&f);
    assert_int_equal(tk_otlp_push_metrics(x, &f.p, 1000, 2000), 0);
    assert_int_equal(tk_otlp_exporter_flush(tk_otlp_exporter_of(x), 5000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_free(x, &st);
    assert_u64_equal(1, st.sent, "requests sent");
    assert_u64_equal(NTIMERS * 3 - 1, st.sent_items, "metrics sent");

    char path[600];
    snprintf(path, sizeof path, "%s/0000-metrics.bin", r.dir);
    char *got = check_file(path, NULL);
    expect_metric_lines(&f, got, 2);
    assert_contains(got, "R service.name checkout", "OTEL_SERVICE_NAME wins");
    assert_contains(got, "R deployment.environment test", "OTEL_RESOURCE_ATTRIBUTES");
    assert_contains(got, "R process.pid 4242", "pid");
    assert_contains(got, "R process.command_line gateway --port 9 'x'", "command line");
    assert_contains(got, "R host.name ", "host");
    free(got);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cat %s/log", r.dir);
    char *log = run_capture(cmd);
    assert_contains(log, "/v1/metrics 200", "path");
    assert_contains(log, "application/x-protobuf", "content type");
    assert_contains(log, "x-tenant=acme", "header");
    assert_contains(log, "x-token=a b", "decoded header");
    free(log);
    fixture_free(&f);
    receiver_stop(&r);
}

/* Program counters go out as monotonic sums with the export's temporality, gauges (and stages) as
 * gauges, negative values kept, named as the program named them. */
static void test_counters_are_monotonic_sums_and_gauges_are_gauges(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "200");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    tk_otlp_config c = {.exp = {.endpoint = ep}, .temporality = TK_OTLP_DELTA};
    tk_otlp *x;
    assert_int_equal(tk_otlp_new(&c, &x), 0);
    fixture f;
    fixture_make(&f);
    const tk_otlp_value_in v[] = {{.name = "gw.messages_in", .value = 12345},
                                  {.name = "gw.queue_depth", .gauge = 1, .value = -7},
                                  {.name = "gw.publisher", .gauge = 1, .value = 1}};
    f.p.values = v;
    f.p.nvalues = 3;
    assert_int_equal(tk_otlp_push_metrics(x, &f.p, 1000, 2000), 0);
    assert_int_equal(tk_otlp_exporter_flush(tk_otlp_exporter_of(x), 5000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_free(x, &st);
    assert_u64_equal(NTIMERS * 3 - 1 + 3, st.sent_items, "metrics sent");
    char path[600];
    snprintf(path, sizeof path, "%s/0000-metrics.bin", r.dir);
    char *got = check_file(path, NULL);
    expect_metric_lines(&f, got, 1);
    assert_contains(got, "M gw.messages_in  sum value=12345 temporality=1", "counter");
    assert_contains(got, "M gw.queue_depth  gauge value=-7 temporality=0", "gauge");
    assert_contains(got, "M gw.publisher  gauge value=1 temporality=0", "stage");
    free(got);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "protoc --decode=tkotlp.ExportMetricsServiceRequest "
             "-I %s/tests/data/otlp %s/tests/data/otlp/otlp.proto < %s | grep -c 'is_monotonic: true'",
             src_dir(), src_dir(), path);
    char *mono = run_capture(cmd);
    assert_int_equal(atoi(mono), NTIMERS + 1); /* lost per timer, and the counter */
    free(mono);
    fixture_free(&f);
    receiver_stop(&r);
}

static void test_503_with_retry_after_then_200_loses_nothing_within_the_queue(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "503x2@1,200");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    tk_otlp_exporter_options o = fast_options(ep);
    tk_otlp_exporter *e;
    assert_int_equal(tk_otlp_exporter_new(&o, &e), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(enqueue_str(e, TK_OTLP_METRICS, "abc", 10), 0);
    assert_int_equal(tk_otlp_exporter_flush(e, 10000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_exporter_free(e, &st);
    assert_u64_equal(6, st.sent, "sent");
    assert_u64_equal(60, st.sent_items, "items sent");
    assert_u64_equal(2, st.retries, "retries");
    assert_u64_equal(0, st.overflow + st.rejected + st.expired + st.unsent, "lost");
    assert_int_equal(receiver_requests(&r), 8);
    /* Retry-After: 1 was honoured, not the 20 ms backoff: the log's times are >= 1 s apart */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "awk 'NR<=3 {print $4}' %s/log", r.dir);
    char *times = run_capture(cmd);
    double t0, t1, t2;
    assert_int_equal(sscanf(times, "%lf %lf %lf", &t0, &t1, &t2), 3);
    assert_true(t1 - t0 > 0.9 && t2 - t1 > 0.9);
    free(times);
    receiver_stop(&r);
}

static void test_400_is_not_retried_and_is_counted(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "400");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    tk_otlp_exporter_options o = fast_options(ep);
    tk_otlp_exporter *e;
    assert_int_equal(tk_otlp_exporter_new(&o, &e), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(enqueue_str(e, TK_OTLP_TRACES, "x", 4), 0);
    assert_int_equal(tk_otlp_exporter_flush(e, 5000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_exporter_free(e, &st);
    assert_u64_equal(3, st.rejected, "rejected");
    assert_u64_equal(12, st.rejected_items, "rejected items");
    assert_u64_equal(0, st.retries, "retries");
    assert_u64_equal(0, st.sent, "sent");
    assert_int_equal(st.last_status, 400);
    assert_int_equal(receiver_requests(&r), 3);
    receiver_stop(&r);
}

static void test_413_is_not_retried_either(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "413");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    tk_otlp_exporter_options o = fast_options(ep);
    tk_otlp_exporter *e;
    assert_int_equal(tk_otlp_exporter_new(&o, &e), 0);
    assert_int_equal(enqueue_str(e, TK_OTLP_METRICS, "x", 1), 0);
    assert_int_equal(tk_otlp_exporter_flush(e, 5000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_exporter_free(e, &st);
    assert_u64_equal(1, st.rejected, "rejected");
    assert_u64_equal(0, st.retries, "retries");
    assert_int_equal(receiver_requests(&r), 1);
    receiver_stop(&r);
}

/* A TCP listener that never accepts: connections complete in the backlog, no answer ever comes. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_a_hung_receiver_never_blocks_enqueue_and_overflow_is_exact(void **state)
{
    (void)state;
    int port, fd = silent_listener(&port);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    tk_otlp_exporter_options o = fast_options(ep);
    o.queue_max = 4;
    tk_otlp_exporter *e;
    assert_int_equal(tk_otlp_exporter_new(&o, &e), 0);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 50; i++) {
        int rc = enqueue_str(e, TK_OTLP_METRICS, "payload", 3);
        accepted += rc == 0;
        refused += rc == -EAGAIN;
    }
    /* Every call returned while the sender sat in its first request, unanswered. */
    tk_otlp_stats st;
    tk_otlp_exporter_stats(e, &st);
    assert_u64_equal(0, st.sent + st.rejected, "answered");
    assert_int_equal(accepted, 4);
    assert_int_equal(refused, 46);
    assert_u64_equal(46, st.overflow, "overflow");
    assert_u64_equal(138, st.overflow_items, "overflow items");
    assert_u64_equal(4, st.queued, "queued");
    assert_int_equal(tk_otlp_exporter_flush(e, 50000000ull), -ETIMEDOUT);
    tk_otlp_exporter_free(e, &st); /* abandons the in-flight request */
    assert_u64_equal(4, st.unsent, "unsent at exit");
    assert_u64_equal(50, st.sent + st.overflow + st.unsent + st.rejected + st.expired, "all accounted");
    close(fd);
}

static void test_a_receiver_that_is_down_is_retried_then_given_up(void **state)
{
    (void)state;
    int port, fd = silent_listener(&port);
    close(fd); /* nothing listens there now: connection refused */
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    tk_otlp_exporter_options o = fast_options(ep);
    o.retry_max_ns = 300000000ull; /* give up after 0.3 s */
    tk_otlp_exporter *e;
    assert_int_equal(tk_otlp_exporter_new(&o, &e), 0);
    assert_int_equal(enqueue_str(e, TK_OTLP_METRICS, "x", 2), 0);
    assert_int_equal(tk_otlp_exporter_flush(e, 5000000000ull), 0);
    tk_otlp_stats st;
    tk_otlp_exporter_free(e, &st);
    assert_u64_equal(1, st.expired, "expired");
    assert_u64_equal(2, st.expired_items, "expired items");
    assert_true(st.retries >= 2);
    assert_int_equal(st.last_status, 0);
}

/* ---- spans -------------------------------------------------------------------------------------- */

static void test_spans_of_one_origin_share_a_trace_and_sampling_keeps_whole_traces(void **state)
{
    (void)state;
    receiver r;
    receiver_start(&r, "200");
    char ep[64];
    endpoint_of(&r, ep, sizeof ep);
    tk_otlp_config c = {.exp = fast_options(ep), .sample = 0.5, .span_batch = 1000};
    c.exp.encoding = TK_OTLP_JSON;
    tk_otlp *x;
    assert_int_equal(tk_otlp_new(&c, &x), 0);
    tk_otlp_proc_in p = {.name = "gw", .cmdline = "gw", .pid = 7, .key = 3};
    /* 200 origins, 3 spans each (a dressed message through three stages) */
    int kept_by_origin[200] = {0};
    static const char *stage[3] = {"ingest", "match", "send"};
    for (int o = 0; o < 200; o++)
        for (int s = 0; s < 3; s++) {
            uint64_t t = 1000000000ull * 1000 + (uint64_t)o * 10000 + (uint64_t)s * 1000;
            int rc = tk_otlp_offer_span(x, &p, stage[s], 0, 77, t, t + 500, 5000 + (uint64_t)o,
                                        (uint64_t)s * 1000, 1);
            assert_true(rc >= 0);
            kept_by_origin[o] += rc;
        }
    int traces = 0;
    for (int o = 0; o < 200; o++) {
        assert_true(kept_by_origin[o] == 0 || kept_by_origin[o] == 3);
        traces += kept_by_origin[o] == 3;
    }
    assert_true(traces > 50 && traces < 150); /* half of 200, binomially */
    assert_int_equal(tk_otlp_flush_spans(x), 0);
    assert_int_equal(tk_otlp_exporter_flush(tk_otlp_exporter_of(x), 5000000000ull), 0);
    uint64_t offered, kept, capped;
    tk_otlp_span_counts(x, &offered, &kept, &capped);
    assert_u64_equal(600, offered, "offered");
    assert_u64_equal((uint64_t)traces * 3, kept, "kept");
    tk_otlp_free(x, NULL);

    char path[600], cmd[1000];
    snprintf(path, sizeof path, "%s/0000-traces.json", r.dir);
    char *got = check_file(path, NULL);
    /* every trace id appears exactly 3 times, and there are `traces` of them */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tests/otlp_check.py %s/tests/data/otlp %s | awk '$1==\"S\" {print $3}' "
             "| sort | uniq -c | awk '{print $1}' | sort | uniq -c",
             src_dir(), src_dir(), path);
    char *per_trace = run_capture(cmd);
    char want[64];
    snprintf(want, sizeof want, "%d 3\n", traces);
    assert_contains(per_trace, want, "spans per trace");
    assert_contains(got, "S match ", "span names");
    free(per_trace);
    free(got);
    receiver_stop(&r);
}

static void test_span_rate_cap_limits_spans_per_second(void **state)
{
    (void)state;
    tk_otlp_config c = {.exp = fast_options("http://127.0.0.1:9"), .span_rate = 100};
    tk_otlp *x;
    assert_int_equal(tk_otlp_new(&c, &x), 0);
    tk_otlp_proc_in p = {.name = "gw", .pid = 7, .key = 3};
    int kept = 0;
    /* 10 000 spans over 2 simulated seconds: 100 of burst + 200 of refill */
    for (int i = 0; i < 10000; i++)
        kept += tk_otlp_offer_span(x, &p, "t", 0, 1, 1000 + (uint64_t)i, 2000 + (uint64_t)i, 0,
                                   UINT64_MAX, 1 + (uint64_t)i * 200000) == 1;
    assert_true(kept >= 295 && kept <= 301);
    tk_otlp_free(x, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expo_index_puts_powers_of_two_at_upper_bounds),
        cmocka_unit_test(test_expo_keeps_every_count_within_the_bucket_budget),
        cmocka_unit_test(test_expo_of_a_narrow_timer_keeps_the_highest_scale),
        cmocka_unit_test(test_expo_of_two_histograms_equals_expo_of_their_merge),
        cmocka_unit_test(test_pairs_parse_trims_and_percent_decodes),
        cmocka_unit_test(test_protobuf_metrics_decode_with_protoc_to_the_source_counts),
        cmocka_unit_test(test_json_metrics_follow_the_otlp_json_mapping),
        cmocka_unit_test(test_protobuf_metrics_decode_with_the_opentelemetry_js_decoder),
        cmocka_unit_test(test_export_sends_resource_headers_and_the_source_counts),
        cmocka_unit_test(test_counters_are_monotonic_sums_and_gauges_are_gauges),
        cmocka_unit_test(test_503_with_retry_after_then_200_loses_nothing_within_the_queue),
        cmocka_unit_test(test_400_is_not_retried_and_is_counted),
        cmocka_unit_test(test_413_is_not_retried_either),
        cmocka_unit_test(test_a_hung_receiver_never_blocks_enqueue_and_overflow_is_exact),
        cmocka_unit_test(test_a_receiver_that_is_down_is_retried_then_given_up),
        cmocka_unit_test(test_spans_of_one_origin_share_a_trace_and_sampling_keeps_whole_traces),
        cmocka_unit_test(test_span_rate_cap_limits_spans_per_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
