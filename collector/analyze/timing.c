/* timing.c — parser of TIMING text lines and of the `*_ns=` fields of their context. */
#include "timing.h"

#include <stdio.h>
#include <string.h>

/* Parses the unsigned decimal integer [p, end): 1 to 20 digits, no sign, no spaces, at most
 * UINT64_MAX. Returns 0 or -1. */
static int parse_u64(const char *p, const char *end, uint64_t *out)
{
    if (p == end || end - p > 20)
        return -1;
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(unsigned char)*p - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* An id: `-` or an unsigned integer. */
static int parse_id(const char *p, const char *end, uint64_t *out)
{
    if (end - p == 1 && *p == '-') {
        *out = TIMING_ID_UNKNOWN;
        return 0;
    }
    return parse_u64(p, end, out);
}

static timing_status fail(timing_error *err, timing_status st, const char *field, size_t len,
                          const char *missing)
{
    if (err)
        *err = (timing_error){st, field, len, missing};
    return st;
}

timing_status timing_parse_line(const char *line, size_t len, timing_point *out, timing_error *err)
{
    if (len < TIMING_PREFIX_LEN || memcmp(line, TIMING_PREFIX, TIMING_PREFIX_LEN) != 0)
        return TIMING_OTHER;
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    if (len > TIMING_MAX_LINE)
        return fail(err, TIMING_ERR_TOO_LONG, NULL, 0, NULL);

    const char *p = line + TIMING_PREFIX_LEN, *end = line + len;
    static const char *const names[] = {"label", "timestamp", "client_id", "command_id",
                                        "session_id", "context"};
    /* One pass: the five fields before the context, each ended by a comma. Short fields make a
     * byte loop cheaper than memchr calls. */
    const char *field[5], *field_end[5];
    for (int i = 0; i < 5; i++) {
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        if (q == end)
            return fail(err, TIMING_ERR_MISSING, p, (size_t)(end - p), names[i + 1]);
        field[i] = p;
        field_end[i] = q;
        p = q + 1;
    }

    size_t label_len = (size_t)(field_end[0] - field[0]);
    if (label_len == 0 || label_len > TIMING_MAX_LABEL)
        return fail(err, TIMING_ERR_LABEL, field[0], label_len, NULL);
    for (size_t i = 0; i < label_len; i++) {
        unsigned char ch = (unsigned char)field[0][i];
        if (ch < 0x20 || ch == 0x7f)
            return fail(err, TIMING_ERR_LABEL, field[0], label_len, NULL);
    }

    timing_point pt;
    pt.label = field[0];
    pt.label_len = label_len;
    if (parse_u64(field[1], field_end[1], &pt.ts_ns) < 0)
        return fail(err, TIMING_ERR_TIMESTAMP, field[1], (size_t)(field_end[1] - field[1]), NULL);
    if (parse_id(field[2], field_end[2], &pt.client) < 0)
        return fail(err, TIMING_ERR_CLIENT, field[2], (size_t)(field_end[2] - field[2]), NULL);
    if (parse_id(field[3], field_end[3], &pt.command) < 0)
        return fail(err, TIMING_ERR_COMMAND, field[3], (size_t)(field_end[3] - field[3]), NULL);
    if (parse_id(field[4], field_end[4], &pt.session) < 0)
        return fail(err, TIMING_ERR_SESSION, field[4], (size_t)(field_end[4] - field[4]), NULL);
    pt.context = p;
    pt.context_len = (size_t)(end - p);
    *out = pt;
    return TIMING_OK;
}

char *timing_error_describe(const timing_error *err, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    /* Printable copy of the field, shortened to 40 bytes. */
    char shown[48];
    size_t n = 0;
    if (err->field) {
        size_t max = err->field_len > 40 ? 37 : err->field_len;
        for (size_t i = 0; i < max; i++) {
            unsigned char ch = (unsigned char)err->field[i];
            shown[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
        if (err->field_len > 40) {
            memcpy(shown + n, "...", 3);
            n += 3;
        }
    }
    shown[n] = '\0';
    switch (err->status) {
    case TIMING_ERR_TOO_LONG:
        snprintf(buf, size, "line longer than %d bytes", TIMING_MAX_LINE);
        break;
    case TIMING_ERR_LABEL:
        if (err->field_len == 0)
            snprintf(buf, size, "empty label");
        else if (err->field_len > TIMING_MAX_LABEL)
            snprintf(buf, size, "label longer than %d bytes '%s'", TIMING_MAX_LABEL, shown);
        else
            snprintf(buf, size, "bad label '%s' (control character)", shown);
        break;
    case TIMING_ERR_TIMESTAMP:
        snprintf(buf, size, "bad timestamp '%s'", shown);
        break;
    case TIMING_ERR_CLIENT:
        snprintf(buf, size, "bad client_id '%s'", shown);
        break;
    case TIMING_ERR_COMMAND:
        snprintf(buf, size, "bad command_id '%s'", shown);
        break;
    case TIMING_ERR_SESSION:
        snprintf(buf, size, "bad session_id '%s'", shown);
        break;
    case TIMING_ERR_MISSING:
        snprintf(buf, size, "missing field %s (a TIMING line has 7 comma-separated fields)",
                 err->missing ? err->missing : "?");
        break;
    default:
        snprintf(buf, size, "no error");
        break;
    }
    return buf;
}

static inline int is_sep(char c)
{
    return c == ',' || c == ';' || c == ' ' || c == '\t';
}

int timing_ns_next(timing_ns_iter *it, const char **key, size_t *key_len, uint64_t *value)
{
    const char *p = it->p, *end = it->end;
    while (p < end) {
        /* One field: [p, fend). */
        const char *fend = p;
        while (fend < end && !is_sep(*fend))
            fend++;
        const char *eq = memchr(p, '=', (size_t)(fend - p));
        if (eq && eq - p > 3 && memcmp(eq - 3, "_ns", 3) == 0) {
            uint64_t v;
            if (parse_u64(eq + 1, fend, &v) == 0) {
                *key = p;
                *key_len = (size_t)(eq - p);
                *value = v;
                it->p = fend < end ? fend + 1 : fend;
                return 1;
            }
            it->bad++;
        }
        p = fend < end ? fend + 1 : fend;
    }
    it->p = end;
    return 0;
}
