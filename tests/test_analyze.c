/* test_analyze.c — tests of `timekeeper analyze`: the TIMING line parser (collector/timing.c), the spec
 * parser and the analysis engine (collector/analyze*.c) on fixtures in tests/data/analyze, and the real
 * `timekeeper analyze` binary ($TK_BIN) for outputs, errors and exit statuses. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <timekeeper.h>

#include "analyze/analyze.h"
#include "check.h"
#include "analyze/timing.h"
#include "tu_spawn.h"

/* ---- fixtures ------------------------------------------------------------------------------------ */
static char *fixture_path(const char *name)
{
    const char *src = getenv("TK_SOURCE_DIR");
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, sizeof buf[0], "%s/tests/data/analyze/%s", src ? src : "..", name);
    return p;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s (is TK_SOURCE_DIR set?)\n", path);
        fail();
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n < cap ? n : cap - 1] = '\0';
    if (len)
        *len = n;
    return buf;
}

static analyze_spec *spec_from_text(const char *text)
{
    analyze_spec *s = NULL;
    char err[256] = "";
    int r = analyze_spec_parse(text, strlen(text), "test.spec", &s, err, sizeof err);
    if (r != 0) {
        print_error("spec did not parse: %s\n", err);
        fail();
    }
    return s;
}

static analyze_spec *spec_from_fixture(const char *name)
{
    analyze_spec *s = NULL;
    char err[512] = "";
    if (analyze_spec_load(fixture_path(name), &s, err, sizeof err) != 0) {
        print_error("spec %s did not load: %s\n", name, err);
        fail();
    }
    return s;
}

/* Runs the analysis of `text` (a whole log) fed in chunks of `chunk` bytes (0: at once). */
static analyze *analyze_text_opts(const analyze_options *o, const char *text, size_t chunk)
{
    analyze *a = NULL;
    assert_int_equal(analyze_new(o, &a), 0);
    analyze_source(a, "test.log");
    size_t n = strlen(text);
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk)
        analyze_feed(a, text + i, n - i < chunk ? n - i : chunk);
    analyze_source_end(a);
    analyze_finish(a);
    return a;
}

static analyze *analyze_text(const analyze_spec *spec, const char *text)
{
    analyze_options o = {.spec = spec};
    return analyze_text_opts(&o, text, 0);
}

static analyze *analyze_fixture(const analyze_spec *spec, const char *log)
{
    char *text = read_all(fixture_path(log), NULL);
    analyze *a = analyze_text(spec, text);
    free(text);
    return a;
}

static hist_summary interval(const analyze *a, const char *name)
{
    hist_summary h;
    if (analyze_interval_stats(a, name, &h) != 0) {
        print_error("no interval '%s'\n", name);
        fail();
    }
    return h;
}

static hist_summary total(const analyze *a, const char *name, const char *path)
{
    hist_summary h;
    if (analyze_total_stats(a, name, path, &h) != 0) {
        print_error("no total '%s' path '%s'\n", name, path ? path : "all");
        fail();
    }
    return h;
}

static hist_summary part(const analyze *a, const char *tot, const char *path, const char *name,
                         uint64_t *seen)
{
    hist_summary h;
    if (analyze_part_stats(a, tot, path, name, &h, seen) != 0) {
        print_error("no part '%s' of total '%s' path '%s'\n", name, tot, path ? path : "all");
        fail();
    }
    return h;
}

/* ---- the TIMING line parser ---------------------------------------------------------------------- */
static void test_parse_reads_every_field_of_a_well_formed_line(void **state)
{
    (void)state;
    const char *line = "TIMING,PY_AFTER_SELECT,1234567895700,3,42,7,select_duration_ns=5000000,efd=5";
    timing_point p;
    assert_int_equal(timing_parse_line(line, strlen(line), &p, NULL), TIMING_OK);
    assert_int_equal(p.label_len, strlen("PY_AFTER_SELECT"));
    assert_memory_equal(p.label, "PY_AFTER_SELECT", p.label_len);
    assert_u64_equal(1234567895700ULL, p.ts_ns, "timestamp");
    assert_u64_equal(3, p.client, "client");
    assert_u64_equal(42, p.command, "command");
    assert_u64_equal(7, p.session, "session");
    assert_int_equal(p.context_len, strlen("select_duration_ns=5000000,efd=5"));
    assert_memory_equal(p.context, "select_duration_ns=5000000,efd=5", p.context_len);
}

static void test_parse_reads_dash_as_unknown_id(void **state)
{
    (void)state;
    const char *line = "TIMING,PY_BEFORE_ASYNC_SEND,100,-,-,-,op=PUT";
    timing_point p;
    assert_int_equal(timing_parse_line(line, strlen(line), &p, NULL), TIMING_OK);
    assert_u64_equal(TIMING_ID_UNKNOWN, p.client, "client");
    assert_u64_equal(TIMING_ID_UNKNOWN, p.command, "command");
    assert_u64_equal(TIMING_ID_UNKNOWN, p.session, "session");
}

static void test_parse_accepts_empty_context_and_strips_crlf(void **state)
{
    (void)state;
    const char *line = "TIMING,L,5,0,1,2,\r\n";
    timing_point p;
    assert_int_equal(timing_parse_line(line, strlen(line), &p, NULL), TIMING_OK);
    assert_int_equal(p.context_len, 0);
    const char *line2 = "TIMING,L,5,0,1,2,a=1\r";
    assert_int_equal(timing_parse_line(line2, strlen(line2), &p, NULL), TIMING_OK);
    assert_int_equal(p.context_len, 3);
}

static void test_parse_skips_lines_that_are_not_timing_lines(void **state)
{
    (void)state;
    const char *other[] = {"", "hello", "TIMING", "TIMINGS are on", " TIMING,L,1,0,1,1,",
                           "timing,L,1,0,1,1,", "TIMING;L,1,0,1,1,"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        timing_point p;
        int st = timing_parse_line(other[i], strlen(other[i]), &p, NULL);
        if (st != TIMING_OTHER) {
            print_error("line \"%s\": expected TIMING_OTHER (%d), got %d\n", other[i], TIMING_OTHER,
                        st);
            fail();
        }
    }
}

static void test_parse_reports_the_bad_field_of_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        timing_status status;
        const char *message;
    } cases[] = {
        {"TIMING,L,x,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp 'x'"},
        {"TIMING,L,,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp ''"},
        {"TIMING,L,-,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp '-'"},
        {"TIMING,L,+5,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp '+5'"},
        {"TIMING,L, 5,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp ' 5'"},
        {"TIMING,L,18446744073709551616,0,1,1,", TIMING_ERR_TIMESTAMP, "bad timestamp"},
        {"TIMING,L,5,abc,1,1,", TIMING_ERR_CLIENT, "bad client_id 'abc'"},
        {"TIMING,L,5,0,-5,1,", TIMING_ERR_COMMAND, "bad command_id '-5'"},
        {"TIMING,L,5,0,1,1x,", TIMING_ERR_SESSION, "bad session_id '1x'"},
        {"TIMING,L,5,0,1,--,", TIMING_ERR_SESSION, "bad session_id '--'"},
        {"TIMING,L,5,0,1,1", TIMING_ERR_MISSING, "missing field context"},
        {"TIMING,L,5,0,1", TIMING_ERR_MISSING, "missing field session_id"},
        {"TIMING,L,5", TIMING_ERR_MISSING, "missing field client_id"},
        {"TIMING,", TIMING_ERR_MISSING, "missing field timestamp"},
        {"TIMING,,5,0,1,1,", TIMING_ERR_LABEL, "empty label"},
        {"TIMING,A\tB,5,0,1,1,", TIMING_ERR_LABEL, "control character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        timing_point p;
        timing_error e;
        timing_status st = timing_parse_line(cases[i].line, strlen(cases[i].line), &p, &e);
        if (st != cases[i].status) {
            print_error("line \"%s\": expected status %d, got %d\n", cases[i].line, cases[i].status,
                        st);
            fail();
        }
        char why[160];
        assert_contains(timing_error_describe(&e, why, sizeof why), cases[i].message, "line \"%s\"",
                        cases[i].line);
    }
}

