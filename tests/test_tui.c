/* test_tui.c — `timekeeper top` without a terminal: number formatting, axes, plots, the model fed
 * with synthetic collector data, the keys, and whole screens drawn at 80x24 and larger. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tui-model.h"
#include "tui-plot.h"
#include "tui-screen.h"

#define S 1000000000ull /* one second in ns */

#define expect_str(what, expected, actual)                                                    \
    do {                                                                                      \
        const char *e_ = (expected), *a_ = (actual);                                          \
        if (strcmp(e_, a_) != 0) {                                                            \
            print_error("%s: expected \"%s\", got \"%s\"\n", (what), e_, a_);                 \
            fail();                                                                           \
        }                                                                                     \
    } while (0)

/* ---- synthetic collector data ------------------------------------------------------------------ */

typedef struct fake_proc {
    process_info info;
    timer_stats *timers[16];
} fake_proc;

static void fake_proc_init(fake_proc *p, int pid, const char *name)
{
    memset(p, 0, sizeof *p);
    p->info.pid = pid;
    p->info.start_real_ns = 1000 + (uint64_t)pid;
    snprintf(p->info.name, sizeof p->info.name, "%s", name);
    snprintf(p->info.cmdline, sizeof p->info.cmdline, "./%s --fake", name);
    p->info.timers = p->timers;
    p->info.rings_used = 1;
}

static timer_stats *fake_timer(fake_proc *p, const char *name)
{
    timer_stats *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->name, sizeof t->name, "%s", name);
    for (int k = 0; k < KIND_COUNT; k++) {
        t->interval[k] = hist_new();
        t->total[k] = hist_new();
        assert_non_null(t->interval[k]);
        assert_non_null(t->total[k]);
    }
    p->timers[p->info.ntimers++] = t;
    return t;
}

static void fake_proc_free(fake_proc *p)
{
    for (size_t i = 0; i < p->info.ntimers; i++) {
        for (int k = 0; k < KIND_COUNT; k++) {
            hist_free(p->timers[i]->interval[k]);
            hist_free(p->timers[i]->total[k]);
        }
        free(p->timers[i]);
    }
}

/* Records n values lo, lo+step, ... into the interval histogram of one kind, marks the timer and
 * its process as recorded at now. */
static void fake_record(fake_proc *p, timer_stats *t, int kind, uint64_t lo, uint64_t step,
                        unsigned n, uint64_t now)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(hist_record(t->interval[kind], lo + step * i), 0);
    t->last_mono_ns = now;
    p->info.last_record_mono_ns = now;
    p->info.heartbeat_mono_ns = now;
}

static void fake_rollover(fake_proc *p)
{
    for (size_t i = 0; i < p->info.ntimers; i++)
        for (int k = 0; k < KIND_COUNT; k++) {
            hist_merge(p->timers[i]->total[k], p->timers[i]->interval[k]);
            hist_reset(p->timers[i]->interval[k]);
            p->timers[i]->lost_interval = 0;
        }
}

/* ---- formatting and axes ----------------------------------------------------------------------- */

static void test_durations_use_adaptive_units(void **state)
{
    (void)state;
    char b[32];
    expect_str("0", "0ns", tui_fmt_ns(b, sizeof b, 0, 1));
    expect_str("812", "812ns", tui_fmt_ns(b, sizeof b, 812, 1));
    expect_str("1234", "1.23µs", tui_fmt_ns(b, sizeof b, 1234, 1));
    expect_str("1234 ascii", "1.23us", tui_fmt_ns(b, sizeof b, 1234, 0));
    expect_str("12345", "12.3µs", tui_fmt_ns(b, sizeof b, 12345, 1));
    expect_str("123456", "123µs", tui_fmt_ns(b, sizeof b, 123456, 1));
    expect_str("999.6us rounds up to ms", "1.00ms", tui_fmt_ns(b, sizeof b, 999600, 1));
    expect_str("1.5ms", "1.50ms", tui_fmt_ns(b, sizeof b, 1.5e6, 1));
    expect_str("2.5s", "2.50s", tui_fmt_ns(b, sizeof b, 2.5e9, 1));
    expect_str("1h", "3600s", tui_fmt_ns(b, sizeof b, 3.6e12, 1));
    expect_str("NaN", "-", tui_fmt_ns(b, sizeof b, NAN, 1));
}

