/* cmd-bench.c — `timekeeper bench`: runs a program in several modes (environment variables such
 * as TK_DISABLE_STAGES), several times each, under a load generator; collects its stats and
 * resources lines per run, then writes a plot and a summary table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "collector.h"
#include "core/counters-read.h"
#include "core/procstat.h"
#include "format/segment.h"
#include "sink/stats-line.h"

/* Paths are built from the output directory, whose length is checked (< 900 bytes) before any
 * run, into buffers of 4 KiB: GCC cannot see that bound. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

enum { OPT_MODE = 256, OPT_RUNS, OPT_DURATION, OPT_LOAD, OPT_PORT,
       OPT_READY, OPT_NO_PLOT };

static const cli_option options[] = {
    {"mode", OPT_MODE, "NAME[:VAR=VALUE]...", "a mode: its name and the environment it runs with (repeatable; default one mode 'regular')"},
    {"runs", OPT_RUNS, "N", "runs of every mode (default 3; $TK_BENCH_RUNS)"},
    {"duration", OPT_DURATION, "D", "length of each run: 60s, 2m... (default 60s; $TK_BENCH_DURATION)"},
    {"load", OPT_LOAD, "CMD", "the load generator, a shell command; {duration} and {port} are replaced ($TK_BENCH_LOAD)"},
    {"output", 'o', "DIR", "where the logs, graph and summary go (default bench-out; $TK_BENCH_OUTPUT_DIR)"},
    {"port", OPT_PORT, "P", "the port for {port} (default: a free port per run; $TK_BENCH_PORT)"},
    {"interval", 'i', "S", "seconds between stats lines (default 1; $TK_BENCH_INTERVAL)"},
    {"timer", 't', "NAME", "plot this timer's p50/p99 too (repeatable)"},
    {"ready-timeout", OPT_READY, "S", "seconds the program has to accept on its port (default 10)"},
    {"no-plot", OPT_NO_PLOT, NULL, "write no graph"},
    {0},
};

static int cmd_bench(int argc, char **argv);
const cli_command cmd_bench_def = {
    "bench", cmd_bench, "run a program in several modes under load and compare them",
    "--mode NAME[:VAR=VALUE]... [--runs N] [--duration D] --load CMD [-o|--output DIR] [--port P] "
    "[-i|--interval S] [-t|--timer NAME]... [--ready-timeout S] [--no-plot] -- PROGRAM [ARG...]",
    "Runs PROGRAM (its {port} replaced) once per mode and run, each mode with its environment\n"
    "(e.g. --mode no-publish:TK_DISABLE_STAGES=publish), in its own process group. Once the\n"
    "program accepts connections on 127.0.0.1:{port}, starts the load command (a shell command,\n"
    "{duration} and {port} replaced) and, until the load ends, writes the program's stats and\n"
    "resources lines every interval into DIR/NN_mode_R.log (NN: the mode's number, R: the run).\n"
    "Then stops the program (SIGTERM to its group, SIGKILL after 3 s). A run whose program dies\n"
    "is reported and the next one starts; Ctrl-C stops everything it started and summarises the\n"
    "runs done. At the end: DIR/graph.png (timekeeper plot), DIR/summary.txt and summary.json:\n"
    "per mode the CPU (% of one core), the CPU time per request, RSS, throughput and latency\n"
    "percentiles read from the load generator's output (wrk's Requests/sec and, with --latency,\n"
    "its distribution), each as the mean over runs with the spread (min..max). The program's\n"
    "output goes to DIR/NN_mode_R.out, the load's to DIR/NN_mode_R.load.",
    options,
};

#define MAX_MODES 16
#define MAX_ENV 8
#define MAX_TIMERS 8
#define MAX_RUNS 100

typedef struct mode {
    char name[64];
    char *env[MAX_ENV];
    int nenv;
} mode;

typedef struct run_result {
    int ok;
    char why[160];
    double cpu, rss_max, rps, lat_p50, lat_p99, lat_avg; /* cpu: %, rss: bytes, latency: µs */
    int have_p50, have_p99, have_avg;
} run_result;

