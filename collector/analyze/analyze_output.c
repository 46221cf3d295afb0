/* analyze_output.c — the outputs of `timekeeper analyze`: a table (adaptive units), one JSON document
 * and CSV, for the statistics and for a --command timeline. Formats are described in docs/analyze.md. */
#include "analyze_internal.h"
#include "util/fmt.h"

#include <inttypes.h>
#include <string.h>

/* ---- formatting helpers ------------------------------------------------------------------------- */
/* A duration with 3 significant digits and an adaptive unit, the one style of every command
 * (util/fmt.h): "412ns", "5.00µs" (us outside a UTF-8 locale), "12.3ms". */
static const char *dur(double ns, char *buf, size_t size) { return tk_fmt_ns(buf, size, ns); }

/* A duration exact to the ns, in an adaptive unit, trailing zeros trimmed: "400ns", "5.7µs",
 * "5.0007ms". For timelines, where every ns may matter. */
static const char *dur_exact(int64_t ns, char *buf, size_t size)
{
    const char *const units[] = {"ns", tk_fmt_unicode() ? "µs" : "us", "ms", "s"};
    uint64_t v = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns, scale = 1;
    int u = 0;
    while (u < 3 && v >= scale * 1000) {
        scale *= 1000;
        u++;
    }
    char frac[32] = "";
    if (u) {
        int digits = 3 * u;
        snprintf(frac, sizeof frac, ".%0*llu", digits, (unsigned long long)(v % scale));
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
        if (n == 1)
            frac[0] = '\0';
    }
    snprintf(buf, size, "%s%llu%s%s", ns < 0 ? "-" : "", (unsigned long long)(v / scale), frac,
             units[u]);
    return buf;
}

static void json_str(FILE *out, const char *s, size_t n) { tk_json_strn(out, s, n); }

static void json_cstr(FILE *out, const char *s)
{
    json_str(out, s, strlen(s));
}

