/* collector.c — finds segments, maps them read-only, drains rings with exact loss accounting,
 * converts ticks to ns from the producer's calibration and aggregates timers into histograms. */
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "format/convert.h"
#include "segment.h"

#define CHUNK_RECORDS 4096u /* records copied out of a ring at a time (128 KiB) */
#define NEW_FILE_GRACE_NS 2000000000ull

/* Reader state for one (ring, name) pair: the counts behind exact loss accounting.
 * known: how many records of the name the ring ever held, as far as we know (from record
 * sequence numbers and quiescent counter snapshots); delivered: how many we read. */
typedef struct name_slot {
    uint64_t known, delivered, dseq;
} name_slot;

typedef struct ring_view {
    uint64_t tail;      /* next record index to read */
    uint64_t snap_head; /* head at the last consistent counter snapshot, UINT64_MAX: none */
    uint32_t snap_names; /* names known at that snapshot */
    name_slot *names;   /* max_names entries, allocated at first use */
} ring_view;

typedef struct proc {
    process_info info;
    const char *mem;
    size_t size;
    dev_t dev;
    ino_t ino;
    uint64_t proc_starttime;
    uint32_t max_names, max_rings, cap;
    uint64_t names_off, rings_off, stride, counters_off, slots_off;
    uint32_t names_known;
    char (*names)[56];
    uint8_t *kinds;
    timer_stats **by_id;
    uint64_t *last_ticks;  /* per name id: newest stop tick, for last_mono_ns */
    ring_view *rings;
    tks_calib calib[TKS_CALIB_SLOTS];
    size_t ncalib;
    double ns_per_tick;
    int broken;            /* a read faulted (file truncated under us): detached */
    int timers_dirty;
} proc;

/* A point held back for time-ordered delivery. */
typedef struct held_point {
    collector_point pt;  /* pt.label points into its process's name copy; pt.context into ctx */
    uint64_t order;      /* arrival order: keeps the sort stable */
    char ctx[80];
} held_point;

typedef struct seen_file {
    dev_t dev;
    ino_t ino;
} seen_file;

struct collector {
    collector_options opt;
    char dir[512];
    char glob[128];
    proc **procs;
    size_t nprocs, capprocs;
    seen_file *bad;
    size_t nbad, capbad;
    collector_point_fn point_fn;
    void *point_ctx;
    int ordered;
    held_point *held;
    size_t nheld, capheld;
    uint64_t held_seq;
    tks_record *buf;
    uint64_t *counter_buf;
    double own_ns_per_tick; /* this process's own estimate of the shared counter, 0: not yet */
    uid_t uid;
};

uint64_t collector_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- lifetime --------------------------------------------------------------------------------- */

int collector_open(const collector_options *opts, collector **out)
{
    collector *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (opts)
        c->opt = *opts;
    const char *dir = c->opt.dir ? c->opt.dir : getenv("TK_DIR");
    snprintf(c->dir, sizeof c->dir, "%s", dir && *dir ? dir : "/dev/shm");
    c->opt.dir = c->dir;
    if (c->opt.timer_glob) {
        snprintf(c->glob, sizeof c->glob, "%s", c->opt.timer_glob);
        c->opt.timer_glob = c->glob;
    }
    c->buf = malloc(CHUNK_RECORDS * sizeof *c->buf);
    c->counter_buf = malloc(TKS_MAX_NAMES_LIMIT * sizeof *c->counter_buf);
    if (!c->buf || !c->counter_buf) {
        collector_close(c);
        return -ENOMEM;
    }
    c->uid = geteuid();
    segment_guard_install();
    *out = c;
    return 0;
}

static void timer_free(timer_stats *t)
{
    if (!t)
        return;
    for (int k = 0; k < KIND_COUNT; k++) {
        hist_free(t->interval[k]);
        hist_free(t->total[k]);
    }
    free(t);
}

static void proc_free(proc *p)
{
    if (!p)
        return;
    if (p->mem)
        munmap((void *)p->mem, p->size);
    for (uint32_t i = 0; p->by_id && i < p->max_names; i++)
        timer_free(p->by_id[i]);
    for (uint32_t i = 0; p->rings && i < p->max_rings; i++)
        free(p->rings[i].names);
    free(p->by_id);
    free(p->last_ticks);
    free(p->rings);
    free(p->names);
    free(p->kinds);
    free(p->info.timers);
    free(p);
}

void collector_close(collector *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nprocs; i++)
        proc_free(c->procs[i]);
    free(c->procs);
    free(c->held);
    free(c->bad);
    free(c->buf);
    free(c->counter_buf);
    free(c);
}