static void test_counts_and_ages_are_short(void **state)
{
    (void)state;
    char b[32];
    expect_str("999", "999", tui_fmt_count(b, sizeof b, 999));
    expect_str("99999", "99999", tui_fmt_count(b, sizeof b, 99999));
    expect_str("123456", "123k", tui_fmt_count(b, sizeof b, 123456));
    expect_str("1.5M", "1.50M", tui_fmt_count(b, sizeof b, 1.5e6));
    expect_str("12.3G", "12.3G", tui_fmt_count(b, sizeof b, 12.3e9));
    expect_str("5s", "5s", tui_fmt_age(b, sizeof b, 5));
    expect_str("0.5s", "0.5s", tui_fmt_age(b, sizeof b, 0.5));
    expect_str("120s", "2m", tui_fmt_age(b, sizeof b, 120));
    expect_str("3h", "3.0h", tui_fmt_age(b, sizeof b, 3 * 3600));
}

static void test_axis_unit_follows_the_range(void **state)
{
    (void)state;
    char b[32];
    tui_axis a = tui_axis_choose(100, 900, 4, 1);
    expect_str("ns unit", "ns", a.unit);
    assert_true(a.lo <= 100 && a.hi >= 900);
    a = tui_axis_choose(20e3, 900e3, 4, 1);
    expect_str("µs unit", "µs", a.unit);
    expect_str("µs label", "200µs", tui_axis_label(&a, 200e3, b, sizeof b));
    a = tui_axis_choose(2e6, 8e6, 3, 0);
    expect_str("ms unit", "ms", a.unit);
    assert_true(a.lo <= 2e6 && a.hi >= 8e6);
    a = tui_axis_choose(1.2e9, 1.5e9, 3, 1);
    expect_str("s unit", "s", a.unit);
    assert_true(a.decimals >= 1); /* steps of 0.1 s need a decimal */
    assert_true(a.lo > 0);        /* a narrow band far from zero is not squashed against it */
    a = tui_axis_choose(500, 500, 4, 1);
    assert_true(a.hi > a.lo);
    expect_str("zero", "0", tui_axis_label(&a, 0, b, sizeof b));
}

/* ---- plots ------------------------------------------------------------------------------------- */

static int find_in_column(const tui_canvas *c, int x, uint32_t ch)
{
    for (int y = 0; y < c->h; y++)
        if (c->cells[y * c->w + x].ch == ch)
            return y;
    return -1;
}

static void test_plot_puts_newest_sample_on_the_right(void **state)
{
    (void)state;
    tui_canvas c = {0};
    assert_int_equal(tui_canvas_resize(&c, 50, 12), 0);
    double avg[20], age[20];
    for (int i = 0; i < 20; i++) {
        avg[i] = 1000.0 * (i + 1); /* rising from 1 µs to 20 µs */
        age[i] = 19 - i;
    }
    avg[10] = NAN; /* an interval without records */
    tui_plot_in in = {.series = {avg}, .age_s = age, .n = 20, .utf8 = 1};
    tui_plot_draw(&c, 0, 0, 50, 12, &in);
    int newest = find_in_column(&c, 49, '*'), oldest = find_in_column(&c, 30, '*');
    if (newest < 0 || oldest < 0 || newest >= oldest)
        fail_msg("newest sample at row %d (right edge), oldest at row %d (20 columns left)",
                 newest, oldest);
    assert_int_equal(find_in_column(&c, 40, '*'), -1); /* the gap (sample 10) stays empty */
    assert_true(find_in_column(&c, 39, '*') >= 0);
    char row[256];
    tui_canvas_row(&c, 11, row, sizeof row);
    if (!strstr(row, "now") || !strstr(row, "-12s"))
        fail_msg("time axis labels: \"%s\"", row);
    tui_canvas_row(&c, 0, row, sizeof row);
    if (!strstr(row, "µs"))
        fail_msg("top y label in µs: \"%s\"", row);
    tui_canvas_free(&c);
}

static void test_plot_without_data_says_so(void **state)
{
    (void)state;
    tui_canvas c = {0};
    assert_int_equal(tui_canvas_resize(&c, 50, 10), 0);
    double avg[3] = {NAN, NAN, NAN};
    tui_plot_in in = {.series = {avg}, .n = 3, .utf8 = 1};
    tui_plot_draw(&c, 0, 0, 50, 10, &in);
    char row[256];
    int found = 0;
    for (int y = 0; y < c.h; y++) {
        tui_canvas_row(&c, y, row, sizeof row);
        found |= strstr(row, "no records") != NULL;
    }
    assert_true(found);
    tui_canvas_free(&c);
}

/* ---- model ------------------------------------------------------------------------------------- */

