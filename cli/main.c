/* main.c — the `timekeeper` command: a table of subcommands, one file each. */
#include "cli.h"

#include <locale.h>
#include <string.h>
#include <timekeeper.h>

#include "util/fmt.h"

static const cli_command *const commands[] = {
    &cmd_list_def, &cmd_report_def, &cmd_top_def, &cmd_check_def,
    &cmd_calibrate_def, &cmd_analyze_def, &cmd_clean_def, &cmd_record_def, &cmd_export_def,
    &cmd_diff_def,
    &cmd_plot_def, &cmd_bench_def,
    &cmd_serve_def,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: timekeeper <command> [options]\n"
                 "       timekeeper help [<command>] | --help | --version\n\n"
                 "Collects and shows the timings that instrumented programs record.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n  %-11s %s\n  %-11s %s\n", "help", "this list, or 'help <command>': a command's options",
            "--version", "print the version and exit");
    fprintf(out, "\n'timekeeper help <command>' or 'timekeeper <command> --help' for details.\n");
}

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    tk_fmt_set_unicode(-1); /* µs under a UTF-8 locale, us otherwise: every command alike */
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return cli_finish("help", CLI_OK);
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        unsigned v = tk_version();
        printf("timekeeper %u.%u.%u\n", v / 10000, v / 100 % 100, v % 100);
        return cli_finish("version", CLI_OK);
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            usage(stdout);
            return cli_finish("help", CLI_OK);
        }
        if (!strcmp(argv[2], "help") || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
            usage(stdout);
            return cli_finish("help", CLI_OK);
        }
        const cli_command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "timekeeper: no such command '%s'\n"
                            "Try 'timekeeper --help' for the list of commands.\n", argv[2]);
            return CLI_USAGE;
        }
        cli_help(c, stdout);
        return cli_finish("help", CLI_OK);
    }
    const cli_command *c = find(name);
    if (!c) {
        fprintf(stderr, "timekeeper: no such command '%s'\n"
                        "Try 'timekeeper --help' for the list of commands.\n", name);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
