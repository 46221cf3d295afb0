/* test_prom.c — the exposition writer of `timekeeper serve` on hand-made snapshots: histogram
 * buckets at the fixed bounds, both formats, label escaping, top-k with `other`, content
 * negotiation, the /healthz rule, program counters, gauges, stages and /proc resources. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sink/prom/prom.h"

/* The number after `series ` on its line in text, -1 when absent. */
static double value_of(const char *text, const char *series)
{
    char key[512];
    snprintf(key, sizeof key, "\n%s ", series);
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    return strtod(p + strlen(key), NULL);
}

static char *render(const tkp_snapshot *s, tkp_format f, unsigned top_k)
{
    tkp_buf b = {0};
    assert_int_equal(tkp_write(&b, s, f, top_k), 0);
    return b.p;
}

static void hist_counts_land_at_the_first_bound_at_or_above_them(void **state)
{
    (void)state;
    hist *h = hist_new();
    hist_record_n(h, 40, 3);        /* <= 50 ns */
    hist_record_n(h, 50, 1);        /* exactly at 50 ns: le counts it */
    hist_record_n(h, 900, 2);       /* <= 1 µs */
    hist_record_n(h, 7000000, 4);   /* <= 10 ms */
    hist_record_n(h, 20000000000ull, 1); /* 20 s: only +Inf */
    tkp_hist out = {{0}, 0, 0};
    tkp_hist_add(&out, h);
    assert_u64_equal(4, out.le[0], "le 50ns");
    assert_u64_equal(4, out.le[3], "le 500ns");
    assert_u64_equal(6, out.le[4], "le 1us");
    assert_u64_equal(6, out.le[15], "le 5ms");
    assert_u64_equal(10, out.le[16], "le 10ms");
    assert_u64_equal(10, out.le[TKP_NBOUNDS - 1], "le 5s");
    assert_u64_equal(11, out.count, "+Inf");
    double expect = (40.0 * 3 + 50 + 1800 + 28e6 + 20e9) / 1e9;
    assert_double_near(expect, out.sum_s, expect / 2048, "sum");
    /* adding a second histogram (interval + total) sums */
    tkp_hist_add(&out, h);
    assert_u64_equal(22, out.count, "+Inf after adding twice");
    assert_u64_equal(8, out.le[0], "le 50ns after adding twice");
    hist_free(h);
}

static void hist_add_ns_matches_hist_add(void **state)
{
    (void)state;
    hist *h = hist_new();
    tkp_hist a = {{0}, 0, 0}, b = {{0}, 0, 0};
    const uint64_t vals[] = {1, 99, 100, 101, 2400, 123456, 900000000, 1100000000};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        hist_record(h, vals[i]);
        tkp_hist_add_ns(&b, vals[i], 1);
    }
    tkp_hist_add(&a, h);
    for (size_t i = 0; i < TKP_NBOUNDS; i++)
        assert_u64_equal(b.le[i], a.le[i], "bucket %zu (le %g)", i, tkp_bounds_s[i]);
    assert_u64_equal(b.count, a.count, "count");
    hist_free(h);
}

static void fill_example(tkp_snapshot *s)
{
    tkp_proc *p = tkp_snapshot_add_proc(s, "gate\"way\\x\ny", 77);
    p->silence_s = 0.25;
    p->records = 1234;
    p->lost = 5;
    p->overwritten = 6;
    p->dropped = 7;
    tkp_timer *t = tkp_snapshot_add_timer(s, 0, "gw.risk");
    tkp_hist_add_ns(&t->processing, 800, 10);
    tkp_hist_add_ns(&t->processing, 3000000, 2);
    tkp_hist_add_ns(&t->latency, 20000, 12);
    t->has_latency = 1;
    t->lost = 3;
    t = tkp_snapshot_add_timer(s, 0, "gw.journal");
    tkp_hist_add_ns(&t->processing, 100, 1);
    tkp_snapshot_add_points(s, 0, "ffi.send", 42);
}

