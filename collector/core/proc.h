/* core/proc.h — the core's private state of one attached process and its rings. Only the core
 * include it; everything else sees the public tkc_proc (core/events.h). */
#ifndef TKC_PROC_H
#define TKC_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/events.h"
#include "format/segment.h"

/* Reader state for one (ring, name) pair: the counts behind exact loss accounting.
 * known: how many records of the name the ring ever held, as far as we know (from record
 * sequence numbers and quiescent counter snapshots); delivered: how many we read. */
typedef struct name_slot {
    uint64_t known, delivered, dseq;
} name_slot;

typedef struct ring_view {
    uint64_t tail;       /* next record index to read */
    uint64_t snap_head;  /* head at the last consistent counter snapshot, UINT64_MAX: none */
    uint32_t snap_names; /* names known at that snapshot */
    int drained;         /* read to its head once: later losses are overruns */
    int whole;           /* every slot of the ring holds data (no hole): no more hole checks */
    uint32_t names_cap;  /* entries of names */
    uint32_t tid;
    char thread_name[16];
    name_slot *names;    /* names_cap entries, grown with the names the process publishes */
} ring_view;

typedef struct cproc {
    tkc_proc pub;        /* first: a tkc_proc * is a cproc * */
    char *path;
    char name[64];
    char cmdline[256];
    const char *mem;
    size_t size;
    dev_t dev;
    ino_t ino;
    uint64_t proc_starttime;
    /* the layout, from the private copy of the header validated at attach */
    uint32_t max_names, max_rings, cap;
    uint64_t names_off, rings_off, stride, counters_off, slots_off;
    int fd;                /* the segment, read-only: to tell data from holes (SEEK_HOLE) */
    tks_header layout;     /* the private copy of the header validated at attach */
    uint32_t names_cap;    /* entries of names, kinds and last_ticks: grown as names appear, so
                            * memory follows what the segment holds, not what it claims */
    char (*names)[56];
    uint8_t *kinds;
    uint64_t *last_ticks;  /* per name id: newest tick, for last_record_mono_ns */
    ring_view *rings;
    tks_calib calib[TKS_CALIB_SLOTS];
    size_t ncalib;
    size_t calib_hint;     /* the bracket of the last conversion */
    double ns_per_tick;
    uint64_t lost[TKC_LOSS_REASONS];
    int broken;            /* a read faulted, or the layout changed under us: detached */
} cproc;

#endif
