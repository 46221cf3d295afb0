/* hist.c — log-linear (HDR-style) histograms: bucket layout, recording, quantiles, merge.
 * A histogram is not thread-safe: one thread at a time per histogram (the collector's own). */
#include "agg/hist.h"
#include "util/varint.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Bucket layout. A value v maps to a flat bucket index
 *
 *     k   = max(0, floor(log2(v)) - 10)          the octave's shift
 *     idx = k * 1024 + (v >> k)
 *
 * For v < 2048, k = 0 and idx = v (exact). For v in octave k >= 1, i.e. [1024 * 2^k, 2048 * 2^k),
 * v >> k lies in [1024, 2048), so the octave's 1024 buckets of width 2^k are idx in
 * [(k + 1) * 1024, (k + 2) * 1024). The flat index space is therefore cut into CHUNKS chunks of 1024
 * counters: chunks 0 and 1 hold the exact values 0..2047, chunk k + 1 holds octave k. Chunks are
 * allocated on first use. HIST_MAX_VALUE < 2^42, so the top octave is k = 31 and CHUNKS = 33. */
#define SUB_BITS 10
#define SUB_COUNT (1u << SUB_BITS) /* counters per chunk */
#define MAX_SHIFT (63 - __builtin_clzll(HIST_MAX_VALUE) - SUB_BITS)
#define CHUNKS (MAX_SHIFT + 2)

_Static_assert(HIST_MAX_VALUE < (1ULL << 62), "bucket index arithmetic assumes values below 2^62");
_Static_assert(CHUNKS == 33, "HIST_MAX_VALUE changed: check the layout comment");

__extension__ typedef unsigned __int128 hist_u128;

struct hist {
    uint64_t count;   /* sum of all counters */
    uint64_t min;     /* UINT64_MAX while empty */
    uint64_t max;     /* 0 while empty */
    uint64_t clamped; /* how many recorded values were above HIST_MAX_VALUE */
    hist_u128 sum;    /* exact sum of the recorded (clamped) values */
    /* Invariant: every non-zero counter lies in a chunk between chunk_of(min) and chunk_of(max).
     * Chunks outside that range may be allocated (kept by hist_reset) but are all zero. */
    uint64_t *chunks[CHUNKS];
};

/* Test hook, not part of the API: every allocation in this file goes through it, so tests can make
 * the Nth allocation fail. Never changed outside tests. */
void *(*hist__calloc)(size_t nmemb, size_t size) = calloc;

/* Flat bucket index of value (value <= HIST_MAX_VALUE). Cost: or, clz, sub, shift, shift, add —
 * about 5 cycles, no branch, no division. */
static inline uint64_t bucket_of(uint64_t value)
{
    unsigned k = (unsigned)(63 - SUB_BITS - __builtin_clzll(value | SUB_COUNT));
    return ((uint64_t)k << SUB_BITS) + (value >> k);
}

static inline unsigned chunk_of(uint64_t value)
{
    return (unsigned)(bucket_of(value) >> SUB_BITS);
}

/* The value reported for a flat bucket index: the bucket's low bound plus half its width, so any
 * value in the bucket is within half a width, i.e. within 1/2048 of itself. */
static uint64_t bucket_value(uint64_t idx)
{
    unsigned chunk = (unsigned)(idx >> SUB_BITS);
    unsigned k = chunk < 2 ? 0 : chunk - 1;
    uint64_t low = (idx - ((uint64_t)k << SUB_BITS)) << k;
    return low + ((1ULL << k) >> 1);
}

hist *hist_new(void)
{
    hist *h = hist__calloc(1, sizeof *h);
    if (h)
        h->min = UINT64_MAX;
    return h;
}

void hist_free(hist *h)
{
    if (!h)
        return;
    for (unsigned c = 0; c < CHUNKS; c++)
        free(h->chunks[c]);
    free(h);
}

void hist_reset(hist *h)
{
    if (h->count) {
        /* By the invariant, only chunks in [chunk_of(min), chunk_of(max)] can hold counts. */
        unsigned hi = chunk_of(h->max);
        for (unsigned c = chunk_of(h->min); c <= hi; c++)
            if (h->chunks[c])
                memset(h->chunks[c], 0, SUB_COUNT * sizeof *h->chunks[c]);
    }
    h->count = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->clamped = 0;
    h->sum = 0;
}

/* Slow path of hist_record_n: allocates chunk c. Returns 0, or -1 when out of memory. */
static __attribute__((noinline, cold)) int chunk_alloc(hist *h, unsigned c)
{
    h->chunks[c] = hist__calloc(SUB_COUNT, sizeof *h->chunks[c]);
    return h->chunks[c] ? 0 : -1;
}