typedef struct bench_opts {
    mode modes[MAX_MODES];
    int nmodes;
    uint64_t runs;
    double duration, interval, ready_timeout;
    const char *load, *out;
    int port, no_plot;
    const char *timers[MAX_TIMERS];
    int ntimers;
} bench_opts;

/* "60s", "2m", "1.5h", "90" (seconds). Returns 0 or -1. */
static int parse_duration(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double mul = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 1e-3
                 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : -1;
    if (mul < 0)
        return -1;
    *out = v * mul;
    return 0;
}

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) { interrupted = sig; }

static int parse_mode(mode *m, const char *arg)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL, *tok = strtok_r(buf, ":", &save);
    if (!tok || !*tok || strlen(tok) >= sizeof m->name || strchr(tok, '/') || strchr(tok, '='))
        return -1;
    snprintf(m->name, sizeof m->name, "%s", tok);
    m->nenv = 0;
    while ((tok = strtok_r(NULL, ":", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || m->nenv == MAX_ENV)
            return -1;
        m->env[m->nenv++] = strdup(tok);
    }
    return 0;
}

static int on_option(void *ctx, int key, const char *arg)
{
    bench_opts *o = ctx;
    uint64_t v;
    switch (key) {
    case OPT_MODE:
        if (o->nmodes == MAX_MODES)
            return cli_usage_error(&cmd_bench_def, "at most %d modes", MAX_MODES);
        if (parse_mode(&o->modes[o->nmodes], arg))
            return cli_usage_error(&cmd_bench_def, "--mode wants NAME[:VAR=VALUE]..., not '%s'", arg);
        o->nmodes++;
        return 0;
    case OPT_RUNS:
        if (cli_parse_u64(arg, 1, MAX_RUNS, &o->runs))
            return cli_usage_error(&cmd_bench_def, "--runs wants 1..%d, not '%s'", MAX_RUNS, arg);
        return 0;
    case OPT_DURATION:
        if (parse_duration(arg, &o->duration) || o->duration < 1)
            return cli_usage_error(&cmd_bench_def, "--duration wants a duration >= 1s, not '%s'", arg);
        return 0;
    case OPT_LOAD: o->load = arg; return 0;
    case 'o': o->out = arg; return 0;
    case OPT_PORT:
        if (cli_parse_u64(arg, 1, 65535, &v))
            return cli_usage_error(&cmd_bench_def, "--port wants 1..65535, not '%s'", arg);
        o->port = (int)v;
        return 0;
    case 'i':
        if (cli_parse_double(arg, 0.1, 3600, &o->interval))
            return cli_usage_error(&cmd_bench_def, "--interval wants seconds in [0.1, 3600], not '%s'", arg);
        return 0;
    case 't':
        if (o->ntimers == MAX_TIMERS)
            return cli_usage_error(&cmd_bench_def, "at most %d --timer", MAX_TIMERS);
        o->timers[o->ntimers++] = arg;
        return 0;
    case OPT_READY:
        if (cli_parse_double(arg, 0.1, 600, &o->ready_timeout))
            return cli_usage_error(&cmd_bench_def, "--ready-timeout wants seconds, not '%s'", arg);
        return 0;
    case OPT_NO_PLOT: o->no_plot = 1; return 0;
    }
    return CLI_USAGE;
}

/* ---- helpers ----------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A port nobody listens on now (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* s with {duration} and {port} replaced, into a new string. */
static char *subst(const char *s, const char *duration, int port)
{
    size_t cap = strlen(s) * 2 + 64, k = 0;
    char *out = malloc(cap), ps[16];
    if (!out)
        return NULL;
    snprintf(ps, sizeof ps, "%d", port);
    while (*s) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(s, "{duration}", 10))
            rep = duration, skip = 10;
        else if (!strncmp(s, "{port}", 6))
            rep = ps, skip = 6;
        size_t need = rep ? strlen(rep) : 1;
        if (k + need + 1 > cap) {
            cap = (k + need + 1) * 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(out);
                return NULL;
            }
            out = n;
        }
        if (rep) {
            memcpy(out + k, rep, need);
            k += need;
            s += skip;
        } else {
            out[k++] = *s++;
        }
    }
    out[k] = '\0';
    return out;
}

