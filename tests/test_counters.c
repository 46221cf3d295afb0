/* test_counters.c — counters, gauges and stage switches from the program to the per-interval
 * values: exact deltas across intervals, many threads adding at once while a reader looks, ring
 * overflow that loses no count, gauges' latest values, TK_DISABLE_STAGES. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <timekeeper.h>

#include "testutil.h"
#include "counters_fake_core.h"

static char dir[256];

static int group_setup(void **state)
{
    (void)state;
    /* read once at start-up: set before the library's first call */
    setenv("TK_DISABLE_STAGES", "publish,emit", 1);
    return tu_library_setup(dir, sizeof dir, 1024, 16);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* The interval's entry for name, failing the test when absent. */
static tka_counter_value value_of(tka_counters *t, const char *name)
{
    tka_counter_value v[64];
    size_t n = tka_counters_list(t, UINT64_MAX, v, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i];
    tu_fail("no value for %s among %zu", name, n);
    return v[0];
}

static void counter_deltas_are_exact_per_interval(void **state)
{
    (void)state;
    tk_counter_t *c = tk_counter("requests");
    tk_counter_add(c, 5); /* before the collector came: not any interval's */
    tka_counters *t = tka_counters_new();
    tkc_decode_ctx dc;
    assert_int_equal(fake_attach(&dc, tk_segment_path(), t), 0);
    fake_poll(&dc);
    tu_expect_eq("first interval, counted before attach", 0, value_of(t, "requests").delta);
    tu_expect_eq("total since start", 5, value_of(t, "requests").total);
    tk_counter_add(c, 7);
    fake_poll(&dc);
    fake_poll(&dc); /* looking twice changes nothing */
    tu_expect_eq("delta of the interval", 7, value_of(t, "requests").delta);
    tka_counters_rollover(t);
    tu_expect_eq("after rollover", 0, value_of(t, "requests").delta);
    for (int i = 0; i < 1000; i++)
        tk_counter_add(c, 3);
    fake_poll(&dc);
    tu_expect_eq("next interval", 3000, value_of(t, "requests").delta);
    tu_expect_eq("total", 3012, value_of(t, "requests").total);
    /* a counter born after attach counts from 0 */
    tk_counter_t *late = tk_counter("late");
    tk_counter_add(late, 4);
    fake_poll(&dc);
    tu_expect_eq("late counter", 4, value_of(t, "late").delta);
    fake_detach(&dc);
    tka_counters_free(t);
}

#define ADDERS 8
#define ADDS 100000
static tk_counter_t *shared_counter;
static void *adder(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    for (int i = 0; i < ADDS; i++)
        tk_counter_add(shared_counter, k);
    return NULL;
}

static void concurrent_adders_sum_exactly_while_read(void **state)
{
    (void)state;
    shared_counter = tk_counter("concurrent");
    tka_counters *t = tka_counters_new();
    tkc_decode_ctx dc;
    assert_int_equal(fake_attach(&dc, tk_segment_path(), t), 0);
    fake_poll(&dc);
    uint64_t base = value_of(t, "concurrent").total;
    pthread_t th[ADDERS];
    for (uintptr_t i = 0; i < ADDERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder, (void *)(i + 1)), 0);
    uint64_t last = 0;
    for (int polls = 0; polls < 200; polls++) { /* the reader looks while they add */
        fake_poll(&dc);
        uint64_t now = value_of(t, "concurrent").total;
        if (now < last)
            tu_fail("the total went back: %llu after %llu", (unsigned long long)now,
                    (unsigned long long)last);
        last = now;
    }
    for (int i = 0; i < ADDERS; i++)
        pthread_join(th[i], NULL);
    fake_poll(&dc);
    uint64_t expected = (uint64_t)ADDS * (ADDERS * (ADDERS + 1) / 2);
    tu_expect_eq("sum of every thread's adds", expected, value_of(t, "concurrent").total - base);
    tu_expect_eq("the interval's delta", expected, value_of(t, "concurrent").delta);
    fake_detach(&dc);
    tka_counters_free(t);
}

