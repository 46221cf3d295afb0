/* cmd-top.c — `timekeeper top`: the live terminal UI. A collector like any other: it maps segments
 * read-only, drains the rings on the driver's schedule (core/driver.h: every 10 ms, new
 * processes at once through inotify), turns each sampling interval into one frame of the
 * model (tui-model.c), draws the screen into a canvas (tui-screen.c) and puts on the terminal only
 * the cells that changed. */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "collector.h"
#include "core/core.h"
#include "core/driver.h"
#include "util/fmt.h"
#include "report.h"
#include "tui-model.h"
#include "tui-plot.h"
#include "tui-screen.h"

#define FIRST_FRAME_NS 250000000ull
#define EXITED_KEEP_NS 60000000000ull

enum { OPT_KEEP = 256, OPT_HISTORY, OPT_NO_COLOR, OPT_SUBTRACT };

static const cli_option options[] = {
    {"interval", 'i', "TIME", "sampling interval, one plot point each: 100ms, 1s, 2m (default 1s; 50ms .. 1h)"},
    {"pid", 'p', "PID", "only this process"},
    {"timer", 't', "PATTERN", "only timers whose name contains PATTERN, or matches it as a glob when it has * ? [ (any case)"},
    {"dir", 'd', "DIR", "segments directory (default $TK_DIR or /dev/shm)"},
    {"history", OPT_HISTORY, "N", "intervals kept for the plots (default 600; 10 .. 100000)"},
    {"max-silence", 's', "TIME", "time without a record before a process or timer is quiet (default 5s)"},
    {"keep", OPT_KEEP, NULL, "do not remove the segments of exited processes"},
    {"no-color", OPT_NO_COLOR, NULL, "no colours even when the terminal has them (also: NO_COLOR=1)"},
    {"subtract-clock", OPT_SUBTRACT, NULL, "subtract the measured cost of a clock read from processing times"},
    {0},
};

typedef struct top_opts {
    double interval, max_silence;
    uint64_t history;
    int pid, keep, no_color, subtract;
    const char *timer, *dir;
} top_opts;

static int cmd_top(int argc, char **argv);
const cli_command cmd_top_def = {
    "top", cmd_top, "live terminal UI: timers, health and plots over time",
    "[--interval TIME] [--pid P] [--timer PATTERN] [--dir DIR] [--history N]\n"
    "       [--max-silence TIME] [--keep] [--no-color] [--subtract-clock]",
    "Shows every timer of every instrumented process of this user, grouped by process: COUNT\n"
    "(records since top started, the rings' earlier backlog not included) and RATE (latest\n"
    "interval) of every record, then the latest interval's avg, p50, p99, max of the focused\n"
    "pane's kind ('no origin' in the latency columns of a timer whose records carry none) and\n"
    "LOST; a header saying whether every live process reported within --max-silence; and for\n"
    "the selected timer plots over time of its per-interval latency and processing time.\n"
    "Keys: a m M e p toggle the avg/min/max/median/p99 series, z y axis from 0 / zoomed / log,\n"
    "l b latency/processing pane, + - longer/shorter interval, space pause, arrows PgUp PgDn\n"
    "Home End select, < > sort column, I reverse the sort, / filter, ? help, q quit.\n"
    "Starting, pausing and quitting it has no effect on the programs watched.\n"
    "Needs a terminal; 'timekeeper report' prints the same statistics as text.",
    options,
};

static int on_option(void *ctx, int key, const char *arg)
{
    top_opts *o = ctx;
    switch (key) {
    case 'i':
        if (cli_parse_seconds(arg, 0.05, 3600, &o->interval))
            return cli_usage_error(&cmd_top_def, "--interval wants a time in [50ms, 1h] (100ms, 1s, 2m), not '%s'", arg);
        return 0;
    case 'p':
        return cli_option_pid(&cmd_top_def, arg, &o->pid);
    case 't':
        o->timer = arg;
        return 0;
    case 'd':
        o->dir = arg;
        return 0;
    case OPT_HISTORY:
        if (cli_parse_u64(arg, 10, 100000, &o->history))
            return cli_usage_error(&cmd_top_def, "--history wants a number in [10, 100000], not '%s'", arg);
        return 0;
    case 's':
        if (cli_parse_seconds(arg, 0.001, 86400.0 * 365, &o->max_silence))
            return cli_usage_error(&cmd_top_def, "--max-silence wants a time > 0 (500ms, 5s, 1m), not '%s'", arg);
        return 0;
    case OPT_KEEP:
        o->keep = 1;
        return 0;
    case OPT_NO_COLOR:
        o->no_color = 1;
        return 0;
    case OPT_SUBTRACT:
        o->subtract = 1;
        return 0;
    }
    return cli_usage_error(&cmd_top_def, "unexpected option");
}

