/* point.c — labeled points: one point record plus 1..3 continuation records in the ring, and the
 * optional TIMING text line (TK_TIMING=1). */
#include "internal.h"
#include "point-fast.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

tk_label_t tk_label(const char *name)
{
    int id = tk__name_register(name, TKS_NAME_LABEL, 0);
    if (id < 0) {
        if (id != TK_EFULL) /* a full table is told once, by the registry */
            tk__warn("timekeeper: label '%.60s': %s\n", name ? name : "(null)", tk_strerror(id));
        return 0;
    }
    return (tk_label_t)id;
}

/* ---- writes that never block ------------------------------------------------------------------- */

/* A descriptor of the same pipe, terminal or socket as fd whose writes never block. O_NONBLOCK is
 * a property of the open file description, which a dup() shares with the program's own stderr, so
 * a pipe or terminal is opened anew through /proc/self/fd (a description of our own); a socket is
 * written with MSG_DONTWAIT instead; a regular file never waits for a reader. Returns the fd to
 * write (fd itself when nothing better exists) and sets *sock. */
static int nonblocking_twin(int fd, int *sock)
{
    struct stat st;
    *sock = 0;
    if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode))
        return fd;
    if (S_ISSOCK(st.st_mode)) {
        *sock = 1;
        return fd;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        return fd;
    char path[40];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    return nfd >= 0 ? nfd : fd;
}

/* Writes buf whole or not at all, never waiting. Returns 0, or -1 when the line was dropped. A
 * line up to PIPE_BUF bytes goes into a pipe in one piece or fails with EAGAIN. */
static int write_nowait(int fd, int sock, const char *buf, size_t len)
{
    for (;;) {
        ssize_t w = sock ? send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if ((size_t)w == len)
            return 0;
        buf += w; /* a short write (regular file, socket): the rest, still without waiting */
        len -= (size_t)w;
    }
}

/* The warning descriptor, opened at the first warning; no lock (one more to carry over fork):
 * the first thread to publish wins, a loser closes its own. Packed as fd * 2 + sock, -1: none yet. */
static int warn_fd_sock = -1;

void tk__warn(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) { /* cut, but still one whole line */
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    int packed = __atomic_load_n(&warn_fd_sock, __ATOMIC_ACQUIRE);
    if (packed < 0) {
        int sock, fd = nonblocking_twin(STDERR_FILENO, &sock), want = fd * 2 + sock, none = -1;
        if (__atomic_compare_exchange_n(&warn_fd_sock, &none, want, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            packed = want;
        } else {
            if (fd != STDERR_FILENO)
                close(fd);
            packed = none;
        }
    }
    (void)write_nowait(packed / 2, packed & 1, line, (size_t)n);
}

void tk__timing_open(void)
{
    const char *file = getenv("TK_TIMING_FILE");
    int fd = -1;
    if (file && *file) {
        /* O_NONBLOCK: a FIFO nobody reads fails here instead of waiting */
        fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd < 0)
            tk__warn("timekeeper: cannot open TK_TIMING_FILE=%s: %s; using stderr\n", file,
                    strerror(errno));
    }
    if (fd < 0)
        fd = STDERR_FILENO;
    tk__g.timing_fd = nonblocking_twin(fd, &tk__g.timing_sock);
}

int tk_timing_text_enabled(void)
{
    tk__ensure_init();
    return tk__g.timing_fd >= 0;
}

static char *put_id(char *p, uint64_t v)
{
    if (v == TK_ID_NONE) {
        *p++ = '-';
        return p;
    }
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* One write(2) per line, so lines from many threads never interleave within a line (a pipe keeps
 * writes up to PIPE_BUF whole; an O_APPEND file keeps each write together). The write never
 * waits: a line that does not fit into the pipe now is dropped and counted (health.timing_dropped). */
void tk__timing_write(uint32_t label, uint64_t ticks, uint64_t client, uint64_t command,
                      uint64_t session, const char *ctx, size_t len)
{
    char line[4096];
    const char *name = tk__name_of(label);
    if (len > 1024)
        len = 1024;
    char *p = line;
    memcpy(p, "TIMING,", 7);
    p += 7;
    size_t nl = strlen(name);
    memcpy(p, name, nl);
    p += nl;
    *p++ = ',';
    p = put_id(p, tk_ticks_to_ns(ticks));
    *p++ = ',';
    p = put_id(p, client);
    *p++ = ',';
    p = put_id(p, command);
    *p++ = ',';
    p = put_id(p, session);
    *p++ = ',';
    for (size_t i = 0; i < len; i++) /* a newline would break the line format */
        *p++ = (ctx[i] == '\n' || ctx[i] == '\r') ? ' ' : ctx[i];
    *p++ = '\n';
    if (write_nowait(tk__g.timing_fd, tk__g.timing_sock, line, (size_t)(p - line)) != 0) {
        TK__HEALTH_ADD(timing_dropped, 1);
        if (tk__health_flag_once(TKS_HEALTH_TIMING_DROPS))
            tk__warn("timekeeper: TIMING lines are dropped (and counted) while %s does not take "
                     "them: %s\n", tk__g.timing_fd == STDERR_FILENO ? "stderr" : "the output",
                     strerror(errno));
    }
}

/* Every case but the common one: recording off, a bad label, TIMING text on, no ring yet, or a
 * context. Out of line, so that the common case in tk_point_at() stays a few loads and stores. */
TK_HIDDEN __attribute__((noinline)) void tk__point_general(tk_label_t label, uint64_t ticks,
                                                          uint64_t client, uint64_t command,
                                                          uint64_t session, const char *ctx,
                                                          size_t len)
{
    if (TK_UNLIKELY(!tk__enabled)) {
        tk__drop_disabled();
        if (tk__g.timing_fd >= 0 && label)
            tk__timing_write(label, ticks, client, command, session, ctx ? ctx : "", ctx ? len : 0);
        return;
    }
    if (TK_UNLIKELY(label == 0 || label >= tk__g.max_names)) {
        if (__atomic_load_n(&tk__g.names_full, __ATOMIC_RELAXED))
            TK__HEALTH_ADD(dropped_name_full, 1);
        return;
    }
    if (!ctx) {
        ctx = "";
        len = 0;
    }
    if (TK_UNLIKELY(tk__g.timing_fd >= 0))
        tk__timing_write(label, ticks, client, command, session, ctx, len);
    tk__ring *r = tk__tls_ring;
    if (TK_UNLIKELY(!r)) {
        r = tk__ring_claim();
        if (!r)
            return;
    }
    tk__point_write(r, label, ticks, client, command, session, ctx,
                    len > TK_CONTEXT_MAX ? TK_CONTEXT_MAX : len);
}

void tk_point_at(tk_label_t label, uint64_t ticks, uint64_t client, uint64_t command,
                 uint64_t session, const char *ctx, size_t len)
{
    if (TK_UNLIKELY((ctx && len) || !tk__point_fast(label, ticks, client, command, session)))
        tk__point_general(label, ticks, client, command, session, ctx, len);
}

void tk_point(tk_label_t label, uint64_t client, uint64_t command, uint64_t session,
              const char *context)
{
    const uint64_t t = tk_now();
    if (context && *context) /* straight to the general path: tk_point_at() would only pass it on */
        tk__point_general(label, t, client, command, session, context, strlen(context));
    else
        tk_point_at(label, t, client, command, session, NULL, 0);
}