/* Hot path. Cost when the value's chunk exists (the steady state): the bucket computation above,
 * one load of the chunk pointer, one counter add, count/sum/clamped/min/max updates — about 20
 * instructions, two well-predicted branches (clamp-or-n==0, chunk missing), no loop, no division.
 * bench/bench_hist.c measures ~2.3 ns per record (~430 Mrec/s) on one core. */
int hist_record_n(hist *h, uint64_t value, uint64_t n)
{
    uint64_t clamped = 0;
    if (__builtin_expect(value > HIST_MAX_VALUE || n == 0, 0)) {
        if (n == 0)
            return 0;
        value = HIST_MAX_VALUE;
        clamped = n;
    }
    uint64_t idx = bucket_of(value);
    unsigned c = (unsigned)(idx >> SUB_BITS);
    if (__builtin_expect(h->chunks[c] == NULL, 0) && chunk_alloc(h, c) < 0)
        return -1;
    h->chunks[c][idx & (SUB_COUNT - 1)] += n;
    h->count += n;
    h->clamped += clamped;
    h->sum += (hist_u128)value * n;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    return 0;
}

int hist_merge(hist *dst, const hist *src)
{
    if (src->count == 0)
        return 0;
    /* By the invariant, src's counts all lie in chunks lo..hi. Allocate what dst lacks first, so a
     * failure leaves dst exactly as it was. */
    unsigned lo = chunk_of(src->min), hi = chunk_of(src->max);
    bool fresh[CHUNKS] = {false};
    for (unsigned c = lo; c <= hi; c++) {
        if (src->chunks[c] && !dst->chunks[c]) {
            if (chunk_alloc(dst, c) < 0)
                goto err;
            fresh[c] = true;
        }
    }
    for (unsigned c = lo; c <= hi; c++) {
        const uint64_t *from = src->chunks[c];
        uint64_t *to = dst->chunks[c];
        if (from)
            for (unsigned b = 0; b < SUB_COUNT; b++)
                to[b] += from[b];
    }
    /* Read everything from src before writing dst: src may be dst. */
    uint64_t min = src->min, max = src->max;
    dst->count += src->count;
    dst->clamped += src->clamped;
    dst->sum += src->sum;
    if (min < dst->min)
        dst->min = min;
    if (max > dst->max)
        dst->max = max;
    return 0;

err:
    for (unsigned c = lo; c <= hi; c++) {
        if (fresh[c]) {
            free(dst->chunks[c]);
            dst->chunks[c] = NULL;
        }
    }
    return -1;
}

uint64_t hist_count(const hist *h)
{
    return h->count;
}

/* The nearest rank of quantile q (0 < q < 1) among count > 0 values: ceil(q * count) clamped to
 * [1, count]. q * count is off by an ulp or so when q is not a binary fraction (0.7 * 10 gives
 * 7.000000000000001), so a product within 4 ulps of an integer is taken as that integer. */
static uint64_t rank_of(double q, uint64_t count)
{
    double r = q * (double)count;
    double nearest = round(r);
    r = fabs(r - nearest) <= r * 4 * DBL_EPSILON ? nearest : ceil(r);
    if (r < 1)
        return 1;
    if (r >= (double)count)
        return count;
    return (uint64_t)r;
}

/* Sum of one chunk's counters. Four independent sums, so the adds do not wait on each other
 * (gcc -O2 does not vectorize the plain loop): about 300 cycles per chunk. */
static uint64_t chunk_total(const uint64_t *counts)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (unsigned b = 0; b < SUB_COUNT; b += 4) {
        t0 += counts[b];
        t1 += counts[b + 1];
        t2 += counts[b + 2];
        t3 += counts[b + 3];
    }
    return t0 + t1 + t2 + t3;
}

/* Sets out[i] to the value of rank ranks[i] for i < n, in one walk over the counters. ranks must be
 * non-decreasing and in [1, count]. Cost: the allocated chunks between min and max are summed
 * (~0.1 us each) and skipped whole unless they hold the next rank; only chunks that hold a rank are
 * walked counter by counter (~1 us each). bench/bench_hist.c measures ~7 us for a four-rank
 * summary over 18 chunks (50 ns .. 100 ms). */
