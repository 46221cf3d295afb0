/* test_hist.c — unit tests for collector/hist.c: precision, nearest-rank quantiles, merge, reset, OOM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg/hist.h"

/* Test hook defined in hist.c (not in hist.h): every allocation of hist.c goes through it. */
extern void *(*hist__calloc)(size_t nmemb, size_t size);

__extension__ typedef unsigned __int128 u128;

/* ---- failure reporting: every check prints expected and actual, plus what was being checked ---- */
#include "check.h"


/* Fails unless actual is within 1/2048 of expected, the precision hist.h promises. */
#define assert_within_precision(expected, actual, ...)                                              \
    do {                                                                                            \
        uint64_t e_ = (expected), a_ = (actual);                                                    \
        uint64_t d_ = e_ > a_ ? e_ - a_ : a_ - e_;                                                  \
        if (d_ > e_ / 2048) {                                                                       \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected %" PRIu64 " within 1/2048, got %" PRIu64                        \
                        " (relative error %.3g)\n", e_, a_, (double)d_ / (double)(e_ ? e_ : 1));    \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

#define assert_double_close(expected, actual, ...)                                                  \
    do {                                                                                            \
        double e_ = (expected), a_ = (actual);                                                      \
        if (fabs(e_ - a_) > fabs(e_) * 1e-15) {                                                     \
            print_error(__VA_ARGS__);                                                               \
            print_error(": expected %.17g, got %.17g\n", e_, a_);                                   \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

#define assert_summaries_equal(want, got, what)                                                     \
    do {                                                                                            \
        assert_u64_equal((want).count, (got).count, "%s: count", what);                             \
        assert_u64_equal((want).min, (got).min, "%s: min", what);                                   \
        assert_u64_equal((want).max, (got).max, "%s: max", what);                                   \
        assert_double_close((want).avg, (got).avg, "%s: avg", what);                                \
        assert_u64_equal((want).p50, (got).p50, "%s: p50", what);                                   \
        assert_u64_equal((want).p90, (got).p90, "%s: p90", what);                                   \
        assert_u64_equal((want).p99, (got).p99, "%s: p99", what);                                   \
        assert_u64_equal((want).p999, (got).p999, "%s: p999", what);                                \
        assert_u64_equal((want).clamped, (got).clamped, "%s: clamped", what);                       \
    } while (0)

/* ---- helpers ---- */

/* xorshift64*: fixed seeds, so every failure reproduces. */
static uint64_t rng_state;
static void rng_seed(uint64_t seed) { rng_state = seed ? seed : 1; }
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
/* Uniform in [0, 1). */
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1p-53; }

static hist *new_hist(void)
{
    hist *h = hist_new();
    assert_non_null(h);
    return h;
}

static void record(hist *h, uint64_t value)
{
    assert_int_equal(hist_record(h, value), 0);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The exact nearest-rank value of quantile num/den among sorted[0..n): rank ceil(num*n/den),
 * clamped to [1, n], computed in integers. */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, uint64_t num, uint64_t den)
{
    uint64_t rank = (uint64_t)(((u128)num * n + den - 1) / den);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Records values[0..n) into a fresh histogram and checks every quantile i/1000, a few finer ones,
 * the summary, min, max, avg and clamped against the exact answers from a sorted copy. */
static void check_against_sorted(const uint64_t *values, size_t n, const char *what)
{
    hist *h = new_hist();
    uint64_t *sorted = malloc(n * sizeof *sorted);
    assert_non_null(sorted);
    u128 sum = 0;
    uint64_t clamped = 0;
    for (size_t i = 0; i < n; i++) {
        record(h, values[i]);
        sorted[i] = values[i] > HIST_MAX_VALUE ? HIST_MAX_VALUE : values[i];
        clamped += values[i] > HIST_MAX_VALUE;
        sum += sorted[i];
    }
    qsort(sorted, n, sizeof *sorted, compare_u64);

    assert_u64_equal(n, hist_count(h), "%s: hist_count", what);
    for (uint64_t i = 0; i <= 1000; i++)
        assert_within_precision(exact_quantile(sorted, n, i, 1000), hist_quantile(h, (double)i / 1000),
                                "%s: q=%" PRIu64 "/1000", what, i);
    static const uint64_t fine[][2] = {{1, 10000}, {1, 100000}, {9999, 10000}, {99999, 100000}};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        assert_within_precision(exact_quantile(sorted, n, fine[i][0], fine[i][1]),
                                hist_quantile(h, (double)fine[i][0] / (double)fine[i][1]),
                                "%s: q=%" PRIu64 "/%" PRIu64, what, fine[i][0], fine[i][1]);

    hist_summary s;
    hist_summarize(h, &s);
    assert_u64_equal(n, s.count, "%s: summary count", what);
    assert_u64_equal(sorted[0], s.min, "%s: min", what);
    assert_u64_equal(sorted[n - 1], s.max, "%s: max", what);
    assert_double_close((double)sum / (double)n, s.avg, "%s: avg", what);
    assert_within_precision(exact_quantile(sorted, n, 50, 100), s.p50, "%s: p50", what);
    assert_within_precision(exact_quantile(sorted, n, 90, 100), s.p90, "%s: p90", what);
    assert_within_precision(exact_quantile(sorted, n, 99, 100), s.p99, "%s: p99", what);
    assert_within_precision(exact_quantile(sorted, n, 999, 1000), s.p999, "%s: p999", what);
    assert_u64_equal(clamped, s.clamped, "%s: clamped", what);
    /* The summary's percentiles are the same walk as hist_quantile's. */
    assert_u64_equal(hist_quantile(h, 0.5), s.p50, "%s: p50 vs hist_quantile", what);
    assert_u64_equal(hist_quantile(h, 0.999), s.p999, "%s: p999 vs hist_quantile", what);

    free(sorted);
    hist_free(h);
}

#define RANDOM_N 200000

static uint64_t *random_values(uint64_t seed, uint64_t (*draw)(void))
{
    uint64_t *v = malloc(RANDOM_N * sizeof *v);
    assert_non_null(v);
    rng_seed(seed);
    for (size_t i = 0; i < RANDOM_N; i++)
        v[i] = draw();
    return v;
}

static uint64_t draw_uniform_1ns_1s(void) { return 1 + rng_next() % 1000000000; }
static uint64_t draw_log_uniform_1ns_1h(void)
{
    return (uint64_t)llround(exp(rng_unit() * log((double)HIST_MAX_VALUE)));
}
static uint64_t draw_constant(void) { return 123456789; }
/* 90% around 200 ns, 10% around 5 ms: p90/p99 sit at or past the gap. */
static uint64_t draw_two_clusters(void)
{
    if (rng_next() % 10)
        return 180 + rng_next() % 41;
    return 4500000 + rng_next() % 1000001;
}
/* Log-uniform up to 10 h: about 5% are above HIST_MAX_VALUE and get clamped. */
static uint64_t draw_log_uniform_past_max(void)
{
    return (uint64_t)llround(exp(rng_unit() * log(10.0 * (double)HIST_MAX_VALUE)));
}

static void check_distribution(uint64_t (*draw)(void), const char *what)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        uint64_t *v = random_values(seed * 0x9E3779B97F4A7C15ULL, draw);
        check_against_sorted(v, RANDOM_N, what);
        free(v);
    }
}

/* ---- allocation failure injection ---- */

static long allocations_left; /* < 0: unlimited */
static long allocations_made;

static void *limited_calloc(size_t nmemb, size_t size)
{
    if (allocations_left == 0)
        return NULL;
    if (allocations_left > 0)
        allocations_left--;
    allocations_made++;
    return calloc(nmemb, size);
}

static void limit_allocations(long n)
{
    allocations_left = n;
    allocations_made = 0;
    hist__calloc = limited_calloc;
}

static int restore_calloc(void **state)
{
    (void)state;
    hist__calloc = calloc;
    return 0;
}

/* ---- tests ---- */

static void empty_histogram_reports_zero_everywhere(void **state)
{
    (void)state;
    hist *h = new_hist();
    assert_u64_equal(0, hist_count(h), "count");
    assert_u64_equal(0, hist_quantile(h, 0), "q=0");
    assert_u64_equal(0, hist_quantile(h, 0.5), "q=0.5");
    assert_u64_equal(0, hist_quantile(h, 1), "q=1");
    hist_summary s, zero;
    memset(&s, 0xff, sizeof s);
    memset(&zero, 0, sizeof zero);
    hist_summarize(h, &s);
    assert_summaries_equal(zero, s, "empty");
    hist_reset(h);
    assert_u64_equal(0, hist_count(h), "count after reset");
    hist_free(h);
    hist_free(NULL);
}

static void single_value_is_every_percentile_min_max_and_avg(void **state)
{
    (void)state;
    static const uint64_t values[] = {0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097,
                                      1000000007, HIST_MAX_VALUE - 1, HIST_MAX_VALUE};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t v = values[i];
        hist *h = new_hist();
        record(h, v);
        static const double qs[] = {0, 0.001, 0.5, 0.9, 0.999, 1};
        for (size_t j = 0; j < sizeof qs / sizeof qs[0]; j++)
            assert_u64_equal(v, hist_quantile(h, qs[j]), "value %" PRIu64 " q=%g", v, qs[j]);
        hist_summary s;
        hist_summarize(h, &s);
        hist_summary want = {.count = 1, .min = v, .max = v, .avg = (double)v,
                             .p50 = v, .p90 = v, .p99 = v, .p999 = v, .clamped = 0};
        assert_summaries_equal(want, s, "single value");
        hist_free(h);
    }
}

static void values_below_2048_give_exact_percentiles_at_every_rank(void **state)
{
    (void)state;
    /* Every value 0..2047, value v recorded (v % 7) + 1 times, in a shuffled order. */
    size_t n = 0;
    uint64_t *values = malloc(2048 * 7 * sizeof *values);
    assert_non_null(values);
    for (uint64_t v = 0; v < 2048; v++)
        for (uint64_t j = 0; j <= v % 7; j++)
            values[n++] = v;
    uint64_t *sorted = malloc(n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, values, n * sizeof *sorted);
    rng_seed(42);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_next() % (i + 1);
        uint64_t t = values[i];
        values[i] = values[j];
        values[j] = t;
    }
    hist *h = new_hist();
    for (size_t i = 0; i < n; i++)
        record(h, values[i]);
    for (uint64_t rank = 1; rank <= n; rank++)
        assert_u64_equal(sorted[rank - 1], hist_quantile(h, (double)rank / (double)n),
                         "rank %" PRIu64 " of %zu", rank, n);
    free(values);
    free(sorted);
    hist_free(h);
}