/* Starts argv in a process group of its own, with extra environment entries, output to path.
 * The child dies with us (PR_SET_PDEATHSIG) even if we are killed. Returns its pid or -1. */
static pid_t spawn(char *const *argv, char *const *env, int nenv, const char *out_path)
{
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        dup2(fd, 1);
        dup2(fd, 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        for (int i = 0; i < nenv; i++)
            putenv(env[i]);
        execvp(argv[0], argv);
        dprintf(2, "timekeeper bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid > 0)
        setpgid(pid, pid); /* also here: no race with the kill below */
    close(fd);
    return pid;
}

/* Stops the process group of pid: SIGTERM, then SIGKILL after grace seconds. Returns the wait
 * status of pid (or the status already reaped into *reaped_status when reaped != 0). */
static int stop_group(pid_t pid, double grace, int reaped, int reaped_status)
{
    int st = reaped_status;
    kill(-pid, SIGTERM);
    double end = now_s() + grace;
    while (!reaped && now_s() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            reaped = 1;
            break;
        }
        sleep_s(0.02);
    }
    kill(-pid, SIGKILL); /* whatever is left of the group */
    if (!reaped)
        waitpid(pid, &st, 0);
    return st;
}

static void describe_status(char *buf, size_t len, int st)
{
    if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ---- the program's segment: counters read directly ---------------------------------------------- */

typedef struct seg_view {
    const char *mem;
    size_t size;
    uint64_t prev[TKS_DEFAULT_MAX_NAMES];
    int seen[TKS_DEFAULT_MAX_NAMES];
    tka_counter_value vals[256];
    char names[256][TKS_NAME_LEN_MAX + 1];
    size_t nvals;
} seg_view;

static int sv_read(void *ctx, uint64_t off, void *dst, size_t len)
{
    seg_view *v = ctx;
    if (off > v->size || len > v->size - off)
        return -1;
    memcpy(dst, v->mem + off, len);
    return 0;
}

static const tks_name *sv_name(seg_view *v, uint32_t id)
{
    const tks_header *h = (const tks_header *)v->mem;
    uint64_t off = h->names_offset + (uint64_t)id * TKS_NAME_ENTRY_SIZE;
    if (id >= h->max_names || off > v->size || v->size - off < TKS_NAME_ENTRY_SIZE)
        return NULL;
    return (const tks_name *)(v->mem + off);
}

static int sv_kind(void *ctx, uint32_t id)
{
    const tks_name *n = sv_name(ctx, id);
    return n ? n->kind : 0;
}

static void sv_emit(void *ctx, const tkc_event *e)
{
    seg_view *v = ctx;
    if (v->nvals >= 256 || e->name >= TKS_DEFAULT_MAX_NAMES)
        return;
    const tks_name *n = sv_name(v, e->name);
    char *name = v->names[v->nvals];
    size_t len = n ? strnlen(n->name, TKS_NAME_LEN_MAX) : 0;
    memcpy(name, n ? n->name : "", len);
    name[len] = '\0';
    tka_counter_value *x = &v->vals[v->nvals++];
    memset(x, 0, sizeof *x);
    x->name = name;
    if (e->kind == TKC_EV_COUNTER) {
        x->kind = TKS_NAME_COUNTER;
        x->total = e->a;
        x->delta = v->seen[e->name] && e->a >= v->prev[e->name] ? e->a - v->prev[e->name] : 0;
        v->prev[e->name] = e->a;
        v->seen[e->name] = 1;
    } else {
        x->kind = (int)e->sub;
        x->value = (int64_t)e->a;
    }
}

/* Maps the segment of pid in dir (read-only, validated). Returns 0 or -1 (not there yet). */
static int seg_open(seg_view *v, const char *dir, int pid)
{
    char prefix[64], path[4096];
    snprintf(prefix, sizeof prefix, TKS_FILE_PREFIX "%d-", pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = -1;
    while (rc && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)TKS_HEADER_SIZE) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            continue;
        char why[128];
        if (segment_validate(m, (size_t)st.st_size, why, sizeof why) != 0) {
            munmap(m, (size_t)st.st_size);
            continue;
        }
        v->mem = m;
        v->size = (size_t)st.st_size;
        rc = 0;
    }
    closedir(d);
    return rc;
}

static void seg_poll(seg_view *v)
{
    v->nvals = 0;
    if (!v->mem)
        return;
    const tks_header *h = (const tks_header *)v->mem;
    uint32_t names = __atomic_load_n(&h->name_count, __ATOMIC_ACQUIRE);
    tkc_counters_source src = {v, sv_read, sv_kind, sv_emit, names < h->max_names ? names : h->max_names, 0};
    tkc_counters_read(&src, 0);
}

/* ---- the load generator's output (wrk) ---------------------------------------------------------- */

/* "176.60us", "1.20ms", "2.00s" → µs; -1 when not a duration. */
static double parse_us(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (!strncmp(end, "us", 2))
        return v;
    if (!strncmp(end, "ms", 2))
        return v * 1e3;
    if (!strncmp(end, "s", 1))
        return v * 1e6;
    if (!strncmp(end, "m", 1))
        return v * 60e6;
    return -1;
}

static void parse_load_output(const char *path, run_result *r)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!strncmp(p, "Requests/sec:", 13)) {
            r->rps = strtod(p + 13, NULL);
        } else if (!strncmp(p, "Latency ", 8) && !r->have_avg) {
            double v = parse_us(p + 8 + strspn(p + 8, " "));
            if (v >= 0)
                r->lat_avg = v, r->have_avg = 1;
        } else if (!strncmp(p, "50%", 3) || !strncmp(p, "99%", 3)) {
            double v = parse_us(p + 3 + strspn(p + 3, " "));
            if (v >= 0 && p[0] == '5')
                r->lat_p50 = v, r->have_p50 = 1;
            else if (v >= 0)
                r->lat_p99 = v, r->have_p99 = 1;
        }
    }
    fclose(f);
}

