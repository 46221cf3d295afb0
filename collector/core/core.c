/* core/core.c — finds segments (inotify and rescans), maps them read-only, validates a private
 * copy of each header once, drains rings with exact loss accounting and emits typed events to
 * the subscribed consumers. It never aggregates and never deletes a segment. */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "core/decode.h"
#include "core/liveness.h"
#include "core/proc.h"
#include "core/validate.h"
#include "format/convert.h"

#define CHUNK_RECORDS 4096u /* records copied out of a ring at a time (128 KiB) */
#define NEW_FILE_GRACE_NS 2000000000ull

/* A point held back for time-ordered delivery. */
typedef struct held_point {
    tkc_point pt;        /* pt.context points into ctx once released */
    const tkc_proc *proc;
    uint64_t order;      /* arrival order: keeps the sort stable */
    char ctx[80];
} held_point;

/* A segment that failed a check: skipped until `retry` (CLOCK_MONOTONIC ns), then checked again
 * (a file being rewritten, a tmpfs that was full); told on stderr once. */
typedef struct seen_file {
    dev_t dev;
    ino_t ino;
    uint64_t retry;
} seen_file;

#define BAD_RETRY_NS 10000000000ull

struct tkc_core {
    tkc_core_options opt;
    char *dir;
    int inotify_fd;
    cproc **procs;
    size_t nprocs, capprocs;
    uint64_t next_key;
    seen_file *bad;
    size_t nbad, capbad;
    tkc_consumer cons[TKC_MAX_CONSUMERS];
    size_t ncons;
    int ordered;
    held_point *held;
    size_t nheld, capheld;
    uint64_t held_seq;
    tks_record *buf;
    uint64_t *counter_buf;
    tkc_span *spans;     /* CHUNK_RECORDS spans being batched for the consumers */
    size_t nspans;
    const tkc_proc *spans_proc;
    double own_ns_per_tick; /* this process's own estimate of the shared counter, 0: not yet */
    uid_t uid;
    tks_header *hdr_copy;   /* where attach() copies a header to validate and use it */
    uint64_t retry_ns;      /* a segment that failed a check is looked at again after this */
};

struct tkc_decode_ctx {
    tkc_core *c;
    cproc *p;
    uint32_t ring;
};

uint64_t tkc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- event delivery ---------------------------------------------------------------------------- */

/* Hands the batched spans to the consumers (before any other event, so order is kept). */
static void spans_flush(tkc_core *c)
{
    if (!c->nspans)
        return;
    for (size_t i = 0; i < c->ncons; i++)
        if (c->cons[i].spans)
            c->cons[i].spans(c->cons[i].ctx, c->spans_proc, c->spans, c->nspans);
    c->nspans = 0;
}

#define EMIT(c, cb, ...)                                                    \
    do {                                                                    \
        spans_flush(c);                                                     \
        for (size_t ei_ = 0; ei_ < (c)->ncons; ei_++)                       \
            if ((c)->cons[ei_].cb)                                          \
                (c)->cons[ei_].cb((c)->cons[ei_].ctx, __VA_ARGS__);         \
    } while (0)

static void emit_loss(tkc_core *c, cproc *p, uint32_t name, uint32_t ring, tkc_loss_reason why,
                      int64_t n)
{
    if (n == 0)
        return;
    uint64_t *total = &p->lost[why];
    *total = n < 0 && 0 - (uint64_t)n > *total ? 0 : *total + (uint64_t)n; /* wraps as intended */
    tkc_loss l = {name, ring, why, n};
    EMIT(c, loss, &p->pub, &l);
}

/* ---- lifetime --------------------------------------------------------------------------------- */

int tkc_core_open(const tkc_core_options *opts, tkc_core **out)
{
    tkc_core *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (opts)
        c->opt = *opts;
    const char *dir = c->opt.dir ? c->opt.dir : getenv("TK_DIR");
    if (!dir || !*dir)
        dir = "/dev/shm";
    c->inotify_fd = -1;
    if (strlen(dir) >= PATH_MAX - 64) {
        free(c);
        return -ENAMETOOLONG;
    }
    c->dir = strdup(dir);
    c->opt.dir = c->dir;
    c->buf = malloc(CHUNK_RECORDS * sizeof *c->buf);
    c->counter_buf = malloc(TKS_MAX_NAMES_LIMIT * sizeof *c->counter_buf);
    c->spans = malloc(CHUNK_RECORDS * sizeof *c->spans);
    c->hdr_copy = malloc(sizeof *c->hdr_copy);
    if (!c->dir || !c->buf || !c->counter_buf || !c->spans || !c->hdr_copy) {
        tkc_core_close(c);
        return -ENOMEM;
    }
    c->uid = geteuid();
    c->retry_ns = c->opt.retry_ns ? c->opt.retry_ns : BAD_RETRY_NS;
    c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->inotify_fd >= 0 &&
        inotify_add_watch(c->inotify_fd, c->dir, IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
        close(c->inotify_fd);
        c->inotify_fd = -1;
    }
    segment_guard_install();
    *out = c;
    return 0;
}

static void cproc_free(cproc *p)
{
    if (!p)
        return;
    if (p->mem)
        munmap((void *)p->mem, p->size);
    if (p->fd >= 0)
        close(p->fd);
    for (uint32_t i = 0; p->rings && i < p->max_rings; i++)
        free(p->rings[i].names);
    free(p->rings);
    free(p->names);
    free(p->kinds);
    free(p->last_ticks);
    free(p->path);
    free(p);
}

void tkc_core_close(tkc_core *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nprocs; i++) {
        EMIT(c, proc_gone, &c->procs[i]->pub);
        cproc_free(c->procs[i]);
    }
    if (c->inotify_fd >= 0)
        close(c->inotify_fd);
    free(c->procs);
    free(c->held);
    free(c->bad);
    free(c->buf);
    free(c->counter_buf);
    free(c->spans);
    free(c->hdr_copy);
    free(c->dir);
    free(c);
}

