/* core/procstat.h — resource samples of a process from /proc: CPU time, RSS, threads, context
 * switches, I/O bytes, and the machine's logical cores. Two samples give the rates of an interval
 * (CPU % per core as `top` shows it: 100 = one core busy). */
#ifndef TKC_PROCSTAT_H
#define TKC_PROCSTAT_H

#include <stdint.h>

typedef struct tkc_procstat {
    uint64_t mono_ns;          /* when taken (CLOCK_MONOTONIC) */
    uint64_t utime_ns, stime_ns; /* CPU time in user and kernel mode since the process started */
    uint64_t rss_bytes;        /* resident set size */
    uint32_t threads;
    uint32_t cores;            /* logical cores online on the machine */
    uint64_t voluntary_cs, involuntary_cs; /* context switches, summed over threads */
    uint64_t read_bytes, write_bytes;      /* bytes read and written through syscalls (rchar,
                                            * wchar of /proc/<pid>/io) */
    int have_cs, have_io;      /* 0: that file could not be read (permissions) */
} tkc_procstat;

/* The rates between two samples of one process. */
typedef struct tkc_procstat_rates {
    double seconds;            /* between the samples */
    double cpu_pct;            /* user + system, % of one core (can exceed 100) */
    double user_pct, sys_pct;
    uint64_t rss_bytes;        /* of the newer sample */
    uint32_t threads, cores;
    uint64_t voluntary_cs, involuntary_cs;  /* during the interval */
    uint64_t read_bytes, write_bytes;       /* during the interval */
} tkc_procstat_rates;

/* Samples process pid. Reads /proc/<pid>/stat, status and io with plain read(2) into a stack
 * buffer (no allocation). Returns 0, -ESRCH when the process is gone, or another negative errno
 * when /proc/<pid>/stat can't be read or parsed. A status or io file that can't be read leaves
 * have_cs / have_io at 0. Thread-safe. */
int tkc_procstat_read(int pid, tkc_procstat *out);
/* The rates from prev to cur (cur newer). Counts that went back give 0. Can't fail. */
void tkc_procstat_diff(const tkc_procstat *prev, const tkc_procstat *cur, tkc_procstat_rates *out);

#endif
