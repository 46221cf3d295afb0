/* test_stats_line.c — the `stats - {…}` and `resources - {…}` lines read back as written, with
 * names that need escaping, and other log lines ignored. */
#include <stdint.h>

#include "testutil.h"
#include "format/segment.h"
#include "sink/stats-line.h"

static double get(const tk_stats_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    tu_fail("key %s not found among %zu", key, n);
    return 0;
}

static void stats_line_reads_back_as_written(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tka_counter_value v[] = {
        {1, 42, TKS_NAME_COUNTER, "packets", 1000, 120, 0},
        {1, 42, TKS_NAME_COUNTER, "odd\"name", 5, 5, 0},
        {1, 42, TKS_NAME_GAUGE, "queue", 0, 0, -7},
        {1, 42, TKS_NAME_STAGE, "dissect", 0, 0, 0},
    };
    tk_stats_timer t[] = {{"parse", 120, 800, 4100}};
    assert_int_equal(tk_stats_write(f, 1733045000.25, 42, 1.0, v, 4, t, 1), 0);
    fclose(f);
    assert_true(strncmp(buf, "stats - {", 9) == 0);
    tk_stats_kv kv[32];
    size_t n;
    assert_int_equal(tk_stats_parse(buf, kv, 32, &n), TK_LINE_STATS);
    assert_double_near(1733045000.25, get(kv, n, "t"), 0.001, "t");
    assert_double_near(120, get(kv, n, "counters.packets"), 0, "delta");
    assert_double_near(5, get(kv, n, "counters.odd\"name"), 0, "escaped name");
    assert_double_near(-7, get(kv, n, "gauges.queue"), 0, "gauge");
    assert_double_near(0, get(kv, n, "stages.dissect"), 0, "stage");
    assert_double_near(4100, get(kv, n, "timers.parse.p99_ns"), 0, "p99");
    free(buf);
}

static void resources_line_reads_back_and_other_lines_are_skipped(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tkc_procstat_rates r = {.seconds = 1.0, .cpu_pct = 91.25, .user_pct = 80, .sys_pct = 11.25,
                            .rss_bytes = 87052288, .threads = 29, .cores = 16};
    assert_int_equal(tk_resources_write(f, 10.0, 7, &r, 24441240), 0);
    fclose(f);
    tk_stats_kv kv[32];
    size_t n;
    assert_int_equal(tk_stats_parse(buf, kv, 32, &n), TK_LINE_RESOURCES);
    assert_double_near(91.2, get(kv, n, "cpu"), 0.06, "cpu");
    assert_double_near(87052288, get(kv, n, "rss"), 0, "rss");
    assert_double_near(24441240, get(kv, n, "heap"), 0, "heap");
    assert_int_equal(tk_stats_parse("listening on 127.0.0.1:8080", kv, 32, &n), TK_LINE_OTHER);
    assert_int_equal(tk_stats_parse("stats - {\"broken\":", kv, 32, &n), TK_LINE_OTHER);
    assert_int_equal(tk_stats_parse("12:00 stats - {\"a\":[1,2],\"b\":\"x\",\"c\":3}", kv, 32, &n),
                     TK_LINE_STATS);
    assert_double_near(3, get(kv, n, "c"), 0, "after skipped values");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stats_line_reads_back_as_written),
        cmocka_unit_test(resources_line_reads_back_and_other_lines_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