void collector_on_point(collector *c, collector_point_fn fn, void *ctx)
{
    c->point_fn = fn;
    c->point_ctx = ctx;
}

int collector_order_points(collector *c, int ordered)
{
    if (!ordered)
        collector_flush_points(c);
    c->ordered = ordered;
    return 0;
}

static int held_cmp(const void *a, const void *b)
{
    const held_point *x = a, *y = b;
    if (x->pt.mono_ns != y->pt.mono_ns)
        return x->pt.mono_ns < y->pt.mono_ns ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Delivers, in time order, the held points older than `before` (all of them: UINT64_MAX). */
static void held_release(collector *c, uint64_t before)
{
    if (!c->nheld)
        return;
    qsort(c->held, c->nheld, sizeof *c->held, held_cmp);
    size_t i = 0;
    for (; i < c->nheld && c->held[i].pt.mono_ns < before; i++) {
        c->held[i].pt.context = c->held[i].ctx;
        c->point_fn(c->point_ctx, &c->held[i].pt);
    }
    memmove(c->held, c->held + i, (c->nheld - i) * sizeof *c->held);
    c->nheld -= i;
}

void collector_flush_points(collector *c)
{
    if (c->point_fn)
        held_release(c, UINT64_MAX);
    c->nheld = 0;
}

/* Keeps a copy of a point for ordered delivery; when memory runs out it is delivered at once. */
static void held_push(collector *c, const collector_point *pt)
{
    if (c->nheld == c->capheld) {
        size_t ncap = c->capheld ? c->capheld * 2 : 1024;
        held_point *nh = realloc(c->held, ncap * sizeof *nh);
        if (!nh) {
            c->point_fn(c->point_ctx, pt);
            return;
        }
        c->held = nh;
        c->capheld = ncap;
    }
    held_point *h = &c->held[c->nheld++];
    h->pt = *pt;
    h->order = c->held_seq++;
    size_t len = pt->context_len < sizeof h->ctx - 1 ? pt->context_len : sizeof h->ctx - 1;
    memcpy(h->ctx, pt->context, len);
    h->ctx[len] = '\0';
    h->pt.context_len = len;
}

size_t collector_process_count(const collector *c) { return c->nprocs; }
const process_info *collector_process(const collector *c, size_t i)
{
    return i < c->nprocs ? &c->procs[i]->info : NULL;
}

/* ---- clock conversion ------------------------------------------------------------------------- */

/* This collector's own estimate of the shared counter's rate, for producers that died before
 * publishing two calibration samples far enough apart. */
static double own_ns_per_tick(collector *c, int source)
{
    if (source == 3)
        return 1.0;
#if defined(__x86_64__)
    if (c->own_ns_per_tick == 0) {
        uint64_t m0 = collector_now_ns(), t0 = __rdtsc(), m1, t1;
        do {
            m1 = collector_now_ns();
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
static void calib_refresh(collector *c, proc *p)
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
        rate = own_ns_per_tick(c, (int)p->info.clock_source);
    p->ns_per_tick = rate;
}

/* Ticks to CLOCK_MONOTONIC ns (format/convert.h). */
static uint64_t to_mono(const proc *p, uint64_t t)
{
    return tks_ticks_to_mono(p->calib, p->ncalib, p->ns_per_tick, t);
}

/* ---- attach ----------------------------------------------------------------------------------- */

static int seen_bad(const collector *c, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < c->nbad; i++)
        if (c->bad[i].dev == dev && c->bad[i].ino == ino)
            return 1;
    return 0;
}

static void remember_bad(collector *c, dev_t dev, ino_t ino)
{
    if (c->nbad == c->capbad) {
        size_t ncap = c->capbad ? c->capbad * 2 : 16;
        seen_file *nb = realloc(c->bad, ncap * sizeof *nb);
        if (!nb)
            return;
        c->bad = nb;
        c->capbad = ncap;
    }
    c->bad[c->nbad++] = (seen_file){dev, ino};
}

static int attached(const collector *c, dev_t dev, ino_t ino)
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

static void report_bad(collector *c, const char *path, dev_t dev, ino_t ino, const char *why)
{
    if (!c->opt.quiet)
        fprintf(stderr, "timekeeper: skipping %s: %s\n", path, why);
    remember_bad(c, dev, ino);
}

/* Maps, validates and adopts one segment file. Returns 1 when attached. */
static int attach(collector *c, const char *path)
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
    uint64_t age = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t dsec = (int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec;
    age = dsec > 0 ? (uint64_t)dsec * 1000000000u : 0;
    if ((size_t)st.st_size < sizeof(tks_header)) {
        if (age > NEW_FILE_GRACE_NS) /* a producer may be between open and ftruncate */
            report_bad(c, path, st.st_dev, st.st_ino, "truncated (smaller than a header)");
        close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size;
    void *mem = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) {
        report_bad(c, path, st.st_dev, st.st_ino, strerror(errno));
        return 0;
    }
    char why[160];
    sigjmp_buf jb;
    volatile int ok = 0;
    proc *volatile p = NULL; /* both survive a siglongjmp from the SIGBUS guard */
    if (sigsetjmp(jb, 1) == 0) {
        segment_guard_set(&jb);
        const tks_header *h = mem;
        uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
        if (memcmp(h->magic, TKS_MAGIC, 8) == 0 && state == TKS_STATE_CREATING &&
            age <= NEW_FILE_GRACE_NS) {
            ok = -1; /* still being set up: try again at the next scan (producers of this
                      * layout publish by rename, so this is only a foreign writer's window) */
        } else if (segment_validate(mem, size, why, sizeof why) != 0) {
            ok = 0;
        } else if (h->uid != (uint32_t)st.st_uid) {
            snprintf(why, sizeof why, "header uid %u is not the file owner %u", h->uid,
                     (unsigned)st.st_uid);
        } else if (c->opt.pid && (int)h->pid != c->opt.pid) {
            ok = -1;
        } else if ((p = calloc(1, sizeof *p)) != NULL) {
            p->mem = mem;
            p->size = size;
            p->dev = st.st_dev;
            p->ino = st.st_ino;
            p->max_names = h->max_names;
            p->max_rings = h->max_rings;
            p->cap = h->ring_capacity;
            p->names_off = h->names_offset;
            p->rings_off = h->rings_offset;
            p->stride = h->ring_stride;
            p->counters_off = h->counters_offset;
            p->slots_off = h->slots_offset;
            p->proc_starttime = h->proc_starttime;
            snprintf(p->info.path, sizeof p->info.path, "%s", path);
            copy_text(p->info.name, sizeof p->info.name, h->process, sizeof h->process);
            copy_text(p->info.cmdline, sizeof p->info.cmdline, h->cmdline, sizeof h->cmdline);
            p->info.pid = (int)h->pid;
            p->info.uid = h->uid;
            p->info.clock_source = (int)h->clock_source;
            p->info.start_real_ns = h->start_real_ns;
            p->info.start_mono_ns = h->start_mono_ns;
            p->names = calloc(p->max_names, sizeof *p->names);
            p->kinds = calloc(p->max_names, 1);
            p->by_id = calloc(p->max_names, sizeof *p->by_id);
            p->last_ticks = calloc(p->max_names, sizeof *p->last_ticks);
            p->rings = calloc(p->max_rings, sizeof *p->rings);
            ok = p->names && p->kinds && p->by_id && p->last_ticks && p->rings;
            if (ok)
                calib_refresh(c, p);
            else
                snprintf(why, sizeof why, "out of memory");
        }
    } else {
        snprintf(why, sizeof why, "truncated while reading (SIGBUS)");
        ok = 0;
    }
    segment_guard_set(NULL);
    if (ok == 1 && c->nprocs == c->capprocs) {
        size_t ncap = c->capprocs ? c->capprocs * 2 : 8;
        proc **np = realloc(c->procs, ncap * sizeof *np);
        if (np) {
            c->procs = np;
            c->capprocs = ncap;
        } else {
            ok = 0;
            snprintf(why, sizeof why, "out of memory");
        }
    }
    if (ok == 1) {
        c->procs[c->nprocs++] = p;
        return 1;
    }
    if (p) {
        p->mem = NULL;
        proc_free(p);
    }
    munmap(mem, size);
    if (ok == 0)
        report_bad(c, path, st.st_dev, st.st_ino, why);
    return 0;
}

size_t collector_scan(collector *c)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return c->nprocs;
    struct dirent *e;
    const size_t pl = strlen(TKS_FILE_PREFIX), sl = strlen(TKS_FILE_SUFFIX);
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= pl + sl || strncmp(e->d_name, TKS_FILE_PREFIX, pl) != 0 ||
            strcmp(e->d_name + n - sl, TKS_FILE_SUFFIX) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        attach(c, path);
    }
    closedir(d);
    return c->nprocs;
}

