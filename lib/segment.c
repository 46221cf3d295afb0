/* segment.c — the process's shared-memory segment: creation from the environment, the calibration
 * thread, ring claim and release, normal exit and fork. Everything here is off the hot path. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* counts kept while the process has no segment (TK_DISABLE=1 with TK_TIMING=1, a failed start) */
static tks_health local_health;

tk__state tk__g = {.lock = PTHREAD_MUTEX_INITIALIZER, .timing_fd = -1, .fd = -1,
                   .health = &local_health, .ns_per_tick_guess = 1.0};
int tk__enabled;
__thread tk__ring *tk__tls_ring;

double tk__estimate_ns_per_tick(int source);

static pthread_key_t ring_key;
/* A thread that found no free ring, or no space for a new one, retries only after some ring was
 * released (a released ring is reserved already); until then each record costs one relaxed add. */
static __thread uint64_t noring_gen = UINT64_MAX;
static __thread int noring_nospace; /* why the last claim failed: 1 no space, 0 no free ring */

int tk__health_flag_once(uint32_t flag)
{
    return !(__atomic_fetch_or(&tk__g.health->flags, flag, __ATOMIC_RELAXED) & flag);
}
static int calib_stop; /* atomic: set at exit, read by the calibration thread */

/* ---- environment --------------------------------------------------------------------------------- */

/* Parses an unsigned environment value in [lo, hi]; on a bad value says so once and returns def. */
static uint32_t env_u32(const char *name, uint32_t def, uint32_t lo, uint32_t hi, int pow2)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || *s == '-' || v < lo || v > hi || (pow2 && (v & (v - 1)))) {
        tk__warn("timekeeper: %s='%s' is not %s in [%u, %u]; using %u\n", name, s,
                pow2 ? "a power of two" : "a number", lo, hi, def);
        return def;
    }
    return (uint32_t)v;
}

/* Reads a boolean environment flag: unset, empty, 0/no/false/off (any case) are 0; 1/yes/true/on
 * are 1; anything else is reported once and taken as 0. */
static int env_flag(const char *name)
{
    static const char *const no[] = {"0", "no", "false", "off"}, *const yes[] = {"1", "yes", "true", "on"};
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (strcasecmp(s, no[i]) == 0)
            return 0;
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
    }
    tk__warn("timekeeper: %s='%s' is not a boolean (1/0, yes/no, true/false, on/off); using 0\n",
            name, s);
    return 0;
}

/* The segment directory: opts->dir, else TK_DIR, else /dev/shm. A TK_DIR that is set but empty is
 * refused (it would silently mean /dev/shm): says so once and returns NULL (recording disabled). */
static const char *segment_dir(const tk_options *o)
{
    if (o && o->dir && *o->dir)
        return o->dir;
    const char *env = getenv("TK_DIR");
    if (!env)
        return "/dev/shm";
    if (!*env) {
        tk__warn("timekeeper: TK_DIR is set but empty; recording is disabled "
                 "(unset it to use /dev/shm)\n");
        return NULL;
    }
    return env;
}

/* ---- calibration thread ---------------------------------------------------------------------- */

static void *calibration_main(void *arg)
{
    tks_header *h = arg;
    /* samples at 10, 30, 100, 300 ms and 1 s after start, then every second: the rate is known to
     * a few ppm within 10 ms (in-process conversion stays within 1 µs), then drift is tracked */
    static const long first_ns[] = {10000000L, 20000000L, 70000000L, 200000000L, 700000000L};
    unsigned step = 0;
    while (!__atomic_load_n(&calib_stop, __ATOMIC_RELAXED)) {
        long ns = step < 5 ? first_ns[step++] : 1000000000L;
        struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        }
        if (__atomic_load_n(&calib_stop, __ATOMIC_RELAXED) || tk__g.hdr != h)
            break;
        tk__calibrate_sample(h);
    }
    return NULL;
}

static void start_calibration_thread(tks_header *h)
{
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits: it never takes a signal */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&th, &attr, calibration_main, h) != 0)
        tk__warn("timekeeper: cannot start the calibration thread; long runs may drift\n");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- segment creation ------------------------------------------------------------------------ */

