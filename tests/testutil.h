/* testutil.h — small helpers shared by the C tests: private directories, collector look-ups and
 * assertions that print both values. Header-only: every test program includes it once. */
#ifndef TK_TESTUTIL_H
#define TK_TESTUTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "collector.h"
#include <timekeeper.h>

/* Fails the test with a message built like printf. */
#define tu_fail(...)                \
    do {                            \
        print_error(__VA_ARGS__);   \
        print_error("\n");          \
        fail();                     \
    } while (0)

/* assert_u64_equal of check.h, with a plain string saying what was checked. */
#define tu_expect_eq(what, expected, actual) \
    assert_u64_equal((uint64_t)(expected), (uint64_t)(actual), "%s", (what))

/* A private directory under /dev/shm (or /tmp); the path is written to buf. */
static inline char *tu_mkdtemp(char *buf, size_t len)
{
    snprintf(buf, len, "/dev/shm/tk-test-XXXXXX");
    if (mkdtemp(buf))
        return buf;
    snprintf(buf, len, "/tmp/tk-test-XXXXXX");
    return mkdtemp(buf);
}

/* Removes the files of dir (one level) and dir itself. */
static inline void tu_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* For a test program that records itself: a private directory, and the library initialised to
 * keep its segment there (once per process). Returns 0 or -1. */
static inline int tu_library_setup(char *dir, size_t len, uint32_t ring_size, uint32_t max_threads)
{
    if (!tu_mkdtemp(dir, len))
        return -1;
    tk_options o = {.dir = dir, .ring_size = ring_size, .max_threads = max_threads};
    return tk_init(&o) == 0 ? 0 : -1;
}

static inline size_t tu_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static inline void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The statistics of timer `name` in any attached process, or NULL. */
static inline const timer_stats *tu_timer(const collector *c, const char *name)
{
    for (size_t i = 0; i < collector_process_count(c); i++) {
        const process_info *p = collector_process(c, i);
        for (size_t j = 0; j < p->ntimers; j++)
            if (strcmp(p->timers[j]->name, name) == 0)
                return p->timers[j];
    }
    return NULL;
}

/* count of a timer's processing records: interval plus total (callers need not roll over). */
static inline uint64_t tu_count(const timer_stats *t)
{
    return t ? hist_count(t->interval[KIND_PROCESSING]) + hist_count(t->total[KIND_PROCESSING]) : 0;
}

/* Captures what is written to fd 2 between begin and end (cmocka's own errors go there too, so no
 * assertion runs inside a capture). */
typedef struct capture {
    int saved;
    FILE *tmp;
} capture;

static inline void capture_begin(capture *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    assert_non_null(cap->tmp);
    cap->saved = dup(STDERR_FILENO);
    dup2(fileno(cap->tmp), STDERR_FILENO);
}

/* Returns the captured text (free it). */
static inline char *capture_end(capture *cap)
{
    fflush(stderr);
    dup2(cap->saved, STDERR_FILENO);
    close(cap->saved);
    long n = ftell(cap->tmp);
    char *text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(cap->tmp);
    if (text && n > 0 && fread(text, 1, (size_t)n, cap->tmp) != (size_t)n)
        text[0] = '\0';
    fclose(cap->tmp);
    return text;
}


static inline int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

#endif
