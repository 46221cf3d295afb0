/* safety_child.c — an instrumented program for test_safety: each mode provokes one failure the
 * library must survive (full filesystem, fork storm, full name table, unread pipes, bad TK_DIR) and
 * prints what it saw as "key=value" lines on stdout.
 *
 *     safety_child [--tmpfs SIZE [--fill]] MODE [ARGS]
 *       --tmpfs SIZE  run MODE in a private mount namespace, with TK_DIR on a fresh tmpfs of SIZE
 *                     bytes (suffix k/m); --fill first fills it up to 64 KiB. Prints the exit status
 *                     and the files left in TK_DIR afterwards. Exits 77 when the kernel refuses.
 *                     MODE may be "--exec PROGRAM ARGS": that program runs there instead.
 *       threads N     N threads, each registering names at its first call and recording spans and
 *                     points; prints tk_health and the header's counters
 *       init          tk_init(NULL): prints its code, whether recording is on and the path
 *       labels N R    registers N labels with the cached-label pattern, then R more points with a
 *                     label that failed; stderr is a pipe nobody reads
 *       timing N      N points with TK_TIMING=1 while stderr is a pipe nobody reads
 *       fullpipe      tk_init with a bad TK_RING_SIZE while stderr is an unread pipe filled up
 *       forks N       forks N children while threads record and register; each child records
 *       hold [fork]   records, prints path=, then waits for stdin to close; "fork" leaves a child
 *                     that holds the inherited descriptors and waits as well */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "format/segment.h"
#include <timekeeper.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints the health counters as the process sees them and as a collector reads them. */
static void print_health(void)
{
    tk_health_t hl;
    tk_health(&hl);
    printf("enabled=%d\n", tk_enabled());
    printf("dropped_no_ring=%llu\ndropped_no_space=%llu\ndropped_name_full=%llu\n"
           "names_refused=%llu\ntiming_dropped=%llu\ndropped_no_segment=%llu\n"
           "rings_no_space=%u\nflags=%u\n",
           (unsigned long long)hl.dropped_no_ring, (unsigned long long)hl.dropped_no_space,
           (unsigned long long)hl.dropped_name_full, (unsigned long long)hl.names_refused,
           (unsigned long long)hl.timing_dropped, (unsigned long long)hl.dropped_no_segment,
           hl.rings_no_space, hl.flags);
    const char *path = tk_segment_path();
    int fd = path[0] ? open(path, O_RDONLY) : -1;
    if (fd < 0)
        return;
    const tks_header *h = mmap(NULL, TKS_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED)
        return;
    printf("hdr_minor=%u\nhdr_features=%llu\nhdr_dropped_no_ring=%llu\nhdr_dropped_no_space=%llu\n"
           "hdr_rings_no_space=%u\nhdr_ring_count=%u\nhdr_names_refused=%llu\n"
           "hdr_dropped_name_full=%llu\nhdr_timing_dropped=%llu\n",
           h->minor_version, (unsigned long long)h->features,
           (unsigned long long)h->dropped_no_ring, (unsigned long long)h->health.dropped_no_space,
           h->health.rings_no_space, h->ring_count, (unsigned long long)h->health.names_refused,
           (unsigned long long)h->health.dropped_name_full,
           (unsigned long long)h->health.timing_dropped);
    munmap((void *)h, TKS_HEADER_SIZE);
}

/* ---- threads: first-call paths on a small filesystem ----------------------------------------- */

enum { THREAD_RECORDS = 2000 };
static pthread_barrier_t all_started; /* every thread holds its ring (or has none) at once */

static void *thread_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    char name[32];
    snprintf(name, sizeof name, "work-%d", i % 8);
    tk_timer_t *t = tk_timer(name); /* the first call of a thread: registration, ring claim */
    snprintf(name, sizeof name, "POINT_%d", i % 8);
    tk_label_t l = tk_label(name);
    for (int k = 0; k < THREAD_RECORDS; k++) {
        if (k == 1)
            pthread_barrier_wait(&all_started);
        uint64_t s = tk_now();
        tk_record(t, s, tk_now(), 0);
        tk_point(l, (uint64_t)i, (uint64_t)k, TK_ID_NONE, "bytes=4096,queue=17,shard=3,retry=0");
    }
    return NULL;
}

static int mode_threads(int n)
{
    pthread_t th[512];
    if (n > 512)
        n = 512;
    pthread_barrier_init(&all_started, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i) != 0)
            return 1;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    printf("threads=%d\nrecords_per_thread=%d\n", n, 2 * THREAD_RECORDS);
    print_health();
    return 0;
}

/* ---- an unread pipe on stderr ------------------------------------------------------------------ */

/* Makes stderr a pipe that nobody reads; returns its read end (to count what got through). */
static int stderr_unread_pipe(void)
{
    int p[2];
    if (pipe(p) != 0 || dup2(p[1], STDERR_FILENO) < 0)
        exit(3);
    close(p[1]);
    return p[0];
}

