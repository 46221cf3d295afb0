/* chrome.c — Trace Event JSON, streamed (sink/chrome.h). */
#include "sink/chrome.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tk_chrome {
    FILE *out;
    int n; /* events written: a comma goes before every one but the first */
};

/* Writes len bytes of s as a JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not valid UTF-8 replaced by U+FFFD. (util/fmt.h's tk_json_strn does the same;
 * this writer does not depend on it so it links on its own.) */
static void json_str(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    putc('"', f);
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            putc('\\', f), putc((int)c, f), p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c), p++;
        } else if (c < 0x80) {
            putc((int)c, f), p++;
        } else {
            /* Length of a valid UTF-8 sequence starting here, 0 when invalid. */
            size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            if (n && (size_t)(end - p) >= n) {
                for (size_t i = 1; i < n; i++)
                    if ((p[i] & 0xc0) != 0x80)
                        n = 0;
                if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
                    n = 0; /* overlong, surrogate */
                if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
                    n = 0; /* overlong, above U+10FFFF */
            } else {
                n = 0;
            }
            if (n) {
                fwrite(p, 1, n, f);
                p += n;
            } else {
                fputs("\xef\xbf\xbd", f);
                p++;
            }
        }
    }
    putc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, s ? s : "", s ? strlen(s) : 0);
}

/* ns as µs with three decimals: exact, no floating point. */
static void put_us(FILE *f, uint64_t ns)
{
    fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

static void sep(tk_chrome *w)
{
    fputs(w->n++ ? ",\n" : "\n", w->out);
}

int tk_chrome_open(FILE *out, tk_chrome **wp)
{
    tk_chrome *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->out = out;
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\"},"
          "\"traceEvents\":[", out);
    *wp = w;
    return 0;
}

int tk_chrome_close(tk_chrome *w)
{
    if (!w)
        return 0;
    fputs("\n]}\n", w->out);
    int rc = 0;
    if (fflush(w->out) != 0 || ferror(w->out))
        rc = errno ? -errno : -EIO;
    free(w);
    return rc;
}

static void metadata(tk_chrome *w, const char *what, int pid, int tid, const char *name)
{
    sep(w);
    fprintf(w->out, "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":", what,
            pid, tid);
    json_cstr(w->out, name);
    fputs("}}", w->out);
}

int tk_chrome_process(tk_chrome *w, int pid, const char *name)
{
    metadata(w, "process_name", pid, pid, name);
    return 0;
}

int tk_chrome_thread(tk_chrome *w, int pid, int tid, const char *name)
{
    metadata(w, "thread_name", pid, tid, name);
    return 0;
}

int tk_chrome_span(tk_chrome *w, int pid, int tid, const char *name, uint64_t start_ns,
                   uint64_t dur_ns, uint64_t lat_ns)
{
    FILE *f = w->out;
    sep(w);
    fputs("{\"name\":", f);
    json_cstr(f, name);
    fputs(",\"cat\":\"timer\",\"ph\":\"X\",\"ts\":", f);
    put_us(f, start_ns);
    fputs(",\"dur\":", f);
    put_us(f, dur_ns);
    fprintf(f, ",\"pid\":%d,\"tid\":%d", pid, tid);
    if (lat_ns != TK_CHROME_NONE)
        fprintf(f, ",\"args\":{\"latency_ns\":%" PRIu64 "}", lat_ns);
    putc('}', f);
    return 0;
}

int tk_chrome_instant(tk_chrome *w, int pid, int tid, const char *name, uint64_t ts_ns,
                      uint64_t client, uint64_t command, uint64_t session, const char *context,
                      size_t context_len)
{
    FILE *f = w->out;
    sep(w);
    fputs("{\"name\":", f);
    json_cstr(f, name);
    fputs(",\"cat\":\"point\",\"ph\":\"i\",\"s\":\"t\",\"ts\":", f);
    put_us(f, ts_ns);
    fprintf(f, ",\"pid\":%d,\"tid\":%d,\"args\":{", pid, tid);
    const char *comma = "";
    if (client != TK_CHROME_NONE)
        fprintf(f, "%s\"client\":%" PRIu64, comma, client), comma = ",";
    if (command != TK_CHROME_NONE)
        fprintf(f, "%s\"command\":%" PRIu64, comma, command), comma = ",";
    if (session != TK_CHROME_NONE)
        fprintf(f, "%s\"session\":%" PRIu64, comma, session), comma = ",";
    if (context && context_len) {
        fprintf(f, "%s\"context\":", comma);
        json_str(f, context, context_len);
    }
    fputs("}}", f);
    return 0;
}

int tk_chrome_counter(tk_chrome *w, int pid, const char *name, uint64_t ts_ns, double value)
{
    FILE *f = w->out;
    sep(w);
    fputs("{\"name\":", f);
    json_cstr(f, name);
    fputs(",\"ph\":\"C\",\"ts\":", f);
    put_us(f, ts_ns);
    if (isfinite(value))
        fprintf(f, ",\"pid\":%d,\"args\":{\"value\":%.17g}}", pid, value);
    else
        fprintf(f, ",\"pid\":%d,\"args\":{\"value\":null}}", pid);
    return 0;
}
