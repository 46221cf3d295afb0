/* format/convert.h — the one conversion of raw ticks to nanoseconds, from the calibration samples
 * a producer publishes in its segment header. Header-only; used by the collector (and by anything
 * that reads a segment). Pure functions of their arguments: none can fail, absurd inputs saturate. */
#ifndef TK_FORMAT_CONVERT_H
#define TK_FORMAT_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "format/segment.h"

/* A tick difference in ns at ns_per_tick; values beyond uint64 saturate to UINT64_MAX. */
static inline uint64_t tks_ticks_to_ns(uint64_t d, double ns_per_tick)
{
    double v = (double)d * ns_per_tick + 0.5;
    return v < 1.8e19 ? (uint64_t)v : UINT64_MAX;
}

/* The long-run rate between the first and the last of n samples sorted by ticks, or 0 when they
 * are too close together (under 1 ms) or disagree in direction: the caller then uses an estimate
 * of its own. */
static inline double tks_calib_rate(const tks_calib *s, size_t n)
{
    if (n < 2)
        return 0;
    const tks_calib *f = &s[0], *l = &s[n - 1];
    if (l->ticks > f->ticks && l->mono_ns > f->mono_ns + 1000000u) {
        double rate = (double)(l->mono_ns - f->mono_ns) / (double)(l->ticks - f->ticks);
        if (rate > 0.001 && rate < 1000.0)
            return rate;
    }
    return 0;
}

/* Ticks t to CLOCK_MONOTONIC ns over n samples sorted by ticks: interpolated between the two
 * samples around t, extrapolated at `rate` (ns per tick) outside them. 0 when n is 0. *hint (may
 * be NULL) remembers the bracket of the last call: times that come in order cost no search. */
static inline uint64_t tks_ticks_to_mono_hint(const tks_calib *s, size_t n, double rate, uint64_t t,
                                              size_t *hint)
{
    if (n == 0)
        return 0;
    size_t lo;
    if (hint && *hint < n && s[*hint].ticks <= t && (*hint + 1 == n || s[*hint + 1].ticks > t)) {
        lo = *hint;
    } else {
        size_t l = 0, hi = n; /* the last sample with ticks <= t */
        while (hi - l > 1) {
            size_t mid = (l + hi) / 2;
            if (s[mid].ticks <= t)
                l = mid;
            else
                hi = mid;
        }
        lo = l;
        if (hint)
            *hint = lo;
    }
    const tks_calib *a = &s[lo];
    double r = rate;
    if (lo + 1 < n && t >= a->ticks) {
        const tks_calib *b = &s[lo + 1];
        if (b->ticks > a->ticks && b->mono_ns > a->mono_ns)
            r = (double)(b->mono_ns - a->mono_ns) / (double)(b->ticks - a->ticks);
    }
    /* the common case in double: a difference below 2^52 ticks at a sane rate stays exact to
     * well under a ns; anything else (corrupt calibration, absurd ticks) in long double, with
     * saturation */
    uint64_t dt = t >= a->ticks ? t - a->ticks : a->ticks - t;
    if (dt < (1ull << 52) && r > 0 && r < 1000.0) {
        double d = (double)dt * r;
        if (t >= a->ticks)
            return a->mono_ns + (uint64_t)(d + 0.5) >= a->mono_ns ? a->mono_ns + (uint64_t)(d + 0.5)
                                                                  : UINT64_MAX;
        uint64_t back = (uint64_t)(d + 0.5);
        return back <= a->mono_ns ? a->mono_ns - back : 0;
    }
    long double d = ((long double)t - (long double)a->ticks) * (long double)r;
    long double v = (long double)a->mono_ns + d + 0.5L; /* rounded; absurd values saturate */
    return v <= 0 ? 0 : v >= 0x1p64L ? UINT64_MAX : (uint64_t)v;
}

static inline uint64_t tks_ticks_to_mono(const tks_calib *s, size_t n, double rate, uint64_t t)
{
    return tks_ticks_to_mono_hint(s, n, rate, t, NULL);
}

/* CLOCK_MONOTONIC ns to CLOCK_REALTIME ns through the sample nearest in time (the two clocks
 * differ by a constant between clock steps). */
static inline uint64_t tks_mono_to_real(const tks_calib *s, size_t n, uint64_t mono)
{
    if (n == 0)
        return 0;
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t db = s[best].mono_ns > mono ? s[best].mono_ns - mono : mono - s[best].mono_ns;
        uint64_t di = s[i].mono_ns > mono ? s[i].mono_ns - mono : mono - s[i].mono_ns;
        if (di < db)
            best = i;
    }
    int64_t off = (int64_t)(s[best].real_ns - s[best].mono_ns);
    return (uint64_t)((int64_t)mono + off);
}

#endif