static void text_format_has_histograms_counters_and_gauges(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    fill_example(&s);
    char *t = render(&s, TKP_TEXT, 10);
    const char *lbl = "process=\"gate\\\"way\\\\x\\ny\",pid=\"77\"";
    char series[512];
    assert_contains(t, "# TYPE timekeeper_timer_processing_seconds histogram\n", "type line");
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_bucket{%s,timer=\"gw.risk\",le=\"1e-06\"}", lbl);
    assert_double_near(10, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_bucket{%s,timer=\"gw.risk\",le=\"0.0025\"}", lbl);
    assert_double_near(10, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_bucket{%s,timer=\"gw.risk\",le=\"0.005\"}", lbl);
    assert_double_near(12, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_bucket{%s,timer=\"gw.risk\",le=\"+Inf\"}", lbl);
    assert_double_near(12, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_count{%s,timer=\"gw.risk\"}", lbl);
    assert_double_near(12, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_timer_processing_seconds_sum{%s,timer=\"gw.risk\"}", lbl);
    assert_double_near(0.006008, value_of(t, series), 1e-12, "%s", series);
    /* a timer without latency has no latency series */
    assert_not_contains(t, "timekeeper_timer_latency_seconds_count{process=\"gate\\\"way\\\\x\\ny\",pid=\"77\",timer=\"gw.journal\"}", "journal latency");
    assert_contains(t, "# TYPE timekeeper_records_lost_total counter\n", "counter type named with _total in 0.0.4");
    snprintf(series, sizeof series, "timekeeper_records_lost_total{%s}", lbl);
    assert_double_near(5, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_points_total{%s,label=\"ffi.send\"}", lbl);
    assert_double_near(42, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_process_silence_seconds{%s}", lbl);
    assert_double_near(0.25, value_of(t, series), 0, "%s", series);
    assert_double_near(1, value_of(t, "timekeeper_processes"), 0, "live processes");
    assert_not_contains(t, "# UNIT", "no unit lines in 0.0.4");
    assert_not_contains(t, "# EOF", "no EOF in 0.0.4");
    assert_not_contains(t, "timekeeper_task_", "no task families without tasks");
    free(t);
    tkp_snapshot_clear(&s);
}

static void openmetrics_has_units_family_names_without_total_and_eof(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    fill_example(&s);
    char *t = render(&s, TKP_OPENMETRICS, 10);
    assert_contains(t, "# TYPE timekeeper_records_lost counter\n", "counter family without _total");
    assert_contains(t, "# UNIT timekeeper_timer_latency_seconds seconds\n", "unit line");
    assert_contains(t, "\ntimekeeper_records_lost_total{", "sample with _total");
    size_t n = strlen(t);
    assert_true(n > 6);
    assert_text_equal("# EOF\n", t + n - 6, "the last line");
    free(t);
    tkp_snapshot_clear(&s);
}

static void top_k_keeps_the_heaviest_and_other_sums_the_rest(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    tkp_snapshot_add_proc(&s, "srv", 9);
    const double w[] = {0.5, 3.0, 1.0, 2.0, 0.25};
    for (int i = 0; i < 5; i++) {
        char fn[16];
        snprintf(fn, sizeof fn, "f%d", i);
        tkp_task *k = tkp_snapshot_add_task(&s, 0, fn, "a.c", (unsigned)(10 + i));
        k->exec_with_children_s = w[i];
        k->exec_s = w[i] / 2;
        k->completed = (uint64_t)(i + 1);
        k->max_slice_s = w[i] / 10;
    }
    char *t = render(&s, TKP_TEXT, 2);
    const char *base = "timekeeper_task_exec_with_children_seconds_total{process=\"srv\",pid=\"9\",";
    char series[256];
    snprintf(series, sizeof series, "%sfunction=\"f1\",file=\"a.c\",line=\"11\"}", base);
    assert_double_near(3.0, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "%sfunction=\"f3\",file=\"a.c\",line=\"13\"}", base);
    assert_double_near(2.0, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "%sfunction=\"f2\",file=\"a.c\",line=\"12\"}", base);
    assert_double_near(-1, value_of(t, series), 0, "f2 is not in the top 2");
    snprintf(series, sizeof series, "%sfunction=\"other\",file=\"\",line=\"\"}", base);
    assert_double_near(1.75, value_of(t, series), 1e-12, "%s", series);
    snprintf(series, sizeof series, "timekeeper_task_calls_total{process=\"srv\",pid=\"9\",function=\"other\",file=\"\",line=\"\",outcome=\"completed\"}");
    assert_double_near(1 + 3 + 5, value_of(t, series), 0, "%s", series);
    snprintf(series, sizeof series, "timekeeper_task_max_slice_seconds{process=\"srv\",pid=\"9\",function=\"other\",file=\"\",line=\"\"}");
    assert_double_near(0.1, value_of(t, series), 1e-12, "other's max slice is the max");
    free(t);
    tkp_snapshot_clear(&s);
}

static void label_values_escape_backslash_quote_and_newline(void **state)
{
    (void)state;
    tkp_buf b = {0};
    tkp_buf_label_value(&b, "a\\b\"c\nd");
    assert_text_equal("a\\\\b\\\"c\\nd", b.p, "escaped");
    tkp_buf_free(&b);
}

static void accept_header_chooses_the_format(void **state)
{
    (void)state;
    assert_int_equal(TKP_TEXT, tkp_negotiate(NULL));
    assert_int_equal(TKP_TEXT, tkp_negotiate("text/plain"));
    assert_int_equal(TKP_TEXT, tkp_negotiate("*/*"));
    assert_int_equal(TKP_OPENMETRICS, tkp_negotiate("application/openmetrics-text"));
    /* what Prometheus 2.x sends */
    assert_int_equal(TKP_OPENMETRICS,
                     tkp_negotiate("application/openmetrics-text;version=1.0.0,application/"
                                   "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
                                   "q=0.5,*/*;q=0.1"));
    assert_int_equal(TKP_TEXT, tkp_negotiate("application/openmetrics-text; q=0, text/plain"));
    assert_int_equal(TKP_TEXT, tkp_negotiate("application/openmetrics-textual"));
    assert_contains(tkp_content_type(TKP_TEXT), "text/plain; version=0.0.4", "text type");
    assert_contains(tkp_content_type(TKP_OPENMETRICS), "application/openmetrics-text; version=1.0.0",
                    "openmetrics type");
}

static void health_is_the_rule_of_check(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    tkp_buf why = {0};
    assert_int_equal(0, tkp_healthy(&s, 5, 0, &why));
    assert_contains(why.p, "no live instrumented process", "none live");
    assert_int_equal(1, tkp_healthy(&s, 5, 1, NULL));
    tkp_proc *p = tkp_snapshot_add_proc(&s, "ok", 1);
    p->silence_s = 4.9;
    p = tkp_snapshot_add_proc(&s, "dead", 2);
    p->up = 0;
    p->silence_s = 100;
    assert_int_equal(1, tkp_healthy(&s, 5, 0, NULL));
    p = tkp_snapshot_add_proc(&s, "sleepy", 3);
    p->silence_s = 6;
    tkp_buf_free(&why);
    assert_int_equal(0, tkp_healthy(&s, 5, 0, &why));
    assert_contains(why.p, "pid 3 (sleepy)", "names the quiet one");
    assert_not_contains(why.p, "pid 1", "not the healthy one");
    tkp_buf_free(&why);
    tkp_snapshot_clear(&s);
}

static void counters_gauges_stages_and_resources_are_families_of_their_own(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    tkp_proc *p = tkp_snapshot_add_proc(&s, "gw", 42);
    p->have_res = p->have_cs = 1;
    p->cpu_s = 1.5;
    p->rss_bytes = 4096000;
    p->threads = 5;
    p->voluntary_cs = 70;
    p->involuntary_cs = 8;
    tkp_snapshot_add_proc(&s, "no-proc-file", 43); /* have_res 0: no resource series */
    tkp_snapshot_add_value(&s, 0, TKP_VAL_COUNTER, "gw.messages_in")->total = 12345678901ull;
    tkp_snapshot_add_value(&s, 0, TKP_VAL_GAUGE, "gw.queue")->value = -3;
    tkp_snapshot_add_value(&s, 0, TKP_VAL_STAGE, "risk")->value = 0;
    tkp_snapshot_add_value(&s, 0, TKP_VAL_STAGE, "publish")->value = 1;
    char *t = render(&s, TKP_TEXT, 10);
    assert_non_null(strstr(t, "# TYPE timekeeper_program_total counter\n"));
    assert_non_null(strstr(t, "\ntimekeeper_program_total{process=\"gw\",pid=\"42\","
                              "counter=\"gw.messages_in\"} 12345678901\n"));
    assert_non_null(strstr(t, "# TYPE timekeeper_program_value gauge\n"));
    assert_non_null(strstr(t, "\ntimekeeper_program_value{process=\"gw\",pid=\"42\",gauge=\"gw.queue\"} -3\n"));
    assert_non_null(strstr(t, "\ntimekeeper_stage_on{process=\"gw\",pid=\"42\",stage=\"risk\"} 0\n"));
    assert_non_null(strstr(t, "\ntimekeeper_stage_on{process=\"gw\",pid=\"42\",stage=\"publish\"} 1\n"));
    assert_true(value_of(t, "timekeeper_process_cpu_seconds_total{process=\"gw\",pid=\"42\"}") == 1.5);
    assert_true(value_of(t, "timekeeper_process_resident_bytes{process=\"gw\",pid=\"42\"}") == 4096000);
    assert_true(value_of(t, "timekeeper_process_threads{process=\"gw\",pid=\"42\"}") == 5);
    assert_true(value_of(t, "timekeeper_process_context_switches_total{process=\"gw\",pid=\"42\","
                            "kind=\"involuntary\"}") == 8);
    assert_null(strstr(t, "timekeeper_process_threads{process=\"no-proc-file\""));
    free(t);
    t = render(&s, TKP_OPENMETRICS, 10);
    assert_non_null(strstr(t, "# TYPE timekeeper_program counter\n"));
    assert_non_null(strstr(t, "# UNIT timekeeper_process_cpu_seconds seconds\n"));
    assert_non_null(strstr(t, "# UNIT timekeeper_process_resident_bytes bytes\n"));
    free(t);
    tkp_snapshot_clear(&s);
}

static void resources_are_read_from_proc_at_most_once_per_age(void **state)
{
    (void)state;
    tkp_resources *r = tkp_resources_new(1000000000ull);
    assert_non_null(r);
    tkp_snapshot s = {0};
    tkp_snapshot_add_proc(&s, "me", (int)getpid());
    assert_int_equal(tkp_resources_fill(r, &s, 5000000000ull), 0);
    assert_true(s.procs[0].have_res);
    assert_true(s.procs[0].rss_bytes > 0);
    assert_true(s.procs[0].threads >= 1);
    for (uint64_t t = 5000000000ull; t < 6000000000ull; t += 100000000ull) {
        tkp_snapshot_reset(&s);
        tkp_snapshot_add_proc(&s, "me", (int)getpid());
        assert_int_equal(tkp_resources_fill(r, &s, t), 0);
        assert_true(s.procs[0].have_res); /* the cached sample */
    }
    assert_u64_equal(1, tkp_resources_reads(r), "one read within the second");
    assert_int_equal(tkp_resources_fill(r, &s, 6000000000ull), 0);
    assert_u64_equal(2, tkp_resources_reads(r), "a new read once the sample is a second old");
    tkp_snapshot_clear(&s);
    tkp_resources_free(r);
}

static void forget_drops_processes_down_long_enough_with_all_their_series(void **state)
{
    (void)state;
    tkp_snapshot s = {0};
    const char *names[] = {"live", "old", "recent"};
    const int up[] = {1, 0, 0};
    const double down[] = {0, 400, 10};
    for (size_t i = 0; i < 3; i++) {
        tkp_proc *p = tkp_snapshot_add_proc(&s, names[i], (int)(10 + i));
        p->up = up[i];
        p->down_s = down[i];
    }
    for (size_t i = 0; i < 3; i++) { /* interleaved, so the survivors' entries must move */
        char n[32];
        snprintf(n, sizeof n, "%s.timer", names[i]);
        tkp_hist_add_ns(&tkp_snapshot_add_timer(&s, i, n)->processing, 1000, i + 1);
        snprintf(n, sizeof n, "%s.label", names[i]);
        tkp_snapshot_add_points(&s, i, n, 7 * (i + 1));
        snprintf(n, sizeof n, "%s.counter", names[i]);
        tkp_snapshot_add_value(&s, i, TKP_VAL_COUNTER, n)->total = 100 + i;
    }
    tkp_snapshot_add_task(&s, SIZE_MAX, "handle", "srv.c", 9)->completed = 5; /* no process */

    assert_int_equal(0, tkp_snapshot_forget(&s, 500)); /* nobody down that long */
    assert_int_equal(3, s.nprocs);
    assert_int_equal(1, tkp_snapshot_forget(&s, 300));
    assert_int_equal(2, s.nprocs);
    assert_string_equal("live", s.procs[0].name);
    assert_string_equal("recent", s.procs[1].name);
    assert_int_equal(2, s.ntimers);
    assert_int_equal(2, s.npoints);
    assert_int_equal(2, s.nvalues);
    assert_int_equal(1, s.ntasks);
    /* the survivors' series point at their renumbered process */
    assert_string_equal("recent.timer", s.timers[1].name);
    assert_int_equal(1, s.timers[1].proc);
    assert_u64_equal(3, s.timers[1].processing.count, "recent's own histogram");
    assert_string_equal("recent.label", s.points[1].label);
    assert_int_equal(1, s.points[1].proc);
    assert_int_equal(1, s.values[1].proc);
    assert_u64_equal(102, s.values[1].total, "recent's own counter");
    assert_true(s.tasks[0].proc == SIZE_MAX);

    char *t = render(&s, TKP_TEXT, 10);
    assert_not_contains(t, "process=\"old\"", "no series of the forgotten process");
    assert_contains(t, "timekeeper_process_up{process=\"recent\",pid=\"12\"} 0",
                    "a recent exit still shows, down");
    assert_contains(t, "timer=\"recent.timer\"", "with its timers");
    free(t);
    /* a live process is never forgotten, whatever the delay */
    assert_int_equal(1, tkp_snapshot_forget(&s, 0));
    assert_int_equal(1, s.nprocs);
    assert_string_equal("live", s.procs[0].name);
    assert_int_equal(1, s.ntimers);
    tkp_snapshot_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hist_counts_land_at_the_first_bound_at_or_above_them),
        cmocka_unit_test(hist_add_ns_matches_hist_add),
        cmocka_unit_test(text_format_has_histograms_counters_and_gauges),
        cmocka_unit_test(openmetrics_has_units_family_names_without_total_and_eof),
        cmocka_unit_test(top_k_keeps_the_heaviest_and_other_sums_the_rest),
        cmocka_unit_test(label_values_escape_backslash_quote_and_newline),
        cmocka_unit_test(accept_header_chooses_the_format),
        cmocka_unit_test(health_is_the_rule_of_check),
        cmocka_unit_test(counters_gauges_stages_and_resources_are_families_of_their_own),
        cmocka_unit_test(resources_are_read_from_proc_at_most_once_per_age),
        cmocka_unit_test(forget_drops_processes_down_long_enough_with_all_their_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
