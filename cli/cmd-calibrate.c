/* cmd-calibrate.c — `timekeeper calibrate`: what timing costs on this machine, measured side by
 * side in one run (the clock, a recorded span and its floor, the disabled path, eventfd, poll). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include <timekeeper.h>

static const cli_option options[] = {
    {"json", 'j', NULL, "print one JSON object"},
    {"quick", 'q', NULL, "fewer repetitions (noisier, ~4x faster)"},
    {0},
};

typedef struct calib_opts {
    int json, quick;
} calib_opts;

static int cmd_calibrate(int argc, char **argv);
const cli_command cmd_calibrate_def = {
    "calibrate", cmd_calibrate, "measure the cost of timing on this machine",
    "[--json] [--quick]",
    "Measures, interleaved in one run and reported as medians over repetitions: tk_now(),\n"
    "clock_gettime(CLOCK_MONOTONIC), a recorded span (two tk_now() and tk_record()), the floor\n"
    "(two raw counter reads and one 32-byte store into a thread-local buffer of the ring's size,\n"
    "nothing published), the disabled path (TK_DISABLE=1, in a child process), eventfd()\n"
    "create+close, cross-thread eventfd wake latency, and the real delay of a 1 ms poll timeout.\n"
    "Recording goes to a private temporary segment that is removed at the end.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    (void)arg;
    calib_opts *o = ctx;
    if (key == 'j')
        o->json = 1;
    else if (key == 'q')
        o->quick = 1;
    else
        return CLI_USAGE;
    return 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the measured operations: each runs n iterations and returns ns per iteration ---------------- */

static volatile uint64_t sink;

static double op_now(size_t n)
{
    uint64_t t0 = mono_ns(), acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += tk_now();
    sink = acc;
    return (double)(mono_ns() - t0) / (double)n;
}

static double op_clock_gettime(size_t n)
{
    struct timespec ts;
    uint64_t t0 = mono_ns(), acc = 0;
    for (size_t i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        acc += (uint64_t)ts.tv_nsec;
    }
    sink = acc;
    return (double)(mono_ns() - t0) / (double)n;
}

static tk_timer_t *span_timer;
static double op_span(size_t n)
{
    tk_timer_t *t = span_timer;
    uint64_t t0 = mono_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = tk_now();
        tk_record(t, s, tk_now(), 0);
    }
    return (double)(mono_ns() - t0) / (double)n;
}

/* The floor: what any recorder must do at least: two counter reads and one record-sized store. */
typedef struct floor_rec {
    uint64_t w[4];
} floor_rec;
static __thread floor_rec *floor_buf;
static __thread uint64_t floor_idx;
static size_t floor_mask;

static double op_floor(size_t n)
{
    floor_rec *b = floor_buf;
    uint64_t idx = floor_idx, t0 = mono_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t s = tk_now(), e = tk_now();
        floor_rec *r = &b[idx++ & floor_mask];
        __atomic_store_n(&r->w[0], (uint64_t)i, __ATOMIC_RELAXED);
        __atomic_store_n(&r->w[1], s, __ATOMIC_RELAXED);
        __atomic_store_n(&r->w[2], e, __ATOMIC_RELAXED);
        __atomic_store_n(&r->w[3], 0, __ATOMIC_RELAXED);
    }
    floor_idx = idx;
    return (double)(mono_ns() - t0) / (double)n;
}

static double op_eventfd(size_t n)
{
    uint64_t t0 = mono_ns();
    for (size_t i = 0; i < n; i++) {
        int fd = eventfd(0, EFD_CLOEXEC);
        if (fd >= 0)
            close(fd);
    }
    return (double)(mono_ns() - t0) / (double)n;
}

/* ---- cross-thread eventfd wake ------------------------------------------------------------------ */

typedef struct wake_ctx {
    int efd, back;
    size_t n;
    double *lat;
    volatile uint64_t sent;
} wake_ctx;

