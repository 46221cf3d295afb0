/* test_recording_read.c — the recording reader's span decoder (span encoding 1) on good,
 * truncated and random input: decoded exactly, or refused without reading out of bounds. */
#include "check.h"

#include <errno.h>
#include <stdlib.h>

#include "sink/export/recording-read.h"
#include "util/varint.h"

static size_t put_span(uint8_t *b, uint64_t timer, int64_t delta, uint64_t dur, uint64_t lat1)
{
    size_t n = tk_varint_put(b, timer);
    n += tk_varint_put(b + n, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63));
    n += tk_varint_put(b + n, dur);
    n += tk_varint_put(b + n, lat1);
    return n;
}

static void spans_decode_with_deltas_and_optional_latency(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = put_span(buf, 3, 0, 100, 0);       /* at first_start, no origin */
    len += put_span(buf + len, 4, -10, 500, 501);   /* 10 ns earlier, latency 500 */
    len += put_span(buf + len, 3, 700, 1, 1);       /* latency 0 */
    tk_rec_span s[3];
    assert_int_equal(tk_rec_decode_spans(buf, len, 3, 9, 1000, s), 0);
    assert_u64_equal(1000, s[0].start_ns, "first start");
    assert_u64_equal(TK_REC_NONE, s[0].lat_ns, "no origin");
    assert_u64_equal(990, s[1].start_ns, "negative delta");
    assert_u64_equal(500, s[1].lat_ns, "latency");
    assert_u64_equal(4, (uint64_t)s[1].timer, "timer");
    assert_u64_equal(1690, s[2].start_ns, "delta from the previous span");
    assert_u64_equal(0, s[2].lat_ns, "zero latency");
    assert_u64_equal(9, (uint64_t)s[2].thread, "thread");
    /* fewer spans than said, more bytes than the spans, a start before 0 */
    assert_int_equal(tk_rec_decode_spans(buf, len, 4, 9, 1000, s), -EINVAL);
    assert_int_equal(tk_rec_decode_spans(buf, len, 2, 9, 1000, s), -EINVAL);
    assert_int_equal(tk_rec_decode_spans(buf, len, 3, 9, 5, s), -EINVAL);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        assert_int_equal(tk_rec_decode_spans(copy, n, 3, 9, 1000, s), -EINVAL);
        free(copy);
    }
}

static void random_blocks_never_read_out_of_bounds(void **state)
{
    (void)state;
    uint64_t x = 12345;
    static tk_rec_span out[64];
    unsigned ok = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(x % 96);
        uint8_t *b = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (uint8_t)(round % 2 ? x & 0x7f : x); /* half: one-byte varints */
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ok += tk_rec_decode_spans(b, len, (size_t)(x % 24), 1, 1u << 20, out) == 0;
        free(b);
    }
    assert_true(ok > 0); /* some random blocks are valid and were decoded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spans_decode_with_deltas_and_optional_latency),
        cmocka_unit_test(random_blocks_never_read_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
