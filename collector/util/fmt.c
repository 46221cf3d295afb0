/* util/fmt.c — the one formatter of durations, counts and rates, duration parsing, and the one
 * JSON string writer. */
#include "util/fmt.h"

#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int unicode = 1; /* µs unless told otherwise */

void tk_fmt_set_unicode(int force)
{
    if (force >= 0) {
        unicode = force != 0;
        return;
    }
    const char *cs = nl_langinfo(CODESET);
    unicode = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

int tk_fmt_unicode(void) { return unicode; }

const char *tk_fmt_ns(char *buf, size_t len, double ns) { return tk_fmt_ns_u(buf, len, ns, unicode); }

const char *tk_fmt_ns_u(char *buf, size_t len, double ns, int micro_sign)
{
    const char *const units[] = {"ns", micro_sign ? "µs" : "us", "ms", "s"};
    if (ns < 0) {
        if (len > 1) {
            buf[0] = '-';
            tk_fmt_ns_u(buf + 1, len - 1, -ns, micro_sign);
        }
        return buf;
    }
    int u = 0;
    while (u < 3 && ns >= 999.5) {
        ns /= 1000.0;
        u++;
    }
    if (u == 0 || ns >= 99.95)
        snprintf(buf, len, "%.0f%s", ns, units[u]);
    else if (ns >= 9.995)
        snprintf(buf, len, "%.1f%s", ns, units[u]);
    else
        snprintf(buf, len, "%.2f%s", ns, units[u]);
    return buf;
}

const char *tk_fmt_rate(char *buf, size_t len, double hz)
{
    if (hz >= 999.5e6)
        snprintf(buf, len, "%.2fG", hz / 1e9);
    else if (hz >= 999.5e3)
        snprintf(buf, len, "%.2fM", hz / 1e6);
    else if (hz >= 999.5)
        snprintf(buf, len, "%.1fk", hz / 1e3);
    else
        snprintf(buf, len, "%.1f", hz);
    return buf;
}

const char *tk_fmt_count(char *buf, size_t len, uint64_t n)
{
    if (n < 10000)
        snprintf(buf, len, "%llu", (unsigned long long)n);
    else if (n < 999500)
        snprintf(buf, len, "%.0fk", (double)n / 1e3);
    else if (n < 999500000)
        snprintf(buf, len, "%.1fM", (double)n / 1e6);
    else
        snprintf(buf, len, "%.1fG", (double)n / 1e9);
    return buf;
}

int tk_fmt_columns(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int tk_fput_col(FILE *f, const char *s, int width)
{
    int pad = width - tk_fmt_columns(s);
    fprintf(f, " %*s", pad > 0 ? pad : 0, "");
    return fputs(s, f) == EOF ? -1 : 0;
}

int tk_parse_duration(const char *s, double *seconds)
{
    static const struct { const char *unit; double scale; } units[] = {
        {"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600},
        {"", 1},
    };
    if (!s || !*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *seconds = v * units[i].scale;
            return 0;
        }
    }
    return -1;
}

/* Length of a well-formed UTF-8 sequence at p (at most n bytes), 0 if ill-formed. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || n < len)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
        return 0;
    if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
        return 0;
    return len;
}

int tk_json_strn(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    fputc('"', out);
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            size_t len = utf8_len(p, (size_t)(end - p));
            if (len) {
                fwrite(p, 1, len, out);
                p += len;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

int tk_json_str(FILE *f, const char *s) { return tk_json_strn(f, s, strlen(s)); }
