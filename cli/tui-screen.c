/* tui-screen.c — the view of `timekeeper top` (selection, toggles, filter), its keys, and the
 * drawing of the whole screen into a canvas: header, timer list, panes, footer, help. */
#include "tui-screen.h"
#include "util/match.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_W 40
#define MIN_H 12
#define TWO_PANES_MIN_H 28 /* pane area from which latency and processing are both shown */

/* ---- view -------------------------------------------------------------------------------------- */

void tui_view_init(tui_view *v, double interval_s, int utf8, const char *dir)
{
    memset(v, 0, sizeof *v);
    v->kind = KIND_LATENCY;
    v->series = TUI_SERIES_BIT(TUI_STAT_AVG);
    v->interval_s = interval_s;
    v->utf8 = utf8;
    v->dir = dir;
}

void tui_view_free(tui_view *v)
{
    free(v->rows);
    free(v->scratch);
    v->rows = NULL;
    v->scratch = NULL;
    v->nrows = v->caprows = v->scratch_cap = 0;
}

/* The library's shared "(invalid)" timer takes the records of timers that could not be
 * registered; it is listed only when it has some. */
static int hidden(const tui_timer *t)
{
    return t->count_total[KIND_PROCESSING] == 0 && strcmp(t->name, "(invalid)") == 0;
}

/* The one rule of --timer (util/match.h): a substring, or a glob when it has * ? or [. */
static int filter_match(const char *filter, const char *name) { return tk_name_match(filter, name); }

static void select_row(tui_view *v, size_t at)
{
    v->selected = v->rows[at].timer;
    v->selected_at = at;
}

/* Selects the timer row nearest `at`, searching first in direction dir (+1 or -1). */
static void select_near(tui_view *v, long at, int dir)
{
    long n = (long)v->nrows;
    if (n == 0) {
        v->selected = NULL;
        v->selected_at = 0;
        return;
    }
    at = at < 0 ? 0 : at >= n ? n - 1 : at;
    for (long i = at; i >= 0 && i < n; i += dir)
        if (v->rows[i].timer) {
            select_row(v, (size_t)i);
            return;
        }
    for (long i = at; i >= 0 && i < n; i -= dir)
        if (v->rows[i].timer) {
            select_row(v, (size_t)i);
            return;
        }
    v->selected = NULL;
}

/* The value a timer is sorted by (larger first); -1 when it has none (sorted last). */
static double sort_value(const tui_view *v, const tui_timer *t)
{
    const hist_summary *s = &t->last[v->kind];
    switch (v->sort) {
    case TUI_SORT_COUNT: return (double)t->count_seen;
    case TUI_SORT_RATE: return t->rate_hz[KIND_PROCESSING];
    case TUI_SORT_LOST: return (double)t->lost_seen;
    default: break;
    }
    if (!s->count)
        return -1;
    return v->sort == TUI_SORT_AVG   ? s->avg
         : v->sort == TUI_SORT_P50   ? (double)s->p50
         : v->sort == TUI_SORT_P99   ? (double)s->p99
                                     : (double)s->max;
}

static int row_cmp(const void *a, const void *b, void *ctx)
{
    const tui_view *v = ctx;
    const tui_timer *x = ((const tui_row *)a)->timer, *y = ((const tui_row *)b)->timer;
    int by_name = strcmp(x->name, y->name);
    int r = by_name;
    if (v->sort != TUI_SORT_NAME) {
        double dx = sort_value(v, x), dy = sort_value(v, y);
        r = dx > dy ? -1 : dx < dy ? 1 : 0;
    }
    if (v->sort_reverse)
        r = -r;
    return r ? r : by_name;
}