int tkc_core_subscribe(tkc_core *c, const tkc_consumer *cons)
{
    if (c->ncons == TKC_MAX_CONSUMERS)
        return -ENOSPC;
    c->cons[c->ncons++] = *cons;
    for (size_t i = 0; i < c->nprocs; i++) {
        if (cons->proc_appeared)
            cons->proc_appeared(cons->ctx, &c->procs[i]->pub);
        if (cons->names && c->procs[i]->pub.names_known)
            cons->names(cons->ctx, &c->procs[i]->pub, 0, c->procs[i]->pub.names_known);
    }
    return 0;
}

const char *tkc_core_dir(const tkc_core *c) { return c->dir; }
int tkc_core_watch_fd(const tkc_core *c) { return c->inotify_fd; }

int tkc_core_check_dir(const tkc_core *c)
{
    struct stat st;
    if (stat(c->dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (access(c->dir, R_OK | X_OK) != 0)
        return -errno;
    return 0;
}

size_t tkc_core_proc_count(const tkc_core *c) { return c->nprocs; }
const tkc_proc *tkc_core_proc(const tkc_core *c, size_t i)
{
    return i < c->nprocs ? &c->procs[i]->pub : NULL;
}

/* ---- ordered points --------------------------------------------------------------------------- */

void tkc_core_order_points(tkc_core *c, int ordered)
{
    if (!ordered)
        tkc_core_flush_points(c);
    c->ordered = ordered;
}

static int held_cmp(const void *a, const void *b)
{
    const held_point *x = a, *y = b;
    if (x->pt.mono_ns != y->pt.mono_ns)
        return x->pt.mono_ns < y->pt.mono_ns ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Delivers, in time order, the held points older than `before` (all of them: UINT64_MAX). */
static void held_release(tkc_core *c, uint64_t before)
{
    if (!c->nheld)
        return;
    size_t k = 1; /* one thread's points come sorted already: sort only when needed */
    while (k < c->nheld && held_cmp(&c->held[k - 1], &c->held[k]) <= 0)
        k++;
    if (k < c->nheld)
        qsort(c->held, c->nheld, sizeof *c->held, held_cmp);
    size_t i = 0;
    for (; i < c->nheld && c->held[i].pt.mono_ns < before; i++) {
        c->held[i].pt.context = c->held[i].ctx;
        EMIT(c, point, c->held[i].proc, &c->held[i].pt);
    }
    memmove(c->held, c->held + i, (c->nheld - i) * sizeof *c->held);
    c->nheld -= i;
}

void tkc_core_flush_points(tkc_core *c) { held_release(c, UINT64_MAX); }

/* Keeps a copy of a point for ordered delivery; when memory runs out it is delivered at once. */
static void held_push(tkc_core *c, const tkc_proc *p, const tkc_point *pt)
{
    if (c->nheld == c->capheld) {
        size_t ncap = c->capheld ? c->capheld * 2 : 1024;
        held_point *nh = realloc(c->held, ncap * sizeof *nh);
        if (!nh) {
            EMIT(c, point, p, pt);
            return;
        }
        c->held = nh;
        c->capheld = ncap;
    }
    held_point *h = &c->held[c->nheld++];
    h->pt = *pt;
    h->proc = p;
    h->order = c->held_seq++;
    size_t len = pt->context_len < sizeof h->ctx - 1 ? pt->context_len : sizeof h->ctx - 1;
    memcpy(h->ctx, pt->context, len);
    h->ctx[len] = '\0';
    h->pt.context_len = len;
}

/* ---- clock conversion ------------------------------------------------------------------------- */

/* This collector's own estimate of the shared counter's rate, for producers that died before
 * publishing two calibration samples far enough apart. */
static double own_ns_per_tick(tkc_core *c, int source)
{
    if (source == 3)
        return 1.0;
#if defined(__x86_64__)
    if (c->own_ns_per_tick == 0) {
        uint64_t m0 = tkc_now_ns(), t0 = __rdtsc(), m1, t1;
        do {
            m1 = tkc_now_ns();
            t1 = __rdtsc();
        } while (m1 - m0 < 5000000u);
        c->own_ns_per_tick = t1 > t0 ? (double)(m1 - m0) / (double)(t1 - t0) : 1.0;
    }
    return c->own_ns_per_tick;
#else
    (void)c;
    return 1.0;
#endif
}

static int calib_cmp(const void *a, const void *b)
{
    const tks_calib *x = a, *y = b;
    return x->ticks < y->ticks ? -1 : x->ticks > y->ticks;
}

/* Copies the producer's calibration samples (seqlock, bounded retries) and derives the rate. */
static void calib_refresh(tkc_core *c, cproc *p)
{
    const tks_header *h = (const tks_header *)p->mem;
    tks_calib tmp[TKS_CALIB_SLOTS];
    size_t n = 0;
    int ok = 0;
    for (int tries = 0; tries < 64 && !ok; tries++) {
        uint64_t s0 = __atomic_load_n(&h->calib_seq, __ATOMIC_ACQUIRE);
        if (s0 & 1)
            continue;
        uint64_t count = __atomic_load_n(&h->calib_count, __ATOMIC_RELAXED);
        n = count < TKS_CALIB_SLOTS ? (size_t)count : TKS_CALIB_SLOTS;
        for (size_t i = 0; i < n; i++) {
            tmp[i].ticks = __atomic_load_n(&h->calib[i].ticks, __ATOMIC_RELAXED);
            tmp[i].mono_ns = __atomic_load_n(&h->calib[i].mono_ns, __ATOMIC_RELAXED);
            tmp[i].real_ns = __atomic_load_n(&h->calib[i].real_ns, __ATOMIC_RELAXED);
        }
        TKS_FENCE_ACQUIRE();
        ok = __atomic_load_n(&h->calib_seq, __ATOMIC_RELAXED) == s0;
    }
    if (!ok || n == 0)
        return;
    qsort(tmp, n, sizeof tmp[0], calib_cmp);
    memcpy(p->calib, tmp, n * sizeof tmp[0]);
    p->ncalib = n;
    double rate = tks_calib_rate(tmp, n);
    if (rate == 0)
        rate = own_ns_per_tick(c, p->pub.clock_source);
    p->ns_per_tick = rate;
}

uint64_t tkc_proc_mono_ns(const tkc_proc *pub, uint64_t t)
{
    const cproc *p = (const cproc *)pub;
    return tks_ticks_to_mono(p->calib, p->ncalib, p->ns_per_tick, t);
}

uint64_t tkc_proc_real_ns(const tkc_proc *pub, uint64_t mono)
{
    const cproc *p = (const cproc *)pub;
    if (p->ncalib)
        return tks_mono_to_real(p->calib, p->ncalib, mono);
    return mono - p->pub.start_mono_ns + p->pub.start_real_ns;
}

double tkc_proc_ns_per_tick(const tkc_proc *pub) { return ((const cproc *)pub)->ns_per_tick; }

const char *tkc_proc_name(const tkc_proc *pub, uint32_t id)
{
    const cproc *p = (const cproc *)pub;
    return id < p->pub.names_known ? p->names[id] : "";
}

int tkc_proc_name_kind(const tkc_proc *pub, uint32_t id)
{
    const cproc *p = (const cproc *)pub;
    return id < p->pub.names_known ? p->kinds[id] : 0;
}

int tkc_proc_thread(const tkc_proc *pub, uint32_t ring, uint32_t *tid, const char **name)
{
    const cproc *p = (const cproc *)pub;
    if (ring >= p->max_rings || !p->rings)
        return -1;
    if (tid)
        *tid = p->rings[ring].tid;
    if (name)
        *name = p->rings[ring].thread_name;
    return 0;
}

uint64_t tkc_proc_lost(const tkc_proc *pub, tkc_loss_reason reason)
{
    const cproc *p = (const cproc *)pub;
    return (unsigned)reason < TKC_LOSS_REASONS ? p->lost[reason] : 0;
}

/* ---- attach ----------------------------------------------------------------------------------- */

static seen_file *find_bad(const tkc_core *c, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < c->nbad; i++)
        if (c->bad[i].dev == dev && c->bad[i].ino == ino)
            return &c->bad[i];
    return NULL;
}

/* Nonzero while a file that failed is not due for another look. */
static int seen_bad(const tkc_core *c, dev_t dev, ino_t ino)
{
    const seen_file *b = find_bad(c, dev, ino);
    return b && tkc_now_ns() < b->retry;
}

/* Remembers a failure; returns 1 when it is the file's first (to be told). */
static int remember_bad(tkc_core *c, dev_t dev, ino_t ino)
{
    seen_file *b = find_bad(c, dev, ino);
    if (b) {
        b->retry = tkc_now_ns() + c->retry_ns;
        return 0;
    }
    if (c->nbad == c->capbad) {
        size_t ncap = c->capbad ? c->capbad * 2 : 16;
        seen_file *nb = realloc(c->bad, ncap * sizeof *nb);
        if (!nb)
            return 1;
        c->bad = nb;
        c->capbad = ncap;
    }
    c->bad[c->nbad++] = (seen_file){dev, ino, tkc_now_ns() + c->retry_ns};
    return 1;
}

static int attached(const tkc_core *c, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i]->dev == dev && c->procs[i]->ino == ino)
            return 1;
    return 0;
}

