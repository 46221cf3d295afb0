/* top_producer.c — a small instrumented program for the `timekeeper top` test and benchmark:
 * records spans with processing time and latency since an origin, spread over N named timers at a
 * steady total rate, until --duration passes or SIGTERM/SIGINT arrives (then it exits normally).
 *
 *     top_producer [--timers N] [--rate R] [--duration S] [--prefix P]
 *
 * With N <= 4 the timers are named like stages of a pipeline (top.decode, top.match, top.publish,
 * and top.journal, which records no origin, hence no latency); otherwise top.t000 .. top.tNNN.
 * --prefix P puts P before every name instead of "top." (long names for the report's table). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <timekeeper.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy work of about n cheap steps, so spans have a spread of lengths. */
static volatile unsigned sink;
static void spin(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sink += i;
}

static int usage(void)
{
    fprintf(stderr, "usage: top_producer [--timers N] [--rate R] [--duration S] [--prefix P]\n");
    return 2;
}

int main(int argc, char **argv)
{
    long ntimers = 4, rate = 20000;
    double duration = 60;
    const char *prefix = "top.";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--timers"))
            ntimers = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--duration"))
            duration = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--prefix"))
            prefix = argv[++i];
        else
            return usage();
    }
    if (ntimers < 1 || ntimers > 4000 || rate < 1 || rate > 10000000 || !(duration > 0))
        return usage();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static const char *const stages[] = {"decode", "match", "publish", "journal"};
    tk_timer_t **timers = calloc((size_t)ntimers, sizeof *timers);
    if (!timers)
        return 1;
    for (long i = 0; i < ntimers; i++) {
        char name[128];
        if (ntimers <= 4)
            snprintf(name, sizeof name, "%s%s", prefix, stages[i]);
        else
            snprintf(name, sizeof name, "%st%03ld", prefix, i);
        timers[i] = tk_timer(name);
    }
    tk_thread_name("producer");

    const uint64_t start = mono_ns(), end = start + (uint64_t)(duration * 1e9);
    uint64_t done = 0;
    unsigned seed = 1;
    long next = 0;
    while (!stop) {
        uint64_t now = mono_ns();
        if (now >= end)
            break;
        uint64_t due = (uint64_t)((double)(now - start) * (double)rate / 1e9);
        for (; done < due && !stop; done++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            int journal = ntimers <= 4 && next == 3;
            uint64_t origin = tk_now();
            spin(r % 64);                         /* waiting in a queue */
            uint64_t s = tk_now();
            spin(16 + (r % 7 == 0 ? r % 512 : r % 32)); /* the work, with a slow tail */
            tk_record(timers[next], s, tk_now(), journal ? 0 : origin);
            if (++next == ntimers)
                next = 0;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    free(timers);
    return 0;
}
