/* test_hist_codec.c — histogram copy, byte encoding (round trip, corrupt and random input refused
 * without reading out of bounds) and cumulative counts at caller-chosen bounds. */
#include "check.h"

#include <errno.h>
#include <stdlib.h>

#include "agg/hist.h"
#include "util/varint.h"

extern void *(*hist__calloc)(size_t nmemb, size_t size);

static uint64_t rng_state;
static void rng_seed(uint64_t seed) { rng_state = seed ? seed : 1; }
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static hist *new_hist(void)
{
    hist *h = hist_new();
    assert_non_null(h);
    return h;
}

/* Log-uniform values over 1 ns .. ~2^45 ns (some above the clamp). */
static void fill_wide(hist *h, unsigned n, uint64_t seed)
{
    rng_seed(seed);
    for (unsigned i = 0; i < n; i++) {
        unsigned bits = (unsigned)(rng_next() % 45) + 1;
        assert_int_equal(hist_record(h, rng_next() >> (64 - bits)), 0);
    }
}

/* Encodes h into a malloc'd buffer of exactly the encoded size (so ASan sees any over-read). */
static uint8_t *encode(const hist *h, size_t *len)
{
    *len = hist_encode(h, NULL, 0);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    assert_u64_equal(*len, hist_encode(h, buf, *len), "encoded length is stable");
    return buf;
}

typedef struct bucket_list {
    uint64_t lo[4096], hi[4096], n[4096];
    size_t count;
} bucket_list;

static int collect(void *ctx, uint64_t lo, uint64_t hi, uint64_t n)
{
    bucket_list *b = ctx;
    if (b->count < 4096) {
        b->lo[b->count] = lo, b->hi[b->count] = hi, b->n[b->count] = n;
        b->count++;
    }
    return 0;
}

static void assert_same_hist(const hist *want, const hist *got, const char *what)
{
    hist_summary a, b;
    hist_summarize(want, &a);
    hist_summarize(got, &b);
    assert_u64_equal(a.count, b.count, "%s: count", what);
    assert_u64_equal(a.min, b.min, "%s: min", what);
    assert_u64_equal(a.max, b.max, "%s: max", what);
    assert_double_near(a.avg, b.avg, a.avg * 1e-12, "%s: avg", what);
    assert_u64_equal(a.p50, b.p50, "%s: p50", what);
    assert_u64_equal(a.p99, b.p99, "%s: p99", what);
    assert_u64_equal(a.p999, b.p999, "%s: p999", what);
    assert_u64_equal(a.clamped, b.clamped, "%s: clamped", what);
    static bucket_list x, y;
    x.count = y.count = 0;
    hist_foreach(want, collect, &x);
    hist_foreach(got, collect, &y);
    assert_u64_equal(x.count, y.count, "%s: buckets", what);
    for (size_t i = 0; i < x.count; i++) {
        assert_u64_equal(x.lo[i], y.lo[i], "%s: bucket %zu low", what, i);
        assert_u64_equal(x.n[i], y.n[i], "%s: bucket %zu count", what, i);
    }
}

static hist_exact exact_of(const hist *h)
{
    hist_summary s;
    hist_summarize(h, &s);
    return (hist_exact){s.count, s.min, s.max, s.clamped, s.avg};
}

/* Encodes h, decodes it with the exact values a recording stores next to it, and checks that the
 * result equals h and encodes to the same bytes. */
static void round_trip(const hist *h, const char *what)
{
    size_t len, len2;
    uint8_t *buf = encode(h, &len);
    hist *d = new_hist();
    hist_exact x = exact_of(h);
    assert_int_equal(hist_decode(d, buf, len, &x), 0);
    assert_same_hist(h, d, what);
    uint8_t *again = encode(d, &len2);
    assert_u64_equal(len, len2, "%s: re-encoded length", what);
    assert_memory_equal(buf, again, len);
    free(buf);
    free(again);
    hist_free(d);
}

static void encoding_round_trips_every_shape(void **state)
{
    (void)state;
    hist *h = new_hist();
    round_trip(h, "empty");
    hist_record(h, 0);
    round_trip(h, "single zero");
    hist_reset(h);
    hist_record(h, 1234567);
    round_trip(h, "single value");
    hist_record_n(h, HIST_MAX_VALUE + 5, 3);
    round_trip(h, "with clamped values");
    hist_reset(h);
    fill_wide(h, 100000, 7);
    round_trip(h, "log-uniform 1ns..2^45ns");
    hist_reset(h);
    hist_record_n(h, 500, UINT64_MAX / 4);
    hist_record_n(h, 1u << 30, UINT64_MAX / 4);
    round_trip(h, "huge counts (sum past 64 bits)");
    hist_free(h);
}

