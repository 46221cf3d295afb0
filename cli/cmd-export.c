/* cmd-export.c — `timekeeper export`: a recording as a Perfetto protobuf trace, Trace Event
 * JSON or CSV, streamed in bounded memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/core.h"
#include "core/driver.h"
#include "sink/chrome.h"
#include "sink/perfetto.h"
#include "sink/trace.h"
#ifdef TK_HAVE_RECORDING_READ
#include "sink/export/recording-read.h"
#endif

enum { OPT_FORMAT = 256, OPT_NO_FLOWS, OPT_LIVE, OPT_DURATION };

static const cli_option options[] = {
    {"format", OPT_FORMAT, "FMT", "perfetto (default: native protobuf), chrome (JSON) or csv"},
    {"output", 'o', "FILE", "write there (default: standard output)"},
    {"no-flows", OPT_NO_FLOWS, NULL, "perfetto: no flow arrows from origins to spans"},
    {"live", OPT_LIVE, NULL, "export what running programs record (needs --duration)"},
    {"duration", OPT_DURATION, "TIME", "with --live: how long to record, e.g. 10s (default: "
                                       "until interrupted)"},
    {"dir", 'd', "DIR", "with --live: segments directory (default $TK_DIR or /dev/shm)"},
    {"pid", 'p', "PID", "with --live: only this process"},
    {"quiet", 'q', NULL, "no summary on standard error"},
    {0},
};

typedef enum { FMT_PERFETTO, FMT_CHROME, FMT_CSV } export_format;

typedef struct export_opts {
    export_format format;
    const char *output;
    int flows, live, quiet, pid;
    double duration;
    const char *dir;
} export_opts;

static int cmd_export(int argc, char **argv);
const cli_command cmd_export_def = {
    "export", cmd_export, "convert a recording to a Perfetto trace, Trace Event JSON or CSV",
    "[--format perfetto|chrome|csv] [-o|--output FILE] [--no-flows] [-q|--quiet] RECORDING.db\n"
    "       timekeeper export --live [--duration TIME] [-d|--dir DIR] [-p|--pid P] [--format ...] "
    "[-o FILE] [-q]\n"
    "       timekeeper export --otlp URL [--live] ...  (see timekeeper export --otlp --help)",
    "Reads a recording made by `timekeeper record --raw` and writes its processes, threads, raw\n"
    "spans, labeled points and counter/gauge samples. With --live, writes what running programs\n"
    "record instead, for --duration or until interrupted (on the same 10 ms drain as report),\n"
    "their counters, gauges and stages as a sample each time one changes.\n"
    "perfetto: Perfetto's native protobuf trace (open it in ui.perfetto.dev or trace_processor):\n"
    "one track per thread under its process, spans as slices (a span that overlaps another\n"
    "without nesting goes to an overlap lane under its thread), points as instants with their\n"
    "correlation ids and context, counters and gauges as counter tracks, and a flow arrow from\n"
    "the origin of each span that carries one. Event names are interned.\n"
    "chrome: Trace Event JSON: complete events (\"ph\":\"X\") with ts and dur in microseconds\n"
    "(ns digits kept), process_name/thread_name metadata, instants, counters.\n"
    "csv: one line per span, point or sample.\n"
    "Timestamps are the recorded machine's CLOCK_MONOTONIC. Memory stays bounded whatever the\n"
    "size of the recording (one span block at a time).",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    export_opts *o = ctx;
    switch (key) {
    case OPT_FORMAT:
        if (!strcmp(arg, "perfetto"))
            o->format = FMT_PERFETTO;
        else if (!strcmp(arg, "chrome") || !strcmp(arg, "json"))
            o->format = FMT_CHROME;
        else if (!strcmp(arg, "csv"))
            o->format = FMT_CSV;
        else
            return cli_usage_error(&cmd_export_def, "unknown format '%s'", arg);
        return 0;
    case 'o': o->output = arg; return 0;
    case OPT_NO_FLOWS: o->flows = 0; return 0;
    case OPT_LIVE: o->live = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case 'd': o->dir = arg; return 0;
    case 'p': return cli_option_pid(&cmd_export_def, arg, &o->pid);
    case OPT_DURATION: {
        char *end;
        double v = strtod(arg, &end);
        double scale = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 1e-3
                     : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : -1;
        if (end == arg || scale < 0 || !(v > 0))
            return cli_usage_error(&cmd_export_def, "bad duration '%s'", arg);
        o->duration = v * scale;
        return 0;
    }
    }
    return CLI_USAGE;
}

#ifdef TK_HAVE_RECORDING_READ

/* ---- id maps: recording ids to what the writer needs ---------------------------------------- */

