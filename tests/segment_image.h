/* segment_image.h — builds small, valid segment images in memory from format/segment.h, so
 * tests (and the fuzz target's seed writer) can mutate any field before writing the file. An image
 * uses the tightest layout the format allows (one header, max_names names, max_rings rings of
 * ring_capacity records), CLOCK_MONOTONIC ticks (1 tick = 1 ns) and one calibration sample. */
#ifndef TK_TESTS_SEGMENT_IMAGE_H
#define TK_TESTS_SEGMENT_IMAGE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/segment.h"

/* A pid that can't exist (above any pid_max): kill(pid, 0) says ESRCH, so the collector treats the
 * producer as dead and drains its rings to the end. */
#define SEG_DEAD_PID 2147483000u
/* The first tick of a synthetic image; records are stamped from here. */
#define SEG_T0 1000000000ull

typedef struct seg_image {
    uint8_t *mem;
    size_t size;
} seg_image;

static inline uint64_t seg_round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static inline tks_header *seg_hdr(const seg_image *im) { return (tks_header *)im->mem; }

/* Allocates and fills a valid image (state LIVE, owner geteuid()). Returns 0 or -1 (no memory). */
static inline int seg_image_init(seg_image *im, uint32_t max_names, uint32_t max_rings, uint32_t cap,
                                 uint32_t pid)
{
    const uint64_t names_off = TKS_HEADER_SIZE;
    const uint64_t rings_off = seg_round_up(names_off + (uint64_t)max_names * TKS_NAME_ENTRY_SIZE, 64);
    const uint64_t counters_off = TKS_RING_HEADER_SIZE;
    const uint64_t slots_off = seg_round_up(counters_off + (uint64_t)max_names * 8u, 32);
    const uint64_t stride = seg_round_up(slots_off + (uint64_t)cap * TKS_RECORD_SIZE, 64);
    im->size = (size_t)(rings_off + (uint64_t)max_rings * stride);
    im->mem = calloc(1, im->size);
    if (!im->mem)
        return -1;
    tks_header *h = seg_hdr(im);
    memcpy(h->magic, TKS_MAGIC, 8);
    h->version = TKS_VERSION;
    h->header_size = TKS_HEADER_SIZE;
    h->segment_size = im->size;
    h->state = TKS_STATE_LIVE;
    h->pid = pid;
    h->uid = (uint32_t)geteuid();
    h->clock_source = 3; /* TK_CLOCK_MONOTONIC */
    h->record_size = TKS_RECORD_SIZE;
    h->max_names = max_names;
    h->max_rings = max_rings;
    h->ring_capacity = cap;
    h->names_offset = names_off;
    h->rings_offset = rings_off;
    h->ring_stride = stride;
    h->counters_offset = counters_off;
    h->slots_offset = slots_off;
    h->start_ticks = h->start_mono_ns = SEG_T0;
    h->start_real_ns = 1700000000000000000ull;
    h->calib[0] = (tks_calib){SEG_T0, SEG_T0, h->start_real_ns};
    h->calib_count = 1;
    h->heartbeat_mono_ns = SEG_T0;
    memcpy(h->process, "synthetic", 10);
    memcpy(h->cmdline, "synthetic --test", 17);
    tks_name *n0 = (tks_name *)(im->mem + names_off);
    n0->kind = TKS_NAME_TIMER;
    n0->len = 9;
    memcpy(n0->name, "(invalid)", 10);
    h->name_count = 1;
    return 0;
}

static inline void seg_image_free(seg_image *im)
{
    free(im->mem);
    im->mem = NULL;
}

static inline tks_name *seg_name(const seg_image *im, uint32_t id)
{
    return (tks_name *)(im->mem + seg_hdr(im)->names_offset) + id;
}

/* Appends a name of `kind` (TKS_NAME_*) to the table; returns its id. */
static inline uint32_t seg_add_name(seg_image *im, int kind, const char *name)
{
    tks_header *h = seg_hdr(im);
    uint32_t id = h->name_count++;
    tks_name *e = seg_name(im, id);
    size_t len = strlen(name);
    e->kind = (uint16_t)kind;
    e->len = (uint16_t)len;
    memcpy(e->name, name, len + 1);
    return id;
}

