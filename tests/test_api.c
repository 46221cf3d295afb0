/* test_api.c — the public API as a program uses it: registration, spans in their shapes (record,
 * start/stop, TK_SCOPE, TK_TIME), dressed messages, labels and errors. */
#include <stdint.h>

#include <timekeeper.h>

#include "testutil.h"

static char dir[256];

static int group_setup(void **state)
{
    (void)state;
    return tu_library_setup(dir, sizeof dir, 1u << 14, 8);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static collector *drained(void)
{
    collector_options o = {.dir = dir, .quiet = 1};
    collector *c = NULL;
    assert_int_equal(collector_open(&o, &c), 0);
    collector_scan(c);
    collector_drain(c);
    return c;
}

static hist_summary summary(const collector *c, const char *name, int kind)
{
    const timer_stats *t = tu_timer(c, name);
    if (!t)
        tu_fail("timer %s not found", name);
    hist_summary s;
    hist_summarize(t->interval[kind], &s);
    return s;
}

static void the_same_name_gives_the_same_timer_and_bad_names_fail_clearly(void **state)
{
    (void)state;
    tk_timer_t *a = tk_timer("api.same"), *b = tk_timer("api.same");
    assert_ptr_equal(a, b);
    assert_string_equal(tk_timer_name(a), "api.same");
    tk_timer_t *t = NULL;
    assert_int_equal(tk_timer_register("", &t), TK_EINVAL);
    assert_string_equal(tk_timer_name(t), "(invalid)");
    char longname[TK_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(tk_timer_register(longname, &t), TK_ENAMETOOLONG);
    assert_int_equal(tk_timer_register("comma,name", &t), TK_EINVAL);
    assert_int_equal(tk_timer_register("with space", &t), 0); /* timers may have spaces */
    assert_int_equal(tk_label("with space"), 0);              /* labels may not */
    assert_true(tk_label("API_LABEL") != 0);
    assert_int_equal(tk_label("API_LABEL"), tk_label("API_LABEL"));
    assert_string_equal(tk_strerror(TK_EFULL), "name table full");
    assert_string_equal(tk_strerror(-999), "unknown error");
    assert_int_equal(tk_version(), TK_VERSION_NUMBER);
    assert_int_equal(tk_init(NULL), TK_EALREADY); /* already initialised */
}

static uint64_t ticks_for_ns(double ns) { return (uint64_t)(ns * tk_ticks_per_second() / 1e9); }

static void spin_ns(double ns)
{
    uint64_t end = tk_now() + ticks_for_ns(ns);
    while (tk_now() < end) {
    }
}

static int timed_call(int x)
{
    spin_ns(20000);
    return x + 1;
}

static void every_span_shape_records_its_duration(void **state)
{
    (void)state;
    tk_timer_t *rec = tk_timer("api.record");
    tk_record(rec, 1000, 1000 + ticks_for_ns(5000), 0);

    tk_span_t s = tk_start(tk_timer("api.startstop"));
    spin_ns(10000);
    tk_stop(&s);

    {
        TK_SCOPE("api.scope");
        spin_ns(30000);
    }
    int r = 0;
    TK_TIME("api.time", r = timed_call(41));
    assert_int_equal(r, 42);

    collector *c = drained();
    struct {
        const char *name;
        double ns;
    } want[] = {{"api.record", 5000}, {"api.startstop", 10000}, {"api.scope", 30000}, {"api.time", 20000}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        hist_summary sum = summary(c, want[i].name, KIND_PROCESSING);
        tu_expect_eq(want[i].name, 1, sum.count);
        /* at least the spun time; a VM may stretch it, but not by 5 ms */
        if ((double)sum.min < want[i].ns * 0.99 || (double)sum.min > want[i].ns + 5e6)
            tu_fail("%s: %llu ns recorded for a %.0f ns span", want[i].name,
                    (unsigned long long)sum.min, want[i].ns);
        tu_expect_eq("latency records without an origin", 0,
                     summary(c, want[i].name, KIND_LATENCY).count);
    }
    collector_close(c);
}

typedef struct order {
    tk_origin_t hdr;
    int qty;
} order;

static void dressed_messages_carry_their_origin_through_derived_messages(void **state)
{
    (void)state;
    tk_timer_t *recv = tk_timer("api.receive"), *next = tk_timer("api.downstream");
    order in;
    tk_origin_stamp(&in.hdr);
    spin_ns(50000); /* queued for 50 µs before an actor receives it */
    tk_span_t s = tk_origin_receive(recv, &in.hdr);
    spin_ns(10000);
    order out = {.qty = in.qty};
    tk_origin_inherit(&out.hdr, &in.hdr);
    tk_origin_done(&s);
    spin_ns(20000);
    tk_span_t s2 = tk_origin_receive(next, &out.hdr);
    tk_origin_done(&s2);

    collector *c = drained();
    hist_summary lat1 = summary(c, "api.receive", KIND_LATENCY);
    hist_summary proc1 = summary(c, "api.receive", KIND_PROCESSING);
    hist_summary lat2 = summary(c, "api.downstream", KIND_LATENCY);
    tu_expect_eq("latency records of the first actor", 1, lat1.count);
    if (lat1.min < 49500 || proc1.min < 9900)
        tu_fail("first actor: latency %llu ns (>= 50 µs expected), processing %llu ns (>= 10 µs)",
                (unsigned long long)lat1.min, (unsigned long long)proc1.min);
    /* the derived message's latency counts from the original input: 50 + 10 + 20 µs at least */
    if (lat2.count != 1 || lat2.min < 79000)
        tu_fail("derived message: %llu latency records, %llu ns (>= 80 µs expected)",
                (unsigned long long)lat2.count, (unsigned long long)lat2.min);
    collector_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_same_name_gives_the_same_timer_and_bad_names_fail_clearly),
        cmocka_unit_test(every_span_shape_records_its_duration),
        cmocka_unit_test(dressed_messages_carry_their_origin_through_derived_messages),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
