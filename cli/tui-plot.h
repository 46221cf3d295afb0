/* tui-plot.h — a grid of styled cells that `timekeeper top` draws its screen into, number
 * formatting with adaptive units (ns, µs, ms, s), and plots of statistics over time. No ncurses
 * here: the screen is blitted to the terminal elsewhere, so drawing is tested on plain memory. */
#ifndef TK_TUI_PLOT_H
#define TK_TUI_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* Styles of cells; the terminal layer maps each to colours/attributes. */
enum {
    TUI_S_NORMAL = 0,
    TUI_S_DIM,        /* exited processes, axes */
    TUI_S_BOLD,
    TUI_S_OK,         /* healthy header */
    TUI_S_BAD,        /* unhealthy header */
    TUI_S_WARN,       /* quiet timers, losses */
    TUI_S_PROC,       /* a process row of the list */
    TUI_S_COLUMNS,    /* the column titles of the list */
    TUI_S_SELECTED,   /* the selected timer */
    TUI_S_PANE,       /* title of the focused pane */
    TUI_S_PANE_OFF,   /* title of the other pane */
    TUI_S_BAR,        /* footer */
    TUI_S_KEY,        /* a key in the footer or the help */
    TUI_S_AVG,        /* the series, in TUI_STAT_* order */
    TUI_S_MIN,
    TUI_S_MAX,
    TUI_S_P50,
    TUI_S_P99,
    TUI_S_COUNT
};

/* Box-drawing code points used by the plot; the terminal layer maps them to line graphics. */
#define TUI_G_HLINE 0x2500u
#define TUI_G_VLINE 0x2502u
#define TUI_G_LLCORNER 0x2514u
#define TUI_G_RTEE 0x2524u /* ┤ a tick on the y axis */
#define TUI_G_BTEE 0x2534u /* ┴ a tick on the x axis */

typedef struct tui_cell {
    uint32_t ch;   /* a Unicode code point; 0 never appears (blank is ' ') */
    uint8_t style;
} tui_cell;

typedef struct tui_canvas {
    int w, h;
    tui_cell *cells; /* w * h, row-major */
} tui_canvas;

/* Sets the canvas to w x h blank cells (reallocating). Returns 0 or -ENOMEM. */
int tui_canvas_resize(tui_canvas *c, int w, int h);
void tui_canvas_free(tui_canvas *c);
void tui_canvas_clear(tui_canvas *c);
/* Sets one cell; outside the canvas nothing happens. */
void tui_canvas_put(tui_canvas *c, int x, int y, uint32_t ch, int style);
/* Writes UTF-8 text at (x, y), clipped to max_w cells (and to the canvas); returns cells used. */
int tui_canvas_text(tui_canvas *c, int x, int y, int max_w, int style, const char *utf8);
/* Sets the style of cells [x, x + w) of row y. */
void tui_canvas_style(tui_canvas *c, int x, int y, int w, int style);
/* Row y as UTF-8 (trailing blanks kept) into buf of n bytes; for tests and the README capture. */
void tui_canvas_row(const tui_canvas *c, int y, char *buf, size_t n);
/* Number of cells (code points) of a UTF-8 string. */
int tui_text_width(const char *utf8);

/* A duration in ns as at most 6 cells with 3 significant digits: "812ns", "1.23µs", "12.3ms",
 * "4.56s". utf8 == 0 writes "us" for µs. Returns buf. */
char *tui_fmt_ns(char *buf, size_t n, double ns, int utf8);
/* A count with a k/M/G suffix in at most 5 cells: "999", "12.3k", "4.56M". Returns buf. */
char *tui_fmt_count(char *buf, size_t n, double v);
/* Seconds as a short age for the time axis: "5s", "90s", "12m", "2.5h". Returns buf. */
char *tui_fmt_age(char *buf, size_t n, double seconds);

#define TUI_NSERIES 5 /* TUI_STAT_COUNT of tui-model.h: avg, min, max, median, p99 */

/* The y axis of a plot: [lo, hi] in ns split into steps of `step` ns, labelled in `unit`. */
typedef struct tui_axis {
    double lo, hi, step;
    double unit_ns;    /* 1, 1e3, 1e6 or 1e9 */
    const char *unit;  /* "ns", "µs" (or "us"), "ms", "s" */
    int decimals;      /* digits after the point in labels */
    int log;           /* logarithmic: lo, hi are powers of ten, a tick per decade */
    int utf8;          /* µs rather than us */
} tui_axis;

/* Picks a round axis covering [min, max] (ns) with about `ticks` steps. */
tui_axis tui_axis_choose(double min, double max, int ticks, int utf8);
/* A logarithmic axis over [min, max] (ns, min > 0): from the decade below min to the one above. */
tui_axis tui_axis_choose_log(double min, double max, int utf8);
/* A label of value v (ns) on axis a, e.g. "12.5µs". Returns buf. */
char *tui_axis_label(const tui_axis *a, double v, char *buf, size_t n);

/* What to plot: up to TUI_STAT_COUNT series of n values each, oldest first, in ns; NaN marks an
 * interval without records. series[i] == NULL: series i is not shown. age_s[i] is how many
 * seconds before now sample i ended (for the time axis). */
/* The y axis of a plot: from zero (the default, so that noise looks like noise), zoomed to the
 * range of the data, or logarithmic (a decade per step, so a max series does not flatten the
 * others). */
typedef enum { TUI_AXIS_ZERO = 0, TUI_AXIS_ZOOM = 1, TUI_AXIS_LOG = 2, TUI_AXIS_MODES = 3 } tui_axis_mode;

typedef struct tui_plot_in {
    const double *series[TUI_NSERIES];
    const double *age_s;
    size_t n;
    int utf8;
    tui_axis_mode axis;
    /* Seconds per column of the time axis (the current sampling interval): a sample is drawn at
     * the column of its age, so after + or - older samples are spaced by their own length and the
     * ticks, evenly spaced, carry their true times. 0: one column per sample. */
    double col_s;
} tui_plot_in;

/* Glyph of each series in the plot and the legend ('*' avg, 'v' min, '^' max, 'o' median,
 * '9' p99). */
extern const char tui_series_glyph[TUI_NSERIES];
extern const char *const tui_series_name[TUI_NSERIES];
/* The name of an axis mode for the pane title: "from 0", "zoomed", "log". */
const char *tui_axis_mode_name(tui_axis_mode m);

/* Draws the plot into the rectangle (x, y, w, h) of c: y-axis labels on the left, one column per
 * interval with the newest on the right, an x axis with ages below. Needs w >= 20 and h >= 4;
 * smaller rectangles get a short note. When no sample has data, says so in the middle. */
void tui_plot_draw(tui_canvas *c, int x, int y, int w, int h, const tui_plot_in *in);

#endif
