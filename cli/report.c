/* report.c — what report and top share: the measured cost of a clock read. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif


static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t report_clock_read_cost_ns(void)
{
#if defined(__x86_64__)
    enum { N = 10001 };
    static uint64_t d[N];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = __rdtsc();
    for (int i = 0; i < N; i++) {
        uint64_t x = __rdtsc();
        d[i] = __rdtsc() - x;
    }
    uint64_t t1 = __rdtsc();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    qsort(d, N, sizeof d[0], cmp_u64);
    return t1 > t0 ? (uint64_t)((double)d[N / 2] * ns / (double)(t1 - t0) + 0.5) : 0;
#else
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
#endif
}