/* Draws in into a w x h canvas and returns it as text (static buffer). */
static const char *plot_text(const tui_plot_in *in, int w, int h)
{
    static char text[16384];
    tui_canvas c = {0};
    assert_int_equal(tui_canvas_resize(&c, w, h), 0);
    tui_plot_draw(&c, 0, 0, w, h, in);
    size_t used = 0;
    for (int y = 0; y < h; y++) {
        tui_canvas_row(&c, y, text + used, sizeof text - used - 1);
        used += strlen(text + used);
        text[used++] = '\n';
    }
    text[used] = '\0';
    tui_canvas_free(&c);
    return text;
}

/* 10 % noise around 1 µs does not fill the pane: the axis starts at 0 unless zoomed; log axes
 * are labelled by decades. */
static void test_y_axis_starts_at_zero_by_default(void **state)
{
    (void)state;
    double v[30];
    for (int i = 0; i < 30; i++)
        v[i] = 1000 + (i % 3) * 50;
    tui_plot_in in = {.series = {v}, .n = 30, .utf8 = 1};
    const char *s = plot_text(&in, 60, 12);
    if (!strstr(s, " 0┤"))
        fail_msg("no 0 on the y axis:\n%s", s);
    in.axis = TUI_AXIS_ZOOM;
    s = plot_text(&in, 60, 12);
    if (strstr(s, " 0┤"))
        fail_msg("zoomed, yet 0 on the y axis:\n%s", s);
    in.axis = TUI_AXIS_LOG;
    s = plot_text(&in, 60, 12);
    if (!strstr(s, "1.00µs┤") || !strstr(s, "10.0µs┤"))
        fail_msg("log axis without its decades 1.00µs and 10.0µs:\n%s", s);
}

/* After the interval changed (5 s samples, then 1 s ones) the ticks stay evenly spaced in time and
 * carry their true ages: -12s, -24s, -36s, ... one column per second. */
static void test_time_axis_keeps_true_times_after_the_interval_changed(void **state)
{
    (void)state;
    enum { OLD = 10, NEW = 20, N = OLD + NEW };
    double v[N], age[N];
    for (int i = 0; i < N; i++) {
        v[i] = 1000;
        age[i] = i < OLD ? NEW + 5.0 * (OLD - i) : (double)(N - 1 - i); /* 70 .. 25, 19 .. 0 */
    }
    tui_plot_in in = {.series = {v}, .age_s = age, .n = N, .utf8 = 1, .col_s = 1};
    const char *s = plot_text(&in, 90, 10);
    const char *want[] = {"-12s", "-24s", "-36s", "-48s", "-60s", "now"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(s, want[i]))
            fail_msg("tick %s missing:\n%s", want[i], s);
    if (strstr(s, "-45s"))
        fail_msg("a tick labelled with the age of a sample, not its place:\n%s", s);
    /* the 5 s samples are 5 columns apart: the sample 25 s old is 25 columns from the right */
    tui_canvas c = {0};
    assert_int_equal(tui_canvas_resize(&c, 90, 10), 0);
    tui_plot_draw(&c, 0, 0, 90, 10, &in);
    assert_true(find_in_column(&c, 89 - 25, '*') >= 0);
    assert_true(find_in_column(&c, 89 - 22, '*') < 0);
    tui_canvas_free(&c);
}

static void test_model_keeps_one_sample_per_interval(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, 8, 5 * S, 60 * S), 0);
    fake_proc p;
    fake_proc_init(&p, 42, "gw");
    timer_stats *t = fake_timer(&p, "gw.risk");
    const process_info *procs[] = {&p.info};

    uint64_t now = 100 * S;
    fake_record(&p, t, KIND_PROCESSING, 1000, 10, 100, now); /* 1000 .. 1990 ns */
    fake_record(&p, t, KIND_LATENCY, 50000, 0, 100, now);
    t->lost_interval = 5;
    t->lost_total = 1000005; /* mostly overwritten before we attached: not ours to report */
    assert_int_equal(tui_model_add_frame(&m, procs, 1, now, 2 * S), 0);
    fake_rollover(&p);
    assert_int_equal(m.nprocs, 1);
    assert_int_equal(m.ntimers, 1);
    tui_timer *mt = m.procs[0]->timers[0];
    expect_str("name", "gw.risk", mt->name);
    assert_true(fabs(mt->rate_hz[KIND_PROCESSING] - 50.0) < 1e-9); /* 100 records in 2 s */
    assert_int_equal(mt->last[KIND_PROCESSING].min, 1000);
    assert_int_equal(mt->last[KIND_PROCESSING].max, 1990);
    assert_int_equal(mt->health, TUI_OK);

    /* an empty interval is a gap in the history, and totals keep counting */
    t->lost_interval = 3;
    assert_int_equal(tui_model_add_frame(&m, procs, 1, now + S, S), 0);
    fake_rollover(&p);
    assert_int_equal(mt->lost_last, 3);
    assert_int_equal(mt->lost_seen, 8);
    assert_int_equal(m.lost_seen, 8);
    const tui_sample *s0 = tui_model_sample(&m, mt, KIND_PROCESSING, 0);
    const tui_sample *s1 = tui_model_sample(&m, mt, KIND_PROCESSING, 1);
    assert_non_null(s0);
    assert_non_null(s1);
    assert_int_equal(s0->count, 0);
    assert_int_equal(s1->count, 100);
    assert_true(fabs(s1->v[TUI_STAT_AVG] - 1495.0) < 1.0);
    assert_int_equal(mt->count_total[KIND_PROCESSING], 100);
    assert_int_equal(mt->count_total[KIND_LATENCY], 100);
    assert_null(tui_model_sample(&m, mt, KIND_PROCESSING, 2)); /* only two frames yet */

    /* the history is a ring: after cap frames the oldest is gone */
    for (int i = 0; i < 8; i++)
        tui_model_add_frame(&m, procs, 1, now + (2 + (uint64_t)i) * S, S);
    assert_null(tui_model_sample(&m, mt, KIND_PROCESSING, 8));
    assert_non_null(tui_model_sample(&m, mt, KIND_PROCESSING, 7));
    fake_proc_free(&p);
    tui_model_free(&m);
}

