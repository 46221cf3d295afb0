#!/usr/bin/env bash
# bench_serve.sh — CPU cost of `timekeeper serve` while records flow: a producer with 1000 timers
# at 1 M records/s (top_producer), serve draining every 10 ms and scraped once a second with curl
# (Prometheus' default is every 15 s: this is the pessimistic side). CPU time of the serve process
# from /proc/<pid>/stat (utime + stime) over the measured window; the record rate from serve's own
# timekeeper_records_read_total. Prints `serve_cpu: X % of one core (goal: <= 3 %)`.
#
#     bench/bench_serve.sh [BUILD/bin] [--quick] [--timers N] [--rate R] [--seconds S]
#
# --quick measures 3 s instead of 10. Never asserts: exit 0 whenever it could measure. Private
# TK_DIR, loopback only; everything started is stopped on exit.
set -euo pipefail

BIN=build/bin
TIMERS=1000 RATE=1000000 SECONDS_=10
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then BIN=$1; shift; fi
while [ $# -gt 0 ]; do
    case $1 in
    --quick) SECONDS_=3; shift; continue ;;
    --timers) TIMERS=$2 ;;
    --rate) RATE=$2 ;;
    --seconds) SECONDS_=$2 ;;
    *) echo "usage: bench_serve.sh [BUILD/bin] [--quick] [--timers N] [--rate R] [--seconds S]" >&2
       exit 2 ;;
    esac
    shift 2
done
for f in "$BIN/timekeeper" "$BIN/top_producer"; do
    [ -x "$f" ] || { echo "bench_serve: $f is not built (cmake --build build)" >&2; exit 1; }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench-serve.XXXXXX")
export TK_DIR=$DIR/segments
mkdir -p "$TK_DIR"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$BIN/top_producer" --timers "$TIMERS" --rate "$RATE" --duration $((2 * SECONDS_ + 15)) >/dev/null 2>&1 &
PIDS+=("$!")
"$BIN/timekeeper" serve --listen 127.0.0.1:0 2>"$DIR/serve.err" &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 50); do grep -q http:// "$DIR/serve.err" && break; sleep 0.1; done
URL=$(sed -n 's|.*\(http://[^ ]*/metrics\).*|\1|p' "$DIR/serve.err")
[ -n "$URL" ] || { echo "bench_serve: serve did not start" >&2; exit 1; }
sleep 2 # attach and drain the backlog first

records() { curl -s "$URL" | awk '/^timekeeper_records_read_total/ {s += $2} END {printf "%d", s}'; }
cpu() { awk '{print $14 + $15}' "/proc/$SERVE/stat"; }
HZ=$(getconf CLK_TCK)
# phase 1: no scrape in the window (the drain and the counting alone)
r0=$(records) c0=$(cpu) t0=$(date +%s.%N)
sleep "$SECONDS_"
c1=$(cpu) t1=$(date +%s.%N) r1=$(records)
# phase 2: one scrape a second
c2=$(cpu) t2=$(date +%s.%N)
worst=0
for _ in $(seq "$SECONDS_"); do
    sleep 1
    t=$(curl -s -o /dev/null -w '%{time_total}' "$URL")
    worst=$(awk -v a="$worst" -v b="$t" 'BEGIN {print (b > a ? b : a)}')
done
c3=$(cpu) t3=$(date +%s.%N)
awk -v hz="$HZ" -v n="$TIMERS" -v r="$((r1 - r0))" -v w="$worst" \
    -v ca="$((c1 - c0))" -v sa="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    -v cb="$((c3 - c2))" -v sb="$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')" 'BEGIN {
    printf "serve with %d timers: %.0f records/s read; slowest scrape %.1f ms\n", n, r / sa, w * 1000
    printf "serve_cpu_without_scrapes: %.1f %% of one core\n", 100 * ca / hz / sa
    printf "serve_cpu: %.1f %% of one core, scraped every second (goal: <= 3 %%)\n", 100 * cb / hz / sb
}'
