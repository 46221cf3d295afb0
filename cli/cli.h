/* cli.h — the `timekeeper` command table and the option parsing every subcommand shares. */
#ifndef TK_CLI_H
#define TK_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Exit statuses of every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One option of a subcommand. `key` is what the callback receives: a short-option character
 * ('o' for -o) or a value >= 256 for long-only options. `arg` names the argument (NULL: a flag). */
typedef struct cli_option {
    const char *name;  /* long name, without "--" */
    int key;
    const char *arg;
    const char *help;
} cli_option;

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
    const char *summary;                /* one line, for `timekeeper --help` */
    const char *usage;                  /* e.g. "[--json] [PID...]" */
    const char *description;            /* paragraphs after the usage line; may be NULL */
    const cli_option *options;          /* terminated by {0}; --help is added automatically */
} cli_command;

/* Called for each option; returns 0, or CLI_USAGE after calling cli_usage_error(). */
typedef int (*cli_option_fn)(void *ctx, int key, const char *arg);

/* Parses argv against cmd->options with getopt_long. On --help prints the help to stdout and
 * returns -1 with *status = CLI_OK (CLI_FAIL when stdout could not be written); on a bad option prints an error to stderr and returns -1 with
 * *status = CLI_USAGE. Otherwise returns the index of the first operand. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_option_fn fn, void *ctx,
              int *status);
/* Prints the full help of cmd (usage, description, options). */
void cli_help(const cli_command *cmd, FILE *out);
/* Prints "timekeeper NAME: message" and a hint to --help on stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "timekeeper NAME: message" on stderr; returns CLI_FAIL. */
int cli_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsers: the whole string must be a number in [min, max]. Return 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_double(const char *s, double min, double max, double *out);
/* Parses the value of --pid into *pid; on a bad value, or a second --pid (one process per run:
 * *pid already set), reports it (cli_usage_error) and returns CLI_USAGE, else 0. */
int cli_option_pid(const cli_command *cmd, const char *arg, int *pid);
/* Parses a duration with an optional unit (100ms, 1.5s, 2m; no unit: seconds) in [min, max]
 * seconds into *out. Returns 0 or -1. */
int cli_parse_seconds(const char *s, double min, double max, double *out);

struct tkc_core;
struct tkc_core_options;
/* Opens the core of a collector command and checks what the user named: a segment directory that
 * is missing, not a directory or unreadable is reported with its name and the error; with a pid,
 * a process that does not exist or has no segment in the directory is reported as such. On
 * failure prints "timekeeper NAME: ..." on stderr and returns CLI_FAIL (*out is NULL); else 0.
 * Scans the directory once when a pid is given. */
int cli_open_core(const char *name, const struct tkc_core_options *co, struct tkc_core **out);
/* Flushes and closes stdout, reporting a write error (e.g. a full disk). Returns status, or
 * CLI_FAIL when stdout failed. */
int cli_finish(const char *name, int status);

/* Writes s as a JSON string (quotes included, control characters escaped). */
void cli_json_str(FILE *f, const char *s);
/* Formats a duration in ns with 3 significant digits and an adapted unit (ns, µs, ms, s). */
const char *cli_fmt_ns(char *buf, size_t len, double ns);
/* Formats a rate (per second) with k/M suffixes. */
const char *cli_fmt_rate(char *buf, size_t len, double hz);

/* The subcommands, one file each (cmd-<name>.c). */
extern const cli_command cmd_list_def, cmd_report_def, cmd_check_def, cmd_calibrate_def,
    cmd_top_def, cmd_analyze_def, cmd_clean_def, cmd_record_def, cmd_export_def, cmd_diff_def;
extern const cli_command cmd_plot_def, cmd_bench_def; /* counters, resources, plot, bench */
extern const cli_command cmd_serve_def;
/* `export --otlp`: cmd-otlp.c, reached through export */
extern const cli_command cmd_export_otlp_def;

#endif