/* ---- names and timers -------------------------------------------------------------------------- */

static int timer_cmp(const void *a, const void *b)
{
    const timer_stats *x = *(timer_stats *const *)a, *y = *(timer_stats *const *)b;
    return strcmp(x->name, y->name);
}

static timer_stats *timer_new(const char *name, uint32_t id)
{
    timer_stats *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->id = id;
    for (int k = 0; k < KIND_COUNT; k++) {
        t->interval[k] = hist_new();
        t->total[k] = hist_new();
        if (!t->interval[k] || !t->total[k]) {
            timer_free(t);
            return NULL;
        }
    }
    return t;
}

/* Copies names published since the last look (untrusted: kind, length and bytes are checked). */
static void names_refresh(const collector *c, proc *p)
{
    const tks_header *h = (const tks_header *)p->mem;
    uint32_t n = __atomic_load_n(&h->name_count, __ATOMIC_ACQUIRE);
    if (n > p->max_names)
        n = p->max_names;
    const tks_name *table = (const tks_name *)(p->mem + p->names_off);
    for (uint32_t i = p->names_known; i < n; i++) {
        tks_name e;
        memcpy(&e, &table[i], sizeof e);
        size_t len = e.len > TKS_NAME_LEN_MAX ? TKS_NAME_LEN_MAX : e.len;
        copy_text(p->names[i], sizeof p->names[i], e.name, len);
        p->kinds[i] = (e.kind == TKS_NAME_TIMER || e.kind == TKS_NAME_LABEL) ? (uint8_t)e.kind : 0;
        if (p->kinds[i] == TKS_NAME_TIMER &&
            (!c->opt.timer_glob || fnmatch(c->opt.timer_glob, p->names[i], 0) == 0)) {
            p->by_id[i] = timer_new(p->names[i], i);
            if (p->by_id[i])
                p->timers_dirty = 1;
        }
    }
    if (n > p->names_known)
        p->names_known = n;
    if (p->timers_dirty) {
        size_t cnt = 0;
        for (uint32_t i = 0; i < p->names_known; i++)
            cnt += p->by_id[i] != NULL;
        timer_stats **arr = realloc(p->info.timers, (cnt ? cnt : 1) * sizeof *arr);
        if (arr) {
            size_t j = 0;
            for (uint32_t i = 0; i < p->names_known; i++)
                if (p->by_id[i])
                    arr[j++] = p->by_id[i];
            qsort(arr, cnt, sizeof *arr, timer_cmp);
            p->info.timers = arr;
            p->info.ntimers = cnt;
            p->timers_dirty = 0;
        }
    }
}

