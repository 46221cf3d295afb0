/* tk_points_dump.c — test tool: attaches a collector to the segments of a directory, drains them
 * once and prints what it read as JSON lines, for the Python tests to check:
 *     {"type":"point","pid":..,"tid":..,"label":"..","mono_ns":..,"client":N|null,"command":..,
 *      "session":..,"context":".."}            one per point, in ring order
 *     {"type":"timer","pid":..,"name":"..","count":..,"min_ns":..,"max_ns":..,"latency_count":..,
 *      "lost":..}                              one per timer of each process
 *     {"type":"process","pid":..,"state":"live"|"exited","points":..,"dropped_no_ring":..,
 *      "corrupt_records":..}
 * Strings are escaped so that every byte >= 0x80 reads back as one latin-1 character ("\u00XX").
 * usage: tk_points_dump --dir DIR [--keep]     exit status 0, 2 on a usage error, 1 on failure */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void put_id(const char *key, uint64_t v)
{
    if (v == UINT64_MAX)
        printf(",\"%s\":null", key);
    else
        printf(",\"%s\":%llu", key, (unsigned long long)v);
}

static void on_point(void *ctx, const collector_point *p)
{
    (void)ctx;
    printf("{\"type\":\"point\",\"pid\":%d,\"tid\":%u,\"label\":", p->pid, (unsigned)p->tid);
    put_string(p->label ? p->label : "", p->label ? strlen(p->label) : 0);
    printf(",\"mono_ns\":%llu", (unsigned long long)p->mono_ns);
    put_id("client", p->client);
    put_id("command", p->command);
    put_id("session", p->session);
    printf(",\"context\":");
    put_string(p->context ? p->context : "", p->context ? p->context_len : 0);
    printf("}\n");
}

int main(int argc, char **argv)
{
    collector_options o = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            o.dir = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            ; /* the collector never removes segments unless asked: kept for old callers */
        else {
            fprintf(stderr, "usage: tk_points_dump --dir DIR [--keep]\n");
            return 2;
        }
    }
    if (!o.dir) {
        fprintf(stderr, "usage: tk_points_dump --dir DIR [--keep]\n");
        return 2;
    }
    collector *c;
    int rc = collector_open(&o, &c);
    if (rc) {
        fprintf(stderr, "tk_points_dump: collector_open: %d\n", rc);
        return 1;
    }
    collector_on_point(c, on_point, NULL);
    collector_scan(c);
    collector_drain(c);
    for (size_t i = 0; i < collector_process_count(c); i++) {
        const process_info *p = collector_process(c, i);
        for (size_t k = 0; k < p->ntimers; k++) {
            const timer_stats *t = p->timers[k];
            hist_summary s, l;
            hist_summarize(t->total[KIND_PROCESSING], &s);
            hist_summarize(t->total[KIND_LATENCY], &l);
            printf("{\"type\":\"timer\",\"pid\":%d,\"name\":", p->pid);
            put_string(t->name, strnlen(t->name, sizeof t->name));
            printf(",\"count\":%llu,\"min_ns\":%llu,\"max_ns\":%llu,\"latency_count\":%llu,"
                   "\"lost\":%llu}\n",
                   (unsigned long long)s.count, (unsigned long long)s.min,
                   (unsigned long long)s.max, (unsigned long long)l.count,
                   (unsigned long long)t->lost_total);
        }
        printf("{\"type\":\"process\",\"pid\":%d,\"state\":\"%s\",\"points\":%llu,"
               "\"dropped_no_ring\":%llu,\"corrupt_records\":%llu}\n",
               p->pid, p->state == PROC_EXITED ? "exited" : "live", (unsigned long long)p->points,
               (unsigned long long)p->dropped_no_ring, (unsigned long long)p->corrupt_records);
    }
    collector_close(c);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("tk_points_dump: stdout");
        return 1;
    }
    return 0;
}