static uint64_t proc_starttime(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may contain spaces and ')' */
    if (!p)
        return 0;
    /* each space after ")" starts the next field, from field 3; starttime is field 22 */
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void read_cmdline(char *out, size_t cap, char *name, size_t namecap)
{
    out[0] = '\0';
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, out, cap - 1);
        close(fd);
        if (n < 0)
            n = 0;
        out[n] = '\0';
        for (ssize_t i = 0; i + 1 < n; i++)
            if (out[i] == '\0')
                out[i] = ' ';
    }
    const char *comm = program_invocation_short_name;
    snprintf(name, namecap, "%s", comm ? comm : "?");
}

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

/* Checks the directory segments go into: refuses one that another user could swap files in
 * (group/world-writable without the sticky bit) or that belongs to another user (root's, such as
 * /dev/shm with mode 1777, is fine). Returns 0 or TK_ESEGMENT, after one line on stderr. */
static int dir_check(int dfd, const char *dir)
{
    struct stat st;
    if (fstat(dfd, &st) != 0) {
        tk__warn("timekeeper: cannot stat %s: %s; recording disabled\n", dir, strerror(errno));
        return TK_ESEGMENT;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
        tk__warn("timekeeper: %s is writable by others and not sticky (mode %04o); "
                "recording disabled\n", dir, (unsigned)(st.st_mode & 07777));
        return TK_ESEGMENT;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        tk__warn("timekeeper: %s belongs to uid %u, not to this user (%u); "
                "recording disabled\n", dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return TK_ESEGMENT;
    }
    return 0;
}

/* Takes the life lock: an open-file-description write lock on the whole file, held until the
 * descriptor closes (at death, or in a forked child, which closes its copy at once). */
static int life_lock(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(fd, F_OFD_SETLK, &fl);
}

/* Creates and maps the segment. Called with tk__g.lock held. Returns 0 or TK_ESEGMENT. The header
 * and the name table are reserved on the filesystem (posix_fallocate) before anything is written,
 * so a full filesystem fails here, not with SIGBUS later; rings are reserved when claimed. */
static int segment_create(int clock_source)
{
    const uint32_t cap = tk__g.ring_capacity, rings = tk__g.max_rings, names = tk__g.max_names;
    const size_t counters_off = TKS_RING_HEADER_SIZE;
    const size_t slots_off = round_up(counters_off + (size_t)names * 8u, 64);
    const size_t stride = round_up(slots_off + (size_t)cap * TKS_RECORD_SIZE, 4096);
    const size_t names_off = TKS_HEADER_SIZE;
    const size_t rings_off = round_up(names_off + (size_t)names * TKS_NAME_ENTRY_SIZE, 4096);
    const size_t size = rings_off + (size_t)rings * stride;

    /* The file is filled under a hidden temporary name and renamed into place, so a collector
     * never sees a half-written header. Names are relative to the directory opened once. */
    char name[128], tmp[128];
    uint64_t real = tk__real_ns();
    snprintf(name, sizeof name, TKS_FILE_PREFIX "%d-%llu" TKS_FILE_SUFFIX, (int)getpid(),
             (unsigned long long)real);
    snprintf(tmp, sizeof tmp, ".tmp-" TKS_FILE_PREFIX "%d-%llu", (int)getpid(),
             (unsigned long long)real);
    tk__g.path[0] = '\0';
    if ((size_t)snprintf(tk__g.path, sizeof tk__g.path, "%s/%s", tk__g.dir, name) >=
        sizeof tk__g.path) { /* tk__g.dir is checked shorter at init; this can't happen */
        tk__g.path[0] = '\0';
        return TK_ENAMETOOLONG;
    }
    void *mem = MAP_FAILED;
    int fd = -1, created = 0, rc = TK_ESEGMENT, err;
    int dfd = open(tk__g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        tk__warn("timekeeper: cannot open %s: %s; recording disabled\n", tk__g.dir,
                strerror(errno));
        goto err;
    }
    if (dir_check(dfd, tk__g.dir) != 0)
        goto err;
    fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        tk__warn("timekeeper: cannot create a segment in %s: %s; recording disabled\n",
                tk__g.dir, strerror(errno));
        goto err;
    }
    created = 1;
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0 || life_lock(fd) != 0 ||
        (mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        tk__warn("timekeeper: cannot size, lock or map %s/%s (%zu bytes): %s; "
                "recording disabled\n", tk__g.dir, tmp, size, strerror(errno));
        goto err;
    }
    if ((err = posix_fallocate(fd, 0, (off_t)rings_off)) != 0) {
        tk__warn("timekeeper: no space for a segment header in %s (%zu bytes): %s; "
                "recording disabled\n", tk__g.dir, rings_off, strerror(err));
        goto err;
    }

    tks_header *h = mem;
    memcpy(h->magic, TKS_MAGIC, 8);
    h->version = TKS_VERSION;
    h->minor_version = TKS_MINOR_VERSION;
    h->features = TKS_FEATURE_LIFE_LOCK;
    h->header_size = TKS_HEADER_SIZE;
    h->segment_size = size;
    h->pid = (uint32_t)getpid();
    h->uid = (uint32_t)getuid();
    h->clock_source = (uint32_t)clock_source;
    h->record_size = TKS_RECORD_SIZE;
    h->max_names = names;
    h->max_rings = rings;
    h->ring_capacity = cap;
    h->names_offset = names_off;
    h->rings_offset = rings_off;
    h->ring_stride = stride;
    h->counters_offset = counters_off;
    h->slots_offset = slots_off;
    h->proc_starttime = proc_starttime();
    read_cmdline(h->cmdline, sizeof h->cmdline, h->process, sizeof h->process);
    tk__calibrate_sample(h); /* sample 0: never overwritten */
    h->start_ticks = h->calib[0].ticks;
    h->start_mono_ns = h->calib[0].mono_ns;
    h->start_real_ns = h->calib[0].real_ns;

    tk__g.rings = calloc(rings, sizeof *tk__g.rings);
    if (!tk__g.rings) {
        tk__warn("timekeeper: out of memory; recording disabled\n");
        goto err;
    }
    for (uint32_t i = 0; i < rings; i++) {
        char *base = (char *)mem + rings_off + (size_t)i * stride;
        tk__g.rings[i] = (tk__ring){(tks_ring_header *)base, (uint64_t *)(base + counters_off),
                                    (tks_record *)(base + slots_off), cap - 1u, 0, i};
    }
    /* the names registered so far (name 0 is "(invalid)", which absorbs the records of failed
     * registrations); tk__name_register keeps the two tables in step from now on */
    tks_name *table = (tks_name *)((char *)mem + names_off);
    uint32_t n = tk__names_copy(table, names);
    __atomic_store_n(&h->name_count, n, __ATOMIC_RELEASE);
    __atomic_store_n(&h->state, (uint32_t)TKS_STATE_LIVE, __ATOMIC_RELEASE);
    if (renameat(dfd, tmp, dfd, name) != 0) {
        tk__warn("timekeeper: cannot publish %s: %s; recording disabled\n", tk__g.path,
                strerror(errno));
        goto err;
    }
    close(dfd);
    tk__g.hdr = h;
    tk__g.size = size;
    tk__g.fd = fd;
    tk__g.health = &h->health;
    return 0;

err:
    free(tk__g.rings);
    tk__g.rings = NULL;
    if (mem != MAP_FAILED)
        munmap(mem, size);
    if (fd >= 0)
        close(fd);
    if (created)
        unlinkat(dfd, tmp, 0);
    if (dfd >= 0)
        close(dfd);
    tk__g.path[0] = '\0';
    return rc;
}

