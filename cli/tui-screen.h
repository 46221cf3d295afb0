/* tui-screen.h — the screen of `timekeeper top`: what the user selected and toggled (the view), the
 * keys that change it, and the drawing of the whole screen into a canvas: health header, timer
 * list, latency and processing panes, footer, help. Terminal-independent: keys arrive as
 * TUI_KEY_* codes or characters, and the canvas is put on the terminal by cmd-top.c. */
#ifndef TK_TUI_SCREEN_H
#define TK_TUI_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include "tui-model.h"
#include "tui-plot.h"

/* Keys that are not characters (above every Unicode code point). */
enum {
    TUI_KEY_UP = 0x110000,
    TUI_KEY_DOWN,
    TUI_KEY_PGUP,
    TUI_KEY_PGDN,
    TUI_KEY_HOME,
    TUI_KEY_END,
    TUI_KEY_BACKSPACE,
    TUI_KEY_ENTER,
    TUI_KEY_ESC,
};

/* The columns the list can be sorted by ('<' and '>' step through them, as in htop). Name sorts
 * A to Z, the others largest first; timers stay under their process. */
enum {
    TUI_SORT_NAME = 0,
    TUI_SORT_COUNT,
    TUI_SORT_RATE,
    TUI_SORT_AVG,
    TUI_SORT_P50,
    TUI_SORT_P99,
    TUI_SORT_MAX,
    TUI_SORT_LOST,
    TUI_SORTS
};

/* What a key asks of the main loop, besides a redraw. */
enum { TUI_ACT_QUIT = 1, TUI_ACT_RESCHEDULE = 2 };

#define TUI_SERIES_BIT(s) (1u << (s))

/* A line of the timer list: a process, or one of its timers. */
typedef struct tui_row {
    tui_proc *proc;
    tui_timer *timer; /* NULL: the process line */
} tui_row;

typedef struct tui_view {
    int kind;                /* the focused pane: KIND_LATENCY or KIND_PROCESSING */
    unsigned series;         /* TUI_SERIES_BIT(TUI_STAT_*) of the series shown */
    tui_axis_mode axis;      /* y axis of the plots: from zero (default), zoomed, log */
    int sort;                /* the list's sort column: TUI_SORT_* */
    int sort_reverse;        /* 'I': the other way round */
    int paused;
    int help;                /* the help box is open */
    int utf8;                /* the terminal shows UTF-8 (µ, arrows, box lines) */
    double interval_s;       /* sampling interval */
    char filter[64];         /* "" or a substring / fnmatch pattern of timer names */
    int editing;             /* the '/' prompt is open */
    char filter_before[64];  /* restored by Esc */
    const char *dir;         /* segment directory, for the empty-screen note */
    const tui_timer *selected;
    size_t selected_at;      /* its row, to stay near it when it disappears */
    size_t top;              /* first list row on screen */
    int list_rows;           /* list rows on screen at the last draw (PgUp/PgDn) */
    tui_row *rows;
    size_t nrows, caprows;
    size_t ntimers;          /* timers of the model that are listed when no filter is set */
    double *scratch;         /* plot series, model->cap * 5 */
    size_t scratch_cap;
} tui_view;

/* Default view: latency pane, averages, interval_s. Can't fail. */
void tui_view_init(tui_view *v, double interval_s, int utf8, const char *dir);
void tui_view_free(tui_view *v);

/* Rebuilds the list rows from the model and the filter and keeps the selection valid; call after
 * every model change. Returns 0 or -ENOMEM (the previous rows stay). */
int tui_view_sync(tui_view *v, const tui_model *m);

/* Applies one key. Returns TUI_ACT_* bits. */
int tui_view_key(tui_view *v, const tui_model *m, int key);

/* The sampling intervals '+' and '-' step through, in seconds. */
double tui_interval_step(double current, int direction);

/* Draws the whole screen (c->w x c->h) for the model at now_ns. */
void tui_screen_draw(tui_canvas *c, tui_view *v, const tui_model *m, uint64_t now_ns);

#endif
