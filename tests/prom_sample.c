/* prom_sample.c — writes a hand-made snapshot (two processes, awkward label values, timers with
 * and without latency, points, counters, a gauge, a stage, resources, 15 task types so that top-k and `other` show) as /metrics would:
 * `prom_sample text` or `prom_sample openmetrics` on stdout, for promtool and the OpenMetrics
 * parser in test_serve.sh. */
#include <stdio.h>
#include <string.h>

#include "sink/prom/prom.h"

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "text") && strcmp(argv[1], "openmetrics"))) {
        fprintf(stderr, "usage: prom_sample text|openmetrics\n");
        return 2;
    }
    tkp_snapshot s = {0};
    tkp_snapshot_add_proc(&s, "gate\"way\\\n", 10)->silence_s = 0.5;
    tkp_proc *p = tkp_snapshot_add_proc(&s, "second", 11);
    p->up = 0;
    p->lost = 3;
    for (size_t proc = 0; proc < 2; proc++) {
        tkp_timer *t = tkp_snapshot_add_timer(&s, proc, "a timer \"quoted\"");
        for (uint64_t v = 10; v < 20000000000ull; v *= 3)
            tkp_hist_add_ns(&t->processing, v, v % 7 + 1);
        t = tkp_snapshot_add_timer(&s, proc, "with.latency");
        tkp_hist_add_ns(&t->processing, 1200, 5);
        tkp_hist_add_ns(&t->latency, 250000, 5);
        t->has_latency = 1;
        tkp_snapshot_add_points(&s, proc, "ffi.send", 9);
    }
    tkp_snapshot_add_value(&s, 0, TKP_VAL_COUNTER, "gw.messages_in")->total = 1000;
    tkp_snapshot_add_value(&s, 0, TKP_VAL_GAUGE, "queue \"depth\"")->value = -2;
    tkp_snapshot_add_value(&s, 0, TKP_VAL_STAGE, "risk")->value = 1;
    s.procs[0].have_res = s.procs[0].have_cs = 1;
    s.procs[0].cpu_s = 0.25;
    s.procs[0].rss_bytes = 1 << 20;
    s.procs[0].threads = 4;
    s.procs[0].voluntary_cs = 9;
    for (unsigned i = 0; i < 15; i++) {
        char fn[32];
        snprintf(fn, sizeof fn, "handler_%u", i);
        tkp_task *k = tkp_snapshot_add_task(&s, SIZE_MAX, fn, "src/srv \"x\".c", 100 + i);
        k->exec_s = 0.001 * (i + 1);
        k->exec_with_children_s = 0.002 * (i + 1);
        k->completed = i;
        k->max_slice_s = 0.0001 * i;
    }
    tkp_buf b = {0};
    if (tkp_write(&b, &s, argv[1][0] == 't' ? TKP_TEXT : TKP_OPENMETRICS, 10) != 0)
        return 1;
    fwrite(b.p, 1, b.len, stdout);
    tkp_buf_free(&b);
    tkp_snapshot_clear(&s);
    return fclose(stdout) != 0;
}