int tui_view_sync(tui_view *v, const tui_model *m)
{
    size_t need = m->nprocs + m->ntimers;
    if (need > v->caprows) {
        tui_row *r = realloc(v->rows, need * sizeof *r);
        if (!r)
            return -ENOMEM;
        v->rows = r;
        v->caprows = need;
    }
    size_t n = 0;
    v->ntimers = 0;
    for (size_t i = 0; i < m->nprocs; i++) {
        tui_proc *p = m->procs[i];
        size_t head = n, matched = 0;
        v->rows[n++] = (tui_row){p, NULL};
        for (size_t j = 0; j < p->ntimers; j++) {
            if (hidden(p->timers[j]))
                continue;
            v->ntimers++;
            if (filter_match(v->filter, p->timers[j]->name)) {
                v->rows[n++] = (tui_row){p, p->timers[j]};
                matched++;
            }
        }
        if (*v->filter && !matched)
            n = head; /* a filter hides processes without a matching timer */
        else if (matched > 1)
            qsort_r(v->rows + head + 1, matched, sizeof *v->rows, row_cmp, v);
    }
    v->nrows = n;
    if (v->selected)
        for (size_t i = 0; i < n; i++)
            if (v->rows[i].timer == v->selected) {
                v->selected_at = i;
                return 0;
            }
    select_near(v, (long)v->selected_at, 1);
    return 0;
}

double tui_interval_step(double current, int direction)
{
    static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60};
    const size_t n = sizeof steps / sizeof steps[0];
    if (direction > 0) {
        for (size_t i = 0; i < n; i++)
            if (steps[i] > current * 1.001)
                return steps[i];
        return current > steps[n - 1] ? current : steps[n - 1];
    }
    for (size_t i = n; i-- > 0;)
        if (steps[i] < current * 0.999)
            return steps[i];
    return current < steps[0] ? current : steps[0];
}

static int edit_key(tui_view *v, const tui_model *m, int key)
{
    size_t len = strlen(v->filter);
    if (key == TUI_KEY_ENTER) {
        v->editing = 0;
    } else if (key == TUI_KEY_ESC) {
        memcpy(v->filter, v->filter_before, sizeof v->filter);
        v->editing = 0;
    } else if (key == TUI_KEY_BACKSPACE) {
        if (len)
            v->filter[len - 1] = '\0';
    } else if (key >= 0x20 && key < 0x7f && len + 1 < sizeof v->filter) {
        v->filter[len] = (char)key;
        v->filter[len + 1] = '\0';
    }
    tui_view_sync(v, m); /* the list follows the filter while it is typed */
    return 0;
}

