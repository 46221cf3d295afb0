/* tk_burst.c — records a fixed number of spans or points at a fixed rate from its very first
 * record, then exits normally and prints what it recorded. For the tests of discovery and of
 * drain cadence:
 *
 *     tk_burst spans|points COUNT RATE_PER_S
 *
 * The rate is kept in batches of 1000 records (busy-waiting on the clock between batches). Points
 * come as requests of four (client 1, command ids 0..4095 in rotation, session 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <timekeeper.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "spans") && strcmp(argv[1], "points"))) {
        fprintf(stderr, "usage: tk_burst spans|points COUNT RATE_PER_S\n");
        return 2;
    }
    int points = strcmp(argv[1], "points") == 0;
    unsigned long long count = strtoull(argv[2], NULL, 10);
    double rate = strtod(argv[3], NULL);
    if (!count || !(rate > 0)) {
        fprintf(stderr, "tk_burst: COUNT and RATE must be positive\n");
        return 2;
    }
    tk_timer_t *t = points ? NULL : tk_timer("burst.span");
    tk_label_t l = points ? tk_label("BURST_POINT") : 0;
    if ((!points && !t) || (points && !l)) {
        fprintf(stderr, "tk_burst: the library did not start\n");
        return 1;
    }
    uint64_t t0 = mono_ns();
    unsigned long long done = 0;
    while (done < count) {
        unsigned long long batch = count - done < 1000 ? count - done : 1000;
        for (unsigned long long i = 0; i < batch; i++) {
            if (points) {
                unsigned long long k = done + i; /* requests of 4 points, 4096 in rotation */
                tk_point(l, 1, (k / 4) % 4096, 1, NULL);
            } else {
                uint64_t a = tk_now();
                tk_record(t, a, tk_now(), 0);
            }
        }
        done += batch;
        uint64_t due = t0 + (uint64_t)((double)done / rate * 1e9);
        while (mono_ns() < due)
            ;
    }
    printf("recorded %llu\n", done);
    return 0;
}
