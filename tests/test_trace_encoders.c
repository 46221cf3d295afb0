/* test_trace_encoders.c — the Perfetto protobuf and Chrome JSON writers, fed plain values: the
 * protobuf is decoded with `protoc --decode` against tests/data/perfetto_trace.proto, the JSON is
 * parsed and checked by Python's json module. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sink/chrome.h"
#include "sink/perfetto.h"
#include "testutil.h"

static char dir[256], path[512];

static int setup(void **state)
{
    (void)state;
    if (!tu_mkdtemp(dir, sizeof dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* Runs cmd and returns its stdout (malloc'd), NULL when it failed to start. *status: exit code. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    int rc = pclose(p);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

/* Occurrences of needle in hay. A plain loop: sanitizers check strstr's whole haystack at every
 * call, which makes counting in a 20 MB text quadratic. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; *p; p++) {
        if (*p == *needle && strncmp(p, needle, len) == 0) {
            n++;
            p += len - 1;
        }
    }
    return n;
}

static char *decode_perfetto(const char *file)
{
    const char *src = getenv("TK_SOURCE_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "protoc --proto_path=%s/tests/data --decode=perfetto.protos.Trace "
             "%s/tests/data/perfetto_trace.proto < %s 2>&1",
             src ? src : "..", src ? src : "..", file);
    int status;
    char *out = run(cmd, &status);
    assert_non_null(out);
    if (status != 0) {
        print_error("protoc failed (%d):\n%s\n", status, out);
        fail();
    }
    return out;
}

static void perfetto_trace_decodes_with_tracks_slices_instants_counters_and_flows(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/t.pftrace", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    tk_perfetto *w;
    assert_int_equal(tk_perfetto_open(f, 1, &w), 0);
    uint64_t outer = tk_perfetto_intern(w, "outer"), inner = tk_perfetto_intern(w, "inner");
    uint64_t point = tk_perfetto_intern(w, "ffi_send");
    uint64_t proc = tk_perfetto_process(w, 4242, "gateway", "./gateway --port 9000");
    uint64_t th = tk_perfetto_thread(w, proc, 4243, "io-0");
    uint64_t ctr = tk_perfetto_counter_track(w, proc, "queue depth", TK_PERFETTO_UNIT_COUNT);
    assert_true(proc && th && ctr && outer && inner && point);
    /* Spans in the order a thread ends them: inner first, then the outer that encloses it. */
    assert_int_equal(tk_perfetto_slice(w, th, inner, 1100, 200, TK_PERFETTO_NONE), 0);
    assert_int_equal(tk_perfetto_slice(w, th, outer, 1000, 1000, 900), 0);
    /* Overlapping the outer one without nesting: goes to an overlap lane. */
    assert_int_equal(tk_perfetto_slice(w, th, inner, 1900, 500, TK_PERFETTO_NONE), 0);
    assert_int_equal(tk_perfetto_instant(w, th, point, 1500, 7, 8, TK_PERFETTO_NONE, "q=3", 3),
                     0);
    assert_int_equal(tk_perfetto_counter_int(w, ctr, 1000, 5), 0);
    assert_int_equal(tk_perfetto_counter_int(w, ctr, 2000, -2), 0);
    assert_int_equal(tk_perfetto_slice(w, ctr, outer, 1, 1, TK_PERFETTO_NONE), -EINVAL);
    assert_int_equal(tk_perfetto_close(w), 0);
    fclose(f);

    char *text = decode_perfetto(path);
    assert_contains(text, "process_name: \"gateway\"", "process descriptor");
    assert_contains(text, "pid: 4242", "process pid");
    assert_contains(text, "cmdline: \"--port\"", "command line words");
    assert_contains(text, "tid: 4243", "thread descriptor");
    assert_contains(text, "thread_name: \"io-0\"", "thread name");
    assert_contains(text, "name: \"io-0 (overlap 1)\"", "the overlap lane");
    assert_contains(text, "name: \"queue depth\"", "counter track");
    assert_contains(text, "unit: UNIT_COUNT", "counter unit");
    assert_contains(text, "name: \"outer\"", "interned event name");
    assert_contains(text, "sequence_flags: 1", "incremental state cleared first");
    assert_u64_equal(3, count_of(text, "type: TYPE_SLICE_BEGIN"), "slice begins");
    assert_u64_equal(3, count_of(text, "type: TYPE_SLICE_END"), "slice ends");
    assert_u64_equal(2, count_of(text, "type: TYPE_INSTANT"), "instants (point, origin)");
    assert_u64_equal(2, count_of(text, "type: TYPE_COUNTER"), "counter values");
    assert_contains(text, "counter_value: -2", "negative counter value");
    assert_u64_equal(1, count_of(text, "\n    flow_ids: 1"), "flow from the origin");
    assert_u64_equal(1, count_of(text, "terminating_flow_ids: 1"), "flow into the span");
    assert_contains(text, "timestamp: 900", "origin instant at the origin");
    assert_contains(text, "string_value: \"q=3\"", "point context");
    assert_contains(text, "uint_value: 8", "point command id");
    free(text);
}

