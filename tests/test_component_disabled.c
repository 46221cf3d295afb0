/* test_component_disabled.c — with recording disabled (TK_DISABLE=1) a sequence still calls every
 * callback in order, aborts events the same way, and records nothing. */
#include <stdint.h>
#include <stdlib.h>

#include <timekeeper.h>

#include "testutil.h"

static int order[16], norder;
static int first(void *ctx, uint64_t ev) { (void)ctx; order[norder++] = 1; return ev == 2; }
static int second(void *ctx, uint64_t ev) { (void)ctx; (void)ev; order[norder++] = 2; return 0; }

static void a_disabled_library_still_runs_the_sequence(void **state)
{
    (void)state;
    tk_sequence_t *s;
    assert_int_equal(tk_sequence_create(&s), 0);
    assert_int_equal(tk_enabled(), 0);
    tk_component_ops a = {.event = first}, b = {.event = second};
    assert_int_equal(tk_sequence_add(s, "first", &a, NULL), 0);
    assert_int_equal(tk_sequence_add(s, "second", &b, NULL), 0);
    assert_int_equal(tk_sequence_call(s, TK_CB_PROCESS_START, 0), 0);
    assert_int_equal(tk_sequence_call(s, TK_CB_EVENT, 1), 0);
    assert_int_equal(tk_sequence_call(s, TK_CB_EVENT, 2), 1); /* aborted by the first */
    assert_int_equal(tk_sequence_call(s, TK_CB_PROCESS_END, 0), 0);
    tu_expect_eq("callbacks called", 3, norder);
    tu_expect_eq("first of event 1", 1, order[0]);
    tu_expect_eq("second of event 1", 2, order[1]);
    tu_expect_eq("only the first sees the aborted event", 1, order[2]);
    assert_string_equal(tk_segment_path(), "");
    tk_sequence_free(s);
}

int main(void)
{
    setenv("TK_DISABLE", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_disabled_library_still_runs_the_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
