/* bench.h — helpers shared by the benchmarks (header-only, static): clocks, medians, arguments,
 * a private segment directory, and a forked collector process driven through shared memory.
 * Benchmarks never assert: they print `name: value unit (goal: ...)` lines and exit 0, or 1 when
 * the benchmark itself could not run. */
#ifndef TK_BENCH_H
#define TK_BENCH_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <timekeeper.h>

static inline uint64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread: what a measured stretch cost this core, without the time other
 * processes of a shared machine ran in between. */
static inline uint64_t bench_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps until CLOCK_MONOTONIC reaches t (ns). */
static inline void bench_sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static inline void bench_sleep_ns(uint64_t ns) { bench_sleep_until(bench_mono_ns() + ns); }

/* The raw hardware counter with no library code around it (the floor's clock read). */
static inline uint64_t bench_raw_ticks(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return tk_now();
#endif
}

/* ---- statistics over repetitions --------------------------------------------------------------- */

typedef struct bench_stat {
    double med, min, max;
} bench_stat;

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, min and max of v[0..n) (v is sorted in place). */
static inline bench_stat bench_stats(double *v, size_t n)
{
    bench_stat s = {0, 0, 0};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, bench_cmp_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

/* The value at quantile q of sorted v[0..n) (nearest rank). */
static inline double bench_quantile_sorted(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t r = (size_t)(q * (double)n + 0.999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return v[r - 1];
}

/* The 1-minute load average (-1 when unknown): printed next to results, which depend on it. */
static inline double bench_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* ---- arguments ----------------------------------------------------------------------------------- */

typedef struct bench_args {
    int quick;
    double seconds; /* --seconds S, 0: not given */
    long ring;      /* --ring N, 0: not given */
    double poll_ms; /* --poll-ms P, 0: not given */
} bench_args;

/* Parses --quick, --seconds S, --ring N, --poll-ms P (only those in `accept`, a string of the
 * letters q s r p) and --help. Returns 0, or exits 0 after --help and 2 on bad usage. */
static inline bench_args bench_parse(int argc, char **argv, const char *accept, const char *usage)
{
    bench_args a = {0, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            printf("usage: %s %s\n", argv[0], usage);
            exit(0);
        } else if (strcmp(s, "--quick") == 0 && strchr(accept, 'q')) {
            a.quick = 1;
        } else if (strcmp(s, "--seconds") == 0 && strchr(accept, 's') && val) {
            a.seconds = strtod(val, &end);
            if (*end || !(a.seconds > 0 && a.seconds <= 86400))
                goto bad;
            i++;
        } else if (strcmp(s, "--ring") == 0 && strchr(accept, 'r') && val) {
            a.ring = strtol(val, &end, 10);
            if (*end || a.ring < 1024 || a.ring > (1L << 24) || (a.ring & (a.ring - 1)))
                goto bad;
            i++;
        } else if (strcmp(s, "--poll-ms") == 0 && strchr(accept, 'p') && val) {
            a.poll_ms = strtod(val, &end);
            if (*end || !(a.poll_ms >= 0.1 && a.poll_ms <= 10000))
                goto bad;
            i++;
        } else {
            val = NULL;
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "%s: bad argument '%s%s%s'\nusage: %s %s\n", argv[0], s, val ? " " : "",
                val ? val : "", argv[0], usage);
        exit(2);
    }
    return a;
}

/* ---- a private segment directory ----------------------------------------------------------------- */

/* Creates a fresh directory under /dev/shm (or /tmp) into buf. Returns 0 or -1. */
static inline int bench_mkdir(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "/dev/shm/timekeeper-%s-XXXXXX", name);
    if (mkdtemp(buf))
        return 0;
    snprintf(buf, cap, "/tmp/timekeeper-%s-XXXXXX", name);
    return mkdtemp(buf) ? 0 : -1;
}

/* Removes every file in dir (segments only live there), then dir itself. */
static inline void bench_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[1024];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Memory shared with a forked child (anonymous, zeroed). NULL on failure. */
static inline void *bench_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Forks a child that runs fn(arg) and _exits with its return value; the child dies with the
 * parent. Call before tk_init() in the parent, so the child has no segment of its own.
 * Returns the child's pid or -1. */
static inline pid_t bench_fork(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        _exit(fn(arg));
    }
    return pid;
}

/* Waits for pid; returns its exit status, or -1 when it did not exit normally. */
static inline int bench_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the span floor, shared by the benchmarks that compare against it ------------------------- */
/* What a span costs at the least: two counter reads and a 32-byte store into a thread-local buffer
 * as large as a ring (so the cache behaves the same), with relaxed atomic stores as the library
 * does, published nowhere. A benchmark sets floor_buf (floor_cap * 32 bytes, floor_cap a power of
 * two) in each measuring thread. Times are thread CPU time. */
static inline uint64_t op_clock(void) { return bench_thread_cpu_ns(); }
static __thread uint64_t *floor_buf;
static __thread uint64_t floor_idx;
static size_t floor_cap;

static __attribute__((noinline, unused)) double op_floor32(size_t n)
{
    uint64_t *b = floor_buf, idx = floor_idx;
    const uint64_t mask = floor_cap - 1;
    uint64_t t0 = op_clock();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = bench_raw_ticks(), e = bench_raw_ticks();
        uint64_t *r = &b[(idx++ & mask) * 4];
        __atomic_store_n(&r[0], (uint64_t)i, __ATOMIC_RELAXED);
        __atomic_store_n(&r[1], s, __ATOMIC_RELAXED);
        __atomic_store_n(&r[2], e, __ATOMIC_RELAXED);
        __atomic_store_n(&r[3], 0, __ATOMIC_RELAXED);
    }
    floor_idx = idx;
    return (double)(op_clock() - t0) / (double)n;
}

#endif