/* Reserves the file range of ring r (lock held). Returns 0, or an errno value when the filesystem
 * has no room: the ring is then not used (its pages would raise SIGBUS when touched). */
static int ring_reserve(const tk__ring *r)
{
    const char *base = (const char *)tk__g.hdr;
    off_t off = (off_t)((const char *)r->hdr - base);
    return posix_fallocate(tk__g.fd, off, (off_t)tk__g.hdr->ring_stride);
}

/* ---- exit, thread exit, fork ------------------------------------------------------------------ */

static void on_exit_mark(void)
{
    tks_header *h = tk__g.hdr;
    if (!h || h->pid != (uint32_t)getpid())
        return;
    __atomic_store_n(&calib_stop, 1, __ATOMIC_RELAXED);
    tk__calibrate_sample(h); /* a last sample covers records made since the previous one */
    __atomic_store_n(&h->exit_mono_ns, tk__mono_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&h->state, (uint32_t)TKS_STATE_EXITED, __ATOMIC_RELEASE);
}

static void ring_release(tk__ring *r)
{
    pthread_mutex_lock(&tk__g.lock);
    __atomic_store_n(&r->hdr->state, (uint32_t)TKS_RING_RELEASED, __ATOMIC_RELEASE);
    __atomic_fetch_add(&tk__g.release_gen, 1, __ATOMIC_RELAXED); /* read without the lock by claims */
    pthread_mutex_unlock(&tk__g.lock);
}

