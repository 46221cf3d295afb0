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
 * samples around t, extrapolated at `rate` (ns per tick) outside them. 0 when n is 0. */
static inline uint64_t tks_ticks_to_mono(const tks_calib *s, size_t n, double rate, uint64_t t)
{
    if (n == 0)
        return 0;
    size_t lo = 0, hi = n; /* the last sample with ticks <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s[mid].ticks <= t)
            lo = mid;
        else
            hi = mid;
    }
    const tks_calib *a = &s[lo];
    long double r = rate;
    if (lo + 1 < n && t >= a->ticks) {
        const tks_calib *b = &s[lo + 1];
        if (b->ticks > a->ticks && b->mono_ns > a->mono_ns)
            r = (long double)(b->mono_ns - a->mono_ns) / (long double)(b->ticks - a->ticks);
    }
    long double d = ((long double)t - (long double)a->ticks) * r;
    long double v = (long double)a->mono_ns + d + 0.5L; /* rounded; absurd values saturate */
    return v <= 0 ? 0 : v >= 0x1p64L ? UINT64_MAX : (uint64_t)v;
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