static void nearest_rank_is_not_thrown_off_by_float_rounding(void **state)
{
    (void)state;
    /* 0.7 * 10 is 7.000000000000001 in doubles; the nearest rank is still 7. */
    hist *h = new_hist();
    for (uint64_t v = 1; v <= 10; v++)
        record(h, v);
    static const struct { double q; uint64_t want; } cases[] = {
        {0.05, 1}, {0.1, 1}, {0.11, 2}, {0.3, 3}, {0.5, 5}, {0.51, 6}, {0.7, 7}, {0.9, 9}, {0.91, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_u64_equal(cases[i].want, hist_quantile(h, cases[i].q), "q=%g", cases[i].q);
    hist_free(h);
}

static void quantile_outside_0_1_gives_min_or_max(void **state)
{
    (void)state;
    hist *h = new_hist();
    record(h, 5000);
    record(h, 7);
    record(h, 123456);
    assert_u64_equal(7, hist_quantile(h, -1), "q=-1");
    assert_u64_equal(7, hist_quantile(h, 0), "q=0");
    assert_u64_equal(7, hist_quantile(h, NAN), "q=NaN");
    assert_u64_equal(123456, hist_quantile(h, 1), "q=1");
    assert_u64_equal(123456, hist_quantile(h, 2), "q=2");
    assert_u64_equal(123456, hist_quantile(h, INFINITY), "q=inf");
    hist_free(h);
}

static void percentiles_match_sorted_values_within_precision_uniform_1ns_to_1s(void **state)
{
    (void)state;
    check_distribution(draw_uniform_1ns_1s, "uniform 1 ns..1 s");
}

static void percentiles_match_sorted_values_within_precision_log_uniform_1ns_to_1h(void **state)
{
    (void)state;
    check_distribution(draw_log_uniform_1ns_1h, "log-uniform 1 ns..1 h");
}

static void percentiles_match_sorted_values_within_precision_constant(void **state)
{
    (void)state;
    check_distribution(draw_constant, "constant");
}

static void percentiles_match_sorted_values_within_precision_two_clusters(void **state)
{
    (void)state;
    check_distribution(draw_two_clusters, "two clusters");
}

static void percentiles_match_sorted_values_within_precision_with_clamped_values(void **state)
{
    (void)state;
    check_distribution(draw_log_uniform_past_max, "log-uniform 1 ns..10 h");
}

static void every_octave_boundary_is_within_precision(void **state)
{
    (void)state;
    /* The median of {0, v, HIST_MAX_VALUE} is v's bucket, not helped by clamping to min or max. */
    for (unsigned bit = 10; bit <= 42; bit++) {
        uint64_t p = 1ULL << bit;
        uint64_t candidates[] = {p - 1, p, p + 1, p + p / 2, p + p / 2 + 1};
        for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
            uint64_t v = candidates[i];
            if (v == 0 || v >= HIST_MAX_VALUE)
                continue;
            hist *h = new_hist();
            record(h, 0);
            record(h, v);
            record(h, HIST_MAX_VALUE);
            if (v < 2048)
                assert_u64_equal(v, hist_quantile(h, 0.5), "median of {0, %" PRIu64 ", max}", v);
            else
                assert_within_precision(v, hist_quantile(h, 0.5), "median of {0, %" PRIu64 ", max}", v);
            hist_free(h);
        }
    }
}

static void values_above_max_are_clamped_and_counted(void **state)
{
    (void)state;
    hist *h = new_hist();
    record(h, 7);
    record(h, HIST_MAX_VALUE); /* exactly the max: not clamped */
    record(h, HIST_MAX_VALUE + 1);
    assert_int_equal(hist_record_n(h, UINT64_MAX, 5), 0);
    hist_summary s;
    hist_summarize(h, &s);
    assert_u64_equal(8, s.count, "count");
    assert_u64_equal(6, s.clamped, "clamped");
    assert_u64_equal(7, s.min, "min");
    assert_u64_equal(HIST_MAX_VALUE, s.max, "max");
    assert_u64_equal(HIST_MAX_VALUE, s.p50, "p50");
    assert_u64_equal(HIST_MAX_VALUE, hist_quantile(h, 1), "q=1");
    assert_double_close((7.0 + 7.0 * (double)HIST_MAX_VALUE) / 8.0, s.avg, "avg uses the clamped values");
    hist_free(h);
}

static void min_max_and_avg_are_exact(void **state)
{
    (void)state;
    hist *h = new_hist();
    rng_seed(7);
    u128 sum = 0;
    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = 1000 + rng_next() % 50000000; /* values that fall in shared buckets */
        record(h, v);
        sum += v;
        min = v < min ? v : min;
        max = v > max ? v : max;
    }
    hist_summary s;
    hist_summarize(h, &s);
    assert_u64_equal(min, s.min, "min");
    assert_u64_equal(max, s.max, "max");
    assert_u64_equal(min, hist_quantile(h, 0), "q=0");
    assert_u64_equal(max, hist_quantile(h, 1), "q=1");
    assert_double_close((double)sum / 100000.0, s.avg, "avg");
    hist_free(h);
}