static void on_thread_exit(void *arg)
{
    tk__ring *r = arg;
    if (r && tk__tls_ring == r) {
        tk__tls_ring = NULL;
        ring_release(r);
    }
}

void tk_thread_exit(void)
{
    tk__ring *r = tk__tls_ring;
    if (!r)
        return;
    tk__tls_ring = NULL;
    pthread_setspecific(ring_key, NULL);
    ring_release(r);
}

/* In a forked child the parent's segment must not be written. The child gets a segment of its own
 * with the same names (so cached timer pointers and labels stay valid) and empty rings, created
 * lazily at its first registration or record: a child that only execs another program costs
 * nothing and leaves no segment. Until then its view of the parent's segment is never written. */
static int fork_pending;

/* fork(): every lock the library owns (the registry lock, then the calibration lock, in the order
 * segment creation takes them) is held across fork by the forking thread, so the child starts with
 * both free and consistent, whatever other threads were doing. */
static void on_fork_prepare(void)
{
    pthread_mutex_lock(&tk__g.lock);
    tk__calib_lock_acquire();
}

static void on_fork_parent(void)
{
    tk__calib_lock_release();
    pthread_mutex_unlock(&tk__g.lock);
}

static void on_fork_child(void)
{
    tk__tls_ring = NULL;
    noring_gen = UINT64_MAX;
    tk__calib_lock_release();
    pthread_mutex_unlock(&tk__g.lock);
    /* The child must not keep the parent's life lock alive: the lock belongs to the open file
     * description, which the child shares through its copy of the descriptor and of the mapping
     * until it drops both. Its view of the parent's segment goes now; its own comes lazily. */
    if (tk__g.fd >= 0) {
        close(tk__g.fd);
        tk__g.fd = -1;
    }
    tk__g.health = &local_health;
    memset(&local_health, 0, sizeof local_health);
    if (tk__g.hdr) {
        munmap(tk__g.hdr, tk__g.size);
        tk__g.hdr = NULL;
        free(tk__g.rings);
        tk__g.rings = NULL;
        if (tk__enabled)
            fork_pending = 1; /* tk__enabled stays 1: the next record comes to fork_reinit */
    }
}

/* Called with tk__g.lock held. */
static void fork_reinit_locked(void)
{
    fork_pending = 0;
    tk__enabled = 0;
    __atomic_store_n(&tk__g.release_gen, 0, __ATOMIC_RELAXED);
    if (segment_create(tk__clock_source) == 0) { /* copies the names, same ids */
        __atomic_store_n(&calib_stop, 0, __ATOMIC_RELAXED);
        start_calibration_thread(tk__g.hdr);
        tk__enabled = 1;
    } else {
        __atomic_store_n(&tk__g.start_failed, 1, __ATOMIC_RELAXED);
    }
}

static void fork_reinit(void)
{
    pthread_mutex_lock(&tk__g.lock);
    if (fork_pending)
        fork_reinit_locked();
    pthread_mutex_unlock(&tk__g.lock);
}

/* ---- init -------------------------------------------------------------------------------------- */