/* ---- draining ---------------------------------------------------------------------------------- */

static inline void lost_add(proc *p, uint32_t id, int64_t delta)
{
    timer_stats *t = p->by_id[id];
    if (!t || delta == 0)
        return;
    t->lost_total = (int64_t)t->lost_total + delta < 0 ? 0 : t->lost_total + (uint64_t)delta;
    t->lost_interval = (int64_t)t->lost_interval + delta < 0 ? 0 : t->lost_interval + (uint64_t)delta;
}

/* Accounts one delivered record of name `id` with sequence number seq (low 32 bits). Returns 0
 * for a record that goes backwards in its name's sequence (corrupt: the caller skips it). */
static inline int seq_deliver(proc *p, name_slot *ns, uint32_t id, uint32_t seq)
{
    uint32_t step = (uint32_t)(seq - (uint32_t)ns->dseq);
    if (ns->delivered && (step == 0 || step >= 0x80000000u)) {
        p->info.corrupt_records++;
        return 0;
    }
    int64_t before = (int64_t)(ns->known - ns->delivered);
    uint64_t full = ns->dseq + step;
    ns->dseq = full;
    ns->delivered++;
    if (full > ns->known)
        ns->known = full;
    if (ns->known < ns->delivered)
        ns->known = ns->delivered;
    lost_add(p, id, (int64_t)(ns->known - ns->delivered) - before);
    return 1;
}

static void deliver_span(collector *c, proc *p, const tks_record *r, name_slot *ns, uint32_t id)
{
    timer_stats *t = p->by_id[id];
    if (!seq_deliver(p, &ns[id], id, r->seq) || !t)
        return;
    const double k = p->ns_per_tick;
    uint64_t proc_ns = r->b >= r->a ? tks_ticks_to_ns(r->b - r->a, k) : 0;
    proc_ns = proc_ns > c->opt.overhead_ns ? proc_ns - c->opt.overhead_ns : 0;
    hist_record(t->interval[KIND_PROCESSING], proc_ns);
    if (r->c) {
        uint64_t lat = r->a >= r->c ? tks_ticks_to_ns(r->a - r->c, k) : 0;
        hist_record(t->interval[KIND_LATENCY], lat);
    }
    if (r->b > p->last_ticks[id])
        p->last_ticks[id] = r->b;
}

