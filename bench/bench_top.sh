#!/usr/bin/env bash
# bench_top.sh — CPU cost of `timekeeper top`: a producer with 500 timers, top redrawing 10 times a
# second (--interval 0.1) in a real terminal (tmux), CPU time of the top process read from
# /proc/<pid>/stat (utime + stime) over the measured window. Prints "top cpu: X% of one core".
#
#     bench/bench_top.sh [BUILD/bin] [--quick] [--timers N] [--rate R] [--seconds S] [--interval S]
#                        [--size WxH]
#
# --quick measures 3 s instead of 10. Also prints `top_cpu: X % of one core (goal: < 5 %)` for the
# summary of bench/run.sh. Never asserts: exit 0 whenever it could measure.
#
# Needs tmux and build/bin/{timekeeper,top_producer} (top_producer is built with the tests).
# Private tmux socket and TK_DIR; everything started is stopped on exit.
set -euo pipefail

BIN=build/bin
TIMERS=500 RATE=50000 SECONDS_=10 INTERVAL=0.1 SIZE=160x48
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then BIN=$1; shift; fi
while [ $# -gt 0 ]; do
    case $1 in
    --quick) SECONDS_=3; shift; continue ;;
    --timers) TIMERS=$2 ;;
    --rate) RATE=$2 ;;
    --seconds) SECONDS_=$2 ;;
    --interval) INTERVAL=$2 ;;
    --size) SIZE=$2 ;;
    *) echo "usage: bench_top.sh [BUILD/bin] [--quick] [--timers N] [--rate R] [--seconds S] [--interval S] [--size WxH]" >&2
       exit 2 ;;
    esac
    shift 2
done
W=${SIZE%x*} H=${SIZE#*x}
for f in "$BIN/timekeeper" "$BIN/top_producer"; do
    [ -x "$f" ] || { echo "bench_top: $f is not built (cmake --build build)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench_top: tmux is not installed" >&2; exit 1; }

SOCK=tk-bench-$$
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench-top.XXXXXX")
export TK_DIR=$DIR
PROD=
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
    if [ -n "$PROD" ]; then kill "$PROD" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

screen() { tmux -L "$SOCK" capture-pane -p -t top 2>/dev/null; }
wait_for() {
    local re=$1 deadline=$((SECONDS + ${2:-20}))
    while ((SECONDS < deadline)); do
        screen | grep -qE -- "$re" && return 0
        sleep 0.1
    done
    echo "bench_top: waited for /$re/; screen:" >&2
    screen >&2
    exit 1
}
# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15, after the ")" of the name)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

"$BIN/top_producer" --timers "$TIMERS" --rate "$RATE" --duration $((SECONDS_ + 120)) &
PROD=$!
for _ in $(seq 200); do
    ls "$DIR"/timekeeper-*.seg >/dev/null 2>&1 && break
    sleep 0.05
done
tmux -L "$SOCK" -f /dev/null new-session -d -s top -x "$W" -y "$H" -e TK_DIR="$DIR" \
    -e LC_ALL=C.UTF-8 "exec '$BIN/timekeeper' top --interval $INTERVAL"
TOP=$(tmux -L "$SOCK" display-message -p -t top '#{pane_pid}')
wait_for "$TIMERS timers"
sleep 1 # past start-up

HZ=$(getconf CLK_TCK)
t0=$(date +%s.%N)
c0=$(cpu_ticks "$TOP")
sleep "$SECONDS_"
c1=$(cpu_ticks "$TOP")
t1=$(date +%s.%N)
screen | tail -n +1 >"$DIR/screen.txt"
tmux -L "$SOCK" send-keys -t top q

awk -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v n="$TIMERS" -v r="$RATE" \
    -v i="$INTERVAL" -v size="$SIZE" 'BEGIN {
    cpu = (c1 - c0) / hz; wall = t1 - t0
    printf "producer: %d timers, %d records/s; top: --interval %s (%.0f screen updates/s), %s terminal, %.1f s\n",
           n, r, i, 1 / i, size, wall
    printf "top cpu: %.2f%% of one core (%.2f s of CPU in %.1f s)\n", 100 * cpu / wall, cpu, wall
    printf "top_cpu: %.2f %% of one core (goal: < 5 %% with %d timers at %.0f updates/s)\n",
           100 * cpu / wall, n, 1 / i
}'