static void test_parse_accepts_the_largest_timestamp_and_id(void **state)
{
    (void)state;
    const char *line = "TIMING,L,18446744073709551615,18446744073709551614,0,00012,";
    timing_point p;
    assert_int_equal(timing_parse_line(line, strlen(line), &p, NULL), TIMING_OK);
    assert_u64_equal(UINT64_MAX, p.ts_ns, "timestamp");
    assert_u64_equal(UINT64_MAX - 1, p.client, "client");
    assert_u64_equal(0, p.command, "command");
    assert_u64_equal(12, p.session, "session");
}

static void test_parse_rejects_lines_longer_than_the_limit(void **state)
{
    (void)state;
    size_t n = TIMING_MAX_LINE + 1;
    char *line = malloc(n);
    memset(line, 'x', n);
    memcpy(line, "TIMING,L,1,0,1,1,", 17);
    timing_point p;
    timing_error e;
    assert_int_equal(timing_parse_line(line, n, &p, &e), TIMING_ERR_TOO_LONG);
    /* exactly at the limit is fine */
    assert_int_equal(timing_parse_line(line, TIMING_MAX_LINE, &p, &e), TIMING_OK);
    free(line);
}

/* The parser reads only the len bytes it is given: a line cut anywhere parses or fails cleanly (under
 * ASan, a read past the exact-size heap copy would abort). */
static void test_parse_never_reads_past_the_given_length(void **state)
{
    (void)state;
    const char *line = "TIMING,PY_X,123,4,5,6,a_ns=7,b=8";
    size_t n = strlen(line);
    for (size_t cut = 0; cut <= n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, line, cut);
        timing_point p;
        timing_error e;
        timing_status st = timing_parse_line(copy, cut, &p, &e);
        if (cut >= 22) {
            assert_int_equal(st, TIMING_OK);
            assert_true(p.context + p.context_len <= copy + cut);
        }
        free(copy);
    }
}

static void test_ns_fields_yield_numeric_ns_fields_and_count_bad_ones(void **state)
{
    (void)state;
    const char *ctx = "op=PUT,ffi_duration_ns=400;x_ns=1.5 get_ns=50\tsuccess=True,_ns=3,y_ns=,z_ns=9";
    timing_ns_iter it;
    timing_ns_begin(&it, ctx, strlen(ctx));
    const char *k;
    size_t kl;
    uint64_t v;
    const char *want_keys[] = {"ffi_duration_ns", "get_ns", "z_ns"};
    const uint64_t want_values[] = {400, 50, 9};
    size_t n = 0;
    while (timing_ns_next(&it, &k, &kl, &v)) {
        assert_true(n < 3);
        if (kl != strlen(want_keys[n]) || memcmp(k, want_keys[n], kl) != 0) {
            print_error("field %zu: expected key %s, got %.*s\n", n, want_keys[n], (int)kl, k);
            fail();
        }
        assert_u64_equal(want_values[n], v, "value of %s", want_keys[n]);
        n++;
    }
    assert_u64_equal(3, n, "numeric _ns fields");
    assert_u64_equal(2, it.bad, "bad _ns fields (x_ns=1.5, y_ns=)");
}

/* ---- the spec ------------------------------------------------------------------------------------ */
static void test_spec_errors_name_the_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"interval a = X -> Y\ninterval b = X Y\n", "test.spec:2: expected 'interval NAME"},
        {"# c\n\nfoo a = X -> Y\n", "test.spec:3: unknown keyword 'foo'"},
        {"interval a = X -> Y\ninterval a = Z -> W\n", "test.spec:2: interval 'a' is defined twice"},
        {"interval a = X -> Y\ntotal t = A -> B\ncomponents = a + nope\n",
         "test.spec:3: unknown interval 'nope'"},
        {"components = a\n", "test.spec:1: 'components' must follow the 'total'"},
        {"interval a = X -> Y\ntotal t = A -> B\npath p = ends\n", "test.spec:3: expected 'path NAME"},
        {"interval a = X -> Y\ntotal t = A -> B\npath p = starts X\n",
         "test.spec:3: unknown path condition 'starts'"},
        {"interval a = X -> Y\ntotal t = A -> B\npath all = ends X\n",
         "test.spec:3: path name 'all' is reserved"},
        {"interval 9a = X -> Y\n", "test.spec:1: bad interval name '9a'"},
        {"interval a = X -> Y\ntotal t = A -> B\ncomponents = a a a\n",
         "test.spec:3: expected '+' between components, found 'a'"},
        {"interval a = X -> Y\ntotal t = A -> B\ncomponents = a\nremainder = a\n",
         "test.spec:4: remainder 'a' has the name of a component"},
        {"# nothing\n", "test.spec:1: the spec defines no interval and no total"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        analyze_spec *s = NULL;
        char err[256] = "";
        int r = analyze_spec_parse(cases[i].text, strlen(cases[i].text), "test.spec", &s, err,
                                   sizeof err);
        if (r != -1) {
            print_error("spec case %zu: expected -1, got %d\n", i, r);
            fail();
        }
        assert_contains(err, cases[i].message, "spec case %zu", i);
    }
}

static void test_spec_accepts_comments_globs_and_arrows_without_spaces(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("interval a=X*->Y* # trailing comment\n"
                                     "   total t = A -> B[12]\n"
                                     "  components = a\n"
                                     "  path p = has X1 and lacks Y2 and ends B1\n");
    analyze *a = analyze_text(s, "TIMING,A,0,0,1,0,\nTIMING,X1,10,0,1,0,\nTIMING,Y1,30,0,1,0,\n"
                                 "TIMING,B1,100,0,1,0,\n");
    assert_u64_equal(20, interval(a, "a").max, "interval a");
    assert_u64_equal(1, total(a, "t", "p").count, "path p");
    assert_u64_equal(80, part(a, "t", "p", "unaccounted", NULL).max, "default remainder name");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_spec_load_reports_a_missing_file(void **state)
{
    (void)state;
    analyze_spec *s = NULL;
    char err[256] = "";
    assert_int_equal(analyze_spec_load("/nonexistent/x.spec", &s, err, sizeof err), -3);
    assert_contains(err, "/nonexistent/x.spec: No such file", "error message");
}

/* ---- the analysis on the reference fixtures ------------------------------------------------------- */
/* The 12-line slow-path sample of the reference write-up, verbatim: its timestamps are 5 us apart
 * around select, its context says select_duration_ns=5000000 (5 ms). */
static void test_seed_sample_gives_ffi_send_400ns_select_field_5ms_and_consistent_overhead(void **s_)
{
    (void)s_;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "seed-sample.log");

    hist_summary ffi = interval(a, "ffi_send");
    assert_u64_equal(1, ffi.count, "ffi_send count");
    assert_u64_equal(400, ffi.max, "ffi_send ns (T3 - T2)");

    hist_summary field;
    uint64_t sum = 0;
    assert_int_equal(analyze_field_stats(a, "select_duration_ns", &field, &sum), 0);
    assert_u64_equal(5000000, sum, "select_duration_ns sum (5 ms)");
    assert_u64_equal(1, field.count, "select_duration_ns count");

    /* The remainder is total - sum(components), from the same timestamps. */
    hist_summary tot = total(a, "send_and_await", NULL);
    uint64_t comp = 0;
    const char *names[] = {"ffi_send", "ffi_get", "select_wait", "efd_read"};
    for (int i = 0; i < 4; i++)
        comp += part(a, "send_and_await", NULL, names[i], NULL).max;
    hist_summary rem = part(a, "send_and_await", NULL, "python_overhead", NULL);
    assert_u64_equal(1234567896000ULL - 1234567890000ULL, tot.max, "total (T12 - T1)");
    assert_u64_equal(tot.max - comp, rem.max, "python_overhead = total - components");
    assert_u64_equal(450, rem.max, "python_overhead of the sample");
    assert_u64_equal(1, analyze_get_counts(a)->adopted, "the '-' point joined command 42");
    analyze_free(a);
    analyze_spec_free(s);
}