int tui_view_key(tui_view *v, const tui_model *m, int key)
{
    if (v->help) { /* any key closes the help */
        v->help = 0;
        return 0;
    }
    if (v->editing)
        return edit_key(v, m, key);
    long page = v->list_rows > 1 ? v->list_rows - 1 : 1;
    long at = v->selected ? (long)v->selected_at : 0;
    switch (key) {
    case 'q':
        return TUI_ACT_QUIT;
    case 'a':
        v->series ^= TUI_SERIES_BIT(TUI_STAT_AVG);
        break;
    case 'm':
        v->series ^= TUI_SERIES_BIT(TUI_STAT_MIN);
        break;
    case 'M':
        v->series ^= TUI_SERIES_BIT(TUI_STAT_MAX);
        break;
    case 'e':
        v->series ^= TUI_SERIES_BIT(TUI_STAT_P50);
        break;
    case 'p':
        v->series ^= TUI_SERIES_BIT(TUI_STAT_P99);
        break;
    case 'z':
        v->axis = (tui_axis_mode)((v->axis + 1) % TUI_AXIS_MODES);
        break;
    case '>':
    case '.':
        v->sort = (v->sort + 1) % TUI_SORTS;
        tui_view_sync(v, m);
        break;
    case '<':
    case ',':
        v->sort = (v->sort + TUI_SORTS - 1) % TUI_SORTS;
        tui_view_sync(v, m);
        break;
    case 'I':
        v->sort_reverse = !v->sort_reverse;
        tui_view_sync(v, m);
        break;
    case 'l':
        v->kind = KIND_LATENCY;
        break;
    case 'b':
        v->kind = KIND_PROCESSING;
        break;
    case '+':
    case '=': /* '+' without shift */
        v->interval_s = tui_interval_step(v->interval_s, +1);
        return TUI_ACT_RESCHEDULE;
    case '-':
        v->interval_s = tui_interval_step(v->interval_s, -1);
        return TUI_ACT_RESCHEDULE;
    case ' ':
        v->paused = !v->paused;
        return TUI_ACT_RESCHEDULE;
    case TUI_KEY_UP:
        select_near(v, at - 1, -1);
        break;
    case TUI_KEY_DOWN:
        select_near(v, at + 1, +1);
        break;
    case TUI_KEY_PGUP:
        select_near(v, at - page, -1);
        break;
    case TUI_KEY_PGDN:
        select_near(v, at + page, +1);
        break;
    case TUI_KEY_HOME:
        select_near(v, 0, +1);
        break;
    case TUI_KEY_END:
        select_near(v, (long)v->nrows - 1, -1);
        break;
    case '/':
        memcpy(v->filter_before, v->filter, sizeof v->filter);
        v->editing = 1;
        break;
    case TUI_KEY_ESC:
        if (*v->filter) {
            v->filter[0] = '\0';
            tui_view_sync(v, m);
        }
        break;
    case '?':
        v->help = 1;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- drawing helpers --------------------------------------------------------------------------- */

/* Text right-aligned so that it ends at column x_end (exclusive); returns its first column. */
static int text_right(tui_canvas *c, int x_end, int y, int style, const char *s)
{
    int w = tui_text_width(s);
    tui_canvas_text(c, x_end - w, y, w, style, s);
    return x_end - w;
}

/* Text clipped to w cells, ending with an ellipsis when cut. */
static void text_clip(tui_canvas *c, int x, int y, int w, int style, const char *s, int utf8)
{
    if (w <= 0)
        return;
    if (tui_text_width(s) <= w) {
        tui_canvas_text(c, x, y, w, style, s);
        return;
    }
    tui_canvas_text(c, x, y, w - 1, style, s);
    tui_canvas_put(c, x + w - 1, y, utf8 ? 0x2026u : '~', style);
}

static void fill_row(tui_canvas *c, int y, int style)
{
    for (int x = 0; x < c->w; x++)
        tui_canvas_put(c, x, y, ' ', style);
}

static const char *kind_title(int kind)
{
    return kind == KIND_LATENCY ? "LATENCY" : "PROCESSING TIME";
}

static double seconds_since(uint64_t now_ns, uint64_t then_ns)
{
    return then_ns && now_ns > then_ns ? (double)(now_ns - then_ns) / 1e9 : 0;
}

/* ---- header and footer ------------------------------------------------------------------------- */

static void draw_header(tui_canvas *c, const tui_view *v, const tui_model *m)
{
    char left[160], right[160], num[32];
    int x = 0;
    if (c->w >= 100) /* on a narrow terminal the room goes to the status on the right */
        x = tui_canvas_text(c, 0, 0, c->w, TUI_S_BOLD, "timekeeper top") + 1;
    size_t nproc = m->nlive;
    int style;
    if (nproc == 0) {
        style = TUI_S_BAD;
        snprintf(left, sizeof left, " NOT HEALTHY: no live instrumented process ");
    } else if (m->nunhealthy) {
        style = TUI_S_BAD;
        snprintf(left, sizeof left, " NOT HEALTHY: %zu of %zu process%s silent ", m->nunhealthy,
                 nproc, nproc == 1 ? "" : "es");
    } else {
        style = TUI_S_OK;
        snprintf(left, sizeof left, " healthy: %zu process%s, %zu timers ", nproc,
                 nproc == 1 ? "" : "es", v->ntimers);
    }
    x += tui_canvas_text(c, x, 0, c->w - x, style, left);
    if (m->nquiet_timers) {
        snprintf(left, sizeof left, " %zu quiet", m->nquiet_timers);
        x += tui_canvas_text(c, x, 0, c->w - x, TUI_S_WARN, left);
    }
    /* right side: paused, filter, losses, interval */
    int rx = c->w;
    snprintf(right, sizeof right, "every %gs", v->interval_s);
    rx = text_right(c, rx, 0, TUI_S_NORMAL, right) - 2;
    snprintf(right, sizeof right, "lost %s", tui_fmt_count(num, sizeof num, (double)m->lost_seen));
    if (rx - tui_text_width(right) > x)
        rx = text_right(c, rx, 0, m->lost_last ? TUI_S_WARN : TUI_S_NORMAL, right) - 2;
    if (*v->filter && !v->editing) {
        snprintf(right, sizeof right, "filter '%s'", v->filter);
        if (rx - tui_text_width(right) > x)
            rx = text_right(c, rx, 0, TUI_S_WARN, right) - 2;
    }
    if (v->paused && rx - 8 > x)
        text_right(c, rx, 0, TUI_S_BAD, " PAUSED ");
}

static void draw_footer(tui_canvas *c, const tui_view *v)
{
    const int y = c->h - 1;
    fill_row(c, y, TUI_S_BAR);
    if (v->editing) {
        int x = tui_canvas_text(c, 0, y, c->w, TUI_S_KEY, "filter timers: ");
        x += tui_canvas_text(c, x, y, c->w - x, TUI_S_BAR, v->filter);
        tui_canvas_put(c, x++, y, '_', TUI_S_KEY);
        text_right(c, c->w, y, TUI_S_BAR, "Enter keep  Esc cancel ");
        return;
    }
    const char *keys[][2] = {
        {"q", "quit"},          {"?", "help"},          {v->utf8 ? "↑↓" : "Up/Dn", "select"},
        {"l/b", "pane"},        {"a/m/M/e/p", "series"}, {"z", "axis"},
        {"</>", "sort"},        {"+/-", "interval"},    {"/", "filter"},
        {"spc", "pause"},
    };
    int x = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int need = tui_text_width(keys[i][0]) + 1 + tui_text_width(keys[i][1]) + 1;
        if (x + need > c->w)
            break;
        x += tui_canvas_text(c, x, y, c->w - x, TUI_S_KEY, keys[i][0]);
        x += tui_canvas_text(c, x, y, c->w - x, TUI_S_BAR, ":");
        x += tui_canvas_text(c, x, y, c->w - x, TUI_S_BAR, keys[i][1]) + 1;
    }
}

/* ---- the timer list ---------------------------------------------------------------------------- */

enum { C_COUNT, C_RATE, C_AVG, C_MIN, C_P50, C_P90, C_P99, C_P999, C_MAX, C_LOST };

typedef struct column {
    const char *title;
    int width;
    int min_screen; /* shown from this terminal width */
    int what;
    int sort;       /* TUI_SORT_* of this column, TUI_SORT_NAME: not a sort column */
} column;

static const column columns[] = {
    {"COUNT", 7, 70, C_COUNT, TUI_SORT_COUNT}, {"RATE", 8, 0, C_RATE, TUI_SORT_RATE},
    {"AVG", 7, 0, C_AVG, TUI_SORT_AVG},        {"MIN", 7, 100, C_MIN, TUI_SORT_NAME},
    {"P50", 7, 74, C_P50, TUI_SORT_P50},       {"P90", 7, 108, C_P90, TUI_SORT_NAME},
    {"P99", 7, 0, C_P99, TUI_SORT_P99},        {"P99.9", 7, 124, C_P999, TUI_SORT_NAME},
    {"MAX", 7, 0, C_MAX, TUI_SORT_MAX},        {"LOST", 6, 62, C_LOST, TUI_SORT_LOST},
};

/* A column title with the sort mark when the list is sorted by it. */
static const char *column_title(const tui_view *v, const column *col, char *buf, size_t n)
{
    if (col->sort == TUI_SORT_NAME || col->sort != v->sort)
        return col->title;
    snprintf(buf, n, "%s%s", col->title,
             v->sort_reverse ? (v->utf8 ? "▲" : "^") : (v->utf8 ? "▼" : "v"));
    return buf;
}
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* Columns shown at this width; returns how many, and the width left for names in *name_w. */
static size_t pick_columns(int w, const column **out, int *name_w)
{
    size_t n = 0;
    int used = 2;
    for (size_t i = 0; i < NCOLUMNS; i++)
        if (w >= columns[i].min_screen) {
            out[n++] = &columns[i];
            used += columns[i].width + 1;
        }
    *name_w = w - used;
    return n;
}

static void cell_value(const tui_view *v, const tui_timer *t, int what, char *buf, size_t n,
                       int *style)
{
    const hist_summary *s = &t->last[v->kind];
    *style = -1;
    switch (what) {
    case C_COUNT: /* every record since top started, whichever pane: each has a processing time */
        tui_fmt_count(buf, n, (double)t->count_seen);
        return;
    case C_RATE:
        if (t->health == TUI_QUIET || t->health == TUI_IDLE || t->health == TUI_EXITED) {
            snprintf(buf, n, "%s", tui_health_name(t->health));
            *style = t->health == TUI_QUIET ? TUI_S_WARN : TUI_S_DIM;
        } else {
            char num[24];
            snprintf(buf, n, "%s/s", tui_fmt_count(num, sizeof num, t->rate_hz[KIND_PROCESSING]));
        }
        return;
    case C_LOST:
        tui_fmt_count(buf, n, (double)t->lost_seen);
        if (t->lost_seen)
            *style = TUI_S_WARN;
        return;
    default:
        break;
    }
    if (!s->count) {
        snprintf(buf, n, "-");
        return;
    }
    double x = what == C_AVG    ? s->avg
             : what == C_MIN    ? (double)s->min
             : what == C_P50    ? (double)s->p50
             : what == C_P90    ? (double)s->p90
             : what == C_P99    ? (double)s->p99
             : what == C_P999   ? (double)s->p999
                                : (double)s->max;
    tui_fmt_ns(buf, n, x, v->utf8);
}

static void draw_proc_row(tui_canvas *c, const tui_view *v, const tui_proc *p, int y,
                          uint64_t now_ns)
{
    char buf[320];
    int x = tui_canvas_text(c, 0, y, c->w, TUI_S_PROC, p->name);
    snprintf(buf, sizeof buf, "  pid %d  ", p->pid);
    x += tui_canvas_text(c, x, y, c->w - x, TUI_S_NORMAL, buf);
    int style = TUI_S_OK;
    switch (p->health) {
    case TUI_QUIET:
        snprintf(buf, sizeof buf, "QUIET for %.0fs",
                 seconds_since(now_ns, p->last_record_mono_ns > p->start_mono_ns
                                           ? p->last_record_mono_ns
                                           : p->start_mono_ns));
        style = TUI_S_BAD;
        break;
    case TUI_HUNG:
        snprintf(buf, sizeof buf, "NO HEARTBEAT for %.0fs",
                 seconds_since(now_ns, p->heartbeat_mono_ns));
        style = TUI_S_BAD;
        break;
    case TUI_EXITED:
        snprintf(buf, sizeof buf, "exited");
        style = TUI_S_DIM;
        break;
    default:
        snprintf(buf, sizeof buf, "live");
        break;
    }
    x += tui_canvas_text(c, x, y, c->w - x, style, buf);
    snprintf(buf, sizeof buf, "  %u thread%s", p->rings_used, p->rings_used == 1 ? "" : "s");
    x += tui_canvas_text(c, x, y, c->w - x, TUI_S_DIM, buf);
    if (p->lost_other) {
        snprintf(buf, sizeof buf, "  %llu dropped (no free ring)", (unsigned long long)p->lost_other);
        x += tui_canvas_text(c, x, y, c->w - x, TUI_S_WARN, buf);
    }
    if (*p->cmdline && x + 6 < c->w) {
        x += 2;
        text_clip(c, x, y, c->w - x, TUI_S_DIM, p->cmdline, v->utf8);
    }
}

static void draw_timer_row(tui_canvas *c, const tui_view *v, const tui_timer *t, int y,
                           const column *const *cols, size_t ncols, int name_w)
{
    int row_style = t->health == TUI_EXITED ? TUI_S_DIM : TUI_S_NORMAL;
    text_clip(c, 2, y, name_w, row_style, t->name, v->utf8);
    int x = 2 + name_w;
    /* the latency columns of a timer whose records carry no origin say so once, across them */
    int no_origin = v->kind == KIND_LATENCY && !t->has_origin, said = 0;
    for (size_t i = 0; i < ncols; i++) {
        char buf[32];
        int style;
        int stat = cols[i]->what != C_COUNT && cols[i]->what != C_RATE && cols[i]->what != C_LOST;
        int x0 = x + 1;
        x += 1 + cols[i]->width;
        if (no_origin && stat) {
            if (!said++)
                tui_canvas_text(c, x0, y, c->w - x0, TUI_S_DIM, "no origin");
            continue;
        }
        cell_value(v, t, cols[i]->what, buf, sizeof buf, &style);
        text_right(c, x, y, style < 0 ? row_style : style, buf);
    }
}

static void draw_list(tui_canvas *c, tui_view *v, int y, int h, uint64_t now_ns)
{
    const column *cols[NCOLUMNS];
    int name_w;
    size_t ncols = pick_columns(c->w, cols, &name_w);
    char buf[640];

    /* column titles */
    fill_row(c, y, TUI_S_COLUMNS);
    size_t sel_timer = 0, ntimer_rows = 0;
    for (size_t i = 0; i < v->nrows; i++)
        if (v->rows[i].timer) {
            ntimer_rows++;
            if (i <= v->selected_at)
                sel_timer = ntimer_rows;
        }
    /* which timer of how many is selected, and which kind the statistics columns show */
    snprintf(buf, sizeof buf, "TIMER%s %zu/%zu, %s:",
             v->sort == TUI_SORT_NAME ? (v->sort_reverse ? (v->utf8 ? "▲" : "^") : "") : "",
             v->selected ? sel_timer : 0, ntimer_rows,
             v->kind == KIND_LATENCY ? "latency" : "processing");
    text_clip(c, 2, y, name_w, TUI_S_COLUMNS, buf, v->utf8);
    int x = 2 + name_w;
    for (size_t i = 0; i < ncols; i++) {
        char title[32];
        x += 1 + cols[i]->width;
        text_right(c, x, y, TUI_S_COLUMNS, column_title(v, cols[i], title, sizeof title));
    }

    int rows = h - 1;
    v->list_rows = rows;
    if (v->nrows == 0) {
        if (*v->filter)
            snprintf(buf, sizeof buf, "no timer matches '%s' (/ edits, Esc clears)", v->filter);
        else
            snprintf(buf, sizeof buf, "no instrumented process in %s yet; waiting", v->dir);
        text_clip(c, 2, y + 1, c->w - 2, TUI_S_DIM, buf, v->utf8);
        return;
    }
    /* scroll so that the selection is visible, with its process line when it is the first */
    size_t sel = v->selected ? v->selected_at : 0;
    if (sel < v->top)
        v->top = sel;
    if (sel >= v->top + (size_t)rows)
        v->top = sel - (size_t)rows + 1;
    if (v->top == sel && sel > 0 && !v->rows[sel - 1].timer)
        v->top = sel - 1;
    if (v->top + (size_t)rows > v->nrows)
        v->top = v->nrows > (size_t)rows ? v->nrows - (size_t)rows : 0;

    for (int r = 0; r < rows && v->top + (size_t)r < v->nrows; r++) {
        const tui_row *row = &v->rows[v->top + (size_t)r];
        int ry = y + 1 + r;
        if (!row->timer) {
            draw_proc_row(c, v, row->proc, ry, now_ns);
            continue;
        }
        draw_timer_row(c, v, row->timer, ry, cols, ncols, name_w);
        if (row->timer == v->selected) {
            tui_canvas_put(c, 0, ry, '>', TUI_S_SELECTED);
            tui_canvas_style(c, 0, ry, c->w, TUI_S_SELECTED);
        }
    }
}

/* ---- panes ------------------------------------------------------------------------------------- */

static double stat_of(const hist_summary *s, int stat)
{
    switch (stat) {
    case TUI_STAT_AVG: return s->avg;
    case TUI_STAT_MIN: return (double)s->min;
    case TUI_STAT_MAX: return (double)s->max;
    case TUI_STAT_P99: return (double)s->p99;
    default: return (double)s->p50;
    }
}

static void draw_pane(tui_canvas *c, tui_view *v, const tui_model *m, int kind, int y, int h,
                      int focused, int two)
{
    const tui_timer *t = v->selected;
    char buf[256], val[32];
    fill_row(c, y, focused ? TUI_S_PANE : TUI_S_PANE_OFF);
    const char *mark = two ? (focused ? (v->utf8 ? "▶ " : "> ") : "  ") : " ";
    if (t)
        snprintf(buf, sizeof buf, "%s%s of %s  (%s, pid %d)  y axis %s", mark, kind_title(kind),
                 t->name, t->proc->name, t->proc->pid, tui_axis_mode_name(v->axis));
    else
        snprintf(buf, sizeof buf, "%s%s", mark, kind_title(kind));
    text_clip(c, 0, y, c->w, focused ? TUI_S_PANE : TUI_S_PANE_OFF, buf, v->utf8);
    if (!t) {
        text_clip(c, 1, y + 2, c->w - 1, TUI_S_DIM, "no timer selected", v->utf8);
        return;
    }

    /* legend: the series shown, with their value in the latest interval */
    const hist_summary *last = &t->last[kind];
    int x = 1;
    int any = 0;
    static const int legend_order[TUI_NSERIES] = {TUI_STAT_AVG, TUI_STAT_MIN, TUI_STAT_MAX,
                                                  TUI_STAT_P50, TUI_STAT_P99};
    for (int i = 0; i < TUI_NSERIES; i++) {
        int s = legend_order[i];
        if (!(v->series & TUI_SERIES_BIT(s)))
            continue;
        any = 1;
        snprintf(buf, sizeof buf, "%c %s %s", tui_series_glyph[s], tui_series_name[s],
                 last->count ? tui_fmt_ns(val, sizeof val, stat_of(last, s), v->utf8) : "-");
        x += tui_canvas_text(c, x, y + 1, c->w - x, TUI_S_AVG + s, buf) + 3;
    }
    if (!any)
        x += tui_canvas_text(c, x, y + 1, c->w - x, TUI_S_DIM,
                             "no series shown: press a, m, M, e or p") + 3;
    if (last->count) {
        char n1[24], p99[24];
        if (v->series & TUI_SERIES_BIT(TUI_STAT_P99)) /* the legend has it already */
            snprintf(buf, sizeof buf, "n=%s", tui_fmt_count(n1, sizeof n1, (double)last->count));
        else
            snprintf(buf, sizeof buf, "n=%s p99=%s", tui_fmt_count(n1, sizeof n1, (double)last->count),
                     tui_fmt_ns(p99, sizeof p99, (double)last->p99, v->utf8));
        if (c->w - tui_text_width(buf) - 1 > x)
            text_right(c, c->w - 1, y + 1, TUI_S_DIM, buf);
    }

    /* the plot of the history */
    if (kind == KIND_LATENCY && !t->has_origin) {
        text_clip(c, 2, y + 1 + (h - 1) / 2, c->w - 2, TUI_S_DIM,
                  "no latency: this timer's records carry no origin (see tk_origin_stamp)",
                  v->utf8);
        return;
    }
    size_t n = m->nframes;
    const size_t slots = TUI_NSERIES + 1; /* the series, then the ages */
    if (v->scratch_cap < n * slots) {
        double *s = realloc(v->scratch, n * slots * sizeof *s);
        if (!s)
            return;
        v->scratch = s;
        v->scratch_cap = n * slots;
    }
    double *age = v->scratch + TUI_NSERIES * n;
    /* one column per current interval: older samples sit at their true age (after + or -) */
    tui_plot_in in = {.n = n, .utf8 = v->utf8, .age_s = age, .axis = v->axis,
                      .col_s = v->interval_s};
    uint64_t newest = n ? m->frame_end_ns[m->head] : 0;
    for (size_t i = 0; i < n; i++) {
        size_t back = n - 1 - i, slot = (m->head + m->cap - back) % m->cap;
        age[i] = seconds_since(newest, m->frame_end_ns[slot]);
    }
    for (int s = 0; s < TUI_NSERIES; s++) {
        if (!(v->series & TUI_SERIES_BIT(s)))
            continue;
        double *d = v->scratch + (size_t)s * n;
        for (size_t i = 0; i < n; i++) {
            const tui_sample *smp = tui_model_sample(m, t, kind, n - 1 - i);
            d[i] = smp && smp->count ? (double)smp->v[s] : NAN;
        }
        in.series[s] = d;
    }
    tui_plot_draw(c, 0, y + 2, c->w, h - 2, &in);
}

/* ---- help -------------------------------------------------------------------------------------- */

static void draw_help(tui_canvas *c, const tui_view *v)
{
    const char *lines[][2] = {
        {"a", "averages: show or hide the avg series"},
        {"m", "minimum series"},
        {"M", "maximum series"},
        {"e", "median series"},
        {"p", "p99 series"},
        {"z", "y axis: from 0 (default), zoomed, log"},
        {"< / >", "sort the list by the column left / right"},
        {"I", "reverse the sort"},
        {"l", "latency pane: time since the input's origin"},
        {"b", "processing (business) time pane"},
        {"+ / -", "longer / shorter sampling interval"},
        {"space", "pause / resume sampling"},
        {v->utf8 ? "↑ / ↓" : "Up / Down", "select a timer"},
        {"PgUp / PgDn", "a page up / down"},
        {"Home / End", "first / last timer"},
        {"/", "filter timers by name (substring or glob)"},
        {"Esc", "clear the filter"},
        {"?", "this help"},
        {"q", "quit"},
        {"", ""},
        {"COUNT", "records since top started (not the backlog)"},
        {"RATE", "'quiet': no record for --max-silence seconds"},
        {"", "'idle': no record since top started"},
        {"no origin", "records without an origin: no latency"},
        {"TIMER 3/7,", "the selected timer of 7; then the kind of the"},
        {"latency:", "statistics columns (the focused pane's)"},
    };
    const int n = (int)(sizeof lines / sizeof lines[0]);
    int bw = c->w - 4 < 64 ? c->w - 4 : 64;
    int bh = c->h - 2 < n + 4 ? c->h - 2 : n + 4;
    int bx = (c->w - bw) / 2, by = (c->h - bh) / 2;
    for (int r = 0; r < bh; r++)
        for (int x = 0; x < bw; x++) {
            uint32_t ch = ' ';
            if (r == 0 || r == bh - 1)
                ch = x == 0 ? (r ? 0x2514u : 0x250cu) : x == bw - 1 ? (r ? 0x2518u : 0x2510u)
                                                               : TUI_G_HLINE;
            else if (x == 0 || x == bw - 1)
                ch = TUI_G_VLINE;
            tui_canvas_put(c, bx + x, by + r, ch, TUI_S_NORMAL);
        }
    tui_canvas_text(c, bx + 2, by, bw - 4, TUI_S_BOLD, " timekeeper top: keys ");
    for (int i = 0; i < n && 1 + i < bh - 2; i++) {
        tui_canvas_text(c, bx + 2, by + 1 + i, 12, TUI_S_KEY, lines[i][0]);
        tui_canvas_text(c, bx + 15, by + 1 + i, bw - 17, TUI_S_NORMAL, lines[i][1]);
    }
    tui_canvas_text(c, bx + 2, by + bh - 2, bw - 4, TUI_S_DIM, "any key closes this help");
}

/* ---- the screen -------------------------------------------------------------------------------- */

void tui_screen_draw(tui_canvas *c, tui_view *v, const tui_model *m, uint64_t now_ns)
{
    tui_canvas_clear(c);
    if (c->w < MIN_W || c->h < MIN_H) {
        char buf[96];
        snprintf(buf, sizeof buf, "terminal too small for timekeeper top (%dx%d, needs %dx%d); q quits",
                 c->w, c->h, MIN_W, MIN_H);
        for (int y = 0; y < c->h; y++) /* wrap over as many rows as needed */
            if (y * c->w < (int)strlen(buf))
                tui_canvas_text(c, 0, y, c->w, TUI_S_NORMAL, buf + y * c->w);
        return;
    }
    draw_header(c, v, m);
    draw_footer(c, v);
    int body = c->h - 2;
    int list_max = body * 2 / 5 > 4 ? body * 2 / 5 : 4;
    int want = 1 + (v->nrows ? (int)(v->nrows < 100000 ? v->nrows : 100000) : 1);
    int list_h = want < list_max ? want : list_max;
    draw_list(c, v, 1, list_h, now_ns);
    int py = 1 + list_h, ph = body - list_h;
    if (ph >= TWO_PANES_MIN_H) {
        int h1 = ph / 2;
        draw_pane(c, v, m, KIND_LATENCY, py, h1, v->kind == KIND_LATENCY, 1);
        draw_pane(c, v, m, KIND_PROCESSING, py + h1, ph - h1, v->kind == KIND_PROCESSING, 1);
    } else {
        draw_pane(c, v, m, v->kind, py, ph, 1, 0);
    }
    if (v->help)
        draw_help(c, v);
}
