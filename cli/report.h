/* report.h — printing collector statistics as tables or JSON lines (report, the demo, tests). */
#ifndef TK_CLI_REPORT_H
#define TK_CLI_REPORT_H

#include <stdio.h>

#include "collector.h"

typedef enum { REPORT_INTERVAL, REPORT_TOTAL } report_window;

typedef struct report_ctx {
    FILE *out;
    int json;
    uint64_t overhead_ns; /* subtracted from processing times, shown in the output */
} report_ctx;

/* Prints every process and timer of c for the window; interval_s is the interval's length
 * (ignored for totals, whose rate is over the process's lifetime). */
void report_print(const report_ctx *rc, const collector *c, report_window w, double interval_s);
/* The median cost of reading the tick counter, in ns (measured here, on this machine). */
uint64_t report_clock_read_cost_ns(void);

#endif
