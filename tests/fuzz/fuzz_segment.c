/* fuzz_segment.c — fuzz target for segment validation and the collector's reading of segments.
 *
 * LLVMFuzzerTestOneInput() runs segment_validate() on the input and, when it passes (and the input
 * is under 4 MB), writes it as a segment file into a private directory and lets a fresh collector
 * scan, drain (twice) and close it. Built with -DTK_FUZZ_LIBFUZZER it is a libFuzzer target (see
 * README.md); otherwise main() replays every file of the directories (or files) given, so the
 * corpus runs in the normal test suite, and `--write-seeds DIR` writes the seed corpus. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "format/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_FILE (4u << 20)

static size_t fuzz_valid; /* inputs that passed segment_validate (reported by the replay) */
static char fuzz_dir[256];
static char fuzz_path[320];

/* Removes the segment file and the directory: libFuzzer may end the process without running
 * atexit handlers, so nothing is left behind between inputs. */
static void fuzz_dir_remove(void)
{
    if (!fuzz_dir[0])
        return;
    unlink(fuzz_path);
    rmdir(fuzz_dir);
    fuzz_dir[0] = '\0';
}

/* Creates the private directory. Returns 0 or -1. */
static int fuzz_dir_create(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/tk-fuzz-segment-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
        fuzz_dir[0] = '\0';
        return -1;
    }
    /* the header's pid need not be alive: a dead one is drained to the end, a live one is read
     * as a running producer; either way the file is ours to remove */
    snprintf(fuzz_path, sizeof fuzz_path, "%s/" TKS_FILE_PREFIX "%d-1" TKS_FILE_SUFFIX, fuzz_dir,
             (int)getpid());
    return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wbe");
    if (!f)
        return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    return (fclose(f) == 0 && w == size) ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    if (segment_validate(data, size, why, sizeof why) != 0 || size >= FUZZ_MAX_FILE)
        return 0;
    fuzz_valid++;
    if (fuzz_dir_create() != 0)
        return 0;
    /* The collector only reads segments of its own user whose header names that user: patch the
     * uid so the drain is reached (the uid check itself is tested in test_segment). */
    uint8_t *img = malloc(size);
    if (!img)
        return 0;
    memcpy(img, data, size);
    uint32_t uid = (uint32_t)geteuid();
    memcpy(img + offsetof(tks_header, uid), &uid, sizeof uid);
    int rc = write_file(fuzz_path, img, size);
    free(img);
    if (rc != 0) {
        fuzz_dir_remove();
        return 0;
    }
    collector_options o = {.dir = fuzz_dir, .quiet = 1};
    collector *c;
    if (collector_open(&o, &c) == 0) {
        collector_scan(c);
        collector_drain(c);
        collector_drain(c);
        collector_close(c);
    }
    fuzz_dir_remove();
    return 0;
}

#ifndef TK_FUZZ_LIBFUZZER
/* ---- replay and seeds (the normal build) -------------------------------------------------------- */
#include <signal.h>
#include <sys/wait.h>

