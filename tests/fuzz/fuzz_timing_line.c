/* fuzz_timing_line.c — fuzz target for the TIMING line parser (collector/timing.c) and, through it, the
 * streaming analysis engine and spec parser of `timekeeper analyze` (collector/analyze*.c).
 *
 * libFuzzer (clang):
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icollector \
 *         tests/fuzz/fuzz_timing_line.c collector/timing.c collector/analyze.c \
 *         collector/analyze_spec.c collector/analyze_output.c collector/hist.c -lm -o fuzz_timing_line
 *     ./fuzz_timing_line -max_len=16384 tests/fuzz/corpus/timing_line
 *
 * Replay (any compiler, no libFuzzer): the same file built with -DTK_FUZZ_REPLAY has a main() that runs
 * every file of the corpus directory given as argv[1] (or the files given as arguments); ctest does
 * this on every run (tests/analyze.cmake).
 *
 * An input is used three ways: as one line (exact-size heap copy, so ASan sees any read past it), as a
 * stream of lines through the analyzer in spec, default and timeline modes with every output format,
 * and, when it starts with "#spec\n", as a spec that then analyses a fixed log. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/timing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_spec[] =
    "interval ffi_send    = *BEFORE_ASYNC_SEND -> *AFTER_ASYNC_SEND\n"
    "interval ffi_get     = *BEFORE_*GET_RESPONSE -> *AFTER_*GET_RESPONSE\n"
    "interval select_wait = *BEFORE_SELECT -> *AFTER_SELECT\n"
    "interval tick        = T* -> T*\n"
    "total all = *ENTRY -> *EXIT_*\n"
    "  components = ffi_send + ffi_get + select_wait\n"
    "  remainder = python_overhead\n"
    "  path fast = ends *_FAST\n"
    "  path slow = has *SELECT and ends *_SLOW\n"
    "  path other_ = lacks *SELECT\n";

static const char fixed_log[] =
    "TIMING,PY_SEND_AND_AWAIT_ENTRY,1000,0,1,1,op=GET\n"
    "TIMING,PY_BEFORE_ASYNC_SEND,1100,0,-,1,\n"
    "TIMING,PY_AFTER_ASYNC_SEND,1300,0,1,1,ffi_duration_ns=200\n"
    "TIMING,PY_BEFORE_SELECT,1400,0,1,1,\n"
    "TIMING,PY_AFTER_SELECT,1900,0,1,1,\n"
    "TIMING,PY_SEND_AND_AWAIT_EXIT_SLOW,2000,0,1,1,\n";

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

static void run_analysis(const analyze_spec *spec, int timeline, const uint8_t *data, size_t size)
{
    analyze_options o = {.spec = spec, .timeline = timeline, .command = 1, .max_open = 64,
                         .idle_ns = 1000000};
    analyze *a = NULL;
    if (analyze_new(&o, &a) != 0)
        return;
    analyze_source(a, "fuzz");
    /* Two reads, split where the first byte says, to exercise lines that straddle reads. */
    size_t cut = size ? data[0] % (size + 1) : 0;
    analyze_feed(a, (const char *)data, cut);
    analyze_feed(a, (const char *)data + cut, size - cut);
    analyze_source_end(a);
    analyze_finish(a);
    FILE *out = sink();
    if (out) {
        analyze_write(a, ANALYZE_TABLE, out);
        analyze_write(a, ANALYZE_JSON, out);
        analyze_write(a, ANALYZE_CSV, out);
    }
    analyze_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. the whole input as one line */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    timing_point p;
    timing_error e;
    char why[160];
    timing_status st = timing_parse_line(copy, size, &p, &e);
    if (st == TIMING_OK) {
        timing_ns_iter it;
        timing_ns_begin(&it, p.context, p.context_len);
        const char *k;
        size_t kl;
        uint64_t v;
        while (timing_ns_next(&it, &k, &kl, &v))
            if (k < p.context || k + kl > p.context + p.context_len)
                abort();
    } else if (st != TIMING_OTHER) {
        timing_error_describe(&e, why, sizeof why);
    }
    free(copy);

    /* 2. a spec, when the input says so */
    static const char tag[] = "#spec\n";
    if (size >= sizeof tag - 1 && memcmp(data, tag, sizeof tag - 1) == 0) {
        analyze_spec *s = NULL;
        if (analyze_spec_parse((const char *)data, size, "fuzz.spec", &s, why, sizeof why) == 0) {
            run_analysis(s, 0, (const uint8_t *)fixed_log, sizeof fixed_log - 1);
            analyze_spec_free(s);
        }
        return 0;
    }

    /* 3. the input as a log, in every mode */
    static analyze_spec *spec;
    if (!spec && analyze_spec_parse(fixed_spec, sizeof fixed_spec - 1, "fixed", &spec, why,
                                    sizeof why) != 0)
        abort();
    run_analysis(spec, 0, data, size);
    run_analysis(NULL, 0, data, size);
    run_analysis(NULL, 1, data, size);
    return 0;
}

#ifdef TK_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b)
                break;
            buf = b;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR | FILE...\n", argv[0]);
        return 2;
    }
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed += replay_file(path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs, %d unreadable\n", files, failed);
    if (files == 0) {
        fprintf(stderr, "no input found in the corpus\n");
        return 1;
    }
    return failed ? 1 : 0;
}
#endif
