/* bench_recorder.c — how many raw spans per second the SQLite recorder writes into its file on
 * one core (sink/sqlite/recdb: span blocks, WAL, batched commits), including the final commit
 * and checkpoint. Goal: >= 2 M records/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "bench.h"

#ifdef TK_HAVE_SQLITE
#include "agg/window.h"
#include "core/core.h"
#include "sink/sqlite/record-sink.h"
#include "sink/sqlite/recdb.h"

/* End to end: this thread fills its ring (not timed), then the core drains it into the recorder
 * sink with --raw and the aggregator subscribed, as `timekeeper record --raw` does (timed, thread
 * CPU, commit included). */
static int end_to_end(uint64_t refills)
{
    char segdir[256], path[300];
    if (bench_mkdir(segdir, sizeof segdir, "recorder") != 0)
        return 1;
    tk_options to = {.dir = segdir, .ring_size = 1u << 20};
    if (tk_init(&to) != 0)
        return 1;
    snprintf(path, sizeof path, "/tmp/tk-bench-recorder-%d.db", (int)getpid()); /* a disk file */
    tk_sink sink;
    tk_record_options ro = {.raw = 1};
    tkc_core *core;
    tkc_core_options co = {.dir = segdir, .pid = getpid()};
    tka_agg *agg = tka_agg_new(NULL);
    if (tk_record_open(&sink, path, &ro) || tkc_core_open(&co, &core) ||
        tkc_core_subscribe(core, tka_agg_consumer(agg)) ||
        tkc_core_subscribe(core, sink.ops->consumer(&sink)))
        return 1;
    tk_timer_t *timers[8];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "e2e.t%d", i);
        timers[i] = tk_timer(name);
    }
    uint64_t cpu = 0, n = 0, t = 1000;
    const uint64_t per = (1u << 20) - 1;
    for (uint64_t r = 0; r < refills; r++) {
        for (uint64_t i = 0; i < per; i++, t += 1000)
            tk_record(timers[i & 7], t, t + 200 + (i * 104729) % 4000, (i & 3) ? 0 : t - 5000);
        uint64_t c0 = bench_thread_cpu_ns();
        tkc_core_scan(core);
        n += tkc_core_drain(core);
        tk_record_commit(&sink);
        cpu += bench_thread_cpu_ns() - c0;
    }
    uint64_t c0 = bench_thread_cpu_ns();
    tk_record_counts counts;
    tk_record_counts_get(&sink, &counts);
    tkc_core_close(core);
    tka_agg_free(agg);
    int rc = tk_sink_close(&sink);
    cpu += bench_thread_cpu_ns() - c0;
    printf("recorder_end_to_end_per_cpu_s: %.2f M/s (goal: >= 2 M/s; ring -> core -> histograms + "
           "SQLite --raw, %llu records, %llu spans in the file, %.0f ms CPU)\n",
           (double)n / ((double)cpu / 1e9) / 1e6, (unsigned long long)n,
           (unsigned long long)counts.spans, (double)cpu / 1e6);
    bench_rmdir(segdir);
    unlink(path);
    return rc != 0 || counts.spans != n;
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick"))
            n = 2000000;
    char dir[] = "/tmp/tk-bench-recorder-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/run.db", dir);
    tk_recdb *db;
    if (tk_recdb_open(path, NULL, &db) != 0) {
        fprintf(stderr, "bench_recorder: %s\n", tk_recdb_error(db));
        return 1;
    }
    int64_t proc, threads[8], timers[16];
    tk_recdb_process p = {.pid = 1, .name = "bench"};
    tk_recdb_add_process(db, &p, &proc);
    for (int i = 0; i < 8; i++)
        tk_recdb_add_thread(db, proc, (uint32_t)i, 100u + (uint32_t)i, "w", &threads[i]);
    for (int i = 0; i < 16; i++) {
        char name[16];
        snprintf(name, sizeof name, "timer%d", i);
        tk_recdb_add_name(db, proc, (uint32_t)i + 1, "timer", name, &timers[i]);
    }
    tk_recdb_commit(db);
    /* spans as a drain delivers them: chunks of 256 per ring, ~1 us apart, durations of a few
     * hundred ns to a few us, one in four with a latency */
    uint64_t cpu0 = bench_thread_cpu_ns(), t0 = bench_mono_ns(), start = 1000000000;
    int rc = 0;
    for (uint64_t i = 0; i < n && !rc; i++) {
        int th = (int)((i >> 8) & 7);
        start += 1000 + (i * 7919) % 200;
        rc = tk_recdb_span(db, threads[th], timers[(i * 31) % 16], start, 200 + (i * 104729) % 4000,
                           (i & 3) ? TK_RECDB_NONE : 5000 + (i % 1000));
        if (!rc && (i + 1) % 500000 == 0)
            rc = tk_recdb_commit(db);
    }
    if (!rc)
        rc = tk_recdb_close(db, "finished");
    else
        tk_recdb_close(db, NULL);
    uint64_t cpu = bench_thread_cpu_ns() - cpu0, wall = bench_mono_ns() - t0;
    if (rc) {
        fprintf(stderr, "bench_recorder: write failed (%d)\n", rc);
        return 1;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    printf("recorder_spans_per_cpu_s: %.2f M/s (goal: >= 2 M/s; %llu spans, %.0f ms CPU)\n",
           (double)n / ((double)cpu / 1e9) / 1e6, (unsigned long long)n, (double)cpu / 1e6);
    printf("recorder_spans_per_wall_s: %.2f M/s (%.0f ms wall)\n",
           (double)n / ((double)wall / 1e9) / 1e6, (double)wall / 1e6);
    printf("recorder_bytes_per_span: %.1f B (%.1f MB file)\n", mb * 1e6 / (double)n, mb);
    if (system(cmd) != 0)
        return 1;
    return end_to_end(n >= 10000000 ? 8 : 2);
}
#else
int main(void)
{
    printf("bench_recorder: built without SQLite (libsqlite3-dev), nothing to measure\n");
    return 0;
}
#endif