#include "segment_image.h"
#include <timekeeper.h>

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        fprintf(stderr, "fuzz_segment: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "fuzz_segment: %s: too large or out of memory\n", path);
        return -1;
    }
    /* an exact-size copy, as libFuzzer gives it: ASan sees any read past the end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
}

static int replay(const char *arg, size_t *count)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "fuzz_segment: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(arg, count);
    DIR *d = opendir(arg);
    if (!d) {
        fprintf(stderr, "fuzz_segment: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", arg, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

/* Writes seed `name` of the corpus. */
static int write_seed(const char *dir, const char *name, const seg_image *im)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (seg_write(im, path) != 0) {
        fprintf(stderr, "fuzz_segment: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* One segment written by the real library in a forked child (1 ring of 1024 records), renamed
 * into the corpus. */
static int write_library_seed(const char *dir)
{
    char tmpdir[] = "/tmp/tk-fuzz-seed-XXXXXX";
    if (!mkdtemp(tmpdir))
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        tk_options o = {.dir = tmpdir, .ring_size = 1024, .max_threads = 1, .clock = TK_CLOCK_MONOTONIC};
        if (tk_init(&o) != 0)
            _exit(3);
        tk_timer_t *t = tk_timer("lib.span");
        tk_label_t l = tk_label("LIB_POINT");
        for (int i = 0; i < 1500; i++) { /* wraps the ring */
            uint64_t s = tk_now();
            tk_record(t, s, s + 100 + (uint64_t)i, i % 2 ? s - 1000 : 0);
            if (i % 100 == 0)
                tk_point(l, (uint64_t)i, 2, TK_ID_NONE, "select_ns=12,ffi_ns=34,some=longer-context");
        }
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
        rmdir(tmpdir);
        return -1;
    }
    int rc = -1;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char from[4096], to[4096];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", tmpdir, e->d_name);
        snprintf(to, sizeof to, "%s/library-1ring.seg", dir);
        FILE *in = fopen(from, "rbe");
        struct stat st;
        if (in && fstat(fileno(in), &st) == 0) {
            uint8_t *buf = malloc((size_t)st.st_size);
            if (buf && fread(buf, 1, (size_t)st.st_size, in) == (size_t)st.st_size)
                rc = seg_write_bytes(buf, (size_t)st.st_size, to);
            free(buf);
        }
        if (in)
            fclose(in);
        unlink(from);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
    return rc;
}

/* The seed corpus: small valid images that reach every record path of the drain. */
static int write_seeds(const char *dir)
{
    int rc = 0;
    seg_image im;
    static const char ctx72[] = "a_ns=1,b_ns=22,c_ns=333,d_ns=4444,e_ns=55555,f_ns=666666,ggggggggggggggg";

    /* 1. spans, latencies and points of every continuation count, one ring, dead producer */
    if (seg_image_init(&im, 4, 1, 1024, SEG_DEAD_PID) != 0)
        return -1;
    uint32_t t = seg_add_name(&im, TKS_NAME_TIMER, "gw.recv");
    uint32_t l = seg_add_name(&im, TKS_NAME_LABEL, "PY_SEND");
    for (unsigned i = 0; i < 20; i++)
        seg_put_span(&im, 0, t, SEG_T0 + i * 100, SEG_T0 + i * 100 + 40, i % 2 ? SEG_T0 : 0);
    seg_put_point(&im, 0, l, SEG_T0 + 1, 1, 2, 3, "x", 1);
    seg_put_point(&im, 0, l, SEG_T0 + 2, 1, 2, TK_ID_NONE, ctx72, 30);
    seg_put_point(&im, 0, l, SEG_T0 + 3, 1, 2, 3, ctx72, 50);
    seg_put_point(&im, 0, l, SEG_T0 + 4, 1, 2, 3, ctx72, 72);
    rc |= write_seed(dir, "spans-points.seg", &im);

    /* 2. the same, producer exited normally */
    seg_hdr(&im)->state = TKS_STATE_EXITED;
    seg_hdr(&im)->exit_mono_ns = SEG_T0 + 10000;
    rc |= write_seed(dir, "exited.seg", &im);
    seg_image_free(&im);

    /* 3. a wrapped ring (records lost), two rings, full calibration */
    if (seg_image_init(&im, 4, 2, 1024, SEG_DEAD_PID) != 0)
        return -1;
    t = seg_add_name(&im, TKS_NAME_TIMER, "wrap");
    for (unsigned i = 0; i < 2500; i++)
        seg_put_span(&im, 0, t, SEG_T0 + i, SEG_T0 + i + 7, 0);
    seg_put_span(&im, 1, t, SEG_T0, SEG_T0 + 3, 0);
    tks_header *h = seg_hdr(&im);
    for (unsigned i = 1; i < TKS_CALIB_SLOTS; i++)
        h->calib[i] = (tks_calib){SEG_T0 + i * 1000000000ull, SEG_T0 + i * 1000000000ull,
                                  h->start_real_ns + i * 1000000000ull};
    h->calib_count = 200;
    rc |= write_seed(dir, "wrapped-2rings.seg", &im);
    seg_image_free(&im);

    /* 4. a live producer (this pid is alive while it is replayed: a non-final drain) */
    if (seg_image_init(&im, 4, 1, 1024, 1) != 0)
        return -1;
    t = seg_add_name(&im, TKS_NAME_TIMER, "live");
    for (unsigned i = 0; i < 100; i++)
        seg_put_span(&im, 0, t, SEG_T0 + i, SEG_T0 + i + 7, 0);
    rc |= write_seed(dir, "live-pid1.seg", &im);
    seg_image_free(&im);

    /* 5. hostile runtime values in a valid header */
    if (seg_image_init(&im, 4, 1, 1024, SEG_DEAD_PID) != 0)
        return -1;
    t = seg_add_name(&im, TKS_NAME_TIMER, "hostile");
    seg_put_span(&im, 0, t, SEG_T0, SEG_T0 + 1, 0);
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(9, 1), 1, 0, 0, 0});
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_POINT, 1), 1, 0, 0, 0});
    seg_put_raw(&im, 0, (tks_record){TKS_TAG(TKS_REC_POINT_EXT, 1), 0, 0, 0, 0});
    seg_name(&im, t)->len = 9999;
    h = seg_hdr(&im);
    h->name_count = UINT32_MAX;
    h->ring_count = UINT32_MAX;
    seg_ring(&im, 0)->head = 1ull << 63;
    rc |= write_seed(dir, "hostile-runtime.seg", &im);
    seg_image_free(&im);

    rc |= write_library_seed(dir);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]) == 0 ? 0 : 1;
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_segment_replay DIR|FILE...   replay inputs\n"
                        "       fuzz_segment_replay --write-seeds DIR   write the seed corpus\n");
        return 2;
    }
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (replay(argv[i], &count) != 0)
            rc = 1;
    printf("fuzz_segment: replayed %zu inputs, %zu valid segments\n", count, fuzz_valid);
    if (count == 0) {
        fprintf(stderr, "fuzz_segment: no inputs found\n");
        rc = 1;
    }
    return rc;
}
#endif
