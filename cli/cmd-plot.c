/* cmd-plot.c — `timekeeper plot`: many runs' `stats`/`resources` logs (or `record` files) in one
 * image through gnuplot, one panel per metric, one series per log, named and coloured from the
 * file name. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "sink/stats-line.h"

#ifdef TK_HAVE_RECORDING_READ
#include <sqlite3.h>
#endif

enum { OPT_TITLE = 256, OPT_WIDTH, OPT_GNUPLOT, OPT_KEEP };

static const cli_option options[] = {
    {"output", 'o', "FILE", "the image: .png or .svg (default graph.png)"},
    {"timer", 't', "NAME", "also plot this timer's p50 and p99 (repeatable)"},
    {"title", OPT_TITLE, "TEXT", "the image's title"},
    {"width", OPT_WIDTH, "PX", "width in pixels (default 1400; the height follows the panels)"},
    {"gnuplot", OPT_GNUPLOT, "PATH", "the gnuplot program (default $TK_GNUPLOT or gnuplot)"},
    {"keep", OPT_KEEP, NULL, "keep the generated script and data (their directory is printed)"},
    {0},
};

static int cmd_plot(int argc, char **argv);
const cli_command cmd_plot_def = {
    "plot", cmd_plot, "plot the stats and resources lines of many runs in one image",
    "[-o|--output FILE.png|FILE.svg] [-t|--timer NAME]... [--title TEXT] [--width PX] [--gnuplot PATH] "
    "[--keep] LOG...",
    "Reads the `stats - {...}` and `resources - {...}` lines that `timekeeper report --stats`\n"
    "writes (other lines are ignored) from each LOG and draws one image with one panel per\n"
    "metric: CPU (% of one core), RSS, each counter's rate, each gauge, and the p50/p99 of\n"
    "every --timer; one series per LOG, on a time axis from the log's first line.\n"
    "A log named NN_DESCRIPTION.log is drawn in colour NN with the name DESCRIPTION, so that\n"
    "00_regular.log and 01_no-dissect.log compare at a glance (logs with the same NN share\n"
    "the colour: runs of one mode). PNG or SVG by the output's extension, drawn by gnuplot\n"
    "(Debian package gnuplot-nox), which must be installed.\n"
    "A LOG may also be a `timekeeper record` file (SQLite): the same panels from its interval\n"
    "windows (resources, counters' deltas per second, gauges, the timers' processing p50/p99).",
    options,
};

#define MAX_TIMERS 16
#define MAX_LOGS 64

typedef struct plot_opts {
    const char *out, *title, *gnuplot;
    const char *timers[MAX_TIMERS];
    int ntimers, keep;
    uint64_t width;
} plot_opts;

static int on_option(void *ctx, int key, const char *arg)
{
    plot_opts *o = ctx;
    switch (key) {
    case 'o': o->out = arg; return 0;
    case 't':
        if (o->ntimers == MAX_TIMERS)
            return cli_usage_error(&cmd_plot_def, "at most %d --timer", MAX_TIMERS);
        o->timers[o->ntimers++] = arg;
        return 0;
    case OPT_TITLE: o->title = arg; return 0;
    case OPT_WIDTH:
        if (cli_parse_u64(arg, 300, 10000, &o->width))
            return cli_usage_error(&cmd_plot_def, "--width wants pixels in [300, 10000], not '%s'", arg);
        return 0;
    case OPT_GNUPLOT: o->gnuplot = arg; return 0;
    case OPT_KEEP: o->keep = 1; return 0;
    }
    return CLI_USAGE;
}

/* ---- the data: metrics × logs → points ------------------------------------------------------- */

typedef struct series {
    double *t, *v;
    size_t n, cap;
} series;

typedef struct metric {
    char key[128];    /* the line's key ("cpu", "counters.packets", "timers.parse.p99_ns") */
    char title[160];  /* the panel's title */
    char unit[32];    /* the y axis's label */
    double scale;     /* value × scale is plotted */
    int rate;         /* 1: divided by the line's interval_s */
    int order;        /* panels sorted by it, then by title */
    series s[MAX_LOGS];
} metric;

typedef struct plot_data {
    metric *m;
    size_t n, cap;
} plot_data;