static void record_n_equals_n_single_records(void **state)
{
    (void)state;
    hist *one_by_one = new_hist(), *batched = new_hist();
    rng_seed(11);
    for (int i = 0; i < 2000; i++) {
        uint64_t v = rng_next() % 10000000, n = 1 + rng_next() % 20;
        for (uint64_t j = 0; j < n; j++)
            record(one_by_one, v);
        assert_int_equal(hist_record_n(batched, v, n), 0);
    }
    hist_summary a, b;
    hist_summarize(one_by_one, &a);
    hist_summarize(batched, &b);
    assert_summaries_equal(a, b, "record_n vs record");
    for (int i = 0; i <= 1000; i++)
        assert_u64_equal(hist_quantile(one_by_one, i / 1000.0), hist_quantile(batched, i / 1000.0),
                         "q=%d/1000", i);
    hist_free(one_by_one);
    hist_free(batched);
}

static void record_n_with_zero_count_records_nothing(void **state)
{
    (void)state;
    hist *h = new_hist();
    assert_int_equal(hist_record_n(h, 12345, 0), 0);
    assert_int_equal(hist_record_n(h, UINT64_MAX, 0), 0);
    hist_summary s, zero;
    memset(&zero, 0, sizeof zero);
    hist_summarize(h, &s);
    assert_summaries_equal(zero, s, "after n=0 records");
    hist_free(h);
}

