/* test_pipeline.c — the event stream and the compatibility rule: a segment written by a newer
 * producer (a higher minor version, feature bits, record types and name kinds this collector does
 * not know) is read, what is unknown is counted as unknown, nothing is called corrupt; an
 * incompatible feature bit is refused by name. Uses the pipeline's own API (core, aggregator). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg/window.h"
#include "core/core.h"
#include "segment_image.h"
#include "testutil.h"

typedef struct fixture {
    char dir[64];
    char path[256];
} fixture;

static int setup(void **state)
{
    static fixture f;
    if (!tu_mkdtemp(f.dir, sizeof f.dir))
        return -1;
    snprintf(f.path, sizeof f.path, "%s/timekeeper-%u-1.seg", f.dir, SEG_DEAD_PID);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    return 0;
}

/* What a consumer saw. */
typedef struct seen {
    uint64_t spans, appeared, exited, loss_events;
    int64_t lost[TKC_LOSS_REASONS];
} seen;

static void on_spans(void *ctx, const tkc_proc *p, const tkc_span *s, size_t n)
{
    (void)p;
    (void)s;
    ((seen *)ctx)->spans += n;
}
static void on_appeared(void *ctx, const tkc_proc *p) { (void)p; ((seen *)ctx)->appeared++; }
static void on_exited(void *ctx, const tkc_proc *p) { (void)p; ((seen *)ctx)->exited++; }
static void on_loss(void *ctx, const tkc_proc *p, const tkc_loss *l)
{
    (void)p;
    seen *s = ctx;
    s->loss_events++;
    s->lost[l->reason] += l->count;
}

/* A segment from the future: minor version 99, an unknown compatible feature bit, a name of an
 * unknown kind, records of an unknown type (with continuations of the generic kind). */
static void write_future_segment(const fixture *f, uint64_t incompat)
{
    seg_image im;
    assert_int_equal(seg_image_init(&im, 8, 1, 1024, SEG_DEAD_PID), 0);
    tks_header *h = seg_hdr(&im);
    h->minor_version = 99;
    h->features = 1ull << 62;
    h->features_incompat = incompat;
    uint32_t t = seg_add_name(&im, TKS_NAME_TIMER, "t");
    uint32_t future_kind = seg_add_name(&im, 200, "from.the.future");
    for (unsigned i = 0; i < 5; i++)
        seg_put_span(&im, 0, t, SEG_T0 + i * 100u, SEG_T0 + i * 100u + 10, 0);
    for (uint32_t i = 1; i <= 3; i++) { /* a newer type, each with one continuation */
        seg_counters(&im, 0)[future_kind]++;
        seg_put_raw(&im, 0, (tks_record){TKS_TAG(200, future_kind), i, 1, 2, 3});
        seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_CONT, 0), 0, 4, 5, 6});
    }
    seg_counters(&im, 0)[t]++; /* a type this collector knows, of a timer: a plain span */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_SPAN, t), 6, SEG_T0 + 900, SEG_T0 + 950, 0});
    seg_counters(&im, 0)[t]++; /* a newer type of a known timer name */
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(201, t), 7, 0, 0, 0});
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
}

static void newer_record_types_and_features_are_read_and_counted_unknown(void **state)
{
    fixture *f = *state;
    write_future_segment(f, 0);
    tkc_core_options co = {.dir = f->dir, .quiet = 1};
    tkc_core *c;
    assert_int_equal(tkc_core_open(&co, &c), 0);
    tka_agg *a = tka_agg_new(NULL);
    assert_non_null(a);
    seen s = {0};
    tkc_consumer cons = {.ctx = &s, .spans = on_spans, .proc_appeared = on_appeared,
                         .proc_exited = on_exited, .loss = on_loss};
    assert_int_equal(tkc_core_subscribe(c, tka_agg_consumer(a)), 0);
    assert_int_equal(tkc_core_subscribe(c, &cons), 0);
    assert_u64_equal(1, tkc_core_scan(c), "processes attached");
    assert_u64_equal(1, s.appeared, "proc_appeared events");
    tkc_core_drain(c);
    const tkc_proc *p = tkc_core_proc(c, 0);
    assert_u64_equal(99, p->minor_version, "minor version read");
    assert_u64_equal(1ull << 62, p->features, "feature bits read");
    assert_u64_equal(4, p->unknown_records, "unknown records (3 of a newer type and name kind, "
                                             "1 of a newer type of a timer)");
    assert_u64_equal(0, p->corrupt_records, "corrupt records");
    assert_u64_equal(6, s.spans, "spans delivered");
    for (int r = 0; r < TKC_LOSS_REASONS; r++)
        assert_u64_equal(0, (uint64_t)s.lost[r], "lost, reason %d", r);
    assert_u64_equal(1, s.exited, "proc_exited (its pid is not alive)");
    assert_u64_equal(TKC_EXIT_KILLED, p->exit_kind, "no clean-exit mark: killed");
    const tka_timer *t = tka_proc_timer(tka_agg_proc(a, 0), 1);
    assert_non_null(t);
    assert_text_equal("t", tka_timer_name(t), "timer");
    assert_u64_equal(6, hist_count(tka_timer_hist(t, TKA_INTERVAL, TKA_PROCESSING)), "spans of t");
    assert_true(file_exists(f->path)); /* the core never deletes */
    tkc_core_close(c);
    tka_agg_free(a);
}

