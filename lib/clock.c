/* clock.c — the tick source (rdtsc / cntvct_el0 / CLOCK_MONOTONIC), its detection, and calibration
 * samples that let anyone convert ticks to CLOCK_MONOTONIC and CLOCK_REALTIME nanoseconds. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

volatile int tk__clock_source = TK_CLOCK_UNINIT;

uint64_t tk__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tk__real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads the counter of the chosen source without checking it (init is done). */
static inline uint64_t raw_ticks(int source)
{
#if defined(__x86_64__)
    if (source == TK_CLOCK_TSC)
        return __rdtsc();
#elif defined(__aarch64__)
    if (source == TK_CLOCK_CNTVCT) {
        uint64_t v;
        __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
        return v;
    }
#endif
    (void)source;
    return tk__mono_ns();
}

uint64_t tk__now_slow(void)
{
    if (tk__clock_source == TK_CLOCK_UNINIT)
        tk__ensure_init();
    return raw_ticks(tk__clock_source);
}

/* x86-64: the TSC must be advertised (CPUID.1:EDX[4]) and invariant (CPUID.80000007H:EDX[8]);
 * otherwise its rate may change with power states and we use CLOCK_MONOTONIC. */
int tk__clock_detect(const char *env_clock)
{
    if (env_clock && *env_clock) {
        if (strcmp(env_clock, "monotonic") == 0)
            return TK_CLOCK_MONOTONIC;
        if (strcmp(env_clock, "tsc") != 0 && strcmp(env_clock, "auto") != 0)
            tk__warn("timekeeper: TK_CLOCK='%s' is not tsc|monotonic; using auto\n",
                    env_clock);
    }
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(d & (1u << 4)))
        return TK_CLOCK_MONOTONIC;
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000007u)
        return TK_CLOCK_MONOTONIC;
    __cpuid(0x80000007u, a, b, c, d);
    return (d & (1u << 8)) ? TK_CLOCK_TSC : TK_CLOCK_MONOTONIC;
#elif defined(__aarch64__)
    return TK_CLOCK_CNTVCT;
#else
    return TK_CLOCK_MONOTONIC;
#endif
}

/* One sample: the tick reading closest to a pair of clock_gettime calls, best of 5 tries (the try
 * with the shortest bracket wins; its error is about half the bracket, tens of ns). */
static tks_calib take_sample(int source)
{
    tks_calib best = {0};
    uint64_t best_width = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = raw_ticks(source);
        uint64_t mono = tk__mono_ns();
        uint64_t real = tk__real_ns();
        uint64_t t1 = raw_ticks(source);
        if (t1 - t0 < best_width) {
            best_width = t1 - t0;
            /* mono was read about a third of the way through the bracket */
            best.ticks = t0 + (t1 - t0) / 3;
            best.mono_ns = mono;
            best.real_ns = real;
        }
    }
    if (source == TK_CLOCK_MONOTONIC)
        best.ticks = best.mono_ns;
    return best;
}

/* Serialises the writers of calibration samples: the calibration thread and the exit handler. */
static pthread_mutex_t calib_lock = PTHREAD_MUTEX_INITIALIZER;

void tk__calib_lock_acquire(void) { pthread_mutex_lock(&calib_lock); }
void tk__calib_lock_release(void) { pthread_mutex_unlock(&calib_lock); }

void tk__calibrate_sample(tks_header *h)
{
    tks_calib s = take_sample((int)h->clock_source);
    pthread_mutex_lock(&calib_lock);
    uint64_t n = __atomic_load_n(&h->calib_count, __ATOMIC_RELAXED);
    uint64_t slot = n < TKS_CALIB_SLOTS ? n : 1 + (n - 1) % (TKS_CALIB_SLOTS - 1);
    uint64_t seq = __atomic_load_n(&h->calib_seq, __ATOMIC_RELAXED);
    __atomic_store_n(&h->calib_seq, seq + 1, __ATOMIC_RELAXED);
    TKS_FENCE_RELEASE();
    __atomic_store_n(&h->calib[slot].ticks, s.ticks, __ATOMIC_RELAXED);
    __atomic_store_n(&h->calib[slot].mono_ns, s.mono_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&h->calib[slot].real_ns, s.real_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&h->calib_count, n + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&h->heartbeat_mono_ns, s.mono_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&h->calib_seq, seq + 2, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&calib_lock);
}