typedef struct ex_proc {
    int64_t id;
    int pid;
    uint64_t uuid;
} ex_proc;

typedef struct ex_thread {
    int64_t id, process;
    int pid, tid;
    uint64_t uuid;
} ex_thread;

typedef struct ex_name {
    int64_t id, process;
    char name[64];
    uint64_t iid;          /* perfetto: interned name, 0 until first used */
    uint64_t counter_uuid; /* perfetto: counter track, 0 until first used */
} ex_name;

typedef struct exporter {
    export_opts *o;
    FILE *out;
    tk_perfetto *pf;
    tk_chrome *ch;
    ex_proc *procs;
    size_t nprocs;
    ex_thread *threads;
    size_t nthreads;
    ex_name *names;
    size_t nnames;
    const ex_thread *last_thread;
    uint64_t spans, points, samples, bad_refs;
    int oom;
} exporter;

/* Rows arrive ORDER BY id, so each table is sorted: binary search. */
#define DEFINE_FIND(fname, type)                                                                    \
    static type *fname(type *arr, size_t n, int64_t key)                                           \
    {                                                                                               \
        size_t lo = 0, hi = n;                                                                      \
        while (lo < hi) {                                                                           \
            size_t mid = (lo + hi) / 2;                                                             \
            if (arr[mid].id < key)                                                                  \
                lo = mid + 1;                                                                       \
            else                                                                                    \
                hi = mid;                                                                           \
        }                                                                                           \
        return lo < n && arr[lo].id == key ? &arr[lo] : NULL;                                       \
    }
DEFINE_FIND(search_proc, ex_proc)
DEFINE_FIND(search_thread, ex_thread)
DEFINE_FIND(search_name, ex_name)