static void record_n_with_huge_counts_keeps_avg_exact(void **state)
{
    (void)state;
    /* 2^40 * HIST_MAX_VALUE is about 4e24: the sum would overflow 64 bits. */
    hist *h = new_hist();
    assert_int_equal(hist_record_n(h, HIST_MAX_VALUE, 1ULL << 40), 0);
    assert_int_equal(hist_record_n(h, 1, 1ULL << 40), 0);
    hist_summary s;
    hist_summarize(h, &s);
    assert_u64_equal(1ULL << 41, s.count, "count");
    assert_double_close(((double)HIST_MAX_VALUE + 1.0) / 2.0, s.avg, "avg");
    assert_u64_equal(1, s.p50, "p50");
    assert_u64_equal(HIST_MAX_VALUE, s.p90, "p90");
    hist_free(h);
}

static void fill(hist *h, uint64_t seed, uint64_t lo, uint64_t span, int n)
{
    rng_seed(seed);
    for (int i = 0; i < n; i++)
        record(h, lo + rng_next() % span);
}

static void assert_hists_equal(const hist *want, const hist *got, const char *what)
{
    hist_summary a, b;
    hist_summarize(want, &a);
    hist_summarize(got, &b);
    assert_summaries_equal(a, b, what);
    for (int i = 0; i <= 1000; i++)
        assert_u64_equal(hist_quantile(want, i / 1000.0), hist_quantile(got, i / 1000.0),
                         "%s: q=%d/1000", what, i);
}