static void values_at_ranks(const hist *h, const uint64_t *ranks, unsigned n, uint64_t *out)
{
    unsigned i = 0;
    uint64_t seen = 0;
    unsigned hi = chunk_of(h->max);
    for (unsigned c = chunk_of(h->min); c <= hi && i < n; c++) {
        const uint64_t *counts = h->chunks[c];
        if (!counts)
            continue;
        uint64_t total = chunk_total(counts);
        if (seen + total < ranks[i]) {
            seen += total;
            continue;
        }
        for (unsigned b = 0; b < SUB_COUNT && i < n; b++) {
            seen += counts[b];
            while (i < n && seen >= ranks[i]) {
                uint64_t v = bucket_value(((uint64_t)c << SUB_BITS) + b);
                out[i++] = v < h->min ? h->min : v > h->max ? h->max : v;
            }
        }
    }
    assert(i == n); /* the counters sum to count >= every rank */
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (!(q > 0)) /* also NaN */
        return h->min;
    if (q >= 1)
        return h->max;
    uint64_t rank = rank_of(q, h->count), v;
    values_at_ranks(h, &rank, 1, &v);
    return v;
}

void hist_summarize(const hist *h, hist_summary *out)
{
    memset(out, 0, sizeof *out);
    if (h->count == 0)
        return;
    static const double qs[4] = {0.5, 0.9, 0.99, 0.999};
    uint64_t ranks[4], values[4];
    for (unsigned i = 0; i < 4; i++)
        ranks[i] = rank_of(qs[i], h->count);
    values_at_ranks(h, ranks, 4, values);
    out->count = h->count;
    out->min = h->min;
    out->max = h->max;
    out->avg = (double)h->sum / (double)h->count;
    out->p50 = values[0];
    out->p90 = values[1];
    out->p99 = values[2];
    out->p999 = values[3];
    out->clamped = h->clamped;
}

void hist_foreach(const hist *h, hist_bucket_fn fn, void *ctx)
{
    if (!h || h->count == 0)
        return;
    for (unsigned c = chunk_of(h->min); c <= chunk_of(h->max); c++) {
        const uint64_t *cnt = h->chunks[c];
        if (!cnt)
            continue;
        unsigned k = c < 2 ? 0 : c - 1;
        for (unsigned i = 0; i < SUB_COUNT; i++) {
            if (!cnt[i])
                continue;
            uint64_t idx = ((uint64_t)c << SUB_BITS) + i;
            uint64_t lo = (idx - ((uint64_t)k << SUB_BITS)) << k;
            uint64_t hi = lo + (1ULL << k) - 1;
            if (fn(ctx, lo, hi, cnt[i]))
                return;
        }
    }
}

/* ---- copy ---------------------------------------------------------------------------------------- */

int hist_copy(hist *dst, const hist *src)
{
    if (dst == src)
        return 0;
    hist_reset(dst);
    if (hist_merge(dst, src) < 0) {
        hist_reset(dst);
        return -1;
    }
    return 0;
}

hist *hist_dup(const hist *src)
{
    hist *h = hist_new();
    if (h && hist_merge(h, src) < 0) {
        hist_free(h);
        return NULL;
    }
    return h;
}

/* ---- encoding 1 (docs/recording-schema.md, "Histogram, encoding 1") -------------------------- */

/* Runs body for each non-empty counter, with its flat index idx_ and count cnt_, in increasing
 * order of index. */
