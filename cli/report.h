/* report.h — what report and top share. */
#ifndef TK_CLI_REPORT_H
#define TK_CLI_REPORT_H

#include <stdint.h>

/* The median cost of reading the tick counter, in ns (measured here, on this machine). */
uint64_t report_clock_read_cost_ns(void);

#endif