/* Delivers a point and its continuations buf[0..]; returns records consumed, or 0 when the point
 * continues past `avail` records (read it with the next chunk). */
static size_t deliver_point(collector *c, proc *p, const tks_record *buf, size_t avail,
                            name_slot *ns, uint32_t id, const tks_ring_header *rh)
{
    if (avail < 2)
        return 0;
    tks_point_ext e;
    memcpy(&e, &buf[1], sizeof e);
    if (TKS_TAG_TYPE(e.tag) != TKS_REC_POINT_EXT || e.nrec < 1 || e.nrec > 3 ||
        e.ctx_len > 72) {
        p->info.corrupt_records++;
        return 1;
    }
    if (avail < (size_t)1 + e.nrec)
        return 0;
    if (!seq_deliver(p, &ns[id], id, buf[0].seq))
        return (size_t)1 + e.nrec;
    p->info.points++;
    if (buf[0].a > p->last_ticks[id])
        p->last_ticks[id] = buf[0].a;
    if (c->point_fn) {
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
        collector_point pt = {p->info.pid, __atomic_load_n(&rh->tid, __ATOMIC_RELAXED),
                              p->names[id], to_mono(p, buf[0].a), buf[0].b, buf[0].c,
                              e.session, ctx, got};
        if (c->ordered)
            held_push(c, &pt);
        else
            c->point_fn(c->point_ctx, &pt);
    }
    return (size_t)1 + e.nrec;
}

/* Reads ring ri from its tail to its head. The slot of record head - capacity is never read: the
 * writer may be overwriting it with record head (even a writer killed mid-record leaves it torn).
 * Returns records read. */
static uint64_t ring_drain(collector *c, proc *p, uint32_t ri)
{
    const char *base = p->mem + p->rings_off + (uint64_t)ri * p->stride;
    const tks_ring_header *rh = (const tks_ring_header *)base;
    const uint64_t *counters = (const uint64_t *)(base + p->counters_off);
    const tks_record *slots = (const tks_record *)(base + p->slots_off);
    ring_view *rv = &p->rings[ri];
    const uint64_t cap = p->cap, mask = cap - 1, keep = cap - 1;
    uint64_t read = 0;

    if (!rv->names) {
        rv->names = calloc(p->max_names, sizeof *rv->names);
        if (!rv->names)
            return 0;
        rv->snap_head = UINT64_MAX;
    }
    name_slot *ns = rv->names;
    uint64_t head = __atomic_load_n(&rh->head, __ATOMIC_ACQUIRE);
    if (head < rv->tail) { /* a head that goes back is corrupt: start over from it */
        p->info.corrupt_records++;
        rv->tail = head;
    }
    while (rv->tail < head) {
        uint64_t start = rv->tail;
        if (head - start > keep)
            start = head - keep; /* older records were overwritten: lost, counted by sequence */
        uint64_t n = head - start < CHUNK_RECORDS ? head - start : CHUNK_RECORDS;
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
            if (id >= p->names_known) {
                p->info.corrupt_records++;
                i++;
                continue;
            }
            if (type == TKS_REC_SPAN && p->kinds[id] == TKS_NAME_TIMER) {
                deliver_span(c, p, r, ns, id);
                i++;
            } else if (type == TKS_REC_POINT && p->kinds[id] == TKS_NAME_LABEL) {
                size_t used = deliver_point(c, p, r, (size_t)(n - i), ns, id, rh);
                if (used == 0) {
                    if (start + n < head || i > 0) { /* finish it with the next chunk */
                        done = i;
                        break;
                    }
                    p->info.corrupt_records++; /* a point cut by head itself: corrupt */
                    used = 1;
                }
                i += used;
            } else if (type == TKS_REC_POINT_EXT) {
                i++; /* an orphan continuation (its point was overwritten) */
            } else {
                p->info.corrupt_records++;
                i++;
            }
        }
        read += done;
        rv->tail = start + done;
    }
    /* When everything published was read and the writer did not move meanwhile, the counters are
     * a consistent snapshot: records counted there but never delivered were lost. A snapshot at
     * the same head as the last one can't tell anything new (a counter that was still being
     * stored then belongs to a record whose sequence number was read). */
    uint32_t nn = p->names_known;
    if (rv->tail == rv->snap_head && nn == rv->snap_names)
        return read;
    for (uint32_t id = 0; id < nn; id++)
        c->counter_buf[id] = __atomic_load_n(&counters[id], __ATOMIC_RELAXED);
    TKS_FENCE_ACQUIRE();
    if (__atomic_load_n(&rh->head, __ATOMIC_RELAXED) == rv->tail) {
        rv->snap_head = rv->tail;
        rv->snap_names = nn;
        for (uint32_t id = 0; id < nn; id++) {
            if (c->counter_buf[id] > ns[id].known) {
                lost_add(p, id, (int64_t)(c->counter_buf[id] - ns[id].known));
                ns[id].known = c->counter_buf[id];
            }
        }
    }
    return read;
}

