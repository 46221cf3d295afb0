/* tui-plot.c — the cell canvas of `timekeeper top`, adaptive-unit number formatting and plots of
 * per-interval statistics over time. */
#include "tui-plot.h"
#include "util/fmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canvas ------------------------------------------------------------------------------------ */

int tui_canvas_resize(tui_canvas *c, int w, int h)
{
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    if (w != c->w || h != c->h || !c->cells) {
        tui_cell *cells = realloc(c->cells, (size_t)w * (size_t)h * sizeof *cells);
        if (!cells)
            return -ENOMEM;
        c->cells = cells;
        c->w = w;
        c->h = h;
    }
    tui_canvas_clear(c);
    return 0;
}

void tui_canvas_free(tui_canvas *c)
{
    free(c->cells);
    c->cells = NULL;
    c->w = c->h = 0;
}

void tui_canvas_clear(tui_canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    for (size_t i = 0; i < n; i++)
        c->cells[i] = (tui_cell){' ', TUI_S_NORMAL};
}

void tui_canvas_put(tui_canvas *c, int x, int y, uint32_t ch, int style)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    c->cells[(size_t)y * (size_t)c->w + (size_t)x] = (tui_cell){ch, (uint8_t)style};
}

/* Decodes one UTF-8 code point at *s and advances *s; invalid bytes give '?'. */
static uint32_t utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t cp;
    int extra;
    if (p[0] < 0x80) {
        *s += 1;
        return p[0];
    } else if ((p[0] & 0xe0) == 0xc0) {
        cp = p[0] & 0x1f, extra = 1;
    } else if ((p[0] & 0xf0) == 0xe0) {
        cp = p[0] & 0x0f, extra = 2;
    } else if ((p[0] & 0xf8) == 0xf0) {
        cp = p[0] & 0x07, extra = 3;
    } else {
        *s += 1;
        return '?';
    }
    for (int i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *s += i;
            return '?';
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }
    *s += extra + 1;
    return cp;
}

int tui_text_width(const char *utf8)
{
    int n = 0;
    while (*utf8) {
        utf8_next(&utf8);
        n++;
    }
    return n;
}

int tui_canvas_text(tui_canvas *c, int x, int y, int max_w, int style, const char *utf8)
{
    int n = 0;
    while (*utf8 && n < max_w && x + n < c->w) {
        uint32_t cp = utf8_next(&utf8);
        if (cp < 0x20 || cp == 0x7f)
            cp = '?';
        tui_canvas_put(c, x + n, y, cp, style);
        n++;
    }
    return n;
}

void tui_canvas_style(tui_canvas *c, int x, int y, int w, int style)
{
    if (y < 0 || y >= c->h)
        return;
    for (int i = x < 0 ? 0 : x; i < x + w && i < c->w; i++)
        c->cells[(size_t)y * (size_t)c->w + (size_t)i].style = (uint8_t)style;
}

static size_t utf8_put(char *buf, size_t n, uint32_t cp)
{
    char tmp[4];
    size_t len;
    if (cp < 0x80) {
        tmp[0] = (char)cp, len = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6), tmp[1] = (char)(0x80 | (cp & 0x3f)), len = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | cp >> 12), tmp[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f)), len = 3;
    } else {
        tmp[0] = (char)(0xf0 | cp >> 18), tmp[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        tmp[2] = (char)(0x80 | (cp >> 6 & 0x3f)), tmp[3] = (char)(0x80 | (cp & 0x3f)), len = 4;
    }
    if (len >= n)
        return 0;
    memcpy(buf, tmp, len);
    return len;
}

void tui_canvas_row(const tui_canvas *c, int y, char *buf, size_t n)
{
    size_t used = 0;
    if (n == 0)
        return;
    for (int x = 0; y >= 0 && y < c->h && x < c->w; x++) {
        size_t k = utf8_put(buf + used, n - used, c->cells[(size_t)y * (size_t)c->w + (size_t)x].ch);
        if (!k)
            break;
        used += k;
    }
    buf[used] = '\0';
}

/* ---- numbers ----------------------------------------------------------------------------------- */

/* v scaled to 3 significant digits: "1.23", "12.3" or "123". */
static void fmt3(char *buf, size_t n, double v, const char *unit)
{
    if (v < 9.995)
        snprintf(buf, n, "%.2f%s", v, unit);
    else if (v < 99.95)
        snprintf(buf, n, "%.1f%s", v, unit);
    else
        snprintf(buf, n, "%.0f%s", v, unit);
}

char *tui_fmt_ns(char *buf, size_t n, double ns, int utf8)
{
    if (!(ns >= 0)) /* also NaN */
        snprintf(buf, n, "-");
    else if (ns < 999.5e9)
        tk_fmt_ns_u(buf, n, ns, utf8); /* the one formatter of every command */
    else
        snprintf(buf, n, "%.0fs", ns / 1e9);
    return buf;
}