static void merge_equals_recording_everything_into_one(void **state)
{
    (void)state;
    /* Disjoint ranges, overlapping ranges, and one with clamped values. */
    static const struct { uint64_t lo_a, span_a, lo_b, span_b; } cases[] = {
        {100, 10000, 1000000, 1000000000},
        {1000000, 1000000000, 100, 10000},
        {500, 5000000, 1000, 4000000},
        {1, 100, HIST_MAX_VALUE - 1000, 1000000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hist *a = new_hist(), *b = new_hist(), *all = new_hist();
        fill(a, 100 + c, cases[c].lo_a, cases[c].span_a, 30000);
        fill(all, 100 + c, cases[c].lo_a, cases[c].span_a, 30000);
        fill(b, 200 + c, cases[c].lo_b, cases[c].span_b, 20000);
        fill(all, 200 + c, cases[c].lo_b, cases[c].span_b, 20000);
        assert_int_equal(hist_merge(a, b), 0);
        assert_hists_equal(all, a, "merged");
        hist_free(a);
        hist_free(b);
        hist_free(all);
    }
}

static void merge_into_empty_copies_and_merge_of_empty_changes_nothing(void **state)
{
    (void)state;
    hist *src = new_hist(), *empty = new_hist(), *dst = new_hist(), *copy = new_hist();
    fill(src, 5, 3000, 70000000, 10000);
    fill(copy, 5, 3000, 70000000, 10000);
    assert_int_equal(hist_merge(dst, src), 0);
    assert_hists_equal(src, dst, "merged into empty");
    assert_int_equal(hist_merge(src, empty), 0);
    assert_hists_equal(copy, src, "after merging an empty histogram");
    assert_int_equal(hist_merge(empty, empty), 0);
    assert_u64_equal(0, hist_count(empty), "empty merged with itself");
    hist_free(src);
    hist_free(empty);
    hist_free(dst);
    hist_free(copy);
}

static void merge_with_itself_doubles_every_count(void **state)
{
    (void)state;
    hist *h = new_hist(), *twice = new_hist();
    fill(h, 9, 10, 90000000, 5000);
    fill(twice, 9, 10, 90000000, 5000);
    fill(twice, 9, 10, 90000000, 5000);
    assert_int_equal(hist_merge(h, h), 0);
    assert_hists_equal(twice, h, "self-merge");
    hist_free(h);
    hist_free(twice);
}

static void reset_empties_and_leaves_no_counts_behind(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill(h, 3, 1000000, 1000000000, 50000);
    assert_int_equal(hist_record_n(h, 3000000000000, 1000), 0); /* in the top octave */
    record(h, UINT64_MAX);
    hist_reset(h);
    hist_summary s, zero;
    memset(&zero, 0, sizeof zero);
    hist_summarize(h, &s);
    assert_summaries_equal(zero, s, "after reset");
    assert_u64_equal(0, hist_quantile(h, 0.5), "q=0.5 after reset");

    /* Reused after reset, it must match a fresh histogram: no old counts surface. */
    hist *fresh = new_hist();
    fill(h, 4, 10, 5000, 20000);
    fill(fresh, 4, 10, 5000, 20000);
    assert_hists_equal(fresh, h, "reused after reset");
    /* Including when new values reach back into every old chunk, up to the top one: a count left
     * at 3e12 would show up as p999. */
    fill(h, 6, 1, 2000000000, 20000);
    fill(fresh, 6, 1, 2000000000, 20000);
    assert_int_equal(hist_record_n(h, HIST_MAX_VALUE, 100), 0);
    assert_int_equal(hist_record_n(fresh, HIST_MAX_VALUE, 100), 0);
    assert_hists_equal(fresh, h, "reused after reset, wider range");
    hist_free(h);
    hist_free(fresh);
}

static void reset_keeps_memory(void **state)
{
    (void)state;
    hist *h = new_hist();
    limit_allocations(-1);
    fill(h, 8, 1, 1000000000, 10000);
    long made = allocations_made;
    assert_true(made > 0);
    hist_reset(h);
    fill(h, 8, 1, 1000000000, 10000);
    assert_u64_equal(made, allocations_made, "allocations before reset, after reset and refill");
    hist_free(h);
}

static void memory_grows_only_for_used_octaves(void **state)
{
    (void)state;
    limit_allocations(-1);
    hist *h = hist_new();
    assert_non_null(h);
    assert_u64_equal(1, allocations_made, "allocations by hist_new");
    /* [2^20, 2^23) spans exactly three octaves: one 8 KiB chunk each. */
    fill(h, 12, 1ULL << 20, (1ULL << 23) - (1ULL << 20), 100000);
    assert_u64_equal(4, allocations_made, "allocations after recording three octaves");
    hist_free(h);
}

static void hist_new_returns_null_when_out_of_memory(void **state)
{
    (void)state;
    limit_allocations(0);
    assert_null(hist_new());
}

static void record_fails_and_records_nothing_when_out_of_memory(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill(h, 13, 100, 900, 1000);
    hist_summary before, after;
    hist_summarize(h, &before);
    limit_allocations(0);
    assert_int_equal(hist_record(h, 5000000), -1);
    assert_int_equal(hist_record_n(h, UINT64_MAX, 3), -1); /* clamped count untouched too */
    hist_summarize(h, &after);
    assert_summaries_equal(before, after, "after failed records");
    /* A value whose octave already exists needs no memory. */
    assert_int_equal(hist_record(h, 500), 0);
    assert_u64_equal(1001, hist_count(h), "count after a record needing no memory");
    hist_free(h);
}

static void merge_leaves_dst_unchanged_when_any_allocation_fails(void **state)
{
    (void)state;
    hist *src = new_hist(), *want = new_hist();
    fill(src, 21, 1, 3000000000, 20000); /* many octaves */
    fill(want, 22, 5000, 10000, 1000);
    assert_int_equal(hist_merge(want, src), 0);

    /* Fail the Nth allocation, for every N, until the merge succeeds. */
    for (long n = 0;; n++) {
        hist *dst = new_hist(), *before = new_hist();
        fill(dst, 22, 5000, 10000, 1000);
        fill(before, 22, 5000, 10000, 1000);
        limit_allocations(n);
        int rc = hist_merge(dst, src);
        hist__calloc = calloc;
        if (rc == 0) {
            assert_true(n > 1);
            assert_hists_equal(want, dst, "merge after allocations succeed");
        } else {
            assert_int_equal(rc, -1);
            assert_hists_equal(before, dst, "dst after a failed merge");
        }
        hist_free(dst);
        hist_free(before);
        if (rc == 0)
            break;
    }
    hist_free(src);
    hist_free(want);
}

typedef struct visit { uint64_t n, buckets, last_hi; int ordered; const uint64_t *vals; size_t nvals; int covered; } visit;
static int visit_bucket(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    visit *v = ctx;
    if (v->buckets && lo <= v->last_hi)
        v->ordered = 0;
    v->last_hi = hi;
    v->buckets++;
    v->n += count;
    for (size_t i = 0; i < v->nvals; i++)
        if (v->vals[i] >= lo && v->vals[i] <= hi)
            v->covered++;
    return 0;
}

static void bucket_iteration_visits_every_value_once_in_increasing_order(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 2047, 2048, 5000, 1000000, 123456789, 3600000000000ULL};
    hist *h = hist_new();
    assert_non_null(h);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_int_equal(hist_record(h, vals[i]), 0);
    visit v = {.ordered = 1, .vals = vals, .nvals = sizeof vals / sizeof vals[0]};
    hist_foreach(h, visit_bucket, &v);
    assert_int_equal(v.n, hist_count(h));
    assert_int_equal(v.buckets, 8);
    assert_true(v.ordered);
    assert_int_equal(v.covered, 8); /* each value lies in exactly one visited bucket */
    hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_histogram_reports_zero_everywhere),
        cmocka_unit_test(bucket_iteration_visits_every_value_once_in_increasing_order),
        cmocka_unit_test(single_value_is_every_percentile_min_max_and_avg),
        cmocka_unit_test(values_below_2048_give_exact_percentiles_at_every_rank),
        cmocka_unit_test(nearest_rank_is_not_thrown_off_by_float_rounding),
        cmocka_unit_test(quantile_outside_0_1_gives_min_or_max),
        cmocka_unit_test(percentiles_match_sorted_values_within_precision_uniform_1ns_to_1s),
        cmocka_unit_test(percentiles_match_sorted_values_within_precision_log_uniform_1ns_to_1h),
        cmocka_unit_test(percentiles_match_sorted_values_within_precision_constant),
        cmocka_unit_test(percentiles_match_sorted_values_within_precision_two_clusters),
        cmocka_unit_test(percentiles_match_sorted_values_within_precision_with_clamped_values),
        cmocka_unit_test(every_octave_boundary_is_within_precision),
        cmocka_unit_test(values_above_max_are_clamped_and_counted),
        cmocka_unit_test(min_max_and_avg_are_exact),
        cmocka_unit_test(record_n_equals_n_single_records),
        cmocka_unit_test(record_n_with_zero_count_records_nothing),
        cmocka_unit_test(record_n_with_huge_counts_keeps_avg_exact),
        cmocka_unit_test(merge_equals_recording_everything_into_one),
        cmocka_unit_test(merge_into_empty_copies_and_merge_of_empty_changes_nothing),
        cmocka_unit_test(merge_with_itself_doubles_every_count),
        cmocka_unit_test(reset_empties_and_leaves_no_counts_behind),
        cmocka_unit_test_teardown(reset_keeps_memory, restore_calloc),
        cmocka_unit_test_teardown(memory_grows_only_for_used_octaves, restore_calloc),
        cmocka_unit_test_teardown(hist_new_returns_null_when_out_of_memory, restore_calloc),
        cmocka_unit_test_teardown(record_fails_and_records_nothing_when_out_of_memory, restore_calloc),
        cmocka_unit_test_teardown(merge_leaves_dst_unchanged_when_any_allocation_fails, restore_calloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