/* Reads everything in the pipe now (without waiting) and counts lines starting with prefix. */
static unsigned count_lines(int rfd, const char *prefix, unsigned *other)
{
    fcntl(rfd, F_SETFL, O_NONBLOCK);
    static char buf[1 << 20];
    size_t got = 0;
    ssize_t m;
    while (got < sizeof buf - 1 && (m = read(rfd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)m;
    buf[got] = '\0';
    unsigned n = 0;
    *other = 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            n++;
        else
            (*other)++;
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}

static int mode_labels(int n, int reps)
{
    int rfd = stderr_unread_pipe();
    tk_label_t good = tk_label("GOOD"); /* registered before the table fills */
    char name[32];
    int failed = 0;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "L%d", i);
        tk_label_t l = tk_label(name); /* the cached pattern: l stays 0 when it failed */
        if (!l)
            failed++;
        tk_point(l, 1, 2, 3, NULL);
    }
    /* the usual cached-label pattern with a label that failed: looked up again at every call */
    static tk_label_t cached;
    uint64_t best_fail = UINT64_MAX, best_ok = UINT64_MAX;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < reps; i++) {
            if (!cached)
                cached = tk_label("LATE_LABEL");
            tk_point(cached, 1, 2, 3, NULL);
        }
        uint64_t t1 = now_ns();
        for (int i = 0; i < reps; i++)
            tk_point(good, 1, 2, 3, NULL);
        uint64_t t2 = now_ns();
        if (t1 - t0 < best_fail)
            best_fail = t1 - t0;
        if (t2 - t1 < best_ok)
            best_ok = t2 - t1;
    }
    unsigned other;
    unsigned full_lines = count_lines(rfd, "timekeeper: the name table is full", &other);
    printf("labels=%d\nfailed=%d\nlate_points=%d\nfull_lines=%u\nother_lines=%u\n", n, failed,
           3 * reps, full_lines, other);
    printf("failed_point_ns=%.1f\nrecorded_point_ns=%.1f\n", (double)best_fail / reps,
           (double)best_ok / reps);
    print_health();
    return 0;
}

/* The library's own warning lines must not wait either: stderr is full before the first call. */
static int mode_fullpipe(void)
{
    int rfd = stderr_unread_pipe();
    int fl = fcntl(STDERR_FILENO, F_GETFL);
    fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
    static const char fill[4096];
    size_t filled = 0;
    while (write(STDERR_FILENO, fill, sizeof fill) > 0)
        filled += sizeof fill;
    while (write(STDERR_FILENO, fill, 1) > 0)
        filled++;
    fcntl(STDERR_FILENO, F_SETFL, fl); /* blocking again, as the program's stderr was */
    setenv("TK_RING_SIZE", "not-a-number", 1);
    int rc = tk_init(NULL);
    printf("filled=%zu\nrc=%d\n", filled, rc);
    (void)rfd;
    return 0;
}

static int mode_timing(int n)
{
    int rfd = stderr_unread_pipe();
    tk_label_t l = tk_label("PY_BEFORE_SELECT");
    for (int i = 0; i < n; i++)
        tk_point(l, (uint64_t)i, 7, TK_ID_NONE, "fd=5,n=1");
    unsigned other, lines = count_lines(rfd, "TIMING,", &other);
    printf("points=%d\ntiming_lines=%u\n", n, lines);
    print_health();
    return 0;
}

/* ---- forks while other threads record and register ------------------------------------------- */

static int stop_threads;

static void *busy_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    char name[32];
    tk_timer_t *t = tk_timer("busy");
    for (unsigned k = 0; !__atomic_load_n(&stop_threads, __ATOMIC_RELAXED); k++) {
        uint64_t s = tk_now();
        tk_record(t, s, tk_now(), 0);
        if (k % 16 == 0) { /* the registry lock, taken over and over */
            snprintf(name, sizeof name, "busy-%d-%u", i, k % 64);
            tk_record(tk_timer(name), s, tk_now(), 0);
        }
        if (k % 256 == 0)
            (void)tk_ticks_to_ns(s);
    }
    return NULL;
}

static int mode_forks(int n)
{
    tk_timer_t *t = tk_timer("parent");
    tk_record(t, tk_now(), tk_now(), 0);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, busy_main, (void *)(intptr_t)i);
    int finished = 0, hung = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* the child's first record makes its own segment (registry and calibration locks) */
            tk_timer_t *c = tk_timer("child");
            tk_record(c, tk_now(), tk_now(), 0);
            tk_point(tk_label("CHILD_POINT"), 1, 2, 3, "x=1");
            int ok = tk_enabled() && tk_segment_path()[0];
            if (tk_segment_path()[0])
                unlink(tk_segment_path());
            _exit(ok ? 0 : 2);
        }
        if (pid < 0) {
            failed++;
            continue;
        }
        uint64_t deadline = now_ns() + 5000000000u;
        int st = 0;
        pid_t w;
        while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_ns() < deadline) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        if (w == 0) {
            hung++;
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            finished++;
        } else {
            failed++;
        }
    }
    __atomic_store_n(&stop_threads, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    printf("forked=%d\nfinished=%d\nhung=%d\nfailed=%d\n", n, finished, hung, failed);
    return 0;
}