/* ---- one run ------------------------------------------------------------------------------------ */

typedef struct progress {
    int tty;
    int done, total;
    double per_run;      /* estimated seconds of one run */
    double run_start;
    const char *label;
} progress;

static void progress_show(const progress *p)
{
    if (!p->tty)
        return;
    double in_run = now_s() - p->run_start;
    if (in_run > p->per_run)
        in_run = p->per_run;
    double frac = ((double)p->done + in_run / p->per_run) / (double)p->total;
    double left = (double)(p->total - p->done) * p->per_run - in_run;
    int width = 30, fill = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  run %d/%d %-24.24s  %2dm%02ds left ", bar, frac * 100,
            p->done + 1, p->total, p->label, (int)left / 60, (int)left % 60);
    fflush(stderr);
}

static void run_one(const bench_opts *o, int mi, int run, char **prog, int nprog, progress *pg,
                    run_result *res)
{
    const mode *m = &o->modes[mi];
    char base[4096], logp[4200], outp[4200], loadp[4200], tkdir[4200], dur[32];
    memset(res, 0, sizeof *res);
    snprintf(base, sizeof base, "%s/%02d_%s_%d", o->out, mi, m->name, run);
    snprintf(logp, sizeof logp, "%s.log", base);
    snprintf(outp, sizeof outp, "%s.out", base);
    snprintf(loadp, sizeof loadp, "%s.load", base);
    snprintf(tkdir, sizeof tkdir, "%s/.tk-XXXXXX", o->out);
    snprintf(dur, sizeof dur, "%ds", (int)ceil(o->duration));
    int port = o->port ? o->port : free_port();
    if (port < 0 || !mkdtemp(tkdir)) {
        snprintf(res->why, sizeof res->why, "no free port or no temporary directory");
        return;
    }
    char **av = calloc((size_t)nprog + 1, sizeof *av);
    char *env[MAX_ENV + 1], tkenv[4300];
    snprintf(tkenv, sizeof tkenv, "TK_DIR=%s", tkdir);
    env[0] = tkenv;
    for (int i = 0; i < m->nenv; i++)
        env[1 + i] = m->env[i];
    for (int i = 0; av && i < nprog; i++)
        av[i] = subst(prog[i], dur, port);
    char *loadcmd = subst(o->load, dur, port), *loadexec = NULL;
    if (loadcmd && (loadexec = malloc(strlen(loadcmd) + 6)))
        sprintf(loadexec, "exec %s", loadcmd);
    FILE *log = fopen(logp, "we");
    pid_t prog_pid = -1, load_pid = -1;
    int prog_reaped = 0, prog_status = 0, load_reaped = 0, load_status = 0;
    collector *c = NULL;
    seg_view *sv = calloc(1, sizeof *sv);
    if (!av || !loadexec || !log || !sv) {
        snprintf(res->why, sizeof res->why, "cannot prepare the run: %s", strerror(errno));
        goto out;
    }
    prog_pid = spawn(av, env, 1 + m->nenv, outp);
    if (prog_pid < 0) {
        snprintf(res->why, sizeof res->why, "cannot start the program: %s", strerror(errno));
        goto out;
    }
    /* ready: the port accepts */
    double t0 = now_s();
    while (!port_accepts(port)) {
        if (waitpid(prog_pid, &prog_status, WNOHANG) == prog_pid) {
            prog_reaped = 1;
            char st[96];
            describe_status(st, sizeof st, prog_status);
            snprintf(res->why, sizeof res->why, "the program %s before accepting on port %d", st, port);
            goto out;
        }
        if (interrupted || now_s() - t0 > o->ready_timeout) {
            snprintf(res->why, sizeof res->why, interrupted ? "interrupted"
                                                            : "the program never accepted on port %d", port);
            goto out;
        }
        sleep_s(0.02);
    }
    char *sh[] = {(char *)"/bin/sh", (char *)"-c", loadexec, NULL};
    load_pid = spawn(sh, NULL, 0, loadp);
    if (load_pid < 0) {
        snprintf(res->why, sizeof res->why, "cannot start the load: %s", strerror(errno));
        goto out;
    }
    collector_options co = {.dir = tkdir, .pid = prog_pid, .quiet = 1};
    collector_open(&co, &c);
    tkc_procstat prev, cur;
    int have_prev = tkc_procstat_read(prog_pid, &prev) == 0;
    double start = now_s(), next = start + o->interval, cpu_sum = 0;
    int cpu_n = 0;
    pg->run_start = start;
    while (!interrupted) {
        if (waitpid(load_pid, &load_status, WNOHANG) == load_pid) {
            load_reaped = 1;
            break;
        }
        if (waitpid(prog_pid, &prog_status, WNOHANG) == prog_pid) {
            prog_reaped = 1;
            char st[96];
            describe_status(st, sizeof st, prog_status);
            snprintf(res->why, sizeof res->why, "the program %s during the run", st);
            goto out;
        }
        if (now_s() - start > o->duration + 30) {
            snprintf(res->why, sizeof res->why, "the load did not end 30 s after the duration");
            goto out;
        }
        if (c) {
            collector_scan(c);
            collector_drain(c);
        }
        if (!sv->mem && seg_open(sv, tkdir, prog_pid) == 0)
            seg_poll(sv); /* the totals so far: the first interval counts from here */
        if (now_s() >= next) {
            next += o->interval;
            double t = real_s();
            seg_poll(sv);
            tk_stats_timer tm[64];
            size_t nt = 0;
            for (size_t i = 0; c && i < collector_process_count(c); i++) {
                const process_info *p = collector_process(c, i);
                for (size_t j = 0; j < p->ntimers && nt < 64; j++) {
                    const hist *h = p->timers[j]->interval[KIND_PROCESSING];
                    if (p->timers[j]->id == 0 && !hist_count(h))
                        continue; /* "(invalid)", unused */
                    tm[nt++] = (tk_stats_timer){p->timers[j]->name, hist_count(h),
                                                hist_quantile(h, 0.5), hist_quantile(h, 0.99)};
                }
            }
            tk_stats_write(log, t, prog_pid, o->interval, sv->vals, sv->nvals, tm, nt);
            if (c)
                collector_rollover(c);
            if (have_prev && tkc_procstat_read(prog_pid, &cur) == 0) {
                tkc_procstat_rates r;
                tkc_procstat_diff(&prev, &cur, &r);
                int64_t heap = -1;
                for (size_t k = 0; k < sv->nvals; k++)
                    if (sv->vals[k].kind == TKS_NAME_GAUGE && !strcmp(sv->vals[k].name, "heap_bytes"))
                        heap = sv->vals[k].value;
                tk_resources_write(log, t, prog_pid, &r, heap);
                fflush(log);
                cpu_sum += r.cpu_pct;
                cpu_n++;
                if ((double)r.rss_bytes > res->rss_max)
                    res->rss_max = (double)r.rss_bytes;
                prev = cur;
            }
        }
        progress_show(pg);
        sleep_s(0.05);
    }
    if (interrupted) {
        snprintf(res->why, sizeof res->why, "interrupted");
        goto out;
    }
    if (!WIFEXITED(load_status) || WEXITSTATUS(load_status) != 0) {
        char st[96];
        describe_status(st, sizeof st, load_status);
        snprintf(res->why, sizeof res->why, "the load %s (see %s)", st, loadp);
        goto out;
    }
    res->cpu = cpu_n ? cpu_sum / cpu_n : 0;
    parse_load_output(loadp, res);
    res->ok = cpu_n > 0;
    if (!res->ok)
        snprintf(res->why, sizeof res->why, "the run was shorter than one interval");
out:
    if (load_pid > 0)
        stop_group(load_pid, 1.0, load_reaped, load_status);
    if (prog_pid > 0) {
        int st = stop_group(prog_pid, 3.0, prog_reaped, prog_status);
        if (res->ok && !prog_reaped && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
            fprintf(stderr, "%stimekeeper bench: %s did not stop on SIGTERM within 3 s: killed\n",
                    pg->tty ? "\n" : "", base);
    }
    collector_close(c);
    if (sv && sv->mem)
        munmap((void *)sv->mem, sv->size);
    free(sv);
    if (log)
        fclose(log);
    rm_dir(tkdir);
    for (int i = 0; av && i < nprog; i++)
        free(av[i]);
    free(av);
    free(loadcmd);
    free(loadexec);
}

/* ---- summary ------------------------------------------------------------------------------------ */

typedef struct stat3 {
    double mean, min, max;
    int n;
} stat3;

static void stat_add(stat3 *s, double v)
{
    if (!s->n || v < s->min)
        s->min = v;
    if (!s->n || v > s->max)
        s->max = v;
    s->mean = (s->mean * s->n + v) / (s->n + 1);
    s->n++;
}

static void cell(FILE *f, const stat3 *s, const char *fmt)
{
    char a[64], b[64];
    if (!s->n) {
        fprintf(f, " %22s", "-");
        return;
    }
    snprintf(a, sizeof a, fmt, s->mean);
    if (s->n > 1) {
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, fmt, s->min);
        snprintf(hi, sizeof hi, fmt, s->max);
        snprintf(b, sizeof b, "%s (%s..%s)", a, lo, hi);
    } else {
        snprintf(b, sizeof b, "%s", a);
    }
    fprintf(f, " %22s", b);
}