/* Makes room for element n of an array that grows by doubling from 16. Returns 0 or -1. */
static int grow(void **arr, size_t n, size_t size)
{
    if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
        return 0; /* room left */
    size_t cap = n ? n * 2 : 16;
    void *p = realloc(*arr, cap * size);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

static ex_proc *find_proc(exporter *x, int64_t id) { return search_proc(x->procs, x->nprocs, id); }
static ex_name *find_name(exporter *x, int64_t id) { return search_name(x->names, x->nnames, id); }
static const ex_thread *find_thread(exporter *x, int64_t id)
{
    if (x->last_thread && x->last_thread->id == id)
        return x->last_thread;
    const ex_thread *t = search_thread(x->threads, x->nthreads, id);
    if (t)
        x->last_thread = t;
    return t;
}

static int on_process(void *ctx, const tk_rec_process *p)
{
    exporter *x = ctx;
    if (x->nprocs && p->id <= x->procs[x->nprocs - 1].id)
        return -EINVAL;
    if (grow((void **)&x->procs, x->nprocs, sizeof *x->procs) < 0)
        return -ENOMEM;
    ex_proc *e = &x->procs[x->nprocs++];
    *e = (ex_proc){p->id, p->pid, 0};
    if (x->pf)
        e->uuid = tk_perfetto_process(x->pf, p->pid, p->name, p->cmdline);
    else if (x->ch)
        tk_chrome_process(x->ch, p->pid, p->name);
    return 0;
}

static int on_thread(void *ctx, const tk_rec_thread *t)
{
    exporter *x = ctx;
    if (x->nthreads && t->id <= x->threads[x->nthreads - 1].id)
        return -EINVAL;
    ex_proc *p = find_proc(x, t->process);
    if (grow((void **)&x->threads, x->nthreads, sizeof *x->threads) < 0)
        return -ENOMEM;
    ex_thread *e = &x->threads[x->nthreads++];
    *e = (ex_thread){t->id, t->process, p ? p->pid : 0, t->tid, 0};
    if (x->pf && p)
        e->uuid = tk_perfetto_thread(x->pf, p->uuid, t->tid, t->name);
    else if (x->ch)
        tk_chrome_thread(x->ch, e->pid, t->tid, t->name[0] ? t->name : "thread");
    return 0;
}

static int on_name(void *ctx, const tk_rec_name *n)
{
    exporter *x = ctx;
    if (x->nnames && n->id <= x->names[x->nnames - 1].id)
        return -EINVAL;
    if (grow((void **)&x->names, x->nnames, sizeof *x->names) < 0)
        return -ENOMEM;
    ex_name *e = &x->names[x->nnames++];
    memset(e, 0, sizeof *e);
    e->id = n->id;
    e->process = n->process;
    snprintf(e->name, sizeof e->name, "%s", n->name);
    return 0;
}

static uint64_t iid_of(exporter *x, ex_name *n)
{
    if (!n->iid)
        n->iid = tk_perfetto_intern(x->pf, n->name);
    return n->iid;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static void csv_str(FILE *f, const char *s, size_t len)
{
    putc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            putc('"', f);
        putc(s[i], f);
    }
    putc('"', f);
}

static void csv_u64(FILE *f, uint64_t v)
{
    if (v != TK_REC_NONE)
        fprintf(f, "%" PRIu64, v);
    putc(',', f);
}

/* ---- rows to the writer ------------------------------------------------------------------- */

static int on_spans(void *ctx, const tk_rec_span *s, size_t n)
{
    exporter *x = ctx;
    const ex_thread *t = n ? find_thread(x, s[0].thread) : NULL;
    for (size_t i = 0; i < n; i++) {
        ex_name *nm = find_name(x, s[i].timer);
        if (!t || !nm) {
            x->bad_refs++;
            continue;
        }
        if (x->pf) {
            uint64_t origin = s[i].lat_ns == TK_REC_NONE || s[i].lat_ns > s[i].start_ns
                                  ? TK_PERFETTO_NONE : s[i].start_ns - s[i].lat_ns;
            tk_perfetto_slice(x->pf, t->uuid, iid_of(x, nm), s[i].start_ns, s[i].dur_ns, origin);
        } else if (x->ch) {
            tk_chrome_span(x->ch, t->pid, t->tid, nm->name, s[i].start_ns, s[i].dur_ns,
                           s[i].lat_ns == TK_REC_NONE ? TK_CHROME_NONE : s[i].lat_ns);
        } else {
            fprintf(x->out, "span,%d,%d,", t->pid, t->tid);
            csv_str(x->out, nm->name, strlen(nm->name));
            fprintf(x->out, ",%" PRIu64 ",%" PRIu64 ",", s[i].start_ns, s[i].dur_ns);
            csv_u64(x->out, s[i].lat_ns);
            fputs(",,,,\n", x->out);
        }
    }
    x->spans += n;
    return 0;
}

static int on_point(void *ctx, const tk_rec_point *p)
{
    exporter *x = ctx;
    const ex_thread *t = find_thread(x, p->thread);
    ex_name *nm = find_name(x, p->label);
    x->points++;
    if (!t || !nm) {
        x->bad_refs++;
        return 0;
    }
    if (x->pf) {
        tk_perfetto_instant(x->pf, t->uuid, iid_of(x, nm), p->ns, p->client, p->command,
                            p->session, p->context, p->context_len);
    } else if (x->ch) {
        tk_chrome_instant(x->ch, t->pid, t->tid, nm->name, p->ns, p->client, p->command,
                          p->session, p->context, p->context_len);
    } else {
        fprintf(x->out, "point,%d,%d,", t->pid, t->tid);
        csv_str(x->out, nm->name, strlen(nm->name));
        fprintf(x->out, ",%" PRIu64 ",,,", p->ns);
        csv_u64(x->out, p->client);
        csv_u64(x->out, p->command);
        csv_u64(x->out, p->session);
        if (p->context)
            csv_str(x->out, p->context, p->context_len);
        fputs(",\n", x->out);
    }
    return 0;
}

static int on_sample(void *ctx, const tk_rec_sample *s)
{
    exporter *x = ctx;
    ex_name *nm = find_name(x, s->name);
    ex_proc *p = nm ? find_proc(x, nm->process) : NULL;
    x->samples++;
    if (!p) {
        x->bad_refs++;
        return 0;
    }
    if (x->pf) {
        if (!nm->counter_uuid)
            nm->counter_uuid = tk_perfetto_counter_track(
                x->pf, p->uuid, nm->name, s->gauge ? TK_PERFETTO_UNIT_NONE : TK_PERFETTO_UNIT_COUNT);
        if (s->gauge)
            tk_perfetto_counter_double(x->pf, nm->counter_uuid, s->ns, s->value);
        else
            tk_perfetto_counter_int(x->pf, nm->counter_uuid, s->ns, (int64_t)s->value);
    } else if (x->ch) {
        tk_chrome_counter(x->ch, p->pid, nm->name, s->ns, s->value);
    } else {
        fprintf(x->out, "%s,%d,,", s->gauge ? "gauge" : "counter", p->pid);
        csv_str(x->out, nm->name, strlen(nm->name));
        fprintf(x->out, ",%" PRIu64 ",,,,,,,%.17g\n", s->ns, s->value);
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int export_recording(export_opts *o, const char *path)
{
    tk_rec *r;
    int rc = tk_rec_open(path, &r);
    if (rc < 0) {
        int st = cli_error("export", "%s: %s", path,
                           rc == -ENOENT ? "no such file" : tk_rec_error(r));
        tk_rec_close(r);
        return st;
    }
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, o->format == FMT_PERFETTO ? "wb" : "w"))) {
        tk_rec_close(r);
        return cli_error("export", "%s: %s", o->output, strerror(errno));
    }
    static char buf[1 << 16];
    setvbuf(out, buf, _IOFBF, sizeof buf);
    exporter x = {.o = o, .out = out};
    double t0 = now_s();
    if (o->format == FMT_PERFETTO)
        rc = tk_perfetto_open(out, o->flows, &x.pf);
    else if (o->format == FMT_CHROME)
        rc = tk_chrome_open(out, &x.ch);
    else
        fputs(TK_TRACE_CSV_HEADER, out);
    const char *step = "open";
    if (rc == 0 && (step = "processes", rc = tk_rec_processes(r, on_process, &x)) == 0 &&
        (step = "threads", rc = tk_rec_threads(r, on_thread, &x)) == 0 &&
        (step = "names", rc = tk_rec_names(r, on_name, &x)) == 0 &&
        (step = "spans", rc = tk_rec_spans(r, on_spans, &x)) == 0 &&
        (step = "points", rc = tk_rec_points(r, on_point, &x)) == 0)
        step = "samples", rc = tk_rec_samples(r, on_sample, &x);
    int wrc = x.pf ? tk_perfetto_close(x.pf) : x.ch ? tk_chrome_close(x.ch) : 0;
    double secs = now_s() - t0;
    int status = CLI_OK;
    if (rc != 0) {
        status = cli_error("export", "%s: reading %s: %s", path, step,
                           rc == -ENOMEM ? "out of memory" : tk_rec_error(r));
    } else if (wrc != 0) {
        status = cli_error("export", "writing: %s", strerror(-wrc));
    }
    if (status == CLI_OK && !o->quiet) {
        uint64_t n = x.spans + x.points + x.samples;
        fprintf(stderr,
                "timekeeper export: %" PRIu64 " spans, %" PRIu64 " points, %" PRIu64
                " samples in %.2fs (%.2f M records/s)%s\n",
                x.spans, x.points, x.samples, secs, secs > 0 ? n / secs / 1e6 : 0.0,
                x.bad_refs ? " (rows naming an unknown thread or name were skipped)" : "");
    }
    free(x.procs);
    free(x.threads);
    free(x.names);
    tk_rec_close(r);
    if (o->output) {
        if (fclose(out) != 0 && status == CLI_OK)
            status = cli_error("export", "%s: %s", o->output, strerror(errno));
        return status;
    }
    return cli_finish("export", status);
}
#endif