typedef struct log_file {
    const char *path;
    char name[128];
    char group[128];  /* the name without a trailing run number ("regular_2" → "regular") */
    int colour;
} log_file;

/* The panel of a line's key, created when new; NULL when the key is not plotted. */
static metric *metric_for(plot_data *d, const char *key, const plot_opts *o)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->m[i].key, key))
            return &d->m[i];
    metric m;
    memset(&m, 0, sizeof m);
    snprintf(m.key, sizeof m.key, "%s", key);
    m.scale = 1;
    if (!strcmp(key, "cpu")) {
        snprintf(m.title, sizeof m.title, "CPU");
        snprintf(m.unit, sizeof m.unit, "%% of one core");
        m.order = 0;
    } else if (!strcmp(key, "rss")) {
        snprintf(m.title, sizeof m.title, "RSS");
        snprintf(m.unit, sizeof m.unit, "MiB");
        m.scale = 1.0 / 1048576.0;
        m.order = 1;
    } else if (!strcmp(key, "heap")) {
        snprintf(m.title, sizeof m.title, "heap");
        snprintf(m.unit, sizeof m.unit, "MiB");
        m.scale = 1.0 / 1048576.0;
        m.order = 2;
    } else if (!strncmp(key, "counters.", 9)) {
        snprintf(m.title, sizeof m.title, "%.100s", key + 9);
        snprintf(m.unit, sizeof m.unit, "per second");
        m.rate = 1;
        m.order = 3;
    } else if (!strncmp(key, "gauges.", 7)) {
        snprintf(m.title, sizeof m.title, "%.100s", key + 7);
        snprintf(m.unit, sizeof m.unit, "value");
        m.order = 4;
    } else if (!strncmp(key, "timers.", 7)) {
        const char *name = key + 7, *dot = strrchr(name, '.');
        if (!dot || (strcmp(dot, ".p50_ns") && strcmp(dot, ".p99_ns")))
            return NULL;
        int chosen = 0;
        for (int i = 0; i < o->ntimers; i++)
            chosen |= strlen(o->timers[i]) == (size_t)(dot - name) &&
                      !strncmp(o->timers[i], name, (size_t)(dot - name));
        if (!chosen)
            return NULL;
        snprintf(m.title, sizeof m.title, "%.*s %s", (int)(dot - name), name,
                 !strcmp(dot, ".p50_ns") ? "p50" : "p99");
        snprintf(m.unit, sizeof m.unit, "µs");
        m.scale = 1e-3;
        m.order = 5;
    } else {
        return NULL;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        metric *nm = realloc(d->m, cap * sizeof *nm);
        if (!nm)
            return NULL;
        d->m = nm;
        d->cap = cap;
    }
    d->m[d->n] = m;
    return &d->m[d->n++];
}

static int series_add(series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        double *nt = realloc(s->t, cap * sizeof *nt), *nv;
        if (!nt)
            return -1;
        s->t = nt;
        nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
    return 0;
}

/* "03_no-dissect_2.log" → colour 3, name "no-dissect_2"; without a leading number the colour is
 * the log's position. */
static void name_log(log_file *l, int index)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", l->path);
    const char *base = basename(tmp);
    char *end;
    long c = strtol(base, &end, 10);
    if (end != base && c >= 0) {
        l->colour = (int)c;
        base = end;
        while (*base == '_' || *base == '-' || *base == ' ')
            base++;
    } else {
        l->colour = index;
    }
    snprintf(l->name, sizeof l->name, "%s", *base ? base : l->path);
    char *dot = strrchr(l->name, '.');
    if (dot && dot != l->name)
        *dot = '\0';
    snprintf(l->group, sizeof l->group, "%s", l->name);
    char *us = strrchr(l->group, '_');
    if (us && us != l->group && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1))
        *us = '\0';
}

static int is_sqlite(const char *path)
{
    char magic[16] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == 16 && !memcmp(magic, "SQLite format 3", 16);
}

#ifdef TK_HAVE_RECORDING_READ
/* One query's rows into column li: each row is (end_mono_ns, key suffix or NULL, value...);
 * the key is prefix + suffix (+ tail[k] for the k-th value column), the time is relative to t0.
 * Returns rows used, or -1 (reported). */
