/* analyze_spec.c — parser of `timekeeper analyze` spec files (the format is in docs/analyze.md).
 *
 *     interval NAME = START -> END        START, END: label globs (fnmatch)
 *     total    NAME = START -> END
 *       components = INTERVAL + INTERVAL ...   (of the latest total)
 *       remainder  = NAME                      (default: unaccounted)
 *       path NAME  = COND [and COND]...        COND: ends GLOB | has GLOB | lacks GLOB
 */
#include "analyze_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 160
#define MAX_SPEC_LINE 4096
#define MAX_SPEC_BYTES (1 << 20)

typedef struct token {
    const char *p;
    size_t n;
} token;

typedef struct parser {
    analyze_spec *s;
    const char *name;
    int line;
    char *err;
    size_t errlen;
} parser;

static int perr(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser *ps, const char *fmt, ...)
{
    if (ps->errlen) {
        int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->name, ps->line);
        if (n >= 0 && (size_t)n < ps->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* Splits a line into tokens: "->", "=", "+", or runs of other non-blank characters. A token that
 * starts with '#' starts a comment. Returns the number of tokens, or -1 when there are too many. */
static int tokenize(const char *p, const char *end, token *t)
{
    int n = 0;
    while (p < end) {
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }
        if (*p == '#')
            break;
        if (n == MAX_TOKENS)
            return -1;
        const char *q = p;
        if (*p == '=' || *p == '+') {
            q = p + 1;
        } else if (*p == '-' && p + 1 < end && p[1] == '>') {
            q = p + 2;
        } else {
            while (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '=' && *q != '+' &&
                   !(*q == '-' && q + 1 < end && q[1] == '>'))
                q++;
        }
        t[n++] = (token){p, (size_t)(q - p)};
        p = q;
    }
    return n;
}

static bool is(const token *t, const char *word)
{
    size_t n = strlen(word);
    return t->n == n && memcmp(t->p, word, n) == 0;
}

/* A name: [A-Za-z_][A-Za-z0-9_.-]*, shorter than ANALYZE_MAX_NAME. */
static int take_name(parser *ps, const token *t, char *out, const char *what)
{
    bool ok = t->n > 0 && t->n < ANALYZE_MAX_NAME;
    for (size_t i = 0; ok && i < t->n; i++) {
        char c = t->p[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool more = (c >= '0' && c <= '9') || c == '.' || c == '-';
        ok = alpha || (i > 0 && more);
    }
    if (!ok)
        return perr(ps, "bad %s name '%.*s' (letters, digits, '_', '.', '-'; at most %d)", what,
                    (int)(t->n > 80 ? 80 : t->n), t->p, ANALYZE_MAX_NAME - 1);
    memcpy(out, t->p, t->n);
    out[t->n] = '\0';
    return 0;
}

static int take_glob(parser *ps, const token *t, char *out)
{
    if (t->n == 0 || t->n >= ANALYZE_MAX_GLOB)
        return perr(ps, "label pattern longer than %d characters", ANALYZE_MAX_GLOB - 1);
    if (is(t, "=") || is(t, "+") || is(t, "->"))
        return perr(ps, "expected a label pattern, found '%.*s'", (int)t->n, t->p);
    memcpy(out, t->p, t->n);
    out[t->n] = '\0';
    return 0;
}

static int find_interval(const analyze_spec *s, const char *name)
{
    for (int i = 0; i < s->niv; i++)
        if (strcmp(s->iv[i].name, name) == 0)
            return i;
    return -1;
}

static int find_total(const analyze_spec *s, const char *name)
{
    for (int i = 0; i < s->ntot; i++)
        if (strcmp(s->tot[i].name, name) == 0)
            return i;
    return -1;
}

/* NAME = START -> END, from t[1..5]. */
static int take_span(parser *ps, const token *t, int n, const char *kind, char *name, char *start,
                     char *end)
{
    if (n != 6 || !is(&t[2], "=") || !is(&t[4], "->"))
        return perr(ps, "expected '%s NAME = START_LABEL -> END_LABEL'", kind);
    if (take_name(ps, &t[1], name, kind) < 0 || take_glob(ps, &t[3], start) < 0 ||
        take_glob(ps, &t[5], end) < 0)
        return -1;
    return 0;
}

static int parse_interval(parser *ps, const token *t, int n)
{
    analyze_spec *s = ps->s;
    if (s->niv == ANALYZE_MAX_INTERVALS)
        return perr(ps, "too many intervals (at most %d)", ANALYZE_MAX_INTERVALS);
    spec_interval *iv = &s->iv[s->niv];
    if (take_span(ps, t, n, "interval", iv->name, iv->start, iv->end) < 0)
        return -1;
    if (find_interval(s, iv->name) >= 0)
        return perr(ps, "interval '%s' is defined twice", iv->name);
    s->niv++;
    return 0;
}

static int parse_total(parser *ps, const token *t, int n)
{
    analyze_spec *s = ps->s;
    if (s->ntot == ANALYZE_MAX_TOTALS)
        return perr(ps, "too many totals (at most %d)", ANALYZE_MAX_TOTALS);
    spec_total *tt = &s->tot[s->ntot];
    memset(tt, 0, sizeof *tt);
    if (take_span(ps, t, n, "total", tt->name, tt->start, tt->end) < 0)
        return -1;
    if (find_total(s, tt->name) >= 0)
        return perr(ps, "total '%s' is defined twice", tt->name);
    strcpy(tt->remainder, ANALYZE_DEFAULT_REMAINDER);
    tt->path0 = s->npath;
    s->ntot++;
    return 0;
}

static spec_total *current_total(parser *ps, const char *what)
{
    if (ps->s->ntot == 0) {
        perr(ps, "'%s' must follow the 'total' it belongs to", what);
        return NULL;
    }
    return &ps->s->tot[ps->s->ntot - 1];
}

static int parse_components(parser *ps, const token *t, int n)
{
    spec_total *tt = current_total(ps, "components");
    if (!tt)
        return -1;
    if (tt->ncomp)
        return perr(ps, "total '%s' already has its components", tt->name);
    if (n < 3 || !is(&t[1], "=") || n % 2 == 0)
        return perr(ps, "expected 'components = INTERVAL + INTERVAL ...'");
    for (int i = 2; i < n; i += 2) {
        if (i > 2 && !is(&t[i - 1], "+"))
            return perr(ps, "expected '+' between components, found '%.*s'", (int)t[i - 1].n,
                        t[i - 1].p);
        char name[ANALYZE_MAX_NAME];
        if (take_name(ps, &t[i], name, "interval") < 0)
            return -1;
        int iv = find_interval(ps->s, name);
        if (iv < 0)
            return perr(ps, "unknown interval '%s' (define it with 'interval' before this line)",
                        name);
        for (int k = 0; k < tt->ncomp; k++)
            if (tt->comp[k] == iv)
                return perr(ps, "interval '%s' is listed twice", name);
        tt->comp[tt->ncomp++] = (uint8_t)iv;
    }
    for (int k = 0; k < tt->ncomp; k++)
        if (strcmp(ps->s->iv[tt->comp[k]].name, tt->remainder) == 0)
            return perr(ps, "remainder '%s' has the name of a component", tt->remainder);
    return 0;
}

static int parse_remainder(parser *ps, const token *t, int n)
{
    spec_total *tt = current_total(ps, "remainder");
    if (!tt)
        return -1;
    if (n != 3 || !is(&t[1], "="))
        return perr(ps, "expected 'remainder = NAME'");
    if (take_name(ps, &t[2], tt->remainder, "remainder") < 0)
        return -1;
    for (int k = 0; k < tt->ncomp; k++)
        if (strcmp(ps->s->iv[tt->comp[k]].name, tt->remainder) == 0)
            return perr(ps, "remainder '%s' has the name of a component", tt->remainder);
    return 0;
}

static int add_condition(parser *ps, const token *t, uint64_t *bits)
{
    analyze_spec *s = ps->s;
    char glob[ANALYZE_MAX_GLOB];
    if (take_glob(ps, t, glob) < 0)
        return -1;
    int i;
    for (i = 0; i < s->ncond; i++)
        if (strcmp(s->cond[i], glob) == 0)
            break;
    if (i == s->ncond) {
        if (s->ncond == ANALYZE_MAX_CONDITIONS)
            return perr(ps, "too many distinct 'has'/'lacks' patterns (at most %d)",
                        ANALYZE_MAX_CONDITIONS);
        strcpy(s->cond[s->ncond++], glob);
    }
    *bits |= 1ULL << i;
    return 0;
}

static int parse_path(parser *ps, const token *t, int n)
{
    analyze_spec *s = ps->s;
    spec_total *tt = current_total(ps, "path");
    if (!tt)
        return -1;
    if (s->npath == ANALYZE_MAX_PATHS)
        return perr(ps, "too many paths (at most %d)", ANALYZE_MAX_PATHS);
    spec_path *p = &s->path[s->npath];
    memset(p, 0, sizeof *p);
    p->total = s->ntot - 1;
    if (n < 5 || !is(&t[2], "=") || n % 3 != 2)
        return perr(ps, "expected 'path NAME = ends|has|lacks LABEL [and ends|has|lacks LABEL]...'");
    if (take_name(ps, &t[1], p->name, "path") < 0)
        return -1;
    if (!strcmp(p->name, "all") || !strcmp(p->name, "other"))
        return perr(ps, "path name '%s' is reserved", p->name);
    for (int k = 0; k < tt->npaths; k++)
        if (strcmp(s->path[tt->path0 + k].name, p->name) == 0)
            return perr(ps, "total '%s' already has a path '%s'", tt->name, p->name);
    for (int i = 3; i < n; i += 3) {
        if (i > 3 && !is(&t[i - 1], "and"))
            return perr(ps, "expected 'and' between conditions, found '%.*s'", (int)t[i - 1].n,
                        t[i - 1].p);
        if (is(&t[i], "ends")) {
            if (p->ends[0])
                return perr(ps, "a path has at most one 'ends' condition");
            if (take_glob(ps, &t[i + 1], p->ends) < 0)
                return -1;
        } else if (is(&t[i], "has")) {
            if (add_condition(ps, &t[i + 1], &p->has) < 0)
                return -1;
        } else if (is(&t[i], "lacks")) {
            if (add_condition(ps, &t[i + 1], &p->lacks) < 0)
                return -1;
        } else {
            return perr(ps, "unknown path condition '%.*s' (ends, has or lacks)",
                        (int)(t[i].n > 80 ? 80 : t[i].n), t[i].p);
        }
    }
    s->npath++;
    tt->npaths++;
    return 0;
}

/* The comment at the end of a line (after '#', blanks trimmed) into note (ANALYZE_MAX_GLOB). */
static void take_note(const char *p, const char *end, char *note)
{
    const char *h = memchr(p, '#', (size_t)(end - p));
    note[0] = '\0';
    if (!h)
        return;
    for (h++; h < end && (*h == ' ' || *h == '\t'); h++)
        ;
    while (end > h && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    size_t n = (size_t)(end - h) < ANALYZE_MAX_GLOB - 1 ? (size_t)(end - h) : ANALYZE_MAX_GLOB - 1;
    memcpy(note, h, n);
    note[n] = '\0';
}

static int parse_line(parser *ps, const char *p, const char *end)
{
    token t[MAX_TOKENS];
    if (end - p > MAX_SPEC_LINE)
        return perr(ps, "line longer than %d characters", MAX_SPEC_LINE);
    int n = tokenize(p, end, t);
    if (n < 0)
        return perr(ps, "too many words on one line");
    if (n == 0)
        return 0;
    if (is(&t[0], "interval")) {
        int r = parse_interval(ps, t, n);
        if (r == 0)
            take_note(p, end, ps->s->iv[ps->s->niv - 1].note);
        return r;
    }
    if (is(&t[0], "total"))
        return parse_total(ps, t, n);
    if (is(&t[0], "components"))
        return parse_components(ps, t, n);
    if (is(&t[0], "remainder")) {
        int r = parse_remainder(ps, t, n);
        if (r == 0 && ps->s->ntot)
            take_note(p, end, ps->s->tot[ps->s->ntot - 1].remainder_note);
        return r;
    }
    if (is(&t[0], "path"))
        return parse_path(ps, t, n);
    return perr(ps, "unknown keyword '%.*s' (interval, total, components, remainder, path)",
                (int)(t[0].n > 80 ? 80 : t[0].n), t[0].p);
}

int analyze_spec_parse(const char *text, size_t len, const char *name, analyze_spec **out,
                       char *err, size_t errlen)
{
    analyze_spec *s = calloc(1, sizeof *s);
    if (!s) {
        if (errlen)
            snprintf(err, errlen, "%s: out of memory", name);
        return -2;
    }
    parser ps = {s, name, 0, err, errlen};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ps.line++;
        if (memchr(p, '\0', (size_t)(le - p))) {
            perr(&ps, "NUL byte in the spec");
            goto fail;
        }
        if (parse_line(&ps, p, le) < 0)
            goto fail;
        p = nl ? nl + 1 : end;
    }
    if (s->niv == 0 && s->ntot == 0) {
        ps.line = ps.line ? ps.line : 1;
        perr(&ps, "the spec defines no interval and no total");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    free(s);
    return -1;
}

int analyze_spec_load(const char *path, analyze_spec **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -3;
    }
    char *buf = malloc(MAX_SPEC_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -2;
    }
    size_t n = fread(buf, 1, MAX_SPEC_BYTES + 1, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    int r;
    if (rerr) {
        snprintf(err, errlen, "%s: %s", path, strerror(rerr ? rerr : EIO));
        r = -3;
    } else if (n > MAX_SPEC_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes: not a spec file", path, MAX_SPEC_BYTES);
        r = -1;
    } else {
        r = analyze_spec_parse(buf, n, path, out, err, errlen);
    }
    free(buf);
    return r;
}

void analyze_spec_free(analyze_spec *s)
{
    free(s);
}