static void test_model_marks_quiet_timers_and_silent_processes(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, 8, 5 * S, 60 * S), 0);
    fake_proc p, q;
    fake_proc_init(&p, 10, "alive");
    fake_proc_init(&q, 11, "hung");
    timer_stats *busy = fake_timer(&p, "busy"), *rare = fake_timer(&p, "rare");
    fake_timer(&p, "never");
    timer_stats *h = fake_timer(&q, "h");
    const process_info *procs[] = {&p.info, &q.info};
    uint64_t now = 1000 * S;
    fake_record(&p, rare, KIND_PROCESSING, 10, 1, 1, now - 20 * S);
    fake_record(&p, busy, KIND_PROCESSING, 10, 1, 5, now);
    fake_record(&q, h, KIND_PROCESSING, 10, 1, 5, now - 30 * S);
    assert_int_equal(tui_model_add_frame(&m, procs, 2, now, S), 0);

    tui_proc *alive = m.procs[0], *hung = m.procs[1];
    expect_str("sorted by name", "alive", alive->name);
    assert_int_equal(alive->health, TUI_OK);
    assert_int_equal(alive->timers[0]->health, TUI_OK);    /* busy */
    assert_int_equal(alive->timers[1]->health, TUI_IDLE);  /* never */
    assert_int_equal(alive->timers[2]->health, TUI_QUIET); /* rare */
    assert_int_equal(hung->health, TUI_HUNG);              /* heartbeat 30 s old */
    assert_int_equal(m.nunhealthy, 1);
    assert_int_equal(m.nquiet_timers, 2);                  /* rare, and h of the hung process */

    q.info.heartbeat_mono_ns = now; /* heartbeat back, records still old: quiet */
    tui_model_add_frame(&m, procs, 2, now + S, S);
    assert_int_equal(m.procs[1]->health, TUI_QUIET);
    fake_proc_free(&p);
    fake_proc_free(&q);
    tui_model_free(&m);
}

static void test_model_keeps_an_exited_process_for_a_while(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, 8, 5 * S, 60 * S), 0);
    fake_proc p;
    fake_proc_init(&p, 7, "short");
    timer_stats *t = fake_timer(&p, "t");
    const process_info *procs[] = {&p.info};
    uint64_t now = 500 * S;
    fake_record(&p, t, KIND_PROCESSING, 10, 1, 5, now);
    p.info.state = PROC_EXITED;
    tui_model_add_frame(&m, procs, 1, now, S);
    assert_int_equal(m.procs[0]->health, TUI_EXITED);
    assert_int_equal(m.procs[0]->timers[0]->health, TUI_EXITED);
    assert_int_equal(m.nunhealthy, 0);
    assert_int_equal(m.nlive, 0);

    tui_model_add_frame(&m, NULL, 0, now + 30 * S, S); /* forgotten by the collector */
    assert_int_equal(m.nprocs, 1);
    tui_model_add_frame(&m, NULL, 0, now + 61 * S, S);
    assert_int_equal(m.nprocs, 0);
    assert_int_equal(m.ntimers, 0);
    fake_proc_free(&p);
    tui_model_free(&m);
}

/* ---- view and screen --------------------------------------------------------------------------- */

typedef struct fixture {
    tui_model m;
    tui_view v;
    tui_canvas c;
    fake_proc p[2];
    uint64_t now;
} fixture;

