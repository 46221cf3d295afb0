/* pipeline.c — a small event-processing program timed per component: a reader, a calibration,
 * a selection that aborts some events, and a writer, over several input files and runs.
 *
 *     pipeline [--files N] [--runs-per-file N] [--events-per-run N] [--abort-every N] [--fast]
 *
 * Every call of every callback is timed by the library's component sequence (tk_sequence_*),
 * `__ALL__` around each callback and `absolute` around the whole run. Record it with
 *     timekeeper record -o run.db -- pipeline
 * and print the summary with summary.py run.db (or run `make event-pipeline`). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <timekeeper.h>

/* Work of a given number of microseconds, done by spinning (the example's "physics"). */
static double work_scale = 1.0;
static void work_us(double us)
{
    us *= work_scale;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3 < us);
}

typedef struct state {
    uint64_t events_read, events_written, aborted;
    uint64_t abort_every;
    double calib_us;       /* changes with each run: the calibration's cost depends on the run */
} state;

/* reader: opening a file is slow, each event costs a little */
static int reader_file_open(void *ctx, uint64_t file) { (void)ctx; work_us(300 + 50.0 * (double)file); return 0; }
static int reader_file_close(void *ctx, uint64_t file) { (void)ctx; (void)file; work_us(40); return 0; }
static int reader_event(void *ctx, uint64_t ev)
{
    state *s = ctx;
    s->events_read++;
    work_us(20 + (double)(ev % 7) * 3);
    return 0;
}

/* calibration: loads constants at each new run; its per-event cost depends on them */
static int calib_start(void *ctx, uint64_t arg) { (void)ctx; (void)arg; work_us(500); return 0; }
static int calib_before_run(void *ctx, uint64_t run) { (void)ctx; (void)run; work_us(30); return 0; }
static int calib_new_run(void *ctx, uint64_t run)
{
    state *s = ctx;
    s->calib_us = 10 + (double)(run % 3) * 5;
    work_us(200);
    return 0;
}
static int calib_event(void *ctx, uint64_t ev) { (void)ev; work_us(((state *)ctx)->calib_us); return 0; }

/* selection: aborts one event in abort_every (the components after it do not see it) */
static int select_event(void *ctx, uint64_t ev)
{
    state *s = ctx;
    work_us(5);
    if (s->abort_every && ev % s->abort_every == 0) {
        s->aborted++;
        return 1;
    }
    return 0;
}

/* writer: each kept event is written; the end of the process flushes */
static int writer_event(void *ctx, uint64_t ev) { state *s = ctx; (void)ev; s->events_written++; work_us(15); return 0; }
static int writer_end(void *ctx, uint64_t arg) { (void)ctx; (void)arg; work_us(800); return 0; }

static uint64_t arg_u64(const char *s, const char *what)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v > 100000000) {
        fprintf(stderr, "pipeline: %s wants a number up to 100000000, not '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    uint64_t files = 2, runs_per_file = 2, events_per_run = 50;
    double scale = 1.0; /* --fast: no simulated work, for tests */
    state st = {.abort_every = 7};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--files"))
            files = arg_u64(argv[++i], "--files");
        else if (i + 1 < argc && !strcmp(argv[i], "--runs-per-file"))
            runs_per_file = arg_u64(argv[++i], "--runs-per-file");
        else if (i + 1 < argc && !strcmp(argv[i], "--events-per-run"))
            events_per_run = arg_u64(argv[++i], "--events-per-run");
        else if (i + 1 < argc && !strcmp(argv[i], "--abort-every"))
            st.abort_every = arg_u64(argv[++i], "--abort-every");
        else if (!strcmp(argv[i], "--fast"))
            scale = 0;
        else {
            fprintf(stderr, "usage: pipeline [--files N] [--runs-per-file N] [--events-per-run N]"
                            " [--abort-every N] [--fast]\n");
            return 2;
        }
    }
    work_scale = scale;
    tk_thread_name("pipeline");
    tk_sequence_t *seq;
    int rc = tk_sequence_create(&seq);
    if (rc) {
        fprintf(stderr, "pipeline: %s\n", tk_strerror(rc));
        return 1;
    }
    const tk_component_ops reader = {.file_open = reader_file_open, .file_close = reader_file_close,
                                     .event = reader_event};
    const tk_component_ops calib = {.process_start = calib_start, .before_new_run = calib_before_run,
                                    .new_run = calib_new_run, .event = calib_event};
    const tk_component_ops selection = {.event = select_event};
    const tk_component_ops writer = {.event = writer_event, .process_end = writer_end};
    if ((rc = tk_sequence_add(seq, "reader", &reader, &st)) || (rc = tk_sequence_add(seq, "calibration", &calib, &st)) ||
        (rc = tk_sequence_add(seq, "selection", &selection, &st)) || (rc = tk_sequence_add(seq, "writer", &writer, &st))) {
        fprintf(stderr, "pipeline: %s\n", tk_strerror(rc));
        return 1;
    }

    /* an ordinary timer next to the components: the whole event loop step (a raw span each) */
    tk_timer_t *step = tk_timer("pipeline.step");
    /* and a labeled point at each file boundary (client id: the file number) */
    tk_label_t file_label = tk_label("PIPELINE_FILE_OPEN");
    tk_sequence_call(seq, TK_CB_PROCESS_START, 0);
    uint64_t event = 0, run = 100;
    for (uint64_t f = 1; f <= files; f++) {
        tk_point(file_label, f, TK_ID_NONE, TK_ID_NONE, "kind=input");
        tk_sequence_call(seq, TK_CB_FILE_OPEN, f);
        for (uint64_t r = 0; r < runs_per_file; r++, run++) {
            tk_sequence_call(seq, TK_CB_BEFORE_NEW_RUN, run);
            tk_sequence_call(seq, TK_CB_NEW_RUN, run);
            for (uint64_t e = 0; e < events_per_run; e++) {
                tk_span_t sp = tk_start(step);
                tk_sequence_call(seq, TK_CB_EVENT, ++event);
                tk_stop(&sp);
            }
        }
        tk_sequence_call(seq, TK_CB_FILE_CLOSE, f);
    }
    tk_sequence_call(seq, TK_CB_PROCESS_END, 0);
    tk_sequence_free(seq);
    printf("pipeline: %llu events in %llu files and %llu runs: %llu written, %llu aborted by selection\n",
           (unsigned long long)st.events_read, (unsigned long long)files,
           (unsigned long long)(files * runs_per_file), (unsigned long long)st.events_written,
           (unsigned long long)st.aborted);
    return 0;
}
