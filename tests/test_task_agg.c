/* test_task_agg.c — task metric semantics on constructed lifecycles fed as events straight into
 * the collector's task aggregator (agg/tasks.h); times are whole milliseconds. */
#include "check.h"

#include <stdlib.h>

#include "agg/tasks.h"

#define MS 1000000ull
#define PROC 7u

static tkc_tasks *ag;

static int setup(void **state)
{
    (void)state;
    ag = tkc_tasks_new();
    return ag ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tkc_tasks_free(ag);
    ag = NULL;
    return 0;
}

/* Type indexes of the test and their names. */
static const char *const names[] = {"parent@app.c:10", "child@app.c:20", "other@lib.c:5"};

static void ev_on(uint32_t ring, uint32_t sub, uint64_t ms, uint64_t id, uint64_t parent, uint32_t type)
{
    tkc_event e = {.kind = TKC_EV_TASK, .name = 100 + type, .ring = ring, .sub = sub};
    e.ticks = e.mono_ns = ms * MS;
    e.a = id;
    e.b = parent;
    e.c = type;
    assert_int_equal(tkc_tasks_event(ag, PROC, names[type], &e), 0);
}

static void ev(uint32_t sub, uint64_t ms, uint64_t id, uint64_t parent, uint32_t type)
{
    ev_on(0, sub, ms, id, parent, type);
}

/* The row of task type `name` (fails when absent). */
static tkc_task_row row_of(const char *name)
{
    tkc_task_row rows[8];
    size_t n = tkc_tasks_rows(ag, rows, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (strcmp(rows[i].name, name) == 0)
            return rows[i];
    print_error("no row for %s\n", name);
    fail();
    return rows[0];
}

#define P 0u
#define C 1u
#define O 2u

static void parent_awaiting_a_child_that_does_not_yield_keeps_only_its_own_time(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, P);
    ev(TKC_TASK_RUNNING, 0, 1, 0, P);
    ev(TKC_TASK_CREATED, 10, 2, 1, C); /* created inside the parent's slice: its child */
    ev(TKC_TASK_RUNNING, 10, 2, 0, C); /* runs synchronously, nested in the parent's slice */
    ev(TKC_TASK_COMPLETED, 20, 2, 0, C);
    ev(TKC_TASK_COMPLETED, 30, 1, 0, P);
    tkc_task_row p = row_of(names[P]), c = row_of(names[C]);
    assert_u64_equal(20 * MS, p.t.exec, "parent exec");
    assert_u64_equal(10 * MS, p.t.children_exec, "parent children exec");
    assert_u64_equal(30 * MS, p.exec_with_children, "parent exec with children");
    assert_u64_equal(30 * MS, p.t.wall, "parent wall");
    assert_u64_equal(20 * MS, p.t.max_slice, "parent max slice (its own part)");
    assert_u64_equal(10 * MS, c.t.exec, "child exec");
    assert_u64_equal(10 * MS, c.t.wall, "child wall");
    assert_u64_equal(1, p.calls, "parent calls");
    assert_u64_equal(0, p.in_flight + c.in_flight, "in flight");
    assert_string_equal(p.func, "parent");
    assert_string_equal(p.file, "app.c");
    assert_u64_equal(10, p.line, "parent line");
    /* sorted by exec with children: the parent first */
    tkc_task_row rows[2];
    assert_int_equal(tkc_tasks_rows(ag, rows, 2), 2);
    assert_string_equal(rows[0].name, names[P]);
}