static long rec_query(plot_data *d, int li, const plot_opts *o, sqlite3 *db, const char *path,
                      const char *sql, int64_t t0, const char *prefix, const char *const *tail,
                      int nvalues)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        cli_error("plot", "%s: not a readable recording: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    long used = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double t = (double)(sqlite3_column_int64(st, 0) - t0) / 1e9;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        used++;
        for (int k = 0; k < nvalues; k++) {
            if (sqlite3_column_type(st, 2 + k) == SQLITE_NULL)
                continue;
            char key[128];
            snprintf(key, sizeof key, "%s%s%s", prefix, name ? name : "", tail ? tail[k] : "");
            metric *m = metric_for(d, key, o);
            /* counters arrive as rates already (delta / seconds) */
            if (m && series_add(&m->s[li], t, sqlite3_column_double(st, 2 + k) * m->scale)) {
                sqlite3_finalize(st);
                cli_error("plot", "out of memory");
                return -1;
            }
        }
    }
    if (rc != SQLITE_DONE) {
        cli_error("plot", "%s: %s", path, sqlite3_errmsg(db));
        used = -1;
    }
    sqlite3_finalize(st);
    return used;
}

/* A `timekeeper record` file (docs/recording-schema.md) into column li: per `interval` window,
 * CPU and RSS (summed over the recorded processes), each counter's rate (its delta over the
 * window's seconds), each gauge, and the chosen timers' processing p50/p99. The time axis starts
 * at the end of the first window. Returns windows with data, or -1 (reported). */