static void encoding_is_compact(void **state)
{
    (void)state;
    hist *h = new_hist();
    rng_seed(3); /* 100k values between 10 us and 20 us: ~1000 buckets */
    for (int i = 0; i < 100000; i++)
        hist_record(h, 10000 + rng_next() % 10000);
    size_t len = hist_encode(h, NULL, 0);
    assert_u64_at_most(3 * 1024 + 8, len, "bytes for ~1000 adjacent buckets");
    hist_free(h);
}

static void encode_never_writes_past_cap(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill_wide(h, 2000, 11);
    size_t len = hist_encode(h, NULL, 0);
    uint8_t *buf = malloc(len + 16);
    assert_non_null(buf);
    /* every cap near the start and the end, every 17th in between (each encode walks the
     * histogram once) */
    for (size_t cap = 0; cap < len; cap += cap < 64 || cap + 64 > len ? 1 : 17) {
        memset(buf, 0xA5, len + 16);
        assert_u64_equal(len, hist_encode(h, buf, cap), "length returned with cap %zu", cap);
        for (size_t i = cap; i < len + 16; i++)
            assert_u64_equal(0xA5, buf[i], "byte %zu with cap %zu", i, cap);
    }
    free(buf);
    hist_free(h);
}

/* Decodes a private exact-size copy of in[0, len): ASan reports any read past it. Returns the
 * result; an accepted input must re-encode to something that decodes to the same histogram. */
static int decode_copy(const uint8_t *in, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, in, len);
    hist *h = new_hist();
    hist_record(h, 42); /* decode replaces any content */
    int rc = hist_decode(h, copy, len, NULL);
    free(copy);
    if (rc == 0) {
        round_trip(h, "accepted input");
    } else {
        assert_int_equal(rc, -EINVAL);
        assert_u64_equal(0, hist_count(h), "a refused input leaves the histogram empty");
    }
    hist_free(h);
    return rc;
}

static void truncated_or_extended_input_is_refused(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill_wide(h, 400, 5);
    size_t len;
    uint8_t *buf = encode(h, &len);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(decode_copy(buf, n), -EINVAL);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(decode_copy(longer, len + 1), -EINVAL);
    free(longer);
    free(buf);
    hist_free(h);
}

static void decoding_without_exact_values_keeps_buckets_and_bounds_min_max(void **state)
{
    (void)state;
    hist *h = new_hist();
    hist_record(h, 999940);  /* bucket [999936, 1000447] */
    hist_record(h, 3000);    /* bucket [3000, 3001] */
    size_t len;
    uint8_t *buf = encode(h, &len);
    hist *d = new_hist();
    assert_int_equal(hist_decode(d, buf, len, NULL), 0);
    hist_summary s;
    hist_summarize(d, &s);
    assert_u64_equal(2, s.count, "count");
    assert_u64_equal(3000, s.min, "min: the first bucket's low bound");
    assert_u64_equal(1000447, s.max, "max: the last bucket's high bound");
    free(buf);
    hist_free(d);
    hist_free(h);
}

static void decode_checks_the_exact_values_against_the_buckets(void **state)
{
    (void)state;
    hist *h = new_hist(), *d = new_hist();
    hist_record(h, 5000);
    hist_record(h, 70000);
    size_t len;
    uint8_t *buf = encode(h, &len);
    hist_exact good = exact_of(h), x;
    assert_int_equal(hist_decode(d, buf, len, &good), 0);
    x = good, x.count = 3;
    assert_int_equal(hist_decode(d, buf, len, &x), -EINVAL);
    x = good, x.min = 4000;
    assert_int_equal(hist_decode(d, buf, len, &x), -EINVAL);
    x = good, x.max = 90000;
    assert_int_equal(hist_decode(d, buf, len, &x), -EINVAL);
    x = good, x.avg = 100000;
    assert_int_equal(hist_decode(d, buf, len, &x), -EINVAL);
    x = good, x.clamped = 1;
    assert_int_equal(hist_decode(d, buf, len, &x), -EINVAL);
    assert_u64_equal(0, hist_count(d), "refused: empty");
    free(buf);
    hist_free(d);
    hist_free(h);
}