/* ---- --live: a consumer on the driver -------------------------------------------------------- */

static int export_live(export_opts *o)
{
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, o->format == FMT_PERFETTO ? "wb" : "w")))
        return cli_error("export", "%s: %s", o->output, strerror(errno));
    static char buf[1 << 16];
    setvbuf(out, buf, _IOFBF, sizeof buf);
    tkc_core_options co = {.dir = o->dir, .pid = o->pid};
    tkc_core *c = NULL;
    tkc_driver *d = NULL;
    tk_trace *t = NULL;
    int status = CLI_OK;
    double secs = 0;
    int rc = tkc_core_open(&co, &c);
    if (rc < 0) {
        status = cli_error("export", "cannot start the collector: %s", strerror(-rc));
        goto out;
    }
    if ((rc = tkc_core_check_dir(c)) < 0) {
        status = cli_error("export", "%s: %s", tkc_core_dir(c), strerror(-rc));
        goto out;
    }
    tk_trace_format f = o->format == FMT_PERFETTO ? TK_TRACE_PERFETTO
                      : o->format == FMT_CHROME ? TK_TRACE_CHROME : TK_TRACE_CSV;
    if (tk_trace_open(out, f, o->flows, &t) < 0 || !(d = tkc_driver_new(c, NULL)) ||
        tkc_core_subscribe(c, tk_trace_consumer(t)) != 0) {
        status = cli_error("export", "out of memory");
        goto out;
    }
    tkc_core_order_points(c, 1);
    tkc_signals_install();
    uint64_t start = tkc_now_ns();
    uint64_t end = o->duration > 0 ? start + (uint64_t)(o->duration * 1e9) : 0;
    while (!tkc_signal_received() && !(end && tkc_now_ns() >= end))
        tkc_driver_wait(d, end);
    tkc_driver_flush(d);
    tkc_core_flush_points(c);
    secs = (double)(tkc_now_ns() - start) / 1e9;
