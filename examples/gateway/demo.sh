#!/bin/sh
# demo.sh — runs the gateway example under the collector: the live TUI in a terminal, otherwise a
# few seconds of interval reports and the totals. Usage: demo.sh BIN_DIR
set -eu
BIN=${1:-build/bin}
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/timekeeper-demo.XXXXXX")
export TK_DIR
GW_PID=""
cleanup() {
    [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
    rm -rf "$TK_DIR"
}
trap cleanup EXIT INT TERM

if [ -t 1 ] && [ -t 0 ]; then
    "$BIN/gateway" --rate 20000 2>/dev/null &
    GW_PID=$!
    "$BIN/timekeeper" top --interval 0.5 || true
else
    "$BIN/gateway" --duration 4 --rate 20000 &
    GW_PID=$!
    "$BIN/timekeeper" report --interval 1 --count 3
    wait "$GW_PID" || true
    GW_PID=""
fi