static long read_recording(plot_data *d, const log_file *l, int li, const plot_opts *o)
{
    sqlite3 *db = NULL;
    long used = -1;
    if (sqlite3_open_v2(l->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cli_error("plot", "%s: %s", l->path, db ? sqlite3_errmsg(db) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *st;
    const char *version = NULL;
    int64_t t0 = 0;
    long windows = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                           NULL) != SQLITE_OK) {
        cli_error("plot", "%s: a SQLite file but not a recording (%s)", l->path,
                  sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        version = (const char *)sqlite3_column_text(st, 0);
    if (!version || strcmp(version, "1")) {
        cli_error("plot", "%s: recording schema %s, this timekeeper reads schema 1", l->path,
                  version ? version : "(none)");
        sqlite3_finalize(st);
        goto out;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT MIN(end_mono_ns), COUNT(*) FROM intervals "
                               "WHERE window = 'interval'", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        cli_error("plot", "%s: %s", l->path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        goto out;
    }
    t0 = sqlite3_column_int64(st, 0);
    windows = (long)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    /* a window's length: its `seconds`, else its bounds */
#define SECS \
    "(CASE WHEN i.seconds > 0 THEN i.seconds ELSE (i.end_mono_ns - i.start_mono_ns) / 1e9 END)"
#define WIN "JOIN intervals i ON i.id = x.interval WHERE i.window = 'interval' "
    static const char *const res_tail[] = {"cpu", "rss"};
    static const char *const pct_tail[] = {".p50_ns", ".p99_ns"};
    if (rec_query(d, li, o, db, l->path,
                  "SELECT i.end_mono_ns, NULL, SUM(x.cpu_pct), SUM(x.rss_bytes) FROM resources x "
                  WIN "GROUP BY i.id ORDER BY i.end_mono_ns", t0, "", res_tail, 2) < 0 ||
        rec_query(d, li, o, db, l->path,
                  "SELECT i.end_mono_ns, n.name, SUM(x.delta) / " SECS " FROM counters x "
                  "JOIN names n ON n.id = x.name " WIN
                  "GROUP BY i.id, n.name ORDER BY i.end_mono_ns", t0, "counters.", NULL, 1) < 0 ||
        rec_query(d, li, o, db, l->path,
                  "SELECT i.end_mono_ns, n.name, SUM(x.value) FROM gauges x "
                  "JOIN names n ON n.id = x.name " WIN "AND n.kind = 'gauge' "
                  "GROUP BY i.id, n.name ORDER BY i.end_mono_ns", t0, "gauges.", NULL, 1) < 0)
        goto out;
    /* timers: only the chosen ones become panels (metric_for); several processes' timer of one
     * name are one series (the larger percentile) */
    if (o->ntimers &&
        rec_query(d, li, o, db, l->path,
                  "SELECT i.end_mono_ns, n.name, MAX(x.p50_ns), MAX(x.p99_ns) FROM stats x "
                  "JOIN names n ON n.id = x.timer " WIN "AND x.kind = 'processing' "
                  "GROUP BY i.id, n.name ORDER BY i.end_mono_ns", t0, "timers.", pct_tail, 2) < 0)
        goto out;
#undef SECS
#undef WIN
    used = windows;
out:
    sqlite3_close(db);
    return used;
}
#endif

/* Reads one log (or recording) into column li of every metric. Returns lines (windows) used, or
 * -1 (reported). */
static long read_log(plot_data *d, const log_file *l, int li, const plot_opts *o)
{
    if (is_sqlite(l->path)) {
#ifdef TK_HAVE_RECORDING_READ
        return read_recording(d, l, li, o);
#else
        cli_error("plot", "%s: a `record` file, but this timekeeper was built without SQLite "
                          "(install libsqlite3-dev and rebuild); give the logs of `report --stats`",
                  l->path);
        return -1;
#endif
    }
    FILE *f = fopen(l->path, "re");
    if (!f) {
        cli_error("plot", "%s: %s", l->path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long used = 0;
    double t0 = NAN;
    static tk_stats_kv kv[512];
    while (getline(&line, &cap, f) > 0) {
        size_t n;
        int kind = tk_stats_parse(line, kv, 512, &n);
        if (kind == TK_LINE_OTHER)
            continue;
        if (n > 512)
            n = 512;
        double t = NAN, interval = 1;
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(kv[i].key, "t"))
                t = kv[i].value;
            else if (!strcmp(kv[i].key, "interval_s") && kv[i].value > 0)
                interval = kv[i].value;
        }
        if (isnan(t))
            continue;
        if (isnan(t0))
            t0 = t;
        used++;
        for (size_t i = 0; i < n; i++) {
            metric *m = metric_for(d, kv[i].key, o);
            if (m && series_add(&m->s[li], t - t0, kv[i].value * m->scale / (m->rate ? interval : 1))) {
                free(line);
                fclose(f);
                cli_error("plot", "out of memory");
                return -1;
            }
        }
    }
    free(line);
    fclose(f);
    return used;
}

static int cmp_metric(const void *a, const void *b)
{
    const metric *x = a, *y = b;
    if (x->order != y->order)
        return x->order - y->order;
    return strcmp(x->title, y->title);
}

/* ---- gnuplot ---------------------------------------------------------------------------------- */

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

/* A string for a gnuplot script: single quotes, a quote doubled. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc((unsigned char)*s >= 0x20 ? *s : ' ', f);
    }
    fputc('\'', f);
}

static int run_gnuplot(const char *prog, const char *script)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp(prog, prog, script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int have_program(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

static int write_plot(const plot_data *d, const log_file *logs, int nlogs, const plot_opts *o,
                      const char *tmp)
{
    char path[4096];
    for (size_t i = 0; i < d->n; i++)
        for (int li = 0; li < nlogs; li++) {
            const series *s = &d->m[i].s[li];
            if (!s->n)
                continue;
            snprintf(path, sizeof path, "%s/m%zu_l%d.dat", tmp, i, li);
            FILE *f = fopen(path, "we");
            if (!f)
                return -1;
            for (size_t k = 0; k < s->n; k++)
                fprintf(f, "%.3f %.6g\n", s->t[k], s->v[k]);
            if (fclose(f))
                return -1;
        }
    snprintf(path, sizeof path, "%s/plot.gp", tmp);
    FILE *g = fopen(path, "we");
    if (!g)
        return -1;
    const char *ext = strrchr(o->out, '.');
    int svg = ext && !strcasecmp(ext, ".svg");
    int cols = d->n <= 3 ? 1 : 2, rows = (int)((d->n + (size_t)cols - 1) / (size_t)cols);
    unsigned width = (unsigned)(o->width ? o->width : (cols == 1 ? 1000 : 1400));
    unsigned height = (unsigned)(rows * 300 + (o->title ? 60 : 20));
    if (svg)
        fprintf(g, "set terminal svg size %u,%u dynamic font 'sans,12' background '#ffffff'\n",
                width, height);
    else
        fprintf(g, "set terminal pngcairo size %u,%u font 'sans,11' background '#ffffff'\n", width,
                height);
    fputs("set output ", g);
    gp_str(g, o->out);
    /* noenhanced: names keep their underscores; the legend sits above each panel's data */
    fputs("\nset termoption noenhanced\nset encoding utf8\nset grid lc rgb '#dddddd'\n"
          "set border 3\nset tics nomirror\nset key outside top center horizontal samplen 2 font ',10'\n"
          "set xlabel 'time (s)'\nset yrange [0:*]\nset lmargin 11\nset rmargin 3\n", g);
    fprintf(g, "set multiplot layout %d,%d", rows, cols);
    if (o->title) {
        fputs(" title ", g);
        gp_str(g, o->title);
        fputs(" font 'sans,14'", g);
    }
    fputs("\n", g);
    for (size_t i = 0; i < d->n; i++) {
        const metric *m = &d->m[i];
        fputs("set title ", g);
        gp_str(g, m->title);
        fputs(" font 'sans,12'\nset ylabel ", g);
        gp_str(g, m->unit);
        double max = 0;
        for (int li = 0; li < nlogs; li++)
            for (size_t k = 0; k < m->s[li].n; k++)
                max = m->s[li].v[k] > max ? m->s[li].v[k] : max;
        /* large values with a k/M/G suffix ("3.5M"), small ones as they are */
        fputs(max >= 10000 ? "\nset format y '%.1s%c'\n" : "\nset format y '%g'\n", g);
        fputs("plot ", g);
        int any = 0;
        for (int li = 0; li < nlogs; li++) {
            if (!m->s[li].n)
                continue;
            fprintf(g, "%s'%s/m%zu_l%d.dat' using 1:2 with lines lw 2 lc rgb '%s' ",
                    any ? ", \\\n     " : "", tmp, i, li,
                    palette[logs[li].colour % (int)(sizeof palette / sizeof *palette)]);
            /* logs of one colour (runs of one mode) share one legend entry, named by their
             * common part */
            int same = 0, first_of_colour = 1;
            for (int lj = 0; lj < nlogs; lj++) {
                same += logs[lj].colour == logs[li].colour;
                if (lj < li && logs[lj].colour == logs[li].colour && m->s[lj].n)
                    first_of_colour = 0;
            }
            if (!first_of_colour) {
                fputs("notitle", g);
            } else {
                fputs("title ", g);
                gp_str(g, same > 1 ? logs[li].group : logs[li].name);
            }
            any = 1;
        }
        if (!any)
            fputs("NaN notitle", g);
        fputs("\n", g);
    }
    fputs("unset multiplot\n", g);
    return fclose(g) ? -1 : 0;
}

static void rm_tmp(const char *tmp, const plot_data *d, int nlogs)
{
    char path[4096];
    for (size_t i = 0; i < d->n; i++)
        for (int li = 0; li < nlogs; li++) {
            snprintf(path, sizeof path, "%s/m%zu_l%d.dat", tmp, i, li);
            unlink(path);
        }
    snprintf(path, sizeof path, "%s/plot.gp", tmp);
    unlink(path);
    rmdir(tmp);
}

/* Does option word w (an "-x" or "--name" or "--name=v") take the next word as its value? */
static int takes_value(const char *w)
{
    for (const cli_option *op = options; op->name; op++) {
        if (!op->arg)
            continue;
        if (w[1] == '-' && !strcmp(w + 2, op->name))
            return 1;
        if (w[1] != '-' && op->key < 256 && w[1] == op->key && !w[2])
            return 1;
    }
    return 0;
}

/* Options may follow the logs (`plot a.log b.log -o x.png`): a new argv (to free) with the
 * options first, then "--", then the operands; *ac is its length. NULL when out of memory. */
static char **options_first(int argc, char **argv, int *ac)
{
    char **av = calloc((size_t)argc + 2, sizeof *av), **opnds = calloc((size_t)argc + 1, sizeof *opnds);
    if (!av || !opnds) {
        free(av);
        free(opnds);
        return NULL;
    }
    int k = 0, nd = 0, i = 1;
    av[k++] = argv[0];
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            for (i++; i < argc; i++)
                opnds[nd++] = argv[i];
            break;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            av[k++] = argv[i];
            if (takes_value(argv[i]) && i + 1 < argc)
                av[k++] = argv[++i];
        } else {
            opnds[nd++] = argv[i];
        }
    }
    av[k++] = (char *)"--";
    for (int j = 0; j < nd; j++)
        av[k++] = opnds[j];
    free(opnds);
    *ac = k;
    return av;
}

static int cmd_plot(int argc, char **argv)
{
    plot_opts o = {.out = "graph.png"};
    int status;
    char **av = options_first(argc, argv, &argc);
    if (!av)
        return cli_error("plot", "out of memory");
    argv = av;
    int first = cli_parse(&cmd_plot_def, argc, argv, on_option, &o, &status);
    if (first < 0) {
        free(av);
        return status;
    }
    int nlogs = argc - first;
    const char *ext = strrchr(o.out, '.');
    if (nlogs < 1 || nlogs > MAX_LOGS || !ext || (strcasecmp(ext, ".png") && strcasecmp(ext, ".svg"))) {
        free(av);
        if (nlogs < 1)
            return cli_usage_error(&cmd_plot_def, "no log to plot");
        if (nlogs > MAX_LOGS)
            return cli_usage_error(&cmd_plot_def, "at most %d logs", MAX_LOGS);
        return cli_usage_error(&cmd_plot_def, "-o wants a .png or .svg file, not '%s'", o.out);
    }
    if (!o.gnuplot)
        o.gnuplot = getenv("TK_GNUPLOT") && *getenv("TK_GNUPLOT") ? getenv("TK_GNUPLOT") : "gnuplot";
    if (!have_program(o.gnuplot)) {
        free(av);
        return cli_error("plot", "%s not found: plotting needs gnuplot (Debian: apt-get install "
                                 "gnuplot-nox)", o.gnuplot);
    }

    log_file logs[MAX_LOGS];
    plot_data d = {0};
    int rc = CLI_FAIL;
    long lines = 0;
    for (int li = 0; li < nlogs; li++) {
        logs[li].path = argv[first + li];
        name_log(&logs[li], li);
        long n = read_log(&d, &logs[li], li, &o);
        if (n < 0)
            goto out;
        if (n == 0)
            fprintf(stderr, "timekeeper plot: %s has no stats or resources lines\n", logs[li].path);
        lines += n;
    }
    if (!lines || !d.n) {
        cli_error("plot", "nothing to plot");
        goto out;
    }
    qsort(d.m, d.n, sizeof *d.m, cmp_metric);
    char tmp[1024];
    const char *td = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/timekeeper-plot-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmp)) {
        cli_error("plot", "cannot create a temporary directory: %s", strerror(errno));
        goto out;
    }
    if (write_plot(&d, logs, nlogs, &o, tmp) != 0) {
        cli_error("plot", "cannot write the gnuplot input in %s: %s", tmp, strerror(errno));
    } else {
        char script[1100];
        snprintf(script, sizeof script, "%s/plot.gp", tmp);
        int g = run_gnuplot(o.gnuplot, script);
        if (g == 0) {
            printf("%s: %zu panels, %d logs\n", o.out, d.n, nlogs);
            rc = CLI_OK;
        } else {
            cli_error("plot", "gnuplot failed (exit %d); its input is in %s", g, tmp);
            o.keep = 1;
        }
    }
    if (o.keep)
        fprintf(stderr, "timekeeper plot: script and data kept in %s\n", tmp);
    else
        rm_tmp(tmp, &d, nlogs);
out:
    for (size_t i = 0; i < d.n; i++)
        for (int li = 0; li < MAX_LOGS; li++) {
            free(d.m[i].s[li].t);
            free(d.m[i].s[li].v);
        }
    free(d.m);
    free(av);
    return cli_finish("plot", rc);
}