static void *waker_reader(void *arg)
{
    wake_ctx *w = arg;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t v;
        if (read(w->efd, &v, sizeof v) != sizeof v)
            break;
        w->lat[i] = (double)(mono_ns() - w->sent);
        uint64_t one = 1;
        if (write(w->back, &one, sizeof one) != sizeof one)
            break;
    }
    return NULL;
}

static int measure_wake(size_t n, double *p50, double *p99)
{
    wake_ctx w = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC), n, calloc(n, sizeof(double)), 0};
    pthread_t th;
    int ok = w.efd >= 0 && w.back >= 0 && w.lat && pthread_create(&th, NULL, waker_reader, &w) == 0;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            uint64_t one = 1, v;
            w.sent = mono_ns();
            if (write(w.efd, &one, sizeof one) != sizeof one || read(w.back, &v, sizeof v) != sizeof v) {
                ok = 0;
                break;
            }
        }
        pthread_join(th, NULL);
        if (ok) {
            qsort(w.lat, n, sizeof(double), cmp_double);
            *p50 = w.lat[n / 2];
            *p99 = w.lat[(n * 99) / 100];
        }
    }
    if (w.efd >= 0)
        close(w.efd);
    if (w.back >= 0)
        close(w.back);
    free(w.lat);
    return ok ? 0 : -1;
}

static void measure_poll(size_t n, double *p50, double *p99)
{
    double *d = calloc(n, sizeof *d);
    if (!d) {
        *p50 = *p99 = 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = mono_ns();
        poll(NULL, 0, 1);
        d[i] = (double)(mono_ns() - t0);
    }
    qsort(d, n, sizeof *d, cmp_double);
    *p50 = d[n / 2];
    *p99 = d[(n * 99) / 100];
    free(d);
}

/* The disabled path runs in a child started before the library initialises in this process. */
static double measure_disabled(size_t n, int reps)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        setenv("TK_DISABLE", "1", 1);
        tk_timer_t *t = tk_timer("calibrate.disabled");
        double v[64];
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = mono_ns();
            for (size_t i = 0; i < n; i++)
                tk_record(t, i, i + 1, 0);
            v[r] = (double)(mono_ns() - t0) / (double)n;
        }
        double m = median(v, (size_t)reps);
        ssize_t wr = write(fds[1], &m, sizeof m);
        _exit(wr == sizeof m ? 0 : 1);
    }
    close(fds[1]);
    double m = -1;
    if (pid < 0 || read(fds[0], &m, sizeof m) != sizeof m)
        m = -1;
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return m;
}

static void remove_dir(const char *dir)
{
    const char *seg = tk_segment_path();
    if (seg && *seg)
        unlink(seg);
    rmdir(dir);
}

