/* otlp_push.c — from processes, timers and spans to queued OTLP requests: resources, metric
 * names, request splitting, span sampling and batching. */
#include "sink/otlp/otlp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EXTRA_ATTRS 32
#define RES_ATTRS (4 + MAX_EXTRA_ATTRS)

typedef struct span_slot {
    tk_otlp_span s;
    char name[64];
    tk_otlp_attr attrs[2];
} span_slot;

struct tk_otlp {
    tk_otlp_config c;
    tk_otlp_exporter *exp;
    char host[256];
    char extra_k[MAX_EXTRA_ATTRS][64], extra_v[MAX_EXTRA_ATTRS][256];
    size_t nextra;
    tk_otlp_buf buf;
    /* the span batch: spans of one process */
    span_slot *batch;
    size_t nbatch;
    uint64_t batch_key;
    char batch_name[64], batch_cmdline[512];
    int batch_pid;
    /* sampling */
    double tokens;
    uint64_t tokens_ns;
    uint64_t offered, kept, capped;
};

void tk_otlp_config_from_env(tk_otlp_config *c)
{
    const char *v;
    if ((v = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) && *v)
        c->exp.endpoint = v;
    if ((v = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) && *v)
        c->exp.url[TK_OTLP_METRICS] = v;
    if ((v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) && *v)
        c->exp.url[TK_OTLP_TRACES] = v;
    if ((v = getenv("OTEL_EXPORTER_OTLP_HEADERS")) && *v)
        c->exp.headers = v;
    if ((v = getenv("OTEL_SERVICE_NAME")) && *v)
        c->service = v;
    if ((v = getenv("OTEL_RESOURCE_ATTRIBUTES")) && *v)
        c->resource_attrs = v;
}

static void add_extra(void *ctx, const char *k, const char *v)
{
    tk_otlp *x = ctx;
    if (x->nextra == MAX_EXTRA_ATTRS)
        return;
    snprintf(x->extra_k[x->nextra], sizeof x->extra_k[0], "%s", k);
    snprintf(x->extra_v[x->nextra], sizeof x->extra_v[0], "%s", v);
    x->nextra++;
}

int tk_otlp_new(const tk_otlp_config *c, tk_otlp **out)
{
    *out = NULL;
    tk_otlp *x = calloc(1, sizeof *x);
    if (!x)
        return -ENOMEM;
    x->c = *c;
    if (!x->c.temporality)
        x->c.temporality = TK_OTLP_DELTA;
    if (!x->c.max_scale)
        x->c.max_scale = TK_OTLP_MAX_SCALE;
    if (!x->c.max_request_bytes)
        x->c.max_request_bytes = TK_OTLP_MAX_REQUEST;
    if (!(x->c.sample > 0) || x->c.sample > 1)
        x->c.sample = 1;
    if (!x->c.span_batch)
        x->c.span_batch = 512;
    if (gethostname(x->host, sizeof x->host - 1) != 0)
        snprintf(x->host, sizeof x->host, "unknown");
    if (tk_otlp_parse_pairs(c->resource_attrs, add_extra, x) < 0) {
        free(x);
        return -EINVAL;
    }
    x->batch = calloc(x->c.span_batch, sizeof *x->batch);
    if (!x->batch) {
        free(x);
        return -ENOMEM;
    }
    int rc = tk_otlp_exporter_new(&x->c.exp, &x->exp);
    if (rc < 0) {
        free(x->batch);
        free(x);
        return rc;
    }
    x->c.service = c->service ? strdup(c->service) : NULL; /* the caller's string may go */
    x->c.resource_attrs = NULL;
    *out = x;
    return 0;
}

