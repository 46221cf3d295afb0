/* agg/hist.h — log-linear (HDR-style) histograms: 3 significant digits over 1 ns .. 1 h, mergeable. */
#ifndef TK_COLLECTOR_HIST_H
#define TK_COLLECTOR_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Values from 0 up to HIST_MAX_VALUE (one hour in ns) are kept with a relative error of at most
 * 1/2048 (better than 3 significant digits): values below 2048 are exact; above, each octave
 * [1024*2^k, 2048*2^k) is split into 1024 equal buckets. Larger values are clamped to
 * HIST_MAX_VALUE and counted in `clamped`. Memory grows by one octave (8 KiB) at a time, only for
 * octaves that are used, so a histogram of a timer that spans 3 octaves costs about 40 KiB. */
#define HIST_MAX_VALUE 3600000000000ULL

typedef struct hist hist;

/* A summary of a histogram; every value is 0 when count is 0. */
typedef struct hist_summary {
    uint64_t count;
    uint64_t min, max;   /* exact */
    double avg;          /* exact (from the running sum) */
    uint64_t p50, p90, p99, p999;
    uint64_t clamped;    /* values above HIST_MAX_VALUE, recorded as HIST_MAX_VALUE */
} hist_summary;

/* Returns a new empty histogram, or NULL when out of memory. */
hist *hist_new(void);
/* Frees h; NULL is allowed. */
void hist_free(hist *h);
/* Empties h, keeping its memory for reuse. Can't fail. */
void hist_reset(hist *h);
/* Records value n times. Returns 0, or -1 when out of memory (nothing is recorded then). */
int hist_record_n(hist *h, uint64_t value, uint64_t n);
static inline int hist_record(hist *h, uint64_t value) { return hist_record_n(h, value, 1); }
/* Adds every value of src into dst. Returns 0, or -1 when out of memory (dst is unchanged then). */
int hist_merge(hist *dst, const hist *src);
uint64_t hist_count(const hist *h);
/* The value at quantile q (0..1, nearest rank, q=0 gives min, q=1 gives max), within the relative
 * error above and clamped to [min, max]. 0 for an empty histogram. */
uint64_t hist_quantile(const hist *h, double q);
/* Fills *out. Can't fail. */
void hist_summarize(const hist *h, hist_summary *out);
/* Called for each non-empty bucket in increasing order: every value recorded in it lies in
 * [lo, hi] (lo == hi below 2048, where values are exact). Return nonzero to stop. */
typedef int (*hist_bucket_fn)(void *ctx, uint64_t lo, uint64_t hi, uint64_t count);
/* Visits the non-empty buckets of h. Can't fail. */
void hist_foreach(const hist *h, hist_bucket_fn fn, void *ctx);

/* ---- copy, encoding, cumulative buckets ------------------------------------------------------- */

/* Makes dst hold exactly what src holds (src may be dst). Returns 0, or -1 when out of memory
 * (dst is then empty). */
int hist_copy(hist *dst, const hist *src);
/* Returns a new histogram equal to src, or NULL when out of memory. */
hist *hist_dup(const hist *src);

#define HIST_ENCODING_VERSION 1
/* Encodes h in histogram encoding 1 of recordings (docs/recording-schema.md): the byte 1, the
 * number of non-empty buckets, then per bucket the varint gap between its low bound and the
 * previous one's and the varint count. Writes into buf only when the whole encoding fits in cap
 * bytes; returns its length either way, so hist_encode(h, NULL, 0) gives the size to allocate.
 * Typically 2-4 bytes per non-empty bucket, at most 2 + 20 per bucket. Can't fail. */
size_t hist_encode(const hist *h, void *buf, size_t cap);

/* What the encoding does not carry, stored next to it (a recording's stats row). */
typedef struct hist_exact {
    uint64_t count, min, max, clamped;
    double avg;
} hist_exact;

/* Replaces the content of h with the histogram encoded in [buf, buf + len). With exact, min,
 * max, the sum (avg * count) and clamped are restored from it after checking it against the
 * buckets (count equal, min in the first bucket, max in the last, avg in [min, max]); without,
 * the first bucket's low bound, the last bucket's high bound and the bucket middles stand in.
 * The input is untrusted: the version, bucket order and bounds and the counts (no overflow) are
 * checked and nothing is read outside [buf, buf + len). Returns 0; -EINVAL when the input is not a
 * valid encoding 1 or disagrees with exact; -ENOMEM when out of memory; on failure h is empty. */
int hist_decode(hist *h, const void *buf, size_t len, const hist_exact *exact);

/* Cumulative counts at caller-chosen bounds, e.g. Prometheus `le` buckets: out[i] is the number of
 * recorded values <= bounds[i]. bounds must be non-decreasing (n may be 0). Exact when a bound is
 * at a bucket edge (every bound below 2048, and bounds b with b + 1 a multiple of the bucket width
 * above), and exact below min and at or above max. A bound inside a wider bucket counts the
 * whole bucket when the bound is at or above the value that bucket stands for (its middle, the
 * value hist_quantile reports), none of it otherwise: so quantiles and cumulative counts agree, and
 * only values within half a bucket (1/2048 relative) of the bound can be counted on the wrong side.
 * Cost: one walk over the non-empty buckets. Can't fail. */
void hist_cumulative(const hist *h, const uint64_t *bounds, size_t n, uint64_t *out);

#endif