out:
    tkc_driver_free(d);
    tkc_core_close(c); /* proc_gone reaches the trace before it closes */
    if (t) {
        uint64_t spans, points, lost, samples = tk_trace_samples(t);
        tk_trace_counts(t, &spans, &points, &lost);
        rc = tk_trace_close(t);
        if (rc < 0 && status == CLI_OK)
            status = cli_error("export", "writing: %s", strerror(-rc));
        else if (status == CLI_OK && !o->quiet)
            fprintf(stderr,
                    "timekeeper export: %" PRIu64 " spans, %" PRIu64 " points, %" PRIu64
                    " samples in %.1fs, %" PRIu64 " records lost\n", spans, points,
                    samples, secs, lost);
    }
    if (o->output) {
        if (fclose(out) != 0 && status == CLI_OK)
            status = cli_error("export", "%s: %s", o->output, strerror(errno));
        return status;
    }
    return cli_finish("export", status);
}

static int cmd_export(int argc, char **argv)
{
    /* OTLP is its own mode: any --otlp... option (the endpoint may come from the environment) */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strncmp(argv[i], "--otlp", 6) == 0)
            return cmd_export_otlp_def.run(argc, argv);
    export_opts o = {.format = FMT_PERFETTO, .flows = 1};
    int status;
    int first = cli_parse(&cmd_export_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (o.live) {
        if (first < argc)
            return cli_usage_error(&cmd_export_def, "--live takes no recording");
        return export_live(&o);
    }
    if (first + 1 != argc)
        return cli_usage_error(&cmd_export_def, "expected one recording");
#ifdef TK_HAVE_RECORDING_READ
    return export_recording(&o, argv[first]);
#else
    return cli_error("export", "built without SQLite (libsqlite3-dev): cannot read recordings");
#endif
}