static inline tks_ring_header *seg_ring(const seg_image *im, uint32_t ri)
{
    const tks_header *h = seg_hdr(im);
    return (tks_ring_header *)(im->mem + h->rings_offset + (uint64_t)ri * h->ring_stride);
}

static inline uint64_t *seg_counters(const seg_image *im, uint32_t ri)
{
    return (uint64_t *)((uint8_t *)seg_ring(im, ri) + seg_hdr(im)->counters_offset);
}

/* The slot that record `index` of ring ri lives in. */
static inline tks_record *seg_slot(const seg_image *im, uint32_t ri, uint64_t index)
{
    const tks_header *h = seg_hdr(im);
    tks_record *slots = (tks_record *)((uint8_t *)seg_ring(im, ri) + h->slots_offset);
    return &slots[index & (h->ring_capacity - 1)];
}

/* Claims ring ri (as a thread's first record would) if nobody did. */
static inline void seg_claim(seg_image *im, uint32_t ri)
{
    tks_header *h = seg_hdr(im);
    tks_ring_header *rh = seg_ring(im, ri);
    if (rh->state == TKS_RING_FREE) {
        rh->state = TKS_RING_OWNED;
        rh->tid = 4242 + ri;
        rh->owner_gen = 1;
        memcpy(rh->thread_name, "synth", 6);
    }
    if (h->ring_count < ri + 1)
        h->ring_count = ri + 1;
}

/* Writes a raw record at the ring's head and publishes it (no counter update). */
static inline void seg_put_raw(seg_image *im, uint32_t ri, tks_record r)
{
    seg_claim(im, ri);
    tks_ring_header *rh = seg_ring(im, ri);
    *seg_slot(im, ri, rh->head) = r;
    rh->head++;
}

/* Records a span of name `id` exactly as tk_record() does. */
static inline void seg_put_span(seg_image *im, uint32_t ri, uint32_t id, uint64_t start, uint64_t stop,
                                uint64_t origin)
{
    uint64_t n = ++seg_counters(im, ri)[id];
    seg_put_raw(im, ri, (tks_record){TKS_TAG(TKS_REC_SPAN, id), (uint32_t)n, start, stop, origin});
}

/* Records a point of label `id` with a context of len (<= 72) bytes, exactly as tk_point_at(). */
static inline void seg_put_point(seg_image *im, uint32_t ri, uint32_t id, uint64_t ticks, uint64_t client,
                                 uint64_t command, uint64_t session, const char *ctx, size_t len)
{
    const uint32_t more = len <= 16 ? 0 : (uint32_t)((len - 16 + 27) / 28);
    uint64_t n = ++seg_counters(im, ri)[id];
    seg_put_raw(im, ri, (tks_record){TKS_TAG(TKS_REC_POINT, id), (uint32_t)n, ticks, client, command});
    union {
        tks_point_ext e;
        tks_point_more m;
        tks_record r;
    } u;
    memset(&u, 0, sizeof u);
    u.e.tag = TKS_TAG(TKS_REC_POINT_EXT, 1);
    u.e.ctx_len = (uint16_t)len;
    u.e.nrec = (uint16_t)(1 + more);
    u.e.session = session;
    memcpy(u.e.ctx, ctx, len < 16 ? len : 16);
    seg_put_raw(im, ri, u.r);
    for (size_t off = 16, k = 0; k < more; k++) {
        memset(&u, 0, sizeof u);
        u.m.tag = TKS_TAG(TKS_REC_POINT_EXT, 2 + k);
        size_t chunk = len - off < 28 ? len - off : 28;
        memcpy(u.m.ctx, ctx + off, chunk);
        off += chunk;
        seg_put_raw(im, ri, u.r);
    }
}

/* Writes `size` bytes of mem to path (created 0600, replaced if it exists). Returns 0 or -1. */
static inline int seg_write_bytes(const void *mem, size_t size, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const uint8_t *p = mem;
    size_t left = size;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    return close(fd);
}

static inline int seg_write(const seg_image *im, const char *path)
{
    return seg_write_bytes(im->mem, im->size, path);
}

#endif