/* The same sample with timestamps that agree with its context: the select wait is 5 ms. */
static void test_slow_path_gives_select_wait_5ms_and_overhead_total_minus_components(void **s_)
{
    (void)s_;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "slow-path.log");
    assert_u64_equal(400, interval(a, "ffi_send").max, "ffi_send");
    assert_u64_equal(5000000, interval(a, "select_wait").max, "select_wait (5 ms)");
    assert_u64_equal(50, interval(a, "efd_read").max, "efd_read");
    hist_summary g = interval(a, "ffi_get");
    assert_u64_equal(2, g.count, "ffi_get occurrences (first and second check)");
    uint64_t seen = 0;
    assert_u64_equal(100, part(a, "send_and_await", "slow", "ffi_get", &seen).max,
                     "ffi_get component: both checks");
    assert_u64_equal(1, seen, "ffi_get seen");
    assert_u64_equal(6000000, total(a, "send_and_await", "slow").max, "total (6 ms)");
    assert_u64_equal(6000000 - (400 + 100 + 5000000 + 50),
                     part(a, "send_and_await", "slow", "python_overhead", NULL).max,
                     "python overhead");
    assert_u64_equal(0, total(a, "send_and_await", "fast").count, "no fast path");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_fast_and_slow_paths_are_separated(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "mixed.log");
    hist_summary fast = total(a, "send_and_await", "fast");
    hist_summary slow = total(a, "send_and_await", "slow");
    assert_u64_equal(2, fast.count, "fast sequences (commands 1 and 3)");
    assert_u64_equal(500, fast.min, "command 1: 1500 - 1000");
    assert_u64_equal(1000, fast.max, "command 3: 3150 - 2150");
    assert_u64_equal(1, slow.count, "slow sequences (command 2)");
    assert_u64_equal(11000, slow.max, "command 2: 13000 - 2000");
    assert_u64_equal(3, total(a, "send_and_await", NULL).count, "all sequences");
    uint64_t seen = 99;
    part(a, "send_and_await", "fast", "select_wait", &seen);
    assert_u64_equal(0, seen, "select_wait never occurs on the fast path");
    assert_u64_equal(10000, part(a, "send_and_await", "slow", "select_wait", &seen).max,
                     "select_wait on the slow path");
    assert_u64_equal(550, part(a, "send_and_await", "slow", "python_overhead", NULL).max,
                     "slow overhead: 11000 - (300 + 100 + 10000 + 50)");
    /* the async API: send_request (S1..S4) and await_request (A1..A10) of command 4 */
    assert_u64_equal(500, total(a, "send_request", NULL).max, "send_request S4 - S1");
    assert_u64_equal(200, part(a, "send_request", NULL, "python_overhead", NULL).max,
                     "send_request overhead: 500 - 300");
    assert_u64_equal(300, total(a, "await_request", "fast").max, "await_request A10 - A1");
    analyze_free(a);
    analyze_spec_free(s);
}

/* On every path, the parts' time adds up to the total's: sum over parts of avg(part) x the
 * sequences that went through it = avg(total) x count(total). A component is averaged only over
 * the sequences where it occurred (no zeros for the others). */
static void test_path_averages_of_components_and_remainder_add_up_to_the_total(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "mixed.log");
    const char *paths[] = {NULL, "fast", "slow"};
    const char *names[] = {"ffi_send", "ffi_get", "select_wait", "efd_read", "python_overhead"};
    for (int p = 0; p < 3; p++) {
        hist_summary tot = total(a, "send_and_await", paths[p]);
        double sum = 0;
        for (int i = 0; i < 5; i++) {
            uint64_t seen = 0;
            hist_summary h = part(a, "send_and_await", paths[p], names[i], &seen);
            assert_u64_equal(seen, h.count, "path %s, %s: the part's statistics cover the sequences "
                             "it occurred in", paths[p] ? paths[p] : "all", names[i]);
            if (seen)
                assert_true(h.min > 0 || (print_error("%s: min 0\n", names[i]), 0));
            sum += h.avg * (double)seen / (double)tot.count;
        }
        assert_double_near(tot.avg, sum, 1e-6, "path %s: avg total vs sum of parts",
                           paths[p] ? paths[p] : "all");
    }
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_unknown_command_points_join_the_next_command_of_their_client_and_session(void **s_)
{
    (void)s_;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "mixed.log");
    /* Commands 2 (client 0 session 1) and 3 (client 1 session 7) interleave their '-' points. */
    hist_summary ffi = interval(a, "ffi_send");
    assert_u64_equal(4, ffi.count, "ffi_send occurrences (commands 1, 2, 3, 4)");
    assert_u64_equal(200, ffi.min, "command 1: 1300 - 1100");
    assert_u64_equal(400, ffi.max, "command 3: 2850 - 2450");
    assert_double_near(300.0, ffi.avg, 1e-9, "ffi_send avg (200 + 300 + 400 + 300) / 4");
    assert_u64_equal(4, analyze_get_counts(a)->adopted, "lanes joined to commands 1, 2, 3, 4");
    assert_u64_equal(0, analyze_get_counts(a)->unmatched_ends, "no unmatched end");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_non_timing_lines_are_skipped_and_counted(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "mixed.log");
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(40, c->lines, "lines");
    assert_u64_equal(32, c->points, "TIMING points");
    assert_u64_equal(8, c->other, "other lines (blank, indented, lower case, program output)");
    assert_u64_equal(0, c->malformed, "malformed");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_malformed_lines_are_counted_and_the_first_reported_with_line_numbers(void **s_)
{
    (void)s_;
    char *text = read_all(fixture_path("malformed.log"), NULL);
    char *diag = NULL;
    size_t diag_len = 0;
    FILE *f = open_memstream(&diag, &diag_len);
    analyze_options o = {.diag = f, .diag_prefix = "analyze: ", .max_reported = 5};
    analyze *a = analyze_text_opts(&o, text, 0);
    fclose(f);
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(12, c->lines, "lines");
    assert_u64_equal(8, c->malformed, "malformed lines (2, 4, 5, 6, 8, 9, 10, 11)");
    assert_u64_equal(1, c->too_long, "too long (line 11)");
    assert_u64_equal(3, c->points, "good lines (1, 7, 12)");
    assert_u64_equal(1, c->other, "other lines (3)");
    assert_contains(diag, "analyze: test.log:2: bad timestamp 'x'\n", "first report");
    assert_contains(diag, "analyze: test.log:4: bad client_id 'abc'\n", "second report");
    assert_contains(diag, "analyze: test.log:5: missing field session_id", "third report");
    assert_contains(diag, "analyze: test.log:6: empty label\n", "fourth report");
    assert_contains(diag, "analyze: test.log:8: bad timestamp '9999", "fifth report");
    assert_not_contains(diag, ":9:", "only the first 5 are reported");
    /* the stream went on after the long line: line 12's field is there */
    hist_summary h;
    uint64_t sum;
    assert_int_equal(analyze_field_stats(a, "x_ns", &h, &sum), 0);
    assert_u64_equal(12, sum, "x_ns of line 12");
    analyze_free(a);
    free(diag);
    free(text);
}