/* ---- the terminal ------------------------------------------------------------------------------ */

typedef struct term {
    attr_t attr[TUI_S_COUNT];
    short pair[TUI_S_COUNT];
    tui_canvas shown; /* what the terminal shows now */
    int full;         /* next blit rewrites every cell */
} term;

static void term_styles(term *t, int color)
{
    static const attr_t mono[TUI_S_COUNT] = {
        [TUI_S_NORMAL] = A_NORMAL,           [TUI_S_DIM] = A_DIM,
        [TUI_S_BOLD] = A_BOLD,               [TUI_S_OK] = A_BOLD,
        [TUI_S_BAD] = A_REVERSE | A_BOLD,    [TUI_S_WARN] = A_BOLD,
        [TUI_S_PROC] = A_BOLD,               [TUI_S_COLUMNS] = A_REVERSE,
        [TUI_S_SELECTED] = A_REVERSE,        [TUI_S_PANE] = A_REVERSE | A_BOLD,
        [TUI_S_PANE_OFF] = A_UNDERLINE,      [TUI_S_BAR] = A_REVERSE,
        [TUI_S_KEY] = A_BOLD,                [TUI_S_AVG] = A_BOLD,
        [TUI_S_MIN] = A_NORMAL,              [TUI_S_MAX] = A_NORMAL,
        [TUI_S_P50] = A_NORMAL,              [TUI_S_P99] = A_BOLD,
    };
    memcpy(t->attr, mono, sizeof mono);
    memset(t->pair, 0, sizeof t->pair);
    if (!color)
        return;
    /* style, foreground, background (-1: the terminal's), attributes */
    static const struct { int style; short fg, bg; attr_t a; } colored[] = {
        {TUI_S_OK, COLOR_GREEN, -1, A_BOLD},
        {TUI_S_BAD, COLOR_WHITE, COLOR_RED, A_BOLD},
        {TUI_S_WARN, COLOR_YELLOW, -1, A_BOLD},
        {TUI_S_PROC, COLOR_CYAN, -1, A_BOLD},
        {TUI_S_COLUMNS, COLOR_BLACK, COLOR_GREEN, A_NORMAL},
        {TUI_S_SELECTED, COLOR_BLACK, COLOR_CYAN, A_NORMAL},
        {TUI_S_PANE, COLOR_BLACK, COLOR_YELLOW, A_NORMAL},
        {TUI_S_PANE_OFF, COLOR_WHITE, COLOR_BLUE, A_NORMAL},
        {TUI_S_BAR, COLOR_BLACK, COLOR_CYAN, A_NORMAL},
        {TUI_S_KEY, COLOR_WHITE, COLOR_BLACK, A_BOLD},
        {TUI_S_AVG, COLOR_GREEN, -1, A_BOLD},
        {TUI_S_MIN, COLOR_CYAN, -1, A_BOLD},
        {TUI_S_MAX, COLOR_RED, -1, A_BOLD},
        {TUI_S_P50, COLOR_MAGENTA, -1, A_BOLD},
        {TUI_S_P99, COLOR_YELLOW, -1, A_BOLD},
    };
    int defaults = use_default_colors() == OK;
    for (size_t i = 0; i < sizeof colored / sizeof colored[0]; i++) {
        short pair = (short)(i + 1);
        short bg = colored[i].bg < 0 && !defaults ? COLOR_BLACK : colored[i].bg;
        if (pair >= COLOR_PAIRS || init_pair(pair, colored[i].fg, bg) == ERR)
            continue;
        t->attr[colored[i].style] = colored[i].a;
        t->pair[colored[i].style] = pair;
    }
}

/* Line graphics for the box-drawing code points of the canvas (right in any locale). */
static const cchar_t *line_glyph(uint32_t ch)
{
    switch (ch) {
    case TUI_G_HLINE: return WACS_HLINE;
    case TUI_G_VLINE: return WACS_VLINE;
    case TUI_G_LLCORNER: return WACS_LLCORNER;
    case TUI_G_RTEE: return WACS_RTEE;
    case TUI_G_BTEE: return WACS_BTEE;
    case 0x250cu: return WACS_ULCORNER;
    case 0x2510u: return WACS_URCORNER;
    case 0x2518u: return WACS_LRCORNER;
    }
    return NULL;
}