/* Is the producer still running? Dead when its pid is gone or was reused by another program. */
static int proc_alive(const proc *p)
{
    if (kill(p->info.pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (p->proc_starttime) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", p->info.pid);
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

static uint64_t proc_drain(collector *c, proc *p)
{
    if (p->info.state == PROC_EXITED || p->broken)
        return 0;
    const tks_header *h = (const tks_header *)p->mem;
    int alive = proc_alive(p); /* before draining: a dead writer adds nothing after this */
    volatile uint64_t read = 0; /* survives a siglongjmp from the SIGBUS guard */
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1) == 0) {
        segment_guard_set(&jb);
        calib_refresh(c, p);
        names_refresh(c, p);
        uint32_t rings = __atomic_load_n(&h->ring_count, __ATOMIC_ACQUIRE);
        if (rings > p->max_rings)
            rings = p->max_rings;
        p->info.rings_used = rings;
        for (uint32_t ri = 0; ri < rings; ri++)
            read += ring_drain(c, p, ri);
        p->info.heartbeat_mono_ns = __atomic_load_n(&h->heartbeat_mono_ns, __ATOMIC_RELAXED);
        p->info.dropped_no_ring = __atomic_load_n(&h->dropped_no_ring, __ATOMIC_RELAXED);
        p->info.exit_mono_ns = __atomic_load_n(&h->exit_mono_ns, __ATOMIC_RELAXED);
    } else {
        p->broken = 1;
        if (!c->opt.quiet)
            fprintf(stderr, "timekeeper: %s was truncated while being read; detached\n",
                    p->info.path);
    }
    segment_guard_set(NULL);
    uint64_t newest = 0;
    for (uint32_t id = 0; id < p->names_known; id++) {
        if (!p->last_ticks[id])
            continue;
        if (p->by_id[id])
            p->by_id[id]->last_mono_ns = to_mono(p, p->last_ticks[id]);
        if (p->last_ticks[id] > newest)
            newest = p->last_ticks[id];
    }
    if (newest)
        p->info.last_record_mono_ns = to_mono(p, newest);
    if (!alive || p->broken) {
        p->info.state = PROC_EXITED;
        if (!c->opt.keep && !p->broken)
            unlink(p->info.path);
    }
    return read;
}

uint64_t collector_drain(collector *c)
{
    uint64_t start = collector_now_ns(), n = 0;
    for (size_t i = 0; i < c->nprocs; i++)
        n += proc_drain(c, c->procs[i]);
    /* every ring was read after `start`: a point older than that (less a margin for conversion
     * error) can no longer be overtaken by an older one */
    if (c->ordered && c->point_fn)
        held_release(c, start > 1000000u ? start - 1000000u : 0);
    return n;
}

void collector_rollover(collector *c)
{
    for (size_t i = 0; i < c->nprocs; i++) {
        process_info *pi = &c->procs[i]->info;
        for (size_t j = 0; j < pi->ntimers; j++) {
            timer_stats *t = pi->timers[j];
            for (int k = 0; k < KIND_COUNT; k++) {
                if (hist_count(t->interval[k]))
                    hist_merge(t->total[k], t->interval[k]);
                hist_reset(t->interval[k]);
            }
            t->lost_interval = 0;
        }
    }
}

void collector_forget_exited(collector *c)
{
    collector_flush_points(c); /* held points name labels of the processes about to go */
    size_t j = 0;
    for (size_t i = 0; i < c->nprocs; i++) {
        if (c->procs[i]->info.state == PROC_EXITED)
            proc_free(c->procs[i]);
        else
            c->procs[j++] = c->procs[i];
    }
    c->nprocs = j;
}