static void ring_overflow_loses_no_count(void **state)
{
    (void)state;
    tk_counter_t *c = tk_counter("with_spans");
    tk_timer_t *tm = tk_timer("overflowing");
    for (int i = 0; i < 50000; i++) { /* 50 times the ring's 1024 records, nobody reading */
        uint64_t s = tk_now();
        tk_record(tm, s, tk_now(), 0);
        tk_counter_add(c, 2);
    }
    tka_counters *t = tka_counters_new();
    tkc_decode_ctx dc;
    assert_int_equal(fake_attach(&dc, tk_segment_path(), t), 0);
    fake_poll(&dc);
    tu_expect_eq("total after the ring overflowed", 100000, value_of(t, "with_spans").total);
    tu_expect_eq("this thread's share", 100000, tk_counter_thread_value(c));
    fake_detach(&dc);
    tka_counters_free(t);
}

static void gauges_show_the_latest_value(void **state)
{
    (void)state;
    tk_gauge_t *g = tk_gauge("queue_depth");
    tk_gauge_set(g, 17);
    tk_gauge_set(g, -3);
    tu_expect_eq("in-process value", (uint64_t)(int64_t)-3, (uint64_t)tk_gauge_value(g));
    tka_counters *t = tka_counters_new();
    tkc_decode_ctx dc;
    assert_int_equal(fake_attach(&dc, tk_segment_path(), t), 0);
    fake_poll(&dc);
    tka_counter_value v = value_of(t, "queue_depth");
    assert_int_equal(v.kind, TKS_NAME_GAUGE);
    assert_int_equal((int)v.value, -3);
    tk_gauge_set(g, 250);
    tka_counters_rollover(t); /* a gauge is not reset */
    fake_poll(&dc);
    assert_int_equal((int)value_of(t, "queue_depth").value, 250);
    fake_detach(&dc);
    tka_counters_free(t);
}

static int stage_on_dissect(void) { return TK_STAGE_ON("dissect"); }
static int stage_on_emit(void) { return TK_STAGE_ON("emit"); }

static void disabled_stages_answer_off_others_on(void **state)
{
    (void)state;
    assert_int_equal(tk_stage("publish"), 0);
    assert_int_equal(tk_stage("dissect"), 1);
    assert_int_equal(tk_stage("publisher"), 1); /* whole names only */
    assert_int_equal(tk_stage("emi"), 1);
    for (int i = 0; i < 3; i++) { /* the cached check gives the same answers */
        assert_int_equal(stage_on_dissect(), 1);
        assert_int_equal(stage_on_emit(), 0);
    }
    assert_int_equal(tk_stage("bad name"), 1); /* invalid: stays on */
    tka_counters *t = tka_counters_new();
    tkc_decode_ctx dc;
    assert_int_equal(fake_attach(&dc, tk_segment_path(), t), 0);
    fake_poll(&dc);
    tka_counter_value p = value_of(t, "publish"), d = value_of(t, "dissect");
    assert_int_equal(p.kind, TKS_NAME_STAGE);
    assert_int_equal((int)p.value, 0);
    assert_int_equal((int)d.value, 1);
    fake_detach(&dc);
    tka_counters_free(t);
}

static void counter_records_are_counted_as_malformed(void **state)
{
    (void)state;
    tkc_decode_ctx dc = {0};
    tks_record r = {TKS_TAG(TKS_REC_COUNTER, 1), 1, 0, 0, 0};
    assert_int_equal(tkc_decode_counter(&dc, &r, 1), 1);
    assert_int_equal(tkc_decode_gauge(&dc, &r, 1), 1);
    tu_expect_eq("corrupt", 2, dc.corrupt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_deltas_are_exact_per_interval),
        cmocka_unit_test(concurrent_adders_sum_exactly_while_read),
        cmocka_unit_test(ring_overflow_loses_no_count),
        cmocka_unit_test(gauges_show_the_latest_value),
        cmocka_unit_test(disabled_stages_answer_off_others_on),
        cmocka_unit_test(counter_records_are_counted_as_malformed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