/* The resource of process (name, cmdline, pid) into attrs (RES_ATTRS entries). */
static size_t resource_attrs(const tk_otlp *x, const char *name, const char *cmdline, int pid,
                             tk_otlp_attr *a)
{
    size_t n = 0;
    a[n++] = (tk_otlp_attr){.key = "service.name", .str = x->c.service ? x->c.service : name};
    a[n++] = (tk_otlp_attr){.key = "host.name", .str = x->host};
    a[n++] = (tk_otlp_attr){.key = "process.pid", .ival = pid};
    a[n++] = (tk_otlp_attr){.key = "process.command_line", .str = cmdline ? cmdline : ""};
    for (size_t i = 0; i < x->nextra; i++) {
        size_t j = 0;
        while (j < n && strcmp(a[j].key, x->extra_k[i]) != 0)
            j++;
        if (j < 4 && strcmp(x->extra_k[i], "service.name") == 0 && x->c.service)
            continue; /* --service (or OTEL_SERVICE_NAME) wins over OTEL_RESOURCE_ATTRIBUTES */
        if (j == n)
            n++;
        a[j] = (tk_otlp_attr){.key = x->extra_k[i], .str = x->extra_v[i]};
    }
    return n;
}

/* Encodes m[0..n) and queues it, halving until each request fits the cap. */
static int push_chunk(tk_otlp *x, const tk_otlp_resource *res, const tk_otlp_metric *m, size_t n)
{
    if (n == 0)
        return 0;
    int rc = tk_otlp_encode_metrics(&x->buf, x->c.exp.encoding, res, m, n, x->c.temporality);
    if (rc < 0)
        return rc;
    if (x->buf.len > x->c.max_request_bytes && n > 1) {
        int a = push_chunk(x, res, m, n / 2), b = push_chunk(x, res, m + n / 2, n - n / 2);
        return a < 0 ? a : b;
    }
    /* One metric above the cap cannot be split: it goes alone and the receiver decides (413). */
    void *body = malloc(x->buf.len);
    if (!body)
        return -ENOMEM;
    memcpy(body, x->buf.data, x->buf.len);
    return tk_otlp_exporter_enqueue(x->exp, TK_OTLP_METRICS, body, x->buf.len, n);
}

int tk_otlp_resource_metrics(tk_otlp_metric *m, tk_otlp_attr *a, double user_s, double sys_s,
                             int64_t rss_bytes, int64_t threads)
{
    a[0] = (tk_otlp_attr){.key = "cpu.mode", .str = "user"};
    a[1] = (tk_otlp_attr){.key = "cpu.mode", .str = "system"};
    static const char cpu_desc[] = "CPU time of the process";
    m[0] = (tk_otlp_metric){.name = "process.cpu.time", .description = cpu_desc, .unit = "s",
                            .kind = TK_OTLP_SUM, .attrs = &a[0], .nattrs = 1, .dval = user_s,
                            .is_double = 1};
    m[1] = m[0];
    m[1].attrs = &a[1];
    m[1].dval = sys_s;
    m[2] = (tk_otlp_metric){.name = "process.memory.usage", .description = "resident set size",
                            .unit = "By", .kind = TK_OTLP_GAUGE, .ival = rss_bytes};
    m[3] = (tk_otlp_metric){.name = "process.threads", .description = "threads of the process",
                            .unit = "{thread}", .kind = TK_OTLP_GAUGE, .ival = threads};
    return 4;
}