static void test_out_of_order_repeated_unfinished_and_unmatched_are_counted(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_fixture("reference.spec");
    analyze *a = analyze_fixture(s, "ooo.log");
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(1, c->out_of_order, "out of order (command 10's AFTER_ASYNC_SEND)");
    assert_u64_equal(1, c->negative, "negative interval not recorded");
    assert_u64_equal(0, interval(a, "ffi_send").max > 1000, "no absurd ffi_send");
    assert_u64_equal(1, interval(a, "ffi_send").count, "ffi_send: command 11 only");
    assert_u64_equal(1, c->repeated_starts, "repeated ENTRY of command 12");
    assert_u64_equal(1, c->unfinished, "command 11 never exits");
    assert_u64_equal(1, c->unmatched_ends, "command 13 exits without entry");
    assert_u64_equal(1, c->unmatched_starts, "command 14's select never returns");
    hist_summary fast = total(a, "send_and_await", "fast");
    assert_u64_equal(2, fast.count, "commands 10 and 12 finished fast");
    assert_u64_equal(200, fast.min, "command 12 measured from the repeated (later) entry");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_default_mode_measures_consecutive_points_per_correlation_id(void **state)
{
    (void)state;
    analyze *a = analyze_fixture(NULL, "mixed.log");
    hist_summary h;
    assert_int_equal(analyze_pair_stats(a, "PY_BEFORE_ASYNC_SEND", "PY_AFTER_ASYNC_SEND", &h), 0);
    assert_u64_equal(3, h.count, "BEFORE -> AFTER_ASYNC_SEND, commands 1, 2, 3");
    assert_u64_equal(200, h.min, "command 1");
    assert_u64_equal(400, h.max, "command 3");
    assert_int_equal(analyze_pair_stats(a, "PY_SEND_AND_AWAIT_ENTRY", "PY_BEFORE_ASYNC_SEND", &h), 0);
    assert_u64_equal(3, h.count, "ENTRY -> BEFORE_ASYNC_SEND: the lane joined behind the entry");
    assert_int_equal(analyze_pair_stats(a, "PY_BEFORE_SELECT", "PY_AFTER_SELECT", &h), 0);
    assert_u64_equal(10000, h.max, "select");
    /* interleaved commands 2 and 3 are never paired with each other */
    assert_int_equal(analyze_pair_stats(a, "PY_BEFORE_SELECT", "PY_AFTER_ASYNC_SEND", &h), -1);
    assert_int_equal(analyze_pair_stats(a, "PY_SEND_AND_AWAIT_ENTRY", "PY_AFTER_ASYNC_SEND", &h),
                     -1);
    analyze_free(a);
}

static void test_idle_sequences_are_evicted_and_counted_unfinished(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("total t = START -> END\n");
    analyze_options o = {.spec = s, .idle_ns = 1000};
    analyze *a = analyze_text_opts(&o,
                                   "TIMING,START,0,0,1,0,\n"
                                   "TIMING,START,100,0,2,0,\n"
                                   "TIMING,START,5000,0,3,0,\n" /* 1 and 2 idle for > 1000 ns */
                                   "TIMING,END,5100,0,1,0,\n"   /* 1 was forgotten */
                                   "TIMING,END,5200,0,3,0,\n",
                                   0);
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(2, c->evicted, "commands 1 and 2 evicted");
    assert_u64_equal(2, c->unfinished, "their totals are unfinished");
    assert_u64_equal(1, c->unmatched_ends, "command 1's late END");
    assert_u64_equal(1, total(a, "t", NULL).count, "command 3 measured");
    assert_u64_equal(200, total(a, "t", NULL).max, "command 3: 5200 - 5000");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_open_sequences_are_bounded_by_max_open(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("total t = START -> END\n");
    size_t cap = 1000 * 40 + 1;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "TIMING,START,%d,0,%d,0,\n", i, i);
    analyze_options o = {.spec = s, .max_open = 10};
    analyze *a = analyze_text_opts(&o, text, 0);
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(10, c->max_open_seen, "never more than max_open sequences");
    assert_u64_equal(990, c->evicted_over_cap, "evicted for the cap");
    assert_u64_equal(1000, c->unfinished, "every total unfinished (990 evicted + 10 at the end)");
    analyze_free(a);
    analyze_spec_free(s);
    free(text);
}

static void test_closed_sequences_free_their_state(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("total t = START -> END\n");
    size_t cap = 100000 * 60 + 1;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < 100000; i++)
        p += sprintf(p, "TIMING,START,%d,0,%d,0,\nTIMING,END,%d,0,%d,0,\n", 10 * i, i, 10 * i + 5, i);
    analyze_options o = {.spec = s, .max_open = 4};
    analyze *a = analyze_text_opts(&o, text, 0);
    assert_u64_equal(1, analyze_get_counts(a)->max_open_seen, "one sequence open at a time");
    assert_u64_equal(0, analyze_get_counts(a)->evicted, "nothing evicted");
    assert_u64_equal(100000, total(a, "t", NULL).count, "every total measured");
    analyze_free(a);
    analyze_spec_free(s);
    free(text);
}

/* Feeding the log one byte at a time gives the same results as feeding it at once. */
static void test_lines_split_across_reads_are_joined(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_fixture("reference.spec");
    char *text = read_all(fixture_path("mixed.log"), NULL);
    analyze_options o = {.spec = s};
    size_t chunks[] = {1, 3, 7, 64};
    for (size_t k = 0; k < 4; k++) {
        analyze *a = analyze_text_opts(&o, text, chunks[k]);
        assert_u64_equal(40, analyze_get_counts(a)->lines, "lines, chunks of %zu", chunks[k]);
        assert_u64_equal(32, analyze_get_counts(a)->points, "points, chunks of %zu", chunks[k]);
        assert_u64_equal(11000, total(a, "send_and_await", "slow").max, "slow total, chunks of %zu",
                         chunks[k]);
        analyze_free(a);
    }
    free(text);
    analyze_spec_free(s);
}

static void test_a_long_line_split_across_reads_is_malformed_and_the_stream_goes_on(void **s_)
{
    (void)s_;
    size_t n = 3 * TIMING_MAX_LINE;
    char *text = malloc(n + 200);
    char *p = text;
    p += sprintf(p, "TIMING,A,1,0,1,0,a_ns=1\nTIMING,B,2,0,1,0,");
    memset(p, 'y', n);
    p += n;
    p += sprintf(p, "\n%s\nTIMING,C,3,0,1,0,a_ns=2\nno newline at the end", "z");
    *p = '\0';
    analyze_options o = {0};
    analyze *a = analyze_text_opts(&o, text, 1000);
    const analyze_counts *c = analyze_get_counts(a);
    assert_u64_equal(5, c->lines, "lines");
    assert_u64_equal(1, c->too_long, "too long");
    assert_u64_equal(1, c->malformed, "malformed");
    assert_u64_equal(2, c->points, "points A and C");
    assert_u64_equal(2, c->other, "'z' and the last line without a newline");
    hist_summary h;
    uint64_t sum;
    assert_int_equal(analyze_field_stats(a, "a_ns", &h, &sum), 0);
    assert_u64_equal(3, sum, "a_ns of A and C");
    analyze_free(a);
    free(text);
}

