/* test_prom_counts.c — serve's counters as a consumer, fed hand-made events for a process the
 * test lays out itself (the core's private struct, names and kinds only): spans land at the right
 * bounds with exact sums, latency only with an origin, losses per timer, points per label, timers
 * sorted by name, health from the process's times, and a process that is gone goes. */
#include "check.h"

#include <stdlib.h>

#include "core/events.h"
#include "core/proc.h"
#include "sink/prom/prom.h"

static char names[4][56] = {"(invalid)", "zeta.timer", "ffi.send", "alpha.timer"};
static uint8_t kinds[4] = {TKS_NAME_TIMER, TKS_NAME_TIMER, TKS_NAME_LABEL, TKS_NAME_TIMER};

static void fake_proc(cproc *p)
{
    memset(p, 0, sizeof *p);
    p->pub.key = 1;
    p->pub.name = "fake";
    p->pub.pid = 321;
    p->pub.state = TKC_PROC_LIVE;
    p->pub.start_mono_ns = 1000000000ull;
    p->pub.last_record_mono_ns = 3000000000ull;
    p->pub.records = 77;
    p->pub.names_known = 4;
    p->names = names;
    p->kinds = kinds;
    p->lost[TKC_LOSS_LAPPED] = 4;
    p->lost[TKC_LOSS_NO_RING] = 2;
}

static const tkp_timer *timer_named(const tkp_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->ntimers; i++)
        if (!strcmp(s->timers[i].name, name))
            return &s->timers[i];
    return NULL;
}

static void spans_count_at_the_bounds_with_exact_sums(void **state)
{
    (void)state;
    cproc p;
    fake_proc(&p);
    tkp_counts *c = tkp_counts_new();
    const tkc_consumer *k = tkp_counts_consumer(c);
    k->proc_appeared(k->ctx, &p.pub);
    k->names(k->ctx, &p.pub, 0, 4);
    tkc_span s[4] = {
        {.name = 1, .dur_ns = 40, .lat_ns = TKC_NONE},
        {.name = 1, .dur_ns = 1000, .lat_ns = 2000000},
        {.name = 3, .dur_ns = 30000000000ull, .lat_ns = TKC_NONE},
        {.name = 2, .dur_ns = 5, .lat_ns = TKC_NONE}, /* a label id: not a timer, ignored */
    };
    k->spans(k->ctx, &p.pub, s, 4);
    tkc_loss l = {.name = 1, .reason = TKC_LOSS_LAPPED, .count = 6};
    k->loss(k->ctx, &p.pub, &l);
    l.count = -2; /* a correction */
    k->loss(k->ctx, &p.pub, &l);
    tkc_point pt = {.label = 2};
    k->point(k->ctx, &p.pub, &pt);
    k->point(k->ctx, &p.pub, &pt);

    tkp_snapshot snap = {0};
    assert_int_equal(0, tkp_counts_snapshot(c, &snap, 4500000000ull));
    assert_int_equal(1, snap.nprocs);
    assert_double_near(1.5, snap.procs[0].silence_s, 1e-9, "silence from the newest record");
    assert_int_equal(1, snap.procs[0].up);
    assert_u64_equal(77, snap.procs[0].records, "records");
    assert_u64_equal(4, snap.procs[0].lost, "lapped");
    assert_u64_equal(2, snap.procs[0].dropped, "dropped");
    assert_int_equal(3, snap.ntimers);
    assert_text_equal("(invalid)", snap.timers[0].name, "sorted by name");
    assert_text_equal("alpha.timer", snap.timers[1].name, "sorted by name");
    assert_text_equal("zeta.timer", snap.timers[2].name, "sorted by name");
    const tkp_timer *z = timer_named(&snap, "zeta.timer");
    assert_u64_equal(1, z->processing.le[0], "40 ns at le 50ns");
    assert_u64_equal(2, z->processing.le[4], "1 µs at le 1us");
    assert_u64_equal(2, z->processing.count, "count");
    assert_double_near(1040e-9, z->processing.sum_s, 1e-15, "exact sum");
    assert_int_equal(1, z->has_latency);
    assert_u64_equal(1, z->latency.count, "one latency");
    assert_u64_equal(0, z->latency.le[13], "2 ms is above le 1ms");
    assert_u64_equal(1, z->latency.le[14], "2 ms at le 2.5ms");
    assert_u64_equal(4, z->lost, "lost after the correction");
    const tkp_timer *a = timer_named(&snap, "alpha.timer");
    assert_int_equal(0, a->has_latency);
    assert_u64_equal(0, a->processing.le[TKP_NBOUNDS - 1], "30 s above every bound");
    assert_u64_equal(1, a->processing.count, "+Inf counts it");
    assert_int_equal(1, snap.npoints);
    assert_text_equal("ffi.send", snap.points[0].label, "label");
    assert_u64_equal(2, snap.points[0].count, "points");

    /* the process exits, then is gone */
    p.pub.state = TKC_PROC_EXITED;
    tkp_snapshot_reset(&snap);
    tkp_counts_snapshot(c, &snap, 5000000000ull);
    assert_int_equal(0, snap.procs[0].up);
    k->proc_gone(k->ctx, &p.pub);
    tkp_snapshot_reset(&snap);
    tkp_counts_snapshot(c, &snap, 5000000000ull);
    assert_int_equal(0, snap.nprocs);
    tkp_snapshot_clear(&snap);
    tkp_counts_free(c);
}