/* ---- hold: a live producer until stdin closes ------------------------------------------------- */

/* Returns when stdin reaches its end (an interrupted read is read again). */
static void wait_stdin_closed(void)
{
    char c;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r > 0 || (r < 0 && errno == EINTR))
            continue;
        return;
    }
}

static int mode_hold(int with_child)
{
    tk_timer_t *t = tk_timer("hold");
    tk_record(t, tk_now(), tk_now(), 0);
    printf("path=%s\n", tk_segment_path());
    if (with_child) {
        int ready[2];
        if (pipe(ready) != 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) { /* keeps every inherited descriptor; never touches the library */
            /* fork's child handlers have run: tell the parent, so the test looks only now */
            close(ready[0]);
            if (write(ready[1], "r", 1) != 1)
                _exit(1);
            close(ready[1]);
            wait_stdin_closed();
            _exit(0);
        }
        close(ready[1]);
        char r;
        if (pid < 0 || read(ready[0], &r, 1) != 1)
            return 1;
        close(ready[0]);
        printf("child=%d\n", (int)pid);
    }
    fflush(stdout);
    wait_stdin_closed();
    return 0;
}

/* ---- a private tmpfs ---------------------------------------------------------------------------- */

static int run_in_tmpfs(const char *size, int fill, const char *exe, char **argv)
{
    if (unshare(CLONE_NEWNS) != 0) {
        printf("SKIP: unshare(CLONE_NEWNS): %s\n", strerror(errno));
        return 77;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("SKIP: making mounts private: %s\n", strerror(errno));
        return 77;
    }
    char dir[] = "/tmp/tk-tmpfs-XXXXXX";
    if (!mkdtemp(dir))
        return 3;
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=1777", size);
    if (mount("tk-test", dir, "tmpfs", 0, opts) != 0) {
        printf("SKIP: mount -t tmpfs -o %s: %s\n", opts, strerror(errno));
        rmdir(dir);
        return 77;
    }
    if (fill) { /* fills it, then gives back 64 KiB: less than a segment header and name table */
        char path[64];
        snprintf(path, sizeof path, "%s/filler", dir);
        int fd = open(path, O_WRONLY | O_CREAT, 0600);
        static char block[4096];
        off_t total = 0;
        while (fd >= 0 && write(fd, block, sizeof block) == (ssize_t)sizeof block)
            total += (off_t)sizeof block;
        if (fd >= 0) {
            if (ftruncate(fd, total > 65536 ? total - 65536 : 0) != 0)
                return 3;
            close(fd);
        }
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TK_DIR", dir, 1);
        execvp(exe, argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("signal=%d\n", WTERMSIG(st));
    else
        printf("exit=%d\n", WEXITSTATUS(st));
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned tmp = 0, seg = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            tmp++;
        else if (strncmp(e->d_name, TKS_FILE_PREFIX, strlen(TKS_FILE_PREFIX)) == 0)
            seg++;
    }
    if (d)
        closedir(d);
    printf("tmp_files=%u\nsegments=%u\n", tmp, seg);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "--tmpfs") == 0) {
        const char *size = argv[2];
        int fill = argc >= 4 && strcmp(argv[3], "--fill") == 0;
        char **rest = argv + 3 + fill;
        if (rest[0] && strcmp(rest[0], "--exec") == 0 && rest[1])
            return run_in_tmpfs(size, fill, rest[1], rest + 1);
        rest[-1] = argv[0]; /* argv for the re-executed program: argv[0] MODE ARGS */
        return run_in_tmpfs(size, fill, "/proc/self/exe", rest - 1);
    }
    const char *mode = argc > 1 ? argv[1] : "";
    int a = argc > 2 ? atoi(argv[2]) : 0, b = argc > 3 ? atoi(argv[3]) : 0;
    if (strcmp(mode, "threads") == 0)
        return mode_threads(a);
    if (strcmp(mode, "init") == 0) {
        int rc = tk_init(NULL);
        printf("rc=%d\nenabled=%d\npath=%s\n", rc, tk_enabled(), tk_segment_path());
        return 0;
    }
    if (strcmp(mode, "labels") == 0)
        return mode_labels(a, b);
    if (strcmp(mode, "timing") == 0)
        return mode_timing(a);
    if (strcmp(mode, "fullpipe") == 0)
        return mode_fullpipe();
    if (strcmp(mode, "forks") == 0)
        return mode_forks(a);
    if (strcmp(mode, "hold") == 0)
        return mode_hold(argc > 2 && strcmp(argv[2], "fork") == 0);
    fprintf(stderr, "usage: safety_child [--tmpfs SIZE [--fill]] threads N | init | labels N R | "
                    "timing N | forks N | hold [fork]\n");
    return 2;
}