#define FOR_EACH_BUCKET(h, idx_, cnt_, body)                                                        \
    do {                                                                                            \
        if ((h)->count) {                                                                           \
            unsigned hi_ = chunk_of((h)->max);                                                      \
            for (unsigned c_ = chunk_of((h)->min); c_ <= hi_; c_++) {                               \
                const uint64_t *cs_ = (h)->chunks[c_];                                              \
                if (!cs_)                                                                           \
                    continue;                                                                       \
                for (unsigned b_ = 0; b_ < SUB_COUNT; b_++) {                                       \
                    if (!cs_[b_])                                                                   \
                        continue;                                                                   \
                    uint64_t idx_ = ((uint64_t)c_ << SUB_BITS) + b_, cnt_ = cs_[b_];                \
                    body                                                                            \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    } while (0)

/* The low bound of a flat bucket index. */
static uint64_t bucket_low(uint64_t idx)
{
    unsigned chunk = (unsigned)(idx >> SUB_BITS);
    unsigned k = chunk < 2 ? 0 : chunk - 1;
    return (idx - ((uint64_t)k << SUB_BITS)) << k;
}

/* An output cursor that keeps counting what does not fit. */
typedef struct enc {
    uint8_t *buf;
    size_t cap, len;
} enc;

static void enc_varint(enc *e, uint64_t v)
{
    size_t n = tk_varint_len(v);
    if (e->len + n <= e->cap)
        tk_varint_put(e->buf + e->len, v);
    e->len += n; /* once something missed, len > cap for good */
}

size_t hist_encode(const hist *h, void *buf, size_t cap)
{
    enc e = {buf, buf ? cap : 0, 1};
    if (e.cap >= 1)
        e.buf[0] = HIST_ENCODING_VERSION;
    uint64_t nbuckets = 0;
    FOR_EACH_BUCKET(h, idx, cnt, { (void)idx; (void)cnt; nbuckets++; });
    enc_varint(&e, nbuckets);
    uint64_t prev = 0;
    FOR_EACH_BUCKET(h, idx, cnt, {
        uint64_t lo = bucket_low(idx);
        enc_varint(&e, lo - prev);
        enc_varint(&e, cnt);
        prev = lo;
    });
    return e.len;
}

int hist_decode(hist *h, const void *buf, size_t len, const hist_exact *exact)
{
    const uint8_t *p = buf, *end = p + len;
    uint64_t nbuckets, lo = 0, total = 0, first = 0, last = 0;
    hist_u128 sum = 0;
    hist_reset(h);
    if (len < 1 || p[0] != HIST_ENCODING_VERSION)
        return -EINVAL;
    p++;
    if (tk_varint_get(&p, end, &nbuckets) < 0)
        return -EINVAL;
    /* Each bucket takes at least 2 bytes: a larger n is a lie, refused before any work. */
    if (nbuckets > (size_t)(end - p) / 2)
        return -EINVAL;
    for (uint64_t i = 0; i < nbuckets; i++) {
        uint64_t delta, cnt;
        if (tk_varint_get(&p, end, &delta) < 0 || tk_varint_get(&p, end, &cnt) < 0)
            goto corrupt;
        if ((i > 0 && delta == 0) || delta > HIST_MAX_VALUE - lo)
            goto corrupt; /* not increasing, or past the last bucket */
        lo += delta;
        uint64_t idx = bucket_of(lo);
        if (bucket_low(idx) != lo)
            goto corrupt; /* not a bucket's low bound */
        if (cnt == 0 || __builtin_add_overflow(total, cnt, &total))
            goto corrupt;
        unsigned c = (unsigned)(idx >> SUB_BITS);
        if (!h->chunks[c] && chunk_alloc(h, c) < 0) {
            hist_reset(h);
            return -ENOMEM;
        }
        h->chunks[c][idx & (SUB_COUNT - 1)] = cnt;
        sum += (hist_u128)bucket_value(idx) * cnt;
        if (i == 0)
            first = idx;
        last = idx;
        /* Keep the invariant of struct hist while filling: min/max cover what is written. */
        h->min = bucket_low(first);
        h->max = lo;
        h->count = total;
    }
    if (p != end)
        goto corrupt;
    if (total == 0)
        return 0;
    /* Without the exact values, the first bucket's low bound, the last bucket's high bound and
     * the sum of bucket middles stand for min, max and sum. */
    uint64_t min = bucket_low(first), max = bucket_low(last + 1) - 1;
    if (max > HIST_MAX_VALUE)
        max = HIST_MAX_VALUE;
    uint64_t clamped = 0;
    if (exact) {
        if (exact->count != total || exact->min > exact->max || bucket_of(exact->min) != first ||
            exact->max > HIST_MAX_VALUE || bucket_of(exact->max) != last ||
            exact->clamped > total || (exact->clamped && exact->max != HIST_MAX_VALUE) ||
            !(exact->avg >= (double)exact->min && exact->avg <= (double)exact->max))
            goto corrupt;
        min = exact->min;
        max = exact->max;
        clamped = exact->clamped;
        sum = (hist_u128)((long double)exact->avg * (long double)total + 0.5L);
    }
    if (sum < (hist_u128)min * total)
        sum = (hist_u128)min * total;
    if (sum > (hist_u128)max * total)
        sum = (hist_u128)max * total;
    h->min = min;
    h->max = max;
    h->clamped = clamped;
    h->sum = sum;
    return 0;

corrupt:
    hist_reset(h);
    return -EINVAL;
}

/* ---- cumulative counts --------------------------------------------------------------------------- */

void hist_cumulative(const hist *h, const uint64_t *bounds, size_t n, uint64_t *out)
{
    uint64_t seen = 0;
    size_t i = 0;
    FOR_EACH_BUCKET(h, idx, cnt, {
        /* The value the bucket stands for, as hist_quantile reports it. */
        uint64_t v = bucket_value(idx);
        v = v < h->min ? h->min : v > h->max ? h->max : v;
        while (i < n && bounds[i] < v)
            out[i++] = seen;
        seen += cnt;
    });
    while (i < n)
        out[i++] = seen;
}