static void names_arriving_in_steps_keep_earlier_counts(void **state)
{
    (void)state;
    cproc p;
    fake_proc(&p);
    p.pub.names_known = 2;
    tkp_counts *c = tkp_counts_new();
    const tkc_consumer *k = tkp_counts_consumer(c);
    k->proc_appeared(k->ctx, &p.pub);
    k->names(k->ctx, &p.pub, 0, 2);
    tkc_span s = {.name = 1, .dur_ns = 100, .lat_ns = TKC_NONE};
    k->spans(k->ctx, &p.pub, &s, 1);
    s.name = 3; /* not known yet: ignored */
    k->spans(k->ctx, &p.pub, &s, 1);
    p.pub.names_known = 4;
    k->names(k->ctx, &p.pub, 2, 4);
    k->spans(k->ctx, &p.pub, &s, 1);
    tkp_snapshot snap = {0};
    tkp_counts_snapshot(c, &snap, 0);
    assert_u64_equal(1, timer_named(&snap, "zeta.timer")->processing.count, "kept");
    assert_u64_equal(1, timer_named(&snap, "alpha.timer")->processing.count, "after its name");
    tkp_snapshot_clear(&snap);
    tkp_counts_free(c);
}

static void every_value_near_a_bound_or_a_power_of_two_lands_where_the_writer_puts_it(void **state)
{
    (void)state;
    cproc p;
    fake_proc(&p);
    tkp_counts *c = tkp_counts_new();
    const tkc_consumer *k = tkp_counts_consumer(c);
    k->proc_appeared(k->ctx, &p.pub);
    k->names(k->ctx, &p.pub, 0, 4);
    tkp_hist want = {{0}, 0, 0};
    tkc_span s = {.name = 1, .lat_ns = TKC_NONE};
    uint64_t vals[3 * TKP_NBOUNDS + 3 * 64 + 2];
    size_t n = 0;
    for (size_t i = 0; i < TKP_NBOUNDS; i++)
        for (int d = -1; d <= 1; d++)
            vals[n++] = tkp_bounds_ns[i] + (uint64_t)(int64_t)d;
    for (unsigned b = 0; b < 64; b++)
        for (int d = -1; d <= 1; d++)
            vals[n++] = (1ull << b) + (uint64_t)(int64_t)d;
    vals[n++] = 0;
    vals[n++] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        s.dur_ns = vals[i];
        k->spans(k->ctx, &p.pub, &s, 1);
        tkp_hist_add_ns(&want, vals[i], 1);
    }
    tkp_snapshot snap = {0};
    tkp_counts_snapshot(c, &snap, 0);
    const tkp_timer *t = timer_named(&snap, "zeta.timer");
    for (size_t i = 0; i < TKP_NBOUNDS; i++)
        assert_u64_equal(want.le[i], t->processing.le[i], "le %g", tkp_bounds_s[i]);
    assert_u64_equal(want.count, t->processing.count, "+Inf");
    tkp_snapshot_clear(&snap);
    tkp_counts_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spans_count_at_the_bounds_with_exact_sums),
        cmocka_unit_test(names_arriving_in_steps_keep_earlier_counts),
        cmocka_unit_test(every_value_near_a_bound_or_a_power_of_two_lands_where_the_writer_puts_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