static int init_locked(const tk_options *o)
{
    static int atfork_done;
    if (!atfork_done) { /* every lock survives fork, whether or not a segment exists */
        pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
        atfork_done = 1;
    }
    const char *dir = segment_dir(o); /* NULL: TK_DIR set but empty (refused, said once) */
    /* the directory, "/" and the longest file name must fit in a path: refuse, never cut */
    const size_t name_max = sizeof TKS_FILE_PREFIX + 10 + 1 + 20 + sizeof TKS_FILE_SUFFIX;
    int dir_rc = 0;
    if (!dir) {
        tk__g.dir[0] = '\0';
    } else if (strlen(dir) + 1 + name_max >= sizeof tk__g.path) {
        tk__warn("timekeeper: the segment directory (%zu bytes, from %s) is too long for a "
                "path; recording disabled\n", strlen(dir), o && o->dir ? "tk_options.dir" : "TK_DIR");
        tk__g.dir[0] = '\0';
        dir_rc = TK_ENAMETOOLONG;
    } else {
        memcpy(tk__g.dir, dir, strlen(dir) + 1);
    }
    tk__g.ring_capacity = o && o->ring_size ? o->ring_size
                          : env_u32("TK_RING_SIZE", TK_DEFAULT_RING_SIZE, TKS_RING_CAP_MIN,
                                    TKS_RING_CAP_MAX, 1);
    tk__g.max_rings = o && o->max_threads
                          ? o->max_threads
                          : env_u32("TK_MAX_THREADS", TK_DEFAULT_MAX_THREADS, 1, TKS_MAX_RINGS_LIMIT, 0);
    tk__g.max_names = TK_MAX_NAMES;
    int disable = (o && o->disable) || env_flag("TK_DISABLE") || !dir;
    int source = o && o->clock ? o->clock : tk__clock_detect(getenv("TK_CLOCK"));
    tk__g.ns_per_tick_guess = tk__estimate_ns_per_tick(source);

    if (env_flag("TK_TIMING"))
        tk__timing_open();

    int rc = dir_rc;
    if (!disable && !dir_rc) {
        rc = segment_create(source);
        if (rc == 0) {
            pthread_key_create(&ring_key, on_thread_exit);
            atexit(on_exit_mark);
            start_calibration_thread(tk__g.hdr);
            tk__enabled = 1;
        }
    }
    __atomic_store_n(&tk__g.start_failed, !disable && rc != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&tk__clock_source, source, __ATOMIC_RELEASE);
    __atomic_store_n(&tk__g.initialized, 1, __ATOMIC_RELEASE);
    return rc;
}

static int validate_options(const tk_options *o)
{
    if (!o)
        return 0;
    if (o->ring_size && (o->ring_size < TKS_RING_CAP_MIN || o->ring_size > TKS_RING_CAP_MAX ||
                         (o->ring_size & (o->ring_size - 1))))
        return TK_EINVAL;
    if (o->max_threads > TKS_MAX_RINGS_LIMIT)
        return TK_EINVAL;
    if (o->clock && o->clock != TK_CLOCK_MONOTONIC && o->clock != tk__clock_detect(NULL))
        return TK_EINVAL; /* only the detected counter or the fallback can be asked for */
    return 0;
}

int tk_init(const tk_options *opts)
{
    int rc = validate_options(opts);
    if (rc)
        return rc;
    pthread_mutex_lock(&tk__g.lock);
    rc = tk__g.initialized ? TK_EALREADY : init_locked(opts);
    pthread_mutex_unlock(&tk__g.lock);
    return rc;
}

int tk__ensure_init(void)
{
    if (TK_UNLIKELY(fork_pending))
        fork_reinit();
    if (TK_LIKELY(__atomic_load_n(&tk__g.initialized, __ATOMIC_ACQUIRE)))
        return tk__enabled ? 0 : TK_EDISABLED;
    pthread_mutex_lock(&tk__g.lock);
    if (!tk__g.initialized)
        init_locked(NULL);
    pthread_mutex_unlock(&tk__g.lock);
    return tk__enabled ? 0 : TK_EDISABLED;
}

int tk_enabled(void)
{
    tk__ensure_init();
    return tk__enabled;
}

const char *tk_segment_path(void)
{
    tk__ensure_init();
    return tk__g.path;
}