static void json_stats(FILE *out, const hist_summary *h)
{
    fprintf(out,
            "\"count\": %" PRIu64 ", \"min_ns\": %" PRIu64 ", \"avg_ns\": %.1f, \"p50_ns\": %" PRIu64
            ", \"p90_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"p999_ns\": %" PRIu64
            ", \"max_ns\": %" PRIu64,
            h->count, h->min, h->avg, h->p50, h->p90, h->p99, h->p999, h->max);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_str(FILE *out, const char *s, size_t n)
{
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

static void csv_cstr(FILE *out, const char *s)
{
    csv_str(out, s, strlen(s));
}

#define CSV_HEADER "kind,name,total,path,count,min_ns,avg_ns,p50_ns,p90_ns,p99_ns,max_ns,sum_ns\n"

static void csv_row(FILE *out, const char *kind, const char *name, const char *total,
                    const char *path, uint64_t count, const hist_summary *h, const uint64_t *sum)
{
    fprintf(out, "%s,", kind);
    csv_cstr(out, name);
    fputc(',', out);
    csv_cstr(out, total);
    fputc(',', out);
    csv_cstr(out, path);
    fprintf(out, ",%" PRIu64, count);
    if (h)
        fprintf(out, ",%" PRIu64 ",%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, h->min,
                h->avg, h->p50, h->p90, h->p99, h->max);
    else
        fputs(",,,,,,", out);
    if (sum)
        fprintf(out, ",%" PRIu64, *sum);
    else
        fputc(',', out);
    fputc('\n', out);
}

/* ---- the counters, in the order every output lists them ------------------------------------------ */
typedef struct counter {
    const char *name;  /* JSON and CSV name */
    const char *label; /* table label */
    uint64_t value;
    int always;        /* shown in the table even when 0 */
} counter;

static size_t counters(const analyze_counts *c, counter *out)
{
    const counter all[] = {
        {"lines", "lines", c->lines, 1},
        {"points", "points", c->points, 1},
        {"other_lines", "other lines", c->other, 1},
        {"malformed", "malformed", c->malformed, 1},
        {"too_long", "too long", c->too_long, 0},
        {"out_of_order", "out of order", c->out_of_order, 1},
        {"negative", "negative", c->negative, 0},
        {"repeated_starts", "repeated starts", c->repeated_starts, 1},
        {"unmatched_ends", "unmatched ends", c->unmatched_ends, 1},
        {"unmatched_starts", "unmatched starts", c->unmatched_starts, 1},
        {"unfinished", "unfinished", c->unfinished, 1},
        {"evicted", "evicted", c->evicted, 1},
        {"evicted_over_cap", "evicted over cap", c->evicted_over_cap, 0},
        {"adopted", "adopted", c->adopted, 0},
        {"negative_remainders", "neg. remainders", c->negative_remainders, 0},
        {"bad_ns_fields", "bad _ns fields", c->bad_ns_fields, 0},
        {"labels_dropped", "labels dropped", c->labels_dropped, 0},
        {"pairs_dropped", "pairs dropped", c->pairs_dropped, 0},
        {"fields_dropped", "fields dropped", c->fields_dropped, 0},
        {"timeline_dropped", "timeline dropped", c->timeline_dropped, 0},
        {"no_memory", "no memory", c->no_memory, 0},
        {"max_open", "max open", c->max_open_seen, 0},
    };
    memcpy(out, all, sizeof all);
    return sizeof all / sizeof all[0];
}

/* ---- table -------------------------------------------------------------------------------------- */
#define COLS "%9s %9s %9s %9s %9s %9s"

static void table_head(FILE *out, int w, const char *title, int share)
{
    fprintf(out, "%-*s " COLS "%s\n", w, title, "count", "avg", "p50", "p90", "p99", "max",
            share ? "   share" : "");
}

/* One row: name, count, then the statistics (or dashes when empty); share < 0: no share column. */
static void table_row(FILE *out, int w, const char *indent, const char *name, uint64_t count,
                      const hist_summary *h, double share)
{
    char n[32], b[6][16];
    snprintf(n, sizeof n, "%" PRIu64, count);
    int iw = w - (int)strlen(indent);
    if (!h->count) {
        fprintf(out, "%s%-*s " COLS "\n", indent, iw, name, n, "-", "-", "-", "-", "-");
        return;
    }
    fprintf(out, "%s%-*s %9s", indent, iw, name, n);
    const char *cols[5] = {dur(h->avg, b[0], 16), dur((double)h->p50, b[1], 16),
                           dur((double)h->p90, b[2], 16), dur((double)h->p99, b[3], 16),
                           dur((double)h->max, b[4], 16)};
    for (int i = 0; i < 5; i++)
        tk_fput_col(out, cols[i], 9); /* by characters: µs keeps the columns aligned */
    if (share >= 0)
        fprintf(out, "  %5.1f%%", share);
    fputc('\n', out);
}

static int name_width(int w, const char *s, int extra)
{
    int n = (int)strlen(s) + extra;
    return n > w ? (n > 100 ? 100 : n) : w;
}

static void table_summary(const analyze *a, FILE *out)
{
    counter c[32];
    size_t n = counters(&a->c, c), shown = 0;
    fprintf(out, "summary\n");
    for (size_t i = 0; i < n; i++) {
        if (!c[i].always && !c[i].value)
            continue;
        fprintf(out, "%s%-17s %10" PRIu64, shown % 3 == 0 ? "  " : "    ", c[i].label, c[i].value);
        if (++shown % 3 == 0)
            fputc('\n', out);
    }
    if (shown % 3)
        fputc('\n', out);
}

static void table_fields(const analyze *a, FILE *out)
{
    if (!a->nfields)
        return;
    int w = 22;
    for (uint32_t i = 0; i < a->nfields; i++)
        w = name_width(w, a->fields[i].name, 2);
    fprintf(out, "%-*s " COLS " %9s\n", w, "context fields (*_ns)", "count", "avg", "p50", "p90",
            "p99", "max", "sum");
    for (uint32_t i = 0; i < a->nfields; i++) {
        hist_summary h;
        char b[6][16];
        hist_summarize(a->fields[i].h, &h);
        fprintf(out, "  %-*s %9" PRIu64, w - 2, a->fields[i].name, h.count);
        const char *cols[6] = {dur(h.avg, b[0], 16), dur((double)h.p50, b[1], 16),
                               dur((double)h.p90, b[2], 16), dur((double)h.p99, b[3], 16),
                               dur((double)h.max, b[4], 16), dur((double)a->fields[i].sum, b[5], 16)};
        for (int k = 0; k < 6; k++)
            tk_fput_col(out, cols[k], 9);
        fputc('\n', out);
    }
    fputc('\n', out);
}

static void table_breakdown(const analyze *a, FILE *out, int w, const spec_total *T,
                            const breakdown *b, const char *path)
{
    hist_summary tot;
    hist_summarize(b->total, &tot);
    table_row(out, w, "  ", path, tot.count, &tot, tot.count ? 100.0 : -1);
    if (!tot.count)
        return;
    for (int k = 0; k <= T->ncomp && T->ncomp; k++) {
        if (!b->seen[k])
            continue;
        hist_summary h;
        hist_summarize(b->part[k], &h);
        const char *name = k < T->ncomp ? a->spec->iv[T->comp[k]].name : T->remainder;
        /* share of the time of the whole path: the part's sum over the total's sum */
        double tsum = tot.avg * (double)tot.count;
        table_row(out, w, "    ", name, b->seen[k], &h, tsum > 0 ? 100.0 * h.avg * (double)h.count / tsum : 0);
    }
}

/* The part of b that takes the most of its path's time: its index (-1: none) and share (%). */
static int largest_part(const spec_total *T, const breakdown *b, double *share)
{
    hist_summary tot;
    hist_summarize(b->total, &tot);
    double tsum = tot.avg * (double)tot.count, best = 0;
    int k_best = -1;
    for (int k = 0; T->ncomp && k <= T->ncomp && tsum > 0; k++) {
        hist_summary h;
        hist_summarize(b->part[k], &h);
        double sum = h.avg * (double)h.count;
        if (sum > best) {
            best = sum;
            k_best = k;
        }
    }
    *share = tsum > 0 ? 100.0 * best / tsum : 0;
    return k_best;
}

/* "slow path: 92.5% select_wait; fast path: 52.4% python_overhead": where each path's time goes. */
static void table_headline(const analyze *a, FILE *out, const spec_total *T, int t)
{
    const analyze_spec *sp = a->spec;
    int shown = 0;
    for (int k = T->npaths ? 1 : 0; k <= T->npaths; k++) {
        double share;
        int p = largest_part(T, &a->bd[t][k], &share);
        if (p < 0)
            continue;
        fprintf(out, "%s%s%s: %.1f%% %s", shown++ ? "; " : "  ", k ? sp->path[T->path0 + k - 1].name : "all",
                k ? " path" : "", share, p < T->ncomp ? sp->iv[T->comp[p]].name : T->remainder);
    }
    if (shown)
        fputc('\n', out);
}

/* What each part of a total measures, from the spec: its labels and the comment of its line. */
static void table_legend(const analyze *a, FILE *out, int w, const spec_total *T)
{
    if (!T->ncomp)
        return;
    const analyze_spec *sp = a->spec;
    fprintf(out, "  parts: count = sequences that went through the part, avg .. max over those,\n"
                 "  share = its part of the path's whole time\n");
    for (int k = 0; k < T->ncomp; k++) {
        const spec_interval *iv = &sp->iv[T->comp[k]];
        if (iv->note[0])
            fprintf(out, "    %-*s %s (%s -> %s)\n", w - 4, iv->name, iv->note, iv->start, iv->end);
        else
            fprintf(out, "    %-*s %s -> %s\n", w - 4, iv->name, iv->start, iv->end);
    }
    if (T->remainder_note[0])
        fprintf(out, "    %-*s %s (the rest of %s: in none of the parts above)\n", w - 4,
                T->remainder, T->remainder_note, T->name);
    else
        fprintf(out, "    %-*s the rest of %s: its time in none of the parts above\n", w - 4,
                T->remainder, T->name);
}

static void table_stats(const analyze *a, FILE *out)
{
    const analyze_spec *sp = a->spec;
    if (sp) {
        if (sp->niv) {
            int w = 20;
            for (int i = 0; i < sp->niv; i++)
                w = name_width(w, sp->iv[i].name, 2);
            table_head(out, w, "intervals", 0);
            for (int i = 0; i < sp->niv; i++) {
                hist_summary h;
                hist_summarize(a->iv_hist[i], &h);
                table_row(out, w, "  ", sp->iv[i].name, h.count, &h, -1);
            }
            fputc('\n', out);
        }
        for (int t = 0; t < sp->ntot; t++) {
            const spec_total *T = &sp->tot[t];
            int w = 20;
            for (int k = 0; k < T->ncomp; k++)
                w = name_width(w, sp->iv[T->comp[k]].name, 4);
            w = name_width(w, T->remainder, 4);
            for (int k = 0; k < T->npaths; k++)
                w = name_width(w, sp->path[T->path0 + k].name, 2);
            fprintf(out, "total %s: %s -> %s\n", T->name, T->start, T->end);
            table_headline(a, out, T, t);
            table_head(out, w, "  path / part", 1);
            table_breakdown(a, out, w, T, &a->bd[t][0], "all");
            for (int k = 0; k < T->npaths; k++)
                table_breakdown(a, out, w, T, &a->bd[t][k + 1], sp->path[T->path0 + k].name);
            if (hist_count(a->bd[t][T->npaths + 1].total) && T->npaths)
                table_breakdown(a, out, w, T, &a->bd[t][T->npaths + 1], "other");
            if (hist_count(a->bd[t][0].total))
                table_legend(a, out, w, T);
            fputc('\n', out);
        }
    } else {
        int w = 20;
        char name[2 * TIMING_MAX_LABEL + 8];
        for (uint32_t i = 0; i < a->npairs; i++)
            w = name_width(w, a->labels[a->pairs[i].from].name,
                           (int)strlen(a->labels[a->pairs[i].to].name) + 6);
        table_head(out, w, "consecutive points", 0);
        for (uint32_t i = 0; i < a->npairs; i++) {
            hist_summary h;
            hist_summarize(a->pairs[i].h, &h);
            snprintf(name, sizeof name, "%s -> %s", a->labels[a->pairs[i].from].name,
                     a->labels[a->pairs[i].to].name);
            table_row(out, w, "  ", name, h.count, &h, -1);
        }
        if (!a->npairs)
            fprintf(out, "  (no two points of one correlation id)\n");
        fputc('\n', out);
    }
    table_fields(a, out);
    table_summary(a, out);
}

/* ---- JSON --------------------------------------------------------------------------------------- */
static void json_breakdown(const analyze *a, FILE *out, const spec_total *T, const breakdown *b,
                           const char *path, int last)
{
    hist_summary h;
    hist_summarize(b->total, &h);
    fprintf(out, "        {\"name\": ");
    json_cstr(out, path);
    fprintf(out, ", \"count\": %" PRIu64 ", \"total\": {", h.count);
    json_stats(out, &h);
    fprintf(out, "}, \"parts\": [");
    for (int k = 0; T->ncomp && k <= T->ncomp; k++) {
        hist_summarize(b->part[k], &h);
        fprintf(out, "%s\n          {\"name\": ", k ? "," : "");
        json_cstr(out, k < T->ncomp ? a->spec->iv[T->comp[k]].name : T->remainder);
        fprintf(out, ", \"kind\": \"%s\", \"seen\": %" PRIu64 ", ",
                k < T->ncomp ? "component" : "remainder", b->seen[k]);
        json_stats(out, &h);
        fputc('}', out);
    }
    fprintf(out, "%s]}%s\n", T->ncomp ? "\n        " : "", last ? "" : ",");
}

static void json_summary(const analyze *a, FILE *out)
{
    counter c[32];
    size_t n = counters(&a->c, c);
    fprintf(out, "  \"summary\": {");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", c[i].name, c[i].value);
    fprintf(out, "}\n");
}

static void json_stats_doc(const analyze *a, FILE *out)
{
    const analyze_spec *sp = a->spec;
    fprintf(out, "{\n  \"mode\": \"%s\",\n  \"intervals\": [", sp ? "spec" : "consecutive");
    for (int i = 0; sp && i < sp->niv; i++) {
        hist_summary h;
        hist_summarize(a->iv_hist[i], &h);
        fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
        json_cstr(out, sp->iv[i].name);
        fprintf(out, ", \"start\": ");
        json_cstr(out, sp->iv[i].start);
        fprintf(out, ", \"end\": ");
        json_cstr(out, sp->iv[i].end);
        fprintf(out, ", ");
        json_stats(out, &h);
        fputc('}', out);
    }
    fprintf(out, "%s],\n  \"totals\": [", sp && sp->niv ? "\n  " : "");
    for (int t = 0; sp && t < sp->ntot; t++) {
        const spec_total *T = &sp->tot[t];
        fprintf(out, "%s\n    {\"name\": ", t ? "," : "");
        json_cstr(out, T->name);
        fprintf(out, ", \"start\": ");
        json_cstr(out, T->start);
        fprintf(out, ", \"end\": ");
        json_cstr(out, T->end);
        fprintf(out, ", \"components\": [");
        for (int k = 0; k < T->ncomp; k++) {
            fprintf(out, "%s", k ? ", " : "");
            json_cstr(out, sp->iv[T->comp[k]].name);
        }
        fprintf(out, "], \"remainder\": ");
        if (T->ncomp)
            json_cstr(out, T->remainder);
        else
            fprintf(out, "null");
        fprintf(out, ",\n      \"paths\": [\n");
        int other = T->npaths && hist_count(a->bd[t][T->npaths + 1].total);
        json_breakdown(a, out, T, &a->bd[t][0], "all", !T->npaths);
        for (int k = 0; k < T->npaths; k++)
            json_breakdown(a, out, T, &a->bd[t][k + 1], sp->path[T->path0 + k].name,
                           k + 1 == T->npaths && !other);
        if (other)
            json_breakdown(a, out, T, &a->bd[t][T->npaths + 1], "other", 1);
        fprintf(out, "      ]}");
    }
    fprintf(out, "%s],\n  \"pairs\": [", sp && sp->ntot ? "\n  " : "");
    for (uint32_t i = 0; i < a->npairs; i++) {
        hist_summary h;
        hist_summarize(a->pairs[i].h, &h);
        fprintf(out, "%s\n    {\"from\": ", i ? "," : "");
        json_cstr(out, a->labels[a->pairs[i].from].name);
        fprintf(out, ", \"to\": ");
        json_cstr(out, a->labels[a->pairs[i].to].name);
        fprintf(out, ", ");
        json_stats(out, &h);
        fputc('}', out);
    }
    fprintf(out, "%s],\n  \"fields\": [", a->npairs ? "\n  " : "");
    for (uint32_t i = 0; i < a->nfields; i++) {
        hist_summary h;
        hist_summarize(a->fields[i].h, &h);
        fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
        json_cstr(out, a->fields[i].name);
        fprintf(out, ", \"sum_ns\": %" PRIu64 ", ", a->fields[i].sum);
        json_stats(out, &h);
        fputc('}', out);
    }
    fprintf(out, "%s],\n", a->nfields ? "\n  " : "");
    json_summary(a, out);
    fprintf(out, "}\n");
}

/* ---- CSV ---------------------------------------------------------------------------------------- */
static void csv_breakdown(const analyze *a, FILE *out, const spec_total *T, const breakdown *b,
                          const char *path)
{
    hist_summary h;
    hist_summarize(b->total, &h);
    csv_row(out, "total", T->name, T->name, path, h.count, &h, NULL);
    for (int k = 0; T->ncomp && k <= T->ncomp; k++) {
        hist_summarize(b->part[k], &h);
        csv_row(out, k < T->ncomp ? "component" : "remainder",
                k < T->ncomp ? a->spec->iv[T->comp[k]].name : T->remainder, T->name, path,
                b->seen[k], &h, NULL);
    }
}

static void csv_stats(const analyze *a, FILE *out)
{
    const analyze_spec *sp = a->spec;
    fputs(CSV_HEADER, out);
    for (int i = 0; sp && i < sp->niv; i++) {
        hist_summary h;
        hist_summarize(a->iv_hist[i], &h);
        csv_row(out, "interval", sp->iv[i].name, "", "", h.count, &h, NULL);
    }
    for (int t = 0; sp && t < sp->ntot; t++) {
        const spec_total *T = &sp->tot[t];
        csv_breakdown(a, out, T, &a->bd[t][0], "all");
        for (int k = 0; k < T->npaths; k++)
            csv_breakdown(a, out, T, &a->bd[t][k + 1], sp->path[T->path0 + k].name);
        if (T->npaths && hist_count(a->bd[t][T->npaths + 1].total))
            csv_breakdown(a, out, T, &a->bd[t][T->npaths + 1], "other");
    }
    for (uint32_t i = 0; i < a->npairs; i++) {
        hist_summary h;
        char name[2 * TIMING_MAX_LABEL + 8];
        hist_summarize(a->pairs[i].h, &h);
        snprintf(name, sizeof name, "%s -> %s", a->labels[a->pairs[i].from].name,
                 a->labels[a->pairs[i].to].name);
        csv_row(out, "pair", name, "", "", h.count, &h, NULL);
    }
    for (uint32_t i = 0; i < a->nfields; i++) {
        hist_summary h;
        hist_summarize(a->fields[i].h, &h);
        csv_row(out, "field", a->fields[i].name, "", "", h.count, &h, &a->fields[i].sum);
    }
    counter c[32];
    size_t n = counters(&a->c, c);
    for (size_t i = 0; i < n; i++)
        csv_row(out, "counter", c[i].name, "", "", c[i].value, NULL, NULL);
}

int analyze__write_stats(const analyze *a, analyze_format f, FILE *out)
{
    if (f == ANALYZE_JSON)
        json_stats_doc(a, out);
    else if (f == ANALYZE_CSV)
        csv_stats(a, out);
    else
        table_stats(a, out);
    return 0;
}

/* ---- the timeline ------------------------------------------------------------------------------- */
static void id_text(uint64_t id, char *buf, size_t size)
{
    if (id == TIMING_ID_UNKNOWN)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%" PRIu64, id);
}

int analyze__write_timeline(const analyze *a, analyze_format f, FILE *out)
{
    const timeline_point *tl = a->timeline;
    size_t n = a->ntimeline;
    uint64_t first = n ? tl[0].ts : 0;
    if (f == ANALYZE_JSON) {
        fprintf(out, "{\n  \"command\": %" PRIu64 ",\n  \"points\": [", a->o.command);
        for (size_t i = 0; i < n; i++) {
            const timeline_point *t = &tl[i];
            fprintf(out, "%s\n    {\"label\": ", i ? "," : "");
            json_cstr(out, a->labels[t->label].name);
            fprintf(out, ", \"ts_ns\": %" PRIu64 ", \"offset_ns\": %" PRId64 ", \"delta_ns\": %" PRId64,
                    t->ts, (int64_t)(t->ts - first), i ? (int64_t)(t->ts - tl[i - 1].ts) : 0);
            const uint64_t ids[3] = {t->client, t->command, t->session};
            const char *names[3] = {"client", "command", "session"};
            for (int k = 0; k < 3; k++) {
                if (ids[k] == TIMING_ID_UNKNOWN)
                    fprintf(out, ", \"%s\": null", names[k]);
                else
                    fprintf(out, ", \"%s\": %" PRIu64, names[k], ids[k]);
            }
            fprintf(out, ", \"line\": %" PRIu64 ", \"context\": ", t->line);
            json_str(out, t->ctx, t->ctx_len);
            fputc('}', out);
        }
        fprintf(out, "%s],\n", n ? "\n  " : "");
        json_summary(a, out);
        fprintf(out, "}\n");
        return 0;
    }
    if (f == ANALYZE_CSV) {
        fputs("label,ts_ns,offset_ns,delta_ns,client,command,session,line,context\n", out);
        for (size_t i = 0; i < n; i++) {
            const timeline_point *t = &tl[i];
            char c[24], m[24], s[24];
            id_text(t->client, c, sizeof c);
            id_text(t->command, m, sizeof m);
            id_text(t->session, s, sizeof s);
            csv_cstr(out, a->labels[t->label].name);
            fprintf(out, ",%" PRIu64 ",%" PRId64 ",%" PRId64 ",%s,%s,%s,%" PRIu64 ",", t->ts,
                    (int64_t)(t->ts - first), i ? (int64_t)(t->ts - tl[i - 1].ts) : 0, c, m, s,
                    t->line);
            csv_str(out, t->ctx, t->ctx_len);
            fputc('\n', out);
        }
        return 0;
    }
    int w = 24;
    for (size_t i = 0; i < n; i++)
        w = name_width(w, a->labels[tl[i].label].name, 0);
    char b1[24], b2[24];
    fprintf(out, "command %" PRIu64 ": %zu points", a->o.command, n);
    if (n)
        fprintf(out, ", %s from the first to the last",
                dur_exact((int64_t)(tl[n - 1].ts - first), b1, sizeof b1));
    fprintf(out, "\n%12s %12s  %-*s %7s %7s %7s  %s\n", "offset", "delta", w, "label", "client",
            "session", "line", "context");
    for (size_t i = 0; i < n; i++) {
        const timeline_point *t = &tl[i];
        char c[24], s[24];
        id_text(t->client, c, sizeof c);
        id_text(t->session, s, sizeof s);
        int64_t delta = i ? (int64_t)(t->ts - tl[i - 1].ts) : 0;
        fprintf(out, "%12s %12s  %-*s %7s %7s %7" PRIu64 "  %.*s%s%s\n",
                dur_exact((int64_t)(t->ts - first), b1, sizeof b1),
                i ? dur_exact(delta, b2, sizeof b2) : "-", w, a->labels[t->label].name, c, s,
                t->line, (int)t->ctx_len, t->ctx, t->ctx_cut ? "..." : "",
                delta < 0 ? "  (out of order)" : "");
    }
    return 0;
}
