/* core/procstat.c — resource samples from /proc (core/procstat.h). Cost: three open/read/close
 * of small text files per sample, tens of microseconds (bench: tests/test_procstat measures it). */
#include "core/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* The value after "key" at a line start in a "key: value" file, 0 when absent. */
static uint64_t field_u64(const char *text, const char *key, int *found)
{
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, k) == 0 && p[k] == ':') {
            *found = 1;
            return strtoull(p + k + 1, NULL, 10);
        }
    }
    return 0;
}

int tkc_procstat_read(int pid, tkc_procstat *out)
{
    char path[64], buf[4096];
    memset(out, 0, sizeof *out);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    out->mono_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    ssize_t n = read_file(path, buf, sizeof buf);
    if (n < 0)
        return n == -ENOENT ? -ESRCH : (int)n;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return -EINVAL;
    /* fields from 3 on, after ") " */
    uint64_t f[53] = {0};
    int nf = 3;
    char *s = p + 1;
    while (nf < 53) {
        while (*s == ' ')
            s++;
        if (!*s || *s == '\n')
            break;
        char *end;
        f[nf] = strtoull(s, &end, 10);
        if (end == s) /* the state letter (field 3) */
            while (*end && *end != ' ')
                end++;
        s = end;
        nf++;
    }
    if (nf < 25)
        return -EINVAL;
    static long hz, page;
    if (!hz) {
        long h = sysconf(_SC_CLK_TCK), pg = sysconf(_SC_PAGESIZE);
        __atomic_store_n(&page, pg > 0 ? pg : 4096, __ATOMIC_RELAXED);
        __atomic_store_n(&hz, h > 0 ? h : 100, __ATOMIC_RELAXED);
    }
    long chz = __atomic_load_n(&hz, __ATOMIC_RELAXED), cpage = __atomic_load_n(&page, __ATOMIC_RELAXED);
    out->utime_ns = f[14] * (1000000000ull / (uint64_t)chz);
    out->stime_ns = f[15] * (1000000000ull / (uint64_t)chz);
    out->threads = (uint32_t)f[20];
    out->rss_bytes = f[24] * (uint64_t)cpage;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = cores > 0 ? (uint32_t)cores : 1;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (read_file(path, buf, sizeof buf) > 0) {
        int a = 0, b = 0;
        out->voluntary_cs = field_u64(buf, "voluntary_ctxt_switches", &a);
        out->involuntary_cs = field_u64(buf, "nonvoluntary_ctxt_switches", &b);
        out->have_cs = a && b;
    }
    snprintf(path, sizeof path, "/proc/%d/io", pid);
    if (read_file(path, buf, sizeof buf) > 0) {
        int a = 0, b = 0;
        out->read_bytes = field_u64(buf, "rchar", &a);
        out->write_bytes = field_u64(buf, "wchar", &b);
        out->have_io = a && b;
    }
    return 0;
}

static uint64_t up(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }

void tkc_procstat_diff(const tkc_procstat *prev, const tkc_procstat *cur, tkc_procstat_rates *out)
{
    memset(out, 0, sizeof *out);
    double s = (double)up(prev->mono_ns, cur->mono_ns) / 1e9;
    out->seconds = s;
    if (s > 0) {
        out->user_pct = 100.0 * (double)up(prev->utime_ns, cur->utime_ns) / 1e9 / s;
        out->sys_pct = 100.0 * (double)up(prev->stime_ns, cur->stime_ns) / 1e9 / s;
        out->cpu_pct = out->user_pct + out->sys_pct;
    }
    out->rss_bytes = cur->rss_bytes;
    out->threads = cur->threads;
    out->cores = cur->cores;
    out->voluntary_cs = up(prev->voluntary_cs, cur->voluntary_cs);
    out->involuntary_cs = up(prev->involuntary_cs, cur->involuntary_cs);
    out->read_bytes = up(prev->read_bytes, cur->read_bytes);
    out->write_bytes = up(prev->write_bytes, cur->write_bytes);
}
