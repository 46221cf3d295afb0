/* cli.c — option parsing, help text and error reporting shared by the subcommands. */
#include "cli.h"
#include "core/core.h"
#include "util/fmt.h"

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_MAX_OPTIONS 48
#define CLI_KEY_HELP 0x7fff

void cli_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: timekeeper %s %s\n\n%s\n", cmd->name, cmd->usage ? cmd->usage : "",
            cmd->summary);
    if (cmd->description)
        fprintf(out, "\n%s\n", cmd->description);
    fprintf(out, "\noptions:\n");
    for (const cli_option *o = cmd->options; o && o->name; o++) {
        char left[64];
        if (o->key > 0 && o->key < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(out, "  %-26s %s\n", left, o->help);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help and exit");
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_option_fn fn, void *ctx,
              int *status)
{
    struct option longs[CLI_MAX_OPTIONS + 2];
    char shorts[CLI_MAX_OPTIONS * 2 + 4];
    size_t n = 0, s = 0;
    shorts[s++] = '+'; /* stop at the first operand */
    shorts[s++] = ':'; /* report a missing argument as ':' */
    for (const cli_option *o = cmd->options; o && o->name && n < CLI_MAX_OPTIONS; o++, n++) {
        longs[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->key};
        if (o->key > 0 && o->key < 256) {
            shorts[s++] = (char)o->key;
            if (o->arg)
                shorts[s++] = ':';
        }
    }
    longs[n++] = (struct option){"help", no_argument, NULL, CLI_KEY_HELP};
    longs[n] = (struct option){0};
    shorts[s++] = 'h';
    shorts[s] = '\0';

    optind = 1;
    opterr = 0;
    *status = CLI_OK;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (c == CLI_KEY_HELP || c == 'h') {
            cli_help(cmd, stdout);
            *status = cli_finish(cmd->name, CLI_OK); /* a failed write of the help is an error */
            return -1;
        }
        if (c == '?') {
            if (optopt && optopt < 256 && optopt != '?')
                *status = cli_usage_error(cmd, "unknown option '-%c'", optopt);
            else
                *status = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
        if (c == ':') {
            *status = cli_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
            return -1;
        }
        int r = fn(ctx, c, optarg);
        if (r != 0) {
            *status = r;
            return -1;
        }
    }
    return optind;
}

static void vreport(const char *name, const char *fmt, va_list ap)
{
    fprintf(stderr, "timekeeper %s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd->name, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'timekeeper %s --help'.\n", cmd->name);
    return CLI_USAGE;
}

int cli_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(name, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_option_pid(const cli_command *cmd, const char *arg, int *pid)
{
    uint64_t v;
    if (cli_parse_u64(arg, 1, INT32_MAX, &v))
        return cli_usage_error(cmd, "--pid wants a process id, not '%s'", arg);
    if (*pid)
        return cli_usage_error(cmd, "--pid given twice (%d and %s): one process per run, or none "
                                    "for all of them", *pid, arg);
    *pid = (int)v;
    return 0;
}

int cli_parse_seconds(const char *s, double min, double max, double *out)
{
    double v;
    if (!s || tk_parse_duration(s, &v) != 0 || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The name of process pid from /proc (its comm), or "?" */
static void proc_comm(int pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    snprintf(buf, len, "?");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

int cli_open_core(const char *name, const tkc_core_options *co, tkc_core **out)
{
    *out = NULL;
    tkc_core *c;
    int r = tkc_core_open(co, &c);
    if (r != 0)
        return cli_error(name, "cannot start the collector: %s", strerror(-r));
    if ((r = tkc_core_check_dir(c)) != 0) {
        cli_error(name, "segment directory %s: %s", tkc_core_dir(c),
                  r == -ENOTDIR ? "not a directory" : strerror(-r));
        tkc_core_close(c);
        return CLI_FAIL;
    }
    if (co->pid) {
        tkc_core_scan(c);
        int found = 0;
        for (size_t i = 0; i < tkc_core_proc_count(c) && !found; i++)
            found = tkc_core_proc(c, i)->pid == co->pid;
        if (!found) {
            if (kill(co->pid, 0) != 0 && errno == ESRCH) {
                cli_error(name, "pid %d: no such process (and no segment of it in %s)", co->pid,
                          tkc_core_dir(c));
            } else {
                char comm[64];
                proc_comm(co->pid, comm, sizeof comm);
                cli_error(name, "pid %d (%s) has no segment in %s: is it instrumented, with the "
                                "same TK_DIR?", co->pid, comm, tkc_core_dir(c));
            }
            tkc_core_close(c);
            return CLI_FAIL;
        }
    }
    *out = c;
    return 0;
}


int cli_finish(const char *name, int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "timekeeper %s: error writing output: %s\n", name, strerror(errno));
        return CLI_FAIL;
    }
    if (fclose(stdout) != 0 && errno != EBADF) {
        fprintf(stderr, "timekeeper %s: error writing output: %s\n", name, strerror(errno));
        return CLI_FAIL;
    }
    return status;
}

void cli_json_str(FILE *f, const char *s) { tk_json_str(f, s); }

const char *cli_fmt_ns(char *buf, size_t len, double ns) { return tk_fmt_ns(buf, len, ns); }

const char *cli_fmt_rate(char *buf, size_t len, double hz) { return tk_fmt_rate(buf, len, hz); }