/* Reads the first and the latest calibration samples consistently (seqlock). */
static void read_ends(const tks_header *h, tks_calib *first, tks_calib *last)
{
    for (;;) {
        uint64_t s0 = __atomic_load_n(&h->calib_seq, __ATOMIC_ACQUIRE);
        if (s0 & 1)
            continue;
        uint64_t n = __atomic_load_n(&h->calib_count, __ATOMIC_RELAXED);
        uint64_t li = n == 0 ? 0 : (n - 1 < TKS_CALIB_SLOTS ? n - 1 : 1 + (n - 2) % (TKS_CALIB_SLOTS - 1));
        first->ticks = __atomic_load_n(&h->calib[0].ticks, __ATOMIC_RELAXED);
        first->mono_ns = __atomic_load_n(&h->calib[0].mono_ns, __ATOMIC_RELAXED);
        first->real_ns = __atomic_load_n(&h->calib[0].real_ns, __ATOMIC_RELAXED);
        last->ticks = __atomic_load_n(&h->calib[li].ticks, __ATOMIC_RELAXED);
        last->mono_ns = __atomic_load_n(&h->calib[li].mono_ns, __ATOMIC_RELAXED);
        last->real_ns = __atomic_load_n(&h->calib[li].real_ns, __ATOMIC_RELAXED);
        TKS_FENCE_ACQUIRE();
        if (__atomic_load_n(&h->calib_seq, __ATOMIC_RELAXED) == s0)
            return;
    }
}

double tk_ticks_per_second(void)
{
    tk__ensure_init();
    if (tk__clock_source == TK_CLOCK_MONOTONIC || !tk__g.hdr)
        return tk__clock_source == TK_CLOCK_MONOTONIC ? 1e9 : 1e9 / tk__g.ns_per_tick_guess;
    tks_calib f, l;
    read_ends(tk__g.hdr, &f, &l);
    if (l.mono_ns - f.mono_ns < 5000000u) /* under 5 ms apart: the init estimate is better */
        return 1e9 / tk__g.ns_per_tick_guess;
    return (double)(l.ticks - f.ticks) * 1e9 / (double)(l.mono_ns - f.mono_ns);
}

uint64_t tk_ticks_to_ns(uint64_t ticks)
{
    tk__ensure_init();
    if (tk__clock_source == TK_CLOCK_MONOTONIC)
        return ticks;
    if (!tk__g.hdr) /* disabled: no segment, convert against a fresh sample */
    {
        tks_calib s = take_sample(tk__clock_source);
        return s.mono_ns + (uint64_t)(((double)ticks - (double)s.ticks) * tk__g.ns_per_tick_guess);
    }
    tks_calib f, l;
    read_ends(tk__g.hdr, &f, &l);
    double ns_per_tick = tk__g.ns_per_tick_guess;
    if (l.mono_ns - f.mono_ns >= 5000000u)
        ns_per_tick = (double)(l.mono_ns - f.mono_ns) / (double)(l.ticks - f.ticks);
    /* from the latest sample: the extrapolated span is short, so the rate error stays small */
    double d = (double)(int64_t)(ticks - l.ticks) * ns_per_tick;
    return (uint64_t)((int64_t)l.mono_ns + (int64_t)d);
}

tk_clock_t tk_clock_source(void)
{
    tk__ensure_init();
    return (tk_clock_t)tk__clock_source;
}

/* Measures ns per tick over ~200 µs at init, before the calibration thread has two samples. */
double tk__estimate_ns_per_tick(int source);
double tk__estimate_ns_per_tick(int source)
{
    if (source == TK_CLOCK_MONOTONIC)
        return 1.0;
    tks_calib a = take_sample(source), b;
    do {
        b = take_sample(source);
    } while (b.mono_ns - a.mono_ns < 200000u);
    if (b.ticks <= a.ticks)
        return 1.0;
    return (double)(b.mono_ns - a.mono_ns) / (double)(b.ticks - a.ticks);
}