/* ---- rings ----------------------------------------------------------------------------------- */

static void ring_label(tk__ring *r)
{
    tks_ring_header *rh = r->hdr;
    rh->tid = (uint32_t)syscall(SYS_gettid);
    char name[16] = {0};
    if (pthread_getname_np(pthread_self(), name, sizeof name) != 0)
        name[0] = '\0';
    memcpy(rh->thread_name, name, sizeof name);
    rh->thread_name[15] = '\0';
}


static void drop_count(tks_header *h, int nospace)
{
    if (nospace)
        TK__HEALTH_ADD(dropped_no_space, 1);
    else
        __atomic_fetch_add(&h->dropped_no_ring, 1, __ATOMIC_RELAXED);
}

tk__ring *tk__ring_claim(void)
{
    if (TK_UNLIKELY(fork_pending))
        fork_reinit();
    tks_header *h = tk__g.hdr;
    if (!h)
        return NULL;
    if (noring_gen == __atomic_load_n(&tk__g.release_gen, __ATOMIC_RELAXED)) {
        drop_count(h, noring_nospace);
        return NULL;
    }
    pthread_mutex_lock(&tk__g.lock);
    tk__ring *r = NULL;
    int nospace = 0;
    uint32_t used = h->ring_count;
    if (used < tk__g.max_rings) {
        int err = ring_reserve(&tk__g.rings[used]);
        if (err == 0) {
            r = &tk__g.rings[used];
            __atomic_store_n(&h->ring_count, used + 1, __ATOMIC_RELEASE);
        } else {
            nospace = 1;
            __atomic_fetch_add(&h->health.rings_no_space, 1, __ATOMIC_RELAXED);
            if (tk__health_flag_once(TKS_HEALTH_NO_SPACE))
                tk__warn("timekeeper: no space in %s for a thread's ring (%llu bytes): %s; "
                        "that thread's records are dropped and counted\n", tk__g.dir,
                        (unsigned long long)h->ring_stride, strerror(err));
        }
    }
    /* else reuse a released ring: its head goes on, so a reader still counts exactly, and its
     * space is reserved already */
    for (uint32_t i = 0; i < used && !r; i++)
        if (__atomic_load_n(&tk__g.rings[i].hdr->state, __ATOMIC_ACQUIRE) == TKS_RING_RELEASED)
            r = &tk__g.rings[i];
    if (r) {
        ring_label(r);
        r->hdr->owner_since = r->head;
        r->hdr->owner_gen++;
        __atomic_store_n(&r->hdr->state, (uint32_t)TKS_RING_OWNED, __ATOMIC_RELEASE);
        tk__tls_ring = r;
        pthread_setspecific(ring_key, r);
    } else {
        noring_gen = tk__g.release_gen;
        noring_nospace = nospace;
        drop_count(h, nospace);
    }
    pthread_mutex_unlock(&tk__g.lock);
    return r;
}

void tk_thread_name(const char *name)
{
    if (name)
        pthread_setname_np(pthread_self(), name[0] ? name : "");
    if (tk__tls_ring)
        ring_label(tk__tls_ring);
}

void tk_health(tk_health_t *out)
{
    const tks_health *hl = tk__g.health;
    const tks_header *h = tk__g.hdr;
    out->dropped_no_ring = h ? __atomic_load_n(&h->dropped_no_ring, __ATOMIC_RELAXED) : 0;
    out->dropped_no_space = __atomic_load_n(&hl->dropped_no_space, __ATOMIC_RELAXED);
    out->dropped_name_full = __atomic_load_n(&hl->dropped_name_full, __ATOMIC_RELAXED);
    out->names_refused = __atomic_load_n(&hl->names_refused, __ATOMIC_RELAXED);
    out->timing_dropped = __atomic_load_n(&hl->timing_dropped, __ATOMIC_RELAXED);
    out->dropped_no_segment = __atomic_load_n(&tk__g.dropped_no_segment, __ATOMIC_RELAXED);
    out->rings_no_space = __atomic_load_n(&hl->rings_no_space, __ATOMIC_RELAXED);
    out->flags = __atomic_load_n(&hl->flags, __ATOMIC_RELAXED);
}