static void inconsistent_input_is_refused(void **state)
{
    (void)state;
    /* version, n, then (gap, count) pairs */
    static const struct { const char *what; uint8_t bytes[16]; size_t len; } bad[] = {
        {"another version", {2, 0}, 2},
        {"empty input", {0}, 0},
        {"zero gap after the first bucket", {1, 2, 5, 1, 0, 1}, 6},
        {"not a bucket's low bound (2049)", {1, 1, 0x81, 0x10, 1}, 5},
        {"zero count", {1, 1, 5, 0}, 4},
        {"more buckets than the input holds", {1, 5, 5, 1}, 4},
        {"trailing bytes", {1, 0, 0}, 3},
        {"counts overflow 64 bits", {1, 2, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0x01, 1, 1}, 15},
        {"varint longer than 10 bytes", {1, 1, 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x00, 1}, 14},
    };
    static const uint8_t good[] = {1, 2, 5, 1, 1, 2};
    assert_int_equal(decode_copy(good, sizeof good), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = decode_copy(bad[i].bytes, bad[i].len);
        if (rc != -EINVAL) {
            print_error("%s: expected -EINVAL, got %d\n", bad[i].what, rc);
            fail();
        }
    }
    /* A low bound past the last bucket (one hour). */
    uint8_t past[32] = {1, 1};
    size_t n = 2 + tk_varint_put(past + 2, HIST_MAX_VALUE + 4096);
    past[n++] = 1;
    assert_int_equal(decode_copy(past, n), -EINVAL);
}

static void every_flipped_byte_is_refused_or_decodes_consistently(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill_wide(h, 120, 9);
    size_t len;
    uint8_t *buf = encode(h, &len);
    unsigned refused = 0;
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            refused += decode_copy(buf, len) != 0;
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_true(refused > 0); /* e.g. the version byte, a gap landing inside a bucket */
    free(buf);
    hist_free(h);
}

static void random_bytes_never_crash_the_decoder(void **state)
{
    (void)state;
    uint8_t buf[64];
    rng_seed(12345);
    unsigned accepted = 0;
    for (int round = 0; round < 6000; round++) {
        size_t len = (size_t)(rng_next() % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng_next();
        if (round % 2 && len >= 2) { /* half of them past the version and bucket count */
            buf[0] = HIST_ENCODING_VERSION;
            buf[1] = (uint8_t)(rng_next() % (len / 2 + 1));
        }
        if (round % 4 == 3) /* small one-byte varints, so deeper checks are reached */
            for (size_t i = 2; i < len; i++)
                buf[i] &= 0x0f;
        accepted += decode_copy(buf, len) == 0;
    }
    /* Some inputs are valid encodings (checked for consistency inside decode_copy). */
    assert_true(accepted > 0);
}

static long allocations_left;
static void *limited_calloc(size_t nmemb, size_t size)
{
    if (allocations_left-- <= 0)
        return NULL;
    return calloc(nmemb, size);
}
static int restore_calloc(void **state)
{
    (void)state;
    hist__calloc = calloc;
    return 0;
}

static void decode_out_of_memory_leaves_histogram_empty(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill_wide(h, 1000, 1);
    size_t len;
    uint8_t *buf = encode(h, &len);
    for (long n = 0;; n++) {
        hist *d = new_hist();
        allocations_left = n;
        hist__calloc = limited_calloc;
        hist_exact x = exact_of(h);
        int rc = hist_decode(d, buf, len, &x);
        hist__calloc = calloc;
        if (rc == 0) {
            assert_same_hist(h, d, "decoded with enough memory");
            hist_free(d);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_u64_equal(0, hist_count(d), "empty after running out of memory at %ld", n);
        hist_free(d);
    }
    free(buf);
    hist_free(h);
}

static void copy_and_dup_equal_the_source(void **state)
{
    (void)state;
    hist *h = new_hist(), *dst = new_hist();
    fill_wide(h, 3000, 21);
    hist_record(dst, 77777); /* copy replaces what dst held */
    assert_int_equal(hist_copy(dst, h), 0);
    assert_same_hist(h, dst, "copy");
    assert_int_equal(hist_copy(dst, dst), 0);
    assert_same_hist(h, dst, "copy onto itself");
    hist *d = hist_dup(h);
    assert_non_null(d);
    assert_same_hist(h, d, "dup");
    hist_record(d, 5); /* independent of the source */
    assert_u64_equal(hist_count(h) + 1, hist_count(d), "dup is a separate histogram");
    hist *e = new_hist();
    allocations_left = 0;
    hist__calloc = limited_calloc;
    hist_record(e, 1); /* cannot allocate: stays empty */
    assert_int_equal(hist_copy(e, h), -1);
    hist__calloc = calloc;
    assert_u64_equal(0, hist_count(e), "a failed copy leaves dst empty");
    hist_free(e);
    hist_free(d);
    hist_free(dst);
    hist_free(h);
}

/* ---- cumulative counts ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t count_at_most(const uint64_t *sorted, size_t n, uint64_t bound)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sorted[mid] <= bound)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void cumulative_counts_are_exact_at_bucket_edges(void **state)
{
    (void)state;
    enum { N = 50000 };
    static uint64_t values[N];
    hist *h = new_hist();
    rng_seed(99);
    for (int i = 0; i < N; i++) {
        values[i] = rng_next() % 5000000; /* up to 5 ms: octaves with widths up to 4096 */
        hist_record(h, values[i]);
    }
    qsort(values, N, sizeof values[0], cmp_u64);
    /* Prometheus-like bounds that sit on bucket edges: below 2048 every value is an edge; above,
     * b such that b + 1 is a multiple of the width of b's octave. */
    static const uint64_t bounds[] = {0, 1, 100, 999, 2047, 4095, 8191, 16383, 100351, 1048575,
                                      4194303, 10000000};
    uint64_t out[sizeof bounds / sizeof bounds[0]];
    hist_cumulative(h, bounds, sizeof bounds / sizeof bounds[0], out);
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        assert_u64_equal(count_at_most(values, N, bounds[i]), out[i], "values <= %" PRIu64,
                         bounds[i]);
    hist_free(h);
}

