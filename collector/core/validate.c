/* core/validate.c — validation of an untrusted segment image, and the SIGBUS guard for reading a mapping
 * whose file another process may truncate. */
#include "core/validate.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* a + b * c <= limit, without overflow */
static int fits(uint64_t a, uint64_t b, uint64_t c, uint64_t limit)
{
    uint64_t m, s;
    if (__builtin_mul_overflow(b, c, &m) || __builtin_add_overflow(a, m, &s))
        return 0;
    return s <= limit;
}

int segment_validate(const void *mem, size_t size, char *why, size_t whylen)
{
    if (!mem || size < sizeof(tks_header))
        return fail(why, whylen, "truncated: %zu bytes, a header needs %zu", size,
                    sizeof(tks_header));
    tks_header h;
    memcpy(&h, mem, sizeof h); /* one snapshot: the fields can't change between checks */
    return segment_validate_header(&h, size, why, whylen);
}

int segment_validate_header(const tks_header *hp, size_t size, char *why, size_t whylen)
{
    const tks_header h = *hp;
    if (memcmp(h.magic, TKS_MAGIC, 8) != 0)
        return fail(why, whylen, "not a timekeeper segment (bad magic)");
    if (h.version != TKS_VERSION)
        return fail(why, whylen, "layout version %u, this collector reads %u", h.version,
                    TKS_VERSION);
    if (h.header_size != TKS_HEADER_SIZE || h.record_size != TKS_RECORD_SIZE)
        return fail(why, whylen, "header size %u / record size %u not %u / %u", h.header_size,
                    h.record_size, TKS_HEADER_SIZE, TKS_RECORD_SIZE);
    if (h.segment_size > size)
        return fail(why, whylen, "truncated: header says %llu bytes, file has %zu",
                    (unsigned long long)h.segment_size, size);
    if (h.state > TKS_STATE_EXITED)
        return fail(why, whylen, "bad state %u", h.state);
    if (h.max_names < 1 || h.max_names > TKS_MAX_NAMES_LIMIT)
        return fail(why, whylen, "bad name table size %u", h.max_names);
    if (h.max_rings < 1 || h.max_rings > TKS_MAX_RINGS_LIMIT)
        return fail(why, whylen, "bad ring count %u", h.max_rings);
    uint32_t cap = h.ring_capacity;
    if (cap < TKS_RING_CAP_MIN || cap > TKS_RING_CAP_MAX || (cap & (cap - 1)))
        return fail(why, whylen, "bad ring capacity %u", cap);
    if (h.names_offset < TKS_HEADER_SIZE || h.names_offset % 8 ||
        !fits(h.names_offset, h.max_names, TKS_NAME_ENTRY_SIZE, h.rings_offset))
        return fail(why, whylen, "name table outside its place");
    if (h.rings_offset % 64 || h.ring_stride % 64 ||
        !fits(h.rings_offset, h.max_rings, h.ring_stride, h.segment_size))
        return fail(why, whylen, "rings outside the segment");
    if (h.counters_offset < TKS_RING_HEADER_SIZE || h.counters_offset % 8 ||
        !fits(h.counters_offset, h.max_names, 8, h.slots_offset))
        return fail(why, whylen, "ring counters outside their place");
    if (h.slots_offset % 32 || !fits(h.slots_offset, cap, TKS_RECORD_SIZE, h.ring_stride))
        return fail(why, whylen, "ring slots outside the ring");
    if (h.clock_source < 1 || h.clock_source > 3)
        return fail(why, whylen, "bad clock source %u", h.clock_source);
    if (h.features_incompat & ~TKS_FEATURES_INCOMPAT_KNOWN)
        return fail(why, whylen, "written by a newer producer (incompatible features %#llx): "
                    "update this collector", (unsigned long long)(h.features_incompat &
                                                              ~TKS_FEATURES_INCOMPAT_KNOWN));
    return 0;
}

/* ---- SIGBUS guard ------------------------------------------------------------------------------ */

static __thread sigjmp_buf *guard_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (guard_jmp)
        siglongjmp(*guard_jmp, 1);
    /* not ours: restore the default action and re-raise */
    signal(sig, SIG_DFL);
    raise(sig);
}

void segment_guard_install(void)
{
    struct sigaction sa, old;
    /* (re)installs when someone else replaced the handler since (a test harness, faulthandler) */
    if (sigaction(SIGBUS, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) &&
        old.sa_sigaction == on_sigbus)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void segment_guard_set(sigjmp_buf *jb) { guard_jmp = jb; }
