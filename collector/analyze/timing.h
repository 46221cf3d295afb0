/* timing.h — parser of TIMING text lines (`TIMING,<label>,<ts_ns>,<client>,<command>,<session>,<context>`)
 * and of the numeric `*_ns=` fields of their context. The format is described in docs/timing-format.md.
 *
 * The parser never allocates and never copies: a parsed point points into the caller's line. It reads
 * exactly the `len` bytes it is given (the line needs no NUL terminator) and is safe on any input. */
#ifndef TK_COLLECTOR_TIMING_H
#define TK_COLLECTOR_TIMING_H

#include <stddef.h>
#include <stdint.h>

/* An id written as `-` (unknown). */
#define TIMING_ID_UNKNOWN UINT64_MAX
/* Lines longer than this (without the line break) are not parsed: a TIMING line that long is
 * malformed (TIMING_ERR_TOO_LONG). Callers that read streams use it to bound their line buffer. */
#define TIMING_MAX_LINE 4096
/* Labels longer than this are malformed (TIMING_ERR_LABEL). */
#define TIMING_MAX_LABEL 128
/* The prefix that makes a line a TIMING line. */
#define TIMING_PREFIX "TIMING,"
#define TIMING_PREFIX_LEN 7

/* One parsed point. label and context point into the parsed line. */
typedef struct timing_point {
    const char *label;
    size_t label_len;
    uint64_t ts_ns;
    uint64_t client, command, session; /* TIMING_ID_UNKNOWN: written as `-` */
    const char *context;               /* the rest of the line, possibly empty (never NULL) */
    size_t context_len;
} timing_point;

/* What timing_parse_line() found. TIMING_OK and TIMING_OTHER are not errors. */
typedef enum timing_status {
    TIMING_OK = 0,          /* a well-formed TIMING line */
    TIMING_OTHER = 1,       /* not a TIMING line (does not start with "TIMING,"): skip it */
    TIMING_ERR_TOO_LONG,    /* a TIMING line longer than TIMING_MAX_LINE */
    TIMING_ERR_LABEL,       /* empty, too long, or holding a control character */
    TIMING_ERR_TIMESTAMP,   /* not an unsigned decimal integer that fits in 64 bits */
    TIMING_ERR_CLIENT,      /* not an unsigned decimal integer or `-` */
    TIMING_ERR_COMMAND,
    TIMING_ERR_SESSION,
    TIMING_ERR_MISSING,     /* fewer than 7 fields (the comma before the context is required) */
} timing_status;

/* Details of a malformed line: which field, and the offending text (pointing into the line). */
typedef struct timing_error {
    timing_status status;
    const char *field; /* the bad field's text, or NULL */
    size_t field_len;
    const char *missing; /* for TIMING_ERR_MISSING: the name of the first missing field */
} timing_error;

/* Parses one line of `len` bytes (a trailing "\n" or "\r\n" is allowed and ignored). Fills *out on
 * TIMING_OK, and *err (may be NULL) on an error. Cost: one pass over the first six fields, no
 * allocation; the context is not scanned. Thread-safe, can't fail on any input. */
timing_status timing_parse_line(const char *line, size_t len, timing_point *out, timing_error *err);

/* Writes a one-line description of err (e.g. "bad timestamp '12x'") into buf (at most size bytes,
 * always NUL-terminated when size > 0; long fields are shortened). Returns buf. */
char *timing_error_describe(const timing_error *err, char *buf, size_t size);

/* An iterator over the numeric `*_ns=` fields of a context: `key_ns=<unsigned integer>`, fields
 * separated by ',', ';', spaces or tabs. Fields whose key does not end in "_ns", or whose value is not
 * an unsigned integer (e.g. "x_ns=1.5", "x_ns=-3"), are skipped; the latter are counted in `bad`. */
typedef struct timing_ns_iter {
    const char *p, *end;
    uint64_t bad;
} timing_ns_iter;

static inline void timing_ns_begin(timing_ns_iter *it, const char *context, size_t len)
{
    it->p = context;
    it->end = context + len;
    it->bad = 0;
}

/* Finds the next `*_ns=` field. Returns 1 with *key and *key_len (e.g. "ffi_duration_ns") and *value,
 * or 0 at the end of the context. Can't fail. */
int timing_ns_next(timing_ns_iter *it, const char **key, size_t *key_len, uint64_t *value);

#endif