static void bound_inside_a_bucket_counts_it_from_its_middle(void **state)
{
    (void)state;
    hist *h = new_hist();
    /* 1 000 000 lies in a bucket of width 512: [999936, 1000447], middle 1000192. */
    hist_record(h, 999940);
    hist_record(h, 1000400);
    hist_record(h, 2000000);
    uint64_t bounds[] = {999935, 999940, 1000191, 1000192, 1000447, 1999999, 2000000};
    uint64_t out[7];
    hist_cumulative(h, bounds, 7, out);
    assert_u64_equal(0, out[0], "below the bucket");
    assert_u64_equal(0, out[1], "inside, below the middle");
    assert_u64_equal(0, out[2], "just below the middle");
    assert_u64_equal(2, out[3], "at the middle");
    assert_u64_equal(2, out[4], "at the bucket's top edge");
    assert_u64_equal(2, out[5], "below max");
    assert_u64_equal(3, out[6], "at max: exact");
    hist_free(h);
}

static void cumulative_counts_agree_with_quantiles(void **state)
{
    (void)state;
    hist *h = new_hist();
    fill_wide(h, 20000, 4);
    static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        uint64_t v = hist_quantile(h, qs[i]), out, below;
        hist_cumulative(h, &v, 1, &out);
        uint64_t rank = (uint64_t)ceil(qs[i] * (double)hist_count(h));
        assert_true(out >= rank);
        uint64_t b = v ? v - 1 : 0;
        hist_cumulative(h, &b, 1, &below);
        if (v)
            assert_true(below < rank);
    }
    uint64_t none = 0, all;
    uint64_t top = UINT64_MAX;
    hist *empty = new_hist();
    hist_cumulative(empty, &top, 1, &none);
    assert_u64_equal(0, none, "empty histogram");
    hist_cumulative(h, &top, 1, &all);
    assert_u64_equal(hist_count(h), all, "every value is <= UINT64_MAX");
    hist_free(empty);
    hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoding_round_trips_every_shape),
        cmocka_unit_test(encoding_is_compact),
        cmocka_unit_test(encode_never_writes_past_cap),
        cmocka_unit_test(truncated_or_extended_input_is_refused),
        cmocka_unit_test(decoding_without_exact_values_keeps_buckets_and_bounds_min_max),
        cmocka_unit_test(decode_checks_the_exact_values_against_the_buckets),
        cmocka_unit_test(inconsistent_input_is_refused),
        cmocka_unit_test(every_flipped_byte_is_refused_or_decodes_consistently),
        cmocka_unit_test(random_bytes_never_crash_the_decoder),
        cmocka_unit_test_teardown(decode_out_of_memory_leaves_histogram_empty, restore_calloc),
        cmocka_unit_test_teardown(copy_and_dup_equal_the_source, restore_calloc),
        cmocka_unit_test(cumulative_counts_are_exact_at_bucket_edges),
        cmocka_unit_test(bound_inside_a_bucket_counts_it_from_its_middle),
        cmocka_unit_test(cumulative_counts_agree_with_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
