/* core/driver.c — the one schedule: discover at once on inotify and rescan every second, drain
 * every 10 ms, end intervals. Fits a caller's poll loop (fd + timeout + tick). */
#include "core/driver.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DRAIN_NS 10000000ull
#define DEFAULT_RESCAN_NS 1000000000ull

struct tkc_driver {
    tkc_core *core;
    tkc_driver_options o;
    uint64_t started, next_drain, next_rescan, interval_start;
};

tkc_driver *tkc_driver_new(tkc_core *core, const tkc_driver_options *opts)
{
    tkc_driver *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->core = core;
    if (opts)
        d->o = *opts;
    if (!d->o.drain_ns)
        d->o.drain_ns = DEFAULT_DRAIN_NS;
    if (!d->o.rescan_ns)
        d->o.rescan_ns = DEFAULT_RESCAN_NS;
    uint64_t now = tkc_now_ns();
    d->started = d->interval_start = now;
    d->next_drain = now;   /* the first tick scans and drains at once */
    d->next_rescan = now;
    return d;
}

void tkc_driver_free(tkc_driver *d) { free(d); }
int tkc_driver_fd(const tkc_driver *d) { return tkc_core_watch_fd(d->core); }
uint64_t tkc_driver_interval_start(const tkc_driver *d) { return d->interval_start; }
uint64_t tkc_driver_started(const tkc_driver *d) { return d->started; }

void tkc_driver_set_interval(tkc_driver *d, uint64_t interval_ns)
{
    d->o.interval_ns = interval_ns;
    d->interval_start = tkc_now_ns();
}

static uint64_t next_due(const tkc_driver *d)
{
    uint64_t t = d->next_drain < d->next_rescan ? d->next_drain : d->next_rescan;
    if (d->o.interval_ns && d->interval_start + d->o.interval_ns < t)
        t = d->interval_start + d->o.interval_ns;
    return t;
}

int tkc_driver_timeout_ms(const tkc_driver *d, uint64_t now)
{
    uint64_t t = next_due(d);
    if (t <= now)
        return 0;
    uint64_t ms = (t - now + 999999u) / 1000000u;
    return ms > 1000 ? 1000 : (int)ms;
}

unsigned tkc_driver_tick(tkc_driver *d, uint64_t now)
{
    unsigned did = 0;
    if (now >= d->next_rescan) {
        tkc_core_scan(d->core);
        d->next_rescan = now + d->o.rescan_ns;
        did |= TKC_TICK_SCANNED;
    } else if (tkc_core_watch_fd(d->core) >= 0) {
        size_t before = tkc_core_proc_count(d->core);
        if (tkc_core_scan_new(d->core) != before)
            d->next_drain = now; /* a new process: read its first records at once */
    }
    int interval_due = d->o.interval_ns && now >= d->interval_start + d->o.interval_ns;
    if (now >= d->next_drain || interval_due) {
        tkc_core_drain(d->core);
        d->next_drain = now + d->o.drain_ns;
        did |= TKC_TICK_DRAINED;
    }
    if (interval_due) {
        d->interval_start += d->o.interval_ns;
        if (d->interval_start + d->o.interval_ns <= now) /* late by more than an interval */
            d->interval_start = now;
        did |= TKC_TICK_INTERVAL;
    }
    return did;
}

void tkc_driver_flush(tkc_driver *d)
{
    tkc_core_scan(d->core);
    tkc_core_drain(d->core);
}

unsigned tkc_driver_wait(tkc_driver *d, uint64_t until)
{
    uint64_t now = tkc_now_ns();
    int ms = tkc_driver_timeout_ms(d, now);
    if (until) {
        uint64_t left = until > now ? (until - now + 999999u) / 1000000u : 0;
        if ((uint64_t)ms > left)
            ms = (int)left;
    }
    if (ms > 0 && !tkc_signal_received()) {
        struct pollfd pfd = {tkc_driver_fd(d), POLLIN, 0};
        poll(&pfd, pfd.fd >= 0 ? 1 : 0, ms);
    }
    return tkc_driver_tick(d, tkc_now_ns());
}

/* ---- signals ------------------------------------------------------------------------------------ */

static volatile sig_atomic_t received;
static void on_signal(int sig) { received = sig; }

void tkc_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll and sleeps return early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int tkc_signal_received(void) { return received; }