static void test_an_interval_from_a_label_to_itself_measures_consecutive_points(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("interval tick = LOOP -> LOOP\n");
    analyze *a = analyze_text(s, "TIMING,LOOP,100,0,1,0,\nTIMING,LOOP,150,0,1,0,\n"
                                 "TIMING,LOOP,350,0,1,0,\n");
    hist_summary h = interval(a, "tick");
    assert_u64_equal(2, h.count, "ticks");
    assert_u64_equal(50, h.min, "first tick");
    assert_u64_equal(200, h.max, "second tick");
    assert_u64_equal(0, analyze_get_counts(a)->repeated_starts, "not a repeated start");
    assert_u64_equal(0, analyze_get_counts(a)->unmatched_ends, "not an unmatched end");
    assert_u64_equal(1, analyze_get_counts(a)->unmatched_starts, "the last LOOP stays open");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_has_and_lacks_conditions_choose_the_first_matching_path(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("total t = IN -> OUT\n"
                                     "path waited = has WAIT\n"
                                     "path quick  = lacks WAIT\n");
    analyze *a = analyze_text(s, "TIMING,IN,0,0,1,0,\nTIMING,WAIT,5,0,1,0,\nTIMING,OUT,100,0,1,0,\n"
                                 "TIMING,IN,200,0,2,0,\nTIMING,OUT,210,0,2,0,\n"
                                 "TIMING,WAIT,300,0,3,0,\n" /* before command 3's total: no effect */
                                 "TIMING,IN,310,0,3,0,\nTIMING,OUT,330,0,3,0,\n");
    assert_u64_equal(1, total(a, "t", "waited").count, "waited");
    assert_u64_equal(100, total(a, "t", "waited").max, "waited: command 1");
    assert_u64_equal(2, total(a, "t", "quick").count, "quick: commands 2 and 3");
    assert_u64_equal(0, total(a, "t", "other").count, "other");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_components_of_a_lane_count_toward_the_command_total_it_joins(void **state)
{
    (void)state;
    /* ENTRY has the command id, the whole FFI send happens before the id is known. */
    analyze_spec *s = spec_from_text("interval send = BS -> AS\n"
                                     "total t = ENTRY -> EXIT\n"
                                     "components = send\n"
                                     "path sent = has AS\n");
    analyze *a = analyze_text(s, "TIMING,ENTRY,1000,4,9,2,\n"
                                 "TIMING,BS,1100,4,-,2,\n"
                                 "TIMING,AS,1400,4,-,2,\n"
                                 "TIMING,CHECK,1500,4,9,2,\n"
                                 "TIMING,EXIT,2000,4,9,2,\n");
    assert_u64_equal(1, total(a, "t", "sent").count, "the lane's AS satisfies 'has AS'");
    assert_u64_equal(300, part(a, "t", NULL, "send", NULL).max, "send counted in the total");
    assert_u64_equal(700, part(a, "t", NULL, "unaccounted", NULL).max, "remainder 1000 - 300");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_negative_remainders_are_clamped_and_counted(void **state)
{
    (void)state;
    analyze_spec *s = spec_from_text("interval x = A -> B\ninterval y = C -> D\n"
                                     "total t = IN -> OUT\ncomponents = x + y\n");
    /* x and y overlap: 80 + 80 > 100 */
    analyze *a = analyze_text(s, "TIMING,IN,0,0,1,0,\nTIMING,A,10,0,1,0,\nTIMING,C,10,0,1,0,\n"
                                 "TIMING,B,90,0,1,0,\nTIMING,D,90,0,1,0,\nTIMING,OUT,100,0,1,0,\n");
    assert_u64_equal(1, analyze_get_counts(a)->negative_remainders, "negative remainders");
    assert_u64_equal(0, part(a, "t", NULL, "unaccounted", NULL).max, "clamped at 0");
    analyze_free(a);
    analyze_spec_free(s);
}

static void test_ns_fields_are_summed_per_field_name(void **state)
{
    (void)state;
    analyze *a = analyze_fixture(NULL, "mixed.log");
    hist_summary h;
    uint64_t sum = 0;
    assert_int_equal(analyze_field_stats(a, "ffi_duration_ns", &h, &sum), 0);
    assert_u64_equal(4, h.count, "ffi_duration_ns count");
    assert_u64_equal(200 + 300 + 400 + 300, sum, "ffi_duration_ns sum");
    assert_int_equal(analyze_field_stats(a, "get_response_duration_ns", &h, &sum), 0);
    assert_u64_equal(250, sum, "get_response_duration_ns sum");
    assert_int_equal(analyze_field_stats(a, "efd", &h, &sum), -1);
    analyze_free(a);
}

static char *write_to_string(const analyze *a, analyze_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(analyze_write(a, f, m), 0);
    fclose(m);
    return buf;
}

static void test_timeline_lists_the_points_of_one_command_with_offsets_and_deltas(void **state)
{
    (void)state;
    char *text = read_all(fixture_path("mixed.log"), NULL);
    analyze_options o = {.timeline = 1, .command = 2};
    analyze *a = analyze_text_opts(&o, text, 0);
    assert_u64_equal(12, analyze_timeline_length(a), "points of command 2 (one of them '-')");
    char *csv = write_to_string(a, ANALYZE_CSV);
    assert_contains(csv, "label,ts_ns,offset_ns,delta_ns,client,command,session,line,context\n",
                    "header");
    assert_contains(csv, "PY_SEND_AND_AWAIT_ENTRY,2000,0,0,0,2,1,11,op=PUT\n", "first point");
    assert_contains(csv, "PY_BEFORE_ASYNC_SEND,2100,100,100,0,-,1,12,op=Operation.PUT\n",
                    "the joined unknown-command point");
    assert_contains(csv, "PY_AFTER_SELECT,12600,10600,10000,0,2,1,24,", "after select");
    assert_not_contains(csv, ",3,7,", "command 3 is not in command 2's timeline");
    free(csv);
    analyze_free(a);
    free(text);
}

/* ---- JSON: a small validating parser, to check that the output parses and to read keys --------- */
typedef struct jcur {
    const char *p;
} jcur;

static void jws(jcur *c)
{
    while (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r')
        c->p++;
}

static int jvalue(jcur *c);

static int jstring(jcur *c)
{
    if (*c->p != '"')
        return -1;
    for (c->p++; *c->p != '"'; c->p++) {
        if ((unsigned char)*c->p < 0x20)
            return -1;
        if (*c->p == '\\') {
            c->p++;
            if (*c->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", c->p[i]) || !c->p[i])
                        return -1;
                c->p += 4;
            } else if (!*c->p || !strchr("\"\\/bfnrt", *c->p)) {
                return -1;
            }
        }
    }
    c->p++;
    return 0;
}

static int jnumber(jcur *c)
{
    const char *s = c->p;
    if (*c->p == '-')
        c->p++;
    if (*c->p < '0' || *c->p > '9')
        return -1;
    while ((*c->p >= '0' && *c->p <= '9') || *c->p == '.' || *c->p == 'e' || *c->p == 'E' ||
           *c->p == '+' || *c->p == '-')
        c->p++;
    return c->p > s ? 0 : -1;
}

static int jvalue(jcur *c)
{
    jws(c);
    if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        int object = *c->p == '{';
        c->p++;
        jws(c);
        if (*c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            jws(c);
            if (object) {
                if (jstring(c) < 0)
                    return -1;
                jws(c);
                if (*c->p++ != ':')
                    return -1;
            }
            if (jvalue(c) < 0)
                return -1;
            jws(c);
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p++ != close)
                return -1;
            return 0;
        }
    }
    if (*c->p == '"')
        return jstring(c);
    if (!strncmp(c->p, "true", 4) || !strncmp(c->p, "null", 4)) {
        c->p += 4;
        return 0;
    }
    if (!strncmp(c->p, "false", 5)) {
        c->p += 5;
        return 0;
    }
    return jnumber(c);
}

static int json_valid(const char *doc)
{
    jcur c = {doc};
    if (jvalue(&c) < 0)
        return 0;
    jws(&c);
    return *c.p == '\0';
}

/* The value at a path of object keys and array indexes ("summary", "malformed" / "intervals", "0"),
 * or NULL. The document must be valid. */
static const char *json_at(const char *doc, const char *const *path, int n)
{
    jcur c = {doc};
    for (int i = 0; i < n; i++) {
        jws(&c);
        if (*c.p == '{') {
            c.p++;
            for (;;) {
                jws(&c);
                if (*c.p == '}')
                    return NULL;
                const char *k = c.p + 1;
                jstring(&c);
                size_t kl = (size_t)(c.p - 1 - k);
                jws(&c);
                c.p++; /* ':' */
                jws(&c);
                if (kl == strlen(path[i]) && !strncmp(k, path[i], kl))
                    break;
                jvalue(&c);
                jws(&c);
                if (*c.p == ',')
                    c.p++;
            }
        } else if (*c.p == '[') {
            c.p++;
            for (int idx = atoi(path[i]); idx > 0; idx--) {
                jws(&c);
                if (*c.p == ']')
                    return NULL;
                jvalue(&c);
                jws(&c);
                if (*c.p == ',')
                    c.p++;
            }
            jws(&c);
            if (*c.p == ']')
                return NULL;
        } else {
            return NULL;
        }
    }
    jws(&c);
    return c.p;
}

#define JSON_AT(doc, ...)                                                                           \
    json_at(doc, (const char *const[]){__VA_ARGS__},                                                \
            (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))

static void assert_json_number(const char *doc, const char *where, const char *value, double want)
{
    if (!value) {
        print_error("%s: key missing in:\n%s\n", where, doc);
        fail();
    }
    assert_double_near(want, strtod(value, NULL), 1e-9, "%s", where);
}

static void test_json_output_is_valid_even_with_odd_bytes_in_labels_and_context(void **state)
{
    (void)state;
    analyze_options o = {.timeline = 1, .command = 1};
    analyze *a = analyze_text_opts(&o, "TIMING,A\"\\\xff\xc3\xa9,1,0,1,0,q=\"x\"\x01\xe2\x82\n"
                                       "TIMING,B,2,0,1,0,ok\n", 0);
    char *json = write_to_string(a, ANALYZE_JSON);
    if (!json_valid(json)) {
        print_error("invalid JSON:\n%s\n", json);
        fail();
    }
    assert_contains(json, "\"A\\\"\\\\\\ufffd\xc3\xa9\"", "escaped label, é kept");
    free(json);
    analyze_free(a);
    analyze *b = analyze_text_opts(&(analyze_options){0}, "TIMING,A\xff,1,0,1,0,\nTIMING,B,2,0,1,0,\n",
                                   0);
    json = write_to_string(b, ANALYZE_JSON);
    if (!json_valid(json)) {
        print_error("invalid JSON:\n%s\n", json);
        fail();
    }
    free(json);
    analyze_free(b);
}

/* ---- the binary ---------------------------------------------------------------------------------- */
typedef struct run_result {
    int status;       /* exit status, -1 when it did not exit */
    char *out, *err;  /* its output, in run */
    tu_run_result *run;
} run_result;

/* Runs `timekeeper analyze ARGS` (words split at spaces) in tests/data/analyze, with stdin from
 * `input` there (NULL: /dev/null). Kills it after 30 s. */
/* Runs `timekeeper analyze ARGS` in the fixtures folder under the locale lang (LC_ALL). */
static run_result run_analyze_lang(const char *args, const char *input, const char *lang)
{
    const char *bin = getenv("TK_BIN");
    if (!bin) {
        print_message("TK_BIN is not set: skipping (run through ctest)\n");
        skip();
    }
    char exe[512], dir[1024], words[4096];
    snprintf(exe, sizeof exe, "%s/timekeeper", bin);
    snprintf(dir, sizeof dir, "%s/tests/data/analyze",
             getenv("TK_SOURCE_DIR") ? getenv("TK_SOURCE_DIR") : "..");
    snprintf(words, sizeof words, "%s", args);
    const char *argv[32] = {"analyze"};
    size_t n = 1;
    for (char *w = strtok(words, " "); w && n < 31; w = strtok(NULL, " "))
        argv[n++] = w;
    run_result r = {.run = malloc(sizeof *r.run)};
    assert_non_null(r.run);
    char lc_all[64];
    snprintf(lc_all, sizeof lc_all, "LC_ALL=%s", lang);
    const char *const env[] = {lc_all, NULL};
    tu_spawn(&(tu_spawn_options){.exe = exe, .args = argv, .cwd = dir, .env_set = env,
                                 .stdin_path = input ? input : "/dev/null", .timeout_s = 30},
             r.run);
    r.status = WIFEXITED(r.run->status) ? WEXITSTATUS(r.run->status) : -1;
    r.out = r.run->out;
    r.err = r.run->err;
    return r;
}

/* The same under LC_ALL=C (so microseconds print as us). */
static run_result run_analyze(const char *args, const char *input)
{
    return run_analyze_lang(args, input, "C");
}

static void run_free(run_result *r)
{
    free(r->run);
}

static void test_cli_table_shows_the_breakdown_with_adaptive_units(void **state)
{
    (void)state;
    run_result r = run_analyze("--spec reference.spec slow-path.log", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "select_wait", "table");
    assert_contains(r.out, "5.00ms", "select wait in ms");
    assert_contains(r.out, "400ns", "ffi send in ns");
    assert_contains(r.out, "python_overhead", "remainder row");
    assert_contains(r.out, "999us", "python overhead in us under LC_ALL=C");
    run_free(&r);
    r = run_analyze_lang("--spec reference.spec slow-path.log", NULL, "C.UTF-8");
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "999µs", "python overhead in µs under a UTF-8 locale");
    run_free(&r);
}

/* The breakdown says where each path's time goes in one line, what each part measures (its labels
 * and the comment of its spec line), and a component that a path never went through is neither
 * counted nor averaged there as zeros. */
static void test_cli_breakdown_has_a_headline_the_meaning_of_parts_and_no_zero_components(void **state)
{
    (void)state;
    run_result r = run_analyze("--spec reference.spec mixed.log", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "fast path: 50.0% python_overhead; slow path: 90.9% select_wait",
                    "headline of send_and_await");
    assert_contains(r.out, "select_wait      *BEFORE_SELECT -> *AFTER_SELECT", "legend: labels");
    assert_contains(r.out, "python_overhead  the rest of send_and_await", "legend: remainder");
    /* "all": 3 sequences, one selected: select_wait counts 1 and its p50 is its one value */
    assert_contains(r.out, "    select_wait              1    10.0us    10.0us", "select_wait on all");
    assert_not_contains(r.out, " 0ns ", "no zero-valued statistic");
    run_free(&r);
    char spec[] = "/tmp/tk-test-spec-XXXXXX";
    int fd = mkstemp(spec);
    assert_true(fd >= 0);
    const char text[] = "interval wait = *BEFORE_SELECT -> *AFTER_SELECT  # waiting for the wake-up\n"
                        "total all = PY_SEND_AND_AWAIT_ENTRY -> PY_SEND_AND_AWAIT_EXIT_*\n"
                        "  components = wait\n"
                        "  remainder = rest   # Python between the calls\n";
    assert_true(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    char args[128];
    snprintf(args, sizeof args, "--spec %s mixed.log", spec);
    r = run_analyze(args, NULL);
    unlink(spec);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "wait             waiting for the wake-up (*BEFORE_SELECT -> *AFTER_SELECT)",
                    "legend: the comment of the interval's line");
    assert_contains(r.out, "rest             Python between the calls (the rest of all",
                    "legend: the comment of the remainder's line");
    run_free(&r);
}

/* No point at all (empty, binary or unrelated input) is a failure: exit 1 with a word on stderr. */
static void test_cli_input_without_points_exits_1(void **state)
{
    (void)state;
    char bin[] = "/tmp/tk-test-bin-XXXXXX";
    int fd = mkstemp(bin);
    assert_true(fd >= 0);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7919u >> 3);
    assert_true(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);
    const char *inputs[] = {"/dev/null", bin, "bad.spec"};
    for (size_t i = 0; i < 3; i++) {
        run_result r = run_analyze(inputs[i], NULL);
        assert_true(r.status == 1 || (print_error("analyze %s: exit %d\n", inputs[i], r.status), 0));
        assert_contains(r.err, "no TIMING points", "analyze %s: stderr", inputs[i]);
        run_free(&r);
    }
    unlink(bin);
    run_result r = run_analyze("seed-sample.log", NULL);
    assert_int_equal(r.status, 0);
    run_free(&r);
}