int tk_otlp_push_metrics(tk_otlp *x, const tk_otlp_proc_in *p, uint64_t start_unix_ns,
                         uint64_t end_unix_ns)
{
    static const char *const names[2] = {"timekeeper.timer.processing", "timekeeper.timer.latency"};
    static const char *const descs[2] = {"time from start to stop of a timer",
                                         "time from the message's origin to the timer's start"};
    tk_otlp_attr ra[RES_ATTRS];
    tk_otlp_resource res = {.scope_name = "timekeeper", .scope_version = "1"};
    res.attrs = ra;
    res.nattrs = resource_attrs(x, p->name, p->cmdline, p->pid, ra);

    size_t cap = p->ntimers * 3 + p->nvalues + p->nextra;
    tk_otlp_metric *m = calloc(cap ? cap : 1, sizeof *m);
    tk_otlp_expo *ex = calloc(cap ? cap : 1, sizeof *ex);
    tk_otlp_attr *ta = calloc(p->ntimers ? p->ntimers : 1, sizeof *ta);
    int rc = -ENOMEM;
    size_t n = 0, ne = 0;
    if (!m || !ex || !ta)
        goto out;
    for (size_t i = 0; i < p->ntimers; i++) {
        const tk_otlp_timer_in *t = &p->timers[i];
        ta[i] = (tk_otlp_attr){.key = "timer", .str = t->name};
        for (int k = 0; k < 2; k++) {
            const hist *hs[2] = {t->h[k], t->more[k]};
            uint64_t count = (hs[0] ? hist_count(hs[0]) : 0) + (hs[1] ? hist_count(hs[1]) : 0);
            if ((!hs[0] && !hs[1]) || (k == 1 && count == 0))
                continue;
            if (tk_otlp_expo_from_hists(hs, 2, x->c.max_scale, x->c.max_buckets, &ex[ne]) < 0)
                goto out;
            m[n++] = (tk_otlp_metric){.name = names[k], .description = descs[k], .unit = "ns",
                                      .kind = TK_OTLP_EXPO_HIST, .attrs = &ta[i], .nattrs = 1,
                                      .start_unix_ns = start_unix_ns, .time_unix_ns = end_unix_ns,
                                      .expo = &ex[ne++]};
        }
        m[n++] = (tk_otlp_metric){.name = "timekeeper.timer.lost",
                                  .description = "records lost before the collector read them",
                                  .unit = "1", .kind = TK_OTLP_SUM, .attrs = &ta[i], .nattrs = 1,
                                  .start_unix_ns = start_unix_ns, .time_unix_ns = end_unix_ns,
                                  .ival = (int64_t)t->lost};
    }
    /* The program's counters (monotonic sums, with the window's temporality) and gauges. */
    for (size_t i = 0; i < p->nvalues; i++) {
        const tk_otlp_value_in *v = &p->values[i];
        m[n++] = (tk_otlp_metric){.name = v->name, .unit = "1",
                                  .kind = v->gauge ? TK_OTLP_GAUGE : TK_OTLP_SUM,
                                  .start_unix_ns = start_unix_ns, .time_unix_ns = end_unix_ns,
                                  .ival = v->value};
    }
    for (size_t i = 0; i < p->nextra; i++) {
        m[n] = p->extra[i];
        if (!m[n].start_unix_ns)
            m[n].start_unix_ns = start_unix_ns;
        if (!m[n].time_unix_ns)
            m[n].time_unix_ns = end_unix_ns;
        n++;
    }
    rc = push_chunk(x, &res, m, n);
out:
    for (size_t i = 0; i < ne; i++)
        tk_otlp_expo_free(&ex[i]);
    free(m);
    free(ex);
    free(ta);
    return rc;
}

