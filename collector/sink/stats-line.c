/* sink/stats-line.c — the `stats - {…}` and `resources - {…}` lines: writer and reader
 * (sink/stats-line.h). */
#include "sink/stats-line.h"

#include <stdlib.h>
#include <string.h>

#include "format/segment.h"

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void group(FILE *f, const char *title, int kind, const tka_counter_value *v, size_t n)
{
    fprintf(f, ",\"%s\":{", title);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != kind)
            continue;
        if (!first)
            fputc(',', f);
        first = 0;
        put_str(f, v[i].name);
        if (kind == TKS_NAME_COUNTER)
            fprintf(f, ":%llu", (unsigned long long)v[i].delta);
        else
            fprintf(f, ":%lld", (long long)v[i].value);
    }
    fputc('}', f);
}

int tk_stats_write(FILE *out, double t, int pid, double interval_s, const tka_counter_value *v,
                   size_t n, const tk_stats_timer *timers, size_t nt)
{
    fprintf(out, TK_STATS_PREFIX "{\"t\":%.3f,\"pid\":%d,\"interval_s\":%.3f", t, pid, interval_s);
    group(out, "counters", TKS_NAME_COUNTER, v, n);
    group(out, "gauges", TKS_NAME_GAUGE, v, n);
    group(out, "stages", TKS_NAME_STAGE, v, n);
    fputs(",\"timers\":{", out);
    for (size_t i = 0; i < nt; i++) {
        if (i)
            fputc(',', out);
        put_str(out, timers[i].name);
        fprintf(out, ":{\"count\":%llu,\"p50_ns\":%llu,\"p99_ns\":%llu}",
                (unsigned long long)timers[i].count, (unsigned long long)timers[i].p50_ns,
                (unsigned long long)timers[i].p99_ns);
    }
    fputs("}}\n", out);
    return ferror(out) ? -1 : 0;
}

int tk_resources_write(FILE *out, double t, int pid, const tkc_procstat_rates *r, int64_t heap)
{
    fprintf(out,
            TK_RESOURCES_PREFIX "{\"t\":%.3f,\"pid\":%d,\"interval_s\":%.3f,\"cpu\":%.1f,"
                                "\"user\":%.1f,\"sys\":%.1f,\"rss\":%llu,\"threads\":%u,"
                                "\"cores\":%u,\"voluntary_cs\":%llu,\"involuntary_cs\":%llu,"
                                "\"read_bytes\":%llu,\"write_bytes\":%llu",
            t, pid, r->seconds, r->cpu_pct, r->user_pct, r->sys_pct,
            (unsigned long long)r->rss_bytes, r->threads, r->cores,
            (unsigned long long)r->voluntary_cs, (unsigned long long)r->involuntary_cs,
            (unsigned long long)r->read_bytes, (unsigned long long)r->write_bytes);
    if (heap >= 0)
        fprintf(out, ",\"heap\":%lld", (long long)heap);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    tk_stats_kv *out;
    size_t cap, n;
    int depth;
} parser;

static void ws(parser *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n')
        p->s++;
}

/* A string into buf (escapes kept as the escaped character, \u as '?'). Returns 0 or -1. */
static int str(parser *p, char *buf, size_t cap)
{
    if (*p->s != '"')
        return -1;
    size_t k = 0;
    for (p->s++; *p->s && *p->s != '"'; p->s++) {
        char c = *p->s;
        if (c == '\\') {
            p->s++;
            if (!*p->s)
                return -1;
            c = *p->s == 'u' ? '?' : *p->s;
            if (*p->s == 'u')
                for (int i = 0; i < 4 && p->s[1]; i++)
                    p->s++;
        }
        if (k + 1 < cap)
            buf[k++] = c;
    }
    if (*p->s != '"')
        return -1;
    p->s++;
    buf[k] = '\0';
    return 0;
}

static int value(parser *p, const char *path);

static int object(parser *p, const char *path)
{
    if (*p->s != '{' || ++p->depth > 8)
        return -1;
    p->s++;
    ws(p);
    if (*p->s == '}') {
        p->s++;
        p->depth--;
        return 0;
    }
    for (;;) {
        char key[128], sub[128];
        ws(p);
        if (str(p, key, sizeof key))
            return -1;
        ws(p);
        if (*p->s++ != ':')
            return -1;
        ws(p);
        size_t lp = strnlen(path, 63), lk = strnlen(key, 63), k = 0;
        memcpy(sub, path, lp); /* paths are cut at 63 + 1 + 63 bytes */
        k = lp;
        if (lp)
            sub[k++] = '.';
        memcpy(sub + k, key, lk);
        sub[k + lk] = '\0';
        if (value(p, sub))
            return -1;
        ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == '}') {
            p->s++;
            p->depth--;
            return 0;
        }
        return -1;
    }
}

static int value(parser *p, const char *path)
{
    char tmp[128];
    if (*p->s == '{')
        return object(p, path);
    if (*p->s == '"')
        return str(p, tmp, sizeof tmp);
    if (*p->s == '[') { /* skipped: nothing of ours is an array */
        int d = 0;
        do {
            if (*p->s == '[')
                d++;
            else if (*p->s == ']')
                d--;
            else if (!*p->s)
                return -1;
            p->s++;
        } while (d > 0);
        return 0;
    }
    if (!strncmp(p->s, "true", 4) || !strncmp(p->s, "null", 4)) {
        p->s += 4;
        return 0;
    }
    if (!strncmp(p->s, "false", 5)) {
        p->s += 5;
        return 0;
    }
    char *end;
    double v = strtod(p->s, &end);
    if (end == p->s)
        return -1;
    p->s = end;
    if (p->n < p->cap) {
        snprintf(p->out[p->n].key, sizeof p->out[p->n].key, "%s", path);
        p->out[p->n].value = v;
    }
    p->n++;
    return 0;
}

int tk_stats_parse(const char *line, tk_stats_kv *out, size_t cap, size_t *n)
{
    int kind = TK_LINE_OTHER;
    const char *s = strstr(line, TK_STATS_PREFIX);
    const char *r = strstr(line, TK_RESOURCES_PREFIX);
    if (s && (!r || s < r)) {
        kind = TK_LINE_STATS;
        s += strlen(TK_STATS_PREFIX);
    } else if (r) {
        kind = TK_LINE_RESOURCES;
        s = r + strlen(TK_RESOURCES_PREFIX);
    } else {
        *n = 0;
        return TK_LINE_OTHER;
    }
    parser p = {s, out, cap, 0, 0};
    ws(&p);
    if (object(&p, "")) {
        *n = 0;
        return TK_LINE_OTHER;
    }
    *n = p.n;
    return kind;
}
