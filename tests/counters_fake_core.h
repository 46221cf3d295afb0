/* counters_fake_core.h — for the counter tests: the few core functions that core/decode-counter.c
 * and agg/counters.c call, over a segment mapped read-only by the test (the real core is not
 * needed to check what they compute). */
#ifndef TK_COUNTERS_FAKE_CORE_H
#define TK_COUNTERS_FAKE_CORE_H

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg/counters.h"
#include "core/decode-counter.h"

struct tkc_decode_ctx {
    const char *mem;
    size_t size;
    tkc_proc proc;
    tka_counters *sink;  /* events go there */
    size_t events, corrupt;
};

int tkc_decode_read(tkc_decode_ctx *dc, uint64_t off, void *dst, size_t len)
{
    if (off > dc->size || len > dc->size - off)
        return -1;
    memcpy(dst, dc->mem + off, len);
    return 0;
}
void tkc_decode_emit(tkc_decode_ctx *dc, const tkc_event *e)
{
    dc->events++;
    if (dc->sink)
        tka_counters_event(dc->sink, &dc->proc, e);
}
const tkc_proc *tkc_decode_proc(const tkc_decode_ctx *dc) { return &dc->proc; }
void tkc_decode_corrupt(tkc_decode_ctx *dc) { dc->corrupt++; }

static const tkc_decode_ctx *fake_current;
static const tks_name *fake_names(const tkc_proc *p)
{
    (void)p;
    const tks_header *h = (const tks_header *)fake_current->mem;
    return (const tks_name *)(fake_current->mem + h->names_offset);
}
const char *tkc_proc_name(const tkc_proc *p, uint32_t id)
{
    return id < p->names_known ? fake_names(p)[id].name : "";
}
int tkc_proc_name_kind(const tkc_proc *p, uint32_t id)
{
    return id < p->names_known ? fake_names(p)[id].kind : 0;
}

/* Maps the segment at path read-only into dc (key 1). Returns 0 or -1. */
static int fake_attach(tkc_decode_ctx *dc, const char *path, tka_counters *sink)
{
    memset(dc, 0, sizeof *dc);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return -1;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    dc->mem = m;
    dc->size = (size_t)st.st_size;
    dc->sink = sink;
    dc->proc.key = 1;
    dc->proc.pid = (int)getpid();
    fake_current = dc;
    return 0;
}

/* One poll, as the core would do it after draining: names and rings refreshed, then the drain
 * pass ends. */
static size_t fake_poll(tkc_decode_ctx *dc)
{
    const tks_header *h = (const tks_header *)dc->mem;
    dc->proc.names_known = __atomic_load_n(&h->name_count, __ATOMIC_ACQUIRE);
    dc->proc.rings_used = __atomic_load_n(&h->ring_count, __ATOMIC_ACQUIRE);
    size_t n = tkc_counters_poll(dc, 1);
    if (dc->sink)
        tka_counters_drained(dc->sink, 1);
    return n;
}

static void fake_detach(tkc_decode_ctx *dc) { munmap((void *)dc->mem, dc->size); }

#endif