/* Two processes: "gateway" with 4 timers (latency and processing), "worker" with 3 timers. */
static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tui_model_init(&f->m, 100, 5 * S, 60 * S), 0);
    fake_proc_init(&f->p[0], 100, "gateway");
    fake_proc_init(&f->p[1], 200, "worker");
    const char *gw[] = {"gw.ingest", "gw.publisher", "gw.risk", "gw.sequencer"};
    const char *wk[] = {"wk.compress", "wk.flush", "wk.parse"};
    for (int i = 0; i < 4; i++)
        fake_timer(&f->p[0], gw[i]);
    for (int i = 0; i < 3; i++)
        fake_timer(&f->p[1], wk[i]);
    const process_info *procs[] = {&f->p[0].info, &f->p[1].info};
    f->now = 10000 * S;
    for (int frame = 0; frame < 60; frame++) {
        uint64_t t = f->now + (uint64_t)frame * S;
        for (int pi = 0; pi < 2; pi++)
            for (size_t i = 0; i < f->p[pi].info.ntimers; i++) {
                timer_stats *ts = f->p[pi].timers[i];
                uint64_t base = 1000 * (i + 1) + (uint64_t)(frame % 10) * 200;
                fake_record(&f->p[pi], ts, KIND_PROCESSING, base, 7, 50, t);
                if (pi == 0)
                    fake_record(&f->p[pi], ts, KIND_LATENCY, base * 20, 70, 50, t);
            }
        assert_int_equal(tui_model_add_frame(&f->m, procs, 2, t, S), 0);
        fake_rollover(&f->p[0]);
        fake_rollover(&f->p[1]);
    }
    f->now += 59 * S;
    tui_view_init(&f->v, 1.0, 1, "/dev/shm");
    assert_int_equal(tui_view_sync(&f->v, &f->m), 0);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    tui_view_free(&f->v);
    tui_model_free(&f->m);
    tui_canvas_free(&f->c);
    fake_proc_free(&f->p[0]);
    fake_proc_free(&f->p[1]);
    free(f);
    return 0;
}

/* Draws at w x h and returns the screen as text (static buffer), one line per row. */
static const char *screen(fixture *f, int w, int h)
{
    static char text[64 * 1024];
    assert_int_equal(tui_canvas_resize(&f->c, w, h), 0);
    tui_screen_draw(&f->c, &f->v, &f->m, f->now);
    size_t used = 0;
    for (int y = 0; y < h && used + 1024 < sizeof text; y++) {
        tui_canvas_row(&f->c, y, text + used, sizeof text - used - 1);
        used += strlen(text + used);
        text[used++] = '\n';
    }
    text[used] = '\0';
    return text;
}

/* The line of the screen that contains needle, or NULL. */
static const char *line_with(const char *text, const char *needle, char *line, size_t n)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *b = p, *e = strchr(p, '\n');
    while (b > text && b[-1] != '\n')
        b--;
    size_t len = (size_t)((e ? e : p + strlen(p)) - b);
    if (len >= n)
        len = n - 1;
    memcpy(line, b, len);
    line[len] = '\0';
    return line;
}

#define expect_on_screen(text, needle)                                                        \
    do {                                                                                      \
        if (!strstr((text), (needle)))                                                        \
            fail_msg("\"%s\" not on the screen:\n%s", (needle), (text));                      \
    } while (0)
#define expect_off_screen(text, needle)                                                       \
    do {                                                                                      \
        if (strstr((text), (needle)))                                                         \
            fail_msg("\"%s\" should not be on the screen:\n%s", (needle), (text));            \
    } while (0)

static const char *selected_name(fixture *f)
{
    return f->v.selected ? f->v.selected->name : "(none)";
}

static void test_screen_80x24_shows_health_list_plot_and_keys(void **state)
{
    fixture *f = *state;
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "healthy: 2 processes, 7 timers");
    expect_on_screen(s, "gateway  pid 100  live");
    expect_on_screen(s, "> gw.ingest");
    expect_on_screen(s, "P99");
    expect_on_screen(s, "LATENCY of gw.ingest");
    expect_on_screen(s, "* avg");
    expect_off_screen(s, "v min");
    expect_on_screen(s, "now");
    expect_on_screen(s, "q:quit");
    expect_on_screen(s, "?:help");
    /* the list, the pane title and the legend sit on their own rows */
    char line[512];
    assert_non_null(line_with(s, "> gw.ingest", line, sizeof line));
    if (!strstr(line, "50/s"))
        fail_msg("selected row without its rate: \"%s\"", line);
    assert_non_null(line_with(s, "* avg", line, sizeof line));
    if (!strstr(line, "µs"))
        fail_msg("legend without a value in µs: \"%s\"", line);
}