/* Puts on the terminal the cells of c that differ from what it shows, then refreshes. */
static void term_blit(term *t, const tui_canvas *c)
{
    if (t->shown.w != c->w || t->shown.h != c->h) {
        if (tui_canvas_resize(&t->shown, c->w, c->h) != 0)
            return;
        t->full = 1;
    }
    if (t->full)
        erase();
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            size_t i = (size_t)y * (size_t)c->w + (size_t)x;
            tui_cell cell = c->cells[i];
            tui_cell *old = &t->shown.cells[i];
            if (!t->full && old->ch == cell.ch && old->style == cell.style)
                continue;
            *old = cell;
            attr_t a = t->attr[cell.style];
            short pair = t->pair[cell.style];
            const cchar_t *line = line_glyph(cell.ch);
            if (cell.ch >= 0x20 && cell.ch < 0x7f) {
                mvaddch(y, x, (chtype)cell.ch | a | (chtype)COLOR_PAIR(pair));
            } else if (line) {
                attr_set(a, pair, NULL);
                mvadd_wch(y, x, line);
                attr_set(A_NORMAL, 0, NULL);
            } else {
                wchar_t wc[2] = {(wchar_t)cell.ch, 0};
                cchar_t cc;
                if (setcchar(&cc, wc, a, pair, NULL) == OK)
                    mvadd_wch(y, x, &cc);
            }
        }
    }
    t->full = 0;
    refresh();
}