static void child_that_yields_counts_both_slices_and_its_wait_only_in_wall(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, P);
    ev(TKC_TASK_RUNNING, 0, 1, 0, P);
    ev(TKC_TASK_CREATED, 10, 2, 1, C);
    ev(TKC_TASK_RUNNING, 10, 2, 0, C);
    ev(TKC_TASK_PAUSED, 20, 2, 0, C);  /* the child waits 50 ms */
    ev(TKC_TASK_PAUSED, 20, 1, 0, P);  /* the parent awaits it */
    ev(TKC_TASK_RUNNING, 70, 2, 0, C);
    ev(TKC_TASK_COMPLETED, 80, 2, 0, C);
    ev(TKC_TASK_RUNNING, 80, 1, 0, P);
    ev(TKC_TASK_COMPLETED, 90, 1, 0, P);
    tkc_task_row p = row_of(names[P]), c = row_of(names[C]);
    assert_u64_equal(20 * MS, p.t.exec, "parent exec");
    assert_u64_equal(20 * MS, p.t.children_exec, "parent children exec");
    assert_u64_equal(40 * MS, p.exec_with_children, "parent exec with children");
    assert_u64_equal(90 * MS, p.t.wall, "parent wall");
    assert_u64_equal(2, p.t.slices, "parent slices");
    assert_u64_equal(20 * MS, c.t.exec, "child exec");
    assert_u64_equal(70 * MS, c.t.wall, "child wall (its 50 ms wait included)");
    assert_u64_equal(10 * MS, c.t.max_slice, "child max slice");
    assert_u64_equal(20 * MS, c.t.max_exec, "child max exec");
    assert_u64_equal(2, hist_count(c.slice_hist), "child slices in the histogram");
    assert_u64_equal(10 * MS, hist_quantile(c.slice_hist, 0.99), "child p99 slice");
    assert_u64_equal(1, hist_count(c.wall_hist), "child walls in the histogram");
}

static void task_finished_without_running_is_stillborn_whatever_its_outcome(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_CANCELLED, 5, 1, 0, O);
    ev(TKC_TASK_CREATED, 6, 2, 0, O);
    ev(TKC_TASK_COMPLETED, 8, 2, 0, O);
    ev(TKC_TASK_CREATED, 9, 3, 0, O);
    ev(TKC_TASK_RUNNING, 9, 3, 0, O);
    ev(TKC_TASK_COMPLETED, 10, 3, 0, O);
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(2, o.t.stillborn, "stillborn");
    assert_u64_equal(1, o.t.cancelled, "cancelled");
    assert_u64_equal(2, o.t.completed, "completed");
    assert_u64_equal(3, o.calls, "calls");
    assert_u64_equal(8 * MS, o.t.wall, "wall (5 + 2 + 1)");
    assert_u64_equal(1 * MS, o.t.exec, "exec");
    assert_u64_equal(1, o.t.slices, "slices");
}

static void failure_and_cancellation_are_counted_apart_and_end_the_slice(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_RUNNING, 0, 1, 0, O);
    ev(TKC_TASK_FAILED, 10, 1, 0, O);      /* fails while running: the slice ends */
    ev(TKC_TASK_CREATED, 10, 2, 0, O);
    ev(TKC_TASK_RUNNING, 10, 2, 0, O);
    ev(TKC_TASK_PAUSED, 13, 2, 0, O);
    ev(TKC_TASK_CANCELLED, 40, 2, 0, O);   /* cancelled while waiting */
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(1, o.t.failed, "failed");
    assert_u64_equal(1, o.t.cancelled, "cancelled");
    assert_u64_equal(0, o.t.completed, "completed");
    assert_u64_equal(0, o.t.stillborn, "stillborn");
    assert_u64_equal(13 * MS, o.t.exec, "exec");
    assert_u64_equal(10 * MS, o.t.max_slice, "max slice");
    assert_u64_equal(40 * MS, o.t.wall, "wall (10 + 30)");
    assert_u64_equal(10 * MS, o.t.max_exec, "max exec");
}

static void child_outliving_its_parent_still_adds_to_the_parent_type(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, P);
    ev(TKC_TASK_RUNNING, 0, 1, 0, P);
    ev(TKC_TASK_CREATED, 5, 2, 1, C); /* spawned, not awaited */
    ev(TKC_TASK_COMPLETED, 10, 1, 0, P);
    tkc_task_row c = row_of(names[C]);
    assert_u64_equal(1, c.in_flight, "child in flight after its parent finished");
    ev(TKC_TASK_RUNNING, 20, 2, 0, C);
    ev(TKC_TASK_COMPLETED, 35, 2, 0, C);
    tkc_task_row p = row_of(names[P]);
    c = row_of(names[C]);
    assert_u64_equal(10 * MS, p.t.exec, "parent exec");
    assert_u64_equal(15 * MS, p.t.children_exec, "parent children exec, after it finished");
    assert_u64_equal(25 * MS, p.exec_with_children, "parent exec with children");
    assert_u64_equal(10 * MS, p.t.wall, "parent wall");
    assert_u64_equal(0, c.in_flight, "child in flight");
    assert_u64_equal(30 * MS, c.t.wall, "child wall");
}