static int cmd_calibrate(int argc, char **argv)
{
    calib_opts o = {0};
    int status;
    int first = cli_parse(&cmd_calibrate_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_calibrate_def, "unexpected argument '%s'", argv[first]);

    const int reps = o.quick ? 5 : 15;
    const size_t n = o.quick ? 200000 : 1000000;
    double disabled = measure_disabled(n, reps);

    char dir[] = "/dev/shm/timekeeper-calibrate-XXXXXX";
    char dir_tmp[] = "/tmp/timekeeper-calibrate-XXXXXX";
    char *d = mkdtemp(dir);
    if (!d)
        d = mkdtemp(dir_tmp);
    if (!d)
        return cli_error("calibrate", "cannot create a temporary directory: %s", strerror(errno));
    tk_options to = {.dir = d};
    int rc = tk_init(&to);
    if (rc != 0) {
        rmdir(d);
        return cli_error("calibrate", "cannot initialise recording: %s", tk_strerror(rc));
    }
    span_timer = tk_timer("calibrate.span");
    const char *ring_env = getenv("TK_RING_SIZE");
    size_t cap = ring_env && atol(ring_env) > 0 ? (size_t)atol(ring_env) : 65536;
    if (cap & (cap - 1))
        cap = 65536;
    floor_mask = cap - 1;
    floor_buf = calloc(cap, sizeof *floor_buf);
    if (!floor_buf) {
        remove_dir(d);
        return cli_error("calibrate", "out of memory");
    }

    enum { NOW, CGT, SPAN, FLOOR, EFD, NOPS };
    double (*const ops[NOPS])(size_t) = {op_now, op_clock_gettime, op_span, op_floor, op_eventfd};
    double v[NOPS][32];
    op_span(n); /* warm up: claims the ring, faults its pages in */
    op_floor(n);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < NOPS; k++)
            v[k][r] = ops[k](k == EFD ? n / 50 : n);
    double m[NOPS];
    for (int k = 0; k < NOPS; k++)
        m[k] = median(v[k], (size_t)reps);
    double wake50 = 0, wake99 = 0, poll50 = 0, poll99 = 0;
    int wake_ok = measure_wake(o.quick ? 500 : 2000, &wake50, &wake99) == 0;
    measure_poll(o.quick ? 50 : 200, &poll50, &poll99);
    const char *clock = tk_clock_source() == TK_CLOCK_TSC ? "tsc"
                        : tk_clock_source() == TK_CLOCK_CNTVCT ? "cntvct" : "monotonic";
    double ratio = m[FLOOR] > 0 ? m[SPAN] / m[FLOOR] : 0;

    if (o.json) {
        printf("{\"clock\":\"%s\",\"ticks_per_second\":%.0f,\"tk_now_ns\":%.2f,"
               "\"clock_gettime_ns\":%.2f,\"span_ns\":%.2f,\"floor_ns\":%.2f,"
               "\"span_to_floor\":%.3f,\"disabled_ns\":%.3f,\"eventfd_create_close_ns\":%.1f,"
               "\"eventfd_wake_p50_ns\":%.0f,\"eventfd_wake_p99_ns\":%.0f,"
               "\"poll_1ms_p50_ns\":%.0f,\"poll_1ms_p99_ns\":%.0f,\"repetitions\":%d,"
               "\"iterations\":%zu}\n",
               clock, tk_ticks_per_second(), m[NOW], m[CGT], m[SPAN], m[FLOOR], ratio, disabled,
               m[EFD], wake_ok ? wake50 : -1, wake_ok ? wake99 : -1, poll50, poll99, reps, n);
    } else {
        char b[4][24];
        printf("clock: %s, %.3f GHz (medians of %d runs of %zu)\n", clock,
               tk_ticks_per_second() / 1e9, reps, n);
        printf("  %-34s %10s\n", "operation", "cost");
        printf("  %-34s %10s\n", "tk_now()", cli_fmt_ns(b[0], sizeof b[0], m[NOW]));
        printf("  %-34s %10s\n", "clock_gettime(CLOCK_MONOTONIC)", cli_fmt_ns(b[0], sizeof b[0], m[CGT]));
        printf("  %-34s %10s   %.2fx the floor\n", "recorded span (2 tk_now+tk_record)",
               cli_fmt_ns(b[0], sizeof b[0], m[SPAN]), ratio);
        printf("  %-34s %10s\n", "floor (2 reads + 32-byte store)", cli_fmt_ns(b[0], sizeof b[0], m[FLOOR]));
        printf("  %-34s %10s\n", "disabled tk_record (TK_DISABLE=1)",
               disabled >= 0 ? cli_fmt_ns(b[0], sizeof b[0], disabled) : "n/a");
        printf("  %-34s %10s\n", "eventfd() create+close", cli_fmt_ns(b[0], sizeof b[0], m[EFD]));
        if (wake_ok)
            printf("  %-34s %10s   p99 %s\n", "eventfd cross-thread wake",
                   cli_fmt_ns(b[1], sizeof b[1], wake50), cli_fmt_ns(b[2], sizeof b[2], wake99));
        printf("  %-34s %10s   p99 %s\n", "poll() 1 ms timeout, real delay",
               cli_fmt_ns(b[1], sizeof b[1], poll50), cli_fmt_ns(b[2], sizeof b[2], poll99));
    }
    free(floor_buf);
    remove_dir(d);
    return cli_finish("calibrate", CLI_OK);
}