/* ---- spans -------------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull; /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int tk_otlp_flush_spans(tk_otlp *x)
{
    if (!x->nbatch)
        return 0;
    tk_otlp_attr ra[RES_ATTRS];
    tk_otlp_resource res = {.scope_name = "timekeeper", .scope_version = "1", .attrs = ra};
    res.nattrs = resource_attrs(x, x->batch_name, x->batch_cmdline, x->batch_pid, ra);
    tk_otlp_span *s = malloc(x->nbatch * sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < x->nbatch; i++)
        s[i] = x->batch[i].s;
    int rc = tk_otlp_encode_spans(&x->buf, x->c.exp.encoding, &res, s, x->nbatch);
    free(s);
    size_t n = x->nbatch;
    x->nbatch = 0;
    if (rc < 0)
        return rc;
    void *body = malloc(x->buf.len);
    if (!body)
        return -ENOMEM;
    memcpy(body, x->buf.data, x->buf.len);
    return tk_otlp_exporter_enqueue(x->exp, TK_OTLP_TRACES, body, x->buf.len, n);
}

int tk_otlp_offer_span(tk_otlp *x, const tk_otlp_proc_in *p, const char *name, uint32_t ring,
                       uint32_t tid, uint64_t start_unix_ns, uint64_t end_unix_ns, uint64_t origin,
                       uint64_t lat_ns, uint64_t now_mono_ns)
{
    x->offered++;
    /* One trace per origin (dressed messages), else one per span. */
    uint64_t t_hi = mix64(p->key * 0x100000001b3ull ^ (origin ? origin : start_unix_ns));
    uint64_t t_lo = mix64(t_hi ^ (origin ? 0 : ((uint64_t)ring << 32 | tid)));
    /* Sampling by trace id keeps whole traces: the same decision for every span of an origin. */
    if ((double)(t_hi >> 11) * 0x1p-53 >= x->c.sample)
        return 0;
    if (x->c.span_rate > 0) {
        if (x->tokens_ns == 0 || now_mono_ns < x->tokens_ns) {
            x->tokens = x->c.span_rate;
            x->tokens_ns = now_mono_ns;
        }
        x->tokens += (double)(now_mono_ns - x->tokens_ns) * 1e-9 * x->c.span_rate;
        if (x->tokens > x->c.span_rate)
            x->tokens = x->c.span_rate; /* a burst of one second at most */
        x->tokens_ns = now_mono_ns;
        if (x->tokens < 1) {
            x->capped++;
            return 0;
        }
        x->tokens -= 1;
    }
    if (x->nbatch && x->batch_key != p->key) {
        int rc = tk_otlp_flush_spans(x);
        if (rc < 0 && rc != -EAGAIN)
            return rc;
    }
    if (!x->nbatch) {
        x->batch_key = p->key;
        x->batch_pid = p->pid;
        snprintf(x->batch_name, sizeof x->batch_name, "%s", p->name ? p->name : "");
        snprintf(x->batch_cmdline, sizeof x->batch_cmdline, "%s", p->cmdline ? p->cmdline : "");
    }
    span_slot *sl = &x->batch[x->nbatch++];
    snprintf(sl->name, sizeof sl->name, "%s", name);
    memset(&sl->s, 0, sizeof sl->s);
    put64(sl->s.trace_id, t_hi);
    put64(sl->s.trace_id + 8, t_lo);
    put64(sl->s.span_id, mix64(t_lo ^ start_unix_ns ^ ((uint64_t)ring << 48) ^ end_unix_ns) | 1);
    sl->s.name = sl->name;
    sl->s.start_unix_ns = start_unix_ns;
    sl->s.end_unix_ns = end_unix_ns;
    size_t na = 0;
    sl->attrs[na++] = (tk_otlp_attr){.key = "thread.id", .ival = tid};
    if (lat_ns != UINT64_MAX)
        sl->attrs[na++] = (tk_otlp_attr){.key = "timekeeper.latency_ns", .ival = (int64_t)lat_ns};
    sl->s.attrs = sl->attrs;
    sl->s.nattrs = na;
    x->kept++;
    if (x->nbatch == x->c.span_batch) {
        int rc = tk_otlp_flush_spans(x);
        if (rc < 0 && rc != -EAGAIN)
            return rc;
    }
    return 1;
}

tk_otlp_exporter *tk_otlp_exporter_of(tk_otlp *x)
{
    return x->exp;
}

void tk_otlp_span_counts(const tk_otlp *x, uint64_t *offered, uint64_t *kept, uint64_t *capped)
{
    *offered = x->offered;
    *kept = x->kept;
    *capped = x->capped;
}

void tk_otlp_free(tk_otlp *x, tk_otlp_stats *final)
{
    if (!x)
        return;
    tk_otlp_exporter_free(x->exp, final);
    tk_otlp_buf_free(&x->buf);
    free((char *)x->c.service);
    free(x->batch);
    free(x);
}