static void events_after_a_task_finished_are_zombies_and_unknown_tasks_are_orphans(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_RUNNING, 0, 1, 0, O);
    ev(TKC_TASK_COMPLETED, 1, 1, 0, O);
    ev(TKC_TASK_RUNNING, 2, 1, 0, O);
    ev(TKC_TASK_PAUSED, 3, 1, 0, O);
    ev(TKC_TASK_COMPLETED, 4, 1, 0, O);
    ev(TKC_TASK_RUNNING, 5, 99, 0, O); /* never created as far as this collector read */
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(3, o.t.zombie, "zombie events");
    assert_u64_equal(1, o.calls, "calls");
    assert_u64_equal(1 * MS, o.t.exec, "exec (zombie slices not counted)");
    tkc_tasks_stats st;
    tkc_tasks_get_stats(ag, &st);
    assert_u64_equal(1, st.orphan, "orphan events");
    assert_u64_equal(0, st.live_tasks, "live tasks");
}

static void nested_runs_unwind_in_order_and_out_of_order_ends_are_repaired(void **state)
{
    (void)state;
    /* three levels: a callback running a nested loop that runs a task that runs another */
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_RUNNING, 0, 1, 0, O);
    ev(TKC_TASK_CREATED, 1, 2, 0, C);
    ev(TKC_TASK_RUNNING, 1, 2, 0, C);
    ev(TKC_TASK_CREATED, 2, 3, 0, C);
    ev(TKC_TASK_RUNNING, 2, 3, 0, C);
    ev(TKC_TASK_COMPLETED, 4, 3, 0, C);
    ev(TKC_TASK_COMPLETED, 7, 2, 0, C);
    ev(TKC_TASK_PAUSED, 10, 1, 0, O);
    tkc_task_row o = row_of(names[O]), c = row_of(names[C]);
    assert_u64_equal(4 * MS, o.t.exec, "outer exec (10 - 6 nested)");
    assert_u64_equal(6 * MS, c.t.exec, "nested exec (2 + 4)");
    /* an end out of order (records lost): counted, repaired, the stream goes on */
    ev(TKC_TASK_RUNNING, 20, 1, 0, O);
    ev(TKC_TASK_CREATED, 21, 4, 0, C);
    ev(TKC_TASK_RUNNING, 21, 4, 0, C);
    ev(TKC_TASK_PAUSED, 25, 1, 0, O); /* the inner one's pause never arrived */
    tkc_tasks_stats st;
    tkc_tasks_get_stats(ag, &st);
    assert_u64_equal(1, st.inconsistent, "inconsistent events");
    ev(TKC_TASK_RUNNING, 30, 4, 0, C);
    ev(TKC_TASK_COMPLETED, 31, 4, 0, C);
    tkc_tasks_get_stats(ag, &st);
    assert_u64_equal(1, st.live_tasks, "live tasks (only the outer one)");
}

static void threads_keep_separate_running_stacks(void **state)
{
    (void)state;
    /* the same task id on two rings is two tasks; interleaved slices do not nest */
    ev_on(0, TKC_TASK_CREATED, 0, 1, 0, O);
    ev_on(1, TKC_TASK_CREATED, 0, 1, 0, O);
    ev_on(0, TKC_TASK_RUNNING, 0, 1, 0, O);
    ev_on(1, TKC_TASK_RUNNING, 1, 1, 0, O);
    ev_on(0, TKC_TASK_COMPLETED, 10, 1, 0, O);
    ev_on(1, TKC_TASK_COMPLETED, 11, 1, 0, O);
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(20 * MS, o.t.exec, "exec over two threads");
    assert_u64_equal(2, o.calls, "calls");
}

static void totals_from_the_segment_replace_what_the_ring_showed(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_RUNNING, 0, 1, 0, O);
    ev(TKC_TASK_COMPLETED, 2, 1, 0, O);
    const uint64_t v[4][3] = {{10, 7, 1}, {1, 2, 30}, {50 * MS, 4 * MS, 90 * MS}, {9 * MS, 20 * MS, 3}};
    for (unsigned part = 0; part < 4; part++) {
        tkc_event e = {.kind = TKC_EV_TASK, .name = 102, .ring = 0, .sub = TKC_TASK_TOTALS};
        e.a = v[part][0];
        e.b = v[part][1];
        e.c = v[part][2];
        e.d = part | (uint64_t)O << 8;
        assert_int_equal(tkc_tasks_event(ag, PROC, names[O], &e), 0);
    }
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(10, o.t.created, "created");
    assert_u64_equal(9, o.calls, "calls");
    assert_u64_equal(1, o.in_flight, "in flight");
    assert_u64_equal(54 * MS, o.exec_with_children, "exec with children");
    assert_u64_equal(20 * MS, o.t.max_exec, "max exec");
    assert_u64_equal(3, o.t.zombie, "zombie");
    assert_u64_equal(1, hist_count(o.slice_hist), "the histograms still come from the ring");
}