/* Points past the label limit are not silently ignored: a warning says how many. */
static void test_cli_labels_past_the_limit_are_warned_about(void **state)
{
    (void)state;
    char log[] = "/tmp/tk-test-labels-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < ANALYZE_MAX_LABELS + 100; i++)
        fprintf(f, "TIMING,L%d,%d,1,%d,1,\n", i, i * 10, i);
    fclose(f);
    run_result r = run_analyze(log, NULL);
    unlink(log);
    assert_int_equal(r.status, 0);
    assert_contains(r.err, "warning: 100 of", "the dropped points counted on stderr");
    assert_contains(r.err, "distinct labels", "and why");
    run_free(&r);
}

static void test_cli_json_output_parses_and_has_the_documented_keys(void **state)
{
    (void)state;
    run_result r = run_analyze("--json --spec reference.spec slow-path.log", NULL);
    assert_int_equal(r.status, 0);
    if (!json_valid(r.out)) {
        print_error("invalid JSON:\n%s\n", r.out);
        fail();
    }
    const char *doc = r.out;
    assert_contains(JSON_AT(doc, "mode"), "\"spec\"", "mode");
    assert_contains(JSON_AT(doc, "intervals", "0", "name"), "\"ffi_send\"", "first interval");
    assert_json_number(doc, "intervals[0].p50_ns", JSON_AT(doc, "intervals", "0", "p50_ns"), 400);
    assert_json_number(doc, "intervals[2].max_ns", JSON_AT(doc, "intervals", "2", "max_ns"), 5000000);
    assert_contains(JSON_AT(doc, "totals", "0", "paths", "2", "name"), "\"slow\"", "paths[2]");
    assert_json_number(doc, "slow total avg",
                       JSON_AT(doc, "totals", "0", "paths", "2", "total", "avg_ns"), 6000000);
    assert_contains(JSON_AT(doc, "totals", "0", "paths", "2", "parts", "4", "kind"), "\"remainder\"",
                    "remainder part");
    assert_json_number(doc, "slow remainder",
                       JSON_AT(doc, "totals", "0", "paths", "2", "parts", "4", "max_ns"), 999450);
    const char *keys[] = {"p90_ns", "p99_ns", "min_ns", "count", "avg_ns"};
    for (int i = 0; i < 5; i++)
        if (!JSON_AT(doc, "intervals", "1", keys[i])) {
            print_error("intervals[1].%s missing\n", keys[i]);
            fail();
        }
    assert_json_number(doc, "fields[0].sum_ns", JSON_AT(doc, "fields", "0", "sum_ns"), 400);
    assert_json_number(doc, "summary.points", JSON_AT(doc, "summary", "points"), 12);
    assert_json_number(doc, "summary.malformed", JSON_AT(doc, "summary", "malformed"), 0);
    assert_json_number(doc, "summary.unfinished", JSON_AT(doc, "summary", "unfinished"), 0);
    assert_true(JSON_AT(doc, "pairs") && *JSON_AT(doc, "pairs") == '[');
    run_free(&r);

    r = run_analyze("--json mixed.log", NULL);
    assert_int_equal(r.status, 0);
    if (!json_valid(r.out)) {
        print_error("invalid JSON (default mode):\n%s\n", r.out);
        fail();
    }
    assert_contains(JSON_AT(r.out, "mode"), "\"consecutive\"", "mode");
    assert_contains(JSON_AT(r.out, "pairs", "0", "from"), "\"PY_SEND_AND_AWAIT_ENTRY\"", "pair");
    assert_json_number(r.out, "summary.other_lines", JSON_AT(r.out, "summary", "other_lines"), 8);
    run_free(&r);

    r = run_analyze("--json --command 42 seed-sample.log", NULL);
    assert_int_equal(r.status, 0);
    assert_true(json_valid(r.out));
    assert_json_number(r.out, "points[1].delta_ns", JSON_AT(r.out, "points", "2", "delta_ns"), 400);
    assert_contains(JSON_AT(r.out, "points", "1", "command"), "null", "unknown command is null");
    run_free(&r);
}