static void an_incompatible_feature_bit_is_refused_as_newer_not_corrupt(void **state)
{
    fixture *f = *state;
    write_future_segment(f, 1ull << 40);
    tkc_core_options co = {.dir = f->dir};
    tkc_core *c;
    assert_int_equal(tkc_core_open(&co, &c), 0);
    capture cap;
    capture_begin(&cap);
    size_t n = tkc_core_scan(c);
    tkc_core_scan(c); /* reported once */
    char *err = capture_end(&cap);
    assert_u64_equal(0, n, "processes attached");
    assert_contains(err, "newer producer", "stderr");
    assert_u64_equal(1, count_lines(err), "lines on stderr");
    free(err);
    tkc_core_close(c);
}

/* A segment published while the collector waits is found through inotify, without a rescan. */
static void a_segment_published_by_rename_is_found_without_a_rescan(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    tkc_core_options co = {.dir = f->dir, .quiet = 1};
    tkc_core *c;
    assert_int_equal(tkc_core_open(&co, &c), 0);
    if (tkc_core_watch_fd(c) < 0) {
        tkc_core_close(c);
        skip(); /* no inotify here: the periodic rescan covers it */
    }
    assert_u64_equal(0, tkc_core_scan(c), "processes before");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/.tmp-timekeeper-x", f->dir);
    seg_image im;
    assert_int_equal(seg_image_init(&im, 8, 1, 1024, SEG_DEAD_PID), 0);
    assert_int_equal(seg_write(&im, tmp), 0);
    seg_image_free(&im);
    assert_int_equal(rename(tmp, f->path), 0);
    assert_u64_equal(1, tkc_core_scan_new(c), "processes found from the inotify event alone");
    tkc_core_close(c);
}

/* A group- or world-writable segment is skipped with a warning (another user could rewrite it
 * under its program); a bad segment is looked at again later, and attached once it is good. */
static void a_writable_segment_is_skipped_then_attached_once_fixed(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    seg_image im;
    assert_int_equal(seg_image_init(&im, 8, 1, 1024, SEG_DEAD_PID), 0);
    assert_int_equal(seg_write(&im, f->path), 0);
    seg_image_free(&im);
    assert_int_equal(chmod(f->path, 0620), 0);
    tkc_core_options co = {.dir = f->dir, .retry_ns = 50000000};
    tkc_core *c;
    assert_int_equal(tkc_core_open(&co, &c), 0);
    capture cap;
    capture_begin(&cap);
    size_t n = tkc_core_scan(c);
    tu_sleep_ms(80);
    size_t n2 = tkc_core_scan(c); /* looked at again: still bad, not told again */
    char *err = capture_end(&cap);
    assert_u64_equal(0, n, "processes attached from a group-writable file");
    assert_u64_equal(0, n2, "processes attached at the second look");
    assert_contains(err, "group-writable", "stderr");
    assert_u64_equal(1, count_lines(err), "lines on stderr");
    free(err);
    assert_int_equal(chmod(f->path, 0600), 0);
    tu_sleep_ms(80);
    assert_u64_equal(1, tkc_core_scan(c), "processes attached once the mode is fixed");
    tkc_core_close(c);
    unlink(f->path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newer_record_types_and_features_are_read_and_counted_unknown),
        cmocka_unit_test(an_incompatible_feature_bit_is_refused_as_newer_not_corrupt),
        cmocka_unit_test(a_segment_published_by_rename_is_found_without_a_rescan),
        cmocka_unit_test(a_writable_segment_is_skipped_then_attached_once_fixed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