static void top_k_plus_other_keeps_the_sums(void **state)
{
    (void)state;
    uint64_t id = 1;
    for (uint32_t type = 0; type < 3; type++)
        for (uint32_t k = 0; k <= type; k++, id++) {
            ev(TKC_TASK_CREATED, 0, id, 0, type);
            ev(TKC_TASK_RUNNING, 0, id, 0, type);
            ev(TKC_TASK_COMPLETED, 1 + type, id, 0, type);
        }
    tkc_task_row rows[3];
    size_t n = tkc_tasks_rows(ag, rows, 3);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].name, names[O]); /* 3 tasks of 3 ms */
    assert_string_equal(rows[2].name, names[P]);
    tkt_totals other;
    tkc_tasks_other(rows, n, 1, &other);
    assert_u64_equal(2 * 2 + 1, other.exec / MS, "other exec (ms)");
    assert_u64_equal(3, other.completed, "other calls");
}

static void proc_gone_forgets_live_tasks_and_keeps_totals(void **state)
{
    (void)state;
    ev(TKC_TASK_CREATED, 0, 1, 0, O);
    ev(TKC_TASK_RUNNING, 0, 1, 0, O);
    ev(TKC_TASK_PAUSED, 3, 1, 0, O);
    ev(TKC_TASK_CREATED, 3, 2, 0, O);
    tkc_tasks_proc_gone(ag, PROC);
    tkc_tasks_stats st;
    tkc_tasks_get_stats(ag, &st);
    assert_u64_equal(0, st.live_tasks, "live tasks");
    tkc_task_row o = row_of(names[O]);
    assert_u64_equal(3 * MS, o.t.exec, "exec kept");
    assert_u64_equal(2, o.in_flight, "in flight as last seen");
}

static void record_encoding_round_trips_to_an_event(void **state)
{
    (void)state;
    tks_record r = {TKS_TAG(TKS_REC_TASK, 42), 1, 12345, 77, TKS_TASK_C(TKS_TASK_CREATED, 300, 76)};
    tkc_event e;
    assert_int_equal(tkc_task_event_from_record(&r, 3, &e), 0);
    assert_int_equal(e.sub, TKC_TASK_CREATED);
    assert_u64_equal(42, e.name, "name");
    assert_u64_equal(3, e.ring, "ring");
    assert_u64_equal(12345, e.ticks, "ticks");
    assert_u64_equal(77, e.a, "task id");
    assert_u64_equal(76, e.b, "parent id");
    assert_u64_equal(300, e.c, "type index");
    r.c = TKS_TASK_C(9, 0, 0);
    assert_int_equal(tkc_task_event_from_record(&r, 3, &e), -1);
    r.c = TKS_TASK_C(TKS_TASK_PAUSED, 1, 0);
    r.b = 0;
    assert_int_equal(tkc_task_event_from_record(&r, 3, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(parent_awaiting_a_child_that_does_not_yield_keeps_only_its_own_time, setup, teardown),
        cmocka_unit_test_setup_teardown(child_that_yields_counts_both_slices_and_its_wait_only_in_wall, setup, teardown),
        cmocka_unit_test_setup_teardown(task_finished_without_running_is_stillborn_whatever_its_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_and_cancellation_are_counted_apart_and_end_the_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(child_outliving_its_parent_still_adds_to_the_parent_type, setup, teardown),
        cmocka_unit_test_setup_teardown(events_after_a_task_finished_are_zombies_and_unknown_tasks_are_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_runs_unwind_in_order_and_out_of_order_ends_are_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_keep_separate_running_stacks, setup, teardown),
        cmocka_unit_test_setup_teardown(totals_from_the_segment_replace_what_the_ring_showed, setup, teardown),
        cmocka_unit_test_setup_teardown(top_k_plus_other_keeps_the_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(proc_gone_forgets_live_tasks_and_keeps_totals, setup, teardown),
        cmocka_unit_test(record_encoding_round_trips_to_an_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