static void test_cli_csv_starts_with_the_header_and_has_one_row_per_statistic(void **state)
{
    (void)state;
    run_result r = run_analyze("--csv --spec reference.spec slow-path.log", NULL);
    assert_int_equal(r.status, 0);
    const char *header = "kind,name,total,path,count,min_ns,avg_ns,p50_ns,p90_ns,p99_ns,max_ns,sum_ns\n";
    if (strncmp(r.out, header, strlen(header)) != 0) {
        print_error("expected CSV header %s got:\n%.200s\n", header, r.out);
        fail();
    }
    assert_contains(r.out, "\ninterval,ffi_send,,,1,400,400.0,400,400,400,400,\n", "interval row");
    assert_contains(r.out, "\nremainder,python_overhead,send_and_await,slow,1,999450,", "remainder");
    assert_contains(r.out, "\nfield,select_duration_ns,,,1,", "field row");
    assert_contains(r.out, "\ncounter,points,,,12,", "counter row");
    /* every row has as many columns as the header */
    for (const char *line = r.out; *line;) {
        const char *nl = strchr(line, '\n');
        int commas = 0, quoted = 0;
        for (const char *p = line; p < nl; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == ',' && !quoted)
                commas++;
        }
        if (commas != 11) {
            print_error("expected 11 commas, got %d in: %.*s\n", commas, (int)(nl - line), line);
            fail();
        }
        line = nl + 1;
    }
    run_free(&r);
}

static void test_cli_bad_usage_exits_2(void **state)
{
    (void)state;
    const char *bad[] = {"--no-such-option", "--json --csv x.log", "--command abc seed-sample.log",
                         "--command -1 seed-sample.log", "--live seed-sample.log",
                         "--duration 5 seed-sample.log", "--spec", "--idle 0 seed-sample.log",
                         "--spec reference.spec --command 42 seed-sample.log"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = run_analyze(bad[i], NULL);
        if (r.status != 2) {
            print_error("'analyze %s': expected exit 2, got %d (stderr: %s)\n", bad[i], r.status, r.err);
            fail();
        }
        assert_contains(r.err, "timekeeper analyze: ", "error message of '%s'", bad[i]);
        run_free(&r);
    }
}

static void test_cli_missing_file_exits_1_with_a_clear_message(void **state)
{
    (void)state;
    run_result r = run_analyze("no-such-file.log", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "cannot open 'no-such-file.log': No such file or directory", "stderr");
    run_free(&r);
    r = run_analyze("--spec no-such.spec seed-sample.log", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "no-such.spec: No such file or directory", "stderr");
    run_free(&r);
    r = run_analyze("seed-sample.log .", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "cannot read '.': Is a directory", "stderr");
    run_free(&r);
}

static void test_cli_bad_spec_exits_1_and_names_the_file_and_line(void **state)
{
    (void)state;
    run_result r = run_analyze("--spec bad.spec seed-sample.log", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "timekeeper analyze: bad.spec:6: unknown interval 'ffi_sned'", "stderr");
    run_free(&r);
}