static void perfetto_output_stays_small_and_streams(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/big.pftrace", dir);
    FILE *f = fopen(path, "wb");
    tk_perfetto *w;
    assert_int_equal(tk_perfetto_open(f, 0, &w), 0);
    uint64_t n = tk_perfetto_intern(w, "t");
    uint64_t p = tk_perfetto_process(w, 1, "p", "");
    uint64_t t = tk_perfetto_thread(w, p, 2, "");
    for (uint64_t i = 0; i < 200000; i++)
        tk_perfetto_slice(w, t, n, i * 100, 50, TK_PERFETTO_NONE);
    uint64_t bytes = tk_perfetto_bytes(w);
    assert_int_equal(tk_perfetto_close(w), 0);
    fclose(f);
    /* two packets of about 17 bytes per span */
    assert_u64_at_most(200000 * 40, bytes, "bytes for 200k spans");
    char *text = decode_perfetto(path);
    assert_u64_equal(200000, count_of(text, "TYPE_SLICE_END"), "every span decoded");
    free(text);
}

static void chrome_json_is_structured_per_thread_with_metadata_and_us_units(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/t.json", dir);
    FILE *f = fopen(path, "w");
    tk_chrome *w;
    assert_int_equal(tk_chrome_open(f, &w), 0);
    tk_chrome_process(w, 10, "gate\"way");
    tk_chrome_thread(w, 10, 11, "io-0");
    tk_chrome_thread(w, 10, 12, "io-1");
    tk_chrome_span(w, 10, 11, "inner", 1100, 200, TK_CHROME_NONE);
    tk_chrome_span(w, 10, 11, "outer", 1000, 1000, 250);
    tk_chrome_span(w, 10, 12, "other", 1234567, 1, TK_CHROME_NONE);
    tk_chrome_instant(w, 10, 11, "ffi_send", 1500, 7, TK_CHROME_NONE, 9, "bad\xff\n", 5);
    tk_chrome_counter(w, 10, "queue depth", 2000, 3.5);
    assert_int_equal(tk_chrome_close(w), 0);
    fclose(f);
    const char *src = getenv("TK_SOURCE_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/tools/check_trace_json.py --show other %s 2>&1",
             src ? src : "..", path);
    int status;
    char *out = run(cmd, &status);
    if (status != 0) {
        print_error("check_trace_json.py failed (%d):\n%s\n", status, out);
        fail();
    }
    assert_contains(out, "threads=2 complete=3 instants=1 counters=1", "summary");
    assert_contains(out, "ts[other]=1234.567 dur[other]=0.001", "µs with ns digits");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perfetto_trace_decodes_with_tracks_slices_instants_counters_and_flows),
        cmocka_unit_test(perfetto_output_stays_small_and_streams),
        cmocka_unit_test(chrome_json_is_structured_per_thread_with_metadata_and_us_units),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
