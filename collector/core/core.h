/* core/core.h — the collector core: finds segments (inotify and a periodic rescan), maps them
 * read-only, validates them once, drains their rings with exact loss accounting and emits events
 * (core/events.h) to the consumers subscribed to it. */
#ifndef TKC_CORE_H
#define TKC_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/events.h"

typedef struct tkc_core tkc_core;

typedef struct tkc_core_options {
    const char *dir;   /* segments directory; NULL: $TK_DIR or /dev/shm */
    int pid;           /* nonzero: only this process */
    int quiet;         /* nonzero: no warnings about bad segments on stderr */
    uint64_t retry_ns; /* a segment that failed a check is checked again after this; 0: 10 s */
} tkc_core_options;

#define TKC_MAX_CONSUMERS 16

/* Creates a core. Returns 0, -ENOMEM, or -ENAMETOOLONG for a directory name that does not fit. */
int tkc_core_open(const tkc_core_options *opts, tkc_core **out);
/* Frees the core; consumers get proc_gone for every process first. NULL is allowed. */
void tkc_core_close(tkc_core *c);
/* Adds a consumer (copied). Returns 0, or -ENOSPC past TKC_MAX_CONSUMERS. Processes already
 * attached are announced to it (proc_appeared) before this returns. */
int tkc_core_subscribe(tkc_core *c, const tkc_consumer *cons);
/* Points are delivered ring by ring as they are drained, so points of different threads may come
 * out of time order. With ordered = 1 the core holds points back and delivers them sorted by time
 * once every ring has been drained past them (at the drain after the one that read them). */
void tkc_core_order_points(tkc_core *c, int ordered);
/* Delivers the points still held back (ordered mode). */
void tkc_core_flush_points(tkc_core *c);

/* The segment directory in use. */
const char *tkc_core_dir(const tkc_core *c);
/* A file descriptor that becomes readable when a segment may have appeared (inotify), -1 when
 * the directory can't be watched (the periodic rescan still finds everything). */
int tkc_core_watch_fd(const tkc_core *c);
/* Checks that the directory exists and can be read. Returns 0 or a negative errno. */
int tkc_core_check_dir(const tkc_core *c);

/* Finds segments that appeared since the last scan and attaches them (a bad segment is reported
 * once on stderr and skipped). Reads pending inotify events too. Returns processes attached. */
size_t tkc_core_scan(tkc_core *c);
/* Attaches only the segments inotify reported since the last call (a full scan when its queue
 * overflowed). Cheap: no directory read. Returns processes attached. */
size_t tkc_core_scan_new(tkc_core *c);
/* Drains every ring of every attached process and emits the events. A process found dead is
 * drained to its last complete record and marked exited (proc_exited). Never deletes a segment.
 * Returns the number of records read. Can't fail. */
uint64_t tkc_core_drain(tkc_core *c);
/* Frees processes marked exited (consumers get proc_gone). */
void tkc_core_forget_exited(tkc_core *c);

/* Removes p's segment file, only if the file at its path is still the one attached (same
 * device and inode) and reading it never faulted. Returns 0, -ESTALE when another file has the
 * name, -EIO for a segment that faulted (kept for a person to look at), or a negative errno. For
 * commands that own the retention of dead segments (clean, a recorder); viewers never call it. */
int tkc_core_remove_segment(tkc_core *c, const tkc_proc *p);

size_t tkc_core_proc_count(const tkc_core *c);
const tkc_proc *tkc_core_proc(const tkc_core *c, size_t i);


#endif
