/* util/fmt.h — the one formatter of durations, counts and rates for every command and sink, and
 * the one JSON string writer (UTF-8 validating). */
#ifndef TK_UTIL_FMT_H
#define TK_UTIL_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Chooses "µs" or "us" for microseconds: µs when the locale's character set is UTF-8 (nl_langinfo
 * after setlocale(LC_CTYPE, "")), else us. force: 1 µs, 0 us, -1 from the locale (default). */
void tk_fmt_set_unicode(int force);
int tk_fmt_unicode(void);
/* A duration in ns with 3 significant digits and an adapted unit (ns, µs, ms, s): "431ns",
 * "3.14µs", "2.59ms", "1.20s". Returns buf. */
const char *tk_fmt_ns(char *buf, size_t len, double ns);
/* The same with the micro sign chosen by the caller (unicode: 1 µs, 0 us), and a leading '-' for a
 * negative duration. Returns buf. */
const char *tk_fmt_ns_u(char *buf, size_t len, double ns, int unicode);
/* A rate per second with k/M/G suffixes ("20.1k"). Returns buf. */
const char *tk_fmt_rate(char *buf, size_t len, double hz);
/* A count with k/M/G suffixes past 10 000 ("460k"). Returns buf. */
const char *tk_fmt_count(char *buf, size_t len, uint64_t n);
/* Columns that the UTF-8 string s takes on a terminal (one per character: "µs" is 2). */
int tk_fmt_columns(const char *s);
/* Writes s right-aligned in width columns (by characters, not bytes, so µ keeps tables aligned),
 * with a space before it. Returns 0 or -1 when the stream failed. */
int tk_fput_col(FILE *f, const char *s, int width);
/* Parses a duration: a number with an optional unit ns, us, µs, ms, s, m, h (no unit: seconds).
 * Returns 0 and the value in seconds, or -1 for anything else. */
int tk_parse_duration(const char *s, double *seconds);

/* Writes s as a JSON string (quotes included): control characters escaped, invalid UTF-8 replaced
 * by U+FFFD. Returns 0 or -1 when the stream failed. */
int tk_json_str(FILE *f, const char *s);
/* The same for len bytes that need not be NUL-terminated. */
int tk_json_strn(FILE *f, const char *s, size_t len);

#endif