static void test_series_keys_change_the_legend(void **state)
{
    fixture *f = *state;
    tui_view_key(&f->v, &f->m, 'm');
    expect_on_screen(screen(f, 80, 24), "v min");
    tui_view_key(&f->v, &f->m, 'M');
    expect_on_screen(screen(f, 80, 24), "^ max");
    tui_view_key(&f->v, &f->m, 'e');
    expect_on_screen(screen(f, 80, 24), "o median");
    tui_view_key(&f->v, &f->m, 'a');
    const char *s = screen(f, 80, 24);
    expect_off_screen(s, "* avg");
    tui_view_key(&f->v, &f->m, 'm');
    tui_view_key(&f->v, &f->m, 'M');
    tui_view_key(&f->v, &f->m, 'e');
    expect_on_screen(screen(f, 80, 24), "no series shown");
}

static void test_pane_keys_switch_latency_and_processing(void **state)
{
    fixture *f = *state;
    tui_view_key(&f->v, &f->m, 'b');
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "PROCESSING TIME of gw.ingest");
    expect_off_screen(s, "LATENCY of");
    expect_on_screen(s, "TIMER 1/7, processing:");
    tui_view_key(&f->v, &f->m, 'l');
    expect_on_screen(screen(f, 80, 24), "LATENCY of gw.ingest");
    /* a tall terminal shows both panes, the focused one marked */
    s = screen(f, 100, 60);
    expect_on_screen(s, "▶ LATENCY of");
    expect_on_screen(s, "  PROCESSING TIME of");
}

/* COUNT is every record since top started, the same in either pane; a timer without origin says
 * "no origin" in the latency columns instead of zeros. */
static void test_count_is_pane_independent_and_no_origin_is_said(void **state)
{
    fixture *f = *state;
    char a[256], b[256];
    const char *s = screen(f, 100, 40);
    line_with(s, "wk.compress", a, sizeof a);
    expect_on_screen(a, "3000"); /* 60 frames of 50 records */
    expect_on_screen(a, "no origin");
    expect_off_screen(a, "µs");
    line_with(s, "gw.ingest", a, sizeof a);
    tui_view_key(&f->v, &f->m, 'b');
    s = screen(f, 100, 40);
    line_with(s, "wk.compress", b, sizeof b);
    expect_on_screen(b, "3000");
    expect_off_screen(b, "no origin");
    line_with(s, "gw.ingest", b, sizeof b);
    /* COUNT and RATE (the first columns after the name) do not change with the pane */
    assert_true(strncmp(a, b, 40) == 0 || (print_error("latency \"%s\"\nprocessing \"%s\"\n", a, b), 0));
}

/* What the rings held before top started is not counted in COUNT (it is in count_total). */
static void test_count_excludes_the_attach_time_backlog(void **state)
{
    (void)state;
    tui_model m;
    assert_int_equal(tui_model_init(&m, 8, 5 * S, 60 * S), 0);
    fake_proc p;
    fake_proc_init(&p, 42, "gw");
    timer_stats *t = fake_timer(&p, "gw.stage");
    const process_info *procs[] = {&p.info};
    uint64_t now = 100 * S;
    fake_record(&p, t, KIND_PROCESSING, 1000, 1, 5000, now); /* the backlog, drained at start */
    fake_rollover(&p);                                       /* ... into the totals */
    fake_record(&p, t, KIND_PROCESSING, 1000, 1, 100, now + S);
    assert_int_equal(tui_model_add_frame(&m, procs, 1, now + S, S), 0);
    fake_rollover(&p);
    fake_record(&p, t, KIND_PROCESSING, 1000, 1, 100, now + 2 * S);
    assert_int_equal(tui_model_add_frame(&m, procs, 1, now + 2 * S, S), 0);
    tui_timer *mt = m.procs[0]->timers[0];
    assert_int_equal(mt->count_seen, 200);
    assert_int_equal(mt->count_total[KIND_PROCESSING], 5200);
    assert_int_equal(mt->has_origin, 0);
    fake_proc_free(&p);
    tui_model_free(&m);
}

static void test_p99_is_a_series_and_z_changes_the_axis(void **state)
{
    fixture *f = *state;
    const char *s = screen(f, 100, 40);
    expect_off_screen(s, "9 p99");
    expect_on_screen(s, "y axis from 0");
    tui_view_key(&f->v, &f->m, 'p');
    s = screen(f, 100, 40);
    expect_on_screen(s, "9 p99");
    tui_view_key(&f->v, &f->m, 'z');
    expect_on_screen(screen(f, 100, 40), "y axis zoomed");
    tui_view_key(&f->v, &f->m, 'z');
    expect_on_screen(screen(f, 100, 40), "y axis log");
    tui_view_key(&f->v, &f->m, 'z');
    expect_on_screen(screen(f, 100, 40), "y axis from 0");
}

