/* otlp_encode.c — the OTLP export requests in protobuf and in JSON, written by hand.
 *
 * Why by hand: the message set is fixed and small (two requests, eight message types, a dozen
 * field kinds), the encoder only writes, and writing protobuf is a varint, a tag and a length per
 * field. A generated protobuf-c encoder would need the whole tree of .proto files vendored, a
 * build-time generator and a runtime library for what is 300 lines here, and would make us build
 * an object tree first only to serialise it. The field numbers are OTLP's published ones (see
 * the .proto files in tests/data/otlp/, which the tests decode our output against with protoc).
 *
 * Nested messages are length-prefixed: a submessage is written in place, then moved right by the
 * size of its length varint once its length is known. Cost: each byte moves once per enclosing
 * message (at most 5 levels here). */
#include "sink/otlp/otlp.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------------------------- */

void tk_otlp_buf_free(tk_otlp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(tk_otlp_buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

static void buf_put(tk_otlp_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

/* ---- protobuf ----------------------------------------------------------------------------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static size_t varint_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void pb_varint(tk_otlp_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    buf_put(b, tmp, varint_encode(tmp, v));
}

static void pb_tag(tk_otlp_buf *b, unsigned field, unsigned wt)
{
    pb_varint(b, (uint64_t)field << 3 | wt);
}

static void pb_u64(tk_otlp_buf *b, unsigned field, uint64_t v)
{
    pb_tag(b, field, WT_VARINT);
    pb_varint(b, v);
}

static void pb_sint32(tk_otlp_buf *b, unsigned field, int32_t v)
{
    pb_u64(b, field, (uint32_t)((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); /* zigzag */
}

static void pb_fixed64(tk_otlp_buf *b, unsigned field, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    pb_tag(b, field, WT_I64);
    buf_put(b, le, 8);
}

static void pb_double(tk_otlp_buf *b, unsigned field, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    pb_fixed64(b, field, v);
}

static void pb_bytes(tk_otlp_buf *b, unsigned field, const void *p, size_t n)
{
    pb_tag(b, field, WT_LEN);
    pb_varint(b, n);
    buf_put(b, p, n);
}

static void pb_str(tk_otlp_buf *b, unsigned field, const char *s)
{
    if (s && *s)
        pb_bytes(b, field, s, strlen(s));
}

/* Opens a submessage (or packed field): returns where its content starts. */
static size_t pb_open(tk_otlp_buf *b, unsigned field)
{
    pb_tag(b, field, WT_LEN);
    return b->len;
}

/* Closes the submessage opened at start: inserts its length before it. */
static void pb_close(tk_otlp_buf *b, size_t start)
{
    if (b->oom)
        return;
    uint8_t tmp[10];
    size_t len = b->len - start, n = varint_encode(tmp, len);
    if (buf_reserve(b, n) < 0)
        return;
    memmove(b->data + start + n, b->data + start, len);
    memcpy(b->data + start, tmp, n);
    b->len += n;
}

/* common.proto: KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string_value = 1;
 * int_value = 3 } */
static void pb_attrs(tk_otlp_buf *b, unsigned field, const tk_otlp_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t kv = pb_open(b, field);
        pb_str(b, 1, a[i].key);
        size_t av = pb_open(b, 2);
        if (a[i].str)
            pb_bytes(b, 1, a[i].str, strlen(a[i].str));
        else
            pb_u64(b, 3, (uint64_t)a[i].ival);
        pb_close(b, av);
        pb_close(b, kv);
    }
}

/* Resource { attributes = 1 } at field 1 of ResourceMetrics/ResourceSpans, then opens the
 * ScopeMetrics/ScopeSpans (field 2) with its InstrumentationScope { name = 1; version = 2 }
 * (field 1). Returns the scope's start for pb_close. */
static size_t pb_resource_scope(tk_otlp_buf *b, const tk_otlp_resource *res)
{
    size_t r = pb_open(b, 1);
    pb_attrs(b, 1, res->attrs, res->nattrs);
    pb_close(b, r);
    size_t scope = pb_open(b, 2);
    size_t is = pb_open(b, 1);
    pb_str(b, 1, res->scope_name);
    pb_str(b, 2, res->scope_version);
    pb_close(b, is);
    return scope;
}

/* metrics.proto: Metric { name = 1; description = 2; unit = 3; gauge = 5; sum = 7;
 * exponential_histogram = 10 }. */
static void pb_metric(tk_otlp_buf *b, const tk_otlp_metric *m, tk_otlp_temporality t)
{
    size_t mm = pb_open(b, 2); /* ScopeMetrics.metrics */
    pb_str(b, 1, m->name);
    pb_str(b, 2, m->description);
    pb_str(b, 3, m->unit);
    if (m->kind == TK_OTLP_EXPO_HIST) {
        /* ExponentialHistogram { data_points = 1; aggregation_temporality = 2 } */
        const tk_otlp_expo *e = m->expo;
        size_t eh = pb_open(b, 10);
        size_t dp = pb_open(b, 1);
        /* ExponentialHistogramDataPoint { attributes = 1; start_time_unix_nano = 2;
         * time_unix_nano = 3; count = 4; sum = 5; scale = 6; zero_count = 7; positive = 8;
         * min = 12; max = 13 } */
        pb_attrs(b, 1, m->attrs, m->nattrs);
        pb_fixed64(b, 2, m->start_unix_ns);
        pb_fixed64(b, 3, m->time_unix_ns);
        pb_fixed64(b, 4, e->count);
        pb_double(b, 5, e->sum);
        pb_sint32(b, 6, e->scale);
        pb_fixed64(b, 7, e->zero_count);
        if (e->n) {
            /* Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2 (packed) } */
            size_t pos = pb_open(b, 8);
            pb_sint32(b, 1, e->offset);
            size_t packed = pb_open(b, 2);
            for (size_t i = 0; i < e->n; i++)
                pb_varint(b, e->counts[i]);
            pb_close(b, packed);
            pb_close(b, pos);
        }
        if (e->count) {
            pb_double(b, 12, e->min);
            pb_double(b, 13, e->max);
        }
        pb_close(b, dp);
        pb_u64(b, 2, (uint64_t)t);
        pb_close(b, eh);
    } else {
        /* Sum { data_points = 1; aggregation_temporality = 2; is_monotonic = 3 },
         * Gauge { data_points = 1 }; NumberDataPoint { start_time_unix_nano = 2;
         * time_unix_nano = 3; as_double = 4; as_int = 6 (sfixed64); attributes = 7 } */
        size_t s = pb_open(b, m->kind == TK_OTLP_SUM ? 7 : 5);
        size_t dp = pb_open(b, 1);
        if (m->kind == TK_OTLP_SUM)
            pb_fixed64(b, 2, m->start_unix_ns);
        pb_fixed64(b, 3, m->time_unix_ns);
        if (m->is_double)
            pb_double(b, 4, m->dval);
        else
            pb_fixed64(b, 6, (uint64_t)m->ival);
        pb_attrs(b, 7, m->attrs, m->nattrs);
        pb_close(b, dp);
        if (m->kind == TK_OTLP_SUM) {
            pb_u64(b, 2, (uint64_t)t);
            pb_u64(b, 3, 1);
        }
        pb_close(b, s);
    }
    pb_close(b, mm);
}

/* trace.proto: Span { trace_id = 1; span_id = 2; name = 5; kind = 6; start_time_unix_nano = 7;
 * end_time_unix_nano = 8; attributes = 9 } */
static void pb_span(tk_otlp_buf *b, const tk_otlp_span *s)
{
    size_t sp = pb_open(b, 2); /* ScopeSpans.spans */
    pb_bytes(b, 1, s->trace_id, 16);
    pb_bytes(b, 2, s->span_id, 8);
    pb_str(b, 5, s->name);
    pb_u64(b, 6, 1); /* SPAN_KIND_INTERNAL */
    pb_fixed64(b, 7, s->start_unix_ns);
    pb_fixed64(b, 8, s->end_unix_ns);
    pb_attrs(b, 9, s->attrs, s->nattrs);
    pb_close(b, sp);
}

/* ---- JSON (the OTLP/JSON mapping: lowerCamelCase names, 64-bit integers as strings, enums as
 * integers, ids as hex) ------------------------------------------------------------------------- */

static void js(tk_otlp_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void jsf(tk_otlp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jsf(tk_otlp_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void js_str(tk_otlp_buf *b, const char *s)
{
    js(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            buf_put(b, e, 2);
        } else if (*p < 0x20) {
            jsf(b, "\\u%04x", *p);
        } else {
            buf_put(b, p, 1);
        }
    }
    js(b, "\"");
}

static void js_double(tk_otlp_buf *b, double d)
{
    jsf(b, "%.17g", isfinite(d) ? d : 0.0);
}

static void js_hex(tk_otlp_buf *b, const uint8_t *p, size_t n)
{
    js(b, "\"");
    for (size_t i = 0; i < n; i++)
        jsf(b, "%02x", p[i]);
    js(b, "\"");
}

static void js_attrs(tk_otlp_buf *b, const tk_otlp_attr *a, size_t n)
{
    js(b, "\"attributes\":[");
    for (size_t i = 0; i < n; i++) {
        js(b, i ? ",{\"key\":" : "{\"key\":");
        js_str(b, a[i].key);
        if (a[i].str) {
            js(b, ",\"value\":{\"stringValue\":");
            js_str(b, a[i].str);
            js(b, "}}");
        } else {
            jsf(b, ",\"value\":{\"intValue\":\"%lld\"}}", (long long)a[i].ival);
        }
    }
    js(b, "]");
}

static void js_resource(tk_otlp_buf *b, const tk_otlp_resource *res)
{
    js(b, "\"resource\":{");
    js_attrs(b, res->attrs, res->nattrs);
    js(b, "}");
}

static void js_metric(tk_otlp_buf *b, const tk_otlp_metric *m, tk_otlp_temporality t)
{
    js(b, "{\"name\":");
    js_str(b, m->name);
    if (m->description) {
        js(b, ",\"description\":");
        js_str(b, m->description);
    }
    js(b, ",\"unit\":");
    js_str(b, m->unit);
    if (m->kind == TK_OTLP_EXPO_HIST) {
        const tk_otlp_expo *e = m->expo;
        js(b, ",\"exponentialHistogram\":{\"dataPoints\":[{");
        js_attrs(b, m->attrs, m->nattrs);
        jsf(b, ",\"startTimeUnixNano\":\"%llu\",\"timeUnixNano\":\"%llu\",\"count\":\"%llu\"",
            (unsigned long long)m->start_unix_ns, (unsigned long long)m->time_unix_ns,
            (unsigned long long)e->count);
        js(b, ",\"sum\":");
        js_double(b, e->sum);
        jsf(b, ",\"scale\":%d,\"zeroCount\":\"%llu\"", (int)e->scale,
            (unsigned long long)e->zero_count);
        jsf(b, ",\"positive\":{\"offset\":%d,\"bucketCounts\":[", (int)e->offset);
        for (size_t i = 0; i < e->n; i++)
            jsf(b, i ? ",\"%llu\"" : "\"%llu\"", (unsigned long long)e->counts[i]);
        js(b, "]}");
        if (e->count) {
            js(b, ",\"min\":");
            js_double(b, e->min);
            js(b, ",\"max\":");
            js_double(b, e->max);
        }
        jsf(b, "}],\"aggregationTemporality\":%d}}", (int)t);
    } else {
        js(b, m->kind == TK_OTLP_SUM ? ",\"sum\":{\"dataPoints\":[{" : ",\"gauge\":{\"dataPoints\":[{");
        js_attrs(b, m->attrs, m->nattrs);
        if (m->kind == TK_OTLP_SUM)
            jsf(b, ",\"startTimeUnixNano\":\"%llu\"", (unsigned long long)m->start_unix_ns);
        jsf(b, ",\"timeUnixNano\":\"%llu\"", (unsigned long long)m->time_unix_ns);
        if (m->is_double) {
            js(b, ",\"asDouble\":");
            js_double(b, m->dval);
        } else {
            jsf(b, ",\"asInt\":\"%lld\"", (long long)m->ival);
        }
        js(b, "}]");
        if (m->kind == TK_OTLP_SUM)
            jsf(b, ",\"aggregationTemporality\":%d,\"isMonotonic\":true", (int)t);
        js(b, "}}");
    }
}

static void js_span(tk_otlp_buf *b, const tk_otlp_span *s)
{
    js(b, "{\"traceId\":");
    js_hex(b, s->trace_id, 16);
    js(b, ",\"spanId\":");
    js_hex(b, s->span_id, 8);
    js(b, ",\"name\":");
    js_str(b, s->name);
    jsf(b, ",\"kind\":1,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\",",
        (unsigned long long)s->start_unix_ns, (unsigned long long)s->end_unix_ns);
    js_attrs(b, s->attrs, s->nattrs);
    js(b, "}");
}

/* ---- requests ----------------------------------------------------------------------------------- */

int tk_otlp_encode_metrics(tk_otlp_buf *out, tk_otlp_encoding enc, const tk_otlp_resource *res,
                           const tk_otlp_metric *m, size_t n, tk_otlp_temporality t)
{
    out->len = 0;
    out->oom = 0;
    if (enc == TK_OTLP_JSON) {
        js(out, "{\"resourceMetrics\":[{");
        js_resource(out, res);
        js(out, ",\"scopeMetrics\":[{\"scope\":{\"name\":");
        js_str(out, res->scope_name);
        js(out, ",\"version\":");
        js_str(out, res->scope_version);
        js(out, "},\"metrics\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                js(out, ",");
            js_metric(out, &m[i], t);
        }
        js(out, "]}]}]}");
    } else {
        /* ExportMetricsServiceRequest { resource_metrics = 1 }; ResourceMetrics { resource = 1;
         * scope_metrics = 2 }; ScopeMetrics { scope = 1; metrics = 2 } */
        size_t rm = pb_open(out, 1);
        size_t sm = pb_resource_scope(out, res);
        for (size_t i = 0; i < n; i++)
            pb_metric(out, &m[i], t);
        pb_close(out, sm);
        pb_close(out, rm);
    }
    return out->oom ? -ENOMEM : 0;
}

int tk_otlp_encode_spans(tk_otlp_buf *out, tk_otlp_encoding enc, const tk_otlp_resource *res,
                         const tk_otlp_span *s, size_t n)
{
    out->len = 0;
    out->oom = 0;
    if (enc == TK_OTLP_JSON) {
        js(out, "{\"resourceSpans\":[{");
        js_resource(out, res);
        js(out, ",\"scopeSpans\":[{\"scope\":{\"name\":");
        js_str(out, res->scope_name);
        js(out, ",\"version\":");
        js_str(out, res->scope_version);
        js(out, "},\"spans\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                js(out, ",");
            js_span(out, &s[i]);
        }
        js(out, "]}]}]}");
    } else {
        /* ExportTraceServiceRequest { resource_spans = 1 }; ResourceSpans { resource = 1;
         * scope_spans = 2 }; ScopeSpans { scope = 1; spans = 2 } */
        size_t rs = pb_open(out, 1);
        size_t ss = pb_resource_scope(out, res);
        for (size_t i = 0; i < n; i++)
            pb_span(out, &s[i]);
        pb_close(out, ss);
        pb_close(out, rs);
    }
    return out->oom ? -ENOMEM : 0;
}
