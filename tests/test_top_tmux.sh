#!/usr/bin/env bash
# test_top_tmux.sh — drives the real `timekeeper top` in a real terminal (tmux send-keys /
# capture-pane) while the gateway example runs, and checks what a user sees: the timers are
# listed, m/M/e change the legend, l/b switch panes, Down moves the selection, a process started
# later appears, a stopped one is flagged, p plots p99, z cycles the y axis, < > sort, the journal
# timer is counted with "no origin", resize, filter, help, pause and interval keys work, the
# segments are mapped read-only, and q exits with status 0. Also: not a terminal -> exit 2.
#
#     tests/test_top_tmux.sh BUILD/bin
#
# Private tmux socket and TK_DIR, so it never meets another test; everything it started is
# stopped on any exit. Waits poll the screen with a deadline instead of sleeping.
set -euo pipefail

BIN=${1:?usage: test_top_tmux.sh BUILD_BIN_DIR}
TK=$BIN/timekeeper
SOCK=tk-test-$$
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-top-test.XXXXXX")
LOG=$DIR/log
PRODUCERS=()
export TK_DIR=$DIR

cleanup() {
    local rc=$?
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
    for p in "${PRODUCERS[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

command -v tmux >/dev/null || { echo "FAIL: tmux is not installed (scripts/install-deps.sh)"; exit 1; }
for f in "$TK" "$BIN/gateway" "$BIN/top_producer"; do
    [ -x "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done

screen() { tmux -L "$SOCK" capture-pane -p -t top 2>/dev/null; }
fail() {
    echo "FAIL: $*"
    echo "----- screen -----"
    screen || true
    echo "----- timekeeper list -----"
    "$TK" list 2>&1 || true
    ls -l "$DIR"
    echo "------------------"
    exit 1
}
ok() { echo "ok: $*"; }
# wait_for REGEX [SECONDS]: until the screen matches (grep -E).
wait_for() {
    local re=$1 deadline=$((SECONDS + ${2:-10}))
    while ((SECONDS < deadline)); do
        screen | grep -qE -- "$re" && return 0
        sleep 0.1
    done
    fail "waited ${2:-10}s for /$re/"
}
# wait_gone REGEX [SECONDS]: until the screen no longer matches.
wait_gone() {
    local re=$1 deadline=$((SECONDS + ${2:-10}))
    while ((SECONDS < deadline)); do
        # the screen first, then grep: under pipefail a grep that exits at its first match can
        # fail the pipe's writer, and a failed pipe must not read as "gone"
        local s
        s=$(screen) && ! grep -qE -- "$re" <<<"$s" && return 0
        sleep 0.1
    done
    fail "waited ${2:-10}s for /$re/ to go away"
}
keys() { tmux -L "$SOCK" send-keys -t top "$@"; }
selected() { screen | sed -n 's/^> \([^ ]*\).*/\1/p' | head -1; }

# ---- not a terminal, bad usage ------------------------------------------------------------------
set +e
"$TK" top </dev/null >"$DIR/out" 2>"$DIR/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat "$DIR/err"; fail "not a terminal: exit $rc, expected 2"; }
[ "$(wc -l <"$DIR/err")" -eq 1 ] || fail "not a terminal: expected one line, got: $(cat "$DIR/err")"
grep -q "timekeeper report" "$DIR/err" || fail "not a terminal: no pointer to 'timekeeper report'"
ok "not a terminal: exit 2, '$(cat "$DIR/err")'"
set +e
"$TK" top --interval 0 </dev/null >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad --interval: exit $rc, expected 2"
ok "bad usage: exit 2"

# ---- the gateway, then top in an 80x24 terminal --------------------------------------------------
"$BIN/gateway" --duration 120 >"$LOG.gateway" 2>&1 &
GW=$!
PRODUCERS+=("$GW")
for _ in $(seq 100); do
    ls "$DIR"/timekeeper-*.seg >/dev/null 2>&1 && break
    sleep 0.05
done
# (the exit status goes through a file: tmux 3.3's #{pane_dead_status} is sometimes lost)
tmux -L "$SOCK" -f /dev/null new-session -d -s top -x 80 -y 24 \
    -e TK_DIR="$DIR" -e LC_ALL=C.UTF-8 \
    "'$TK' top --interval 0.5 --max-silence 2; echo \$? >'$DIR/top.status'" \; \
    set-option -t top remain-on-exit on
SHELL_PID=$(tmux -L "$SOCK" display-message -p -t top '#{pane_pid}')
TOP=
for _ in $(seq 100); do
    TOP=$(pgrep -P "$SHELL_PID" -x timekeeper || true)
    [ -n "$TOP" ] && break
    sleep 0.05
done
[ -n "$TOP" ] || fail "timekeeper top did not start"

wait_for 'healthy: 1 process'
TIMERS=$("$TK" list --json | sed 's/.*"timers":\[//' | grep -o '"name":"[^"]*"' | cut -d'"' -f4 |
         grep -v '^(invalid)$')
[ -n "$TIMERS" ] || fail "timekeeper list shows no gateway timer"
for t in $TIMERS; do
    wait_for " $t "
done
ok "the gateway's timers are listed: $(echo "$TIMERS" | tr '\n' ' ')"
wait_for 'LATENCY of'
wait_for '[0-9](ns|µs|us|ms) ' # values with units

# the segments are mapped read-only and shared
maps=$(grep "$DIR/timekeeper-" "/proc/$TOP/maps" || true)
[ -n "$maps" ] || fail "top maps no segment"
if echo "$maps" | awk '{print $2}' | grep -qv '^r--s$'; then
    fail "a segment is mapped writable: $maps"
fi
ok "segments mapped r--s"

# ---- legend: averages by default; m, M, e toggle min, max, median --------------------------------
screen | grep -q '\* avg' || fail "no '* avg' in the legend by default"
screen | grep -qE 'v min|\^ max|o median' && fail "min/max/median shown by default"
keys m
wait_for 'v min'
keys M
wait_for '\^ max'
keys e
wait_for 'o median'
keys m
wait_gone 'v min'
keys a
wait_gone '\* avg'
keys a M e
wait_for '\* avg'
wait_gone '\^ max'
ok "m / M / e / a change the legend"

# ---- p99, the y axis, COUNT and no origin, sorting -----------------------------------------------
keys p
wait_for '9 p99'
wait_for 'y axis from 0'
wait_for ' 0┤|  0[|+]' # a zero-based axis
keys z
wait_for 'y axis zoomed'
keys z
wait_for 'y axis log'
keys z p
wait_for 'y axis from 0'
wait_gone '9 p99'
wait_for 'sequencer\.journal +[0-9.]+[kM]? +[0-9.]+[kM]?/s no origin' # counted, but no latency
keys '>'
wait_for 'COUNT▼|COUNTv'
keys '<'
wait_gone 'COUNT▼|COUNTv'
ok "p plots p99, z cycles the y axis, journal counted with no origin, < > sort"

# ---- panes ---------------------------------------------------------------------------------------
keys b
wait_for 'PROCESSING TIME of'
wait_gone 'LATENCY of'
keys l
wait_for 'LATENCY of'
wait_gone 'PROCESSING TIME of'
ok "l / b switch panes"

# ---- selection -----------------------------------------------------------------------------------
first=$(selected)
[ -n "$first" ] || fail "no selected row ('> ' marker)"
keys Down
deadline=$((SECONDS + 5))
while [ "$(selected)" = "$first" ] && ((SECONDS < deadline)); do sleep 0.1; done
second=$(selected)
if [ -z "$second" ] || [ "$second" = "$first" ]; then
    fail "Down kept the selection on '$first'"
fi
wait_for "LATENCY of $second"
keys End
wait_for "^> $(echo "$TIMERS" | tail -1) "
keys Home
wait_for "^> $first "
ok "Down moved the selection from $first to $second; End, Home"

# ---- another collector runs beside top ----------------------------------------------------------
"$TK" report --interval 0.3 --count 2 >"$DIR/report.out" 2>&1 ||
    fail "timekeeper report beside top: exit $? ($(tail -3 "$DIR/report.out"))"
grep -q "$first" "$DIR/report.out" || fail "report beside top does not show $first"
wait_for 'healthy: 1 process'
ok "timekeeper report runs beside top"

# ---- a process that starts later shows up --------------------------------------------------------
"$BIN/top_producer" --duration 120 >"$LOG.producer" 2>&1 &
PROD=$!
PRODUCERS+=("$PROD")
wait_for 'healthy: 2 processes' 15
keys End # its last timer, and its process line above
wait_for '^> top\.publish '
wait_for "^top_producer  pid $PROD  live"
ok "a process started later is listed"

# ---- resize: wide and tall shows more columns and both panes --------------------------------------
tmux -L "$SOCK" resize-window -t top -x 132 -y 60
wait_for 'P99\.9'
wait_for 'LATENCY of'
wait_for 'PROCESSING TIME of'
wait_for 'top\.decode'
tmux -L "$SOCK" resize-window -t top -x 80 -y 24
wait_gone 'P99\.9'
ok "resize: columns and panes follow the terminal"

# ---- filter, help, pause, interval ---------------------------------------------------------------
keys / d e c o d e
wait_for 'filter timers: decode_'
keys Enter
wait_for "filter 'decode'"
wait_for 'top\.decode'
wait_gone "$first "
keys Escape
wait_for "$first "
ok "/ filters timers by name, Esc clears"

keys '?'
wait_for 'timekeeper top: keys'
keys x
wait_gone 'timekeeper top: keys'
ok "? shows the help, any key closes it"

keys Space
wait_for 'PAUSED'
keys Space
wait_gone 'PAUSED'
keys +
wait_for 'every 1s'
keys - -
wait_for 'every 0\.2s'
ok "space pauses, + / - change the interval"

# ---- a producer that goes silent is flagged; one that exits is marked ----------------------------
keys Home # the gateway's line on screen
wait_for "^> $first "
kill -STOP "$GW"
wait_for 'NOT HEALTHY' 10
wait_for 'gateway  pid [0-9]+  (QUIET|NO HEARTBEAT)'
kill -CONT "$GW"
wait_for 'healthy: 2 processes' 10
ok "a stopped process makes the header NOT HEALTHY, and recovers"
kill "$PROD"
wait_for "top_producer  pid $PROD  exited" 10
ok "an exited process is marked exited"

# ---- q exits with status 0 -----------------------------------------------------------------------
keys q
deadline=$((SECONDS + 5))
while [ ! -s "$DIR/top.status" ]; do
    ((SECONDS < deadline)) || fail "top still running 5s after q"
    sleep 0.1
done
status=$(cat "$DIR/top.status")
[ "$status" = 0 ] || fail "q: exit status $status, expected 0"
kill -0 "$GW" 2>/dev/null || fail "the gateway died while top watched it"
ok "q exits with status 0; the gateway runs on"
echo "PASS"
