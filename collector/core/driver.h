/* core/driver.h — the one schedule of every long-running command: discover segments (at once on
 * inotify, a full rescan every second as a fallback), drain every rings at most every 10 ms
 * whatever the reporting interval, and end intervals. It fits into the caller's own loop the way
 * libuv's uv_backend_timeout() does: poll tkc_driver_fd() (and your own fds) for at most
 * tkc_driver_timeout_ms(), then call tkc_driver_tick(). */
#ifndef TKC_DRIVER_H
#define TKC_DRIVER_H

#include <signal.h>
#include <stdint.h>

#include "core/core.h"

typedef struct tkc_driver tkc_driver;

typedef struct tkc_driver_options {
    uint64_t drain_ns;    /* period of drains; 0: 10 ms */
    uint64_t rescan_ns;   /* period of full rescans; 0: 1 s */
    uint64_t interval_ns; /* reporting interval; 0: none (tick never reports TKC_TICK_INTERVAL) */
} tkc_driver_options;

/* What tkc_driver_tick() did. */
enum {
    TKC_TICK_SCANNED = 1,   /* looked for new segments */
    TKC_TICK_DRAINED = 2,   /* drained every ring */
    TKC_TICK_INTERVAL = 4,  /* an interval ended (after a final drain): report it now */
};

/* Creates a driver over core (not owned). Returns NULL when out of memory. */
tkc_driver *tkc_driver_new(tkc_core *core, const tkc_driver_options *opts);
void tkc_driver_free(tkc_driver *d);
/* The fd to poll for readability (the core's inotify fd), -1: none. */
int tkc_driver_fd(const tkc_driver *d);
/* Milliseconds until the next thing is due (0: now), for poll(2) or getch timeouts. */
int tkc_driver_timeout_ms(const tkc_driver *d, uint64_t now_ns);
/* Does whatever is due at now_ns (CLOCK_MONOTONIC): scan, drain, end an interval. Returns
 * TKC_TICK_* bits. Can't fail. */
unsigned tkc_driver_tick(tkc_driver *d, uint64_t now_ns);
/* Starts of the current interval and of the driver (CLOCK_MONOTONIC ns). */
uint64_t tkc_driver_interval_start(const tkc_driver *d);
uint64_t tkc_driver_started(const tkc_driver *d);
/* Changes the interval from now on (the current interval restarts). */
void tkc_driver_set_interval(tkc_driver *d, uint64_t interval_ns);
/* Scans and drains now, whatever is due (before a final report). */
void tkc_driver_flush(tkc_driver *d);
/* Waits until something is due, the core's fd is readable, a signal arrives or until_ns passes
 * (0: no limit), then ticks. Returns the tick's bits. For commands without a loop of their own. */
unsigned tkc_driver_wait(tkc_driver *d, uint64_t until_ns);

/* ---- signals: one helper for every command ----------------------------------------------------- */
/* Installs SIGINT/SIGTERM/SIGHUP handlers that set a flag, without SA_RESTART so that poll and
 * sleeps return early. Can't fail. */
void tkc_signals_install(void);
/* The signal that asked to stop (0: none yet). */
int tkc_signal_received(void);

#endif