char *tui_fmt_count(char *buf, size_t n, double v)
{
    static const char suffix[] = "kMGTP";
    if (!(v >= 0)) {
        snprintf(buf, n, "-");
        return buf;
    }
    if (v < 99999.5) {
        snprintf(buf, n, "%.0f", v);
        return buf;
    }
    int k = 0;
    v /= 1e3;
    while (v >= 999.5 && k < 4) {
        v /= 1e3;
        k++;
    }
    char unit[2] = {suffix[k], 0};
    fmt3(buf, n, v, unit);
    return buf;
}

char *tui_fmt_age(char *buf, size_t n, double s)
{
    if (s < 0.95)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 99.5)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 5940)
        snprintf(buf, n, "%.0fm", s / 60);
    else
        snprintf(buf, n, "%.1fh", s / 3600);
    return buf;
}

/* ---- axes -------------------------------------------------------------------------------------- */

static double nice_step(double raw)
{
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

tui_axis tui_axis_choose(double min, double max, int ticks, int utf8)
{
    tui_axis a = {.utf8 = utf8};
    if (!(min >= 0))
        min = 0;
    if (!(max >= min))
        max = min;
    if (ticks < 1)
        ticks = 1;
    if (min <= max - min) /* the spread dwarfs the floor: show it from zero */
        min = 0;
    double range = max - min;
    if (range <= 0)
        range = max > 0 ? max * 0.2 : 1;
    a.step = nice_step(range / ticks);
    if (a.step < 1)
        a.step = 1; /* a nanosecond is the resolution */
    a.lo = floor(min / a.step) * a.step;
    a.hi = ceil(max / a.step) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    double top = max; /* the data's unit: an axis up to 1000 ns stays in ns */
    if (top < 1e3)
        a.unit_ns = 1, a.unit = "ns";
    else if (top < 1e6)
        a.unit_ns = 1e3, a.unit = utf8 ? "µs" : "us";
    else if (top < 1e9)
        a.unit_ns = 1e6, a.unit = "ms";
    else
        a.unit_ns = 1e9, a.unit = "s";
    double s = a.step / a.unit_ns;
    a.decimals = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (a.decimals > 3)
        a.decimals = 3;
    return a;
}

tui_axis tui_axis_choose_log(double min, double max, int utf8)
{
    tui_axis a = tui_axis_choose(min, max, 2, utf8);
    if (!(min > 0))
        min = 1;
    if (!(max >= min))
        max = min;
    a.log = 1;
    a.lo = pow(10, floor(log10(min) + 1e-9));
    a.hi = pow(10, ceil(log10(max) - 1e-9));
    if (a.hi <= a.lo)
        a.hi = a.lo * 10;
    a.step = 10; /* a factor: one tick per decade */
    return a;
}

const char *tui_axis_mode_name(tui_axis_mode m)
{
    return m == TUI_AXIS_ZOOM ? "zoomed" : m == TUI_AXIS_LOG ? "log" : "from 0";
}

char *tui_axis_label(const tui_axis *a, double v, char *buf, size_t n)
{
    if (a->log) {
        tk_fmt_ns_u(buf, n, v, a->utf8);
        return buf;
    }
    if (v == 0)
        snprintf(buf, n, "0");
    else
        snprintf(buf, n, "%.*f%s", a->decimals, v / a->unit_ns, a->unit);
    return buf;
}

/* ---- plot -------------------------------------------------------------------------------------- */

const char tui_series_glyph[TUI_NSERIES] = {'*', 'v', '^', 'o', '9'};
const char *const tui_series_name[TUI_NSERIES] = {"avg", "min", "max", "median", "p99"};

static int row_of(const tui_axis *a, double v, int rows)
{
    double f;
    if (a->log)
        f = v > 0 ? (log10(a->hi) - log10(v)) / (log10(a->hi) - log10(a->lo)) : 1;
    else
        f = (a->hi - v) / (a->hi - a->lo);
    int r = (int)lround(f * (rows - 1));
    return r < 0 ? 0 : r >= rows ? rows - 1 : r;
}

/* The ticks of axis a, lo to hi: a step apart, or a decade apart on a log axis. */
static double tick_next(const tui_axis *a, double t) { return a->log ? t * 10 : t + a->step; }
static int tick_done(const tui_axis *a, double t)
{
    return a->log ? t > a->hi * 1.5 : t > a->hi + a->step / 2;
}

/* The column of sample i counted back from the right edge (0: the newest): by its age in columns
 * of col_s seconds, or one column per sample without a col_s. */
static long column_back(const tui_plot_in *in, size_t i)
{
    if (in->col_s > 0 && in->age_s)
        return lround(in->age_s[i] / in->col_s);
    return (long)(in->n - 1 - i);
}

void tui_plot_draw(tui_canvas *c, int x, int y, int w, int h, const tui_plot_in *in)
{
    if (w < 20 || h < 4) {
        tui_canvas_text(c, x, y, w, TUI_S_DIM, "(too small to plot)");
        return;
    }
    const int rows = h - 2; /* plot body; then the x axis and its labels */
    const int label_room = 9;
    /* the range of the shown series over the samples that fit (a first guess of the label room) */
    long cols = w - label_room;
    double lo = INFINITY, hi = -INFINITY, lo_pos = INFINITY;
    for (int s = 0; s < TUI_NSERIES; s++) {
        if (!in->series[s])
            continue;
        for (size_t i = 0; i < in->n; i++) {
            double v = in->series[s][i];
            if (isnan(v) || column_back(in, i) >= cols)
                continue;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            if (v > 0 && v < lo_pos)
                lo_pos = v;
        }
    }
    if (!(hi >= lo)) {
        const char *msg = "no records in this window";
        int mw = tui_text_width(msg);
        tui_canvas_text(c, x + (w - mw) / 2, y + rows / 2, w, TUI_S_DIM, msg);
        return;
    }
    tui_axis a;
    if (in->axis == TUI_AXIS_LOG)
        a = tui_axis_choose_log(lo_pos < INFINITY ? lo_pos : 1, hi > 0 ? hi : 1, in->utf8);
    else
        a = tui_axis_choose(in->axis == TUI_AXIS_ZOOM ? lo : 0, hi, rows > 6 ? rows / 3 : 2,
                            in->utf8);

    /* y labels right-aligned before the axis; the label column is as wide as the widest label */
    char lab[32];
    int lw = 0;
    for (double t = a.lo; !tick_done(&a, t); t = tick_next(&a, t)) {
        int tw = tui_text_width(tui_axis_label(&a, t, lab, sizeof lab));
        lw = tw > lw ? tw : lw;
    }
    const int ax = x + lw + 1; /* the axis column */
    const int px = ax + 1;
    const int right = x + w - 1;
    cols = right - px + 1;
    for (int r = 0; r < rows; r++)
        tui_canvas_put(c, ax, y + r, TUI_G_VLINE, TUI_S_DIM);
    int last_row = -1;
    for (double t = a.lo; !tick_done(&a, t); t = tick_next(&a, t)) {
        int r = row_of(&a, t, rows);
        if (r == last_row)
            continue;
        last_row = r;
        tui_axis_label(&a, t, lab, sizeof lab);
        tui_canvas_text(c, ax - tui_text_width(lab), y + r, lw, TUI_S_DIM, lab);
        tui_canvas_put(c, ax, y + r, TUI_G_RTEE, TUI_S_DIM);
    }
    tui_canvas_put(c, ax, y + rows, TUI_G_LLCORNER, TUI_S_DIM);
    for (int i = px; i < x + w; i++)
        tui_canvas_put(c, i, y + rows, TUI_G_HLINE, TUI_S_DIM);

    /* x labels every 12 columns from the right, "now" at the end. With col_s a tick k*12 columns
     * back is k*12*col_s seconds old, whatever lengths the samples there had; without it, the age
     * of the sample under the tick. */
    long oldest = 0; /* columns back to the oldest sample */
    for (size_t i = 0; i < in->n; i++) {
        long b = column_back(in, i);
        oldest = b > oldest ? b : oldest;
    }
    for (int k = 0;; k++) {
        long back = (long)k * 12;
        int col = right - (int)back;
        if (col < px || back > oldest)
            break;
        char age[24];
        if (k == 0) {
            snprintf(age, sizeof age, "now");
        } else {
            double secs = in->col_s > 0 ? (double)back * in->col_s
                          : in->age_s   ? in->age_s[in->n - 1 - (size_t)back]
                                        : (double)back;
            snprintf(age, sizeof age, "-%s", tui_fmt_age(lab, sizeof lab, secs));
        }
        int aw = tui_text_width(age);
        if (col - aw + 1 < px)
            break;
        tui_canvas_put(c, col, y + rows, TUI_G_BTEE, TUI_S_DIM);
        tui_canvas_text(c, col - aw + 1, y + rows + 1, aw, TUI_S_DIM, age);
    }

    /* the series, avg last so it stays visible where they overlap */
    static const int order[TUI_NSERIES] = {2, 4, 1, 3, 0};
    for (int o = 0; o < TUI_NSERIES; o++) {
        int s = order[o];
        if (!in->series[s])
            continue;
        for (size_t i = 0; i < in->n; i++) {
            double v = in->series[s][i];
            long back = column_back(in, i);
            if (isnan(v) || back >= cols)
                continue;
            tui_canvas_put(c, right - (int)back, y + row_of(&a, v, rows),
                           (uint32_t)tui_series_glyph[s], TUI_S_AVG + s);
        }
    }
}