static void json_stat(FILE *f, const char *key, const stat3 *s, int last)
{
    if (s->n)
        fprintf(f, "\"%s\":{\"mean\":%.6g,\"min\":%.6g,\"max\":%.6g,\"runs\":%d}%s", key, s->mean,
                s->min, s->max, s->n, last ? "" : ",");
    else
        fprintf(f, "\"%s\":null%s", key, last ? "" : ",");
}

static void write_summary(const bench_opts *o, run_result *res, FILE *txt, FILE *json)
{
    fprintf(txt, "%-16s %4s %22s %22s %22s %22s %22s %22s\n", "mode", "runs", "CPU % of a core",
            "CPU us/request", "RSS MiB", "requests/s", "latency p50 us", "latency p99 us");
    fputs("{\"modes\":[", json);
    for (int mi = 0; mi < o->nmodes; mi++) {
        stat3 cpu = {0}, per = {0}, rss = {0}, rps = {0}, p50 = {0}, p99 = {0};
        int failed = 0;
        for (uint64_t r = 0; r < o->runs; r++) {
            run_result *x = &res[(uint64_t)mi * o->runs + r];
            if (!x->ok) {
                failed++;
                continue;
            }
            stat_add(&cpu, x->cpu);
            stat_add(&rss, x->rss_max / 1048576.0);
            if (x->rps > 0) {
                stat_add(&rps, x->rps);
                stat_add(&per, x->cpu / 100.0 * 1e6 / x->rps);
            }
            if (x->have_p50 || x->have_avg)
                stat_add(&p50, x->have_p50 ? x->lat_p50 : x->lat_avg);
            if (x->have_p99)
                stat_add(&p99, x->lat_p99);
        }
        fprintf(txt, "%-16s %4d", o->modes[mi].name, cpu.n);
        cell(txt, &cpu, "%.1f");
        cell(txt, &per, "%.2f");
        cell(txt, &rss, "%.1f");
        cell(txt, &rps, "%.0f");
        cell(txt, &p50, "%.1f");
        cell(txt, &p99, "%.1f");
        fprintf(txt, "%s\n", failed ? "  (some runs failed)" : "");
        fprintf(json, "%s{\"name\":", mi ? "," : "");
        cli_json_str(json, o->modes[mi].name);
        fprintf(json, ",\"runs_ok\":%d,\"runs_failed\":%d,", cpu.n, failed);
        json_stat(json, "cpu_pct", &cpu, 0);
        json_stat(json, "cpu_us_per_request", &per, 0);
        json_stat(json, "rss_mib", &rss, 0);
        json_stat(json, "requests_per_s", &rps, 0);
        json_stat(json, "latency_p50_us", &p50, 0);
        json_stat(json, "latency_p99_us", &p99, 1);
        fputs("}", json);
    }
    fputs("]}\n", json);
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int cmd_bench(int argc, char **argv)
{
    bench_opts o = {.runs = 3, .duration = 60, .interval = 1, .ready_timeout = 10};
    /* the environment first, flags over it */
    const char *e;
    if ((e = getenv("TK_BENCH_RUNS")) && *e && cli_parse_u64(e, 1, MAX_RUNS, &o.runs))
        return cli_error("bench", "TK_BENCH_RUNS='%s' is not 1..%d", e, MAX_RUNS);
    if ((e = getenv("TK_BENCH_DURATION")) && *e && (parse_duration(e, &o.duration) || o.duration < 1))
        return cli_error("bench", "TK_BENCH_DURATION='%s' is not a duration >= 1s", e);
    if ((e = getenv("TK_BENCH_INTERVAL")) && *e && cli_parse_double(e, 0.1, 3600, &o.interval))
        return cli_error("bench", "TK_BENCH_INTERVAL='%s' is not seconds in [0.1, 3600]", e);
    if ((e = getenv("TK_BENCH_PORT")) && *e) {
        uint64_t v;
        if (cli_parse_u64(e, 1, 65535, &v))
            return cli_error("bench", "TK_BENCH_PORT='%s' is not a port", e);
        o.port = (int)v;
    }
    o.load = env_or("TK_BENCH_LOAD", NULL);
    o.out = env_or("TK_BENCH_OUTPUT_DIR", "bench-out");
    int status;
    int first = cli_parse(&cmd_bench_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first >= argc)
        return cli_usage_error(&cmd_bench_def, "no program to run (after --)");
    if (!o.load)
        return cli_usage_error(&cmd_bench_def, "no --load command (or TK_BENCH_LOAD)");
    if (!o.nmodes)
        parse_mode(&o.modes[o.nmodes++], "regular");
    if (strlen(o.out) >= 900)
        return cli_usage_error(&cmd_bench_def, "-o: a directory name under 900 bytes");
    if (mkdir(o.out, 0755) != 0 && errno != EEXIST)
        return cli_error("bench", "cannot create %s: %s", o.out, strerror(errno));

    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int total = o.nmodes * (int)o.runs;
    run_result *res = calloc((size_t)total, sizeof *res);
    if (!res)
        return cli_error("bench", "out of memory");
    progress pg = {isatty(2), 0, total, o.duration + 1.5, now_s(), ""};
    int failed = 0;
    char label[96];
    /* runs interleave the modes (run 1 of every mode, then run 2...): drift of the machine over
     * time spreads across modes instead of favouring one */
    for (uint64_t r = 0; r < o.runs && !interrupted; r++)
        for (int mi = 0; mi < o.nmodes && !interrupted; mi++) {
            snprintf(label, sizeof label, "%s #%d", o.modes[mi].name, (int)r + 1);
            pg.label = label;
            pg.run_start = now_s();
            progress_show(&pg);
            run_result *x = &res[(uint64_t)mi * o.runs + r];
            run_one(&o, mi, (int)r + 1, argv + first, argc - first, &pg, x);
            pg.done++;
            if (!x->ok && !interrupted) {
                failed++;
                fprintf(stderr, "%stimekeeper bench: run %02d_%s_%d failed: %s; going on\n",
                        pg.tty ? "\n" : "", mi, o.modes[mi].name, (int)r + 1, x->why);
            }
        }
    if (pg.tty)
        fputs("\n", stderr);
    if (interrupted)
        fprintf(stderr, "timekeeper bench: interrupted; every process it started is stopped; "
                        "the summary covers the runs done\n");

    char path[4096];
    snprintf(path, sizeof path, "%s/summary.txt", o.out);
    FILE *txt = fopen(path, "we");
    snprintf(path, sizeof path, "%s/summary.json", o.out);
    FILE *json = fopen(path, "we");
    if (txt && json) {
        FILE *nul = fopen("/dev/null", "we");
        write_summary(&o, res, stdout, json);
        if (nul) {
            write_summary(&o, res, txt, nul); /* the JSON once */
            fclose(nul);
        }
    }
    if (txt)
        fclose(txt);
    if (json)
        fclose(json);

    if (!o.no_plot && !interrupted) {
        /* the plot of every log written */
        char *pav[2 * MAX_TIMERS + MAX_MODES * MAX_RUNS + 8];
        int pn = 0;
        char outp[4096];
        snprintf(outp, sizeof outp, "%s/graph.png", o.out);
        pav[pn++] = (char *)"plot";
        pav[pn++] = (char *)"-o";
        pav[pn++] = outp;
        for (int i = 0; i < o.ntimers; i++) {
            pav[pn++] = (char *)"--timer";
            pav[pn++] = (char *)o.timers[i];
        }
        pav[pn++] = (char *)"--";
        int nlogs = 0;
        for (int mi = 0; mi < o.nmodes; mi++)
            for (uint64_t r = 0; r < o.runs; r++) {
                if (!res[(uint64_t)mi * o.runs + r].ok || nlogs >= 64)
                    continue;
                char *lp = malloc(4200);
                if (!lp)
                    continue;
                snprintf(lp, 4200, "%s/%02d_%s_%d.log", o.out, mi, o.modes[mi].name, (int)r + 1);
                pav[pn++] = lp;
                nlogs++;
            }
        pav[pn] = NULL;
        if (nlogs) {
            fflush(stdout);
            pid_t p = fork(); /* plot closes stdout at its end: run it in a child */
            if (p == 0)
                _exit(cmd_plot_def.run(pn, pav));
            int st = 0;
            if (p > 0)
                waitpid(p, &st, 0);
            if (p < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fprintf(stderr, "timekeeper bench: no graph (see the message above)\n");
        }
        for (int i = pn - nlogs; i < pn; i++)
            free(pav[i]);
    }
    free(res);
    for (int mi = 0; mi < o.nmodes; mi++)
        for (int i = 0; i < o.modes[mi].nenv; i++)
            free(o.modes[mi].env[i]);
    int rc = interrupted ? 130 : failed == total ? CLI_FAIL : CLI_OK;
    return cli_finish("bench", rc);
}
