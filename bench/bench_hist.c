/* bench_hist.c — measures hist_record throughput (and hist_summarize latency) on a latency-like mix. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agg/hist.h"

#define RECORDS 100000000ULL
#define TABLE_BITS 20 /* 8 MiB of pre-drawn values, read sequentially: the draw is not measured */
#define SUMMARIES 10000

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

/* xorshift64*, fixed seed: every run records the same values. */
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1p-53;
}

/* A latency-like value: 99% log-uniform over 50 ns..50 us, 1% tail log-uniform over 50 us..100 ms. */
static uint64_t draw_latency(void)
{
    if (rng_next() % 100)
        return (uint64_t)(50.0 * exp(rng_unit() * log(1000.0)));
    return (uint64_t)(50000.0 * exp(rng_unit() * log(2000.0)));
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    size_t table_size = (size_t)1 << TABLE_BITS;
    uint64_t *values = malloc(table_size * sizeof *values);
    hist *h = hist_new();
    if (!values || !h) {
        fprintf(stderr, "bench_hist: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < table_size; i++)
        values[i] = draw_latency();

    double start = now_seconds();
    for (uint64_t i = 0; i < RECORDS; i++) {
        if (hist_record(h, values[i & (table_size - 1)]) < 0) {
            fprintf(stderr, "bench_hist: out of memory\n");
            return 1;
        }
    }
    double record_seconds = now_seconds() - start;

    hist_summary s;
    uint64_t sink = 0;
    start = now_seconds();
    for (int i = 0; i < SUMMARIES; i++) {
        hist_summarize(h, &s);
        sink += s.p999;
    }
    double summarize_seconds = now_seconds() - start;

    printf("hist_record: %.1f Mrec/s\n", (double)RECORDS / record_seconds / 1e6);
    printf("hist_summarize: %.2f us (p50 %llu ns, p99 %llu ns, p999 %llu ns, sink %llu)\n",
           summarize_seconds / SUMMARIES * 1e6, (unsigned long long)s.p50,
           (unsigned long long)s.p99, (unsigned long long)s.p999, (unsigned long long)(sink & 1));
    hist_free(h);
    free(values);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("bench_hist: stdout");
        return 1;
    }
    return 0;
}