/* '>' and '<' step the sort column, 'I' reverses it; timers stay under their process. */
static void test_sort_keys_order_the_list_by_a_column(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++) /* COUNT, RATE, AVG */
        tui_view_key(&f->v, &f->m, '>');
    assert_int_equal(f->v.sort, TUI_SORT_AVG);
    expect_str("largest avg first", "gw.sequencer", f->v.rows[1].timer->name);
    expect_str("the worker's rows follow its process", "worker", f->v.rows[5].proc->name);
    assert_null(f->v.rows[5].timer);
    expect_on_screen(screen(f, 100, 40), "AVG▼");
    tui_view_key(&f->v, &f->m, 'I');
    expect_str("reversed", "gw.ingest", f->v.rows[1].timer->name);
    expect_on_screen(screen(f, 100, 40), "AVG▲");
    for (int i = 0; i < 3; i++)
        tui_view_key(&f->v, &f->m, '<');
    assert_int_equal(f->v.sort, TUI_SORT_NAME);
    tui_view_key(&f->v, &f->m, 'I');
    expect_str("by name", "gw.ingest", f->v.rows[1].timer->name);
}

static void test_arrows_pages_home_end_select_timers(void **state)
{
    fixture *f = *state;
    expect_str("first", "gw.ingest", selected_name(f));
    tui_view_key(&f->v, &f->m, TUI_KEY_UP);
    expect_str("up at the top", "gw.ingest", selected_name(f));
    tui_view_key(&f->v, &f->m, TUI_KEY_DOWN);
    expect_str("down", "gw.publisher", selected_name(f));
    for (int i = 0; i < 3; i++)
        tui_view_key(&f->v, &f->m, TUI_KEY_DOWN); /* over the "worker" process line */
    expect_str("next process", "wk.compress", selected_name(f));
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "> wk.compress");
    expect_on_screen(s, "worker  pid 200"); /* scrolled so that its process shows */
    tui_view_key(&f->v, &f->m, TUI_KEY_END);
    expect_str("end", "wk.parse", selected_name(f));
    tui_view_key(&f->v, &f->m, TUI_KEY_HOME);
    expect_str("home", "gw.ingest", selected_name(f));
    screen(f, 80, 24); /* sets the page size */
    tui_view_key(&f->v, &f->m, TUI_KEY_PGDN);
    assert_string_not_equal(selected_name(f), "gw.ingest");
    tui_view_key(&f->v, &f->m, TUI_KEY_PGUP);
    expect_str("page up", "gw.ingest", selected_name(f));
}

static void test_filter_hides_other_timers(void **state)
{
    fixture *f = *state;
    tui_view_key(&f->v, &f->m, '/');
    tui_view_key(&f->v, &f->m, 'p');
    tui_view_key(&f->v, &f->m, 'a');
    tui_view_key(&f->v, &f->m, 'r');
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "filter timers: par_");
    expect_on_screen(s, "wk.parse");
    expect_off_screen(s, "gw.ingest");
    expect_off_screen(s, "gateway"); /* no matching timer: the process is hidden too */
    expect_str("selection follows", "wk.parse", selected_name(f));
    tui_view_key(&f->v, &f->m, TUI_KEY_ENTER);
    expect_on_screen(screen(f, 80, 24), "filter 'par'");
    /* a glob; Esc while editing restores the previous filter */
    tui_view_key(&f->v, &f->m, '/');
    tui_view_key(&f->v, &f->m, TUI_KEY_BACKSPACE);
    tui_view_key(&f->v, &f->m, TUI_KEY_ESC);
    expect_str("restored", "par", f->v.filter);
    tui_view_key(&f->v, &f->m, TUI_KEY_ESC); /* clears */
    expect_str("cleared", "", f->v.filter);
    snprintf(f->v.filter, sizeof f->v.filter, "gw.*r*");
    tui_view_sync(&f->v, &f->m);
    s = screen(f, 80, 24);
    expect_on_screen(s, "gw.publisher");
    expect_on_screen(s, "gw.risk");
    expect_on_screen(s, "gw.sequencer");
    expect_off_screen(s, "gw.ingest");
    expect_off_screen(s, "wk.parse");
}