static void copy_text(char *dst, size_t cap, const char *src, size_t srccap)
{
    size_t i = 0;
    for (; i + 1 < cap && i < srccap && src[i]; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

static void report_bad(tkc_core *c, const char *path, dev_t dev, ino_t ino, const char *why)
{
    if (remember_bad(c, dev, ino) && !c->opt.quiet)
        fprintf(stderr, "timekeeper: skipping %s: %s\n", path, why);
}

/* Builds a cproc from a validated private copy of the header. NULL when out of memory. */
static cproc *cproc_new(tkc_core *c, const tks_header *h, const char *path, const char *mem,
                        size_t size, const struct stat *st)
{
    cproc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fd = -1;
    p->layout = *h;
    p->mem = mem;
    p->size = size;
    p->dev = st->st_dev;
    p->ino = st->st_ino;
    p->max_names = h->max_names;
    p->max_rings = h->max_rings;
    p->cap = h->ring_capacity;
    p->names_off = h->names_offset;
    p->rings_off = h->rings_offset;
    p->stride = h->ring_stride;
    p->counters_off = h->counters_offset;
    p->slots_off = h->slots_offset;
    p->proc_starttime = h->proc_starttime;
    p->path = strdup(path);
    copy_text(p->name, sizeof p->name, h->process, sizeof h->process);
    copy_text(p->cmdline, sizeof p->cmdline, h->cmdline, sizeof h->cmdline);
    p->pub.key = ++c->next_key;
    p->pub.path = p->path;
    p->pub.name = p->name;
    p->pub.cmdline = p->cmdline;
    p->pub.pid = (int)h->pid;
    p->pub.uid = h->uid;
    p->pub.clock_source = (int)h->clock_source;
    p->pub.minor_version = h->minor_version;
    p->pub.features = h->features;
    p->pub.start_real_ns = h->start_real_ns;
    p->pub.start_mono_ns = h->start_mono_ns;
    p->pub.attach_mono_ns = tkc_now_ns();
    p->rings = calloc(p->max_rings, sizeof *p->rings);
    if (!p->path || !p->rings) {
        p->mem = NULL;
        cproc_free(p);
        return NULL;
    }
    return p;
}

/* Maps, validates and adopts one segment file. Returns 1 when attached. */
static int attach(tkc_core *c, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != c->uid ||
        attached(c, st.st_dev, st.st_ino) || seen_bad(c, st.st_dev, st.st_ino)) {
        close(fd); /* other users' segments are ignored without a word */
        return 0;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) { /* another user could rewrite it under its program */
        report_bad(c, path, st.st_dev, st.st_ino,
                   (st.st_mode & S_IWOTH) ? "world-writable (a segment must be 0600)"
                                          : "group-writable (a segment must be 0600)");
        close(fd);
        return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t dsec = (int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec;
    uint64_t age = dsec > 0 ? (uint64_t)dsec * 1000000000u : 0;
    if ((size_t)st.st_size < sizeof(tks_header)) {
        if (age > NEW_FILE_GRACE_NS) /* a producer may be between open and ftruncate */
            report_bad(c, path, st.st_dev, st.st_ino, "truncated (smaller than a header)");
        close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size;
    void *mem = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        report_bad(c, path, st.st_dev, st.st_ino, strerror(errno));
        close(fd);
        return 0;
    }
    char why[160] = "";
    sigjmp_buf jb;
    volatile int ok = 0;
    cproc *volatile p = NULL; /* both survive a siglongjmp from the SIGBUS guard */
    tks_header *hp = c->hdr_copy; /* the private copy every offset and size is taken from */
    if (sigsetjmp(jb, 1) == 0) {
        segment_guard_set(&jb);
        memcpy(hp, mem, sizeof *hp);
        const tks_header h = *hp;
        if (memcmp(h.magic, TKS_MAGIC, 8) == 0 && h.state == TKS_STATE_CREATING &&
            age <= NEW_FILE_GRACE_NS) {
            ok = -1; /* still being set up: try again at the next scan (producers of this
                      * layout publish by rename, so this is only a foreign writer's window) */
        } else if (segment_validate_header(&h, size, why, sizeof why) != 0) {
            ok = 0;
        } else if (h.uid != (uint32_t)st.st_uid) {
            snprintf(why, sizeof why, "header uid %u is not the file owner %u", h.uid,
                     (unsigned)st.st_uid);
        } else if (c->opt.pid && (int)h.pid != c->opt.pid) {
            ok = -1;
        } else if ((p = cproc_new(c, &h, path, mem, size, &st)) != NULL) {
            ok = 1;
            calib_refresh(c, p);
        } else {
            snprintf(why, sizeof why, "out of memory");
        }
    } else {
        snprintf(why, sizeof why, "truncated while reading (SIGBUS)");
        ok = 0;
    }
    segment_guard_set(NULL);
    if (ok == 1 && c->nprocs == c->capprocs) {
        size_t ncap = c->capprocs ? c->capprocs * 2 : 8;
        cproc **np = realloc(c->procs, ncap * sizeof *np);
        if (np) {
            c->procs = np;
            c->capprocs = ncap;
        } else {
            ok = 0;
            snprintf(why, sizeof why, "out of memory");
        }
    }
    if (ok == 1) {
        p->fd = fd;
        c->procs[c->nprocs++] = p;
        EMIT(c, proc_appeared, &p->pub);
        return 1;
    }
    if (p) {
        p->mem = NULL;
        cproc_free(p);
    }
    munmap(mem, size);
    close(fd);
    if (ok == 0)
        report_bad(c, path, st.st_dev, st.st_ino, why);
    return 0;
}

static int is_segment_name(const char *name)
{
    const size_t pl = strlen(TKS_FILE_PREFIX), sl = strlen(TKS_FILE_SUFFIX);
    size_t n = strlen(name);
    return n > pl + sl && strncmp(name, TKS_FILE_PREFIX, pl) == 0 &&
           strcmp(name + n - sl, TKS_FILE_SUFFIX) == 0;
}

static void attach_name(tkc_core *c, const char *name)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if (n > 0 && (size_t)n < sizeof path)
        attach(c, path);
}

/* Attaches the segments named by pending inotify events. Returns 1 when the queue overflowed
 * (a full rescan is needed). */
static int scan_events(tkc_core *c)
{
    if (c->inotify_fd < 0)
        return 0;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int overflow = 0;
    for (;;) {
        ssize_t n = read(c->inotify_fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *q = buf; q < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)q;
            if (ev->mask & IN_Q_OVERFLOW)
                overflow = 1;
            else if (ev->len && is_segment_name(ev->name))
                attach_name(c, ev->name);
            q += sizeof *ev + ev->len;
        }
    }
    return overflow;
}

size_t tkc_core_scan_new(tkc_core *c)
{
    if (scan_events(c))
        return tkc_core_scan(c);
    return c->nprocs;
}

size_t tkc_core_scan(tkc_core *c)
{
    scan_events(c);
    DIR *d = opendir(c->dir);
    if (!d)
        return c->nprocs;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (is_segment_name(e->d_name))
            attach_name(c, e->d_name);
    closedir(d);
    return c->nprocs;
}

/* ---- holes -------------------------------------------------------------------------------------- */

/* Nonzero when [off, off + len) of the segment holds a hole: never-written pages, which a read
 * would allocate on tmpfs (filling it, or faulting when it is full). A file system that does not
 * report holes reports none. */
static int has_hole(const cproc *p, uint64_t off, uint64_t len)
{
    if (len == 0 || p->fd < 0)
        return 0;
    off_t h = lseek(p->fd, (off_t)off, SEEK_HOLE);
    if (h < 0)
        return errno != EINVAL; /* ENXIO: past the end of the file */
    return (uint64_t)h < off + len;
}

/* Copies len bytes at off of the mapping into dst, page by page, leaving zeros where the file
 * has a hole. */
static void copy_data(const cproc *p, uint64_t off, void *dst, size_t len)
{
    if (!has_hole(p, off, len)) {
        const uint64_t *src = (const uint64_t *)(p->mem + off);
        uint64_t *d = dst;
        for (size_t i = 0; i < len / 8; i++)
            d[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
        return;
    }
    const uint64_t page = 4096;
    memset(dst, 0, len);
    for (uint64_t at = off; at < off + len;) {
        uint64_t end = (at / page + 1) * page;
        if (end > off + len)
            end = off + len;
        if (!has_hole(p, at, end - at)) {
            const uint64_t *src = (const uint64_t *)(p->mem + at);
            uint64_t *d = (uint64_t *)((char *)dst + (at - off));
            for (uint64_t i = 0; i < (end - at) / 8; i++)
                d[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
        }
        at = end;
    }
}

/* ---- names ------------------------------------------------------------------------------------- */

/* Copies names published since the last look (untrusted: kind, length and bytes are checked). */
static void names_refresh(tkc_core *c, cproc *p)
{
    const tks_header *h = (const tks_header *)p->mem;
    uint32_t n = __atomic_load_n(&h->name_count, __ATOMIC_ACQUIRE);
    if (n > p->max_names)
        n = p->max_names;
    uint32_t first = p->pub.names_known;
    if (n <= first)
        return;
    if (n > p->names_cap) {
        uint32_t cap = p->names_cap ? p->names_cap : 64;
        while (cap < n)
            cap *= 2;
        if (cap > p->max_names)
            cap = p->max_names;
        char(*nn)[56] = realloc(p->names, cap * sizeof *nn);
        if (nn)
            p->names = nn;
        uint8_t *nk = nn ? realloc(p->kinds, cap) : NULL;
        if (nk)
            p->kinds = nk;
        uint64_t *nl = nk ? realloc(p->last_ticks, cap * sizeof *nl) : NULL;
        if (!nl)
            return; /* out of memory: the names wait for the next drain */
        p->last_ticks = nl;
        memset(p->last_ticks + p->names_cap, 0, (cap - p->names_cap) * sizeof *nl);
        p->names_cap = cap;
    }
    if (has_hole(p, p->names_off + (uint64_t)first * sizeof(tks_name),
                 (uint64_t)(n - first) * sizeof(tks_name))) {
        p->pub.corrupt_records++; /* published names that were never written */
        return;
    }
    const tks_name *table = (const tks_name *)(p->mem + p->names_off);
    for (uint32_t i = first; i < n; i++) {
        tks_name e;
        memcpy(&e, &table[i], sizeof e);
        size_t len = e.len > TKS_NAME_LEN_MAX ? TKS_NAME_LEN_MAX : e.len;
        copy_text(p->names[i], sizeof p->names[i], e.name, len);
        p->kinds[i] = e.kind <= TKS_NAME_STAGE ? (uint8_t)e.kind : 0;
    }
    p->pub.names_known = n;
    EMIT(c, names, &p->pub, first, n);
}

/* ---- draining ---------------------------------------------------------------------------------- */

/* Accounts one delivered record of name `id` with sequence number seq (low 32 bits). Returns 0
 * for a record that goes backwards in its name's sequence (corrupt: the caller skips it). Records
 * found missing are lost: overwritten before this collector first read the ring, or lapped
 * while it was attached. */
static inline int seq_deliver(tkc_core *c, cproc *p, ring_view *rv, uint32_t ri, uint32_t id,
                              uint32_t seq)
{
    name_slot *ns = &rv->names[id];
    uint32_t step = (uint32_t)(seq - (uint32_t)ns->dseq);
    if (ns->delivered && (step == 0 || step >= 0x80000000u)) {
        p->pub.corrupt_records++;
        return 0;
    }
    uint64_t before = ns->known - ns->delivered;
    uint64_t full = ns->dseq + step;
    ns->dseq = full;
    ns->delivered++;
    if (full > ns->known)
        ns->known = full;
    if (ns->known < ns->delivered)
        ns->known = ns->delivered;
    uint64_t after = ns->known - ns->delivered;
    if (after != before)
        emit_loss(c, p, id, ri, rv->drained ? TKC_LOSS_LAPPED : TKC_LOSS_OVERWRITTEN,
                  after > before ? (int64_t)(after - before) : -(int64_t)(before - after));
    return 1;
}

static inline void deliver_span(tkc_core *c, cproc *p, const tks_record *r, ring_view *rv,
                                uint32_t ri, uint32_t id)
{
    if (!seq_deliver(c, p, rv, ri, id, r->seq))
        return;
    if (c->nspans == CHUNK_RECORDS || (c->nspans && c->spans_proc != &p->pub))
        spans_flush(c);
    c->spans_proc = &p->pub;
    const double k = p->ns_per_tick;
    tkc_span *s = &c->spans[c->nspans++];
    s->name = id;
    s->ring = ri;
    s->start = r->a;
    s->stop = r->b;
    s->origin = r->c;
    s->dur_ns = r->b >= r->a ? tks_ticks_to_ns(r->b - r->a, k) : 0;
    s->lat_ns = !r->c ? TKC_NONE : r->a >= r->c ? tks_ticks_to_ns(r->a - r->c, k) : 0;
    if (r->b > p->last_ticks[id])
        p->last_ticks[id] = r->b;
}

/* Delivers a point and its continuations buf[0..]; returns records consumed, or 0 when the point
 * continues past `avail` records (read it with the next chunk). */
static size_t deliver_point(tkc_core *c, cproc *p, const tks_record *buf, size_t avail,
                            ring_view *rv, uint32_t ri, uint32_t id)
{
    if (avail < 2)
        return 0;
    tks_point_ext e;
    memcpy(&e, &buf[1], sizeof e);
    if (TKS_TAG_TYPE(e.tag) != TKS_REC_POINT_EXT || e.nrec < 1 || e.nrec > 3 ||
        e.ctx_len > 72) {
        p->pub.corrupt_records++;
        return 1;
    }
    if (avail < (size_t)1 + e.nrec)
        return 0;
    if (!seq_deliver(c, p, rv, ri, id, buf[0].seq))
        return (size_t)1 + e.nrec;
    p->pub.points++;
    if (buf[0].a > p->last_ticks[id])
        p->last_ticks[id] = buf[0].a;
    char ctx[80];
    size_t len = e.ctx_len, got = len < 16 ? len : 16;
    memcpy(ctx, e.ctx, got);
    for (uint32_t k = 1; k < e.nrec && got < len; k++) {
        tks_point_more m;
        memcpy(&m, &buf[1 + k], sizeof m);
        size_t chunk = len - got < 28 ? len - got : 28;
        memcpy(ctx + got, m.ctx, chunk);
        got += chunk;
    }
    ctx[got] = '\0';
    tkc_point pt = {id, ri, rv->tid, buf[0].a,
                    tks_ticks_to_mono_hint(p->calib, p->ncalib, p->ns_per_tick, buf[0].a,
                                           &p->calib_hint),
                    buf[0].b, buf[0].c, e.session, ctx, got};
    if (c->ordered)
        held_push(c, &p->pub, &pt);
    else
        EMIT(c, point, &p->pub, &pt);
    return (size_t)1 + e.nrec;
}

/* Decodes records of types with a decoder of their own (core/decode.h); counts unknown ones.
 * Returns records consumed, 0: the item continues past avail. */
static size_t deliver_other(tkc_core *c, cproc *p, const tks_record *buf, size_t avail,
                            ring_view *rv, uint32_t ri, uint32_t type, uint32_t id)
{
    tkc_decode_fn fn = tkc_decoder(type);
    if (!fn || p->kinds[id] == 0) {
        /* a newer producer's kind: count it as delivered so it is not taken for a loss */
        if (seq_deliver(c, p, rv, ri, id, buf[0].seq))
            p->pub.unknown_records++;
        return 1;
    }
    tkc_decode_ctx dc = {c, p, ri};
    size_t used = fn(&dc, buf, avail);
    if (used == 0)
        return 0;
    seq_deliver(c, p, rv, ri, id, buf[0].seq);
    return used;
}

/* Whether slots [s0, s0 + n) of a ring hold data. Slots [0, rv->checked) are known to: a first
 * lap fills a ring from slot 0 up, so each slot is asked about once, not at every drain. */
static int slots_checked(const cproc *p, ring_view *rv, uint64_t slots_at, uint64_t s0, uint64_t n)
{
    if (s0 + n <= rv->checked)
        return 1;
    uint64_t from = s0 <= rv->checked ? rv->checked : s0;
    if (has_hole(p, slots_at + from * TKS_RECORD_SIZE, (s0 + n - from) * TKS_RECORD_SIZE))
        return 0;
    if (s0 <= rv->checked)
        rv->checked = s0 + n;
    return 1;
}

/* Reads ring ri from its tail to its head. The slot of record head - capacity is never read: the
 * writer may be overwriting it with record head (even a writer killed mid-record leaves it torn).
 * Returns records read. */
static uint64_t ring_drain(tkc_core *c, cproc *p, uint32_t ri)
{
    const char *base = p->mem + p->rings_off + (uint64_t)ri * p->stride;
    const tks_ring_header *rh = (const tks_ring_header *)base;
    const tks_record *slots = (const tks_record *)(base + p->slots_off);
    ring_view *rv = &p->rings[ri];
    const uint64_t cap = p->cap, mask = cap - 1, keep = cap - 1;
    uint64_t read = 0;
    const uint64_t ring_off = p->rings_off + (uint64_t)ri * p->stride;
    if (!rv->whole) { /* a claimed ring's pages hold data; a hole means a corrupt or hostile file */
        if (has_hole(p, ring_off, TKS_RING_HEADER_SIZE))
            return 0;
        rv->whole = !has_hole(p, ring_off + p->slots_off, (uint64_t)cap * TKS_RECORD_SIZE);
    }

    if (rv->names_cap < p->pub.names_known) {
        uint32_t ncap = p->names_cap;
        name_slot *nn = realloc(rv->names, ncap * sizeof *nn);
        if (!nn)
            return 0;
        memset(nn + rv->names_cap, 0, (ncap - rv->names_cap) * sizeof *nn);
        if (!rv->names)
            rv->snap_head = UINT64_MAX;
        rv->names = nn;
        rv->names_cap = ncap;
    }
    if (!rv->names)
        return 0; /* no name yet: nothing can be accounted */
    rv->tid = __atomic_load_n(&rh->tid, __ATOMIC_RELAXED);
    for (int i = 0; i < 15; i++)
        rv->thread_name[i] = __atomic_load_n(&rh->thread_name[i], __ATOMIC_RELAXED);
    rv->thread_name[15] = '\0';
    copy_text(rv->thread_name, sizeof rv->thread_name, rv->thread_name, sizeof rv->thread_name);
    uint64_t head = __atomic_load_n(&rh->head, __ATOMIC_ACQUIRE);
    if (head < rv->tail) { /* a head that goes back is corrupt: start over from it */
        p->pub.corrupt_records++;
        rv->tail = head;
    }
    const uint32_t nknown = p->pub.names_known;
    while (rv->tail < head) {
        uint64_t start = rv->tail;
        if (head - start > keep)
            start = head - keep; /* older records were overwritten: lost, counted by sequence */
        uint64_t n = head - start < CHUNK_RECORDS ? head - start : CHUNK_RECORDS;
        if (!rv->whole) {
            uint64_t s0 = start & mask, n0 = n < cap - s0 ? n : cap - s0;
            uint64_t slots_at = ring_off + p->slots_off;
            if (!slots_checked(p, rv, slots_at, s0, n0) ||
                (n > n0 && !slots_checked(p, rv, slots_at, 0, n - n0))) {
                p->pub.corrupt_records += n; /* records said written that are not there */
                rv->tail = start + n;
                continue;
            }
        }
        uint64_t *dst = (uint64_t *)c->buf;
        for (uint64_t i = 0; i < n; i++) {
            const uint64_t *src = (const uint64_t *)&slots[(start + i) & mask];
            dst[4 * i + 0] = __atomic_load_n(&src[0], __ATOMIC_RELAXED);
            dst[4 * i + 1] = __atomic_load_n(&src[1], __ATOMIC_RELAXED);
            dst[4 * i + 2] = __atomic_load_n(&src[2], __ATOMIC_RELAXED);
            dst[4 * i + 3] = __atomic_load_n(&src[3], __ATOMIC_RELAXED);
        }
        TKS_FENCE_ACQUIRE();
        uint64_t h2 = __atomic_load_n(&rh->head, __ATOMIC_RELAXED);
        uint64_t valid_from = h2 > keep ? h2 - keep : 0;
        uint64_t i = valid_from > start ? valid_from - start : 0;
        if (i > n)
            i = n;
        uint64_t done = n;
        while (i < n) {
            const tks_record *r = &c->buf[i];
            uint32_t type = TKS_TAG_TYPE(r->tag), id = TKS_TAG_ID(r->tag);
            if (type == TKS_REC_POINT_EXT || type == TKS_REC_CONT) {
                i++; /* an orphan continuation (its head was overwritten) */
                continue;
            }
            if (id >= nknown || type == 0) {
                p->pub.corrupt_records++;
                i++;
                continue;
            }
            if (type == TKS_REC_SPAN) {
                if (p->kinds[id] == TKS_NAME_TIMER)
                    deliver_span(c, p, r, rv, ri, id);
                else
                    p->pub.corrupt_records++;
                i++;
                continue;
            }
            size_t used;
            if (type == TKS_REC_POINT) {
                if (p->kinds[id] != TKS_NAME_LABEL) {
                    p->pub.corrupt_records++;
                    i++;
                    continue;
                }
                used = deliver_point(c, p, r, (size_t)(n - i), rv, ri, id);
            } else {
                used = deliver_other(c, p, r, (size_t)(n - i), rv, ri, type, id);
            }
            if (used == 0) {
                if (start + n < head || i > 0) { /* finish it with the next chunk */
                    done = i;
                    break;
                }
                p->pub.corrupt_records++; /* an item cut by head itself: corrupt */
                used = 1;
            }
            i += used;
        }
        read += done;
        rv->tail = start + done;
        spans_flush(c);
    }
    /* When everything published was read and the writer did not move meanwhile, the counters are
     * a consistent snapshot: records counted there but never delivered were lost. A snapshot at
     * the same head as the last one can't tell anything new (a counter that was still being
     * stored then belongs to a record whose sequence number was read). */
    uint32_t nn = p->pub.names_known;
    if (!(rv->tail == rv->snap_head && nn == rv->snap_names)) {
        copy_data(p, ring_off + p->counters_off, c->counter_buf, (size_t)nn * 8);
        TKS_FENCE_ACQUIRE();
        if (__atomic_load_n(&rh->head, __ATOMIC_RELAXED) == rv->tail) {
            rv->snap_head = rv->tail;
            rv->snap_names = nn;
            for (uint32_t id = 0; id < nn; id++) {
                if (c->counter_buf[id] > rv->names[id].known) {
                    emit_loss(c, p, id, ri, rv->drained ? TKC_LOSS_LAPPED : TKC_LOSS_OVERWRITTEN,
                              (int64_t)(c->counter_buf[id] - rv->names[id].known));
                    rv->names[id].known = c->counter_buf[id];
                }
            }
        }
    }
    rv->drained = 1;
    return read;
}

/* Is the producer still running? Asked of its life lock when it holds one (works across PID
 * namespaces and without /proc); else dead when its pid is gone or was reused by another program. */
static __attribute__((noinline)) int proc_alive(const cproc *p)
{
    if ((p->pub.features & TKS_FEATURE_LIFE_LOCK) && p->fd >= 0) {
        int r = tkc_segment_holder_alive_fd(p->fd);
        if (r >= 0)
            return r;
    }
    if (kill(p->pub.pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (p->proc_starttime) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", p->pub.pid);
        FILE *f = fopen(path, "re");
        if (!f)
            return 0;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *s = strrchr(buf, ')');
        for (int field = 2; field < 22 && s; field++)
            s = strchr(s + 1, ' ');
        if (s && strtoull(s + 1, NULL, 10) != p->proc_starttime)
            return 0;
    }
    return 1;
}

/* Nonzero when a field that decides an offset or a size differs from the copy validated at attach
 * (every read uses the copy; a change means the file is not what it was). */
static int layout_changed(const cproc *p)
{
    const tks_header *h = (const tks_header *)p->mem, *l = &p->layout;
#define SAME(f) (__atomic_load_n(&h->f, __ATOMIC_RELAXED) == l->f)
    return !(SAME(version) && SAME(header_size) && SAME(segment_size) && SAME(record_size) &&
             SAME(max_names) && SAME(max_rings) && SAME(ring_capacity) && SAME(names_offset) &&
             SAME(rings_offset) && SAME(ring_stride) && SAME(counters_offset) &&
             SAME(slots_offset) && SAME(pid) && SAME(uid) && SAME(clock_source) &&
             memcmp(h->magic, l->magic, 8) == 0);
#undef SAME
}

static uint64_t proc_drain(tkc_core *c, cproc *p)
{
    if (p->pub.state == TKC_PROC_EXITED || p->broken)
        return 0;
    const tks_header *h = (const tks_header *)p->mem;
    int alive = proc_alive(p); /* before draining: a dead writer adds nothing after this */
    volatile uint64_t read = 0; /* survives a siglongjmp from the SIGBUS guard */
    uint64_t dropped = p->pub.dropped_no_ring;
    volatile uint64_t health[2] = {p->pub.dropped_no_space, p->pub.dropped_names_full};
    sigjmp_buf jb;
    struct stat st;
    int truncated = p->fd >= 0 && fstat(p->fd, &st) == 0 && (uint64_t)st.st_size < p->size;
    if (!truncated && sigsetjmp(jb, 1) == 0) {
        segment_guard_set(&jb);
        if (layout_changed(p)) {
            p->broken = 1;
            if (!c->opt.quiet)
                fprintf(stderr, "timekeeper: %s: its layout changed while attached "
                                "(corrupt or not written by timekeeper); detached\n",
                        p->pub.path);
            segment_guard_set(NULL);
            p->pub.state = TKC_PROC_EXITED;
            p->pub.exit_kind = TKC_EXIT_KILLED;
            EMIT(c, proc_exited, &p->pub);
            return 0;
        }
        calib_refresh(c, p);
        names_refresh(c, p);
        uint32_t rings = __atomic_load_n(&h->ring_count, __ATOMIC_ACQUIRE);
        if (rings > p->max_rings)
            rings = p->max_rings;
        p->pub.rings_used = rings;
        for (uint32_t ri = 0; ri < rings; ri++)
            read += ring_drain(c, p, ri);
        tkc_decode_ctx pdc = {c, p, UINT32_MAX}; /* values kept in the segment (decode.h) */
        tkc_decode_poll(&pdc, tkc_now_ns());
        p->pub.heartbeat_mono_ns = __atomic_load_n(&h->heartbeat_mono_ns, __ATOMIC_RELAXED);
        dropped = __atomic_load_n(&h->dropped_no_ring, __ATOMIC_RELAXED);
        if (p->pub.minor_version >= 2) {
            health[0] = __atomic_load_n(&h->health.dropped_no_space, __ATOMIC_RELAXED);
            health[1] = __atomic_load_n(&h->health.dropped_name_full, __ATOMIC_RELAXED);
            p->pub.names_refused = __atomic_load_n(&h->health.names_refused, __ATOMIC_RELAXED);
            p->pub.timing_dropped = __atomic_load_n(&h->health.timing_dropped, __ATOMIC_RELAXED);
        }
        p->pub.exit_mono_ns = __atomic_load_n(&h->exit_mono_ns, __ATOMIC_RELAXED);
    } else {
        p->broken = 1;
        if (!c->opt.quiet)
            fprintf(stderr, "timekeeper: %s was truncated while being read; detached\n",
                    p->pub.path);
    }
    segment_guard_set(NULL);
    spans_flush(c);
    if (dropped > p->pub.dropped_no_ring) {
        uint64_t d = dropped - p->pub.dropped_no_ring;
        p->pub.dropped_no_ring = dropped;
        emit_loss(c, p, UINT32_MAX, UINT32_MAX, TKC_LOSS_NO_RING, (int64_t)d);
    }
    if (health[0] > p->pub.dropped_no_space) {
        uint64_t d = health[0] - p->pub.dropped_no_space;
        p->pub.dropped_no_space = health[0];
        emit_loss(c, p, UINT32_MAX, UINT32_MAX, TKC_LOSS_NO_SPACE, (int64_t)d);
    }
    if (health[1] > p->pub.dropped_names_full) {
        uint64_t d = health[1] - p->pub.dropped_names_full;
        p->pub.dropped_names_full = health[1];
        emit_loss(c, p, UINT32_MAX, UINT32_MAX, TKC_LOSS_NAMES_FULL, (int64_t)d);
    }
    p->pub.records += read;
    uint64_t newest = 0;
    for (uint32_t id = 0; id < p->pub.names_known; id++)
        if (p->last_ticks[id] > newest)
            newest = p->last_ticks[id];
    if (newest)
        p->pub.last_record_mono_ns = tkc_proc_mono_ns(&p->pub, newest);
    if (!alive || p->broken) {
        p->pub.state = TKC_PROC_EXITED;
        p->pub.exit_kind = p->pub.exit_mono_ns ? TKC_EXIT_NORMAL : TKC_EXIT_KILLED;
        EMIT(c, proc_exited, &p->pub);
    }
    return read;
}

uint64_t tkc_core_drain(tkc_core *c)
{
    uint64_t start = tkc_now_ns(), n = 0;
    for (size_t i = 0; i < c->nprocs; i++)
        n += proc_drain(c, c->procs[i]);
    /* every ring was read after `start`: a point older than that (less a margin for conversion
     * error) can no longer be overtaken by an older one */
    if (c->ordered)
        held_release(c, start > 1000000u ? start - 1000000u : 0);
    uint64_t now = tkc_now_ns();
    EMIT(c, drained, now);
    return n;
}

void tkc_core_forget_exited(tkc_core *c)
{
    tkc_core_flush_points(c); /* held points name labels of the processes about to go */
    size_t j = 0;
    for (size_t i = 0; i < c->nprocs; i++) {
        cproc *p = c->procs[i];
        if (p->pub.state == TKC_PROC_EXITED) {
            EMIT(c, proc_gone, &p->pub);
            cproc_free(p);
        } else {
            c->procs[j++] = p;
        }
    }
    c->nprocs = j;
}

int tkc_core_remove_segment(tkc_core *c, const tkc_proc *pub)
{
    (void)c;
    const cproc *p = (const cproc *)pub;
    if (p->broken)
        return -EIO; /* a segment that faulted is left for a person to look at */
    struct stat st;
    if (lstat(p->path, &st) != 0)
        return -errno;
    if (st.st_dev != p->dev || st.st_ino != p->ino || !S_ISREG(st.st_mode))
        return -ESTALE; /* another file now has that name: leave it */
    if (unlink(p->path) != 0)
        return -errno;
    return 0;
}

/* ---- decoder context ---------------------------------------------------------------------------- */

void tkc_decode_emit(tkc_decode_ctx *dc, const tkc_event *e)
{
    EMIT(dc->c, event, &dc->p->pub, e);
}
const tkc_proc *tkc_decode_proc(const tkc_decode_ctx *dc) { return &dc->p->pub; }
uint32_t tkc_decode_ring(const tkc_decode_ctx *dc) { return dc->ring; }
uint64_t tkc_decode_mono(const tkc_decode_ctx *dc, uint64_t ticks)
{
    return tkc_proc_mono_ns(&dc->p->pub, ticks);
}
uint64_t tkc_decode_ns(const tkc_decode_ctx *dc, uint64_t dticks)
{
    return tks_ticks_to_ns(dticks, dc->p->ns_per_tick);
}
void tkc_decode_corrupt(tkc_decode_ctx *dc) { dc->p->pub.corrupt_records++; }
int tkc_decode_read(tkc_decode_ctx *dc, uint64_t off, void *dst, size_t len)
{
    const cproc *p = dc->p;
    if (off > p->size || len > p->size - off)
        return -1;
    memcpy(dst, p->mem + off, len); /* under the drain's SIGBUS guard */
    return 0;
}