static void test_cli_reads_stdin_and_reports_malformed_lines_on_stderr(void **state)
{
    (void)state;
    run_result r = run_analyze("--json", "malformed.log");
    assert_int_equal(r.status, 0);
    assert_true(json_valid(r.out));
    assert_json_number(r.out, "summary.malformed", JSON_AT(r.out, "summary", "malformed"), 8);
    assert_contains(r.err, "timekeeper analyze: <stdin>:2: bad timestamp 'x'", "first report");
    assert_contains(r.err, "8 malformed lines in all (the first 5 shown)", "total report");
    run_free(&r);
    r = run_analyze("--max-errors 0 -", "malformed.log");
    assert_int_equal(r.status, 0);
    assert_not_contains(r.err, "bad timestamp", "--max-errors 0");
    run_free(&r);
}

static void test_cli_command_timeline_and_an_absent_command(void **state)
{
    (void)state;
    run_result r = run_analyze("--command 42 slow-path.log", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "command 42: 12 points", "timeline title");
    assert_contains(r.out, "PY_BEFORE_ASYNC_SEND", "the '-' point");
    assert_contains(r.out, "5.0007ms", "exact offset of AFTER_SELECT");
    run_free(&r);
    r = run_analyze("--command 7 slow-path.log", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "no point has command id 7", "stderr");
    run_free(&r);
}

static void test_cli_help_exits_0_and_lists_the_options(void **state)
{
    (void)state;
    run_result r = run_analyze("--help", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: timekeeper analyze", "help");
    assert_contains(r.out, "--spec FILE", "help");
    assert_contains(r.out, "--live", "help");
    run_free(&r);
}

/* --live: this test process records points into its own rings (TK_DIR is a fresh directory), and
 * `timekeeper analyze --live` reads them from there. */
static void test_cli_live_reads_the_points_of_running_processes(void **state)
{
    (void)state;
    if (!getenv("TK_BIN"))
        skip();
    char dir[] = "/tmp/tk-analyze-live-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("TK_DIR", dir, 1); /* read by libtimekeeper at its first call, just below */
    tk_label_t entry = tk_label("PY_SEND_AND_AWAIT_ENTRY"), before = tk_label("PY_BEFORE_ASYNC_SEND"),
               after = tk_label("PY_AFTER_ASYNC_SEND"), exit_fast = tk_label("PY_SEND_AND_AWAIT_EXIT_FAST");
    if (!entry || !before || !after || !exit_fast) {
        print_message("libtimekeeper cannot record here (no segment in %s): skipping\n", dir);
        skip();
    }
    for (uint64_t c = 1; c <= 50; c++) {
        tk_point(entry, 3, c, 9, "op=GET");
        tk_point(before, 3, TK_ID_NONE, 9, NULL);
        tk_point(after, 3, c, 9, "ffi_duration_ns=400");
        tk_point(exit_fast, 3, c, 9, NULL);
    }
    char args[256];
    snprintf(args, sizeof args, "--live --duration 0.5 --dir %s --json --spec reference.spec", dir);
    run_result r = run_analyze(args, NULL);
    assert_int_equal(r.status, 0);
    if (!json_valid(r.out)) {
        print_error("invalid JSON:\n%s\nstderr: %s\n", r.out, r.err);
        fail();
    }
    assert_json_number(r.out, "summary.points", JSON_AT(r.out, "summary", "points"), 200);
    assert_json_number(r.out, "summary.adopted", JSON_AT(r.out, "summary", "adopted"), 50);
    assert_json_number(r.out, "ffi_send count", JSON_AT(r.out, "intervals", "0", "count"), 50);
    assert_json_number(r.out, "fast path count",
                       JSON_AT(r.out, "totals", "0", "paths", "1", "count"), 50);
    assert_json_number(r.out, "ffi_duration_ns sum", JSON_AT(r.out, "fields", "0", "sum_ns"),
                       50 * 400);
    run_free(&r);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_every_field_of_a_well_formed_line),
        cmocka_unit_test(test_parse_reads_dash_as_unknown_id),
        cmocka_unit_test(test_parse_accepts_empty_context_and_strips_crlf),
        cmocka_unit_test(test_parse_skips_lines_that_are_not_timing_lines),
        cmocka_unit_test(test_parse_reports_the_bad_field_of_malformed_lines),
        cmocka_unit_test(test_parse_accepts_the_largest_timestamp_and_id),
        cmocka_unit_test(test_parse_rejects_lines_longer_than_the_limit),
        cmocka_unit_test(test_parse_never_reads_past_the_given_length),
        cmocka_unit_test(test_ns_fields_yield_numeric_ns_fields_and_count_bad_ones),
        cmocka_unit_test(test_spec_errors_name_the_file_and_line),
        cmocka_unit_test(test_spec_accepts_comments_globs_and_arrows_without_spaces),
        cmocka_unit_test(test_spec_load_reports_a_missing_file),
        cmocka_unit_test(test_seed_sample_gives_ffi_send_400ns_select_field_5ms_and_consistent_overhead),
        cmocka_unit_test(test_slow_path_gives_select_wait_5ms_and_overhead_total_minus_components),
        cmocka_unit_test(test_fast_and_slow_paths_are_separated),
        cmocka_unit_test(test_path_averages_of_components_and_remainder_add_up_to_the_total),
        cmocka_unit_test(test_unknown_command_points_join_the_next_command_of_their_client_and_session),
        cmocka_unit_test(test_non_timing_lines_are_skipped_and_counted),
        cmocka_unit_test(test_malformed_lines_are_counted_and_the_first_reported_with_line_numbers),
        cmocka_unit_test(test_out_of_order_repeated_unfinished_and_unmatched_are_counted),
        cmocka_unit_test(test_default_mode_measures_consecutive_points_per_correlation_id),
        cmocka_unit_test(test_idle_sequences_are_evicted_and_counted_unfinished),
        cmocka_unit_test(test_open_sequences_are_bounded_by_max_open),
        cmocka_unit_test(test_closed_sequences_free_their_state),
        cmocka_unit_test(test_lines_split_across_reads_are_joined),
        cmocka_unit_test(test_a_long_line_split_across_reads_is_malformed_and_the_stream_goes_on),
        cmocka_unit_test(test_an_interval_from_a_label_to_itself_measures_consecutive_points),
        cmocka_unit_test(test_has_and_lacks_conditions_choose_the_first_matching_path),
        cmocka_unit_test(test_components_of_a_lane_count_toward_the_command_total_it_joins),
        cmocka_unit_test(test_negative_remainders_are_clamped_and_counted),
        cmocka_unit_test(test_ns_fields_are_summed_per_field_name),
        cmocka_unit_test(test_timeline_lists_the_points_of_one_command_with_offsets_and_deltas),
        cmocka_unit_test(test_json_output_is_valid_even_with_odd_bytes_in_labels_and_context),
        cmocka_unit_test(test_cli_table_shows_the_breakdown_with_adaptive_units),
        cmocka_unit_test(test_cli_breakdown_has_a_headline_the_meaning_of_parts_and_no_zero_components),
        cmocka_unit_test(test_cli_input_without_points_exits_1),
        cmocka_unit_test(test_cli_labels_past_the_limit_are_warned_about),
        cmocka_unit_test(test_cli_json_output_parses_and_has_the_documented_keys),
        cmocka_unit_test(test_cli_csv_starts_with_the_header_and_has_one_row_per_statistic),
        cmocka_unit_test(test_cli_bad_usage_exits_2),
        cmocka_unit_test(test_cli_missing_file_exits_1_with_a_clear_message),
        cmocka_unit_test(test_cli_bad_spec_exits_1_and_names_the_file_and_line),
        cmocka_unit_test(test_cli_reads_stdin_and_reports_malformed_lines_on_stderr),
        cmocka_unit_test(test_cli_command_timeline_and_an_absent_command),
        cmocka_unit_test(test_cli_help_exits_0_and_lists_the_options),
        cmocka_unit_test(test_cli_live_reads_the_points_of_running_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