static void test_help_pause_interval_and_quit(void **state)
{
    fixture *f = *state;
    tui_view_key(&f->v, &f->m, '?');
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "timekeeper top: keys");
    expect_on_screen(s, "PgUp / PgDn");
    tui_view_key(&f->v, &f->m, 'q'); /* any key closes the help first */
    expect_off_screen(screen(f, 80, 24), "timekeeper top: keys");
    assert_int_equal(tui_view_key(&f->v, &f->m, ' ') & TUI_ACT_RESCHEDULE, TUI_ACT_RESCHEDULE);
    expect_on_screen(screen(f, 80, 24), "PAUSED");
    tui_view_key(&f->v, &f->m, '+');
    assert_true(fabs(f->v.interval_s - 2.0) < 1e-9);
    tui_view_key(&f->v, &f->m, '-');
    tui_view_key(&f->v, &f->m, '-');
    assert_true(fabs(f->v.interval_s - 0.5) < 1e-9);
    expect_on_screen(screen(f, 80, 24), "every 0.5s");
    assert_int_equal(tui_view_key(&f->v, &f->m, 'q'), TUI_ACT_QUIT);
}

static void test_interval_steps_stay_in_range(void **state)
{
    (void)state;
    assert_true(tui_interval_step(1, +1) == 2);
    assert_true(tui_interval_step(1, -1) == 0.5);
    assert_true(tui_interval_step(0.3, +1) == 0.5);
    assert_true(tui_interval_step(0.3, -1) == 0.2);
    assert_true(tui_interval_step(60, +1) == 60);
    assert_true(tui_interval_step(0.1, -1) == 0.1);
    assert_true(tui_interval_step(0.05, -1) == 0.05);
    assert_true(tui_interval_step(120, +1) == 120);
}

static void test_unhealthy_header_and_tiny_terminal(void **state)
{
    fixture *f = *state;
    f->now += 30 * S; /* nobody recorded nor beat for 30 s */
    tui_model_refresh_health(&f->m, f->now);
    const char *s = screen(f, 80, 24);
    expect_on_screen(s, "NOT HEALTHY: 2 of 2 processes silent");
    expect_on_screen(s, "gateway  pid 100  NO HEARTBEAT for 30s");
    expect_on_screen(s, "  quiet ");
    f->m.procs[0]->heartbeat_mono_ns = f->now; /* beating, but no records */
    tui_model_refresh_health(&f->m, f->now);
    expect_on_screen(screen(f, 80, 24), "gateway  pid 100  QUIET for 30s");
    s = screen(f, 30, 8);
    expect_on_screen(s, "too small");
    /* an empty model says where it looks */
    tui_model empty;
    tui_view v;
    tui_canvas c = {0};
    char row[256];
    assert_int_equal(tui_model_init(&empty, 10, 5 * S, 60 * S), 0);
    tui_view_init(&v, 1, 1, "/some/dir");
    tui_view_sync(&v, &empty);
    assert_int_equal(tui_canvas_resize(&c, 80, 24), 0);
    tui_screen_draw(&c, &v, &empty, S);
    tui_canvas_row(&c, 0, row, sizeof row);
    if (!strstr(row, "NOT HEALTHY: no live instrumented process"))
        fail_msg("header: %s", row);
    tui_canvas_row(&c, 2, row, sizeof row);
    if (!strstr(row, "no instrumented process in /some/dir"))
        fail_msg("list: %s", row);
    tui_canvas_free(&c);
    tui_view_free(&v);
    tui_model_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations_use_adaptive_units),
        cmocka_unit_test(test_counts_and_ages_are_short),
        cmocka_unit_test(test_axis_unit_follows_the_range),
        cmocka_unit_test(test_plot_puts_newest_sample_on_the_right),
        cmocka_unit_test(test_plot_without_data_says_so),
        cmocka_unit_test(test_model_keeps_one_sample_per_interval),
        cmocka_unit_test(test_model_marks_quiet_timers_and_silent_processes),
        cmocka_unit_test(test_model_keeps_an_exited_process_for_a_while),
        cmocka_unit_test(test_interval_steps_stay_in_range),
        cmocka_unit_test_setup_teardown(test_screen_80x24_shows_health_list_plot_and_keys,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_series_keys_change_the_legend, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pane_keys_switch_latency_and_processing,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_arrows_pages_home_end_select_timers, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_count_is_pane_independent_and_no_origin_is_said,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(test_count_excludes_the_attach_time_backlog),
        cmocka_unit_test_setup_teardown(test_p99_is_a_series_and_z_changes_the_axis, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sort_keys_order_the_list_by_a_column, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_y_axis_starts_at_zero_by_default),
        cmocka_unit_test(test_time_axis_keeps_true_times_after_the_interval_changed),
        cmocka_unit_test_setup_teardown(test_filter_hides_other_timers, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_help_pause_interval_and_quit, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unhealthy_header_and_tiny_terminal, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