static int term_key(int ch)
{
    switch (ch) {
    case KEY_UP: return TUI_KEY_UP;
    case KEY_DOWN: return TUI_KEY_DOWN;
    case KEY_PPAGE: return TUI_KEY_PGUP;
    case KEY_NPAGE: return TUI_KEY_PGDN;
    case KEY_HOME: case KEY_FIND: case KEY_A1: return TUI_KEY_HOME;
    case KEY_END: case KEY_SELECT: case KEY_C1: return TUI_KEY_END;
    case KEY_BACKSPACE: case 127: case 8: return TUI_KEY_BACKSPACE;
    case KEY_ENTER: case '\n': case '\r': return TUI_KEY_ENTER;
    case 27: return TUI_KEY_ESC;
    }
    return ch;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

/* Adds one frame to the model from the collector and starts the next interval. */
static void take_frame(collector *c, tui_model *m, const top_opts *o, uint64_t now, uint64_t len)
{
    size_t n = collector_process_count(c);
    const process_info *stack[64];
    const process_info **procs = n <= 64 ? stack : malloc(n * sizeof *procs);
    if (!procs)
        n = 0;
    for (size_t i = 0; i < n; i++)
        procs[i] = collector_process(c, i);
    tui_model_add_frame(m, n ? procs : NULL, n, now, len);
    if (procs != stack)
        free(procs);
    collector_rollover(c);
    if (!o->keep) /* with --keep an exited process stays attached (and listed as exited) */
        collector_forget_exited(c);
}

static int run(collector *c, const top_opts *o, int utf8, int color)
{
    tui_model m;
    tui_view v;
    tui_canvas canvas = {0};
    term t = {.full = 1};
    if (tui_model_init(&m, (size_t)o->history, (uint64_t)(o->max_silence * 1e9), EXITED_KEEP_NS))
        return cli_error("top", "out of memory");
    const char *dir = o->dir ? o->dir : getenv("TK_DIR");
    tui_view_init(&v, o->interval, utf8, dir && *dir ? dir : "/dev/shm");
    term_styles(&t, color);

    /* what the rings hold from before we came goes to the totals, not into the first interval */
    tkc_driver *d = tkc_driver_new(collector_core(c), NULL); /* scans and drains on its schedule */
    if (!d) {
        tui_view_free(&v);
        tui_model_free(&m);
        return cli_error("top", "out of memory");
    }
    collector_scan(c);
    collector_drain(c);
    collector_rollover(c);
    uint64_t now = collector_now_ns();
    uint64_t frame_start = now, next_frame = now + FIRST_FRAME_NS;
    int dirty = 1, status = CLI_OK;

    int quit = 0;
    while (!quit && !tkc_signal_received()) {
        now = collector_now_ns();
        tkc_driver_tick(d, now);
        if (!v.paused && now >= next_frame) { /* an interval ends with everything recorded in it */
            collector_drain(c);
            take_frame(c, &m, o, now, now - frame_start);
            tui_view_sync(&v, &m);
            frame_start = now;
            next_frame = now + (uint64_t)(v.interval_s * 1e9);
            dirty = 1;
        }
        if (dirty) {
            int w, h;
            getmaxyx(stdscr, h, w);
            if (tui_canvas_resize(&canvas, w, h) == 0) {
                tui_screen_draw(&canvas, &v, &m, now);
                term_blit(&t, &canvas);
            }
            dirty = 0;
        }
        now = collector_now_ns();
        int wait_ms = tkc_driver_timeout_ms(d, now); /* the driver's next drain or scan */
        if (!v.paused && next_frame > now && (next_frame - now) / 1000000u + 1 < (uint64_t)wait_ms)
            wait_ms = (int)((next_frame - now) / 1000000u) + 1;
        else if (!v.paused && next_frame <= now)
            wait_ms = 0;
        timeout(wait_ms);
        for (int ch; (ch = getch()) != ERR;) {
            timeout(0); /* take every key already typed before drawing again */
            dirty = 1;
            if (ch == KEY_RESIZE) {
                t.full = 1;
                continue;
            }
            if (ch == 12) { /* Ctrl-L */
                clearok(curscr, TRUE);
                t.full = 1;
                continue;
            }
            double before = v.interval_s;
            int act = tui_view_key(&v, &m, term_key(ch));
            if (act & TUI_ACT_QUIT) {
                quit = 1;
                break;
            }
            if ((act & TUI_ACT_RESCHEDULE) && v.interval_s != before)
                next_frame = frame_start + (uint64_t)(v.interval_s * 1e9);
            if ((act & TUI_ACT_RESCHEDULE) && !v.paused && next_frame < collector_now_ns())
                next_frame = collector_now_ns();
        }
    }
    int sig = tkc_signal_received();
    if (sig && sig != SIGINT)
        status = 128 + sig;
    tkc_driver_free(d);
    tui_canvas_free(&canvas);
    tui_canvas_free(&t.shown);
    tui_view_free(&v);
    tui_model_free(&m);
    return status;
}

static int cmd_top(int argc, char **argv)
{
    top_opts o = {.interval = 1.0, .max_silence = 5.0, .history = 600};
    int status;
    int first = cli_parse(&cmd_top_def, argc, argv, on_option, &o, &status);
    if (first < 0)
        return status;
    if (first < argc)
        return cli_usage_error(&cmd_top_def, "unexpected argument '%s'", argv[first]);
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr, "timekeeper top: %s is not a terminal; use 'timekeeper report' for text "
                        "output\n", isatty(STDOUT_FILENO) ? "stdin" : "stdout");
        return CLI_USAGE;
    }
    {   /* the directory and --pid checked before the screen is taken */
        tkc_core_options cco = {.dir = o.dir, .pid = o.pid, .quiet = 1};
        tkc_core *cc;
        if (cli_open_core("top", &cco, &cc) != 0)
            return CLI_FAIL;
        tkc_core_close(cc);
    }
    setlocale(LC_ALL, "");
    int utf8 = tk_fmt_unicode(); /* chosen from the locale in main(), as for every command */

    collector_options co = {.dir = o.dir,
                            .pid = o.pid, .timer_glob = o.timer,
                            .quiet = 1 /* stderr would scribble over the screen */};
    if (o.subtract)
        co.overhead_ns = report_clock_read_cost_ns();
    collector *c;
    if (collector_open(&co, &c) != 0)
        return cli_error("top", "out of memory");

    tkc_signals_install(); /* before initscr, so that curses leaves SIGINT/SIGTERM to us */
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        const char *term_name = getenv("TERM");
        collector_close(c);
        return cli_error("top", "cannot drive the terminal '%s'; use 'timekeeper report'",
                         term_name ? term_name : "(TERM unset)");
    }
    set_term(scr);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    int color = !o.no_color && !getenv("NO_COLOR") && has_colors() && start_color() == OK;

    status = run(c, &o, utf8, color);

    endwin();
    delscreen(scr);
    collector_close(c);
    return cli_finish("top", status);
}
