/* tk_clock_child.c — prints the clock source the library chose and how far tk_now() is from
 * CLOCK_MONOTONIC (used by test_clock with TK_CLOCK=monotonic). */
#include <stdio.h>
#include <time.h>

#include <timekeeper.h>

int main(void)
{
    struct timespec ts;
    unsigned src = (unsigned)tk_clock_source();
    uint64_t t = tk_now();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long m = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    printf("source=%u diff=%lld\n", src, m - (long long)t);
    return 0;
}
