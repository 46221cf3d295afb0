/* otlp_expo.c — our log-linear histograms as OTLP base-2 exponential histograms, and the
 * "k=v,k=v" lists of the OTEL_* variables.
 *
 * The scale: an exponential bucket at scale s is 2^(2^-s) - 1 wide relative to its value (0.27 % at
 * s = 8, 2.2 % at s = 5); ours are at most 1/1024 (0.1 %) wide, so one of ours straddles at most
 * one exponential boundary at s <= 9. We start at TK_OTLP_MAX_SCALE (8) and lower the scale, one
 * halving of the bucket count at a time, until the occupied range fits the bucket budget (160 by
 * default, what the OpenTelemetry SDKs use, so every backend takes it): a timer spread over three
 * powers of two keeps s = 5. Lowering the scale merges pairs of buckets exactly (index >> 1), so
 * the choice loses nothing beyond the final bucket width. */
#include "sink/otlp/otlp.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int32_t tk_otlp_expo_index(double v, int scale)
{
    /* Bucket i holds (2^(i/2^s), 2^((i+1)/2^s)]: exact powers of two are upper bounds. */
    int e;
    double m = frexp(v, &e); /* v = m * 2^e, m in [0.5, 1) */
    if (scale <= 0) {
        int32_t exp = m == 0.5 ? e - 2 : e - 1; /* floor(log2 v), one less for a power of two */
        return exp >> -scale;
    }
    if (m == 0.5)
        return (int32_t)(((int64_t)(e - 1) << scale) - 1);
    return (int32_t)floor(log2(v) * (double)(1 << scale));
}

/* 2^(j / 2^scale) for scale > 0: the upper bound of bucket j - 1. Cost: a table look-up and an
 * ldexp up to scale 8, an exp2 above (about 20 ns). */
static double frac8[256]; /* 2^(f/256) */
static pthread_once_t frac8_once = PTHREAD_ONCE_INIT;
static void frac8_init(void)
{
    for (int f = 0; f < 256; f++)
        frac8[f] = exp2(f / 256.0);
}

static double bound_of(int64_t j, int scale)
{
    int64_t q = j >> scale; /* floor division by 2^scale */
    int64_t f = j - (q << scale);
    if (scale <= 8)
        return ldexp(frac8[f << (8 - scale)], (int)q);
    return ldexp(exp2((double)f / (double)(1 << scale)), (int)q);
}

/* Buckets come out of hist_foreach in increasing order, so the exponential index of their midpoints
 * only grows: the walk computes one index with a logarithm, then moves from bound to bound. Cost:
 * one comparison per bucket of ours plus one bound_of() per exponential bucket crossed. */
typedef struct expo_walk {
    int scale;
    int32_t lo, hi;        /* index range at scale */
    uint64_t zero;
    double sum;
    int32_t cur;           /* the fill pass: current index at scale, */
    double upper;          /*   and its upper bound, */
    int walking;           /*   valid once the histogram's first bucket set them */
    uint64_t *counts;
    int32_t offset;
    int shift;
    size_t n;
} expo_walk;

/* Sets *ctx to the lowest value above 0 (a bucket's low bound: values above 2047 are rounded). */
static int first_above_zero(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    uint64_t *v = ctx;
    (void)count;
    if (hi == 0)
        return 0;
    if (*v == 0 || lo < *v)
        *v = lo;
    return 1;
}

static int fill_cb(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    expo_walk *w = ctx;
    double mid = ((double)lo + (double)hi) / 2;
    w->sum += mid * (double)count;
    if (hi == 0) {
        w->zero += count;
        return 0;
    }
    if (w->scale <= 0 || !w->walking) { /* frexp only at scale <= 0; else the walk starts */
        w->cur = tk_otlp_expo_index(mid, w->scale);
        w->upper = w->scale > 0 ? bound_of((int64_t)w->cur + 1, w->scale) : 0;
        w->walking = 1;
    }
    while (w->scale > 0 && mid > w->upper) {
        w->cur++;
        w->upper = bound_of((int64_t)w->cur + 1, w->scale);
    }
    int64_t i = (int64_t)(w->cur >> w->shift) - w->offset;
    i = i < 0 ? 0 : i >= (int64_t)w->n ? (int64_t)w->n - 1 : i; /* rounding at a bound: clamp */
    w->counts[i] += count;
    return 0;
}

