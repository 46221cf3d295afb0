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

typedef struct expo_walk {
    int scale;
    int32_t lo, hi;        /* index range at scale */
    uint64_t zero;
    int have;              /* a bucket above 0 was seen */
    uint64_t min, max;
    uint64_t *counts;      /* fill pass */
    int32_t offset;
    int shift;
} expo_walk;

static int32_t bucket_index(uint64_t lo, uint64_t hi, int scale)
{
    return tk_otlp_expo_index(((double)lo + (double)hi) / 2, scale);
}

static int range_cb(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    expo_walk *w = ctx;
    if (hi == 0) {
        w->zero += count;
        return 0;
    }
    int32_t i = bucket_index(lo, hi, w->scale);
    if (!w->have) {
        w->have = 1;
        w->lo = w->hi = i;
    } else {
        if (i < w->lo)
            w->lo = i;
        if (i > w->hi)
            w->hi = i;
    }
    (void)count;
    return 0;
}

static int fill_cb(void *ctx, uint64_t lo, uint64_t hi, uint64_t count)
{
    expo_walk *w = ctx;
    if (hi == 0)
        return 0;
    int32_t i = bucket_index(lo, hi, w->scale) >> w->shift;
    w->counts[i - w->offset] += count;
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
        hist_summary s;
        hist_summarize(hs[j], &s);
        out->count += s.count;
        out->sum += s.avg * (double)s.count;
        min = s.min < min ? s.min : min;
        max = s.max > max ? s.max : max;
    }
    if (out->count == 0)
        return 0;
    out->min = (double)min;
    out->max = (double)max;

    expo_walk w = {.scale = max_scale};
    for (size_t j = 0; j < nh; j++)
        hist_foreach(hs[j], range_cb, &w);
    out->zero_count = w.zero;
    if (!w.have)
        return 0;
    /* Lower the scale until the range fits: at scale s - 1 the index is the index at s >> 1. */
    int shift = 0;
    while ((size_t)((int64_t)(w.hi >> shift) - (w.lo >> shift) + 1) > max_buckets &&
           max_scale - shift > -10)
        shift++;
    w.shift = shift;
    w.offset = w.lo >> shift;
    size_t n = (size_t)((int64_t)(w.hi >> shift) - w.offset + 1);
    w.counts = calloc(n, sizeof *w.counts);
    if (!w.counts) {
        memset(out, 0, sizeof *out);
        return -ENOMEM;
    }
    for (size_t j = 0; j < nh; j++)
        hist_foreach(hs[j], fill_cb, &w);
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
