/* cmd-diff.c — `timekeeper diff`: two recordings compared (placeholder). */
#include "cli.h"
static int cmd_diff(int argc, char **argv) { (void)argc; (void)argv; return CLI_FAIL; }
const cli_command cmd_diff_def = {"diff", cmd_diff, "compare two recordings", "A.db B.db", NULL,
                                  NULL};