int tk_otlp_expo_from_hists(const hist *const *hs, size_t nh, int max_scale, size_t max_buckets,
                            tk_otlp_expo *out)
{
    memset(out, 0, sizeof *out);
    if (max_buckets == 0)
        max_buckets = TK_OTLP_MAX_BUCKETS;
    if (max_scale > 20)
        max_scale = 20;
    out->scale = max_scale;
    uint64_t min = UINT64_MAX, max = 0;
    for (size_t j = 0; j < nh; j++) {
        if (!hs[j] || hist_count(hs[j]) == 0)
            continue;
        out->count += hist_count(hs[j]);
        uint64_t lo = hist_quantile(hs[j], 0), hi = hist_quantile(hs[j], 1); /* exact, O(1) */
        min = lo < min ? lo : min;
        max = hi > max ? hi : max;
    }
    if (out->count == 0)
        return 0;
    out->min = (double)min;
    out->max = (double)max;

    /* One pass: the range comes from the exact min and max (the buckets holding them are the
     * first and last; a midpoint across a bound is clamped in fill_cb). */
    pthread_once(&frac8_once, frac8_init);
    expo_walk w = {.scale = max_scale};
    uint64_t minpos = min;
    if (min == 0) /* the lowest value above 0 is needed: find it */
        for (size_t j = 0; j < nh; j++)
            if (hs[j] && hist_count(hs[j]))
                hist_foreach(hs[j], first_above_zero, &minpos);
    if (minpos == 0) { /* only zeros */
        out->zero_count = out->count;
        return 0;
    }
    w.lo = tk_otlp_expo_index((double)minpos, max_scale);
    w.hi = tk_otlp_expo_index((double)max, max_scale);
    /* Lower the scale until the range fits: at scale s - 1 the index is the index at s >> 1. */
    int shift = 0;
    while ((size_t)((int64_t)(w.hi >> shift) - (w.lo >> shift) + 1) > max_buckets &&
           max_scale - shift > -10)
        shift++;
    w.shift = shift;
    w.offset = w.lo >> shift;
    size_t n = (size_t)((int64_t)(w.hi >> shift) - w.offset + 1);
    w.n = n;
    w.counts = calloc(n, sizeof *w.counts);
    if (!w.counts) {
        memset(out, 0, sizeof *out);
        return -ENOMEM;
    }
    for (size_t j = 0; j < nh; j++) {
        w.walking = 0; /* each histogram starts its own walk */
        hist_foreach(hs[j], fill_cb, &w);
    }
    /* hist.h keeps the exact sum but shows it only through hist_summarize(), whose quantiles cost
     * ~7 us: the sum of bucket midpoints is within 1/2048 of it. */
    out->sum = w.sum;
    out->zero_count = w.zero;
    out->scale = max_scale - shift;
    out->offset = w.offset;
    out->counts = w.counts;
    out->n = n;
    return 0;
}

int tk_otlp_expo_from_hist(const hist *h, int max_scale, size_t max_buckets, tk_otlp_expo *out)
{
    return tk_otlp_expo_from_hists(&h, 1, max_scale, max_buckets, out);
}

void tk_otlp_expo_free(tk_otlp_expo *e)
{
    free(e->counts);
    e->counts = NULL;
    e->n = 0;
}

/* ---- "k=v,k=v" ---------------------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Copies [s, e) trimmed of blanks to out (size outlen), percent-decoding when decode. */
static void copy_trim(const char *s, const char *e, char *out, size_t outlen, int decode)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = 0;
    while (s < e && n + 1 < outlen) {
        if (decode && *s == '%' && e - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            out[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = 0;
}

int tk_otlp_parse_pairs(const char *s, void (*fn)(void *ctx, const char *k, const char *v),
                        void *ctx)
{
    int pairs = 0;
    if (!s)
        return 0;
    while (*s) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        char k[256], v[1024];
        if (eq) {
            copy_trim(s, eq, k, sizeof k, 1);
            copy_trim(eq + 1, end, v, sizeof v, 1);
        }
        if (!eq || !k[0]) {
            /* an empty item (",,", a trailing comma) is tolerated; anything else is not */
            copy_trim(s, end, k, sizeof k, 0);
            if (k[0])
                return -EINVAL;
        } else {
            fn(ctx, k, v);
            pairs++;
        }
        s = *end ? end + 1 : end;
    }
    return pairs;
}
